//! Delivering what was recorded to be sent (a probe's email, a heartbeat check's notice), on
//! any channel: claim, send, record. One algorithm for every message kind and channel; each
//! kind brings its store (`ports::Claims`) and each channel its sender (`ports::Sender`).
//!
//! Guarantees: a message is recorded (pending) in the same write as its cause, so it cannot be
//! lost; a claim with a lease keeps two senders from sending it at the same time; it is marked
//! sent right after the channel accepts it, and that write is never cut short by a time budget.
//! The one window for a duplicate is a crash (or a killed process) between the channel
//! accepting and the mark being written: the lease then lapses and the message is sent again.
//! Delivery is at least once; a receiver that must not act twice drops a repeated message id.

pub mod email;
pub mod ports;

use crate::base::error::Result;
use crate::base::time::timestamp;
use ports::{Claims, Refusal, Sender};
use serde::Serialize;
use time::OffsetDateTime;

/// Long enough for one call to a channel with retries; short enough that a crashed sender's
/// message is retried at the next scheduled run.
pub const LEASE_SECONDS: i64 = 120;

/// After this many refused attempts (spaced by `backoff_seconds`) a message is marked dead:
/// no longer retried, counted, shown with its reason. The run that gives up fails, so its function's alarm fires. A
/// permanent refusal (`Refusal::Permanent`) marks it dead at its first attempt.
pub const MAX_ATTEMPTS: u32 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Already sent, or another sender holds it right now.
    NotDue,
    /// The channel refused; the message stays pending and is retried.
    Failed(String),
    /// The channel refused and the message is given up (refused for good, or too often).
    Dead(String),
}

/// A claimed message and what the channel said of it.
pub struct Attempt {
    attempts: u32,
    at: OffsetDateTime,
    outcome: std::result::Result<String, Refusal>,
}

/// How long a message waits after its `attempts`-th refusal: the first two are retried at the
/// next run; from the third on the wait doubles from a minute to at most an hour, so a
/// channel that is down for long is not called every minute, and 24 attempts span about
/// sixteen hours of an outage instead of two.
pub fn backoff_seconds(attempts: u32) -> i64 {
    match attempts {
        0..=2 => 0,
        n => (60_i64 << (n - 3).min(6)).min(3_600),
    }
}

pub async fn deliver<C, S>(store: &C, sender: &S, id: &str) -> Result<Delivery>
where
    C: Claims,
    S: Sender<C::Message>,
{
    deliver_at(store, sender, id, OffsetDateTime::now_utc()).await
}

/// `deliver` as of `now` (a scheduled run's time).
pub async fn deliver_at<C, S>(
    store: &C,
    sender: &S,
    id: &str,
    now: OffsetDateTime,
) -> Result<Delivery>
where
    C: Claims,
    S: Sender<C::Message>,
{
    match claim_and_send_at(store, sender, id, now).await? {
        None => Ok(Delivery::NotDue),
        Some(attempt) => record(store, id, attempt).await,
    }
}

/// Claims the message (`None` when it is not due) and hands it to the channel.
pub async fn claim_and_send<C, S>(store: &C, sender: &S, id: &str) -> Result<Option<Attempt>>
where
    C: Claims,
    S: Sender<C::Message>,
{
    claim_and_send_at(store, sender, id, OffsetDateTime::now_utc()).await
}

async fn claim_and_send_at<C, S>(
    store: &C,
    sender: &S,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<Attempt>>
where
    C: Claims,
    S: Sender<C::Message>,
{
    let Some(claimed) = store.claim(id, now.unix_timestamp(), LEASE_SECONDS).await? else {
        return Ok(None);
    };
    Ok(Some(Attempt {
        attempts: claimed.attempts,
        at: now,
        outcome: sender.send(&claimed.message).await,
    }))
}

/// Writes down what the channel said. Once it has accepted a message this write is the only
/// thing between a sent message and a second one, so callers never cancel it.
pub async fn record(store: &impl Claims, id: &str, attempt: Attempt) -> Result<Delivery> {
    let Attempt {
        attempts,
        at,
        outcome,
    } = attempt;
    let kind = store.kind();
    match outcome {
        Ok(receipt) => {
            store.mark_sent(id, &receipt, &timestamp(at)).await?;
            tracing::debug!(kind, id, attempts, "{kind} sent");
            Ok(Delivery::Sent)
        }
        Err(Refusal::Permanent(reason)) => {
            // Sending it again would be refused again: no retries, no alarm for two hours.
            let reason = format!("refused for good: {reason}");
            tracing::error!(kind, id, attempts, %reason, "{kind} is dead; it is no longer retried");
            store.mark_dead(id, &reason, &timestamp(at)).await?;
            Ok(Delivery::Dead(reason))
        }
        Err(Refusal::Transient(reason)) if attempts >= MAX_ATTEMPTS => {
            let reason = format!("given up after {attempts} attempts: {reason}");
            tracing::error!(kind, id, attempts, %reason, "{kind} is dead; it is no longer retried");
            store.mark_dead(id, &reason, &timestamp(at)).await?;
            Ok(Delivery::Dead(reason))
        }
        Err(Refusal::Transient(reason)) => {
            tracing::warn!(kind, id, attempts, %reason, "{kind} not sent; it stays pending");
            let wait = backoff_seconds(attempts);
            let retry_at = (wait > 0).then(|| at.unix_timestamp() + wait);
            store.mark_failed(id, &reason, retry_at).await?;
            Ok(Delivery::Failed(reason))
        }
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct RetrySummary {
    pub sent: usize,
    pub skipped: usize,
    /// Message id and the channel's reason.
    pub failed: Vec<(String, String)>,
}

impl RetrySummary {
    pub fn add(&mut self, id: String, outcome: Result<Delivery>) {
        match outcome {
            Ok(Delivery::Sent) => self.sent += 1,
            Ok(Delivery::NotDue) => self.skipped += 1,
            // A message given up fails the run that gave it up, so its alarm fires once.
            Ok(Delivery::Failed(reason) | Delivery::Dead(reason)) => self.failed.push((id, reason)),
            Err(e) => self.failed.push((id, e.to_string())),
        }
    }
}

/// Tries every pending message once; one that fails (refused, or a store error) never stops
/// the others.
pub async fn deliver_pending<C, S>(store: &C, sender: &S) -> Result<RetrySummary>
where
    C: Claims,
    S: Sender<C::Message>,
{
    deliver_pending_at(store, sender, OffsetDateTime::now_utc()).await
}

/// `deliver_pending` as of `now` (a scheduled run's time).
pub async fn deliver_pending_at<C, S>(
    store: &C,
    sender: &S,
    now: OffsetDateTime,
) -> Result<RetrySummary>
where
    C: Claims,
    S: Sender<C::Message>,
{
    let mut summary = RetrySummary::default();
    for id in store.pending().await? {
        let outcome = deliver_at(store, sender, &id, now).await;
        summary.add(id, outcome);
    }
    Ok(summary)
}
