//! `make bench` (heartbeat part): figures, not pass/fail.
//!
//! - warm latency of `POST /heartbeat/{check}` through the route, in-process, against moto's
//!   DynamoDB (key lookup + one atomic UpdateItem), p50/p99;
//! - the exposition for 1,000 checks: rendering alone, and `GET /heartbeat/metrics` through
//!   the route (one Query of the checks' partition, all pages, then rendering).

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request};
use std::time::{Duration, Instant};
use telltale::heartbeat::exposition::render;
use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
use telltale::http::heartbeat::routes;
use telltale_testkit::heartbeat::HeartbeatFixture;

const WARMUP: usize = 30;
const RUNS: usize = 500;
const CHECKS: usize = 1000;

fn request(method: &str, uri: &str, key: &str) -> Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::Empty)
        .expect("request");
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
    );
    req
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    println!("heartbeat, {}", time::OffsetDateTime::now_utc().date());
    let f = HeartbeatFixture::new().await;
    let api = f.api();
    let create = routes(&api, &request("GET", "/heartbeat/bench?create=1", &f.key)).await;
    assert_eq!(create.status(), 200);
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let req = request("POST", "/heartbeat/bench", &f.key);
        let t = Instant::now();
        let resp = routes(&api, &req).await;
        let d = t.elapsed();
        assert_eq!(resp.status(), 200);
        if i >= WARMUP {
            times.push(d);
        }
    }
    times.sort();
    println!(
        "POST /heartbeat/{{check}} in-process against moto, {RUNS} runs after {WARMUP} warm-up: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 50),
        percentile(&times, 99)
    );

    let store = f.store();
    for i in 0..CHECKS {
        store
            .set_check(
                &format!("check-{i:04}"),
                &CheckSettings {
                    period_seconds: 300,
                    grace_seconds: 60,
                    ..CheckSettings::default()
                },
                1_795_000_000,
            )
            .await
            .expect("a check");
    }
    let checks = store.checks().await.expect("checks");
    let t = Instant::now();
    let mut size = 0;
    for _ in 0..20 {
        size = render(&checks, &[], "heartbeat", 1_795_939_200).len();
    }
    let rendering = t.elapsed() / 20;
    let mut routed = Vec::new();
    for _ in 0..10 {
        let req = request("GET", "/heartbeat/metrics", &f.key);
        let t = Instant::now();
        let resp = routes(&api, &req).await;
        routed.push(t.elapsed());
        assert_eq!(resp.status(), 200);
    }
    routed.sort();
    println!(
        "exposition of {} checks: rendering {:.2} ms ({} bytes); GET /heartbeat/metrics through the route against moto: p50 {:.0} ms",
        checks.len(),
        rendering.as_secs_f64() * 1000.0,
        size,
        percentile(&routed, 50)
    );
}
