//! Delivering outbox emails: claim, send, record. Used right after the change that caused the
//! email, and by the scheduled `email-retry` function for whatever is still pending.
//!
//! Guarantees: an email is recorded (pending) in the same write as its cause, so it cannot be
//! lost; a claim with a lease keeps two senders from sending it at the same time; it is marked
//! sent once SES accepts it. The one window for a duplicate is a crash between SES accepting
//! and the mark being written: the lease then lapses and the email is sent again.

use super::model::timestamp;
use super::ports::{Mailer, Outbox};
use crate::error::Result;
use serde::Serialize;
use time::OffsetDateTime;

/// Long enough for one SES call with retries; short enough that a crashed sender's email is
/// retried at the next scheduled run.
pub const LEASE_SECONDS: i64 = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Already sent, or another sender holds it right now.
    NotDue,
    /// The mail service refused; the email stays pending.
    Failed(String),
}

pub async fn deliver(outbox: &impl Outbox, mailer: &impl Mailer, id: &str) -> Result<Delivery> {
    let now = OffsetDateTime::now_utc();
    let Some(email) = outbox
        .claim(id, now.unix_timestamp(), LEASE_SECONDS)
        .await?
    else {
        return Ok(Delivery::NotDue);
    };
    match mailer.send(&email.email).await {
        Ok(message_id) => {
            outbox.mark_sent(id, &message_id, &timestamp(now)).await?;
            tracing::info!(email = id, attempts = email.attempts, "email sent");
            Ok(Delivery::Sent)
        }
        Err(reason) => {
            tracing::warn!(email = id, attempts = email.attempts, %reason, "email not sent; it stays pending");
            outbox.mark_failed(id, &reason).await?;
            Ok(Delivery::Failed(reason))
        }
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct RetrySummary {
    pub sent: usize,
    pub skipped: usize,
    /// Email id and the mail service's reason.
    pub failed: Vec<(String, String)>,
}

/// Tries every pending email once.
pub async fn deliver_pending(outbox: &impl Outbox, mailer: &impl Mailer) -> Result<RetrySummary> {
    let mut summary = RetrySummary::default();
    for id in outbox.pending().await? {
        match deliver(outbox, mailer, &id).await? {
            Delivery::Sent => summary.sent += 1,
            Delivery::NotDue => summary.skipped += 1,
            Delivery::Failed(reason) => summary.failed.push((id, reason)),
        }
    }
    Ok(summary)
}
