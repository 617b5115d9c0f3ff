//! heartbeat-source's sinks: a real Pushgateway and InfluxDB, and HTTP doubles of Keystone and
//! Monasca. Each sink gets its heartbeat; a failing one does not stop the others; the Keystone
//! token is reused until it expires or Monasca refuses it.

use std::collections::HashMap;
use telltale::base::env::Env;
use telltale::heartbeat::source::{beat, Source};
use telltale_testkit::alerting::pushgateway;
use telltale_testkit::influx::influx;
use telltale_testkit::monasca::{Keystone, PASSWORD, PROJECT, USER};
use telltale_testkit::moto::moto;
use telltale_testkit::unique;

async fn source(pairs: &[(&str, &str)]) -> Source {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = Env(move |k: &str| map.get(k).cloned());
    telltale::wiring::heartbeat_source_with(&env, &moto().sdk_config().await)
        .await
        .expect("source")
}

fn openstack(keystone: &Keystone) -> Vec<(&'static str, String)> {
    vec![
        ("OS_AUTH_URL", format!("{}/v3", keystone.url)),
        ("OS_USERNAME", USER.into()),
        ("OS_PASSWORD", PASSWORD.into()),
        ("OS_PROJECT_NAME", PROJECT.into()),
    ]
}

fn pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn every_sink_gets_the_seeds_heartbeat() {
    let gateway = pushgateway();
    let keystone = Keystone::start(3600).await;
    let db = influx().database("beats").await;
    let mut env = openstack(&keystone);
    env.extend([
        ("PUSHGATEWAY_URL", gateway.url.clone()),
        ("INFLUXDB_URL", influx().url.clone()),
        ("INFLUXDB_DATABASE", db.clone()),
        ("HEARTBEAT_SOURCE_ID", "src-1".into()),
    ]);
    let source = source(&pairs(&env)).await;
    let now = time::OffsetDateTime::now_utc();
    let report = source.emit(now).await;
    assert!(report.failures().is_empty(), "{report:?}");
    assert_eq!(report.sinks.len(), 3);
    let expected = beat(now.unix_timestamp(), 60);
    assert_eq!(report.beat, expected);

    let exposed = reqwest::get(format!("{}/metrics", gateway.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |name: &str| -> Option<f64> {
        let prefix = format!("{name}{{instance=\"src-1\",job=\"telltale_heartbeat\"}} ");
        exposed
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
    };
    assert_eq!(
        sample("telltale_heartbeat_source_beat"),
        Some(expected as f64),
        "{exposed}"
    );
    assert_eq!(
        sample("telltale_heartbeat_source_periods_total"),
        Some((now.unix_timestamp() / 60) as f64)
    );
    let stamp = sample("telltale_heartbeat_source_timestamp_seconds").unwrap();
    assert!((stamp - now.unix_timestamp() as f64).abs() < 1.0, "{stamp}");
    assert!(exposed.contains("push_time_seconds{instance=\"src-1\",job=\"telltale_heartbeat\"}"));

    let rows = influx()
        .rows(&db, r#"SELECT * FROM "telltale_heartbeat""#)
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["beat"], expected);
    assert_eq!(rows[0]["source"], "src-1");

    let metrics = keystone.metrics();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0]["name"], "monascamonitor.heartbeat");
    assert_eq!(metrics[0]["dimensions"]["hostname"], "src-1");
    assert_eq!(metrics[0]["value"], expected);
    assert_eq!(
        metrics[0]["timestamp"],
        (now.unix_timestamp_nanos() / 1_000_000) as i64
    );
}

#[tokio::test]
async fn the_keystone_token_is_reused_until_it_expires_or_is_refused() {
    let keystone = Keystone::start(3600).await;
    let env = openstack(&keystone);
    let source = source(&pairs(&env)).await;
    for _ in 0..3 {
        let r = source.emit(time::OffsetDateTime::now_utc()).await;
        assert!(r.failures().is_empty(), "{r:?}");
    }
    assert_eq!(keystone.grants(), 1, "one password grant for three beats");
    keystone.revoke_tokens();
    let r = source.emit(time::OffsetDateTime::now_utc()).await;
    assert!(
        r.failures().is_empty(),
        "a refused token is replaced once: {r:?}"
    );
    assert_eq!(keystone.grants(), 2);
    assert_eq!(keystone.metrics().len(), 4);

    // A token that expires within the margin is not reused.
    let short = Keystone::start(30).await;
    let env = openstack(&short);
    let source = self::source(&pairs(&env)).await;
    source.emit(time::OffsetDateTime::now_utc()).await;
    source.emit(time::OffsetDateTime::now_utc()).await;
    assert_eq!(short.grants(), 2);
}

#[tokio::test]
async fn a_failing_sink_does_not_stop_the_others_and_is_named() {
    let gateway = pushgateway();
    let keystone = Keystone::start(3600).await;
    let mut env = openstack(&keystone);
    env.push(("PUSHGATEWAY_URL", gateway.url.clone()));
    let source = source(&pairs(&env)).await;
    keystone.set_down(true);
    let r = source.emit(time::OffsetDateTime::now_utc()).await;
    assert_eq!(r.sinks["pushgateway"], "ok");
    assert_eq!(r.failures().len(), 1, "{r:?}");
    assert!(
        r.failures()[0].starts_with("monasca: Monasca answered HTTP 503"),
        "{r:?}"
    );

    // A wrong password: Keystone's refusal, named, and the password nowhere in it.
    let mut wrong = openstack(&keystone);
    wrong[2].1 = "not-the-password".into();
    wrong.push(("PUSHGATEWAY_URL", gateway.url.clone()));
    let r = self::source(&pairs(&wrong))
        .await
        .emit(time::OffsetDateTime::now_utc())
        .await;
    let failures = r.failures().join("; ");
    assert!(
        failures.contains("Keystone refused the password grant (HTTP 401)"),
        "{failures}"
    );
    assert!(!failures.contains("not-the-password"));
    assert_eq!(r.sinks["pushgateway"], "ok");

    // A Pushgateway that is not there.
    let closed = format!("http://127.0.0.1:{}", telltale_testkit::watch::free_port());
    let r = self::source(&[("PUSHGATEWAY_URL", closed.as_str())])
        .await
        .emit(time::OffsetDateTime::now_utc())
        .await;
    assert!(
        r.failures()[0].starts_with("pushgateway: Pushgateway not reachable"),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_keystone_password_can_come_from_ssm() {
    let keystone = Keystone::start(3600).await;
    let ssm = telltale::adapters::aws::ssm::ssm_client(&moto().sdk_config().await);
    let name = format!("/telltale/{}/keystone", unique("t"));
    ssm.put_parameter()
        .name(&name)
        .value(PASSWORD)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut env = openstack(&keystone);
    env.retain(|(k, _)| *k != "OS_PASSWORD");
    env.push(("OS_PASSWORD_PARAMETER", name));
    env.push(("MONASCA_URL", keystone.monasca_url.clone()));
    let r = source(&pairs(&env))
        .await
        .emit(time::OffsetDateTime::now_utc())
        .await;
    assert!(r.failures().is_empty(), "{r:?}");
}

/// A beat delivered twice for one scheduled time is one point (the same series and instant),
/// and its beat value is the scheduled minute's, not the clock's.
#[tokio::test]
async fn a_beat_delivered_twice_is_one_point_of_its_scheduled_minute() {
    let db = influx().database("twice").await;
    let env: Vec<(&'static str, String)> = vec![
        ("INFLUXDB_URL", influx().url.clone()),
        ("INFLUXDB_DATABASE", db.clone()),
        ("HEARTBEAT_SOURCE_ID", "src-2".into()),
    ];
    let source = source(&pairs(&env)).await;
    let event = serde_json::json!({"time": "2026-12-01T10:05:00Z"});
    for _ in 0..2 {
        telltale::jobs::heartbeat_source(&source, &event)
            .await
            .unwrap();
    }
    let rows = influx()
        .rows(&db, r#"SELECT * FROM "telltale_heartbeat""#)
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    // 10:05 is an odd minute: the seed's value is 0.
    assert_eq!(rows[0]["beat"], 0);
    let garbled = telltale::jobs::heartbeat_source(&source, &serde_json::json!({"time": "soon"}))
        .await
        .unwrap_err();
    assert!(
        garbled.to_string().contains("not an RFC 3339 time"),
        "{garbled}"
    );
}
