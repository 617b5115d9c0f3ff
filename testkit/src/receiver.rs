//! A webhook receiver as a team would run one: it keeps every call (its notice id, signature
//! and body) and answers 500 to the first `failures` calls, to show a failing channel retried.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Call {
    pub notice_id: Option<String>,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Clone, Default)]
pub struct Receiver {
    calls: Arc<Mutex<Vec<Call>>>,
    failures: Arc<Mutex<usize>>,
}

impl Receiver {
    /// Serves it; its URL.
    pub async fn start(&self, failures: usize) -> String {
        *self.failures.lock().unwrap() = failures;
        let app = axum::Router::new()
            .route("/hook", post(take))
            .with_state(self.clone());
        format!("{}/hook", super::serve(app).await)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls it accepted.
    pub fn accepted(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.status == 200)
            .collect()
    }
}

async fn take(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = {
        let mut failures = r.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    };
    r.calls.lock().unwrap().push(Call {
        notice_id: header("x-telltale-notice-id"),
        signature: header("x-telltale-signature-256"),
        body: body.to_vec(),
        status: status.as_u16(),
    });
    status
}
