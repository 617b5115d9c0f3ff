//! The checks' notices in the heartbeat table: `pk = "notice"`, `sk = <check>#<flip>#<channel>`,
//! written in the transaction that settles their flip (`states.rs`), then claimed, marked sent,
//! failed or dead by the shared outbox delivery. A sent notice expires after `SENT_KEPT_DAYS`
//! (TTL); a pending one never does.

use super::{failed, n, num, s, text, HeartbeatTable, Item};
use crate::base::error::{Error, Result};
use crate::heartbeat::notice::Notice;
use crate::heartbeat::ports::{NoticeLog, StoredNotice};
use crate::outbox::ports::{Claimed, Claims};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use std::collections::HashMap;

pub(super) const NOTICES: &str = "notice";
const SENT_KEPT_DAYS: i64 = 30;

impl HeartbeatTable {
    pub(super) fn notice_put(&self, notice: &Notice, now: i64) -> Result<TransactWriteItem> {
        let body = serde_json::to_string(notice).map_err(|e| Error::Internal(e.to_string()))?;
        let mut item = self.key_in(NOTICES, &notice.id);
        item.extend([
            ("state".to_string(), s("pending")),
            ("attempts".to_string(), n(0)),
            ("check".to_string(), s(&notice.check)),
            ("channel".to_string(), s(&notice.channel.key())),
            ("notice".to_string(), s(&body)),
            ("created_at".to_string(), n(now)),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            // One notice per flip and channel, whoever settles the flip.
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn notice_update(
        &self,
        id: &str,
        expression: &str,
        values: HashMap<String, AttributeValue>,
        what: &str,
    ) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key_in(NOTICES, id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(sk) AND attribute_exists(#st)")
            .expression_attribute_names("#st", "state")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| failed(what, super::super::logged(&e)))?;
        Ok(())
    }
}

fn stored_of(item: &Item) -> Option<StoredNotice> {
    Some(StoredNotice {
        notice: serde_json::from_str(&text(item, "notice")?).ok()?,
        state: text(item, "state").unwrap_or_default(),
        attempts: num(item, "attempts").unwrap_or(0),
        last_error: text(item, "last_error"),
    })
}

impl Claims for HeartbeatTable {
    type Message = Notice;

    fn kind(&self) -> &'static str {
        "notice"
    }

    async fn claim(&self, id: &str, now: i64, lease: i64) -> Result<Option<Claimed<Notice>>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key_in(NOTICES, id)))
            .update_expression("SET lease_until = :until ADD attempts :one")
            .condition_expression(
                "#st = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":until", n(now + lease))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .attributes
                .as_ref()
                .and_then(stored_of)
                .map(|n| Claimed {
                    message: n.notice,
                    attempts: n.attempts,
                })),
            Err(e) if super::super::condition_failed(&e) => Ok(None),
            Err(e) => Err(failed("claiming a notice", super::super::logged(&e))),
        }
    }

    async fn mark_sent(&self, id: &str, receipt: &str, at: &str) -> Result<()> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let values = HashMap::from([
            (":sent".to_string(), s("sent")),
            (":r".to_string(), s(receipt)),
            (":at".to_string(), s(at)),
            (":exp".to_string(), n(now + SENT_KEPT_DAYS * 86_400)),
        ]);
        let expression =
            "SET #st = :sent, receipt = :r, sent_at = :at, expires_at = :exp REMOVE lease_until";
        self.notice_update(id, expression, values, "marking a notice sent")
            .await
    }

    async fn mark_failed(&self, id: &str, reason: &str, retry_at: Option<i64>) -> Result<()> {
        let mut values = HashMap::from([(":e".to_string(), s(reason))]);
        // The lease becomes the wait before the next attempt.
        let expression = match retry_at {
            Some(at) => {
                values.insert(":retry".to_string(), n(at));
                "SET last_error = :e, lease_until = :retry"
            }
            None => "SET last_error = :e REMOVE lease_until",
        };
        self.notice_update(id, expression, values, "marking a notice failed")
            .await
    }

    async fn mark_dead(&self, id: &str, reason: &str, at: &str) -> Result<()> {
        let values = HashMap::from([
            (":dead".to_string(), s("dead")),
            (":e".to_string(), s(reason)),
            (":at".to_string(), s(at)),
        ]);
        let expression = "SET #st = :dead, last_error = :e, dead_at = :at REMOVE lease_until";
        self.notice_update(id, expression, values, "marking a notice dead")
            .await
    }

    async fn pending(&self) -> Result<Vec<String>> {
        Ok(self
            .notices()
            .await?
            .into_iter()
            .filter(|n| n.state == "pending")
            .map(|n| n.notice.id)
            .collect())
    }
}

impl NoticeLog for HeartbeatTable {
    async fn notices(&self) -> Result<Vec<StoredNotice>> {
        let items = self.partition(NOTICES, "listing the notices").await?;
        Ok(items.iter().filter_map(stored_of).collect())
    }
}
