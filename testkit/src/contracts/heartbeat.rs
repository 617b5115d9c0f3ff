//! The heartbeat table's promises (`telltale::heartbeat::ports`), run against the in-memory
//! table of the fast tier and the DynamoDB adapter on moto.

use telltale::heartbeat::channel::Channel;
use telltale::heartbeat::check::{Check, PINGS_KEPT};
use telltale::heartbeat::notice::{notice_id, Notice};
use telltale::heartbeat::ports::{CheckSettings, Heartbeats, PingEntry, Record, Recorded, Settled};
use telltale::heartbeat::state::{Flip, State, Step};

const T0_MS: i64 = 1_800_000_000_000;

fn ping<'a>(check: &'a str, counts: &'a [(String, u64)], now_ms: i64) -> Record<'a> {
    crate::heartbeat::success_ping(check, "contract", counts, (300, 60), now_ms)
}

fn counted(recorded: Recorded) -> (Check, bool, Option<f64>) {
    match recorded {
        Recorded::Counted {
            check,
            created,
            duration,
        } => (*check, created, duration),
        other => panic!("expected the ping counted: {other:?}"),
    }
}

async fn stored<S: Heartbeats>(store: &S, name: &str) -> Check {
    store
        .check(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("check {name} not stored"))
}

/// Every promise of `Heartbeats`: a ping creates a check only when asked, with a UUID found
/// again; concurrent pings are each counted once; a run's duration comes from its own start;
/// settings change without losing history; a state is settled only on the revision it was
/// decided from, and a flip's notice is written once; a paused check set for manual resume
/// only logs; the ping log keeps the newest `PINGS_KEPT`, newest first. `prefix` keeps runs
/// on one table apart.
pub async fn heartbeat_store<S: Heartbeats>(store: &S, prefix: &str) {
    let name = crate::unique(prefix);
    let one = [("success".to_string(), 1u64)];

    let mut unknown = ping(&name, &one, T0_MS);
    unknown.create = false;
    assert_eq!(
        store.record(&unknown).await.unwrap(),
        Recorded::UnknownCheck
    );
    assert!(store.check(&name).await.unwrap().is_none(), "not created");

    let (first, created, _) = counted(store.record(&ping(&name, &one, T0_MS)).await.unwrap());
    assert!(created);
    assert_eq!((first.period_seconds, first.grace_seconds), (300, 60));
    let uuid = first.uuid.clone().expect("a created check has a UUID");
    assert_eq!(store.by_uuid(&uuid).await.unwrap(), Some(name.clone()));
    assert_eq!(store.by_uuid("no-such-uuid").await.unwrap(), None);

    let records: Vec<Record> = (1..=12).map(|i| ping(&name, &one, T0_MS + i)).collect();
    let concurrent = futures::future::join_all(records.iter().map(|r| store.record(r))).await;
    assert!(concurrent.iter().all(|r| r.is_ok()), "{concurrent:?}");
    let check = stored(store, &name).await;
    assert_eq!(check.pings, 13, "every concurrent ping counted once");
    assert_eq!(check.total(), 13);

    let mut start = ping(&name, &one, T0_MS + 10_000);
    (start.start, start.ends_run, start.rid) = (true, false, Some("run-a"));
    store.record(&start).await.unwrap();
    let mut end = ping(&name, &one, T0_MS + 12_500);
    end.rid = Some("run-a");
    let (_, created, duration) = counted(store.record(&end).await.unwrap());
    assert!(!created);
    assert_eq!(duration, Some(2.5), "measured from its own start");

    let settings = CheckSettings {
        period_seconds: 3600,
        grace_seconds: 120,
        ..CheckSettings::default()
    };
    store
        .set_check(&name, &settings, 1_800_000_100)
        .await
        .unwrap();
    let check = stored(store, &name).await;
    assert_eq!((check.period_seconds, check.grace_seconds), (3600, 120));
    assert_eq!(
        (check.pings, check.uuid.as_deref()),
        (15, Some(uuid.as_str()))
    );

    settles_once(store, &name).await;
    paused_only_logs(store, &name, &one).await;
    log_keeps_the_newest(store, &name).await;

    let fresh = crate::unique(prefix);
    store
        .set_check(&fresh, &settings, 1_800_000_200)
        .await
        .unwrap();
    let made = stored(store, &fresh).await;
    let made_uuid = made.uuid.expect("set creates a check with a UUID");
    assert_eq!(
        store.by_uuid(&made_uuid).await.unwrap(),
        Some(fresh.clone())
    );
    let names: Vec<String> = store
        .checks()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(names.contains(&name) && names.contains(&fresh), "{names:?}");
}

async fn settles_once<S: Heartbeats>(store: &S, name: &str) {
    let read = stored(store, name).await;
    let channel = Channel::Webhook {
        url: "https://hooks.example.org/contract".into(),
        secret_parameter: None,
    };
    let flip = Flip {
        at: 1_800_000_300,
        from: read.state,
        to: State::Down,
        cause: "contract".into(),
    };
    let notice = Notice {
        id: notice_id(name, read.flips + 1, &channel),
        check: name.to_string(),
        uuid: read.uuid.clone(),
        channel,
        flip_number: read.flips + 1,
        at: flip.at,
        from: flip.from.to_string(),
        to: flip.to.to_string(),
        cause: flip.cause.clone(),
        last_ping: read.last_ping,
        last_exit_status: None,
        output_tail: None,
    };
    let step = Step {
        state: State::Down,
        flip: Some(flip),
        ignored: false,
    };
    let notices = std::slice::from_ref(&notice);
    assert_eq!(
        store.settle(&read, &step, notices).await.unwrap(),
        Settled::Written
    );
    let after = stored(store, name).await;
    assert_eq!((after.state, after.flips), (State::Down, read.flips + 1));
    assert!(after.rev > read.rev);
    let up = Step {
        state: State::Up,
        flip: None,
        ignored: false,
    };
    assert_eq!(
        store.settle(&read, &up, &[]).await.unwrap(),
        Settled::Stale,
        "decided from a revision no longer stored"
    );
    assert_eq!(
        store.settle(&after, &step, notices).await.unwrap(),
        Settled::Stale,
        "a notice already written cancels the whole write"
    );
    assert_eq!(stored(store, name).await.state, State::Down);
    let written: Vec<_> = store
        .notices()
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.notice.check == name)
        .collect();
    assert_eq!(written.len(), 1, "one notice per flip and channel");
    assert_eq!(written[0].notice, notice);
    assert_eq!(written[0].state, "pending");
    let flips = store.flips(name).await.unwrap();
    assert_eq!(
        flips.first().map(|f| f.n),
        Some(read.flips + 1),
        "newest first"
    );
}

async fn paused_only_logs<S: Heartbeats>(store: &S, name: &str, one: &[(String, u64)]) {
    let settings = CheckSettings {
        period_seconds: 3600,
        grace_seconds: 120,
        manual_resume: true,
        ..CheckSettings::default()
    };
    store
        .set_check(name, &settings, 1_800_000_400)
        .await
        .unwrap();
    let read = stored(store, name).await;
    let pause = Step {
        state: State::Paused,
        flip: None,
        ignored: false,
    };
    assert_eq!(
        store.settle(&read, &pause, &[]).await.unwrap(),
        Settled::Written
    );
    let before = stored(store, name).await;
    match store
        .record(&ping(name, one, T0_MS + 500_000))
        .await
        .unwrap()
    {
        Recorded::Ignored(check) => assert_eq!(check.pings, before.pings),
        other => panic!("a paused check set for manual resume only logs: {other:?}"),
    }
    assert_eq!(stored(store, name).await.pings, before.pings);
}

async fn log_keeps_the_newest<S: Heartbeats>(store: &S, name: &str) {
    for n in 1..=PINGS_KEPT + 5 {
        let entry = PingEntry {
            n,
            at_ms: T0_MS + n as i64,
            kind: "success".into(),
            method: "GET".into(),
            body: format!("ping {n}").into_bytes(),
            ..PingEntry::default()
        };
        store.log_ping(name, &entry).await.unwrap();
    }
    let log = store.pings(name).await.unwrap();
    assert_eq!(log.len() as u64, PINGS_KEPT);
    assert_eq!(
        log.first().map(|e| e.n),
        Some(PINGS_KEPT + 5),
        "newest first"
    );
    assert_eq!(
        log.last().map(|e| e.n),
        Some(6),
        "the oldest beyond the bound are gone"
    );
    assert_eq!(log[0].body, format!("ping {}", PINGS_KEPT + 5).into_bytes());
}
