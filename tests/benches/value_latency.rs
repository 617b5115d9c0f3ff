//! `make bench`: the value route's latency next to a direct query to the same Prometheus, in
//! one run, and the ratio. Not a test: it prints figures and asserts nothing about speed.
//!
//! Three paths are timed, interleaved, for the same metric and time:
//! - direct: one HTTP GET of the instant query to Prometheus (the floor);
//! - handler: the `metric-value` handler called in-process (mapping view, `#R#`, the
//!   Prometheus call, JSON), which is what the function adds in Lambda;
//! - watch: the full local HTTP path through `cargo lambda watch --release` (its router and
//!   runtime emulator included, so an upper bound).

use lambda_http::{Body, Request};
use std::time::{Duration, Instant};
use telltale::adapters::aws::s3_client;
use telltale::adapters::prometheus::Prometheus;
use telltale::http::metrics::value_routes;
use telltale::metrics::config::{MappingsConfig, DEFAULT_RANGE_START};
use telltale_testkit::prometheus::{demo_series, PrometheusServer};
use telltale_testkit::{moto::moto, watch::Watch};

const WARMUP: usize = 20;
const RUNS: usize = 300;

fn summary(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let mean = d.iter().map(|x| ms(*x)).sum::<f64>() / d.len() as f64;
    (ms(d[d.len() / 2]), ms(d[d.len() * 95 / 100]), mean)
}

#[tokio::main]
async fn main() {
    let server = PrometheusServer::start(&demo_series());
    let s3 = s3_client(&moto().sdk_config().await);
    let bucket = moto().demo_mappings_bucket("bench").await;
    let store =
        telltale::adapters::aws::s3::mapping_store(s3, MappingsConfig::for_bucket(bucket.clone()));
    let prometheus = Prometheus::new(&server.url, Duration::from_secs(10));
    let time = time::OffsetDateTime::now_utc().unix_timestamp() - 120;
    let metric = "argo-monitoring/probe-submissions";
    let promql = format!(
        "increase(telltale_demo_submissions_total[{}s])",
        time - DEFAULT_RANGE_START
    );
    let path = format!("/metrics/{metric}/value?time={time}");

    let mut env = moto().env();
    env.extend([
        ("MAPPINGS_BUCKET".to_string(), bucket),
        ("PROMETHEUS_URL".to_string(), server.url.clone()),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ]);
    eprintln!("building metric-value in release mode under cargo lambda watch (first run takes minutes)...");
    let watch = Watch::start_with(&env, true);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .expect("client");
    let direct_url = format!("{}/api/v1/query", server.url);
    let watch_url = format!("{}{path}", watch.base_url);

    let (mut direct, mut handler, mut via_watch) = (Vec::new(), Vec::new(), Vec::new());
    let mut values = (0.0, 0.0, 0.0);
    for i in 0..WARMUP + RUNS {
        let t = Instant::now();
        let body: serde_json::Value = http
            .get(&direct_url)
            .query(&[("query", promql.as_str()), ("time", &time.to_string())])
            .send()
            .await
            .expect("direct query")
            .json()
            .await
            .expect("JSON");
        let d = t.elapsed();
        values.0 = body["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap_or("NaN")
            .parse()
            .unwrap_or(f64::NAN);

        let req: Request = lambda_http::http::Request::builder()
            .uri(&path)
            .body(Body::Empty)
            .expect("request");
        let t = Instant::now();
        let resp = value_routes(&store, &prometheus, DEFAULT_RANGE_START, &req).await;
        let h = t.elapsed();
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).expect("JSON");
        values.1 = body["value"].as_f64().unwrap_or(f64::NAN);

        let t = Instant::now();
        let body: serde_json::Value = http
            .get(&watch_url)
            .send()
            .await
            .expect("watch")
            .json()
            .await
            .expect("JSON");
        let w = t.elapsed();
        values.2 = body["value"].as_f64().unwrap_or(f64::NAN);

        if i >= WARMUP {
            direct.push(d);
            handler.push(h);
            via_watch.push(w);
        }
    }
    assert!(
        values.0 == values.1 && values.1 == values.2,
        "the three paths disagree: {values:?}"
    );

    let floor = summary(direct.clone());
    println!(
        "value route latency, {RUNS} runs each (after {WARMUP} warm-up), metric {metric}, value {}",
        values.0
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>11}",
        "path", "p50 ms", "p95 ms", "mean ms", "p50 ratio"
    );
    for (name, d) in [
        ("direct Prometheus query (floor)", direct),
        ("metric-value handler, in-process", handler),
        ("GET through cargo lambda watch --release", via_watch),
    ] {
        let (p50, p95, mean) = summary(d);
        println!(
            "{name:<44} {p50:>9.3} {p95:>9.3} {mean:>9.3} {:>10.2}x",
            p50 / floor.0
        );
    }
}
