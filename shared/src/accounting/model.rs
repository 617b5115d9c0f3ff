//! What the accounting push keeps: the OIDC tokens, each metric's push per period, and each
//! metric's latest outcome. Stored in the accounting table (DynamoDB).

use crate::base::env::Secret;

/// The stored OIDC tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub access_token: Secret,
    /// Unix seconds.
    pub expires_at: i64,
    pub refresh_token: Secret,
    pub version: u64,
    /// When it was granted (unix seconds; 0 when not known): a scheduled refresh that finds a
    /// token granted at or after its scheduled time has nothing left to do.
    pub refreshed_at: i64,
}

/// How a metric's push for a period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushState {
    /// Claimed by a run, until its lease lapses.
    Pushing,
    /// Accepted by the service, with its `metric_id`.
    Pushed,
    /// Refused or not sent; the next run for the same time tries again.
    Failed,
}

impl PushState {
    pub const fn as_str(self) -> &'static str {
        match self {
            PushState::Pushing => "pushing",
            PushState::Pushed => "pushed",
            PushState::Failed => "failed",
        }
    }

    /// The stored text; an unknown one reads as a failure, which the next run retries.
    pub fn parse(text: &str) -> PushState {
        match text {
            "pushing" => PushState::Pushing,
            "pushed" => PushState::Pushed,
            _ => PushState::Failed,
        }
    }
}

/// One metric's push for one period, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRecord {
    pub state: PushState,
    pub value: Option<f64>,
    pub metric_id: Option<String>,
    pub reason: Option<String>,
    pub claimed_until: Option<i64>,
}

/// How a metric's latest push ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LastOutcome {
    /// `Pushed` or `Failed`.
    pub state: PushState,
    /// When it ended (RFC 3339).
    pub at: String,
    pub last_success_at: Option<String>,
    pub reason: Option<String>,
    pub value: Option<f64>,
}

/// The item of one metric's push for one period.
pub fn push_key(installation: &str, definition: &str, start: &str, end: &str) -> String {
    format!("push#{installation}#{definition}#{start}#{end}")
}

/// The item of one metric's latest outcome, whatever its period.
pub fn outcome_key(installation: &str, definition: &str) -> String {
    format!("outcome#{installation}#{definition}")
}
