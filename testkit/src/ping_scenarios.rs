//! healthchecks.io's ping API as its clients use it, run on whichever stores a test has (the
//! in-memory ones in the fast tier, moto's DynamoDB in the service tier), so both are held to
//! the same answers, stored pings and flips.

use crate::heartbeat_calls::{call, request, Answer};
use telltale::auth::KeyLookup;
use telltale::heartbeat::check::Check;
use telltale::heartbeat::ports::{Heartbeats, PingEntry};
use telltale::heartbeat::receive::settle;
use telltale::heartbeat::state::{Event, State};
use telltale::http::heartbeat::HeartbeatApi;

pub async fn ping<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    method: &str,
    uri: &str,
    body: &[u8],
) -> Answer {
    call(
        api,
        request(
            method,
            uri,
            &[
                ("user-agent", b"runitor/1.3.0"),
                ("x-forwarded-for", b"192.0.2.7"),
            ],
            body.to_vec(),
        ),
    )
    .await
}

async fn stored<S: Heartbeats>(store: &S, name: &str) -> Check {
    store
        .check(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no check {name}"))
}

async fn log<S: Heartbeats>(store: &S, name: &str) -> Vec<PingEntry> {
    store.pings(name).await.unwrap()
}

fn assert_answer(a: &Answer, status: u16, text: &str, what: &str) {
    assert_eq!((a.status, a.text().as_str()), (status, text), "{what}");
}

/// A success answer carries healthchecks.io's headers.
fn assert_ping_headers(a: &Answer) {
    let h = |name: &str| {
        a.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(h("access-control-allow-origin"), "*");
    assert_eq!(h("ping-body-limit"), "10000");
    assert!(h("cache-control").contains("no-cache"), "{:?}", a.headers);
}

/// Slug and UUID URLs, `?create=1`, every refusal in healthchecks.io's words, the job's output
/// kept (cut, never echoed), run ids, `/log`, and the flips a run of pings makes.
pub async fn pings_as_healthchecks_answers<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
    other_role_key: &str,
) {
    let by_slug = format!("/ping/{key}/nightly");
    let a = ping(api, "GET", &by_slug, b"").await;
    assert_answer(&a, 404, "not found", "unknown slug");
    let a = ping(api, "POST", &format!("{by_slug}?create=1"), b"first run").await;
    assert_answer(&a, 201, "Created", "create=1");
    assert_ping_headers(&a);
    let a = ping(api, "POST", &format!("{by_slug}?create=1"), b"").await;
    assert_answer(&a, 200, "OK", "create=1 on an existing check");
    let check = stored(&api.store, "nightly").await;
    assert_eq!(check.state, State::Up);
    let uuid = check.uuid.clone().expect("a UUID given at creation");
    assert!(telltale::heartbeat::ping::is_path_uuid(&uuid), "{uuid}");

    let by_uuid = format!("/ping/{uuid}");
    for (method, path, status, text) in [
        ("GET", by_uuid.clone(), 200, "OK"),
        ("PUT", format!("{by_uuid}/"), 200, "OK"),
        ("GET", format!("{by_uuid}/0"), 200, "OK"),
        ("GET", format!("{by_uuid}/256"), 400, "invalid url format"),
        ("GET", format!("{by_uuid}/-1"), 404, "not found"),
        (
            "GET",
            format!("/ping/{}", uuid.to_uppercase()),
            404,
            "not found",
        ),
        (
            "GET",
            format!("/ping/{}", uuid::Uuid::new_v4()),
            404,
            "not found",
        ),
        (
            "GET",
            format!("/ping/{key}/Nightly"),
            400,
            "invalid url format",
        ),
        ("GET", format!("{by_slug}/256"), 400, "invalid url format"),
        ("GET", format!("{by_slug}/1e2"), 404, "not found"),
        ("GET", format!("/ping/{key}x/nightly"), 404, "not found"),
        (
            "GET",
            format!("/ping/{other_role_key}/nightly"),
            404,
            "not found",
        ),
        (
            "GET",
            format!("/ping/{other_role_key}/nightly?create=1"),
            404,
            "not found",
        ),
        (
            "GET",
            format!("{by_slug}?rid=123"),
            400,
            "invalid uuid format",
        ),
        (
            "GET",
            format!("{by_slug}?rid={}", uuid.replace('-', "")),
            400,
            "invalid uuid format",
        ),
        ("GET", "/ping".to_string(), 404, "not found"),
        (
            "GET",
            format!("/ping/{key}/{}", "x".repeat(65)),
            400,
            "invalid url format",
        ),
    ] {
        let a = ping(api, method, &path, b"").await;
        assert_answer(&a, status, text, &path);
    }
    let a = ping(api, "HEAD", &format!("{by_uuid}/start"), b"").await;
    assert_eq!((a.status, a.body.len()), (200, 0), "HEAD");

    // The job's output: kept up to the limit, any bytes, never echoed.
    let long = vec![b'y'; 10_001];
    let a = ping(api, "POST", &by_slug, &long).await;
    assert_answer(&a, 200, "OK", "a body over the limit is cut, not refused");
    assert_eq!(log(&api.store, "nightly").await[0].body.len(), 10_000);
    let a = ping(api, "POST", &by_slug, &vec![b'z'; 1_000_000]).await;
    assert_answer(&a, 200, "OK", "1 MB");
    let a = ping(
        api,
        "POST",
        &format!("{by_slug}/log"),
        &[0xff, 0xfe, b'o', b'k'],
    )
    .await;
    assert_answer(&a, 200, "OK", "non-UTF-8");
    let latest = &log(&api.store, "nightly").await[0];
    assert_eq!(latest.body, [0xff, 0xfe, b'o', b'k']);
    assert_eq!(latest.kind, "log");
    assert_eq!(latest.user_agent.as_deref(), Some("runitor/1.3.0"));
    assert_eq!(latest.address.as_deref(), Some("192.0.2.7"));

    // A failure is down at once; /log changes nothing; a success is up again.
    assert_answer(
        &ping(api, "GET", &format!("{by_slug}/7"), b"").await,
        200,
        "OK",
        "exit 7",
    );
    assert_eq!(stored(&api.store, "nightly").await.state, State::Down);
    ping(api, "GET", &format!("{by_slug}/log"), b"").await;
    assert_eq!(stored(&api.store, "nightly").await.state, State::Down);
    ping(api, "GET", &format!("{by_uuid}/0"), b"").await;
    let flips: Vec<(State, State)> = api
        .store
        .flips("nightly")
        .await
        .unwrap()
        .iter()
        .map(|f| (f.flip.from, f.flip.to))
        .collect();
    assert_eq!(
        flips,
        [
            (State::Down, State::Up),
            (State::Up, State::Down),
            (State::New, State::Up)
        ]
    );
}

/// Overlapping runs of one job, told apart by `rid`, each get their own duration.
pub async fn run_ids_pair_starts_with_ends<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
) {
    let base = format!("/ping/{key}/overlapping");
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    ping(api, "POST", &format!("{base}/start?create=1&rid={a}"), b"").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    ping(api, "POST", &format!("{base}/start?rid={b}"), b"").await;
    let end_a = ping(
        api,
        "POST",
        &format!("{base}/0?rid={}", a.to_string().to_uppercase()),
        b"",
    )
    .await;
    assert_answer(&end_a, 200, "OK", "end of run a");
    let end_b = ping(api, "POST", &format!("{base}/1?rid={b}"), b"").await;
    assert_answer(&end_b, 200, "OK", "end of run b");
    let entries = log(&api.store, "overlapping").await;
    let duration = |rid: &uuid::Uuid| {
        entries
            .iter()
            .find(|e| e.rid.as_deref() == Some(&rid.to_string()) && e.kind != "start")
            .and_then(|e| e.duration_seconds)
            .unwrap_or_else(|| panic!("no duration for run {rid}"))
    };
    assert!(duration(&a) >= 0.3, "run a started first: {}", duration(&a));
    assert!(duration(&b) < duration(&a), "run b is its own");
    // An end whose run id never started has no duration.
    ping(
        api,
        "POST",
        &format!("{base}?rid={}", uuid::Uuid::new_v4()),
        b"",
    )
    .await;
    assert_eq!(
        log(&api.store, "overlapping").await[0].duration_seconds,
        None
    );
}

/// Paused with `--manual-resume`: pings are logged as ignored until `resume`.
pub async fn manual_resume_ignores_pings<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
) {
    let url = format!("/ping/{key}/maintained");
    ping(api, "GET", &format!("{url}?create=1"), b"").await;
    let mut settings = telltale::heartbeat::ports::CheckSettings {
        period_seconds: 300,
        grace_seconds: 60,
        manual_resume: true,
        ..Default::default()
    };
    telltale::heartbeat::ports::HeartbeatStore::set_check(&api.store, "maintained", &settings, 0)
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let check = stored(&api.store, "maintained").await;
    let flip = settle(&api.store, check, Event::Pause, now, b"")
        .await
        .unwrap();
    assert_eq!(flip.map(|f| f.to), Some(State::Paused));
    assert_answer(
        &ping(api, "GET", &format!("{url}/fail"), b"").await,
        200,
        "OK",
        "ignored",
    );
    let check = stored(&api.store, "maintained").await;
    assert_eq!(check.state, State::Paused);
    assert_eq!(log(&api.store, "maintained").await[0].kind, "ignored");
    settle(&api.store, check, Event::Resume, now, b"")
        .await
        .unwrap();
    assert_eq!(stored(&api.store, "maintained").await.state, State::New);
    // Without it, a ping resumes a paused check.
    settings.manual_resume = false;
    telltale::heartbeat::ports::HeartbeatStore::set_check(&api.store, "maintained", &settings, 0)
        .await
        .unwrap();
    let check = stored(&api.store, "maintained").await;
    settle(&api.store, check, Event::Pause, now, b"")
        .await
        .unwrap();
    ping(api, "GET", &url, b"").await;
    assert_eq!(stored(&api.store, "maintained").await.state, State::Up);
}

/// Twenty failures at once on an up check: one flip, whoever settles it.
pub async fn concurrent_failures_make_one_flip<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
) {
    let url = format!("/ping/{key}/racy");
    ping(api, "GET", &format!("{url}?create=1"), b"").await;
    let fail = format!("{url}/fail");
    let pings = (0..20).map(|_| ping(api, "POST", &fail, b""));
    let answers = futures::future::join_all(pings).await;
    assert!(answers.iter().all(|a| a.status == 200));
    let flips = api.store.flips("racy").await.unwrap();
    let downs = flips.iter().filter(|f| f.flip.to == State::Down).count();
    assert_eq!(downs, 1, "{flips:?}");
    let check = stored(&api.store, "racy").await;
    assert_eq!((check.state, check.pings), (State::Down, 21));
}
