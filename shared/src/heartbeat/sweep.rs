//! `heartbeat-sweep`, every minute: the clock's flips (up → late → down), settled as a ping's
//! are, with their notices; every pending notice delivered, each channel on its own so a
//! channel that fails or hangs never holds the others back; and every down check's alert
//! sent to Alertmanager again, which forgets an alert that is not re-sent.
//!
//! Correctness does not rely on one sweep at a time: a flip is written once (conditional on the
//! check's revision), with its notices, and a notice is sent by whoever claims it.

use super::notice::{alert, Channel, Notice};
use super::ports::{AlertPoster, Heartbeats, WebhookPoster};
use super::receive::settle;
use super::state::{Event, State};
use crate::base::error::Result;
use crate::outbox::email::{Email, Mailer};
use crate::outbox::ports::{Claims, Refusal, Sender};
use crate::outbox::{deliver_at, RetrySummary};
use serde::Serialize;
use serde_json::{json, Value};

/// The three channels, one port each, as the outbox's sender of notices.
pub struct Channels<M, W, A> {
    pub mailer: M,
    pub webhooks: W,
    pub alerts: A,
    /// The notices' sender address (a verified SES identity).
    pub from: String,
}

fn summary(n: &Notice) -> String {
    format!("check {} is {} ({})", n.check, n.to, n.cause)
}

impl<M, W, A> Sender<Notice> for Channels<M, W, A>
where
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    async fn send(&self, n: &Notice) -> std::result::Result<String, Refusal> {
        match &n.channel {
            Channel::Email { to } => {
                let email = Email {
                    from: self.from.clone(),
                    to: to.clone(),
                    bcc: Vec::new(),
                    subject: n.subject(),
                    text: n.text(),
                };
                self.mailer.send(&email).await
            }
            Channel::Webhook {
                url,
                secret_parameter,
            } => {
                let body = n.webhook_body().to_string().into_bytes();
                Ok(self
                    .webhooks
                    .post(url, &body, &n.id, secret_parameter.as_deref())
                    .await?)
            }
            Channel::Alertmanager => {
                let ends = (!n.is_down()).then_some(n.at);
                let one = alert(&n.check, n.at, ends, &summary(n));
                Ok(self.alerts.post_alerts(&json!([one])).await?)
            }
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct SweepReport {
    pub checks: usize,
    pub flips: usize,
    pub notices: RetrySummary,
    /// Down checks whose alert was sent to Alertmanager again.
    pub alerts: usize,
    /// Checks whose state could not be settled, and why (they are tried at the next sweep).
    pub unsettled: Vec<(String, String)>,
    pub alert_failure: Option<String>,
}

impl SweepReport {
    /// What keeps this run from being a success (the function's alarm).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .notices
            .failed
            .iter()
            .map(|(id, why)| format!("notice {id}: {why}"))
            .collect();
        out.extend(
            self.unsettled
                .iter()
                .map(|(c, why)| format!("check {c}: {why}")),
        );
        out.extend(
            self.alert_failure
                .iter()
                .map(|why| format!("Alertmanager: {why}")),
        );
        out
    }
}

pub async fn sweep<S, M, W, A>(
    store: &S,
    channels: &Channels<M, W, A>,
    now: i64,
) -> Result<SweepReport>
where
    S: Heartbeats + Claims<Message = Notice>,
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    let mut report = SweepReport::default();
    let checks = store.checks().await?;
    report.checks = checks.len();
    let mut firing: Vec<Value> = Vec::new();
    for check in checks {
        let mut state = check.state;
        let mut since = check.state_since.unwrap_or(now);
        let name = check.name.clone();
        let alerting = check.channels.contains(&Channel::Alertmanager);
        if check.state_at(now) != check.state {
            match settle(store, check, Event::Clock, now, b"").await {
                Ok(Some(flip)) => {
                    report.flips += 1;
                    state = flip.to;
                    since = flip.at;
                }
                Ok(None) => {}
                Err(e) => report.unsettled.push((name.clone(), e.to_string())),
            }
        }
        if state == State::Down && alerting {
            firing.push(alert(&name, since, None, &format!("check {name} is down")));
        }
    }
    // Every pending notice at once: a slow channel costs its own notices' time only.
    let ids = store.pending().await?;
    // As of the sweep's time, which the backoff of a failed notice is counted from.
    let at = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let outcomes =
        futures::future::join_all(ids.iter().map(|id| deliver_at(store, channels, id, at))).await;
    for (id, outcome) in ids.into_iter().zip(outcomes) {
        report.notices.add(id, outcome);
    }
    if !firing.is_empty() {
        match channels
            .alerts
            .post_alerts(&Value::Array(firing.clone()))
            .await
        {
            Ok(_) => report.alerts = firing.len(),
            Err(why) => report.alert_failure = Some(why),
        }
    }
    Ok(report)
}
