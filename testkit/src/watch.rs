//! `cargo lambda watch` with the workspace router, on a free port, for black-box tests. Each
//! function starts with the environment its template entry declares (`function_runner`), the
//! given variables being the table of local values it is resolved from.

use super::{repo_root, venv_bin};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Watch {
    pub base_url: String,
    child: Child,
    /// The enforcing emulator's directory the functions' principals were made in, if any.
    iam_dir: Option<std::path::PathBuf>,
}

/// An HTTP client for the functions under watch, patient enough for a function's first
/// request, which compiles it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("an HTTP client")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port on loopback")
}

impl Watch {
    /// Starts the emulator with `env` for the functions and waits until it accepts connections.
    /// Functions are compiled on their first request, so that request may take a while.
    pub fn start(env: &[(String, String)]) -> Watch {
        Watch::start_with(env, false)
    }

    /// As `start`, with the functions built in release mode when `release` is set.
    pub fn start_with(env: &[(String, String)], release: bool) -> Watch {
        Watch::start_concurrent(env, release, 1)
    }

    /// As `start_with`, running up to `instances` processes of each function at once (one
    /// invocation each at a time, as on Lambda).
    pub fn start_concurrent(env: &[(String, String)], release: bool, instances: u32) -> Watch {
        let port = free_port();
        let env_file = std::env::temp_dir().join(format!("telltale-watch-{port}.env"));
        let text: String = env
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"\n", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        std::fs::write(&env_file, text).expect("writing the functions' env file");
        let cargo_lambda = venv_bin("cargo-lambda");
        let log_path = std::env::temp_dir().join(format!("telltale-watch-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("creating the watch log");
        let mut child = Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--quiet",
                // As make dev runs it: no cross-origin answers.
                "--disable-cors",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &port.to_string()])
            .args(if release { &["--release"][..] } else { &[][..] })
            .args(["--concurrency", &instances.to_string()])
            .env(runner_variable(), function_runner())
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(repo_root())
            // Its own process group, so dropping the guard also stops the function processes.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", cargo_lambda.display()));
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("cargo lambda watch did not open port {port}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Watch {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            iam_dir: env
                .iter()
                .find(|(k, _)| k == "LOCAL_IAM_DIR")
                .map(|(_, v)| v.into()),
        }
    }
}

use std::os::unix::process::CommandExt;

/// `CARGO_TARGET_<host triple>_RUNNER`: the program cargo runs a binary through.
pub fn runner_variable() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("running rustc -vV");
    let text = String::from_utf8_lossy(&out.stdout);
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc names its host");
    format!(
        "CARGO_TARGET_{}_RUNNER",
        host.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// What cargo runs each function through under watch: `scripts/function_env.py exec`, which
/// gives it only its template entry's variables.
pub fn function_runner() -> String {
    format!(
        "{} {} exec",
        venv_bin("python").display(),
        repo_root().join("scripts/function_env.py").display()
    )
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
        // A function refused by IAM may still answer as the test expects (an email left to
        // retry, say); its policy lacking what it uses fails the test here all the same.
        if let Some(dir) = &self.iam_dir {
            let refused = crate::moto::function_denials(dir);
            if !refused.is_empty() && !std::thread::panicking() {
                panic!(
                    "IAM refused the functions what their template policy lacks:\n  {}",
                    refused.join("\n  ")
                );
            }
        }
    }
}
