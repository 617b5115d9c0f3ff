//! Calling the heartbeat routes as a caller would, on whichever stores a test has (moto's or
//! the in-memory ones), and the webhook bodies of each sender.

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use telltale::auth::KeyLookup;
use telltale::heartbeat::check::Check;
use telltale::heartbeat::ports::{HeartbeatStore, Heartbeats};
use telltale::http::heartbeat::{routes, HeartbeatApi};

/// An answer as a caller sees it: status, headers, the body as bytes.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// A request with raw header bytes (so a test can send what a browser would not).
pub fn request(method: &str, uri: &str, headers: &[(&str, &[u8])], body: Vec<u8>) -> Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(if body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(body)
        })
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().append(
            lambda_http::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    req
}

/// The request through the heartbeat routes.
pub async fn call<S: Heartbeats, K: KeyLookup>(api: &HeartbeatApi<S, K>, req: Request) -> Answer {
    let resp = routes(api, &req).await;
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.body().as_ref().to_vec(),
    }
}

/// A request with `key` as a bearer token.
pub async fn send<S: Heartbeats, K: KeyLookup>(
    api: &HeartbeatApi<S, K>,
    key: &str,
    method: &str,
    uri: &str,
    body: &str,
) -> Answer {
    let bearer = format!("Bearer {key}");
    call(
        api,
        request(
            method,
            uri,
            &[("authorization", bearer.as_bytes())],
            body.as_bytes().to_vec(),
        ),
    )
    .await
}

/// The check `name` as stored.
pub async fn check(store: &impl HeartbeatStore, name: &str) -> Check {
    store
        .checks()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

/// How many pings or notifications of `source` in `state` the check has counted.
pub fn count(c: &Check, source: &str, state: &str) -> u64 {
    c.received
        .get(&(source.to_string(), state.to_string()))
        .copied()
        .unwrap_or(0)
}

/// An Alertmanager webhook body (version 4) with one alert per status.
pub fn alertmanager(statuses: &[&str]) -> String {
    let alerts: Vec<Value> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"status": s, "labels": {"alertname": "TelltaleHeartbeat"}, "annotations": {},
                              "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                              "generatorURL": "http://prometheus/graph", "fingerprint": format!("f{i}")}))
        .collect();
    json!({"version": "4", "groupKey": "{}:{alertname=\"TelltaleHeartbeat\"}", "truncatedAlerts": 0,
           "receiver": "telltale", "status": "firing", "groupLabels": {"alertname": "TelltaleHeartbeat"},
           "commonLabels": {"alertname": "TelltaleHeartbeat"}, "commonAnnotations": {},
           "externalURL": "http://alertmanager:9093", "alerts": alerts})
    .to_string()
}

/// A monasca-notification webhook body in `state`.
pub fn monasca(state: &str) -> String {
    json!({"alarm_id": "8c7d", "alarm_definition_id": "4f7f", "alarm_name": "heartbeat",
           "alarm_description": "Heartbeat", "alarm_timestamp": 1795939200, "state": state,
           "old_state": "OK", "message": "Thresholds were exceeded for the sub-alarms",
           "tenant_id": "t1", "metrics": [{"name": "monascamonitor.heartbeat", "dimensions": {"hostname": "h1"}}]})
    .to_string()
}
