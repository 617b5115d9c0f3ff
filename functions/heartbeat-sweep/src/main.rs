//! `heartbeat-sweep` (EventBridge schedule, every minute): the heartbeat checks that went late
//! or down since their last ping get their flip, and every pending notice goes out on its
//! channel (email through SES, a signed webhook, Alertmanager); down checks' alerts are sent to
//! Alertmanager again. The invocation fails while a notice is refused, so the function's
//! alarm says a channel keeps failing.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use telltale::heartbeat::notice::Notice;
use telltale::heartbeat::ports::{AlertPoster, Heartbeats, WebhookPoster};
use telltale::jobs::JobFailed;
use telltale::jobs::{heartbeat_sweep, HeartbeatSweep};
use telltale::outbox::email::Mailer;
use telltale::outbox::ports::Claims;

async fn handler<S, M, W, A>(
    stack: &HeartbeatSweep<S, M, W, A>,
    _event: LambdaEvent<Value>,
) -> Result<Value, JobFailed>
where
    S: Heartbeats + Claims<Message = Notice>,
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    telltale::jobs::logged(heartbeat_sweep(stack)).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::base::env::Env;
    use telltale_testkit::heartbeat::HeartbeatFixture;
    use telltale_testkit::{moto::moto, repo_root};

    /// The sample scheduled event sweeps the table the environment names (built as at a cold
    /// start); an Alertmanager that is not there fails the run of a down check's alert, naming
    /// it.
    #[tokio::test]
    async fn the_sample_event_sweeps_and_an_unreachable_alertmanager_fails_the_run() {
        let f = HeartbeatFixture::new().await;
        let text =
            std::fs::read_to_string(repo_root().join("events/heartbeat-sweep/scheduled.json"))
                .unwrap();
        let event = || {
            LambdaEvent::new(
                serde_json::from_str::<Value>(&text).unwrap(),
                lambda_runtime::Context::default(),
            )
        };
        let closed = format!("http://127.0.0.1:{}", telltale_testkit::watch::free_port());
        let mut env = f.env();
        env.push(("EMAIL_FROM".into(), "telltale <hb@telltale.test>".into()));
        env.push(("ALERTMANAGER_URL".into(), closed));
        let lookup = Env(move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        let stack = telltale::wiring::heartbeat_sweep_with(&lookup, &moto().sdk_config().await)
            .expect("configured");
        let answer = handler(&stack, event()).await.unwrap();
        assert_eq!(answer["checks"], 0);

        use telltale::heartbeat::notice::Channel;
        use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
        let settings = CheckSettings {
            period_seconds: 1,
            grace_seconds: 1,
            channels: vec![Channel::Alertmanager],
            ..CheckSettings::default()
        };
        f.store().set_check("quiet", &settings, 0).await.unwrap();
        telltale_testkit::heartbeat_calls::send(&f.api(), &f.key, "GET", "/heartbeat/quiet/1", "")
            .await;
        let err = handler(&stack, event()).await.unwrap_err().to_string();
        assert!(err.contains("Alertmanager could not be reached"), "{err}");
    }
}
