//! One log line per HTTP invocation: function, method, path, status, duration and, for a
//! refusal, why. It is the line people read (the only one at `info` for a request that went
//! well or was refused); the details stay at `debug`, failures keep their own error line.

use crate::base::telemetry::{function_name, millis};
use crate::base::text::echoed;
use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static REFUSAL: RefCell<Option<String>>;
}

/// Called where an error becomes a 4xx: the reason goes on the invocation's line. Outside an
/// invocation (a handler called directly by a test) there is no line, and nothing to note.
pub fn note_refusal(reason: &str) {
    let _ = REFUSAL.try_with(|r| *r.borrow_mut() = Some(echoed(reason)));
}

/// Runs one invocation's `answer`, then logs its line. `status` reads the answer's status
/// code (`None` when the invocation itself failed, which the runtime logs).
pub async fn logged<T, E>(
    method: &str,
    path: &str,
    answer: impl Future<Output = Result<T, E>>,
    status: impl Fn(&T) -> u16,
) -> Result<T, E> {
    let start = Instant::now();
    let (outcome, refusal) = REFUSAL
        .scope(RefCell::new(None), async {
            let outcome = answer.await;
            (outcome, REFUSAL.with(|r| r.borrow_mut().take()))
        })
        .await;
    let duration_ms = millis(start.elapsed());
    let function = function_name();
    let path = echoed(&super::ping::logged_path(path));
    match (&outcome, refusal) {
        (Ok(resp), Some(error)) => tracing::info!(
            function,
            method,
            path,
            status = status(resp),
            duration_ms,
            error,
            "answered"
        ),
        (Ok(resp), None) => tracing::info!(
            function,
            method,
            path,
            status = status(resp),
            duration_ms,
            "answered"
        ),
        (Err(_), _) => tracing::error!(function, method, path, duration_ms, "invocation failed"),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::telemetry::captured;

    #[tokio::test]
    async fn one_line_per_invocation_with_the_refusal_reason() {
        let (_, lines) = captured(async {
            let refused = logged(
                "GET",
                "/api/v2/probes/x\u{7}",
                async {
                    note_refusal("no such candidate");
                    Ok::<u16, ()>(404)
                },
                |s| *s,
            );
            refused.await.unwrap();
            logged("POST", "/team/", async { Ok::<u16, ()>(200) }, |s| *s)
                .await
                .unwrap();
        })
        .await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["message"], "answered");
        assert_eq!(lines[0]["status"], 404);
        assert_eq!(lines[0]["error"], "no such candidate");
        assert_eq!(lines[0]["method"], "GET");
        assert!(!lines[0]["path"].as_str().unwrap().contains('\u{7}'));
        assert_eq!(lines[1]["status"], 200);
        assert!(lines[1].get("error").is_none(), "{:?}", lines[1]);
        // Outside an invocation a refusal is noted nowhere, and nothing panics.
        note_refusal("ignored");
    }
}
