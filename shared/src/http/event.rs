//! The raw Lambda event, read before `lambda_http` turns it into a request.
//!
//! Under a REST API, API Gateway puts the *last* value of each header in `headers` and all of
//! them in `multiValueHeaders`; `lambda_http` lets the former replace the latter, so a header
//! given twice would reach a route as one value, and which one depends on the order the caller
//! chose. An HTTP API joins the values with commas in `headers`. Either way, a header a route
//! reads that carries more than one value is refused here, naming it, before any route runs.
//!
//! The same pass refuses what `lambda_http` would panic on while turning the event into a
//! request (a body marked base64 that is not, a REST query parameter listed with no value, a
//! `Host` or query that makes no URI): release builds abort on a panic, so a malformed event
//! would otherwise end the process instead of getting its 400.

use crate::base::error::Error;
use lambda_http::request::LambdaRequest;
use lambda_http::{service_fn, Adapter, Body, Context, LambdaEvent, Request, Response, Service};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;

/// The headers some route reads. Each holds one value; a list of them is never meant.
pub const SINGLE_VALUED: [&str; 6] = [
    "authorization",
    "x-api-key",
    "idempotency-key",
    "if-match",
    "content-type",
    "content-encoding",
];

/// How a function answers a refused request: POEM's shape or the Spring one (`error::poem`,
/// `error::spring`), given the error and the request path.
pub type Refusal = fn(&Error, &str) -> Response<Body>;

/// What is wrong with the event's headers, if anything: a header of `SINGLE_VALUED` given more
/// than once (in `multiValueHeaders`, twice under two spellings, or comma-joined), or a header
/// value no HTTP request can carry.
pub fn header_problem(event: &Value) -> Option<String> {
    let mut values: Vec<(String, String)> = Vec::new();
    for field in ["multiValueHeaders", "headers"] {
        let Some(map) = event.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (name, v) in map {
            let name = name.to_ascii_lowercase();
            let given: Vec<&str> = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            for value in given {
                if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
                    return Some(format!("header {name} holds a control character"));
                }
                if field == "headers" && values.iter().any(|(n, v)| *n == name && v == value) {
                    // `headers` repeats the last value of `multiValueHeaders`.
                    continue;
                }
                values.push((name.clone(), value.to_string()));
            }
        }
    }
    SINGLE_VALUED.iter().find_map(|name| {
        let given: Vec<&String> = values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        let several = given.len() > 1 || given.first().is_some_and(|v| v.contains(','));
        several
            .then(|| format!("header {name} is given more than once; send it once, with one value"))
    })
}

/// What `lambda_http` would panic on while decoding the event, if anything.
pub fn decoding_problem(event: &Value) -> Option<String> {
    use base64::Engine;
    let base64 = event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
    if let Some(body) = event.get("body").and_then(Value::as_str).filter(|_| base64) {
        if base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_err()
        {
            return Some("the body is marked base64-encoded but is not base64".into());
        }
    }
    let multi = event
        .get("multiValueQueryStringParameters")
        .and_then(Value::as_object);
    for (name, values) in multi.into_iter().flatten() {
        if values.as_array().is_some_and(Vec::is_empty) {
            return Some(format!(
                "query parameter '{}' is listed with no value",
                crate::base::text::echoed(name)
            ));
        }
    }
    uri_problem(event)
}

/// The URI `lambda_http` builds from the path, the `Host` header (or the domain name) and the
/// query, checked the way it would build it, since it unwraps the result.
fn uri_problem(event: &Value) -> Option<String> {
    let host = event_header(event, "host").or_else(|| {
        event
            .pointer("/requestContext/domainName")
            .and_then(Value::as_str)
    });
    let raw = ["rawPath", "path"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    let path = match event
        .pointer("/requestContext/stage")
        .and_then(Value::as_str)
    {
        Some(stage) if stage != "$default" && !raw.starts_with(&format!("/{stage}/")) => {
            format!("/{stage}{raw}")
        }
        _ => raw.to_string(),
    };
    let mut uri = match host {
        None => match url::Url::parse(&format!("http://localhost{path}")) {
            Ok(url) => url.path().to_string(),
            Err(_) => return Some("the request path cannot be read".into()),
        },
        Some(host) => {
            let scheme = event_header(event, "x-forwarded-proto").unwrap_or("https");
            match url::Url::parse(&format!("{scheme}://{host}{path}")) {
                Ok(url) => url.to_string(),
                Err(_) => {
                    return Some("the Host or X-Forwarded-Proto header cannot be read".into())
                }
            }
        }
    };
    if let Some(query) = event.get("rawQueryString").and_then(Value::as_str) {
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
    }
    lambda_http::http::Uri::try_from(uri)
        .is_err()
        .then(|| "the request URI cannot be read".into())
}

/// A header's value as `lambda_http` reads it for the URI: from `headers` only (the single
/// values); a value that is not visible ASCII is not read.
fn event_header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event
        .get("headers")
        .and_then(Value::as_object)?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .filter(|v| v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)))
}

/// The event as `lambda_http` should see it: for each header `multiValueHeaders` lists, the
/// single value in `headers` (the last one) is dropped, so every value reaches the request.
pub fn keep_every_value(event: &mut Value) {
    let Some(multi) = event.get("multiValueHeaders").and_then(Value::as_object) else {
        return;
    };
    let listed: Vec<String> = multi.keys().map(|k| k.to_ascii_lowercase()).collect();
    if let Some(Value::Object(headers)) = event.get_mut("headers") {
        headers.retain(|name, _| {
            name.eq_ignore_ascii_case("host") || !listed.contains(&name.to_ascii_lowercase())
        });
    }
}

/// The request path of a raw event, for a refusal's `path`.
fn raw_path(event: &Value) -> String {
    ["rawPath", "path"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .unwrap_or("/")
        .to_string()
}

/// The request method of a raw event (REST API, HTTP API or function URL), for the log line.
fn raw_method(event: &Value) -> String {
    event
        .get("httpMethod")
        .or_else(|| event.pointer("/requestContext/http/method"))
        .and_then(Value::as_str)
        .map(crate::base::text::echoed)
        .unwrap_or_default()
}

/// Answers one raw event: refused here when its headers are ambiguous, otherwise decoded and
/// handed to `handler`. Returns the proxy response document API Gateway reads, and logs the
/// invocation's one line.
pub async fn answer<F, Fut>(
    handler: F,
    refuse: Refusal,
    event: Value,
    context: Context,
) -> Result<Value, lambda_http::Error>
where
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, lambda_http::Error>> + Send,
{
    let (method, path) = (raw_method(&event), raw_path(&event));
    super::invocation::logged(
        &method,
        &path,
        respond(handler, refuse, event, context),
        |resp: &Value| resp["statusCode"].as_u64().map_or(0, |s| s as u16),
    )
    .await
}

async fn respond<F, Fut>(
    handler: F,
    refuse: Refusal,
    mut event: Value,
    context: Context,
) -> Result<Value, lambda_http::Error>
where
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, lambda_http::Error>> + Send,
{
    let mut problem = header_problem(&event);
    keep_every_value(&mut event);
    // Read as `lambda_http` will read it: after the single values that repeat the lists go.
    problem = problem.or_else(|| decoding_problem(&event));
    let path = raw_path(&event);
    if problem.is_some() {
        clear_input(&mut event);
    }
    // Decoded from a borrow: a failed attempt must leave the event to retry without its
    // headers, and cloning it (body included, up to 6 MB) per request would cost every call.
    let request: LambdaRequest = match LambdaRequest::deserialize(&event) {
        Ok(request) => request,
        // A header name no HTTP request can carry: refused like any unreadable header rather
        // than failing the invocation (which API Gateway would answer with a bare 502).
        Err(_) if problem.is_none() => {
            problem = Some("a request header cannot be read".into());
            clear_input(&mut event);
            LambdaRequest::deserialize(&event)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut handler = handler;
    let mut adapter = Adapter::from(service_fn(move |req: Request| {
        let refused = problem
            .clone()
            .map(|p| refuse(&Error::BadRequest(p), &path));
        let routed = refused.is_none().then(|| handler(req));
        async move {
            match (refused, routed) {
                (Some(resp), _) => Ok(resp),
                (None, Some(fut)) => fut.await,
                (None, None) => Err("unreachable: neither refused nor routed".into()),
            }
        }
    }));
    let resp = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(&resp)?)
}

/// `lambda_http::run` with the raw-event checks above in front of `handler`.
pub async fn run<F, Fut>(handler: F, refuse: Refusal) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Clone,
    Fut: Future<Output = Result<Response<Body>, lambda_http::Error>> + Send,
{
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        answer(handler.clone(), refuse, event.payload, event.context)
    }))
    .await
}

/// The headers, query and body are not read: a refusal must not fail on a value it will not
/// use. (The path stays, for the refusal's `path`; a path no URI can hold goes too.)
fn clear_input(event: &mut Value) {
    for field in ["headers", "multiValueHeaders"] {
        if let Some(v) = event.get_mut(field) {
            *v = Value::Object(Map::new());
        }
    }
    for field in [
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "body",
    ] {
        if let Some(v) = event.get_mut(field) {
            *v = Value::Null;
        }
    }
    if let Some(v) = event.get_mut("rawQueryString") {
        *v = Value::String(String::new());
    }
    if let Some(v) = event.get_mut("isBase64Encoded") {
        *v = Value::Bool(false);
    }
    if uri_problem(event).is_some() {
        for field in ["rawPath", "path"] {
            if let Some(v) = event.get_mut(field) {
                *v = Value::String("/".into());
            }
        }
    }
    if uri_problem(event).is_some() {
        if let Some(Value::Object(context)) = event.get_mut("requestContext") {
            context.remove("domainName");
            context.remove("stage");
        }
    }
}

/// The runtime loop of an HTTP function whose configuration is incomplete: the problem is
/// logged once, readably, and every request is answered with it (a 500 in the function's error
/// shape) instead of the process exiting and being started again for each request.
pub async fn unconfigured(
    problem: impl std::fmt::Display,
    refuse: Refusal,
) -> Result<(), lambda_http::Error> {
    let message = format!("this function is not configured: {problem}");
    tracing::error!(error = %message, "configuration incomplete");
    let message = &message;
    run(
        move |req: Request| async move {
            let path = req.uri().path().to_string();
            Ok(refuse(&Error::Internal(message.clone()), &path))
        },
        refuse,
    )
    .await
}
