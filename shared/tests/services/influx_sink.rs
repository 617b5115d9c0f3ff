//! The InfluxDB sink against a real InfluxDB 1.6 (plain, with authentication, with a
//! self-signed certificate) and an HTTP double of InfluxDB 2's write API; and the line
//! protocol round trip: random points written to the real server and read back equal.

use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use telltale::adapters::influx::config::InfluxConfig;
use telltale::adapters::influx::{InfluxError, InfluxSink};
use telltale::base::env::Env;
use telltale::collectors::point::{FieldValue, Point};
use telltale_testkit::influx::{influx, InfluxServer, Options, ADMIN_PASSWORD, ADMIN_USER};
use telltale_testkit::influx2::Influx2;
use telltale_testkit::moto::moto;
use telltale_testkit::unique;

/// Variables for a sink, as (name, value).
type Pairs<'a> = &'a [(&'a str, &'a str)];

async fn make_sink(pairs: &[(&str, &str)]) -> InfluxSink {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = InfluxConfig::read(&Env(move |k: &str| map.get(k).cloned())).expect("config");
    let ssm = telltale::adapters::aws::ssm::ssm_client(&moto().sdk_config().await);
    InfluxSink::connect(config, &ssm).await.expect("sink")
}

fn points(n: usize, measurement: &str) -> Vec<Point> {
    let base = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    (0..n)
        .map(|i| {
            Point::new(measurement)
                .tag("host", format!("h{}", i % 7))
                .field("value", i as f64)
                .field("n", i as i64)
                .at(base + time::Duration::seconds(i as i64))
        })
        .collect()
}

async fn count(server: &InfluxServer, db: &str, measurement: &str) -> i64 {
    let rows = server
        .rows(db, &format!("SELECT count(\"n\") FROM \"{measurement}\""))
        .await;
    rows.first().and_then(|r| r["count"].as_i64()).unwrap_or(0)
}

#[tokio::test]
async fn batches_of_at_most_5000_points_all_arrive() {
    let server = influx();
    let db = server.database("batches").await;
    let sink = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
    ])
    .await;
    let written = sink.write(&points(12_001, "batched")).await.unwrap();
    assert_eq!(written.points, 12_001);
    assert_eq!(written.requests, 3);
    assert_eq!(count(server, &db, "batched").await, 12_001);
    // Exactly 5,000 to a request: 5,000 points go in one, 5,001 in two (batches of 6,000
    // would send one; of 4,999, two for 5,000).
    for (n, requests) in [(5_000, 1), (5_001, 2)] {
        let written = sink.write(&points(n, &format!("edge{n}"))).await.unwrap();
        assert_eq!(
            (written.points, written.requests),
            (n, requests),
            "{n} points"
        );
    }

    // A smaller configured batch size is honoured too.
    let small = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_BATCH_SIZE", "100"),
    ])
    .await;
    assert_eq!(
        small.write(&points(250, "small")).await.unwrap().requests,
        3
    );
}

#[tokio::test]
async fn the_precision_is_explicit_and_times_come_back_exact() {
    let server = influx();
    let db = server.database("precision").await;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
    for (precision, expected) in [
        ("s", 1_700_000_000_000_000_000i64),
        ("ms", 1_700_000_000_123_000_000),
        ("ns", 1_700_000_000_123_456_789),
    ] {
        let sink = make_sink(&[
            ("INFLUXDB_URL", server.url.as_str()),
            ("INFLUXDB_DATABASE", db.as_str()),
            ("INFLUXDB_PRECISION", precision),
        ])
        .await;
        let m = format!("at_{precision}");
        sink.write(&[Point::new(&m).field("v", 1i64).at(t)])
            .await
            .unwrap();
        // The test server's query helper reads times in seconds, which truncates; ask in
        // nanoseconds for the exact time.
        let exact: Value = reqwest::Client::new()
            .get(format!("{}/query", server.url))
            .query(&[
                ("db", db.as_str()),
                ("epoch", "ns"),
                ("q", &format!("SELECT v FROM \"{m}\"")),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            exact["results"][0]["series"][0]["values"][0][0].as_i64(),
            Some(expected),
            "{precision}: {exact}"
        );
    }
}

#[tokio::test]
async fn a_point_that_cannot_be_written_stops_the_whole_write() {
    let server = influx();
    let db = server.database("refused").await;
    let sink = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
    ])
    .await;
    for bad in [
        Point::new("m").field("v", f64::NAN),
        Point::new("m").field("v", f64::INFINITY),
        Point::new("m").tag("k", "v"),
    ] {
        let mut batch = points(10, "m");
        batch.push(bad);
        let err = sink.write(&batch).await.unwrap_err();
        assert!(matches!(err, InfluxError::Encode(_)), "{err}");
    }
    assert_eq!(count(server, &db, "m").await, 0, "nothing was written");
}

#[tokio::test]
async fn influxdbs_own_message_comes_back_and_4xx_is_not_retried() {
    let server = influx();
    let sink = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", "no_such_database"),
        ("INFLUXDB_RETRY_BASE_MS", "1"),
    ])
    .await;
    let err = sink.write(&points(1, "m")).await.unwrap_err();
    match &err {
        InfluxError::Refused {
            status, message, ..
        } => {
            assert_eq!(*status, 404);
            assert!(message.contains("database not found"), "{message}");
        }
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn user_and_password_are_sent_and_a_wrong_one_is_refused() {
    let server = InfluxServer::start(Options {
        auth: true,
        tls: false,
    });
    let db = server.database("auth").await;
    let good = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_USERNAME", ADMIN_USER),
        ("INFLUXDB_PASSWORD", ADMIN_PASSWORD),
    ])
    .await;
    good.write(&points(3, "authed")).await.unwrap();
    assert_eq!(count(&server, &db, "authed").await, 3);

    for pairs in [
        vec![
            ("INFLUXDB_USERNAME", ADMIN_USER),
            ("INFLUXDB_PASSWORD", "wrong"),
        ],
        vec![],
    ] {
        let mut all = vec![
            ("INFLUXDB_URL", server.url.as_str()),
            ("INFLUXDB_DATABASE", db.as_str()),
        ];
        all.extend(pairs);
        let err = make_sink(&all)
            .await
            .write(&points(1, "authed"))
            .await
            .unwrap_err();
        let InfluxError::Refused {
            status, message, ..
        } = &err
        else {
            panic!("expected a refusal, got {err}");
        };
        assert_eq!(*status, 401, "{message}");
        assert!(
            !err.to_string().contains("wrong"),
            "the password leaked: {err}"
        );
    }
}

#[tokio::test]
async fn the_password_can_come_from_an_ssm_secure_string() {
    let server = InfluxServer::start(Options {
        auth: true,
        tls: false,
    });
    let db = server.database("ssm").await;
    let ssm = telltale::adapters::aws::ssm::ssm_client(&moto().sdk_config().await);
    let name = format!("/telltale/{}/influxdb", unique("t"));
    ssm.put_parameter()
        .name(name.as_str())
        .value(ADMIN_PASSWORD)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let sink = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_USERNAME", ADMIN_USER),
        ("INFLUXDB_PASSWORD", "ignored-when-a-parameter-is-named"),
        ("INFLUXDB_PASSWORD_PARAMETER", name.as_str()),
    ])
    .await;
    sink.write(&points(2, "from_ssm")).await.unwrap();
    assert_eq!(count(&server, &db, "from_ssm").await, 2);

    // A parameter that does not exist stops the function, naming the variable.
    let map: HashMap<String, String> = [
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_USERNAME", ADMIN_USER),
        ("INFLUXDB_PASSWORD_PARAMETER", "/telltale/missing"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = InfluxConfig::read(&Env(move |k: &str| map.get(k).cloned())).unwrap();
    let err = InfluxSink::connect(config, &ssm)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("INFLUXDB_PASSWORD_PARAMETER") && err.contains("ParameterNotFound"),
        "{err}"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_unless_the_opt_out_is_set() {
    let server = InfluxServer::start(Options {
        auth: false,
        tls: true,
    });
    assert!(server.url.starts_with("https://"));
    let db = server.database("tls").await;
    let strict = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_RETRIES", "0"),
    ])
    .await;
    assert!(strict.warnings().is_empty());
    let err = strict.write(&points(1, "tls")).await.unwrap_err();
    assert!(
        matches!(err, InfluxError::Unavailable { .. }) && err.to_string().contains("certificate"),
        "{err}"
    );
    assert_eq!(count(&server, &db, "tls").await, 0);

    let lax = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_INSECURE_SKIP_VERIFY", "true"),
    ])
    .await;
    assert!(lax.warnings()[0].contains("INFLUXDB_INSECURE_SKIP_VERIFY"));
    lax.write(&points(4, "tls")).await.unwrap();
    assert_eq!(count(&server, &db, "tls").await, 4);
}

#[tokio::test]
async fn influxdb_2_gets_token_org_bucket_and_precision() {
    let double = Influx2::start("the-token", "team", "kpis").await;
    let base = [
        ("INFLUXDB_URL", double.url.as_str()),
        ("INFLUXDB_ORG", "team"),
        ("INFLUXDB_BUCKET", "kpis"),
        ("INFLUXDB_RETRIES", "0"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        all
    };
    let good = make_sink(&with(&[("INFLUXDB_TOKEN", "the-token")])).await;
    let written = good.write(&points(7_000, "v2")).await.unwrap();
    assert_eq!(written.requests, 2);
    let writes = double.writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].lines + writes[1].lines, 7_000);
    assert!(writes
        .iter()
        .all(|w| w.org == "team" && w.bucket == "kpis" && w.precision.as_deref() == Some("s")));

    let cases: [(Pairs, u16, &str); 3] = [
        (&[("INFLUXDB_TOKEN", "stolen")], 401, "unauthorized access"),
        (
            &[("INFLUXDB_TOKEN", "the-token"), ("INFLUXDB_BUCKET", "nope")],
            404,
            "bucket \"nope\" not found",
        ),
        (
            &[("INFLUXDB_TOKEN", "the-token"), ("INFLUXDB_ORG", "other")],
            404,
            "organization name \"other\" not found",
        ),
    ];
    for (extra, status, message) in cases {
        let mut all: HashMap<&str, &str> = base.iter().copied().collect();
        all.extend(extra.iter().copied());
        let pairs: Vec<(&str, &str)> = all.into_iter().collect();
        let err = make_sink(&pairs)
            .await
            .write(&points(1, "v2"))
            .await
            .unwrap_err();
        match &err {
            InfluxError::Refused {
                status: s,
                message: m,
                ..
            } => {
                assert_eq!(*s, status, "{m}");
                assert_eq!(m, message);
            }
            other => panic!("expected HTTP {status}, got {other}"),
        }
        assert!(!err.to_string().contains("stolen"));
    }
}

#[tokio::test]
async fn the_token_can_come_from_an_ssm_secure_string() {
    let double = Influx2::start("token-in-ssm", "team", "kpis").await;
    let ssm = telltale::adapters::aws::ssm::ssm_client(&moto().sdk_config().await);
    let name = format!("/telltale/{}/token", unique("t"));
    ssm.put_parameter()
        .name(name.as_str())
        .value("token-in-ssm")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let sink = make_sink(&[
        ("INFLUXDB_URL", double.url.as_str()),
        ("INFLUXDB_ORG", "team"),
        ("INFLUXDB_BUCKET", "kpis"),
        ("INFLUXDB_TOKEN_PARAMETER", name.as_str()),
    ])
    .await;
    sink.write(&points(1, "v2")).await.unwrap();
    assert_eq!(double.writes().len(), 1);
}

#[tokio::test]
async fn busy_or_failing_servers_are_retried_a_bounded_number_of_times() {
    let double = Influx2::start("t", "o", "b").await;
    let sink = make_sink(&[
        ("INFLUXDB_URL", double.url.as_str()),
        ("INFLUXDB_TOKEN", "t"),
        ("INFLUXDB_ORG", "o"),
        ("INFLUXDB_BUCKET", "b"),
        ("INFLUXDB_RETRIES", "3"),
        ("INFLUXDB_RETRY_BASE_MS", "1"),
    ])
    .await;
    // 503, then 429 with Retry-After: 0, then accepted.
    double.fail_next(&[(503, None), (429, Some(0))]);
    sink.write(&points(5, "r")).await.unwrap();
    assert_eq!(double.requests(), 3);
    assert_eq!(double.writes().len(), 1);

    // Still failing after the retries: unavailable, with how many attempts were made.
    double.fail_next(&[(500, None); 4]);
    let err = sink.write(&points(5, "r")).await.unwrap_err();
    assert!(
        matches!(err, InfluxError::Unavailable { attempts: 4, .. }),
        "{err}"
    );
    assert_eq!(double.requests(), 7);

    // A 400 is the caller's problem: not retried.
    double.fail_next(&[(400, None)]);
    let err = sink.write(&points(5, "r")).await.unwrap_err();
    assert!(
        matches!(err, InfluxError::Refused { status: 400, .. }),
        "{err}"
    );
    assert_eq!(double.requests(), 8);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_after_the_retries() {
    let port = telltale_testkit::watch::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let sink = make_sink(&[
        ("INFLUXDB_URL", url.as_str()),
        ("INFLUXDB_DATABASE", "d"),
        ("INFLUXDB_RETRIES", "2"),
        ("INFLUXDB_RETRY_BASE_MS", "1"),
    ])
    .await;
    let err = sink.write(&points(1, "m")).await.unwrap_err();
    assert!(
        matches!(err, InfluxError::Unavailable { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not reachable"), "{err}");
}

// ---- line protocol round trip ----

/// Text with everything line protocol makes hard: separators, quotes, backslashes, `#`,
/// unicode, emoji, tabs; plus, rarely, a line break (which names cannot hold).
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => "[a-z0-9_]{1,4}",
        2 => Just(" ".to_string()),
        2 => Just(",".to_string()),
        2 => Just("=".to_string()),
        2 => Just("\"".to_string()),
        2 => Just("\\".to_string()),
        1 => Just("#".to_string()),
        1 => Just("\t".to_string()),
        1 => Just("é".to_string()),
        1 => Just("日本".to_string()),
        1 => Just("😀".to_string()),
        1 => Just("\n".to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<i64>().prop_map(FieldValue::Int),
        prop::num::f64::NORMAL.prop_map(FieldValue::Float),
        (-1e6f64..1e6).prop_map(FieldValue::Float),
        any::<bool>().prop_map(FieldValue::Bool),
        text().prop_map(FieldValue::Text),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        text(),
        prop::collection::btree_map(text(), text(), 0..3),
        prop::collection::btree_map(text(), field_value(), 1..4),
    )
        .prop_map(|(measurement, tags, fields)| Point {
            measurement,
            tags,
            fields,
            time: Some(1_700_000_000_000_000_000),
        })
}

/// Why line protocol cannot carry this point, by the rules the encoder documents; `None` if
/// it can.
fn unrepresentable(p: &Point) -> Option<&'static str> {
    let bad_backslash = |s: &str| {
        let b: Vec<char> = s.chars().collect();
        b.iter()
            .enumerate()
            .any(|(i, c)| *c == '\\' && matches!(b.get(i + 1), None | Some(',' | ' ' | '=' | '"')))
    };
    let bad_name = |s: &str| s.is_empty() || s.chars().any(char::is_control) || bad_backslash(s);
    let reserved = |s: &str| ["time", "_measurement", "_field"].contains(&s);
    if bad_name(&p.measurement) || p.measurement.starts_with('#') {
        return Some("measurement");
    }
    if p.tags
        .iter()
        .any(|(k, v)| bad_name(k) || bad_name(v) || reserved(k))
    {
        return Some("tag");
    }
    if p.fields
        .keys()
        .any(|k| bad_name(k) || reserved(k) || p.tags.contains_key(k))
    {
        return Some("field key");
    }
    None
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Writes one point to a fresh database and reads back what InfluxDB stored.
async fn round_trip(p: &Point) -> Result<Point, InfluxError> {
    let server = influx();
    let db = server.database("rt").await;
    let sink = make_sink(&[
        ("INFLUXDB_URL", server.url.as_str()),
        ("INFLUXDB_DATABASE", db.as_str()),
        ("INFLUXDB_PRECISION", "ns"),
        ("INFLUXDB_RETRIES", "0"),
    ])
    .await;
    sink.write(std::slice::from_ref(p)).await?;
    let series = server.series(&db, "SELECT * FROM /.*/ GROUP BY *").await;
    assert_eq!(series.len(), 1, "{series:?}");
    let s = &series[0];
    let tags: BTreeMap<String, String> = s["tags"]
        .as_object()
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let columns = s["columns"].as_array().unwrap();
    let row = s["values"][0].as_array().unwrap();
    let mut fields = BTreeMap::new();
    for (c, v) in columns.iter().zip(row).skip(1) {
        let key = c.as_str().unwrap().to_string();
        let value = match (p.fields.get(&key), v) {
            (_, Value::Null) => continue,
            (Some(FieldValue::Int(_)), v) => FieldValue::Int(v.as_i64().unwrap()),
            (Some(FieldValue::Float(_)), v) => FieldValue::Float(v.as_f64().unwrap()),
            (Some(FieldValue::Bool(_)), v) => FieldValue::Bool(v.as_bool().unwrap()),
            (_, v) => FieldValue::Text(v.as_str().unwrap_or_default().to_string()),
        };
        fields.insert(key, value);
    }
    Ok(Point {
        measurement: s["name"].as_str().unwrap().to_string(),
        tags,
        fields,
        time: p.time,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever can be represented comes back from the real InfluxDB exactly as it was;
    /// whatever cannot is refused before anything is sent.
    #[test]
    fn line_protocol_round_trips_through_the_real_influxdb(p in point()) {
        let result = runtime().block_on(round_trip(&p));
        match unrepresentable(&p) {
            Some(why) => prop_assert!(
                matches!(result, Err(InfluxError::Encode(_))),
                "{why} should have been refused: {result:?}"
            ),
            None => {
                let back = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, p);
            }
        }
    }
}
