//! Configuration read once per cold start from the environment, and secrets.
//!
//! Each function reads only the section it needs, so a missing variable that a function does not
//! use never stops it from starting. Errors name the variable and what was wrong with it. Each
//! domain keeps its own section in its `config.rs`; this is what they read through.

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

    /// Reads from a fixed list of pairs instead of the process environment (tests, examples).
    pub fn pairs(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(move |k: &str| map.get(k).cloned())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The variable's value, or `None` when it is unset or blank (a blank variable in a
    /// template means "not configured", as if it were absent).
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing { name })
    }

    pub fn or(&self, name: &'static str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_string())
    }

    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                value: v.clone(),
                reason: e.to_string(),
            }),
            None => Ok(default),
        }
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
        if let Some(name) = self.optional(parameter_var) {
            return Some(SecretRef::Parameter {
                variable: parameter_var,
                name: name.trim().to_string(),
            });
        }
        self.optional(value_var)
            .map(|v| SecretRef::Value(Secret::new(v)))
    }
}
