//! Prometheus' HTTP API (`/api/v1/query`), the one client of the bundle. Built once per cold
//! start; every call has a timeout.
//!
//! Errors: no answer (refused, timed out) is 503; an answer with `"status": "error"` (bad
//! query, execution error) is 502 carrying Prometheus' own message.

use crate::error::{Dependency, Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub type Labels = BTreeMap<String, String>;

/// What an instant query returned. Sample times are integer milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    Text(String),
}

pub struct Prometheus {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Scalar((f64, String)),
    String((f64, String)),
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
}

#[derive(Deserialize)]
struct VectorItem {
    metric: Labels,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: Labels,
    values: Vec<(f64, String)>,
}

/// Prometheus writes sample values as strings, including `NaN`, `+Inf` and `-Inf`.
fn number(s: &str) -> Result<f64> {
    s.parse::<f64>().map_err(|_| {
        Error::bad_gateway(
            Dependency::Prometheus,
            format!("sample value {s:?} is not a number"),
        )
    })
}

/// Seconds with a fraction, as Prometheus writes timestamps, to integer milliseconds.
pub fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

impl Prometheus {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// Runs an instant query at `time` (unix seconds).
    pub async fn query(&self, promql: &str, time: i64) -> Result<QueryData> {
        let url = format!("{}/api/v1/query", self.base);
        let resp = self
            .http
            .get(&url)
            .query(&[("query", promql), ("time", &time.to_string())])
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "timed out"
                } else {
                    "not reachable"
                };
                Error::unavailable(Dependency::Prometheus, format!("{} {what}: {e}", self.base))
            })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            Error::unavailable(
                Dependency::Prometheus,
                format!("reading the answer failed: {e}"),
            )
        })?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            Error::bad_gateway(
                Dependency::Prometheus,
                format!("HTTP {status}, answer not understood: {e}"),
            )
        })?;
        if envelope.status != "success" {
            return Err(Error::bad_gateway(
                Dependency::Prometheus,
                format!(
                    "{}: {}",
                    envelope.error_type.as_deref().unwrap_or("error"),
                    envelope.error.as_deref().unwrap_or("no message")
                ),
            ));
        }
        let data = envelope
            .data
            .ok_or_else(|| Error::bad_gateway(Dependency::Prometheus, "success without data"))?;
        Ok(match data {
            Data::Scalar((_, v)) => QueryData::Scalar(number(&v)?),
            Data::String((_, s)) => QueryData::Text(s),
            Data::Vector(items) => QueryData::Vector(
                items
                    .into_iter()
                    .map(|i| Ok((i.metric, number(&i.value.1)?)))
                    .collect::<Result<_>>()?,
            ),
            Data::Matrix(items) => QueryData::Matrix(
                items
                    .into_iter()
                    .map(|i| {
                        let values = i
                            .values
                            .iter()
                            .map(|(t, v)| Ok((millis(*t), number(v)?)))
                            .collect::<Result<_>>()?;
                        Ok((i.metric, values))
                    })
                    .collect::<Result<_>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_and_times() {
        assert!(number("NaN").unwrap().is_nan());
        assert_eq!(number("+Inf").unwrap(), f64::INFINITY);
        assert_eq!(number("-Inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(number("1.5e3").unwrap(), 1500.0);
        assert!(number("x").is_err());
        assert_eq!(millis(1_700_000_000.123), 1_700_000_000_123);
        assert_eq!(millis(1_700_000_000.0), 1_700_000_000_000);
    }
}
