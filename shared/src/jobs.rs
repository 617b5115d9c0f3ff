//! The scheduled functions' handlers: a schedule's event becomes a domain call, its outcome
//! the invocation's answer. A run that leaves work undone fails the invocation (the function's
//! error alarm), with every reason in the message.

use crate::accounting::config::AccountingConfig;
use crate::accounting::ports::{AccountingService, AccountingStore, TokenGrant};
use crate::accounting::push::{event_time, Pusher};
use crate::accounting::token::refresh_scheduled;
use crate::base::time::scheduled_time;
use crate::collectors::ports::PointSink;
use crate::collectors::registry::Registry;
use crate::collectors::run::{collector_for, run as run_collector};
use crate::collectors::sources::Sources;
use crate::heartbeat::source::Source;
use crate::metrics::ports::PrometheusQuery;
use crate::metrics::store::MappingStore;
use crate::probes::outbox::deliver_pending;
use crate::probes::ports::{Mailer, Outbox};
use serde_json::{json, Value};

/// Why a run failed, with every reason; the invocation's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobFailed(pub String);

/// What Lambda records of a failed run: the error named (`errorType`), not the Rust type of a
/// boxed error, and its message.
impl From<JobFailed> for lambda_http::lambda_runtime::Diagnostic {
    fn from(e: JobFailed) -> Self {
        lambda_http::lambda_runtime::Diagnostic {
            error_type: "JobFailed".into(),
            error_message: e.0,
        }
    }
}

impl From<crate::Error> for JobFailed {
    fn from(e: crate::Error) -> Self {
        JobFailed(e.to_string())
    }
}

impl From<crate::collectors::CollectorError> for JobFailed {
    fn from(e: crate::collectors::CollectorError) -> Self {
        JobFailed(e.to_string())
    }
}

/// Runs one scheduled invocation and logs its one line: function, duration and what it did
/// (`run finished`), or every reason it failed (`run failed`, an error: the error a function
/// returns goes to its caller, for a schedule the on-failure queue, not to its log, and the
/// alarm's runbook entry starts from the log).
pub async fn logged(
    run: impl std::future::Future<Output = Result<Value, JobFailed>>,
) -> Result<Value, JobFailed> {
    let start = std::time::Instant::now();
    let outcome = run.await;
    let duration_ms = crate::base::telemetry::millis(start.elapsed());
    let function = crate::base::telemetry::function_name();
    match &outcome {
        Ok(answer) => {
            tracing::info!(function, duration_ms, result = %brief(answer), "run finished")
        }
        Err(e) => tracing::error!(function, duration_ms, error = %e, "run failed"),
    }
    outcome
}

/// A run's answer in a few words: its scalar fields, and how many items each list holds
/// (`collector=probe_pipeline points=12 written=12 warnings=0`).
pub fn brief(answer: &Value) -> String {
    let Some(fields) = answer.as_object() else {
        return answer.to_string();
    };
    let shown: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Array(items) => Some(format!("{k}={}", items.len())),
            Value::String(s) => Some(format!("{k}={}", crate::base::text::echoed(s))),
            Value::Number(_) | Value::Bool(_) => Some(format!("{k}={v}")),
            Value::Null | Value::Object(_) => None,
        })
        .collect();
    shown.join(" ")
}

fn answer(value: impl serde::Serialize) -> Result<Value, JobFailed> {
    serde_json::to_value(value).map_err(|e| JobFailed(e.to_string()))
}

/// What `accounting-push` and `token-refresh` work with.
pub struct Accounting {
    pub config: AccountingConfig,
    pub table: Box<dyn AccountingStore>,
    pub service: Box<dyn AccountingService>,
    pub grant: Box<dyn TokenGrant>,
}

/// `accounting-push`'s stack: the accounting parts, the mappings and Prometheus.
pub struct Push {
    pub accounting: Accounting,
    pub store: MappingStore,
    pub prometheus: Box<dyn PrometheusQuery>,
    pub range_start: i64,
}

/// Pushes every selected metric for the period ending at the event's time.
pub async fn accounting_push(stack: &Push, event: &Value) -> Result<Value, JobFailed> {
    let end = event_time(event).map_err(JobFailed)?;
    let view = stack.store.view().await;
    let a = &stack.accounting;
    let pusher = Pusher {
        service: a.service.as_ref(),
        grant: a.grant.as_ref(),
        config: &a.config,
        table: a.table.as_ref(),
        prometheus: stack.prometheus.as_ref(),
        range_start: stack.range_start,
    };
    let summary = pusher.run(view.metadata()?, view.metrics()?, end).await;
    tracing::debug!(
        pushed = summary.pushed.len(),
        skipped = summary.skipped.len(),
        failed = summary.failed.len(),
        "{}",
        summary.line()
    );
    if !summary.failed.is_empty() {
        let reasons: Vec<String> = summary
            .failed
            .iter()
            .map(|f| format!("{}/{}: {}", f.resource, f.metric, f.reason))
            .collect();
        return Err(JobFailed(format!(
            "{}; {}",
            summary.line(),
            reasons.join("; ")
        )));
    }
    answer(summary)
}

/// `token-refresh`'s stack: the table and the token endpoint only, typed, so the function links
/// only the table operations a refresh uses.
pub struct Refresh<S, G> {
    pub config: AccountingConfig,
    pub table: S,
    pub grant: G,
}

/// Refreshes the stored token as of the event's time (one refresh at a time across instances,
/// one grant per scheduled time: see `refresh_scheduled`).
pub async fn token_refresh<S: AccountingStore, G: TokenGrant>(
    stack: &Refresh<S, G>,
    event: &Value,
) -> Result<Value, JobFailed> {
    let scheduled = scheduled_time(event).map_err(JobFailed)?.unix_timestamp();
    let token = refresh_scheduled(&stack.grant, &stack.config, &stack.table, scheduled).await?;
    Ok(json!({
        "expires_at": token.expires_at,
        "version": token.version,
        "refreshed_at": token.refreshed_at,
    }))
}

/// `email-retry`'s stack.
pub struct EmailRetry<O, M> {
    pub outbox: O,
    pub mailer: M,
}

/// Sends every pending email once more; fails while any is still refused.
pub async fn email_retry<O: Outbox, M: Mailer>(
    stack: &EmailRetry<O, M>,
) -> Result<Value, JobFailed> {
    let summary = deliver_pending(&stack.outbox, &stack.mailer).await?;
    tracing::debug!(
        sent = summary.sent,
        skipped = summary.skipped,
        failed = summary.failed.len(),
        "email retry run"
    );
    if !summary.failed.is_empty() {
        let reasons: Vec<String> = summary
            .failed
            .iter()
            .map(|(id, r)| format!("{id}: {r}"))
            .collect();
        return Err(JobFailed(format!(
            "{} email(s) still not sent: {}",
            reasons.len(),
            reasons.join("; ")
        )));
    }
    answer(summary)
}

/// `collector`'s stack: the stores it may read, and where points go.
pub struct Collector<S> {
    pub registry: Registry,
    pub sources: Sources,
    pub sink: S,
}

/// Runs the collector the event names, as of the schedule's time (so a repeated delivery
/// writes the same points at the same time, which overwrite).
pub async fn collector<S: PointSink>(
    stack: &Collector<S>,
    event: &Value,
) -> Result<Value, JobFailed> {
    let collector = collector_for(event, &stack.registry)?;
    let now = crate::base::time::scheduled_time(event).map_err(JobFailed)?;
    let report = run_collector(collector, &stack.sources, &stack.sink, now).await?;
    answer(report)
}

/// Sends one beat to every sink, as of the schedule's time (a repeated delivery sends the same
/// beat, with the same timestamp); fails naming each sink that did not take it.
pub async fn heartbeat_source(source: &Source, event: &Value) -> Result<Value, JobFailed> {
    let at = crate::base::time::scheduled_time(event).map_err(JobFailed)?;
    let report = source.emit(at).await;
    let failures = report.failures();
    if !failures.is_empty() {
        return Err(JobFailed(format!(
            "{} of {} heartbeat sink(s) failed: {}",
            failures.len(),
            report.sinks.len(),
            failures.join("; ")
        )));
    }
    tracing::debug!(
        beat = report.beat,
        sinks = report.sinks.len(),
        "heartbeat sent"
    );
    answer(report)
}

/// The runtime loop of a scheduled function whose configuration is incomplete: the problem is
/// logged once, readably, and every invocation fails with it (so the schedule's error alarm
/// sees it) instead of the process exiting and being started again for each event.
pub async fn unconfigured(problem: impl std::fmt::Display) -> Result<(), lambda_http::Error> {
    let message = format!("this function is not configured: {problem}");
    tracing::error!(error = %message, "configuration incomplete");
    let message = &message;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        // Named as every failed run is (`errorType: JobFailed`), not as a boxed error's type.
        move |_: lambda_http::LambdaEvent<serde_json::Value>| async move {
            Err::<serde_json::Value, JobFailed>(JobFailed(message.clone()))
        },
    ))
    .await
}

/// `heartbeat-sweep`'s stack.
pub struct HeartbeatSweep<S, M, W, A> {
    pub store: S,
    pub channels: crate::heartbeat::sweep::Channels<M, W, A>,
}

/// The clock's flips and every pending notice; fails while a notice is refused, a check could
/// not be settled, or Alertmanager refused the firing alerts.
pub async fn heartbeat_sweep<S, M, W, A>(
    stack: &HeartbeatSweep<S, M, W, A>,
) -> Result<Value, JobFailed>
where
    S: crate::heartbeat::ports::Heartbeats
        + crate::outbox::ports::Claims<Message = crate::heartbeat::notice::Notice>,
    M: Mailer + Sync,
    W: crate::heartbeat::ports::WebhookPoster + Sync,
    A: crate::heartbeat::ports::AlertPoster + Sync,
{
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = crate::heartbeat::sweep::sweep(&stack.store, &stack.channels, now).await?;
    let problems = report.problems();
    if !problems.is_empty() {
        return Err(JobFailed(format!(
            "{} problem(s) in the sweep: {}",
            problems.len(),
            problems.join("; ")
        )));
    }
    Ok(
        json!({"checks": report.checks, "flips": report.flips, "notices_sent": report.notices.sent,
        "notices_skipped": report.notices.skipped, "alerts": report.alerts}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brief_names_scalars_and_counts_lists() {
        let answer = json!({"collector": "probe_pipeline", "points": 12, "ok": true,
            "warnings": ["a", "b"], "nested": {"x": 1}, "none": null});
        assert_eq!(
            brief(&answer),
            "collector=probe_pipeline points=12 ok=true warnings=2"
        );
        assert_eq!(brief(&json!(3)), "3");
    }

    /// A run is one line: `run finished` at info with what it did, or `run failed` at error
    /// with every reason; both with the function and the duration.
    #[tokio::test]
    async fn a_run_is_one_line_with_its_function_and_duration() {
        let (_, lines) = crate::base::telemetry::captured(async {
            logged(async { Ok(json!({"sent": 2, "failed": []})) }).await
        })
        .await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert_eq!(
            (line["level"].as_str(), line["message"].as_str()),
            (Some("INFO"), Some("run finished"))
        );
        assert_eq!(line["result"], "sent=2 failed=0");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
        assert!(
            line["function"].as_str().is_some_and(|f| !f.is_empty()),
            "{line}"
        );

        let (outcome, lines) = crate::base::telemetry::captured(async {
            logged(async { Err(JobFailed("1 email(s) still not sent: e1: refused".into())) }).await
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(
            (lines[0]["level"].as_str(), lines[0]["message"].as_str()),
            (Some("ERROR"), Some("run failed"))
        );
        assert_eq!(lines[0]["error"], "1 email(s) still not sent: e1: refused");
    }
}
