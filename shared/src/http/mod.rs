//! What every HTTP function shares: route matching, JSON responses, the error mapping.

pub mod body;
pub mod credentials;
pub mod error;
pub mod route;

use lambda_http::{Body, Response};
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

fn raw_json(status: u16, bytes: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Body::Binary(bytes));
    *resp.status_mut() = http_status(status);
    resp.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn http_status(code: u16) -> lambda_http::http::StatusCode {
    lambda_http::http::StatusCode::from_u16(code)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR)
}
