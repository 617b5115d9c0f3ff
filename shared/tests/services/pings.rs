//! healthchecks.io's ping API on moto's DynamoDB: the adapter's conditional writes and
//! transactions give the answers, logs and single flips the fast tier's stores give.

use telltale_testkit::heartbeat::HeartbeatFixture;
use telltale_testkit::ping_scenarios as scenarios;

#[tokio::test]
async fn pings_as_healthchecks_answers() {
    let f = HeartbeatFixture::new().await;
    scenarios::pings_as_healthchecks_answers(&f.api(), &f.key, &f.submitter_key).await;
}

#[tokio::test]
async fn run_ids_pair_starts_with_ends() {
    let f = HeartbeatFixture::new().await;
    scenarios::run_ids_pair_starts_with_ends(&f.api(), &f.key).await;
}

#[tokio::test]
async fn manual_resume_ignores_pings() {
    let f = HeartbeatFixture::new().await;
    scenarios::manual_resume_ignores_pings(&f.api(), &f.key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_make_one_flip() {
    let f = HeartbeatFixture::new().await;
    scenarios::concurrent_failures_make_one_flip(&f.api(), &f.key).await;
}

/// Twenty sweeps at once on moto's DynamoDB, past a quiet check's grace: one flip, one notice
/// per channel (the transaction's conditions, not the function's concurrency of 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sweeps_at_once_write_one_flip_and_send_one_notice_per_channel() {
    use telltale::heartbeat::notice::Channel;
    use telltale::heartbeat::sweep::Channels;
    use telltale_testkit::memory::{MemoryMailer, MemoryReceiver};
    use telltale_testkit::sweep_scenarios::{concurrent_sweeps, now, watched};
    let f = HeartbeatFixture::new().await;
    let api = f.api();
    let channels = vec![
        Channel::Email {
            to: "owner@example.org".into(),
        },
        Channel::Webhook {
            url: "https://hooks.example.org/t".into(),
            secret_parameter: None,
        },
    ];
    watched(&api, &f.key, "racy", channels).await;
    let stack = Channels {
        mailer: MemoryMailer::default(),
        webhooks: MemoryReceiver::default(),
        alerts: MemoryReceiver::default(),
        from: "telltale <hb@example.org>".into(),
    };
    let flips = concurrent_sweeps(&api.store, &stack, now() + 125).await;
    assert_eq!(flips, 1);
    assert_eq!(stack.mailer.sent().len(), 1);
    assert_eq!(stack.webhooks.calls().len(), 1);
    let stored = telltale::heartbeat::ports::NoticeLog::notices(&api.store)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored.iter().all(|n| n.state == "sent" && n.attempts == 1),
        "{stored:?}"
    );
}
