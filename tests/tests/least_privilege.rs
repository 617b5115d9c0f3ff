//! Least privilege, proven against moto with IAM enforced (`scripts/local_iam.py`): each
//! function's real binary runs as a principal holding exactly its template policy (resolved to
//! the local stack's ARNs), through its sample events, and gets the answers it gets with no
//! IAM at all; then each action of each statement is taken out in turn, and the run must be
//! refused that very action, or the permission is dead. The report printed lists every
//! statement's action with the call that needs it.

use serde_json::{json, Value};
use std::time::Duration;
use telltale::auth::Role;
use telltale_testkit::events::sample_events;
use telltale_testkit::iam::{covers, strings, without};
use telltale_testkit::iam_stack::{environment, for_stack, placeholders, stack};
use telltale_testkit::moto::Moto;
use telltale_testkit::runtime_api::{Answer, Invocation, RuntimeApi};
use telltale_testkit::{built_binary, repo_root, unique};

/// What a run must answer: an HTTP status, or a scheduled run that succeeded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Status(u16),
    Done,
}

struct Scenario {
    function_id: &'static str,
    binary: &'static str,
    role: Role,
    events: Vec<(Value, Expect)>,
}

fn http(binary: &'static str, function_id: &'static str, role: Role) -> Scenario {
    let mut events: Vec<(Value, Expect)> = sample_events(binary)
        .into_iter()
        .map(|e| {
            let payload: Value = serde_json::from_str(&e.text).expect("an event");
            (payload, Expect::Status(e.expected_status))
        })
        .collect();
    if binary == "probe-submit" {
        // A retried submission (the same Idempotency-Key) reads the first one's record back.
        let text =
            std::fs::read_to_string(repo_root().join("events/probe-submit/post-rpm.201.json"))
                .expect("the submission event");
        let mut retried: Value = serde_json::from_str(&text).unwrap();
        retried["headers"]["Idempotency-Key"] = json!("least-privilege-1");
        retried["multiValueHeaders"]["Idempotency-Key"] = json!(["least-privilege-1"]);
        events.push((retried.clone(), Expect::Status(201)));
        events.push((retried, Expect::Status(201)));
        // A page of the whole list is one Query of the by-name index.
        let text = std::fs::read_to_string(repo_root().join("events/probe-submit/list.200.json"))
            .expect("the list event");
        let mut paged: Value = serde_json::from_str(&text).unwrap();
        paged["queryStringParameters"] = json!({"limit": "1"});
        paged["multiValueQueryStringParameters"] = json!({"limit": ["1"]});
        events.push((paged, Expect::Status(200)));
    }
    Scenario {
        function_id,
        binary,
        role,
        events,
    }
}

fn scheduled(binary: &'static str, function_id: &'static str) -> Scenario {
    scheduled_event(binary, function_id, "scheduled.json")
}

/// A collector function's run: the scheduler's input for it (`events/collector/`).
fn collector(function_id: &'static str, file: &str) -> Scenario {
    scheduled_event("collector", function_id, file)
}

fn scheduled_event(binary: &'static str, function_id: &'static str, file: &str) -> Scenario {
    let text = std::fs::read_to_string(repo_root().join("events").join(binary).join(file))
        .expect("the scheduled event");
    scheduled_with(binary, function_id, serde_json::from_str(&text).unwrap())
}

/// A declared collector's function, run as its schedule's input names it.
fn declared(function_id: &'static str, collector: &str) -> Scenario {
    scheduled_with("collector", function_id, json!({"collector": collector}))
}

fn scheduled_with(binary: &'static str, function_id: &'static str, mut event: Value) -> Scenario {
    event["time"] = Value::from(telltale::base::time::timestamp(
        time::OffsetDateTime::now_utc(),
    ));
    Scenario {
        function_id,
        binary,
        role: Role::Monitoring,
        events: vec![(event, Expect::Done)],
    }
}

/// What a run shows: the answers that differ from the expected ones, what was refused, and
/// the resource taken out (as this run's stack names it).
struct Ran {
    wrong: Vec<String>,
    denied: Vec<(String, String)>,
    removed: String,
}

/// Runs the scenario on a fresh stack as a principal holding the function's policy, less
/// `drop`'s action on the statement's `drop.2`-th resource when given.
async fn run(
    iam: &Moto,
    s: &Scenario,
    policy: &[Value],
    drop: Option<(usize, &str, usize)>,
) -> Ran {
    let stack = stack(iam, s.role).await;
    let mut statements = for_stack(policy, &stack.names);
    let mut removed = String::new();
    if let Some((i, action, r)) = drop {
        removed = strings(&statements[i]["Resource"])[r].clone();
        statements = without(&statements, i, action, &removed);
    }
    let key = iam.principal(&unique(s.binary), &statements);
    let env = environment(s.binary, &stack.table, &key);
    let invocations: Vec<Invocation> = s
        .events
        .iter()
        .map(|(payload, _)| Invocation {
            request_id: unique("req"),
            trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
            payload: payload.clone(),
        })
        .collect();
    let api = RuntimeApi::start(invocations.clone()).await;
    let path = built_binary(s.binary, s.binary);
    let running = api.spawn(&path, s.binary, &env);
    let answers = api
        .answers(invocations.len(), Duration::from_secs(120))
        .await;
    std::mem::drop(running);
    let wrong = invocations
        .iter()
        .zip(&s.events)
        .filter_map(|(inv, (_, expect))| {
            let a: &Answer = answers.iter().find(|a| a.request_id == inv.request_id)?;
            let got = match a.kind {
                "response" if a.body.get("statusCode").is_some() => {
                    Expect::Status(a.body["statusCode"].as_u64().unwrap_or(0) as u16)
                }
                "response" => Expect::Done,
                _ => Expect::Status(0),
            };
            (got != *expect).then(|| format!("expected {expect:?}, got {got:?}: {}", a.body))
        })
        .collect();
    Ran {
        wrong,
        denied: iam.denied(&key.0),
        removed,
    }
}

/// The per-run part of a local name (`probes-1a2b3c4d5e6f` → `1a2b3c4d5e6f`), left out of
/// the report.
fn unique_part(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 12
                && w.chars().all(|c| c.is_ascii_hexdigit())
                && w.chars().any(|c| c.is_ascii_digit())
        })
        .unwrap_or("\u{0}")
        .to_string()
}

/// Permissions kept although a run here cannot show the call that needs them, with why.
const NOT_SHOWN: &[(&str, &str, &str)] = &[
    ("metric-metadata", "s3:ListBucket", LIST_BUCKET),
    ("metric-value", "s3:ListBucket", LIST_BUCKET),
    ("accounting-push", "s3:ListBucket", LIST_BUCKET),
    ("collector", "s3:ListBucket", LIST_BUCKET),
    (
        "heartbeat-sweep",
        "dynamodb:GetItem",
        "re-reads a check a ping changed between the sweep's read and its write; one sweep alone does not race",
    ),
];

const LIST_BUCKET: &str = "without it AWS answers a missing object's GetObject with AccessDenied, not NoSuchKey; moto answers NoSuchKey whatever the policy";

/// Each scenario's function needs exactly its template policy: the report of which call needs
/// each permission is printed; a dead one, or a run that answers otherwise than without IAM,
/// fails. Each test has its own moto, so the two run side by side.
async fn prove(scenarios: Vec<Scenario>) {
    let iam = Moto::start();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for s in &scenarios {
        let policy = iam.policy(s.function_id, &placeholders());
        let Ran { wrong, denied, .. } = run(&iam, s, &policy, None).await;
        if !wrong.is_empty() || !denied.is_empty() {
            failures.push(format!(
                "{} with its whole policy: refused {denied:?}; {}",
                s.binary,
                wrong.join("; ")
            ));
            continue;
        }
        let statements = &policy;
        for (i, statement) in statements.iter().enumerate() {
            for action in strings(&statement["Action"]) {
                for (r, resource) in strings(&statement["Resource"]).iter().enumerate() {
                    let shown = resource.replace(&unique_part(resource), "…");
                    if let Some((_, _, why)) = NOT_SHOWN
                        .iter()
                        .find(|(b, a, _)| *b == s.binary && *a == action)
                    {
                        report.push(format!(
                            "{} {action} on {shown}: kept, not shown here: {why}",
                            s.function_id
                        ));
                        continue;
                    }
                    let ran = run(&iam, s, &policy, Some((i, &action, r))).await;
                    let denied = &ran.denied;
                    match denied
                        .iter()
                        .find(|(a, r)| *a == action && covers(&ran.removed, r))
                    {
                        Some((a, r)) => report.push(format!(
                            "{} {action} on {shown}: needed, by {a} on {}",
                            s.function_id,
                            r.replace(&unique_part(r), "…")
                        )),
                        None => failures.push(format!(
                            "{} {action} on {shown}: dead (nothing it grants was refused without it; refused {denied:?})",
                            s.function_id
                        )),
                    }
                }
            }
        }
    }
    eprintln!("least privilege:\n  {}", report.join("\n  "));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn http_scenarios() -> Vec<Scenario> {
    vec![
        http("probe-submit", "ProbeSubmitFunction", Role::Submitter),
        http("probe-status", "ProbeStatusFunction", Role::Monitoring),
        http("heartbeat", "HeartbeatFunction", Role::Monitoring),
        http(
            "metric-metadata",
            "MetricMetadataFunction",
            Role::Monitoring,
        ),
        http("metric-value", "MetricValueFunction", Role::Monitoring),
    ]
}

fn scheduled_scenarios() -> Vec<Scenario> {
    vec![
        scheduled("email-retry", "EmailRetryFunction"),
        scheduled("token-refresh", "TokenRefreshFunction"),
        scheduled("accounting-push", "AccountingPushFunction"),
        scheduled("heartbeat-sweep", "HeartbeatSweepFunction"),
        scheduled("heartbeat-source", "HeartbeatSourceFunction"),
        collector(
            "CollectorProbePipelineFunction",
            "scheduler-probe-pipeline.json",
        ),
        collector(
            "CollectorEmailOutboxFunction",
            "scheduler-email-outbox.json",
        ),
        collector("CollectorMasCatalogFunction", "scheduler-mas-catalog.json"),
        collector(
            "CollectorMetricValuesFunction",
            "scheduler-metric-values.json",
        ),
        collector(
            "CollectorAccountingPushFunction",
            "scheduler-accounting-push.json",
        ),
        declared("CollectorScrapeTargetsUpFunction", "scrape_targets_up"),
    ]
}

/// Template functions no scenario runs, with why.
const NOT_RUN: &[(&str, &str)] = &[
    ("TeamPageFunction", "its role holds no statement"),
    ("CollectorAutopkgtestQueueFunction", DECLARED),
    ("CollectorAutopkgtestRunningFunction", DECLARED),
    ("CollectorSponsoringQueueFunction", DECLARED),
    ("CollectorRlsBugTasksFunction", DECLARED),
];

const DECLARED: &str = "a declared collector reading a web document: its one statement (the InfluxDB secret) is CollectorScrapeTargetsUpFunction's, proven there";

#[tokio::test]
async fn the_http_functions_need_exactly_their_template_policy() {
    prove(http_scenarios()).await;
}

#[tokio::test]
async fn the_scheduled_functions_need_exactly_their_template_policy() {
    prove(scheduled_scenarios()).await;
}

/// Every function of the template is proven above or listed in `NOT_RUN` with its reason.
#[test]
fn every_template_function_is_proven_or_says_why_not() {
    let template = telltale_testkit::decoded_template();
    let run: Vec<&str> = http_scenarios()
        .iter()
        .chain(&scheduled_scenarios())
        .map(|s| s.function_id)
        .collect();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let listed = NOT_RUN.iter().any(|(n, _)| n == id);
        assert!(
            run.contains(&id.as_str()) != listed,
            "{id}: run by a scenario or listed in NOT_RUN (exactly one)"
        );
    }
}
