//! An HTTP double of InfluxDB 2's write API (`POST /api/v2/write`), which Debian does not
//! package. It checks what InfluxDB 2 checks, with its answers: the `Authorization: Token`
//! header (401), `org` and `bucket` (400 when missing, 404 when unknown), `precision` (one of
//! ns, us, ms, s; 400 otherwise), and every line of the body (parsed with a line-protocol
//! parser; 400 naming the line). Accepted writes answer 204. Failures can be injected.

use super::serve;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One accepted write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub org: String,
    pub bucket: String,
    pub precision: Option<String>,
    pub body: String,
    pub lines: usize,
}

#[derive(Default)]
struct Server {
    token: String,
    org: String,
    bucket: String,
    writes: Vec<Write>,
    requests: usize,
    /// Answers to give before checking anything: (status, Retry-After).
    fail_next: VecDeque<(u16, Option<u64>)>,
}

#[derive(Clone)]
pub struct Influx2 {
    pub url: String,
    state: Arc<Mutex<Server>>,
}

fn answer(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

async fn write(
    State(s): State<Arc<Mutex<Server>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut s = s.lock().expect("state");
    s.requests += 1;
    if let Some((status, retry_after)) = s.fail_next.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = answer(status, "internal error", "injected failure".into());
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("a number"));
        }
        return resp;
    }
    let expected = format!("Token {}", s.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return answer(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unauthorized access".into(),
        );
    }
    let Some(org) = params.get("org").filter(|o| !o.is_empty()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Please provide either orgID or org".into(),
        );
    };
    if *org != s.org {
        return answer(
            StatusCode::NOT_FOUND,
            "not found",
            format!("organization name \"{org}\" not found"),
        );
    }
    let Some(bucket) = params.get("bucket").filter(|b| !b.is_empty()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Please provide bucket".into(),
        );
    };
    if *bucket != s.bucket {
        return answer(
            StatusCode::NOT_FOUND,
            "not found",
            format!("bucket \"{bucket}\" not found"),
        );
    }
    let precision = params.get("precision").cloned();
    if let Some(p) = &precision {
        if !["ns", "us", "ms", "s"].contains(&p.as_str()) {
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid",
                "invalid precision; valid precision units are ns, us, ms, and s".into(),
            );
        }
    }
    let mut lines = 0;
    for parsed in influxdb_line_protocol::parse_lines(&body) {
        match parsed {
            Ok(_) => lines += 1,
            Err(e) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("unable to parse points: {e}"),
                )
            }
        }
    }
    if lines == 0 {
        return answer(
            StatusCode::BAD_REQUEST,
            "invalid",
            "writing requires points".into(),
        );
    }
    s.writes.push(Write {
        org: org.clone(),
        bucket: bucket.clone(),
        precision,
        body,
        lines,
    });
    StatusCode::NO_CONTENT.into_response()
}

impl Influx2 {
    /// A server that knows one organisation, one bucket and one token.
    pub async fn start(token: &str, org: &str, bucket: &str) -> Influx2 {
        let state = Arc::new(Mutex::new(Server {
            token: token.into(),
            org: org.into(),
            bucket: bucket.into(),
            ..Server::default()
        }));
        let app = Router::new()
            .route("/api/v2/write", post(write))
            .with_state(state.clone());
        Influx2 {
            url: serve(app).await,
            state,
        }
    }

    /// The next requests get these statuses (with a `Retry-After` in seconds if given).
    pub fn fail_next(&self, answers: &[(u16, Option<u64>)]) {
        self.state
            .lock()
            .expect("state")
            .fail_next
            .extend(answers.iter().copied());
    }

    pub fn writes(&self) -> Vec<Write> {
        self.state.lock().expect("state").writes.clone()
    }

    /// Every request, accepted or not.
    pub fn requests(&self) -> usize {
        self.state.lock().expect("state").requests
    }
}
