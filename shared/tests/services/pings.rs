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
