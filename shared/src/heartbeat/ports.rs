//! What the heartbeat needs from the outside world: the routes' store (DynamoDB as deployed,
//! in memory in the testkit) and the sinks a beat goes to.

use super::check::Check;
use super::state::{PingKind, Step};
use crate::base::error::Result;
use futures::future::BoxFuture;
use serde_json::Value;
use std::future::Future;
use time::OffsetDateTime;

/// One beat of the heartbeat source, as every sink sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat<'a> {
    pub source: &'a str,
    /// 1 in even periods, 0 in odd ones.
    pub value: i64,
    /// Periods elapsed since the epoch: rises by one each period while the source runs.
    pub periods: i64,
    pub at: OffsetDateTime,
}

/// Where a beat is sent (Pushgateway, InfluxDB, Monasca). Boxed futures, so a source can hold
/// sinks of different kinds side by side.
pub trait BeatSink: Send + Sync {
    /// The name the source's report gives this sink's outcome.
    fn name(&self) -> &'static str;

    /// Sends the beat; why not, as text for the report.
    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// One ping or notification, as it changes its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub check: &'a str,
    pub source: &'a str,
    /// Added to the check's counters, by state.
    pub counts: &'a [(String, u64)],
    /// The check's new `last_state`.
    pub state: &'a str,
    /// Moves `last_success`.
    pub success: bool,
    /// Remembers when a run started.
    pub start: bool,
    /// Ends a run: its duration is measured from the last start, if there was one.
    pub ends_run: bool,
    /// With `ends_run`: the run failed (the check goes down).
    pub failed: bool,
    /// Ties a start to its end (`?rid=`), so overlapping runs each get their duration.
    pub rid: Option<&'a str>,
    pub exit_status: Option<u8>,
    pub alarm: Option<&'a str>,
    /// Create the check (with the default period and grace) if it does not exist.
    pub create: bool,
    pub default_period: i64,
    pub default_grace: i64,
    /// Unix milliseconds.
    pub now_ms: i64,
}

impl Record<'_> {
    /// What recording this does to `check`, as every store applies it (the DynamoDB adapter
    /// to the item it read back, the in-memory one to its copy); the duration of the run it
    /// ended, if that run had a start.
    pub fn apply(&self, check: &mut Check) -> Option<f64> {
        let r = self;
        let now = r.now_ms.div_euclid(1000);
        check.last_seen = Some(now);
        check.last_state = Some(r.state.to_string());
        check.rev += 1;
        check.pings += 1;
        if r.success {
            check.last_success = Some(now);
        }
        if let Some(code) = r.exit_status {
            check.last_exit_status = Some(code);
        }
        if let Some(alarm) = r.alarm {
            check.last_alarm = Some(alarm.to_string());
        }
        for (state, count) in r.counts {
            *check
                .received
                .entry((r.source.to_string(), state.clone()))
                .or_insert(0) += count;
        }
        let mut duration = None;
        if r.ends_run {
            let started = match r.rid {
                Some(rid) => check.runs.remove(rid),
                None => check.last_start_ms,
            };
            check.last_start_ms = None;
            check.last_ping = Some(now);
            check.last_failed = r.failed;
            duration = started
                .filter(|s| *s <= r.now_ms)
                .map(|s| (r.now_ms - s) as f64 / 1000.0);
            if duration.is_some() {
                check.last_duration_seconds = duration;
            }
        }
        if r.start {
            check.last_start_ms = Some(r.now_ms);
            if let Some(rid) = r.rid {
                check.runs.insert(rid.to_string(), r.now_ms);
            }
        }
        duration
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The check as the ping left it, whether the ping created it, and the duration of the run
    /// it ended, if it ended one that had a start.
    Counted {
        check: Box<Check>,
        created: bool,
        duration: Option<f64>,
    },
    /// The check is paused until a manual resume: nothing of it changed.
    Ignored(Box<Check>),
    /// The check does not exist and `create` was not set.
    UnknownCheck,
}

pub trait HeartbeatStore {
    /// Applies the record atomically: counters are added (never read and written back), so
    /// concurrent pings are all counted, each once.
    fn record(&self, record: &Record<'_>) -> impl Future<Output = Result<Recorded>> + Send;

    /// Every check, by name (one query of the checks' partition, never a scan).
    fn checks(&self) -> impl Future<Output = Result<Vec<Check>>> + Send;

    /// Creates the check (with a new UUID) or changes its settings, keeping its history.
    fn set_check(
        &self,
        name: &str,
        settings: &CheckSettings,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// What `telltale heartbeat check set` gives a check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckSettings {
    pub period_seconds: i64,
    pub grace_seconds: i64,
    /// Expression and IANA zone, validated (`schedule::CronSchedule::parse`).
    pub cron: Option<(String, String)>,
    pub manual_resume: bool,
    pub channels: Vec<super::channel::Channel>,
}

/// Settling a check's state: the check read back, and its new state written only on the
/// revision it was computed from, with its flip.
pub trait CheckStates {
    fn check(&self, name: &str) -> impl Future<Output = Result<Option<Check>>> + Send;

    /// Writes `step` (its state and flip) and the flip's notices, all or none, if the check
    /// is still at `check.rev`.
    fn settle(
        &self,
        check: &Check,
        step: &Step,
        notices: &[super::notice::Notice],
    ) -> impl Future<Output = Result<Settled>> + Send;

    /// The name of the check with this UUID.
    fn by_uuid(&self, uuid: &str) -> impl Future<Output = Result<Option<String>>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Written,
    /// Another write came first: read the check again and decide again.
    Stale,
}

/// One ping as the log keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PingEntry {
    /// The check's ping number (1 for its first).
    pub n: u64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// `success`, `start`, `fail`, `log` or `ignored`.
    pub kind: String,
    pub exit_status: Option<u8>,
    pub rid: Option<String>,
    pub duration_seconds: Option<f64>,
    pub method: String,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// The job's output, cut to the body limit; any bytes.
    pub body: Vec<u8>,
}

impl PingEntry {
    pub fn kind_of(kind: PingKind, ignored: bool) -> String {
        if ignored { "ignored" } else { kind.as_str() }.to_string()
    }
}

/// A flip as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlipEntry {
    pub n: u64,
    pub flip: super::state::Flip,
}

/// The last pings and flips of each check (bounded in count, expiring by TTL).
pub trait PingLog {
    fn log_ping(&self, check: &str, entry: &PingEntry) -> impl Future<Output = Result<()>> + Send;

    /// Newest first.
    fn pings(&self, check: &str) -> impl Future<Output = Result<Vec<PingEntry>>> + Send;

    /// Newest first.
    fn flips(&self, check: &str) -> impl Future<Output = Result<Vec<FlipEntry>>> + Send;
}

pub use super::notice::StoredNotice;

/// The notices, for the health of each check's channels.
pub trait NoticeLog {
    fn notices(&self) -> impl Future<Output = Result<Vec<StoredNotice>>> + Send;
}

/// The channels' ports (one adapter each): a webhook receiver and Alertmanager. The email
/// channel is `outbox::email::Mailer`.
pub trait WebhookPoster {
    /// `POST`s `body` to `url`, signed with the secret in `secret_parameter` (SSM) when given,
    /// carrying `notice_id`; the receiver's status, or why it failed.
    fn post(
        &self,
        url: &str,
        body: &[u8],
        notice_id: &str,
        secret_parameter: Option<&str>,
    ) -> impl Future<Output = std::result::Result<String, String>> + Send;
}

pub trait AlertPoster {
    /// `POST /api/v2/alerts` with these alerts; `Err` when none is configured or it refused.
    fn post_alerts(
        &self,
        alerts: &serde_json::Value,
    ) -> impl Future<Output = std::result::Result<String, String>> + Send;
}

/// Everything the heartbeat routes keep.
pub trait Heartbeats: HeartbeatStore + CheckStates + PingLog + NoticeLog + Sync {}

impl<T: HeartbeatStore + CheckStates + PingLog + NoticeLog + Sync> Heartbeats for T {}

/// The two kinds of Monasca object the loop's setup manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotificationMethod,
    AlarmDefinition,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::NotificationMethod => "notification method",
            Kind::AlarmDefinition => "alarm definition",
        }
    }
}

/// An object as Monasca holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub id: String,
    pub body: Value,
}

/// Monasca's notification methods and alarm definitions (`alarm_setup`).
pub trait MonascaObjects {
    /// The objects of `kind` with this name.
    fn named(
        &self,
        kind: Kind,
        name: &str,
    ) -> impl Future<Output = Result<Vec<Existing>, String>> + Send;
    /// Creates one; its id.
    fn create(
        &self,
        kind: Kind,
        body: &Value,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// Changes the given fields of one.
    fn patch(
        &self,
        kind: Kind,
        id: &str,
        body: &Value,
    ) -> impl Future<Output = Result<(), String>> + Send;
}
