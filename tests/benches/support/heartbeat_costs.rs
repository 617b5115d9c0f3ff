//! The costs `make bench-heartbeat` prints for the healthchecks.io-style checks: DynamoDB
//! requests counted by an SDK interceptor, read and write units estimated from the bytes on
//! the wire (JSON, so an upper bound), and the money at AWS list prices.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests by operation, and the bytes each sent and received.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub requests: BTreeMap<String, u64>,
    /// Read units: 4 KB of a consistent read's answer each.
    pub read_units: f64,
    /// Write units: 1 KB of a write each, twice inside a transaction.
    pub write_units: f64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    pub fn shown(&self) -> String {
        let ops: Vec<String> = self
            .requests
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        format!(
            "{} requests ({}), ~{:.0} read units, ~{:.0} write units",
            self.total(),
            ops.join(", "),
            self.read_units,
            self.write_units
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Counter(pub Arc<Mutex<Tally>>);

impl Counter {
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

const READS: [&str; 3] = ["GetItem", "Query", "Scan"];

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "bench counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let bytes = context.request().body().bytes().map_or(0, <[u8]>::len) as f64;
        let mut t = self.0.lock().unwrap();
        *t.requests.entry(op.clone()).or_insert(0) += 1;
        if !READS.contains(&op.as_str()) {
            let factor = if op.starts_with("Transact") { 2.0 } else { 1.0 };
            t.write_units += factor * (bytes / 1024.0).ceil().max(1.0);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        if READS.contains(&op.as_str()) {
            let bytes = context
                .response()
                .and_then(|r| r.body().bytes())
                .map_or(0, <[u8]>::len) as f64;
            self.0.lock().unwrap().read_units += (bytes / 4096.0).ceil().max(1.0);
        }
        Ok(())
    }
}

/// A DynamoDB client whose requests `counter` counts.
pub fn counted_client(sdk: &aws_config::SdkConfig, counter: &Counter) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// AWS list prices (us-east-1, on demand, December 2026), per million.
pub const REST_API_PER_MILLION: f64 = 3.50;
pub const HTTP_API_PER_MILLION: f64 = 1.00;
pub const LAMBDA_REQUESTS_PER_MILLION: f64 = 0.20;
/// arm64, per GB-second.
pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
pub const DYNAMODB_WRITE_UNITS_PER_MILLION: f64 = 0.625;
pub const DYNAMODB_READ_UNITS_PER_MILLION: f64 = 0.125;
