//! `heartbeat-sweep` on the in-memory stores and channels: a quiet check's down notice on each
//! channel once, whatever the sweeps; a ping's up notice; a failing channel retried, never
//! doubled, and never in the way of the others. The same channels against moto's SES, a webhook
//! receiver and the real Alertmanager are in `services/sweep.rs`.

use telltale::heartbeat::notice::{signature, Channel, ALERT_NAME};
use telltale::heartbeat::sweep::Channels;
use telltale_testkit::memory::{HeartbeatWorld, MemoryMailer, MemoryReceiver};
use telltale_testkit::ping_scenarios::ping;
use telltale_testkit::sweep_scenarios::{clean, concurrent_sweeps, now, watched};

const SECRET: &str = "/telltale/heartbeat/hook";

fn channels() -> Vec<Channel> {
    vec![
        Channel::Email {
            to: "owner@example.org".into(),
        },
        Channel::Webhook {
            url: "https://hooks.example.org/telltale".into(),
            secret_parameter: Some(SECRET.into()),
        },
        Channel::Alertmanager,
    ]
}

fn stack() -> Channels<MemoryMailer, MemoryReceiver, MemoryReceiver> {
    let webhooks = MemoryReceiver::default();
    webhooks
        .secrets
        .lock()
        .unwrap()
        .insert(SECRET.into(), "s3cret".into());
    Channels {
        mailer: MemoryMailer::default(),
        webhooks,
        alerts: MemoryReceiver::default(),
        from: "telltale <heartbeat@example.org>".into(),
    }
}

#[tokio::test]
async fn a_quiet_check_is_notified_once_per_channel_and_a_ping_ends_it() {
    let w = HeartbeatWorld::new().await;
    let (api, store, ch) = (w.api(), w.store(), stack());
    watched(&api, &w.key, "nightly", channels()).await;
    let start = now();

    // Inside the period: nothing to say.
    let r = clean(&store, &ch, start + 30).await;
    assert_eq!((r.checks, r.flips, r.notices.sent), (1, 0, 0));
    // Late, inside the grace: a flip, but no notice.
    let r = clean(&store, &ch, start + 90).await;
    assert_eq!((r.flips, r.notices.sent), (1, 0));
    // Past the grace: down, one notice on each channel.
    let r = clean(&store, &ch, start + 125).await;
    assert_eq!((r.flips, r.notices.sent, r.alerts), (1, 3, 1));
    let mails = ch.mailer.sent();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "[telltale] check nightly is DOWN");
    assert_eq!(mails[0].to, "owner@example.org");
    // A flip the clock made carries no job output.
    assert!(!mails[0].text.contains("The end of the job's output"));
    let hooks = ch.webhooks.calls();
    assert_eq!(hooks.len(), 1);
    let (url, body, id, sig) = &hooks[0];
    assert_eq!(url, "https://hooks.example.org/telltale");
    assert_eq!(
        sig.as_deref(),
        Some(signature(b"s3cret", body.as_bytes()).as_str())
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (body["check"].as_str(), body["state"].as_str()),
        (Some("nightly"), Some("down"))
    );
    assert_eq!(body["id"].as_str(), Some(id.as_str()));
    let alerts = ch.alerts.calls();
    assert!(alerts
        .iter()
        .all(|(_, b, _, _)| b.contains(ALERT_NAME) && !b.contains("endsAt")));

    // Further sweeps: no more email or webhook; the alert is sent again (Alertmanager forgets).
    for i in 1..=3 {
        let r = clean(&store, &ch, start + 125 + 60 * i).await;
        assert_eq!((r.flips, r.notices.sent, r.alerts), (0, 0, 1));
    }
    assert_eq!((ch.mailer.sent().len(), ch.webhooks.calls().len()), (1, 1));

    // A ping: up again, one "up" notice per channel, the alert resolved.
    ping(
        &api,
        "POST",
        &format!("/ping/{}/nightly", w.key),
        b"backup done\n",
    )
    .await;
    let r = clean(&store, &ch, now()).await;
    assert_eq!((r.flips, r.notices.sent, r.alerts), (0, 3, 0));
    let mails = ch.mailer.sent();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject, "[telltale] check nightly is UP");
    assert!(mails[1].text.contains("backup done"), "{}", mails[1].text);
    let last_alert = ch.alerts.calls().last().unwrap().1.clone();
    assert!(last_alert.contains("endsAt"), "{last_alert}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sweeps_at_once_send_one_notice_per_channel() {
    let w = HeartbeatWorld::new().await;
    let (api, store, ch) = (w.api(), w.store(), stack());
    watched(&api, &w.key, "racy", channels()).await;
    let flips = concurrent_sweeps(&store, &ch, now() + 125).await;
    assert_eq!(flips, 1, "one flip, whoever settled it");
    assert_eq!(ch.mailer.sent().len(), 1);
    assert_eq!(ch.webhooks.calls().len(), 1);
}

#[tokio::test]
async fn a_failing_webhook_is_retried_never_doubled_and_holds_no_one_back() {
    let w = HeartbeatWorld::new().await;
    let (api, store, ch) = (w.api(), w.store(), stack());
    watched(&api, &w.key, "flaky", channels()).await;
    ch.webhooks.refuse(Some("the webhook answered HTTP 500"));
    let start = now();
    for i in 0..3 {
        let r = telltale::heartbeat::sweep::sweep(&store, &ch, start + 125 + 60 * i)
            .await
            .unwrap();
        assert_eq!(r.notices.failed.len(), 1, "{:?}", r.notices);
        assert!(r.problems()[0].contains("HTTP 500"));
    }
    // The email went out at the first sweep, once; the webhook got nothing while it failed.
    assert_eq!((ch.mailer.sent().len(), ch.webhooks.calls().len()), (1, 0));
    ch.webhooks.refuse(None);
    let r = clean(&store, &ch, start + 125 + 200).await;
    assert_eq!(r.notices.sent, 1);
    let r = clean(&store, &ch, start + 125 + 260).await;
    assert_eq!(r.notices.sent, 0);
    assert_eq!(ch.webhooks.calls().len(), 1);
}

#[tokio::test]
async fn a_paused_check_sends_nothing() {
    let w = HeartbeatWorld::new().await;
    let (api, store, ch) = (w.api(), w.store(), stack());
    watched(&api, &w.key, "paused", channels()).await;
    let check = telltale::heartbeat::ports::CheckStates::check(&store, "paused")
        .await
        .unwrap()
        .unwrap();
    telltale::heartbeat::receive::settle(
        &store,
        check,
        telltale::heartbeat::state::Event::Pause,
        now(),
        b"",
    )
    .await
    .unwrap();
    let r = clean(&store, &ch, now() + 10_000).await;
    assert_eq!((r.flips, r.notices.sent, r.alerts), (0, 0, 0));
}
