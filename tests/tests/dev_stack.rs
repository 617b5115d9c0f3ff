//! `cargo lambda watch` as `make dev` runs it (reloading on changes): a change to a file that
//! is not compiled into a function (tools' caches, docs, the dev stack's state) restarts
//! nothing, so requests in flight are never cut; a change to a function's source does.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use telltale_testkit::watch::free_port;
use telltale_testkit::{repo_root, venv_bin};

/// How many times watch has started the team-page function so far.
fn starts(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("Running `target/debug/team-page`")
        .count()
}

/// Stops watch and its functions (its own process group) and removes the files the test
/// wrote, however the test ends.
struct Cleanup {
    watch: std::process::Child,
    files: Vec<std::path::PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let group = format!("-{}", self.watch.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.watch.wait();
        for f in &self.files {
            let _ = std::fs::remove_file(f);
            if let Some(dir) = f.parent().filter(|d| d.ends_with(".hypothesis")) {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

fn get(url: &str) -> u16 {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-m",
            "600",
            url,
        ])
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn only_source_changes_restart_a_function() {
    let root = repo_root();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("telltale-reload-{port}.log"));
    let watch = Command::new(venv_bin("cargo-lambda"))
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--disable-cors",
        ])
        .args(["--invoke-port", &port.to_string()])
        .current_dir(&root)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting cargo lambda watch (make setup installs it into .venv)");
    let mut cleanup = Cleanup {
        watch,
        files: vec![],
    };
    let url = format!("http://127.0.0.1:{port}/team/");
    wait_for("watch answers", || get(&url) == 200);
    assert_eq!(starts(&log), 1);

    // What tools and the dev stack write while make dev runs.
    let cache = root.join(".hypothesis/reload-test");
    let contract = root.join("tests/contract/.hypothesis/reload-test");
    let state = root.join(".local/reload-test");
    cleanup.files = vec![cache.clone(), contract.clone(), state.clone()];
    for path in [&cache, &contract, &state] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        for i in 0..3 {
            std::fs::write(path, format!("{i}")).unwrap();
        }
    }
    // Prometheus compacting its blocks: a directory of files under the state, removed whole.
    let block = root.join(".local/reload-test-block");
    std::fs::create_dir_all(block.join("chunks")).unwrap();
    std::fs::write(block.join("chunks/000001"), "chunk").unwrap();
    std::fs::write(block.join("meta.json"), "{}").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    std::fs::remove_dir_all(&block).unwrap();
    let docs = root.join("docs/api.md");
    let text = std::fs::read(&docs).unwrap();
    std::fs::write(&docs, &text).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(get(&url), 200);
    let after_noise = starts(&log);

    // A source change does restart it (the control: the count above could see a restart).
    let main = root.join("functions/team-page/src/main.rs");
    let source = std::fs::read(&main).unwrap();
    std::fs::write(&main, &source).unwrap();
    wait_for("a restart after the source change", || starts(&log) == 2);
    assert_eq!(get(&url), 200);

    assert_eq!(
        after_noise, 1,
        "a change outside the sources restarted the function"
    );
}

/// What `make dev` shows of watch's output: a function's JSON line as one short line (an
/// invocation's with its function, status and duration), watch's errors as they are, and none of its routine or the runtime's per-spawn warning.
#[test]
fn the_console_keeps_what_a_person_reads() {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(telltale_testkit::repo_root().join("scripts/dev_console.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 scripts/dev_console.py");
    let input = concat!(
        "{\"timestamp\":\"2026-12-01T17:08:35.1Z\",\"level\":\"WARN\",\"message\":\"AWS_LAMBDA_MAX_CONCURRENCY is set to '1', but the concurrency-tokio feature is not enabled; running sequentially\"}\n",
        "{\"timestamp\":\"2026-12-01T17:08:42.5Z\",\"level\":\"INFO\",\"message\":\"mapping file loaded\",\"key\":\"m.json\",\"span\":{\"requestId\":\"r-1\"}}\n",
        "{\"timestamp\":\"2026-12-01T17:08:43.0Z\",\"level\":\"INFO\",\"function\":\"probe-submit\",\"method\":\"GET\",\"path\":\"/api/v2/probes/\",\"status\":403,\"duration_ms\":4.2,\"error\":\"wrong key\",\"message\":\"answered\",\"span\":{\"requestId\":\"r-2\"}}\n",
        "{\"timestamp\":\"2026-12-01T17:08:44.0Z\",\"level\":\"INFO\",\"function\":\"collector\",\"duration_ms\":81.5,\"result\":\"points=3 warnings=0\",\"message\":\"run finished\"}\n",
        "{\"timestamp\":\"2026-12-01T17:08:45.0Z\",\"level\":\"ERROR\",\"function\":\"email-retry\",\"duration_ms\":12.0,\"error\":\"1 email(s) still not sent\",\"message\":\"run failed\"}\n",
        " INFO spawning function instance function=\"collector\" cmd=Exec { prog: \"cargo\", args: [\"run\"] }\n",
        "    Blocking waiting for file lock on build directory\n",
        "   Compiling telltale v0.1.0\n",
        "     Running `target/debug/collector`\n",
        "ERROR runtime error err=io\n",
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        concat!(
            "17:08:42 INFO  mapping file loaded key=m.json\n",
            "17:08:43 INFO  probe-submit     GET /api/v2/probes/ 403 in 4.2 ms: wrong key\n",
            "17:08:44 INFO  collector        finished in 81.5 ms: points=3 warnings=0\n",
            "17:08:45 ERROR email-retry      failed in 12.0 ms: 1 email(s) still not sent\n",
            "ERROR runtime error err=io\n",
        )
    );
}
