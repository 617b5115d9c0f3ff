//! One run of a collector, as the `collector` function and `telltale collect` do it: find the
//! collector the event names, gather its points, drop (with a warning) any point that cannot
//! be written, write the rest.

use super::line::{encode_into, Precision};
use super::ports::PointSink;
use super::registry::Registry;
use super::sources::Sources;
use super::types::{settle, StoredTypes};
use super::{Collected, Collector, CollectorError};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// What the `collector` function returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub collector: String,
    /// Points gathered (and writable).
    pub points: usize,
    /// Points InfluxDB accepted.
    pub written: usize,
    pub warnings: Vec<String>,
}

/// The collector an event names: EventBridge Scheduler passes its input as the event
/// (`{"collector": "probe_pipeline"}`); a classic rule's envelope carries it in `detail`.
pub fn collector_for(
    event: &Value,
    registry: &Registry,
) -> Result<&'static dyn Collector, CollectorError> {
    let known = registry.names().join(", ");
    let direct = event.get("collector");
    let in_detail = event.get("detail").and_then(|d| d.get("collector"));
    if direct.is_some() && in_detail.is_some() {
        // Which one the sender meant cannot be told; running either could be the wrong one.
        return Err(CollectorError::Unknown(
            "the event names a collector twice (\"collector\" and \"detail.collector\"): send one"
                .into(),
        ));
    }
    let name = direct.or(in_detail).ok_or_else(|| {
        CollectorError::Unknown(format!(
            "the event names no collector: send {{\"collector\": \"<name>\"}} with one of: {known}"
        ))
    })?;
    let name = name.as_str().ok_or_else(|| {
        CollectorError::Unknown(format!("\"collector\" must be a string, one of: {known}"))
    })?;
    registry.find(name).ok_or_else(|| {
        let shown: String = name.chars().take(64).collect();
        CollectorError::Unknown(format!("unknown collector {shown:?}; known: {known}"))
    })
}

/// Gathers the points and settles their field types (`stored`: what the database holds); a
/// point that cannot be written becomes a warning instead.
pub async fn collect(
    collector: &dyn Collector,
    sources: &Sources,
    now: OffsetDateTime,
    stored: Option<&StoredTypes>,
) -> Result<Collected, CollectorError> {
    let mut collected = collector.collect(sources, now).await?;
    settle(
        &mut collected.points,
        collector.field_types(),
        stored.unwrap_or(&StoredTypes::new()),
    )?;
    let mut scratch = String::new();
    let mut writable = Vec::with_capacity(collected.points.len());
    for point in collected.points {
        scratch.clear();
        match encode_into(&mut scratch, &point, Precision::Nanoseconds) {
            Ok(()) => writable.push(point),
            Err(e) => collected.warnings.push(e.to_string()),
        }
    }
    collected.points = writable;
    Ok(collected)
}

/// Gathers and writes; fails when nothing could be gathered or the write failed.
pub async fn run(
    collector: &dyn Collector,
    sources: &Sources,
    sink: &impl PointSink,
    now: OffsetDateTime,
) -> Result<Report, CollectorError> {
    let mut collected = collect(collector, sources, now, None).await?;
    let mut measurements: Vec<String> = collected
        .points
        .iter()
        .map(|p| p.measurement.clone())
        .collect();
    measurements.sort();
    measurements.dedup();
    let stored = sink
        .field_types(&measurements)
        .await
        .map_err(CollectorError::Sink)?;
    settle(&mut collected.points, collector.field_types(), &stored)?;
    let mut warnings = sink.warnings();
    warnings.extend(collected.warnings);
    for w in &warnings {
        tracing::warn!(collector = collector.name(), "{w}");
    }
    let written = sink
        .write_points(&collected.points)
        .await
        .map_err(CollectorError::Sink)?;
    tracing::debug!(
        collector = collector.name(),
        points = collected.points.len(),
        written = written.points,
        requests = written.requests,
        warnings = warnings.len(),
        "collector run"
    );
    Ok(Report {
        collector: collector.name().to_string(),
        points: collected.points.len(),
        written: written.points,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_event_names_the_collector_either_way() {
        let registry = Registry::builtins();
        let scheduler = json!({"collector": "probe_pipeline"});
        assert_eq!(
            collector_for(&scheduler, &registry).unwrap().name(),
            "probe_pipeline"
        );
        let envelope = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                              "time": "2026-11-23T10:00:00Z", "detail": {"collector": "mas_catalog"}});
        assert_eq!(
            collector_for(&envelope, &registry).unwrap().name(),
            "mas_catalog"
        );
    }

    #[test]
    fn an_unknown_or_missing_name_lists_the_known_ones() {
        let registry = Registry::compiled().unwrap();
        for event in [
            json!({"collector": "nope"}),
            json!({}),
            json!({"collector": 5}),
            json!({"detail": {}}),
        ] {
            let err = collector_for(&event, &registry).err().unwrap().to_string();
            for name in registry.names() {
                assert!(err.contains(name), "{event}: {err}");
            }
        }
        let both = json!({"collector": "probe_pipeline", "detail": {"collector": "mas_catalog"}});
        let err = collector_for(&both, &registry).err().unwrap().to_string();
        assert!(err.contains("names a collector twice"), "{err}");
        let long = json!({"collector": "x".repeat(10_000)});
        assert!(
            collector_for(&long, &registry)
                .err()
                .unwrap()
                .to_string()
                .len()
                < 400
        );
    }
}
