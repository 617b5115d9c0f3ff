//! The body of `PUT /api/v2/probes/{id}/status`, read and checked: the target status, the field
//! it needs, the version it expects. Every problem is listed at once, in POEM's wording.

use super::model::Status;
use super::validate::is_url;
use crate::base::error::{Error, FieldError, Result};
use serde_json::{Map, Value};

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

/// The text fields of a status change, as sent (`status` exactly; the others trimmed, blank
/// is absent).
struct Fields {
    status: Option<String>,
    service_type: Option<String>,
    devel_url: Option<String>,
    production_url: Option<String>,
    rejection_reason: Option<String>,
}

/// Reads the body of `PUT .../status`; `if_match` is the `If-Match` header, if any. Every field
/// problem is listed at once, in POEM's wording.
pub fn parse_change(body: &Map<String, Value>, if_match: Option<&str>) -> Result<StatusChange> {
    let mut errors = Vec::new();
    let fields = read_fields(body, &mut errors);
    let force = read_force(body, &mut errors);
    let body_version = read_body_version(body, &mut errors);
    let expected_version = expected_version(if_match, body_version)?;
    let to = target(fields.status.as_deref(), &mut errors);
    check_required(to, &fields, &mut errors);
    check_belonging(to, &fields, &mut errors);
    check_values(&fields, &mut errors);
    match to {
        Some(to) if errors.is_empty() => Ok(StatusChange {
            to,
            service_type: fields.service_type,
            devel_url: fields.devel_url,
            production_url: fields.production_url,
            rejection_reason: fields.rejection_reason,
            force,
            expected_version,
        }),
        _ => Err(Error::Validation(errors)),
    }
}

fn read_fields(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Fields {
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(field_error("status", "Field 'status' must be a string"));
            None
        }
    };
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
    Fields {
        status,
        service_type: text("service_type"),
        devel_url: text("devel_url"),
        production_url: text("production_url"),
        rejection_reason: text("rejection_reason"),
    }
}

fn read_force(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> bool {
    match body.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(field_error("force", "Field 'force' must be true or false"));
            false
        }
    }
}

fn read_body_version(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<u64> {
    match body.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(v) => v.as_u64().or_else(|| {
            errors.push(field_error(
                "expected_version",
                "Field 'expected_version' must be a whole number",
            ));
            None
        }),
    }
}

/// The version the change expects: `If-Match`'s or the body's, which must agree when both are
/// given. An `If-Match` that is no entity-tag is refused, never ignored.
fn expected_version(if_match: Option<&str>, body_version: Option<u64>) -> Result<Option<u64>> {
    let header_version = match if_match {
        None => None,
        Some(h) => match_version(h)?,
    };
    if let (Some(h), Some(b)) = (header_version, body_version) {
        if h != b {
            return Err(Error::BadRequest(format!(
                "If-Match ({h}) and expected_version ({b}) disagree"
            )));
        }
    }
    Ok(header_version.or(body_version))
}

/// `If-Match` read as RFC 9110 §13.1.1 says: `*` matches any version; a strong entity-tag
/// `"N"` matches version N, written as the ETag header writes it (decimal, no sign, no leading
/// zero); a weak tag (`W/"N"`) never matches, nor does any other well-formed tag (412); a value
/// that is no entity-tag is a 400.
fn match_version(header: &str) -> Result<Option<u64>> {
    if header == "*" {
        return Ok(None);
    }
    let (weak, tag) = match header.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, header),
    };
    let opaque = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| t.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)));
    let Some(opaque) = opaque else {
        return Err(Error::BadRequest(
            "If-Match must be an entity-tag as the ETag header gives it (\"3\") or *".into(),
        ));
    };
    let version = opaque
        .parse::<u64>()
        .ok()
        .filter(|v| v.to_string() == opaque);
    match version {
        Some(v) if !weak => Ok(Some(v)),
        _ => Err(Error::PreconditionFailed(format!(
            "If-Match {} matches no version of this candidate{}",
            crate::base::text::echoed(header),
            if weak {
                " (a weak entity-tag never matches: RFC 9110 §13.1.1)"
            } else {
                ""
            }
        ))),
    }
}

/// The target status, exactly as `Status` spells it: no trimming, no other case.
fn target(status: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Status> {
    let Some(s) = status else {
        // A status of the wrong type already has its one error.
        if !errors.iter().any(|e| e.field == "status") {
            errors.push(field_error("status", "Field 'status' is mandatory"));
        }
        return None;
    };
    let parsed = Status::parse(s);
    if parsed.is_none() {
        errors.push(field_error(
            "status",
            "Field 'status' must be one of: submitted, processing, testing, deployed, rejected (exactly, in lower case)",
        ));
    }
    parsed
}

/// POEM's wording for what each target status needs.
fn check_required(to: Option<Status>, f: &Fields, errors: &mut Vec<FieldError>) {
    let required = match to {
        Some(Status::Processing) => Some((
            "service_type",
            &f.service_type,
            "Service type is mandatory when probe status is 'processing'",
        )),
        Some(Status::Testing) => Some((
            "devel_url",
            &f.devel_url,
            "Devel URL is mandatory when probe status is 'testing'",
        )),
        Some(Status::Deployed) => Some((
            "production_url",
            &f.production_url,
            "Production URL is mandatory when probe status is 'deployed'",
        )),
        Some(Status::Rejected) => Some((
            "rejection_reason",
            &f.rejection_reason,
            "Rejection reason is mandatory when probe status is 'rejected'",
        )),
        _ => None,
    };
    if let Some((field, value, message)) = required {
        if value.is_none() && !errors.iter().any(|e| e.field == field) {
            errors.push(field_error(field, message));
        }
    }
}

/// The status whose field each text field is: a change carries only its target's field, so a
/// candidate never holds, say, a rejection reason while it is being processed.
pub fn status_of_field(field: &str) -> Option<Status> {
    match field {
        "service_type" => Some(Status::Processing),
        "devel_url" => Some(Status::Testing),
        "production_url" => Some(Status::Deployed),
        "rejection_reason" => Some(Status::Rejected),
        _ => None,
    }
}

/// Refuses (never drops) a field that belongs to another status than the target.
fn check_belonging(to: Option<Status>, f: &Fields, errors: &mut Vec<FieldError>) {
    let Some(to) = to else { return };
    for (field, value) in [
        ("service_type", &f.service_type),
        ("devel_url", &f.devel_url),
        ("production_url", &f.production_url),
        ("rejection_reason", &f.rejection_reason),
    ] {
        let owner = status_of_field(field).filter(|owner| *owner != to);
        if let (Some(owner), Some(_)) = (owner, value) {
            errors.push(field_error(
                field,
                format!(
                    "Field '{field}' is set only when probe status changes to '{}', not '{}'",
                    owner.as_str(),
                    to.as_str()
                ),
            ));
        }
    }
}

/// URLs that are URLs, no control characters, POEM's column sizes.
fn check_values(f: &Fields, errors: &mut Vec<FieldError>) {
    for (field, value) in [
        ("devel_url", &f.devel_url),
        ("production_url", &f.production_url),
    ] {
        if value.as_deref().is_some_and(|u| !is_url(u)) {
            errors.push(field_error(
                field,
                format!("Field '{field}' must be defined as valid URL"),
            ));
        }
    }
    for (field, value, limit) in [
        ("service_type", &f.service_type, 128),
        ("devel_url", &f.devel_url, 1024),
        ("production_url", &f.production_url, 1024),
        ("rejection_reason", &f.rejection_reason, 2048),
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
}
