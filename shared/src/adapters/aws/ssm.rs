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
