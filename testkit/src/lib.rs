//! Real local services for integration tests, started once per test binary on free ports.
//!
//! Every service is tied to the test process: it reads its standard input until end-of-file, so
//! when the test binary exits (however it exits) the pipe closes and the service stops. A
//! service whose binary is missing fails the test with the command that installs it.

pub mod alerting;
pub mod collectors;
pub mod contracts;
pub mod documents;
pub mod eosc;
pub mod events;
pub mod fault;
pub mod heartbeat;
pub mod heartbeat_calls;
pub mod iam;
pub mod iam_stack;
pub mod influx;
pub mod influx2;
pub mod local_env;
pub mod memory;
pub mod monasca;
pub mod moto;
pub mod ping_scenarios;
pub mod probes;
pub mod prometheus;
pub mod receiver;
pub mod runtime_api;
pub mod sweep_scenarios;
pub mod watch;

use std::path::PathBuf;

pub const INSTALL_HINT: &str = "run `make setup` (scripts/setup.sh) to install the local services";

/// The repository root (the library crate sits in `shared/`).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// A program from the project's virtualenv (`TELLTALE_VENV`, default `.venv`).
pub fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var("TELLTALE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv"));
    let venv = if venv.is_absolute() {
        venv
    } else {
        repo_root().join(venv)
    };
    let path = venv.join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: {INSTALL_HINT}",
        path.display()
    );
    path
}

/// Serves an HTTP double on a free loopback port, in the background of the current runtime;
/// its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a double");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Starts `program` with `args`, tied to the test process: a shell runs it and stops it when
/// its standard input (a pipe held by the test process) closes, however the test binary
/// exits. Its output goes to `log`.
pub fn spawn_tied(program: &str, args: &[String], log: &std::path::Path) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new("sh")
        .arg("-c")
        .arg(r#""$@" & pid=$!; cat >/dev/null; kill $pid; wait $pid"#)
        .arg("sh")
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(log)
                .map(Stdio::from)
                .unwrap_or(Stdio::null()),
        )
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"))
}

/// Waits until `url` answers 2xx (certificates not checked), at most a minute; otherwise
/// fails pointing at the service's log.
pub fn wait_ready(url: &str, what: &str, log: &std::path::Path) {
    use std::process::{Command, Stdio};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = Command::new("curl")
            .args(["-fsSk", "-o", "/dev/null", url])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not become ready at {url}; see {}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A name no other test (or test binary) uses: lowercase, valid for buckets and tables.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// The `telltale` command line, built once for tests outside the library's own package.
pub fn cli_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| built_binary("telltale-cli", "telltale"))
        .clone()
}

/// `cargo build`s one binary of a workspace package (debug profile) and returns its path.
pub fn built_binary(package: &str, binary: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", binary])
        .current_dir(repo_root())
        .status()
        .unwrap_or_else(|e| panic!("running cargo build for {binary}: {e}"));
    assert!(status.success(), "building {binary} failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    target.join("debug").join(binary)
}

/// `infra/template.yaml` as CloudFormation reads it: cfn-lint's own YAML loader (in the
/// project's virtualenv) understands `!Ref`, `!Sub` and the rest, and gives their long forms.
pub fn decoded_template() -> serde_json::Value {
    let out = std::process::Command::new(venv_bin("python"))
        .args(["-c", "import json,sys; from cfnlint.decode import decode; t,m = decode(sys.argv[1]); assert not m, m; print(json.dumps(t))"])
        .arg(repo_root().join("infra/template.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("running cfn-lint's decoder ({INSTALL_HINT}): {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the decoder's JSON")
}

/// A local service's configuration from `infra/local/<file>`, the file `make dev` renders
/// too (`scripts/render_config.py`), with every `{{NAME}}` filled in from `values`. A
/// placeholder without a value, or a value for none, fails the test: the two must agree.
pub fn local_config(file: &str, values: &[(&str, &str)]) -> String {
    let path = repo_root().join("infra/local").join(file);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (name, value) in values {
        let placeholder = format!("{{{{{name}}}}}");
        assert!(text.contains(&placeholder), "{file} has no {placeholder}");
        text = text.replace(&placeholder, value);
    }
    assert!(
        !text.contains("{{"),
        "{file} has a placeholder left: {text}"
    );
    text
}
