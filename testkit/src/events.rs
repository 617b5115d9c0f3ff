//! The sample events of a function (`events/<function>/*.json`), with the status each one's
//! file name announces (`name.<status>.json`).

use super::repo_root;
use lambda_http::Request;

pub struct SampleEvent {
    pub name: String,
    pub request: Request,
    pub expected_status: u16,
    /// The event document itself, for `proxy_response`.
    pub text: String,
}

pub fn sample_events(function: &str) -> Vec<SampleEvent> {
    let dir = repo_root().join("events").join(function);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("listing events").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let expected_status = name
                .rsplit('.')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{name}: name it <case>.<status>.json"));
            let text = std::fs::read_to_string(&file).expect("reading an event");
            let request = lambda_http::request::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
            SampleEvent {
                name,
                request,
                expected_status,
                text,
            }
        })
        .collect()
}

/// What `lambda_http::run` hands Lambda for this API Gateway event: the proxy response document
/// API Gateway turns into the caller's answer (status, headers, `body`, `isBase64Encoded`).
/// `cargo lambda watch` forgives shapes API Gateway does not; this is the document itself.
pub async fn proxy_response<F, Fut>(handler: F, event_json: &str) -> serde_json::Value
where
    F: FnMut(lambda_http::Request) -> Fut,
    Fut: std::future::Future<
            Output = Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
        > + Send,
{
    let event: serde_json::Value = serde_json::from_str(event_json).expect("an API Gateway event");
    telltale::http::event::answer(
        handler,
        refusal_for(&event),
        event,
        lambda_http::Context::default(),
    )
    .await
    .expect("the handler answers")
}

/// The error shape the function serving this event's path answers in (as its `main` wires it).
fn refusal_for(event: &serde_json::Value) -> telltale::http::event::Refusal {
    let path = ["rawPath", "path"]
        .iter()
        .find_map(|k| event[*k].as_str())
        .unwrap_or("/");
    if path.starts_with("/api/v2/probes") || path.starts_with("/team") {
        telltale::http::error::poem_refusal
    } else {
        telltale::http::error::spring
    }
}

/// Answers a sample event the way a caller behind API Gateway sees it: through the proxy
/// response document (`proxy_response`), which must carry a text body (`isBase64Encoded`
/// false; a REST API without binary media types would hand base64 to the caller), rebuilt
/// into a response for the test's own checks.
pub async fn via_api_gateway<F, Fut>(
    handler: F,
    event: &SampleEvent,
) -> lambda_http::Response<lambda_http::Body>
where
    F: FnMut(lambda_http::Request) -> Fut,
    Fut: std::future::Future<
            Output = Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
        > + Send,
{
    let name = &event.name;
    let doc = proxy_response(handler, &event.text).await;
    assert_eq!(
        doc["isBase64Encoded"], false,
        "{name}: a base64 body reaches the caller as base64 text: {doc}"
    );
    let mut resp = lambda_http::Response::builder().status(
        doc["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("{name}: no statusCode: {doc}")),
    );
    if let Some(headers) = doc["multiValueHeaders"].as_object() {
        for (header, values) in headers {
            for value in values.as_array().into_iter().flatten() {
                resp = resp.header(header, value.as_str().expect("a header value is text"));
            }
        }
    }
    let body = match &doc["body"] {
        serde_json::Value::Null => lambda_http::Body::Empty,
        serde_json::Value::String(text) => lambda_http::Body::Text(text.clone()),
        other => panic!("{name}: the body is not text: {other}"),
    };
    resp.body(body).expect("a response")
}

/// A REST API (payload 1.0) event: `headers` holds each header's last value,
/// `multiValueHeaders` all of them, as API Gateway builds it.
pub fn rest_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> serde_json::Value {
    let mut single = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (name, value) in headers {
        single.insert(name.to_string(), serde_json::json!(value));
        multi
            .entry(name.to_string())
            .or_insert_with(|| serde_json::json!([]))
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(value));
    }
    serde_json::json!({
        "resource": path, "path": path, "httpMethod": method,
        "headers": single, "multiValueHeaders": multi,
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null,
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": path, "stage": "prod",
            "requestId": "r-1", "accountId": "123456789012", "apiId": "api", "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "192.0.2.10"}, "requestTimeEpoch": 1700000000000u64},
        "body": body, "isBase64Encoded": false
    })
}

/// An HTTP API (payload 2.0) event: a repeated header's values joined with commas.
pub fn http_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> serde_json::Value {
    let mut joined = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let v = match joined.get(&name).and_then(serde_json::Value::as_str) {
            Some(before) => format!("{before},{value}"),
            None => value.to_string(),
        };
        joined.insert(name, serde_json::json!(v));
    }
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": joined,
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.example.org",
            "domainPrefix": "api", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.10", "userAgent": "curl"}, "requestId": "r-1", "routeKey": "$default",
            "stage": "$default", "time": "01/Dec/2026:12:00:00 +0000", "timeEpoch": 1795000000000u64},
        "body": body, "isBase64Encoded": false
    })
}
