//! The accounting state table in DynamoDB (partition key `id`, encrypted at rest):
//!
//! | `id` | what |
//! |---|---|
//! | `token` | access token, its expiry, the (rotated) refresh token, `version` for conditional writes |
//! | `refresh-lease` | who is refreshing the token now, until when (one refresh at a time across instances) |
//! | `push#<installation>#<definition>#<start>#<end>` | the outcome of pushing one metric for one period: `pushing` (claimed, with a lease), `pushed` (with `metric_id`) or `failed` (with the reason) |
//! | `last#<installation>#<definition>` | end of the last successful push (incremental mode) |
//! | `outcome#<installation>#<definition>` | how the metric's latest push ended, whatever its period, and when it last succeeded (read by the `accounting_push` collector with one BatchGetItem per 100 metrics) |

use crate::accounting::model::{outcome_key, LastOutcome, PushRecord, PushState, StoredToken};
use crate::base::env::Secret;
use crate::base::error::{Dependency, Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// The table as this adapter uses it (checked against the template). Its token record's
/// `expires_at` is the token's own expiry, not a TTL: the record is never deleted.
pub const TABLE_USE: super::TableUse = super::TableUse {
    key: &["id"],
    indexes: &[],
    ttl: None,
};

mod store;

pub struct AccountingTable {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

const REFRESH_LEASE: &str = "refresh-lease";

/// BatchGetItem reads at most this many keys per call.
const BATCH_GET_LIMIT: usize = 100;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn num<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(Dependency::DynamoDb, format!("{what}: {e}"))
}

impl AccountingTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Item>> {
        super::get_by_id(&self.client, &self.table, id).await
    }

    pub async fn token(&self) -> Result<Option<StoredToken>> {
        Ok(self.get("token").await?.map(|item| StoredToken {
            access_token: Secret::new(text(&item, "access_token").unwrap_or_default()),
            expires_at: num(&item, "expires_at").unwrap_or(0),
            refresh_token: Secret::new(text(&item, "refresh_token").unwrap_or_default()),
            version: num(&item, "version").unwrap_or(0),
            refreshed_at: text(&item, "refreshed_at")
                .and_then(|t| crate::base::time::parse_time(&t))
                .map_or(0, |t| t.unix_timestamp()),
        }))
    }

    /// Stores `token` if the stored one is still at `token.version - 1` (or none is stored for
    /// version 1). Returns false when another writer got there first.
    pub async fn put_token(&self, token: &StoredToken) -> Result<bool> {
        // Kept as RFC 3339, as an operator reading the item expects.
        let refreshed_at = time::OffsetDateTime::from_unix_timestamp(token.refreshed_at)
            .map(crate::base::time::timestamp)
            .unwrap_or_default();
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s("token"))
            .item("access_token", s(token.access_token.expose()))
            .item("expires_at", n(token.expires_at))
            .item("refresh_token", s(token.refresh_token.expose()))
            .item("version", n(token.version))
            .item("refreshed_at", s(&refreshed_at));
        req = if token.version <= 1 {
            req.condition_expression("attribute_not_exists(id)")
        } else {
            req.condition_expression("version = :v")
                .expression_attribute_values(":v", n(token.version - 1))
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if super::condition_failed(&e) => Ok(false),
            Err(e) => Err(failed("storing the token", super::logged(&e))),
        }
    }

    pub async fn record(&self, key: &str) -> Result<Option<PushRecord>> {
        Ok(self.get(key).await?.map(|item| PushRecord {
            state: PushState::parse(&text(&item, "state").unwrap_or_default()),
            value: num(&item, "value"),
            metric_id: text(&item, "metric_id"),
            reason: text(&item, "reason"),
            claimed_until: num(&item, "claimed_until"),
        }))
    }

    /// Takes the push of this period unless it was pushed, or another run holds it.
    pub async fn claim(&self, key: &str, now: i64, lease_seconds: i64) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key))
            .update_expression("SET #state = :pushing, claimed_until = :until, attempts = if_not_exists(attempts, :zero) + :one")
            .condition_expression(
                "attribute_not_exists(id) OR #state = :failed OR (#state = :pushing AND claimed_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pushing", s(PushState::Pushing.as_str()))
            .expression_attribute_values(":failed", s(PushState::Failed.as_str()))
            .expression_attribute_values(":until", n(now + lease_seconds))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if super::condition_failed(&e) => Ok(false),
            Err(e) => Err(failed("claiming a push", super::logged(&e))),
        }
    }

    /// Records how the push of this period ended.
    pub async fn finish(
        &self,
        key: &str,
        pushed: bool,
        value: Option<f64>,
        metric_id: Option<&str>,
        reason: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let mut names = HashMap::from([("#state".to_string(), "state".to_string())]);
        let mut values = HashMap::from([
            (
                ":state".to_string(),
                s(if pushed {
                    PushState::Pushed
                } else {
                    PushState::Failed
                }
                .as_str()),
            ),
            (":at".to_string(), s(at)),
        ]);
        let mut set = vec!["#state = :state", "finished_at = :at"];
        if let Some(v) = value {
            values.insert(":value".into(), n(v));
            names.insert("#value".into(), "value".into());
            set.push("#value = :value");
        }
        if let Some(m) = metric_id {
            values.insert(":mid".into(), s(m));
            set.push("metric_id = :mid");
        }
        if let Some(r) = reason {
            values.insert(":reason".into(), s(r));
            set.push("reason = :reason");
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key))
            .update_expression(format!("SET {} REMOVE claimed_until", set.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| failed("recording a push", super::logged(&e)))?;
        Ok(())
    }

    /// End (unix seconds) of the last successful push of this metric.
    pub async fn last_end(&self, installation: &str, definition: &str) -> Result<Option<i64>> {
        Ok(self
            .get(&format!("last#{installation}#{definition}"))
            .await?
            .and_then(|item| num(&item, "end")))
    }

    /// Moves the last end forward (never back).
    pub async fn set_last_end(&self, installation: &str, definition: &str, end: i64) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(&format!("last#{installation}#{definition}")))
            .update_expression("SET #end = :end")
            .condition_expression("attribute_not_exists(#end) OR #end < :end")
            .expression_attribute_names("#end", "end")
            .expression_attribute_values(":end", n(end))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(failed("recording the last push", super::logged(&e))),
        }
    }

    /// Records how this metric's push ended; a success also moves `last_success_at`.
    pub async fn record_outcome(
        &self,
        installation: &str,
        definition: &str,
        pushed: bool,
        value: Option<f64>,
        reason: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let mut set = vec!["#state = :state", "#at = :at"];
        let mut names = HashMap::from([
            ("#state".to_string(), "state".to_string()),
            ("#at".to_string(), "at".to_string()),
        ]);
        let mut values = HashMap::from([
            (
                ":state".to_string(),
                s(if pushed {
                    PushState::Pushed
                } else {
                    PushState::Failed
                }
                .as_str()),
            ),
            (":at".to_string(), s(at)),
        ]);
        if pushed {
            set.push("last_success_at = :at");
        }
        if let Some(v) = value {
            names.insert("#value".into(), "value".into());
            values.insert(":value".into(), n(v));
            set.push("#value = :value");
        }
        let mut expression = format!("SET {}", set.join(", "));
        match reason {
            Some(r) => {
                values.insert(":reason".into(), s(r));
                expression.push_str(", reason = :reason");
            }
            None => expression.push_str(" REMOVE reason"),
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(&outcome_key(installation, definition)))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| failed("recording a push outcome", super::logged(&e)))?;
        Ok(())
    }

    /// The latest outcome of each `(installation, definition)` that has one, read in batches.
    pub async fn outcomes(
        &self,
        metrics: &[(String, String)],
    ) -> Result<HashMap<(String, String), LastOutcome>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let by_key: HashMap<String, (String, String)> = metrics
            .iter()
            .map(|(i, d)| (outcome_key(i, d), (i.clone(), d.clone())))
            .collect();
        let keys: Vec<&String> = by_key.keys().collect();
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut request = Some(
                chunk
                    .iter()
                    .map(|k| HashMap::from([("id".to_string(), s(k))]))
                    .collect::<Vec<_>>(),
            );
            // DynamoDB may leave keys unprocessed under load; ask again for those, a few times.
            for attempt in 0..5u64 {
                let Some(batch) = request.take().filter(|b| !b.is_empty()) else {
                    break;
                };
                let wanted = KeysAndAttributes::builder()
                    .set_keys(Some(batch))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, wanted)
                    .send()
                    .await
                    .map_err(|e| failed("reading push outcomes", super::logged(&e)))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let Some(metric) = text(&item, "id").and_then(|id| by_key.get(&id)) else {
                        continue;
                    };
                    found.insert(
                        metric.clone(),
                        LastOutcome {
                            state: PushState::parse(&text(&item, "state").unwrap_or_default()),
                            at: text(&item, "at").unwrap_or_default(),
                            last_success_at: text(&item, "last_success_at"),
                            reason: text(&item, "reason"),
                            value: num(&item, "value"),
                        },
                    );
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys);
                if request.as_ref().is_some_and(|r| !r.is_empty()) {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
            if request.is_some_and(|r| !r.is_empty()) {
                return Err(failed("reading push outcomes", "keys left unprocessed"));
            }
        }
        Ok(found)
    }

    /// Takes the refresh lease unless someone else holds one that has not lapsed.
    pub async fn acquire_refresh_lease(&self, owner: &str, now: i64, seconds: i64) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(REFRESH_LEASE))
            .item("owner", s(owner))
            .item("until", n(now + seconds))
            .condition_expression("attribute_not_exists(id) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if super::condition_failed(&e) => Ok(false),
            Err(e) => Err(failed("taking the refresh lease", super::logged(&e))),
        }
    }

    /// Gives the lease back, if it is still ours.
    pub async fn release_refresh_lease(&self, owner: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(REFRESH_LEASE))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(failed("releasing the refresh lease", super::logged(&e))),
        }
    }
}
