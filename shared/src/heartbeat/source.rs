//! The `heartbeat-source` function: one heartbeat to each configured sink, each independent of
//! the others. The value follows the seed: 1 in even periods of `HEARTBEAT_FLIP_SECONDS` (60 s,
//! the seed's even minutes), 0 in odd ones, so an alarm on it changes state every period and
//! sends a notification back to `POST /heartbeat`.
//!
//! The sinks are ports (`BeatSink`): Pushgateway, InfluxDB and Monasca as deployed; the wiring
//! builds those whose variables are set.

use super::ports::{Beat, BeatSink};
use crate::base::env::{ConfigError, Env};
use crate::base::interval;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Who is beating: the Pushgateway instance, the Monasca `hostname`, the InfluxDB tag.
    pub id: String,
    pub flip_seconds: i64,
}

/// A label value or path segment that needs no escaping anywhere.
/// A name that goes into URLs and labels as it is.
pub fn plain_name(name: &'static str, value: String) -> Result<String, ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            value,
            reason: "use 1 to 128 of A-Z, a-z, 0-9, '.', '_', '-'".into(),
        })
    }
}

impl SourceConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let id = env
            .optional("HEARTBEAT_SOURCE_ID")
            .or_else(|| env.optional("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|| "telltale".into());
        let flip_text = env.or("HEARTBEAT_FLIP_SECONDS", "60s");
        let flip = interval::parse(&flip_text).map_err(|e| ConfigError::Invalid {
            name: "HEARTBEAT_FLIP_SECONDS",
            value: flip_text.clone(),
            reason: e.reason,
        })?;
        Ok(Self {
            id: plain_name("HEARTBEAT_SOURCE_ID", id)?,
            flip_seconds: flip.as_secs().max(1) as i64,
        })
    }
}

/// The seed's value: 1 in even periods, 0 in odd ones.
pub fn beat(now: i64, flip_seconds: i64) -> i64 {
    i64::from(now.div_euclid(flip_seconds) % 2 == 0)
}

/// What one run did, per sink: `ok` or the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub source: String,
    pub beat: i64,
    pub sinks: BTreeMap<&'static str, String>,
}

impl Report {
    pub fn failures(&self) -> Vec<String> {
        self.sinks
            .iter()
            .filter(|(_, r)| r.as_str() != "ok")
            .map(|(s, r)| format!("{s}: {r}"))
            .collect()
    }
}

pub struct Source {
    config: SourceConfig,
    sinks: Vec<Box<dyn BeatSink>>,
}

impl Source {
    /// A source with at least one sink (`None` without any: a source that sends nothing would
    /// look healthy while the loop it feeds is broken).
    pub fn new(config: SourceConfig, sinks: Vec<Box<dyn BeatSink>>) -> Option<Self> {
        (!sinks.is_empty()).then_some(Self { config, sinks })
    }

    /// Sends the beat of `now` to every sink at once; each sink's outcome is its own.
    pub async fn emit(&self, now: OffsetDateTime) -> Report {
        let seconds = now.unix_timestamp();
        let beat = Beat {
            source: &self.config.id,
            value: beat(seconds, self.config.flip_seconds),
            periods: seconds.div_euclid(self.config.flip_seconds),
            at: now,
        };
        let sent = futures::future::join_all(self.sinks.iter().map(|s| s.send(&beat))).await;
        let sinks = self
            .sinks
            .iter()
            .zip(sent)
            .map(|(sink, result)| (sink.name(), result.err().unwrap_or_else(|| "ok".into())))
            .collect();
        Report {
            source: self.config.id.clone(),
            beat: beat.value,
            sinks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_even_and_odd_periods() {
        assert_eq!(beat(0, 60), 1);
        assert_eq!(beat(59, 60), 1);
        assert_eq!(beat(60, 60), 0);
        assert_eq!(beat(120, 60), 1);
        assert_eq!(beat(-1, 60), 0);
    }

    #[test]
    fn names_that_need_no_escaping() {
        let read = |pairs: &[(&str, &str)]| SourceConfig::read(&Env::pairs(pairs));
        let c = read(&[]).unwrap();
        assert_eq!((c.id.as_str(), c.flip_seconds), ("telltale", 60));
        for (k, v) in [
            ("HEARTBEAT_SOURCE_ID", "a/b"),
            ("HEARTBEAT_FLIP_SECONDS", "soon"),
        ] {
            let err = read(&[(k, v)]).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}
