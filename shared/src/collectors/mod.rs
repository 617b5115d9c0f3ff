//! KPI collectors (the seed's release-metrics, serverless): small jobs that gather figures
//! from the bundle's own stores and write them to InfluxDB for Grafana.
//!
//! - `Collector` (this file): a name, a description, a run interval in systemd's syntax
//!   (`interval.rs`), the stores it reads, and `collect`, which returns points (`point.rs`).
//! - `builtin/`: the five built-in collectors; `declared/`: collectors declared in YAML with a
//!   jq program; `registry.rs`: both, as one list.
//! - `types.rs`: field types settled before anything is written.
//! - `line.rs`: line protocol; `sink/`: the InfluxDB writer; `run.rs`: one run, as the
//!   `collector` function and `telltale collect` do it; `template.rs`: the schedules of the
//!   SAM template, generated from the registry.

pub mod builtin;
pub mod declared;
pub mod error;
pub mod line;
pub mod point;
pub mod ports;
pub mod registry;
pub mod run;
pub mod sources;
pub mod types;

pub use error::CollectorError;
use futures::future::BoxFuture;
use point::Point;
use sources::{Source, Sources};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use types::FieldType;

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

    /// Field types the collector pins (a declared collector's `fields:`).
    fn field_types(&self) -> &BTreeMap<String, FieldType> {
        static NONE: BTreeMap<String, FieldType> = BTreeMap::new();
        &NONE
    }

    /// SSM parameters it reads at run time (a declared collector's secret headers).
    fn secret_parameters(&self) -> Vec<String> {
        Vec::new()
    }

    /// Declared in a file rather than built in.
    fn declared(&self) -> bool {
        false
    }

    /// Gathers the points as of `now`; an error when nothing could be gathered.
    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>>;
}
