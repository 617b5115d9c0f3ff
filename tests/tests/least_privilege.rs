//! Least privilege, proven against moto with IAM enforced (`testkit/iam_moto.py`): each
//! function's real binary runs as a principal holding exactly its template policy (resolved to
//! the local stack's ARNs), through its sample events, and gets the answers it gets with no
//! IAM at all; then each action of each statement is taken out in turn, and the run must be
//! refused that very action, or the permission is dead. The report printed lists every
//! statement's action with the call that needs it.

use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use telltale::adapters::aws::{dynamodb_client, s3_client, ses_client};
use telltale::auth::{hash_key, Role, StoredKey};
use telltale_cli::tables::{self, Store, SAMPLE_EVENTS_KEY};
use telltale_testkit::eosc::{AccountingApi, TokenEndpoint};
use telltale_testkit::events::sample_events;
use telltale_testkit::iam::IamMoto;
use telltale_testkit::influx::{InfluxServer, Options, ADMIN_PASSWORD, ADMIN_USER};
use telltale_testkit::prometheus::{demo_series, prometheus};
use telltale_testkit::runtime_api::{Answer, Invocation, RuntimeApi};
use telltale_testkit::{built_binary, local_config, repo_root, unique, venv_bin};

const SENDER_DOMAIN: &str = "telltale.test";
const SECRET_PARAMETER: &str = "/telltale/oidc-client-secret";
/// The template's default for `InfluxDbSecretParameter`.
const INFLUX_PARAMETER: &str = "/telltale/influxdb/secret";
/// Under the template's default `HeartbeatWebhookSecretPath`.
const WEBHOOK_SECRET: &str = "/telltale/heartbeat/nightly-hook";

/// InfluxDB with authentication, its password read from SSM as deployed: so the collectors'
/// `ssm:GetParameter` is exercised too.
fn influx() -> &'static InfluxServer {
    static SERVER: std::sync::OnceLock<InfluxServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        InfluxServer::start(Options {
            auth: true,
            tls: false,
        })
    })
}

/// What a run must answer: an HTTP status, or a scheduled run that succeeded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Status(u16),
    Done,
}

struct Scenario {
    function_id: &'static str,
    binary: &'static str,
    role: Role,
    events: Vec<(Value, Expect)>,
}

fn http(binary: &'static str, function_id: &'static str, role: Role) -> Scenario {
    let mut events: Vec<(Value, Expect)> = sample_events(binary)
        .into_iter()
        .map(|e| {
            let payload: Value = serde_json::from_str(&e.text).expect("an event");
            (payload, Expect::Status(e.expected_status))
        })
        .collect();
    if binary == "probe-submit" {
        // A retried submission (the same Idempotency-Key) reads the first one's record back.
        let text =
            std::fs::read_to_string(repo_root().join("events/probe-submit/post-rpm.201.json"))
                .expect("the submission event");
        let mut retried: Value = serde_json::from_str(&text).unwrap();
        retried["headers"]["Idempotency-Key"] = json!("least-privilege-1");
        retried["multiValueHeaders"]["Idempotency-Key"] = json!(["least-privilege-1"]);
        events.push((retried.clone(), Expect::Status(201)));
        events.push((retried, Expect::Status(201)));
        // A page of the whole list is one Query of the by-name index.
        let text = std::fs::read_to_string(repo_root().join("events/probe-submit/list.200.json"))
            .expect("the list event");
        let mut paged: Value = serde_json::from_str(&text).unwrap();
        paged["queryStringParameters"] = json!({"limit": "1"});
        paged["multiValueQueryStringParameters"] = json!({"limit": ["1"]});
        events.push((paged, Expect::Status(200)));
    }
    Scenario {
        function_id,
        binary,
        role,
        events,
    }
}

fn scheduled(binary: &'static str, function_id: &'static str) -> Scenario {
    scheduled_event(binary, function_id, "scheduled.json")
}

/// A collector function's run: the scheduler's input for it (`events/collector/`).
fn collector(function_id: &'static str, file: &str) -> Scenario {
    scheduled_event("collector", function_id, file)
}

fn scheduled_event(binary: &'static str, function_id: &'static str, file: &str) -> Scenario {
    let text = std::fs::read_to_string(repo_root().join("events").join(binary).join(file))
        .expect("the scheduled event");
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["time"] = Value::from(telltale::base::time::timestamp(
        time::OffsetDateTime::now_utc(),
    ));
    Scenario {
        function_id,
        binary,
        role: Role::Monitoring,
        events: vec![(event, Expect::Done)],
    }
}

/// One local stack on the enforcing moto, set up by its administrator: every table, the
/// bucket with the demo mappings, the sender, the sample key in `role`, the sample candidate,
/// a pending email, the OIDC client secret in SSM.
struct Stack {
    names: Value,
    table: Vec<(String, String)>,
    _aai: TokenEndpoint,
    _eosc: AccountingApi,
}

async fn stack(iam: &IamMoto, role: Role) -> Stack {
    let sdk = iam.admin_sdk().await;
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
    let influxdb = influx();
    let database = influxdb.database("least-privilege").await;
    let collectors = repo_root().join("infra/collectors.yaml");

    let names = json!({
        "ProbesTable": probes, "ApiKeysTable": keys, "HeartbeatTable": heartbeats,
        "AccountingTable": accounting, "MappingsBucket": bucket, "SesIdentity": SENDER_DOMAIN,
        "OidcClientSecretParameter": SECRET_PARAMETER,
    });
    let port = iam.endpoint.rsplit(':').next().unwrap().to_string();
    let text = local_config(
        "functions.env",
        &[
            ("MOTO_PORT", &port),
            ("INVOKE_PORT", "9"),
            ("PROMETHEUS_PORT", "9"),
            ("INFLUXDB_PORT", "9"),
            ("PUSHGATEWAY_PORT", "9"),
            ("ALERTMANAGER_PORT", "9"),
            ("EOSC_PORT", "9"),
            ("CURSOR_KEY", "00112233445566778899aabbccddeeff"),
            ("COLLECTORS_FILE", "/nonexistent"),
        ],
    );
    let mut table: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
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
    ] {
        table.retain(|(key, _)| key != k);
        table.push((k.to_string(), v.to_string()));
    }
    Stack {
        names,
        table,
        _aai: aai,
        _eosc: eosc,
    }
}

/// A check quiet for an hour past its 60 s period and grace, with an email and a signed
/// webhook channel: `heartbeat-sweep` flips it down and sends both notices.
async fn quiet_check(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    use telltale::heartbeat::channel::Channel;
    use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore, Record};
    let store = telltale::adapters::aws::heartbeat::HeartbeatTable::new(dynamodb.clone(), table);
    let counts = [("success".to_string(), 1u64)];
    let hour_ago = (time::OffsetDateTime::now_utc().unix_timestamp() - 3600) * 1000;
    store
        .record(&Record {
            check: "nightly",
            source: "least-privilege",
            counts: &counts,
            state: "success",
            success: true,
            start: false,
            ends_run: true,
            failed: false,
            rid: None,
            exit_status: None,
            alarm: None,
            create: true,
            default_period: 60,
            default_grace: 60,
            now_ms: hour_ago,
        })
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
fn webhook() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("a runtime");
            rt.block_on(async {
                let url = telltale_testkit::receiver::Receiver::default()
                    .start(0)
                    .await;
                tx.send(url).expect("sending the URL");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the receiver's URL")
    })
}

/// A candidate whose status email is still to send, for `email-retry`.
async fn pending_email(table: &telltale::adapters::aws::probes::ProbeTable) {
    use telltale::probes::model::Status;
    use telltale::probes::ports::{CandidateStore, OutboxEmail};
    let id = uuid::Uuid::new_v4().to_string();
    let candidate = telltale_testkit::probes::legacy_candidate(&id, "least-privilege");
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
fn environment(
    binary: &str,
    table: &[(String, String)],
    key: &(String, String),
) -> Vec<(String, String)> {
    let out = Command::new(venv_bin("python"))
        .arg(repo_root().join("scripts/function_env.py"))
        .args(["show", binary])
        .env_clear()
        .envs(table.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut env: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY")
        .collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), key.0.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), key.1.clone()));
    env
}

/// Runs the scenario on a fresh stack as a principal holding `statements`; the answers that
/// differ from the expected ones, and the actions refused to it.
/// The stack's names, each standing for itself (`@ProbesTable@`): the template's policy is
/// resolved once per function and filled in for each run's stack.
fn placeholders() -> Value {
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
fn for_stack(policy: &[Value], names: &Value) -> Vec<Value> {
    let mut text = Value::from(policy.to_vec()).to_string();
    for (id, name) in names.as_object().expect("names") {
        text = text.replace(&format!("@{id}@"), name.as_str().unwrap_or_default());
    }
    serde_json::from_str(&text).expect("the policy")
}

/// What a run shows: the answers that differ from the expected ones, what was refused, and
/// the resource taken out (as this run's stack names it).
struct Ran {
    wrong: Vec<String>,
    denied: Vec<(String, String)>,
    removed: String,
}

/// Runs the scenario on a fresh stack as a principal holding the function's policy, less
/// `drop`'s action on the statement's `drop.2`-th resource when given.
async fn run(
    iam: &IamMoto,
    s: &Scenario,
    policy: &[Value],
    drop: Option<(usize, &str, usize)>,
) -> Ran {
    let stack = stack(iam, s.role).await;
    let mut statements = for_stack(policy, &stack.names);
    let mut removed = String::new();
    if let Some((i, action, r)) = drop {
        removed = strings(&statements[i]["Resource"])[r].clone();
        statements = without(&statements, i, action, &removed);
    }
    let key = iam.principal(&unique(s.binary), &statements);
    let env = environment(s.binary, &stack.table, &key);
    let invocations: Vec<Invocation> = s
        .events
        .iter()
        .map(|(payload, _)| Invocation {
            request_id: unique("req"),
            trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            payload: payload.clone(),
        })
        .collect();
    let api = RuntimeApi::start(invocations.clone()).await;
    let path = built_binary(s.binary, s.binary);
    let mut child = Command::new(&path)
        .env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", s.binary)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let answers = api
        .answers(invocations.len(), Duration::from_secs(120))
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let wrong = invocations
        .iter()
        .zip(&s.events)
        .filter_map(|(inv, (_, expect))| {
            let a: &Answer = answers.iter().find(|a| a.request_id == inv.request_id)?;
            let got = match a.kind {
                "response" if a.body.get("statusCode").is_some() => {
                    Expect::Status(a.body["statusCode"].as_u64().unwrap_or(0) as u16)
                }
                "response" => Expect::Done,
                _ => Expect::Status(0),
            };
            (got != *expect).then(|| format!("expected {expect:?}, got {got:?}: {}", a.body))
        })
        .collect();
    Ran {
        wrong,
        denied: iam.denied(&key.0),
        removed,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The statements with statement `i` granting everything it granted but `action` on
/// `resource` (one statement per remaining action and resource).
fn without(statements: &[Value], i: usize, action: &str, resource: &str) -> Vec<Value> {
    let mut out: Vec<Value> = statements
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, s)| s.clone())
        .collect();
    for a in strings(&statements[i]["Action"]) {
        for r in strings(&statements[i]["Resource"]) {
            if (a.as_str(), r.as_str()) != (action, resource) {
                out.push(json!({"Effect": "Allow", "Action": a, "Resource": r}));
            }
        }
    }
    out
}

/// Whether an IAM resource pattern (`*` for any run of characters) covers `resource`.
fn covers(pattern: &str, resource: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == resource;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if resource.len() < first.len() + last.len()
        || !resource.starts_with(first)
        || !resource.ends_with(last)
    {
        return false;
    }
    let mut rest = &resource[first.len()..resource.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The per-run part of a local name (`probes-1a2b3c4d5e6f` → `1a2b3c4d5e6f`), left out of
/// the report.
fn unique_part(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 12
                && w.chars().all(|c| c.is_ascii_hexdigit())
                && w.chars().any(|c| c.is_ascii_digit())
        })
        .unwrap_or("\u{0}")
        .to_string()
}

/// Permissions kept although a run here cannot show the call that needs them, with why.
const NOT_SHOWN: &[(&str, &str, &str)] = &[
    ("metric-metadata", "s3:ListBucket", LIST_BUCKET),
    ("metric-value", "s3:ListBucket", LIST_BUCKET),
    ("accounting-push", "s3:ListBucket", LIST_BUCKET),
    ("collector", "s3:ListBucket", LIST_BUCKET),
    (
        "heartbeat-sweep",
        "dynamodb:GetItem",
        "re-reads a check a ping changed between the sweep's read and its write; one sweep alone does not race",
    ),
];

const LIST_BUCKET: &str = "without it AWS answers a missing object's GetObject with AccessDenied, not NoSuchKey; moto answers NoSuchKey whatever the policy";

/// Each scenario's function needs exactly its template policy: the report of which call needs
/// each permission is printed; a dead one, or a run that answers otherwise than without IAM,
/// fails. Each test has its own moto, so the two run side by side.
async fn prove(scenarios: Vec<Scenario>) {
    let iam = IamMoto::start();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for s in &scenarios {
        let policy = iam.policy(s.function_id, &placeholders());
        let Ran { wrong, denied, .. } = run(&iam, s, &policy, None).await;
        if !wrong.is_empty() || !denied.is_empty() {
            failures.push(format!(
                "{} with its whole policy: refused {denied:?}; {}",
                s.binary,
                wrong.join("; ")
            ));
            continue;
        }
        let statements = &policy;
        for (i, statement) in statements.iter().enumerate() {
            for action in strings(&statement["Action"]) {
                for (r, resource) in strings(&statement["Resource"]).iter().enumerate() {
                    let shown = resource.replace(&unique_part(resource), "…");
                    if let Some((_, _, why)) = NOT_SHOWN
                        .iter()
                        .find(|(b, a, _)| *b == s.binary && *a == action)
                    {
                        report.push(format!(
                            "{} {action} on {shown}: kept, not shown here: {why}",
                            s.function_id
                        ));
                        continue;
                    }
                    let ran = run(&iam, s, &policy, Some((i, &action, r))).await;
                    let denied = &ran.denied;
                    match denied
                        .iter()
                        .find(|(a, r)| *a == action && covers(&ran.removed, r))
                    {
                        Some((a, r)) => report.push(format!(
                            "{} {action} on {shown}: needed, by {a} on {}",
                            s.function_id,
                            r.replace(&unique_part(r), "…")
                        )),
                        None => failures.push(format!(
                            "{} {action} on {shown}: dead (nothing it grants was refused without it; refused {denied:?})",
                            s.function_id
                        )),
                    }
                }
            }
        }
    }
    eprintln!("least privilege:\n  {}", report.join("\n  "));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_http_functions_need_exactly_their_template_policy() {
    prove(vec![
        http("probe-submit", "ProbeSubmitFunction", Role::Submitter),
        http("probe-status", "ProbeStatusFunction", Role::Monitoring),
        http("heartbeat", "HeartbeatFunction", Role::Monitoring),
        http(
            "metric-metadata",
            "MetricMetadataFunction",
            Role::Monitoring,
        ),
        http("metric-value", "MetricValueFunction", Role::Monitoring),
    ])
    .await;
}

#[tokio::test]
async fn the_scheduled_functions_need_exactly_their_template_policy() {
    prove(vec![
        scheduled("email-retry", "EmailRetryFunction"),
        scheduled("token-refresh", "TokenRefreshFunction"),
        scheduled("accounting-push", "AccountingPushFunction"),
        scheduled("heartbeat-sweep", "HeartbeatSweepFunction"),
        collector(
            "CollectorProbePipelineFunction",
            "scheduler-probe-pipeline.json",
        ),
        collector(
            "CollectorEmailOutboxFunction",
            "scheduler-email-outbox.json",
        ),
        collector("CollectorMasCatalogFunction", "scheduler-mas-catalog.json"),
        collector(
            "CollectorMetricValuesFunction",
            "scheduler-metric-values.json",
        ),
        collector(
            "CollectorAccountingPushFunction",
            "scheduler-accounting-push.json",
        ),
    ])
    .await;
}
