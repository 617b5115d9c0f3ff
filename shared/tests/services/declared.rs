//! Declared collectors against a real InfluxDB: the examples of `infra/collectors.yaml` read
//! local copies of their documents (tests/fixtures/collectors/, in the public documents'
//! shapes) and write exactly the points the original Python collectors derive from the same
//! documents (their loops are written out below, independent of the jq programs); the PromQL
//! example writes what Prometheus itself answers. Every way a run can fail leaves the database
//! as it was, and field types hold across runs.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use telltale::adapters::influx::InfluxError;
use telltale::collectors::point::Point;
use telltale::collectors::registry::Registry;
use telltale::collectors::run::{run, Report};
use telltale::collectors::CollectorError;
use telltale_testkit::collectors::Stack;
use telltale_testkit::documents::{documents, fixtures, localized_declarations};
use telltale_testkit::influx::influx;
use telltale_testkit::prometheus::{prometheus, up_series};
use time::OffsetDateTime;

fn fixture(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(path)).unwrap()).unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

struct Setup {
    stack: Stack,
    registry: Registry,
    base: String,
}

async fn setup() -> Setup {
    let base = documents().await;
    let text = std::fs::read_to_string(localized_declarations(&base)).unwrap();
    Setup {
        stack: Stack::new(&prometheus(up_series).url, None).await,
        registry: Registry::with_file(&text).unwrap(),
        base,
    }
}

impl Setup {
    async fn run(
        &self,
        registry: &Registry,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<Report, CollectorError> {
        let collector = registry.find(name).unwrap_or_else(|| panic!("{name}"));
        run(
            collector,
            &self.stack.sources(&[]),
            &self.stack.sink(&[]).await,
            at,
        )
        .await
    }

    /// The points of `measurement` as read back: tags and fields, time left out.
    async fn points(&self, measurement: &str) -> BTreeSet<String> {
        influx()
            .rows(&self.stack.db, &format!("SELECT * FROM \"{measurement}\""))
            .await
            .into_iter()
            .map(|row| {
                let kept: BTreeMap<String, Value> = row
                    .into_iter()
                    .filter(|(k, v)| k != "time" && k != "_measurement" && !v.is_null())
                    .map(|(k, v)| (k, same(v)))
                    .collect();
                serde_json::to_string(&kept).unwrap()
            })
            .collect()
    }
}

fn expected(rows: impl IntoIterator<Item = Map<String, Value>>) -> BTreeSet<String> {
    rows.into_iter()
        .map(|r| {
            let kept: BTreeMap<String, Value> = r.into_iter().map(|(k, v)| (k, same(v))).collect();
            serde_json::to_string(&kept).unwrap()
        })
        .collect()
}

/// InfluxDB's JSON writes a whole float as `3`: compare numbers by value (the types are
/// checked with SHOW FIELD KEYS where they matter).
fn same(v: Value) -> Value {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => json!(f as i64),
        _ => v,
    }
}

fn row(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn the_autopkgtest_examples_write_what_the_original_collector_counts() {
    let s = setup().await;
    let at = now();
    let report = s.run(&s.registry, "autopkgtest_queue", at).await.unwrap();
    // autopkgtest_collector.collect_queue_sizes: context -> release -> arch -> count.
    let queues = fixture("autopkgtest.ubuntu.com/queues.json");
    let mut want = Vec::new();
    for (ctx, releases) in queues.as_object().unwrap() {
        for (rel, arches) in releases.as_object().unwrap() {
            for (arch, queued) in arches.as_object().unwrap() {
                want.push(row(json!({"context": ctx, "release": rel, "arch": arch,
                    "instance": "production", "count": queued.as_array().unwrap().len()})));
            }
        }
    }
    assert_eq!(report.written, want.len());
    assert_eq!(s.points("autopkgtest_queue_size").await, expected(want));

    s.run(&s.registry, "autopkgtest_running", at).await.unwrap();
    // collect_running: one per package, run, release and architecture.
    let running = fixture("autopkgtest.ubuntu.com/static/running.json");
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for runs in running.as_object().unwrap().values() {
        for releases in runs.as_object().unwrap().values() {
            for (rel, arches) in releases.as_object().unwrap() {
                for arch in arches.as_object().unwrap().keys() {
                    *counts.entry((rel.clone(), arch.clone())).or_default() += 1;
                }
            }
        }
    }
    let want = counts.into_iter().map(|((rel, arch), n)| {
        row(json!({"release": rel, "arch": arch, "instance": "production", "count": n}))
    });
    assert_eq!(s.points("autopkgtest_running").await, expected(want));
}

#[tokio::test]
async fn the_sponsoring_and_release_bug_examples_write_what_the_originals_derive() {
    let s = setup().await;
    let at = now();
    s.run(&s.registry, "sponsoring_queue", at).await.unwrap();
    // sponsoring_collector: ages in whole days before the run, their max and truncated mean.
    let queue = fixture("reqorts.qa.ubuntu.com/reports/sponsoring/jsons/general.json");
    let ages: Vec<i64> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let d = e["date_queued"].as_str().unwrap();
            let (m, rest) = d.split_once('/').unwrap();
            let (day, y) = rest.split_once('/').unwrap();
            let date = time::Date::from_calendar_date(
                2000 + y.parse::<i32>().unwrap(),
                time::Month::try_from(m.parse::<u8>().unwrap()).unwrap(),
                day.parse().unwrap(),
            )
            .unwrap();
            let queued = date.midnight().assume_utc().unix_timestamp();
            (at.unix_timestamp() - queued).div_euclid(86_400)
        })
        .collect();
    let want = row(json!({"report": "general", "count": ages.len(),
        "oldest": ages.iter().max(), "average_age": ages.iter().sum::<i64>() / ages.len() as i64}));
    assert_eq!(s.points("sponsoring_queue_stats").await, expected([want]));

    let report = s.run(&s.registry, "rls_bug_tasks", at).await.unwrap();
    // rls_bugs_collector: each team counts a bug once, per release and tag.
    let mut want = Vec::new();
    for (code, release) in [("nn", "noble"), ("rr", "resolute")] {
        for tag in ["incoming", "tracking"] {
            let doc = fixture(&format!(
                "reports.qa.ubuntu.com/reports/rls-mgr/rls-{code}-{tag}.json"
            ));
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for tasks in doc["tasks"].as_object().unwrap().values() {
                let mut teams = BTreeSet::new();
                for task in tasks.as_array().unwrap() {
                    for team in task["team"].as_array().into_iter().flatten() {
                        teams.insert(team.as_str().unwrap().to_string());
                    }
                }
                for team in teams {
                    *counts.entry(team).or_default() += 1;
                }
            }
            want.extend(counts.into_iter().map(|(team, n)| {
                row(json!({"tag": tag, "release": release, "team_name": team, "count": n}))
            }));
        }
    }
    assert_eq!(report.written, want.len());
    assert_eq!(s.points("distro_rls_bug_tasks").await, expected(want));
}

#[tokio::test]
async fn the_promql_example_writes_what_prometheus_answers() {
    let s = setup().await;
    let at = now();
    s.run(&s.registry, "scrape_targets_up", at).await.unwrap();
    let answer: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/query", prometheus(up_series).url))
        .query(&[
            ("query", "sum by (job) (up)"),
            ("time", &at.unix_timestamp().to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want: Vec<_> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
            row(json!({"job": r["metric"]["job"], "value": value}))
        })
        .collect();
    assert_eq!(want.len(), 2, "{answer}");
    assert_eq!(s.points("scrape_targets_up").await, expected(want));
}

/// A file of collectors that each fail one way, at the fixture server `base`.
fn failing(base: &str) -> Registry {
    let text = r#"
collectors:
  - name: jq_error
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: 'to_entries[] | error("broken on purpose: \(.key)")'
  - name: not_2xx
    every: 5m
    http: {url: "BASE/faults/status/503?token=hidden"}
    jq: '{measurement: "x", fields: {v: 1}}'
  - name: not_json
    every: 5m
    http: {url: "BASE/faults/html"}
    jq: '{measurement: "x", fields: {v: 1}}'
  - name: too_slow
    every: 5m
    http: {url: "BASE/faults/slow", timeout: 1s}
    jq: '{measurement: "x", fields: {v: 1}}'
  - name: too_big
    every: 5m
    http: {url: "BASE/faults/big"}
    jq: '{measurement: "x", fields: {v: 1}}'
  - name: loops
    every: 5m
    budget: 2s
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: 'last(range(300000000)) | {measurement: "x", fields: {v: .}}'
  - name: explodes
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: 'repeat({measurement: "x", fields: {v: 1}})'
  - name: bad_shape
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: '{measurement: "x", fields: {v: 1}}, {measurement: "x", tags: {n: 5}, fields: {v: 1}}'
"#
    .replace("BASE", base);
    Registry::with_file(&text).unwrap_or_else(|p| panic!("{p:?}"))
}

#[tokio::test]
async fn every_failure_names_the_collector_and_the_cause_and_writes_nothing() {
    let s = setup().await;
    let registry = failing(&s.base);
    for (name, says) in [
        ("jq_error", "broken on purpose: "),
        ("not_2xx", "HTTP 503: upstream is down for maintenance"),
        ("not_json", "the answer is not JSON"),
        ("too_slow", "no answer within 1 s"),
        ("too_big", "larger than 10 MB"),
        ("loops", "budget"),
        ("explodes", "more than 100000 outputs"),
        ("bad_shape", "output 2: tag \"n\" is 5: tags are strings"),
    ] {
        let err = s
            .run(&registry, name, now())
            .await
            .err()
            .unwrap_or_else(|| panic!("{name} passed"))
            .to_string();
        assert!(
            err.starts_with(&format!("{name}: ")) && err.contains(says),
            "{name}: {err}"
        );
        assert!(
            !err.contains("hidden") && !err.contains("do-not-echo") && err.len() < 400,
            "{name}: {err}"
        );
    }
    assert!(influx().measurements(&s.stack.db).await.is_empty());
}

#[tokio::test]
async fn a_field_type_change_is_refused_before_the_write_and_floats_stay_floats() {
    let s = setup().await;
    let text = r#"
collectors:
  - name: counts
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: '{measurement: "typed", fields: {count: (keys | length), ratio: 2.5}}'
  - name: halves
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: '{measurement: "typed", tags: {k: "a"}, fields: {count: 1.5}}, {measurement: "other", fields: {v: 1}}'
  - name: whole_ratio
    every: 5m
    http: {url: "BASE/autopkgtest.ubuntu.com/queues.json"}
    jq: '{measurement: "typed", tags: {k: "b"}, fields: {ratio: 3}}'
"#
    .replace("BASE", &s.base);
    let registry = Registry::with_file(&text).unwrap();
    let t = now();
    s.run(&registry, "counts", t).await.unwrap();
    let err = s.run(&registry, "halves", t).await.unwrap_err().to_string();
    assert!(
        err.contains("\"count\" of measurement \"typed\" is integer (as InfluxDB already holds it), this run would write float"),
        "{err}"
    );
    // Nothing of the refused run, not even its other measurement.
    assert_eq!(influx().measurements(&s.stack.db).await, vec!["typed"]);
    s.run(&registry, "whole_ratio", t).await.unwrap();
    let keys = influx()
        .rows(&s.stack.db, "SHOW FIELD KEYS FROM \"typed\"")
        .await;
    let ratio: Vec<_> = keys.iter().filter(|r| r["fieldKey"] == "ratio").collect();
    assert_eq!(ratio.len(), 1);
    assert_eq!(ratio[0]["fieldType"], "float");
    let rows = influx()
        .rows(&s.stack.db, "SELECT ratio FROM typed WHERE k = 'b'")
        .await;
    assert_eq!(rows[0]["ratio"].as_f64(), Some(3.0));

    // Behind the check's back (a write that skips it), InfluxDB's partial write is reported.
    let sink = s.stack.sink(&[]).await;
    let points = [
        Point::new("typed").tag("k", "c").field("count", 1.5).at(t),
        Point::new("typed").tag("k", "d").field("count", 2i64).at(t),
    ];
    match sink.write(&points).await {
        Err(InfluxError::Partial {
            dropped, message, ..
        }) => {
            assert_eq!(dropped, 1, "{message}");
            assert!(message.contains("field type conflict"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn telltale_collect_validate_lists_every_problem_with_its_line_and_column() {
    let file = std::env::temp_dir().join(format!("{}.yaml", telltale_testkit::unique("broken")));
    std::fs::write(
        &file,
        r#"collectors:
  - name: probe_pipeline
    every: 5m
    promql: up
    measurement: x
  - name: Bad-Name
    every: 5 parsecs
    http:
      url: https://example.org/{missing}.json
      format: xml
    jq: |
      .a |
        $undefined
    fields: {n: decimal}
  - name: ok_one
    every: 1m
    promql: sum(up
    measurement: y
  - name: ok_one
    every: 1m
    promql: up
    jq: '.[] | {measurement: "m", fields: {v: .value}}'
"#,
    )
    .unwrap();
    let out = std::process::Command::new(telltale_testkit::cli_binary())
        .args(["collect", "validate"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let shown = file.display().to_string();
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.strip_prefix(&shown).unwrap_or(l).to_string())
        .collect();
    assert_eq!(
        lines,
        [
            r#":2:11: collector "probe_pipeline": a built-in collector has this name"#,
            r#":6:11: collector "Bad-Name": a name is 1 to 64 of a-z, 0-9 and _"#,
            r#":7:12: collector "Bad-Name": every: invalid interval "5 parsecs": unknown unit "parsecs" (use s, min, h, d, w, M, y and their long forms)"#,
            r#":9:12: collector "Bad-Name": url uses {missing}, which is not a declared variable"#,
            r#":10:15: collector "Bad-Name": format is json, yaml, csv or text"#,
            r#":13:9: collector "Bad-Name": jq: undefined variable $undefined"#,
            r#":14:13: collector "Bad-Name": fields: "n" is "decimal"; use integer, float, boolean or string"#,
            r#":17:13: collector "ok_one": promql: unclosed left parenthesis"#,
            r#":19:11: collector "ok_one": declared twice"#,
        ]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("9 problem(s)"));
    // A syntax error is placed too, and the compiled-in file is clean.
    std::fs::write(
        &file,
        "collectors:\n  - name: a\n    every: 5m\n    bogus: 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(telltale_testkit::cli_binary())
        .args(["collect", "validate"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(":4:5: unknown field `bogus`"), "{text}");
    let out = std::process::Command::new(telltale_testkit::cli_binary())
        .args(["collect", "validate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
