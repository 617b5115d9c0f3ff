//! API keys against moto's DynamoDB, and the `telltale keys` command that creates them.

use std::process::Command;
use telltale::adapters::aws::{dynamodb_client, keys::ApiKeys};
use telltale::auth::{authenticate, hash_key, KeyLookup, Role, NOT_AUTHENTICATED};
use telltale_cli::tables;
use telltale_testkit::{moto::moto, unique};

async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let client = dynamodb_client(&moto().sdk_config().await);
    let name = unique("keys");
    tables::ensure_table(&client, telltale_cli::tables::Store::ApiKeys, &name)
        .await
        .unwrap();
    (client, name)
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(telltale_testkit::cli_binary())
        .args(args)
        .envs(moto().env())
        .output()
        .expect("running telltale")
}

#[tokio::test]
async fn a_created_key_authenticates_with_its_role_and_only_its_hash_is_stored() {
    let (client, name) = table().await;
    let out = cli(&[
        "keys",
        "create",
        "--name",
        "ops-team",
        "--role",
        "monitoring",
        "--table",
        &name,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("tt_"), "{key}");

    // The table holds the hash, never the key.
    let scan = client.scan().table_name(&name).send().await.unwrap();
    let items = scan.items();
    assert_eq!(items.len(), 1);
    let stored = format!("{:?}", items[0]);
    assert!(!stored.contains(&key), "the key itself was stored");
    assert!(stored.contains(&hash_key(&key)));

    let keys = ApiKeys::new(client, name.clone());
    let caller = authenticate(&keys, Some(&key), Role::Monitoring)
        .await
        .unwrap();
    assert_eq!(
        (caller.name.as_str(), caller.role),
        ("ops-team", Role::Monitoring)
    );
    let err = authenticate(&keys, Some("tt_wrong"), Role::Submitter)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), NOT_AUTHENTICATED);

    // A second live key of the same name is refused: histories and logs name keys by it.
    let again = cli(&[
        "keys",
        "create",
        "--name",
        "ops-team",
        "--role",
        "submitter",
        "--table",
        &name,
    ]);
    assert!(!again.status.success());
    assert!(again.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("a key named 'ops-team' exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let scan = keys.named("ops-team").await.unwrap();
    assert_eq!(scan.len(), 1);

    let out = cli(&["keys", "revoke", "--name", "ops-team", "--table", &name]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "revoked 1 key(s) named 'ops-team'"
    );
    assert!(keys.find(&hash_key(&key)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_submitter_key_is_refused_on_monitoring_routes() {
    let (client, name) = table().await;
    let out = cli(&[
        "keys",
        "create",
        "--name",
        "tenant",
        "--role",
        "submitter",
        "--table",
        &name,
    ]);
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let keys = ApiKeys::new(client, name);
    assert!(authenticate(&keys, Some(&key), Role::Submitter)
        .await
        .is_ok());
    let err = authenticate(&keys, Some(&key), Role::Monitoring)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("'monitoring' role"), "{err}");
}

#[test]
fn key_creation_without_a_table_fails_clearly() {
    let out = Command::new(telltale_testkit::cli_binary())
        .args(["keys", "create", "--name", "x", "--role", "submitter"])
        .env_remove("API_KEYS_TABLE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--table"));
}
