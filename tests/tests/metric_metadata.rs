//! The metric-metadata routes through `cargo lambda watch` and its router, over plain HTTP,
//! against the demo mappings in moto's S3.

use serde_json::{json, Value};
use telltale::adapters::aws::s3_client;
use telltale_cli::tables;
use telltale_testkit::{moto::moto, repo_root, unique, watch::Watch};

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let resp = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let body = resp
        .json::<Value>()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
    (status, body)
}

#[tokio::test]
async fn the_metadata_routes_answer_on_their_real_paths() {
    let moto = moto();
    let s3 = s3_client(&moto.sdk_config().await);
    let bucket = unique("blackbox");
    tables::ensure_bucket(&s3, &bucket).await.unwrap();
    for name in ["metadata_mappings.json", "metrics_mappings.json"] {
        let body = std::fs::read(repo_root().join("demo").join(name)).unwrap();
        tables::put_object(&s3, &bucket, name, body).await.unwrap();
    }
    let mut env = moto.env();
    env.push(("MAPPINGS_BUCKET".into(), bucket));
    let watch = Watch::start(&env);
    let base = &watch.base_url;
    // The first request compiles and starts the function.
    let client = telltale_testkit::watch::client();

    let (status, body) = get(
        &client,
        format!("{base}/metrics/argo-monitoring/probe-submissions"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "name": "Probe submissions",
            "description": "Probe candidates submitted since the accounting start",
            "unit": "submissions",
            "type": "EVENT",
            "eoscMetricDefinitionId": "6551ec9b5c4b4d2a5b7b0e2f"
        })
    );

    let (status, body) = get(&client, format!("{base}/ids/resources")).await;
    assert_eq!(
        (status, body),
        (200, json!({"items": ["argo-monitoring", "metrics-portal"]}))
    );

    let (status, body) = get(&client, format!("{base}/ids/metrics/metrics-portal")).await;
    assert_eq!(
        (status, body),
        (200, json!({"items": ["availability", "monthly-users"]}))
    );

    let (status, body) = get(&client, format!("{base}/metrics/metrics-portal")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["availability"],
        json!({"name": "Availability", "description": null, "unit": null, "type": "STATE", "eoscMetricDefinitionId": null})
    );

    let (status, body) = get(&client, format!("{base}/metrics/nope/x")).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"status": 404, "error": "Not Found", "message": "unknown resource 'nope'", "path": "/metrics/nope/x"})
        )
    );

    let (status, body) = get(&client, format!("{base}/-/health")).await;
    assert_eq!((status, &body["status"]), (200, &json!("UP")), "{body}");
    let (status, body) = get(&client, format!("{base}/-/info")).await;
    assert_eq!(
        (status, &body["function"]),
        (200, &json!("metric-metadata"))
    );

    let resp = client
        .delete(format!("{base}/metrics/argo-monitoring/probe-submissions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}
