//! The heartbeat routes' configuration.

use super::check::validate_name;
use crate::base::env::{ConfigError, Env};
use crate::base::interval;

#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatConfig {
    pub table: String,
    /// The check `POST /heartbeat` counts into.
    pub webhook_check: String,
    /// Period and grace of a check created by a ping (`?create=1`) or by the webhook.
    pub default_period: i64,
    pub default_grace: i64,
    /// How much of a ping's body (the job's output) is kept: healthchecks.io's
    /// `PING_BODY_LIMIT`, announced in the `Ping-Body-Limit` header.
    pub ping_body_limit: usize,
}

/// The largest `HEARTBEAT_PING_BODY_LIMIT`: 100 kept pings must fit DynamoDB's item limits
/// comfortably (each is its own item, up to 400 KB).
pub const MAX_PING_BODY_LIMIT: usize = 100_000;

fn seconds<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
    default: &str,
) -> Result<i64, ConfigError> {
    let text = env.or(name, default);
    interval::parse(&text)
        .map(|d| d.as_secs().max(1) as i64)
        .map_err(|e| ConfigError::Invalid {
            name,
            value: text,
            reason: e.reason,
        })
}

fn body_limit<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<usize, ConfigError> {
    let name = "HEARTBEAT_PING_BODY_LIMIT";
    let text = env.or(name, "10000");
    match text.trim().parse::<usize>() {
        Ok(n) if n <= MAX_PING_BODY_LIMIT => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value: text,
            reason: format!("a number of bytes from 0 to {MAX_PING_BODY_LIMIT}"),
        }),
    }
}

impl HeartbeatConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let webhook_check = env.or("HEARTBEAT_WEBHOOK_CHECK", "heartbeat");
        validate_name(&webhook_check).map_err(|e| ConfigError::Invalid {
            name: "HEARTBEAT_WEBHOOK_CHECK",
            value: webhook_check.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            table: env.required("HEARTBEAT_TABLE")?,
            webhook_check,
            default_period: seconds(env, "HEARTBEAT_DEFAULT_PERIOD", "5m")?,
            default_grace: seconds(env, "HEARTBEAT_DEFAULT_GRACE", "1m")?,
            ping_body_limit: body_limit(env)?,
        })
    }
}

/// `heartbeat-sweep`'s configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    pub table: String,
    /// The notices' sender (`EMAIL_FROM`, a verified SES identity).
    pub from: String,
    /// Alertmanager's base URL (`ALERTMANAGER_URL`), for checks set with `--alertmanager`.
    pub alertmanager_url: Option<String>,
}

impl SweepConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let alertmanager_url = env.optional("ALERTMANAGER_URL");
        if let Some(url) = &alertmanager_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    name: "ALERTMANAGER_URL",
                    value: url.clone(),
                    reason: "an http:// or https:// URL".into(),
                });
            }
        }
        Ok(Self {
            table: env.required("HEARTBEAT_TABLE")?,
            from: env.required("EMAIL_FROM")?,
            alertmanager_url,
        })
    }
}
