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

#[tokio::main]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let influx = InfluxConfig::from_env()?;
    let sdk = telltale::aws::sdk_config().await;
    let state = State {
        sink: InfluxSink::connect(influx, &telltale::aws::ssm::ssm_client(&sdk)).await?,
        sources: Sources::from_env(&sdk)?,
    };
    run(service_fn(|event| handler(&state, event))).await
}
