//! The heartbeat table and a heartbeat sink.

use super::Outage;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use telltale::base::error::Result;
use telltale::heartbeat::check::Check;
use telltale::heartbeat::ports::{Beat, BeatSink, HeartbeatStore, Record, Recorded};

#[derive(Clone, Default)]
struct StoredCheck {
    check: Check,
    last_start_ms: Option<i64>,
}

/// The heartbeat table: counters added atomically, a run's duration from its start.
#[derive(Clone, Default)]
pub struct MemoryHeartbeats {
    checks: Arc<Mutex<BTreeMap<String, StoredCheck>>>,
    pub outage: Outage,
}

impl HeartbeatStore for MemoryHeartbeats {
    async fn record(&self, r: &Record<'_>) -> Result<Recorded> {
        self.outage.check("recording a ping")?;
        let now = r.now_ms.div_euclid(1000);
        let mut checks = self.checks.lock().unwrap();
        if !r.create && !checks.contains_key(r.check) {
            return Ok(Recorded::UnknownCheck);
        }
        let stored = checks
            .entry(r.check.to_string())
            .or_insert_with(|| StoredCheck {
                check: Check {
                    name: r.check.to_string(),
                    period_seconds: r.default_period,
                    grace_seconds: r.default_grace,
                    created_at: now,
                    ..Check::default()
                },
                last_start_ms: None,
            });
        let c = &mut stored.check;
        c.last_seen = Some(now);
        c.last_state = Some(r.state.to_string());
        if r.success {
            c.last_success = Some(now);
        }
        if let Some(code) = r.exit_status {
            c.last_exit_status = Some(code);
        }
        if let Some(alarm) = r.alarm {
            c.last_alarm = Some(alarm.to_string());
        }
        for (state, count) in r.counts {
            *c.received
                .entry((r.source.to_string(), state.clone()))
                .or_insert(0) += count;
        }
        if r.ends_run {
            if let Some(started) = stored.last_start_ms.take().filter(|s| *s <= r.now_ms) {
                stored.check.last_duration_seconds = Some((r.now_ms - started) as f64 / 1000.0);
            }
        }
        if r.start {
            stored.last_start_ms = Some(r.now_ms);
        }
        Ok(Recorded::Counted)
    }

    async fn checks(&self) -> Result<Vec<Check>> {
        self.outage.check("listing the checks")?;
        Ok(self
            .checks
            .lock()
            .unwrap()
            .values()
            .map(|s| s.check.clone())
            .collect())
    }

    async fn set_check(
        &self,
        name: &str,
        period_seconds: i64,
        grace_seconds: i64,
        now: i64,
    ) -> Result<()> {
        self.outage.check("setting a check")?;
        let mut checks = self.checks.lock().unwrap();
        let stored = checks
            .entry(name.to_string())
            .or_insert_with(|| StoredCheck {
                check: Check {
                    name: name.to_string(),
                    created_at: now,
                    ..Check::default()
                },
                last_start_ms: None,
            });
        stored.check.period_seconds = period_seconds;
        stored.check.grace_seconds = grace_seconds;
        Ok(())
    }
}

/// A heartbeat sink that keeps every beat, or refuses them all.
#[derive(Clone, Default)]
pub struct MemoryBeats {
    pub name: &'static str,
    beats: Arc<Mutex<Vec<(String, i64, i64)>>>,
    refusing: Arc<Mutex<Option<String>>>,
}

impl MemoryBeats {
    pub fn named(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    pub fn refuse(&self, reason: &str) {
        *self.refusing.lock().unwrap() = Some(reason.into());
    }

    /// (source, value, periods) of every beat taken.
    pub fn beats(&self) -> Vec<(String, i64, i64)> {
        self.beats.lock().unwrap().clone()
    }
}

impl BeatSink for MemoryBeats {
    fn name(&self) -> &'static str {
        self.name
    }

    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, std::result::Result<(), String>> {
        let result = match self.refusing.lock().unwrap().clone() {
            Some(reason) => Err(reason),
            None => {
                self.beats.lock().unwrap().push((
                    beat.source.to_string(),
                    beat.value,
                    beat.periods,
                ));
                Ok(())
            }
        };
        Box::pin(async move { result })
    }
}
