//! Delivering outbox emails: claim, send, record. Used right after the change that caused the
//! email, and by the scheduled `email-retry` function for whatever is still pending.
//!
//! Guarantees: an email is recorded (pending) in the same write as its cause, so it cannot be
//! lost; a claim with a lease keeps two senders from sending it at the same time; it is marked
//! sent right after SES accepts it, and that write is never cut short by a time budget. The
//! one window for a duplicate is a crash (or a killed process) between SES accepting and the
//! mark being written: the lease then lapses and the email is sent again. Delivery is at least
//! once.

use super::ports::{Mailer, Outbox};
use crate::base::error::Result;
use crate::base::time::timestamp;
use serde::Serialize;
use time::OffsetDateTime;

/// Long enough for one SES call with retries; short enough that a crashed sender's email is
/// retried at the next scheduled run.
pub const LEASE_SECONDS: i64 = 120;

/// After this many refused attempts (two hours of `email-retry` runs every five minutes) an
/// email is marked dead: no longer retried, counted by the `email_outbox` collector, shown as
/// `dead` with its reason by `telltale probes show`. The run that gives up fails, so the
/// `EmailRetryErrors` alarm fires.
pub const MAX_ATTEMPTS: u32 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Already sent, or another sender holds it right now.
    NotDue,
    /// The mail service refused; the email stays pending.
    Failed(String),
}

pub async fn deliver(outbox: &impl Outbox, mailer: &impl Mailer, id: &str) -> Result<Delivery> {
    match claim_and_send(outbox, mailer, id).await? {
        None => Ok(Delivery::NotDue),
        Some(attempt) => record(outbox, id, attempt).await,
    }
}

/// A claimed email and what the mail service said of it.
pub struct Attempt {
    attempts: u32,
    at: OffsetDateTime,
    outcome: std::result::Result<String, String>,
}

/// Claims the email (`None` when it is not due) and hands it to the mail service.
pub async fn claim_and_send(
    outbox: &impl Outbox,
    mailer: &impl Mailer,
    id: &str,
) -> Result<Option<Attempt>> {
    let now = OffsetDateTime::now_utc();
    let Some(email) = outbox
        .claim(id, now.unix_timestamp(), LEASE_SECONDS)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Attempt {
        attempts: email.attempts,
        at: now,
        outcome: mailer.send(&email.email).await,
    }))
}

/// Writes down what the mail service said. Once it has accepted an email this write is the
/// only thing between a sent email and a second one, so callers never cancel it.
pub async fn record(outbox: &impl Outbox, id: &str, attempt: Attempt) -> Result<Delivery> {
    let Attempt {
        attempts,
        at,
        outcome,
    } = attempt;
    match outcome {
        Ok(message_id) => {
            outbox.mark_sent(id, &message_id, &timestamp(at)).await?;
            tracing::debug!(email = id, attempts, "email sent");
            Ok(Delivery::Sent)
        }
        Err(reason) if attempts >= MAX_ATTEMPTS => {
            let reason = format!("given up after {attempts} attempts: {reason}");
            tracing::error!(email = id, attempts, %reason, "email is dead; it is no longer retried");
            outbox.mark_dead(id, &reason, &timestamp(at)).await?;
            Ok(Delivery::Failed(reason))
        }
        Err(reason) => {
            tracing::warn!(email = id, attempts, %reason, "email not sent; it stays pending");
            outbox.mark_failed(id, &reason).await?;
            Ok(Delivery::Failed(reason))
        }
    }
}

/// How long the email step after a committed change may take before the answer goes out
/// without it (the email stays pending and `email-retry` sends it).
pub const AFTER_COMMIT_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Delivers the email of a change that is already committed. Never fails: `Some(reason)` when
/// the email did not go out now (refused, store error, out of time); it stays pending either
/// way and is retried.
pub async fn deliver_after_commit(
    outbox: &impl Outbox,
    mailer: &impl Mailer,
    id: &str,
) -> Option<String> {
    let budget = crate::base::deadline::budget(AFTER_COMMIT_BUDGET);
    // The budget bounds the claim and the send; the record after an accepted send is not cut
    // short by it (cutting it would leave a sent email pending, to be sent again).
    let recorded = match tokio::time::timeout(budget, claim_and_send(outbox, mailer, id)).await {
        Ok(Ok(None)) => Ok(Delivery::NotDue),
        Ok(Ok(Some(attempt))) => record(outbox, id, attempt).await,
        Ok(Err(e)) => Err(e),
        Err(_) => {
            tracing::warn!(email = id, "email step out of time; it stays pending");
            return Some("the mail step ran out of time".into());
        }
    };
    match recorded {
        Ok(Delivery::Sent | Delivery::NotDue) => None,
        Ok(Delivery::Failed(reason)) => Some(reason),
        Err(e) => {
            tracing::warn!(email = id, error = %e, "email not delivered after the change; it stays pending");
            Some(e.to_string())
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

/// Tries every pending email once; one that fails (refused, or a store error) never stops the
/// others.
pub async fn deliver_pending(outbox: &impl Outbox, mailer: &impl Mailer) -> Result<RetrySummary> {
    let mut summary = RetrySummary::default();
    for id in outbox.pending().await? {
        match deliver(outbox, mailer, &id).await {
            Ok(Delivery::Sent) => summary.sent += 1,
            Ok(Delivery::NotDue) => summary.skipped += 1,
            Ok(Delivery::Failed(reason)) => summary.failed.push((id, reason)),
            Err(e) => summary.failed.push((id, e.to_string())),
        }
    }
    Ok(summary)
}
