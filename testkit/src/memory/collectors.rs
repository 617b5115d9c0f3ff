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

/// Documents by URL, in memory: each `http(s)://host/path` answered from
/// `tests/fixtures/collectors/host/path`, or refused with a message.
#[derive(Default)]
pub struct MemoryDocuments {
    pub refused: Mutex<std::collections::HashMap<String, String>>,
    pub requests: Mutex<Vec<String>>,
}

impl telltale::collectors::ports::Documents for MemoryDocuments {
    fn get<'a>(
        &'a self,
        request: &'a telltale::collectors::ports::DocumentRequest,
    ) -> futures::future::BoxFuture<'a, std::result::Result<Vec<u8>, String>> {
        Box::pin(async move {
            self.requests.lock().unwrap().push(request.url.clone());
            if let Some(reason) = self.refused.lock().unwrap().get(&request.url) {
                return Err(reason.clone());
            }
            let path = request
                .url
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or_default();
            std::fs::read(crate::documents::fixtures().join(path))
                .map_err(|_| format!("GET {}: HTTP 404: 404 page not found", request.url))
        })
    }
}
