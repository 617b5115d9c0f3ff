//! Times as the stores keep them.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 timestamp with whole seconds, as stored.
pub fn timestamp(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A stored RFC 3339 time.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Seconds from `then` (RFC 3339) to `now`, never negative; `None` when the text is not a time.
pub fn age_seconds(then: &str, now: OffsetDateTime) -> Option<i64> {
    Some((now - parse_time(then)?).whole_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_and_ages() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(
            timestamp(t + time::Duration::milliseconds(250)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(t));
        assert_eq!(age_seconds("2023-11-14T22:12:20Z", t), Some(60));
        // A time in the future is no age at all, not a negative one.
        assert_eq!(age_seconds("2023-11-14T22:14:20Z", t), Some(0));
        assert_eq!(age_seconds("yesterday", t), None);
    }
}
