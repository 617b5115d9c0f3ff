//! `heartbeat-sweep` (EventBridge schedule, every minute): the heartbeat checks that went late
//! or down since their last ping get their flip, and every pending notice goes out on its
//! channel (email through SES, a signed webhook, Alertmanager); down checks' alerts are sent to
//! Alertmanager again. The invocation fails while a notice is refused, so the function's
//! alarm says a channel keeps failing.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::heartbeat::notice::Notice;
use telltale::heartbeat::ports::{AlertPoster, Heartbeats, WebhookPoster};
use telltale::jobs::{heartbeat_sweep, HeartbeatSweep};
use telltale::outbox::email::Mailer;
use telltale::outbox::ports::Claims;

async fn handler<S, M, W, A>(
    stack: &HeartbeatSweep<S, M, W, A>,
    _event: LambdaEvent<Value>,
) -> Result<Value, Error>
where
    S: Heartbeats + Claims<Message = Notice>,
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    Ok(telltale::jobs::logged(heartbeat_sweep(stack)).await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::heartbeat_sweep().await {
        Ok(stack) => stack,
        Err(problem) => return telltale::jobs::unconfigured(problem).await,
    };
    run(service_fn(|event| handler(&stack, event))).await
}
