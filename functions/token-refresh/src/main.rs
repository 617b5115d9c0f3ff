//! `token-refresh` (EventBridge schedule, default every 30 min): exchanges the stored refresh
//! token for a new access token and stores both. On failure the old token stays and the
//! invocation fails with the reason (never with a token in it).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::accounting::ports::{AccountingStore, TokenGrant};
use telltale::jobs::JobFailed;
use telltale::jobs::{token_refresh, Refresh};

async fn handler<S: AccountingStore, G: TokenGrant>(
    stack: &Refresh<S, G>,
    event: LambdaEvent<Value>,
) -> Result<Value, JobFailed> {
    telltale::jobs::logged(token_refresh(stack, &event.payload)).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::token_refresh().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::accounting::config::{AccountingConfig, PeriodMode};
    use telltale::adapters::aws::accounting::AccountingTable;
    use telltale::adapters::eosc::Oidc;
    use telltale::base::env::Secret;
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

    /// The sample scheduled event refreshes the token; delivered again (one after the other or
    /// at once) it grants nothing more; a later schedule with the endpoint down fails the
    /// invocation with the reason, and the stored token stays.
    #[tokio::test]
    async fn the_sample_event_refreshes_once_and_a_failure_fails_the_invocation() {
        let aai = TokenEndpoint::start("client", "secret", "first-refresh").await;
        let dynamodb = telltale::adapters::aws::dynamodb_client(&moto().sdk_config().await);
        let table = unique("tokens");
        telltale_cli::tables::ensure_table(
            &dynamodb,
            telltale_cli::tables::Store::Accounting,
            &table,
        )
        .await
        .unwrap();
        let config = AccountingConfig {
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
        };
        let state = Refresh {
            table: AccountingTable::new(dynamodb, table),
            grant: Oidc::new(reqwest::Client::new(), &config),
            config,
        };
        let answer = handler(&state, sample_event()).await.unwrap();
        assert_eq!(answer["version"], 1);
        let stored = state.table.token().await.unwrap().unwrap();
        assert_eq!(handler(&state, sample_event()).await.unwrap(), answer);
        let (a, b) = tokio::join!(
            handler(&state, sample_event()),
            handler(&state, sample_event())
        );
        assert_eq!((a.unwrap(), b.unwrap()), (answer.clone(), answer));
        assert_eq!(aai.grants(), 1, "one grant for one scheduled time");
        assert_eq!(state.table.token().await.unwrap().unwrap(), stored);

        aai.set_down(true);
        let mut later = sample_event();
        // A schedule after the stored token was granted.
        later.payload["time"] = serde_json::json!("2099-01-01T00:00:00Z");
        let err = handler(&state, later).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("OIDC token endpoint answered with an error: HTTP 503"),
            "{err}"
        );
        assert_eq!(state.table.token().await.unwrap().unwrap(), stored);
    }
}
