//! The monitoring team's side: candidate details and status changes.
//!
//! Rules beyond POEM (which enforces none): the transition table below, a minimum stay in
//! `testing` before `deployed` (overridable with `force`, recorded in the history), and
//! optimistic concurrency on `version` so two concurrent changes never both win.

use super::email::{compose, EmailSettings};
use super::model::{poem_date, Candidate, HistoryEntry, Status};
use super::outbox::deliver_after_commit;
use super::ports::{email_id, CandidateStore, Mailer, Outbox, OutboxEmail};
use super::validate::is_url;
use crate::auth::Caller;
use crate::base::error::{Error, FieldError, Result};
use crate::base::time::timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const NOT_FOUND: &str = "Probe candidate not found";

/// Where a candidate may go from each status; `deployed` and `rejected` are final.
pub fn allowed_targets(from: Status) -> &'static [Status] {
    match from {
        Status::Submitted => &[Status::Processing, Status::Rejected],
        Status::Processing => &[Status::Testing, Status::Rejected],
        Status::Testing => &[Status::Deployed, Status::Processing, Status::Rejected],
        Status::Deployed | Status::Rejected => &[],
    }
}

/// A validated request to change status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub to: Status,
    pub service_type: Option<String>,
    pub devel_url: Option<String>,
    pub production_url: Option<String>,
    pub rejection_reason: Option<String>,
    pub force: bool,
    pub expected_version: Option<u64>,
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Reads the body of `PUT .../status`; `if_match` is the `If-Match` header, if any.
pub fn parse_change(body: &Map<String, Value>, if_match: Option<&str>) -> Result<StatusChange> {
    let mut errors = Vec::new();
    let mut text = |field: &str| match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            errors.push(field_error(
                field,
                format!("Field '{field}' must be a string"),
            ));
            None
        }
    };
    let status = text("status");
    let service_type = text("service_type");
    let devel_url = text("devel_url");
    let production_url = text("production_url");
    let rejection_reason = text("rejection_reason");
    let force = match body.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(field_error("force", "Field 'force' must be true or false"));
            false
        }
    };
    let body_version = match body.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errors.push(field_error(
                    "expected_version",
                    "Field 'expected_version' must be a whole number",
                ));
                None
            }
        },
    };
    let header_version = match if_match.map(|h| h.trim().trim_start_matches("W/").trim_matches('"'))
    {
        None => None,
        Some(h) => match h.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Err(Error::BadRequest(format!(
                    "If-Match must be a candidate version, not '{h}'"
                )))
            }
        },
    };
    if let (Some(h), Some(b)) = (header_version, body_version) {
        if h != b {
            return Err(Error::BadRequest(format!(
                "If-Match ({h}) and expected_version ({b}) disagree"
            )));
        }
    }
    let to = match status.as_deref() {
        None => {
            errors.push(field_error("status", "Field 'status' is mandatory"));
            None
        }
        Some(s) => match Status::parse(s) {
            Some(st) => Some(st),
            None => {
                errors.push(field_error(
                    "status",
                    format!("Unknown status '{s}'; use one of: submitted, processing, testing, deployed, rejected"),
                ));
                None
            }
        },
    };
    // POEM's wording for what each target status needs.
    let required = match to {
        Some(Status::Processing) => Some((
            "service_type",
            &service_type,
            "Service type is mandatory when probe status is 'processing'",
        )),
        Some(Status::Testing) => Some((
            "devel_url",
            &devel_url,
            "Devel URL is mandatory when probe status is 'testing'",
        )),
        Some(Status::Deployed) => Some((
            "production_url",
            &production_url,
            "Production URL is mandatory when probe status is 'deployed'",
        )),
        Some(Status::Rejected) => Some((
            "rejection_reason",
            &rejection_reason,
            "Rejection reason is mandatory when probe status is 'rejected'",
        )),
        _ => None,
    };
    if let Some((field, value, message)) = required {
        if value.is_none() && !errors.iter().any(|e| e.field == field) {
            errors.push(field_error(field, message));
        }
    }
    for (field, value) in [
        ("devel_url", &devel_url),
        ("production_url", &production_url),
    ] {
        if value.as_deref().is_some_and(|u| !is_url(u)) {
            errors.push(field_error(
                field,
                format!("Field '{field}' must be defined as valid URL"),
            ));
        }
    }
    for (field, value, limit) in [
        ("service_type", &service_type, 128),
        ("devel_url", &devel_url, 1024),
        ("production_url", &production_url, 1024),
        ("rejection_reason", &rejection_reason, 2048),
    ] {
        if let Some(message) = value
            .as_deref()
            .and_then(|v| super::validate::text_problem(field, v))
        {
            errors.push(field_error(field, message));
        }
        if value.as_ref().is_some_and(|v| v.chars().count() > limit) {
            errors.push(field_error(
                field,
                format!("Field '{field}' must be at most {limit} characters"),
            ));
        }
    }
    match to {
        Some(to) if errors.is_empty() => Ok(StatusChange {
            to,
            service_type,
            devel_url,
            production_url,
            rejection_reason,
            force,
            expected_version: header_version.or(body_version),
        }),
        _ => Err(Error::Validation(errors)),
    }
}

/// How a status email stands, for the details view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmailView {
    pub status: Status,
    pub state: String,
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
async fn emails<S: Outbox>(store: &S, id: &str) -> Result<Vec<EmailView>> {
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
fn present(mut c: Candidate, emails: Vec<EmailView>) -> Details {
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
    if let Some(expected) = change.expected_version {
        if expected != current.version {
            return Err(Error::PreconditionFailed(format!(
                "Probe candidate is at version {}, not {expected}; reload it and try again",
                current.version
            )));
        }
    }
    let allowed = allowed_targets(current.status);
    if !allowed.contains(&change.to) {
        return Err(Error::Conflict(if allowed.is_empty() {
            format!(
                "Probe status '{}' is final; it cannot change to '{}'",
                current.status.as_str(),
                change.to.as_str()
            )
        } else {
            format!(
                "Probe status cannot change from '{}' to '{}'; allowed: {}",
                current.status.as_str(),
                change.to.as_str(),
                names(allowed)
            )
        }));
    }
    let now = OffsetDateTime::now_utc();
    let mut forced = false;
    if current.status == Status::Testing && change.to == Status::Deployed {
        let since = OffsetDateTime::parse(&current.status_changed_at, &Rfc3339)
            .map_err(|e| Error::Internal(format!("stored status_changed_at is unreadable: {e}")))?;
        let stayed = now - since;
        if stayed < min_testing {
            if !change.force {
                return Err(Error::Conflict(format!(
                    "Probe has been in 'testing' for {} hour(s); it must stay {} hour(s) before 'deployed'. Send \"force\": true to deploy anyway",
                    stayed.whole_hours(),
                    min_testing.whole_hours()
                )));
            }
            forced = true;
        }
    }

    let at = timestamp(now);
    let mut next = current.clone();
    next.status = change.to;
    next.service_type = change.service_type.or(next.service_type);
    next.devel_url = change.devel_url.or(next.devel_url);
    next.production_url = change.production_url.or(next.production_url);
    next.rejection_reason = change.rejection_reason.or(next.rejection_reason);
    next.last_update = at.clone();
    next.status_changed_at = at.clone();
    next.version = current.version + 1;
    next.history.push(HistoryEntry {
        from: Some(current.status),
        to: change.to,
        at: at.clone(),
        by: caller.name.clone(),
        forced,
    });
    // One email per status, ever: re-entering a status sends nothing new. The version
    // condition on the candidate serialises changes, so this read cannot race another writer.
    let mail_id = email_id(id, change.to);
    let email = match store.get_email(&mail_id).await? {
        Some(_) => None,
        None => Some(OutboxEmail::pending(
            id,
            change.to,
            compose(change.to, &next, settings),
            &at,
        )),
    };
    store
        .replace(&next, current.version, email.as_ref())
        .await?;

    // The change is committed: from here on the answer is its success, with a warning for
    // whatever follow-up did not work (the email stays pending and is retried).
    let mut warnings = Vec::new();
    if email.is_some() {
        if let Some(reason) = deliver_after_commit(store, mailer, &mail_id).await {
            warnings.push(format!(
                "Status was changed, but the email was not sent: {reason}. It will be retried."
            ));
        }
    }
    let emails = match emails(store, id).await {
        Ok(list) => list,
        Err(e) => {
            warnings.push(format!("The emails could not be read back: {e}"));
            Vec::new()
        }
    };
    let mut view = present(next, emails);
    view.warning = (!warnings.is_empty()).then(|| warnings.join(" "));
    Ok(view)
}
