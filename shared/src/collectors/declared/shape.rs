//! What a program's output must look like to be a point:
//! `{measurement: string, tags?: {string: string}, fields: {string: number|boolean|string},
//! time?: unix seconds | RFC 3339}`. Anything else fails the run with the output's number and
//! what was wrong, cut short (never the whole document). NaN and ±Inf fields are left out and
//! counted, since InfluxDB cannot store them; a point left with no field is left out too.

use crate::collectors::point::{FieldValue, Point};
use jaq_json::{Num, Val};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The start of a value, for messages.
fn shown(v: &Val) -> String {
    let text = v.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn text(v: &Val) -> Option<String> {
    match v {
        Val::TStr(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A number as InfluxDB can store it: a 64-bit integer or a float.
fn number(n: &Num) -> Result<FieldValue, String> {
    match n {
        Num::Int(i) => Ok(FieldValue::Int(*i as i64)),
        Num::Float(f) => Ok(FieldValue::Float(*f)),
        Num::Dec(s) => s
            .parse::<f64>()
            .map(FieldValue::Float)
            .map_err(|_| format!("the number {s} cannot be read")),
        Num::BigInt(b) => Err(format!(
            "the integer {b} does not fit InfluxDB's 64-bit integers"
        )),
    }
}

/// What one output became.
pub enum Shaped {
    Point(Point),
    /// Every field was NaN or infinite.
    Empty,
}

/// Turns output number `index` (1-based) into a point stamped `now` unless it has a time;
/// `left_out` counts the non-finite values dropped.
pub fn point(
    out: &Val,
    index: usize,
    now: OffsetDateTime,
    left_out: &mut usize,
) -> Result<Shaped, String> {
    let fail = |what: String| Err(format!("output {index}: {what}"));
    let Val::Obj(map) = out else {
        return fail(format!(
            "{} is not a point: output objects {{measurement, tags, fields, time}}",
            shown(out)
        ));
    };
    let mut measurement = None;
    let mut point = Point::new("");
    let mut fields = None;
    for (key, value) in map.iter() {
        let Some(key) = text(key) else {
            return fail(format!("the key {} is not a string", shown(key)));
        };
        match key.as_str() {
            "measurement" => match text(value) {
                Some(m) if !m.is_empty() => measurement = Some(m),
                _ => {
                    return fail(format!(
                        "measurement {} is not a non-empty string",
                        shown(value)
                    ))
                }
            },
            "tags" => match value {
                Val::Null => {}
                Val::Obj(tags) => {
                    for (k, v) in tags.iter() {
                        let (Some(k), Some(v)) = (text(k), text(v)) else {
                            return fail(format!(
                                "tag {} is {}: tags are strings (use tostring)",
                                shown(k),
                                shown(v)
                            ));
                        };
                        point.tags.insert(k, v);
                    }
                }
                _ => return fail(format!("tags {} is not an object", shown(value))),
            },
            "fields" => fields = Some(value),
            "time" => {
                point.time = Some(time_of(value).map_err(|e| format!("output {index}: {e}"))?)
            }
            other => {
                let other: String = other.chars().take(40).collect();
                return fail(format!(
                    "unknown key {other:?}: a point has measurement, tags, fields and time"
                ));
            }
        }
    }
    let Some(measurement) = measurement else {
        return fail("no measurement".into());
    };
    point.measurement = measurement;
    let Some(Val::Obj(fields)) = fields else {
        return fail(match fields {
            None => "no fields".into(),
            Some(v) => format!("fields {} is not an object", shown(v)),
        });
    };
    if fields.is_empty() {
        return fail("fields is empty: a point needs at least one field".into());
    }
    for (k, v) in fields.iter() {
        let Some(name) = text(k) else {
            return fail(format!("the field name {} is not a string", shown(k)));
        };
        let value = match v {
            Val::Bool(b) => FieldValue::Bool(*b),
            Val::TStr(_) => FieldValue::Text(text(v).unwrap_or_default()),
            Val::Num(n) => number(n).map_err(|e| format!("output {index}: field {name:?}: {e}"))?,
            other => {
                return fail(format!(
                    "field {name:?} is {}: a field is a number, a boolean or a string",
                    shown(other)
                ))
            }
        };
        if matches!(value, FieldValue::Float(f) if !f.is_finite()) {
            *left_out += 1;
            continue;
        }
        point.fields.insert(name, value);
    }
    if point.fields.is_empty() {
        return Ok(Shaped::Empty);
    }
    if point.time.is_none() {
        point = point.at(now);
    }
    Ok(Shaped::Point(point))
}

/// Unix seconds (integer or not) or an RFC 3339 text, as unix nanoseconds.
fn time_of(v: &Val) -> Result<i128, String> {
    const RANGE: std::ops::RangeInclusive<f64> = -9.2e9..=9.2e9;
    match v {
        Val::Num(n) => match number(n)? {
            FieldValue::Int(s) if RANGE.contains(&(s as f64)) => Ok(i128::from(s) * 1_000_000_000),
            FieldValue::Float(s) if RANGE.contains(&s) => Ok((s * 1e9).round() as i128),
            _ => Err(format!("time {} is out of range", shown(v))),
        },
        Val::TStr(_) => {
            let t = text(v).unwrap_or_default();
            OffsetDateTime::parse(&t, &Rfc3339)
                .map(OffsetDateTime::unix_timestamp_nanos)
                .map_err(|_| format!("time {} is neither unix seconds nor RFC 3339", shown(v)))
        }
        _ => Err(format!(
            "time {} is neither unix seconds nor RFC 3339",
            shown(v)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(json: &str) -> Result<(Option<Point>, usize), String> {
        let v = jaq_json::read::parse_single(json.as_bytes()).unwrap();
        let mut left = 0;
        let now = OffsetDateTime::from_unix_timestamp(100).unwrap();
        point(&v, 1, now, &mut left).map(|s| match s {
            Shaped::Point(p) => (Some(p), left),
            Shaped::Empty => (None, left),
        })
    }

    #[test]
    fn a_point_takes_its_types_and_times() {
        let (p, _) = shape(
            r#"{"measurement":"m","tags":{"a":"x"},"fields":{"i":5,"f":5.0,"b":true,"s":"t"}}"#,
        )
        .unwrap();
        let p = p.unwrap();
        assert_eq!(p.fields["i"], FieldValue::Int(5));
        assert_eq!(p.fields["f"], FieldValue::Float(5.0));
        assert_eq!(p.time, Some(100_000_000_000));
        let (p, _) =
            shape(r#"{"measurement":"m","fields":{"v":1},"time":"2026-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(p.unwrap().time, Some(1_767_225_600_000_000_000));
        let (p, _) = shape(r#"{"measurement":"m","fields":{"v":1},"time":1.5}"#).unwrap();
        assert_eq!(p.unwrap().time, Some(1_500_000_000));
    }

    #[test]
    fn bad_shapes_say_what_is_wrong() {
        for (json, says) in [
            ("5", "is not a point"),
            (r#"{"fields":{"v":1}}"#, "no measurement"),
            (r#"{"measurement":"m"}"#, "no fields"),
            (r#"{"measurement":"m","fields":{}}"#, "fields is empty"),
            (
                r#"{"measurement":"m","fields":{"v":1},"tags":{"a":1}}"#,
                "tags are strings",
            ),
            (
                r#"{"measurement":"m","fields":{"v":null}}"#,
                "field \"v\" is null",
            ),
            (
                r#"{"measurement":"m","fields":{"v":1},"extra":1}"#,
                "unknown key",
            ),
            (
                r#"{"measurement":"m","fields":{"v":1},"time":"yesterday"}"#,
                "RFC 3339",
            ),
            (
                r#"{"measurement":"m","fields":{"v":123456789012345678901234567890}}"#,
                "64-bit",
            ),
        ] {
            let err = shape(json).err().unwrap_or_else(|| panic!("{json} passed"));
            assert!(
                err.starts_with("output 1: ") && err.contains(says),
                "{json}: {err}"
            );
        }
        let long = format!(
            r#"{{"measurement":"m","fields":{{"v":"{}"}},"tags":[1]}}"#,
            "x".repeat(5000)
        );
        assert!(shape(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn non_finite_values_are_left_out_and_counted() {
        let v = jaq_json::read::parse_single(br#"{"measurement":"m","fields":{"a":1}}"#).unwrap();
        let Val::Obj(mut map) = v else { panic!() };
        let fields = Val::obj(
            [
                (Val::from("nan".to_string()), Val::from(f64::NAN)),
                (Val::from("inf".to_string()), Val::from(f64::INFINITY)),
                (Val::from("ok".to_string()), Val::from(1.5)),
            ]
            .into_iter()
            .collect(),
        );
        std::rc::Rc::make_mut(&mut map).insert(Val::from("fields".to_string()), fields);
        let mut left = 0;
        let now = OffsetDateTime::UNIX_EPOCH;
        let Shaped::Point(p) = point(&Val::Obj(map), 1, now, &mut left).unwrap() else {
            panic!()
        };
        assert_eq!((p.fields.len(), left), (1, 2));
        let (p, left) = shape(r#"{"measurement":"m","fields":{"a":1}}"#).unwrap();
        assert!(p.is_some() && left == 0);
    }
}
