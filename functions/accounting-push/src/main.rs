//! `accounting-push` (EventBridge schedule, default every 24 h): pushes every accounted
//! metric's value to the EOSC Accounting Service. Returns the summary; fails if any metric
//! failed, so the alarm and the on-failure destination see it.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::jobs::JobFailed;
use telltale::jobs::{accounting_push, Push};

async fn handler(stack: &Push, event: LambdaEvent<Value>) -> Result<Value, JobFailed> {
    telltale::jobs::logged(accounting_push(stack, &event.payload)).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::accounting_push().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}
