//! The collectors on in-memory stores and sink: what each writes, and what a store partly or
//! wholly down does to a run.

use serde_json::{json, Value};
use telltale::collectors::builtin::find;
use telltale::collectors::point::{FieldValue, Point};
use telltale::collectors::run::{collect, collector_for, run};
use telltale::collectors::sources::Sources;
use telltale::collectors::CollectorError;
use telltale::metrics::config::MappingsConfig;
use telltale::metrics::store::MappingStore;
use telltale_testkit::memory::{
    MemoryAccounting, MemoryMappings, MemoryPrometheus, MemorySink, ProbeWorld,
};

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn field<'a>(p: &'a Point, name: &str) -> &'a FieldValue {
    p.fields
        .get(name)
        .unwrap_or_else(|| panic!("{p:?} has no {name}"))
}

fn int(p: &Point, name: &str) -> i64 {
    match field(p, name) {
        FieldValue::Int(i) => *i,
        other => panic!("{name} is {other:?}"),
    }
}

fn mappings(metadata: &Value, metrics: &Value) -> MemoryMappings {
    let m = MemoryMappings::default();
    m.put("metadata_mappings.json", metadata.to_string());
    m.put("metrics_mappings.json", metrics.to_string());
    m
}

fn store(m: &MemoryMappings) -> MappingStore {
    MappingStore::new(m.clone(), MappingsConfig::for_bucket("memory"))
}

fn demo() -> (Value, Value) {
    (
        json!({"r1": {"metrics": {
            "a": {"name": "A", "eoscMetricDefinitionId": "def-a"},
            "b": {"name": "B"}
        }, "eoscInstallationId": "inst-1"}}),
        json!({"r1": {"a": {"query": "sum(x)"}, "b": {"query": "sum(y)"}}}),
    )
}

#[tokio::test]
async fn probe_pipeline_counts_each_status_and_the_time_in_testing() {
    let mut w = ProbeWorld::new();
    w.api.min_testing = time::Duration::ZERO;
    for steps in [
        &[][..],
        &["processing"],
        &["processing", "testing"],
        &["processing", "testing", "deployed"],
    ] {
        let id = w.submitted("o@example.org").await;
        w.walk(&id, steps).await;
    }
    let sources = Sources {
        probes: Some(Box::new(w.api.store.clone())),
        ..Sources::default()
    };
    let collected = collect(find("probe_pipeline").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    let count = |status: &str| {
        collected
            .points
            .iter()
            .find(|p| p.measurement == "probe_pipeline" && p.tags["status"] == status)
            .map(|p| int(p, "count"))
    };
    assert_eq!(
        [
            count("submitted"),
            count("processing"),
            count("testing"),
            count("deployed"),
            count("rejected")
        ],
        [Some(1), Some(1), Some(1), Some(1), Some(0)]
    );
    let testing = collected
        .points
        .iter()
        .find(|p| p.measurement == "probe_testing_time")
        .unwrap();
    assert_eq!(int(testing, "completed"), 1);
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
}

#[tokio::test]
async fn probe_pipeline_fails_naming_the_table_when_it_cannot_be_read() {
    let w = ProbeWorld::new();
    w.api.store.outage.set(true);
    let sources = Sources {
        probes: Some(Box::new(w.api.store.clone())),
        ..Sources::default()
    };
    let err = collect(find("probe_pipeline").unwrap(), &sources, now(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, CollectorError::SourceDown { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("probe table (DynamoDB, by-status index) unavailable"),
        "{err}"
    );
}

#[tokio::test]
async fn a_store_the_function_was_not_configured_for_is_named() {
    let err = collect(
        find("email_outbox").unwrap(),
        &Sources::default(),
        now(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PROBES_TABLE is not set: the email_outbox collector reads the probe table (DynamoDB, emails-due index)"
    );
    let err = collect(
        find("metric_values").unwrap(),
        &Sources::default(),
        now(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().starts_with("MAPPINGS_BUCKET is not set"),
        "{err}"
    );
}

#[tokio::test]
async fn email_outbox_counts_pending_failing_and_dead_emails() {
    let w = ProbeWorld::new();
    w.api.mailer.refuse("Throttling");
    w.submitted("a@example.org").await;
    w.submitted("b@example.org").await;
    // Refused for good: dead at its first attempt.
    w.api.mailer.refuse_for_good("BadRequestException");
    w.submitted("c@example.org").await;
    let sources = Sources {
        probes: Some(Box::new(w.api.store.clone())),
        ..Sources::default()
    };
    let collected = collect(find("email_outbox").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    let p = &collected.points[0];
    assert_eq!(
        (
            int(p, "pending"),
            int(p, "failing"),
            int(p, "dead"),
            int(p, "max_attempts")
        ),
        (2, 2, 1, 1)
    );
    assert!(int(p, "oldest_age_seconds") >= 0);
    w.api.mailer.accept();
    w.deliver().await;
    let collected = collect(find("email_outbox").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    let p = &collected.points[0];
    assert_eq!(
        (int(p, "pending"), int(p, "failing"), int(p, "dead")),
        (0, 0, 1)
    );
    assert!(
        !p.fields.contains_key("oldest_age_seconds"),
        "no age when nothing waits"
    );
}

#[tokio::test]
async fn metric_values_write_what_they_can_and_warn_about_the_rest() {
    let (metadata, metrics) = demo();
    let m = mappings(&metadata, &metrics);
    let sources = Sources {
        mappings: Some(store(&m)),
        prometheus: Some(Box::new(MemoryPrometheus::default().with("sum(x)", 3.0))),
        ..Sources::default()
    };
    let collected = collect(find("metric_values").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    assert_eq!(collected.points.len(), 1);
    assert_eq!(collected.points[0].tags["metric"], "a");
    assert_eq!(collected.points[0].fields["value"], FieldValue::Float(3.0));
    assert_eq!(
        collected.warnings.len(),
        1,
        "sum(y) has no data: {:?}",
        collected.warnings
    );
    assert!(collected.warnings[0].starts_with("r1/b: "));
}

#[tokio::test]
async fn metric_values_fail_when_no_value_can_be_computed() {
    let (metadata, metrics) = demo();
    let prometheus = MemoryPrometheus::default();
    *prometheus.down.lock().unwrap() = true;
    let sources = Sources {
        mappings: Some(store(&mappings(&metadata, &metrics))),
        prometheus: Some(Box::new(prometheus)),
        ..Sources::default()
    };
    let err = collect(find("metric_values").unwrap(), &sources, now(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Prometheus unavailable: no metric value could be computed (2 tried)"),
        "{err}"
    );
}

#[tokio::test]
async fn mas_catalog_reports_the_files_and_a_rejected_upload() {
    let (metadata, metrics) = demo();
    let m = mappings(&metadata, &metrics);
    let sources = Sources {
        mappings: Some(store(&m)),
        ..Sources::default()
    };
    let collected = collect(find("mas_catalog").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    let file = |name: &str| {
        collected
            .points
            .iter()
            .find(|p| p.tags["file"] == name)
            .unwrap()
            .clone()
    };
    let meta = file("metadata");
    assert_eq!(
        (
            int(&meta, "loaded"),
            int(&meta, "resources"),
            int(&meta, "metrics")
        ),
        (1, 1, 2)
    );
    assert_eq!(int(&file("metrics"), "validation_errors"), 0);
}

#[tokio::test]
async fn mas_catalog_fails_when_neither_file_can_be_read() {
    let m = MemoryMappings::default();
    let sources = Sources {
        mappings: Some(store(&m)),
        ..Sources::default()
    };
    let err = collect(find("mas_catalog").unwrap(), &sources, now(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mapping files (S3) unavailable: "),
        "{err}"
    );
    assert!(err.to_string().contains("NoSuchKey"), "{err}");
}

#[tokio::test]
async fn accounting_push_reports_never_pushed_and_skipped_metrics() {
    let (metadata, _) = demo();
    let metrics = json!({"r1": {"b": {"query": "sum(y)"}}});
    let m = mappings(&metadata, &metrics);
    let sources = Sources {
        mappings: Some(store(&m)),
        accounting: Some(Box::new(MemoryAccounting::default())),
        ..Sources::default()
    };
    let collected = collect(find("accounting_push").unwrap(), &sources, now(), None)
        .await
        .unwrap();
    assert_eq!(collected.points.len(), 1);
    assert_eq!(
        collected.points[0].fields["state"],
        FieldValue::Text("skipped".into())
    );
}

#[tokio::test]
async fn a_run_writes_every_writable_point_and_reports_it() {
    let (metadata, metrics) = demo();
    let sources = Sources {
        mappings: Some(store(&mappings(&metadata, &metrics))),
        prometheus: Some(Box::new(
            MemoryPrometheus::default()
                .with("sum(x)", 1.0)
                .with("sum(y)", f64::NAN),
        )),
        ..Sources::default()
    };
    let sink = MemorySink::default();
    let report = run(find("metric_values").unwrap(), &sources, &sink, now())
        .await
        .unwrap();
    assert_eq!((report.points, report.written), (1, 1), "{report:?}");
    assert_eq!(
        report.warnings.len(),
        1,
        "a NaN cannot be written: {report:?}"
    );
    assert_eq!(sink.points().len(), 1);
}

#[tokio::test]
async fn a_sink_that_refuses_fails_the_run_with_its_message() {
    let (metadata, metrics) = demo();
    let sources = Sources {
        mappings: Some(store(&mappings(&metadata, &metrics))),
        ..Sources::default()
    };
    let sink = MemorySink::default();
    *sink.refusing.lock().unwrap() =
        Some("InfluxDB refused the write (HTTP 401): unauthorized".into());
    let err = run(find("mas_catalog").unwrap(), &sources, &sink, now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "InfluxDB refused the write (HTTP 401): unauthorized"
    );
}

#[tokio::test]
async fn the_event_names_the_collector_either_way_and_unknown_ones_are_refused() {
    let registry = telltale::collectors::registry::Registry::compiled().unwrap();
    assert_eq!(
        collector_for(&json!({"collector": "email_outbox"}), &registry)
            .unwrap()
            .name(),
        "email_outbox"
    );
    assert_eq!(
        collector_for(
            &json!({"detail": {"collector": "rls_bug_tasks"}}),
            &registry
        )
        .unwrap()
        .name(),
        "rls_bug_tasks"
    );
    for (event, start) in [
        (json!({}), "the event names no collector"),
        (json!({"collector": 7}), "\"collector\" must be a string"),
        (json!({"collector": "nope"}), "unknown collector \"nope\""),
    ] {
        let err = collector_for(&event, &registry).err().unwrap().to_string();
        assert!(err.starts_with(start), "{err}");
        assert!(
            err.contains("probe_pipeline") && err.contains("autopkgtest_queue"),
            "the known ones are listed: {err}"
        );
    }
}

#[tokio::test]
async fn the_collector_job_answers_its_report_and_fails_on_an_unknown_collector() {
    let (metadata, metrics) = demo();
    let stack = telltale::jobs::Collector {
        registry: telltale::collectors::registry::Registry::builtins(),
        sources: Sources {
            mappings: Some(store(&mappings(&metadata, &metrics))),
            ..Sources::default()
        },
        sink: MemorySink::default(),
    };
    let report = telltale::jobs::collector(&stack, &json!({"collector": "mas_catalog"}))
        .await
        .unwrap();
    assert_eq!(report["collector"], "mas_catalog");
    assert_eq!(report["written"], 2);
    let err = telltale::jobs::collector(&stack, &json!({"collector": "x"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown collector"));
}

// ---- declared collectors, on in-memory documents and sink ----

mod declared {
    use super::now;
    use telltale::collectors::point::FieldValue;
    use telltale::collectors::registry::Registry;
    use telltale::collectors::run::run;
    use telltale::collectors::sources::Sources;
    use telltale::collectors::CollectorError;
    use telltale_testkit::memory::{MemoryDocuments, MemorySink};

    fn sources() -> Sources {
        Sources {
            documents: Some(Box::new(MemoryDocuments::default())),
            ..Sources::default()
        }
    }

    #[tokio::test]
    async fn a_matrix_makes_one_request_per_combination_each_with_its_variables() {
        let registry = Registry::compiled().unwrap();
        let sink = MemorySink::default();
        let report = run(
            registry.find("rls_bug_tasks").unwrap(),
            &sources(),
            &sink,
            now(),
        )
        .await
        .unwrap();
        let points = sink.points();
        assert_eq!(report.written, points.len());
        let mut seen: Vec<(String, String)> = points
            .iter()
            .map(|p| (p.tags["release"].clone(), p.tags["tag"].clone()))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen,
            [
                ("noble", "incoming"),
                ("noble", "tracking"),
                ("resolute", "incoming"),
                ("resolute", "tracking")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(points
            .iter()
            .all(|p| matches!(p.fields["count"], FieldValue::Int(n) if n > 0)));
    }

    #[tokio::test]
    async fn one_failed_request_of_a_matrix_fails_the_run_and_nothing_is_written() {
        let registry = Registry::compiled().unwrap();
        let documents = MemoryDocuments::default();
        documents.refused.lock().unwrap().insert(
            "http://reports.qa.ubuntu.com/reports/rls-mgr/rls-rr-tracking.json".into(),
            "GET …: HTTP 500: oops".into(),
        );
        let sources = Sources {
            documents: Some(Box::new(documents)),
            ..Sources::default()
        };
        let sink = MemorySink::default();
        let err = run(
            registry.find("rls_bug_tasks").unwrap(),
            &sources,
            &sink,
            now(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, CollectorError::Run { collector, message } if collector == "rls_bug_tasks" && message.contains("HTTP 500")),
            "{err}"
        );
        assert!(sink.points().is_empty());
    }

    #[tokio::test]
    async fn a_type_the_sink_already_holds_is_kept_or_the_run_is_refused() {
        let base = "collectors:\n  - name: a\n    every: 5m\n    http: {url: \"https://autopkgtest.ubuntu.com/queues.json\"}\n";
        let text = format!(
            "{base}    jq: '{{measurement: \"m\", fields: {{n: 1, r: 0.5}}}}'\n  - name: b\n    every: 5m\n    http: {{url: \"https://autopkgtest.ubuntu.com/queues.json\"}}\n    jq: '{{measurement: \"m\", fields: {{r: 2}}}}, {{measurement: \"m\", fields: {{n: 0.5}}}}'\n  - name: c\n    every: 5m\n    http: {{url: \"https://autopkgtest.ubuntu.com/queues.json\"}}\n    jq: '{{measurement: \"m\", fields: {{r: 2}}}}'\n"
        );
        let registry = Registry::with_file(&text).unwrap_or_else(|p| panic!("{p:?}"));
        let sink = MemorySink::default();
        let t = now();
        run(registry.find("a").unwrap(), &sources(), &sink, t)
            .await
            .unwrap();
        let err = run(registry.find("b").unwrap(), &sources(), &sink, t)
            .await
            .unwrap_err();
        assert!(matches!(err, CollectorError::FieldType(_)), "{err}");
        assert_eq!(sink.points().len(), 1);
        run(registry.find("c").unwrap(), &sources(), &sink, t)
            .await
            .unwrap();
        assert_eq!(sink.points()[1].fields["r"], FieldValue::Float(2.0));
    }
}

#[tokio::test]
async fn a_function_compiles_a_program_only_when_its_collector_runs() {
    use telltale::collectors::registry::Registry;
    let text = "collectors:\n  - name: broken\n    every: 5m\n    http: {url: \"https://autopkgtest.ubuntu.com/queues.json\"}\n    jq: '.a | $nope'\n";
    // Validation places the error; a function's cold start leaves it to the run.
    let problems = Registry::with_file(text).err().unwrap();
    assert!(problems[0].message.contains("undefined variable $nope"));
    let registry = Registry::for_runs(text).unwrap();
    let sources = Sources {
        documents: Some(Box::new(
            telltale_testkit::memory::MemoryDocuments::default(),
        )),
        ..Sources::default()
    };
    let err = telltale::collectors::run::run(
        registry.find("broken").unwrap(),
        &sources,
        &MemorySink::default(),
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "broken: jq: undefined variable $nope");
}
