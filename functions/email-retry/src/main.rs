//! `email-retry` (EventBridge schedule): sends every probe email still pending in the outbox.
//! The invocation fails when an email is still refused, so the alarm on this function's
//! errors tells the team that mail is not going out.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::aws::{probes::ProbeTable, ses::Ses};
use telltale::config::ProbesConfig;
use telltale::probes::outbox::deliver_pending;

struct State {
    table: ProbeTable,
    ses: Ses,
}

/// Accepts any event: a classic rule's envelope or a scheduler's bare input.
async fn handler(state: &State, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let summary = deliver_pending(&state.table, &state.ses).await?;
    tracing::info!(
        sent = summary.sent,
        skipped = summary.skipped,
        failed = summary.failed.len(),
        "email retry run"
    );
    if !summary.failed.is_empty() {
        let reasons: Vec<String> = summary
            .failed
            .iter()
            .map(|(id, r)| format!("{id}: {r}"))
            .collect();
        return Err(format!(
            "{} email(s) still not sent: {}",
            reasons.len(),
            reasons.join("; ")
        )
        .into());
    }
    Ok(serde_json::to_value(summary)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let config = ProbesConfig::from_env()?;
    let sdk = telltale::aws::lambda_sdk_config();
    let state = State {
        table: ProbeTable::new(telltale::aws::dynamodb_client(&sdk), config.table),
        ses: Ses::new(telltale::aws::ses_client(&sdk)),
    };
    run(service_fn(|event| handler(&state, event))).await
}
