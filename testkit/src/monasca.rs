//! HTTP doubles of Keystone v3 (password grant) and the Monasca API (`POST /v2.0/metrics`,
//! notification methods and alarm definitions), which cannot run here. They check what the
//! real ones check: the password grant's user, domains, project and password (401 otherwise);
//! `X-Auth-Token` being a token Keystone issued and that has not expired or been revoked (401);
//! and every body with Monasca's own code (`monasca_rules.py`: monasca-api's schemas and
//! expression parser, monasca-common's metric validator), answering its 422 otherwise.
//!
//! The catalog registers Monasca as deployments do: unversioned, versioned (`…/v2.0`, as
//! devstack, kolla and OpenStack-Ansible do), or in two regions with every interface. Each
//! endpoint is served under its own prefix, so a test sees which one a client chose, and a
//! client that adds the version twice gets Monasca's 404.

use super::serve;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const USER: &str = "monasca-agent";
pub const PASSWORD: &str = "keystone-password-for-tests";
pub const PROJECT: &str = "monitoring";

/// How the catalog registers Monasca.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Catalog {
    /// One region; the public endpoint without the version (`…/monasca`).
    #[default]
    Unversioned,
    /// One region; the public endpoint with the version (`…/monasca/v2.0`).
    Versioned,
    /// `RegionOne` and `RegionTwo`, each with a public, an internal and an admin endpoint
    /// (versioned), served under `/<region>-<interface>`.
    TwoRegions,
}

#[derive(Default)]
struct OpenStack {
    base: String,
    catalog: Catalog,
    /// (token, expires at unix seconds)
    tokens: Vec<(String, i64)>,
    ttl_seconds: i64,
    grants: usize,
    /// Each accepted metric with the endpoint prefix it was posted to.
    metrics: Vec<(String, Value)>,
    /// Notification methods and alarm definitions by id, in creation order.
    objects: Vec<(String, &'static str, Value)>,
    /// Every accepted write: (method, path).
    writes: Vec<(String, String)>,
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
                    {"type": "monitoring", "name": "monasca", "endpoints": endpoints(&s.base, s.catalog)}]}});
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut()
        .insert("x-subject-token", token.parse().expect("a header"));
    resp
}

/// The catalog's `monitoring` endpoints.
fn endpoints(base: &str, catalog: Catalog) -> Value {
    match catalog {
        Catalog::Unversioned => json!([
            {"interface": "internal", "region_id": "RegionOne", "url": "http://internal.invalid:8070"},
            {"interface": "public", "region_id": "RegionOne", "url": format!("{base}/monasca")}]),
        Catalog::Versioned => json!([
            {"interface": "internal", "region_id": "RegionOne", "url": "http://internal.invalid:8070/v2.0"},
            {"interface": "public", "region_id": "RegionOne", "url": format!("{base}/monasca/v2.0")}]),
        Catalog::TwoRegions => Value::Array(
            ["RegionOne", "RegionTwo"]
                .iter()
                .flat_map(|region| {
                    ["public", "internal", "admin"].map(|interface| {
                        json!({"interface": interface, "region_id": region, "region": region,
                               "url": format!("{base}/{}-{interface}/v2.0/", region.to_lowercase())})
                    })
                })
                .collect(),
        ),
    }
}

/// A prefix the catalog names.
fn served(prefix: &str) -> bool {
    prefix == "monasca"
        || ["regionone", "regiontwo"].iter().any(|r| {
            ["public", "internal", "admin"]
                .iter()
                .any(|i| prefix == format!("{r}-{i}"))
        })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"title": "Not Found", "description": "The resource could not be found."})),
    )
        .into_response()
}

/// Monasca's own verdict on a body (`monasca_rules.py`); `Err` holds its reason.
async fn monasca_rules(kind: &str, body: &Value) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let python = super::repo_root().join(".venv-monasca/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make setup` installs monasca-api's checks",
        python.display()
    );
    let mut child = tokio::process::Command::new(python)
        .arg(super::repo_root().join("testkit/monasca_rules.py"))
        .arg(kind)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running monasca_rules.py");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(body.to_string().as_bytes())
        .await
        .expect("writing the body");
    drop(stdin);
    let out = child.wait_with_output().await.expect("monasca_rules.py");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// The token's check, as every Monasca route makes it.
fn authorised(s: &OpenStack, headers: &HeaderMap) -> bool {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    s.tokens
        .iter()
        .any(|(t, exp)| Some(t.as_str()) == token && *exp > now())
}

fn invalid(why: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"title": "Unprocessable Entity", "description": why})),
    )
        .into_response()
}

async fn metrics(
    State(state): State<Arc<Mutex<OpenStack>>>,
    Path(prefix): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    {
        let s = state.lock().expect("state");
        if s.down {
            return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        }
        if !served(&prefix) {
            return not_found();
        }
        if !authorised(&s, &headers) {
            return unauthorized();
        }
    }
    if let Err(why) = monasca_rules("metrics", &body).await {
        return invalid(&why);
    }
    let list = match body {
        Value::Array(a) => a,
        one => vec![one],
    };
    let mut s = state.lock().expect("state");
    s.metrics
        .extend(list.into_iter().map(|m| (prefix.clone(), m)));
    StatusCode::NO_CONTENT.into_response()
}

fn kind_of(collection: &str) -> Option<&'static str> {
    match collection {
        "notification-methods" => Some("notification"),
        "alarm-definitions" => Some("definition"),
        _ => None,
    }
}

/// The checks every object route makes before its own: Monasca up, the prefix served, the
/// collection known, the token valid.
fn admitted(
    s: &OpenStack,
    prefix: &str,
    collection: &str,
    headers: &HeaderMap,
) -> Result<&'static str, Box<Response>> {
    if s.down {
        let down = (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        return Err(Box::new(down));
    }
    let Some(kind) = kind_of(collection).filter(|_| served(prefix)) else {
        return Err(Box::new(not_found()));
    };
    if !authorised(s, headers) {
        return Err(Box::new(unauthorized()));
    }
    Ok(kind)
}

async fn list_objects(
    State(state): State<Arc<Mutex<OpenStack>>>,
    Path((prefix, collection)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let s = state.lock().expect("state");
    let kind = match admitted(&s, &prefix, &collection, &headers) {
        Ok(kind) => kind,
        Err(resp) => return *resp,
    };
    let elements: Vec<Value> = s
        .objects
        .iter()
        .filter(|(_, k, body)| *k == kind && query.get("name").is_none_or(|n| body["name"] == *n))
        .map(|(_, _, body)| body.clone())
        .collect();
    Json(
        json!({"links": [{"rel": "self", "href": format!("{}/{prefix}/v2.0/{collection}", s.base)}],
                "elements": elements}),
    )
    .into_response()
}

async fn create_object(
    State(state): State<Arc<Mutex<OpenStack>>>,
    Path((prefix, collection)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let kind = match admitted(
        &state.lock().expect("state"),
        &prefix,
        &collection,
        &headers,
    ) {
        Ok(kind) => kind,
        Err(resp) => return *resp,
    };
    if let Err(why) = monasca_rules(kind, &body).await {
        return invalid(&why);
    }
    let mut s = state.lock().expect("state");
    if kind == "notification"
        && s.objects
            .iter()
            .any(|(_, k, b)| *k == kind && b["name"] == body["name"])
    {
        return (
            StatusCode::CONFLICT,
            Json(json!({"title": "Conflict",
            "description": "A notification method with that name already exists"})),
        )
            .into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = body;
    stored["id"] = json!(id);
    if kind == "notification" {
        stored["type"] = json!(stored["type"].as_str().unwrap_or_default().to_uppercase());
        stored["period"] = json!(stored["period"].as_i64().unwrap_or(0));
    }
    s.objects.push((id, kind, stored.clone()));
    s.writes.push(("POST".into(), collection));
    (StatusCode::CREATED, Json(stored)).into_response()
}

async fn patch_object(
    State(state): State<Arc<Mutex<OpenStack>>>,
    Path((prefix, collection, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (kind, stored) = {
        let s = state.lock().expect("state");
        let kind = match admitted(&s, &prefix, &collection, &headers) {
            Ok(kind) => kind,
            Err(resp) => return *resp,
        };
        match s.objects.iter().find(|(i, k, _)| *i == id && *k == kind) {
            Some((_, _, b)) => (kind, b.clone()),
            None => return not_found(),
        }
    };
    // As monasca-api does: a patch is merged with what is stored; a notification method is
    // then checked whole, an alarm definition as the object it becomes (its expression parsed).
    let mut merged = stored;
    for (k, v) in body.as_object().cloned().unwrap_or_default() {
        merged[k] = v;
    }
    let mut whole = merged.clone();
    whole.as_object_mut().map(|m| m.remove("id"));
    let rule = if kind == "notification" {
        "notification-whole"
    } else {
        "definition"
    };
    let checked = monasca_rules(rule, &whole).await;
    if let Err(why) = checked {
        return invalid(&why);
    }
    let mut s = state.lock().expect("state");
    if let Some(entry) = s.objects.iter_mut().find(|(i, _, _)| *i == id) {
        entry.2 = merged.clone();
    }
    s.writes.push(("PATCH".into(), collection));
    Json(merged).into_response()
}

impl Keystone {
    /// Keystone and Monasca on one loopback port, Monasca unversioned in the catalog; tokens
    /// live `ttl_seconds`.
    pub async fn start(ttl_seconds: i64) -> Keystone {
        Self::with_catalog(ttl_seconds, Catalog::Unversioned).await
    }

    /// As `start`, with Monasca registered in the catalog as `catalog` says.
    pub async fn with_catalog(ttl_seconds: i64, catalog: Catalog) -> Keystone {
        let state = Arc::new(Mutex::new(OpenStack {
            ttl_seconds,
            catalog,
            ..OpenStack::default()
        }));
        let app = Router::new()
            .route("/v3/auth/tokens", post(tokens))
            .route("/{prefix}/v2.0/metrics", post(metrics))
            .route(
                "/{prefix}/v2.0/{collection}",
                get(list_objects).post(create_object),
            )
            .route("/{prefix}/v2.0/{collection}/{id}", patch(patch_object))
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
        self.metrics_at().into_iter().map(|(_, m)| m).collect()
    }

    /// Every metric Monasca accepted, with the endpoint's prefix it came through
    /// (`monasca`, `regiontwo-internal`, ...).
    pub fn metrics_at(&self) -> Vec<(String, Value)> {
        self.state.lock().expect("state").metrics.clone()
    }

    /// The notification methods (`notification`) or alarm definitions (`definition`) held.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        let s = self.state.lock().expect("state");
        s.objects
            .iter()
            .filter(|(_, k, _)| *k == kind)
            .map(|(_, _, b)| b.clone())
            .collect()
    }

    /// Changes a stored object as an operator's hand would, bypassing the API.
    pub fn change_by_hand(&self, kind: &str, name: &str, field: &str, value: Value) {
        let mut s = self.state.lock().expect("state");
        let entry = s
            .objects
            .iter_mut()
            .find(|(_, k, b)| *k == kind && b["name"] == name)
            .expect("the object to change");
        entry.2[field] = value;
    }

    /// Every write Monasca accepted: (method, collection).
    pub fn writes(&self) -> Vec<(String, String)> {
        self.state.lock().expect("state").writes.clone()
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
