//! Every HTTP route against its OpenAPI document (`infra/openapi.yaml`), with Schemathesis
//! generating the requests: the whole local stack under `cargo lambda watch` (moto, Prometheus
//! with the demo series, the demo mappings), all of Schemathesis' checks but one (see below).
//!
//! Reproducible: a fixed seed and a bounded number of examples per operation,
//! `CONTRACT_SEED` and `CONTRACT_MAX_EXAMPLES` to change them (`make fuzz-api` runs more).
//!
//! Left out: `positive_data_acceptance` ("a request the schema allows is accepted"). The
//! probe rules that JSON Schema cannot say (a command needs `-t`, `rpm` needs `yum_baseurl`,
//! `If-Match` must be the current version, two different keys are refused) make it fail by
//! design; every such answer is still checked to be a documented status with a conforming body.

use std::process::Command;
use std::time::Duration;
use telltale::auth::Role;
use telltale_testkit::probes::ProbeFixture;
use telltale_testkit::{repo_root, venv_bin, watch::Watch};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

#[tokio::test]
async fn every_route_conforms_to_its_openapi_document() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let env = f.every_route_env("contract").await;
    let watch = Watch::start(&env);
    let base = watch.base_url.clone();

    // The first request to each function compiles and starts it; do that before the clock of
    // Schemathesis' request timeout runs.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .unwrap();
    for path in [
        "/-/info",
        "/metrics/argo-monitoring/deployed-probes/value",
        "/api/v2/probes/",
        "/api/v2/probes/none",
        "/heartbeat/metrics",
    ] {
        let resp = client
            .get(format!("{base}{path}"))
            .header("x-api-key", &f.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("warming {path}: {e}"));
        assert!(
            resp.status().as_u16() < 500,
            "warming {path}: {}",
            resp.status()
        );
    }

    let seed = setting("CONTRACT_SEED", 20261123);
    let examples = setting("CONTRACT_MAX_EXAMPLES", 8);
    let report = std::env::temp_dir().join(format!("telltale-contract-{seed}.log"));
    // Run from under target/: Schemathesis' caches land there, not in the sources that
    // `cargo lambda watch` (make dev) watches; no example database is kept between runs.
    let work = repo_root().join("target/contract");
    std::fs::create_dir_all(&work).unwrap();
    let out = Command::new(venv_bin("schemathesis"))
        .current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", repo_root().join("tests/contract"))
        .env("NO_COLOR", "1")
        .arg("run")
        .arg(repo_root().join("infra/openapi.yaml"))
        .args(["--url", &base, "--generation-database", ":memory:"])
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--header", &format!("x-api-key: {}", f.key)])
        .args(["--seed", &seed.to_string()])
        .args(["--max-examples", &examples.to_string()])
        .args(["--workers", "1", "--request-timeout", "30", "--no-shrink"])
        .output()
        .expect("running schemathesis (make setup installs it into .venv)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(&report, &text).unwrap();
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("generated") || l.contains("passed") || l.starts_with("Seed"))
        .collect();
    println!(
        "schemathesis (seed {seed}, {examples} examples per operation):\n{}",
        summary.join("\n")
    );
    assert!(
        out.status.success(),
        "schemathesis found failures (seed {seed}; whole report in {}):\n{text}",
        report.display()
    );
}
