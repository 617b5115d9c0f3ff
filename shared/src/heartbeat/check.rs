//! Named checks, as healthchecks.io has them: a name, a period and a grace time; what a ping
//! to one means; and when a check counts as up.

use super::schedule::Schedule;
use super::state::{due, step, Event, Facts, PingKind, State};
use crate::base::error::{Error, Result};
use std::collections::BTreeMap;

/// The longest check name.
pub const MAX_NAME: usize = 64;

/// `/heartbeat/metrics` is the exposition, so no check may be called that.
const RESERVED: [&str; 1] = ["metrics"];

/// A check name: 1–64 of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit (safe in
/// a URL path, a Prometheus label and a DynamoDB key alike).
pub fn validate_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let ok_start = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.len() > MAX_NAME || !ok_chars || !ok_start {
        let shown: String = name.chars().take(MAX_NAME).collect();
        return Err(Error::BadRequest(format!(
            "invalid check name {shown:?}{}: use 1 to {MAX_NAME} of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            if name.chars().count() > MAX_NAME { "…" } else { "" }
        )));
    }
    if RESERVED.contains(&name) {
        return Err(Error::BadRequest(format!(
            "\"{name}\" is reserved and cannot name a check"
        )));
    }
    Ok(())
}

/// What a ping says, from the path after the check name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// `/heartbeat/{check}` or exit status 0.
    Success,
    /// `/heartbeat/{check}/start`: a run began (its duration is measured to the next ping).
    Start,
    /// `/heartbeat/{check}/fail`, or a non-zero exit status.
    Fail { exit_status: Option<u8> },
}

impl Ping {
    pub fn parse(action: Option<&str>) -> Result<Ping> {
        match action {
            None => Ok(Ping::Success),
            Some("start") => Ok(Ping::Start),
            Some("fail") => Ok(Ping::Fail { exit_status: None }),
            // The decimal as a shell prints `$?`: no sign, no leading zero (`07` is refused).
            Some(s)
                if !s.is_empty()
                    && s.len() <= 3
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s == "0" || !s.starts_with('0')) =>
            {
                match s.parse::<u16>() {
                    Ok(0) => Ok(Ping::Success),
                    Ok(n) if n <= 255 => Ok(Ping::Fail {
                        exit_status: Some(n as u8),
                    }),
                    _ => Err(bad_action(s)),
                }
            }
            Some(s) => Err(bad_action(s)),
        }
    }

    /// The same ping as the state machine reads it.
    pub fn kind(self) -> PingKind {
        match self {
            Ping::Success => PingKind::Success,
            Ping::Start => PingKind::Start,
            Ping::Fail { exit_status: None } => PingKind::Fail,
            Ping::Fail {
                exit_status: Some(n),
            } => PingKind::Exit(n),
        }
    }

    /// The `state` label of the counters.
    pub fn state(self) -> &'static str {
        match self {
            Ping::Success => "success",
            Ping::Start => "start",
            Ping::Fail { .. } => "fail",
        }
    }
}

fn bad_action(s: &str) -> Error {
    let shown: String = s.chars().take(16).collect();
    Error::BadRequest(format!(
        "unknown ping {shown:?}: use /start, /fail or an exit status from 0 to 255"
    ))
}

/// A check as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Check {
    pub name: String,
    /// Its own ping URL, `/ping/<uuid>` (lower case); given when the check is created.
    pub uuid: Option<String>,
    pub period_seconds: i64,
    /// A cron expression and its IANA time zone; when set, it is the schedule, not the period.
    pub cron: Option<(String, String)>,
    pub grace_seconds: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub state: State,
    /// When `state` was entered (unix s).
    pub state_since: Option<i64>,
    /// Raised by every write: a state is settled only on the revision it was computed from.
    pub rev: u64,
    /// Flips recorded so far (their log keeps the last `FLIPS_KEPT`).
    pub flips: u64,
    /// Pings recorded so far (the ping log keeps the last `PINGS_KEPT`).
    pub pings: u64,
    /// Paused stays paused until `resume`, and its pings are only logged.
    pub manual_resume: bool,
    /// Where its flips are notified.
    pub channels: Vec<super::channel::Channel>,
    pub last_seen: Option<i64>,
    pub last_success: Option<i64>,
    /// The last ping that ended a run (success or failure), and whether it failed.
    pub last_ping: Option<i64>,
    pub last_failed: bool,
    /// The last `/start` not yet followed by an end (unix ms).
    pub last_start_ms: Option<i64>,
    /// Starts with a run id (`?rid=`) not yet ended: run id -> unix ms.
    pub runs: BTreeMap<String, i64>,
    pub last_state: Option<String>,
    pub last_exit_status: Option<u8>,
    /// From the last `/start` to the ping after it.
    pub last_duration_seconds: Option<f64>,
    pub last_alarm: Option<String>,
    /// Pings received, by (source, state).
    pub received: BTreeMap<(String, String), u64>,
}

/// How many of a check's pings and flips are kept.
pub const PINGS_KEPT: u64 = 100;
pub const FLIPS_KEPT: u64 = 100;

impl Check {
    pub fn schedule(&self) -> Schedule {
        Schedule::of(
            self.period_seconds,
            self.cron.as_ref().map(|(e, z)| (e.as_str(), z.as_str())),
        )
    }

    /// What the state machine reads of this check.
    pub fn facts<'a>(&self, schedule: &'a Schedule) -> Facts<'a> {
        let running_since = self
            .last_start_ms
            .map(|ms| ms.div_euclid(1000))
            .filter(|s| self.last_ping.is_none_or(|p| *s >= p));
        Facts {
            state: self.state,
            schedule,
            grace_seconds: self.grace_seconds,
            last_ping: self.last_ping,
            last_failed: self.last_failed,
            running_since,
            manual_resume: self.manual_resume,
        }
    }

    /// The state the clock gives this check at `now` (what the next sweep will settle).
    pub fn state_at(&self, now: i64) -> State {
        let schedule = self.schedule();
        step(&self.facts(&schedule), Event::Clock, now).state
    }

    /// When the next ping is expected (unix s), if it is.
    pub fn next_expected(&self) -> Option<i64> {
        let schedule = self.schedule();
        due(&self.facts(&schedule)).map(|(due, _)| due)
    }

    /// Up while the last success is no older than period + grace (a check with a period,
    /// as the exposition has always said), or while the clock says up or late (cron).
    pub fn up(&self, now: i64) -> bool {
        if self.cron.is_some() {
            return matches!(self.state_at(now), State::Up | State::Late);
        }
        self.last_success
            .is_some_and(|t| now - t <= self.period_seconds + self.grace_seconds)
    }

    pub fn total(&self) -> u64 {
        self.received.values().sum()
    }

    /// A check as a ping with `?create=1` (or the webhook) creates it.
    pub fn created(name: &str, uuid: String, period: i64, grace: i64, now: i64) -> Check {
        Check {
            name: name.to_string(),
            uuid: Some(uuid),
            period_seconds: period,
            grace_seconds: grace,
            created_at: now,
            ..Check::default()
        }
    }

    /// Runs started with a run id that never ended beyond this many are forgotten, oldest
    /// first, so a job killed at every run cannot grow its check without bound.
    pub const RUNS_KEPT: usize = 10;

    /// The run ids to forget (see `RUNS_KEPT`).
    pub fn stale_runs(&self) -> Vec<String> {
        let mut runs: Vec<(&String, &i64)> = self.runs.iter().collect();
        runs.sort_by_key(|(_, at)| **at);
        let extra = runs.len().saturating_sub(Self::RUNS_KEPT);
        runs.into_iter()
            .take(extra)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Whether a ping is only logged: paused until a manual resume.
    pub fn ignores_pings(&self) -> bool {
        self.state == State::Paused && self.manual_resume
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "backup-db", "cron.daily_1", &"x".repeat(64)] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "A",
            "-a",
            "a b",
            "é",
            "a/b",
            "metrics",
            &"x".repeat(65),
            "a\n",
            "a%2f",
        ] {
            let err = validate_name(bad).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{bad:?}");
            assert!(err.to_string().len() < 300);
        }
    }

    #[test]
    fn pings() {
        assert_eq!(Ping::parse(None).unwrap(), Ping::Success);
        assert_eq!(Ping::parse(Some("0")).unwrap(), Ping::Success);
        assert_eq!(Ping::parse(Some("start")).unwrap(), Ping::Start);
        assert_eq!(
            Ping::parse(Some("255")).unwrap(),
            Ping::Fail {
                exit_status: Some(255)
            }
        );
        assert_eq!(
            Ping::parse(Some("fail")).unwrap(),
            Ping::Fail { exit_status: None }
        );
        for bad in [
            "256",
            "-1",
            "abc",
            "",
            "1e2",
            "0001",
            "07",
            "00",
            "99999999999999999999",
            "+1",
        ] {
            assert!(Ping::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn up_within_period_and_grace() {
        let c = Check {
            period_seconds: 300,
            grace_seconds: 60,
            last_success: Some(1000),
            ..Check::default()
        };
        assert!(c.up(1360));
        assert!(!c.up(1361));
        assert!(!Check::default().up(0));
    }
}
