//! Reading a JSON object from a request body, with a size limit and precise errors.

use crate::base::error::{echoed, Error, Result};
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

/// The largest body the JSON routes read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as a JSON object. A body without `Content-Type` is read as JSON (API clients often
/// omit it); any other declared type than `application/json` (with no charset or UTF-8) is
/// refused with 415, so a form-encoded body (curl's `-d` default) gets a message that says what
/// to send instead. A `Content-Encoding` other than `identity` is refused too: the bytes would
/// be read as what they are not.
pub fn json_object(req: &Request) -> Result<Map<String, Value>> {
    json_declared(req)?;
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
    match crate::base::json::parse(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::BadRequest(
            "Request body must be a JSON object".into(),
        )),
        Err(e) => Err(Error::BadRequest(format!("JSON parse error - {e}"))),
    }
}

/// A body declared as JSON, or not declared at all; and not encoded (`Content-Encoding` absent
/// or `identity`).
pub fn json_declared(req: &Request) -> Result<()> {
    if let Some(ct) = header(req, "content-type")? {
        check_json_media_type(ct)?;
    }
    unencoded(req)
}

/// No `Content-Encoding` but `identity`: nothing here decodes one.
pub fn unencoded(req: &Request) -> Result<()> {
    match header(req, "content-encoding")? {
        Some(encoding) if !encoding.eq_ignore_ascii_case("identity") => {
            Err(Error::UnsupportedMediaType(format!(
                "Content-Encoding \"{}\" is not decoded here; send the body unencoded",
                echoed(encoding)
            )))
        }
        _ => Ok(()),
    }
}

/// `application/json`, with at most a `charset` parameter that names UTF-8 (RFC 8259 §8.1).
fn check_json_media_type(ct: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::UnsupportedMediaType(format!(
            "Unsupported media type \"{}\" in request ({why}). Send the body as application/json.",
            echoed(ct)
        )))
    };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return refuse("not application/json");
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") {
            return refuse("the only parameter read is charset");
        }
        if !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")) {
            return refuse("the body must be UTF-8");
        }
    }
    Ok(())
}

/// The `Idempotency-Key` header, if given: 1 to 255 visible ASCII characters (no space, tab or
/// comma). Given but empty is refused, not taken as absent: the caller meant a key.
pub fn idempotency_key(req: &Request) -> Result<Option<&str>> {
    let Some(key) = header(req, "idempotency-key")? else {
        return Ok(None);
    };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces or tabs)".into(),
        ));
    }
    Ok(Some(key))
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
    let value = first.to_str().map(str::trim).map_err(|_| {
        Error::BadRequest(format!(
            "header {name} is not readable: only visible ASCII characters are allowed"
        ))
    })?;
    // An HTTP API joins a repeated header's values with commas; every header read here holds
    // one value, so a comma means several.
    if value.contains(',') {
        return Err(Error::BadRequest(format!(
            "header {name} is given more than once; send it once, with one value"
        )));
    }
    Ok(Some(value))
}
