//! The last pings and flips of each check: `pk = "ping#<name>"` (or `"flip#<name>"`), `sk` the
//! slot (the ping's number modulo 100, zero-padded), so a check never holds more than 100 of
//! each; `expires_at` lets DynamoDB's TTL remove what a quiet check keeps.

use super::{failed, n, num, s, text, HeartbeatTable, Item};
use crate::base::error::{Error, Result};
use crate::heartbeat::check::PINGS_KEPT;
use crate::heartbeat::ports::{FlipEntry, PingEntry, PingLog};
use crate::heartbeat::state::{Flip, State};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

/// How long a logged ping or flip is kept at most (the TTL attribute, `expires_at`).
pub const KEPT_DAYS: i64 = 90;

pub(super) fn flip_item(number: u64, flip: &Flip) -> Item {
    Item::from([
        ("n".to_string(), n(number)),
        ("at".to_string(), n(flip.at)),
        ("from".to_string(), s(flip.from.as_str())),
        ("to".to_string(), s(flip.to.as_str())),
        ("cause".to_string(), s(&flip.cause)),
        ("expires_at".to_string(), n(flip.at + KEPT_DAYS * 86_400)),
    ])
}

fn ping_item(e: &PingEntry) -> Item {
    let mut item = Item::from([
        ("n".to_string(), n(e.n)),
        ("at_ms".to_string(), n(e.at_ms)),
        ("kind".to_string(), s(&e.kind)),
        ("method".to_string(), s(&e.method)),
        (
            "expires_at".to_string(),
            n(e.at_ms.div_euclid(1000) + KEPT_DAYS * 86_400),
        ),
    ]);
    if !e.body.is_empty() {
        item.insert("body".into(), AttributeValue::B(Blob::new(e.body.clone())));
    }
    let optional = [
        ("exit_status", e.exit_status.map(n)),
        ("rid", e.rid.as_deref().map(s)),
        ("duration", e.duration_seconds.map(n)),
        ("address", e.address.as_deref().map(s)),
        ("user_agent", e.user_agent.as_deref().map(s)),
    ];
    item.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?))),
    );
    item
}

fn ping_of(item: &Item) -> PingEntry {
    PingEntry {
        n: num(item, "n").unwrap_or(0),
        at_ms: num(item, "at_ms").unwrap_or(0),
        kind: text(item, "kind").unwrap_or_default(),
        exit_status: num(item, "exit_status"),
        rid: text(item, "rid"),
        duration_seconds: num(item, "duration"),
        method: text(item, "method").unwrap_or_default(),
        address: text(item, "address"),
        user_agent: text(item, "user_agent"),
        body: item
            .get("body")
            .and_then(|b| b.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default(),
    }
}

fn flip_of(item: &Item) -> FlipEntry {
    let state = |k: &str| {
        text(item, k)
            .and_then(|t| State::parse(&t))
            .unwrap_or_default()
    };
    FlipEntry {
        n: num(item, "n").unwrap_or(0),
        flip: Flip {
            at: num(item, "at").unwrap_or(0),
            from: state("from"),
            to: state("to"),
            cause: text(item, "cause").unwrap_or_default(),
        },
    }
}

impl HeartbeatTable {
    fn slot_key(&self, pk: &str, slot: u64) -> Item {
        self.key_in(pk, &format!("{slot:02}"))
    }

    /// A put of a log item in its slot (replacing the entry 100 before it).
    pub(super) fn log_item(&self, pk: &str, slot: u64, fields: Item) -> Result<TransactWriteItem> {
        let mut item = self.slot_key(pk, slot);
        item.extend(fields);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Every item of a partition, read consistently.
    pub(super) async fn partition(&self, pk: &str, what: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failed(what, super::super::logged(&e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

impl PingLog for HeartbeatTable {
    async fn log_ping(&self, check: &str, entry: &PingEntry) -> Result<()> {
        let mut item = self.slot_key(&format!("ping#{check}"), entry.n % PINGS_KEPT);
        item.extend(ping_item(entry));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| failed("logging a ping", super::super::logged(&e)))?;
        Ok(())
    }

    async fn pings(&self, check: &str) -> Result<Vec<PingEntry>> {
        let items = self
            .partition(&format!("ping#{check}"), "reading the ping log")
            .await?;
        let mut out: Vec<PingEntry> = items.iter().map(ping_of).collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.n));
        Ok(out)
    }

    async fn flips(&self, check: &str) -> Result<Vec<FlipEntry>> {
        let items = self
            .partition(&format!("flip#{check}"), "reading the flips")
            .await?;
        let mut out: Vec<FlipEntry> = items.iter().map(flip_of).collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.n));
        Ok(out)
    }
}
