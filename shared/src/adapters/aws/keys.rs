//! The API-key table in DynamoDB: partition key `key_hash` (hex SHA-256 of the key); attributes
//! `name`, `role`, `created_at`. Nothing else reads or writes this table.

use crate::auth::{KeyLookup, Role, StoredKey};
use crate::base::error::{Dependency, Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

/// The table as this adapter uses it (checked against the template).
pub const TABLE_USE: super::TableUse = super::TableUse {
    key: &["key_hash"],
    indexes: &[],
    ttl: None,
};

pub struct ApiKeys {
    client: Client,
    table: String,
}

impl ApiKeys {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Stores a new key's hash; refuses to overwrite an existing record.
    pub async fn put(&self, key: &StoredKey, created_at: &str) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("key_hash", AttributeValue::S(key.key_hash.clone()))
            .item("name", AttributeValue::S(key.name.clone()))
            .item("role", AttributeValue::S(key.role.as_str().into()))
            .item("created_at", AttributeValue::S(created_at.into()))
            .condition_expression("attribute_not_exists(key_hash)")
            .send()
            .await
            .map_err(|e| {
                Error::unavailable(
                    Dependency::DynamoDb,
                    format!("storing a key: {}", super::logged(&e)),
                )
            })?;
        Ok(())
    }

    /// The hashes of the keys with this name (a scan: the table is small and keyed by hash).
    pub async fn named(&self, name: &str) -> Result<Vec<AttributeValue>> {
        let mut hashes = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#n = :n")
                .expression_attribute_names("#n", "name")
                .expression_attribute_values(":n", AttributeValue::S(name.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| Error::unavailable(Dependency::DynamoDb, super::logged(&e)))?;
            hashes.extend(
                page.items()
                    .iter()
                    .filter_map(|i| i.get("key_hash").cloned()),
            );
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(hashes),
            }
        }
    }

    /// Removes every key with this name; returns how many were removed.
    pub async fn revoke(&self, name: &str) -> Result<usize> {
        let hashes = self.named(name).await?;
        for hash in &hashes {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("key_hash", hash.clone())
                .send()
                .await
                .map_err(|e| Error::unavailable(Dependency::DynamoDb, super::logged(&e)))?;
        }
        Ok(hashes.len())
    }
}

impl KeyLookup for ApiKeys {
    async fn find(&self, key_hash: &str) -> Result<Option<StoredKey>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("key_hash", AttributeValue::S(key_hash.into()))
            .send()
            .await
            .map_err(|e| {
                Error::unavailable(
                    Dependency::DynamoDb,
                    format!("reading API keys: {}", super::logged(&e)),
                )
            })?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let (Some(hash), Some(name), Some(role)) = (text("key_hash"), text("name"), text("role"))
        else {
            return Err(Error::Internal(
                "an API key record is incomplete; recreate the key".into(),
            ));
        };
        let role = Role::parse(&role).ok_or_else(|| {
            Error::Internal(format!("an API key record has an unknown role '{role}'"))
        })?;
        Ok(Some(StoredKey {
            key_hash: hash,
            name,
            role,
        }))
    }
}
