//! Every function runs locally with the environment its template entry declares: the runner
//! `cargo lambda watch` starts functions through (`scripts/function_env.py`) keeps only the
//! variables of the function's `Environment.Variables` (globals included), resolved from the
//! table of local values (`infra/local/functions.env`). Here each function's real binary is
//! started that way against a loopback Runtime API, and none may answer that its
//! configuration is incomplete; with a variable taken out of one entry of a copy of the
//! template, that function fails, naming itself and the variable.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use telltale_testkit::events::rest_event;
use telltale_testkit::runtime_api::{Invocation, RuntimeApi};
use telltale_testkit::{built_binary, local_config, repo_root, unique, venv_bin};

/// The table of local values as `make dev` renders it, every service on a closed port: a
/// function that is configured fails fast on its first call, one that is not says so.
fn local_values() -> Vec<(String, String)> {
    let closed = "9";
    let collectors = repo_root().join("infra/collectors.yaml");
    let text = local_config(
        "functions.env",
        &[
            ("MOTO_PORT", closed),
            ("INVOKE_PORT", closed),
            ("PROMETHEUS_PORT", closed),
            ("INFLUXDB_PORT", closed),
            ("PUSHGATEWAY_PORT", closed),
            ("ALERTMANAGER_PORT", closed),
            ("EOSC_PORT", closed),
            ("CURSOR_KEY", "00112233445566778899aabbccddeeff"),
            (
                "COLLECTORS_FILE",
                collectors.to_str().expect("a UTF-8 path"),
            ),
        ],
    );
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=VALUE: {l}"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

fn runner(args: &[&str], table: &[(String, String)], template: Option<&Path>) -> String {
    let mut cmd = Command::new(venv_bin("python"));
    cmd.arg(repo_root().join("scripts/function_env.py"))
        .args(args)
        .env_clear()
        .envs(table.iter().cloned());
    if let Some(t) = template {
        cmd.env("TELLTALE_TEMPLATE", t);
    }
    let out = cmd.output().expect("running scripts/function_env.py");
    assert!(
        out.status.success(),
        "function_env.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `binary`'s environment as the runner gives it.
fn environment(
    binary: &str,
    table: &[(String, String)],
    template: Option<&Path>,
) -> Vec<(String, String)> {
    runner(&["show", binary], table, template)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Starts `binary` with exactly `env` (and what Lambda adds), hands it one event, and returns
/// its answer when that says the function is not configured.
async fn unconfigured(binary: &str, env: &[(String, String)]) -> Option<String> {
    let mut event = rest_event("GET", "/-/configuration-check", &[], None);
    // Scheduled functions read the event's time first: a garbled one ends their run at once.
    event["time"] = Value::from("garbled");
    let api = RuntimeApi::start(vec![Invocation {
        request_id: unique("req"),
        trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
        payload: event,
    }])
    .await;
    let path = built_binary(binary, binary);
    let mut child = Command::new(&path)
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", binary)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
    let answers = api.answers(1, Duration::from_secs(60)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = answers[0].body.to_string();
    text.contains("not configured").then_some(text)
}

#[tokio::test]
async fn every_function_starts_from_its_template_environment() {
    let table = local_values();
    let binaries: Vec<String> = runner(&["names"], &table, None)
        .lines()
        .map(str::to_string)
        .collect();
    let functions: Vec<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for f in &functions {
        assert!(binaries.contains(f), "functions/{f} has no template entry");
    }
    let envs: Vec<Vec<(String, String)>> = binaries
        .iter()
        .map(|b| environment(b, &table, None))
        .collect();
    for b in &binaries {
        built_binary(b, b);
    }
    let answers = futures::future::join_all(
        binaries
            .iter()
            .zip(&envs)
            .map(|(b, env)| unconfigured(b, env)),
    )
    .await;
    let failures: Vec<String> = binaries
        .iter()
        .zip(answers)
        .filter_map(|(b, problem)| problem.map(|p| format!("{b}: {p}")))
        .collect();
    assert!(
        failures.is_empty(),
        "a function's template entry lacks what its configuration needs:\n{}",
        failures.join("\n")
    );
    // Only what the entry declares: the team page reads no table, so it gets none.
    let team = environment("team-page", &table, None);
    assert!(team.iter().all(|(k, _)| k != "PROBES_TABLE"), "{team:?}");
    assert!(team
        .iter()
        .any(|(k, v)| k == "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH" && v == "true"));
    // A secret the template names by its SSM parameter is the plain variable locally.
    let push = environment("accounting-push", &table, None);
    assert!(
        push.iter().any(|(k, _)| k == "OIDC_CLIENT_SECRET"),
        "{push:?}"
    );
}

#[tokio::test]
async fn a_variable_the_template_forgets_fails_naming_the_function_and_the_variable() {
    let template = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let entry = template.find("  ProbeSubmitFunction:").expect("the entry");
    let line = "          PROBES_TABLE: !Ref ProbesTable\n";
    let at = entry + template[entry..].find(line).expect("its PROBES_TABLE");
    let edited = format!("{}{}", &template[..at], &template[at + line.len()..]);
    let dir = std::env::temp_dir().join(unique("template"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("template.yaml");
    std::fs::write(&copy, edited).unwrap();

    let table = local_values();
    let env = environment("probe-submit", &table, Some(&copy));
    assert!(env.iter().all(|(k, _)| k != "PROBES_TABLE"), "{env:?}");
    let problem = unconfigured("probe-submit", &env)
        .await
        .expect("probe-submit without PROBES_TABLE says it is not configured");
    assert!(problem.contains("PROBES_TABLE"), "{problem}");
}
