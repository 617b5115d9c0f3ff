//! The Monasca loop against the test kit's Keystone and Monasca doubles, whose every body is
//! checked by monasca-api's and monasca-common's own code: the source's endpoint in both
//! catalog forms and in a two-region catalog, and `telltale heartbeat monasca setup`.

use serde_json::{json, Value};
use std::collections::HashMap;
use telltale::base::env::Env;
use telltale_testkit::monasca::{Catalog, Keystone, PASSWORD, PROJECT, USER};
use telltale_testkit::moto::moto;

fn openstack(keystone: &Keystone) -> Vec<(String, String)> {
    [
        ("OS_AUTH_URL", format!("{}/v3", keystone.url)),
        ("OS_USERNAME", USER.into()),
        ("OS_PASSWORD", PASSWORD.into()),
        ("OS_PROJECT_NAME", PROJECT.into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec()
}

/// One beat from a source with `env`; the sink's failures.
async fn beat(env: &[(String, String)]) -> Vec<String> {
    let map: HashMap<String, String> = env.iter().cloned().collect();
    let mut map = map;
    map.insert("HEARTBEAT_SOURCE_ID".into(), "src-1".into());
    let env = Env(move |k: &str| map.get(k).cloned());
    let source = telltale::wiring::heartbeat_source_with(&env, &moto().sdk_config().await)
        .await
        .expect("source");
    source
        .emit(time::OffsetDateTime::now_utc())
        .await
        .failures()
}

#[tokio::test]
async fn the_source_posts_once_to_v2_0_whether_the_endpoint_carries_the_version_or_not() {
    for catalog in [Catalog::Unversioned, Catalog::Versioned] {
        let keystone = Keystone::with_catalog(3600, catalog).await;
        assert!(beat(&openstack(&keystone)).await.is_empty(), "{catalog:?}");
        // MONASCA_URL in both forms, too.
        for url in [
            keystone.monasca_url.clone(),
            format!("{}/v2.0/", keystone.monasca_url),
        ] {
            let mut env = openstack(&keystone);
            env.push(("MONASCA_URL".into(), url.clone()));
            assert!(beat(&env).await.is_empty(), "{url}");
        }
        let at: Vec<String> = keystone.metrics_at().into_iter().map(|(p, _)| p).collect();
        assert_eq!(at, vec!["monasca"; 3], "{catalog:?}");
    }
}

#[tokio::test]
async fn the_endpoint_is_the_region_and_interface_asked_for() {
    let keystone = Keystone::with_catalog(3600, Catalog::TwoRegions).await;
    // Two regions and no OS_REGION_NAME: which one is meant cannot be guessed.
    let failures = beat(&openstack(&keystone)).await;
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].contains("several regions (RegionOne, RegionTwo); set OS_REGION_NAME"),
        "{failures:?}"
    );
    for (region, interface, prefix) in [
        ("RegionTwo", None, "regiontwo-public"),
        ("RegionOne", None, "regionone-public"),
        ("RegionTwo", Some("internal"), "regiontwo-internal"),
        ("RegionOne", Some("adminURL"), "regionone-admin"),
    ] {
        let mut env = openstack(&keystone);
        env.push(("OS_REGION_NAME".into(), region.into()));
        if let Some(i) = interface {
            env.push(("OS_INTERFACE".into(), i.into()));
        }
        assert!(beat(&env).await.is_empty(), "{region} {interface:?}");
        assert_eq!(keystone.metrics_at().last().unwrap().0, prefix);
    }
}

/// `telltale heartbeat monasca setup` with `args`, against `keystone` (credentials `env`).
async fn setup(env: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(telltale_testkit::cli_binary())
        .args(["heartbeat", "monasca", "setup"])
        .args(args)
        .envs(moto().env())
        .envs(env.iter().cloned())
        .output()
        .await
        .expect("running telltale");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const HOOK: &str = "https://api.example.org/prod/heartbeat?token=tt_secret_key_for_tests";

#[tokio::test]
async fn setup_creates_the_loop_once_repairs_drift_and_never_duplicates() {
    let keystone = Keystone::with_catalog(3600, Catalog::Versioned).await;
    let env = openstack(&keystone);
    let args = ["--webhook-url", HOOK];

    let (ok, out, err) = setup(&env, &["--webhook-url", HOOK, "--dry-run"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "notification method heartbeat_webhook: would be created\nalarm definition heartbeat: would be created\n"
    );
    assert!(keystone.writes().is_empty());

    let (ok, out, err) = setup(&env, &args).await;
    assert!(ok, "{err}");
    let methods = keystone.objects("notification");
    let definitions = keystone.objects("definition");
    assert_eq!((methods.len(), definitions.len()), (1, 1));
    let method_id = methods[0]["id"].as_str().unwrap();
    let definition_id = definitions[0]["id"].as_str().unwrap();
    assert_eq!(
        out,
        format!("notification method heartbeat_webhook: created, id {method_id}\nalarm definition heartbeat: created, id {definition_id}\n")
    );
    assert!(!out.contains("tt_secret") && !err.contains("tt_secret"));
    assert_eq!(
        (
            &methods[0]["type"],
            &methods[0]["address"],
            &methods[0]["period"]
        ),
        (&json!("WEBHOOK"), &json!(HOOK), &json!(0))
    );
    assert_eq!(
        definitions[0]["expression"],
        "sum(monascamonitor.heartbeat{}) >= 1"
    );
    assert_eq!(definitions[0]["severity"], "LOW");
    assert_eq!(definitions[0]["alarm_actions"], json!([method_id]));
    assert_eq!(definitions[0]["ok_actions"], json!([method_id]));
    assert_eq!(keystone.writes().len(), 2);

    // Again: nothing to do, nothing written.
    let (ok, out, _) = setup(&env, &args).await;
    assert!(ok);
    assert_eq!(
        out,
        format!("notification method heartbeat_webhook: unchanged, id {method_id}\nalarm definition heartbeat: unchanged, id {definition_id}\n")
    );
    assert_eq!(keystone.writes().len(), 2);

    // Changed by hand: put back with a PATCH each, never a second object.
    keystone.change_by_hand(
        "notification",
        "heartbeat_webhook",
        "address",
        json!("https://old.example/heartbeat"),
    );
    keystone.change_by_hand(
        "definition",
        "heartbeat",
        "expression",
        json!("sum(monascamonitor.heartbeat{}) >= 50"),
    );
    keystone.change_by_hand("definition", "heartbeat", "ok_actions", json!([]));
    let (ok, out, _) = setup(&env, &["--webhook-url", HOOK, "--dry-run"]).await;
    assert!(ok);
    assert!(
        out.contains("alarm definition heartbeat: would be repaired (expression, ok_actions)"),
        "{out}"
    );
    assert_eq!(keystone.writes().len(), 2);
    let (ok, out, err) = setup(&env, &args).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!("notification method heartbeat_webhook: repaired (address), id {method_id}\nalarm definition heartbeat: repaired (expression, ok_actions), id {definition_id}\n")
    );
    let writes: Vec<String> = keystone
        .writes()
        .iter()
        .map(|(m, c)| format!("{m} {c}"))
        .collect();
    assert_eq!(
        writes[2..],
        [
            "PATCH notification-methods".to_string(),
            "PATCH alarm-definitions".to_string()
        ]
    );
    assert_eq!(keystone.objects("notification").len(), 1);
    let definitions: Vec<Value> = keystone.objects("definition");
    assert_eq!(definitions.len(), 1);
    assert_eq!(
        definitions[0]["expression"],
        "sum(monascamonitor.heartbeat{}) >= 1"
    );
    assert_eq!(definitions[0]["ok_actions"], json!([method_id]));
    assert_eq!(keystone.objects("notification")[0]["address"], HOOK);
}

#[tokio::test]
async fn setup_with_wrong_credentials_or_no_monasca_creates_nothing_and_says_which() {
    let keystone = Keystone::with_catalog(3600, Catalog::Unversioned).await;
    let mut env = openstack(&keystone);
    env.retain(|(k, _)| k != "OS_PASSWORD");
    env.push(("OS_PASSWORD".into(), "wrong".into()));
    let (ok, out, err) = setup(&env, &["--webhook-url", HOOK]).await;
    assert!(!ok && out.is_empty());
    assert!(
        err.contains("Keystone refused the password grant (HTTP 401)"),
        "{err}"
    );
    assert!(keystone.writes().is_empty());

    keystone.set_down(true);
    let (ok, _, err) = setup(&openstack(&keystone), &["--webhook-url", HOOK]).await;
    assert!(!ok);
    assert!(err.contains("Monasca answered HTTP 503"), "{err}");
    keystone.set_down(false);

    let mut env = openstack(&keystone);
    env.push(("MONASCA_URL".into(), "http://127.0.0.1:9".into()));
    let (ok, _, err) = setup(&env, &["--webhook-url", HOOK]).await;
    assert!(!ok);
    assert!(err.contains("Monasca not reachable"), "{err}");
    assert!(keystone.writes().is_empty());

    // An expression Monasca's parser refuses: its 422, nothing half made but the method.
    let (ok, _, err) = setup(
        &openstack(&keystone),
        &["--webhook-url", HOOK, "--expression", "sum(x{}) >="],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("Monasca answered HTTP 422") && err.contains("ParseException"),
        "{err}"
    );
    assert!(keystone.objects("definition").is_empty());
}
