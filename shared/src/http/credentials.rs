//! The API key a request presents, for routes that take it the ways senders can give it:
//! `Authorization: Bearer <key>` (Alertmanager's `http_config`), `x-api-key: <key>`, or a
//! `?token=<key>` query parameter (senders that can only be given a URL).
//!
//! A header that is there but cannot be read is never skipped: it is a 400, as is a header
//! given twice or two different keys, so a request is never judged on a key it did not mean.

use crate::base::error::{Error, Result};
use lambda_http::Request;

fn single_header(req: &Request, name: &str) -> Result<Option<String>> {
    Ok(super::body::header(req, name)?.map(str::to_string))
}

fn token_parameter(req: &Request) -> Result<Option<String>> {
    Ok(super::route::query_param(req, "token")?.map(|t| t.trim().to_string()))
}

/// The key presented, if any.
pub fn presented_key(req: &Request) -> Result<Option<String>> {
    let mut keys = Vec::new();
    if let Some(auth) = single_header(req, "authorization")? {
        let (scheme, rest) = auth.split_once(' ').unwrap_or((auth.as_str(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") || rest.trim().is_empty() {
            return Err(Error::Unauthorized(
                "the Authorization header must be \"Bearer <key>\"".into(),
            ));
        }
        keys.push(rest.trim().to_string());
    }
    keys.extend(single_header(req, "x-api-key")?);
    keys.extend(token_parameter(req)?);
    keys.retain(|k| !k.is_empty());
    keys.dedup();
    match keys.len() {
        0 => Ok(None),
        1 => Ok(keys.pop()),
        _ => Err(Error::BadRequest(
            "two different keys are given (Authorization, x-api-key, token); send one".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::{HeaderValue, Request as HttpRequest};
    use lambda_http::Body;

    fn req(uri: &str, headers: &[(&'static str, &[u8])]) -> Request {
        let mut r = HttpRequest::builder().uri(uri).body(Body::Empty).unwrap();
        for (k, v) in headers {
            r.headers_mut()
                .append(*k, HeaderValue::from_bytes(v).unwrap());
        }
        r
    }

    #[test]
    fn each_way_of_giving_the_key() {
        let cases = [
            req("/h", &[("authorization", b"Bearer k1")]),
            req("/h", &[("authorization", b"bearer  k1 ")]),
            req("/h", &[("x-api-key", b"k1")]),
            req("/h?token=k1", &[]),
            req("/h?token=k1", &[("x-api-key", b"k1")]),
        ];
        for r in cases {
            assert_eq!(presented_key(&r).unwrap().as_deref(), Some("k1"));
        }
        assert_eq!(presented_key(&req("/h", &[])).unwrap(), None);
    }

    #[test]
    fn what_cannot_be_read_is_refused_not_ignored() {
        let cases: [(Request, u16); 6] = [
            (req("/h", &[("x-api-key", "é".as_bytes())]), 400),
            (req("/h", &[("x-api-key", b"a"), ("x-api-key", b"b")]), 400),
            (req("/h", &[("authorization", b"Basic YTpi")]), 401),
            (req("/h", &[("authorization", b"Bearer")]), 401),
            (req("/h?token=a&token=b", &[]), 400),
            (req("/h?token=a", &[("x-api-key", b"b")]), 400),
        ];
        for (r, status) in cases {
            let err = presented_key(&r).unwrap_err();
            assert_eq!(crate::http::error::status_of(&err), status, "{err}");
        }
    }
}
