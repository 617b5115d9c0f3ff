//! What a port promises, written once and run against each of its implementations: the
//! in-memory one of the fast tier and the adapter on the real service, so the two cannot
//! drift apart (a memory port that kept less than its adapter would let a fast test pass that
//! the deployed function fails).

pub mod heartbeat;
pub use heartbeat::heartbeat_store;

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
        refreshed_at: 1_800_000_000 + version as i64,
    };
    let base = store.token().await.unwrap().map_or(0, |t| t.version);
    assert!(store.put_token(&token(base + 1)).await.unwrap());
    assert!(
        !store.put_token(&token(base + 1)).await.unwrap(),
        "one write per version"
    );
    assert!(
        !store.put_token(&token(base + 3)).await.unwrap(),
        "no version skipped"
    );
    assert_eq!(
        store.token().await.unwrap().unwrap(),
        token(base + 1),
        "read back as written, its grant time included"
    );

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

/// The probe table's promises: a replace from a version no longer stored is a 412 and changes
/// nothing; an email is claimed by one sender at a time, again once its lease or its wait is
/// over, never once sent or given up; marking an email that does not exist changes nothing.
pub async fn probe_store<S>(store: &S, prefix: &str)
where
    S: telltale::probes::ports::CandidateStore + telltale::probes::ports::Outbox,
{
    use telltale::probes::model::Status;
    use telltale::probes::ports::{email_id, OutboxEmail};
    let at = "2026-12-01T00:00:00Z";
    let id = crate::unique(prefix);
    let candidate = crate::probes::legacy_candidate(&id, "contract");
    let mail = |status| telltale::outbox::email::Email {
        from: "f@example.org".into(),
        to: "t@example.org".into(),
        bcc: vec![],
        subject: format!("{status:?}"),
        text: "t".into(),
    };
    let email = OutboxEmail::pending(&id, Status::Submitted, mail(Status::Submitted), at);
    store.create(&candidate, &email, None).await.unwrap();

    let read = store.get(&id).await.unwrap().unwrap();
    let mut next = read.clone();
    next.version += 1;
    next.status = Status::Processing;
    let change = OutboxEmail::pending(&id, Status::Processing, mail(Status::Processing), at);
    store
        .replace(&next, read.version, Some(&change))
        .await
        .unwrap();
    let mut stale = read.clone();
    stale.version += 1;
    stale.status = Status::Rejected;
    let refused = store.replace(&stale, read.version, None).await;
    assert!(
        matches!(refused, Err(telltale::Error::PreconditionFailed(_))),
        "{refused:?}"
    );
    let stored = store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.version),
        (Status::Processing, read.version + 1)
    );

    let first = email_id(&id, Status::Submitted);
    let now = 1_800_000_000;
    let claimed = store
        .claim(&first, now, 120)
        .await
        .unwrap()
        .expect("pending");
    assert_eq!(claimed.attempts, 1);
    assert!(
        store.claim(&first, now + 60, 120).await.unwrap().is_none(),
        "held"
    );
    let again = store
        .claim(&first, now + 121, 120)
        .await
        .unwrap()
        .expect("lapsed");
    assert_eq!(again.attempts, 2);
    store
        .mark_failed(&first, "throttled", Some(now + 1_000))
        .await
        .unwrap();
    assert!(
        store.claim(&first, now + 500, 120).await.unwrap().is_none(),
        "waiting"
    );
    assert!(
        store
            .claim(&first, now + 1_001, 120)
            .await
            .unwrap()
            .is_some(),
        "waited"
    );
    store.mark_sent(&first, "m-1", at).await.unwrap();
    assert!(
        store
            .claim(&first, now + 5_000, 120)
            .await
            .unwrap()
            .is_none(),
        "sent"
    );
    assert!(!store.pending().await.unwrap().contains(&first));

    let second = email_id(&id, Status::Processing);
    assert!(store.claim(&second, now, 120).await.unwrap().is_some());
    store
        .mark_dead(&second, "refused for good", at)
        .await
        .unwrap();
    assert!(
        store
            .claim(&second, now + 5_000, 120)
            .await
            .unwrap()
            .is_none(),
        "dead"
    );
    assert!(store
        .dead_emails()
        .await
        .unwrap()
        .iter()
        .any(|e| e.id == second));

    let unknown = format!("email#{}#testing", crate::unique("none"));
    store.mark_sent(&unknown, "m", at).await.unwrap();
    store.mark_failed(&unknown, "r", None).await.unwrap();
    store.mark_dead(&unknown, "r", at).await.unwrap();
    assert!(store.get_email(&unknown).await.unwrap().is_none());
    assert!(store.claim(&unknown, now, 120).await.unwrap().is_none());
    let dead = store
        .dead_emails()
        .await
        .expect("the dead emails, still readable");
    assert!(
        !dead.iter().any(|e| e.id == unknown),
        "no email made up by a mark"
    );
}
