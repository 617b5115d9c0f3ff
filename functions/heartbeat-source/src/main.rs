//! `heartbeat-source` (EventBridge schedule, every minute by default): one heartbeat to each
//! configured sink. A sink that fails does not stop the others; the invocation then fails
//! naming every failure, so the `HeartbeatSourceErrors` alarm sees it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::heartbeat::source::Source;
use telltale::jobs::heartbeat_source;
use telltale::jobs::JobFailed;

async fn handler(source: &Source, event: LambdaEvent<Value>) -> Result<Value, JobFailed> {
    telltale::jobs::logged(heartbeat_source(source, &event.payload)).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::heartbeat_source().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::base::env::Env;
    use telltale_testkit::alerting::pushgateway;
    use telltale_testkit::repo_root;

    async fn source(pushgateway_url: &str) -> Source {
        let url = pushgateway_url.to_string();
        let env = Env(move |k: &str| (k == "PUSHGATEWAY_URL").then(|| url.clone()));
        let sdk = telltale_testkit::moto::moto().sdk_config().await;
        telltale::wiring::heartbeat_source_with(&env, &sdk)
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
