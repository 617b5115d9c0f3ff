//! The heartbeat routes against moto's DynamoDB: each sender counted with DynamoDB's atomic
//! `ADD`, exact counting under concurrency, the exposition checked by `promtool check metrics`,
//! and `telltale heartbeat check`. The routes' rules (pings, hostile input) are the fast tier's.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use telltale::heartbeat::check::Check;
use telltale::heartbeat::exposition::render;
use telltale::heartbeat::notice::{Channel, Notice};
use telltale::heartbeat::ports::StoredNotice;
use telltale_testkit::heartbeat::HeartbeatFixture;
use telltale_testkit::heartbeat_calls::{self as calls, alertmanager, count, monasca, Answer};

async fn send(f: &HeartbeatFixture, method: &str, uri: &str, body: &str) -> Answer {
    calls::send(&f.api(), &f.key, method, uri, body).await
}

async fn check(f: &HeartbeatFixture, name: &str) -> Check {
    calls::check(&f.store(), name).await
}

/// `promtool check metrics` on `text`: its complaints, or none.
fn promtool_check_metrics(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool: {e}; {}", telltale_testkit::INSTALL_HINT));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.trim().is_empty(), said)
}

#[tokio::test]
async fn each_sender_is_counted_and_the_seeds_counter_adds_them_up() {
    let f = HeartbeatFixture::new().await;
    for (body, source) in [
        (String::new(), "ping"),
        (monasca("ALARM"), "monasca"),
        (monasca("OK"), "monasca"),
        (
            alertmanager(&["firing", "firing", "resolved"]),
            "alertmanager",
        ),
    ] {
        let a = send(&f, "POST", "/heartbeat", &body).await;
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["source"], source);
    }
    let c = check(&f, "heartbeat").await;
    assert_eq!(count(&c, "ping", "success"), 1);
    assert_eq!(count(&c, "monasca", "ALARM"), 1);
    assert_eq!(count(&c, "monasca", "OK"), 1);
    assert_eq!(count(&c, "alertmanager", "firing"), 2);
    assert_eq!(count(&c, "alertmanager", "resolved"), 1);
    assert_eq!(c.last_alarm.as_deref(), Some("TelltaleHeartbeat"));

    let m = send(&f, "GET", "/heartbeat/metrics", "").await;
    assert_eq!(m.status, 200);
    assert_eq!(
        m.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = m.text();
    assert!(
        text.lines()
            .any(|l| l == "monasca_monitor_heartbeat_total 6"),
        "{text}"
    );
    assert!(text.contains(
        "telltale_heartbeat_received_total{check=\"heartbeat\",source=\"alertmanager\",state=\"firing\"} 2"
    ));
    assert!(text.contains("telltale_heartbeat_up{check=\"heartbeat\"} 1"));
    let (ok, said) = promtool_check_metrics(&text);
    assert!(ok, "promtool: {said}\n{text}");
}

#[tokio::test]
async fn concurrent_pings_are_each_counted_once() {
    let f = HeartbeatFixture::new().await;
    assert_eq!(
        send(&f, "GET", "/heartbeat/busy?create=1", "").await.status,
        200
    );
    let pings = (0..200).map(|i| {
        let f = &f;
        async move {
            let uri = if i % 2 == 0 {
                "/heartbeat/busy"
            } else {
                "/heartbeat"
            };
            send(f, "POST", uri, "").await.status
        }
    });
    let statuses = futures::future::join_all(pings).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(count(&check(&f, "busy").await, "ping", "success"), 101);
    assert_eq!(count(&check(&f, "heartbeat").await, "ping", "success"), 100);
}

#[test]
fn promtool_accepts_the_exposition_with_0_and_1000_checks() {
    let hook = Channel::Webhook {
        url: "https://hooks.example.org/t".into(),
        secret_parameter: None,
    };
    for n in [0usize, 1000] {
        let checks: Vec<Check> = (0..n)
            .map(|i| Check {
                name: format!("check-{i:04}"),
                period_seconds: 300,
                grace_seconds: 60,
                created_at: 1_795_000_000,
                last_seen: Some(1_795_939_000 + i as i64),
                last_success: (i % 3 != 0).then_some(1_795_939_000),
                last_state: Some("success".into()),
                last_exit_status: None,
                last_duration_seconds: (i % 2 == 0).then_some(i as f64 / 7.0),
                last_alarm: None,
                received: BTreeMap::from([
                    (("ping".to_string(), "success".to_string()), i as u64),
                    (("ping".to_string(), "fail".to_string()), 1),
                ]),
                state: telltale::heartbeat::state::State::ALL[i % 5],
                flips: i as u64,
                cron: (i % 4 == 0).then(|| ("0 2 * * *".to_string(), "Europe/Athens".to_string())),
                last_ping: Some(1_795_939_000),
                channels: if i % 3 == 0 {
                    vec![hook.clone()]
                } else {
                    Vec::new()
                },
                ..Check::default()
            })
            .collect();
        // Every sixth check's webhook is failing.
        let notices: Vec<StoredNotice> = checks
            .iter()
            .filter(|c| !c.channels.is_empty())
            .enumerate()
            .map(|(j, c)| StoredNotice {
                notice: Notice {
                    id: format!("{}#1#x", c.name),
                    check: c.name.clone(),
                    uuid: None,
                    channel: hook.clone(),
                    flip_number: 1,
                    at: 0,
                    from: "up".into(),
                    to: "down".into(),
                    cause: "clock".into(),
                    last_ping: None,
                    last_exit_status: None,
                    output_tail: None,
                },
                state: if j % 2 == 0 { "pending" } else { "sent" }.into(),
                attempts: 2,
                last_error: Some("the webhook answered HTTP 500".into()),
            })
            .collect();
        let text = render(&checks, &notices, "check-0001", 1_795_939_300);
        let (ok, said) = promtool_check_metrics(&text);
        assert!(ok, "{n} checks: {said}");
        assert_eq!(text.matches("telltale_heartbeat_up{").count(), n);
        assert_eq!(text.matches("telltale_heartbeat_state{").count(), 5 * n);
        let failing = text
            .lines()
            .filter(|l| l.starts_with("telltale_heartbeat_channel_failing{") && l.ends_with(" 1"))
            .count();
        assert_eq!(
            failing,
            notices.iter().filter(|x| x.state == "pending").count()
        );
    }
}

#[tokio::test]
async fn telltale_heartbeat_check_sets_and_lists_checks() {
    let f = HeartbeatFixture::new().await;
    let cli = |args: &[&str]| {
        Command::new(telltale_testkit::cli_binary())
            .args(args)
            .envs(telltale_testkit::moto::moto().env())
            .env("HEARTBEAT_TABLE", &f.table)
            .output()
            .unwrap()
    };
    let set = cli(&[
        "heartbeat",
        "check",
        "set",
        "nightly",
        "--period",
        "1d",
        "--grace",
        "1h 30min",
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let c = check(&f, "nightly").await;
    assert_eq!((c.period_seconds, c.grace_seconds), (86_400, 5_400));
    send(&f, "GET", "/heartbeat/nightly/7", "").await;

    let list = cli(&["heartbeat", "check", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed[0]["name"], "nightly");
    assert_eq!(listed[0]["last_exit_status"], 7);
    assert_eq!(listed[0]["up"], false);
    assert_eq!(listed[0]["state"], "down");
    assert!(listed[0]["uuid"].as_str().is_some_and(|u| u.len() == 36));
    let table = String::from_utf8(cli(&["heartbeat", "check", "list"]).stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.contains("nightly") && l.contains("down") && l.contains("every 86400s")),
        "{table}"
    );
    // A cron schedule in a zone; pause and resume; the log and the flips.
    let cron = cli(&[
        "heartbeat",
        "check",
        "set",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--tz",
        "Europe/Athens",
    ]);
    assert!(
        cron.status.success(),
        "{}",
        String::from_utf8_lossy(&cron.stderr)
    );
    assert_eq!(
        check(&f, "nightly").await.cron,
        Some(("0 2 * * *".to_string(), "Europe/Athens".to_string()))
    );
    for (verb, state) in [("pause", "paused"), ("resume", "new")] {
        let out = cli(&["heartbeat", "check", verb, "nightly"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(check(&f, "nightly").await.state.as_str(), state);
    }
    let flips: Value =
        serde_json::from_slice(&cli(&["heartbeat", "flips", "nightly", "--json"]).stdout).unwrap();
    let causes: Vec<&str> = flips
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["resume", "pause", "ping:exit-status"]);
    let log: Value =
        serde_json::from_slice(&cli(&["heartbeat", "log", "nightly", "--json"]).stdout).unwrap();
    assert_eq!(log[0]["kind"], "fail");
    assert_eq!(log[0]["exit_status"], 7);
    // Deleted: gone from the list, its UUID URL not found.
    let uuid = check(&f, "nightly").await.uuid.unwrap();
    let deleted = cli(&["heartbeat", "check", "delete", "nightly"]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let listed: Value =
        serde_json::from_slice(&cli(&["heartbeat", "check", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]));
    let gone =
        telltale_testkit::ping_scenarios::ping(&f.api(), "GET", &format!("/ping/{uuid}"), b"")
            .await;
    assert_eq!((gone.status, gone.text()), (404, "not found".to_string()));
    assert_eq!(
        cli(&["heartbeat", "check", "delete", "nightly"])
            .status
            .code(),
        Some(2)
    );
    let refused = cli(&["heartbeat", "check", "set", "x", "--cron", "0 0 30 2 *"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("never fires"));

    for bad in [
        vec!["heartbeat", "check", "set", "Bad Name"],
        vec!["heartbeat", "check", "set", "ok", "--period", "soon"],
        vec!["heartbeat", "check", "set", "ok", "--period", "5"],
    ] {
        let out = cli(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
    let bare = cli(&["heartbeat", "check", "set", "ok", "--period", "5"]);
    assert!(
        String::from_utf8_lossy(&bare.stderr).contains("5 what? give a unit: 5s, 5m, 5h or 5d"),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
}

/// The DynamoDB heartbeat table keeps the promises the in-memory one is held to.
#[tokio::test]
async fn the_heartbeat_table_keeps_the_promises_the_memory_table_is_held_to() {
    let f = HeartbeatFixture::new().await;
    telltale_testkit::contracts::heartbeat_store(&f.store(), "dynamodb").await;
}
