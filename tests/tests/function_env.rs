//! Every function runs locally with the environment its template entry declares: the runner
//! `cargo lambda watch` starts functions through (`scripts/function_env.py`) keeps only the
//! variables of the function's `Environment.Variables` (globals included), resolved from the
//! table of local values (`infra/local/functions.env`). Here each function's real binary is
//! started that way against a loopback Runtime API, and none may answer that its
//! configuration is incomplete; with a variable taken out of one entry of a copy of the
//! template, that function fails, naming itself and the variable.

use serde_json::Value;

use std::path::{Path, PathBuf};
use std::time::Duration;
use telltale::auth::Role;
use telltale_testkit::events::rest_event;
use telltale_testkit::local_env::{function_environment, local_values as render, runner};
use telltale_testkit::moto::{function_denials, function_principals};
use telltale_testkit::probes::ProbeFixture;
use telltale_testkit::runtime_api::{Invocation, RuntimeApi};
use telltale_testkit::{built_binary, repo_root, unique};

/// The table of local values as `make dev` renders it, every service on a closed port: a
/// function that is configured fails fast on its first call, one that is not says so.
fn local_values() -> Vec<(String, String)> {
    let closed = "9";
    let collectors = repo_root().join("infra/collectors.yaml");
    render(&[
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
    ])
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
    let running = api.spawn(&path, binary, env);
    let answers = api.answers(1, Duration::from_secs(60)).await;
    drop(running);
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
        .map(|b| function_environment(b, &table, None))
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
    let team = function_environment("team-page", &table, None);
    assert!(team.iter().all(|(k, _)| k != "PROBES_TABLE"), "{team:?}");
    assert!(team
        .iter()
        .any(|(k, v)| k == "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH" && v == "true"));
    // A secret the template names by its SSM parameter is the plain variable locally.
    let push = function_environment("accounting-push", &table, None);
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
    let env = function_environment("probe-submit", &table, Some(&copy));
    assert!(env.iter().all(|(k, _)| k != "PROBES_TABLE"), "{env:?}");
    let problem = unconfigured("probe-submit", &env)
        .await
        .expect("probe-submit without PROBES_TABLE says it is not configured");
    assert!(problem.contains("PROBES_TABLE"), "{problem}");
}

/// `GET /api/v2/probes/` to probe-submit, started by the runner from `table` (and `template`
/// instead of the real one when given): the status it answers, and its body.
async fn list_status(
    table: &[(String, String)],
    key: &str,
    template: Option<&Path>,
) -> (u64, String) {
    let event = rest_event("GET", "/api/v2/probes/", &[("x-api-key", key)], None);
    let api = RuntimeApi::start(vec![Invocation {
        request_id: unique("req"),
        trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
        payload: event,
    }])
    .await;
    let mut table = table.to_vec();
    if let Some(t) = template {
        table.push(("TELLTALE_TEMPLATE".into(), t.to_str().unwrap().into()));
    }
    let running = api.spawn(
        &built_binary("probe-submit", "probe-submit"),
        "probe-submit",
        &table,
    );
    let answers = api.answers(1, Duration::from_secs(60)).await;
    drop(running);
    let body = &answers[0].body;
    let text = body["body"].as_str().unwrap_or_default().to_string();
    (body["statusCode"].as_u64().unwrap_or(0), text)
}

/// With the emulator enforcing IAM, the runner runs each function as a principal holding its
/// template policy, not with the table's (the administrator's) keys: a statement taken out of
/// a copy of the template is refused to that function, and the test kit names it.
#[tokio::test]
async fn a_function_runs_as_its_template_policy_and_is_refused_what_it_lacks() {
    let f = ProbeFixture::new(Role::Submitter).await;
    let table = f.env();
    let dir: PathBuf = table
        .iter()
        .find(|(k, _)| k == "LOCAL_IAM_DIR")
        .map(|(_, v)| v.into())
        .expect("the test kit's moto enforces IAM");
    assert_eq!(list_status(&table, &f.key, None).await.0, 200);
    assert_eq!(function_denials(&dir), Vec::<String>::new());
    let admin = &table
        .iter()
        .find(|(k, _)| k == "AWS_ACCESS_KEY_ID")
        .unwrap()
        .1;
    let made: Vec<String> = function_principals(&dir)
        .into_iter()
        .filter(|(binary, _)| binary == "probe-submit")
        .map(|(_, key)| key)
        .collect();
    assert_eq!(made.len(), 1, "one principal for probe-submit: {made:?}");
    assert_ne!(&made[0], admin);

    let template = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let entry = template.find("  ProbeSubmitFunction:").expect("the entry");
    let statement = "            - Effect: Allow\n              Action: dynamodb:Query\n";
    let at = entry
        + template[entry..]
            .find(statement)
            .expect("its Query statement");
    let end = at
        + template[at..]
            .find("/index/by-name\"\n")
            .expect("its last index")
        + 16;
    let edited = format!("{}{}", &template[..at], &template[end..]);
    let copy = std::env::temp_dir()
        .join(unique("template"))
        .with_extension("yaml");
    std::fs::write(&copy, edited).unwrap();
    let (status, body) = list_status(&table, &f.key, Some(&copy)).await;
    assert!(
        (500..600).contains(&status) && body.contains("DynamoDB"),
        "{status} {body}"
    );
    // The list asks each status's partition at once: one refusal, once per status.
    let mut refused = function_denials(&dir);
    refused.dedup();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].starts_with("probe-submit: \"dynamodb:Query\" on \"arn:aws:dynamodb:")
            && refused[0].ends_with(&format!("table/{}/index/by-status\"", f.probes_table)),
        "{refused:?}"
    );
}
