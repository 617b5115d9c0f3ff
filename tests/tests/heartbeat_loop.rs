//! The heartbeat loop end to end, with real parts, through `cargo lambda watch`:
//! heartbeat-source → Pushgateway → Prometheus (the shipped rule fires) → Alertmanager (webhook
//! receiver with bearer auth) → `POST /heartbeat` → exposition scraped by the same Prometheus:
//! `monasca_monitor_heartbeat_total` rises. Then the source stops, and the shipped "heartbeat
//! stopped" alert becomes active. The shipped rules run with shorter windows, so it takes
//! well under a minute once the functions are built.

use serde_json::Value;
use std::time::{Duration, Instant};
use telltale_testkit::alerting::{alertmanager, prometheus, pushgateway};
use telltale_testkit::heartbeat::HeartbeatFixture;
use telltale_testkit::local_config;
use telltale_testkit::{repo_root, watch::Watch};

/// The shipped rules with the test's windows: each replacement must apply, so a change of the
/// rules' shape shows up here.
fn rules_with_short_windows() -> String {
    let text = std::fs::read_to_string(repo_root().join("infra/prometheus/heartbeat-rules.yml"))
        .expect("reading the heartbeat rules");
    let mut out = text.clone();
    for (long, short) in [
        ("[3m]", "[6s]"),
        ("[10m]", "[12s]"),
        ("for: 1m", "for: 0s"),
        ("for: 5m", "for: 0s"),
    ] {
        assert!(out.contains(long), "the rules no longer contain {long}");
        out = out.replace(long, short);
    }
    out
}

async fn query(http: &reqwest::Client, prometheus: &str, promql: &str) -> Option<f64> {
    let body: Value = http
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", promql)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
}

async fn alert_state(http: &reqwest::Client, prometheus: &str, name: &str) -> Option<String> {
    let body: Value = http
        .get(format!("{prometheus}/api/v1/alerts"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == name)
        .and_then(|a| a["state"].as_str().map(String::from))
}

#[tokio::test]
async fn the_heartbeat_goes_round_and_its_absence_raises_the_alert() {
    let f = HeartbeatFixture::new().await;
    let gateway = pushgateway();
    let mut env = f.env();
    env.extend(
        [
            ("PUSHGATEWAY_URL", gateway.url.as_str()),
            ("HEARTBEAT_FLIP_SECONDS", "4s"),
            ("HEARTBEAT_SOURCE_ID", "e2e"),
            ("RUST_LOG", "warn"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let watch = Watch::start(&env);
    let http = telltale_testkit::watch::client();
    let invoke_source = || {
        http.post(format!(
            "{}/2015-03-31/functions/heartbeat-source/invocations",
            watch.base_url
        ))
        .body("{}")
        .send()
    };
    // The first calls build the two functions.
    let first = invoke_source().await.unwrap();
    let report: Value = first.json().await.unwrap();
    assert_eq!(report["sinks"]["pushgateway"], "ok", "{report}");
    let metrics = http
        .get(format!("{}/heartbeat/metrics", watch.base_url))
        .bearer_auth(&f.key)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);

    let key_file = gateway.dir.join("heartbeat.key");
    std::fs::write(&key_file, &f.key).unwrap();
    let watch_address = watch.base_url.trim_start_matches("http://");
    let (base, key) = (watch.base_url.clone(), key_file.display().to_string());
    // The configuration `make dev` runs, with shorter waits.
    let am = alertmanager(&local_config(
        "alertmanager.yml",
        &[
            ("GROUP_WAIT", "1s"),
            ("GROUP_INTERVAL", "1s"),
            ("TELLTALE_URL", &base),
            ("HEARTBEAT_KEY_FILE", &key),
        ],
    ));
    let rules = gateway.dir.join("heartbeat-rules.yml");
    std::fs::write(&rules, rules_with_short_windows()).unwrap();
    let rules_path = rules.display().to_string();
    let prom = prometheus(&local_config(
        "prometheus.yml",
        &[
            ("SCRAPE_INTERVAL", "1s"),
            ("RULES", &rules_path),
            ("ALERTMANAGER", &am.address),
            ("PUSHGATEWAY", &gateway.address),
            ("TELLTALE", watch_address),
            ("HEARTBEAT_KEY_FILE", &key),
        ],
    ));

    // The source beats every second for a while; notifications come back and are counted.
    let total = "max(monasca_monitor_heartbeat_total)";
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) {
        let r = invoke_source().await.unwrap();
        assert!(r.status().is_success());
        if let Some(v) = query(&http, &prom.url, total).await {
            if seen.last() != Some(&v) {
                seen.push(v);
            }
        }
        if seen.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        seen.len() >= 4 && seen.windows(2).all(|w| w[1] > w[0]),
        "monasca_monitor_heartbeat_total did not keep rising in Prometheus: {seen:?}"
    );

    // The source stops: the heartbeat alert ends, no more notifications come, and the loop
    // is reported broken.
    let stopped = Instant::now();
    let mut state = None;
    while stopped.elapsed() < Duration::from_secs(60) {
        state = alert_state(&http, &prom.url, "TelltaleHeartbeatStopped").await;
        if state.as_deref() == Some("firing") {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        state.as_deref(),
        Some("firing"),
        "TelltaleHeartbeatStopped did not fire within 60 s of the source stopping"
    );
    assert_eq!(
        alert_state(&http, &prom.url, "TelltaleHeartbeatPushFailing").await,
        None
    );
}
