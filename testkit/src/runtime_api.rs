//! A Lambda Runtime API on loopback, for running a function's real binary outside
//! `cargo lambda watch`: it hands out the given events one by one with the request id, trace
//! id and deadline headers Lambda sends, and keeps what the function answers. Once every event
//! is handed out, `next` is held open, as Lambda holds it for an idle function.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// One event to hand out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub trace_id: String,
    pub payload: serde_json::Value,
}

/// What the function posted back for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: &'static str,
    pub body: serde_json::Value,
    pub handed_out: SystemTime,
    pub answered: SystemTime,
}

#[derive(Default)]
struct Inner {
    pending: VecDeque<Invocation>,
    handed: Vec<(String, SystemTime)>,
    answers: Vec<Answer>,
    init_error: Option<String>,
    /// Each invocation's time to its deadline.
    timeout: Duration,
}

type Shared = Arc<Mutex<Inner>>;

pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    shared: Shared,
}

impl RuntimeApi {
    pub async fn start(events: Vec<Invocation>) -> Self {
        RuntimeApi::start_with_timeout(events, Duration::from_secs(15)).await
    }

    /// As `start`, each invocation's deadline `timeout` after it is handed out (the function's
    /// configured timeout, as Lambda sends it in `Lambda-Runtime-Deadline-Ms`).
    pub async fn start_with_timeout(events: Vec<Invocation>, timeout: Duration) -> Self {
        let shared: Shared = Arc::new(Mutex::new(Inner {
            pending: events.into(),
            timeout,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(|s, p, b| answer(s, p, b, "response")),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(|s, p, b| answer(s, p, b, "error")),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let base = crate::serve(app).await;
        RuntimeApi {
            address: base.trim_start_matches("http://").to_string(),
            shared,
        }
    }

    /// Waits until `n` invocations are answered (at most `within`), and returns the answers.
    pub async fn answers(&self, n: usize, within: Duration) -> Vec<Answer> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            {
                let inner = self.shared.lock().expect("runtime API state");
                if let Some(e) = &inner.init_error {
                    panic!("the function reported an init error: {e}");
                }
                if inner.answers.len() >= n {
                    return inner.answers.clone();
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{} of {n} invocations answered within {within:?} ({} handed out)",
                    inner.answers.len(),
                    inner.handed.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn next(State(shared): State<Shared>) -> Response {
    let (event, timeout) = {
        let mut inner = shared.lock().expect("runtime API state");
        let event = inner.pending.pop_front();
        if let Some(e) = &event {
            inner.handed.push((e.request_id.clone(), SystemTime::now()));
        }
        (event, inner.timeout)
    };
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + timeout.as_millis();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &event.request_id);
    put("lambda-runtime-trace-id", &event.trace_id);
    put("lambda-runtime-deadline-ms", &deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:local",
    );
    put("content-type", "application/json");
    (StatusCode::OK, headers, event.payload.to_string()).into_response()
}

async fn answer(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
    kind: &'static str,
) -> StatusCode {
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    {
        let mut inner = shared.lock().expect("runtime API state");
        let handed_out = inner
            .handed
            .iter()
            .find(|(r, _)| *r == id)
            .map_or(SystemTime::UNIX_EPOCH, |(_, at)| *at);
        inner.answers.push(Answer {
            request_id: id,
            kind,
            body,
            handed_out,
            answered: SystemTime::now(),
        });
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    shared.lock().expect("runtime API state").init_error =
        Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// A function's process, stopped when dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl RuntimeApi {
    /// The command that runs `binary` as Lambda runs the function `name` against this API,
    /// through the local runner as `cargo lambda watch` does: with the environment its
    /// template entry declares, resolved from the table of local values `table` (run as its
    /// own principal when the table names an emulator enforcing IAM), plus what Lambda itself
    /// sets (the API's address, the function's name, version and memory); its output discarded
    /// unless the caller redirects it.
    pub fn command(
        &self,
        binary: &std::path::Path,
        name: &str,
        table: &[(String, String)],
    ) -> std::process::Command {
        let mut cmd = std::process::Command::new(crate::venv_bin("python"));
        cmd.arg(crate::repo_root().join("scripts/function_env.py"))
            .arg("exec")
            .arg(binary)
            .env_clear()
            .envs(table.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    }

    /// Starts `binary` as `command` does.
    pub fn spawn(
        &self,
        binary: &std::path::Path,
        name: &str,
        table: &[(String, String)],
    ) -> Running {
        Running(
            self.command(binary, name, table)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display())),
        )
    }
}
