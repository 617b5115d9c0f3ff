//! A real Prometheus (Debian's 2.42) with series backfilled by
//! `promtool tsdb create-blocks-from openmetrics`, so values are exact and known.

use super::watch::free_port;
use super::INSTALL_HINT;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};

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
        let log = dir.join("prometheus.log");
        let child = super::spawn_tied(
            &prometheus,
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", data.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ],
            &log,
        );
        let url = format!("http://127.0.0.1:{port}");
        super::wait_ready(&format!("{url}/-/ready"), "Prometheus", &log);
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

/// `up` for two jobs over the last ten minutes, one target of `api` down: what the declared
/// `scrape_targets_up` example asks for.
pub fn up_series() -> String {
    let end = time::OffsetDateTime::now_utc().unix_timestamp() / 60 * 60;
    let mut text = String::from("# TYPE up gauge\n");
    for t in (end - 600..=end).step_by(60) {
        for (job, instance, v) in [("api", "a:1", 1), ("api", "b:1", 0), ("web", "c:1", 1)] {
            text.push_str(&format!(
                "up{{job=\"{job}\",instance=\"{instance}\"}} {v} {t}\n"
            ));
        }
    }
    text.push_str("# EOF\n");
    text
}

type Servers = Mutex<Vec<(fn() -> String, &'static PrometheusServer)>>;

static SERVERS: OnceLock<Servers> = OnceLock::new();

/// The test binary's Prometheus for the series `dataset` returns, started on its first use: one
/// server per dataset, since one test binary holds the tests of several datasets.
pub fn prometheus(dataset: fn() -> String) -> &'static PrometheusServer {
    let servers = SERVERS.get_or_init(Servers::default);
    let mut servers = servers.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, server)) = servers
        .iter()
        .find(|(d, _)| std::ptr::fn_addr_eq(*d, dataset))
    {
        return server;
    }
    let server: &'static PrometheusServer =
        Box::leak(Box::new(PrometheusServer::start(&dataset())));
    servers.push((dataset, server));
    server
}
