//! The probe table's emails as the `Outbox` port: claimed with a lease, marked sent, failed or
//! dead, and found through the sparse `emails-due` index.

use super::{from_item, s, store_error, ProbeTable, DEAD, EMAILS_DUE_INDEX, PENDING};
use crate::base::error::Result;
use crate::probes::ports::{Outbox, OutboxEmail};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

/// A mark's outcome: an email that does not exist is left alone (an update without the
/// condition would create a stray item, which then breaks every read of the dead emails).
fn existing_only<T, E, R>(
    result: std::result::Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    what: &str,
) -> Result<()>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if crate::adapters::aws::condition_failed(&e) => Ok(()),
        Err(e) => Err(store_error(what, crate::adapters::aws::logged(&e))),
    }
}

impl Outbox for ProbeTable {
    async fn claim(&self, id: &str, now: i64, lease_seconds: i64) -> Result<Option<OutboxEmail>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET claimed_until = :until, attempts = attempts + :one")
            .condition_expression(
                "#due = :pending AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
            )
            .expression_attribute_names("#due", "due")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":until",
                AttributeValue::N((now + lease_seconds).to_string()),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(from_item(
                out.attributes.unwrap_or_default(),
                "email",
            )?)),
            Err(e) if crate::adapters::aws::condition_failed(&e) => Ok(None),
            Err(e) => Err(store_error(
                "claiming an email",
                crate::adapters::aws::logged(&e),
            )),
        }
    }

    async fn mark_sent(&self, id: &str, message_id: &str, at: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET #state = :sent, sent_at = :at, message_id = :mid REMOVE #due, claimed_until, last_error")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#due", "due")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":mid", s(message_id))
            .condition_expression("attribute_exists(id)")
            .send()
            .await;
        existing_only(result, "marking an email sent")
    }

    async fn mark_failed(&self, id: &str, reason: &str, retry_at: Option<i64>) -> Result<()> {
        // The claim's lease becomes the wait before the next attempt (the claim's condition
        // already skips an email whose `claimed_until` is still ahead).
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .expression_attribute_values(":r", s(reason));
        let update = match retry_at {
            Some(at) => update
                .update_expression("SET last_error = :r, claimed_until = :retry")
                .expression_attribute_values(":retry", AttributeValue::N(at.to_string())),
            None => update.update_expression("SET last_error = :r REMOVE claimed_until"),
        };
        let result = update
            .condition_expression("attribute_exists(id)")
            .send()
            .await;
        existing_only(result, "recording an email failure")
    }

    async fn pending(&self) -> Result<Vec<String>> {
        let items = self.query_all(EMAILS_DUE_INDEX, "due", PENDING).await?;
        Ok(items
            .into_iter()
            .filter_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }

    async fn mark_dead(&self, id: &str, reason: &str, at: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression(
                "SET #state = :dead, #due = :dead, last_error = :r, dead_at = :at REMOVE claimed_until",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#due", "due")
            .expression_attribute_values(":dead", s(DEAD))
            .expression_attribute_values(":r", s(reason))
            .expression_attribute_values(":at", s(at))
            .condition_expression("attribute_exists(id)")
            .send()
            .await;
        existing_only(result, "giving an email up")
    }

    async fn dead_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.query_all(EMAILS_DUE_INDEX, "due", DEAD)
            .await?
            .into_iter()
            .map(|item| from_item(item, "email"))
            .collect()
    }

    async fn pending_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.query_all(EMAILS_DUE_INDEX, "due", PENDING)
            .await?
            .into_iter()
            .map(|item| from_item(item, "email"))
            .collect()
    }

    async fn get_email(&self, id: &str) -> Result<Option<OutboxEmail>> {
        match self.get_item(id).await? {
            Some(item)
                if item
                    .get("kind")
                    .and_then(|k| k.as_s().ok())
                    .is_some_and(|k| k == "email") =>
            {
                from_item(item, "email").map(Some)
            }
            _ => Ok(None),
        }
    }
}
