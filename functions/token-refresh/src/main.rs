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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let sdk = telltale::aws::lambda_sdk_config();
    let config = telltale::aws::ssm::accounting_config(
        &telltale::config::Env::process(),
        &telltale::aws::ssm::ssm_client(&sdk),
    )
    .await?;
    let state = State {
        table: AccountingTable::new(telltale::aws::dynamodb_client(&sdk), &config.table),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()?,
        config,
    };
    run(service_fn(|event| handler(&state, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::config::{PeriodMode, Secret};
    use telltale_testkit::eosc::TokenEndpoint;
    use telltale_testkit::{moto::moto, repo_root, unique};

    fn sample_event() -> LambdaEvent<Value> {
        let text = std::fs::read_to_string(repo_root().join("events/token-refresh/scheduled.json"))
            .unwrap();
        LambdaEvent::new(
            serde_json::from_str(&text).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    /// The sample scheduled event refreshes the token; with the endpoint down the invocation
    /// fails with the reason and the stored token stays.
    #[tokio::test]
    async fn the_sample_event_refreshes_and_a_failure_fails_the_invocation() {
        let aai = TokenEndpoint::start("client", "secret", "first-refresh").await;
        let dynamodb = telltale::aws::dynamodb_client(&moto().sdk_config().await);
        let table = unique("tokens");
        telltale_cli::tables::ensure_accounting_table(&dynamodb, &table)
            .await
            .unwrap();
        let state = State {
            config: AccountingConfig {
                base_url: "http://127.0.0.1:9".into(),
                token_url: aai.url.clone(),
                client_id: "client".into(),
                client_secret: Secret::new("secret"),
                initial_refresh_token: Some(Secret::new("first-refresh")),
                table: table.clone(),
                period_mode: PeriodMode::Cumulative,
                concurrency: 1,
                refresh_margin: std::time::Duration::from_secs(300),
                retry_base: std::time::Duration::from_millis(10),
                retries: 0,
            },
            table: AccountingTable::new(dynamodb, table),
            http: reqwest::Client::new(),
        };
        let answer = handler(&state, sample_event()).await.unwrap();
        assert_eq!(answer["version"], 1);
        let stored = state.table.token().await.unwrap().unwrap();

        aai.set_down(true);
        let err = handler(&state, sample_event()).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("OIDC token endpoint answered with an error: HTTP 503"),
            "{err}"
        );
        assert_eq!(state.table.token().await.unwrap().unwrap(), stored);
    }
}
