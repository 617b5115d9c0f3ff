//! `collector` (EventBridge schedules, one per KPI collector): runs the collector its event
//! names (`{"collector": "probe_pipeline"}`) and writes the points to InfluxDB. Returns
//! `{"collector", "points", "written", "warnings"}`; fails the invocation with the collector's
//! message when nothing could be collected or written, so the `CollectorErrors` alarm sees it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::collectors::ports::PointSink;
use telltale::jobs::JobFailed;
use telltale::jobs::{collector, Collector};

async fn handler<S: PointSink>(
    stack: &Collector<S>,
    event: LambdaEvent<Value>,
) -> Result<Value, JobFailed> {
    let result = telltale::jobs::logged(collector(stack, &event.payload)).await;
    if telltale::collectors::declared::program::abandoned() {
        // A program overran its budget on a thread that cannot be stopped: the failure is
        // logged; end the process so the next run starts clean instead of beside it.
        std::process::exit(70);
    }
    result
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::collector().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_testkit::collectors::Stack;
    use telltale_testkit::prometheus::{demo_series, prometheus};
    use telltale_testkit::repo_root;

    /// Every sample event in `events/collector/` runs through the handler against the demo
    /// stores and a real InfluxDB: the scheduler's input and a rule's envelope both name a
    /// collector that writes; `*.fails.json` fails the invocation naming the known collectors.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_outcome() {
        let demo = |name: &str| -> Value {
            serde_json::from_slice(&std::fs::read(repo_root().join("demo").join(name)).unwrap())
                .unwrap()
        };
        let (metadata, metrics) = (
            demo("metadata_mappings.json"),
            demo("metrics_mappings.json"),
        );
        let stack = Stack::new(&prometheus(demo_series).url, Some((&metadata, &metrics))).await;
        let state = Collector {
            registry: telltale::collectors::registry::Registry::compiled().unwrap(),
            sources: stack.sources(&[]),
            sink: stack.sink(&[]).await,
        };
        let dir = repo_root().join("events/collector");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 7);
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let payload: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
            let result = handler(&state, event).await;
            if name.ends_with(".fails.json") {
                let err = result.unwrap_err().to_string();
                assert!(
                    err.contains("unknown collector") && err.contains("probe_pipeline"),
                    "{name}: {err}"
                );
            } else {
                let report = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                let written = report["written"].as_u64().unwrap();
                assert!(
                    written > 0 && written == report["points"].as_u64().unwrap(),
                    "{name}: {report}"
                );
                assert!(report["collector"].is_string() && report["warnings"].is_array());
            }
        }
    }
}
