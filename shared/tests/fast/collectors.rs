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
    let collected = collect(find("probe_pipeline").unwrap(), &sources, now())
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
    let err = collect(find("probe_pipeline").unwrap(), &sources, now())
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
    let err = collect(find("email_outbox").unwrap(), &Sources::default(), now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PROBES_TABLE is not set: the email_outbox collector reads the probe table (DynamoDB, emails-due index)"
    );
    let err = collect(find("metric_values").unwrap(), &Sources::default(), now())
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
    let sources = Sources {
        probes: Some(Box::new(w.api.store.clone())),
        ..Sources::default()
    };
    let collected = collect(find("email_outbox").unwrap(), &sources, now())
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
        (2, 2, 0, 1)
    );
    assert!(int(p, "oldest_age_seconds") >= 0);
    w.api.mailer.accept();
    w.deliver().await;
    let collected = collect(find("email_outbox").unwrap(), &sources, now())
        .await
        .unwrap();
    let p = &collected.points[0];
    assert_eq!((int(p, "pending"), int(p, "failing")), (0, 0));
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
    let collected = collect(find("metric_values").unwrap(), &sources, now())
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
    let err = collect(find("metric_values").unwrap(), &sources, now())
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
    let collected = collect(find("mas_catalog").unwrap(), &sources, now())
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
    let err = collect(find("mas_catalog").unwrap(), &sources, now())
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
    let collected = collect(find("accounting_push").unwrap(), &sources, now())
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
    assert_eq!(
        collector_for(&json!({"collector": "email_outbox"}))
            .unwrap()
            .name(),
        "email_outbox"
    );
    assert_eq!(
        collector_for(&json!({"detail": {"collector": "mas_catalog"}}))
            .unwrap()
            .name(),
        "mas_catalog"
    );
    for (event, start) in [
        (json!({}), "the event names no collector"),
        (json!({"collector": 7}), "\"collector\" must be a string"),
        (json!({"collector": "nope"}), "unknown collector \"nope\""),
    ] {
        let err = collector_for(&event).err().unwrap().to_string();
        assert!(err.starts_with(start), "{err}");
        assert!(
            err.contains("probe_pipeline"),
            "the known ones are listed: {err}"
        );
    }
}

#[tokio::test]
async fn the_collector_job_answers_its_report_and_fails_on_an_unknown_collector() {
    let (metadata, metrics) = demo();
    let stack = telltale::jobs::Collector {
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
