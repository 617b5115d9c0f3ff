//! Field types, pinned before anything is written. InfluxDB fixes a field's type at its first
//! write (per shard) and afterwards refuses a point of another type with `partial write: field
//! type conflict … dropped=N`, keeping the rest of the batch: a run that wrote half its points
//! and lost the other half. So every field's type is settled first, from (in order) the
//! collector's declared `fields:`, what InfluxDB already holds, and the first value of the
//! run; a point that would change a type fails the whole run before anything is written.
//!
//! One conversion is allowed, because it loses nothing and is what users mean: an integral
//! value for a float field is written as a float (`5` after `5.5` stays `5.0`, never `5i`).

use super::point::{FieldValue, Point};
use std::collections::BTreeMap;

/// InfluxDB's four field types, named as `SHOW FIELD KEYS` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Integer,
    Float,
    Boolean,
    String,
}

impl FieldType {
    pub fn parse(text: &str) -> Option<FieldType> {
        Some(match text {
            "integer" => FieldType::Integer,
            "float" => FieldType::Float,
            "boolean" => FieldType::Boolean,
            "string" => FieldType::String,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::String => "string",
        }
    }

    pub fn of(value: &FieldValue) -> FieldType {
        match value {
            FieldValue::Int(_) => FieldType::Integer,
            FieldValue::Float(_) => FieldType::Float,
            FieldValue::Bool(_) => FieldType::Boolean,
            FieldValue::Text(_) => FieldType::String,
        }
    }
}

/// Where a field's type was pinned, for the message that refuses a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinned {
    /// The collector's `fields:`.
    Declared,
    /// `SHOW FIELD KEYS` on the database written to.
    Stored,
    /// The first value of this run.
    FirstValue,
}

impl Pinned {
    fn says(self) -> &'static str {
        match self {
            Pinned::Declared => "declared in the collector's fields",
            Pinned::Stored => "as InfluxDB already holds it",
            Pinned::FirstValue => "as an earlier point of this run wrote it",
        }
    }
}

/// Field types per measurement, as InfluxDB reports them.
pub type StoredTypes = BTreeMap<String, BTreeMap<String, FieldType>>;

/// A point whose field would change type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field:?} of measurement {measurement:?} is {old} ({}), this run would write {new}; nothing was written", .pinned.says())]
pub struct TypeConflict {
    pub measurement: String,
    pub field: String,
    pub old: &'static str,
    pub new: &'static str,
    pub pinned: Pinned,
}

/// Settles every field's type over the run's points, converting integral values of float
/// fields; the first conflict is returned and no point should then be written.
pub fn settle(
    points: &mut [Point],
    declared: &BTreeMap<String, FieldType>,
    stored: &StoredTypes,
) -> Result<(), TypeConflict> {
    let mut first: BTreeMap<(String, String), FieldType> = BTreeMap::new();
    for point in points.iter_mut() {
        for (field, value) in point.fields.iter_mut() {
            let pin = declared
                .get(field)
                .map(|t| (*t, Pinned::Declared))
                .or_else(|| {
                    stored
                        .get(&point.measurement)
                        .and_then(|m| m.get(field))
                        .map(|t| (*t, Pinned::Stored))
                })
                .or_else(|| {
                    first
                        .get(&(point.measurement.clone(), field.clone()))
                        .map(|t| (*t, Pinned::FirstValue))
                });
            let Some((want, pinned)) = pin else {
                first.insert(
                    (point.measurement.clone(), field.clone()),
                    FieldType::of(value),
                );
                continue;
            };
            let have = FieldType::of(value);
            if have == want {
                continue;
            }
            match (want, &*value) {
                (FieldType::Float, FieldValue::Int(i)) => *value = FieldValue::Float(*i as f64),
                _ => {
                    return Err(TypeConflict {
                        measurement: point.measurement.clone(),
                        field: field.clone(),
                        old: want.as_str(),
                        new: have.as_str(),
                        pinned,
                    })
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: impl Into<FieldValue>) -> Point {
        Point::new("m").field("f", v)
    }

    #[test]
    fn an_integer_after_a_float_stays_a_float() {
        let mut points = vec![p(5.5), p(5i64)];
        settle(&mut points, &BTreeMap::new(), &StoredTypes::new()).unwrap();
        assert_eq!(points[1].fields["f"], FieldValue::Float(5.0));
    }

    #[test]
    fn a_float_after_an_integer_is_refused_naming_both_types() {
        let mut points = vec![p(5i64), p(5.5)];
        let err = settle(&mut points, &BTreeMap::new(), &StoredTypes::new()).unwrap_err();
        assert_eq!((err.old, err.new), ("integer", "float"));
        assert!(err.to_string().contains("\"f\" of measurement \"m\""));
    }

    #[test]
    fn declared_types_win_then_stored_ones() {
        let declared = BTreeMap::from([("f".to_string(), FieldType::Float)]);
        let stored = StoredTypes::from([(
            "m".to_string(),
            BTreeMap::from([("f".to_string(), FieldType::Integer)]),
        )]);
        let mut points = vec![p(1i64)];
        settle(&mut points, &declared, &stored).unwrap();
        assert_eq!(points[0].fields["f"], FieldValue::Float(1.0));
        let mut points = vec![p(1.5)];
        let err = settle(&mut points, &BTreeMap::new(), &stored).unwrap_err();
        assert_eq!(err.pinned, Pinned::Stored);
        let mut points = vec![p("x")];
        let err = settle(&mut points, &declared, &stored).unwrap_err();
        assert_eq!(
            (err.old, err.new, err.pinned),
            ("float", "string", Pinned::Declared)
        );
    }

    #[test]
    fn types_are_per_measurement() {
        let mut points = vec![p(1i64), Point::new("n").field("f", "text")];
        settle(&mut points, &BTreeMap::new(), &StoredTypes::new()).unwrap();
    }
}
