//! The Metrics Acquisition API's rules through its routes on in-memory mapping files and
//! Prometheus: descriptions, values and their result rules, `#R#` ranges, times, the mapping
//! files' revalidation and rejection. What Prometheus itself answers is the service tier's.

use serde_json::{json, Value};
use std::time::Duration;
use telltale::http::metrics::{metadata_routes, value_routes, BuildInfo};
use telltale::metrics::config::MappingsConfig;
use telltale::metrics::ports::{Labels, QueryData};
use telltale::metrics::store::MappingStore;
use telltale_testkit::memory::{request, Answer, MemoryMappings, MemoryPrometheus};

const INFO: BuildInfo = BuildInfo {
    function: "metric-metadata",
    version: "test",
};
const RANGE_START: i64 = 1_609_459_200;
const T: i64 = 1_795_219_200;

fn metadata() -> Value {
    json!({
        "argo": {"metrics": {
            "deployed": {"name": "Deployed probes", "description": "Probes in production", "unit": "probes", "type": "STATE"},
            "requests": {"name": "Requests", "type": "EVENT"}
        }},
        "other": {"metrics": {"x": {"name": "X"}}}
    })
}

fn metrics(extra: &[(&str, &str)]) -> Value {
    let mut m = json!({"argo": {
        "deployed": {"query": "sum(probes_deployed)"},
        "requests": {"query": "increase(requests_total[#R#])"}
    }});
    for (id, q) in extra {
        m["argo"][*id] = json!({"query": q});
    }
    m
}

fn store_of(files: &MemoryMappings, revalidate: Duration) -> MappingStore {
    let mut config = MappingsConfig::for_bucket("memory");
    config.revalidate_after = revalidate;
    MappingStore::new(files.clone(), config)
}

fn files(extra: &[(&str, &str)]) -> MemoryMappings {
    let f = MemoryMappings::default();
    f.put("metadata_mappings.json", metadata().to_string());
    f.put("metrics_mappings.json", metrics(extra).to_string());
    f
}

async fn meta(store: &MappingStore, uri: &str) -> Answer {
    let resp = metadata_routes(store, &INFO, &request("GET", uri, &[], None)).await;
    answer(resp)
}

fn answer(resp: lambda_http::Response<lambda_http::Body>) -> Answer {
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: serde_json::from_slice(resp.body().as_ref()).unwrap(),
    }
}

async fn value(store: &MappingStore, p: &MemoryPrometheus, uri: &str) -> Answer {
    answer(value_routes(store, p, RANGE_START, &request("GET", uri, &[], None)).await)
}

#[tokio::test]
async fn resources_and_metrics_are_described_from_the_metadata_file() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let a = meta(&store, "/ids/resources").await;
    assert_eq!(
        (a.status, a.body.clone()),
        (200, json!({"items": ["argo", "other"]}))
    );
    let a = meta(&store, "/ids/metrics/argo").await;
    assert_eq!(a.body["items"], json!(["deployed", "requests"]));
    let a = meta(&store, "/metrics/argo/deployed").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["name"], "Deployed probes");
    assert_eq!(meta(&store, "/metrics/argo").await.status, 200);
}

#[tokio::test]
async fn unknown_ids_and_paths_are_404s_in_springs_shape() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    for uri in [
        "/metrics/nope",
        "/metrics/argo/nope",
        "/ids/metrics/nope",
        "/elsewhere",
    ] {
        let a = meta(&store, uri).await;
        assert_eq!(a.status, 404, "{uri}");
        assert_eq!(a.body["status"], 404);
        assert_eq!(a.body["error"], "Not Found");
        assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(a.body["path"], uri);
    }
    let resp = metadata_routes(&store, &INFO, &request("POST", "/ids/resources", &[], None)).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET");
}

#[tokio::test]
async fn health_and_info_say_what_is_loaded() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let a = meta(&store, "/-/health").await;
    assert_eq!((a.status, a.body["status"].clone()), (200, json!("UP")));
    assert!(
        !a.body.to_string().contains("memory://"),
        "the bucket is not shown"
    );
    let a = meta(&store, "/-/info").await;
    assert_eq!(
        a.body,
        json!({"name": "telltale", "function": "metric-metadata", "version": "test"})
    );
    let empty = store_of(&MemoryMappings::default(), Duration::from_secs(60));
    let a = meta(&empty, "/-/health").await;
    assert_eq!((a.status, a.body["status"].clone()), (503, json!("DOWN")));
}

#[tokio::test]
async fn a_value_is_what_its_query_answers_at_the_time_asked() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let p = MemoryPrometheus::default().with("sum(probes_deployed)", 15.0);
    let a = value(
        &store,
        &p,
        &format!("/metrics/argo/deployed/value?time={T}"),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body,
        json!({"resourceId": "argo", "metricId": "deployed", "value": 15.0, "time": T})
    );
    assert_eq!(p.asked(), vec![("sum(probes_deployed)".to_string(), T)]);
}

#[tokio::test]
async fn range_tokens_become_the_seconds_since_the_range_start() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let seconds = T - RANGE_START;
    let promql = format!("increase(requests_total[{seconds}s])");
    let p = MemoryPrometheus::default().with(&promql, 42.0);
    let a = value(
        &store,
        &p,
        &format!("/metrics/argo/requests/value?time={T}"),
    )
    .await;
    assert_eq!(
        (a.status, a.body["value"].clone()),
        (200, json!(42.0)),
        "{:?}",
        p.asked()
    );
    let a = value(
        &store,
        &p,
        &format!("/metrics/argo/requests/value?time={RANGE_START}"),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.detail().contains("the #R# range is not positive"),
        "{:?}",
        a.body
    );
}

#[tokio::test]
async fn the_result_rules_of_the_spec() {
    let extra = [
        ("absent", "absent_series"),
        ("several", "several"),
        ("nan", "nan"),
        ("scalar", "scalar(x)"),
    ];
    let store = store_of(&files(&extra), Duration::from_secs(60));
    let labels = |v: &str| Labels::from([("a".to_string(), v.to_string())]);
    let p = MemoryPrometheus::default()
        .answer(
            "several",
            QueryData::Vector(vec![(labels("1"), 1.0), (labels("2"), 2.0)]),
        )
        .answer("nan", QueryData::Vector(vec![(labels("1"), f64::NAN)]))
        .answer("scalar(x)", QueryData::Scalar(2.5));
    let t = format!("?time={T}");
    let cases = [
        ("absent", 404, "no data"),
        (
            "several",
            500,
            "mapping entry argo/several: the query returned 2 series",
        ),
        ("nan", 500, "mapping entry argo/nan: the value is NaN"),
        (
            "unknown",
            404,
            "unknown metric 'unknown' of resource 'argo'",
        ),
    ];
    for (metric, status, message) in cases {
        let a = value(&store, &p, &format!("/metrics/argo/{metric}/value{t}")).await;
        assert_eq!(a.status, status, "{metric}: {:?}", a.body);
        assert!(a.detail().contains(message), "{metric}: {:?}", a.body);
    }
    let a = value(&store, &p, &format!("/metrics/argo/scalar/value{t}")).await;
    assert_eq!(a.body["value"], 2.5);
}

#[tokio::test]
async fn times_a_caller_may_not_ask_for_are_400s() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let p = MemoryPrometheus::default().with("sum(probes_deployed)", 1.0);
    for t in [
        "1.5",
        "soon",
        "-9223372036854775808",
        "-1",
        "4102444801",
        "253402300800",
    ] {
        let a = value(
            &store,
            &p,
            &format!("/metrics/argo/deployed/value?time={t}"),
        )
        .await;
        assert_eq!(a.status, 400, "{t}: {:?}", a.body);
    }
    let a = value(&store, &p, "/metrics/argo/deployed/value?time=1&time=2").await;
    assert_eq!(a.status, 400, "a doubled time is refused: {:?}", a.body);
    assert!(p.asked().is_empty(), "no query was sent for any of them");
}

#[tokio::test]
async fn a_prometheus_that_is_down_is_a_503_naming_it_without_its_query() {
    let store = store_of(&files(&[]), Duration::from_secs(60));
    let p = MemoryPrometheus::default();
    *p.down.lock().unwrap() = true;
    let a = value(&store, &p, "/metrics/argo/deployed/value").await;
    assert_eq!(a.status, 503);
    assert!(a.detail().contains("Prometheus"), "{:?}", a.body);
    assert!(!a.body.to_string().contains("probes_deployed"));
}

#[tokio::test]
async fn computations_combine_queries_and_arithmetic() {
    let extra = [("both", "#query('sum(a)') + query('sum(b)') * 2")];
    let store = store_of(&files(&extra), Duration::from_secs(60));
    let p = MemoryPrometheus::default()
        .with("sum(a)", 1.0)
        .with("sum(b)", 4.0);
    let a = value(&store, &p, &format!("/metrics/argo/both/value?time={T}")).await;
    assert_eq!(
        (a.status, a.body["value"].clone()),
        (200, json!(9.0)),
        "{:?}",
        a.body
    );
}

#[tokio::test]
async fn an_update_is_picked_up_and_unchanged_files_are_not_read_again() {
    let f = files(&[]);
    let store = store_of(&f, Duration::ZERO);
    assert_eq!(
        meta(&store, "/ids/resources").await.body["items"],
        json!(["argo", "other"])
    );
    let reads = f.reads();
    meta(&store, "/ids/resources").await;
    assert_eq!(f.reads(), reads, "an unchanged ETag sends no body");
    let mut m = metadata();
    m["third"] = json!({"metrics": {}});
    f.put("metadata_mappings.json", m.to_string());
    assert_eq!(
        meta(&store, "/ids/resources").await.body["items"],
        json!(["argo", "other", "third"])
    );
}

#[tokio::test]
async fn an_invalid_upload_is_ignored_and_the_old_version_keeps_serving() {
    let f = files(&[]);
    let store = store_of(&f, Duration::ZERO);
    meta(&store, "/ids/resources").await;
    f.put(
        "metrics_mappings.json",
        json!({"argo": {"x": {"query": "sum(("}}}).to_string(),
    );
    let p = MemoryPrometheus::default().with("sum(probes_deployed)", 3.0);
    let a = value(&store, &p, "/metrics/argo/deployed/value").await;
    assert_eq!((a.status, a.body["value"].clone()), (200, json!(3.0)));
    let health = meta(&store, "/-/health").await;
    assert_eq!(health.body["status"], "UP");
    assert_eq!(health.body["mappings"]["metrics"]["validationErrors"], 1);
    assert!(health.body["mappings"]["metrics"]["lastError"]
        .as_str()
        .unwrap()
        .contains("rejected"));
}

#[tokio::test]
async fn mapping_files_that_cannot_be_read_are_a_503_naming_the_mappings() {
    let f = files(&[]);
    *f.down.lock().unwrap() = true;
    let store = store_of(&f, Duration::ZERO);
    let a = meta(&store, "/ids/resources").await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(
        a.detail().to_lowercase().contains("mapping"),
        "{:?}",
        a.body
    );
}

/// A mapping source that never answers while `hung`, then answers as `files` does.
struct Hanging {
    files: MemoryMappings,
    hung: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl telltale::metrics::ports::MappingSource for Hanging {
    fn place(&self) -> &str {
        "memory://hanging"
    }

    fn fetch<'a>(
        &'a self,
        key: &'a str,
        etag: Option<&'a str>,
    ) -> futures::future::BoxFuture<
        'a,
        std::result::Result<telltale::metrics::ports::Fetched, String>,
    > {
        if self.hung.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(std::future::pending());
        }
        self.files.fetch(key, etag)
    }
}

/// The cold start's prefetch gives up at its budget when S3 hangs (Lambda's init phase is
/// limited), and the first request after S3 is back loads the mappings.
#[tokio::test(start_paused = true)]
async fn a_hung_prefetch_gives_up_at_its_budget_and_the_first_request_loads_the_mappings() {
    let hung = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let source = Hanging {
        files: files(&[]),
        hung: hung.clone(),
    };
    let store = MappingStore::new(source, MappingsConfig::for_bucket("memory"));
    let started = tokio::time::Instant::now();
    store.prefetch(Duration::from_secs(3)).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "gave up at its budget"
    );
    hung.store(false, std::sync::atomic::Ordering::SeqCst);
    let a = meta(&store, "/metrics/argo").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}
