//! `GET /metrics/{r}/{m}/value` against a real Prometheus with backfilled series and mapping
//! files in moto's S3. Expected values come from Prometheus itself or are computed by hand
//! from the constructed series below.

use lambda_http::{Body, Request};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;
use telltale::adapters::aws::s3_client;
use telltale::adapters::prometheus::Prometheus;
use telltale::http::metrics::value_routes;
use telltale::metrics::config::MappingsConfig;
use telltale::metrics::store::MappingStore;
use telltale_cli::tables;
use telltale_testkit::prometheus::prometheus;
use telltale_testkit::{moto::moto, unique};

const STEP: i64 = 60;

/// Where the series begin: three hours ago, on a whole minute, the same for the whole run.
fn start() -> i64 {
    static START: OnceLock<i64> = OnceLock::new();
    *START.get_or_init(|| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        (now - 3 * 3600) / STEP * STEP
    })
}

fn at(k: i64) -> i64 {
    start() + STEP * k
}

/// The stamp series for sumPeriods, by sample index: period 100 starts at k=0, 101 at k=3,
/// 100 comes back at k=6 (not a new period), 102 starts at k=8, 103 at k=11.
fn stamp(k: i64) -> i64 {
    match k {
        0..=2 => 100,
        3..=5 => 101,
        6..=7 => 100,
        8..=10 => 102,
        _ => 103,
    }
}

/// The counts series: 1000 + k, except that no count was scraped at k=8.
fn count(k: i64) -> Option<i64> {
    (k != 8).then_some(1000 + k)
}

fn dataset() -> String {
    let mut out = String::new();
    let mut family = |name: &str, samples: Vec<(String, i64, String)>| {
        out.push_str(&format!("# TYPE {name} gauge\n"));
        for (labels, t, v) in samples {
            out.push_str(&format!("{name}{labels} {v} {t}\n"));
        }
    };
    let ks = || 0..=150i64;
    family(
        "tt_requests_total",
        ks().map(|k| (String::new(), at(k), (10 * k).to_string()))
            .collect(),
    );
    family(
        "tt_queue_depth",
        ks().map(|k| ("{queue=\"a\"}".to_string(), at(k), "3".to_string()))
            .chain(ks().map(|k| ("{queue=\"b\"}".to_string(), at(k), "4".to_string())))
            .collect(),
    );
    family(
        "tt_ratio",
        ks().map(|k| (String::new(), at(k), "0.5".to_string()))
            .collect(),
    );
    family(
        "tt_nan",
        ks().map(|k| (String::new(), at(k), "NaN".to_string()))
            .collect(),
    );
    family(
        "tt_stamps",
        (0..15)
            .map(|k| (String::new(), at(k), stamp(k).to_string()))
            .collect(),
    );
    family(
        "tt_counts",
        (0..15)
            .filter_map(|k| count(k).map(|c| (String::new(), at(k), c.to_string())))
            .collect(),
    );
    out.push_str("# EOF\n");
    out
}

struct Fixture {
    store: MappingStore,
    prometheus: Prometheus,
    range_start: i64,
}

/// A mapping store whose metrics file has one resource `r` with the given queries.
async fn fixture(queries: &[(&str, String)]) -> Fixture {
    let server = prometheus(dataset);
    let s3 = s3_client(&moto().sdk_config().await);
    let bucket = unique("values");
    tables::ensure_bucket(&s3, &bucket).await.unwrap();
    let metrics: serde_json::Map<String, Value> = queries
        .iter()
        .map(|(m, q)| (m.to_string(), json!({"query": q})))
        .collect();
    let metadata: serde_json::Map<String, Value> = queries
        .iter()
        .map(|(m, _)| (m.to_string(), json!({"name": m})))
        .collect();
    for (key, body) in [
        ("metadata_mappings.json", json!({"r": metadata})),
        ("metrics_mappings.json", json!({"r": metrics})),
    ] {
        tables::put_object(&s3, &bucket, key, body.to_string().into_bytes())
            .await
            .unwrap();
    }
    let store = telltale::adapters::aws::s3::mapping_store(s3, MappingsConfig::for_bucket(bucket));
    let view = store.view().await;
    view.metrics().expect("the test's mapping file is valid");
    Fixture {
        store,
        prometheus: Prometheus::new(&server.url, Duration::from_secs(5)),
        range_start: start() - 30,
    }
}

async fn value(f: &Fixture, metric: &str, query: &str) -> (u16, Value) {
    let req: Request = lambda_http::http::Request::builder()
        .uri(format!("/metrics/r/{metric}/value{query}"))
        .body(Body::Empty)
        .unwrap();
    let resp = value_routes(&f.store, &f.prometheus, f.range_start, &req).await;
    (
        resp.status().as_u16(),
        serde_json::from_slice(resp.body().as_ref()).unwrap(),
    )
}

/// What Prometheus itself answers for `promql` at `time`.
async fn direct(promql: &str, time: i64) -> f64 {
    prometheus(dataset).value(promql, time).await
}

#[tokio::test]
async fn plain_queries_and_ranges_equal_what_prometheus_returns() {
    let f = fixture(&[
        ("depth", "sum(tt_queue_depth)".into()),
        ("scaled", "tt_ratio * 4".into()),
        ("scalar", "scalar(sum(tt_queue_depth))".into()),
        ("increase", "increase(tt_requests_total[#R#])".into()),
        ("rate", "rate(tt_requests_total[10m]) * 60".into()),
    ])
    .await;
    let t = at(100);
    for (metric, promql) in [
        ("depth", "sum(tt_queue_depth)".to_string()),
        ("scaled", "tt_ratio * 4".to_string()),
        ("scalar", "scalar(sum(tt_queue_depth))".to_string()),
        (
            "increase",
            format!("increase(tt_requests_total[{}s])", t - f.range_start),
        ),
        ("rate", "rate(tt_requests_total[10m]) * 60".to_string()),
    ] {
        let (status, body) = value(&f, metric, &format!("?time={t}")).await;
        assert_eq!(status, 200, "{metric}: {body}");
        let expected = direct(&promql, t).await;
        assert_eq!(
            body,
            json!({"resourceId": "r", "metricId": metric, "value": expected, "time": t}),
            "{metric}"
        );
    }
    // By construction: 3 + 4, and 10 per minute.
    assert_eq!(
        value(&f, "depth", &format!("?time={t}")).await.1["value"],
        7.0
    );
    let rate = value(&f, "rate", &format!("?time={t}")).await.1["value"]
        .as_f64()
        .unwrap();
    assert!((rate - 10.0).abs() < 1e-9, "{rate}");
}

#[tokio::test]
async fn the_time_parameter_is_honoured() {
    let f = fixture(&[
        ("requests", "tt_requests_total".into()),
        ("constant", "vector(3)".into()),
    ])
    .await;
    for k in [5, 42, 150] {
        let (status, body) = value(&f, "requests", &format!("?time={}", at(k))).await;
        assert_eq!(
            (status, body["value"].as_f64(), body["time"].as_i64()),
            (200, Some(10.0 * k as f64), Some(at(k)))
        );
    }
    // Without `time` the value is taken now: the answer's time is the request's, and the
    // series, which ended 30 minutes ago, has no sample then.
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let (status, body) = value(&f, "constant", "").await;
    let after = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!((status, body["value"].as_f64()), (200, Some(3.0)), "{body}");
    let t = body["time"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&t),
        "{t} not in {before}..={after}"
    );
    let (status, body) = value(&f, "requests", "").await;
    assert_eq!((status, body["message"].as_str()), (404, Some("no data")));
    let (status, body) = value(&f, "requests", "?time=soon").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "time must be an integer number of unix seconds, not 'soon'"
    );
}

#[tokio::test]
async fn every_row_of_the_error_table() {
    let f = fixture(&[
        ("ok", "sum(tt_queue_depth)".into()),
        ("range", "increase(tt_requests_total[#R#])".into()),
        ("absent", "tt_absent_series".into()),
        ("several", "tt_queue_depth".into()),
        ("matrix", "tt_ratio[5m]".into()),
        ("nan", "tt_nan".into()),
        ("inf", "tt_ratio / 0".into()),
        ("bad", "tt_queue_depth + on() tt_queue_depth".into()),
    ])
    .await;
    let t = format!("?time={}", at(100));
    let expect = |status: u16, body: &Value, code: u16, message: &str| {
        assert_eq!(status, code, "{body}");
        assert_eq!(body["status"], code);
        let got = body["message"].as_str().unwrap();
        assert!(got.contains(message), "{got:?} should contain {message:?}");
    };
    let (s, b) = value(&f, "unknown", &t).await;
    expect(s, &b, 404, "unknown metric 'unknown' of resource 'r'");
    let req: Request = lambda_http::http::Request::builder()
        .uri(format!("/metrics/nope/ok/value{t}"))
        .body(Body::Empty)
        .unwrap();
    let resp = value_routes(&f.store, &f.prometheus, f.range_start, &req).await;
    assert_eq!(resp.status(), 404);
    let (s, b) = value(&f, "ok", "?time=1.5").await;
    expect(s, &b, 400, "time must be an integer");
    let (s, b) = value(&f, "range", &format!("?time={}", f.range_start)).await;
    expect(s, &b, 400, "the #R# range is not positive");
    let (s, b) = value(&f, "absent", &t).await;
    expect(s, &b, 404, "no data");
    let (s, b) = value(&f, "several", &t).await;
    expect(
        s,
        &b,
        500,
        "mapping entry r/several: the query returned 2 series",
    );
    let (s, b) = value(&f, "matrix", &t).await;
    expect(
        s,
        &b,
        500,
        "mapping entry r/matrix: the query returned a range vector",
    );
    let (s, b) = value(&f, "nan", &t).await;
    expect(s, &b, 500, "mapping entry r/nan: the value is NaN");
    let (s, b) = value(&f, "inf", &t).await;
    expect(s, &b, 500, "mapping entry r/inf: the value is inf");
    let (s, b) = value(&f, "bad", &t).await;
    expect(s, &b, 502, "Prometheus answered with an error: execution: ");
    expect(s, &b, 502, "many-to-many matching not allowed");
    assert!(
        !b.to_string().contains("on()"),
        "Prometheus' error is passed on without the query: {b}"
    );

    // Prometheus stopped: nothing listens on its port.
    let stopped = Fixture {
        prometheus: Prometheus::new(
            &format!("http://127.0.0.1:{}", telltale_testkit::watch::free_port()),
            Duration::from_secs(2),
        ),
        ..f
    };
    let (s, b) = value(&stopped, "ok", &t).await;
    expect(s, &b, 503, "Prometheus unavailable");
    let leaked = |b: &Value| {
        let text = b.to_string();
        text.contains("127.0.0.1") || text.contains("http://") || text.contains("tt_queue_depth")
    };
    assert!(
        !leaked(&b),
        "the answer names the dependency, not its URL or query: {b}"
    );
    // Prometheus hanging: it accepts the connection and never answers.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow = Fixture {
        prometheus: Prometheus::new(
            &format!("http://{}", hanging.local_addr().unwrap()),
            Duration::from_millis(500),
        ),
        ..stopped
    };
    let (s, b) = value(&slow, "ok", &t).await;
    expect(s, &b, 503, "timed out");
    assert!(!leaked(&b), "{b}");

    // Mappings not loadable at all.
    let unloadable = Fixture {
        store: telltale::adapters::aws::s3::mapping_store(
            s3_client(&moto().sdk_config().await),
            MappingsConfig {
                bucket: unique("absent"),
                metadata_key: "metadata_mappings.json".into(),
                metrics_key: "metrics_mappings.json".into(),
                revalidate_after: Duration::from_secs(60),
            },
        ),
        ..slow
    };
    let (s, b) = value(&unloadable, "ok", &t).await;
    expect(s, &b, 503, "mapping files unavailable");
}

#[tokio::test]
async fn sum_periods_sums_the_count_at_each_new_stamp() {
    let from = start() - 30;
    let f = fixture(&[
        (
            "periods",
            format!("#sumPeriods('tt_counts', 'tt_stamps', {from})"),
        ),
        (
            "late",
            format!("#sumPeriods('tt_counts', 'tt_stamps', {})", at(200)),
        ),
    ])
    .await;
    let t = at(14) + 30;
    // By hand: walk the stamps in time order, keep the first time each value appears
    // (k = 0, 3, 8, 11; 100 recurs at k = 6 and is not new), and add the counts there
    // (none was scraped at k = 8).
    let mut seen = Vec::new();
    let mut expected = 0;
    for k in 0..15 {
        if !seen.contains(&stamp(k)) {
            seen.push(stamp(k));
            expected += count(k).unwrap_or(0);
        }
    }
    assert_eq!(expected, 1000 + 1003 + 1011);
    let (status, body) = value(&f, "periods", &format!("?time={t}")).await;
    assert_eq!(
        (status, body["value"].as_f64()),
        (200, Some(expected as f64)),
        "{body}"
    );

    // Only what lies in [from, t] counts: at k = 5, periods 100 and 101 have started.
    let (_, body) = value(&f, "periods", &format!("?time={}", at(5))).await;
    assert_eq!(body["value"].as_f64(), Some((1000 + 1003) as f64));

    let (status, body) = value(&f, "late", &format!("?time={t}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("is not before the query time"));
}

#[tokio::test]
async fn computations_combine_queries_and_arithmetic() {
    let f = fixture(&[
        (
            "combined",
            "#(query('sum(tt_queue_depth)') + query('tt_ratio')) * 2".into(),
        ),
        (
            "ranged",
            "#query('increase(tt_requests_total[#R#])') / 10 - 1".into(),
        ),
        (
            "divzero",
            "#query('tt_ratio') / (query('tt_ratio') - 0.5)".into(),
        ),
    ])
    .await;
    let t = at(100);
    let (status, body) = value(&f, "combined", &format!("?time={t}")).await;
    assert_eq!(
        (status, body["value"].as_f64()),
        (200, Some((7.0 + 0.5) * 2.0))
    );
    let increase = direct(
        &format!("increase(tt_requests_total[{}s])", t - f.range_start),
        t,
    )
    .await;
    let (status, body) = value(&f, "ranged", &format!("?time={t}")).await;
    assert_eq!(
        (status, body["value"].as_f64()),
        (200, Some(increase / 10.0 - 1.0))
    );
    let (status, body) = value(&f, "divzero", &format!("?time={t}")).await;
    assert_eq!(status, 500, "{body}");
}

#[tokio::test]
async fn a_bad_computation_rejects_the_mapping_version() {
    for (query, message) in [
        ("#nope('x')", "unknown function 'nope'"),
        (
            "#sumPeriods('a', 'b')",
            "sumPeriods takes 3 argument(s), not 2",
        ),
        ("#query(42)", "argument 1 of query must be a string"),
        ("#query('up') +", "syntax error at line 1, column 14"),
    ] {
        let body = json!({"r": {"m": {"query": query}}}).to_string();
        let problems = telltale::metrics::parse::parse_metrics(body.as_bytes()).unwrap_err();
        assert_eq!(problems[0].path(), "$.r.m.query");
        assert!(
            problems[0].message.contains(message),
            "{query}: {}",
            problems[0].message
        );
    }
}

#[tokio::test]
async fn times_outside_what_prometheus_can_answer_are_the_callers_400() {
    let f = fixture(&[
        ("ok", "sum(tt_queue_depth)".into()),
        ("range", "increase(tt_requests_total[#R#])".into()),
    ])
    .await;
    // The smallest integers once overflowed the #R# range (a panic); the largest, and years
    // past 2099, went to Prometheus and came back as its 502.
    for time in [
        "-9223372036854775808",
        "-9223372036854775807",
        "-1",
        "9223372036854775807",
        "253402300800",
        "8210298412800",
        "4102444801",
    ] {
        for metric in ["ok", "range"] {
            let (s, b) = value(&f, metric, &format!("?time={time}")).await;
            assert_eq!(s, 400, "time={time} {metric}: {b}");
            let message = b["message"].as_str().unwrap();
            assert!(
                message.contains("time must be between 0 and 4102444800"),
                "{message}"
            );
        }
    }
    // The bounds themselves are answered.
    let (s, b) = value(&f, "ok", &format!("?time={}", at(100))).await;
    assert_eq!((s, b["value"].as_f64()), (200, Some(7.0)), "{b}");
    let (s, _) = value(&f, "ok", "?time=4102444800").await;
    assert_ne!(s, 400);
}

#[tokio::test]
async fn a_404_echoes_a_bounded_part_of_the_path() {
    let f = fixture(&[("ok", "sum(tt_queue_depth)".into())]).await;
    let long = "x".repeat(60_000);
    for uri in [
        format!("/metrics/{long}/ok/value"),
        format!("/metrics/r/{long}/value"),
        format!("/{long}"),
    ] {
        let req: Request = lambda_http::http::Request::builder()
            .uri(&uri)
            .body(Body::Empty)
            .unwrap();
        let resp = value_routes(&f.store, &f.prometheus, f.range_start, &req).await;
        assert_eq!(resp.status(), 404);
        assert!(
            resp.body().len() < 1024,
            "a 404 for a 60,000-character path is {} bytes",
            resp.body().len()
        );
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(body["status"], 404, "{body}");
    }
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_a_502_naming_the_limit() {
    let f = fixture(&[("several", "tt_queue_depth".into())]).await;
    let t = format!("?time={}", at(100));
    let (s, _) = value(&f, "several", &t).await;
    assert_eq!(
        s, 500,
        "the uncapped answer is read (two series: the mapping's error)"
    );
    let capped = Fixture {
        prometheus: f.prometheus.clone().with_max_response_bytes(64),
        ..f
    };
    let (s, b) = value(&capped, "several", &t).await;
    assert_eq!(s, 502, "{b}");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains("larger than") && message.contains("64 bytes"),
        "{message}"
    );
}

#[tokio::test]
async fn a_hung_prometheus_is_a_503_before_the_invocations_deadline() {
    use lambda_http::RequestExt;
    let f = fixture(&[("ok", "sum(tt_queue_depth)".into())]).await;
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // Prometheus' own timeout (30 s) is longer than what the invocation has left (2 s).
    let slow = Fixture {
        prometheus: Prometheus::new(
            &format!("http://{}", hanging.local_addr().unwrap()),
            Duration::from_secs(30),
        ),
        ..f
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = lambda_http::Context::default();
    context.deadline = now_ms + 2_000;
    let req: Request = lambda_http::http::Request::builder()
        .uri(format!("/metrics/r/ok/value?time={}", at(100)))
        .body(Body::Empty)
        .unwrap();
    let req = req.with_lambda_context(context);
    let started = std::time::Instant::now();
    let resp = value_routes(&slow.store, &slow.prometheus, slow.range_start, &req).await;
    let took = started.elapsed();
    assert_eq!(resp.status(), 503);
    assert!(
        took < Duration::from_millis(2_000),
        "answered after the deadline: {took:?}"
    );
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("timed out"),
        "{body}"
    );
}
