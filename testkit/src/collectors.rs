//! Everything the collectors read and write, on real local servers: a probe table and an
//! accounting table (moto DynamoDB), a mappings bucket (moto S3) holding the given mapping
//! files, the test binary's Prometheus and InfluxDB, and a fresh InfluxDB database.

use super::influx::influx;
use super::moto::moto;
use super::unique;
use std::collections::HashMap;
use telltale::adapters::aws::{dynamodb_client, s3_client};
use telltale::adapters::influx::{config::InfluxConfig, InfluxSink};
use telltale::base::env::Env;
use telltale::collectors::sources::Sources;
use telltale_cli::tables;

pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub probes_table: String,
    pub accounting_table: String,
    pub bucket: String,
    pub prometheus_url: String,
    pub db: String,
}

impl Stack {
    /// New tables, bucket (with `metadata` and `metrics` as the two mapping files, when
    /// given) and database, reading from the Prometheus at `prometheus_url`.
    pub async fn new(
        prometheus_url: &str,
        mappings: Option<(&serde_json::Value, &serde_json::Value)>,
    ) -> Stack {
        let sdk = moto().sdk_config().await;
        let (dynamodb, s3) = (dynamodb_client(&sdk), s3_client(&sdk));
        let stack = Stack {
            probes_table: unique("kpi-probes"),
            accounting_table: unique("kpi-accounting"),
            bucket: unique("kpi-mappings"),
            prometheus_url: prometheus_url.to_string(),
            db: influx().database("kpis").await,
            sdk,
        };
        tables::ensure_table(
            &dynamodb,
            telltale_cli::tables::Store::Probes,
            &stack.probes_table,
        )
        .await
        .expect("probe table");
        tables::ensure_table(
            &dynamodb,
            telltale_cli::tables::Store::Accounting,
            &stack.accounting_table,
        )
        .await
        .expect("accounting table");
        tables::ensure_bucket(&s3, &stack.bucket)
            .await
            .expect("bucket");
        if let Some((metadata, metrics)) = mappings {
            stack.upload("metadata_mappings.json", metadata).await;
            stack.upload("metrics_mappings.json", metrics).await;
        }
        stack
    }

    pub async fn upload(&self, key: &str, body: &serde_json::Value) {
        tables::put_object(
            &s3_client(&self.sdk),
            &self.bucket,
            key,
            body.to_string().into_bytes(),
        )
        .await
        .expect("uploading a mapping file");
    }

    /// The variables a collector function (or `telltale collect`) runs with here, AWS
    /// endpoint and credentials included.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = moto().env();
        env.extend(
            [
                ("PROBES_TABLE", self.probes_table.as_str()),
                ("ACCOUNTING_TABLE", self.accounting_table.as_str()),
                ("MAPPINGS_BUCKET", self.bucket.as_str()),
                ("MAPPINGS_REVALIDATE_SECONDS", "0"),
                ("PROMETHEUS_URL", self.prometheus_url.as_str()),
                ("PROMETHEUS_TIMEOUT_SECONDS", "5"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env.extend(influx().env(&self.db));
        env
    }

    fn lookup(&self, extra: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let mut map: HashMap<String, String> = self.env().into_iter().collect();
        for (k, v) in extra {
            map.insert(k.to_string(), v.to_string());
        }
        Env(move |k: &str| map.get(k).cloned())
    }

    /// The stores, as a collector function builds them at cold start (`extra` overrides).
    pub fn sources(&self, extra: &[(&str, &str)]) -> Sources {
        telltale::wiring::collector_sources(&self.lookup(extra), &self.sdk)
            .expect("collector sources")
    }

    /// The sink to this stack's database (`extra` overrides, e.g. a batch size).
    pub async fn sink(&self, extra: &[(&str, &str)]) -> InfluxSink {
        let config = InfluxConfig::read(&self.lookup(extra)).expect("InfluxDB config");
        InfluxSink::connect(config, &telltale::adapters::aws::ssm::ssm_client(&self.sdk))
            .await
            .expect("InfluxDB sink")
    }
}
