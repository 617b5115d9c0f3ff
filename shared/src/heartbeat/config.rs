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
}

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
        })
    }
}
