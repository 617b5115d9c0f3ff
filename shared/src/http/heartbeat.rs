//! The routes of the `heartbeat` function.
//!
//! | route | methods | what |
//! |---|---|---|
//! | `/heartbeat` | POST | an alarm webhook (Monasca, Alertmanager) or a plain ping, counted into the webhook check |
//! | `/heartbeat/metrics` | GET, HEAD | the Prometheus exposition |
//! | `/heartbeat/{check}` | GET, HEAD, POST | success ping (`?create=1` creates an unknown check) |
//! | `/heartbeat/{check}/start`, `/fail`, `/{0-255}` | GET, HEAD, POST | start, failure, exit status |
//! | `/ping/{uuid}[/…]`, `/ping/{ping_key}/{slug}[/…]` | any | healthchecks.io's ping API (`http::ping`) |
//!
//! Every `/heartbeat` route needs a key with the `heartbeat` (or `monitoring`) role, as a bearer
//! token, `x-api-key` or `?token=`; bodies are capped at 64 KiB and never echoed. The `/ping`
//! URLs carry their credential in the path and keep the start of any body.

use crate::auth::{identify, Denied, KeyLookup, Role};
use crate::base::error::{Error, Result};
use crate::heartbeat::check::{validate_name, Ping};
use crate::heartbeat::config::HeartbeatConfig;
use crate::heartbeat::exposition::{render, CONTENT_TYPE};
use crate::heartbeat::ports::{HeartbeatStore, Heartbeats, Record};
use crate::heartbeat::receive::{receive, Incoming, Received};
use crate::heartbeat::webhook;
use crate::http::body::MAX_BODY_BYTES;
use crate::http::credentials::presented_key;
use crate::http::route::{matches, query_param, request_path};
use crate::http::{error::heartbeat as heartbeat_refusal, json};
use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub struct HeartbeatApi<S, K> {
    pub store: S,
    pub keys: K,
    pub config: HeartbeatConfig,
}

enum Route {
    /// healthchecks.io's ping URLs.
    HcPing,
    Webhook,
    Metrics,
    Ping {
        check: String,
        action: Option<String>,
    },
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        if crate::http::ping::is_ping_path(path) {
            return Some(Route::HcPing);
        }
        if matches("/heartbeat", path).is_some() {
            return Some(Route::Webhook);
        }
        if matches("/heartbeat/metrics", path).is_some() {
            return Some(Route::Metrics);
        }
        if let Some(p) = matches("/heartbeat/{check}", path) {
            return Some(Route::Ping {
                check: p.get("check").to_string(),
                action: None,
            });
        }
        matches("/heartbeat/{check}/{action}", path).map(|p| Route::Ping {
            check: p.get("check").to_string(),
            action: Some(p.get("action").to_string()),
        })
    }

    fn methods(&self) -> &'static [Method] {
        match self {
            Route::HcPing => &[],
            Route::Webhook => &[Method::POST],
            Route::Metrics => &[Method::GET, Method::HEAD],
            Route::Ping { .. } => &[Method::GET, Method::HEAD, Method::POST],
        }
    }

    /// `methods` as the `Allow` header lists them.
    fn allow(&self) -> &'static str {
        match self {
            Route::HcPing => "",
            Route::Webhook => "POST",
            Route::Metrics => "GET, HEAD",
            Route::Ping { .. } => "GET, HEAD, POST",
        }
    }
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

pub async fn routes<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    req: &Request,
) -> Response<Body> {
    let path = request_path(req);
    let mut resp = match crate::http::within_deadline(req, serve(api, req, &path)).await {
        Ok(resp) => resp,
        Err(err) => {
            let mut resp = heartbeat_refusal(&err, &path);
            if matches!(err, Error::Unauthorized(_)) {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"telltale\""),
                );
            }
            resp
        }
    };
    if req.method() == Method::HEAD {
        resp = crate::http::as_head(resp);
    }
    resp
}

async fn serve<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    req: &Request,
    path: &str,
) -> Result<Response<Body>> {
    let route = Route::of(path).ok_or_else(|| Error::NotFound("no such heartbeat route".into()))?;
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    if matches!(route, Route::HcPing) {
        return crate::http::ping::serve(&api.store, &api.keys, &api.config, req, now_ms).await;
    }
    if !route.methods().contains(req.method()) {
        return Err(Error::MethodNotAllowed {
            method: req.method().to_string(),
            path: path.to_string(),
            allow: route.allow(),
        });
    }
    let body = body_bytes(req);
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    crate::http::body::unencoded(req)?;
    if matches!(route, Route::Webhook) && !body.iter().all(u8::is_ascii_whitespace) {
        crate::http::body::json_declared(req)?;
    }
    authorise(&api.keys, req).await?;
    match route {
        Route::HcPing => Err(Error::Internal("ping routes are answered above".into())),
        Route::Metrics => exposition(api, now_ms).await,
        Route::Webhook => notification(api, body, now_ms).await,
        Route::Ping { check, action } => ping(api, req, &check, action.as_deref(), now_ms).await,
    }
}

/// A key with the heartbeat (or monitoring) role, however it is presented: 401 without one or
/// with an unknown one, 403 for another role.
async fn authorise(keys: &impl KeyLookup, req: &Request) -> Result<()> {
    let key = presented_key(req)?.ok_or_else(|| {
        Error::Unauthorized(
            "an API key is required: Authorization: Bearer <key>, x-api-key: <key> or ?token=<key>"
                .into(),
        )
    })?;
    match identify(keys, &key, Role::Heartbeat).await? {
        Ok(_) => Ok(()),
        Err(Denied::Unknown) => Err(Error::Unauthorized("the API key is not recognised".into())),
        Err(Denied::Role(message)) => Err(Error::Forbidden(message)),
    }
}

/// `GET /heartbeat/metrics`.
async fn exposition<S: Heartbeats, K>(
    api: &HeartbeatApi<S, K>,
    now_ms: i64,
) -> Result<Response<Body>> {
    let checks = api.store.checks().await?;
    // Only when a check has channels: the seed's loop reads no notice.
    let notices = if checks.iter().any(|c| !c.channels.is_empty()) {
        api.store.notices().await?
    } else {
        Vec::new()
    };
    let text = render(
        &checks,
        &notices,
        &api.config.webhook_check,
        now_ms.div_euclid(1000),
    );
    let mut resp = Response::new(Body::Text(text));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(resp)
}

/// `POST /heartbeat`: a webhook's notification (or a plain ping), counted into the webhook check.
async fn notification<S: HeartbeatStore, K>(
    api: &HeartbeatApi<S, K>,
    body: &[u8],
    now_ms: i64,
) -> Result<Response<Body>> {
    let delivery = webhook::parse(body)?;
    let state = delivery
        .counts
        .first()
        .map_or("success", |(s, _)| s.as_str());
    let record = Record {
        check: &api.config.webhook_check,
        source: delivery.source,
        counts: &delivery.counts,
        state,
        success: true,
        start: false,
        ends_run: false,
        failed: false,
        rid: None,
        exit_status: None,
        alarm: delivery.alarm.as_deref(),
        create: true,
        default_period: api.config.default_period,
        default_grace: api.config.default_grace,
        now_ms,
    };
    api.store.record(&record).await?;
    tracing::debug!(
        source = delivery.source,
        counted = delivery.total(),
        "heartbeat notification"
    );
    Ok(json(
        200,
        &json!({"check": api.config.webhook_check, "source": delivery.source, "counted": delivery.total()}),
    ))
}

/// `/heartbeat/{check}[/start|/fail|/<exit status>]`: a ping of a named check.
async fn ping<S: Heartbeats, K>(
    api: &HeartbeatApi<S, K>,
    req: &Request,
    check: &str,
    action: Option<&str>,
    now_ms: i64,
) -> Result<Response<Body>> {
    validate_name(check)?;
    let ping = Ping::parse(action)?;
    let create = match query_param(req, "create")?.as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(Error::BadRequest(
                "query parameter create must be 1 or 0".into(),
            ))
        }
    };
    let incoming = Incoming {
        check,
        kind: ping.kind(),
        rid: None,
        create,
        source: "ping",
        method: req.method().as_str(),
        address: None,
        user_agent: None,
        body: body_bytes(req),
        body_limit: api.config.ping_body_limit,
        default_period: api.config.default_period,
        default_grace: api.config.default_grace,
        now_ms,
        webhook_check: &api.config.webhook_check,
    };
    match receive(&api.store, &incoming).await? {
        Received::Recorded { .. } | Received::Ignored => Ok(json(
            200,
            &json!({"check": check, "state": ping.state(), "counted": 1}),
        )),
        Received::WebhookCheck => Err(Error::BadRequest(format!(
            "\"{check}\" is the webhook's check: only POST /heartbeat (alarm notifications) counts into it"
        ))),
        Received::UnknownCheck => Err(Error::NotFound(format!(
            "no check \"{check}\": create it with `telltale heartbeat check set {check}` or ping it once with ?create=1"
        ))),
    }
}
