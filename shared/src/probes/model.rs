//! Probe candidates as stored and as answered.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// POEM's answer for an id no candidate has.
pub const NOT_FOUND: &str = "Probe candidate not found";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Submitted,
    Processing,
    Testing,
    Deployed,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Submitted,
        Status::Processing,
        Status::Testing,
        Status::Deployed,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Processing => "processing",
            Status::Testing => "testing",
            Status::Deployed => "deployed",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One change of status: who made it, when, and whether a rule was overridden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub from: Option<Status>,
    pub to: Status,
    pub at: String,
    pub by: String,
    #[serde(default)]
    pub forced: bool,
}

/// A probe candidate. Field names are POEM's; timestamps are RFC 3339 UTC with seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub docurl: String,
    pub command: String,
    pub contact: String,
    pub rpm: Option<String>,
    pub yum_baseurl: Option<String>,
    pub script: Option<String>,
    pub status: Status,
    pub service_type: Option<String>,
    pub devel_url: Option<String>,
    pub production_url: Option<String>,
    pub rejection_reason: Option<String>,
    pub created: String,
    pub last_update: String,
    pub status_changed_at: String,
    /// Incremented by every change; the optimistic-locking token.
    pub version: u64,
    /// Name of the API key that submitted it.
    pub submitted_by: String,
    pub history: Vec<HistoryEntry>,
}

impl Candidate {
    /// A new candidate in `submitted`, version 1, with its first history entry.
    pub fn submitted(id: String, s: super::validate::Submission, by: &str, at: &str) -> Candidate {
        Candidate {
            id,
            name: s.name,
            description: s.description,
            docurl: s.docurl,
            command: s.command,
            contact: s.contact,
            rpm: s.rpm,
            yum_baseurl: s.yum_baseurl,
            script: s.script,
            status: Status::Submitted,
            service_type: None,
            devel_url: None,
            production_url: None,
            rejection_reason: None,
            created: at.to_string(),
            last_update: at.to_string(),
            status_changed_at: at.to_string(),
            version: 1,
            submitted_by: by.to_string(),
            history: vec![HistoryEntry {
                from: None,
                to: Status::Submitted,
                at: at.to_string(),
                by: by.to_string(),
                forced: false,
            }],
        }
    }
}

/// POEM's list date format, `%Y-%m-%d %H:%M:%S` in UTC; the stored text if it cannot be read.
pub fn poem_date(stored: &str) -> String {
    OffsetDateTime::parse(stored, &Rfc3339)
        .ok()
        .and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
        })
        .unwrap_or_else(|| stored.to_string())
}

/// An item of `GET /api/v2/probes/`: POEM's four fields plus `id` and `status_changed_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListItem {
    pub name: String,
    pub status: Status,
    pub created: String,
    pub last_update: String,
    pub id: String,
    pub status_changed_at: String,
}

impl From<&Candidate> for ListItem {
    fn from(c: &Candidate) -> Self {
        ListItem {
            name: c.name.clone(),
            status: c.status,
            created: poem_date(&c.created),
            last_update: poem_date(&c.last_update),
            id: c.id.clone(),
            status_changed_at: poem_date(&c.status_changed_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_use_poems_format_in_utc() {
        assert_eq!(poem_date("2026-11-21T07:40:26Z"), "2026-11-21 07:40:26");
        assert_eq!(
            poem_date("2026-11-21T09:40:26+02:00"),
            "2026-11-21 07:40:26"
        );
    }
}
