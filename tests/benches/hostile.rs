//! `make hostile`: the vectors of a hostile caller sent to every HTTP route through
//! `cargo lambda watch` (loopback only, bounded: a few thousand requests), and what came back:
//! requests, 5xx, error answers over 4 KB, inputs echoed over 100 characters, requests that
//! got no answer. All but the first must be 0; the run fails otherwise.
//!
//! A header given twice cannot be sent through `cargo lambda watch` (it keeps the first
//! value), so those vectors go as raw REST and HTTP API events to the invoke endpoint.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use telltale::auth::Role;
use telltale_testkit::events::{http_event, rest_event};
use telltale_testkit::probes::ProbeFixture;
use telltale_testkit::watch::Watch;

/// A long value with no repeated 100-character window, so an echo of any part is found.
fn long(n: usize, seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
            alphabet[(x >> 33) as usize % alphabet.len()] as char
        })
        .collect()
}

/// Whether `answer` repeats more than 100 characters of `sent` in one piece.
fn echoes(answer: &str, sent: &str) -> bool {
    let chars: Vec<char> = sent.chars().collect();
    if chars.len() <= 100 {
        return false;
    }
    (0..chars.len() - 100)
        .step_by(50)
        .any(|i| answer.contains(&chars[i..i + 101].iter().collect::<String>()))
}

/// Header names and raw values, as sent.
type Headers = Vec<(&'static str, Vec<u8>)>;

#[derive(Default)]
struct Tally {
    requests: usize,
    by_status: std::collections::BTreeMap<u16, usize>,
    server_errors: Vec<String>,
    large_errors: Vec<String>,
    echoed: Vec<String>,
    unanswered: Vec<String>,
}

impl Tally {
    fn add(&mut self, what: &str, status: u16, body: &str, sent: &[&str]) {
        self.requests += 1;
        *self.by_status.entry(status).or_default() += 1;
        if status == 0 {
            self.unanswered.push(format!("{what}: {body}"));
            return;
        }
        let short: String = body.chars().take(160).collect();
        if status >= 500 {
            self.server_errors.push(format!("{what}: {status} {short}"));
        }
        if status >= 400 && body.len() > 4096 {
            self.large_errors
                .push(format!("{what}: {status}, {} bytes", body.len()));
        }
        if sent.iter().any(|s| echoes(body, s)) {
            self.echoed.push(format!("{what}: {status} {short}"));
        }
    }
}

struct Sweep {
    http: reqwest::Client,
    base: String,
    key: String,
    tally: Tally,
}

impl Sweep {
    async fn send(
        &mut self,
        what: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &[u8])],
        body: Option<Vec<u8>>,
        sent: &[&str],
    ) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in headers {
            let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) else {
                continue;
            };
            req = req.header(n, v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let (status, text) = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        };
        self.tally.add(
            &format!("{method} {} [{what}]", shorten(path)),
            status,
            &text,
            sent,
        );
    }

    /// A raw API Gateway event to `function`; the proxy response's status and body.
    async fn invoke(&mut self, what: &str, function: &str, event: Value) -> u16 {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let (status, text) = match self.http.post(url).json(&event).send().await {
            Ok(resp) => {
                let doc: Value = resp.json().await.unwrap_or(Value::Null);
                let status = doc["statusCode"].as_u64().unwrap_or(502) as u16;
                (status, doc["body"].as_str().unwrap_or_default().to_string())
            }
            Err(e) => (0, e.to_string()),
        };
        self.tally
            .add(&format!("invoke {function} [{what}]"), status, &text, &[]);
        status
    }
}

/// Raw events a runtime library panics on while decoding: a body marked base64 that is not, a
/// REST query parameter listed with no value, a Host, X-Forwarded-Proto or raw query no URI
/// can hold.
fn undecodable(path: &str, key: &str) -> Vec<(&'static str, Value)> {
    let headers = [("x-api-key", key)];
    let mut garbled = rest_event("POST", path, &headers, Some("{not base64!"));
    garbled["isBase64Encoded"] = json!(true);
    let mut garbled_v2 = http_event("POST", path, &headers, Some("{not base64!"));
    garbled_v2["isBase64Encoded"] = json!(true);
    let mut empty_list = rest_event("GET", path, &headers, None);
    empty_list["queryStringParameters"] = json!({"limit": "1"});
    empty_list["multiValueQueryStringParameters"] = json!({"limit": []});
    let mut host = http_event("GET", path, &[("x-api-key", key), ("host", "[::1")], None);
    host["requestContext"]["domainName"] = json!("[::1");
    let mut proto = rest_event("GET", path, &[("x-api-key", key)], None);
    proto["headers"]["host"] = json!("api.example.org");
    proto["headers"]["x-forwarded-proto"] = json!("1 x");
    let mut raw_query = http_event("GET", path, &headers, None);
    raw_query["rawQueryString"] = json!("limit=1 2");
    vec![
        ("REST, base64 body that is not", garbled),
        ("HTTP API, base64 body that is not", garbled_v2),
        ("REST, query parameter with no value", empty_list),
        ("HTTP API, Host no URI can hold", host),
        ("REST, X-Forwarded-Proto no URI can hold", proto),
        ("HTTP API, raw query no URI can hold", raw_query),
    ]
}

/// A list key as a cursor would carry it (`hostile-target#2026-01-01 00:00:00#x` in base64url),
/// without the deployment's tag.
fn unsigned_cursor() -> String {
    "aG9zdGlsZS10YXJnZXQjMjAyNi0wMS0wMSAwMDowMDowMCN4".to_string()
}

fn shorten(path: &str) -> String {
    if path.len() > 60 {
        format!("{}…({} bytes)", &path[..40], path.len())
    } else {
        path.to_string()
    }
}

#[tokio::main]
async fn main() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let env = f.every_route_env("hostile").await;
    let watch = Watch::start(&env);
    let mut s = Sweep {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .unwrap(),
        base: watch.base_url.clone(),
        key: f.key.clone(),
        tally: Tally::default(),
    };
    let key = s.key.clone();
    // A candidate to address; this also builds and starts the probe functions.
    let submitted = s
        .http
        .post(format!("{}/api/v2/probes/", s.base))
        .header("x-api-key", &key)
        .json(&json!({"name": "hostile-target", "docurl": "https://example.org/d",
            "script": "https://example.org/s.py", "command": "s.py -t 10", "contact": "h@example.org"}))
        .send()
        .await
        .expect("the stack answers");
    let id = submitted.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for warm in [
        "/-/info",
        "/metrics/argo-monitoring",
        "/heartbeat/metrics",
        "/team/",
        &format!("/api/v2/probes/{id}"),
    ] {
        let _ = s
            .http
            .get(format!("{}{warm}", s.base))
            .header("x-api-key", &key)
            .send()
            .await;
    }

    let l60k = long(60_000, 1);
    let l8k = long(8_000, 2);
    // The detector finds an echo of any 101 characters of an input, and nothing else.
    assert!(echoes(&format!("<{}>", &l60k[31_000..31_150]), &l60k));
    assert!(!echoes(&l60k[..100], &l60k) && !echoes(&l8k, &l60k));
    let started = std::time::Instant::now();
    let routes: Vec<(Method, String)> = vec![
        (Method::GET, "/api/v2/probes/".into()),
        (Method::POST, "/api/v2/probes/".into()),
        (Method::GET, format!("/api/v2/probes/{id}")),
        (Method::PUT, format!("/api/v2/probes/{id}/status")),
        (Method::GET, "/metrics/argo-monitoring".into()),
        (
            Method::GET,
            "/metrics/argo-monitoring/deployed-probes".into(),
        ),
        (
            Method::GET,
            "/metrics/argo-monitoring/deployed-probes/value".into(),
        ),
        (Method::GET, "/ids/resources".into()),
        (Method::GET, "/ids/metrics/argo-monitoring".into()),
        (Method::GET, "/-/health".into()),
        (Method::GET, "/-/info".into()),
        (Method::POST, "/heartbeat".into()),
        (Method::GET, "/heartbeat/metrics".into()),
        (Method::POST, "/heartbeat/hostile-check".into()),
        (Method::GET, "/heartbeat/hostile-check/7".into()),
        // healthchecks.io's ping URLs: the key in the path, any body kept (cut), never echoed.
        (Method::POST, format!("/ping/{key}/hostile-job?create=1")),
        (Method::PUT, format!("/ping/{key}/hostile-job/256")),
        (Method::GET, format!("/ping/{key}/Hostile-Job/start")),
        (
            Method::POST,
            "/ping/0f0e0d0c-0b0a-4900-8000-123456789abc/fail?rid=bad".into(),
        ),
        (Method::GET, "/team/".into()),
    ];
    let k = key.as_bytes();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty body", vec![]),
        ("malformed JSON", b"{\"name\": ".to_vec()),
        ("wrong types", br#"{"name": 7, "status": [], "expected_version": -9223372036854775808, "force": "yes"}"#.to_vec()),
        ("integer extremes", br#"{"expected_version": 18446744073709551616, "alarm_timestamp": -9223372036854775808}"#.to_vec()),
        ("duplicate keys", br#"{"status":"processing","status":"rejected","rejection_reason":"x"}"#.to_vec()),
        ("long values", json!({"name": l60k, "status": l60k, "contact": l60k, "docurl": l60k, "alarm_id": l60k, "state": l60k}).to_string().into_bytes()),
        ("invisible characters", json!({"name": "a\u{200b}b\u{202e}c", "status": "\u{a0}rejected", "alarm_id": "a", "state": "OK", "alarm_name": "x\u{2066}y"}).to_string().into_bytes()),
        ("both webhook shapes", json!({"alarm_id": "a", "state": "OK", "version": "4", "alerts": [{"status": "firing"}]}).to_string().into_bytes()),
    ];
    let header_sets: Vec<(&str, Headers)> = vec![
        ("no key", vec![]),
        (
            "key not ASCII",
            vec![("x-api-key", "ключ".as_bytes().to_vec())],
        ),
        ("long key", vec![("x-api-key", l8k.as_bytes().to_vec())]),
        (
            "long bearer",
            vec![("authorization", format!("Bearer {l8k}").into_bytes())],
        ),
        (
            "long If-Match",
            vec![
                ("x-api-key", k.to_vec()),
                ("if-match", format!("\"{l8k}\"").into_bytes()),
            ],
        ),
        (
            "weak If-Match",
            vec![("x-api-key", k.to_vec()), ("if-match", b"W/\"1\"".to_vec())],
        ),
        (
            "long Content-Type",
            vec![
                ("x-api-key", k.to_vec()),
                ("content-type", format!("text/{l8k}").into_bytes()),
            ],
        ),
        (
            "utf-16 charset",
            vec![
                ("x-api-key", k.to_vec()),
                ("content-type", b"application/json; charset=utf-16".to_vec()),
            ],
        ),
        (
            "gzip",
            vec![
                ("x-api-key", k.to_vec()),
                ("content-encoding", b"gzip".to_vec()),
            ],
        ),
        (
            "empty Idempotency-Key",
            vec![("x-api-key", k.to_vec()), ("idempotency-key", b"".to_vec())],
        ),
        (
            "long Idempotency-Key",
            vec![
                ("x-api-key", k.to_vec()),
                ("idempotency-key", l8k.as_bytes().to_vec()),
            ],
        ),
        (
            "comma list key",
            vec![("x-api-key", format!("{key},{key}").into_bytes())],
        ),
    ];
    for (method, path) in &routes {
        for (what, headers) in &header_sets {
            let h: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            let sent: Vec<&str> = vec![&l8k];
            s.send(what, method.clone(), path, &h, None, &sent).await;
            for (body_what, body) in &bodies {
                let mut h = h.clone();
                if !headers
                    .iter()
                    .any(|(n, _)| *n == "x-api-key" || *n == "authorization")
                {
                    h.push(("x-api-key", k));
                }
                let label = format!("{what}, {body_what}");
                s.send(
                    &label,
                    method.clone(),
                    path,
                    &h,
                    Some(body.clone()),
                    &[&l8k, &l60k],
                )
                .await;
            }
        }
        // 6 MB (Lambda's payload limit), once per route.
        s.send(
            "6 MB body",
            method.clone(),
            path,
            &[("x-api-key", k)],
            Some(vec![b'{'; 6 * 1024 * 1024]),
            &[],
        )
        .await;
        // The path and the query, long.
        let long_path = format!("{path}/{l60k}");
        s.send(
            "long path",
            method.clone(),
            &long_path,
            &[("x-api-key", k)],
            None,
            &[&l60k],
        )
        .await;
        for q in ["status", "time", "token", "create"] {
            let p = format!("{path}?{q}={l60k}");
            s.send(
                &format!("long ?{q}"),
                method.clone(),
                &p,
                &[("x-api-key", k)],
                None,
                &[&l60k],
            )
            .await;
        }
        let p = format!("{path}?status=a&status=b&token={key}&token=x");
        s.send(
            "repeated query",
            method.clone(),
            &p,
            &[("x-api-key", k)],
            None,
            &[],
        )
        .await;
        for m in [Method::DELETE, Method::PATCH, Method::OPTIONS] {
            s.send(
                "other method",
                m,
                path,
                &[
                    ("x-api-key", k),
                    ("origin", b"https://evil.example"),
                    ("access-control-request-method", b"GET"),
                ],
                None,
                &[],
            )
            .await;
        }
    }
    // Headers given twice, as API Gateway hands them over.
    let functions = [
        ("probe-submit", "/api/v2/probes/"),
        (
            "probe-status",
            &format!("/api/v2/probes/{id}/status") as &str,
        ),
        ("metric-metadata", "/metrics/argo-monitoring"),
        (
            "metric-value",
            "/metrics/argo-monitoring/deployed-probes/value",
        ),
        ("heartbeat", "/heartbeat"),
        ("team-page", "/team/"),
    ];
    let bearer = format!("Bearer {key}");
    for (function, path) in functions {
        for (name, a, b) in [
            ("x-api-key", key.as_str(), "tt_other"),
            ("authorization", bearer.as_str(), "Bearer other"),
            ("idempotency-key", "k1", "k2"),
            ("if-match", "\"1\"", "\"2\""),
            ("content-type", "application/json", "text/plain"),
            ("content-encoding", "identity", "gzip"),
        ] {
            let headers = [("x-api-key", key.as_str()), (name, a), (name, b)];
            for (shape, event) in [
                ("REST", rest_event("PUT", path, &headers, Some("{}"))),
                ("HTTP API", http_event("PUT", path, &headers, Some("{}"))),
            ] {
                s.invoke(&format!("{shape}, {name} twice"), function, event)
                    .await;
            }
        }
    }
    // Events the runtime library would panic on while decoding them (a release build aborts on
    // a panic): each is a 400 in the function's own shape, on every HTTP function.
    let mut not_refused = Vec::new();
    for (function, path) in functions {
        for (what, event) in undecodable(path, &key) {
            let status = s.invoke(what, function, event).await;
            if status != 400 {
                not_refused.push(format!("invoke {function} [{what}]: {status}"));
            }
        }
    }
    // What a submitter may learn through the list: `q` finds nothing by a hidden contact,
    // and only a cursor a page gave is taken.
    let submitter = telltale::auth::generate_key();
    f.add_key(&submitter, "hostile-submitter", Role::Submitter)
        .await;
    for (what, query, expected) in [
        (
            "q by a hidden contact",
            "?q=h%40example.org".to_string(),
            "[]",
        ),
        ("q by part of a contact", "?q=example.org".to_string(), "[]"),
        ("forged cursor", "?cursor=enp6eg".to_string(), "400"),
        ("forged cursor", "?cursor=AA".to_string(), "400"),
        (
            "unsigned cursor",
            format!("?cursor={}", unsigned_cursor()),
            "400",
        ),
    ] {
        let url = format!("{}/api/v2/probes/{query}", s.base);
        let resp = s
            .http
            .get(&url)
            .header("x-api-key", &submitter)
            .send()
            .await;
        let (status, text) = match resp {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        };
        s.tally
            .add(&format!("GET {query} [{what}]"), status, &text, &[]);
        let held = match expected {
            "400" => status == 400,
            _ => status == 200 && text.trim() == expected,
        };
        if !held {
            not_refused.push(format!("GET {query} [{what}]: {status} {text:.120}"));
        }
    }

    let t = &s.tally;
    println!(
        "hostile sweep, {}: every HTTP route through cargo lambda watch (debug builds)",
        time::OffsetDateTime::now_utc().date()
    );
    println!(
        "requests: {} in {:.0} s",
        t.requests,
        started.elapsed().as_secs_f64()
    );
    let statuses: Vec<String> = t
        .by_status
        .iter()
        .map(|(s, n)| format!("{s}×{n}"))
        .collect();
    println!("answers by status: {}", statuses.join(" "));
    println!("5xx: {}", t.server_errors.len());
    println!("error answers over 4 KB: {}", t.large_errors.len());
    println!("inputs echoed over 100 characters: {}", t.echoed.len());
    println!("no answer: {}", t.unanswered.len());
    println!("not refused as they must be: {}", not_refused.len());
    let mut bad = Vec::new();
    for (label, list) in [
        ("not refused", &not_refused),
        ("5xx", &t.server_errors),
        ("over 4 KB", &t.large_errors),
        ("echoed", &t.echoed),
        ("no answer", &t.unanswered),
    ] {
        for item in list.iter().take(10) {
            bad.push(format!("{label}: {item}"));
        }
    }
    drop(watch);
    if !bad.is_empty() {
        eprintln!("{}", bad.join("\n"));
        std::process::exit(1);
    }
}
