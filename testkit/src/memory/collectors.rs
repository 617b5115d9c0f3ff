//! The collectors' point sink.

use std::sync::{Arc, Mutex};
use telltale::collectors::point::Point;
use telltale::collectors::ports::{PointSink, Written};
use telltale::collectors::types::{FieldType, StoredTypes};

/// Where points go: kept in memory, or refused.
#[derive(Clone, Default)]
pub struct MemorySink {
    points: Arc<Mutex<Vec<Point>>>,
    pub refusing: Arc<Mutex<Option<String>>>,
}

impl MemorySink {
    pub fn points(&self) -> Vec<Point> {
        self.points.lock().unwrap().clone()
    }
}

impl PointSink for MemorySink {
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    async fn write_points(&self, points: &[Point]) -> std::result::Result<Written, String> {
        if let Some(reason) = self.refusing.lock().unwrap().clone() {
            return Err(reason);
        }
        self.points.lock().unwrap().extend_from_slice(points);
        Ok(Written {
            points: points.len(),
            requests: usize::from(!points.is_empty()),
        })
    }

    /// The types of the points it holds, first value first, as InfluxDB pins them.
    async fn field_types(
        &self,
        measurements: &[String],
    ) -> std::result::Result<StoredTypes, String> {
        let mut types = StoredTypes::new();
        for p in self.points.lock().unwrap().iter() {
            if !measurements.contains(&p.measurement) {
                continue;
            }
            for (k, v) in &p.fields {
                types
                    .entry(p.measurement.clone())
                    .or_default()
                    .entry(k.clone())
                    .or_insert(FieldType::of(v));
            }
        }
        Ok(types)
    }
}
