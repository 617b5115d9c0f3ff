//! Heartbeat checks that notify on their own, end to end through `cargo lambda watch`: pings on
//! healthchecks.io's URLs to the `heartbeat` function, `heartbeat-sweep` invoked as its schedule
//! would, moto's SES (the emails read back), the real Alertmanager (its alerts read back) and a
//! webhook receiver that fails at first.

use serde_json::Value;
use std::time::Duration;
use telltale::heartbeat::notice::{signature, Channel, ALERT_NAME};
use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
use telltale_testkit::alerting::alertmanager;
use telltale_testkit::heartbeat::HeartbeatFixture;
use telltale_testkit::moto::moto;
use telltale_testkit::receiver::Receiver;
use telltale_testkit::{unique, watch::Watch};

const FROM: &str = "telltale <heartbeat@telltale.test>";
const SECRET_PARAMETER: &str = "/telltale/heartbeat/e2e-hook";

/// Invokes `heartbeat-sweep` once; its answer, or its error.
async fn sweep(http: &reqwest::Client, base: &str) -> Result<Value, String> {
    let resp = http
        .post(format!(
            "{base}/2015-03-31/functions/heartbeat-sweep/invocations"
        ))
        .body("{}")
        .send()
        .await
        .expect("watch answers");
    // watch answers a failed invocation with the runtime's error document.
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    match answer.get("errorMessage") {
        Some(message) => Err(message.as_str().unwrap_or_default().to_string()),
        None => Ok(answer),
    }
}

async fn emails(to: &str) -> Vec<String> {
    moto()
        .emails_to(to)
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect()
}

/// The alerts Alertmanager holds for `check`: (state, endsAt).
async fn alerts(http: &reqwest::Client, am: &str, check: &str) -> Vec<(String, String)> {
    let list: Value = http
        .get(format!("{am}/api/v2/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["check"] == check && a["labels"]["alertname"] == ALERT_NAME)
        .map(|a| {
            (
                a["status"]["state"].as_str().unwrap_or("").to_string(),
                a["endsAt"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_quiet_check_emails_alerts_and_calls_its_webhook_once_per_flip() {
    let f = HeartbeatFixture::new().await;
    let sdk = moto().sdk_config().await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    telltale_cli::tables::ensure_email_identity(&ses, "heartbeat@telltale.test")
        .await
        .unwrap();
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(SECRET_PARAMETER)
        .value("e2e-s3cret")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let am = alertmanager(
        "route: {receiver: blackhole, group_wait: 1s}\nreceivers: [{name: blackhole}]\n",
    );
    let receiver = Receiver::default();
    let hook = receiver.start(2).await;

    let mut env = f.env();
    env.extend([
        ("EMAIL_FROM".to_string(), FROM.to_string()),
        ("ALERTMANAGER_URL".to_string(), am.url.clone()),
    ]);
    let watch = Watch::start(&env);
    let http = telltale_testkit::watch::client();
    let base = watch.base_url.clone();
    let owner = format!("{}@telltale.test", unique("owner"));

    let created = http
        .post(format!("{base}/ping/{}/quiet?create=1", f.key))
        .body("first run")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let settings = CheckSettings {
        period_seconds: 1,
        grace_seconds: 1,
        channels: vec![
            Channel::Email { to: owner.clone() },
            Channel::Webhook {
                url: hook.clone(),
                secret_parameter: Some(SECRET_PARAMETER.into()),
            },
            Channel::Alertmanager,
        ],
        ..CheckSettings::default()
    };
    f.store().set_check("quiet", &settings, 0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Down: one email, one firing alert; the webhook refuses, so the run fails, naming it.
    let first = sweep(&http, &base).await;
    assert!(
        first.as_ref().is_err_and(|e| e.contains("HTTP 500")),
        "{first:?}"
    );
    assert_eq!(emails(&owner).await, ["[telltale] check quiet is DOWN"]);
    let firing = alerts(&http, &am.url, "quiet").await;
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0].0, "active");

    // Retried while it fails, never accepted twice; then it takes it, signed.
    let second = sweep(&http, &base).await;
    assert!(second.is_err(), "{second:?}");
    let third = sweep(&http, &base)
        .await
        .expect("the receiver answers 200 now");
    assert_eq!(third["notices_sent"], 1);
    for _ in 0..2 {
        let again = sweep(&http, &base).await.unwrap();
        assert_eq!(again["notices_sent"], 0);
    }
    let calls = receiver.calls();
    assert_eq!(calls.len(), 3, "two refused, one accepted, no more");
    assert_eq!(receiver.accepted().len(), 1);
    let accepted = &receiver.accepted()[0];
    assert_eq!(
        accepted.signature.as_deref(),
        Some(signature(b"e2e-s3cret", &accepted.body).as_str())
    );
    assert!(calls.iter().all(|c| c.notice_id == accepted.notice_id));
    let body: Value = serde_json::from_slice(&accepted.body).unwrap();
    assert_eq!(
        (body["check"].as_str(), body["state"].as_str()),
        (Some("quiet"), Some("down"))
    );
    assert_eq!(
        emails(&owner).await.len(),
        1,
        "no more email while it stays down"
    );

    // A ping: one "up" email, the alert resolved.
    let up = http
        .post(format!("{base}/ping/{}/quiet/0", f.key))
        .body("second run")
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 200);
    sweep(&http, &base).await.expect("the up notices go out");
    assert_eq!(
        emails(&owner).await,
        [
            "[telltale] check quiet is DOWN",
            "[telltale] check quiet is UP"
        ]
    );
    let now = time::OffsetDateTime::now_utc();
    let after = alerts(&http, &am.url, "quiet").await;
    assert!(
        after.iter().all(|(_, ends)| time::OffsetDateTime::parse(
            ends,
            &time::format_description::well_known::Rfc3339
        )
        .is_ok_and(|t| t <= now)),
        "the alert is resolved: {after:?}"
    );

    // Twenty sweeps at once over one flip: still one email.
    let racer = format!("{}@telltale.test", unique("racer"));
    http.post(format!("{base}/ping/{}/racy?create=1", f.key))
        .send()
        .await
        .unwrap();
    let settings = CheckSettings {
        period_seconds: 1,
        grace_seconds: 1,
        channels: vec![Channel::Email { to: racer.clone() }],
        ..CheckSettings::default()
    };
    f.store().set_check("racy", &settings, 0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = (0..20).map(|_| sweep(&http, &base));
    for outcome in futures::future::join_all(runs).await {
        outcome.expect("each sweep succeeds");
    }
    assert_eq!(emails(&racer).await, ["[telltale] check racy is DOWN"]);
}
