//! `metric_values`: the current value of every mapped MAS metric, computed exactly as
//! `GET /metrics/{r}/{m}/value` computes it, so Grafana can chart them over time.
//!
//! `mas_metric_value,resource=<r>,metric=<m> value=<f>`. A metric whose value cannot be
//! computed (no data, a query error) is a warning and the others are written; when none can
//! be computed the run fails with the first reason.

use crate::collectors::point::Point;
use crate::collectors::sources::{Source, Sources};
use crate::collectors::{Collected, Collector, CollectorError, Spec};
use crate::metrics::value::compute;
use futures::future::BoxFuture;
use futures::StreamExt;
use time::OffsetDateTime;

pub struct MetricValues;

const NAME: &str = "metric_values";

/// Queries in flight at once: enough to finish quickly, few enough to spare Prometheus.
const CONCURRENCY: usize = 8;

static SPEC: Spec = Spec {
    name: NAME,
    description: "The current value of every mapped MAS metric, tagged by resource and metric",
    interval: "5m",
    sources: &[Source::Mappings, Source::Prometheus],
};

impl Collector for MetricValues {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>> {
        Box::pin(async move {
            let store = sources.mappings(NAME)?;
            let prometheus = sources.prometheus(NAME)?;
            let view = store.view().await;
            let metrics = view
                .metrics()
                .map_err(|e| Source::Mappings.down(e.to_string()))?;
            let t = now.unix_timestamp();
            // Owned names: a stream of futures borrowing from the map trips the compiler's
            // higher-ranked lifetime check.
            let mut ids: Vec<(String, String)> = metrics
                .iter()
                .flat_map(|(r, ms)| ms.keys().map(move |m| (r.clone(), m.clone())))
                .collect();
            // The mappings are hash maps; points and warnings come in id order.
            ids.sort_unstable();
            let queries: Vec<_> = ids
                .into_iter()
                .map(|(r, m)| async move {
                    let value = compute(metrics, prometheus, sources.range_start, &r, &m, t).await;
                    (r, m, value)
                })
                .collect();
            let results: Vec<_> = futures::stream::iter(queries)
                .buffered(CONCURRENCY)
                .collect()
                .await;
            let mut out = Collected::default();
            for (r, m, result) in results {
                match result {
                    Ok(v) => out.points.push(
                        Point::new("mas_metric_value")
                            .tag("resource", r.as_str())
                            .tag("metric", m.as_str())
                            .field("value", v.value)
                            .at(now),
                    ),
                    Err(e) => out.warnings.push(format!("{r}/{m}: {e}")),
                }
            }
            if out.points.is_empty() {
                if let Some(first) = out.warnings.first() {
                    return Err(Source::Prometheus.down(format!(
                        "no metric value could be computed ({} tried); first: {first}",
                        out.warnings.len()
                    )));
                }
            }
            Ok(out)
        })
    }
}
