//! healthchecks.io's ping API on the heartbeat function: `/ping/{uuid}[/…]` and
//! `/ping/{ping_key}/{slug}[/…]`, any method, answered exactly as healthchecks.io answers (plain
//! `OK`, `Created`, `not found`, `invalid url format`, `invalid uuid format`).
//!
//! The URL is the credential: a slug URL carries a key with the heartbeat role, a UUID URL
//! the check's own random UUID. Bodies are never refused for their size: the first
//! `Ping-Body-Limit` bytes are kept in the ping log, and nothing of them is ever answered.

use crate::auth::{identify, KeyLookup, Role};
use crate::base::error::{Error, Result};
use crate::heartbeat::config::HeartbeatConfig;
use crate::heartbeat::ping::{self, PathRefusal, Target};
use crate::heartbeat::ports::Heartbeats;
use crate::heartbeat::receive::{receive, Incoming, Received};
use crate::http::route::{query_param, request_path};
use lambda_http::http::{header, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use percent_encoding::percent_decode_str;

/// The longest user agent kept with a ping.
const MAX_USER_AGENT: usize = 256;

pub fn is_ping_path(path: &str) -> bool {
    path == "/ping" || path.starts_with("/ping/")
}

/// The path as logs show it: a ping URL's credential (the key or the check's UUID, its first
/// segment) masked, the slug and the action kept.
pub fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = path.strip_prefix("/ping/") else {
        return std::borrow::Cow::Borrowed(path);
    };
    match rest.split_once('/') {
        Some((_, tail)) => std::borrow::Cow::Owned(format!("/ping/…/{tail}")),
        None if rest.is_empty() => std::borrow::Cow::Borrowed(path),
        None => std::borrow::Cow::Borrowed("/ping/…"),
    }
}

pub fn text(status: u16, body: impl Into<String>) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.into()));
    *resp.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn refused(r: PathRefusal) -> Error {
    match r {
        PathRefusal::NotFound => Error::NotFound("not found".into()),
        PathRefusal::InvalidUrl => Error::BadRequest("invalid url format".into()),
    }
}

fn not_found() -> Error {
    Error::NotFound("not found".into())
}

/// The segments after `/ping/`, percent-decoded (a segment that does not decode to UTF-8
/// cannot name anything: not found).
fn segments(path: &str) -> Result<Vec<String>> {
    path.trim_start_matches("/ping")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| not_found())
        })
        .collect()
}

/// The caller's address: the first of `X-Forwarded-For` (API Gateway appends the client it
/// saw), else the event's source IP.
fn address(req: &Request) -> Option<String> {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 64);
    forwarded.or_else(|| match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
        _ => None,
    })
}

fn user_agent(req: &Request) -> Option<String> {
    let value = req.headers().get(header::USER_AGENT)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    Some(text.chars().take(MAX_USER_AGENT).collect())
}

fn body(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Answers a ping URL.
pub async fn serve<S: Heartbeats, K: KeyLookup>(
    store: &S,
    keys: &K,
    config: &HeartbeatConfig,
    req: &Request,
    now_ms: i64,
) -> Result<Response<Body>> {
    let path = request_path(req);
    let segments = segments(&path)?;
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let target = ping::parse(&parts).map_err(refused)?;
    let name = match &target.target {
        Target::Uuid(uuid) => store.by_uuid(uuid).await?.ok_or_else(not_found)?,
        Target::Slug { ping_key, slug } => match identify(keys, ping_key, Role::Heartbeat).await? {
            Ok(_) => slug.clone(),
            Err(_) => return Err(not_found()),
        },
    };
    // Django reads the last value of a repeated parameter; two run ids cannot both be meant.
    let rid = match query_param(req, "rid") {
        Ok(None) => None,
        Ok(Some(r)) => {
            Some(ping::run_id(&r).ok_or_else(|| Error::BadRequest("invalid uuid format".into()))?)
        }
        Err(_) => return Err(Error::BadRequest("invalid uuid format".into())),
    };
    let create = matches!(&target.target, Target::Slug { .. })
        && matches!(query_param(req, "create"), Ok(Some(v)) if v == "1");
    let (address, user_agent) = (address(req), user_agent(req));
    let incoming = Incoming {
        check: &name,
        kind: target.kind,
        rid: rid.as_deref(),
        create,
        source: "ping",
        method: req.method().as_str(),
        address: address.as_deref(),
        user_agent: user_agent.as_deref(),
        body: body(req),
        body_limit: config.ping_body_limit,
        default_period: config.default_period,
        default_grace: config.default_grace,
        now_ms,
        webhook_check: &config.webhook_check,
    };
    let (status, text) = match receive(store, &incoming).await? {
        // As healthchecks.io answers a check it does not have: for pings, it is not there.
        Received::UnknownCheck | Received::WebhookCheck => return Err(not_found()),
        Received::Recorded { created: true, .. } => (201, "Created"),
        Received::Recorded { .. } | Received::Ignored => (200, "OK"),
    };
    let mut resp = self::text(status, text);
    let headers = resp.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        "ping-body-limit",
        HeaderValue::from(config.ping_body_limit as u64),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn a_ping_urls_credential_never_reaches_a_log() {
        assert_eq!(
            logged_path("/ping/tt_0123abcd/nightly/start"),
            "/ping/…/nightly/start"
        );
        assert_eq!(
            logged_path("/ping/0f0e0d0c-0b0a-4900-8000-123456789abc"),
            "/ping/…"
        );
        assert_eq!(
            logged_path("/ping/0f0e0d0c-0b0a-4900-8000-123456789abc/fail"),
            "/ping/…/fail"
        );
        assert_eq!(logged_path("/heartbeat/nightly"), "/heartbeat/nightly");
    }
}
