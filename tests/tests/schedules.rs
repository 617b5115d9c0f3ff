//! The template's schedules run locally as `make dev` runs them: the local scheduler fires
//! every scheduled function once through `cargo lambda watch`, and InfluxDB fills with the
//! collectors' points. The accounting push and the token refresh run against the test kit's
//! EOSC Accounting and OIDC doubles (which cannot run here), with their real wiring.

use serde_json::Value;
use telltale::collectors::registry::Registry;
use telltale_testkit::collectors::Stack;
use telltale_testkit::eosc::{AccountingApi, TokenEndpoint};
use telltale_testkit::influx::influx;
use telltale_testkit::prometheus::{demo_series, prometheus};
use telltale_testkit::{repo_root, unique, venv_bin, watch::Watch};

fn demo(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_root().join("demo").join(name)).unwrap()).unwrap()
}

#[tokio::test]
async fn the_local_scheduler_fills_influxdb_through_cargo_lambda_watch() {
    let (metadata, metrics) = (
        demo("metadata_mappings.json"),
        demo("metrics_mappings.json"),
    );
    let stack = Stack::new(&prometheus(demo_series).url, Some((&metadata, &metrics))).await;
    let mut env = stack.env();
    // email-retry is scheduled too; it needs its sender and team.
    env.push((
        "EMAIL_FROM".into(),
        "ARGO Monitoring <no-reply@telltale.test>".into(),
    ));
    env.push(("TEAM_EMAIL".into(), "team@telltale.test".into()));
    // heartbeat-sweep runs every minute too, on a heartbeat table.
    let heartbeats = unique("schedules-heartbeats");
    let dynamodb =
        aws_sdk_dynamodb::Client::new(&telltale_testkit::moto::moto().sdk_config().await);
    telltale_cli::tables::ensure_table(
        &dynamodb,
        telltale_cli::tables::Store::Heartbeat,
        &heartbeats,
    )
    .await
    .unwrap();
    env.push(("HEARTBEAT_TABLE".into(), heartbeats));
    // The declared collectors read local copies of their documents, as under `make dev`.
    let fixtures = telltale_testkit::documents::documents().await;
    let declarations = telltale_testkit::documents::localized_declarations(&fixtures);
    env.push(("COLLECTORS_FILE".into(), declarations.display().to_string()));
    // The accounting functions, against the EOSC Accounting Service and OIDC doubles.
    let aai = TokenEndpoint::start("telltale-client", "s3cret", "initial-refresh").await;
    let eosc = AccountingApi::start(&aai).await;
    for (k, v) in [
        ("ACCOUNTING_BASE_URL", eosc.url.clone()),
        ("TOKEN_URL", aai.url.clone()),
        ("OIDC_CLIENT_ID", "telltale-client".to_string()),
        ("OIDC_CLIENT_SECRET", "s3cret".to_string()),
        ("INITIAL_REFRESH_TOKEN", "initial-refresh".to_string()),
    ] {
        env.push((k.into(), v));
    }
    let watch = Watch::start(&env);
    let env_file = std::env::temp_dir().join(format!("{}.env", unique("schedules")));
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, text).unwrap();

    // Fires each schedule once (the first invocation of a function compiles it).
    let out = tokio::process::Command::new(venv_bin("python"))
        .arg(repo_root().join("scripts/local_scheduler.py"))
        .arg("--once")
        .arg("--template")
        .arg(repo_root().join("infra/template.yaml"))
        .arg("--env-file")
        .arg(&env_file)
        .args(["--invoke-url", &watch.base_url])
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for c in Registry::compiled().unwrap().all() {
        assert!(
            log.lines().any(|l| l.contains(&format!(
                "collector {{\"collector\": \"{}\"}} -> ok",
                c.name()
            ))),
            "{} did not run: {log}",
            c.name()
        );
    }
    assert!(log.contains("email-retry Schedule -> ok"), "{log}");
    assert!(log.contains("heartbeat-sweep ScheduleV2 -> ok"), "{log}");
    for function in ["accounting-push", "token-refresh"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("{function} Schedule -> ok"))),
            "{function} did not run: {log}"
        );
    }
    // One push per demo metric of an EOSC installation that names its EOSC definition, with
    // a token the OIDC double issued.
    let defined = metadata
        .as_object()
        .unwrap()
        .values()
        .filter(|resource| resource.get("eoscInstallationId").is_some())
        .flat_map(|resource| resource["metrics"].as_object().into_iter().flatten())
        .filter(|(_, m)| m.get("eoscMetricDefinitionId").is_some())
        .count();
    let received = eosc.received();
    assert!(defined > 0);
    assert_eq!(received.len(), defined, "{log}");
    // token-refresh grants once; the push reuses a fresh token or, run first, gets its own;
    // a rotated refresh token is never presented twice.
    assert!((1..=2).contains(&aai.grants()), "{} grants", aai.grants());
    assert!(!aai.family_revoked(), "a refresh token was presented twice");

    let measurements = influx().measurements(&stack.db).await;
    for m in [
        "accounting_push",
        "autopkgtest_queue_size",
        "autopkgtest_running",
        "distro_rls_bug_tasks",
        "sponsoring_queue_stats",
        "email_outbox",
        "mas_catalog",
        "mas_metric_value",
        "probe_pipeline",
        "probe_testing_time",
    ] {
        assert!(
            measurements.iter().any(|x| x == m),
            "{m} missing: {measurements:?}"
        );
    }
    let pipeline = influx()
        .rows(&stack.db, r#"SELECT "count" FROM "probe_pipeline""#)
        .await;
    assert_eq!(pipeline.len(), 5);
}
