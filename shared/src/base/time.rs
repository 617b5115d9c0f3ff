//! Times as the stores keep them.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 timestamp with whole seconds, as stored.
/// The time a scheduled run is for: the event's `time` (a classic EventBridge rule's, or the
/// `<aws.scheduler.scheduled-time>` EventBridge Scheduler puts in the input), so a repeated or
/// retried delivery of one schedule works as of the same instant (its points overwrite, its
/// window is the same); now when the event has none (a manual run). A `time` that is there but
/// not RFC 3339 is an error, never read as now.
pub fn scheduled_time(event: &serde_json::Value) -> Result<OffsetDateTime, String> {
    let parsed = match &event["time"] {
        serde_json::Value::Null => return Ok(OffsetDateTime::now_utc()),
        serde_json::Value::String(t) => OffsetDateTime::parse(t, &Rfc3339).ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        let shown: String = event["time"].to_string().chars().take(40).collect();
        format!("the event's time {shown} is not an RFC 3339 time (2026-11-21T00:00:00Z)")
    })
}

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
