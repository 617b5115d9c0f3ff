//! `collector` (EventBridge schedules, one per KPI collector): runs the collector its event
//! names (`{"collector": "probe_pipeline"}`) and writes the points to InfluxDB. Returns
//! `{"collector", "points", "written", "warnings"}`; fails the invocation with the collector's
//! message when nothing could be collected or written, so the `CollectorErrors` alarm sees it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::collectors::run::{collector_for, run as run_collector};
use telltale::collectors::sink::{config::InfluxConfig, InfluxSink};
use telltale::collectors::sources::Sources;

struct State {
    sources: Sources,
    sink: InfluxSink,
}

async fn handler(state: &State, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let collector = collector_for(&event.payload)?;
    let now = time::OffsetDateTime::now_utc();
    let report = run_collector(collector, &state.sources, &state.sink, now).await?;
    Ok(serde_json::to_value(report)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let influx = InfluxConfig::from_env()?;
    let sdk = telltale::aws::lambda_sdk_config();
    let state = State {
        sink: InfluxSink::connect(influx, &telltale::aws::ssm::ssm_client(&sdk)).await?,
        sources: Sources::from_env(&sdk)?,
    };
    run(service_fn(|event| handler(&state, event))).await
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
        let state = State {
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
