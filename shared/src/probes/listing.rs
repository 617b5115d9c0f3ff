//! The list, a page at a time: `GET /api/v2/probes/?limit=50` answers POEM's list shape for the
//! first 50 candidates in list order and names the next page in a `Link` header; the cursor is
//! the last candidate's list key with a tag only this deployment can make (`cursor.rs`).
//! `q=` keeps the candidates whose name (or, for a caller shown contacts, contact) holds the
//! text (any case) or whose id starts with it. Without any of these, the answer is POEM's
//! whole list, as before.

use super::cursor::CursorKey;
use super::model::{Candidate, ListItem, Status};
use super::ports::{CandidateStore, PageQuery};
use crate::base::error::{Error, Result};
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// A search longer than any name, contact or id could hold is a mistake, not a search.
const MAX_SEARCH_CHARS: usize = 200;

/// The order of the list: name, then creation time, then id (the store's index sorts by it).
pub fn list_key(c: &Candidate) -> String {
    format!("{}#{}#{}", c.name, c.created, c.id)
}

/// Whether a candidate is found by a search (already lower-cased), in the fields the caller is
/// shown: name and id for everyone, the contact only for a caller who sees it.
pub fn found(c: &Candidate, search_lower: &str, contacts: bool) -> bool {
    c.name.to_lowercase().contains(search_lower)
        || (contacts && c.contact.to_lowercase().contains(search_lower))
        || c.id.starts_with(search_lower)
}

/// A list item as a page shows it to the monitoring team: POEM's fields, then whom to contact
/// and which key submitted it (a submitter's key sees POEM's fields only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageItem {
    #[serde(flatten)]
    pub item: ListItem,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub items: Vec<PageItem>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// What the caller asked for, read from the query parameters (each given at most once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub status: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub search: Option<String>,
}

impl PageRequest {
    /// Whether the caller asked for a page at all (else POEM's whole list).
    pub fn paged(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some() || self.search.is_some()
    }
}

fn parse_limit(text: Option<&str>) -> Result<usize> {
    let Some(text) = text else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) && !text.starts_with('+') => Ok(n),
        _ => Err(Error::BadRequest(format!(
            "Invalid 'limit': a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

fn parse_search(text: Option<&str>) -> Result<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(Error::BadRequest(format!(
            "Invalid 'q': at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    if let Some(problem) = crate::base::text::problem("q", text, crate::base::text::Lines::One) {
        return Err(Error::BadRequest(problem));
    }
    Ok(Some(text.to_lowercase()))
}

pub fn parse_status(text: Option<&str>) -> Result<Option<Status>> {
    match text {
        None | Some("") => Ok(None),
        Some(s) => Status::parse(s).map(Some).ok_or_else(|| {
            Error::BadRequest(format!(
                "Unknown status '{}'; use one of: submitted, processing, testing, deployed, rejected",
                crate::base::text::echoed(s)
            ))
        }),
    }
}

/// One page of the list. `full` adds the contact and the submitting key's name.
pub async fn page(
    store: &impl CandidateStore,
    cursors: &CursorKey,
    request: &PageRequest,
    full: bool,
) -> Result<ListPage> {
    let query = PageQuery {
        status: parse_status(request.status.as_deref())?,
        limit: parse_limit(request.limit.as_deref())?,
        after: request
            .cursor
            .as_deref()
            .map(|c| cursors.decode(c))
            .transpose()?,
        search: parse_search(request.search.as_deref())?,
        search_contacts: full,
    };
    let found = store.page(&query).await?;
    let next = found
        .more
        .then(|| found.items.last().map(|c| cursors.encode(&list_key(c))))
        .flatten();
    let items = found
        .items
        .iter()
        .map(|c| PageItem {
            item: ListItem::from(c),
            contact: full.then(|| c.contact.clone()),
            submitted_by: full.then(|| c.submitted_by.clone()),
        })
        .collect();
    Ok(ListPage { items, next })
}

/// What a store does for a page, given every candidate it holds of the status: the ones after
/// the cursor that the search finds, in list order, at most `limit`, and whether more follow.
/// The in-memory store uses it whole; the DynamoDB one reads each status in index order and
/// applies `found` and the limit the same way.
pub fn select(mut candidates: Vec<Candidate>, q: &PageQuery) -> (Vec<Candidate>, bool) {
    candidates.retain(|c| {
        q.after.as_ref().is_none_or(|a| list_key(c) > *a)
            && q.search
                .as_ref()
                .is_none_or(|s| found(c, s, q.search_contacts))
    });
    candidates.sort_by_key(list_key);
    let more = candidates.len() > q.limit;
    candidates.truncate(q.limit);
    (candidates, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_in_range() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("500")).unwrap(), 500);
        for bad in [
            "0",
            "501",
            "-1",
            "+5",
            "1.5",
            "",
            "-9223372036854775808",
            "ten",
        ] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn searches_are_trimmed_lower_cased_and_bounded() {
        assert_eq!(
            parse_search(Some("  HTTP ")).unwrap().as_deref(),
            Some("http")
        );
        assert_eq!(parse_search(Some("   ")).unwrap(), None);
        assert!(parse_search(Some(&"x".repeat(201))).is_err());
        assert!(parse_search(Some("a\u{202e}b")).is_err());
    }
}
