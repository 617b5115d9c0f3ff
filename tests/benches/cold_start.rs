//! `make bench-cold`: every function's release binary and zip, its cold start and its peak
//! memory, next to two floors built with the same profile (an empty `lambda_http` and an empty
//! `lambda_runtime` function), printed as ratios to them. Figures, not pass/fail.
//!
//! Cold start is measured the way Lambda pays it: the process is spawned with
//! `AWS_LAMBDA_RUNTIME_API` pointing at a Runtime API served here on loopback; init is spawn →
//! its first `GET /runtime/invocation/next`. HTTP functions then get one API Gateway event that
//! their own code answers without any dependency (a 405 or `/-/info`), and "first response" is
//! spawn → that answer; the same event is then handed out `WARM_INVOCATIONS` more times, and
//! "warm invocation" is `next` answered → response posted (runtime client, routing, response).
//! Peak RSS is the process' `VmHWM` after them. Each function is spawned `SPAWNS` times;
//! medians are printed.
//!
//! The release binaries must exist (`make bench-cold` builds them first); moto serves the S3
//! bucket the metric functions prefetch from, so their init includes two real S3 round trips,
//! printed apart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telltale_testkit::{moto::moto, repo_root, unique};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const SPAWNS: usize = 30;
/// The same event again, this many times per spawn of an HTTP function, for the warm column.
const WARM_INVOCATIONS: usize = 100;
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Http,
    Event,
}

struct Target {
    name: &'static str,
    kind: Kind,
    /// An event the function answers by its own code alone (HTTP functions only).
    event: Option<&'static str>,
    /// What the function does at init besides building its clients.
    init_io: &'static str,
}

const FLOOR_HTTP: &str = "empty-http";
const FLOOR_RUNTIME: &str = "empty-runtime";

fn targets() -> Vec<Target> {
    let http = |name, event, init_io| Target {
        name,
        kind: Kind::Http,
        event: Some(event),
        init_io,
    };
    let scheduled = |name, init_io| Target {
        name,
        kind: Kind::Event,
        event: None,
        init_io,
    };
    vec![
        http(FLOOR_HTTP, "metric-metadata/info.200.json", "none"),
        scheduled(FLOOR_RUNTIME, "none"),
        http("probe-submit", "probe-submit/delete.405.json", "none"),
        http("probe-status", "probe-status/post-status.405.json", "none"),
        http(
            "metric-metadata",
            "metric-metadata/info.200.json",
            "2 S3 GETs",
        ),
        http(
            "metric-value",
            "metric-value/value-post.405.json",
            "2 S3 GETs",
        ),
        http("heartbeat", "heartbeat/12-delete.405.json", "none"),
        http("team-page", "team-page/01-page.200.json", "none"),
        scheduled("email-retry", "none"),
        scheduled("accounting-push", "none"),
        scheduled("token-refresh", "none"),
        scheduled("collector", "none"),
        scheduled("heartbeat-source", "none"),
    ]
}

/// What the loopback Runtime API saw, with when.
enum Mark {
    Next(Instant),
    /// When, and the proxy response's status code.
    Response(Instant, u16),
    Failed(String),
}

struct Runtime {
    event: Option<Vec<u8>>,
    /// Events still to hand out; later `next` calls are held.
    remaining: AtomicUsize,
    marks: mpsc::UnboundedSender<Mark>,
}

/// The few Runtime API calls a function makes, over keep-alive HTTP/1.1. After the one event
/// is handed out, later `next` calls are held open (the process is killed meanwhile).
async fn serve_runtime(listener: TcpListener, runtime: Arc<Runtime>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve_connection(stream, runtime.clone()));
    }
}

async fn serve_connection(stream: TcpStream, runtime: Arc<Runtime>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let at = Instant::now();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let answer: Option<Answer> = if method == "GET"
            && path.ends_with("/runtime/invocation/next")
        {
            let _ = runtime.marks.send(Mark::Next(at));
            let left = runtime
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if left.is_err() {
                None
            } else {
                let payload = runtime.event.clone().unwrap_or_else(|| b"{}".to_vec());
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
                    + 15_000;
                Some((
                    200,
                    vec![
                        ("Lambda-Runtime-Aws-Request-Id", "bench-0001".into()),
                        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:eu-west-1:123456789012:function:bench".into(),
                        ),
                        ("Lambda-Runtime-Trace-Id", "Root=1-bench".into()),
                        ("Content-Type", "application/json".into()),
                    ],
                    payload,
                ))
            }
        } else if method == "POST" && path.ends_with("/response") {
            let status = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|doc| doc["statusCode"].as_u64())
                .map_or(0, |s| s as u16);
            let _ = runtime.marks.send(Mark::Response(at, status));
            Some((202, vec![], b"{}".to_vec()))
        } else if method == "POST" && path.ends_with("/error") {
            let _ = runtime
                .marks
                .send(Mark::Failed(String::from_utf8_lossy(&body).into_owned()));
            Some((202, vec![], b"{}".to_vec()))
        } else {
            Some((404, vec![], b"{}".to_vec()))
        };
        let Some((status, headers, payload)) = answer else {
            // Held: the process is killed before this would be answered.
            std::future::pending::<()>().await;
            return;
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n",
            payload.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(&payload).await.is_err()
        {
            return;
        }
    }
}

/// Status, headers and body of a Runtime API answer.
type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

struct Spawn {
    init: Duration,
    first_response: Option<Duration>,
    /// Invocations after the first: `next` answered → response posted.
    warm: Vec<Duration>,
    peak_rss_kib: u64,
    /// The metric functions log how long their cold-start prefetch (two S3 GETs and the
    /// validation) took.
    prefetch_ms: Option<f64>,
}

/// `COLD_START_RELEASE_DIR` measures binaries built elsewhere (e.g. with another `opt-level`
/// into another target directory); the zip column then shows the binary's size too.
fn binary(name: &str) -> PathBuf {
    match std::env::var_os("COLD_START_RELEASE_DIR") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => target_dir()
            .join("x86_64-unknown-linux-gnu")
            .join("release")
            .join(name),
    }
}

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"))
}

fn zip(name: &str) -> PathBuf {
    if std::env::var_os("COLD_START_RELEASE_DIR").is_some() {
        return binary(name);
    }
    target_dir().join("lambda").join(name).join("bootstrap.zip")
}

/// The cross-compiled arm64 zip, when `make bench-cold` built it (sizes only: it cannot run here).
fn zip_arm64(name: &str) -> Option<u64> {
    let path = target_dir()
        .join("lambda-arm64")
        .join(name)
        .join("bootstrap.zip");
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build the release functions first: make bench-cold",
                path.display()
            )
        })
        .len()
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn prefetch_ms(log: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        v.get("prefetch_ms")?.as_f64()
    })
}

async fn spawn_once(target: &Target, env: &HashMap<String, String>, log: &Path) -> Spawn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let event = target.event.map(|e| {
        std::fs::read(repo_root().join("events").join(e)).unwrap_or_else(|err| panic!("{e}: {err}"))
    });
    // `<name>.<status>.json`: the status the function answers the event with.
    let expected_status: Option<u16> = target
        .event
        .and_then(|e| e.rsplit('.').nth(1))
        .and_then(|s| s.parse().ok());
    let (marks, mut seen) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve_runtime(
        listener,
        Arc::new(Runtime {
            event,
            remaining: AtomicUsize::new(if target.kind == Kind::Http {
                1 + WARM_INVOCATIONS
            } else {
                1
            }),
            marks,
        }),
    ));
    let log_file = std::fs::File::create(log).expect("log file");
    // Functions log to standard output, as Lambda collects it.
    let log_out = log_file.try_clone().expect("log file");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary(target.name))
        .env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", target.name)
        .stdin(Stdio::null())
        .stdout(log_out)
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", target.name));
    let pid = child.id().unwrap_or(0);
    let mut init = None;
    let mut first_response = None;
    let mut warm = Vec::new();
    let mut last_next = started;
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tokio::select! {
                mark = seen.recv() => match mark {
                    Some(Mark::Next(at)) if init.is_none() => {
                        init = Some(at - started);
                        last_next = at;
                        if target.kind == Kind::Event {
                            return Ok(());
                        }
                    }
                    Some(Mark::Next(at)) => last_next = at,
                    Some(Mark::Response(at, status)) => {
                        // Each event's name says the status its function answers by its own
                        // code; another (a 500 of a misconfigured function) is no cold start.
                        if let Some(expected) = expected_status {
                            if status != expected {
                                return Err(format!("answered {status}, not {expected}"));
                            }
                        }
                        if first_response.is_none() {
                            first_response = Some(at - started);
                        } else {
                            warm.push(at - last_next);
                        }
                        if warm.len() == WARM_INVOCATIONS {
                            return Ok(());
                        }
                    }
                    Some(Mark::Failed(body)) => return Err(format!("reported an error: {body}")),
                    None => return Err("the runtime API stopped".to_string()),
                },
                status = child.wait() => {
                    return Err(format!("exited ({status:?}) before its first invocation"));
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("no call to the runtime API within 20 s".to_string()));
    let peak = peak_rss_kib(pid);
    let _ = child.kill().await;
    server.abort();
    if let Err(why) = outcome {
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        panic!("{}: {why}\n{log_text}", target.name);
    }
    Spawn {
        init: init.unwrap_or_default(),
        first_response,
        warm,
        peak_rss_kib: peak,
        prefetch_ms: prefetch_ms(log),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Row {
    name: &'static str,
    kind: Kind,
    init_io: &'static str,
    binary: u64,
    zip: u64,
    zip_arm64: Option<u64>,
    init_ms: f64,
    first_ms: Option<f64>,
    warm_us: Option<f64>,
    rss_kib: f64,
    prefetch_ms: Option<f64>,
}

/// Everything any function reads at init, pointing at moto and at addresses nothing is asked
/// of before the first real invocation.
async fn environment() -> HashMap<String, String> {
    let bucket = moto().demo_mappings_bucket("cold").await;
    let unused = "http://127.0.0.1:9".to_string();
    let mut env: HashMap<String, String> = moto().env().into_iter().collect();
    for (k, v) in [
        ("RUST_LOG", "info".to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".into()),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true".into()),
        ("MAPPINGS_BUCKET", bucket),
        ("PROMETHEUS_URL", unused.clone()),
        ("PROBES_TABLE", "cold-probes".into()),
        ("API_KEYS_TABLE", "cold-keys".into()),
        ("HEARTBEAT_TABLE", "cold-heartbeat".into()),
        ("ACCOUNTING_TABLE", "cold-accounting".into()),
        ("EMAIL_FROM", "telltale@example.org".into()),
        ("TEAM_EMAIL", "team@example.org".into()),
        ("CURSOR_KEY", telltale_testkit::probes::CURSOR_KEY.into()),
        ("ACCOUNTING_BASE_URL", unused.clone()),
        ("TOKEN_URL", unused.clone()),
        ("OIDC_CLIENT_ID", "bench".into()),
        ("OIDC_CLIENT_SECRET", "bench-secret".into()),
        ("INITIAL_REFRESH_TOKEN", "bench-refresh".into()),
        ("INFLUXDB_HOSTNAME", "127.0.0.1".into()),
        ("INFLUXDB_PORT", "9".into()),
        ("INFLUXDB_DATABASE", "bench".into()),
        ("PUSHGATEWAY_URL", unused.clone()),
        ("HEARTBEAT_URL", unused),
    ] {
        env.insert(k.to_string(), v);
    }
    if let Ok(path) = std::env::var("PATH") {
        env.insert("PATH".into(), path);
    }
    env
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let env = environment().await;
    let s3_ms = two_s3_gets_ms(&env["MAPPINGS_BUCKET"]).await;
    let logs = std::env::temp_dir().join(unique("cold-start-logs"));
    std::fs::create_dir_all(&logs).expect("log dir");
    let mut rows = Vec::new();
    // `COLD_START_ONLY=probe-submit,metric-value` measures those (and the floors) only.
    let only = std::env::var("COLD_START_ONLY").ok();
    let wanted = |name: &str| {
        name.starts_with("empty-")
            || only
                .as_deref()
                .is_none_or(|list| list.split(',').any(|n| n == name))
    };
    for target in targets().into_iter().filter(|t| wanted(t.name)) {
        let log = logs.join(format!("{}.log", target.name));
        // One spawn untimed: the binary's pages into the page cache, as on a warm Lambda host.
        spawn_once(&target, &env, &log).await;
        let mut spawns = Vec::new();
        for _ in 0..SPAWNS {
            spawns.push(spawn_once(&target, &env, &log).await);
        }
        let row = Row {
            name: target.name,
            kind: target.kind,
            init_io: target.init_io,
            binary: size(&binary(target.name)),
            zip: size(&zip(target.name)),
            zip_arm64: zip_arm64(target.name),
            init_ms: median(spawns.iter().map(|s| ms(s.init)).collect()),
            first_ms: target.event.map(|_| {
                median(
                    spawns
                        .iter()
                        .filter_map(|s| s.first_response.map(ms))
                        .collect(),
                )
            }),
            warm_us: target.event.map(|_| {
                median(
                    spawns
                        .iter()
                        .flat_map(|s| s.warm.iter().map(|d| d.as_secs_f64() * 1e6))
                        .collect(),
                )
            }),
            rss_kib: median(spawns.iter().map(|s| s.peak_rss_kib as f64).collect()),
            prefetch_ms: {
                let p: Vec<f64> = spawns.iter().filter_map(|s| s.prefetch_ms).collect();
                (!p.is_empty()).then(|| median(p))
            },
        };
        eprintln!("measured {}", row.name);
        rows.push(row);
    }
    print_table(&rows);
    println!(
        "the metric functions' prefetch (in brackets) is their two S3 GETs and the validation of \
         both files; the same two GETs from this process, connection warm: {s3_ms:.1} ms (median)"
    );
}

/// What the metric functions' two S3 GETs cost by themselves against the same moto.
async fn two_s3_gets_ms(bucket: &str) -> f64 {
    let s3 = telltale::adapters::aws::s3_client(&moto().sdk_config().await);
    let mut runs = Vec::new();
    for _ in 0..=SPAWNS {
        let t = Instant::now();
        for key in ["metadata_mappings.json", "metrics_mappings.json"] {
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("GET");
            object.body.collect().await.expect("body");
        }
        runs.push(ms(t.elapsed()));
    }
    median(runs[1..].to_vec())
}

fn print_table(rows: &[Row]) {
    let floor = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .expect("floor measured")
    };
    let (http, runtime) = (floor(FLOOR_HTTP), floor(FLOOR_RUNTIME));
    println!(
        "cold start: {SPAWNS} spawns each, medians; ratios: zip to the lambda_http floor, init to \
         the floor of the same kind (HTTP: lambda_http; scheduled: lambda_runtime)"
    );
    println!(
        "| function | I/O at init | binary MiB | zip MiB (× floor) | arm64 zip MiB (× floor) | init ms (× floor) | init − floor − prefetch ms | first response ms | warm invocation µs | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let same_kind = if r.kind == Kind::Http { http } else { runtime };
        let beyond = r.init_ms - same_kind.init_ms - r.prefetch_ms.unwrap_or(0.0);
        println!(
            "| {} | {} | {:.2} | {:.2} ({:.1}×) | {} | {:.1} ({:.1}×) | {} | {} | {} | {:.1} |",
            r.name,
            match r.prefetch_ms {
                Some(p) => format!("{} ({p:.1} ms)", r.init_io),
                None => r.init_io.to_string(),
            },
            r.binary as f64 / MIB,
            r.zip as f64 / MIB,
            r.zip as f64 / http.zip as f64,
            match (r.zip_arm64, http.zip_arm64) {
                (Some(z), Some(floor)) =>
                    format!("{:.2} ({:.1}×)", z as f64 / MIB, z as f64 / floor as f64),
                _ => "—".to_string(),
            },
            r.init_ms,
            r.init_ms / same_kind.init_ms,
            if r.name.starts_with("empty-") {
                "—".to_string()
            } else {
                format!("{beyond:.1}")
            },
            r.first_ms.map_or("—".to_string(), |f| format!("{f:.1}")),
            r.warm_us.map_or("—".to_string(), |w| format!("{w:.0}")),
            r.rss_kib / 1024.0,
        );
    }
}
