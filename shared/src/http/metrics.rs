//! The routes of the `metric-metadata` function: the request becomes a catalog lookup, the
//! result a JSON response in the Spring service's shapes.

use crate::base::error::{Error, Result};
use crate::http::route::{matches, query_param, request_path};
use crate::http::{error::spring, json};
use crate::metrics::catalog;
use crate::metrics::ports::PrometheusQuery;
use crate::metrics::store::MappingStore;
use crate::metrics::value::compute;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Build facts for `GET /-/info`.
pub struct BuildInfo {
    pub function: &'static str,
    pub version: &'static str,
}

/// Serves every `metric-metadata` route.
pub async fn metadata_routes(
    store: &MappingStore,
    info: &BuildInfo,
    req: &Request,
) -> Response<Body> {
    // Without the API Gateway stage prefix, so paths read as the routes are written.
    let path = request_path(req);
    match crate::http::within_deadline(req, serve(store, info, req, &path)).await {
        Ok(resp) => resp,
        Err(err) => spring(&err, &path),
    }
}

async fn serve(
    store: &MappingStore,
    info: &BuildInfo,
    req: &Request,
    path: &str,
) -> Result<Response<Body>> {
    let known = [
        "/-/health",
        "/-/info",
        "/-/openapi.json",
        "/ids/resources",
        "/ids/metrics/{resourceId}",
        "/metrics/{resourceId}",
        "/metrics/{resourceId}/{metricId}",
    ];
    if !known.iter().any(|t| matches(t, path).is_some()) {
        return Err(Error::NotFound("no route for this path".into()));
    }
    if req.method() != lambda_http::http::Method::GET {
        return Err(Error::MethodNotAllowed {
            method: req.method().to_string(),
            path: path.to_string(),
            allow: "GET",
        });
    }
    if matches("/-/info", path).is_some() {
        return Ok(json(
            200,
            &json!({"name": "telltale", "function": info.function, "version": info.version}),
        ));
    }
    if matches("/-/openapi.json", path).is_some() {
        return Ok(crate::http::raw_json(
            200,
            crate::http::OPENAPI_DOCUMENT.as_bytes().to_vec(),
        ));
    }
    if matches("/-/health", path).is_some() {
        let health = store.health().await;
        let status = if health.status == "UP" { 200 } else { 503 };
        return Ok(json(status, &health));
    }
    let view = store.view().await;
    let metadata = view.metadata()?;
    if matches("/ids/resources", path).is_some() {
        return Ok(json(
            200,
            &json!({"items": catalog::resource_ids(metadata)}),
        ));
    }
    if let Some(p) = matches("/ids/metrics/{resourceId}", path) {
        let items = catalog::metric_ids(metadata, p.get("resourceId"))?;
        return Ok(json(200, &json!({"items": items})));
    }
    if let Some(p) = matches("/metrics/{resourceId}/{metricId}", path) {
        let m = catalog::metric(metadata, p.get("resourceId"), p.get("metricId"))?;
        return Ok(json(200, m));
    }
    let p = matches("/metrics/{resourceId}", path).unwrap_or_default();
    Ok(json(
        200,
        &catalog::metrics_of(metadata, p.get("resourceId"))?,
    ))
}

/// The latest `time` the value route takes (2100-01-01): later ones are a caller's mistake, and
/// Prometheus would refuse the range they make.
pub const MAX_QUERY_TIME: i64 = 4_102_444_800;

/// Serves `GET /metrics/{resourceId}/{metricId}/value[?time=<unix seconds>]`.
pub async fn value_routes(
    store: &MappingStore,
    prometheus: &dyn PrometheusQuery,
    range_start: i64,
    req: &Request,
) -> Response<Body> {
    let path = request_path(req);
    match crate::http::within_deadline(req, serve_value(store, prometheus, range_start, req, &path))
        .await
    {
        Ok(resp) => resp,
        Err(err) => spring(&err, &path),
    }
}

async fn serve_value(
    store: &MappingStore,
    prometheus: &dyn PrometheusQuery,
    range_start: i64,
    req: &Request,
    path: &str,
) -> Result<Response<Body>> {
    let params = matches("/metrics/{resourceId}/{metricId}/value", path)
        .ok_or_else(|| Error::NotFound("no route for this path".into()))?;
    if req.method() != lambda_http::http::Method::GET {
        return Err(Error::MethodNotAllowed {
            method: req.method().to_string(),
            path: path.to_string(),
            allow: "GET",
        });
    }
    let time = match query_param(req, "time")? {
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
        Some(t) => {
            let shown: String = t.chars().take(40).collect();
            let time = t.trim().parse::<i64>().map_err(|_| {
                Error::BadRequest(format!(
                    "time must be an integer number of unix seconds, not '{shown}'"
                ))
            })?;
            if !(0..=MAX_QUERY_TIME).contains(&time) {
                return Err(Error::BadRequest(format!(
                    "time must be between 0 and {MAX_QUERY_TIME} (2100-01-01), not {time}"
                )));
            }
            time
        }
    };
    let view = store.view().await;
    let value = compute(
        view.metrics()?,
        prometheus,
        range_start,
        params.get("resourceId"),
        params.get("metricId"),
        time,
    )
    .await?;
    Ok(json(200, &value))
}
