//! What the probe rules need from the outside world: the candidate store, its outbox, and the
//! mail service. Implemented on DynamoDB and SES as deployed, and in memory in the testkit.

use super::email::Email;
use super::model::{Candidate, Status};
use crate::base::error::Result;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// A retried submission is recognised by this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// SHA-256 of the caller's key name and the `Idempotency-Key` header.
    pub key_id: String,
    /// SHA-256 of the validated submission, to refuse the same key for another body.
    pub request_hash: String,
    /// Unix seconds after which the record may be deleted (DynamoDB TTL).
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    /// The idempotency key was seen before: the candidate created then.
    Replay {
        candidate_id: String,
        request_hash: String,
    },
}

/// Where an outbox email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailState {
    /// Not accepted by the mail service yet; retried.
    Pending,
    Sent,
    /// Given up after `outbox::MAX_ATTEMPTS`; kept with the reason, never retried.
    Dead,
}

impl EmailState {
    pub const fn as_str(self) -> &'static str {
        match self {
            EmailState::Pending => "pending",
            EmailState::Sent => "sent",
            EmailState::Dead => "dead",
        }
    }
}

/// An email waiting in (or gone through) the outbox: one per candidate and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEmail {
    pub id: String,
    pub candidate_id: String,
    pub status: Status,
    pub email: Email,
    pub state: EmailState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    pub message_id: Option<String>,
    /// When the email was recorded (RFC 3339); older items have none.
    #[serde(default)]
    pub queued_at: Option<String>,
}

impl OutboxEmail {
    /// The pending email a candidate's change to `status` causes, recorded at `at`.
    pub fn pending(candidate_id: &str, status: Status, email: Email, at: &str) -> Self {
        OutboxEmail {
            id: email_id(candidate_id, status),
            candidate_id: candidate_id.to_string(),
            status,
            email,
            state: EmailState::Pending,
            attempts: 0,
            last_error: None,
            sent_at: None,
            message_id: None,
            queued_at: Some(at.to_string()),
        }
    }
}

pub fn email_id(candidate_id: &str, status: Status) -> String {
    format!("email#{candidate_id}#{}", status.as_str())
}

/// One page of the list (`probes::listing`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub status: Option<Status>,
    /// Only candidates whose list key sorts after this one (the previous page's last).
    pub after: Option<String>,
    /// Only candidates `listing::found` finds with this (lower-cased) text.
    pub search: Option<String>,
    /// Whether the search looks at contacts too: only for a caller shown them, or a submitter
    /// could read any contact back a substring at a time.
    pub search_contacts: bool,
    pub limit: usize,
}

/// At most `limit` candidates in list order, and whether more follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Candidate>,
    pub more: bool,
}

pub trait CandidateStore {
    /// Stores a new candidate together with its pending email (and the idempotency record),
    /// all or nothing.
    fn create(
        &self,
        candidate: &Candidate,
        email: &OutboxEmail,
        idempotency: Option<&IdempotencyRecord>,
    ) -> impl Future<Output = Result<Created>> + Send;

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Candidate>>> + Send;

    /// Replaces the candidate if it is still at `expected_version` (else
    /// `Error::PreconditionFailed`), writing the email of the new status with it.
    fn replace(
        &self,
        candidate: &Candidate,
        expected_version: u64,
        email: Option<&OutboxEmail>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Candidates with this status, or all; in no particular order.
    fn list(&self, status: Option<Status>) -> impl Future<Output = Result<Vec<Candidate>>> + Send;

    /// One page of the list, without reading more of the store than the page needs (but for a
    /// search, which reads each status through).
    fn page(&self, query: &PageQuery) -> impl Future<Output = Result<Page>> + Send;
}

pub trait Outbox {
    /// Takes the email for sending if it is still pending and nobody else holds it; the
    /// claim lapses after `lease_seconds` so a crashed sender does not block it forever.
    fn claim(
        &self,
        id: &str,
        now: i64,
        lease_seconds: i64,
    ) -> impl Future<Output = Result<Option<OutboxEmail>>> + Send;

    fn mark_sent(
        &self,
        id: &str,
        message_id: &str,
        at: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Keeps the email pending with SES' reason, not claimed again before `retry_at`.
    fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        retry_at: Option<i64>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Gives the email up: no longer pending, never retried, kept with the reason.
    fn mark_dead(
        &self,
        id: &str,
        reason: &str,
        at: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The emails given up on.
    fn dead_emails(&self) -> impl Future<Output = Result<Vec<OutboxEmail>>> + Send;

    /// Ids of the emails not sent yet.
    fn pending(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The emails not sent yet, whole (for the outbox's figures).
    fn pending_emails(&self) -> impl Future<Output = Result<Vec<OutboxEmail>>> + Send;

    fn get_email(&self, id: &str) -> impl Future<Output = Result<Option<OutboxEmail>>> + Send;
}

pub use crate::outbox::email::Mailer;
