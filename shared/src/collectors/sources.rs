//! The stores collectors read, built once per cold start (`wiring::collector`) from whatever the
//! function is configured with. A collector that needs a store the function lacks fails naming
//! the variable; a malformed variable stops the function at cold start.

use super::error::CollectorError;
use super::ports::{Documents, ProbeReader};
use crate::accounting::ports::AccountingStore;
use crate::metrics::ports::PrometheusQuery;
use crate::metrics::store::MappingStore;

/// A store a collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Probe candidates, through the table's `by-status` index.
    Candidates,
    /// The probe emails still pending, through the `emails-due` index.
    Outbox,
    /// The two mapping files in S3.
    Mappings,
    /// Prometheus' query API.
    Prometheus,
    /// The accounting push's outcomes.
    Accounting,
    /// Documents over HTTP(S), for declared collectors.
    Documents,
}

impl Source {
    /// The variable that configures it.
    pub fn variable(self) -> &'static str {
        match self {
            Source::Candidates | Source::Outbox => "PROBES_TABLE",
            Source::Mappings => "MAPPINGS_BUCKET",
            Source::Prometheus => "PROMETHEUS_URL",
            Source::Accounting => "ACCOUNTING_TABLE",
            Source::Documents => "(an HTTP client)",
        }
    }

    /// What it is, for messages.
    pub fn store(self) -> &'static str {
        match self {
            Source::Candidates => "probe table (DynamoDB, by-status index)",
            Source::Outbox => "probe table (DynamoDB, emails-due index)",
            Source::Mappings => "mapping files (S3)",
            Source::Prometheus => "Prometheus",
            Source::Accounting => "accounting table (DynamoDB)",
            Source::Documents => "documents over HTTP",
        }
    }

    /// The error for "this store could not be read at all".
    pub fn down(self, message: impl Into<String>) -> CollectorError {
        CollectorError::SourceDown {
            store: self.store(),
            message: message.into(),
        }
    }
}

#[derive(Default)]
pub struct Sources {
    pub probes: Option<Box<dyn ProbeReader>>,
    pub mappings: Option<MappingStore>,
    pub prometheus: Option<Box<dyn PrometheusQuery>>,
    pub accounting: Option<Box<dyn AccountingStore>>,
    pub documents: Option<Box<dyn Documents>>,
    /// `COUNTER_RANGE_START`, for metric values computed as the value route computes them.
    pub range_start: i64,
}

fn need<'a, T: ?Sized>(
    store: Option<&'a T>,
    collector: &'static str,
    source: Source,
) -> Result<&'a T, CollectorError> {
    store.ok_or(CollectorError::NotConfigured {
        collector,
        variable: source.variable(),
        store: source.store(),
    })
}

impl Sources {
    /// The probe table, read through `index` (`Candidates` or `Outbox`).
    pub fn probes(
        &self,
        collector: &'static str,
        index: Source,
    ) -> Result<&dyn ProbeReader, CollectorError> {
        need(self.probes.as_deref(), collector, index)
    }

    pub fn mappings(&self, collector: &'static str) -> Result<&MappingStore, CollectorError> {
        need(self.mappings.as_ref(), collector, Source::Mappings)
    }

    pub fn prometheus(
        &self,
        collector: &'static str,
    ) -> Result<&dyn PrometheusQuery, CollectorError> {
        need(self.prometheus.as_deref(), collector, Source::Prometheus)
    }

    pub fn documents(&self, collector: &'static str) -> Result<&dyn Documents, CollectorError> {
        need(self.documents.as_deref(), collector, Source::Documents)
    }

    pub fn accounting(
        &self,
        collector: &'static str,
    ) -> Result<&dyn AccountingStore, CollectorError> {
        need(self.accounting.as_deref(), collector, Source::Accounting)
    }
}
