//! Prometheus' HTTP API (`/api/v1/query`), the one client of the bundle. Built once per cold
//! start; every call has a timeout.
//!
//! Errors: no answer (refused, timed out) is 503; an answer with `"status": "error"` (bad
//! query, execution error) is 502 carrying Prometheus' own message.

use crate::adapters::timing;
use crate::base::error::{Dependency, Error, Result};
use crate::metrics::ports::{Labels, PrometheusQuery, QueryData};
use futures::future::BoxFuture;
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone)]
pub struct Prometheus {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    max_response_bytes: usize,
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
            timeout,
            max_response_bytes: crate::metrics::config::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The client a function's `ValueConfig` describes.
    pub fn configured(config: &crate::metrics::config::ValueConfig) -> Self {
        Self::new(&config.prometheus_url, config.prometheus_timeout)
            .with_max_response_bytes(config.max_response_bytes)
    }

    /// Answers larger than `bytes` are refused (502) rather than read.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The body, read up to the limit.
    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<Vec<u8>> {
        let limit = self.max_response_bytes;
        let too_large = || {
            Error::bad_gateway(
                Dependency::Prometheus,
                format!("the answer is larger than {limit} bytes (PROMETHEUS_MAX_RESPONSE_BYTES); query a shorter range"),
            )
        };
        if resp.content_length().is_some_and(|n| n as usize > limit) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    tracing::warn!(prometheus = %self.base, error = %e, "reading Prometheus' answer failed");
                    return Err(Error::unavailable(
                        Dependency::Prometheus,
                        if e.is_timeout() {
                            "timed out"
                        } else {
                            "the answer broke off"
                        },
                    ));
                }
            }
        }
    }

    /// Runs an instant query at `time` (unix seconds).
    pub async fn query(&self, promql: &str, time: i64) -> Result<QueryData> {
        let url = format!("{}/api/v1/query", self.base);
        // Within what the invocation has left, so a slow Prometheus is a 503 we send, not a
        // gateway timeout.
        let timeout = crate::base::deadline::budget(self.timeout);
        let request = self
            .http
            .get(&url)
            .query(&[("query", promql), ("time", &time.to_string())])
            .timeout(timeout);
        let resp = timing::send("Prometheus", "query", request)
            .await
            .map_err(|e| {
                // The URL, the query and the causes are for the log; the caller learns which
                // dependency and what kind of failure.
                tracing::warn!(prometheus = %self.base, query = promql, error = %e, "Prometheus query failed");
                let what = if e.is_timeout() {
                    format!("timed out after {} ms", timeout.as_millis())
                } else {
                    "not reachable".to_string()
                };
                Error::unavailable(Dependency::Prometheus, what)
            })?;
        let status = resp.status();
        let body = self.read_capped(resp).await?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            Error::bad_gateway(
                Dependency::Prometheus,
                format!("HTTP {status}, answer not understood: {e}"),
            )
        })?;
        if envelope.status != "success" {
            // Prometheus' own words, without the query they may quote.
            let message = envelope
                .error
                .as_deref()
                .unwrap_or("no message")
                .replace(promql, "<query>");
            tracing::warn!(query = promql, error = %message, "Prometheus refused the query");
            let message: String = message.chars().take(300).collect();
            return Err(Error::bad_gateway(
                Dependency::Prometheus,
                format!(
                    "{}: {message}",
                    envelope.error_type.as_deref().unwrap_or("error"),
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

impl PrometheusQuery for Prometheus {
    fn query<'a>(&'a self, promql: &'a str, time: i64) -> BoxFuture<'a, Result<QueryData>> {
        Box::pin(Prometheus::query(self, promql, time))
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
