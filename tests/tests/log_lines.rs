//! A function's log lines as CloudWatch receives them: the real `probe-submit` binary runs
//! against a loopback Runtime API (the headers Lambda sends, request and trace id included)
//! and moto, at the level the runbook tells an operator to set when following a request.
//! Every line it prints during an invocation is a JSON object carrying that invocation's
//! request id and X-Ray trace id, and each DynamoDB and SES call it makes is a line with its
//! name and duration, and each invocation has one line at info: function, method, path, status,
//! duration and, for a refusal, why.

use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};
use telltale::auth::Role;
use telltale_testkit::events::rest_event;
use telltale_testkit::probes::{contact, ProbeFixture};
use telltale_testkit::runtime_api::{Invocation, Running, RuntimeApi};
use telltale_testkit::{built_binary, unique};

fn timestamp(line: &Value) -> SystemTime {
    let text = line["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no timestamp: {line}"));
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("timestamp {text:?}: {e}"));
    SystemTime::UNIX_EPOCH + Duration::from_nanos(at.unix_timestamp_nanos() as u64)
}

#[tokio::test]
async fn every_line_of_an_invocation_is_json_with_its_request_and_trace_id() {
    let f = ProbeFixture::new(Role::Submitter).await;
    let binary = built_binary("probe-submit", "probe-submit");
    let body = json!({
        "name": "log-probe", "description": "d", "docurl": "https://example.org/doc",
        "script": "https://example.org/script", "command": "check -H <HOST> -t 30",
        "contact": contact(),
    })
    .to_string();
    let key = f.key.clone();
    let calls: Vec<(Value, u16)> = vec![
        (
            rest_event("GET", "/api/v2/probes/", &[("x-api-key", &key)], None),
            200,
        ),
        (
            rest_event(
                "POST",
                "/api/v2/probes/",
                &[("x-api-key", &key), ("content-type", "application/json")],
                Some(&body),
            ),
            201,
        ),
        (
            rest_event("GET", "/api/v2/probes/", &[("x-api-key", "wrong")], None),
            403,
        ),
    ];
    let invocations: Vec<Invocation> = calls
        .iter()
        .enumerate()
        .map(|(i, (event, _))| Invocation {
            request_id: uuid::Uuid::new_v4().to_string(),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={:016x};Sampled=1",
                1_764_600_000 + i,
                &uuid::Uuid::new_v4().simple().to_string()[..24],
                0x5759_e988_bd86_2e3eu64 + i as u64
            ),
            payload: event.clone(),
        })
        .collect();
    let api = RuntimeApi::start(invocations.clone()).await;

    let dir = std::env::temp_dir().join(unique("log-lines"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("stdout");
    let child = api
        .command(&binary, "probe-submit", &f.env())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/telltale/local/probe-submit")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("RUST_LOG", "info,telltale=debug")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let running = Running(child);
    let answers = api.answers(calls.len(), Duration::from_secs(60)).await;
    // The lines of the last invocation are written before its answer is posted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(running);

    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(Value::is_object), "{text}");

    for (invocation, (_, status)) in invocations.iter().zip(&calls) {
        let answer = answers
            .iter()
            .find(|a| a.request_id == invocation.request_id)
            .unwrap_or_else(|| panic!("no answer for {}", invocation.request_id));
        assert_eq!(answer.kind, "response", "{:?}", answer.body);
        assert_eq!(answer.body["statusCode"], *status, "{:?}", answer.body);
        let during: Vec<&Value> = lines
            .iter()
            .filter(|l| {
                let at = timestamp(l);
                at >= answer.handed_out && at <= answer.answered
            })
            .collect();
        assert!(
            !during.is_empty(),
            "no line during {}: {text}",
            invocation.request_id
        );
        for line in &during {
            assert_eq!(
                line["span"]["requestId"], invocation.request_id,
                "a line without its request id: {line}"
            );
            assert_eq!(
                line["span"]["xrayTraceId"], invocation.trace_id,
                "a line without its trace id: {line}"
            );
        }
        let dependencies: Vec<&&Value> = during
            .iter()
            .filter(|l| l["message"] == "dependency call")
            .collect();
        for d in &dependencies {
            assert!(d["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{d}");
            assert!(
                d["operation"].as_str().is_some_and(|o| !o.is_empty()),
                "{d}"
            );
            assert_eq!(d["outcome"], "ok", "{d}");
        }
        let names: Vec<String> = dependencies
            .iter()
            .map(|d| {
                format!(
                    "{}.{}",
                    d["dependency"].as_str().unwrap_or(""),
                    d["operation"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert!(
            names.iter().any(|n| n == "DynamoDB.GetItem"),
            "the key lookup is not logged as a dependency call: {names:?}"
        );
        if *status == 201 {
            assert!(names.iter().any(|n| n == "SESv2.SendEmail"), "{names:?}");
        }
        // The line people read: one per invocation, the only one at info or above.
        let read: Vec<&&Value> = during.iter().filter(|l| l["level"] != "DEBUG").collect();
        assert_eq!(read.len(), 1, "not one line at info: {read:?}");
        let line = read[0];
        assert_eq!(line["message"], "answered", "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["function"], "probe-submit", "{line}");
        assert_eq!(line["path"], "/api/v2/probes/", "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{line}"
        );
        let method = if *status == 201 { "POST" } else { "GET" };
        assert_eq!(line["method"], method, "{line}");
        if *status == 403 {
            assert_eq!(
                line["error"], "Authentication credentials were not provided.",
                "{line}"
            );
        } else {
            assert!(line.get("error").is_none(), "{line}");
        }
    }
    // Every line after the first event was handed out belongs to an invocation.
    let first = answers.iter().map(|a| a.handed_out).min().unwrap();
    for line in lines.iter().filter(|l| timestamp(l) >= first) {
        let id = line["span"]["requestId"].as_str().unwrap_or_default();
        assert!(
            invocations.iter().any(|i| i.request_id == id),
            "a line outside every invocation: {line}"
        );
    }
    eprintln!("{text}");
}

/// A scheduled function's failed run reaches Lambda named (`errorType: JobFailed`, what the
/// console and the on-failure destination show), with the run's reasons as its message.
#[tokio::test]
async fn a_failed_scheduled_run_is_reported_as_a_named_error() {
    let binary = built_binary("collector", "collector");
    let invocation = Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        trace_id: format!(
            "Root=1-{:08x}-{};Sampled=1",
            1_764_600_000,
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        ),
        payload: json!({"collector": "no_such_collector"}),
    };
    let api = RuntimeApi::start(vec![invocation.clone()]).await;
    let child = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "collector")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("INFLUXDB_URL", "http://127.0.0.1:9")
        .env("INFLUXDB_DATABASE", "kpis")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let running = Running(child);
    let answers = api.answers(1, Duration::from_secs(60)).await;
    drop(running);
    let answer = &answers[0];
    assert_eq!(answer.kind, "error", "{:?}", answer.body);
    assert_eq!(answer.body["errorType"], "JobFailed", "{:?}", answer.body);
    let message = answer.body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("unknown collector \"no_such_collector\"; known: probe_pipeline"),
        "{message}"
    );
}

/// A scheduled function whose configuration is incomplete stays up and fails every run with
/// what is missing, named as every failed run is (the schedule's error alarm sees it).
#[tokio::test]
async fn a_scheduled_function_missing_its_configuration_fails_each_run_saying_what() {
    let binary = built_binary("email-retry", "email-retry");
    let invocation = |n: u32| Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        trace_id: format!(
            "Root=1-{:08x}-{};Sampled=1",
            1_764_600_000 + n,
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        ),
        payload: json!({}),
    };
    let api = RuntimeApi::start(vec![invocation(1), invocation(2)]).await;
    let child = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "email-retry")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let running = Running(child);
    let answers = api.answers(2, Duration::from_secs(60)).await;
    drop(running);
    for answer in &answers {
        assert_eq!(answer.kind, "error", "{:?}", answer.body);
        assert_eq!(answer.body["errorType"], "JobFailed", "{:?}", answer.body);
        let message = answer.body["errorMessage"].as_str().unwrap();
        assert_eq!(
            message,
            "this function is not configured: environment variable TEAM_EMAIL is required but not set"
        );
    }
}
