//! Real Pushgateway and Alertmanager (Debian's packages), and a Prometheus on a configuration
//! of the test's own, for the heartbeat loop; each tied to the test process, on free ports.

use super::watch::free_port;
use super::{spawn_tied, unique, wait_ready, INSTALL_HINT};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Mutex;

pub struct Service {
    pub url: String,
    /// host:port, for configuration files.
    pub address: String,
    pub dir: PathBuf,
    _child: Mutex<Child>,
}

fn installed(program: &str, package: &str) {
    if Command::new(program).arg("--version").output().is_err() {
        panic!("`{program}` is not installed: {INSTALL_HINT} (apt-get install {package})");
    }
}

fn start(
    program: &str,
    package: &str,
    ready_path: &str,
    args: impl FnOnce(&PathBuf, &str) -> Vec<String>,
) -> Service {
    installed(program, package);
    let dir = std::env::temp_dir().join(unique(program));
    std::fs::create_dir_all(&dir).expect("a directory for the service");
    let address = format!("127.0.0.1:{}", free_port());
    let log = dir.join(format!("{program}.log"));
    let child = spawn_tied(program, &args(&dir, &address), &log);
    let url = format!("http://{address}");
    wait_ready(&format!("{url}{ready_path}"), program, &log);
    Service {
        url,
        address,
        dir,
        _child: Mutex::new(child),
    }
}

pub fn pushgateway() -> Service {
    start(
        "prometheus-pushgateway",
        "prometheus-pushgateway",
        "/-/ready",
        |_, a| {
            // Debian's build persists groups in /var/lib by default, across runs and tests.
            vec![
                format!("--web.listen-address={a}"),
                "--persistence.file=".into(),
            ]
        },
    )
}

/// Alertmanager with `config` (YAML) as its configuration.
pub fn alertmanager(config: &str) -> Service {
    start(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        "/-/ready",
        |dir, a| {
            std::fs::write(dir.join("alertmanager.yml"), config).expect("writing the config");
            vec![
                format!("--config.file={}", dir.join("alertmanager.yml").display()),
                format!("--storage.path={}", dir.join("data").display()),
                format!("--web.listen-address={a}"),
                "--cluster.listen-address=".into(),
            ]
        },
    )
}

/// Prometheus with `config` (YAML) and the rule files it names, on an empty database.
pub fn prometheus(config: &str) -> Service {
    start("prometheus", "prometheus", "/-/ready", |dir, a| {
        std::fs::write(dir.join("prometheus.yml"), config).expect("writing the config");
        vec![
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address={a}"),
        ]
    })
}
