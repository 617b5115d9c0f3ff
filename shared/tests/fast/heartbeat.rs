//! The heartbeat routes on in-memory stores: webhooks of each sender, healthchecks.io-style
//! pings, the exposition, and hostile input: every refusal a precise 4xx JSON, never a 5xx,
//! never the body. DynamoDB's atomic counting and `promtool`'s word on the exposition are the
//! service tier's (`services/heartbeat.rs`).

use lambda_http::Request;
use serde_json::json;
use telltale::heartbeat::check::Check;
use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
use telltale_testkit::heartbeat_calls::{
    self as calls, alertmanager, count, monasca, request, Answer,
};
use telltale_testkit::memory::HeartbeatWorld as HeartbeatFixture;

async fn call(f: &HeartbeatFixture, req: Request) -> Answer {
    calls::call(&f.api(), req).await
}

async fn send(f: &HeartbeatFixture, method: &str, uri: &str, body: &str) -> Answer {
    calls::send(&f.api(), &f.key, method, uri, body).await
}

async fn check(f: &HeartbeatFixture, name: &str) -> Check {
    calls::check(&f.store(), name).await
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
}

#[tokio::test]
async fn pings_as_healthchecks_io_takes_them() {
    let f = HeartbeatFixture::new().await;
    // An unknown check is a 404 that says how to create it, unless the ping asks to.
    let a = send(&f, "GET", "/heartbeat/nightly-backup", "").await;
    assert_eq!(a.status, 404);
    assert!(a.json()["message"].as_str().unwrap().contains("?create=1"));
    assert_eq!(
        send(&f, "GET", "/heartbeat/nightly-backup?create=1", "")
            .await
            .status,
        200
    );
    f.store()
        .set_check(
            "nightly-backup",
            &CheckSettings {
                period_seconds: 86_400,
                grace_seconds: 3_600,
                ..CheckSettings::default()
            },
            0,
        )
        .await
        .unwrap();

    assert_eq!(
        send(&f, "POST", "/heartbeat/nightly-backup/start", "log line")
            .await
            .status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        send(&f, "HEAD", "/heartbeat/nightly-backup/0", "")
            .await
            .status,
        200
    );
    let c = check(&f, "nightly-backup").await;
    assert_eq!((c.period_seconds, c.grace_seconds), (86_400, 3_600));
    let d = c.last_duration_seconds.unwrap();
    assert!((1.0..10.0).contains(&d), "{d}");
    assert_eq!(count(&c, "ping", "success"), 2);
    assert_eq!(count(&c, "ping", "start"), 1);
    assert_eq!(c.last_state.as_deref(), Some("success"));

    let a = send(&f, "POST", "/heartbeat/nightly-backup/3", "").await;
    assert_eq!(
        a.json(),
        json!({"check": "nightly-backup", "state": "fail", "counted": 1})
    );
    assert_eq!(
        send(&f, "GET", "/heartbeat/nightly-backup/fail", "")
            .await
            .status,
        200
    );
    let c = check(&f, "nightly-backup").await;
    assert_eq!(count(&c, "ping", "fail"), 2);
    assert_eq!(c.last_state.as_deref(), Some("fail"));
    assert!(
        c.up(time::OffsetDateTime::now_utc().unix_timestamp()),
        "the last success is recent"
    );

    // HEAD answers with no body.
    let h = send(&f, "HEAD", "/heartbeat/nightly-backup", "").await;
    assert!(h.body.is_empty());
}

#[tokio::test]
async fn hostile_input_gets_precise_4xx_and_the_body_is_never_echoed() {
    let f = HeartbeatFixture::new().await;
    send(&f, "GET", "/heartbeat/known?create=1", "").await;
    let bearer = format!("Bearer {}", f.key);
    let auth: &[(&str, &[u8])] = &[("authorization", bearer.as_bytes())];
    let secret = "SECRET-BODY-42";
    let big = vec![b'x'; 6 * 1024 * 1024];
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            request(
                "POST",
                "/heartbeat",
                auth,
                format!("{{\"{secret}\"").into_bytes(),
            ),
            400,
            "not JSON",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                auth,
                format!("{{\"{secret}\": 1}}").into_bytes(),
            ),
            400,
            "Alertmanager",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                auth,
                format!("[\"{secret}\"]").into_bytes(),
            ),
            400,
            "not an object",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                auth,
                json!({"alarm_id": secret, "state": "MAYBE"})
                    .to_string()
                    .into_bytes(),
            ),
            400,
            "OK, ALARM or UNDETERMINED",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                auth,
                json!({"version": "4", "alerts": [{"status": secret}]})
                    .to_string()
                    .into_bytes(),
            ),
            400,
            "firing",
        ),
        (
            request("POST", "/heartbeat", auth, big.clone()),
            413,
            "larger than",
        ),
        (
            request("POST", "/heartbeat/known", auth, big),
            413,
            "larger than",
        ),
        (
            request(
                "GET",
                &format!("/heartbeat/{}", "a".repeat(65)),
                auth,
                vec![],
            ),
            400,
            "invalid check name",
        ),
        (
            request("GET", "/heartbeat/Nope", auth, vec![]),
            400,
            "invalid check name",
        ),
        (
            request("GET", "/heartbeat/%C3%A9t%C3%A9", auth, vec![]),
            400,
            "invalid check name",
        ),
        (
            request("GET", "/heartbeat/a%00b", auth, vec![]),
            400,
            "invalid check name",
        ),
        (
            request("GET", "/heartbeat/known/256", auth, vec![]),
            400,
            "exit status",
        ),
        (
            request("GET", "/heartbeat/known/-1", auth, vec![]),
            400,
            "exit status",
        ),
        (
            request("GET", "/heartbeat/known/abc", auth, vec![]),
            400,
            "exit status",
        ),
        (
            request("GET", "/heartbeat/known/-9223372036854775808", auth, vec![]),
            400,
            "exit status",
        ),
        (
            request("GET", "/heartbeat/known?create=maybe", auth, vec![]),
            400,
            "create",
        ),
        (
            request("GET", "/heartbeat/known/a/b", auth, vec![]),
            404,
            "no such",
        ),
        (
            request("DELETE", "/heartbeat/known", auth, vec![]),
            405,
            "not allowed",
        ),
        (
            request("GET", "/heartbeat", auth, vec![]),
            405,
            "not allowed",
        ),
        (
            request("POST", "/heartbeat/metrics", auth, vec![]),
            405,
            "not allowed",
        ),
        (
            request("POST", "/heartbeat", &[], vec![]),
            401,
            "API key is required",
        ),
        (
            request("POST", "/heartbeat", &[("x-api-key", b"tt_wrong")], vec![]),
            401,
            "not recognised",
        ),
        (
            request("GET", "/heartbeat/metrics?token=tt_wrong", &[], vec![]),
            401,
            "not recognised",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                &[("authorization", b"Basic YWxpY2U6c2VjcmV0")],
                vec![],
            ),
            401,
            "Bearer",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                &[("x-api-key", f.submitter_key.as_bytes())],
                vec![],
            ),
            403,
            "'heartbeat' role",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                &[("x-api-key", "clé".as_bytes())],
                vec![],
            ),
            400,
            "not readable",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                &[
                    ("x-api-key", f.key.as_bytes()),
                    ("x-api-key", f.key.as_bytes()),
                ],
                vec![],
            ),
            400,
            "more than once",
        ),
        (
            request(
                "POST",
                "/heartbeat",
                &[
                    ("x-api-key", f.key.as_bytes()),
                    ("authorization", b"Bearer tt_other"),
                ],
                vec![],
            ),
            400,
            "two different keys",
        ),
    ];
    for (req, status, says) in cases {
        let what = format!(
            "{} {}",
            req.method(),
            req.uri().to_string().chars().take(80).collect::<String>()
        );
        let a = call(&f, req).await;
        assert_eq!(
            a.status,
            status,
            "{what}: {}",
            a.text().chars().take(300).collect::<String>()
        );
        let body = a.json();
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {body}");
        assert!(!a.text().contains(secret), "{what} echoed the body");
        assert!(
            a.body.len() < 1024,
            "{what}: a {} byte answer",
            a.body.len()
        );
        if status == 401 {
            assert_eq!(a.headers["www-authenticate"], "Bearer realm=\"telltale\"");
        }
        if status == 405 {
            assert!(a.headers.contains_key("allow"), "{what}");
        }
    }
    // Nothing above was counted.
    assert_eq!(check(&f, "known").await.total(), 1);
    assert!(f
        .store()
        .checks()
        .await
        .unwrap()
        .iter()
        .all(|c| c.name == "known"));
}

/// A cron job named like the webhook's check must not keep the seed's loop alarm quiet: no
/// ping, by any URL, counts into it; `POST /heartbeat` still does.
#[tokio::test]
async fn no_ping_counts_into_the_webhook_check() {
    let f = HeartbeatFixture::new().await;
    assert_eq!(send(&f, "POST", "/heartbeat", "").await.status, 200);
    for uri in [
        "/heartbeat/heartbeat",
        "/heartbeat/heartbeat/start",
        "/heartbeat/heartbeat/fail",
        "/heartbeat/heartbeat/3",
        "/heartbeat/heartbeat?create=1",
    ] {
        let a = send(&f, "GET", uri, "").await;
        assert_eq!(a.status, 400, "{uri}: {}", a.text());
        assert!(
            a.text().contains("only POST /heartbeat"),
            "{uri}: {}",
            a.text()
        );
    }
    for uri in [
        format!("/ping/{}/heartbeat", f.key),
        format!("/ping/{}/heartbeat/start?create=1", f.key),
    ] {
        let a = send(&f, "GET", &uri, "").await;
        assert_eq!((a.status, a.text().as_str()), (404, "not found"), "{uri}");
    }
    let c = check(&f, "heartbeat").await;
    assert_eq!(count(&c, "ping", "success"), 1);
    let text = send(&f, "GET", "/heartbeat/metrics", "").await.text();
    assert!(
        text.lines()
            .any(|l| l == "monasca_monitor_heartbeat_total 1"),
        "{text}"
    );
}

/// With the heartbeat table down, every route answers a 503 naming DynamoDB, in its shape:
/// JSON under /heartbeat, healthchecks.io's plain text under /ping.
#[tokio::test]
async fn the_table_down_is_a_503_naming_dynamodb_on_every_route() {
    let f = HeartbeatFixture::new().await;
    send(&f, "GET", "/heartbeat/known?create=1", "").await;
    f.store().outage.set(true);
    for (method, uri, body) in [
        ("POST", "/heartbeat", ""),
        ("GET", "/heartbeat/known", ""),
        ("POST", "/heartbeat/known/fail", "exit 1"),
        ("GET", "/heartbeat/metrics", ""),
    ] {
        let a = send(&f, method, uri, body).await;
        assert_eq!(a.status, 503, "{method} {uri}: {}", a.text());
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap_or("")
                .contains("DynamoDB"),
            "{method} {uri}: {}",
            a.text()
        );
    }
    let a = send(&f, "GET", &format!("/ping/{}/known", f.key), "").await;
    assert_eq!(a.status, 503, "{}", a.text());
    assert!(a.text().contains("DynamoDB"), "{}", a.text());
    f.store().outage.set(false);
    assert_eq!(send(&f, "GET", "/heartbeat/known", "").await.status, 200);
}

/// The in-memory heartbeat table keeps the DynamoDB table's promises (the same suite runs on
/// moto in the service tier).
#[tokio::test]
async fn the_memory_heartbeat_table_keeps_the_tables_promises() {
    let store = telltale_testkit::memory::MemoryHeartbeats::default();
    telltale_testkit::contracts::heartbeat_store(&store, "memory").await;
}
