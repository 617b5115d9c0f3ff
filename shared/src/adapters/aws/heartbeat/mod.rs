//! The heartbeat table in DynamoDB: partition key `pk`, sort key `sk`. Every check is one item
//! in the partition `pk = "check"`, `sk = <name>`, so listing them is one Query, never a Scan.
//!
//! | attribute | what |
//! |---|---|
//! | `uuid`, `period_seconds`, `cron`, `tz`, `grace_seconds`, `manual_resume`, `created_at` | the check |
//! | `state`, `state_since` | its state, settled by `states.rs` |
//! | `rev` | raised by every write (`ADD`): a state is written only on the revision it was decided from |
//! | `pings`, `flips` | how many were recorded: the log's slots are these modulo 100 |
//! | `n#<source>#<state>` | counters, changed only with `ADD` (atomic) |
//! | `last_seen`, `last_success`, `last_ping`, `last_failed`, `last_state`, `last_exit_status`, `last_alarm` | the latest ping |
//! | `last_start_ms`, `run#<rid>` | runs in progress (removed by the ping that ends them) |
//! | `last_duration_seconds` | the last run's duration |
//!
//! Beside the checks: `pk = "uuid"` items map a check's UUID to its name (`states.rs`), and
//! `pk = "ping#<name>"` / `"flip#<name>"` hold its last 100 pings and flips (`log.rs`).

mod log;
mod notices;
mod states;

use crate::base::error::{Dependency, Error, Result};
use crate::heartbeat::check::Check;
use crate::heartbeat::ports::{CheckSettings, HeartbeatStore, Record, Recorded};
use crate::heartbeat::state::State;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use aws_sdk_dynamodb::Client;

/// The table as this adapter uses it (checked against the template): logged pings, flips and
/// sent notices carry `expires_at`.
pub const TABLE_USE: super::TableUse = super::TableUse {
    key: &["pk", "sk"],
    indexes: &[],
    ttl: Some("expires_at"),
};
use std::collections::HashMap;

pub const PARTITION: &str = "check";
const UUIDS: &str = "uuid";
const COUNTER_PREFIX: &str = "n#";
const RUN_PREFIX: &str = "run#";

pub struct HeartbeatTable {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn num<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn text(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn flag(item: &Item, k: &str) -> bool {
    item.get(k)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(Dependency::DynamoDb, format!("{what}: {e}"))
}

fn prefixed<'a, T: std::str::FromStr>(
    item: &'a Item,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, T)> + 'a {
    item.iter()
        .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_n().ok()?.parse().ok()?)))
}

fn check_of(item: &Item) -> Check {
    let received = prefixed::<u64>(item, COUNTER_PREFIX)
        .filter_map(|(k, count)| {
            let (source, state) = k.split_once('#')?;
            Some(((source.to_string(), state.to_string()), count))
        })
        .collect();
    let cron = text(item, "cron").map(|c| (c, text(item, "tz").unwrap_or_else(|| "UTC".into())));
    Check {
        name: text(item, "sk").unwrap_or_default(),
        uuid: text(item, "uuid"),
        period_seconds: num(item, "period_seconds").unwrap_or(0),
        cron,
        grace_seconds: num(item, "grace_seconds").unwrap_or(0),
        created_at: num(item, "created_at").unwrap_or(0),
        state: text(item, "state")
            .and_then(|t| State::parse(&t))
            .unwrap_or_default(),
        state_since: num(item, "state_since"),
        rev: num(item, "rev").unwrap_or(0),
        flips: num(item, "flips").unwrap_or(0),
        pings: num(item, "pings").unwrap_or(0),
        manual_resume: flag(item, "manual_resume"),
        channels: text(item, "channels")
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
        last_seen: num(item, "last_seen"),
        last_success: num(item, "last_success"),
        last_ping: num(item, "last_ping"),
        last_failed: flag(item, "last_failed"),
        last_start_ms: num(item, "last_start_ms"),
        runs: prefixed::<i64>(item, RUN_PREFIX)
            .map(|(rid, at)| (rid.to_string(), at))
            .collect(),
        last_state: text(item, "last_state"),
        last_exit_status: num(item, "last_exit_status"),
        last_duration_seconds: num(item, "last_duration_seconds"),
        last_alarm: text(item, "last_alarm"),
        received,
    }
}

impl HeartbeatTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key_in(&self, pk: &str, sk: &str) -> Item {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    fn key(&self, name: &str) -> Item {
        self.key_in(PARTITION, name)
    }

    fn put(&self, item: Item) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Creates the check with a new UUID, and the UUID's item, in one transaction; `false` when
    /// a check of that name exists already (created meanwhile by another ping).
    async fn create(&self, name: &str, period: i64, grace: i64, now: i64) -> Result<bool> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut check = self.key(name);
        check.extend([
            ("uuid".to_string(), s(&uuid)),
            ("period_seconds".to_string(), n(period)),
            ("grace_seconds".to_string(), n(grace)),
            ("created_at".to_string(), n(now)),
            ("state".to_string(), s(State::New.as_str())),
            ("rev".to_string(), n(0)),
        ]);
        let mut pointer = self.key_in(UUIDS, &uuid);
        pointer.insert("name".into(), s(name));
        let writes = vec![self.put(check)?, self.put(pointer)?];
        Ok(super::transact(&self.client, writes, "creating a check")
            .await?
            .is_ok())
    }

    /// The item, read consistently.
    async fn get(&self, key: Item, what: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed(what, super::logged(&e)))?;
        Ok(out.item)
    }
}

/// The update of one ping: what it sets, the counters it adds (`ADD`, so concurrent pings
/// are each counted once), the runs it starts and ends. A check paused until a manual resume
/// takes none of it.
fn ping_update(r: &Record<'_>) -> (String, HashMap<String, String>, Item) {
    let now = r.now_ms.div_euclid(1000);
    let mut names = HashMap::from([("#st".to_string(), "state".to_string())]);
    let mut values = HashMap::from([
        (":now".to_string(), n(now)),
        (":state".to_string(), s(r.state)),
        (":one".to_string(), n(1)),
        (":paused".to_string(), s(State::Paused.as_str())),
        (":true".to_string(), AttributeValue::Bool(true)),
    ]);
    let mut set = vec![
        "last_seen = :now".to_string(),
        "last_state = :state".to_string(),
    ];
    let mut add = vec!["rev :one".to_string(), "pings :one".to_string()];
    let mut remove = Vec::new();
    if r.success {
        set.push("last_success = :now".into());
    }
    if r.ends_run {
        values.insert(":failed".into(), AttributeValue::Bool(r.failed));
        set.push("last_ping = :now".into());
        set.push("last_failed = :failed".into());
        remove.push("last_start_ms".to_string());
        if let Some(rid) = r.rid {
            names.insert("#run".into(), format!("{RUN_PREFIX}{rid}"));
            remove.push("#run".into());
        }
    }
    if r.start {
        values.insert(":ms".into(), n(r.now_ms));
        set.push("last_start_ms = :ms".into());
        if let Some(rid) = r.rid {
            names.insert("#run".into(), format!("{RUN_PREFIX}{rid}"));
            set.push("#run = :ms".into());
        }
    }
    if let Some(code) = r.exit_status {
        values.insert(":exit".into(), n(code));
        set.push("last_exit_status = :exit".into());
    }
    if let Some(alarm) = r.alarm {
        values.insert(":alarm".into(), s(alarm));
        set.push("last_alarm = :alarm".into());
    }
    for (i, (state, count)) in r.counts.iter().enumerate() {
        names.insert(
            format!("#c{i}"),
            format!("{COUNTER_PREFIX}{}#{state}", r.source),
        );
        values.insert(format!(":c{i}"), n(count));
        add.push(format!("#c{i} :c{i}"));
    }
    let mut expression = format!("SET {} ADD {}", set.join(", "), add.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    (expression, names, values)
}

impl HeartbeatTable {
    /// The ping's update; `Ok(None)` when its condition did not hold (no such check, or one
    /// that ignores pings).
    async fn update(&self, r: &Record<'_>) -> Result<Option<Item>> {
        let (expression, names, values) = ping_update(r);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(r.check)))
            .update_expression(expression)
            .condition_expression(
                "attribute_exists(sk) AND NOT (#st = :paused AND manual_resume = :true)",
            )
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if super::condition_failed(&e) => Ok(None),
            Err(e) => Err(failed("recording a ping", super::logged(&e))),
        }
    }

    /// A run ended at this ping: its duration, unless a later write came meanwhile (then that
    /// one's own update stands). Runs started long ago and never ended are forgotten here.
    async fn after_ping(&self, check: &Check, duration: Option<f64>) -> Result<()> {
        let stale = check.stale_runs();
        if duration.is_none() && stale.is_empty() {
            return Ok(());
        }
        let mut names = HashMap::new();
        let mut values = HashMap::from([(":rev".to_string(), n(check.rev))]);
        let mut parts = Vec::new();
        if let Some(d) = duration {
            values.insert(":d".into(), n(d));
            parts.push("SET last_duration_seconds = :d".to_string());
        }
        if !stale.is_empty() {
            let removed: Vec<String> = stale
                .iter()
                .enumerate()
                .map(|(i, rid)| {
                    names.insert(format!("#r{i}"), format!("{RUN_PREFIX}{rid}"));
                    format!("#r{i}")
                })
                .collect();
            parts.push(format!("REMOVE {}", removed.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(&check.name)))
            .update_expression(parts.join(" "))
            .condition_expression("rev = :rev")
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(failed("recording a run's duration", super::logged(&e))),
        }
    }
}

impl HeartbeatTable {
    /// Deletes the check and its UUID's item together; its logged pings, flips and sent
    /// notices expire by TTL. `false` when there was no such check.
    pub async fn delete_check(&self, name: &str) -> Result<bool> {
        let Some(item) = self.get(self.key(name), "reading a check").await? else {
            return Ok(false);
        };
        let delete = |key: Item| {
            aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
                .map_err(|e| Error::Internal(e.to_string()))
        };
        let mut writes = vec![delete(self.key(name))?];
        if let Some(uuid) = text(&item, "uuid") {
            writes.push(delete(self.key_in(UUIDS, &uuid))?);
        }
        match super::transact(&self.client, writes, "deleting a check").await? {
            Ok(()) => Ok(true),
            Err(reasons) => Err(failed(
                "deleting a check",
                format!("transaction cancelled: {reasons:?}"),
            )),
        }
    }
}

impl HeartbeatStore for HeartbeatTable {
    async fn record(&self, r: &Record<'_>) -> Result<Recorded> {
        let mut created = false;
        // At most: refused as unknown, created, recorded (or ignored at any point).
        for _ in 0..3 {
            if let Some(old) = self.update(r).await? {
                let mut check = check_of(&old);
                let duration = r.apply(&mut check);
                self.after_ping(&check, duration).await?;
                return Ok(Recorded::Counted {
                    check: Box::new(check),
                    created,
                    duration,
                });
            }
            match self.get(self.key(r.check), "reading a check").await? {
                Some(item) if check_of(&item).ignores_pings() => {
                    return Ok(Recorded::Ignored(Box::new(check_of(&item))))
                }
                // Resumed in the meantime: try again.
                Some(_) => {}
                None if !r.create => return Ok(Recorded::UnknownCheck),
                None => {
                    let now = r.now_ms.div_euclid(1000);
                    created = self
                        .create(r.check, r.default_period, r.default_grace, now)
                        .await?;
                }
            }
        }
        Err(failed("recording a ping", "the check kept changing"))
    }

    async fn checks(&self) -> Result<Vec<Check>> {
        let items = self.partition(PARTITION, "listing the checks").await?;
        Ok(items.iter().map(check_of).collect())
    }

    async fn set_check(&self, name: &str, settings: &CheckSettings, now: i64) -> Result<()> {
        if self.get(self.key(name), "reading a check").await?.is_none() {
            self.create(name, settings.period_seconds, settings.grace_seconds, now)
                .await?;
        }
        let mut values = HashMap::from([
            (":p".to_string(), n(settings.period_seconds)),
            (":g".to_string(), n(settings.grace_seconds)),
            (
                ":m".to_string(),
                AttributeValue::Bool(settings.manual_resume),
            ),
            (
                ":ch".to_string(),
                s(&serde_json::to_string(&settings.channels)
                    .map_err(|e| Error::Internal(e.to_string()))?),
            ),
            (":one".to_string(), n(1)),
        ]);
        let mut expression =
            "SET period_seconds = :p, grace_seconds = :g, manual_resume = :m, channels = :ch"
                .to_string();
        match &settings.cron {
            Some((cron, tz)) => {
                values.insert(":cron".into(), s(cron));
                values.insert(":tz".into(), s(tz));
                expression.push_str(", cron = :cron, tz = :tz ADD rev :one");
            }
            None => expression.push_str(" ADD rev :one REMOVE cron, tz"),
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(name)))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| failed("setting a check", super::logged(&e)))?;
        Ok(())
    }
}
