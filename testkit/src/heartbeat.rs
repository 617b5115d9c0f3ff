//! A heartbeat table and a key table (moto) with a `heartbeat` key and a `submitter` key, and
//! the heartbeat routes' dependencies on them.

use super::moto::moto;
use super::unique;
use telltale::adapters::aws::{dynamodb_client, heartbeat::HeartbeatTable, keys::ApiKeys};
use telltale::auth::{generate_key, hash_key, Role, StoredKey};
use telltale::heartbeat::config::HeartbeatConfig;
use telltale::http::heartbeat::HeartbeatApi;
use telltale_cli::tables;

pub struct HeartbeatFixture {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub keys_table: String,
    /// Role `heartbeat`.
    pub key: String,
    /// Role `submitter`: valid, but not for these routes.
    pub submitter_key: String,
}

impl HeartbeatFixture {
    pub async fn new() -> Self {
        let dynamodb = dynamodb_client(&moto().sdk_config().await);
        let f = HeartbeatFixture {
            dynamodb,
            table: unique("heartbeats"),
            keys_table: unique("hb-keys"),
            key: generate_key(),
            submitter_key: generate_key(),
        };
        tables::ensure_table(
            &f.dynamodb,
            telltale_cli::tables::Store::Heartbeat,
            &f.table,
        )
        .await
        .expect("heartbeat table");
        tables::ensure_table(
            &f.dynamodb,
            telltale_cli::tables::Store::ApiKeys,
            &f.keys_table,
        )
        .await
        .expect("key table");
        f.add_key(&f.key, "alertmanager", Role::Heartbeat).await;
        f.add_key(&f.submitter_key, "tenant", Role::Submitter).await;
        f
    }

    pub async fn add_key(&self, key: &str, name: &str, role: Role) {
        let record = StoredKey {
            key_hash: hash_key(key),
            name: name.into(),
            role,
        };
        ApiKeys::new(self.dynamodb.clone(), &self.keys_table)
            .put(&record, "2026-01-01T00:00:00Z")
            .await
            .expect("storing a key");
    }

    pub fn config(&self) -> HeartbeatConfig {
        HeartbeatConfig {
            table: self.table.clone(),
            webhook_check: "heartbeat".into(),
            default_period: 300,
            default_grace: 60,
            ping_body_limit: 10_000,
        }
    }

    pub fn store(&self) -> HeartbeatTable {
        HeartbeatTable::new(self.dynamodb.clone(), &self.table)
    }

    pub fn api(&self) -> HeartbeatApi<HeartbeatTable, ApiKeys> {
        HeartbeatApi {
            store: self.store(),
            keys: ApiKeys::new(self.dynamodb.clone(), &self.keys_table),
            config: self.config(),
        }
    }

    /// The heartbeat function's environment, for a process under `cargo lambda watch`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = moto().env();
        env.extend(
            [
                ("HEARTBEAT_TABLE", self.table.as_str()),
                ("API_KEYS_TABLE", self.keys_table.as_str()),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }
}

/// A successful ping that ends a run, creating `check` with `period` and `grace` (seconds)
/// when it does not exist, at `now_ms`, as the ping route records one.
pub fn success_ping<'a>(
    check: &'a str,
    source: &'a str,
    counts: &'a [(String, u64)],
    (period, grace): (i64, i64),
    now_ms: i64,
) -> telltale::heartbeat::ports::Record<'a> {
    telltale::heartbeat::ports::Record {
        check,
        source,
        counts,
        state: "success",
        success: true,
        start: false,
        ends_run: true,
        failed: false,
        rid: None,
        exit_status: None,
        alarm: None,
        create: true,
        default_period: period,
        default_grace: grace,
        now_ms,
    }
}
