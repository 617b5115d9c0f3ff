//! What a port promises, written once and run against each of its implementations: the
//! in-memory one of the fast tier and the adapter on the real service, so the two cannot
//! drift apart (a memory port that kept less than its adapter would let a fast test pass that
//! the deployed function fails).

use telltale::accounting::model::{PushState, StoredToken};
use telltale::accounting::ports::AccountingStore;
use telltale::base::env::Secret;

/// The accounting table's promises: the last end only moves forward; an outcome without a
/// value keeps the one before; a push claim is held until its lease lapses and a pushed one is
/// never taken again; finishing keeps what it is not given; tokens are written one version
/// after another; the refresh lease is its owner's. `prefix` keeps runs on one table apart.
pub async fn accounting_store(store: &dyn AccountingStore, prefix: &str) {
    let (i, d) = (format!("{prefix}-inst"), "def-1");
    store.set_last_end(&i, d, 1_000).await.unwrap();
    store.set_last_end(&i, d, 500).await.unwrap();
    assert_eq!(
        store.last_end(&i, d).await.unwrap(),
        Some(1_000),
        "never back"
    );
    store.set_last_end(&i, d, 2_000).await.unwrap();
    assert_eq!(store.last_end(&i, d).await.unwrap(), Some(2_000));

    let at = "2026-12-01T00:00:00Z";
    store
        .record_outcome(&i, d, true, Some(5.0), None, at)
        .await
        .unwrap();
    store
        .record_outcome(
            &i,
            d,
            false,
            None,
            Some("EOSC answered 503"),
            "2026-12-01T01:00:00Z",
        )
        .await
        .unwrap();
    let key = (i.clone(), d.to_string());
    let outcome = store.outcomes(std::slice::from_ref(&key)).await.unwrap()[&key].clone();
    assert_eq!(
        (
            outcome.state,
            outcome.value,
            outcome.last_success_at.as_deref(),
            outcome.reason.as_deref()
        ),
        (
            PushState::Failed,
            Some(5.0),
            Some(at),
            Some("EOSC answered 503")
        ),
        "a failure keeps the last value and success"
    );

    let push = format!("{prefix}-push#2026-12-01");
    assert!(
        store.claim(&push, 100, 30).await.unwrap(),
        "a new push is taken"
    );
    assert!(
        !store.claim(&push, 120, 30).await.unwrap(),
        "held by its claimer"
    );
    assert!(
        store.claim(&push, 131, 30).await.unwrap(),
        "taken again after the lease"
    );
    store
        .finish(&push, false, Some(3.0), Some("m-1"), Some("503"), at)
        .await
        .unwrap();
    assert!(
        store.claim(&push, 140, 30).await.unwrap(),
        "a failed push is taken again"
    );
    let record = store.record(&push).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.value, record.metric_id.as_deref()),
        (PushState::Pushing, Some(3.0), Some("m-1")),
        "a claim keeps what the last attempt recorded"
    );
    store
        .finish(&push, true, None, None, None, at)
        .await
        .unwrap();
    let record = store.record(&push).await.unwrap().unwrap();
    assert_eq!(
        (
            record.state,
            record.value,
            record.metric_id.as_deref(),
            record.claimed_until
        ),
        (PushState::Pushed, Some(3.0), Some("m-1"), None),
        "finishing keeps what it is not given"
    );
    assert!(
        !store.claim(&push, 10_000, 30).await.unwrap(),
        "a pushed push never again"
    );

    let token = |version| StoredToken {
        access_token: Secret::new(format!("access-{version}")),
        expires_at: 1_900_000_000,
        refresh_token: Secret::new(format!("refresh-{version}")),
        version,
    };
    let base = store.token().await.unwrap().map_or(0, |t| t.version);
    assert!(store.put_token(&token(base + 1), at).await.unwrap());
    assert!(
        !store.put_token(&token(base + 1), at).await.unwrap(),
        "one write per version"
    );
    assert!(
        !store.put_token(&token(base + 3), at).await.unwrap(),
        "no version skipped"
    );
    assert_eq!(store.token().await.unwrap().unwrap().version, base + 1);

    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    assert!(store.acquire_refresh_lease(&a, 100, 30).await.unwrap());
    assert!(
        !store.acquire_refresh_lease(&b, 110, 30).await.unwrap(),
        "held by a"
    );
    store.release_refresh_lease(&b).await.unwrap();
    assert!(
        !store.acquire_refresh_lease(&b, 111, 30).await.unwrap(),
        "b cannot free a's"
    );
    store.release_refresh_lease(&a).await.unwrap();
    assert!(store.acquire_refresh_lease(&b, 112, 30).await.unwrap());
    store.release_refresh_lease(&b).await.unwrap();
}
