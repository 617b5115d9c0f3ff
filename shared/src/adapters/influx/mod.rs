//! The InfluxDB sink: line protocol over HTTP, to the 1.x or the 2.x write API.
//!
//! - Every point is encoded before anything is sent: a point that cannot be written (NaN, no
//!   fields, ...) fails the write and nothing is sent.
//! - At most `batch_size` (≤ 5,000) points per request, with the precision named explicitly.
//! - TLS certificates are verified unless `INFLUXDB_INSECURE_SKIP_VERIFY` is set, which is
//!   logged as a warning at every write.
//! - A non-2xx answer is an error carrying InfluxDB's own message. A 5xx, a 429 or a network
//!   failure is retried with doubling delays (a `Retry-After` is honoured), a bounded number of
//!   times. Points carry explicit times, so a retried batch overwrites rather than duplicates.

pub mod config;

use crate::adapters::timing;
use crate::base::env::{ConfigError, Secret};
use crate::collectors::line::{encode, LineError};
use crate::collectors::point::Point;
use crate::collectors::ports::PointSink;
pub use crate::collectors::ports::Written;
use crate::collectors::types::{FieldType, StoredTypes};
use crate::heartbeat::ports::{Beat, BeatSink};
use config::{Api, InfluxConfig};
use futures::future::BoxFuture;
use std::time::Duration;

/// The longest wait a `Retry-After` may ask for before the next attempt.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum InfluxError {
    #[error(transparent)]
    Encode(#[from] LineError),
    #[error("InfluxDB refused the write (HTTP {status}): {message}{}", written_note(*.written))]
    Refused {
        status: u16,
        message: String,
        written: usize,
    },
    /// InfluxDB kept some points of a batch and dropped the others (a field-type conflict, a
    /// point outside the retention policy).
    #[error("InfluxDB dropped {dropped} point(s) of the write (HTTP {status}): {message}{}", written_note(*.written))]
    Partial {
        status: u16,
        dropped: u64,
        message: String,
        written: usize,
    },
    #[error("InfluxDB unavailable after {attempts} attempt(s): {message}{}", written_note(*.written))]
    Unavailable {
        attempts: u32,
        message: String,
        written: usize,
    },
}

fn written_note(written: usize) -> String {
    if written == 0 {
        String::new()
    } else {
        format!(" ({written} point(s) of earlier batches were written)")
    }
}

enum Auth {
    None,
    Basic(String, Option<Secret>),
    Token(Secret),
}

pub struct InfluxSink {
    http: reqwest::Client,
    config: InfluxConfig,
    endpoint: String,
    params: Vec<(&'static str, String)>,
    auth: Auth,
}

impl InfluxSink {
    /// Builds the client once per cold start, reading secret parameters from SSM.
    pub async fn connect(
        config: InfluxConfig,
        ssm: &aws_sdk_ssm::Client,
    ) -> Result<Self, ConfigError> {
        let precision = config.precision.as_str().to_string();
        let (endpoint, params, auth) = match &config.api {
            Api::V1 {
                database,
                retention_policy,
                username,
                password,
            } => {
                let mut params = vec![("db", database.clone())];
                if let Some(rp) = retention_policy {
                    params.push(("rp", rp.clone()));
                }
                params.push(("precision", precision));
                let password = match password {
                    Some(p) => Some(crate::adapters::aws::ssm::resolve(p.clone(), ssm).await?),
                    None => None,
                };
                let auth = match username {
                    Some(u) => Auth::Basic(u.clone(), password),
                    None => Auth::None,
                };
                (format!("{}/write", config.url), params, auth)
            }
            Api::V2 { org, bucket, token } => (
                format!("{}/api/v2/write", config.url),
                vec![
                    ("org", org.clone()),
                    ("bucket", bucket.clone()),
                    ("precision", precision),
                ],
                Auth::Token(crate::adapters::aws::ssm::resolve(token.clone(), ssm).await?),
            ),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .danger_accept_invalid_certs(config.insecure_skip_verify)
            .build()
            .map_err(|e| ConfigError::Invalid {
                name: "INFLUXDB_URL",
                value: config.url.clone(),
                reason: format!("no HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            config,
            endpoint,
            params,
            auth,
        })
    }

    pub fn config(&self) -> &InfluxConfig {
        &self.config
    }

    /// Said at every run while certificate checks are off.
    pub fn warnings(&self) -> Vec<String> {
        if self.config.insecure_skip_verify {
            vec![format!(
                "TLS certificate verification for InfluxDB at {} is OFF (INFLUXDB_INSECURE_SKIP_VERIFY); use it for self-signed test servers only",
                self.config.url
            )]
        } else {
            Vec::new()
        }
    }

    /// Writes every point, in batches; nothing is sent if any point cannot be encoded.
    pub async fn write(&self, points: &[Point]) -> Result<Written, InfluxError> {
        for warning in self.warnings() {
            tracing::warn!("{warning}");
        }
        let bodies = points
            .chunks(self.config.batch_size)
            .map(|chunk| encode(chunk, self.config.precision).map(|body| (chunk.len(), body)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut written = Written::default();
        for (count, body) in bodies {
            self.send(body, written.points).await?;
            written.points += count;
            written.requests += 1;
        }
        Ok(written)
    }

    async fn send(&self, body: String, written: usize) -> Result<(), InfluxError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .post(&self.endpoint)
                .query(&self.params)
                .header("content-type", "text/plain; charset=utf-8")
                .body(body.clone());
            req = match &self.auth {
                Auth::None => req,
                Auth::Basic(user, password) => {
                    req.basic_auth(user, password.as_ref().map(Secret::expose))
                }
                Auth::Token(token) => {
                    req.header("authorization", format!("Token {}", token.expose()))
                }
            };
            let (retryable, message, delay) = match timing::send("InfluxDB", "write", req).await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let message = server_message(&resp.text().await.unwrap_or_default());
                    if let Some(dropped) = dropped(&message) {
                        return Err(InfluxError::Partial {
                            status,
                            dropped,
                            message,
                            written,
                        });
                    }
                    if !(status == 429 || status >= 500) {
                        return Err(InfluxError::Refused {
                            status,
                            message,
                            written,
                        });
                    }
                    (true, format!("HTTP {status}: {message}"), retry_after)
                }
                Err(e) => (true, transport_message(&e), None),
            };
            if !retryable || attempt > self.config.retries {
                return Err(InfluxError::Unavailable {
                    attempts: attempt,
                    message,
                    written,
                });
            }
            let backoff = self.config.retry_base * 2u32.saturating_pow(attempt - 1);
            let delay = delay.unwrap_or(backoff).min(MAX_RETRY_DELAY);
            tracing::info!(attempt, ?delay, reason = %message, "InfluxDB write failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// InfluxDB 1.x's `partial write: … dropped=N`: how many points it did not keep.
fn dropped(message: &str) -> Option<u64> {
    if !message.contains("partial write") {
        return None;
    }
    let after = &message[message.rfind("dropped=")? + "dropped=".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl InfluxSink {
    /// `SHOW FIELD KEYS` for each measurement, in one request (1.x; also InfluxDB 2's 1.x
    /// query API where a DBRP mapping exists). A 2.x sink without it knows nothing stored.
    pub async fn stored_types(&self, measurements: &[String]) -> Result<StoredTypes, InfluxError> {
        let Api::V1 { database, .. } = &self.config.api else {
            return Ok(StoredTypes::new());
        };
        if measurements.is_empty() {
            return Ok(StoredTypes::new());
        }
        let q = measurements
            .iter()
            .map(|m| {
                format!(
                    "SHOW FIELD KEYS FROM \"{}\"",
                    m.replace('\\', "\\\\").replace('"', "\\\"")
                )
            })
            .collect::<Vec<_>>()
            .join(";");
        let mut req = self
            .http
            .get(format!("{}/query", self.config.url))
            .query(&[("db", database.as_str()), ("q", q.as_str())]);
        if let Auth::Basic(user, password) = &self.auth {
            req = req.basic_auth(user, password.as_ref().map(Secret::expose));
        }
        let unavailable = |message: String| InfluxError::Unavailable {
            attempts: 1,
            message,
            written: 0,
        };
        let resp = timing::send("InfluxDB", "show field keys", req)
            .await
            .map_err(|e| unavailable(transport_message(&e)))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(InfluxError::Refused {
                status,
                message: server_message(&body),
                written: 0,
            });
        }
        Ok(field_keys(measurements, &body))
    }
}

/// The types in a `SHOW FIELD KEYS` answer, one statement per measurement. A field listed
/// twice (two shards that disagree) keeps its first type.
fn field_keys(measurements: &[String], body: &str) -> StoredTypes {
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let mut out = StoredTypes::new();
    let results = parsed["results"].as_array().cloned().unwrap_or_default();
    for (measurement, result) in measurements.iter().zip(results) {
        for series in result["series"].as_array().into_iter().flatten() {
            for row in series["values"].as_array().into_iter().flatten() {
                let (Some(field), Some(kind)) =
                    (row[0].as_str(), row[1].as_str().and_then(FieldType::parse))
                else {
                    continue;
                };
                out.entry(measurement.clone())
                    .or_default()
                    .entry(field.to_string())
                    .or_insert(kind);
            }
        }
    }
    out
}

/// InfluxDB's own words: 1.x answers `{"error": ...}`, 2.x `{"code": ..., "message": ...}`.
impl PointSink for InfluxSink {
    fn warnings(&self) -> Vec<String> {
        InfluxSink::warnings(self)
    }

    async fn write_points(&self, points: &[Point]) -> Result<Written, String> {
        self.write(points).await.map_err(|e| e.to_string())
    }

    async fn field_types(&self, measurements: &[String]) -> Result<StoredTypes, String> {
        self.stored_types(measurements)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The heartbeat source's InfluxDB sink: `telltale_heartbeat,source=<id> beat=<0|1>,periods=<n>`.
impl BeatSink for InfluxSink {
    fn name(&self) -> &'static str {
        "influxdb"
    }

    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, Result<(), String>> {
        let point = Point::new("telltale_heartbeat")
            .tag("source", beat.source)
            .field("beat", beat.value)
            .field("periods", beat.periods)
            .at(beat.at);
        Box::pin(async move {
            self.write(&[point])
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

fn server_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        v["error"]
            .as_str()
            .or_else(|| v["message"].as_str())
            .map(str::to_string)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let text = if text.is_empty() {
        "no message".to_string()
    } else {
        text
    };
    // A rejected batch can echo long lines back; the first part says what was wrong.
    match text.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The transport failure and its causes (refused, timed out, certificate not trusted).
fn transport_message(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        "not reachable".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_influxdbs_own() {
        assert_eq!(
            server_message(r#"{"error":"database not found: \"x\""}"#),
            "database not found: \"x\""
        );
        assert_eq!(
            server_message(r#"{"code":"unauthorized","message":"unauthorized access"}"#),
            "unauthorized access"
        );
        assert_eq!(server_message("  "), "no message");
        assert_eq!(server_message(&"x".repeat(600)).chars().count(), 501);
    }

    #[test]
    fn a_partial_write_says_how_many_points_were_dropped() {
        let m = r#"partial write: field type conflict: input field "count" on measurement "q" is type float, already exists as type integer dropped=3"#;
        assert_eq!(dropped(m), Some(3));
        assert_eq!(dropped("unable to parse 'x': missing fields"), None);
    }

    #[test]
    fn field_keys_are_read_per_measurement() {
        let body = r#"{"results":[{"statement_id":0,"series":[{"name":"a","columns":["fieldKey","fieldType"],"values":[["n","integer"],["f","float"],["n","float"]]}]},{"statement_id":1}]}"#;
        let types = field_keys(&["a".into(), "b".into()], body);
        assert_eq!(types["a"]["n"], FieldType::Integer);
        assert_eq!(types["a"]["f"], FieldType::Float);
        assert!(!types.contains_key("b"));
    }
}
