//! Matching a request path against route templates such as `/metrics/{resourceId}/{metricId}`.
//!
//! The path is matched segment by segment and parameters are percent-decoded here, so a
//! function behaves the same under API Gateway, under `cargo lambda watch`'s router and when a
//! sample event is fed to the handler in a test.

use lambda_http::{Request, RequestExt};
use percent_encoding::percent_decode_str;

/// The request path without the API Gateway stage; for a request that did not come from an
/// API Gateway event (tests, other front ends), the URI's path.
pub fn request_path(req: &Request) -> String {
    match req.raw_http_path() {
        "" => req.uri().path().to_string(),
        raw => raw.to_string(),
    }
}

/// What the caller's URL path has in front of the route's path: under a REST API, the stage
/// (`/prod`) on the execute-api address or the base path on a custom domain — the request
/// context's `path` is the path as the caller sent it, the event's `path` the route's —
/// else nothing. A `Location` starts with it, so it resolves where the caller is.
pub fn caller_prefix(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    let Some(RequestContext::ApiGatewayV1(context)) = req.request_context_ref() else {
        return String::new();
    };
    let route = request_path(req);
    context
        .path
        .as_deref()
        .and_then(|sent| sent.strip_suffix(route.as_str()))
        .filter(|prefix| prefix.is_empty() || prefix.starts_with('/'))
        .unwrap_or("")
        .to_string()
}

/// A query parameter, from the event's parsed parameters or else from the URI. Given more
/// than once is a 400: which one was meant cannot be guessed, and taking the first would
/// silently ignore the others.
pub fn query_param(req: &Request, name: &str) -> crate::base::error::Result<Option<String>> {
    let from_event: Vec<String> = req
        .query_string_parameters_ref()
        .and_then(|q| q.all(name))
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let values = if from_event.is_empty() {
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .collect()
    } else {
        from_event
    };
    match <[String; 1]>::try_from(values) {
        Ok([one]) => Ok(Some(one)),
        Err(values) if values.is_empty() => Ok(None),
        Err(_) => Err(crate::base::error::Error::BadRequest(format!(
            "query parameter {name} is given more than once"
        ))),
    }
}

/// Path parameters of a matched route, in template order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of `{name}`; templates and lookups are written together, so a miss is a bug
    /// in the route table and answers as an empty string rather than a panic.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Matches `path` against `template`; a trailing slash is ignored.
pub fn matches(template: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut t = segments(template);
    let mut p = segments(path);
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(Params(params)),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let value = percent_decode_str(ps).decode_utf8().ok()?.into_owned();
                    params.push((name, value));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_parameter_segments() {
        let p = matches("/metrics/{resourceId}/{metricId}", "/metrics/r%20x/m1/").unwrap();
        assert_eq!(p.get("resourceId"), "r x");
        assert_eq!(p.get("metricId"), "m1");
        assert!(matches("/metrics/{resourceId}", "/metrics/a/b").is_none());
        assert!(matches("/ids/resources", "/ids/resources").is_some());
        assert!(matches("/ids/resources", "/ids/other").is_none());
        assert!(matches("/metrics/{r}", "/metrics/%FF").is_none());
    }
}
