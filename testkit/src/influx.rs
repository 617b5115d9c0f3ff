//! A real InfluxDB (Debian's 1.6 `influxd`) per test binary, on free ports, tied to the test
//! process; optionally with authentication or with HTTPS on a self-signed certificate.

use super::watch::free_port;
use super::INSTALL_HINT;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};

/// The admin of a server started with `auth`.
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `auth-enabled`, with `ADMIN_USER` created.
    pub auth: bool,
    /// HTTPS with a self-signed certificate for 127.0.0.1.
    pub tls: bool,
}

pub struct InfluxServer {
    /// `http://127.0.0.1:<port>` (or `https://`).
    pub url: String,
    pub dir: PathBuf,
    options: Options,
    http: reqwest::Client,
    _child: Mutex<Child>,
}

fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| {
            panic!("running openssl: {e}; {INSTALL_HINT} (apt-get install openssl)")
        });
    assert!(
        out.status.success(),
        "openssl could not make a certificate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

impl InfluxServer {
    pub fn start(options: Options) -> InfluxServer {
        if Command::new("influxd").arg("version").output().is_err() {
            panic!("`influxd` is not installed: {INSTALL_HINT} (apt-get install influxdb)");
        }
        let dir = std::env::temp_dir().join(super::unique("telltale-influxdb"));
        std::fs::create_dir_all(&dir).expect("creating the InfluxDB directory");
        let (port, rpc) = (free_port(), free_port());
        let tls = if options.tls {
            let (cert, key) = self_signed(&dir);
            format!(
                "  https-enabled = true\n  https-certificate = \"{}\"\n  https-private-key = \"{}\"\n",
                cert.display(),
                key.display()
            )
        } else {
            String::new()
        };
        let (d, rpc, http) = (
            dir.display().to_string(),
            format!("127.0.0.1:{rpc}"),
            format!("127.0.0.1:{port}"),
        );
        let auth = options.auth.to_string();
        let config = super::local_config(
            "influxdb.conf",
            &[
                ("DIR", &d),
                ("RPC_ADDRESS", &rpc),
                ("HTTP_ADDRESS", &http),
                ("AUTH", &auth),
                ("TLS", &tls),
            ],
        );
        std::fs::write(dir.join("influxdb.conf"), config).expect("writing the config");
        let log = dir.join("influxd.log");
        let child = super::spawn_tied(
            "influxd",
            &[
                "-config".to_string(),
                dir.join("influxdb.conf").display().to_string(),
            ],
            &log,
        );
        let scheme = if options.tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}");
        super::wait_ready(&format!("{url}/ping"), "influxd", &log);
        let server = InfluxServer {
            url,
            dir,
            options,
            // Every test has its own runtime: a pooled connection would outlive the one that
            // opened it.
            http: reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .pool_max_idle_per_host(0)
                .build()
                .expect("a client"),
            _child: Mutex::new(child),
        };
        if options.auth {
            // Allowed without credentials while no user exists.
            let out = Command::new("curl")
                .args(["-fsSk", "-XPOST", &format!("{}/query", server.url)])
                .args([
                    "--data-urlencode",
                    &format!("q=CREATE USER \"{ADMIN_USER}\" WITH PASSWORD '{ADMIN_PASSWORD}' WITH ALL PRIVILEGES"),
                ])
                .output()
                .expect("creating the admin user");
            assert!(out.status.success(), "creating the admin user failed");
        }
        server
    }

    /// Runs InfluxQL through `/query` (as admin on an `auth` server); the JSON answer.
    pub async fn query(&self, db: &str, q: &str) -> Value {
        let mut req = self
            .http
            .post(format!("{}/query", self.url))
            .query(&[("db", db), ("epoch", "s")])
            .form(&[("q", q)]);
        if self.options.auth {
            req = req.basic_auth(ADMIN_USER, Some(ADMIN_PASSWORD));
        }
        let resp = req.send().await.expect("querying InfluxDB");
        resp.json().await.expect("InfluxDB answers JSON")
    }

    /// A new database with a unique name.
    pub async fn database(&self, prefix: &str) -> String {
        let name = super::unique(prefix).replace('-', "_");
        let answer = self.query("", &format!("CREATE DATABASE \"{name}\"")).await;
        assert!(answer["results"][0]["error"].is_null(), "{answer}");
        name
    }

    /// The series `q` returns (`results[0].series`), failing on a query error.
    pub async fn series(&self, db: &str, q: &str) -> Vec<Value> {
        let answer = self.query(db, q).await;
        if let Some(e) = answer["results"][0]["error"]
            .as_str()
            .or(answer["error"].as_str())
        {
            panic!("{q}: {e}");
        }
        answer["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The measurements of `db`.
    pub async fn measurements(&self, db: &str) -> Vec<String> {
        self.series(db, "SHOW MEASUREMENTS")
            .await
            .iter()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v[0].as_str().map(String::from))
            .collect()
    }

    /// The rows of `q` as objects `{column: value}` (tags included), in order.
    pub async fn rows(&self, db: &str, q: &str) -> Vec<serde_json::Map<String, Value>> {
        let mut rows = Vec::new();
        for s in self.series(db, q).await {
            let columns: Vec<String> = s["columns"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for values in s["values"].as_array().cloned().unwrap_or_default() {
                let mut row = serde_json::Map::new();
                if let Some(tags) = s["tags"].as_object() {
                    row.extend(tags.clone());
                }
                if let Some(name) = s["name"].as_str() {
                    row.insert("_measurement".into(), Value::String(name.into()));
                }
                for (c, v) in columns
                    .iter()
                    .zip(values.as_array().cloned().unwrap_or_default())
                {
                    row.insert(c.clone(), v);
                }
                rows.push(row);
            }
        }
        rows
    }

    /// The variables a function or the CLI needs to write to `db` here.
    pub fn env(&self, db: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("INFLUXDB_URL".to_string(), self.url.clone()),
            ("INFLUXDB_DATABASE".to_string(), db.to_string()),
        ];
        if self.options.auth {
            env.push(("INFLUXDB_USERNAME".into(), ADMIN_USER.into()));
            env.push(("INFLUXDB_PASSWORD".into(), ADMIN_PASSWORD.into()));
        }
        env
    }
}

static PLAIN: OnceLock<InfluxServer> = OnceLock::new();

/// The test binary's plain-HTTP InfluxDB without authentication, started on first use.
pub fn influx() -> &'static InfluxServer {
    PLAIN.get_or_init(|| InfluxServer::start(Options::default()))
}
