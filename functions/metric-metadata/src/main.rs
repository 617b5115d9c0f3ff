//! `metric-metadata`: describes metrics from the mapping files in S3.
//! Routes: `GET /metrics/{resourceId}`, `GET /metrics/{resourceId}/{metricId}`,
//! `GET /ids/resources`, `GET /ids/metrics/{resourceId}`, `GET /-/health`, `GET /-/info`.

use lambda_http::{Body, Error, Request, Response};
use telltale::http::metrics::{metadata_routes, BuildInfo};
use telltale::metrics::store::MappingStore;

const INFO: BuildInfo = BuildInfo {
    function: "metric-metadata",
    version: env!("CARGO_PKG_VERSION"),
};

async fn handler(store: &MappingStore, req: Request) -> Result<Response<Body>, Error> {
    Ok(metadata_routes(store, &INFO, &req).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::metric_metadata().await {
        Ok(stack) => stack,
        Err(problem) => {
            return telltale::http::event::unconfigured(problem, telltale::http::error::spring)
                .await
        }
    };
    telltale::http::event::run(|req| handler(&stack, req), telltale::http::error::spring).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_cli::tables;
    use telltale_testkit::events::{sample_events, via_api_gateway};
    use telltale_testkit::{moto::moto, repo_root, unique};

    /// Every sample event in `events/metric-metadata/` runs through the handler against the
    /// demo mappings in moto's S3 and gets the status its file name announces.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let sdk = moto().sdk_config().await;
        let s3 = telltale::adapters::aws::s3_client(&sdk);
        let bucket = unique("events");
        tables::ensure_bucket(&s3, &bucket).await.unwrap();
        for name in ["metadata_mappings.json", "metrics_mappings.json"] {
            let body = std::fs::read(repo_root().join("demo").join(name)).unwrap();
            tables::put_object(&s3, &bucket, name, body).await.unwrap();
        }
        let store = telltale::adapters::aws::s3::mapping_store(
            s3,
            telltale::metrics::config::MappingsConfig::for_bucket(bucket),
        );
        let events = sample_events("metric-metadata");
        assert!(events.len() >= 7, "one sample event per route");
        for event in events {
            let name = event.name.clone();
            let resp = via_api_gateway(|req| handler(&store, req), &event).await;
            if name.starts_with("openapi") {
                let served: serde_json::Value =
                    serde_json::from_slice(resp.body().as_ref()).unwrap();
                let file = std::fs::read(repo_root().join("infra/openapi.json")).unwrap();
                let file: serde_json::Value = serde_json::from_slice(&file).unwrap();
                assert_eq!(served, file, "the served document is infra/openapi.json");
                assert_eq!(resp.headers()["content-type"], "application/json");
                assert!(served["paths"]["/api/v2/probes/{id}/status"]["put"].is_object());
            }
            assert_eq!(resp.status().as_u16(), event.expected_status, "{name}");
            let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref())
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
            if event.expected_status >= 400 {
                assert_eq!(body["status"], event.expected_status, "{name}: {body}");
                assert!(
                    body["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}"
                );
            }
        }
    }
}
