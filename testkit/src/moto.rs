//! moto server: DynamoDB, S3, SES, SSM and IAM on loopback, enforcing IAM as AWS does
//! (`scripts/local_iam.py serve`). Tests set the stack up as its administrator (`sdk_config`,
//! `env`); a function under the local runner runs as a principal holding exactly its template
//! policy (`LOCAL_IAM_DIR` in `env`), and a test can make its own (`policy`, `principal`).

use super::{repo_root, venv_bin};
use aws_config::{Region, SdkConfig};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

pub struct Moto {
    pub endpoint: String,
    admin: (String, String),
    /// The server's directory: its administrator, the principals made for functions, and every
    /// refusal (`denials`).
    dir: PathBuf,
    child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The test binary's moto server, started on first use; it stops when the binary exits (its
/// standard input closes).
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(Moto::start)
}

fn local_iam() -> Command {
    let mut cmd = Command::new(venv_bin("python"));
    cmd.arg(repo_root().join("scripts/local_iam.py"));
    cmd
}

impl Moto {
    /// A server of its own, stopped when dropped.
    pub fn start() -> Moto {
        let dir = std::env::temp_dir().join(super::unique("moto"));
        std::fs::create_dir_all(&dir).expect("moto's directory");
        let mut child = local_iam()
            .args(["serve", "--dir"])
            .arg(&dir)
            .env("IAM_DENIALS", dir.join("denials"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto: {e}; {}", super::INSTALL_HINT));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("moto's stdout is piped"))
            .read_line(&mut line)
            .expect("reading moto's port");
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "moto did not start (said {line:?}); is moto[server] installed? {}",
                super::INSTALL_HINT
            )
        });
        let key = |i: usize| info["admin"][i].as_str().expect("admin key").to_string();
        Moto {
            endpoint: format!("http://127.0.0.1:{}", info["port"]),
            admin: (key(0), key(1)),
            dir,
            child: Mutex::new(child),
        }
    }

    /// The administrator's SDK configuration pointing at this server, as `AWS_ENDPOINT_URL`
    /// would: for setting a stack up and reading it back.
    pub async fn sdk_config(&self) -> SdkConfig {
        telltale::adapters::aws::sdk_loader()
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &self.admin.0,
                &self.admin.1,
                None,
                None,
                "moto-admin",
            ))
            .load()
            .await
    }

    /// Environment for a process that should talk to this server through the standard
    /// variables: the administrator's (the command line), or, under the local runner, each
    /// function as its own principal (`LOCAL_IAM_DIR`).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", self.admin.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.admin.1.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            (
                "LOCAL_IAM_DIR",
                self.dir.to_str().expect("a UTF-8 temporary directory"),
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The statements of the template function `function_id`'s policy, for the local stack
    /// whose logical ids and parameters `names` gives.
    pub fn policy(&self, function_id: &str, names: &Value) -> Vec<Value> {
        let out = local_iam()
            .args(["policy", function_id, &names.to_string()])
            .output()
            .expect("running local_iam.py policy");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the statements")
    }

    /// A new principal holding exactly `statements`: its access key and secret.
    pub fn principal(&self, name: &str, statements: &[Value]) -> (String, String) {
        let mut child = local_iam()
            .args([
                "principal",
                &self.endpoint,
                &self.admin.0,
                &self.admin.1,
                name,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running local_iam.py principal");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(Value::from(statements.to_vec()).to_string().as_bytes())
            .expect("writing the statements");
        let out = child.wait_with_output().expect("its answer");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Vec<String> = serde_json::from_slice(&out.stdout).expect("a key pair");
        (keys[0].clone(), keys[1].clone())
    }

    /// Every refusal so far: (key, action, resource), as `dynamodb:PutItem` on
    /// `arn:aws:dynamodb:…:table/name`.
    pub fn denials(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(self.dir.join("denials"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|d| {
                let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                (text("key"), text("action"), text("resource"))
            })
            .collect()
    }

    /// What was refused to `key` so far: (action, resource).
    pub fn denied(&self, key: &str) -> Vec<(String, String)> {
        self.denials()
            .into_iter()
            .filter(|(k, _, _)| k == key)
            .map(|(_, a, r)| (a, r))
            .collect()
    }
}

/// The principals the local runner made for functions in `dir` (a server's `LOCAL_IAM_DIR`):
/// (binary, access key), one per binary and policy.
pub fn function_principals(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut principals = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "json") && name != "admin" {
            let keys: Vec<String> = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let binary = name.rsplit_once('-').map_or(name, |(b, _)| b).to_string();
            principals.extend(keys.into_iter().next().map(|k| (binary, k)));
        }
    }
    principals
}

/// What the principals the local runner made for functions in `dir` were refused:
/// `binary: action on resource`, one per refusal.
pub fn function_denials(dir: &std::path::Path) -> Vec<String> {
    let principals = function_principals(dir);
    std::fs::read_to_string(dir.join("denials"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|d| {
            let (binary, _) = principals.iter().find(|(_, k)| d["key"] == k.as_str())?;
            Some(format!("{binary}: {} on {}", d["action"], d["resource"]))
        })
        .collect()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let child = self.child.get_mut().expect("moto's process");
        drop(child.stdin.take());
        let _ = child.kill();
        let _ = child.wait();
    }
}

pub use telltale_cli::emails::SentEmail;

impl Moto {
    /// A new bucket (`prefix-<unique>`) holding the demo mapping pair of `demo/`; its name.
    pub async fn demo_mappings_bucket(&self, prefix: &str) -> String {
        let s3 = telltale::adapters::aws::s3_client(&self.sdk_config().await);
        let bucket = super::unique(prefix);
        telltale_cli::tables::ensure_bucket(&s3, &bucket)
            .await
            .expect("bucket");
        for name in ["metadata_mappings.json", "metrics_mappings.json"] {
            let body =
                std::fs::read(super::repo_root().join("demo").join(name)).expect("demo mappings");
            telltale_cli::tables::put_object(&s3, &bucket, name, body)
                .await
                .expect("upload");
        }
        bucket
    }

    /// moto's dump of everything it holds. moto builds it while other requests change its
    /// state, and answers a 500 when one did so mid-dump (one test binary shares one moto
    /// across its tests): such an answer is asked again, a few times.
    async fn data(&self) -> serde_json::Value {
        let url = format!("{}/moto-api/data.json", self.endpoint);
        let mut last = String::new();
        for _ in 0..10 {
            match reqwest::get(&url).await {
                Ok(resp) if resp.status().is_success() => match resp.json().await {
                    Ok(data) => return data,
                    Err(e) => last = e.to_string(),
                },
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("moto's data.json could not be read: {last}");
    }

    /// Every email SES accepted so far (all tests of this binary; filter by recipient).
    pub async fn sent_emails(&self) -> Vec<SentEmail> {
        telltale_cli::emails::from_moto_data(&self.data().await)
    }

    /// The emails accepted for one recipient.
    pub async fn emails_to(&self, address: &str) -> Vec<SentEmail> {
        self.sent_emails()
            .await
            .into_iter()
            .filter(|e| e.to.iter().any(|t| t == address))
            .collect()
    }
}
