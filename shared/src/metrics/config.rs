//! Where the mapping files live, and where the value route finds Prometheus.

use crate::base::env::{ConfigError, Env};
use std::time::Duration;

pub const DEFAULT_METADATA_KEY: &str = "metadata_mappings.json";
pub const DEFAULT_METRICS_KEY: &str = "metrics_mappings.json";

/// Where the two mapping files live and how often a warm container re-checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingsConfig {
    pub bucket: String,
    pub metadata_key: String,
    pub metrics_key: String,
    pub revalidate_after: Duration,
}

impl MappingsConfig {
    /// The default object keys in `bucket`, revalidated every minute.
    pub fn for_bucket(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            metadata_key: DEFAULT_METADATA_KEY.into(),
            metrics_key: DEFAULT_METRICS_KEY.into(),
            revalidate_after: Duration::from_secs(60),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            bucket: env.required("MAPPINGS_BUCKET")?,
            metadata_key: env.or("METADATA_MAPPINGS_KEY", DEFAULT_METADATA_KEY),
            metrics_key: env.or("METRICS_MAPPINGS_KEY", DEFAULT_METRICS_KEY),
            revalidate_after: Duration::from_secs(
                env.parsed_or::<u64>("MAPPINGS_REVALIDATE_SECONDS", 60)?,
            ),
        })
    }
}

/// Where the value route finds Prometheus, and where `#R#` ranges begin.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueConfig {
    pub prometheus_url: String,
    pub prometheus_timeout: Duration,
    /// `counter.range.start` of the original, unix seconds.
    pub range_start: i64,
    /// Larger answers are refused (502), not read.
    pub max_response_bytes: usize,
}

/// The original's default `counter.range.start`: 2021-01-01T00:00:00Z.
pub const DEFAULT_RANGE_START: i64 = 1_609_459_200;

impl ValueConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let prometheus_url = env.required("PROMETHEUS_URL")?;
        if url::Url::parse(&prometheus_url).is_err() {
            return Err(ConfigError::Invalid {
                name: "PROMETHEUS_URL",
                value: prometheus_url,
                reason: "not a URL".into(),
            });
        }
        Ok(Self {
            prometheus_url,
            prometheus_timeout: Duration::from_secs(
                env.parsed_or::<u64>("PROMETHEUS_TIMEOUT_SECONDS", 10)?,
            ),
            range_start: env.parsed_or::<i64>("COUNTER_RANGE_START", DEFAULT_RANGE_START)?,
            max_response_bytes: env
                .parsed_or::<usize>("PROMETHEUS_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES)?,
        })
    }
}

/// The largest Prometheus answer read by default (`PROMETHEUS_MAX_RESPONSE_BYTES`): a long
/// `sumPeriods` over fine samples can otherwise be hundreds of megabytes in a 128 MB function.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::pairs(pairs)
    }

    #[test]
    fn mappings_defaults_apply() {
        let cfg = MappingsConfig::read(&env(&[("MAPPINGS_BUCKET", "b")])).unwrap();
        assert_eq!(cfg.metadata_key, "metadata_mappings.json");
        assert_eq!(cfg.metrics_key, "metrics_mappings.json");
        assert_eq!(cfg.revalidate_after, Duration::from_secs(60));
    }

    #[test]
    fn missing_bucket_is_named() {
        let err = MappingsConfig::read(&env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MAPPINGS_BUCKET is required but not set"
        );
    }

    #[test]
    fn invalid_number_is_explained() {
        let err = MappingsConfig::read(&env(&[
            ("MAPPINGS_BUCKET", "b"),
            ("MAPPINGS_REVALIDATE_SECONDS", "soon"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "MAPPINGS_REVALIDATE_SECONDS",
                ..
            }
        ));
        assert!(err.to_string().contains("\"soon\""));
    }
}
