//! `make soak`: load and fault figures through `cargo lambda watch`, loopback only. The
//! timings are figures; the counts are checked against the stores and asserted: the run fails
//! when anything accepted was lost or doubled (a candidate, an email), or a dependency's
//! outage outlived its restart.
//!
//! 1. N submissions from C concurrent clients (watch runs up to INSTANCES processes per
//!    function, each taking one invocation at a time, as Lambda does).
//! 2. moto (DynamoDB, SES, S3), Prometheus and InfluxDB stopped, then hung, in turn, behind a
//!    fault proxy that keeps their state: every answer meanwhile, by status and by whether it
//!    names the dependency; then the same requests again once restored.
//! 3. SES refusing (the sender's identity removed): submissions stay accepted with their
//!    emails pending; once restored, `email-retry` sends each exactly once.

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use telltale::adapters::aws::{dynamodb_client, probes::ProbeTable, s3_client, ses_client};
use telltale::auth::Role;
use telltale::probes::ports::{CandidateStore, Outbox};
use telltale_cli::tables;
use telltale_testkit::fault::{FaultProxy, Mode};
use telltale_testkit::influx::influx;
use telltale_testkit::probes::{contact, ProbeFixture};
use telltale_testkit::prometheus::{demo_series, prometheus};
use telltale_testkit::{moto::moto, repo_root, unique, watch::Watch};

const SUBMISSIONS: usize = 200;
const CLIENTS: usize = 8;
const INSTANCES: u32 = 4;
const FAULT_REQUESTS: usize = 10;

struct Run {
    http: reqwest::Client,
    base: String,
    key: String,
    /// Inside the demo series (they end a minute before Prometheus starts).
    value_time: i64,
}

struct Answer {
    status: u16,
    body: String,
    took: Duration,
}

impl Run {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let t = Instant::now();
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                Answer {
                    status,
                    body,
                    took: t.elapsed(),
                }
            }
            Err(e) => Answer {
                status: 0,
                body: e.to_string(),
                took: t.elapsed(),
            },
        }
    }

    async fn submit(&self, owner: &str, idempotency: &str) -> Answer {
        let body = json!({
            "name": "soak-probe", "docurl": "https://example.org/doc",
            "script": "https://example.org/check.py", "command": "check.py -H <host> -t 10",
            "contact": owner
        });
        self.send(
            self.http
                .post(format!("{}/api/v2/probes/", self.base))
                .header("x-api-key", &self.key)
                .header("idempotency-key", idempotency)
                .json(&body),
        )
        .await
    }

    async fn value(&self) -> Answer {
        self.send(self.http.get(format!(
            "{}/metrics/argo-monitoring/deployed-probes/value?time={}",
            self.base, self.value_time
        )))
        .await
    }

    async fn invoke(&self, function: &str, event: Value) -> Answer {
        self.send(
            self.http
                .post(format!(
                    "{}/2015-03-31/functions/{function}/invocations",
                    self.base
                ))
                .json(&event),
        )
        .await
    }
}

fn tally(answers: &[Answer], dependency: &str) -> String {
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut naming = 0;
    for a in answers {
        *by_status.entry(a.status).or_default() += 1;
        if a.body.contains(dependency) {
            naming += 1;
        }
    }
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    format!(
        "{} (naming {dependency}: {naming}/{}; slowest {:.1} s)",
        statuses.join(" "),
        answers.len(),
        slowest.as_secs_f64()
    )
}

/// How many emails moto's SES accepted for each owner (one read of its whole state).
async fn emails_to(owners: &[String]) -> Vec<usize> {
    let sent = moto().sent_emails().await;
    owners
        .iter()
        .map(|o| sent.iter().filter(|e| e.to.contains(o)).count())
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    println!(
        "soak, {}: {SUBMISSIONS} submissions from {CLIENTS} clients, cargo lambda watch --concurrency {INSTANCES} (debug builds)",
        time::OffsetDateTime::now_utc().date()
    );
    let f = ProbeFixture::new(Role::Monitoring).await;
    let sdk = moto().sdk_config().await;
    let ses = ses_client(&sdk);
    let sender = format!("{}@soak.telltale.test", unique("sender"));
    tables::ensure_email_identity(&ses, &sender).await.unwrap();
    let s3 = s3_client(&sdk);
    let bucket = unique("soak");
    tables::ensure_bucket(&s3, &bucket).await.unwrap();
    for name in ["metadata_mappings.json", "metrics_mappings.json"] {
        let body = std::fs::read(repo_root().join("demo").join(name)).unwrap();
        tables::put_object(&s3, &bucket, name, body).await.unwrap();
    }
    let db = influx().database("soak").await;

    let aws = FaultProxy::start(&moto().endpoint).await;
    let prom = FaultProxy::start(&prometheus(demo_series).url).await;
    let influxdb = FaultProxy::start(&influx().url).await;
    let mut env = f.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL" && k != "EMAIL_FROM");
    env.extend(
        [
            ("AWS_ENDPOINT_URL", aws.url.clone()),
            ("EMAIL_FROM", format!("ARGO Monitoring <{sender}>")),
            ("MAPPINGS_BUCKET", bucket.clone()),
            ("MAPPINGS_REVALIDATE_SECONDS", "0".into()),
            ("PROMETHEUS_URL", prom.url.clone()),
            ("PROMETHEUS_TIMEOUT_SECONDS", "3".into()),
            ("INFLUXDB_URL", influxdb.url.clone()),
            ("INFLUXDB_DATABASE", db.clone()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let watch = Watch::start_concurrent(&env, false, INSTANCES);
    let run = Run {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(900))
            .build()
            .unwrap(),
        base: watch.base_url.clone(),
        key: f.key.clone(),
        value_time: time::OffsetDateTime::now_utc().unix_timestamp() - 300,
    };
    // Build and start each function once before anything is measured.
    for warm in [
        run.submit(&contact(), &unique("warm")).await,
        run.value().await,
        run.invoke("collector", json!({"collector": "probe_pipeline"}))
            .await,
        run.invoke("email-retry", json!({})).await,
    ] {
        assert!(warm.status < 500, "warming: {} {}", warm.status, warm.body);
    }
    let table = ProbeTable::new(dynamodb_client(&sdk), &f.probes_table);
    let before = table.list(None).await.unwrap().len();

    // 1. Load.
    let owners: Vec<String> = (0..SUBMISSIONS).map(|_| contact()).collect();
    let started = Instant::now();
    let answers: Vec<Answer> = stream::iter(owners.iter().enumerate())
        .map(|(i, owner)| {
            let run = &run;
            async move { run.submit(owner, &format!("soak-{i}")).await }
        })
        .buffer_unordered(CLIENTS)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut took: Vec<Duration> = answers.iter().map(|a| a.took).collect();
    took.sort();
    let created = answers.iter().filter(|a| a.status == 201).count();
    let stored = table.list(None).await.unwrap().len() - before;
    let emailed = emails_to(&owners).await.iter().sum::<usize>();
    println!(
        "load: {created}/{SUBMISSIONS} answered 201 in {:.1} s ({:.0}/s); latency p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms; stored {stored}, emails sent {emailed}",
        wall.as_secs_f64(),
        SUBMISSIONS as f64 / wall.as_secs_f64(),
        ms(took[took.len() / 2]),
        ms(took[took.len() * 95 / 100]),
        ms(took[took.len() - 1])
    );
    assert_eq!(
        (stored, emailed),
        (created, created),
        "load: every accepted submission stored once and emailed once"
    );

    // 2. Faults, one dependency at a time.
    for (mode, label) in [(Mode::Stopped, "stopped"), (Mode::Hung, "hung")] {
        aws.set(mode);
        let keys: Vec<String> = (0..FAULT_REQUESTS).map(|_| unique("fault")).collect();
        let fault_owners: Vec<String> = (0..FAULT_REQUESTS).map(|_| contact()).collect();
        let mut during = Vec::new();
        for (owner, key) in fault_owners.iter().zip(&keys) {
            during.push(run.submit(owner, key).await);
        }
        aws.set(Mode::Pass);
        let accepted_during = during.iter().filter(|a| a.status == 201).count();
        let mut after = Vec::new();
        for (owner, key) in fault_owners.iter().zip(&keys) {
            after.push(run.submit(owner, key).await);
        }
        let ok_after = after.iter().filter(|a| a.status == 201).count();
        let stored = table
            .list(None)
            .await
            .unwrap()
            .iter()
            .filter(|c| fault_owners.contains(&c.contact))
            .count();
        println!(
            "moto {label}: POST {}; accepted then {accepted_during}; the same requests (same Idempotency-Key) after restart: 201×{ok_after}; stored {stored} for {FAULT_REQUESTS} submissions",
            tally(&during, "DynamoDB"),
        );
        assert_eq!(
            (ok_after, stored),
            (FAULT_REQUESTS, FAULT_REQUESTS),
            "moto {label}: each submission, retried with its key, stored exactly once"
        );
    }
    for (mode, label) in [(Mode::Stopped, "stopped"), (Mode::Hung, "hung")] {
        prom.set(mode);
        let mut during = Vec::new();
        for _ in 0..FAULT_REQUESTS {
            during.push(run.value().await);
        }
        prom.set(Mode::Pass);
        let after = run.value().await;
        println!(
            "Prometheus {label}: GET value {}; after restart {}",
            tally(&during, "Prometheus"),
            after.status
        );
        assert_eq!(
            after.status, 200,
            "Prometheus {label}: the value route after restart"
        );
    }
    for (mode, label) in [(Mode::Stopped, "stopped"), (Mode::Hung, "hung")] {
        influxdb.set(mode);
        let mut during = Vec::new();
        for _ in 0..3 {
            during.push(
                run.invoke("collector", json!({"collector": "probe_pipeline"}))
                    .await,
            );
        }
        influxdb.set(Mode::Pass);
        let after = run
            .invoke("collector", json!({"collector": "probe_pipeline"}))
            .await;
        let failed = during
            .iter()
            .filter(|a| a.body.contains("errorMessage"))
            .count();
        println!(
            "InfluxDB {label}: collector invocations failed {failed}/3 ({}); after restart {}",
            tally(&during, "InfluxDB"),
            if after.body.contains("errorMessage") {
                "failed"
            } else {
                "ok"
            }
        );
        assert!(
            !after.body.contains("errorMessage"),
            "InfluxDB {label}: the collector after restart: {}",
            after.body
        );
    }

    // 3. SES refusing.
    ses.delete_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let refused_owners: Vec<String> = (0..FAULT_REQUESTS).map(|_| contact()).collect();
    let mut during = Vec::new();
    for owner in &refused_owners {
        during.push(run.submit(owner, &unique("ses")).await);
    }
    let warned = during
        .iter()
        .filter(|a| a.status == 201 && a.body.contains("warning"))
        .count();
    let pending = table.pending().await.unwrap().len();
    let retry_refused = run.invoke("email-retry", json!({})).await;
    tables::ensure_email_identity(&ses, &sender).await.unwrap();
    let first = run.invoke("email-retry", json!({})).await;
    let second = run.invoke("email-retry", json!({})).await;
    let sent = emails_to(&refused_owners).await;
    println!(
        "SES refusing: {warned}/{FAULT_REQUESTS} accepted with a warning, {pending} emails pending; email-retry while refused: {}; after restoring: {} then {}; emails per submission {:?}",
        if retry_refused.body.contains("errorMessage") { "failed (alarm)" } else { "ok" },
        first.body,
        second.body,
        sent
    );
    let dead = table.dead_emails().await.unwrap().len();
    println!("dead emails: {dead}");
    assert_eq!(
        warned, FAULT_REQUESTS,
        "SES refusing: every submission accepted with a warning"
    );
    assert_eq!(
        sent,
        vec![1; FAULT_REQUESTS],
        "SES refusing: each pending email sent exactly once after restoring"
    );
    assert_eq!(dead, 0, "no email given up");
}
