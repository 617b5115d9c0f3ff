//! `email-retry` (EventBridge schedule): sends every probe email still pending in the outbox.
//! The invocation fails when an email is still refused, so the alarm on this function's
//! errors tells the team that mail is not going out.

// The outbox's delivery is generic over its store and channel; the nested futures of the
// run need a deeper layout query than the default.
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::jobs::JobFailed;
use telltale::jobs::{email_retry, EmailRetry};
use telltale::probes::ports::{Mailer, Outbox};

async fn handler<O: Outbox, M: Mailer>(
    stack: &EmailRetry<O, M>,
    _event: LambdaEvent<Value>,
) -> Result<Value, JobFailed> {
    telltale::jobs::logged(email_retry(stack)).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::email_retry().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}
