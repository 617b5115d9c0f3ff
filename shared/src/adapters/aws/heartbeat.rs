//! The heartbeat table in DynamoDB: partition key `pk`, sort key `sk`. Every check is one item
//! in the partition `pk = "check"`, `sk = <name>`, so listing them is one Query, never a Scan.
//!
//! | attribute | what |
//! |---|---|
//! | `period_seconds`, `grace_seconds`, `created_at` | the check |
//! | `n#<source>#<state>` | counters, changed only with `ADD` (atomic) |
//! | `last_seen`, `last_success` (unix s), `last_state`, `last_exit_status`, `last_alarm` | the latest ping |
//! | `last_start_ms` | a run in progress (removed by the ping that ends it) |
//! | `last_duration_seconds` | the last run's duration |

use crate::base::error::{Dependency, Error, Result};
use crate::heartbeat::check::Check;
use crate::heartbeat::ports::{HeartbeatStore, Record, Recorded};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub const PARTITION: &str = "check";
const COUNTER_PREFIX: &str = "n#";

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

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(Dependency::DynamoDb, format!("{what}: {e}"))
}

fn check_of(item: &Item) -> Check {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let received = item
        .iter()
        .filter_map(|(k, v)| {
            let (source, state) = k.strip_prefix(COUNTER_PREFIX)?.split_once('#')?;
            let count = v.as_n().ok()?.parse().ok()?;
            Some(((source.to_string(), state.to_string()), count))
        })
        .collect();
    Check {
        name: text("sk").unwrap_or_default(),
        period_seconds: num(item, "period_seconds").unwrap_or(0),
        grace_seconds: num(item, "grace_seconds").unwrap_or(0),
        created_at: num(item, "created_at").unwrap_or(0),
        last_seen: num(item, "last_seen"),
        last_success: num(item, "last_success"),
        last_state: text("last_state"),
        last_exit_status: num(item, "last_exit_status"),
        last_duration_seconds: num(item, "last_duration_seconds"),
        last_alarm: text("last_alarm"),
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

    fn key(&self, name: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_string(), s(PARTITION)),
            ("sk".to_string(), s(name)),
        ])
    }
}

/// The update of one ping: what it sets, the counters it adds (`ADD`, so concurrent pings
/// are each counted once), and whether it ends a run.
fn ping_update(r: &Record<'_>) -> (String, HashMap<String, String>, Item) {
    let now = r.now_ms.div_euclid(1000);
    let mut names = HashMap::new();
    let mut values = HashMap::from([
        (":now".to_string(), n(now)),
        (":state".to_string(), s(r.state)),
        (":p".to_string(), n(r.default_period)),
        (":g".to_string(), n(r.default_grace)),
    ]);
    let mut set = vec![
        "last_seen = :now".to_string(),
        "last_state = :state".to_string(),
        "created_at = if_not_exists(created_at, :now)".to_string(),
        "period_seconds = if_not_exists(period_seconds, :p)".to_string(),
        "grace_seconds = if_not_exists(grace_seconds, :g)".to_string(),
    ];
    if r.success {
        set.push("last_success = :now".into());
    }
    if r.start {
        values.insert(":ms".into(), n(r.now_ms));
        set.push("last_start_ms = :ms".into());
    }
    if let Some(code) = r.exit_status {
        values.insert(":exit".into(), n(code));
        set.push("last_exit_status = :exit".into());
    }
    if let Some(alarm) = r.alarm {
        values.insert(":alarm".into(), s(alarm));
        set.push("last_alarm = :alarm".into());
    }
    let mut add = Vec::new();
    for (i, (state, count)) in r.counts.iter().enumerate() {
        names.insert(
            format!("#c{i}"),
            format!("{COUNTER_PREFIX}{}#{state}", r.source),
        );
        values.insert(format!(":c{i}"), n(count));
        add.push(format!("#c{i} :c{i}"));
    }
    let mut expression = format!("SET {}", set.join(", "));
    if !add.is_empty() {
        expression.push_str(&format!(" ADD {}", add.join(", ")));
    }
    if r.ends_run {
        expression.push_str(" REMOVE last_start_ms");
    }
    (expression, names, values)
}

impl HeartbeatTable {
    /// A run that started at `started` ended at this ping: its duration, unless a later ping
    /// was recorded meanwhile (then that one's own update stands).
    async fn record_duration(&self, r: &Record<'_>, started: i64) -> Result<()> {
        let seconds = (r.now_ms - started) as f64 / 1000.0;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(r.check)))
            .update_expression("SET last_duration_seconds = :d")
            .condition_expression("last_seen = :now")
            .expression_attribute_values(":d", n(seconds))
            .expression_attribute_values(":now", n(r.now_ms.div_euclid(1000)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(failed("recording a run's duration", super::logged(&e))),
        }
    }
}

impl HeartbeatStore for HeartbeatTable {
    async fn record(&self, r: &Record<'_>) -> Result<Recorded> {
        let (expression, names, values) = ping_update(r);
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(r.check)))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .return_values(if r.ends_run {
                ReturnValue::AllOld
            } else {
                ReturnValue::None
            });
        if !names.is_empty() {
            req = req.set_expression_attribute_names(Some(names));
        }
        if !r.create {
            req = req.condition_expression("attribute_exists(sk)");
        }
        let out = match req.send().await {
            Ok(out) => out,
            Err(e) if super::condition_failed(&e) => return Ok(Recorded::UnknownCheck),
            Err(e) => return Err(failed("recording a ping", super::logged(&e))),
        };
        let started: Option<i64> = out
            .attributes
            .as_ref()
            .and_then(|old| num(old, "last_start_ms"));
        if let Some(started) = started.filter(|s| *s <= r.now_ms) {
            self.record_duration(r, started).await?;
        }
        Ok(Recorded::Counted)
    }

    async fn checks(&self) -> Result<Vec<Check>> {
        let mut checks = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(PARTITION))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failed("listing the checks", super::logged(&e)))?;
            checks.extend(out.items.unwrap_or_default().iter().map(check_of));
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(checks),
            }
        }
    }

    async fn set_check(
        &self,
        name: &str,
        period_seconds: i64,
        grace_seconds: i64,
        now: i64,
    ) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(name)))
            .update_expression(
                "SET period_seconds = :p, grace_seconds = :g, created_at = if_not_exists(created_at, :now)",
            )
            .expression_attribute_values(":p", n(period_seconds))
            .expression_attribute_values(":g", n(grace_seconds))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| failed("setting a check", super::logged(&e)))?;
        Ok(())
    }
}
