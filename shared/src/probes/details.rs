//! `GET /api/v2/probes/{id}`: a candidate as the monitoring team sees it, with its history and
//! how each of its emails stands.

use super::model::{poem_date, Candidate, Status, NOT_FOUND};
use super::ports::{email_id, CandidateStore, Outbox};
use crate::base::error::{Error, Result};
use serde::Serialize;

/// How a status email stands, for the details view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmailView {
    pub status: Status,
    pub state: super::ports::EmailState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// `GET /api/v2/probes/{id}`: the whole candidate with its dates (history included) in
/// POEM's format, and how each status email stands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Details {
    #[serde(flatten)]
    pub candidate: Candidate,
    pub emails: Vec<EmailView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

pub async fn details<S: CandidateStore + Outbox>(store: &S, id: &str) -> Result<Details> {
    let c = store
        .get(id)
        .await?
        .ok_or_else(|| Error::NotFound(NOT_FOUND.into()))?;
    Ok(present(c, emails(store, id).await?))
}

/// The state of each email the candidate has had.
pub(super) async fn emails<S: Outbox>(store: &S, id: &str) -> Result<Vec<EmailView>> {
    let mut emails = Vec::new();
    for status in Status::ALL {
        if let Some(e) = store.get_email(&email_id(id, status)).await? {
            emails.push(EmailView {
                status,
                state: e.state,
                attempts: e.attempts,
                last_error: e.last_error,
                sent_at: e.sent_at.as_deref().map(poem_date),
            });
        }
    }
    Ok(emails)
}

/// The candidate as answered: POEM's date format.
pub(super) fn present(mut c: Candidate, emails: Vec<EmailView>) -> Details {
    for date in [&mut c.created, &mut c.last_update, &mut c.status_changed_at] {
        *date = poem_date(date);
    }
    for h in &mut c.history {
        h.at = poem_date(&h.at);
    }
    Details {
        candidate: c,
        emails,
        warning: None,
    }
}
