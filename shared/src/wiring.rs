//! The one place that builds each deployed function's stack from the environment, once per
//! cold start: configuration, secrets from SSM, and the adapters behind every port. Each
//! `functions/*/src/main.rs` calls one of these, then hands requests to `http` or `jobs`.
//! The `*_with` forms take the environment and SDK configuration, for the CLI and the tests.

use crate::accounting::config::AccountingConfig;
use crate::adapters::aws::{
    self, accounting::AccountingTable, heartbeat::HeartbeatTable, keys::ApiKeys,
    probes::ProbeTable, s3::mapping_store, ses::Ses, ssm,
};
use crate::adapters::documents::HttpDocuments;
use crate::adapters::eosc::{self, Eosc, Oidc};
use crate::adapters::influx::{config::InfluxConfig, InfluxSink};
use crate::adapters::monasca::{Monasca, MonascaConfig};
use crate::adapters::notify::{self, Alertmanager, Webhooks};
use crate::adapters::prometheus::Prometheus;
use crate::adapters::pushgateway::{Pushgateway, PushgatewayConfig};
use crate::auth::config::AuthConfig;
use crate::base::env::{ConfigError, Env};
use crate::collectors::registry::{Registry, COMPILED};
use crate::collectors::sources::Sources;
use crate::heartbeat::config::{HeartbeatConfig, SweepConfig};
use crate::heartbeat::ports::BeatSink;
use crate::heartbeat::source::{Source, SourceConfig};
use crate::heartbeat::sweep::Channels;
use crate::http::heartbeat::HeartbeatApi;
use crate::http::probes::ProbeApi;
use crate::http::team_page::TeamPage;
use crate::jobs::{Accounting, Collector, EmailRetry, HeartbeatSweep, Push, Refresh};
use crate::metrics::config::{MappingsConfig, ValueConfig, DEFAULT_RANGE_START};
use crate::metrics::ports::PrometheusQuery;
use crate::metrics::store::MappingStore;
use crate::probes::config::ProbesConfig;
use aws_config::SdkConfig;
use std::time::Duration;

/// How long a cold start waits for the mapping files before serving without them.
const PREFETCH_BUDGET: Duration = Duration::from_secs(3);

fn no_client(name: &'static str, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: String::new(),
        reason: format!("no HTTP client: {e}"),
    }
}

/// `probe-submit` and `probe-status`: DynamoDB, SES and the key table.
pub type LiveProbeApi = ProbeApi<ProbeTable, Ses, ApiKeys>;

pub async fn probe_api() -> Result<LiveProbeApi, ConfigError> {
    let env = Env::process();
    let probes = ProbesConfig::read(&env)?;
    let auth = AuthConfig::read(&env)?;
    let sdk = aws::lambda_sdk_config();
    let dynamodb = aws::dynamodb_client(&sdk);
    Ok(ProbeApi {
        store: ProbeTable::new(dynamodb.clone(), probes.table),
        mailer: Ses::new(aws::ses_client(&sdk)),
        keys: ApiKeys::new(dynamodb, auth.api_keys_table),
        email: probes.email,
        min_testing: probes.min_testing,
        cursors: probes
            .cursor_key
            .ok_or(ConfigError::Missing { name: "CURSOR_KEY" })?,
    })
}

/// `heartbeat`: the heartbeat table and the key table.
pub type LiveHeartbeatApi = HeartbeatApi<HeartbeatTable, ApiKeys>;

pub async fn heartbeat_api() -> Result<LiveHeartbeatApi, ConfigError> {
    let env = Env::process();
    let config = HeartbeatConfig::read(&env)?;
    let auth = AuthConfig::read(&env)?;
    let dynamodb = aws::dynamodb_client(&aws::lambda_sdk_config());
    Ok(HeartbeatApi {
        store: HeartbeatTable::new(dynamodb.clone(), &config.table),
        keys: ApiKeys::new(dynamodb, auth.api_keys_table),
        config,
    })
}

/// `metric-metadata`: the mapping files, loaded before the first request.
pub async fn metric_metadata() -> Result<MappingStore, ConfigError> {
    let store = mapping_store(
        aws::s3_client(&aws::lambda_sdk_config()),
        MappingsConfig::read(&Env::process())?,
    );
    store.prefetch(PREFETCH_BUDGET).await;
    Ok(store)
}

/// `metric-value`'s stack.
pub struct Values {
    pub store: MappingStore,
    pub prometheus: Box<dyn PrometheusQuery>,
    pub range_start: i64,
}

pub async fn metric_value() -> Result<Values, ConfigError> {
    let env = Env::process();
    let value = ValueConfig::read(&env)?;
    let stack = Values {
        store: mapping_store(
            aws::s3_client(&aws::lambda_sdk_config()),
            MappingsConfig::read(&env)?,
        ),
        prometheus: Box::new(Prometheus::configured(&value)),
        range_start: value.range_start,
    };
    stack.store.prefetch(PREFETCH_BUDGET).await;
    Ok(stack)
}

/// The accounting parts: configuration with its secrets from SSM, the state table, the EOSC
/// service and the token endpoint on one client whose requests get `timeout` each.
pub async fn accounting_with<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
    timeout: Duration,
) -> Result<Accounting, ConfigError> {
    let config: AccountingConfig = ssm::accounting_config(env, &ssm::ssm_client(sdk)).await?;
    let http = eosc::client(timeout).map_err(|e| no_client("ACCOUNTING_BASE_URL", e))?;
    Ok(Accounting {
        table: Box::new(AccountingTable::new(
            aws::dynamodb_client(sdk),
            &config.table,
        )),
        service: Box::new(Eosc { http: http.clone() }),
        grant: Box::new(Oidc::new(http, &config)),
        config,
    })
}

/// `token-refresh`: the table and the token endpoint.
pub async fn token_refresh() -> Result<Refresh<AccountingTable, Oidc>, ConfigError> {
    let (env, sdk) = (Env::process(), aws::lambda_sdk_config());
    let config: AccountingConfig = ssm::accounting_config(&env, &ssm::ssm_client(&sdk)).await?;
    let http = eosc::client(Duration::from_secs(15)).map_err(|e| no_client("TOKEN_URL", e))?;
    Ok(Refresh {
        table: AccountingTable::new(aws::dynamodb_client(&sdk), &config.table),
        grant: Oidc::new(http, &config),
        config,
    })
}

/// `accounting-push`: the accounting parts, the mappings and Prometheus.
pub async fn accounting_push() -> Result<Push, ConfigError> {
    let env = Env::process();
    let sdk = aws::lambda_sdk_config();
    let value = ValueConfig::read(&env)?;
    Ok(Push {
        accounting: accounting_with(&env, &sdk, Duration::from_secs(30)).await?,
        store: mapping_store(aws::s3_client(&sdk), MappingsConfig::read(&env)?),
        prometheus: Box::new(Prometheus::configured(&value)),
        range_start: value.range_start,
    })
}

/// `email-retry`: the probe table's outbox and SES.
pub async fn email_retry() -> Result<EmailRetry<ProbeTable, Ses>, ConfigError> {
    let config = ProbesConfig::read(&Env::process())?;
    let sdk = aws::lambda_sdk_config();
    Ok(EmailRetry {
        outbox: ProbeTable::new(aws::dynamodb_client(&sdk), config.table),
        mailer: Ses::new(aws::ses_client(&sdk)),
    })
}

/// `heartbeat-sweep`: the heartbeat table, SES, the webhook client (secrets from SSM) and
/// Alertmanager.
pub async fn heartbeat_sweep(
) -> Result<HeartbeatSweep<HeartbeatTable, Ses, Webhooks, Alertmanager>, ConfigError> {
    heartbeat_sweep_with(&Env::process(), &aws::lambda_sdk_config())
}

pub fn heartbeat_sweep_with<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<HeartbeatSweep<HeartbeatTable, Ses, Webhooks, Alertmanager>, ConfigError> {
    let config = SweepConfig::read(env)?;
    let http = notify::client().map_err(|e| ConfigError::Invalid {
        name: "ALERTMANAGER_URL",
        value: String::new(),
        reason: format!("no HTTP client: {e}"),
    })?;
    Ok(HeartbeatSweep {
        store: HeartbeatTable::new(aws::dynamodb_client(sdk), config.table),
        channels: Channels {
            mailer: Ses::new(aws::ses_client(sdk)),
            webhooks: Webhooks::new(http.clone(), ssm::ssm_client(sdk)),
            alerts: Alertmanager {
                http,
                base: config.alertmanager_url,
            },
            from: config.from,
        },
    })
}

/// The stores a collector may read: those whose variables are set.
pub fn collector_sources<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<Sources, ConfigError> {
    let dynamodb = aws::dynamodb_client(sdk);
    let value = match env.optional("PROMETHEUS_URL") {
        Some(_) => Some(ValueConfig::read(env)?),
        None => None,
    };
    let range_start = match &value {
        Some(v) => v.range_start,
        None => env.parsed_or::<i64>("COUNTER_RANGE_START", DEFAULT_RANGE_START)?,
    };
    let mappings = match env.optional("MAPPINGS_BUCKET") {
        Some(_) => Some(mapping_store(
            aws::s3_client(sdk),
            MappingsConfig::read(env)?,
        )),
        None => None,
    };
    Ok(Sources {
        probes: env
            .optional("PROBES_TABLE")
            .map(|t| Box::new(ProbeTable::new(dynamodb.clone(), t)) as _),
        mappings,
        prometheus: value
            .as_ref()
            .map(|v| Box::new(Prometheus::configured(v)) as _),
        accounting: env
            .optional("ACCOUNTING_TABLE")
            .map(|t| Box::new(AccountingTable::new(dynamodb, t)) as _),
        documents: Some(Box::new(HttpDocuments::new(ssm::ssm_client(sdk)))),
        range_start,
    })
}

/// The collectors: the built-ins and the compiled-in declarations, or those of the file
/// `COLLECTORS_FILE` names (a local stack's, a trial). A broken file stops the function at
/// cold start with its first problems; a program is compiled only when its collector runs.
pub fn collector_registry<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Registry, ConfigError> {
    let invalid = |value: String, reason: String| ConfigError::Invalid {
        name: "COLLECTORS_FILE",
        value,
        reason,
    };
    let loaded = match env.optional("COLLECTORS_FILE") {
        None => Registry::for_runs(COMPILED),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| invalid(path.clone(), format!("cannot be read: {e}")))?;
            Registry::for_runs(&text)
        }
    };
    loaded.map_err(|problems| {
        let shown: Vec<_> = problems.iter().take(5).collect();
        invalid(
            env.optional("COLLECTORS_FILE")
                .unwrap_or_else(|| "infra/collectors.yaml (compiled in)".into()),
            shown
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// The InfluxDB sink, its secret read from SSM where the environment names a parameter.
pub async fn influx_sink<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<InfluxSink, ConfigError> {
    InfluxSink::connect(InfluxConfig::read(env)?, &ssm::ssm_client(sdk)).await
}

/// `collector`.
pub async fn collector() -> Result<Collector<InfluxSink>, ConfigError> {
    let env = Env::process();
    let sdk = aws::lambda_sdk_config();
    Ok(Collector {
        registry: collector_registry(&env)?,
        sink: influx_sink(&env, &sdk).await?,
        sources: collector_sources(&env, &sdk)?,
    })
}

/// The heartbeat source with a sink for each of Pushgateway, InfluxDB and Monasca whose
/// variables are set; at least one must be.
pub async fn heartbeat_source_with<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<Source, ConfigError> {
    let config = SourceConfig::read(env)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| no_client("PUSHGATEWAY_URL", e))?;
    let ssm = ssm::ssm_client(sdk);
    let mut sinks: Vec<Box<dyn BeatSink>> = Vec::new();
    if let Some(config) = PushgatewayConfig::read(env)? {
        sinks.push(Box::new(Pushgateway {
            config,
            http: http.clone(),
        }));
    }
    if env.optional("INFLUXDB_URL").is_some() || env.optional("INFLUXDB_HOSTNAME").is_some() {
        sinks.push(Box::new(
            InfluxSink::connect(InfluxConfig::read(env)?, &ssm).await?,
        ));
    }
    if let Some(config) = MonascaConfig::read(env)? {
        sinks.push(Box::new(Monasca::connect(config, http, &ssm).await?));
    }
    Source::new(config, sinks).ok_or(ConfigError::Missing {
        name: "PUSHGATEWAY_URL, INFLUXDB_URL or OS_AUTH_URL (no sink is configured)",
    })
}

/// `heartbeat-source`.
pub async fn heartbeat_source() -> Result<Source, ConfigError> {
    heartbeat_source_with(&Env::process(), &aws::lambda_sdk_config()).await
}

/// `team-page`: no I/O; the page knows the `testing` stay.
pub fn team_page() -> Result<TeamPage, ConfigError> {
    TeamPage::from_env()
}

/// The mapping files in `config.bucket`, read through S3.
pub fn mappings(sdk: &SdkConfig, config: MappingsConfig) -> MappingStore {
    mapping_store(aws::s3_client(sdk), config)
}

/// `telltale heartbeat monasca setup`: a Monasca session from the same `OS_*` variables as the
/// heartbeat source's sink; `None` without `OS_AUTH_URL`.
pub async fn monasca_session<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    sdk: &SdkConfig,
) -> Result<Option<Monasca>, ConfigError> {
    let Some(config) = MonascaConfig::read(env)? else {
        return Ok(None);
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| no_client("OS_AUTH_URL", e))?;
    Ok(Some(
        Monasca::connect(config, http, &ssm::ssm_client(sdk)).await?,
    ))
}
