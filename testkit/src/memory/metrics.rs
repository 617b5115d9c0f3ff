//! Prometheus and the mapping files.

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use telltale::base::error::{Dependency, Error, Result};
use telltale::metrics::ports::{Fetched, MappingSource, PrometheusQuery, QueryData};

/// Prometheus answering from a table of queries; an unknown query is an empty vector, as
/// Prometheus answers for a series that does not exist.
#[derive(Clone, Default)]
pub struct MemoryPrometheus {
    answers: Arc<Mutex<HashMap<String, QueryData>>>,
    asked: Arc<Mutex<Vec<(String, i64)>>>,
    pub down: Arc<Mutex<bool>>,
}

impl MemoryPrometheus {
    /// `promql` answers `value` as a one-sample vector.
    pub fn with(self, promql: &str, value: f64) -> Self {
        self.answer(promql, QueryData::Vector(vec![(Default::default(), value)]))
    }

    pub fn answer(self, promql: &str, data: QueryData) -> Self {
        self.answers.lock().unwrap().insert(promql.into(), data);
        self
    }

    /// Every query asked, with its time, in order.
    pub fn asked(&self) -> Vec<(String, i64)> {
        self.asked.lock().unwrap().clone()
    }
}

impl PrometheusQuery for MemoryPrometheus {
    fn query<'a>(&'a self, promql: &'a str, time: i64) -> BoxFuture<'a, Result<QueryData>> {
        self.asked.lock().unwrap().push((promql.into(), time));
        let answer = if *self.down.lock().unwrap() {
            Err(Error::unavailable(Dependency::Prometheus, "not reachable"))
        } else {
            Ok(self
                .answers
                .lock()
                .unwrap()
                .get(promql)
                .cloned()
                .unwrap_or(QueryData::Vector(Vec::new())))
        };
        Box::pin(async move { answer })
    }
}

/// A stored file: its bytes and its ETag.
type File = (Vec<u8>, String);

/// A bucket of mapping files with ETags (a new ETag per upload) and conditional reads.
#[derive(Clone, Default)]
pub struct MemoryMappings {
    files: Arc<Mutex<HashMap<String, File>>>,
    uploads: Arc<Mutex<u64>>,
    reads: Arc<Mutex<u64>>,
    pub down: Arc<Mutex<bool>>,
}

impl MemoryMappings {
    pub fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        let mut n = self.uploads.lock().unwrap();
        *n += 1;
        self.files
            .lock()
            .unwrap()
            .insert(key.into(), (body.into(), format!("\"etag-{n}\"")));
    }

    /// How many reads sent a body (not "not modified").
    pub fn reads(&self) -> u64 {
        *self.reads.lock().unwrap()
    }
}

impl MappingSource for MemoryMappings {
    fn place(&self) -> &str {
        "memory://mappings"
    }

    fn fetch<'a>(
        &'a self,
        key: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, std::result::Result<Fetched, String>> {
        let answer = if *self.down.lock().unwrap() {
            Err(format!("{key}: not reachable"))
        } else {
            match self.files.lock().unwrap().get(key) {
                None => Err(format!("{key}: NoSuchKey (no such object)")),
                Some((_, tag)) if Some(tag.as_str()) == etag => Ok(Fetched::NotModified),
                Some((bytes, tag)) => {
                    *self.reads.lock().unwrap() += 1;
                    Ok(Fetched::Body {
                        bytes: bytes.clone(),
                        etag: Some(tag.clone()),
                        last_modified: None,
                    })
                }
            }
        };
        Box::pin(async move { answer })
    }
}
