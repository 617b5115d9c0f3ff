//! A real Prometheus (Debian's 2.42) with series backfilled by
//! `promtool tsdb create-blocks-from openmetrics`, so values are exact and known.

use super::watch::free_port;
use super::INSTALL_HINT;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct PrometheusServer {
    pub url: String,
    _child: Mutex<Child>,
}

fn tool(name: &str) -> String {
    match Command::new(name).arg("--version").output() {
        Ok(_) => name.to_string(),
        Err(_) => panic!("`{name}` is not installed: {INSTALL_HINT} (apt-get install prometheus)"),
    }
}

impl PrometheusServer {
    /// Backfills `openmetrics` (which must end with `# EOF`) into a new data directory and
    /// starts Prometheus on it. It stops when the test process exits.
    pub fn start(openmetrics: &str) -> PrometheusServer {
        let (prometheus, promtool) = (tool("prometheus"), tool("promtool"));
        let dir: PathBuf = std::env::temp_dir().join(super::unique("telltale-prometheus"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("creating the Prometheus data directory");
        let input = dir.join("series.om");
        std::fs::write(&input, openmetrics).expect("writing the series");
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .expect("running promtool");
        assert!(
            out.status.success(),
            "promtool could not backfill the series: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
        )
        .expect("writing the config");
        let port = free_port();
        // Tied to the test process: when stdin closes, the shell stops Prometheus.
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$@" & pid=$!; cat >/dev/null; kill $pid; wait $pid"#)
            .arg("sh")
            .arg(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("prometheus.log"))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("starting prometheus");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && Command::new("curl")
                    .args(["-fsS", "-o", "/dev/null", &format!("{url}/-/ready")])
                    .status()
                    .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not become ready; see {}",
                dir.join("prometheus.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        PrometheusServer {
            url,
            _child: Mutex::new(child),
        }
    }
}

impl PrometheusServer {
    /// What Prometheus itself answers for `promql` at `time`: the scalar, or the first
    /// sample of the vector (the tests' reference values).
    pub async fn value(&self, promql: &str, time: i64) -> f64 {
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql), ("time", &time.to_string())])
            .send()
            .await
            .expect("querying Prometheus")
            .json()
            .await
            .expect("Prometheus answers JSON");
        let data = &body["data"];
        let v = match data["resultType"].as_str() {
            Some("scalar") => &data["result"][1],
            _ => &data["result"][0]["value"][1],
        };
        v.as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }
}

/// The demo series `make dev` loads (48 hours up to a minute ago).
pub fn demo_series() -> String {
    let out = Command::new("python3")
        .arg(super::repo_root().join("scripts/demo_series.py"))
        .arg("48")
        .output()
        .expect("running scripts/demo_series.py");
    String::from_utf8(out.stdout).expect("the demo series are text")
}

static SERVER: OnceLock<PrometheusServer> = OnceLock::new();

/// The test binary's Prometheus, started on first use with the series `dataset` returns.
pub fn prometheus(dataset: fn() -> String) -> &'static PrometheusServer {
    SERVER.get_or_init(|| PrometheusServer::start(&dataset()))
}
