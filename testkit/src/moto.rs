//! moto server: DynamoDB, S3 and SES on loopback.

use super::venv_bin;
use aws_config::{Region, SdkConfig};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Starts moto on a port the OS picks, prints the port, and stops when stdin closes.
/// moto answers each request on its own thread, and its DynamoDB changes items in place
/// without a lock, so two concurrent `ADD`s can lose one and concurrent transactions fail.
/// DynamoDB applies each request atomically; one request at a time gives the tests that.
const LAUNCHER: &str = r#"
import sys
import threading
from moto.dynamodb.responses import DynamoHandler
_one_at_a_time = threading.Lock()
_dispatch = DynamoHandler.call_action
def _atomic(self):
    with _one_at_a_time:
        return _dispatch(self)
DynamoHandler.call_action = _atomic
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"#;

pub struct Moto {
    pub endpoint: String,
    _child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The test binary's moto server, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        let python = venv_bin("python");
        let mut child = Command::new(&python)
            .args(["-c", LAUNCHER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto with {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("moto stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading moto's port");
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "moto did not start (said {line:?}); is moto[server] installed? {}",
                super::INSTALL_HINT
            )
        });
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    })
}

impl Moto {
    /// SDK configuration pointing at this server, as `AWS_ENDPOINT_URL` would.
    pub async fn sdk_config(&self) -> SdkConfig {
        telltale::adapters::aws::sdk_loader()
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "testkit",
            ))
            .load()
            .await
    }

    /// Environment for a process (a function under `cargo lambda watch`, the CLI) that should
    /// talk to this server through the standard variables.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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
