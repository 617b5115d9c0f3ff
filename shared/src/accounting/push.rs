//! Which metrics are pushed, for which period, and how each push ends.
//!
//! Every resource with an `eoscInstallationId` and every metric of it with an
//! `eoscMetricDefinitionId` is pushed; its value is computed at the push time by the same code
//! as `GET .../value`. A metric without a query is reported and skipped. Each metric is pushed
//! on its own, a few at a time: a 5xx or 429 is retried with backoff, a 401 refreshes the token
//! once and retries, another 4xx is recorded and the others go on. Every outcome is recorded, so
//! a re-run for the same push time pushes nothing twice.

use super::config::{AccountingConfig, PeriodMode};
use super::model::{push_key, PushState};
use super::ports::{AccountingService, AccountingStore, TokenGrant};
use super::service::{post_metric, Remote};
use super::token::RunToken;
use crate::base::error::Result;
use crate::metrics::mappings::{MetadataMappings, MetricsMappings};
use crate::metrics::ports::PrometheusQuery;
use crate::metrics::value::compute;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A push claim lapses after this, so a crashed run does not block the period forever.
const LEASE_SECONDS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub resource: String,
    pub metric: String,
    pub installation: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pushed {
    pub resource: String,
    pub metric: String,
    pub time_period_start: String,
    pub time_period_end: String,
    pub value: f64,
    pub metric_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotPushed {
    pub resource: String,
    pub metric: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub pushed: Vec<Pushed>,
    pub skipped: Vec<NotPushed>,
    pub failed: Vec<NotPushed>,
}

impl Summary {
    pub fn line(&self) -> String {
        format!(
            "accounting push: {} pushed, {} skipped, {} failed",
            self.pushed.len(),
            self.skipped.len(),
            self.failed.len()
        )
    }
}

/// UTC, Zulu, whole seconds, as the accounting service wants them.
pub fn zulu(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The metrics to push, and those skipped because they have no query.
pub fn select(
    metadata: &MetadataMappings,
    metrics: &MetricsMappings,
) -> (Vec<Target>, Vec<NotPushed>) {
    let (mut targets, mut skipped) = (Vec::new(), Vec::new());
    for (resource, r) in metadata {
        let Some(installation) = &r.eosc_installation_id else {
            continue;
        };
        for (metric, m) in &r.metrics {
            let Some(definition) = &m.eosc_metric_definition_id else {
                continue;
            };
            if metrics.get(resource).and_then(|q| q.get(metric)).is_none() {
                skipped.push(NotPushed {
                    resource: resource.clone(),
                    metric: metric.clone(),
                    reason: "no query for it in metrics_mappings.json".into(),
                });
                continue;
            }
            targets.push(Target {
                resource: resource.clone(),
                metric: metric.clone(),
                installation: installation.clone(),
                definition: definition.clone(),
            });
        }
    }
    // The mappings are hash maps; push (and report) in id order so runs are reproducible.
    targets.sort_unstable_by(|a, b| (&a.resource, &a.metric).cmp(&(&b.resource, &b.metric)));
    skipped.sort_unstable_by(|a, b| (&a.resource, &a.metric).cmp(&(&b.resource, &b.metric)));
    (targets, skipped)
}

/// One request the push would send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub url: String,
    pub body: Value,
}

pub struct Pusher<'a> {
    pub service: &'a dyn AccountingService,
    pub grant: &'a dyn TokenGrant,
    pub config: &'a AccountingConfig,
    pub table: &'a dyn AccountingStore,
    pub prometheus: &'a dyn PrometheusQuery,
    pub range_start: i64,
}

enum Outcome {
    Pushed(Pushed),
    Skipped(NotPushed),
    Failed(NotPushed),
}

impl Pusher<'_> {
    fn url(&self, installation: &str) -> String {
        format!(
            "{}/accounting-system/installations/{installation}/metrics",
            self.config.base_url
        )
    }

    /// The period of a metric pushed at `end`.
    async fn start_of(&self, t: &Target) -> Result<i64> {
        Ok(match self.config.period_mode {
            PeriodMode::Cumulative => self.range_start,
            PeriodMode::Incremental => self
                .table
                .last_end(&t.installation, &t.definition)
                .await?
                .unwrap_or(self.range_start),
        })
    }

    /// What a push at `end` would send, without sending or recording anything.
    pub async fn dry_run(
        &self,
        metadata: &MetadataMappings,
        metrics: &MetricsMappings,
        end: i64,
    ) -> Result<(Vec<Request>, Vec<NotPushed>)> {
        let (targets, mut skipped) = select(metadata, metrics);
        let mut requests = Vec::new();
        for t in targets {
            let start = self.start_of(&t).await?;
            match compute(metrics, self.prometheus, self.range_start, &t.resource, &t.metric, end).await {
                Ok(v) => requests.push(Request {
                    url: self.url(&t.installation),
                    body: json!({"metric_definition_id": t.definition, "time_period_start": zulu(start), "time_period_end": zulu(end), "value": v.value}),
                }),
                Err(e) => skipped.push(NotPushed { resource: t.resource, metric: t.metric, reason: e.to_string() }),
            }
        }
        Ok((requests, skipped))
    }

    /// Pushes every selected metric for the period ending at `end` (unix seconds).
    pub async fn run(
        &self,
        metadata: &MetadataMappings,
        metrics: &MetricsMappings,
        end: i64,
    ) -> Summary {
        let (targets, skipped) = select(metadata, metrics);
        let mut summary = Summary {
            skipped,
            ..Summary::default()
        };
        // One access token for the run, read once and reused while it is valid.
        let token = RunToken::default();
        let outcomes: Vec<Outcome> = futures::stream::iter(targets)
            .map(|t| self.push_one(metrics, t, end, &token))
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        for o in outcomes {
            match o {
                Outcome::Pushed(p) => summary.pushed.push(p),
                Outcome::Skipped(s) => summary.skipped.push(s),
                Outcome::Failed(f) => summary.failed.push(f),
            }
        }
        let order = |r: &str, m: &str| (r.to_string(), m.to_string());
        summary
            .pushed
            .sort_by_key(|p| order(&p.resource, &p.metric));
        summary
            .skipped
            .sort_by_key(|p| order(&p.resource, &p.metric));
        summary
            .failed
            .sort_by_key(|p| order(&p.resource, &p.metric));
        summary
    }

    async fn push_one(
        &self,
        metrics: &MetricsMappings,
        t: Target,
        end: i64,
        token: &RunToken,
    ) -> Outcome {
        let not = |reason: String| NotPushed {
            resource: t.resource.clone(),
            metric: t.metric.clone(),
            reason,
        };
        let start = match self.start_of(&t).await {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(not(e.to_string())),
        };
        if start >= end {
            return Outcome::Skipped(not(format!(
                "nothing new: the last push already ended at {}",
                zulu(start)
            )));
        }
        let (from, to) = (zulu(start), zulu(end));
        let key = push_key(&t.installation, &t.definition, &from, &to);
        let now = OffsetDateTime::now_utc();
        if let Some(refused) = self.claim(&key, &from, &to, now).await {
            return refused.map_or_else(|e| Outcome::Failed(not(e)), |s| Outcome::Skipped(not(s)));
        }
        let at = crate::base::time::timestamp(now);
        let computed = compute(
            metrics,
            self.prometheus,
            self.range_start,
            &t.resource,
            &t.metric,
            end,
        );
        let value = match computed.await {
            Ok(v) => v.value,
            Err(e) => {
                let reason = format!("value not computed: {e}");
                self.failed(&t, &key, None, &reason, &at).await;
                return Outcome::Failed(not(reason));
            }
        };
        let body = json!({"metric_definition_id": t.definition, "time_period_start": from, "time_period_end": to, "value": value});
        let remote = Remote {
            service: self.service,
            grant: self.grant,
            table: self.table,
            config: self.config,
        };
        match post_metric(remote, token, &self.url(&t.installation), &body).await {
            Ok(metric_id) => {
                if let Err(e) = self.pushed(&t, &key, value, &metric_id, end, &at).await {
                    // Pushed, but not recorded: say so rather than hide it.
                    return Outcome::Failed(not(format!(
                        "pushed as {metric_id}, but not recorded: {e}"
                    )));
                }
                tracing::debug!(resource = %t.resource, metric = %t.metric, %metric_id, value, "pushed");
                Outcome::Pushed(Pushed {
                    resource: t.resource,
                    metric: t.metric,
                    time_period_start: from,
                    time_period_end: to,
                    value,
                    metric_id,
                })
            }
            Err(reason) => {
                tracing::warn!(resource = %t.resource, metric = %t.metric, %reason, "push failed");
                self.failed(&t, &key, Some(value), &reason, &at).await;
                Outcome::Failed(not(reason))
            }
        }
    }

    /// Claims the push of this period; `None` when it is ours, else why not: `Ok` to skip it
    /// (pushed already, or another run holds it), `Err` when the table could not say.
    /// Claiming first makes the common case one round trip; the record is read only to say
    /// why a claim was refused.
    async fn claim(
        &self,
        key: &str,
        from: &str,
        to: &str,
        now: OffsetDateTime,
    ) -> Option<std::result::Result<String, String>> {
        match self
            .table
            .claim(key, now.unix_timestamp(), LEASE_SECONDS)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(Ok(match self.table.record(key).await {
                Ok(Some(r)) if r.state == PushState::Pushed => format!(
                    "already pushed for {from}..{to} (metric_id {})",
                    r.metric_id.unwrap_or_default()
                ),
                _ => "another run is pushing it right now".into(),
            })),
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Records a push that went out: its outcome, the end of its period, the metric's latest
    /// outcome. Three independent items, written together: one round trip of waiting.
    async fn pushed(
        &self,
        t: &Target,
        key: &str,
        value: f64,
        metric_id: &str,
        end: i64,
        at: &str,
    ) -> Result<()> {
        let (recorded, last, ()) = tokio::join!(
            self.table
                .finish(key, true, Some(value), Some(metric_id), None, at),
            self.table.set_last_end(&t.installation, &t.definition, end),
            self.note(t, true, Some(value), None, at),
        );
        recorded.and(last)
    }

    /// Records a push that failed, so the next run for the same time tries it again. Losing
    /// the record only loses that retry's explanation, so a failure to write it is logged.
    async fn failed(&self, t: &Target, key: &str, value: Option<f64>, reason: &str, at: &str) {
        if let Err(e) = self
            .table
            .finish(key, false, value, None, Some(reason), at)
            .await
        {
            tracing::warn!(resource = %t.resource, metric = %t.metric, error = %e, "failed push not recorded");
        }
        self.note(t, false, value, Some(reason), at).await;
    }

    /// Keeps the metric's latest outcome for the `accounting_push` collector. Losing it only
    /// makes that figure stale, so a failure is logged, not raised.
    async fn note(
        &self,
        t: &Target,
        pushed: bool,
        value: Option<f64>,
        reason: Option<&str>,
        at: &str,
    ) {
        if let Err(e) = self
            .table
            .record_outcome(&t.installation, &t.definition, pushed, value, reason, at)
            .await
        {
            tracing::warn!(resource = %t.resource, metric = %t.metric, error = %e, "push outcome not recorded");
        }
    }
}

/// The push time of a scheduled event: a classic EventBridge rule's `time` (so a retried
/// invocation of the same schedule covers the same period), or now when the event has none
/// (EventBridge Scheduler passes only its input; a manual run may pass `{"time": "..."}`).
pub fn event_time(event: &Value) -> Result<i64, String> {
    crate::base::time::scheduled_time(event).map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_time_comes_from_the_schedule() {
        assert_eq!(
            event_time(&json!({"time": "2026-11-21T00:00:00Z"})),
            Ok(1_795_219_200)
        );
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!(event_time(&json!({})).unwrap() >= now);
        for garbled in [
            json!("yesterday"),
            json!(1_795_219_200),
            json!("2026-13-01T00:00:00Z"),
        ] {
            let err = event_time(&json!({ "time": garbled })).unwrap_err();
            assert!(err.contains("is not an RFC 3339 time"), "{err}");
        }
        assert_eq!(zulu(1_795_219_200), "2026-11-21T00:00:00Z");
    }
}
