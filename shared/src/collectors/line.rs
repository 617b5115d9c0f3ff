//! InfluxDB line protocol, encoded exactly as InfluxDB 1.x (checked on 1.6) and 2.x read it.
//!
//! Written here rather than with a line-protocol crate because the server's reading of
//! backslashes is not the textbook one, and what cannot be represented must be refused rather
//! than written wrong:
//! - In names (measurement, tag keys and values, field keys) a backslash is literal unless it
//!   precedes a comma, space or `=`: the server unescapes only `\,`, `\ ` and `\=`, so `\\` is
//!   stored as two backslashes. Escaping therefore puts a backslash before `,` and space (and
//!   `=` outside measurements) and leaves backslashes alone.
//! - A backslash right before `,`, space, `=` or `"`, or at the end of a name, cannot be
//!   written so that it reads back the same: 1.6 scans tags by "is the previous byte a
//!   backslash", field keys by backslash pairs, and unescapes measurement names twice (all
//!   three found by writing to the real server). Such names are refused, as are names with a
//!   control character (a line break ends the line, a leading tab reads as a separator), a measurement starting with `#` (the line would be a comment), and the keys
//!   `time`, `_measurement`, `_field` (the server drops such points).
//! - String field values escape `\` and `"`; line breaks inside them are kept.
//! - NaN and ±Inf have no representation; a point without fields is not a point.

use super::point::{FieldValue, Point};
use std::fmt::Write;

/// The server's longest string field value.
pub const MAX_STRING_BYTES: usize = 64 * 1024 - 1;

/// What InfluxDB 1.x can store: `math.MinInt64 + 2 ..= math.MaxInt64 - 1` nanoseconds.
const MIN_NANOS: i128 = i64::MIN as i128 + 2;
const MAX_NANOS: i128 = i64::MAX as i128 - 1;

/// The unit of the timestamps in a write; sent as the `precision` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
}

impl Precision {
    /// The `precision` parameter both write APIs take.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
        }
    }

    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "ns" | "n" => Some(Precision::Nanoseconds),
            "us" | "u" => Some(Precision::Microseconds),
            "ms" => Some(Precision::Milliseconds),
            "s" => Some(Precision::Seconds),
            _ => None,
        }
    }

    fn nanos(self) -> i128 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
        }
    }
}

/// A point that cannot be written, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("point {measurement:?} cannot be written: {problem}")]
pub struct LineError {
    pub measurement: String,
    pub problem: String,
}

#[derive(Clone, Copy)]
enum Part {
    Measurement,
    TagKey,
    TagValue,
    FieldKey,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Measurement => "measurement",
            Part::TagKey => "tag key",
            Part::TagValue => "tag value",
            Part::FieldKey => "field key",
        }
    }
}

/// Keys the server refuses (1.x: `time`; 2.x also reserves `_measurement` and `_field`).
const RESERVED_KEYS: [&str; 3] = ["time", "_measurement", "_field"];

fn check_name(part: Part, text: &str) -> Result<(), String> {
    let what = part.name();
    if text.is_empty() {
        return Err(format!("empty {what}"));
    }
    // A line break ends the line; a leading tab is read as a separator. Names are labels, so
    // every control character is refused rather than a list of those that happen to work.
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {text:?} contains a control character"));
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), None | Some(',' | ' ' | '=' | '"')) {
            return Err(format!(
                "{what} {text:?} has a backslash before ',', ' ', '=' or '\"' or at its end, which InfluxDB does not read back as written"
            ));
        }
    }
    match part {
        Part::Measurement if text.starts_with('#') => Err(format!(
            "measurement {text:?} starts with '#', which makes the line a comment"
        )),
        Part::TagKey | Part::FieldKey if RESERVED_KEYS.contains(&text) => {
            Err(format!("{what} {text:?} is reserved by InfluxDB"))
        }
        _ => Ok(()),
    }
}

fn push_name(out: &mut String, part: Part, text: &str) {
    for c in text.chars() {
        let special = match part {
            Part::Measurement => c == ',' || c == ' ',
            _ => c == ',' || c == ' ' || c == '=',
        };
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

fn push_field(out: &mut String, value: &FieldValue) -> Result<(), String> {
    match value {
        FieldValue::Int(v) => {
            let _ = write!(out, "{v}i");
        }
        // Display never uses exponent notation and prints the shortest text that reads back
        // as the same f64.
        FieldValue::Float(v) if v.is_finite() => {
            let _ = write!(out, "{v}");
        }
        FieldValue::Float(v) => return Err(format!("{v} has no line-protocol representation")),
        FieldValue::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        FieldValue::Text(s) => {
            if s.len() > MAX_STRING_BYTES {
                return Err(format!(
                    "a string of {} bytes is longer than InfluxDB stores ({MAX_STRING_BYTES})",
                    s.len()
                ));
            }
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    Ok(())
}

/// The point's time at `precision`, truncated towards the past.
fn timestamp(nanos: i128, precision: Precision) -> Result<i64, String> {
    let unit = precision.nanos();
    let value = nanos.div_euclid(unit);
    if !(MIN_NANOS..=MAX_NANOS).contains(&(value * unit)) {
        return Err(format!("time {nanos} ns is outside what InfluxDB stores"));
    }
    i64::try_from(value).map_err(|_| format!("time {nanos} ns does not fit 64 bits"))
}

/// Appends the point's line (with its newline) to `out`; on error `out` is left as it was.
pub fn encode_into(out: &mut String, point: &Point, precision: Precision) -> Result<(), LineError> {
    let start = out.len();
    let result = encode_line(out, point, precision);
    if result.is_err() {
        out.truncate(start);
    }
    result.map_err(|problem| LineError {
        measurement: point.measurement.clone(),
        problem,
    })
}

fn encode_line(out: &mut String, point: &Point, precision: Precision) -> Result<(), String> {
    check_name(Part::Measurement, &point.measurement)?;
    if point.fields.is_empty() {
        return Err("a point needs at least one field".into());
    }
    push_name(out, Part::Measurement, &point.measurement);
    for (key, value) in &point.tags {
        check_name(Part::TagKey, key)?;
        check_name(Part::TagValue, value).map_err(|e| format!("tag {key:?}: {e}"))?;
        out.push(',');
        push_name(out, Part::TagKey, key);
        out.push('=');
        push_name(out, Part::TagValue, value);
    }
    for (i, (key, value)) in point.fields.iter().enumerate() {
        check_name(Part::FieldKey, key)?;
        if point.tags.contains_key(key) {
            return Err(format!("{key:?} is both a tag and a field"));
        }
        out.push(if i == 0 { ' ' } else { ',' });
        push_name(out, Part::FieldKey, key);
        out.push('=');
        push_field(out, value).map_err(|e| format!("field {key:?}: {e}"))?;
    }
    if let Some(t) = point.time {
        let _ = write!(out, " {}", timestamp(t, precision)?);
    }
    out.push('\n');
    Ok(())
}

/// All points as one body, or the first point that cannot be written.
pub fn encode(points: &[Point], precision: Precision) -> Result<String, LineError> {
    let mut out = String::with_capacity(points.len() * 64);
    for p in points {
        encode_into(&mut out, p, precision)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(p: &Point) -> String {
        encode(std::slice::from_ref(p), Precision::Seconds).unwrap()
    }

    #[test]
    fn escapes_what_the_server_unescapes_and_nothing_else() {
        let p = Point::new("my meas,ure=ment")
            .tag("tag key", "a,b=c d")
            .tag("path", r"C:\temp\x")
            .field("f=1", 1i64)
            .field("s", r#"say "hi" \ bye"#)
            .field("x", 1.5)
            .field("ok", true);
        assert_eq!(
            line(&p),
            "my\\ meas\\,ure=ment,path=C:\\temp\\x,tag\\ key=a\\,b\\=c\\ d f\\=1=1i,ok=true,s=\"say \\\"hi\\\" \\\\ bye\",x=1.5\n"
        );
    }

    #[test]
    fn numbers_and_times() {
        let p = Point::new("m")
            .field("big", i64::MIN)
            .field("f", 1e21)
            .field("g", 1e-7);
        let mut p = p;
        p.time = Some(1_700_000_000_999_999_999);
        assert_eq!(
            encode(&[p.clone()], Precision::Seconds).unwrap(),
            "m big=-9223372036854775808i,f=1000000000000000000000,g=0.0000001 1700000000\n"
        );
        assert!(encode(&[p.clone()], Precision::Milliseconds)
            .unwrap()
            .ends_with(" 1700000000999\n"));
        p.time = Some(-1);
        assert!(encode(&[p.clone()], Precision::Seconds)
            .unwrap()
            .ends_with(" -1\n"));
        p.time = Some(i64::MAX as i128);
        assert!(encode(&[p], Precision::Nanoseconds).is_err());
    }

    #[test]
    fn refuses_what_cannot_be_written() {
        let ok = || Point::new("m").field("v", 1i64);
        let cases = [
            (Point::new("m"), "at least one field"),
            (ok().field("nan", f64::NAN), "NaN"),
            (ok().field("inf", f64::INFINITY), "inf"),
            (ok().field("neg", f64::NEG_INFINITY), "-inf"),
            (Point::new("").field("v", 1i64), "empty measurement"),
            (Point::new("#m").field("v", 1i64), "comment"),
            (Point::new("m\\").field("v", 1i64), "backslash"),
            (ok().tag("k", "v\\"), "backslash"),
            (ok().tag("k", "a\\,b"), "backslash"),
            (ok().field("a\\ b", 1i64), "backslash"),
            (Point::new("m\\\"x").field("v", 1i64), "backslash"),
            (ok().tag("k", ""), "empty tag value"),
            (ok().tag("k", "a\nb"), "control character"),
            (ok().field("\t", 1i64), "control character"),
            (ok().tag("time", "x"), "reserved"),
            (ok().field("time", 1i64), "reserved"),
            (ok().tag("v", "x"), "both a tag and a field"),
            (ok().field("s", "x".repeat(MAX_STRING_BYTES + 1)), "longer"),
        ];
        for (point, expected) in cases {
            let err = encode(std::slice::from_ref(&point), Precision::Seconds).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{point:?}: {err} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn a_refused_point_leaves_nothing_behind() {
        let mut out = String::from("before\n");
        let bad = Point::new("m").tag("k", "v").field("f", f64::NAN);
        assert!(encode_into(&mut out, &bad, Precision::Seconds).is_err());
        assert_eq!(out, "before\n");
    }
}
