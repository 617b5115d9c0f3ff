//! The probe routes tried as a hostile user would: unreadable headers, control characters,
//! an outbox that fails after the write was committed, an email refused until it is given up.
//! Each test failed before the fix it names.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use telltale::adapters::aws::{keys::ApiKeys, probes::ProbeTable, ses::Ses};
use telltale::auth::Role;
use telltale::base::error::{Dependency, Error, Result};
use telltale::http::probes::{status_routes, submit_routes, ProbeApi};
use telltale::probes::model::{Candidate, Status};
use telltale::probes::outbox::{deliver_pending, MAX_ATTEMPTS};
use telltale::probes::ports::{
    email_id, CandidateStore, Created, IdempotencyRecord, Outbox, OutboxEmail,
};
use telltale_cli::tables;
use telltale_testkit::probes::{contact, ProbeFixture, FROM};
use telltale_testkit::{moto::moto, unique};

struct Answer {
    status: u16,
    body: Value,
}

/// One request through the route function the Lambda runs; header values are raw bytes so
/// that unreadable ones can be sent.
async fn call<S: CandidateStore + Outbox + Sync>(
    api: &ProbeApi<S, Ses, ApiKeys>,
    method: &str,
    uri: &str,
    headers: &[(&str, &[u8])],
    body: Option<Value>,
) -> Answer {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (h, v) in headers {
        req = req.header(*h, HeaderValue::from_bytes(v).unwrap());
    }
    let body = body.map_or(Body::Empty, |b| Body::from(b.to_string()));
    let req: Request = req.body(body).unwrap();
    let resp = if method == "POST" || uri == "/api/v2/probes/" {
        submit_routes(api, &req).await
    } else {
        status_routes(api, &req).await
    };
    Answer {
        status: resp.status().as_u16(),
        body: serde_json::from_slice(resp.body().as_ref()).expect("every answer is JSON"),
    }
}

fn submission(name: &str, owner: &str) -> Value {
    json!({
        "name": name, "docurl": "https://example.org/doc",
        "script": "https://example.org/check.py", "command": "check.py -H <host> -t 10",
        "description": "Checks a thing.\nTwo lines,\tand a tab.",
        "contact": owner
    })
}

async fn stored(f: &ProbeFixture) -> Vec<Candidate> {
    ProbeTable::new(f.dynamodb.clone(), &f.probes_table)
        .list(None)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idempotency_key_that_cannot_be_read_is_refused_and_nothing_is_stored() {
    let f = ProbeFixture::new(Role::Submitter).await;
    let api = f.api(FROM);
    let owner = contact();
    let key = f.key.as_bytes();
    for body in [submission("a", &owner), submission("b", &owner)] {
        let a = call(
            &api,
            "POST",
            "/api/v2/probes/",
            &[
                ("x-api-key", key),
                ("idempotency-key", "é-59114b".as_bytes()),
            ],
            Some(body),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(
            a.body["detail"],
            "header idempotency-key is not readable: only visible ASCII characters are allowed"
        );
    }
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[
            ("x-api-key", key),
            ("idempotency-key", b"k-1"),
            ("idempotency-key", b"k-2"),
        ],
        Some(submission("c", &owner)),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(
        a.body["detail"],
        "header idempotency-key is given more than once"
    );
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", "clé".as_bytes())],
        Some(submission("d", &owner)),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(stored(&f).await.is_empty());
    assert!(moto().emails_to(&owner).await.is_empty());
}

#[tokio::test]
async fn an_if_match_that_cannot_be_read_is_refused_and_nothing_changes() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let api = f.api(FROM);
    let key = f.key.as_bytes();
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", key)],
        Some(submission("p", &contact())),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let uri = format!("/api/v2/probes/{id}/status");
    let change = json!({"status": "processing", "service_type": "eu.argo.servicestatus"});
    for if_match in ["\"é\"".as_bytes(), b"\"1\xff\""] {
        let a = call(
            &api,
            "PUT",
            &uri,
            &[("x-api-key", key), ("if-match", if_match)],
            Some(change.clone()),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body["detail"]
                .as_str()
                .unwrap()
                .starts_with("header if-match is not readable"),
            "{}",
            a.body
        );
    }
    let a = call(
        &api,
        "PUT",
        &uri,
        &[
            ("x-api-key", key),
            ("if-match", b"\"1\""),
            ("if-match", b"\"1\""),
        ],
        Some(change.clone()),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    let now = stored(&f).await;
    assert_eq!((now[0].status, now[0].version), (Status::Submitted, 1));
}

#[tokio::test]
async fn control_characters_and_bidi_overrides_are_refused_in_every_text_field() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let api = f.api(FROM);
    let key = f.key.as_bytes();
    let owner = contact();
    let hostile = [
        ("name", "probe\u{0}"),
        ("name", "\u{1b}[31mred\u{1b}[0m"),
        ("name", "evil\u{202e}gpj.exe"),
        ("name", "two\nlines"),
        ("description", "bell\u{7}"),
        ("description", "isolate \u{2066}x\u{2069}"),
        ("command", "check.py -t 10 \u{1b}]0;title\u{7}"),
        ("docurl", "https://example.org/\u{0}"),
    ];
    for (field, value) in hostile {
        let mut body = submission("p", &owner);
        body[field] = json!(value);
        let a = call(
            &api,
            "POST",
            "/api/v2/probes/",
            &[("x-api-key", key)],
            Some(body),
        )
        .await;
        assert_eq!(a.status, 400, "{field}={value:?}: {}", a.body);
        let detail = a.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("Field '{field}'")),
            "{field}={value:?}: {detail}"
        );
    }
    assert!(stored(&f).await.is_empty());

    // Line breaks and tabs stay allowed where text spans lines, and everywhere else
    // non-ASCII text is welcome.
    let mut body = submission("sonde-réseau ✓", &owner);
    body["description"] = json!("Vérifie le service.\r\n\tDeux lignes.");
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", key)],
        Some(body),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();

    let a = call(
        &api,
        "PUT",
        &format!("/api/v2/probes/{id}/status"),
        &[("x-api-key", key)],
        Some(json!({"status": "rejected", "rejection_reason": "no\u{1b}[2J"})),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("Field 'rejection_reason'"),
        "{}",
        a.body
    );
    assert_eq!(stored(&f).await[0].status, Status::Submitted);
}

/// The real table, except that claiming an email fails as a DynamoDB hiccup would, for every
/// email or for the ones whose id contains `fail_for`.
struct FailingClaims {
    inner: ProbeTable,
    fail_for: String,
}

impl CandidateStore for FailingClaims {
    async fn create(
        &self,
        candidate: &Candidate,
        email: &OutboxEmail,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Created> {
        self.inner.create(candidate, email, idempotency).await
    }
    async fn get(&self, id: &str) -> Result<Option<Candidate>> {
        self.inner.get(id).await
    }
    async fn replace(
        &self,
        candidate: &Candidate,
        expected_version: u64,
        email: Option<&OutboxEmail>,
    ) -> Result<()> {
        self.inner.replace(candidate, expected_version, email).await
    }
    async fn list(&self, status: Option<Status>) -> Result<Vec<Candidate>> {
        self.inner.list(status).await
    }

    async fn page(
        &self,
        query: &telltale::probes::ports::PageQuery,
    ) -> Result<telltale::probes::ports::Page> {
        self.inner.page(query).await
    }
}

impl Outbox for FailingClaims {
    async fn claim(&self, id: &str, now: i64, lease: i64) -> Result<Option<OutboxEmail>> {
        if id.contains(&self.fail_for) {
            return Err(Error::Unavailable {
                dependency: Dependency::DynamoDb,
                message: "ProvisionedThroughputExceededException".into(),
            });
        }
        self.inner.claim(id, now, lease).await
    }
    async fn mark_sent(&self, id: &str, message_id: &str, at: &str) -> Result<()> {
        self.inner.mark_sent(id, message_id, at).await
    }
    async fn mark_failed(&self, id: &str, reason: &str, retry_at: Option<i64>) -> Result<()> {
        self.inner.mark_failed(id, reason, retry_at).await
    }
    async fn mark_dead(&self, id: &str, reason: &str, at: &str) -> Result<()> {
        self.inner.mark_dead(id, reason, at).await
    }
    async fn dead_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.inner.dead_emails().await
    }
    async fn pending(&self) -> Result<Vec<String>> {
        self.inner.pending().await
    }
    async fn pending_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.inner.pending_emails().await
    }
    async fn get_email(&self, id: &str) -> Result<Option<OutboxEmail>> {
        self.inner.get_email(id).await
    }
}

fn failing(f: &ProbeFixture, fail_for: &str) -> ProbeApi<FailingClaims, Ses, ApiKeys> {
    let api = f.api(FROM);
    ProbeApi {
        store: FailingClaims {
            inner: api.store,
            fail_for: fail_for.into(),
        },
        mailer: api.mailer,
        keys: api.keys,
        email: api.email,
        min_testing: api.min_testing,
        cursors: api.cursors,
    }
}

#[tokio::test]
async fn a_failure_after_the_write_is_committed_answers_success_with_a_warning() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let api = failing(&f, "email#");
    let key = f.key.as_bytes();
    let owner = contact();
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", key)],
        Some(submission("p", &owner)),
    )
    .await;
    assert_eq!(a.status, 201, "the candidate is stored: {}", a.body);
    let warning = a.body["warning"].as_str().unwrap();
    assert!(warning.contains("DynamoDB"), "{warning}");
    let id = a.body["id"].as_str().unwrap().to_string();

    let a = call(
        &api,
        "PUT",
        &format!("/api/v2/probes/{id}/status"),
        &[("x-api-key", key), ("if-match", b"\"1\"")],
        Some(json!({"status": "processing", "service_type": "eu.argo.servicestatus"})),
    )
    .await;
    assert_eq!(a.status, 200, "the change is committed: {}", a.body);
    assert_eq!(a.body["status"], "processing");
    assert_eq!(a.body["version"], 2);
    assert!(a.body["warning"].as_str().unwrap().contains("DynamoDB"));
    assert!(moto().emails_to(&owner).await.is_empty());

    // Both emails stayed pending and go out, once each, at the next retry.
    let healthy = f.api(FROM);
    let summary = deliver_pending(&healthy.store, &healthy.mailer)
        .await
        .unwrap();
    assert_eq!((summary.sent, summary.failed.len()), (2, 0));
    assert_eq!(moto().emails_to(&owner).await.len(), 2);
}

#[tokio::test]
async fn one_failing_email_does_not_stop_the_retry_batch() {
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let from = format!("ARGO Monitoring <{sender}>");
    let f = ProbeFixture::new(Role::Submitter).await;
    let refusing = f.api(&from);
    let owners: Vec<String> = (0..3).map(|_| contact()).collect();
    let mut ids = Vec::new();
    for owner in &owners {
        let a = call(
            &refusing,
            "POST",
            "/api/v2/probes/",
            &[("x-api-key", f.key.as_bytes())],
            Some(submission("p", owner)),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .unwrap();
    let mut api = failing(&f, &ids[1]);
    api.email = f.email_settings(&from);
    let summary = deliver_pending(&api.store, &api.mailer).await.unwrap();
    assert_eq!(summary.sent, 2, "{summary:?}");
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].0, email_id(&ids[1], Status::Submitted));
    assert!(summary.failed[0].1.contains("DynamoDB"), "{summary:?}");
    assert_eq!(moto().emails_to(&owners[0]).await.len(), 1);
    assert_eq!(moto().emails_to(&owners[2]).await.len(), 1);
}

#[tokio::test]
async fn an_email_refused_too_often_is_dead_shown_and_no_longer_retried() {
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let from = format!("ARGO Monitoring <{sender}>");
    let f = ProbeFixture::new(Role::Monitoring).await;
    let api = f.api(&from);
    let owner = contact();
    let a = call(
        &api,
        "POST",
        "/api/v2/probes/",
        &[("x-api-key", f.key.as_bytes())],
        Some(submission("p", &owner)),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let email = email_id(&id, Status::Submitted);
    // As if `email-retry` had been refused every five minutes for two hours.
    f.dynamodb
        .update_item()
        .table_name(&f.probes_table)
        .key("id", AttributeValue::S(email.clone()))
        .update_expression("SET attempts = :n")
        .expression_attribute_values(":n", AttributeValue::N((MAX_ATTEMPTS - 1).to_string()))
        .send()
        .await
        .unwrap();
    let summary = deliver_pending(&api.store, &api.mailer).await.unwrap();
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert!(
        summary.failed[0]
            .1
            .starts_with(&format!("given up after {MAX_ATTEMPTS} attempts")),
        "{summary:?}"
    );
    assert!(api.store.pending().await.unwrap().is_empty());
    let dead = api.store.dead_emails().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, email);

    let a = call(
        &api,
        "GET",
        &format!("/api/v2/probes/{id}"),
        &[("x-api-key", f.key.as_bytes())],
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["emails"][0]["state"], "dead", "{}", a.body);
    assert_eq!(a.body["emails"][0]["attempts"], MAX_ATTEMPTS);

    // Restoring the sender does not resurrect it: a dead email is never sent by the retry.
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .unwrap();
    let summary = deliver_pending(&api.store, &api.mailer).await.unwrap();
    assert_eq!((summary.sent, summary.failed.len()), (0, 0));
    assert!(moto().emails_to(&owner).await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let api = f.api(FROM);
    for (method, uri) in [
        ("POST", "/api/v2/probes/".to_string()),
        ("PUT", "/api/v2/probes/x/status".to_string()),
    ] {
        let req: Request = lambda_http::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("x-api-key", &f.key)
            .header("content-type", "application/json")
            .body(Body::Binary(vec![0xff, 0xfe, b'{', 0x1a]))
            .unwrap();
        let resp = if method == "POST" {
            submit_routes(&api, &req).await
        } else {
            status_routes(&api, &req).await
        };
        assert_eq!(resp.status(), 400, "{method} {uri}");
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("JSON parse error"),
            "{body}"
        );
    }
    assert!(stored(&f).await.is_empty());
}
