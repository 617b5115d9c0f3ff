//! healthchecks.io's ping URLs, read as healthchecks.io reads them, and what a ping keeps.
//!
//! `/ping/{uuid}[/start|/fail|/log|/{exit status}]` and
//! `/ping/{ping_key}/{slug}[/…]`. A path no route of healthchecks.io would match is `not found`;
//! one it matches but refuses (an exit status over 255, an upper-case slug) is
//! `invalid url format`. telltale's check names also allow `.`, so a slug may carry one.

use super::check::MAX_NAME;
use super::state::PingKind;

/// The longest job output a ping keeps (healthchecks.io's default `PING_BODY_LIMIT`).
pub const DEFAULT_BODY_LIMIT: usize = 10_000;

/// Who is pinged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A check's own UUID (lower case, as healthchecks.io's URLs have it).
    Uuid(String),
    /// A check's name under a key with the heartbeat role.
    Slug { ping_key: String, slug: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingPath {
    pub target: Target,
    pub kind: PingKind,
}

/// Why a ping path is refused, in healthchecks.io's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// 404 `not found`.
    NotFound,
    /// 400 `invalid url format`.
    InvalidUrl,
}

/// A UUID as a URL path carries it: 36 characters, lower-case hex and four dashes.
pub fn is_path_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// A run id (`?rid=`): a UUID in its 36-character form, either case; `None` when it is not one.
pub fn run_id(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    is_path_uuid(&lower).then_some(lower)
}

/// Django's `slug` converter: what a ping key or slug segment may hold for the route to match.
fn slug_shaped(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn kind(action: Option<&str>) -> Result<PingKind, PathRefusal> {
    match action {
        None => Ok(PingKind::Success),
        Some("start") => Ok(PingKind::Start),
        Some("fail") => Ok(PingKind::Fail),
        Some("log") => Ok(PingKind::Log),
        // Django's `int` converter: any run of digits (`007` is 7); over 255 matches the route
        // but is refused by the view.
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            let value = s.trim_start_matches('0');
            match value.parse::<u16>() {
                _ if value.is_empty() => Ok(PingKind::Exit(0)),
                Ok(n) if n <= 255 => Ok(PingKind::Exit(n as u8)),
                _ => Err(PathRefusal::InvalidUrl),
            }
        }
        Some(_) => Err(PathRefusal::NotFound),
    }
}

/// Reads the path after `/ping/` (already split into its segments, percent-decoded).
pub fn parse(segments: &[&str]) -> Result<PingPath, PathRefusal> {
    match segments {
        [uuid] if is_path_uuid(uuid) => Ok(PingPath {
            target: Target::Uuid(uuid.to_string()),
            kind: PingKind::Success,
        }),
        [uuid, action]
            if is_path_uuid(uuid) && kind(Some(action)) != Err(PathRefusal::NotFound) =>
        {
            Ok(PingPath {
                target: Target::Uuid(uuid.to_string()),
                kind: kind(Some(action))?,
            })
        }
        [key, slug] => by_slug(key, slug, None),
        [key, slug, action] => by_slug(key, slug, Some(action)),
        _ => Err(PathRefusal::NotFound),
    }
}

fn by_slug(key: &str, slug: &str, action: Option<&str>) -> Result<PingPath, PathRefusal> {
    if !slug_shaped(key) || !slug_shaped(slug) {
        return Err(PathRefusal::NotFound);
    }
    let kind = kind(action)?;
    // healthchecks.io refuses an upper-case slug (its slugs are lower case); ours also refuse
    // one longer than a check name can be. Any other slug that cannot name a check names none.
    if slug.bytes().any(|b| b.is_ascii_uppercase()) || slug.len() > MAX_NAME {
        return Err(PathRefusal::InvalidUrl);
    }
    if super::check::validate_name(slug).is_err() {
        return Err(PathRefusal::NotFound);
    }
    Ok(PingPath {
        target: Target::Slug {
            ping_key: key.to_string(),
            slug: slug.to_string(),
        },
        kind,
    })
}

/// The job's output as kept: at most `limit` bytes, cut at a character boundary when it is
/// UTF-8 (its non-UTF-8 bytes are kept as they are).
pub fn kept_body(body: &[u8], limit: usize) -> &[u8] {
    if body.len() <= limit {
        return body;
    }
    let cut = &body[..limit];
    match std::str::from_utf8(body) {
        Ok(text) => {
            let mut end = limit;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &body[..end]
        }
        Err(_) => cut,
    }
}

/// The kept body shown to a person: UTF-8 as it is, other bytes as `\xNN`, control characters
/// but newline and tab escaped too (a job's output may carry terminal escapes).
pub fn shown_body(body: &[u8]) -> String {
    let mut out = String::with_capacity(body.len());
    for chunk in body.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0f0e0d0c-0b0a-4900-8000-123456789abc";

    fn p(path: &str) -> Result<PingPath, PathRefusal> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        parse(&segments)
    }

    #[test]
    fn uuid_and_slug_forms() {
        assert_eq!(p(U).unwrap().target, Target::Uuid(U.into()));
        assert_eq!(p(&format!("{U}/start")).unwrap().kind, PingKind::Start);
        assert_eq!(p(&format!("{U}/log")).unwrap().kind, PingKind::Log);
        assert_eq!(p(&format!("{U}/0")).unwrap().kind, PingKind::Exit(0));
        assert_eq!(p(&format!("{U}/007")).unwrap().kind, PingKind::Exit(7));
        assert_eq!(p(&format!("{U}/255")).unwrap().kind, PingKind::Exit(255));
        assert_eq!(p(&format!("{U}/256")), Err(PathRefusal::InvalidUrl));
        assert_eq!(
            p(&format!("{U}/99999999999999999999999")),
            Err(PathRefusal::InvalidUrl)
        );
        let s = p("k3y/backup-db/fail").unwrap();
        assert_eq!(
            s.target,
            Target::Slug {
                ping_key: "k3y".into(),
                slug: "backup-db".into()
            }
        );
        assert_eq!(s.kind, PingKind::Fail);
    }

    #[test]
    fn refusals_as_healthchecks_words_them() {
        // Upper case: a UUID no route matches; a slug the view refuses.
        assert_eq!(p(&U.to_uppercase()), Err(PathRefusal::NotFound));
        assert_eq!(p("key/Backup"), Err(PathRefusal::InvalidUrl));
        assert_eq!(p("key/backup/-1"), Err(PathRefusal::NotFound));
        assert_eq!(p(&format!("{U}/-1")), Err(PathRefusal::NotFound));
        assert_eq!(p("key/-backup"), Err(PathRefusal::NotFound));
        assert_eq!(p("key/backup/256"), Err(PathRefusal::InvalidUrl));
        assert_eq!(p("key/backup/start/extra"), Err(PathRefusal::NotFound));
        assert_eq!(p("key/bäckup"), Err(PathRefusal::NotFound));
        assert_eq!(p("not-a-uuid"), Err(PathRefusal::NotFound));
        assert_eq!(p(""), Err(PathRefusal::NotFound));
        let at_limit = "x".repeat(MAX_NAME);
        assert!(p(&format!("key/{at_limit}")).is_ok());
        assert_eq!(p(&format!("key/{at_limit}x")), Err(PathRefusal::InvalidUrl));
    }

    #[test]
    fn run_ids() {
        assert_eq!(run_id(&U.to_uppercase()).as_deref(), Some(U));
        for bad in [
            "",
            "123",
            &U.replace('-', ""),
            &format!("{{{U}}}"),
            &format!("urn:uuid:{U}"),
        ] {
            assert_eq!(run_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn bodies_are_cut_not_refused() {
        assert_eq!(kept_body(b"hello", 3), b"hel");
        assert_eq!(kept_body("héllo".as_bytes(), 2), b"h");
        assert_eq!(kept_body(&[0xff, 0xfe, 0x41], 2), &[0xff, 0xfe]);
        assert_eq!(
            shown_body(&[b'o', b'k', 0xff, b'\n', 0x1b]),
            "ok\\xff\n\\u{1b}"
        );
    }
}
