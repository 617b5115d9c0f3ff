//! What the metric rules need from the outside world: Prometheus' instant query and the place
//! the mapping files are read from. Implemented on Prometheus' HTTP API and on S3, and in memory
//! in the testkit. Boxed futures, so a route, the push and a collector can all hold
//! them as `&dyn`.

use crate::base::error::Result;
use futures::future::BoxFuture;
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// What an instant query returned. Sample times are integer milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    Text(String),
}

pub trait PrometheusQuery: Send + Sync {
    /// Runs an instant query at `time` (unix seconds). No answer is a 503 naming Prometheus;
    /// an answer refusing the query is a 502 with Prometheus' own message.
    fn query<'a>(&'a self, promql: &'a str, time: i64) -> BoxFuture<'a, Result<QueryData>>;
}

/// Outcome of a conditional read of a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

pub trait MappingSource: Send + Sync {
    /// Where the files are, for log lines and messages (`s3://bucket`).
    fn place(&self) -> &str;

    /// Reads `key` unless its ETag is still `etag`. The error is a message fit for an operator:
    /// it names the file and what the store (or the network) said.
    fn fetch<'a>(
        &'a self,
        key: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched, String>>;
}
