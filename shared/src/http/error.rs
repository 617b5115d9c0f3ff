//! The one place where library errors become HTTP responses.
//!
//! Two body shapes exist because two families of clients exist: the metrics routes answer like
//! the Spring service they replace (`status`, `error`, `message`, `path`), the probe routes like
//! POEM (`detail`). The status code is chosen here, once, for both.

use super::json;
use crate::base::error::Error;
use lambda_http::{Body, Response};
use serde_json::json;

pub fn status_of(err: &Error) -> u16 {
    match err {
        Error::BadRequest(_) | Error::Validation(_) => 400,
        Error::UnsupportedMediaType(_) => 415,
        Error::Conflict(_) => 409,
        Error::PreconditionFailed(_) => 412,
        Error::Unprocessable(_) => 422,
        Error::Forbidden(_) => 403,
        Error::Unauthorized(_) => 401,
        Error::NotFound(_) => 404,
        Error::MethodNotAllowed { .. } => 405,
        Error::PayloadTooLarge { .. } => 413,
        Error::Internal(_) => 500,
        Error::BadGateway { .. } => 502,
        Error::Unavailable { .. } | Error::OutOfTime => 503,
    }
}

pub fn reason_phrase(status: u16) -> &'static str {
    lambda_http::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

fn log(err: &Error, status: u16) {
    if let Error::Unavailable { dependency, .. } | Error::BadGateway { dependency, .. } = err {
        // Named in its own field, for the "dependency failures" query of the operations docs.
        tracing::error!(status, dependency = %dependency, error = %err, "request failed");
    } else if status >= 500 {
        tracing::error!(status, error = %err, "request failed");
    } else {
        // The caller's mistake: its reason goes on the invocation's line.
        super::invocation::note_refusal(&err.to_string());
        tracing::debug!(status, error = %err, "request refused");
    }
}

/// `{"status": 404, "error": "Not Found", "message": "...", "path": "/metrics/x/y"}`
pub fn spring(err: &Error, path: &str) -> Response<Body> {
    let status = status_of(err);
    log(err, status);
    let shown = crate::base::text::echoed(path);
    with_allow(
        err,
        json(
            status,
            &json!({
                "status": status,
                "error": reason_phrase(status),
                "message": err.to_string(),
                "path": shown,
            }),
        ),
    )
}

/// A 405 says which methods the path serves (RFC 9110).
fn with_allow(err: &Error, mut resp: Response<Body>) -> Response<Body> {
    if let Error::MethodNotAllowed { allow, .. } = err {
        resp.headers_mut().insert(
            lambda_http::http::header::ALLOW,
            lambda_http::http::HeaderValue::from_static(allow),
        );
    }
    resp
}

/// `poem` as a refusal before routing (`http::event::Refusal`): the path is not part of
/// POEM's shape.
pub fn poem_refusal(err: &Error, _path: &str) -> Response<Body> {
    poem(err)
}

/// POEM's shape, `{"detail": "..."}`, which its clients parse; validation failures also list
/// every problem in `errors`.
pub fn poem(err: &Error) -> Response<Body> {
    let status = status_of(err);
    log(err, status);
    let body = match err {
        Error::Validation(errors) => json!({"detail": err.to_string(), "errors": errors}),
        // Django REST framework's wording, which POEM's clients see today.
        Error::MethodNotAllowed { method, .. } => {
            json!({"detail": format!("Method \"{}\" not allowed.", crate::base::error::echoed(method))})
        }
        _ => json!({"detail": err.to_string()}),
    };
    with_allow(err, json(status, &body))
}

/// healthchecks.io's shape for its ping URLs: a short plain-text body (`not found`, `invalid
/// url format`), so its clients read our refusals as they read its own.
pub fn plain(err: &Error, _path: &str) -> Response<Body> {
    let status = status_of(err);
    log(err, status);
    let text = match err {
        Error::NotFound(_) => "not found".to_string(),
        Error::BadRequest(m) if m == "invalid url format" || m == "invalid uuid format" => {
            m.clone()
        }
        // The reason, which never carries the request's own text beyond a short quote.
        other => other.to_string(),
    };
    super::ping::text(status, text)
}

/// The heartbeat function's refusals: plain text under `/ping/`, the Spring shape elsewhere.
pub fn heartbeat(err: &Error, path: &str) -> Response<Body> {
    if super::ping::is_ping_path(path) {
        plain(err, path)
    } else {
        spring(err, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::Dependency;

    #[test]
    fn spring_shape() {
        let resp = spring(
            &Error::NotFound("unknown resource 'x'".into()),
            "/metrics/x",
        );
        assert_eq!(resp.status(), 404);
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(
            body,
            json!({"status": 404, "error": "Not Found", "message": "unknown resource 'x'", "path": "/metrics/x"})
        );
    }

    #[test]
    fn dependency_failures_name_the_dependency() {
        let resp = spring(&Error::unavailable(Dependency::S3, "timeout"), "/");
        assert_eq!(resp.status(), 503);
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(body["message"], "S3 unavailable: timeout");
        assert_eq!(body["error"], "Service Unavailable");
    }
}
