//! The accounting push and the token refresh, against HTTP doubles of the EOSC Accounting
//! Service and the OIDC token endpoint, a real Prometheus, and moto (mappings, state table).

use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::accounting::push::{zulu, Pusher, Summary};
use telltale::accounting::token::refresh;
use telltale::adapters::aws::accounting::AccountingTable;
use telltale::adapters::aws::{dynamodb_client, s3_client};
use telltale::adapters::eosc::{Eosc, Oidc};
use telltale::adapters::prometheus::Prometheus;
use telltale::base::env::Secret;
use telltale::metrics::config::MappingsConfig;
use telltale::metrics::store::MappingStore;
use telltale_cli::tables;
use telltale_testkit::eosc::{AccountingApi, TokenEndpoint};
use telltale_testkit::prometheus::prometheus;
use telltale_testkit::{moto::moto, unique};

fn start() -> i64 {
    static START: OnceLock<i64> = OnceLock::new();
    *START.get_or_init(|| (time::OffsetDateTime::now_utc().unix_timestamp() - 3 * 3600) / 60 * 60)
}

fn at(k: i64) -> i64 {
    start() + 60 * k
}

/// acc_a is 5 all along; acc_b grows by 10 a minute.
fn dataset() -> String {
    let mut out = String::from("# TYPE acc_a gauge\n");
    for k in 0..=150 {
        out.push_str(&format!("acc_a 5 {}\n", at(k)));
    }
    out.push_str("# TYPE acc_b gauge\n");
    for k in 0..=150 {
        out.push_str(&format!("acc_b {} {}\n", 10 * k, at(k)));
    }
    out.push_str("# EOF\n");
    out
}

struct World {
    aai: TokenEndpoint,
    api: AccountingApi,
    table: AccountingTable,
    config: AccountingConfig,
    prometheus: Prometheus,
    store: MappingStore,
    bucket: String,
    http: reqwest::Client,
}

impl World {
    async fn new(mode: PeriodMode) -> World {
        let server = prometheus(dataset);
        let sdk = moto().sdk_config().await;
        let (s3, dynamodb) = (s3_client(&sdk), dynamodb_client(&sdk));
        let bucket = unique("acc-mappings");
        tables::ensure_bucket(&s3, &bucket).await.unwrap();
        let metadata = json!({
            "res1": {"metrics": {
                "a": {"name": "A", "eoscMetricDefinitionId": "def-a"},
                "b": {"name": "B", "eoscMetricDefinitionId": "def-b"},
                "noquery": {"name": "No query", "eoscMetricDefinitionId": "def-n"},
                "nodef": {"name": "Not accounted"}
            }, "eoscInstallationId": "inst-1"},
            "res2": {"m": {"name": "No installation", "eoscMetricDefinitionId": "def-m"}}
        });
        let metrics = json!({
            "res1": {"a": {"query": "sum(acc_a)"}, "b": {"query": "increase(acc_b[#R#])"}, "nodef": {"query": "acc_a"}},
            "res2": {"m": {"query": "acc_a"}}
        });
        for (key, body) in [
            ("metadata_mappings.json", metadata),
            ("metrics_mappings.json", metrics),
        ] {
            tables::put_object(&s3, &bucket, key, body.to_string().into_bytes())
                .await
                .unwrap();
        }
        let table_name = unique("accounting");
        tables::ensure_table(
            &dynamodb,
            telltale_cli::tables::Store::Accounting,
            &table_name,
        )
        .await
        .unwrap();
        let aai = TokenEndpoint::start("telltale-client", "s3cret", "initial-refresh").await;
        let api = AccountingApi::start(&aai).await;
        World {
            config: AccountingConfig {
                base_url: api.url.clone(),
                token_url: aai.url.clone(),
                client_id: "telltale-client".into(),
                client_secret: Secret::new("s3cret"),
                initial_refresh_token: Some(Secret::new("initial-refresh")),
                table: table_name.clone(),
                period_mode: mode,
                concurrency: 1,
                refresh_margin: Duration::from_secs(300),
                retry_base: Duration::from_millis(10),
                retries: 3,
            },
            aai,
            api,
            table: AccountingTable::new(dynamodb, table_name),
            prometheus: Prometheus::new(&server.url, Duration::from_secs(5)),
            bucket: bucket.clone(),
            store: telltale::adapters::aws::s3::mapping_store(
                s3,
                MappingsConfig::for_bucket(bucket),
            ),
            http: reqwest::Client::new(),
        }
    }

    /// The token endpoint as `config` names it.
    fn oidc(&self, config: &AccountingConfig) -> Oidc {
        Oidc::new(self.http.clone(), config)
    }

    fn range_start(&self) -> i64 {
        start() - 30
    }

    async fn push(&self, end: i64) -> Summary {
        let view = self.store.view().await;
        let grant = self.oidc(&self.config);
        let service = Eosc {
            http: self.http.clone(),
        };
        let pusher = Pusher {
            service: &service,
            grant: &grant,
            config: &self.config,
            table: &self.table,
            prometheus: &self.prometheus,
            range_start: self.range_start(),
        };
        pusher
            .run(view.metadata().unwrap(), view.metrics().unwrap(), end)
            .await
    }

    async fn direct(&self, promql: &str, time: i64) -> f64 {
        prometheus(dataset).value(promql, time).await
    }
}

#[tokio::test]
async fn the_exact_requests_for_a_known_mapping_and_data_set() {
    let w = World::new(PeriodMode::Cumulative).await;
    let te = at(100);
    let summary = w.push(te).await;
    let increase = w
        .direct(&format!("increase(acc_b[{}s])", te - w.range_start()), te)
        .await;
    let bodies: Vec<(String, Value)> = w
        .api
        .received()
        .into_iter()
        .map(|r| (r.installation, r.body))
        .collect();
    let (from, to) = (zulu(w.range_start()), zulu(te));
    assert_eq!(
        bodies,
        vec![
            (
                "inst-1".to_string(),
                json!({"metric_definition_id": "def-a", "time_period_start": from, "time_period_end": to, "value": 5.0})
            ),
            (
                "inst-1".to_string(),
                json!({"metric_definition_id": "def-b", "time_period_start": from, "time_period_end": to, "value": increase})
            ),
        ]
    );
    assert!(to.ends_with('Z') && to.len() == 20, "{to}");
    // The metric without a query is reported, the others were pushed anyway.
    assert_eq!(summary.pushed.len(), 2);
    assert_eq!(summary.failed, vec![]);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(
        (
            summary.skipped[0].metric.as_str(),
            summary.skipped[0].reason.as_str()
        ),
        ("noquery", "no query for it in metrics_mappings.json")
    );
    assert_eq!(summary.pushed[0].metric_id, "metric-1");
    // The first push had no token: it refreshed on demand, and the bearer was that token.
    assert_eq!(w.aai.grants(), 1);
    assert!(w.api.received().iter().all(|r| r.token == "access-1"));
}

#[tokio::test]
async fn a_re_run_for_the_same_time_pushes_nothing_twice() {
    let w = World::new(PeriodMode::Cumulative).await;
    let first = w.push(at(100)).await;
    let second = w.push(at(100)).await;
    assert_eq!((first.pushed.len(), second.pushed.len()), (2, 0));
    assert_eq!(second.skipped.len(), 3);
    assert!(
        second
            .skipped
            .iter()
            .filter(|s| s.reason.starts_with("already pushed for"))
            .count()
            == 2,
        "{second:?}"
    );
    assert_eq!(w.api.received().len(), 2);
    // A later push is a new period and goes out.
    assert_eq!(w.push(at(110)).await.pushed.len(), 2);
    assert_eq!(w.api.received().len(), 4);
}

/// The push schedule delivered twice at once: each metric's claim on the table lets one run
/// push it, so the service gets what one delivery sends, and a third delivery after both
/// sends nothing.
#[tokio::test]
async fn a_push_delivered_twice_at_once_pushes_each_metric_once() {
    let w = World::new(PeriodMode::Cumulative).await;
    let (a, b) = tokio::join!(w.push(at(100)), w.push(at(100)));
    assert_eq!(a.failed.len() + b.failed.len(), 0, "{a:?} {b:?}");
    assert_eq!(a.pushed.len() + b.pushed.len(), 2, "{a:?} {b:?}");
    let received = w.api.received();
    assert_eq!(received.len(), 2, "one POST per metric and period");
    let mut metrics: Vec<String> = received
        .iter()
        .map(|r| r.body["metric_definition_id"].to_string())
        .collect();
    metrics.sort();
    metrics.dedup();
    assert_eq!(metrics.len(), 2, "each metric once: {metrics:?}");
    assert_eq!(w.push(at(100)).await.pushed.len(), 0);
    assert_eq!(w.api.received().len(), 2);
}

#[tokio::test]
async fn incremental_periods_never_overlap() {
    let w = World::new(PeriodMode::Incremental).await;
    for te in [at(60), at(90), at(120)] {
        assert_eq!(w.push(te).await.pushed.len(), 2);
    }
    let again = w.push(at(120)).await;
    assert_eq!(again.pushed.len(), 0, "{again:?}");
    for def in ["def-a", "def-b"] {
        let periods: Vec<(String, String)> = w
            .api
            .received()
            .into_iter()
            .filter(|r| r.body["metric_definition_id"] == def)
            .map(|r| {
                (
                    r.body["time_period_start"].as_str().unwrap().to_string(),
                    r.body["time_period_end"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            periods,
            vec![
                (zulu(w.range_start()), zulu(at(60))),
                (zulu(at(60)), zulu(at(90))),
                (zulu(at(90)), zulu(at(120))),
            ]
        );
    }
    // The value is computed as the value route computes it, whatever the period mode.
    let b: Vec<f64> = w
        .api
        .received()
        .into_iter()
        .filter(|r| r.body["metric_definition_id"] == "def-b")
        .map(|r| r.body["value"].as_f64().unwrap())
        .collect();
    assert_eq!(b.len(), 3);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let w = World::new(PeriodMode::Cumulative).await;
    assert_eq!(w.push(at(100)).await.pushed.len(), 2);
    w.aai.revoke_access_tokens();
    let summary = w.push(at(101)).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (2, 0),
        "{summary:?}"
    );
    assert_eq!(
        w.aai.grants(),
        2,
        "one refresh for the 401, reused by the next metric"
    );
    let tokens: Vec<String> = w.api.received().into_iter().map(|r| r.token).collect();
    assert_eq!(tokens, vec!["access-1", "access-1", "access-2", "access-2"]);
}

#[tokio::test]
async fn two_500s_then_201_pushes_once() {
    let w = World::new(PeriodMode::Cumulative).await;
    w.api.fail_next(&[500, 500]);
    let summary = w.push(at(100)).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (2, 0),
        "{summary:?}"
    );
    assert_eq!(
        w.api.attempts(),
        4,
        "two failures, then one request per metric"
    );
    assert_eq!(w.api.received().len(), 2);
}

#[tokio::test]
async fn a_4xx_is_recorded_and_the_others_go_on() {
    let w = World::new(PeriodMode::Cumulative).await;
    w.api.fail_next(&[404]);
    let summary = w.push(at(100)).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (1, 1),
        "{summary:?}"
    );
    assert_eq!(summary.failed[0].metric, "a");
    assert_eq!(
        summary.failed[0].reason,
        "EOSC Accounting Service answered HTTP 404: scripted failure"
    );
    assert_eq!(
        summary.line(),
        "accounting push: 1 pushed, 1 skipped, 1 failed"
    );
    // Each metric's latest outcome is kept for the accounting_push collector.
    let keys = [
        ("inst-1".to_string(), "def-a".to_string()),
        ("inst-1".to_string(), "def-b".to_string()),
    ];
    let outcomes = w.table.outcomes(&keys).await.unwrap();
    let (a, b) = (&outcomes[&keys[0]], &outcomes[&keys[1]]);
    assert_eq!((a.state.as_str(), b.state.as_str()), ("failed", "pushed"));
    assert_eq!(a.reason.as_deref(), Some(summary.failed[0].reason.as_str()));
    assert_eq!(
        (a.last_success_at.as_ref(), b.last_success_at.as_ref()),
        (None, Some(&b.at))
    );
    assert_eq!(b.value, Some(summary.pushed[0].value));
    // The failed one is retried by the next run for the same time; the pushed one is not.
    let again = w.push(at(100)).await;
    assert_eq!(
        again
            .pushed
            .iter()
            .map(|p| p.metric.as_str())
            .collect::<Vec<_>>(),
        vec!["a"]
    );
    let a = &w.table.outcomes(&keys).await.unwrap()[&keys[0]];
    assert_eq!((a.state.as_str(), a.reason.as_ref()), ("pushed", None));
    assert_eq!(a.last_success_at.as_ref(), Some(&a.at));
}

#[tokio::test]
async fn token_rotation_is_stored() {
    let w = World::new(PeriodMode::Cumulative).await;
    let first = refresh(&w.oidc(&w.config), &w.config, &w.table)
        .await
        .unwrap();
    assert_eq!(
        (
            first.access_token.expose(),
            first.refresh_token.expose(),
            first.version
        ),
        ("access-1", "refresh-1", 1)
    );
    let second = refresh(&w.oidc(&w.config), &w.config, &w.table)
        .await
        .unwrap();
    assert_eq!(
        (
            second.access_token.expose(),
            second.refresh_token.expose(),
            second.version
        ),
        ("access-2", "refresh-2", 2)
    );
    let stored = w.table.token().await.unwrap().unwrap();
    assert_eq!(stored, second);
    assert_eq!(
        stored.refresh_token.expose(),
        w.aai.refresh_token(),
        "the rotated token is the one the provider accepts now"
    );
    assert!(stored.expires_at > time::OffsetDateTime::now_utc().unix_timestamp() + 3000);
    assert_eq!(
        format!("{stored:?}").matches("***").count(),
        2,
        "secrets never print"
    );
}

#[tokio::test]
async fn a_down_token_endpoint_keeps_the_old_token_and_fails_with_the_reason() {
    let w = World::new(PeriodMode::Cumulative).await;
    let before = refresh(&w.oidc(&w.config), &w.config, &w.table)
        .await
        .unwrap();
    w.aai.set_down(true);
    let err = refresh(&w.oidc(&w.config), &w.config, &w.table)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "OIDC token endpoint answered with an error: HTTP 503 Service Unavailable: temporarily_unavailable");
    assert_eq!(w.table.token().await.unwrap().unwrap(), before);
    // Nothing listening at all is a 503 of ours.
    let mut gone = w.config.clone();
    gone.token_url = format!(
        "http://127.0.0.1:{}/token",
        telltale_testkit::watch::free_port()
    );
    let err = refresh(&w.oidc(&gone), &gone, &w.table).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("OIDC token endpoint unavailable: "),
        "{err}"
    );
    assert_eq!(w.table.token().await.unwrap().unwrap(), before);
}

fn cli(w: &World, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(telltale_testkit::cli_binary())
        .args(args)
        .envs(moto().env())
        .env("MAPPINGS_BUCKET", &w.bucket)
        .env("PROMETHEUS_URL", &prometheus(dataset).url)
        .env("COUNTER_RANGE_START", w.range_start().to_string())
        .env("ACCOUNTING_BASE_URL", &w.api.url)
        .env("ACCOUNTING_TABLE", &w.config.table)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_dry_run_prints_the_requests_and_sends_nothing() {
    let w = World::new(PeriodMode::Cumulative).await;
    let te = at(100);
    let out = cli(
        &w,
        &["accounting", "preview", "--time", &te.to_string()],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = format!(
        "{}/accounting-system/installations/inst-1/metrics",
        w.api.url
    );
    assert_eq!(
        printed["would_send"][0],
        json!({"url": url, "body": {"metric_definition_id": "def-a", "time_period_start": zulu(w.range_start()), "time_period_end": zulu(te), "value": 5.0}})
    );
    assert_eq!(printed["would_send"].as_array().unwrap().len(), 2);
    assert_eq!(printed["skipped"][0]["metric"], "noquery");
    assert_eq!(
        (w.api.attempts(), w.aai.grants()),
        (0, 0),
        "nothing sent, no token asked for"
    );

    let out = cli(&w, &["push"], None);
    assert!(
        !out.status.success(),
        "there is no command that pushes for real"
    );
}

#[tokio::test]
async fn the_refresh_token_is_set_by_an_authenticated_command() {
    let w = World::new(PeriodMode::Cumulative).await;
    let mut no_initial = w.config.clone();
    no_initial.initial_refresh_token = None;
    let err = refresh(&w.oidc(&no_initial), &no_initial, &w.table)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no refresh token"), "{err}");

    let out = cli(
        &w,
        &["accounting", "set-refresh-token"],
        Some("initial-refresh\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("initial-refresh"),
        "the token is never echoed"
    );
    let token = refresh(&w.oidc(&no_initial), &no_initial, &w.table)
        .await
        .unwrap();
    assert_eq!(
        (token.access_token.expose(), token.version),
        ("access-1", 2)
    );
}

#[tokio::test]
async fn concurrent_pushes_refresh_the_token_once_and_never_reuse_a_refresh_token() {
    let mut w = World::new(PeriodMode::Cumulative).await;
    w.config.concurrency = 8;
    // No token yet: both metrics' pushes need one at the same moment.
    let first = w.push(at(100)).await;
    assert_eq!(
        (first.pushed.len(), first.failed.len()),
        (2, 0),
        "{first:?}"
    );
    assert_eq!(
        w.aai.grants(),
        1,
        "one refresh for every push waiting on it"
    );
    // Both get a 401 at once: one refresh again, the other push reuses its result.
    w.aai.revoke_access_tokens();
    let second = w.push(at(101)).await;
    assert_eq!(
        (second.pushed.len(), second.failed.len()),
        (2, 0),
        "{second:?}"
    );
    assert_eq!(w.aai.grants(), 2);
    assert!(
        !w.aai.family_revoked(),
        "a rotated refresh token was presented twice"
    );
    // The scheduled refresh racing a push's refresh: still no reuse.
    w.aai.revoke_access_tokens();
    let oidc = w.oidc(&w.config);
    let (scheduled, pushed) = tokio::join!(refresh(&oidc, &w.config, &w.table), w.push(at(102)));
    scheduled.unwrap();
    assert_eq!(pushed.failed.len(), 0, "{pushed:?}");
    assert!(!w.aai.family_revoked());
}

#[tokio::test]
async fn a_refresh_in_another_instance_is_waited_for_and_its_token_used() {
    let w = World::new(PeriodMode::Cumulative).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Another instance holds the lease and is refreshing.
    assert!(w
        .table
        .acquire_refresh_lease("other", now, 30)
        .await
        .unwrap());
    let oidc = w.oidc(&w.config);
    let ours = telltale::accounting::token::valid_token(&oidc, &w.config, &w.table);
    let theirs = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let token = telltale::accounting::model::StoredToken {
            access_token: Secret::new("from-the-other-instance"),
            expires_at: now + 3600,
            refresh_token: Secret::new("rotated-elsewhere"),
            version: 1,
            refreshed_at: now,
        };
        assert!(w.table.put_token(&token).await.unwrap());
        w.table.release_refresh_lease("other").await.unwrap();
    };
    let (token, ()) = tokio::join!(ours, theirs);
    assert_eq!(token.unwrap().expose(), "from-the-other-instance");
    assert_eq!(w.aai.grants(), 0, "no second refresh");
}

#[tokio::test]
async fn the_client_secret_and_first_refresh_token_come_from_ssm_as_deployed() {
    use telltale::adapters::aws::ssm::{accounting_config, ssm_client};
    use telltale::base::env::Env;
    let ssm = ssm_client(&moto().sdk_config().await);
    let prefix = format!("/telltale/{}", unique("oidc"));
    for (name, value) in [("client-secret", "s3cr3t"), ("refresh", "first-refresh")] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    let deployed = |name: &str| -> Option<String> {
        Some(match name {
            "ACCOUNTING_BASE_URL" => "https://accounting.example.org".into(),
            "TOKEN_URL" => "https://aai.example.org/token".into(),
            "OIDC_CLIENT_ID" => "telltale".into(),
            "ACCOUNTING_TABLE" => "accounting".into(),
            // The plain variables lose to the parameters when both are set.
            "OIDC_CLIENT_SECRET" => "stale".into(),
            "OIDC_CLIENT_SECRET_PARAMETER" => format!("{prefix}/client-secret"),
            "INITIAL_REFRESH_TOKEN_PARAMETER" => format!("{prefix}/refresh"),
            _ => return None,
        })
    };
    let config = accounting_config(&Env(deployed), &ssm).await.unwrap();
    assert_eq!(config.client_secret.expose(), "s3cr3t");
    assert_eq!(
        config.initial_refresh_token.as_ref().map(Secret::expose),
        Some("first-refresh")
    );
    assert!(
        !format!("{config:?}").contains("s3cr3t"),
        "secrets never print"
    );

    // A parameter that is not there stops the function naming the variable, not the value.
    let missing = |name: &str| match name {
        "INITIAL_REFRESH_TOKEN_PARAMETER" => Some(format!("{prefix}/absent")),
        other => deployed(other),
    };
    let err = accounting_config(&Env(missing), &ssm).await.unwrap_err();
    assert!(
        err.to_string().contains("INITIAL_REFRESH_TOKEN_PARAMETER")
            && err.to_string().contains("ParameterNotFound"),
        "{err}"
    );
    // Locally, the variables themselves.
    let local = |name: &str| match name {
        "OIDC_CLIENT_SECRET_PARAMETER" | "INITIAL_REFRESH_TOKEN_PARAMETER" => None,
        other => deployed(other),
    };
    let config = accounting_config(&Env(local), &ssm).await.unwrap();
    assert_eq!(config.client_secret.expose(), "stale");
    assert!(config.initial_refresh_token.is_none());
    let none = |name: &str| match name {
        "OIDC_CLIENT_SECRET" => None,
        other => local(other),
    };
    let err = accounting_config(&Env(none), &ssm).await.unwrap_err();
    assert!(err.to_string().contains("OIDC_CLIENT_SECRET"), "{err}");
}

/// The accounting table on moto keeps the promises the in-memory store is held to (the same
/// suite runs on the memory store in the fast tier).
#[tokio::test]
async fn the_accounting_table_keeps_the_promises_the_memory_store_is_held_to() {
    let dynamodb = dynamodb_client(&telltale_testkit::moto::moto().sdk_config().await);
    let name = telltale_testkit::unique("contract-accounting");
    telltale_cli::tables::ensure_table(&dynamodb, telltale_cli::tables::Store::Accounting, &name)
        .await
        .unwrap();
    let table = AccountingTable::new(dynamodb, name);
    telltale_testkit::contracts::accounting_store(&table, "dynamodb").await;
}
