//! HTTP doubles of the two external services the accounting push talks to: the OIDC token
//! endpoint and the EOSC Accounting Service. They cannot run here, so these speak real HTTP
//! on loopback and check what the real ones check.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const SCOPE: &str = "openid email profile voperson_id eduperson_entitlement";

#[derive(Default)]
struct Aai {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    issued: Vec<String>,
    revoked: usize,
    down: bool,
    grants: usize,
    /// Refresh tokens already exchanged (rotated away).
    used: Vec<String>,
    /// Set when a used refresh token came back: as Keycloak's "revoke refresh token", the
    /// whole family is then dead and every later grant is refused.
    family_revoked: bool,
}

/// The OIDC token endpoint: refresh-token grant with HTTP Basic client credentials; it
/// rotates the refresh token on every grant.
#[derive(Clone)]
pub struct TokenEndpoint {
    pub url: String,
    state: Arc<Mutex<Aai>>,
}

use super::serve;

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn grant(
    State(s): State<Arc<Mutex<Aai>>>,
    headers: HeaderMap,
    form: axum::Form<HashMap<String, String>>,
) -> Response {
    let mut s = s.lock().expect("state");
    if s.down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "temporarily_unavailable"}),
        );
    }
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", s.client_id, s.client_secret));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Basic {basic}"))
    {
        return error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let field = |k: &str| form.get(k).map(String::as_str);
    if field("grant_type") != Some("refresh_token") || field("scope") != Some(SCOPE) {
        return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"}));
    }
    let presented = field("refresh_token").unwrap_or_default().to_string();
    if s.used.contains(&presented) {
        s.family_revoked = true;
    }
    if s.family_revoked || presented != s.refresh_token {
        return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    }
    s.used.push(presented);
    s.grants += 1;
    let access = format!("access-{}", s.grants);
    s.refresh_token = format!("refresh-{}", s.grants);
    s.issued.push(access.clone());
    Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": s.refresh_token})).into_response()
}

impl TokenEndpoint {
    pub async fn start(client_id: &str, client_secret: &str, refresh_token: &str) -> TokenEndpoint {
        let state = Arc::new(Mutex::new(Aai {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
            ..Aai::default()
        }));
        let url = serve(
            Router::new()
                .route("/token", post(grant))
                .with_state(state.clone()),
        )
        .await;
        TokenEndpoint {
            url: format!("{url}/token"),
            state,
        }
    }

    /// While down, every grant is answered 503.
    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("state").down = down;
    }

    /// The refresh token the endpoint accepts now (rotated at every grant).
    pub fn refresh_token(&self) -> String {
        self.state.lock().expect("state").refresh_token.clone()
    }

    pub fn grants(&self) -> usize {
        self.state.lock().expect("state").grants
    }

    /// True once a rotated refresh token was presented again (reuse detection fired).
    pub fn family_revoked(&self) -> bool {
        self.state.lock().expect("state").family_revoked
    }

    /// Makes every access token issued so far invalid (as after a key rotation at the AAI).
    pub fn revoke_access_tokens(&self) {
        let mut s = self.state.lock().expect("state");
        s.revoked = s.issued.len();
    }

    fn accepts(&self, token: &str) -> bool {
        let s = self.state.lock().expect("state");
        s.issued.iter().skip(s.revoked).any(|t| t == token)
    }
}

/// A request the accounting double accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub installation: String,
    pub token: String,
    pub body: Value,
}

struct Books {
    aai: TokenEndpoint,
    received: Vec<Received>,
    /// Statuses to answer, in order, before accepting again (e.g. two 500s).
    script: VecDeque<u16>,
    attempts: usize,
    /// Added before every answer, as a distant service would (benchmarks).
    latency: std::time::Duration,
}

/// The EOSC Accounting Service's metric endpoint.
#[derive(Clone)]
pub struct AccountingApi {
    pub url: String,
    state: Arc<Mutex<Books>>,
}

fn zulu(v: &Value) -> Option<time::OffsetDateTime> {
    let s = v.as_str()?;
    let ok = s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && !s.contains('.');
    ok.then(|| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())?
}

async fn record(
    State(s): State<Arc<Mutex<Books>>>,
    Path(installation): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let latency = s.lock().expect("state").latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut s = s.lock().expect("state");
    s.attempts += 1;
    let reject = |code: u16, message: &str| {
        error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            json!({"code": code, "message": message}),
        )
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    if !s.aai.accepts(&token) {
        return reject(401, "You are not authorized to access this resource");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return reject(415, "Content-Type must be application/json");
    }
    if let Some(code) = s.script.pop_front() {
        return reject(code, "scripted failure");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return reject(400, "body is not JSON");
    };
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let shape = keys.len() == 4
        && body["metric_definition_id"].is_string()
        && body["value"].is_number()
        && body["time_period_start"].is_string()
        && body["time_period_end"].is_string();
    if !shape {
        return reject(
            400,
            "expected metric_definition_id, time_period_start, time_period_end, value",
        );
    }
    let (Some(start), Some(end)) = (
        zulu(&body["time_period_start"]),
        zulu(&body["time_period_end"]),
    ) else {
        return reject(
            400,
            "timestamps must be UTC Zulu with whole seconds, e.g. 2026-01-01T00:00:00Z",
        );
    };
    if end > time::OffsetDateTime::now_utc() {
        return reject(400, "time_period_end must not be in the future");
    }
    if start >= end {
        return reject(400, "time_period_start must be before time_period_end");
    }
    s.received.push(Received {
        installation,
        token,
        body: body.clone(),
    });
    let id = format!("metric-{}", s.received.len());
    (StatusCode::CREATED, Json(json!({"metric_id": id, "metric_definition_id": body["metric_definition_id"], "value": body["value"]}))).into_response()
}

impl AccountingApi {
    /// Accepts the access tokens `aai` issued (and has not revoked).
    pub async fn start(aai: &TokenEndpoint) -> AccountingApi {
        let state = Arc::new(Mutex::new(Books {
            aai: aai.clone(),
            received: Vec::new(),
            script: VecDeque::new(),
            attempts: 0,
            latency: std::time::Duration::ZERO,
        }));
        let app = Router::new()
            .route(
                "/accounting-system/installations/{id}/metrics",
                post(record),
            )
            .with_state(state.clone());
        AccountingApi {
            url: serve(app).await,
            state,
        }
    }

    /// Answer these statuses to the next requests (after the token check), then accept again.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().expect("state").script.extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    /// Every later answer comes `latency` after its request.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state.lock().expect("state").latency = latency;
    }

    /// Requests that reached the endpoint, accepted or not.
    pub fn attempts(&self) -> usize {
        self.state.lock().expect("state").attempts
    }
}
