//! The scheduled functions' handlers: a schedule's event becomes a domain call, its outcome
//! the invocation's answer. A run that leaves work undone fails the invocation (the function's
//! error alarm), with every reason in the message.

use crate::accounting::config::AccountingConfig;
use crate::accounting::ports::{AccountingService, AccountingStore, TokenGrant};
use crate::accounting::push::{event_time, Pusher};
use crate::accounting::token::refresh;
use crate::collectors::ports::PointSink;
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

/// A failed run's reasons on one error line of the invocation: the error a function returns
/// goes to its caller (for a schedule, the on-failure queue), not to its log, and the alarm's
/// runbook entry starts from the log.
pub fn logged<T>(outcome: Result<T, JobFailed>) -> Result<T, JobFailed> {
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "run failed");
    }
    outcome
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
    let end = event_time(event);
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
    tracing::info!(
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

/// Refreshes the stored token (one refresh at a time across instances).
pub async fn token_refresh<S: AccountingStore, G: TokenGrant>(
    stack: &Refresh<S, G>,
) -> Result<Value, JobFailed> {
    let token = refresh(&stack.grant, &stack.config, &stack.table).await?;
    Ok(json!({"expires_at": token.expires_at, "version": token.version}))
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
    tracing::info!(
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
    pub sources: Sources,
    pub sink: S,
}

/// Runs the collector the event names, as of now.
pub async fn collector<S: PointSink>(
    stack: &Collector<S>,
    event: &Value,
) -> Result<Value, JobFailed> {
    let collector = collector_for(event)?;
    let now = time::OffsetDateTime::now_utc();
    let report = run_collector(collector, &stack.sources, &stack.sink, now).await?;
    answer(report)
}

/// Sends one beat to every sink; fails naming each sink that did not take it.
pub async fn heartbeat_source(source: &Source) -> Result<Value, JobFailed> {
    let report = source.emit(time::OffsetDateTime::now_utc()).await;
    let failures = report.failures();
    if !failures.is_empty() {
        return Err(JobFailed(format!(
            "{} of {} heartbeat sink(s) failed: {}",
            failures.len(),
            report.sinks.len(),
            failures.join("; ")
        )));
    }
    tracing::info!(
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
        move |_: lambda_http::LambdaEvent<serde_json::Value>| async move {
            Err::<serde_json::Value, lambda_http::Error>(message.clone().into())
        },
    ))
    .await
}
