//! `make bench` (collectors part): figures, not pass/fail.
//!
//! - line-protocol encoding throughput (points/s, MB/s), in-process;
//! - `probe_pipeline` over 10,000 candidates in moto's DynamoDB: wall time, DynamoDB calls
//!   and bytes read (counted by an SDK interceptor);
//! - writing 50,000 points to a real InfluxDB 1.6: wall time and requests;
//! - the declared `autopkgtest_queue` over a 5 MB `queues.json` (served on loopback): wall
//!   time, points/s and peak memory of a process that does only that, next to the `jq`
//!   command line running the same program on the same file.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use telltale::adapters::aws::{dynamodb_client, probes::ProbeTable};
use telltale::collectors::builtin::find;
use telltale::collectors::line::{encode, Precision};
use telltale::collectors::point::Point;
use telltale::collectors::run::collect;
use telltale::collectors::sources::Sources;
use telltale::probes::model::{Candidate, Status};
use telltale::probes::validate::Submission;
use telltale_testkit::collectors::Stack;
use telltale_testkit::influx::influx;
use telltale_testkit::moto::moto;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

const CANDIDATES: usize = 10_000;
const POINTS: usize = 50_000;

/// Counts requests and response bytes of one SDK client.
#[derive(Debug, Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "bench-counter"
    }

    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(resp) = ctx.response() {
            let len = resp.body().bytes().map(<[u8]>::len).or_else(|| {
                resp.headers()
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
            });
            self.bytes.fetch_add(len.unwrap_or(0), Ordering::Relaxed);
        }
        Ok(())
    }
}

fn sample_points(n: usize) -> Vec<Point> {
    let t = time::OffsetDateTime::now_utc();
    (0..n)
        .map(|i| {
            Point::new("mas_metric_value")
                .tag("resource", format!("resource-{}", i % 50))
                .tag("metric", format!("metric {}", i % 20))
                .field("value", i as f64 * 1.5)
                .field("count", i as i64)
                .field("state", "pushed")
                .at(t)
        })
        .collect()
}

fn encoding() {
    let points = sample_points(200_000);
    let _ = encode(&points[..1000], Precision::Seconds);
    let t = Instant::now();
    let body = encode(&points, Precision::Seconds).expect("encodable");
    let d = t.elapsed().as_secs_f64();
    println!(
        "line protocol encoding: {} points in {:.1} ms = {:.2} M points/s, {:.0} MB/s ({} bytes)",
        points.len(),
        d * 1000.0,
        points.len() as f64 / d / 1e6,
        body.len() as f64 / d / 1e6,
        body.len()
    );
}

fn candidate(i: usize, status: Status, at: &str) -> Candidate {
    let mut c = Candidate::submitted(
        uuid::Uuid::new_v4().to_string(),
        Submission {
            name: format!("probe-{i:05}"),
            description: Some(
                "A candidate of the benchmark, with a description of usual length.".into(),
            ),
            docurl: "https://github.com/ARGOeu-Metrics/argo-probe-example/blob/master/README.md"
                .into(),
            command: "check_example.py -H <hostname> -t 30 --url https://example.org/status".into(),
            contact: "owner@example.org".into(),
            rpm: None,
            yum_baseurl: None,
            script: Some("https://example.org/check_example.py".into()),
        },
        "bench",
        at,
    );
    c.status = status;
    c
}

async fn probe_pipeline() {
    let stack = Stack::new("http://127.0.0.1:9", None).await;
    let sdk = moto().sdk_config().await;
    let table = ProbeTable::new(dynamodb_client(&sdk), &stack.probes_table);
    let at = telltale::base::time::timestamp(time::OffsetDateTime::now_utc());
    let candidates: Vec<Candidate> = (0..CANDIDATES)
        .map(|i| candidate(i, Status::ALL[i % Status::ALL.len()], &at))
        .collect();
    let t = Instant::now();
    table
        .import(&candidates)
        .await
        .expect("importing candidates");
    eprintln!(
        "(imported {CANDIDATES} candidates into moto in {:.1} s)",
        t.elapsed().as_secs_f64()
    );

    let counter = Counter::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let sources = Sources {
        probes: Some(Box::new(ProbeTable::new(client, &stack.probes_table))),
        mappings: None,
        prometheus: None,
        accounting: None,
        documents: None,
        range_start: 0,
    };
    let collector = find("probe_pipeline").expect("built in");
    let _ = collect(collector, &sources, time::OffsetDateTime::now_utc(), None).await;
    let (calls0, bytes0) = (
        counter.calls.load(Ordering::Relaxed),
        counter.bytes.load(Ordering::Relaxed),
    );
    let t = Instant::now();
    let collected = collect(collector, &sources, time::OffsetDateTime::now_utc(), None)
        .await
        .expect("collected");
    let d = t.elapsed();
    let calls = counter.calls.load(Ordering::Relaxed) - calls0;
    let bytes = counter.bytes.load(Ordering::Relaxed) - bytes0;
    // The same queries, raw: how much of the wall time is the emulator's.
    let raw = dynamodb_client(&sdk);
    let t = Instant::now();
    for status in Status::ALL {
        let mut start = None;
        loop {
            let out = raw
                .query()
                .table_name(&stack.probes_table)
                .index_name(telltale::adapters::aws::probes::STATUS_INDEX)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", "status")
                .expression_attribute_values(
                    ":v",
                    aws_sdk_dynamodb::types::AttributeValue::S(status.as_str().into()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query");
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
    }
    let raw = t.elapsed();
    println!(
        "probe_pipeline over {CANDIDATES} candidates (moto): {:.0} ms, {calls} DynamoDB calls (Query on by-status, all pages), {:.1} MB read, {} points; the same queries alone, one after the other: {:.0} ms",
        d.as_secs_f64() * 1000.0,
        bytes as f64 / 1e6,
        collected.points.len(),
        raw.as_secs_f64() * 1000.0
    );
    // `GET /api/v2/probes/` without a filter lists through the same store: its pages and bytes.
    let listing = ProbeTable::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        &stack.probes_table,
    );
    let (calls0, bytes0) = (
        counter.calls.load(Ordering::Relaxed),
        counter.bytes.load(Ordering::Relaxed),
    );
    let t = Instant::now();
    let items = telltale::probes::submit::list(&listing, None)
        .await
        .expect("listed");
    let d = t.elapsed();
    let answer = serde_json::to_vec(&items).expect("JSON").len();
    println!(
        "listing {CANDIDATES} candidates (GET /api/v2/probes/, moto): {} items in {:.0} ms, {} DynamoDB calls, {:.1} MB read for a {:.1} MB answer",
        items.len(),
        d.as_secs_f64() * 1000.0,
        counter.calls.load(Ordering::Relaxed) - calls0,
        (counter.bytes.load(Ordering::Relaxed) - bytes0) as f64 / 1e6,
        answer as f64 / 1e6
    );
}

async fn influx_write() {
    let server = influx();
    let stack = Stack::new("http://127.0.0.1:9", None).await;
    let sink = stack.sink(&[]).await;
    let points = sample_points(POINTS)
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.time = p.time.map(|t| t - i as i128 * 1_000_000_000);
            p
        })
        .collect::<Vec<_>>();
    let t = Instant::now();
    let written = sink.write(&points).await.expect("written");
    let d = t.elapsed();
    let rows = server
        .rows(
            &stack.db,
            r#"SELECT count("count") FROM "mas_metric_value""#,
        )
        .await;
    println!(
        "writing {POINTS} points to InfluxDB 1.6: {:.0} ms, {} requests of at most 5000 points, {:.0} points/s; InfluxDB counts {}",
        d.as_secs_f64() * 1000.0,
        written.requests,
        POINTS as f64 / d.as_secs_f64(),
        rows.first().map(|r| r["count"].to_string()).unwrap_or_default()
    );
}

/// A `queues.json` of about `bytes`: 3 contexts, 12 releases, 6 architectures, requests of
/// ~300 bytes each.
fn big_queues(bytes: usize) -> Vec<u8> {
    let request = format!(
        "pkg\n{{\"requester\": \"someone\", \"triggers\": [\"{}\"]}}",
        "x".repeat(260)
    );
    let per_list = bytes / (3 * 12 * 6 * (request.len() + 4));
    let mut doc = serde_json::Map::new();
    for ctx in ["ubuntu", "huge", "ppa"] {
        let mut releases = serde_json::Map::new();
        for r in 0..12 {
            let mut arches = serde_json::Map::new();
            for a in ["amd64", "arm64", "armhf", "i386", "ppc64el", "s390x"] {
                let n = per_list + (r * 7 + a.len()) % 5;
                arches.insert(a.into(), serde_json::Value::from(vec![request.clone(); n]));
            }
            releases.insert(format!("release{r:02}"), serde_json::Value::Object(arches));
        }
        doc.insert(ctx.into(), serde_json::Value::Object(releases));
    }
    serde_json::to_vec(&doc).unwrap()
}

/// The child's part: serve the document, run the declared collector once, print a figure.
/// This process's resident memory now, in MB (`VmRSS`).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn jq_child(path: &str) {
    let at_start = rss_mb();
    let doc = std::fs::read(path).expect("the document");
    let size = doc.len();
    let app = axum::Router::new().route(
        "/autopkgtest.ubuntu.com/queues.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { doc }
        }),
    );
    let base = telltale_testkit::serve(app).await;
    let text = telltale_cli::fixtures::localized(telltale::collectors::registry::COMPILED, &base);
    let registry = telltale::collectors::registry::Registry::with_file(&text).expect("valid");
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build(),
    );
    let sources = Sources {
        documents: Some(Box::new(telltale::adapters::documents::HttpDocuments::new(
            ssm,
        ))),
        ..Sources::default()
    };
    let collector = registry.find("autopkgtest_queue").expect("declared");
    let t = Instant::now();
    let collected = collect(collector, &sources, time::OffsetDateTime::now_utc(), None)
        .await
        .expect("collected");
    let d = t.elapsed();
    println!(
        "{:.1} MB document: {} points in {:.0} ms ({:.0} points/s, {:.0} MB/s); resident before the run {:.1} MB",
        size as f64 / 1e6,
        collected.points.len(),
        d.as_secs_f64() * 1000.0,
        collected.points.len() as f64 / d.as_secs_f64(),
        size as f64 / 1e6 / d.as_secs_f64(),
        at_start
    );
}

/// `/usr/bin/time`'s wall seconds and peak RSS (KB) of a command, and its standard output.
fn timed(cmd: &mut std::process::Command) -> (f64, u64, String) {
    let report = std::env::temp_dir().join(format!("{}.time", telltale_testkit::unique("bench")));
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = cmd
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let mut wrapped = std::process::Command::new("/usr/bin/time");
    wrapped
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args);
    for (k, v) in envs {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    let out = wrapped
        .output()
        .expect("running /usr/bin/time (Debian's time package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let mut parts = text.split_whitespace();
    let secs = parts.next().unwrap().parse().unwrap();
    let kb = parts.next().unwrap().parse().unwrap();
    (secs, kb, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn jq_collector() {
    let dir = std::env::temp_dir().join(telltale_testkit::unique("jq-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = dir.join("queues.json");
    std::fs::write(&doc, big_queues(5_000_000)).unwrap();
    let (secs, kb, line) = timed(
        std::process::Command::new(std::env::current_exe().unwrap()).env("BENCH_JQ_DOCUMENT", &doc),
    );
    println!(
        "declared autopkgtest_queue (fetch on loopback, decode, jq, points) over a {}; whole process {:.2} s, peak RSS {:.1} MB",
        line.trim(),
        secs,
        kb as f64 / 1024.0
    );
    // The floor: the same program by the jq command line, reading the file.
    let yaml = telltale::collectors::registry::COMPILED;
    let start = yaml.find("    jq: |\n").unwrap() + "    jq: |\n".len();
    let end = start + yaml[start..].find("\n    fields:").unwrap() + 1;
    let program: String = yaml[start..end]
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let program_file = dir.join("program.jq");
    std::fs::write(&program_file, program).unwrap();
    let (secs, kb, out) = timed(
        std::process::Command::new("jq")
            .arg("-c")
            .args(["--arg", "instance", "production"])
            .arg("-f")
            .arg(&program_file)
            .arg(&doc),
    );
    println!(
        "  floor: jq -c -f on the same file: {} points, process {:.2} s, peak RSS {:.1} MB",
        out.lines().count(),
        secs,
        kb as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    if let Ok(path) = std::env::var("BENCH_JQ_DOCUMENT") {
        jq_child(&path).await;
        return;
    }
    println!("collectors, {}", time::OffsetDateTime::now_utc().date());
    jq_collector();
    encoding();
    influx_write().await;
    probe_pipeline().await;
}
