//! Reading a JSON object from a request body, with a size limit and precise errors.

use crate::base::error::{Error, Result};
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

/// The largest body the JSON routes read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as a JSON object. A body without `Content-Type` is read as JSON (API clients often
/// omit it); any other declared type than JSON is refused with 415, so a form-encoded body
/// (curl's `-d` default) gets a message that says what to send instead.
pub fn json_object(req: &Request) -> Result<Map<String, Value>> {
    if let Some(ct) = header(req, "content-type")? {
        let ct = ct.to_ascii_lowercase();
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

/// The value of a request header, if present. A header that is there but cannot be read (not
/// visible ASCII) or is given more than once is a 400, never treated as absent: a request is
/// not answered on the strength of a header it did not mean to omit.
pub fn header<'a>(req: &'a Request, name: &str) -> Result<Option<&'a str>> {
    let mut values = req.headers().get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::BadRequest(format!(
            "header {name} is given more than once"
        )));
    }
    first.to_str().map(|v| Some(v.trim())).map_err(|_| {
        Error::BadRequest(format!(
            "header {name} is not readable: only visible ASCII characters are allowed"
        ))
    })
}
