//! The Pushgateway sink: `PUT /metrics/job/<job>/instance/<id>` replaces the group with the
//! source's samples (text format 0.0.4, LF line ends, no sample timestamps: the Pushgateway
//! refuses them). Prometheus scrapes it with `honor_labels: true`; the Pushgateway adds
//! `push_time_seconds` and `push_failure_time_seconds` per group.

use crate::adapters::timing;
use crate::base::env::{ConfigError, Env};
use crate::heartbeat::ports::{Beat, BeatSink};
use crate::heartbeat::source::plain_name;
use futures::future::BoxFuture;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushgatewayConfig {
    pub url: String,
    pub job: String,
}

impl PushgatewayConfig {
    /// `None` when `PUSHGATEWAY_URL` is not set.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.optional("PUSHGATEWAY_URL") else {
            return Ok(None);
        };
        let parsed = url::Url::parse(url.trim()).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https")) {
            return Err(ConfigError::Invalid {
                name: "PUSHGATEWAY_URL",
                value: url,
                reason: "use http(s)://host:port".into(),
            });
        }
        Ok(Some(Self {
            url: url.trim().trim_end_matches('/').to_string(),
            job: plain_name(
                "PUSHGATEWAY_JOB",
                env.or("PUSHGATEWAY_JOB", "telltale_heartbeat"),
            )?,
        }))
    }
}

/// The group's text.
pub fn body(beat: i64, periods: i64, now: OffsetDateTime) -> String {
    let seconds = now.unix_timestamp_nanos() as f64 / 1e9;
    format!(
        "# HELP telltale_heartbeat_source_beat The seed's heartbeat value: 1 in even periods, 0 in odd ones.\n\
         # TYPE telltale_heartbeat_source_beat gauge\n\
         telltale_heartbeat_source_beat {beat}\n\
         # HELP telltale_heartbeat_source_periods_total Heartbeat periods elapsed (unix time / period): rises by one each period while the source runs.\n\
         # TYPE telltale_heartbeat_source_periods_total counter\n\
         telltale_heartbeat_source_periods_total {periods}\n\
         # HELP telltale_heartbeat_source_timestamp_seconds When the source last beat.\n\
         # TYPE telltale_heartbeat_source_timestamp_seconds gauge\n\
         telltale_heartbeat_source_timestamp_seconds {seconds:.3}\n"
    )
}

pub struct Pushgateway {
    pub config: PushgatewayConfig,
    pub http: reqwest::Client,
}

impl BeatSink for Pushgateway {
    fn name(&self) -> &'static str {
        "pushgateway"
    }

    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(push(
            &self.http,
            &self.config,
            beat.source,
            beat.value,
            beat.periods,
            beat.at,
        ))
    }
}

async fn push(
    http: &reqwest::Client,
    config: &PushgatewayConfig,
    id: &str,
    beat: i64,
    periods: i64,
    now: OffsetDateTime,
) -> Result<(), String> {
    let url = format!("{}/metrics/job/{}/instance/{id}", config.url, config.job);
    let request = http
        .put(&url)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(body(beat, periods, now));
    let resp = timing::send("Pushgateway", "push", request)
        .await
        .map_err(|e| format!("Pushgateway not reachable: {}", e.without_url()))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    Err(format!(
        "Pushgateway answered HTTP {}: {}",
        status.as_u16(),
        text.trim()
    ))
}
