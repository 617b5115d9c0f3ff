//! The five built-in collectors against real stores (moto's DynamoDB and S3, a Prometheus with
//! the demo series) writing to a real InfluxDB, read back through InfluxQL: what comes back is
//! what the stores hold. Also: partial and whole source failures, the dashboard's queries, the
//! `telltale collect` command, and the template's schedules.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use telltale::adapters::aws::accounting::AccountingTable;
use telltale::adapters::aws::probes::ProbeTable;
use telltale::adapters::aws::{dynamodb_client, ses::Ses, ses_client};
use telltale::auth::{Caller, Role};
use telltale::base::time::parse_time;
use telltale::collectors::builtin::{find, BUILTINS};
use telltale::collectors::registry::Registry;
use telltale::collectors::run::run;
use telltale::collectors::sources::Source;
use telltale::collectors::sources::Sources;
use telltale::collectors::CollectorError;
use telltale::probes::email::EmailSettings;
use telltale::probes::model::{Candidate, HistoryEntry, Status};
use telltale::probes::ports::{CandidateStore, Outbox, OutboxEmail};
use telltale::probes::validate::Submission;
use telltale_cli::tables;
use telltale_testkit::collectors::Stack;
use telltale_testkit::influx::influx;
use telltale_testkit::prometheus::{demo_series, prometheus};
use telltale_testkit::{repo_root, unique};
use time::{Duration, OffsetDateTime};

fn demo(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_root().join("demo").join(name)).unwrap()).unwrap()
}

async fn demo_stack() -> Stack {
    let (metadata, metrics) = (
        demo("metadata_mappings.json"),
        demo("metrics_mappings.json"),
    );
    Stack::new(&prometheus(demo_series).url, Some((&metadata, &metrics))).await
}

/// Now, in whole seconds (points are written at second precision).
fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap()
}

fn rfc3339(t: OffsetDateTime) -> String {
    telltale::base::time::timestamp(t)
}

/// Rows of `q` keyed by the given tag.
async fn by_tag(db: &str, q: &str, tag: &str) -> HashMap<String, Map<String, Value>> {
    influx()
        .rows(db, q)
        .await
        .into_iter()
        .map(|r| (r[tag].as_str().unwrap_or_default().to_string(), r))
        .collect()
}

async fn collect_into(
    stack: &Stack,
    name: &str,
    now: OffsetDateTime,
) -> telltale::collectors::run::Report {
    let sources = stack.sources(&[]);
    let sink = stack.sink(&[]).await;
    run(find(name).unwrap(), &sources, &sink, now)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Why the collector fails with these sources (the run must fail).
async fn failure(stack: &Stack, name: &str, sources: &Sources) -> CollectorError {
    match run(find(name).unwrap(), sources, &stack.sink(&[]).await, now()).await {
        Ok(report) => panic!("{name} should have failed: {report:?}"),
        Err(e) => e,
    }
}

// ---- probe_pipeline ----

/// A candidate whose history moved through `steps` (status, seconds before `now`).
fn candidate(name: &str, steps: &[(Status, i64)], now: OffsetDateTime) -> Candidate {
    let first = rfc3339(now - Duration::seconds(steps[0].1));
    let mut c = Candidate::submitted(
        uuid::Uuid::new_v4().to_string(),
        Submission {
            name: name.into(),
            description: None,
            docurl: "https://example.org/doc".into(),
            command: "check -t 10".into(),
            contact: "owner@example.org".into(),
            rpm: None,
            yum_baseurl: None,
            script: Some("https://example.org/s".into()),
        },
        "test",
        &first,
    );
    for pair in steps.windows(2) {
        let at = rfc3339(now - Duration::seconds(pair[1].1));
        c.history.push(HistoryEntry {
            from: Some(pair[0].0),
            to: pair[1].0,
            at: at.clone(),
            by: "test".into(),
            forced: false,
        });
        c.status = pair[1].0;
        c.status_changed_at = at;
    }
    c
}

async fn store(table: &ProbeTable, c: &Candidate) {
    let mut email = OutboxEmail::pending(
        &c.id,
        Status::Submitted,
        telltale::probes::email::Email {
            from: String::new(),
            to: c.contact.clone(),
            bcc: vec![],
            subject: String::new(),
            text: String::new(),
        },
        &c.created,
    );
    email.state = telltale::probes::ports::EmailState::Sent;
    table.create(c, &email, None).await.unwrap();
}

#[tokio::test]
async fn probe_pipeline_counts_what_the_status_index_holds() {
    use Status::*;
    let stack = demo_stack().await;
    let table = ProbeTable::new(dynamodb_client(&stack.sdk), &stack.probes_table);
    let now = now();
    let candidates = [
        candidate("a", &[(Submitted, 100)], now),
        candidate("b", &[(Submitted, 200)], now),
        candidate("c", &[(Submitted, 300)], now),
        candidate(
            "d",
            &[(Submitted, 9000), (Processing, 8000), (Testing, 50)],
            now,
        ),
        candidate("e", &[(Submitted, 9000), (Testing, 4000)], now),
        // Finished stays in testing: 3600 s and 7200 s.
        candidate(
            "f",
            &[(Submitted, 20000), (Testing, 10000), (Deployed, 6400)],
            now,
        ),
        candidate(
            "g",
            &[(Submitted, 20000), (Testing, 17200), (Rejected, 10000)],
            now,
        ),
    ];
    for c in &candidates {
        store(&table, c).await;
    }
    let report = collect_into(&stack, "probe_pipeline", now).await;
    assert_eq!(report.points, 6, "{report:?}");
    assert_eq!(report.written, 6);
    assert!(report.warnings.is_empty(), "{report:?}");

    let rows = by_tag(
        &stack.db,
        r#"SELECT "count", "oldest_age_seconds" FROM "probe_pipeline" GROUP BY "status""#,
        "status",
    )
    .await;
    let expect = [
        ("submitted", 3, Some(300)),
        ("processing", 0, None),
        ("testing", 2, Some(4000)),
        ("deployed", 1, Some(6400)),
        ("rejected", 1, Some(10000)),
    ];
    for (status, count, oldest) in expect {
        let row = &rows[status];
        assert_eq!(row["count"], json!(count), "{status}: {row:?}");
        assert_eq!(
            row["oldest_age_seconds"].as_i64(),
            oldest,
            "{status}: {row:?}"
        );
        assert_eq!(row["time"], json!(now.unix_timestamp()));
    }
    let testing = influx()
        .rows(&stack.db, r#"SELECT * FROM "probe_testing_time""#)
        .await;
    assert_eq!(testing.len(), 1);
    assert_eq!(testing[0]["completed"], json!(2));
    assert_eq!(testing[0]["mean_seconds"], json!(5400));
    assert_eq!(testing[0]["max_seconds"], json!(7200));
}

#[tokio::test]
async fn probe_pipeline_fails_naming_the_table_when_it_cannot_be_read() {
    let stack = demo_stack().await;
    let sources = stack.sources(&[("PROBES_TABLE", "no-such-table")]);
    let err = failure(&stack, "probe_pipeline", &sources).await;
    assert!(matches!(err, CollectorError::SourceDown { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("probe table (DynamoDB, by-status index) unavailable"),
        "{err}"
    );
    assert!(influx().measurements(&stack.db).await.is_empty());
}

#[tokio::test]
async fn a_store_the_function_was_not_configured_for_is_named() {
    let stack = demo_stack().await;
    let map: HashMap<String, String> = stack
        .env()
        .into_iter()
        .filter(|(k, _)| k != "PROBES_TABLE")
        .collect();
    let sources = telltale::wiring::collector_sources(
        &telltale::base::env::Env(move |k: &str| map.get(k).cloned()),
        &stack.sdk,
    )
    .unwrap();
    let err = failure(&stack, "email_outbox", &sources).await;
    assert_eq!(
        err.to_string(),
        "PROBES_TABLE is not set: the email_outbox collector reads the probe table (DynamoDB, emails-due index)"
    );
}

// ---- email_outbox ----

#[tokio::test]
async fn email_outbox_shows_a_refused_email_with_its_age_until_it_is_sent() {
    let stack = demo_stack().await;
    let table = ProbeTable::new(dynamodb_client(&stack.sdk), &stack.probes_table);
    let ses = ses_client(&stack.sdk);
    // An unverified sender: moto's SES refuses the email, so it stays pending.
    let sender = format!("{}@unverified.test", unique("sender"));
    let settings = EmailSettings {
        from: format!("ARGO Monitoring <{sender}>"),
        team: vec!["team@example.org".into()],
        providers_portal_url: "https://providers.example.org".into(),
        team_page_url: Some("https://argo.example.org/prod/team/".into()),
    };
    let body = json!({"name": "p", "docurl": "https://example.org/d", "command": "c -t 5",
                      "contact": "owner@example.org", "script": "https://example.org/s"});
    let submitted = telltale::probes::submit::submit(
        &table,
        &Ses::new(ses.clone()),
        &settings,
        &Caller {
            name: "t".into(),
            role: Role::Submitter,
            key_hash: "t-hash".into(),
        },
        body.as_object().unwrap(),
        None,
    )
    .await
    .unwrap();
    assert!(
        submitted.warning.is_some(),
        "the email should have been refused"
    );
    let pending = table.pending_emails().await.unwrap();
    assert_eq!(pending.len(), 1);
    let queued = parse_time(pending[0].queued_at.as_deref().unwrap()).unwrap();

    let at = queued + Duration::seconds(42);
    collect_into(&stack, "email_outbox", at).await;
    let rows = influx()
        .rows(&stack.db, r#"SELECT * FROM "email_outbox""#)
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["pending"], json!(1));
    assert_eq!(rows[0]["failing"], json!(1));
    assert_eq!(rows[0]["max_attempts"], json!(1));
    assert_eq!(rows[0]["oldest_age_seconds"], json!(42));

    // Once SES takes it, the outbox is empty again.
    tables::ensure_email_identity(&ses, &sender).await.unwrap();
    let summary = telltale::probes::outbox::deliver_pending(&table, &Ses::new(ses))
        .await
        .unwrap();
    assert_eq!(summary.sent, 1);
    let later = at + Duration::seconds(300);
    collect_into(&stack, "email_outbox", later).await;
    let rows = influx()
        .rows(
            &stack.db,
            &format!(
                r#"SELECT * FROM "email_outbox" WHERE time = {}s"#,
                later.unix_timestamp()
            ),
        )
        .await;
    assert_eq!(rows[0]["pending"], json!(0));
    assert_eq!(rows[0]["failing"], json!(0));
    assert_eq!(rows[0]["oldest_age_seconds"], Value::Null);
}

#[tokio::test]
async fn email_outbox_counts_an_email_given_up_as_dead() {
    let stack = demo_stack().await;
    let table = ProbeTable::new(dynamodb_client(&stack.sdk), &stack.probes_table);
    let ses = Ses::new(ses_client(&stack.sdk));
    let settings = EmailSettings {
        from: format!("ARGO Monitoring <{}@unverified.test>", unique("sender")),
        team: vec!["team@example.org".into()],
        providers_portal_url: "https://providers.example.org".into(),
        team_page_url: Some("https://argo.example.org/prod/team/".into()),
    };
    let body = json!({"name": "p", "docurl": "https://example.org/d", "command": "c -t 5",
                      "contact": "owner@example.org", "script": "https://example.org/s"});
    let caller = Caller {
        name: "t".into(),
        role: Role::Submitter,
        key_hash: "t-hash".into(),
    };
    telltale::probes::submit::submit(
        &table,
        &ses,
        &settings,
        &caller,
        body.as_object().unwrap(),
        None,
    )
    .await
    .unwrap();
    // Refused until the last attempt: each run claims it again right away (no lease wait).
    let id = table.pending().await.unwrap().remove(0);
    for attempt in 2..=telltale::probes::outbox::MAX_ATTEMPTS {
        dynamodb_client(&stack.sdk)
            .update_item()
            .table_name(&stack.probes_table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
            .update_expression("REMOVE claimed_until")
            .send()
            .await
            .unwrap();
        let summary = telltale::probes::outbox::deliver_pending(&table, &ses)
            .await
            .unwrap();
        assert_eq!(summary.failed.len(), 1, "attempt {attempt}: {summary:?}");
    }
    assert!(table.pending().await.unwrap().is_empty());
    let at = now();
    collect_into(&stack, "email_outbox", at).await;
    let rows = influx()
        .rows(&stack.db, r#"SELECT * FROM "email_outbox""#)
        .await;
    assert_eq!(rows[0]["dead"], json!(1), "{rows:?}");
    assert_eq!(rows[0]["pending"], json!(0), "{rows:?}");
}

// ---- metric_values ----

#[tokio::test]
async fn metric_values_equal_what_prometheus_computes() {
    let stack = demo_stack().await;
    let server = prometheus(demo_series);
    let now = now();
    let report = collect_into(&stack, "metric_values", now).await;
    assert_eq!(report.written, 4, "{report:?}");
    let rows = by_tag(
        &stack.db,
        r#"SELECT "value" FROM "mas_metric_value" GROUP BY "resource", "metric""#,
        "metric",
    )
    .await;
    let t = now.unix_timestamp();
    let range = t - telltale::metrics::config::DEFAULT_RANGE_START;
    assert_eq!(
        rows["deployed-probes"]["value"].as_f64(),
        Some(server.value("sum(telltale_demo_deployed_probes)", t).await)
    );
    assert_eq!(rows["deployed-probes"]["value"].as_f64(), Some(15.0));
    assert_eq!(
        rows["probe-submissions"]["value"].as_f64(),
        Some(
            server
                .value(
                    &format!("increase(telltale_demo_submissions_total[{range}s])"),
                    t
                )
                .await
        )
    );
    assert_eq!(
        rows["availability"]["value"].as_f64(),
        Some(server.value("avg_over_time(telltale_demo_up[1d])", t).await)
    );
    assert_eq!(rows["monthly-users"]["resource"], json!("metrics-portal"));
    assert!(rows["monthly-users"]["value"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
}

#[tokio::test]
async fn metric_values_write_what_they_can_and_fail_when_prometheus_is_down() {
    let metadata = json!({"r": {"ok": {"name": "ok"}, "missing": {"name": "missing"}}});
    let metrics = json!({"r": {"ok": {"query": "sum(telltale_demo_deployed_probes)"},
                                "missing": {"query": "telltale_series_that_does_not_exist"}}});
    let stack = Stack::new(&prometheus(demo_series).url, Some((&metadata, &metrics))).await;
    let report = collect_into(&stack, "metric_values", now()).await;
    assert_eq!(report.written, 1);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].starts_with("r/missing: ") && report.warnings[0].contains("no data"),
        "{report:?}"
    );

    let closed = format!("http://127.0.0.1:{}", telltale_testkit::watch::free_port());
    let sources = stack.sources(&[("PROMETHEUS_URL", &closed)]);
    let err = failure(&stack, "metric_values", &sources).await.to_string();
    assert!(
        err.starts_with("Prometheus unavailable: no metric value could be computed (2 tried)"),
        "{err}"
    );
}

// ---- mas_catalog ----

#[tokio::test]
async fn mas_catalog_reports_what_the_files_define_and_a_rejected_upload() {
    let stack = demo_stack().await;
    let sources = stack.sources(&[]);
    let sink = stack.sink(&[]).await;
    let collector = find("mas_catalog").unwrap();
    let t0 = now();
    run(collector, &sources, &sink, t0).await.unwrap();
    let rows = by_tag(
        &stack.db,
        r#"SELECT * FROM "mas_catalog" GROUP BY "file""#,
        "file",
    )
    .await;
    assert_eq!(rows["metadata"]["loaded"], json!(1));
    assert_eq!(rows["metadata"]["resources"], json!(2));
    assert_eq!(rows["metadata"]["metrics"], json!(4));
    assert_eq!(rows["metrics"]["metrics"], json!(4));
    assert_eq!(rows["metrics"]["validation_errors"], json!(0));
    assert!(rows["metrics"]["version"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));

    // A bad upload: the warm store keeps serving the last good version and says how many
    // problems the new one has; a cold one has nothing loaded.
    let bad =
        json!({"r": {"a": {"query": "sum(("}, "b": {"nope": 1}, "c": {"query": "#unknown()"}}});
    let problems = telltale::metrics::parse::parse_metrics(bad.to_string().as_bytes())
        .unwrap_err()
        .len();
    assert!(problems >= 3);
    stack.upload("metrics_mappings.json", &bad).await;
    let t1 = t0 + Duration::seconds(60);
    let warm = run(collector, &sources, &sink, t1).await.unwrap();
    assert!(
        warm.warnings
            .iter()
            .any(|w| w.starts_with("metrics mappings: ")),
        "{warm:?}"
    );
    let t2 = t1 + Duration::seconds(60);
    run(collector, &stack.sources(&[]), &sink, t2)
        .await
        .unwrap();
    for (t, loaded) in [(t1, 1), (t2, 0)] {
        let rows = influx()
            .rows(
                &stack.db,
                &format!(
                    r#"SELECT * FROM "mas_catalog" WHERE "file" = 'metrics' AND time = {}s"#,
                    t.unix_timestamp()
                ),
            )
            .await;
        assert_eq!(rows[0]["loaded"], json!(loaded), "{rows:?}");
        assert_eq!(rows[0]["validation_errors"], json!(problems));
    }
}

#[tokio::test]
async fn mas_catalog_writes_the_file_it_can_read_and_fails_without_any() {
    let metadata = demo("metadata_mappings.json");
    let stack = Stack::new(&prometheus(demo_series).url, None).await;
    stack.upload("metadata_mappings.json", &metadata).await;
    let report = collect_into(&stack, "mas_catalog", now()).await;
    assert_eq!(report.written, 1);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("metrics mappings") && w.contains("NoSuchKey")),
        "{report:?}"
    );

    let sources = stack.sources(&[("MAPPINGS_BUCKET", &unique("no-such-bucket"))]);
    let err = failure(&stack, "mas_catalog", &sources).await.to_string();
    assert!(err.starts_with("mapping files (S3) unavailable: "), "{err}");
}

// ---- accounting_push ----

const INSTALLATION: &str = "6551ebae5c4b4d2a5b7b0e1a";
const SUBMISSIONS: &str = "6551ec9b5c4b4d2a5b7b0e2f";

#[tokio::test]
async fn accounting_push_reports_each_metrics_last_outcome() {
    let stack = demo_stack().await;
    let table = AccountingTable::new(dynamodb_client(&stack.sdk), &stack.accounting_table);
    let now = now();
    let (ok_at, failed_at) = (
        rfc3339(now - Duration::seconds(3600)),
        rfc3339(now - Duration::seconds(60)),
    );
    table
        .record_outcome(INSTALLATION, SUBMISSIONS, true, Some(47.0), None, &ok_at)
        .await
        .unwrap();
    table
        .record_outcome(
            INSTALLATION,
            SUBMISSIONS,
            false,
            Some(48.0),
            Some("HTTP 500"),
            &failed_at,
        )
        .await
        .unwrap();
    collect_into(&stack, "accounting_push", now).await;
    let rows = by_tag(
        &stack.db,
        r#"SELECT * FROM "accounting_push" GROUP BY "metric""#,
        "metric",
    )
    .await;
    let pushed = &rows["probe-submissions"];
    assert_eq!(pushed["state"], json!("failed"));
    assert_eq!(pushed["last_ok"], json!(0));
    assert_eq!(pushed["last_attempt_age_seconds"], json!(60));
    assert_eq!(pushed["last_success_age_seconds"], json!(3600));
    assert_eq!(pushed["value"], json!(48));
    let never = &rows["deployed-probes"];
    assert_eq!(never["state"], json!("never"));
    assert_eq!(never["last_success_age_seconds"], Value::Null);
    assert_eq!(
        rows.len(),
        2,
        "metrics-portal has no installation: {rows:?}"
    );

    let sources = stack.sources(&[("ACCOUNTING_TABLE", "no-such-table")]);
    let err = failure(&stack, "accounting_push", &sources)
        .await
        .to_string();
    assert!(
        err.starts_with("accounting table (DynamoDB) unavailable"),
        "{err}"
    );
}

// ---- the dashboard ----

/// Every query of the shipped Grafana dashboard, with Grafana's macros filled in.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = repo_root().join("infra/grafana/telltale-kpis.json");
    let dashboard: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let q = target["query"].as_str().unwrap();
            let filled = q
                .replace("$timeFilter", "time > now() - 1h")
                .replace("$__interval", "1m");
            assert!(!filled.contains('$'), "an unknown macro in {q}");
            queries.push((panel["title"].as_str().unwrap().to_string(), filled));
        }
    }
    queries
}

#[tokio::test]
async fn every_dashboard_query_parses_and_returns_data() {
    use Status::*;
    let stack = demo_stack().await;
    let table = ProbeTable::new(dynamodb_client(&stack.sdk), &stack.probes_table);
    let t = now();
    store(
        &table,
        &candidate("f", &[(Submitted, 900), (Testing, 600), (Deployed, 300)], t),
    )
    .await;
    let mut pending = OutboxEmail::pending(
        "x",
        Submitted,
        telltale::probes::email::Email {
            from: String::new(),
            to: "o@example.org".into(),
            bcc: vec![],
            subject: String::new(),
            text: String::new(),
        },
        &rfc3339(t - Duration::seconds(30)),
    );
    pending.last_error = Some("refused".into());
    store_email(&table, &candidate("p", &[(Submitted, 30)], t), &pending).await;
    AccountingTable::new(dynamodb_client(&stack.sdk), &stack.accounting_table)
        .record_outcome(
            INSTALLATION,
            SUBMISSIONS,
            true,
            Some(1.0),
            None,
            &rfc3339(t),
        )
        .await
        .unwrap();
    for c in BUILTINS {
        collect_into(&stack, c.name(), t).await;
    }
    // The declared examples, on local copies of their documents and a Prometheus with `up`.
    let base = telltale_testkit::documents::documents().await;
    let text = std::fs::read_to_string(telltale_testkit::documents::localized_declarations(&base))
        .unwrap();
    let registry = Registry::with_file(&text).unwrap();
    let up = prometheus(telltale_testkit::prometheus::up_series)
        .url
        .clone();
    let sources = stack.sources(&[("PROMETHEUS_URL", up.as_str())]);
    let sink = stack.sink(&[]).await;
    for c in registry.all().iter().filter(|c| c.declared()) {
        let report = run(*c, &sources, &sink, t).await.unwrap();
        assert!(report.written > 0, "{}: {report:?}", c.name());
    }
    // The heartbeat source's measurement, as its InfluxDB sink writes it.
    telltale::heartbeat::ports::BeatSink::send(
        &sink,
        &telltale::heartbeat::ports::Beat {
            source: "local",
            value: 1,
            periods: 1,
            at: t,
        },
    )
    .await
    .unwrap();
    let queries = dashboard_queries();
    assert!(queries.len() >= BUILTINS.len());
    for (title, q) in queries {
        let answer = influx().query(&stack.db, &q).await;
        assert!(
            answer["results"][0]["error"].is_null() && answer["error"].is_null(),
            "{title}: {q}: {answer}"
        );
        let series = answer["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has_values = series.iter().any(|s| {
            s["values"].as_array().is_some_and(|rows| {
                rows.iter().any(|r| {
                    r.as_array()
                        .is_some_and(|r| r.iter().skip(1).any(|v| !v.is_null()))
                })
            })
        });
        assert!(has_values, "{title}: {q} returned no data: {answer}");
    }
    // And every measurement the collectors write has a panel.
    let measurements = influx().measurements(&stack.db).await;
    let text =
        std::fs::read_to_string(repo_root().join("infra/grafana/telltale-kpis.json")).unwrap();
    for m in measurements {
        assert!(
            text.contains(&format!("FROM \\\"{m}\\\"")),
            "no panel reads {m}"
        );
    }
}

async fn store_email(table: &ProbeTable, c: &Candidate, email: &OutboxEmail) {
    let mut email = email.clone();
    email.id = telltale::probes::ports::email_id(&c.id, Status::Submitted);
    email.candidate_id = c.id.clone();
    table.create(c, &email, None).await.unwrap();
}

// ---- the command line ----

fn cli(stack: &Stack, args: &[&str]) -> std::process::Output {
    std::process::Command::new(telltale_testkit::cli_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(stack.env())
        .output()
        .expect("running telltale")
}

#[tokio::test]
async fn telltale_collect_lists_dry_runs_and_writes() {
    let stack = demo_stack().await;
    let list = cli(&stack, &["collect", "list"]);
    let text = String::from_utf8(list.stdout).unwrap();
    for c in BUILTINS {
        let line = text
            .lines()
            .find(|l| l.starts_with(c.name()))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.contains(c.interval()) && line.contains(c.description()),
            "{line}"
        );
    }

    let dry = cli(
        &stack,
        &["collect", "run", "probe_pipeline", "--dry-run", "--verbose"],
    );
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    // Debug logs into a pipe (as into a file) carry no terminal colours.
    assert!(
        !dry.stderr.contains(&0x1b),
        "escape codes in redirected output: {}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let lines = String::from_utf8(dry.stdout).unwrap();
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.starts_with("probe_pipeline,status="))
            .count(),
        5,
        "{lines}"
    );
    assert!(
        lines
            .lines()
            .any(|l| l.starts_with("probe_testing_time completed=0i")),
        "{lines}"
    );
    assert!(
        influx().measurements(&stack.db).await.is_empty(),
        "a dry run wrote"
    );

    let real = cli(&stack, &["collect", "run", "mas_catalog", "--verbose"]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let report: Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(report["collector"], "mas_catalog");
    assert_eq!(report["written"], 2);
    assert!(
        String::from_utf8_lossy(&real.stderr).contains("DEBUG"),
        "--verbose logs debug"
    );
    assert_eq!(
        influx()
            .rows(&stack.db, r#"SELECT * FROM "mas_catalog""#)
            .await
            .len(),
        2
    );

    let unknown = cli(&stack, &["collect", "run", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8(unknown.stderr).unwrap();
    assert!(
        err.contains("unknown collector \"nope\"") && err.contains("probe_pipeline"),
        "{err}"
    );
}

// ---- the template and the local scheduler ----

fn template() -> Value {
    telltale_testkit::decoded_template()
}

#[test]
fn the_template_schedules_every_collector_at_its_interval_with_read_only_access() {
    let template = template();
    let resources = template["Resources"].as_object().unwrap();
    let read_only = [
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "s3:GetObject",
        "s3:ListBucket",
        "ssm:GetParameter",
    ];
    let registry = Registry::compiled().unwrap();
    for c in registry.all().iter().copied() {
        let id = telltale_cli::template::function_id(c);
        let f = &resources[&id]["Properties"];
        assert_eq!(f["CodeUri"], "../target/lambda/collector/", "{id}");
        let schedule = &f["Events"]["Schedule"];
        assert_eq!(schedule["Type"], "ScheduleV2");
        let every = telltale::base::interval::parse(c.interval()).unwrap();
        assert_eq!(
            schedule["Properties"]["ScheduleExpression"].as_str(),
            Some(
                telltale::base::interval::rate_expression(every)
                    .unwrap()
                    .as_str()
            )
        );
        let input: Value =
            serde_json::from_str(schedule["Properties"]["Input"].as_str().unwrap()).unwrap();
        // The scheduled instant, so a repeated delivery writes the same points.
        assert_eq!(
            input,
            json!({"collector": c.name(), "time": "<aws.scheduler.scheduled-time>"})
        );
        // The optional customer-managed key's statement (`Fn::If`) is checked with every
        // function's policies in tests/tests/template.rs.
        let statements = f["Policies"][0]["Statement"].as_array().unwrap();
        for statement in statements.iter().filter(|s| s.get("Fn::If").is_none()) {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a.as_str()],
                other => other
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect(),
            };
            assert!(
                actions.iter().all(|a| read_only.contains(a)),
                "{id}: {actions:?}"
            );
        }
        let variables = f["Environment"]["Variables"].as_object().unwrap();
        for source in c.sources().iter().filter(|s| **s != Source::Documents) {
            assert!(
                variables.contains_key(source.variable()),
                "{id} lacks {}",
                source.variable()
            );
        }
        assert!(
            !variables.contains_key("INFLUXDB_PASSWORD")
                && !variables.contains_key("INFLUXDB_TOKEN"),
            "{id}: secrets come from SSM, not the template"
        );
    }
    let alarm = &resources["CollectorErrors"]["Properties"];
    assert_eq!(
        alarm["Metrics"].as_array().unwrap().len(),
        registry.all().len() + 1
    );
    assert!(registry.all().len() > BUILTINS.len());
}

#[test]
fn the_local_scheduler_runs_what_the_template_schedules() {
    let env_file = std::env::temp_dir().join(format!("{}.env", unique("sched")));
    std::fs::write(
        &env_file,
        "PROMETHEUS_URL=http://127.0.0.1:9090\nINFLUXDB_URL=http://127.0.0.1:8086\n",
    )
    .unwrap();
    let out = std::process::Command::new(telltale_testkit::venv_bin("python"))
        .arg(repo_root().join("scripts/local_scheduler.py"))
        .args(["--list", "--template"])
        .arg(repo_root().join("infra/template.yaml"))
        .arg("--env-file")
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for c in Registry::compiled().unwrap().all() {
        let every = telltale::base::interval::parse(c.interval())
            .unwrap()
            .as_secs();
        let expected = format!(
            "collector\t{every}\t{{\"collector\": \"{}\"}}\truns",
            c.name()
        );
        assert!(
            text.lines().any(|l| l == expected),
            "{expected} not in\n{text}"
        );
    }
    assert!(
        text.lines().any(|l| l == "email-retry\t300\tnull\truns"),
        "{text}"
    );
    let push = text
        .lines()
        .find(|l| l.starts_with("accounting-push\t"))
        .unwrap();
    assert!(
        push.contains("skipped: ") && push.contains("TOKEN_URL"),
        "{push}"
    );
}

/// A schedule delivered twice — one after the other, and twice at once — writes what one
/// delivery writes: the run takes its time from the event, so the repeated points land on the
/// same series and instant and overwrite.
#[tokio::test]
async fn a_schedule_delivered_twice_writes_what_one_delivery_writes() {
    let stack = Stack::new("http://127.0.0.1:9", None).await;
    let job = telltale::jobs::Collector {
        registry: Registry::builtins(),
        sources: stack.sources(&[]),
        sink: stack.sink(&[]).await,
    };
    let event = json!({"collector": "probe_pipeline", "time": "2026-12-01T10:05:00Z"});
    let count = || async {
        influx()
            .rows(&stack.db, r#"SELECT count("count") FROM "probe_pipeline""#)
            .await
            .first()
            .and_then(|r| r["count"].as_i64())
            .unwrap_or(0)
    };
    telltale::jobs::collector(&job, &event).await.unwrap();
    let once = count().await;
    assert!(once > 0);
    telltale::jobs::collector(&job, &event).await.unwrap();
    let (a, b) = tokio::join!(
        telltale::jobs::collector(&job, &event),
        telltale::jobs::collector(&job, &event)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(count().await, once, "repeated deliveries overwrite");
    let rows = influx()
        .rows(&stack.db, r#"SELECT * FROM "probe_pipeline""#)
        .await;
    let at = parse_time("2026-12-01T10:05:00Z").unwrap().unix_timestamp();
    assert!(rows.iter().all(|r| r["time"] == json!(at)), "{rows:?}");
    // A later scheduled time is another run: its points are added.
    let later = json!({"collector": "probe_pipeline", "time": "2026-12-01T10:10:00Z"});
    telltale::jobs::collector(&job, &later).await.unwrap();
    assert_eq!(count().await, 2 * once);
}
