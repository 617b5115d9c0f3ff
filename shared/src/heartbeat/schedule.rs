//! When a check's next ping is due: after a fixed period, or at the next time a cron expression
//! fires in the check's time zone.
//!
//! Cron follows healthchecks.io (which follows Debian's cron): five fields, no seconds; a
//! fixed-time job whose time falls in a spring-forward gap runs at the first minute after the
//! gap, and once in a fall-back overlap; a wildcard job runs in both passes; day of month and
//! day of week are ANDed when either starts with `*` and ORed otherwise; an expression that
//! never fires is refused.

use crate::base::error::{Error, Result};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// The longest cron expression and time-zone name accepted (healthchecks.io's own limits).
pub const MAX_CRON: usize = 100;
pub const MAX_ZONE: usize = 64;

/// A parsed schedule. Built from what is stored, so parsing again cannot fail for a schedule
/// that was accepted once (unless the time-zone database dropped a zone: then UTC).
#[derive(Debug, Clone)]
pub enum Schedule {
    Period { seconds: i64 },
    Cron(Box<CronSchedule>),
}

#[derive(Debug, Clone)]
pub struct CronSchedule {
    pub expression: String,
    pub zone: String,
    cron: Cron,
    tz: TimeZone,
}

fn refused(what: &str, value: &str, why: &str) -> Error {
    let shown: String = value.chars().take(MAX_CRON).collect();
    Error::BadRequest(format!("{what} {shown:?} {why}"))
}

impl CronSchedule {
    pub fn parse(expression: &str, zone: &str) -> Result<Self> {
        let fields: Vec<&str> = expression.split_ascii_whitespace().collect();
        if expression.len() > MAX_CRON || fields.len() != 5 {
            return Err(refused(
                "cron expression",
                expression,
                "must have five fields: minute hour day-of-month month day-of-week",
            ));
        }
        // Vixie cron: a restricted day of month and a restricted day of week are alternatives,
        // but when either starts with `*` (`*/2` included) both must hold.
        let and = fields[2].starts_with('*') || fields[4].starts_with('*');
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .dom_and_dow(and)
            .build()
            .parse(&fields.join(" "))
            .map_err(|e| refused("cron expression", expression, &format!("is not valid: {e}")))?;
        if zone.len() > MAX_ZONE {
            return Err(refused("time zone", zone, "is not a known IANA time zone"));
        }
        let tz = TimeZone::get(zone)
            .map_err(|_| refused("time zone", zone, "is not a known IANA time zone"))?;
        let schedule = CronSchedule {
            expression: fields.join(" "),
            zone: zone.to_string(),
            cron,
            tz,
        };
        // 30 February and its kind: accepted by the grammar, but the check could never be due.
        if schedule.next_after(946_684_800).is_none() {
            return Err(refused("cron expression", expression, "never fires"));
        }
        Ok(schedule)
    }

    /// The first time the expression fires strictly after `t` (unix seconds).
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let start: Zoned = Timestamp::from_second(t).ok()?.to_zoned(self.tz.clone());
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(next.timestamp().as_second()).filter(|n| *n > t)
    }
}

impl Schedule {
    /// What is stored: a cron expression with its zone, else the period.
    pub fn of(period_seconds: i64, cron: Option<(&str, &str)>) -> Schedule {
        match cron {
            Some((expression, zone)) => CronSchedule::parse(expression, zone)
                .or_else(|_| CronSchedule::parse(expression, "UTC"))
                .map(|c| Schedule::Cron(Box::new(c)))
                .unwrap_or(Schedule::Period {
                    seconds: period_seconds.max(1),
                }),
            None => Schedule::Period {
                seconds: period_seconds.max(1),
            },
        }
    }

    /// When the ping after one at `t` is due; `None` when the schedule has no later time.
    pub fn next_after(&self, t: i64) -> Option<i64> {
        match self {
            Schedule::Period { seconds } => t.checked_add(*seconds),
            Schedule::Cron(c) => c.next_after(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    fn next(expr: &str, zone: &str, after: &str) -> String {
        let c = CronSchedule::parse(expr, zone).unwrap();
        Timestamp::from_second(c.next_after(at(after)).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn plain_times_in_a_zone() {
        // 02:00 in Athens is 00:00 UTC in winter (EET, +2) and 23:00 the day before in summer.
        assert_eq!(
            next("0 2 * * *", "Europe/Athens", "2026-01-10T12:00:00Z"),
            "2026-01-11T00:00:00Z"
        );
        assert_eq!(
            next("0 2 * * *", "Europe/Athens", "2026-07-10T12:00:00Z"),
            "2026-07-10T23:00:00Z"
        );
        // Strictly after: a ping at the firing time is due at the next one.
        assert_eq!(
            next("0 2 * * *", "UTC", "2026-07-10T02:00:00Z"),
            "2026-07-11T02:00:00Z"
        );
    }

    #[test]
    fn spring_forward_gap_runs_at_the_first_real_minute() {
        // Athens, 29 March 2026: 03:00 EET becomes 04:00 EEST; 03:30 does not exist that day.
        assert_eq!(
            next("30 3 * * *", "Europe/Athens", "2026-03-28T12:00:00Z"),
            "2026-03-29T01:00:00Z"
        );
        // The day after, 03:30 EEST again.
        assert_eq!(
            next("30 3 * * *", "Europe/Athens", "2026-03-29T12:00:00Z"),
            "2026-03-30T00:30:00Z"
        );
    }

    #[test]
    fn fall_back_overlap_runs_a_fixed_job_once_and_a_wildcard_job_twice() {
        // Athens, 25 October 2026: 04:00 EEST becomes 03:00 EET; 03:30 happens twice.
        assert_eq!(
            next("30 3 * * *", "Europe/Athens", "2026-10-24T12:00:00Z"),
            "2026-10-25T00:30:00Z"
        );
        assert_eq!(
            next("30 3 * * *", "Europe/Athens", "2026-10-25T00:31:00Z"),
            "2026-10-26T01:30:00Z"
        );
        assert_eq!(
            next("*/30 * * * *", "Europe/Athens", "2026-10-25T00:31:00Z"),
            "2026-10-25T01:00:00Z"
        );
        assert_eq!(
            next("*/30 * * * *", "Europe/Athens", "2026-10-25T01:00:00Z"),
            "2026-10-25T01:30:00Z"
        );
    }

    #[test]
    fn twenty_ninth_of_february() {
        assert_eq!(
            next("0 12 29 2 *", "UTC", "2026-03-01T00:00:00Z"),
            "2028-02-29T12:00:00Z"
        );
    }

    #[test]
    fn day_of_month_and_day_of_week() {
        // Both restricted: either day (1 March 2026 is a Sunday; the 2nd a Monday).
        assert_eq!(
            next("0 0 1 * 1", "UTC", "2026-03-01T12:00:00Z"),
            "2026-03-02T00:00:00Z"
        );
        // One starts with '*': both must hold (odd days that are Mondays; 2 March is even).
        assert_eq!(
            next("0 0 */2 * 1", "UTC", "2026-03-01T12:00:00Z"),
            "2026-03-09T00:00:00Z"
        );
    }

    #[test]
    fn refused_expressions_and_zones() {
        for (expr, zone) in [
            ("0 0 30 2 *", "UTC"),
            ("0 0 31 4 *", "UTC"),
            ("0 0 * * * *", "UTC"),
            ("0 0 * *", "UTC"),
            ("61 0 * * *", "UTC"),
            ("", "UTC"),
            ("0 2 * * *", "Europe/Atlantis"),
            ("0 2 * * *", ""),
            ("0 2 * * *", "../../etc/passwd"),
        ] {
            let err = CronSchedule::parse(expr, zone).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{expr:?} {zone:?}");
        }
    }

    #[test]
    fn periods() {
        let s = Schedule::of(300, None);
        assert_eq!(s.next_after(1000), Some(1300));
        assert_eq!(
            Schedule::of(300, Some(("0 2 * * *", "UTC"))).next_after(0),
            Some(7200)
        );
        assert_eq!(Schedule::of(1, None).next_after(i64::MAX), None);
    }
}
