//! `make bench-scale`: how the work grows with the data. Figures, not pass/fail.
//!
//! - a mapping pair of 100,000 metrics (1,000 resources × 100): parse + validate time, the
//!   memory it takes, and lookups next to the same lookups in the 4-metric demo pair;
//! - an accounting push of 10,000 metrics against the EOSC double answering after 20 ms, with
//!   the values from a real Prometheus and the push state in moto: wall time next to the ideal
//!   N × 20 ms / concurrency.

use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::accounting::push::Pusher;
use telltale::adapters::aws::accounting::AccountingTable;
use telltale::adapters::aws::dynamodb_client;
use telltale::adapters::prometheus::Prometheus;
use telltale::base::env::Secret;
use telltale::metrics::parse::{parse_metadata, parse_metrics};
use telltale_cli::tables;
use telltale_testkit::eosc::{AccountingApi, TokenEndpoint};
use telltale_testkit::prometheus::{demo_series, PrometheusServer};
use telltale_testkit::{moto::moto, repo_root, unique};

const RESOURCES: usize = 1_000;
const PER_RESOURCE: usize = 100;
const PUSHED: usize = 10_000;
const LATENCY: Duration = Duration::from_millis(20);
const CONCURRENCY: usize = 4;

/// The pair for `resources` × `PER_RESOURCE` metrics, every one accounted (EOSC ids) and
/// computed by `query`.
fn mapping_pair(resources: usize, query: &str) -> (Vec<u8>, Vec<u8>) {
    let mut metadata = Map::new();
    let mut metrics = Map::new();
    for r in 0..resources {
        let mut described = Map::new();
        let mut computed = Map::new();
        for m in 0..PER_RESOURCE {
            described.insert(
                format!("metric-{m:03}"),
                json!({"name": format!("Metric {m} of resource {r}"), "description": "A metric of the scale benchmark",
                       "unit": "things", "type": "STATE", "eoscMetricDefinitionId": format!("def-{r:04}-{m:03}")}),
            );
            computed.insert(format!("metric-{m:03}"), json!({"query": query}));
        }
        let rid = format!("resource-{r:04}");
        metadata.insert(
            rid.clone(),
            json!({"metrics": described, "eoscInstallationId": format!("inst-{r:04}")}),
        );
        metrics.insert(rid, Value::Object(computed));
    }
    (
        serde_json::to_vec(&metadata).expect("JSON"),
        serde_json::to_vec(&metrics).expect("JSON"),
    )
}

/// Bytes allocated and not yet freed, counted at the allocator: what a structure holds,
/// whatever the process's peak or the allocator's cached pages (which an RSS reading shows,
/// and which building the JSON above had already raised).
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only sizes are counted.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let p = unsafe { std::alloc::System.realloc(ptr, layout, new) };
        if !p.is_null() {
            LIVE.fetch_add(new, std::sync::atomic::Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Mean time of one metadata + one metrics lookup, over every metric of `ids` (repeated to
/// `rounds` lookups).
fn lookup_ns(
    metadata: &telltale::metrics::mappings::MetadataMappings,
    metrics: &telltale::metrics::mappings::MetricsMappings,
    ids: &[(String, String)],
    rounds: usize,
) -> f64 {
    let t = Instant::now();
    let mut found = 0usize;
    for i in 0..rounds {
        let (r, m) = &ids[(i * 7919) % ids.len()];
        if metadata.get(r).and_then(|res| res.metrics.get(m)).is_some()
            && metrics.get(r).and_then(|res| res.get(m)).is_some()
        {
            found += 1;
        }
    }
    assert_eq!(found, rounds, "every looked-up metric exists");
    t.elapsed().as_nanos() as f64 / rounds as f64
}

fn ids_of(metadata: &telltale::metrics::mappings::MetadataMappings) -> Vec<(String, String)> {
    metadata
        .iter()
        .flat_map(|(r, res)| res.metrics.keys().map(move |m| (r.clone(), m.clone())))
        .collect()
}

fn mappings() {
    let (metadata_json, metrics_json) =
        mapping_pair(RESOURCES, "sum(telltale_demo_deployed_probes)");
    let before = live_bytes();
    let t = Instant::now();
    let metadata = parse_metadata(&metadata_json).expect("valid metadata");
    let metrics = parse_metrics(&metrics_json).expect("valid metrics");
    let took = t.elapsed();
    let after = live_bytes();
    let big_ids = ids_of(&metadata);
    assert_eq!(big_ids.len(), RESOURCES * PER_RESOURCE);

    let demo = |name: &str| std::fs::read(repo_root().join("demo").join(name)).expect("demo");
    let small_metadata = parse_metadata(&demo("metadata_mappings.json")).expect("demo metadata");
    let small_metrics = parse_metrics(&demo("metrics_mappings.json")).expect("demo metrics");
    let small_ids: Vec<(String, String)> = ids_of(&small_metadata)
        .into_iter()
        .filter(|(r, m)| small_metrics.get(r).is_some_and(|x| x.contains_key(m)))
        .collect();
    let rounds = 1_000_000;
    let small = lookup_ns(&small_metadata, &small_metrics, &small_ids, rounds);
    let big = lookup_ns(&metadata, &metrics, &big_ids, rounds);
    println!(
        "mapping pair of {} metrics ({:.1} MB + {:.1} MB of JSON): parsed and validated in {:.0} ms; the parsed mappings hold {:.1} MiB (allocated and not freed)",
        big_ids.len(),
        metadata_json.len() as f64 / 1e6,
        metrics_json.len() as f64 / 1e6,
        took.as_secs_f64() * 1000.0,
        after.saturating_sub(before) as f64 / (1024.0 * 1024.0),
    );
    println!(
        "lookup (metadata + metrics of one metric): {small:.0} ns among {} metrics, {big:.0} ns among {} ({:.1}×; hash maps)",
        small_ids.len(),
        big_ids.len(),
        big / small
    );
}

async fn push() {
    let server = PrometheusServer::start(&demo_series());
    let sdk = moto().sdk_config().await;
    let dynamodb = dynamodb_client(&sdk);
    let table_name = unique("scale-accounting");
    tables::ensure_table(
        &dynamodb,
        telltale_cli::tables::Store::Accounting,
        &table_name,
    )
    .await
    .expect("table");
    let aai = TokenEndpoint::start("scale-client", "s3cret", "initial-refresh").await;
    let api = AccountingApi::start(&aai).await;
    api.set_latency(LATENCY);
    let config = AccountingConfig {
        base_url: api.url.clone(),
        token_url: aai.url.clone(),
        client_id: "scale-client".into(),
        client_secret: Secret::new("s3cret"),
        initial_refresh_token: Some(Secret::new("initial-refresh")),
        table: table_name.clone(),
        period_mode: PeriodMode::Cumulative,
        concurrency: CONCURRENCY,
        refresh_margin: Duration::from_secs(300),
        retry_base: Duration::from_millis(10),
        retries: 3,
    };
    let (metadata_json, metrics_json) =
        mapping_pair(PUSHED / PER_RESOURCE, "sum(telltale_demo_deployed_probes)");
    let metadata = parse_metadata(&metadata_json).expect("metadata");
    let metrics = parse_metrics(&metrics_json).expect("metrics");
    let http = reqwest::Client::new();
    let table = AccountingTable::new(dynamodb, &table_name);
    let prometheus = Prometheus::new(&server.url, Duration::from_secs(10));
    let end = time::OffsetDateTime::now_utc().unix_timestamp() - 120;
    let service = telltale::adapters::eosc::Eosc { http: http.clone() };
    let grant = telltale::adapters::eosc::Oidc::new(http, &config);
    let pusher = Pusher {
        service: &service,
        grant: &grant,
        config: &config,
        table: &table,
        prometheus: &prometheus,
        range_start: end - 3600,
    };
    let t = Instant::now();
    let summary = pusher.run(&metadata, &metrics, end).await;
    let took = t.elapsed();
    // What moto alone costs: it answers one DynamoDB request at a time, and a push makes four
    // per metric (the claim and the three outcome writes; the token is read once per run).
    let calls = 500u32;
    let m = Instant::now();
    for _ in 0..calls {
        table.token().await.expect("token read");
    }
    let per_call = m.elapsed() / calls;
    let ideal = LATENCY * PUSHED as u32 / CONCURRENCY as u32;
    println!(
        "accounting push of {PUSHED} metrics, EOSC answering after {} ms, concurrency {CONCURRENCY}: {:.1} s wall, ideal {:.1} s ({:.2}×); {} pushed, {} failed, {} skipped; the double received {}",
        LATENCY.as_millis(),
        took.as_secs_f64(),
        ideal.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
        summary.pushed.len(),
        summary.failed.len(),
        summary.skipped.len(),
        api.received().len(),
    );
    println!(
        "moto answers a DynamoDB read in {:.2} ms, one request at a time: an estimate of moto's share of that wall time, 4 requests per metric × {PUSHED} × that read time = {:.1} s (DynamoDB answers them concurrently)",
        per_call.as_secs_f64() * 1000.0,
        (per_call * 4 * PUSHED as u32).as_secs_f64(),
    );
}

#[tokio::main]
async fn main() {
    mappings();
    // `SCALE_ONLY=mappings` stops after the first figure (the push takes minutes).
    if std::env::var("SCALE_ONLY").as_deref() != Ok("mappings") {
        push().await;
    }
}
