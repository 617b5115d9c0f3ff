//! Submitting and listing probe candidates: the rules of `POST` and `GET /api/v2/probes/`.

use super::email::{compose, EmailSettings};
use super::model::{Candidate, ListItem, Status};
use super::outbox::deliver_after_commit;
use super::ports::{CandidateStore, Created, IdempotencyRecord, Mailer, Outbox, OutboxEmail};
use super::validate::{validate, Submission};
use crate::auth::Caller;
use crate::base::error::{Error, Result};
use crate::base::time::timestamp;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// How long a retried request with the same `Idempotency-Key` returns the first result.
pub const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

#[derive(Debug)]
pub struct Submitted {
    pub candidate: Candidate,
    /// True when an earlier request with the same `Idempotency-Key` created it.
    pub replayed: bool,
    /// Set when the confirmation email could not be sent now (it will be retried).
    pub warning: Option<String>,
}

fn sha256(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

fn submission_hash(s: &Submission) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    sha256(&[
        &s.name,
        &opt(&s.description),
        &s.docurl,
        &s.command,
        &s.contact,
        &opt(&s.rpm),
        &opt(&s.yum_baseurl),
        &opt(&s.script),
    ])
}

pub async fn submit<S: CandidateStore + Outbox>(
    store: &S,
    mailer: &impl Mailer,
    settings: &EmailSettings,
    caller: &Caller,
    body: &Map<String, Value>,
    idempotency_key: Option<&str>,
) -> Result<Submitted> {
    let submission = validate(body).map_err(Error::Validation)?;
    let now = OffsetDateTime::now_utc();
    let at = timestamp(now);
    let request_hash = submission_hash(&submission);
    let candidate = Candidate::submitted(
        uuid::Uuid::new_v4().to_string(),
        submission,
        &caller.name,
        &at,
    );
    let email = OutboxEmail::pending(
        &candidate.id,
        Status::Submitted,
        compose(Status::Submitted, &candidate, settings),
        &at,
    );
    let idempotency = idempotency_key.map(|key| IdempotencyRecord {
        // Scoped by the key itself: two keys of one name are two callers.
        key_id: sha256(&[&caller.key_hash, key]),
        request_hash: request_hash.clone(),
        expires_at: (now + IDEMPOTENCY_WINDOW).unix_timestamp(),
    });

    match store
        .create(&candidate, &email, idempotency.as_ref())
        .await?
    {
        Created::New => {
            // Stored: from here on the answer is a 201, whatever happens to the email.
            let warning = deliver_after_commit(store, mailer, &email.id)
                .await
                .map(|reason| {
                    format!("Probe was stored, but the confirmation email was not sent: {reason}.")
                });
            Ok(Submitted {
                candidate,
                replayed: false,
                warning,
            })
        }
        Created::Replay {
            candidate_id,
            request_hash: first_hash,
        } => {
            if first_hash != request_hash {
                return Err(Error::Unprocessable(
                    "This Idempotency-Key was already used for a different probe submission".into(),
                ));
            }
            let candidate = store.get(&candidate_id).await?.ok_or_else(|| {
                Error::Internal(format!(
                    "candidate {candidate_id} of an idempotency record is missing"
                ))
            })?;
            Ok(Submitted {
                candidate,
                replayed: true,
                warning: None,
            })
        }
    }
}

/// POEM's list: sorted by name (then creation time and id, so the order is stable), in the
/// same order as the pages of `listing::page`.
pub async fn list(store: &impl CandidateStore, status: Option<&str>) -> Result<Vec<ListItem>> {
    let status = super::listing::parse_status(status)?;
    let mut candidates = store.list(status).await?;
    candidates.sort_by_key(super::listing::list_key);
    Ok(candidates.iter().map(ListItem::from).collect())
}
