//! What the heartbeat needs from the outside world: the routes' store (DynamoDB as deployed,
//! in memory in the testkit) and the sinks a beat goes to.

use super::check::Check;
use crate::base::error::Result;
use futures::future::BoxFuture;
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
    pub exit_status: Option<u8>,
    pub alarm: Option<&'a str>,
    /// Create the check (with the default period and grace) if it does not exist.
    pub create: bool,
    pub default_period: i64,
    pub default_grace: i64,
    /// Unix milliseconds.
    pub now_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// The check does not exist and `create` was not set.
    UnknownCheck,
}

pub trait HeartbeatStore {
    /// Applies the record atomically: counters are added (never read and written back), so
    /// concurrent pings are all counted, each once.
    fn record(&self, record: &Record<'_>) -> impl Future<Output = Result<Recorded>> + Send;

    /// Every check, by name (one query of the checks' partition, never a scan).
    fn checks(&self) -> impl Future<Output = Result<Vec<Check>>> + Send;

    /// Creates the check or changes its period and grace, keeping its history.
    fn set_check(
        &self,
        name: &str,
        period_seconds: i64,
        grace_seconds: i64,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
}
