//! What a collector returns: InfluxDB points, as the seed's `write_points()` took them, but
//! typed: a measurement, tags (kept sorted by key, InfluxDB's own order), typed fields and an
//! optional time.

use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A field value. InfluxDB 1.x has no unsigned type, so counts are `Int`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}

impl From<usize> for FieldValue {
    fn from(v: usize) -> Self {
        FieldValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::Float(v)
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}

impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::Text(v.to_string())
    }
}

impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue::Text(v)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub measurement: String,
    pub tags: BTreeMap<String, String>,
    pub fields: BTreeMap<String, FieldValue>,
    /// Unix nanoseconds; `None` lets the server stamp it. Collectors stamp their points with
    /// the collection time, so a retried write overwrites the same points instead of adding
    /// new ones.
    pub time: Option<i128>,
}

impl Point {
    pub fn new(measurement: impl Into<String>) -> Self {
        Point {
            measurement: measurement.into(),
            tags: BTreeMap::new(),
            fields: BTreeMap::new(),
            time: None,
        }
    }

    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    pub fn field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Adds the field only when there is a value (e.g. the age of the oldest of zero items).
    pub fn field_opt(self, key: impl Into<String>, value: Option<impl Into<FieldValue>>) -> Self {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    pub fn at(mut self, t: OffsetDateTime) -> Self {
        self.time = Some(t.unix_timestamp_nanos());
        self
    }
}
