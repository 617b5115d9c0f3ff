//! The HTTP entrypoints: each function's routes (request -> domain call -> response), and what
//! they share: route matching, header and body reading, JSON responses, the one error mapping.

pub mod body;
pub mod credentials;
pub mod error;
pub mod event;
pub mod heartbeat;
pub mod invocation;
pub mod metrics;
pub mod ping;
pub mod probes;
pub mod route;
pub mod team_page;

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// A JSON response. Serialising our own types cannot fail in practice; if it ever did, the
/// caller still gets a well-formed 500 instead of a panic.
pub fn json(status: u16, body: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => raw_json(status, bytes),
        Err(e) => raw_json(
            500,
            format!(r#"{{"status":500,"error":"Internal Server Error","message":"response could not be serialised: {}"}}"#, e.to_string().replace('"', "'")).into_bytes(),
        ),
    }
}

/// The OpenAPI document of every HTTP route (`infra/openapi.yaml`, kept as JSON by
/// `make openapi`), compiled in so serving it costs nothing at cold start.
pub const OPENAPI_DOCUMENT: &str = include_str!("../../../infra/openapi.json");

/// A body that is JSON already.
pub fn raw_json(status: u16, bytes: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Body::Binary(bytes));
    *resp.status_mut() = http_status(status);
    resp.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The answer to a HEAD request: GET's status and headers, no body, and a `Content-Length`
/// that says how long GET's body is (RFC 9110 §9.3.2 and §8.6: the same value as GET, never a
/// 0 that GET would not send).
pub fn as_head(mut resp: Response<Body>) -> Response<Body> {
    let length = resp.body().as_ref().len();
    resp.headers_mut().insert(
        lambda_http::http::header::CONTENT_LENGTH,
        lambda_http::http::HeaderValue::from(length),
    );
    *resp.body_mut() = Body::Empty;
    resp
}

fn http_status(code: u16) -> lambda_http::http::StatusCode {
    lambda_http::http::StatusCode::from_u16(code)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// Runs a route within the invocation's deadline (see `crate::base::deadline`); `Err(OutOfTime)`
/// when it would not finish in time, so the caller still gets our JSON answer.
pub async fn within_deadline<F>(req: &Request, fut: F) -> crate::base::error::Result<Response<Body>>
where
    F: std::future::Future<Output = crate::base::error::Result<Response<Body>>>,
{
    let deadline = req
        .lambda_context_ref()
        .and_then(|c| crate::base::deadline::from_unix_millis(c.deadline));
    // Boxed: a route's future is large in debug builds, and callers awaiting several routes
    // in one task would otherwise carry all of it on their stack.
    let deadline = crate::base::deadline::or_local_limit(deadline);
    crate::base::deadline::within(Some(deadline), Box::pin(fut))
        .await
        .unwrap_or(Err(crate::base::error::Error::OutOfTime))
}
