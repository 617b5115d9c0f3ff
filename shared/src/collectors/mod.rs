//! KPI collectors (the seed's release-metrics, serverless): small jobs that gather figures
//! from the bundle's own stores and write them to InfluxDB for Grafana.
//!
//! - `Collector` (this file): a name, a description, a run interval in systemd's syntax
//!   (`interval.rs`), the stores it reads, and `collect`, which returns points (`point.rs`).
//! - `builtin/`: the registry and the five built-in collectors.
//! - `line.rs`: line protocol; `sink/`: the InfluxDB writer; `run.rs`: one run, as the
//!   `collector` function and `telltale collect` do it; `template.rs`: the schedules of the
//!   SAM template, generated from the registry.

pub mod builtin;
pub mod interval;
pub mod line;
pub mod point;
pub mod run;
pub mod sink;
pub mod sources;

use futures::future::BoxFuture;
use point::Point;
use sources::{Source, Sources};
use time::OffsetDateTime;

/// Why a run produced nothing to write.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The collector reads a store this function was not configured for.
    #[error("{variable} is not set: the {collector} collector reads the {store}")]
    NotConfigured {
        collector: &'static str,
        variable: &'static str,
        store: &'static str,
    },
    /// The store could not be read at all.
    #[error("{store} unavailable: {message}")]
    SourceDown {
        store: &'static str,
        message: String,
    },
    /// The event names no collector, or one that does not exist.
    #[error("{0}")]
    Unknown(String),
    /// The points could not be written.
    #[error("{0}")]
    Sink(String),
}

/// What a collector gathered: the points, and what it could not gather (a store partly down).
#[derive(Debug, Default)]
pub struct Collected {
    pub points: Vec<Point>,
    pub warnings: Vec<String>,
}

/// What a collector is, apart from what it does.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    /// How often it runs, in systemd time-span syntax (`5m`, `1h`).
    pub interval: &'static str,
    /// The stores it reads (the template grants read access to exactly these).
    pub sources: &'static [Source],
}

pub trait Collector: Sync {
    fn spec(&self) -> &'static Spec;

    fn name(&self) -> &'static str {
        self.spec().name
    }

    fn description(&self) -> &'static str {
        self.spec().description
    }

    fn interval(&self) -> &'static str {
        self.spec().interval
    }

    fn sources(&self) -> &'static [Source] {
        self.spec().sources
    }

    /// Gathers the points as of `now`; an error when nothing could be gathered.
    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>>;
}

/// A stored RFC 3339 time.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Seconds from `then` (RFC 3339) to `now`, never negative; `None` when the text is not a time.
pub fn age_seconds(then: &str, now: OffsetDateTime) -> Option<i64> {
    Some((now - parse_time(then)?).whole_seconds().max(0))
}
