//! `heartbeat-sweep` as a team would notice it, on whichever stores and channels a test has:
//! one notice per flip and channel (however many sweeps run at once), none while nothing
//! changes, a failing channel retried without holding the others back and never doubled.

use crate::heartbeat_calls::Answer;
use crate::ping_scenarios::ping;
use telltale::auth::KeyLookup;
use telltale::heartbeat::notice::{Channel, Notice};
use telltale::heartbeat::ports::{AlertPoster, CheckSettings, Heartbeats, WebhookPoster};
use telltale::heartbeat::sweep::{sweep, Channels, SweepReport};
use telltale::http::heartbeat::HeartbeatApi;
use telltale::outbox::email::Mailer;
use telltale::outbox::ports::Claims;

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Creates `name` by a ping, with a 60 s period, a 60 s grace and `channels`.
pub async fn watched<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
    name: &str,
    channels: Vec<Channel>,
) {
    let a: Answer = ping(api, "POST", &format!("/ping/{key}/{name}?create=1"), b"ok").await;
    assert_eq!(a.status, 201, "{}", a.text());
    let settings = CheckSettings {
        period_seconds: 60,
        grace_seconds: 60,
        channels,
        ..CheckSettings::default()
    };
    api.store.set_check(name, &settings, now()).await.unwrap();
}

/// One sweep, which must find nothing to complain of.
pub async fn clean<S, M, W, A>(store: &S, channels: &Channels<M, W, A>, at: i64) -> SweepReport
where
    S: Heartbeats + Claims<Message = Notice>,
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    let report = sweep(store, channels, at).await.unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    report
}

/// Twenty sweeps at once, past the grace of a quiet check: one flip and one notice per channel.
pub async fn concurrent_sweeps<S, M, W, A>(
    store: &S,
    channels: &Channels<M, W, A>,
    at: i64,
) -> usize
where
    S: Heartbeats + Claims<Message = Notice>,
    M: Mailer + Sync,
    W: WebhookPoster + Sync,
    A: AlertPoster + Sync,
{
    let runs = (0..20).map(|_| sweep(store, channels, at));
    let reports = futures::future::join_all(runs).await;
    reports.iter().map(|r| r.as_ref().unwrap().flips).sum()
}
