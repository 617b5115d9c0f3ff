//! `heartbeat-source` (EventBridge schedule, every minute by default): one heartbeat to each
//! configured sink. A sink that fails does not stop the others; the invocation then fails
//! naming every failure, so the `HeartbeatSourceErrors` alarm sees it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::heartbeat::source::{Source, SourceConfig};

/// Accepts any event: a classic rule's envelope or a scheduler's bare input.
async fn handler(source: &Source, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let report = source.emit(time::OffsetDateTime::now_utc()).await;
    let failures = report.failures();
    if !failures.is_empty() {
        return Err(format!(
            "{} of {} heartbeat sink(s) failed: {}",
            failures.len(),
            report.sinks.len(),
            failures.join("; ")
        )
        .into());
    }
    tracing::info!(
        beat = report.beat,
        sinks = report.sinks.len(),
        "heartbeat sent"
    );
    Ok(serde_json::to_value(report)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let config = SourceConfig::from_env()?;
    let sdk = telltale::aws::sdk_config().await;
    let source = Source::connect(config, &telltale::aws::ssm::ssm_client(&sdk)).await?;
    run(service_fn(|event| handler(&source, event))).await
}
