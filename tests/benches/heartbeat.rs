//! `make bench` (heartbeat part): figures, not pass/fail.
//!
//! - warm latency of `POST /heartbeat/{check}` through the route, in-process, against moto's
//!   DynamoDB (key lookup + one atomic UpdateItem), p50/p99;
//! - the exposition for 1,000 checks: rendering alone, and `GET /heartbeat/metrics` through
//!   the route (one Query of the checks' partition, all pages, then rendering);
//! - a healthchecks.io ping (`POST /ping/{key}/{slug}` with a body) through the route, next to
//!   the same DynamoDB calls made directly (the floor), p50/p99 and their ratio;
//! - `heartbeat-sweep` over 10,000 checks of which 100 went down: wall time, DynamoDB requests,
//!   read and write units;
//! - the cost of a million pings at AWS list prices, from the requests counted.

#[path = "support/heartbeat_costs.rs"]
mod costs;

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request};
use std::time::{Duration, Instant};
use telltale::heartbeat::exposition::render;
use telltale::heartbeat::ports::{CheckSettings, HeartbeatStore};
use telltale::http::heartbeat::routes;
use telltale_testkit::heartbeat::HeartbeatFixture;
use telltale_testkit::memory::{MemoryMailer, MemoryReceiver};
use telltale_testkit::moto::moto;

const WARMUP: usize = 30;
const RUNS: usize = 500;
const CHECKS: usize = 1000;

fn request(method: &str, uri: &str, key: &str) -> Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::Empty)
        .expect("request");
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
    );
    req
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    println!("heartbeat, {}", time::OffsetDateTime::now_utc().date());
    let f = HeartbeatFixture::new().await;
    let api = f.api();
    let create = routes(&api, &request("GET", "/heartbeat/bench?create=1", &f.key)).await;
    assert_eq!(create.status(), 200);
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let req = request("POST", "/heartbeat/bench", &f.key);
        let t = Instant::now();
        let resp = routes(&api, &req).await;
        let d = t.elapsed();
        assert_eq!(resp.status(), 200);
        if i >= WARMUP {
            times.push(d);
        }
    }
    times.sort();
    println!(
        "POST /heartbeat/{{check}} in-process against moto, {RUNS} runs after {WARMUP} warm-up: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 50),
        percentile(&times, 99)
    );

    let store = f.store();
    for i in 0..CHECKS {
        store
            .set_check(
                &format!("check-{i:04}"),
                &CheckSettings {
                    period_seconds: 300,
                    grace_seconds: 60,
                    ..CheckSettings::default()
                },
                1_795_000_000,
            )
            .await
            .expect("a check");
    }
    let checks = store.checks().await.expect("checks");
    let t = Instant::now();
    let mut size = 0;
    for _ in 0..20 {
        size = render(&checks, &[], "heartbeat", 1_795_939_200).len();
    }
    let rendering = t.elapsed() / 20;
    let mut routed = Vec::new();
    for _ in 0..10 {
        let req = request("GET", "/heartbeat/metrics", &f.key);
        let t = Instant::now();
        let resp = routes(&api, &req).await;
        routed.push(t.elapsed());
        assert_eq!(resp.status(), 200);
    }
    routed.sort();
    println!(
        "exposition of {} checks: rendering {:.2} ms ({} bytes); GET /heartbeat/metrics through the route against moto: p50 {:.0} ms",
        checks.len(),
        rendering.as_secs_f64() * 1000.0,
        size,
        percentile(&routed, 50)
    );

    pings_next_to_their_floor(&f).await;
    sweep_of_ten_thousand().await;
}

fn body_request(method: &str, uri: &str, body: &[u8]) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", "bench")
        .body(Body::Binary(body.to_vec()))
        .expect("request")
}

/// The route's ping next to its DynamoDB calls made directly: the key's GetItem, the check's
/// UpdateItem, the log's PutItem.
async fn pings_next_to_their_floor(f: &HeartbeatFixture) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let counter = costs::Counter::default();
    let sdk = moto().sdk_config().await;
    let client = costs::counted_client(&sdk, &counter);
    let api = telltale::http::heartbeat::HeartbeatApi {
        store: telltale::adapters::aws::heartbeat::HeartbeatTable::new(client.clone(), &f.table),
        keys: telltale::adapters::aws::keys::ApiKeys::new(client.clone(), &f.keys_table),
        config: f.config(),
    };
    let output = vec![b'x'; 500];
    let create = routes(
        &api,
        &body_request("POST", &format!("/ping/{}/job?create=1", f.key), &output),
    )
    .await;
    assert_eq!(create.status(), 201);
    let uri = format!("/ping/{}/job", f.key);
    let mut routed = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        if i == WARMUP {
            counter.take();
        }
        let req = body_request("POST", &uri, &output);
        let t = Instant::now();
        let resp = routes(&api, &req).await;
        let d = t.elapsed();
        assert_eq!(resp.status(), 200);
        if i >= WARMUP {
            routed.push(d);
        }
    }
    let per_ping = counter.take();
    let hash = telltale::auth::hash_key(&f.key);
    let mut direct = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let t = Instant::now();
        client
            .get_item()
            .table_name(&f.keys_table)
            .key("key_hash", V::S(hash.clone()))
            .send()
            .await
            .expect("GetItem");
        client
            .update_item()
            .table_name(&f.table)
            .key("pk", V::S("check".into()))
            .key("sk", V::S("job".into()))
            .update_expression("SET last_seen = :t ADD pings :one")
            .expression_attribute_values(":t", V::N(i.to_string()))
            .expression_attribute_values(":one", V::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .expect("UpdateItem");
        client
            .put_item()
            .table_name(&f.table)
            .item("pk", V::S("ping#job".into()))
            .item("sk", V::S(format!("{:02}", i % 100)))
            .item(
                "body",
                V::B(aws_sdk_dynamodb::primitives::Blob::new(output.clone())),
            )
            .send()
            .await
            .expect("PutItem");
        if i >= WARMUP {
            direct.push(t.elapsed());
        }
    }
    counter.take();
    routed.sort();
    direct.sort();
    let (r50, r99, d50, d99) = (
        percentile(&routed, 50),
        percentile(&routed, 99),
        percentile(&direct, 50),
        percentile(&direct, 99),
    );
    println!(
        "POST /ping/{{key}}/{{slug}} (500-byte body) in-process against moto, {RUNS} runs: p50 {r50:.2} ms, p99 {r99:.2} ms; the same three DynamoDB calls made directly (floor): p50 {d50:.2} ms, p99 {d99:.2} ms; ratio p50 {:.2}, p99 {:.2}",
        r50 / d50,
        r99 / d99
    );
    let n = RUNS as f64;
    let requests = per_ping.total() as f64 / n;
    let (reads, writes) = (per_ping.read_units / n, per_ping.write_units / n);
    println!(
        "per ping: {:.2} DynamoDB requests ({}), ~{reads:.2} read units, ~{writes:.2} write units",
        requests,
        per_ping
            .requests
            .iter()
            .map(|(op, c)| format!("{op} {:.2}", *c as f64 / n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // A million pings: the function billed at 128 MB for the route's p50 (rounded up to 1 ms),
    // DynamoDB on demand, and each front door's request price.
    let gb_seconds = 0.125 * (r50.ceil() / 1000.0) * 1e6;
    let lambda = costs::LAMBDA_REQUESTS_PER_MILLION + gb_seconds * costs::LAMBDA_GB_SECOND;
    let dynamodb = writes * costs::DYNAMODB_WRITE_UNITS_PER_MILLION
        + reads * costs::DYNAMODB_READ_UNITS_PER_MILLION;
    for (door, price) in [
        ("REST API stage", costs::REST_API_PER_MILLION),
        ("HTTP API", costs::HTTP_API_PER_MILLION),
        ("function URL", 0.0),
    ] {
        println!(
            "a million pings through the {door}: ${:.2} (front door ${price:.2}, Lambda ${lambda:.2}, DynamoDB ${dynamodb:.2})",
            price + lambda + dynamodb
        );
    }
}

/// `heartbeat-sweep` over 10,000 checks (written straight to the table), 100 of them past their
/// grace with an email channel: one Query of the checks, 100 flips with their notices, 100
/// notices delivered (to an in-memory mailer, so only DynamoDB is counted).
async fn sweep_of_ten_thousand() {
    use aws_sdk_dynamodb::types::{AttributeValue as V, PutRequest, WriteRequest};
    const TOTAL: usize = 10_000;
    const DOWN: usize = 100;
    let f = HeartbeatFixture::new().await;
    let sdk = moto().sdk_config().await;
    let counter = costs::Counter::default();
    let client = costs::counted_client(&sdk, &counter);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let items: Vec<WriteRequest> = (0..TOTAL)
        .map(|i| {
            let quiet = i < DOWN;
            let mut item = std::collections::HashMap::from([
                ("pk".to_string(), V::S("check".into())),
                ("sk".to_string(), V::S(format!("check-{i:05}"))),
                ("uuid".to_string(), V::S(uuid::Uuid::new_v4().to_string())),
                ("period_seconds".to_string(), V::N("300".into())),
                ("grace_seconds".to_string(), V::N("60".into())),
                ("state".to_string(), V::S("up".into())),
                ("rev".to_string(), V::N("1".into())),
                (
                    "last_ping".to_string(),
                    V::N((if quiet { now - 1000 } else { now - 30 }).to_string()),
                ),
            ]);
            if quiet {
                item.insert(
                    "channels".into(),
                    V::S(r#"[{"kind":"email","to":"owner@example.org"}]"#.into()),
                );
            }
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for batch in items.chunks(25) {
        client
            .batch_write_item()
            .request_items(&f.table, batch.to_vec())
            .send()
            .await
            .expect("BatchWriteItem");
    }
    counter.take();
    let store = telltale::adapters::aws::heartbeat::HeartbeatTable::new(client, &f.table);
    let channels = telltale::heartbeat::sweep::Channels {
        mailer: MemoryMailer::default(),
        webhooks: MemoryReceiver::default(),
        alerts: MemoryReceiver::default(),
        from: "bench <bench@example.org>".into(),
    };
    let t = Instant::now();
    let report = telltale::heartbeat::sweep::sweep(&store, &channels, now)
        .await
        .expect("the sweep");
    let took = t.elapsed();
    assert_eq!(
        (report.checks, report.flips, report.notices.sent),
        (TOTAL, DOWN, DOWN)
    );
    let tally = counter.take();
    println!(
        "heartbeat-sweep over {TOTAL} checks ({DOWN} down, one email each) against moto: {:.2} s; {}",
        took.as_secs_f64(),
        tally.shown()
    );
    let t = Instant::now();
    let again = telltale::heartbeat::sweep::sweep(&store, &channels, now)
        .await
        .expect("the sweep");
    assert_eq!((again.flips, again.notices.sent), (0, 0));
    println!(
        "the next sweep (nothing changed): {:.2} s; {}",
        t.elapsed().as_secs_f64(),
        counter.take().shown()
    );
}
