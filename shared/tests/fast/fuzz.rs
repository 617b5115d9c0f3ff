//! Property-based fuzzing of every parser that sees outside input: probe submission and status
//! bodies, mapping files (with the PromQL inside), the computation language, `#R#` rewriting,
//! heartbeat webhook bodies, collector intervals and line protocol.
//!
//! Each target runs `FUZZ_CASES` cases (2,000 by default, what the test command runs) and
//! prints how many it actually ran; `make fuzz` runs enough for more than a million in total
//! and adds up the printed counts.
//! The properties: nothing panics, and what is accepted keeps the promise the parser makes.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use telltale::collectors::line::{encode, Precision};
use telltale::collectors::point::{FieldValue, Point};
use telltale::metrics::expr::eval::{Context, MAX_RANGE_SECONDS};
use telltale_testkit::memory::MemoryPrometheus;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// Runs `test` on `cases()` values of `strategy` and prints how many cases actually ran
/// (shrinking a failure runs more); a broken property fails the test with its minimal input.
fn fuzz<S>(target: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let config = ProptestConfig {
        cases: cases(),
        // The minimal failing input is printed; no regression file is written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let executed = std::sync::atomic::AtomicU64::new(0);
    let result = TestRunner::new(config).run(&strategy, |value| {
        executed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        test(value)
    });
    println!(
        "fuzz: {target} {} cases",
        executed.load(std::sync::atomic::Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

/// Runs `test` as `fuzz` does, where `test` says whether the case reached the target's
/// property (a body the parser accepted, whose promise is then checked). Prints how many did,
/// and fails when fewer than a tenth did: a property reached by no case checks nothing.
fn fuzz_reaching<S>(
    target: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let reached = std::sync::atomic::AtomicU64::new(0);
    let cases = std::sync::atomic::AtomicU64::new(0);
    fuzz(target, strategy, |value| {
        cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if test(value)? {
            reached.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    let (reached, cases) = (reached.into_inner(), cases.into_inner());
    println!("fuzz-property: {target} reached in {reached} of {cases} cases");
    assert!(
        reached * 10 >= cases,
        "{target}: the property was reached in {reached} of {cases} cases (under 10%)"
    );
}

/// A JSON object built from `valid` with up to `changes` of its fields each dropped, replaced
/// by any value, or joined by a stranger: most cases stay near what the parser accepts, so
/// its promise on accepted input is checked, and the rest probe every way out of it.
fn mutated(valid: Value, changes: usize) -> impl Strategy<Value = Map<String, Value>> {
    let keys: Vec<String> = valid.as_object().unwrap().keys().cloned().collect();
    let change = (
        0..3u8,
        prop::sample::select(keys),
        prop_oneof![2 => text().prop_map(Value::String), 1 => json_value()],
        text(),
    );
    prop::collection::vec(change, 0..=changes).prop_map(move |list| {
        let mut body = valid.as_object().unwrap().clone();
        for (how, key, value, stranger) in list {
            match how {
                0 => {
                    body.remove(&key);
                }
                1 => {
                    body.insert(key, value);
                }
                _ => {
                    body.insert(stranger, value);
                }
            }
        }
        body
    })
}

/// Text as hostile callers send it: ASCII, control characters, bidi overrides, other scripts.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        "\\PC{0,40}",
        ".{0,20}",
        "[\u{0}-\u{1f}\u{7f}\u{202a}-\u{202e}\u{2066}-\u{2069}a -]{0,20}",
        Just("-9223372036854775808".to_string()),
        Just("https://example.org/x".to_string()),
        Just("a@example.org".to_string()),
        Just("check.py -t 10".to_string()),
    ]
}

/// Any JSON value, a few levels deep, with the numbers that break things.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object using the field names a parser knows, with any values, plus strangers.
fn object_with(fields: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    let known = prop::sample::select(fields).prop_map(str::to_string);
    let name = prop_oneof![4 => known, 1 => text()];
    let value = prop_oneof![3 => text().prop_map(Value::String), 1 => json_value()];
    prop::collection::btree_map(name, value, 0..10).prop_map(|m| m.into_iter().collect())
}

const SUBMISSION: &[&str] = &telltale::probes::validate::FIELDS;

const CHANGE: &[&str] = &[
    "status",
    "service_type",
    "devel_url",
    "production_url",
    "rejection_reason",
    "force",
    "expected_version",
];

#[test]
fn probe_submission_bodies() {
    let valid = telltale_testkit::memory::valid_submission("owner@example.org");
    fuzz_reaching(
        "probe_submission_bodies",
        prop_oneof![1 => object_with(SUBMISSION), 3 => mutated(valid, 3)],
        |body| {
            let Ok(s) = telltale::probes::validate::validate(&body) else {
                return Ok(false);
            };
            prop_assert!(!s.name.trim().is_empty() && s.name.chars().count() <= 128);
            prop_assert!(telltale::probes::validate::text_problem("name", &s.name).is_none());
            prop_assert!(telltale::probes::validate::is_email(&s.contact));
            prop_assert!(telltale::outbox::email::undeliverable(&s.contact).is_none());
            prop_assert!(telltale::probes::validate::has_timeout(&s.command));
            Ok(true)
        },
    );
}

#[test]
fn probe_status_bodies() {
    fuzz(
        "probe_status_bodies",
        (object_with(CHANGE), prop::option::of(text())),
        |(body, if_match)| {
            let _ = telltale::probes::change::parse_change(&body, if_match.as_deref());
            Ok(())
        },
    );
}

#[test]
fn mapping_files_as_bytes() {
    fuzz(
        "mapping_files_as_bytes",
        prop::collection::vec(any::<u8>(), 0..200),
        |bytes| {
            let _ = telltale::metrics::parse::parse_metadata(&bytes);
            let _ = telltale::metrics::parse::parse_metrics(&bytes);
            Ok(())
        },
    );
}

#[test]
fn mapping_files_as_json() {
    fuzz(
        "mapping_files_as_json",
        (
            text(),
            text(),
            object_with(&[
                "query",
                "name",
                "description",
                "unit",
                "type",
                "eoscMetricDefinitionId",
            ]),
        ),
        |(resource, metric, entry)| {
            let doc = json!({ resource: { metric: entry } }).to_string();
            let _ = telltale::metrics::parse::parse_metadata(doc.as_bytes());
            let _ = telltale::metrics::parse::parse_metrics(doc.as_bytes());
            Ok(())
        },
    );
}

#[test]
fn computation_language() {
    fuzz(
        "computation_language",
        prop_oneof![
            text(),
            // Strings assembled from the language's own tokens reach deeper than random text.
            prop::collection::vec(
                prop::sample::select(
                    &[
                        "#",
                        "query(",
                        "sumPeriods(",
                        ")",
                        "(",
                        ",",
                        "'",
                        "'up'",
                        "'sum(x[#R#])'",
                        "1",
                        "-",
                        "+",
                        "*",
                        "/",
                        "2.5e308",
                        "-9223372036854775808",
                        " ",
                        "''",
                        "\\",
                    ][..]
                ),
                0..16
            )
            .prop_map(|parts| parts.concat()),
        ],
        |source| {
            let _ = telltale::metrics::expr::compile(&source);
            Ok(())
        },
    );
}

#[test]
fn range_rewriting() {
    fuzz_reaching(
        "range_rewriting",
        (
            prop_oneof![
                // Any pair of instants, extremes included: mostly refused.
                1 => (
                    prop_oneof![
                        any::<i64>(),
                        Just(i64::MIN),
                        Just(i64::MAX),
                        0i64..4_102_444_800
                    ],
                    prop_oneof![any::<i64>(), Just(i64::MIN), 0i64..4_102_444_800],
                ),
                // A query time after the range start, by up to the longest range and a bit
                // more: mostly accepted, so the promise on the rewritten range is checked.
                1 => (0i64..4_102_444_800, 1i64..=MAX_RANGE_SECONDS + 1_000)
                    .prop_map(|(start, length)| (start + length, start)),
            ],
            text(),
        ),
        |((time, range_start), query)| {
            let prometheus = MemoryPrometheus::default();
            let ctx = Context {
                prometheus: &prometheus,
                time,
                range_start,
                entry: "r/m",
            };
            let text = format!("increase(x[#R#]) + {query}");
            let Ok(out) = ctx.substitute(&text) else {
                return Ok(false);
            };
            let seconds = time - range_start;
            prop_assert!(seconds > 0 && seconds <= MAX_RANGE_SECONDS);
            let expected = format!("increase(x[{seconds}s])");
            prop_assert!(out.starts_with(&expected));
            Ok(true)
        },
    );
}

/// The alarm names a webhook may carry: ordinary ones, long ones, hostile text.
fn alarm_names() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z][a-z0-9_ -]{0,30}".prop_map(Value::String),
        1 => "[a-z]{250,300}".prop_map(Value::String),
        1 => text().prop_map(Value::String),
    ]
}

#[test]
fn heartbeat_webhook_bodies() {
    let monasca = (alarm_names(), prop::sample::select(&["OK", "ALARM", "UNDETERMINED"][..]))
        .prop_flat_map(|(name, state)| {
            mutated(
                json!({"alarm_id": "a1", "alarm_definition_id": "d1", "alarm_name": name,
                       "alarm_description": "Heartbeat", "alarm_timestamp": 1795939200,
                       "state": state, "old_state": "OK", "message": "m", "tenant_id": "t",
                       "metrics": [{"name": "monascamonitor.heartbeat", "dimensions": {"hostname": "h"}}]}),
                2,
            )
        });
    let alertmanager = (alarm_names(), prop::sample::select(&["firing", "resolved"][..]))
        .prop_flat_map(|(name, status)| {
            mutated(
                json!({"version": "4", "groupKey": "{}:{}", "receiver": "telltale", "status": status,
                       "commonLabels": {"alertname": name},
                       "alerts": [{"status": status, "labels": {"alertname": name},
                                   "startsAt": "2026-12-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]}),
                2,
            )
        });
    fuzz_reaching(
        "heartbeat_webhook_bodies",
        prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..200),
            1 => json_value().prop_map(|v| v.to_string().into_bytes()),
            3 => monasca.prop_map(|m| Value::Object(m).to_string().into_bytes()),
            3 => alertmanager.prop_map(|m| Value::Object(m).to_string().into_bytes()),
        ],
        |body| {
            let Some(alarm) = telltale::heartbeat::webhook::parse(&body)
                .ok()
                .and_then(|d| d.alarm)
            else {
                return Ok(false);
            };
            prop_assert!(alarm.chars().count() <= 256);
            prop_assert!(!alarm.chars().any(char::is_control));
            Ok(true)
        },
    );
}

#[test]
fn collector_intervals() {
    fuzz(
        "collector_intervals",
        prop_oneof![
            text(),
            "[0-9]{0,20}(us|ms|s|sec|m|min|h|hr|d|w|M|y)?( ?[0-9]{1,5}[a-z]{1,3}){0,3}",
        ],
        |text| {
            if let Ok(every) = telltale::base::interval::parse(&text) {
                let _ = telltale::base::interval::rate_expression(every);
            }
            Ok(())
        },
    );
}

#[test]
fn line_protocol() {
    fuzz_reaching(
        "line_protocol",
        (
            text(),
            prop::collection::btree_map(text(), text(), 0..3),
            prop::collection::btree_map(
                text(),
                prop_oneof![
                    any::<i64>().prop_map(FieldValue::Int),
                    any::<f64>().prop_map(FieldValue::Float),
                    any::<bool>().prop_map(FieldValue::Bool),
                    text().prop_map(FieldValue::Text),
                ],
                0..3,
            ),
            prop::option::of(any::<i64>()),
        ),
        |(measurement, tags, fields, time)| {
            let mut point = Point::new(measurement);
            point.tags = tags;
            point.fields = fields;
            point.time = time.map(i128::from);
            // Quoted string fields may hold line breaks (InfluxDB reads them back); anywhere
            // else a line break would start another point.
            let quoted_breaks = point
                .fields
                .values()
                .any(|v| matches!(v, FieldValue::Text(t) if t.contains(['\n', '\r'])));
            let mut reached = false;
            for precision in [Precision::Nanoseconds, Precision::Seconds] {
                if let Ok(line) = encode(std::slice::from_ref(&point), precision) {
                    reached = true;
                    prop_assert!(line.ends_with('\n'));
                    if !quoted_breaks {
                        prop_assert_eq!(line.lines().count(), 1, "{:?}", line);
                    }
                }
            }
            Ok(reached)
        },
    );
}

/// Raw API Gateway events with hostile hosts, schemes, paths, queries and bodies (base64 or
/// not): each is answered (never a failed invocation, never a panic) and never with a 5xx.
#[test]
fn raw_http_events() {
    use telltale_testkit::events::{http_event, rest_event};
    let w = telltale_testkit::memory::ProbeWorld::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let parts = (
        any::<bool>(),
        (text(), text(), text()),
        (text(), prop::collection::vec(text(), 0..3)),
        (prop::option::of(text()), any::<bool>()),
    );
    fuzz(
        "raw_http_events",
        parts,
        |(rest, (host, proto, path), (query, multi), (body, base64))| {
            let headers = [
                ("x-api-key", telltale_testkit::memory::MONITORING),
                ("host", host.as_str()),
                ("x-forwarded-proto", proto.as_str()),
            ];
            let path = format!("/api/v2/probes/{path}");
            let mut event = if rest {
                rest_event("POST", &path, &headers, body.as_deref())
            } else {
                http_event("POST", &path, &headers, body.as_deref())
            };
            event["isBase64Encoded"] = json!(base64);
            if rest {
                event["multiValueQueryStringParameters"] = json!({ "q": multi });
            } else {
                event["rawQueryString"] = json!(query);
            }
            let handler = |req: lambda_http::Request| {
                let api = &w.api;
                async move {
                    Ok::<_, lambda_http::Error>(
                        telltale::http::probes::submit_routes(api, &req).await,
                    )
                }
            };
            let doc = runtime
                .block_on(telltale::http::event::answer(
                    handler,
                    telltale::http::error::poem_refusal,
                    event,
                    Default::default(),
                ))
                .map_err(|e| TestCaseError::fail(format!("the invocation failed: {e}")))?;
            let status = doc["statusCode"].as_u64().unwrap_or(0);
            prop_assert!((200..500).contains(&status), "{doc}");
            Ok(())
        },
    );
}
