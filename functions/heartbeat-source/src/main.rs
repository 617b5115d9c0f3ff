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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let config = SourceConfig::from_env()?;
    let sdk = telltale::aws::lambda_sdk_config();
    let source = Source::connect(config, &telltale::aws::ssm::ssm_client(&sdk)).await?;
    run(service_fn(|event| handler(&source, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::config::Env;
    use telltale_testkit::alerting::pushgateway;
    use telltale_testkit::repo_root;

    async fn source(pushgateway_url: &str) -> Source {
        let url = pushgateway_url.to_string();
        let config = SourceConfig::read(&Env(move |k: &str| {
            (k == "PUSHGATEWAY_URL").then(|| url.clone())
        }))
        .unwrap();
        let sdk = telltale_testkit::moto::moto().sdk_config().await;
        Source::connect(config, &telltale::aws::ssm::ssm_client(&sdk))
            .await
            .unwrap()
    }

    /// The sample scheduled event sends a heartbeat to a real Pushgateway; with the Pushgateway
    /// gone, the invocation fails naming it.
    #[tokio::test]
    async fn the_sample_event_beats_and_a_down_sink_fails_the_invocation() {
        let gateway = pushgateway();
        let text =
            std::fs::read_to_string(repo_root().join("events/heartbeat-source/scheduled.json"))
                .unwrap();
        let event = || {
            LambdaEvent::new(
                serde_json::from_str::<Value>(&text).unwrap(),
                lambda_runtime::Context::default(),
            )
        };
        let report = handler(&source(&gateway.url).await, event()).await.unwrap();
        assert_eq!(report["sinks"]["pushgateway"], "ok");
        let closed = format!("http://127.0.0.1:{}", telltale_testkit::watch::free_port());
        let err = handler(&source(&closed).await, event())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "1 of 1 heartbeat sink(s) failed: pushgateway: Pushgateway not reachable"
            ),
            "{err}"
        );
    }
}
