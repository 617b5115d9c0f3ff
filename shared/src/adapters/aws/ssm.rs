//! Secrets from SSM Parameter Store (SecureString, decrypted), read once at cold start.

use super::describe;
use crate::accounting::config::{AccountingConfig, AccountingSecrets};
use crate::base::env::{ConfigError, Env, Secret, SecretRef};

pub fn ssm_client(config: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    let conf = aws_sdk_ssm::config::Builder::from(config)
        .interceptor(crate::adapters::timing::sdk::Timing)
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

/// The secret itself: given directly, or fetched from its parameter. A parameter that cannot be
/// read stops the function with the variable that named it and what SSM said.
pub async fn resolve(
    secret: SecretRef,
    client: &aws_sdk_ssm::Client,
) -> Result<Secret, ConfigError> {
    let (variable, name) = match secret {
        SecretRef::Value(v) => return Ok(v),
        SecretRef::Parameter { variable, name } => (variable, name),
    };
    let invalid = |reason: String| ConfigError::Invalid {
        name: variable,
        value: name.clone(),
        reason,
    };
    let out = client
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            invalid(format!(
                "reading the SSM parameter failed: {}",
                describe(&e)
            ))
        })?;
    out.parameter
        .and_then(|p| p.value)
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| invalid("the SSM parameter has no value".into()))
}

/// Parameters read at run time (a webhook's signing secret, a collector's header), each read
/// once per process.
pub struct ParameterCache {
    ssm: aws_sdk_ssm::Client,
    values: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl ParameterCache {
    pub fn new(ssm: aws_sdk_ssm::Client) -> Self {
        Self {
            ssm,
            values: Default::default(),
        }
    }

    /// The value of `name`; the error names `what` needs it and what SSM said, never a value.
    pub async fn get(&self, name: &str, what: &str) -> Result<Vec<u8>, String> {
        let cached = self
            .values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        if let Some(v) = cached {
            return Ok(v);
        }
        let out = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| format!("{what} {name}: {}", describe(&e)))?;
        let value = out
            .parameter
            .and_then(|p| p.value)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{what} {name} has no value"))?
            .into_bytes();
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), value.clone());
        Ok(value)
    }
}

/// The accounting functions' configuration from `env` (the process environment in a function), their secrets read
/// from SSM where the environment names parameters.
pub async fn accounting_config<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    client: &aws_sdk_ssm::Client,
) -> Result<AccountingConfig, ConfigError> {
    let secrets = AccountingSecrets::read(env)?;
    let client_secret = resolve(secrets.client_secret, client).await?;
    let initial_refresh_token = match secrets.initial_refresh_token {
        Some(token) => Some(resolve(token, client).await?),
        None => None,
    };
    AccountingConfig::read(env, client_secret, initial_refresh_token)
}
