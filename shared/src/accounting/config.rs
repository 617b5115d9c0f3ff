//! The accounting push and the token refresh: where the EOSC Accounting Service and the OIDC
//! token endpoint are, how periods are chosen, and how hard to retry.

use crate::base::env::{ConfigError, Env, Secret, SecretRef};
use std::time::Duration;

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
