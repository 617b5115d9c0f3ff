//! Where the API key hashes are stored.

use crate::base::env::{ConfigError, Env};

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
