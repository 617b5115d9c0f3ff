//! Issue-19 findings, each tried as the caller sent it: headers given twice in the event shapes
//! API Gateway really sends (REST: `headers` + `multiValueHeaders`; HTTP API: comma-joined),
//! long values quoted back, invisible characters, and the lenient readings now refused.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use telltale::http::event::answer;
use telltale_testkit::events::{http_event, rest_event};
use telltale_testkit::memory::{
    valid_submission, HeartbeatWorld, ProbeWorld, MONITORING, SUBMITTER,
};

/// The proxy response document's status and parsed body.
fn read(doc: &Value) -> (u16, Value) {
    let status = doc["statusCode"].as_u64().expect("statusCode") as u16;
    let body = doc["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.into())))
        .unwrap_or(Value::Null);
    (status, body)
}

async fn probe_status(w: &ProbeWorld, event: Value) -> (u16, Value) {
    let handler = |req: Request| {
        let api = &w.api;
        async move {
            Ok::<Response<Body>, lambda_http::Error>(
                telltale::http::probes::status_routes(api, &req).await,
            )
        }
    };
    read(
        &answer(
            handler,
            telltale::http::error::poem_refusal,
            event,
            Default::default(),
        )
        .await
        .unwrap(),
    )
}

async fn probe_submit(w: &ProbeWorld, event: Value) -> (u16, Value) {
    let handler = |req: Request| {
        let api = &w.api;
        async move {
            Ok::<Response<Body>, lambda_http::Error>(
                telltale::http::probes::submit_routes(api, &req).await,
            )
        }
    };
    read(
        &answer(
            handler,
            telltale::http::error::poem_refusal,
            event,
            Default::default(),
        )
        .await
        .unwrap(),
    )
}

#[tokio::test]
async fn a_header_given_twice_is_refused_in_both_event_shapes_whatever_the_order() {
    let w = ProbeWorld::new();
    let id = w.submitted("x@example.org").await;
    let path = format!("/api/v2/probes/{id}");
    // The event path works: one key, the right role.
    for shape in [rest_event, http_event] {
        let (status, body) =
            probe_status(&w, shape("GET", &path, &[("x-api-key", MONITORING)], None)).await;
        assert_eq!(status, 200, "{body}");
    }
    for shape in [rest_event, http_event] {
        for keys in [
            [MONITORING, SUBMITTER],
            [SUBMITTER, MONITORING],
            [MONITORING, MONITORING],
        ] {
            let headers = [("x-api-key", keys[0]), ("x-api-key", keys[1])];
            let (status, body) = probe_status(&w, shape("GET", &path, &headers, None)).await;
            assert_eq!(status, 400, "{keys:?}: {body}");
            assert!(
                body["detail"].as_str().unwrap().contains("x-api-key"),
                "{body}"
            );
        }
        // Two spellings of one header are one header given twice.
        let headers = [("X-Api-Key", MONITORING), ("x-api-key", SUBMITTER)];
        let (status, _) = probe_status(&w, shape("GET", &path, &headers, None)).await;
        assert_eq!(status, 400);
    }
    let put = format!("{path}/status");
    let change = json!({"status": "processing", "service_type": "x"}).to_string();
    for (name, a, b) in [
        ("if-match", "\"1\"", "\"2\""),
        ("content-type", "application/json", "text/plain"),
        ("content-encoding", "identity", "gzip"),
        ("authorization", "Bearer a", "Bearer b"),
    ] {
        for shape in [rest_event, http_event] {
            let headers = [("x-api-key", MONITORING), (name, a), (name, b)];
            let (status, body) =
                probe_status(&w, shape("PUT", &put, &headers, Some(&change))).await;
            assert_eq!(status, 400, "{name}: {body}");
            assert!(body["detail"].as_str().unwrap().contains(name), "{body}");
        }
    }
    let submission = valid_submission("y@example.org").to_string();
    for shape in [rest_event, http_event] {
        let headers = [
            ("x-api-key", SUBMITTER),
            ("Idempotency-Key", "k1"),
            ("Idempotency-Key", "k2"),
        ];
        let (status, body) = probe_submit(
            &w,
            shape("POST", "/api/v2/probes/", &headers, Some(&submission)),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("idempotency-key"),
            "{body}"
        );
    }
    // Nothing was changed or stored by the refused requests.
    assert_eq!(w.get(&id).await.body["version"], 1);
    assert_eq!(
        w.call("GET", "/api/v2/probes/", Some(SUBMITTER), &[], None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_header_value_no_request_can_carry_is_a_400_not_a_failed_invocation() {
    let w = ProbeWorld::new();
    for (name, value) in [
        ("x-api-key", "a\nb"),
        ("bad name", "x"),
        ("x-api-key", "a\u{0}b"),
    ] {
        let (status, body) = probe_submit(
            &w,
            rest_event("GET", "/api/v2/probes/", &[(name, value)], None),
        )
        .await;
        assert_eq!(status, 400, "{name:?}={value:?}: {body}");
    }
}

#[tokio::test]
async fn heartbeat_routes_refuse_a_repeated_authorization_under_both_shapes() {
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
    for shape in [rest_event, http_event] {
        let ok = shape("POST", "/heartbeat", &[("authorization", &bearer)], None);
        let (status, body) = read(
            &answer(
                handler,
                telltale::http::error::spring,
                ok,
                Default::default(),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 200, "{body}");
        let twice = shape(
            "POST",
            "/heartbeat",
            &[
                ("authorization", &bearer),
                ("authorization", "Bearer other"),
            ],
            None,
        );
        let (status, body) = read(
            &answer(
                handler,
                telltale::http::error::spring,
                twice,
                Default::default(),
            )
            .await
            .unwrap(),
        );
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["path"], "/heartbeat", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("authorization"),
            "{body}"
        );
    }
}

/// Every character of an error answer that repeats the caller's input: at most 64 of them
/// (plus `…`), and once.
fn assert_not_echoed(answer: &telltale_testkit::memory::Answer, sent: &str) {
    let text = answer.body.to_string();
    assert!(text.len() < 4096, "{} bytes: {}", text.len(), &text[..200]);
    let probe = &sent[..100.min(sent.len())];
    assert!(!text.contains(probe), "echoed: {text}");
}

#[tokio::test]
async fn long_values_are_quoted_back_cut_and_once() {
    let w = ProbeWorld::new();
    let id = w.submitted("x@example.org").await;
    let long = "s".repeat(60_000);
    let a = w
        .call(
            "GET",
            &format!("/api/v2/probes/?status={long}"),
            Some(SUBMITTER),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_not_echoed(&a, &long);
    assert!(
        a.detail().contains(&format!("'{}…'", "s".repeat(64))),
        "{}",
        a.detail()
    );

    let a = w.put(&id, &json!({"status": long})).await;
    assert_eq!(a.status, 400);
    assert_not_echoed(&a, &long);

    let tag = format!("\"{long}\"");
    let a = w
        .call(
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            Some(MONITORING),
            &[("if-match", &tag)],
            Some(&json!({"status": "processing", "service_type": "x"})),
        )
        .await;
    assert_eq!(a.status, 412, "{:?}", a.body);
    assert_not_echoed(&a, &tag);

    let ct = format!("text/{}", "x".repeat(8_000));
    let a = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &[("content-type", &ct)],
            Some(&valid_submission("z@example.org")),
        )
        .await;
    assert_eq!(a.status, 415);
    assert_not_echoed(&a, &ct);

    let long_path = format!("/api/v2/probes/{long}");
    let a = w
        .call("DELETE", &long_path, Some(MONITORING), &[], None)
        .await;
    assert_eq!(a.status, 405);
    assert_not_echoed(&a, &long_path);
}

#[tokio::test]
async fn lenient_readings_are_now_refused() {
    let w = ProbeWorld::new();
    let body = valid_submission("x@example.org");
    // An empty Idempotency-Key is a 400, not "no key" (which stored the body twice).
    for key in ["", "a\tb", "a b", "ключ", &"k".repeat(256)] {
        let a = w
            .call(
                "POST",
                "/api/v2/probes/",
                Some(SUBMITTER),
                &[("idempotency-key", key)],
                Some(&body),
            )
            .await;
        assert_eq!(a.status, 400, "{key:?}: {:?}", a.body);
        assert!(
            a.detail().to_ascii_lowercase().contains("idempotency-key"),
            "{:?}",
            a.body
        );
    }
    assert!(w
        .call("GET", "/api/v2/probes/", Some(SUBMITTER), &[], None)
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());

    // A repeated key in the body: the first value is not silently replaced by the last.
    let req = telltale_testkit::memory::request(
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", SUBMITTER)],
        None,
    );
    let text = r#"{"name":"p","docurl":"https://example.org","command":"c -t 1","contact":"bad","contact":"ok@example.org"}"#;
    let (parts, _) = req.into_parts();
    let req = Request::from_parts(parts, Body::from(text));
    let a = telltale::http::probes::submit_routes(&w.api, &req).await;
    assert_eq!(a.status(), 400);
    let detail: Value = serde_json::from_slice(a.body().as_ref()).unwrap();
    assert!(
        detail["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate key \"contact\""),
        "{detail}"
    );

    // Content-Type: JSON in UTF-8 only; no encoding we would not decode.
    for (name, value, status) in [
        ("content-type", "application/json; charset=utf-16", 415),
        ("content-type", "application/json; charset=\"UTF-8\"", 201),
        ("content-type", "application/problem+json", 415),
        ("content-encoding", "gzip", 415),
        ("content-encoding", "identity", 201),
    ] {
        let a = w
            .call(
                "POST",
                "/api/v2/probes/",
                Some(SUBMITTER),
                &[(name, value)],
                Some(&valid_submission(&format!("{status}@example.org"))),
            )
            .await;
        assert_eq!(a.status, status, "{name}: {value}: {:?}", a.body);
    }

    // If-Match: strong comparison of quoted entity-tags.
    let id = w.submitted("m@example.org").await;
    let put = |tag: &'static str| {
        let w = &w;
        let id = id.clone();
        async move {
            w.call(
                "PUT",
                &format!("/api/v2/probes/{id}/status"),
                Some(MONITORING),
                &[("if-match", tag)],
                Some(&json!({"status": "processing", "service_type": "x"})),
            )
            .await
        }
    };
    for (tag, status) in [
        ("W/\"1\"", 412),
        ("\"01\"", 412),
        ("\"+1\"", 412),
        ("\"2\"", 412),
        ("1", 400),
        ("\"1", 400),
        ("\"1\"", 200),
    ] {
        let a = put(tag).await;
        assert_eq!(a.status, status, "If-Match: {tag}: {:?}", a.body);
    }
    let a = w
        .call(
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            Some(MONITORING),
            &[("if-match", "*")],
            Some(&json!({"status": "testing", "devel_url": "https://example.org/d"})),
        )
        .await;
    assert_eq!(
        a.status, 200,
        "If-Match: * matches any version: {:?}",
        a.body
    );
}

#[tokio::test]
async fn invisible_characters_are_refused_by_field_and_code_point() {
    let w = ProbeWorld::new();
    for (c, code) in [
        ('\u{200b}', "U+200B"),
        ('\u{200d}', "U+200D"),
        ('\u{200e}', "U+200E"),
        ('\u{200f}', "U+200F"),
        ('\u{061c}', "U+061C"),
        ('\u{2028}', "U+2028"),
        ('\u{2029}', "U+2029"),
        ('\u{feff}', "U+FEFF"),
        ('\u{e0041}', "U+E0041"),
        ('\u{e000}', "U+E000"),
        // Blank-looking letters and noncharacters: a name of them looks empty, or like another.
        ('\u{3164}', "U+3164"),
        ('\u{115f}', "U+115F"),
        ('\u{2800}', "U+2800"),
        ('\u{fffe}', "U+FFFE"),
        ('\u{ffff}', "U+FFFF"),
    ] {
        let mut body = valid_submission("x@example.org");
        body["name"] = json!(format!("check{c}http"));
        let a = w.submit(&body).await;
        assert_eq!(a.status, 400, "{code}: {:?}", a.body);
        assert!(
            a.detail().contains("'name'") && a.detail().contains(code),
            "{}",
            a.detail()
        );
        let mut body = valid_submission("x@example.org");
        body["description"] = json!(format!("two\nli{c}nes"));
        assert_eq!(
            w.submit(&body).await.status,
            400,
            "{code} in a multi-line field"
        );
    }
    let id = w.submitted("x@example.org").await;
    let a = w
        .put(
            &id,
            &json!({"status": "processing", "service_type": "argo\u{200b}.probe"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.detail().contains("'service_type'") && a.detail().contains("U+200B"),
        "{}",
        a.detail()
    );
}
