//! API-key authentication with roles.
//!
//! A key is shown once when created; only its SHA-256 is stored. A presented key is hashed, the
//! record is fetched by that hash, and the stored hash is compared with the computed one in
//! constant time, so neither the lookup nor the comparison leaks how much of a key was right.

pub mod config;

use crate::base::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// POEM's answer for a missing or unknown key; existing clients match on it.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May submit and list probe candidates.
    Submitter,
    /// May also read candidate details and change their status, and use the heartbeat routes.
    Monitoring,
    /// May only send heartbeats and read their exposition (alarm systems, cron jobs, Prometheus).
    Heartbeat,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Monitoring => "monitoring",
            Role::Heartbeat => "heartbeat",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "submitter" => Some(Role::Submitter),
            "monitoring" => Some(Role::Monitoring),
            "heartbeat" => Some(Role::Heartbeat),
            _ => None,
        }
    }

    fn grants(self, required: Role) -> bool {
        matches!(
            (self, required),
            (Role::Monitoring, _)
                | (Role::Submitter, Role::Submitter)
                | (Role::Heartbeat, Role::Heartbeat)
        )
    }
}

/// What the key store keeps: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key_hash: String,
    pub name: String,
    pub role: Role,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The hash of the key presented: what the caller's own records (idempotency) are scoped
    /// by, since two keys may have been given one name.
    pub key_hash: String,
}

/// Finds a stored key by the hex SHA-256 of the presented key.
pub trait KeyLookup {
    fn find(
        &self,
        key_hash: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredKey>>> + Send;
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new random key: 32 bytes from the OS generator, hex-encoded, with a prefix that makes
/// leaked keys easy to recognise in secret scanners.
pub fn generate_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("tt_{}", hex::encode(bytes))
}

/// Why a presented key was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No stored key has this hash.
    Unknown,
    /// The key is valid but its role does not allow the action; the message says which role.
    Role(String),
}

/// Looks the presented key up by its hash, compares the hashes in constant time and checks the
/// role the action requires.
pub async fn identify(
    keys: &impl KeyLookup,
    presented: &str,
    required: Role,
) -> Result<Result<Caller, Denied>> {
    let computed = hash_key(presented);
    let Some(stored) = keys.find(&computed).await? else {
        return Ok(Err(Denied::Unknown));
    };
    let same: bool = stored.key_hash.as_bytes().ct_eq(computed.as_bytes()).into();
    if !same {
        return Ok(Err(Denied::Unknown));
    }
    if !stored.role.grants(required) {
        return Ok(Err(Denied::Role(format!(
            "This API key has the '{}' role; this action needs the '{}' role.",
            stored.role.as_str(),
            required.as_str()
        ))));
    }
    Ok(Ok(Caller {
        name: stored.name,
        role: stored.role,
        key_hash: stored.key_hash,
    }))
}

/// Checks the `x-api-key` value against the store and the role the route requires, with POEM's
/// answers: 403 for a missing or unknown key as well as for a wrong role.
pub async fn authenticate(
    keys: &impl KeyLookup,
    presented: Option<&str>,
    required: Role,
) -> Result<Caller> {
    let presented = presented
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Error::Forbidden(NOT_AUTHENTICATED.into()))?;
    match identify(keys, presented, required).await? {
        Ok(caller) => Ok(caller),
        Err(Denied::Unknown) => Err(Error::Forbidden(NOT_AUTHENTICATED.into())),
        Err(Denied::Role(message)) => Err(Error::Forbidden(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OneKey(StoredKey);

    impl KeyLookup for OneKey {
        async fn find(&self, key_hash: &str) -> Result<Option<StoredKey>> {
            Ok((self.0.key_hash == key_hash).then(|| self.0.clone()))
        }
    }

    fn store(key: &str, role: Role) -> OneKey {
        OneKey(StoredKey {
            key_hash: hash_key(key),
            name: "alice".into(),
            role,
        })
    }

    #[tokio::test]
    async fn missing_and_unknown_keys_get_poems_message() {
        let keys = store("secret", Role::Submitter);
        for presented in [None, Some(""), Some("  "), Some("wrong")] {
            let err = authenticate(&keys, presented, Role::Submitter)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), NOT_AUTHENTICATED, "for {presented:?}");
        }
    }

    #[tokio::test]
    async fn roles_are_enforced() {
        let submitter = store("s", Role::Submitter);
        let caller = authenticate(&submitter, Some("s"), Role::Submitter)
            .await
            .unwrap();
        assert_eq!(caller.name, "alice");
        let err = authenticate(&submitter, Some("s"), Role::Monitoring)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden(m) if m.contains("'monitoring' role")));

        let monitoring = store("m", Role::Monitoring);
        assert!(authenticate(&monitoring, Some("m"), Role::Submitter)
            .await
            .is_ok());
    }

    #[test]
    fn generated_keys_are_unique_and_hash_to_hex() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert!(a.starts_with("tt_") && a.len() == 67);
        assert_eq!(hash_key(&a).len(), 64);
        assert_ne!(hash_key(&a), a);
    }
}
