//! Lookups behind the metadata routes, with the 404s the spec names.

use super::mappings::{MetadataMappings, MetricMetadata, ResourceMetadata};
use crate::base::error::{echoed, Error, Result};
use std::collections::BTreeMap;

pub fn resource<'a>(
    mappings: &'a MetadataMappings,
    resource_id: &str,
) -> Result<&'a ResourceMetadata> {
    mappings
        .get(resource_id)
        .ok_or_else(|| Error::NotFound(format!("unknown resource '{}'", echoed(resource_id))))
}

pub fn metric<'a>(
    mappings: &'a MetadataMappings,
    resource_id: &str,
    metric_id: &str,
) -> Result<&'a MetricMetadata> {
    resource(mappings, resource_id)?
        .metrics
        .get(metric_id)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "unknown metric '{}' of resource '{}'",
                echoed(metric_id),
                echoed(resource_id)
            ))
        })
}

pub fn metrics_of<'a>(
    mappings: &'a MetadataMappings,
    resource_id: &str,
) -> Result<BTreeMap<&'a str, &'a MetricMetadata>> {
    Ok(resource(mappings, resource_id)?
        .metrics
        .iter()
        .map(|(id, m)| (id.as_str(), m))
        .collect())
}

/// Sorted, as the spec asks (the maps are hash maps for lookups; listings sort).
pub fn resource_ids(mappings: &MetadataMappings) -> Vec<&str> {
    sorted(mappings.keys())
}

pub fn metric_ids<'a>(mappings: &'a MetadataMappings, resource_id: &str) -> Result<Vec<&'a str>> {
    Ok(sorted(resource(mappings, resource_id)?.metrics.keys()))
}

fn sorted<'a>(ids: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = ids.map(String::as_str).collect();
    ids.sort_unstable();
    ids
}
