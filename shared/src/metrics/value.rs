//! Computing a metric's value: the library function behind `GET .../value` and the accounting
//! push.

use super::expr::eval::{evaluate, Context};
use super::mappings::{MetricsMappings, Query};
use super::ports::PrometheusQuery;
use crate::base::error::{echoed, Error, Result};
use serde::Serialize;

/// The body of `GET /metrics/{resourceId}/{metricId}/value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    pub resource_id: String,
    pub metric_id: String,
    pub value: f64,
    pub time: i64,
}

/// The value of `resource/metric` at `time` (unix seconds).
pub async fn compute(
    mappings: &MetricsMappings,
    prometheus: &dyn PrometheusQuery,
    range_start: i64,
    resource: &str,
    metric: &str,
    time: i64,
) -> Result<MetricValue> {
    let query = mappings
        .get(resource)
        .ok_or_else(|| Error::NotFound(format!("unknown resource '{}'", echoed(resource))))?
        .get(metric)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "unknown metric '{}' of resource '{}'",
                echoed(metric),
                echoed(resource)
            ))
        })?;
    let entry = format!("{resource}/{metric}");
    let ctx = Context {
        prometheus,
        time,
        range_start,
        entry: &entry,
    };
    let value = match &query.query {
        Query::PromQl(promql) => ctx.instant(promql).await?,
        Query::Custom { computation, .. } => evaluate(computation, &ctx).await?,
    };
    Ok(MetricValue {
        resource_id: resource.to_string(),
        metric_id: metric.to_string(),
        value,
        time,
    })
}
