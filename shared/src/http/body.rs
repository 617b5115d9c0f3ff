//! Reading a JSON object from a request body, with a size limit and precise errors.

use crate::error::{Error, Result};
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

/// The largest body the JSON routes read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as a JSON object. A body without `Content-Type` is read as JSON (API clients often
/// omit it); any other declared type than JSON is refused with 415, so a form-encoded body
/// (curl's `-d` default) gets a message that says what to send instead.
pub fn json_object(req: &Request) -> Result<Map<String, Value>> {
    if let Some(ct) = req.headers().get(lambda_http::http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(Error::UnsupportedMediaType(format!(
                "Unsupported media type \"{essence}\" in request. Send the body as application/json."
            )));
        }
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "Request body is empty; expected a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::BadRequest(
            "Request body must be a JSON object".into(),
        )),
        Err(e) => Err(Error::BadRequest(format!("JSON parse error - {e}"))),
    }
}

/// The value of a request header, if present and text.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
