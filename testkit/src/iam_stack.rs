//! One local stack on moto with IAM enforced (`moto::Moto`), set up by its administrator so
//! a function can run against it as a principal holding its template policy: every table, the
//! bucket with the demo mappings, the sender, the sample key, the sample candidate, a pending
//! email, an overdue check, the secrets in SSM, and the table of local values pointing there.

use crate::alerting::{pushgateway, Service};
use crate::eosc::{AccountingApi, TokenEndpoint};
use crate::influx::{InfluxServer, Options, ADMIN_PASSWORD, ADMIN_USER};
use crate::monasca::Keystone;
use crate::moto::Moto;
use crate::prometheus::{demo_series, prometheus};
use crate::{repo_root, unique};
use serde_json::{json, Value};

use telltale::adapters::aws::{dynamodb_client, s3_client, ses_client};
use telltale::auth::{hash_key, Role, StoredKey};
use telltale_cli::tables::{self, Store, SAMPLE_EVENTS_KEY};

pub const SENDER_DOMAIN: &str = "telltale.test";
pub const SECRET_PARAMETER: &str = "/telltale/oidc-client-secret";
/// The template's default for `InfluxDbSecretParameter`.
pub const INFLUX_PARAMETER: &str = "/telltale/influxdb/secret";
/// Under the template's default `HeartbeatWebhookSecretPath`.
pub const WEBHOOK_SECRET: &str = "/telltale/heartbeat/nightly-hook";
/// The template's default for `OsPasswordParameter`.
pub const KEYSTONE_PARAMETER: &str = "/telltale/monasca/password";

/// One Pushgateway for every stack (the heartbeat source's first sink).
fn gateway() -> &'static Service {
    static SERVER: std::sync::OnceLock<Service> = std::sync::OnceLock::new();
    SERVER.get_or_init(pushgateway)
}

/// InfluxDB with authentication, its password read from SSM as deployed: so the collectors'
/// `ssm:GetParameter` is exercised too.
pub fn influx() -> &'static InfluxServer {
    static SERVER: std::sync::OnceLock<InfluxServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        InfluxServer::start(Options {
            auth: true,
            tls: false,
        })
    })
}

/// One local stack on the enforcing moto, set up by its administrator: every table, the
/// bucket with the demo mappings, the sender, the sample key in `role`, the sample candidate,
/// a pending email, the OIDC client secret in SSM.
pub struct Stack {
    pub names: Value,
    pub table: Vec<(String, String)>,
    _aai: TokenEndpoint,
    _eosc: AccountingApi,
    _keystone: Keystone,
}

pub async fn stack(iam: &Moto, role: Role) -> Stack {
    let sdk = iam.sdk_config().await;
    let dynamodb = dynamodb_client(&sdk);
    let name = |s: &str| unique(s);
    let (probes, keys, heartbeats, accounting, bucket) = (
        name("probes"),
        name("keys"),
        name("heartbeats"),
        name("accounting"),
        name("mappings"),
    );
    for (store, table) in [
        (Store::Probes, &probes),
        (Store::ApiKeys, &keys),
        (Store::Heartbeat, &heartbeats),
        (Store::Accounting, &accounting),
    ] {
        tables::ensure_table(&dynamodb, store, table).await.unwrap();
    }
    let s3 = s3_client(&sdk);
    tables::ensure_bucket(&s3, &bucket).await.unwrap();
    for file in ["metadata_mappings.json", "metrics_mappings.json"] {
        let body = std::fs::read(repo_root().join("demo").join(file)).unwrap();
        tables::put_object(&s3, &bucket, file, body).await.unwrap();
    }
    tables::ensure_email_identity(&ses_client(&sdk), SENDER_DOMAIN)
        .await
        .unwrap();
    telltale::adapters::aws::keys::ApiKeys::new(dynamodb.clone(), &keys)
        .put(
            &StoredKey {
                key_hash: hash_key(SAMPLE_EVENTS_KEY),
                name: "sample-events".into(),
                role,
            },
            "2026-01-01T00:00:00Z",
        )
        .await
        .unwrap();
    let table = telltale::adapters::aws::probes::ProbeTable::new(dynamodb.clone(), &probes);
    tables::ensure_sample_candidate(&table).await.unwrap();
    pending_email(&table).await;
    quiet_check(&dynamodb, &heartbeats).await;
    for (name, value) in [
        (SECRET_PARAMETER, "secret"),
        (INFLUX_PARAMETER, ADMIN_PASSWORD),
        (WEBHOOK_SECRET, "webhook-secret"),
        (KEYSTONE_PARAMETER, crate::monasca::PASSWORD),
    ] {
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }
    let aai = TokenEndpoint::start("client", "secret", "first-refresh").await;
    let eosc = AccountingApi::start(&aai).await;
    let keystone = Keystone::start(3600).await;
    let keystone_url = format!("{}/v3", keystone.url);
    let influxdb = influx();
    let database = influxdb.database("least-privilege").await;
    let collectors = repo_root().join("infra/collectors.yaml");

    let names = json!({
        "ProbesTable": probes, "ApiKeysTable": keys, "HeartbeatTable": heartbeats,
        "AccountingTable": accounting, "MappingsBucket": bucket, "SesIdentity": SENDER_DOMAIN,
        "OidcClientSecretParameter": SECRET_PARAMETER,
    });
    let port = iam.endpoint.rsplit(':').next().unwrap().to_string();
    let mut table: Vec<(String, String)> = crate::local_env::local_values(&[
        ("MOTO_PORT", &port),
        ("INVOKE_PORT", "9"),
        ("PROMETHEUS_PORT", "9"),
        ("INFLUXDB_PORT", "9"),
        ("PUSHGATEWAY_PORT", "9"),
        ("ALERTMANAGER_PORT", "9"),
        ("EOSC_PORT", "9"),
        ("CURSOR_KEY", "00112233445566778899aabbccddeeff"),
        ("COLLECTORS_FILE", "/nonexistent"),
    ])
    .into_iter()
    .filter(|(k, _)| k != "OIDC_CLIENT_SECRET")
    .collect();
    for (k, v) in [
        ("PROBES_TABLE", probes.as_str()),
        ("API_KEYS_TABLE", keys.as_str()),
        ("HEARTBEAT_TABLE", heartbeats.as_str()),
        ("ACCOUNTING_TABLE", accounting.as_str()),
        ("MAPPINGS_BUCKET", bucket.as_str()),
        ("EMAIL_FROM", "ARGO Monitoring <no-reply@telltale.test>"),
        ("TOKEN_URL", aai.url.as_str()),
        ("OIDC_CLIENT_ID", "client"),
        ("OIDC_CLIENT_SECRET_PARAMETER", SECRET_PARAMETER),
        ("INITIAL_REFRESH_TOKEN", "first-refresh"),
        ("ACCOUNTING_BASE_URL", eosc.url.as_str()),
        ("PROMETHEUS_URL", prometheus(demo_series).url.as_str()),
        ("INFLUXDB_URL", influxdb.url.as_str()),
        ("INFLUXDB_DATABASE", database.as_str()),
        ("INFLUXDB_USERNAME", ADMIN_USER),
        ("INFLUXDB_PASSWORD_PARAMETER", INFLUX_PARAMETER),
        ("COLLECTORS_FILE", collectors.to_str().expect("UTF-8")),
        ("PUSHGATEWAY_URL", gateway().url.as_str()),
        ("OS_AUTH_URL", keystone_url.as_str()),
        ("OS_USERNAME", crate::monasca::USER),
        ("OS_PROJECT_NAME", crate::monasca::PROJECT),
        ("OS_PASSWORD_PARAMETER", KEYSTONE_PARAMETER),
    ] {
        table.retain(|(key, _)| key != k);
        table.push((k.to_string(), v.to_string()));
    }
    Stack {
        names,
        table,
        _aai: aai,
        _eosc: eosc,
        _keystone: keystone,
    }
}

/// A check quiet for an hour past its 60 s period and grace, with an email and a signed
/// webhook channel: `heartbeat-sweep` flips it down and sends both notices.
pub async fn quiet_check(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    use telltale::heartbeat::channel::Channel;
    use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
    let store = telltale::adapters::aws::heartbeat::HeartbeatTable::new(dynamodb.clone(), table);
    let counts = [("success".to_string(), 1u64)];
    let hour_ago = (time::OffsetDateTime::now_utc().unix_timestamp() - 3600) * 1000;
    store
        .record(&crate::heartbeat::success_ping(
            "nightly",
            "least-privilege",
            &counts,
            (60, 60),
            hour_ago,
        ))
        .await
        .unwrap();
    let settings = CheckSettings {
        period_seconds: 60,
        grace_seconds: 60,
        channels: vec![
            Channel::Email {
                to: "oncall@example.org".into(),
            },
            Channel::Webhook {
                url: webhook().to_string(),
                secret_parameter: Some(WEBHOOK_SECRET.into()),
            },
        ],
        ..CheckSettings::default()
    };
    store
        .set_check("nightly", &settings, hour_ago / 1000)
        .await
        .unwrap();
    // Up, as the ping's route leaves it; the clock has made it overdue since.
    use telltale::heartbeat::ports::CheckStates;
    let read = store.check("nightly").await.unwrap().expect("the check");
    let up = telltale::heartbeat::state::Step {
        state: telltale::heartbeat::state::State::Up,
        flip: None,
        ignored: false,
    };
    store.settle(&read, &up, &[]).await.unwrap();
}

/// A webhook receiver for the whole test (it accepts every call).
pub fn webhook() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("a runtime");
            rt.block_on(async {
                let url = crate::receiver::Receiver::default().start(0).await;
                tx.send(url).expect("sending the URL");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the receiver's URL")
    })
}

/// A candidate whose status email is still to send, for `email-retry`.
pub async fn pending_email(table: &telltale::adapters::aws::probes::ProbeTable) {
    use telltale::probes::model::Status;
    use telltale::probes::ports::{CandidateStore, OutboxEmail};
    let id = uuid::Uuid::new_v4().to_string();
    let candidate = crate::probes::legacy_candidate(&id, "least-privilege");
    let email = telltale::outbox::email::Email {
        from: "ARGO Monitoring <no-reply@telltale.test>".into(),
        to: "owner@example.org".into(),
        bcc: vec![],
        subject: "[ARGO Monitoring] Probe submitted".into(),
        text: "t".into(),
    };
    let pending = OutboxEmail::pending(&id, Status::Submitted, email, "2026-12-01T00:00:00Z");
    table.create(&candidate, &pending, None).await.unwrap();
}

/// The function's environment as the local runner gives it, run as `key`.
pub fn environment(
    binary: &str,
    table: &[(String, String)],
    key: &(String, String),
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> =
        crate::local_env::function_environment(binary, table, None)
            .into_iter()
            .filter(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY")
            .collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), key.0.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), key.1.clone()));
    env
}

/// The stack's names, each standing for itself (`@ProbesTable@`): the template's policy is
/// resolved once per function and filled in for each run's stack.
pub fn placeholders() -> Value {
    let ids = [
        "ProbesTable",
        "ApiKeysTable",
        "HeartbeatTable",
        "AccountingTable",
        "MappingsBucket",
    ];
    let mut names = serde_json::Map::new();
    for id in ids {
        names.insert(id.into(), Value::from(format!("@{id}@")));
    }
    names.insert("SesIdentity".into(), Value::from(SENDER_DOMAIN));
    names.insert(
        "OidcClientSecretParameter".into(),
        Value::from(SECRET_PARAMETER),
    );
    Value::Object(names)
}

/// `policy` (resolved with `placeholders`) for a stack with these names.
pub fn for_stack(policy: &[Value], names: &Value) -> Vec<Value> {
    let mut text = Value::from(policy.to_vec()).to_string();
    for (id, name) in names.as_object().expect("names") {
        text = text.replace(&format!("@{id}@"), name.as_str().unwrap_or_default());
    }
    serde_json::from_str(&text).expect("the policy")
}
