//! healthchecks.io's ping API on the in-memory stores (which yield at every write, so the
//! concurrent pings below really interleave). The same scenarios run on moto's DynamoDB in
//! `services/pings.rs`.

use telltale_testkit::memory::HeartbeatWorld;
use telltale_testkit::ping_scenarios as scenarios;

#[tokio::test]
async fn pings_as_healthchecks_answers() {
    let f = HeartbeatWorld::new().await;
    scenarios::pings_as_healthchecks_answers(&f.api(), &f.key, &f.submitter_key).await;
}

#[tokio::test]
async fn run_ids_pair_starts_with_ends() {
    let f = HeartbeatWorld::new().await;
    scenarios::run_ids_pair_starts_with_ends(&f.api(), &f.key).await;
}

#[tokio::test]
async fn manual_resume_ignores_pings() {
    let f = HeartbeatWorld::new().await;
    scenarios::manual_resume_ignores_pings(&f.api(), &f.key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_make_one_flip() {
    let f = HeartbeatWorld::new().await;
    scenarios::concurrent_failures_make_one_flip(&f.api(), &f.key).await;
}

#[tokio::test]
async fn a_dependency_failure_is_a_503_naming_it_in_plain_text() {
    let f = HeartbeatWorld::new().await;
    f.store().outage.set(true);
    let a = scenarios::ping(
        &f.api(),
        "GET",
        &format!("/ping/{}/x?create=1", f.key),
        b"secret output",
    )
    .await;
    assert_eq!(a.status, 503);
    assert!(a.text().contains("DynamoDB"), "{}", a.text());
    assert!(!a.text().contains("secret"));
}
