//! `telltale mappings validate`: every problem with its file, line and JSON path.

use std::process::Command;
use telltale_testkit::repo_root;

fn validate(metadata: &std::path::Path, metrics: &std::path::Path) -> (bool, String) {
    let out = Command::new(telltale_testkit::cli_binary())
        .args(["mappings", "validate", "--metadata"])
        .arg(metadata)
        .arg("--metrics")
        .arg(metrics)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_demo_files_are_valid() {
    let demo = repo_root().join("demo");
    let (ok, out) = validate(
        &demo.join("metadata_mappings.json"),
        &demo.join("metrics_mappings.json"),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("metadata_mappings.json: ok, 4 metric(s)"),
        "{out}"
    );
}

#[test]
fn a_swapped_pair_is_named_as_such() {
    let demo = repo_root().join("demo");
    let (ok, out) = validate(
        &demo.join("metrics_mappings.json"),
        &demo.join("metadata_mappings.json"),
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("metrics_mappings.json: given as --metadata but this is a metrics file"),
        "{out}"
    );
    assert!(
        out.contains("metadata_mappings.json: given as --metrics but this is a metadata file"),
        "{out}"
    );
    assert!(
        out.contains("did you swap --metadata and --metrics?"),
        "{out}"
    );
    assert!(
        !out.contains(": ok,"),
        "a swapped file must not pass: {out}"
    );
}

#[test]
fn every_problem_is_reported_with_line_and_path() {
    let dir = std::env::temp_dir().join(format!("telltale-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let metadata = dir.join("metadata.json");
    let metrics = dir.join("metrics.json");
    std::fs::write(
        &metadata,
        "{\n  \"r\": {\n    \"metrics\": {\n      \"a\": {\"type\": \"gauge\"},\n      \"b\": {\"unit\": 5}\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        &metrics,
        "{\n  \"r\": {\n    \"a\": {\"query\": \"rate(x[5m]\"},\n    \"b\": {\"query\": \"increase(y[#R#])\"},\n    \"c\": {\"isCounter\": 1}\n  }\n}\n",
    )
    .unwrap();
    let (ok, out) = validate(&metadata, &metrics);
    assert!(!ok);
    let lines: Vec<&str> = out.lines().collect();
    let md = metadata.display().to_string();
    let mt = metrics.display().to_string();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[0],
        format!("{md}:4: $.r.metrics.a.type: must be \"STATE\" or \"EVENT\", not \"gauge\"")
    );
    assert_eq!(
        lines[1],
        format!("{md}:5: $.r.metrics.b.unit: must be a string or null, not a number")
    );
    assert!(
        lines[2].starts_with(&format!(
            "{mt}:3: $.r.a.query: not a valid PromQL expression"
        )),
        "{out}"
    );
    assert_eq!(
        lines[3],
        format!("{mt}:5: $.r.c.isCounter: must be true, false, \"true\" or \"false\", not 1")
    );
    assert_eq!(
        lines[4],
        format!("{mt}:5: $.r.c: the field \"query\" is required")
    );
    std::fs::remove_dir_all(dir).ok();
}
