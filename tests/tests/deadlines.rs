//! A hung dependency, as a deployed function meets it: the real `probe-submit` binary runs
//! against a loopback Runtime API that sends Lambda's deadline header, with DynamoDB behind a
//! proxy that accepts connections and never answers. The AWS SDK gives an attempt 3 s and an
//! operation (with its retry) 5 s, so the caller gets a 503 naming DynamoDB after about 5 s;
//! and whatever hangs, the answer is posted before the invocation's deadline, with the 400 ms
//! margin kept to shape and send it.

use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};
use telltale::auth::Role;
use telltale_testkit::built_binary;
use telltale_testkit::events::rest_event;
use telltale_testkit::fault::{FaultProxy, Mode};
use telltale_testkit::moto::moto;
use telltale_testkit::probes::ProbeFixture;
use telltale_testkit::runtime_api::{Answer, Invocation, RuntimeApi};

/// Runs `probe-submit` for one `GET /api/v2/probes/` with DynamoDB hung and each invocation's
/// deadline `timeout` away; its answer, and when the proxy accepted each connection.
async fn list_with_dynamodb_hung(timeout: Duration) -> (Answer, Vec<Duration>) {
    let f = ProbeFixture::new(Role::Submitter).await;
    let proxy = FaultProxy::start(&moto().endpoint).await;
    proxy.set(Mode::Hung);
    let invocation = Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        trace_id: format!(
            "Root=1-6751a000-{};Sampled=0",
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        ),
        payload: rest_event("GET", "/api/v2/probes/", &[("x-api-key", &f.key)], None),
    };
    let api = RuntimeApi::start_with_timeout(vec![invocation], timeout).await;
    let mut env = f.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.url.clone()));
    let binary = built_binary("probe-submit", "probe-submit");
    let started = Instant::now();
    env.push(("RUST_LOG".into(), "warn".into()));
    let running = api.spawn(&binary, "probe-submit", &env);
    let answer = api.answers(1, Duration::from_secs(60)).await.remove(0);
    drop(running);
    // The proxy's clock is `Instant`; the answer's is the wall clock. Connections made before
    // the invocation was handed out (the cold start's prefetch) are left out.
    let handed = Instant::now()
        - SystemTime::now()
            .duration_since(answer.handed_out)
            .unwrap_or_default();
    let handed = handed.max(started);
    let attempts = proxy
        .accepted()
        .into_iter()
        .filter(|at| *at >= handed)
        .map(|at| at - handed)
        .collect();
    (answer, attempts)
}

fn took(answer: &Answer) -> Duration {
    answer
        .answered
        .duration_since(answer.handed_out)
        .unwrap_or_default()
}

fn body(answer: &Answer) -> Value {
    assert_eq!(answer.kind, "response", "{:?}", answer.body);
    let text = answer.body["body"].as_str().unwrap_or_default();
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn a_hung_dynamodb_is_a_503_naming_it_once_the_sdks_five_seconds_are_spent() {
    let (answer, attempts) = list_with_dynamodb_hung(Duration::from_secs(15)).await;
    let took = took(&answer);
    assert_eq!(answer.body["statusCode"], 503, "{:?}", answer.body);
    let detail = body(&answer).to_string();
    assert!(
        detail.contains("DynamoDB"),
        "names the dependency: {detail}"
    );
    assert!(
        took >= Duration::from_millis(4_900) && took < Duration::from_millis(6_500),
        "the operation timeout (5 s) ends the wait, not the deadline (15 s): {took:?}"
    );
    assert_eq!(
        attempts.len(),
        2,
        "an attempt cut at 3 s and its retry: {attempts:?}"
    );
    let retry = attempts[1] - attempts[0];
    assert!(
        retry >= Duration::from_millis(2_900) && retry < Duration::from_millis(4_500),
        "the first attempt is given 3 s: {attempts:?}"
    );
}

#[tokio::test]
async fn the_answer_is_posted_before_the_deadline_with_the_margin_kept() {
    let timeout = Duration::from_millis(2_500);
    let (answer, _) = list_with_dynamodb_hung(timeout).await;
    let took = took(&answer);
    assert_eq!(answer.body["statusCode"], 503, "{:?}", answer.body);
    let detail = body(&answer).to_string();
    assert!(
        detail.contains("time limit"),
        "says it ran out of time: {detail}"
    );
    let cut = timeout - telltale::base::deadline::MARGIN;
    assert!(
        took >= cut - Duration::from_millis(100),
        "cut at the deadline less the margin ({cut:?}), not before: {took:?}"
    );
    assert!(
        took < timeout - Duration::from_millis(200),
        "posted well before the deadline ({timeout:?}): {took:?}"
    );
}
