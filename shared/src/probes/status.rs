//! The monitoring team's side: status changes (read by `change.rs`, shown by `details.rs`).
//!
//! Rules beyond POEM (which enforces none): the transition table below, a minimum stay in
//! `testing` before `deployed` (overridable with `force`, recorded in the history), and
//! optimistic concurrency on `version` so two concurrent changes never both win.

use super::change::StatusChange;
use super::details::{emails, present, Details};
use super::email::{compose, EmailSettings};
use super::model::{Candidate, HistoryEntry, Status, NOT_FOUND};
use super::outbox::deliver_after_commit;
use super::ports::{email_id, CandidateStore, Mailer, Outbox, OutboxEmail};
use crate::auth::Caller;
use crate::base::error::{Error, Result};
use crate::base::time::timestamp;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where a candidate may go from each status; `deployed` and `rejected` are final.
pub fn allowed_targets(from: Status) -> &'static [Status] {
    match from {
        Status::Submitted => &[Status::Processing, Status::Rejected],
        Status::Processing => &[Status::Testing, Status::Rejected],
        Status::Testing => &[Status::Deployed, Status::Processing, Status::Rejected],
        Status::Deployed | Status::Rejected => &[],
    }
}

fn names(statuses: &[Status]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies a status change and sends its email (once per status). Returns the new details,
/// with a `warning` when the email could not be sent now.
pub async fn change_status<S: CandidateStore + Outbox>(
    store: &S,
    mailer: &impl Mailer,
    settings: &EmailSettings,
    min_testing: time::Duration,
    caller: &Caller,
    id: &str,
    change: StatusChange,
) -> Result<Details> {
    let current = store
        .get(id)
        .await?
        .ok_or_else(|| Error::NotFound(NOT_FOUND.into()))?;
    check_version(&current, change.expected_version)?;
    check_transition(current.status, change.to)?;
    let now = OffsetDateTime::now_utc();
    let forced = needs_force(&current, &change, min_testing, now)?;
    let at = timestamp(now);
    let next = changed(&current, change, caller, &at, forced);
    // One email per status, ever: re-entering a status sends nothing new. The version
    // condition on the candidate serialises changes, so this read cannot race another writer.
    let mail_id = email_id(id, next.status);
    let email = match store.get_email(&mail_id).await? {
        Some(_) => None,
        None => Some(OutboxEmail::pending(
            id,
            next.status,
            compose(next.status, &next, settings),
            &at,
        )),
    };
    store
        .replace(&next, current.version, email.as_ref())
        .await?;
    Ok(after_commit(store, mailer, next, email.map(|_| mail_id)).await)
}

fn check_version(current: &Candidate, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(expected) if expected != current.version => Err(Error::PreconditionFailed(format!(
            "Probe candidate is at version {}, not {expected}; reload it and try again",
            current.version
        ))),
        _ => Ok(()),
    }
}

fn check_transition(from: Status, to: Status) -> Result<()> {
    let allowed = allowed_targets(from);
    if allowed.contains(&to) {
        return Ok(());
    }
    Err(Error::Conflict(if allowed.is_empty() {
        format!(
            "Probe status '{}' is final; it cannot change to '{}'",
            from.as_str(),
            to.as_str()
        )
    } else {
        format!(
            "Probe status cannot change from '{}' to '{}'; allowed: {}",
            from.as_str(),
            to.as_str(),
            names(allowed)
        )
    }))
}

/// Whether the change deploys before the testing stay is over, which only `force` allows.
fn needs_force(
    current: &Candidate,
    change: &StatusChange,
    min_testing: time::Duration,
    now: OffsetDateTime,
) -> Result<bool> {
    if current.status != Status::Testing || change.to != Status::Deployed {
        return Ok(false);
    }
    let since = OffsetDateTime::parse(&current.status_changed_at, &Rfc3339)
        .map_err(|e| Error::Internal(format!("stored status_changed_at is unreadable: {e}")))?;
    let stayed = now - since;
    if stayed >= min_testing {
        return Ok(false);
    }
    if !change.force {
        return Err(Error::Conflict(format!(
            "Probe has been in 'testing' for {} hour(s); it must stay {} hour(s) before 'deployed'. Send \"force\": true to deploy anyway",
            stayed.whole_hours(),
            min_testing.whole_hours()
        )));
    }
    Ok(true)
}

/// The candidate after the change: the new status, the fields it brought, one more history
/// entry and version.
fn changed(
    current: &Candidate,
    change: StatusChange,
    caller: &Caller,
    at: &str,
    forced: bool,
) -> Candidate {
    let mut next = current.clone();
    next.status = change.to;
    next.service_type = change.service_type.or(next.service_type);
    next.devel_url = change.devel_url.or(next.devel_url);
    next.production_url = change.production_url.or(next.production_url);
    next.rejection_reason = change.rejection_reason.or(next.rejection_reason);
    next.last_update = at.to_string();
    next.status_changed_at = at.to_string();
    next.version = current.version + 1;
    next.history.push(HistoryEntry {
        from: Some(current.status),
        to: change.to,
        at: at.to_string(),
        by: caller.name.clone(),
        forced,
    });
    next
}

/// The change is committed: from here on the answer is its success, with a warning for
/// whatever follow-up did not work (the email stays pending and is retried).
async fn after_commit<S: CandidateStore + Outbox>(
    store: &S,
    mailer: &impl Mailer,
    next: Candidate,
    email: Option<String>,
) -> Details {
    let mut warnings = Vec::new();
    if let Some(mail_id) = email {
        if let Some(reason) = deliver_after_commit(store, mailer, &mail_id).await {
            warnings.push(format!(
                "Status was changed, but the email was not sent: {reason}."
            ));
        }
    }
    let emails = match emails(store, &next.id).await {
        Ok(list) => list,
        Err(e) => {
            warnings.push(format!("The emails could not be read back: {e}"));
            Vec::new()
        }
    };
    let mut view = present(next, emails);
    view.warning = (!warnings.is_empty()).then(|| warnings.join(" "));
    view
}
