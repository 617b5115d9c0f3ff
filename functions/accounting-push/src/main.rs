//! `accounting-push` (EventBridge schedule, default every 24 h): pushes every accounted
//! metric's value to the EOSC Accounting Service. Returns the summary; fails if any metric
//! failed, so the alarm and the on-failure destination see it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::accounting::push::{event_time, Pusher};
use telltale::aws::accounting::AccountingTable;
use telltale::config::{AccountingConfig, MappingsConfig, ValueConfig};
use telltale::metrics::prometheus::Prometheus;
use telltale::metrics::store::MappingStore;

struct State {
    config: AccountingConfig,
    table: AccountingTable,
    store: MappingStore,
    prometheus: Prometheus,
    range_start: i64,
    http: reqwest::Client,
}

async fn handler(state: &State, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let end = event_time(&event.payload);
    let view = state.store.view().await;
    let pusher = Pusher {
        http: &state.http,
        config: &state.config,
        table: &state.table,
        prometheus: &state.prometheus,
        range_start: state.range_start,
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
        return Err(format!("{}; {}", summary.line(), reasons.join("; ")).into());
    }
    Ok(serde_json::to_value(summary)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let value = ValueConfig::from_env()?;
    let mappings = MappingsConfig::from_env()?;
    let sdk = telltale::aws::lambda_sdk_config();
    let config = telltale::aws::ssm::accounting_config(
        &telltale::config::Env::process(),
        &telltale::aws::ssm::ssm_client(&sdk),
    )
    .await?;
    let state = State {
        table: AccountingTable::new(telltale::aws::dynamodb_client(&sdk), &config.table),
        store: MappingStore::new(telltale::aws::s3_client(&sdk), mappings),
        prometheus: Prometheus::configured(&value),
        range_start: value.range_start,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?,
        config,
    };
    run(service_fn(|event| handler(&state, event))).await
}
