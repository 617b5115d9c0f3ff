//! The monitoring team's command line drives a candidate through its whole lifecycle against
//! the functions running under `cargo lambda watch`, over plain HTTP.

use serde_json::{json, Value};
use std::process::Command;
use telltale::auth::Role;
use telltale_testkit::probes::{contact, ProbeFixture};
use telltale_testkit::{cli_binary, moto::moto, watch::Watch};

struct Cli {
    url: String,
    key: String,
}

impl Cli {
    /// Runs `telltale probes ARGS`; returns success, stdout, stderr.
    fn probes(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(cli_binary())
            .arg("probes")
            .args(args)
            .env("TELLTALE_API_URL", &self.url)
            .env("TELLTALE_API_KEY", &self.key)
            .output()
            .expect("running telltale");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
}

#[tokio::test]
async fn the_cli_drives_a_candidate_from_submitted_to_deployed() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let watch = Watch::start(&f.env());
    let cli = Cli {
        url: watch.base_url.clone(),
        key: f.key.clone(),
    };
    let owner = contact();
    let http = telltale_testkit::watch::client();
    let created: Value = http
        .post(format!("{}/api/v2/probes/", watch.base_url))
        .header("x-api-key", &f.key)
        .json(&json!({
            "name": "argo-probe-cli", "docurl": "https://example.org/README.md",
            "script": "https://example.org/check.py", "command": "check.py -H <host> --timeout=20",
            "contact": owner
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created").to_string();

    let (ok, out, err) = cli.probes(&["list", "--status", "submitted"]);
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("NAME") && header.contains("STATUS"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains(&id)
            && l.contains("argo-probe-cli")
            && l.contains(&owner)
            && l.contains("submitted")),
        "{out}"
    );

    // The list is read a page at a time, however small the pages; the progress stays off a
    // pipe.
    let others: Vec<_> = (0..4)
        .map(|i| {
            telltale_testkit::probes::legacy_candidate(
                &format!(
                    "cli-page-{i}-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                ),
                &format!("cli-page-{i}"),
            )
        })
        .collect();
    f.import_all(&others).await;
    let (ok, out, err) = cli.probes(&["list", "--page-size", "2"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1 + 5, "{out}");
    for c in &others {
        assert!(out.contains(&c.id), "{} missing: {out}", c.id);
    }
    assert!(
        !err.contains('\u{1b}') && !out.contains('\u{1b}'),
        "{err:?}"
    );
    let (ok, out, err) =
        cli.probes(&["--json", "list", "--search", "CLI-PAGE", "--page-size", "1"]);
    assert!(ok, "{err}");
    let found: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(found.as_array().map(Vec::len), Some(4), "{out}");
    let (ok, _, err) = cli.probes(&["list", "--page-size", "501"]);
    assert!(!ok && err.contains("501"), "{err}");

    let (ok, out, err) = cli.probes(&[
        "set-status",
        &id,
        "processing",
        "--service-type",
        "eu.argo.cli",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("processing") && out.contains("eu.argo.cli"),
        "{out}"
    );

    // A missing required field is explained, and nothing changes.
    let (ok, _, err) = cli.probes(&["set-status", &id, "testing"]);
    assert!(!ok);
    assert!(
        err.contains("Devel URL is mandatory when probe status is 'testing' (HTTP 400)"),
        "{err}"
    );

    let (ok, _, err) = cli.probes(&[
        "set-status",
        &id,
        "testing",
        "--devel-url",
        "https://devel.argo.example.org/cli",
    ]);
    assert!(ok, "{err}");

    let (ok, _, err) = cli.probes(&[
        "set-status",
        &id,
        "deployed",
        "--production-url",
        "https://argo.example.org/cli",
    ]);
    assert!(!ok, "three days in testing are required");
    assert!(
        err.contains("HTTP 409") && err.contains("Give --force to deploy anyway"),
        "{err}"
    );
    assert!(!err.contains("\"force\": true"), "{err}");

    let (ok, out, err) = cli.probes(&[
        "set-status",
        &id,
        "deployed",
        "--production-url",
        "https://argo.example.org/cli",
        "--force",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("deployed"), "{out}");

    let (ok, out, err) = cli.probes(&["show", &id]);
    assert!(ok, "{err}");
    let history: Vec<&str> = out
        .split("History")
        .nth(1)
        .unwrap()
        .split("Emails")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.contains("tenant-a"))
        .collect();
    assert_eq!(history.len(), 4, "{out}");
    assert!(
        history[3].contains("testing")
            && history[3].contains("deployed")
            && history[3].contains("yes"),
        "{out}"
    );

    let (ok, out, _) = cli.probes(&["--json", "list", "--status", "deployed"]);
    assert!(ok);
    let items: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(items[0]["id"], id.as_str());

    let (ok, _, err) = cli.probes(&["set-status", &id, "rejected", "--rejection-reason", "late"]);
    assert!(!ok);
    assert!(err.contains("final"), "{err}");

    let subjects: Vec<String> = moto()
        .emails_to(&owner)
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert_eq!(subjects[3], "[ARGO Monitoring] Probe deployed");

    // A candidate stored before control characters were refused (or written by another
    // tool): the CLI shows its escapes as text, never sends them to the terminal.
    let mut legacy = telltale_testkit::probes::legacy_candidate(
        "legacy-hostile",
        "\u{1b}[2J\u{1b}]0;owned\u{7}evil\u{202e}txt.exe\u{200b}\u{2028}\u{e0041}\u{feff}",
    );
    legacy.description = Some("\u{1b}[31mred".into());
    f.import(legacy).await;
    for args in [&["list"][..], &["show", "legacy-hostile"][..]] {
        let (ok, out, err) = cli.probes(args);
        assert!(ok, "{args:?}: {err}");
        assert!(
            !out.contains([
                '\u{1b}',
                '\u{7}',
                '\u{202e}',
                '\u{200b}',
                '\u{2028}',
                '\u{e0041}',
                '\u{feff}'
            ]),
            "{args:?} printed raw control or invisible characters: {out:?}"
        );
        assert!(out.contains("\\u{1b}[2J"), "{args:?}: {out}");
        assert!(
            out.contains("\\u{200b}\\u{2028}\\u{e0041}\\u{feff}"),
            "{args:?}: {out}"
        );
    }
}
