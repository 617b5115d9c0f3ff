//! `mas_catalog`: what the Metrics Acquisition System serves, from the mapping files in S3.
//!
//! `mas_catalog,file=<metadata|metrics> loaded=<0|1>,validation_errors=<i>,resources=<i>,
//! metrics=<i>,version="<ETag>",age_seconds=<i>`: whether a valid version is loaded, how many
//! problems the newest upload had if it was rejected (the last good version keeps serving),
//! and, for the loaded version, its resources, metrics, ETag and age. A file that cannot be
//! fetched is a warning; when neither can, the run fails.

use crate::base::time::age_seconds;
use crate::collectors::point::Point;
use crate::collectors::sources::{Source, Sources};
use crate::collectors::{Collected, Collector, CollectorError, Spec};
use crate::metrics::store::FileHealth;
use futures::future::BoxFuture;
use time::OffsetDateTime;

pub struct MasCatalog;

const NAME: &str = "mas_catalog";

static SPEC: Spec = Spec {
    name: NAME,
    description:
        "Resources and metrics the mapping files define, their versions and validation errors",
    interval: "1h",
    sources: &[Source::Mappings],
};

impl Collector for MasCatalog {
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
            let view = store.view().await;
            let health = store.health().await.mappings;
            let counts = [
                view.metadata.as_ref().ok().map(|v| {
                    let m = &v.value;
                    (m.len(), m.values().map(|r| r.metrics.len()).sum::<usize>())
                }),
                view.metrics.as_ref().ok().map(|v| {
                    let m = &v.value;
                    (m.len(), m.values().map(|r| r.len()).sum::<usize>())
                }),
            ];
            let mut out = Collected::default();
            for ((file, h), count) in [("metadata", &health.metadata), ("metrics", &health.metrics)]
                .into_iter()
                .zip(counts)
            {
                if let Some(error) = &h.last_error {
                    out.warnings.push(format!("{file} mappings: {error}"));
                }
                if let Some(point) = file_point(file, h, count, now) {
                    out.points.push(point);
                }
            }
            if out.points.is_empty() {
                return Err(Source::Mappings.down(out.warnings.join("; ")));
            }
            Ok(out)
        })
    }
}

/// `None` when the file was never fetched (nothing is known about it but the error).
fn file_point(
    file: &str,
    h: &FileHealth,
    count: Option<(usize, usize)>,
    now: OffsetDateTime,
) -> Option<Point> {
    if !h.loaded && h.validation_errors == 0 {
        return None;
    }
    let mut p = Point::new("mas_catalog")
        .tag("file", file)
        .field("loaded", i64::from(h.loaded))
        .field("validation_errors", h.validation_errors)
        .field_opt("version", h.etag.as_deref().map(|e| e.trim_matches('"')))
        .field_opt(
            "age_seconds",
            h.last_modified.as_deref().and_then(|t| age_seconds(t, now)),
        );
    if let Some((resources, metrics)) = count {
        p = p.field("resources", resources).field("metrics", metrics);
    }
    Some(p.at(now))
}
