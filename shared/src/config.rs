//! Typed configuration, read once per cold start from the environment.
//!
//! Each function reads only the section it needs, so a missing variable that a function does not
//! use never stops it from starting. Errors name the variable and what was wrong with it.

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Reads variables through a lookup function so tests need not touch the process environment.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl Env<fn(&str) -> Option<String>> {
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError::Missing { name }),
        }
    }

    pub fn or(&self, name: &'static str, default: &str) -> String {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => v,
            _ => default.to_string(),
        }
    }

    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => {
                v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    value: v.clone(),
                    reason: e.to_string(),
                })
            }
            _ => Ok(default),
        }
    }
}

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
            max_response_bytes: env.parsed_or::<usize>(
                "PROMETHEUS_MAX_RESPONSE_BYTES",
                crate::metrics::prometheus::DEFAULT_MAX_RESPONSE_BYTES,
            )?,
        })
    }
}

/// A value that must never reach a log: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from: the variable itself (local runs) or, as deployed, the name of an
/// SSM Parameter Store SecureString in `<NAME>_PARAMETER`, read once at cold start so the
/// secret never sits in the function's configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretRef {
    Value(Secret),
    Parameter {
        /// The variable that named it, for error messages.
        variable: &'static str,
        name: String,
    },
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// `parameter_var` (an SSM parameter name) wins over `value_var` (the secret itself).
    pub fn secret(
        &self,
        value_var: &'static str,
        parameter_var: &'static str,
    ) -> Option<SecretRef> {
        let set = |name: &str| (self.0)(name).filter(|v| !v.trim().is_empty());
        if let Some(name) = set(parameter_var) {
            return Some(SecretRef::Parameter {
                variable: parameter_var,
                name: name.trim().to_string(),
            });
        }
        set(value_var).map(|v| SecretRef::Value(Secret::new(v)))
    }
}

/// How a push chooses its periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodMode {
    /// From `COUNTER_RANGE_START` to the push time, every time (what the original does).
    Cumulative,
    /// From the end of the metric's last successful push, so records never overlap.
    Incremental,
}

/// The accounting push and the token refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountingConfig {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Used when no refresh token is stored yet.
    pub initial_refresh_token: Option<Secret>,
    pub table: String,
    pub period_mode: PeriodMode,
    pub concurrency: usize,
    /// Refresh when the stored access token expires within this margin.
    pub refresh_margin: Duration,
    /// First retry delay after a 5xx or 429; doubled at each of the following retries.
    pub retry_base: Duration,
    pub retries: u32,
}

/// Where the accounting functions' two secrets come from: `OIDC_CLIENT_SECRET` and
/// `INITIAL_REFRESH_TOKEN` themselves (local runs), or as deployed the SSM parameters named by
/// `OIDC_CLIENT_SECRET_PARAMETER` and `INITIAL_REFRESH_TOKEN_PARAMETER`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountingSecrets {
    pub client_secret: SecretRef,
    pub initial_refresh_token: Option<SecretRef>,
}

impl AccountingSecrets {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            client_secret: env
                .secret("OIDC_CLIENT_SECRET", "OIDC_CLIENT_SECRET_PARAMETER")
                .ok_or(ConfigError::Missing {
                    name: "OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_PARAMETER)",
                })?,
            initial_refresh_token: env
                .secret("INITIAL_REFRESH_TOKEN", "INITIAL_REFRESH_TOKEN_PARAMETER"),
        })
    }
}

impl AccountingConfig {
    /// The settings, with the secrets already resolved (see `AccountingSecrets`).
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        client_secret: Secret,
        initial_refresh_token: Option<Secret>,
    ) -> Result<Self, ConfigError> {
        let period_mode = match env.or("PERIOD_MODE", "cumulative").as_str() {
            "cumulative" => PeriodMode::Cumulative,
            "incremental" => PeriodMode::Incremental,
            other => {
                return Err(ConfigError::Invalid {
                    name: "PERIOD_MODE",
                    value: other.to_string(),
                    reason: "use cumulative or incremental".into(),
                })
            }
        };
        Ok(Self {
            base_url: env
                .required("ACCOUNTING_BASE_URL")?
                .trim_end_matches('/')
                .to_string(),
            token_url: env.required("TOKEN_URL")?,
            client_id: env.required("OIDC_CLIENT_ID")?,
            client_secret,
            initial_refresh_token,
            table: env.required("ACCOUNTING_TABLE")?,
            period_mode,
            concurrency: env.parsed_or::<usize>("PUSH_CONCURRENCY", 4)?.max(1),
            refresh_margin: Duration::from_secs(
                env.parsed_or::<u64>("TOKEN_REFRESH_MARGIN_SECONDS", 300)?,
            ),
            retry_base: Duration::from_millis(env.parsed_or::<u64>("PUSH_RETRY_BASE_MS", 500)?),
            retries: env.parsed_or::<u32>("PUSH_RETRIES", 4)?,
        })
    }
}

/// The DynamoDB table that holds API key hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    pub api_keys_table: String,
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            api_keys_table: env.required("API_KEYS_TABLE")?,
        })
    }
}

/// The probe functions: their table and how they email.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbesConfig {
    pub table: String,
    pub email: crate::probes::email::EmailSettings,
    /// Minimum stay in `testing` before `deployed` (`TESTING_MIN_DAYS`, default 3).
    pub min_testing: time::Duration,
}

impl ProbesConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let team: Vec<String> = env
            .required("TEAM_EMAIL")?
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(bad) = team.iter().find(|a| !crate::probes::validate::is_email(a)) {
            return Err(ConfigError::Invalid {
                name: "TEAM_EMAIL",
                value: bad.clone(),
                reason: "not an email address (a comma-separated list is accepted)".into(),
            });
        }
        Ok(Self {
            table: env.required("PROBES_TABLE")?,
            email: crate::probes::email::EmailSettings {
                from: env.required("EMAIL_FROM")?,
                team,
                providers_portal_url: env
                    .or("PROVIDERS_PORTAL_URL", "https://providers.eosc-portal.eu"),
            },
            min_testing: time::Duration::days(env.parsed_or::<u16>("TESTING_MIN_DAYS", 3)?.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(move |k: &str| map.get(k).cloned())
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
