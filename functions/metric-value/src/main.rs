//! `metric-value`: `GET /metrics/{resourceId}/{metricId}/value[?time=<unix seconds>]`, the
//! metric's value computed from Prometheus as its mapping entry says.

use lambda_http::{Body, Error, Request, Response};
use telltale::http::metrics::value_routes;
use telltale::wiring::Values;

async fn handler(stack: &Values, req: Request) -> Result<Response<Body>, Error> {
    let prometheus = stack.prometheus.as_ref();
    Ok(value_routes(&stack.store, prometheus, stack.range_start, &req).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::metric_value().await {
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
    use telltale_testkit::prometheus::{demo_series, prometheus};
    use telltale_testkit::{moto::moto, repo_root, unique};

    /// Every sample event in `events/metric-value/` runs through the handler against the demo
    /// mappings (moto's S3) and the demo series (a real Prometheus).
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let server = prometheus(demo_series);
        let s3 = telltale::adapters::aws::s3_client(&moto().sdk_config().await);
        let bucket = unique("value-events");
        tables::ensure_bucket(&s3, &bucket).await.unwrap();
        for name in ["metadata_mappings.json", "metrics_mappings.json"] {
            let body = std::fs::read(repo_root().join("demo").join(name)).unwrap();
            tables::put_object(&s3, &bucket, name, body).await.unwrap();
        }
        let state = Values {
            store: telltale::adapters::aws::s3::mapping_store(
                s3,
                telltale::metrics::config::MappingsConfig::for_bucket(bucket),
            ),
            prometheus: Box::new(telltale::adapters::prometheus::Prometheus::new(
                &server.url,
                std::time::Duration::from_secs(5),
            )),
            range_start: telltale::metrics::config::DEFAULT_RANGE_START,
        };
        let events = sample_events("metric-value");
        assert!(events.len() >= 6);
        for event in events {
            let name = event.name.clone();
            let resp = via_api_gateway(|req| handler(&state, req), &event).await;
            let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref())
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
            assert_eq!(
                resp.status().as_u16(),
                event.expected_status,
                "{name}: {body}"
            );
            if event.expected_status == 200 {
                assert!(
                    body["value"].as_f64().is_some_and(f64::is_finite),
                    "{name}: {body}"
                );
            }
        }
        // The demo data's own rule: 12 probes in production and 3 in devel.
        let req = lambda_http::http::Request::builder()
            .uri("/metrics/argo-monitoring/deployed-probes/value")
            .body(Body::Empty)
            .unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(handler(&state, req).await.unwrap().body().as_ref()).unwrap();
        assert_eq!(body["value"], 15.0);
    }
}
