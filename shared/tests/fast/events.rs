//! Events `lambda_http` cannot decode without panicking (a release build aborts on a panic),
//! answered with a 400 in the route's error shape instead, in both API Gateway event shapes.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use telltale::http::event::answer;
use telltale_testkit::events::{http_event, rest_event};
use telltale_testkit::memory::{HeartbeatWorld, ProbeWorld, MONITORING};

type Shape = fn(&str, &str, &[(&str, &str)], Option<&str>) -> Value;

/// The malformed events, each with what its refusal says.
pub fn malformed(shape: Shape, path: &str, key: &str) -> Vec<(&'static str, Value, &'static str)> {
    let headers = [("x-api-key", key), ("authorization", key)];
    let mut cases = Vec::new();
    let mut garbled = shape("POST", path, &headers, Some("{not base64!"));
    garbled["isBase64Encoded"] = json!(true);
    cases.push((
        "a base64 body that is not",
        garbled,
        "the body is marked base64-encoded but is not base64",
    ));
    let mut host = shape("GET", path, &[("x-api-key", key), ("host", "[::1")], None);
    host["requestContext"]["domainName"] = json!("[::1");
    cases.push((
        "a Host no URI can hold",
        host,
        "the Host or X-Forwarded-Proto header cannot be read",
    ));
    let mut proto = shape(
        "GET",
        path,
        &[
            ("x-api-key", key),
            ("host", "api.example.org"),
            ("x-forwarded-proto", "1 x"),
        ],
        None,
    );
    // As a proxy in front may set it: in the single values only, which is where the runtime
    // reads it from.
    if let Some(multi) = proto
        .get_mut("multiValueHeaders")
        .and_then(Value::as_object_mut)
    {
        multi.remove("x-forwarded-proto");
    }
    cases.push((
        "an X-Forwarded-Proto no URI can hold",
        proto,
        "the Host or X-Forwarded-Proto header cannot be read",
    ));
    let mut query = shape("GET", path, &headers, None);
    if query.get("multiValueQueryStringParameters").is_some() {
        query["queryStringParameters"] = json!({"limit": "1"});
        query["multiValueQueryStringParameters"] = json!({"limit": []});
        cases.push((
            "a query parameter with no value",
            query,
            "query parameter 'limit' is listed with no value",
        ));
    } else {
        query["rawQueryString"] = json!("limit=1 2");
        cases.push((
            "a raw query no URI can hold",
            query,
            "the request URI cannot be read",
        ));
    }
    cases
}

/// The probe-submit function's routes on `w`, as a handler of `answer`.
async fn submit(w: &ProbeWorld, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(telltale::http::probes::submit_routes(&w.api, &req).await)
}

fn read(doc: &Value) -> (u16, Value) {
    let status = doc["statusCode"].as_u64().expect("statusCode") as u16;
    let body = doc["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.into())))
        .unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn an_event_the_runtime_cannot_decode_is_a_400_in_the_probe_routes_shape() {
    let w = ProbeWorld::new();
    let handler = |req: Request| submit(&w, req);
    for shape in [rest_event as Shape, http_event] {
        for (what, event, says) in malformed(shape, "/api/v2/probes/", MONITORING) {
            let doc = answer(
                handler,
                telltale::http::error::poem_refusal,
                event,
                Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: the invocation failed: {e}"));
            assert_eq!(read(&doc), (400, json!({"detail": says})), "{what}");
        }
    }
    // A body that is base64 is still read as one.
    use base64::Engine;
    let body = json!({"name": "b64-probe", "docurl": "https://example.org/d", "script": "https://example.org/s",
        "command": "s -t 10", "contact": "b@example.org"}).to_string();
    let mut event = rest_event(
        "POST",
        "/api/v2/probes/",
        &[
            ("x-api-key", MONITORING),
            ("content-type", "application/json"),
        ],
        Some(&base64::engine::general_purpose::STANDARD.encode(body)),
    );
    event["isBase64Encoded"] = json!(true);
    let doc = answer(
        handler,
        telltale::http::error::poem_refusal,
        event,
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(read(&doc).0, 201, "{doc}");
}

#[tokio::test]
async fn an_event_the_runtime_cannot_decode_is_a_400_in_the_heartbeat_shape() {
    let w = HeartbeatWorld::new().await;
    let api = w.api();
    let handler = |req: Request| {
        let api = &api;
        async move {
            Ok::<Response<Body>, lambda_http::Error>(
                telltale::http::heartbeat::routes(api, &req).await,
            )
        }
    };
    let bearer = format!("Bearer {}", w.key);
    for shape in [rest_event as Shape, http_event] {
        for (what, event, says) in malformed(shape, "/heartbeat", &bearer) {
            let doc = answer(
                handler,
                telltale::http::error::heartbeat,
                event,
                Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: the invocation failed: {e}"));
            let (status, body) = read(&doc);
            assert_eq!(
                (status, body["message"].as_str(), body["path"].as_str()),
                (400, Some(says), Some("/heartbeat")),
                "{what}: {body}"
            );
        }
    }
}

/// `Location` resolves where the caller is: under the REST stage on the execute-api address,
/// under a custom domain's base path, at the root otherwise.
#[tokio::test]
async fn location_resolves_under_the_stage_the_caller_used() {
    let w = ProbeWorld::new();
    let handler = |req: Request| submit(&w, req);
    let body = json!({"name": "located", "docurl": "https://example.org/d", "script": "https://example.org/s",
        "command": "s -t 10", "contact": "l@example.org"})
    .to_string();
    let headers = [
        ("x-api-key", MONITORING),
        ("content-type", "application/json"),
    ];
    for (sent, prefix) in [
        (Some("/prod/api/v2/probes/"), "/prod"),
        (Some("/v1/api/v2/probes/"), "/v1"),
        (Some("/api/v2/probes/"), ""),
        (None, ""),
    ] {
        let mut event = match sent {
            Some(sent) => {
                let mut e = rest_event("POST", "/api/v2/probes/", &headers, Some(&body));
                e["requestContext"]["path"] = json!(sent);
                e
            }
            None => http_event("POST", "/api/v2/probes/", &headers, Some(&body)),
        };
        event["headers"]["idempotency-key"] = json!(format!("loc-{prefix}-{}", sent.is_some()));
        let doc = answer(
            handler,
            telltale::http::error::poem_refusal,
            event,
            Default::default(),
        )
        .await
        .unwrap();
        let (status, answer) = read(&doc);
        assert_eq!(status, 201, "{doc}");
        let location = doc["multiValueHeaders"]["location"][0]
            .as_str()
            .or_else(|| doc["headers"]["location"].as_str())
            .unwrap_or_else(|| panic!("no location: {doc}"));
        assert_eq!(
            location,
            format!("{prefix}/api/v2/probes/{}", answer["id"].as_str().unwrap()),
            "{sent:?}"
        );
    }
}
