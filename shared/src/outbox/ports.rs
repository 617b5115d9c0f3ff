//! What delivery needs: a store of messages to claim and mark, and a sender for the channel.

use crate::base::error::Result;
use std::future::Future;

/// A message taken for sending, and how many attempts (this one included) it has had.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed<M> {
    pub message: M,
    pub attempts: u32,
}

/// Where messages of one kind wait to be sent.
pub trait Claims {
    type Message: Send + Sync;

    /// What the messages are called in the logs (`email`, `notice`).
    fn kind(&self) -> &'static str;

    /// Takes the message for sending if it is still pending and nobody else holds it; the
    /// claim lapses after `lease_seconds` so a crashed sender does not block it forever.
    fn claim(
        &self,
        id: &str,
        now: i64,
        lease_seconds: i64,
    ) -> impl Future<Output = Result<Option<Claimed<Self::Message>>>> + Send;

    fn mark_sent(
        &self,
        id: &str,
        receipt: &str,
        at: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Keeps the message pending with the channel's reason; it is not claimed again until
    /// `retry_at` (unix seconds) has passed, or at the next try when `None`.
    fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        retry_at: Option<i64>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Gives the message up: no longer pending, never retried, kept with the reason.
    fn mark_dead(
        &self,
        id: &str,
        reason: &str,
        at: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Ids of the messages not sent yet.
    fn pending(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// Why a channel did not take a message, and whether trying again can change that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// May work later (throttling, an outage, a setting being fixed): the message stays
    /// pending and is retried.
    Transient(String),
    /// Will not work for this message however often it is sent (an address the service
    /// refuses): the message is given up at once.
    Permanent(String),
}

impl Refusal {
    pub fn reason(&self) -> &str {
        match self {
            Refusal::Transient(r) | Refusal::Permanent(r) => r,
        }
    }
}

/// A channel's bare reason is a transient refusal.
impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Transient(reason)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// One channel: hands a message over; its receipt (a message id), or why it was refused.
pub trait Sender<M> {
    fn send(
        &self,
        message: &M,
    ) -> impl Future<Output = std::result::Result<String, Refusal>> + Send;
}
