//! The `heartbeat-source` function: one heartbeat to each configured sink, each independent of
//! the others. The value follows the seed: 1 in even periods of `HEARTBEAT_FLIP_SECONDS` (60 s,
//! the seed's even minutes), 0 in odd ones, so an alarm on it changes state every period and
//! sends a notification back to `POST /heartbeat`.
//!
//! - `pushgateway.rs`: `PUT /metrics/job/<job>/instance/<id>`;
//! - InfluxDB: through the collectors' sink;
//! - `monasca.rs`: `POST /v2.0/metrics` with a Keystone v3 token, cached until it expires.

pub mod monasca;
pub mod pushgateway;

use crate::collectors::interval;
use crate::collectors::point::Point;
use crate::collectors::sink::{config::InfluxConfig, InfluxSink};
use crate::config::{ConfigError, Env};
use monasca::{Monasca, MonascaConfig};
use pushgateway::PushgatewayConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Who is beating: the Pushgateway instance, the Monasca `hostname`, the InfluxDB tag.
    pub id: String,
    pub flip_seconds: i64,
    pub pushgateway: Option<PushgatewayConfig>,
    pub influx: Option<InfluxConfig>,
    pub monasca: Option<MonascaConfig>,
}

/// A label value or path segment that needs no escaping anywhere.
pub(crate) fn plain_name(name: &'static str, value: String) -> Result<String, ConfigError> {
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
        let set = |name: &str| (env.0)(name).filter(|v| !v.trim().is_empty());
        let id = set("HEARTBEAT_SOURCE_ID")
            .or_else(|| set("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|| "telltale".into());
        let flip_text = env.or("HEARTBEAT_FLIP_SECONDS", "60s");
        let flip = interval::parse(&flip_text).map_err(|e| ConfigError::Invalid {
            name: "HEARTBEAT_FLIP_SECONDS",
            value: flip_text.clone(),
            reason: e.reason,
        })?;
        let config = Self {
            id: plain_name("HEARTBEAT_SOURCE_ID", id)?,
            flip_seconds: flip.as_secs().max(1) as i64,
            pushgateway: PushgatewayConfig::read(env)?,
            influx: match set("INFLUXDB_URL").or_else(|| set("INFLUXDB_HOSTNAME")) {
                Some(_) => Some(InfluxConfig::read(env)?),
                None => None,
            },
            monasca: MonascaConfig::read(env)?,
        };
        if config.pushgateway.is_none() && config.influx.is_none() && config.monasca.is_none() {
            return Err(ConfigError::Missing {
                name: "PUSHGATEWAY_URL, INFLUXDB_URL or OS_AUTH_URL (no sink is configured)",
            });
        }
        Ok(config)
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
    http: reqwest::Client,
    influx: Option<InfluxSink>,
    monasca: Option<Monasca>,
}

impl Source {
    /// Built once per cold start; secrets are read from SSM here.
    pub async fn connect(
        config: SourceConfig,
        ssm: &aws_sdk_ssm::Client,
    ) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| ConfigError::Invalid {
                name: "PUSHGATEWAY_URL",
                value: String::new(),
                reason: format!("no HTTP client: {e}"),
            })?;
        let influx = match &config.influx {
            Some(c) => Some(InfluxSink::connect(c.clone(), ssm).await?),
            None => None,
        };
        let monasca = match &config.monasca {
            Some(c) => Some(Monasca::connect(c.clone(), http.clone(), ssm).await?),
            None => None,
        };
        Ok(Self {
            config,
            http,
            influx,
            monasca,
        })
    }

    /// One heartbeat to every sink, at once; a failing sink does not stop the others.
    pub async fn emit(&self, now: OffsetDateTime) -> Report {
        let seconds = now.unix_timestamp();
        let value = beat(seconds, self.config.flip_seconds);
        let periods = seconds.div_euclid(self.config.flip_seconds);
        let push = async {
            match &self.config.pushgateway {
                Some(p) => Some(
                    pushgateway::push(&self.http, p, &self.config.id, value, periods, now).await,
                ),
                None => None,
            }
        };
        let influx = async {
            let sink = self.influx.as_ref()?;
            let point = Point::new("telltale_heartbeat")
                .tag("source", self.config.id.as_str())
                .field("beat", value)
                .field("periods", periods)
                .at(now);
            Some(
                sink.write(&[point])
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            )
        };
        let monasca = async {
            let m = self.monasca.as_ref()?;
            let ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
            Some(m.post(&self.config.id, value, ms).await)
        };
        let (push, influx, monasca) = tokio::join!(push, influx, monasca);
        let mut sinks = BTreeMap::new();
        for (name, result) in [
            ("pushgateway", push),
            ("influxdb", influx),
            ("monasca", monasca),
        ] {
            if let Some(result) = result {
                sinks.insert(name, result.err().unwrap_or_else(|| "ok".into()));
            }
        }
        Report {
            source: self.config.id.clone(),
            beat: value,
            sinks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_seeds_even_and_odd_periods() {
        assert_eq!(beat(0, 60), 1);
        assert_eq!(beat(59, 60), 1);
        assert_eq!(beat(60, 60), 0);
        assert_eq!(beat(120, 60), 1);
        assert_eq!(beat(-1, 60), 0);
    }

    #[test]
    fn at_least_one_sink_and_names_that_need_no_escaping() {
        let read = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            SourceConfig::read(&Env(move |k: &str| map.get(k).cloned()))
        };
        assert!(read(&[]).unwrap_err().to_string().contains("no sink"));
        let c = read(&[("PUSHGATEWAY_URL", "http://127.0.0.1:9091")]).unwrap();
        assert_eq!((c.id.as_str(), c.flip_seconds), ("telltale", 60));
        for (k, v) in [
            ("HEARTBEAT_SOURCE_ID", "a/b"),
            ("PUSHGATEWAY_JOB", "x y"),
            ("PUSHGATEWAY_URL", "not a url"),
            ("HEARTBEAT_FLIP_SECONDS", "soon"),
        ] {
            let err = read(&[("PUSHGATEWAY_URL", "http://h:9091"), (k, v)]).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}
