//! The stores collectors read, built once per cold start from whatever the function is
//! configured with. A collector that needs a store the function lacks fails naming the
//! variable; a malformed variable stops the function at cold start.

use super::CollectorError;
use crate::aws::accounting::AccountingTable;
use crate::aws::probes::ProbeTable;
use crate::config::{ConfigError, Env, MappingsConfig, ValueConfig, DEFAULT_RANGE_START};
use crate::metrics::prometheus::Prometheus;
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
}

impl Source {
    /// The variable that configures it.
    pub fn variable(self) -> &'static str {
        match self {
            Source::Candidates | Source::Outbox => "PROBES_TABLE",
            Source::Mappings => "MAPPINGS_BUCKET",
            Source::Prometheus => "PROMETHEUS_URL",
            Source::Accounting => "ACCOUNTING_TABLE",
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

pub struct Sources {
    pub probes: Option<ProbeTable>,
    pub mappings: Option<MappingStore>,
    pub prometheus: Option<Prometheus>,
    pub accounting: Option<AccountingTable>,
    /// `COUNTER_RANGE_START`, for metric values computed as the value route computes them.
    pub range_start: i64,
}

fn need<'a, T>(
    store: &'a Option<T>,
    collector: &'static str,
    source: Source,
) -> Result<&'a T, CollectorError> {
    store.as_ref().ok_or(CollectorError::NotConfigured {
        collector,
        variable: source.variable(),
        store: source.store(),
    })
}

impl Sources {
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Self::read(&Env::process(), sdk)
    }

    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, ConfigError> {
        let set = |name: &str| (env.0)(name).filter(|v| !v.trim().is_empty());
        let dynamodb = crate::aws::dynamodb_client(sdk);
        let value = match set("PROMETHEUS_URL") {
            Some(_) => Some(ValueConfig::read(env)?),
            None => None,
        };
        let range_start = match &value {
            Some(v) => v.range_start,
            None => env.parsed_or::<i64>("COUNTER_RANGE_START", DEFAULT_RANGE_START)?,
        };
        Ok(Self {
            probes: set("PROBES_TABLE").map(|t| ProbeTable::new(dynamodb.clone(), t)),
            mappings: match set("MAPPINGS_BUCKET") {
                Some(_) => Some(MappingStore::new(
                    crate::aws::s3_client(sdk),
                    MappingsConfig::read(env)?,
                )),
                None => None,
            },
            prometheus: value.as_ref().map(Prometheus::configured),
            accounting: set("ACCOUNTING_TABLE").map(|t| AccountingTable::new(dynamodb, t)),
            range_start,
        })
    }

    /// The probe table, read through `index` (`Candidates` or `Outbox`).
    pub fn probes(
        &self,
        collector: &'static str,
        index: Source,
    ) -> Result<&ProbeTable, CollectorError> {
        need(&self.probes, collector, index)
    }

    pub fn mappings(&self, collector: &'static str) -> Result<&MappingStore, CollectorError> {
        need(&self.mappings, collector, Source::Mappings)
    }

    pub fn prometheus(&self, collector: &'static str) -> Result<&Prometheus, CollectorError> {
        need(&self.prometheus, collector, Source::Prometheus)
    }

    pub fn accounting(&self, collector: &'static str) -> Result<&AccountingTable, CollectorError> {
        need(&self.accounting, collector, Source::Accounting)
    }
}
