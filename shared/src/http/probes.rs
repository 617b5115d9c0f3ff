//! The routes of the `probe-submit` function: `POST` and `GET /api/v2/probes/`, answered in
//! POEM's shapes.

use crate::auth::{authenticate, KeyLookup, Role};
use crate::base::error::{Error, Result};
use crate::http::body::{header, idempotency_key, json_object};
use crate::http::route::{matches, query_param, request_path};
use crate::http::{error::poem, json};
use crate::probes::change::parse_change;
use crate::probes::details::{details, Details};
use crate::probes::email::EmailSettings;
use crate::probes::listing::{page, PageRequest};
use crate::probes::ports::{CandidateStore, Mailer, Outbox};
use crate::probes::status::change_status;
use crate::probes::submit::{list, submit};

/// The next page as a relative reference (RFC 8288): only the query changes, so it resolves
/// against whatever URL the caller used, stage prefix and all.
fn next_link(request: &PageRequest, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(s) = &request.status {
        query.append_pair("status", s);
    }
    if let Some(q) = &request.search {
        query.append_pair("q", q);
    }
    if let Some(l) = &request.limit {
        query.append_pair("limit", l);
    }
    query.append_pair("cursor", cursor);
    format!("<?{}>; rel=\"next\"", query.finish())
}
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Everything the probe routes use, built once per cold start.
pub struct ProbeApi<S, M, K> {
    pub store: S,
    pub mailer: M,
    pub keys: K,
    pub email: EmailSettings,
    /// How long a candidate stays in `testing` before it may be `deployed` without `force`.
    pub min_testing: time::Duration,
    /// What the list's cursors are tagged with.
    pub cursors: crate::probes::cursor::CursorKey,
}

pub const COLLECTION: &str = "/api/v2/probes";

/// Serves `POST` and `GET /api/v2/probes/` (with or without the trailing slash).
pub async fn submit_routes<S, M, K>(api: &ProbeApi<S, M, K>, req: &Request) -> Response<Body>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    match crate::http::within_deadline(req, serve(api, req)).await {
        Ok(resp) => resp,
        Err(err) => poem(&err),
    }
}

async fn serve<S, M, K>(api: &ProbeApi<S, M, K>, req: &Request) -> Result<Response<Body>>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    let path = request_path(req);
    if matches(COLLECTION, &path).is_none() {
        return Err(Error::NotFound("Not found.".into()));
    }
    let method = req.method().clone();
    if method != Method::GET && method != Method::POST {
        // Django REST framework's wording, which POEM clients see today.
        return Err(Error::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_string(),
            allow: "GET, POST",
        });
    }
    let caller = authenticate(&api.keys, header(req, "x-api-key")?, Role::Submitter).await?;
    if method == Method::GET {
        let request = PageRequest {
            status: query_param(req, "status")?,
            limit: query_param(req, "limit")?,
            cursor: query_param(req, "cursor")?,
            search: query_param(req, "q")?,
        };
        if !request.paged() {
            let items = list(&api.store, request.status.as_deref()).await?;
            return Ok(json(200, &items));
        }
        let full = caller.role == Role::Monitoring;
        let found = page(&api.store, &api.cursors, &request, full).await?;
        let mut resp = json(200, &found.items);
        if let Some(next) = &found.next {
            if let Ok(link) = HeaderValue::from_str(&next_link(&request, next)) {
                resp.headers_mut().insert("link", link);
            }
        }
        return Ok(resp);
    }
    let body = json_object(req)?;
    let key = idempotency_key(req)?;
    let done = submit(&api.store, &api.mailer, &api.email, &caller, &body, key).await?;
    let c = &done.candidate;
    let mut payload = json!({
        "detail": format!("Probe '{}' POSTed successfully", c.name),
        "id": c.id,
        "status": c.status,
    });
    if let Some(w) = &done.warning {
        payload["warning"] = json!(w);
    }
    let mut resp = json(201, &payload);
    let prefix = crate::http::route::caller_prefix(req);
    if let Ok(location) = HeaderValue::from_str(&format!("{prefix}{COLLECTION}/{}", c.id)) {
        resp.headers_mut().insert("location", location);
    }
    if done.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// Serves `GET /api/v2/probes/{id}` and `PUT /api/v2/probes/{id}/status` (monitoring role).
pub async fn status_routes<S, M, K>(api: &ProbeApi<S, M, K>, req: &Request) -> Response<Body>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    match crate::http::within_deadline(req, serve_status(api, req)).await {
        Ok(resp) => resp,
        Err(err) => poem(&err),
    }
}

fn with_etag(status: u16, details: &Details) -> Response<Body> {
    let mut resp = json(status, details);
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", details.candidate.version)) {
        resp.headers_mut().insert("etag", v);
    }
    resp
}

async fn serve_status<S, M, K>(api: &ProbeApi<S, M, K>, req: &Request) -> Result<Response<Body>>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    let path = request_path(req);
    let (route, params) = if let Some(p) = matches("/api/v2/probes/{id}/status", &path) {
        ("status", p)
    } else if let Some(p) = matches("/api/v2/probes/{id}", &path) {
        ("candidate", p)
    } else {
        return Err(Error::NotFound("Not found.".into()));
    };
    let method = req.method().clone();
    let expected = if route == "status" {
        Method::PUT
    } else {
        Method::GET
    };
    if method != expected {
        return Err(Error::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_string(),
            allow: if route == "status" { "PUT" } else { "GET" },
        });
    }
    let caller = authenticate(&api.keys, header(req, "x-api-key")?, Role::Monitoring).await?;
    let id = params.get("id");
    if route == "candidate" {
        return Ok(with_etag(200, &details(&api.store, id).await?));
    }
    let body = json_object(req)?;
    let change = parse_change(&body, header(req, "if-match")?)?;
    let updated = change_status(
        &api.store,
        &api.mailer,
        &api.email,
        api.min_testing,
        &caller,
        id,
        change,
    )
    .await?;
    Ok(with_etag(200, &updated))
}
