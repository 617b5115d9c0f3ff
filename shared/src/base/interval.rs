//! Run intervals in systemd's time-span syntax (`systemd.time(7)`), the seed's `RUN_INTERVAL`:
//! `30s`, `5m`, `5 min`, `1h 30min`, `1h30m`, `2d`, `1.5h`; a bare number is seconds. And the
//! EventBridge `rate(...)` expression an interval becomes in the template.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {text:?}: {reason}")]
pub struct IntervalError {
    pub text: String,
    pub reason: String,
}

/// Seconds per unit, with systemd's spellings.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "" | "s" | "sec" | "second" | "seconds" => 1.0,
        "usec" | "us" | "µs" => 1e-6,
        "msec" | "ms" => 1e-3,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        // systemd's month and year are 30.44 and 365.25 days.
        "M" | "month" | "months" => 2_630_016.0,
        "y" | "year" | "years" => 31_557_600.0,
        _ => return None,
    })
}

/// Parses a time span; it must be longer than zero.
pub fn parse(text: &str) -> Result<Duration, IntervalError> {
    let fail = |reason: String| IntervalError {
        text: text.to_string(),
        reason,
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(fail("empty".into()));
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() {
            return Err(fail(format!("expected a number at {rest:?}")));
        }
        let value: f64 = number
            .parse()
            .map_err(|_| fail(format!("{number:?} is not a number")))?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..letters];
        let seconds = unit_seconds(unit).ok_or_else(|| {
            fail(format!(
                "unknown unit {unit:?} (use s, min, h, d, w, M, y and their long forms)"
            ))
        })?;
        total += value * seconds;
        rest = rest[letters..].trim_start();
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(fail("too long".into()));
    }
    let span = Duration::from_secs_f64(total);
    if span.is_zero() {
        return Err(fail("must be longer than zero".into()));
    }
    Ok(span)
}

/// The EventBridge schedule expression for `every`: `rate(5 minutes)`, `rate(1 hour)`. Rates
/// are whole minutes, so an interval that is not is refused rather than rounded.
pub fn rate_expression(every: Duration) -> Result<String, String> {
    let secs = every.as_secs();
    if every.subsec_nanos() != 0 || !secs.is_multiple_of(60) || secs == 0 {
        return Err(format!(
            "{every:?} is not a whole number of minutes; EventBridge schedules cannot run it"
        ));
    }
    let minutes = secs / 60;
    let (value, unit) = if minutes.is_multiple_of(1440) {
        (minutes / 1440, "day")
    } else if minutes.is_multiple_of(60) {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    let plural = if value == 1 { "" } else { "s" };
    Ok(format!("rate({value} {unit}{plural})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_spans() {
        let s = |t: &str| parse(t).unwrap().as_secs_f64();
        assert_eq!(s("30s"), 30.0);
        assert_eq!(s("5m"), 300.0);
        assert_eq!(s("5 min"), 300.0);
        assert_eq!(s("1h 30min"), 5400.0);
        assert_eq!(s("1h30m"), 5400.0);
        assert_eq!(s("2d"), 172_800.0);
        assert_eq!(s("1.5h"), 5400.0);
        assert_eq!(s("90"), 90.0);
        assert_eq!(s("1w"), 604_800.0);
        assert_eq!(s(" 2 hours "), 7200.0);
        assert_eq!(s("500ms"), 0.5);
    }

    #[test]
    fn bad_spans_name_the_text() {
        for bad in [
            "",
            "   ",
            "5x",
            "m",
            "0",
            "0s",
            "five minutes",
            "5m-",
            "1..5h",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.text, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn rates_for_eventbridge() {
        let r = |t: &str| rate_expression(parse(t).unwrap());
        assert_eq!(r("5m").unwrap(), "rate(5 minutes)");
        assert_eq!(r("1m").unwrap(), "rate(1 minute)");
        assert_eq!(r("1h").unwrap(), "rate(1 hour)");
        assert_eq!(r("90min").unwrap(), "rate(90 minutes)");
        assert_eq!(r("2d").unwrap(), "rate(2 days)");
        assert_eq!(r("24h").unwrap(), "rate(1 day)");
        assert!(r("30s").is_err());
        assert!(r("90s").is_err());
    }
}
