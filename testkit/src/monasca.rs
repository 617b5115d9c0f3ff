//! HTTP doubles of Keystone v3 (password grant) and the Monasca API (`POST /v2.0/metrics`),
//! which cannot run here. They check what the real ones check: the password grant's user,
//! domains, project and password (401 otherwise); `X-Auth-Token` being a token Keystone issued
//! and that has not expired or been revoked (401); each metric's name, dimensions, timestamp
//! and value (422 otherwise); and answer 201 with `X-Subject-Token` and 204.

use super::serve;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub const USER: &str = "monasca-agent";
pub const PASSWORD: &str = "keystone-password-for-tests";
pub const PROJECT: &str = "monitoring";

#[derive(Default)]
struct OpenStack {
    base: String,
    /// (token, expires at unix seconds)
    tokens: Vec<(String, i64)>,
    ttl_seconds: i64,
    grants: usize,
    metrics: Vec<Value>,
    down: bool,
}

#[derive(Clone)]
pub struct Keystone {
    /// Keystone's base URL (give it as `OS_AUTH_URL`, with or without `/v3`).
    pub url: String,
    /// Monasca's base URL, also in the token's catalog as the `monitoring` endpoint.
    pub monasca_url: String,
    state: Arc<Mutex<OpenStack>>,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": 401, "title": "Unauthorized",
                               "message": "The request you have made requires authentication."}})),
    )
        .into_response()
}

async fn tokens(State(s): State<Arc<Mutex<OpenStack>>>, Json(body): Json<Value>) -> Response {
    let mut s = s.lock().expect("state");
    let auth = &body["auth"];
    let user = &auth["identity"]["password"]["user"];
    let project = &auth["scope"]["project"];
    let ok = auth["identity"]["methods"] == json!(["password"])
        && user["name"] == USER
        && user["password"] == PASSWORD
        && user["domain"]["name"] == "Default"
        && project["name"] == PROJECT
        && project["domain"]["name"] == "Default";
    if !ok {
        return unauthorized();
    }
    s.grants += 1;
    let token = format!("gAAAAA-token-{}", s.grants);
    let expires = now() + s.ttl_seconds;
    s.tokens.push((token.clone(), expires));
    let expires_at = time::OffsetDateTime::from_unix_timestamp(expires)
        .expect("a time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatted");
    let body = json!({"token": {"expires_at": expires_at, "methods": ["password"],
        "catalog": [{"type": "identity", "name": "keystone", "endpoints": [{"interface": "public", "url": s.base}]},
                    {"type": "monitoring", "name": "monasca", "endpoints": [
                        {"interface": "internal", "url": "http://internal.invalid:8070"},
                        {"interface": "public", "url": format!("{}/monasca", s.base)}]}]}});
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut()
        .insert("x-subject-token", token.parse().expect("a header"));
    resp
}

fn invalid(why: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"title": "Unprocessable Entity", "description": why})),
    )
        .into_response()
}

async fn metrics(
    State(s): State<Arc<Mutex<OpenStack>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut s = s.lock().expect("state");
    if s.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    if !s
        .tokens
        .iter()
        .any(|(t, exp)| Some(t.as_str()) == token && *exp > now())
    {
        return unauthorized();
    }
    let list = match &body {
        Value::Array(a) => a.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return invalid("a metric or a list of metrics"),
    };
    for m in &list {
        let name_ok = m["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.len() <= 255);
        let dims_ok = m["dimensions"].as_object().is_none_or(|d| {
            d.values()
                .all(|v| v.as_str().is_some_and(|v| !v.is_empty()))
        });
        if !name_ok || !dims_ok || !m["timestamp"].is_i64() || !m["value"].is_number() {
            return invalid("each metric needs a name, string dimensions, an integer timestamp (ms) and a number value");
        }
    }
    s.metrics.extend(list);
    StatusCode::NO_CONTENT.into_response()
}

impl Keystone {
    /// Keystone and Monasca on one loopback port; tokens live `ttl_seconds`.
    pub async fn start(ttl_seconds: i64) -> Keystone {
        let state = Arc::new(Mutex::new(OpenStack {
            ttl_seconds,
            ..OpenStack::default()
        }));
        let app = Router::new()
            .route("/v3/auth/tokens", post(tokens))
            .route("/monasca/v2.0/metrics", post(metrics))
            .with_state(state.clone());
        let url = serve(app).await;
        state.lock().expect("state").base = url.clone();
        Keystone {
            monasca_url: format!("{url}/monasca"),
            url,
            state,
        }
    }

    pub fn grants(&self) -> usize {
        self.state.lock().expect("state").grants
    }

    /// Every metric Monasca accepted.
    pub fn metrics(&self) -> Vec<Value> {
        self.state.lock().expect("state").metrics.clone()
    }

    /// Makes every token issued so far invalid.
    pub fn revoke_tokens(&self) {
        self.state.lock().expect("state").tokens.clear();
    }

    /// While down, Monasca answers 503.
    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("state").down = down;
    }
}
