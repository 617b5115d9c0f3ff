//! `token-refresh` (EventBridge schedule, default every 30 min): exchanges the stored refresh
//! token for a new access token and stores both. On failure the old token stays and the
//! invocation fails with the reason (never with a token in it).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use telltale::accounting::token::refresh;
use telltale::aws::accounting::AccountingTable;
use telltale::config::AccountingConfig;

struct State {
    config: AccountingConfig,
    table: AccountingTable,
    http: reqwest::Client,
}

async fn handler(state: &State, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let token = refresh(&state.http, &state.config, &state.table).await?;
    Ok(json!({"expires_at": token.expires_at, "version": token.version}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let config = AccountingConfig::from_env()?;
    let sdk = telltale::aws::sdk_config().await;
    let state = State {
        table: AccountingTable::new(telltale::aws::dynamodb_client(&sdk), &config.table),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()?,
        config,
    };
    run(service_fn(|event| handler(&state, event))).await
}
