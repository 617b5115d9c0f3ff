//! The mapping store against moto's S3: loading, revalidation, bad uploads, missing objects.

use std::time::Duration;
use telltale::adapters::aws::s3_client;
use telltale::base::error::Error;
use telltale::metrics::catalog;
use telltale::metrics::config::MappingsConfig;
use telltale::metrics::store::MappingStore;
use telltale_cli::tables;
use telltale_testkit::{moto::moto, repo_root, unique};

const METADATA: &str = "metadata_mappings.json";
const METRICS: &str = "metrics_mappings.json";

struct Fixture {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Fixture {
    async fn new() -> Self {
        let sdk = moto().sdk_config().await;
        let s3 = s3_client(&sdk);
        let bucket = unique("mappings");
        tables::ensure_bucket(&s3, &bucket).await.unwrap();
        Fixture { s3, bucket }
    }

    async fn put(&self, key: &str, body: &str) {
        tables::put_object(&self.s3, &self.bucket, key, body.as_bytes().to_vec())
            .await
            .unwrap();
    }

    async fn put_demo(&self) {
        for name in [METADATA, METRICS] {
            let body = std::fs::read_to_string(repo_root().join("demo").join(name)).unwrap();
            self.put(name, &body).await;
        }
    }

    fn store(&self, revalidate_after: Duration) -> MappingStore {
        telltale::adapters::aws::s3::mapping_store(
            self.s3.clone(),
            MappingsConfig {
                bucket: self.bucket.clone(),
                metadata_key: METADATA.into(),
                metrics_key: METRICS.into(),
                revalidate_after,
            },
        )
    }
}

const SIMPLE_SHAPE: &str = r#"{"res": {"m1": {"name": "first", "type": "STATE"}}}"#;
const METRICS_OK: &str = r#"{"res": {"m1": {"query": "up"}}}"#;

async fn metric_name(store: &MappingStore, r: &str, m: &str) -> Option<String> {
    let view = store.view().await;
    catalog::metric(view.metadata().unwrap(), r, m)
        .unwrap()
        .name
        .clone()
}

#[tokio::test]
async fn both_seed_shapes_load() {
    let f = Fixture::new().await;
    f.put_demo().await;
    let store = f.store(Duration::from_secs(60));
    let view = store.view().await;
    let metadata = view.metadata().unwrap();
    // Full shape: `metrics` level and an installation id.
    assert_eq!(
        metadata["argo-monitoring"].eosc_installation_id.as_deref(),
        Some("6551ebae5c4b4d2a5b7b0e1a")
    );
    assert_eq!(
        catalog::metric_ids(metadata, "argo-monitoring").unwrap(),
        vec!["deployed-probes", "probe-submissions"]
    );
    // Simple shape (the older README): metrics directly under the resource.
    assert_eq!(
        catalog::metric_ids(metadata, "metrics-portal").unwrap(),
        vec!["availability", "monthly-users"]
    );
    assert_eq!(
        catalog::metric(metadata, "metrics-portal", "availability")
            .unwrap()
            .description,
        None
    );
    assert_eq!(view.metrics().unwrap().len(), 2);
}

#[tokio::test]
async fn an_update_is_picked_up_after_the_revalidation_interval() {
    let f = Fixture::new().await;
    f.put(METADATA, SIMPLE_SHAPE).await;
    f.put(METRICS, METRICS_OK).await;
    // Wide enough that a loaded CI machine cannot let the interval pass before the check below.
    let store = f.store(Duration::from_secs(4));
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("first")
    );

    f.put(METADATA, &SIMPLE_SHAPE.replace("first", "second"))
        .await;
    // Within the interval the warm container keeps what it has, without asking S3.
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("first")
    );
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("second")
    );
    let health = store.health().await;
    assert_eq!(health.status, "UP");
    assert!(health.mappings.metadata.etag.is_some());
}

#[tokio::test]
async fn an_invalid_upload_is_ignored_and_the_old_version_keeps_serving() {
    let f = Fixture::new().await;
    f.put(METADATA, SIMPLE_SHAPE).await;
    f.put(METRICS, METRICS_OK).await;
    let store = f.store(Duration::from_millis(300));
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("first")
    );
    let good_etag = store.health().await.mappings.metrics.etag;

    // A PromQL syntax error and a wrong type: the new version must not replace the old one.
    f.put(METRICS, r#"{"res": {"m1": {"query": "sum(rate(x[5m])"}}}"#)
        .await;
    f.put(
        METADATA,
        r#"{"res": {"m1": {"name": "broken", "type": "GAUGE"}}}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("first")
    );
    let health = store.health().await;
    assert_eq!(health.status, "UP", "last good versions still serve");
    assert_eq!(health.mappings.metrics.etag, good_etag);
    // Health says a version was rejected and how many problems it had; the problems (which
    // quote the file, queries included) are in the log, not in an answer.
    let shown = serde_json::to_string(&health).unwrap();
    let error = health.mappings.metrics.last_error.unwrap();
    assert!(error.contains("was rejected with 1 problem(s)"), "{error}");
    assert_eq!(health.mappings.metrics.validation_errors, 1);
    let error = health.mappings.metadata.last_error.unwrap();
    assert!(
        error.contains("was rejected with 1 problem(s)") && !error.contains("GAUGE"),
        "{error}"
    );
    assert!(
        !shown.contains(&f.bucket),
        "health names the bucket: {shown}"
    );

    // Fixing the upload clears the error and serves the new version.
    f.put(METADATA, &SIMPLE_SHAPE.replace("first", "fixed"))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        metric_name(&store, "res", "m1").await.as_deref(),
        Some("fixed")
    );
    assert!(store.health().await.mappings.metadata.last_error.is_none());
}

#[tokio::test]
async fn a_missing_bucket_or_object_is_a_503_that_says_so() {
    let f = Fixture::new().await;
    let missing_bucket = telltale::adapters::aws::s3::mapping_store(
        f.s3.clone(),
        MappingsConfig {
            bucket: unique("absent"),
            metadata_key: METADATA.into(),
            metrics_key: METRICS.into(),
            revalidate_after: Duration::from_secs(60),
        },
    );
    let view = missing_bucket.view().await;
    let err = view.metadata().unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }));
    assert_eq!(telltale::http::error::status_of(&err), 503);
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");

    // Bucket exists, metrics object does not: metadata still serves, metrics say why not.
    f.put(METADATA, SIMPLE_SHAPE).await;
    let store = f.store(Duration::from_secs(60));
    let view = store.view().await;
    assert!(view.metadata().is_ok());
    let err = view.metrics().unwrap_err();
    assert!(err.to_string().contains("NoSuchKey"), "{err}");
    assert!(err.to_string().contains(METRICS), "{err}");
    assert_eq!(store.health().await.status, "DOWN");

    // Once the object appears it is picked up without waiting a whole interval.
    f.put(METRICS, METRICS_OK).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(store.view().await.metrics().is_ok());
}

#[tokio::test]
async fn an_unreachable_s3_is_a_503_naming_the_mappings() {
    // Nothing listens on port 9 of loopback.
    let sdk = telltale::adapters::aws::sdk_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .load()
        .await;
    let store = telltale::adapters::aws::s3::mapping_store(
        s3_client(&sdk),
        MappingsConfig {
            bucket: "b".into(),
            metadata_key: METADATA.into(),
            metrics_key: METRICS.into(),
            revalidate_after: Duration::from_secs(60),
        },
    );
    let err = store.view().await.metadata().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("mapping files unavailable"), "{text}");
    assert!(
        text.contains("metadata_mappings.json: not reachable"),
        "{text}"
    );
    assert!(
        !text.contains("127.0.0.1") && !text.contains("s3://"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_ids_are_404s_with_the_spring_error_shape() {
    let f = Fixture::new().await;
    f.put_demo().await;
    let store = f.store(Duration::from_secs(60));
    let view = store.view().await;
    let metadata = view.metadata().unwrap();
    let err = catalog::metric(metadata, "argo-monitoring", "nope").unwrap_err();
    let resp = telltale::http::error::spring(&err, "/metrics/argo-monitoring/nope");
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "status": 404,
            "error": "Not Found",
            "message": "unknown metric 'nope' of resource 'argo-monitoring'",
            "path": "/metrics/argo-monitoring/nope"
        })
    );
    let err = catalog::metric_ids(metadata, "nope").unwrap_err();
    assert_eq!(err.to_string(), "unknown resource 'nope'");
}
