//! The probe API's rules through its routes, on in-memory stores: POEM's validation and
//! messages, keys and roles, idempotency, the list, the lifecycle and its emails.

use serde_json::{json, Value};
use telltale::auth::Role;
use telltale::probes::model::Status;
use telltale::probes::ports::{email_id, CandidateStore, Outbox};
use telltale_testkit::memory::{
    change_to, valid_submission, ProbeWorld, HEARTBEAT, MONITORING, SUBMITTER,
};
use telltale_testkit::probes::{FROM, TEAM};

fn rpm_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "A generic probe to check service status.",
        "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
        "rpm": "argo-probe-argo-servicestatus-0.2.0-1.el7.noarch.rpm",
        "yum_baseurl": "http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/",
        "command": "/usr/libexec/argo/probes/argo-servicestatus/check_status.py -u <URL> -t 30",
        "contact": "owner@example.org"
    })
}

async fn list(w: &ProbeWorld, query: &str) -> Vec<Value> {
    let a = w
        .call(
            "GET",
            &format!("/api/v2/probes/{query}"),
            Some(SUBMITTER),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_valid_submission_is_stored_with_poems_answer_and_one_email() {
    let w = ProbeWorld::new();
    let a = w.submit(&rpm_body("poem-probe")).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.body,
        json!({"detail": "Probe 'poem-probe' POSTed successfully", "id": id, "status": "submitted"})
    );
    assert_eq!(
        a.headers["location"],
        format!("/api/v2/probes/{id}").as_str()
    );
    let stored = w.api.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.submitted_by.as_str(),
            stored.version,
            stored.history.len()
        ),
        ("tenant-a", 1, 1)
    );
    let sent = w.api.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "[ARGO Monitoring] Probe submitted");
    assert_eq!(sent[0].from, FROM);
    assert_eq!(sent[0].to, "owner@example.org");
    assert_eq!(sent[0].bcc, vec![TEAM.to_string()]);
    let email = w
        .api
        .store
        .get_email(&email_id(&id, Status::Submitted))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((email.state.as_str(), email.attempts), ("sent", 1));
}

#[tokio::test]
async fn poem_errors_come_first_and_all_are_listed() {
    let w = ProbeWorld::new();
    let mut body = rpm_body("p");
    body.as_object_mut().unwrap().remove("yum_baseurl");
    body["contact"] = json!("not-an-email");
    body["command"] = json!("check.py -u <URL>");
    let a = w.submit(&body).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body["detail"],
        "Field 'yum_baseurl' is mandatory with 'rpm' field, unless 'rpm' field is defined as valid URL"
    );
    let fields: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["yum_baseurl", "contact", "command"]);
    assert!(list(&w, "").await.is_empty(), "nothing was stored");
    assert!(w.api.mailer.sent().is_empty());
}

#[tokio::test]
async fn each_poem_message_is_answered_for_its_case() {
    let w = ProbeWorld::new();
    let edit = |changes: &[(&str, Option<Value>)]| {
        let mut b = rpm_body("cases");
        for (field, value) in changes {
            match value {
                Some(v) => b[*field] = v.clone(),
                None => {
                    b.as_object_mut().unwrap().remove(*field);
                }
            }
        }
        b
    };
    let cases = [
        (edit(&[("name", None)]), "Field 'name' is mandatory"),
        (edit(&[("docurl", None)]), "Field 'docurl' is mandatory"),
        (edit(&[("command", None)]), "Field 'command' is mandatory"),
        (edit(&[("contact", None)]), "Field 'contact' is mandatory"),
        (
            edit(&[("rpm", None), ("yum_baseurl", None)]),
            "You must provide either 'rpm' or 'script' field",
        ),
        (
            edit(&[("docurl", Some(json!("docs/README.md")))]),
            "Field 'docurl' must be defined as valid URL",
        ),
        (
            edit(&[("yum_baseurl", Some(json!("rpm-repo/centos7")))]),
            "Field 'yum_baseurl' must be defined as valid URL",
        ),
        (
            edit(&[("script", Some(json!("check.sh")))]),
            "Field 'script' must be defined as valid URL",
        ),
        (
            edit(&[("contact", Some(json!("owner at example.org")))]),
            "Field 'contact' is not valid email",
        ),
        (
            edit(&[("command", Some(json!("check.py -u <URL> --time 30")))]),
            telltale::probes::validate::GUIDELINES_MESSAGE,
        ),
        (
            edit(&[("name", Some(json!(7)))]),
            "Field 'name' must be a string",
        ),
        (
            edit(&[("name", Some(json!("n\u{1b}[31m")))]),
            "Field 'name' must not contain U+001B (a control character)",
        ),
    ];
    for (body, detail) in cases {
        let a = w.submit(&body).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
        assert!(a.detail().starts_with(detail), "{detail}: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["message"], a.body["detail"]);
    }
    assert!(list(&w, "").await.is_empty());
    assert!(w.api.mailer.sent().is_empty());
}

#[tokio::test]
async fn malformed_bodies_get_precise_4xx_answers() {
    let w = ProbeWorld::new();
    let json_ct = [("content-type", "application/json")];
    let raw = |body: &str, headers: &[(&str, &str)]| {
        let mut all = headers.to_vec();
        all.push(("x-api-key", SUBMITTER));
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/api/v2/probes/");
        let req = all.iter().fold(req, |r, (h, v)| r.header(*h, *v));
        req.body(lambda_http::Body::from(body.to_string())).unwrap()
    };
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70_000));
    // Body, headers, expected status, expected start of `detail`.
    type Case<'a> = (String, &'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 5] = [
        ("{\"name\": ".into(), &json_ct, 400, "JSON parse error - "),
        (
            "[1, 2]".into(),
            &json_ct,
            400,
            "Request body must be a JSON object",
        ),
        (
            "".into(),
            &json_ct,
            400,
            "Request body is empty; expected a JSON object",
        ),
        (
            "name=x".into(),
            &[("content-type", "application/x-www-form-urlencoded")],
            415,
            "Unsupported media type",
        ),
        (
            big,
            &json_ct,
            413,
            "request body is larger than 65536 bytes",
        ),
    ];
    for (body, headers, status, detail) in cases {
        let resp = telltale::http::probes::submit_routes(&w.api, &raw(&body, headers)).await;
        let answer: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(resp.status().as_u16(), status, "{answer}");
        assert!(
            answer["detail"].as_str().unwrap().starts_with(detail),
            "{answer}"
        );
    }
    let a = w
        .call("PUT", "/api/v2/probes/", Some(SUBMITTER), &[], None)
        .await;
    assert_eq!(
        (a.status, a.body),
        (405, json!({"detail": "Method \"PUT\" not allowed."}))
    );
    assert!(w.api.store.candidates().is_empty());
}

#[tokio::test]
async fn missing_or_unknown_keys_get_403_and_nothing_happens() {
    let w = ProbeWorld::new();
    for key in [None, Some("tt_not-a-key"), Some("")] {
        let a = w
            .call(
                "POST",
                "/api/v2/probes/",
                key,
                &[],
                Some(&valid_submission("o@example.org")),
            )
            .await;
        assert_eq!(
            (a.status, &a.body),
            (
                403,
                &json!({"detail": "Authentication credentials were not provided."})
            )
        );
        let a = w.call("GET", "/api/v2/probes/", key, &[], None).await;
        assert_eq!(a.status, 403);
    }
    assert!(w.api.store.candidates().is_empty());
    assert!(w.api.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_heartbeat_key_may_not_submit_or_read_candidates() {
    let w = ProbeWorld::new();
    let a = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(HEARTBEAT),
            &[],
            Some(&valid_submission("o@example.org")),
        )
        .await;
    assert_eq!(a.status, 403, "{:?}", a.body);
    let id = w.submitted("o@example.org").await;
    let a = w
        .call(
            "GET",
            &format!("/api/v2/probes/{id}"),
            Some(SUBMITTER),
            &[],
            None,
        )
        .await;
    assert_eq!(
        a.status, 403,
        "details need the monitoring role: {:?}",
        a.body
    );
    assert_eq!(w.get(&id).await.status, 200);
}

#[tokio::test]
async fn a_key_no_header_can_carry_or_given_twice_is_a_400() {
    let w = ProbeWorld::new();
    let a = w
        .call(
            "GET",
            "/api/v2/probes/",
            None,
            &[("x-api-key", SUBMITTER), ("x-api-key", SUBMITTER)],
            None,
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    let req = lambda_http::http::Request::builder()
        .uri("/api/v2/probes/")
        .header(
            "x-api-key",
            lambda_http::http::HeaderValue::from_bytes(b"tt_\xff").unwrap(),
        )
        .body(lambda_http::Body::Empty)
        .unwrap();
    let resp = telltale::http::probes::submit_routes(&w.api, &req).await;
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn same_name_twice_is_allowed_and_the_list_is_poems() {
    let w = ProbeWorld::new();
    for name in ["zeta-probe", "alpha-probe", "zeta-probe"] {
        assert_eq!(w.submit(&rpm_body(name)).await.status, 201);
    }
    let items = list(&w, "").await;
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["alpha-probe", "zeta-probe", "zeta-probe"]);
    let mut keys: Vec<&str> = items[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "created",
            "id",
            "last_update",
            "name",
            "status",
            "status_changed_at"
        ]
    );
    assert_eq!(list(&w, "?status=submitted").await.len(), 3);
    assert!(list(&w, "?status=testing").await.is_empty());
    assert_eq!(
        list(&w, "?status=").await.len(),
        3,
        "an empty filter is no filter, as in POEM"
    );
    let a = w
        .call(
            "GET",
            "/api/v2/probes/?status=bogus",
            Some(SUBMITTER),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.detail().starts_with("Unknown status 'bogus'"));
    let a = w
        .call(
            "GET",
            "/api/v2/probes/?status=submitted&status=testing",
            Some(SUBMITTER),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 400, "a doubled filter is refused, not half-read");
}

#[tokio::test]
async fn a_retried_request_creates_nothing_twice_and_a_reused_key_is_refused() {
    let w = ProbeWorld::new();
    let idem = [("idempotency-key", "req-1")];
    let body = rpm_body("retried");
    let first = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &idem,
            Some(&body),
        )
        .await;
    let second = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &idem,
            Some(&body),
        )
        .await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body, second.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(w.api.store.candidates().len(), 1);
    assert_eq!(w.api.mailer.sent().len(), 1);
    let other = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &idem,
            Some(&rpm_body("other")),
        )
        .await;
    assert_eq!(other.status, 422, "{:?}", other.body);
    assert_eq!(w.api.store.candidates().len(), 1);
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_caller() {
    let w = ProbeWorld::new();
    let idem = [("idempotency-key", "shared-key")];
    let body = rpm_body("mine");
    let a = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &idem,
            Some(&body),
        )
        .await;
    let b = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(MONITORING),
            &idem,
            Some(&body),
        )
        .await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(
        a.body["id"], b.body["id"],
        "another caller's key is another request"
    );
    // Scoped by the key, not its name: a second key named like the first is another caller
    // (made before names were unique, or straight in the table).
    w.api
        .keys
        .add("tt_second_tenant_a", "tenant-a", Role::Submitter);
    let c = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some("tt_second_tenant_a"),
            &idem,
            Some(&body),
        )
        .await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    assert!(c.headers.get("idempotent-replayed").is_none());
    assert_ne!(c.body["id"], a.body["id"]);
    let again = w
        .call(
            "POST",
            "/api/v2/probes/",
            Some(SUBMITTER),
            &idem,
            Some(&body),
        )
        .await;
    assert_eq!(
        (
            again.status,
            &again.body["id"],
            again.headers.get("idempotent-replayed").is_some()
        ),
        (201, &a.body["id"], true)
    );
}

#[tokio::test]
async fn a_store_that_is_down_is_a_503_naming_it_and_nothing_is_sent() {
    let w = ProbeWorld::new();
    w.api.store.outage.set(true);
    let a = w.submit(&valid_submission("o@example.org")).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.detail().contains("DynamoDB"), "{:?}", a.body);
    assert!(w.api.mailer.sent().is_empty());
    w.api.store.outage.set(false);
    assert!(w.api.store.candidates().is_empty());
}

#[tokio::test]
async fn the_key_table_down_is_a_503_not_a_403() {
    let w = ProbeWorld::new();
    w.api.keys.outage.set(true);
    let a = w.submit(&valid_submission("o@example.org")).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(w.api.store.candidates().is_empty());
}

#[tokio::test]
async fn a_refused_email_keeps_the_submission_and_is_sent_exactly_once_later() {
    let w = ProbeWorld::new();
    w.api
        .mailer
        .refuse("MessageRejected (the sender is not verified)");
    let a = w.submit(&valid_submission("o@example.org")).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert!(a.body["warning"]
        .as_str()
        .unwrap()
        .contains("will be retried"));
    let id = a.body["id"].as_str().unwrap().to_string();
    let pending = w.api.store.pending().await.unwrap();
    assert_eq!(pending, vec![email_id(&id, Status::Submitted)]);
    let recorded = w.api.store.get_email(&pending[0]).await.unwrap().unwrap();
    assert_eq!(recorded.attempts, 1);
    assert!(recorded.last_error.unwrap().contains("not verified"));

    let summary = telltale::probes::outbox::deliver_pending(&w.api.store, &w.api.mailer)
        .await
        .unwrap();
    assert_eq!((summary.sent, summary.failed.len()), (0, 1));
    w.api.mailer.accept();
    assert_eq!(w.deliver().await.len(), 1);
    assert_eq!(
        w.deliver().await.len(),
        1,
        "the next run sends nothing again"
    );
}

/// Refusals that may pass (throttling, an outage) are retried with a growing wait; a refusal
/// SES gives for good (an address it can never take) makes the email dead at once, with no
/// retries and one failed run.
#[tokio::test]
async fn retries_back_off_and_a_refusal_for_good_is_dead_at_once() {
    use telltale::outbox::backoff_seconds;
    use telltale::probes::outbox::deliver_pending_at;
    assert_eq!(
        (1..=10).map(backoff_seconds).collect::<Vec<_>>(),
        vec![0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    );
    let w = ProbeWorld::new();
    w.api.mailer.refuse("TooManyRequestsException");
    w.submitted("o@example.org").await; // attempt 1, at submission
    let t0 = time::OffsetDateTime::now_utc();
    let run = |at: time::OffsetDateTime| deliver_pending_at(&w.api.store, &w.api.mailer, at);
    assert_eq!(run(t0).await.unwrap().failed.len(), 1, "attempt 2, at once");
    assert_eq!(run(t0).await.unwrap().failed.len(), 1, "attempt 3, at once");
    let waiting = run(t0 + time::Duration::seconds(30)).await.unwrap();
    assert_eq!(
        (waiting.failed.len(), waiting.skipped),
        (0, 1),
        "within its minute"
    );
    let later = run(t0 + time::Duration::seconds(61)).await.unwrap();
    assert_eq!(later.failed.len(), 1, "attempt 4, after its minute");
    let pending = w.api.store.pending_emails().await.unwrap();
    assert_eq!(pending[0].attempts, 4);

    let w = ProbeWorld::new();
    w.api
        .mailer
        .refuse_for_good("BadRequestException (SES cannot take the message as addressed)");
    let a = w.submit(&valid_submission("o@example.org")).await;
    assert_eq!(a.status, 201);
    assert!(
        a.body["warning"]
            .as_str()
            .unwrap()
            .ends_with("It will not be retried."),
        "{}",
        a.body
    );
    let dead = w.api.store.dead_emails().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("refused for good: BadRequestException"));
    w.api.mailer.accept();
    assert!(w.deliver().await.is_empty(), "never retried");
}

#[tokio::test]
async fn an_email_refused_too_often_is_dead_and_never_retried() {
    let w = ProbeWorld::new();
    w.api.mailer.refuse("MessageRejected");
    w.submitted("o@example.org").await;
    let mut last = None;
    // Each run two hours after the one before: past any wait between attempts.
    let start = time::OffsetDateTime::now_utc();
    for run in 1..i64::from(telltale::probes::outbox::MAX_ATTEMPTS) {
        last = Some(
            telltale::probes::outbox::deliver_pending_at(
                &w.api.store,
                &w.api.mailer,
                start + time::Duration::hours(2 * run),
            )
            .await
            .unwrap(),
        );
    }
    assert_eq!(last.unwrap().failed.len(), 1);
    let dead = w.api.store.dead_emails().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, telltale::probes::outbox::MAX_ATTEMPTS);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("given up after 24 attempts"));
    w.api.mailer.accept();
    assert!(
        w.deliver().await.is_empty(),
        "a dead email is not resurrected"
    );
    assert!(w.api.store.pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_email_claimed_by_another_sender_is_not_sent_twice() {
    let w = ProbeWorld::new();
    w.api.mailer.refuse("busy");
    let id = w.submitted("o@example.org").await;
    w.api.mailer.accept();
    let email = email_id(&id, Status::Submitted);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Another sender holds the lease.
    assert!(w.api.store.claim(&email, now, 120).await.unwrap().is_some());
    let summary = telltale::probes::outbox::deliver_pending(&w.api.store, &w.api.mailer)
        .await
        .unwrap();
    assert_eq!((summary.sent, summary.skipped), (0, 1));
    // Its lease lapses: the email is due again.
    assert!(w
        .api
        .store
        .claim(&email, now + 121, 120)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn each_status_needs_its_field_with_poems_message() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    let cases = [
        (
            json!({"status": "processing"}),
            "Service type is mandatory when probe status is 'processing'",
        ),
        (
            json!({"status": "testing"}),
            "Devel URL is mandatory when probe status is 'testing'",
        ),
        (
            json!({"status": "deployed"}),
            "Production URL is mandatory when probe status is 'deployed'",
        ),
        (
            json!({"status": "rejected", "rejection_reason": "  "}),
            "Rejection reason is mandatory when probe status is 'rejected'",
        ),
        (
            json!({"status": "testing", "devel_url": "devel/probe"}),
            "Field 'devel_url' must be defined as valid URL",
        ),
        (
            json!({"status": "deployed", "production_url": "ftp://x"}),
            "Field 'production_url' must be defined as valid URL",
        ),
        (json!({}), "Field 'status' is mandatory"),
        (
            json!({"status": "done"}),
            "Field 'status' must be one of: submitted, processing, testing, deployed, rejected (exactly, in lower case)",
        ),
        (
            json!({"status": " processing", "service_type": "x"}),
            "Field 'status' must be one of: submitted, processing, testing, deployed, rejected (exactly, in lower case)",
        ),
        (
            json!({"status": "\u{a0}rejected", "rejection_reason": "x"}),
            "Field 'status' must be one of: submitted, processing, testing, deployed, rejected (exactly, in lower case)",
        ),
        (
            json!({"status": "Processing", "service_type": "x"}),
            "Field 'status' must be one of: submitted, processing, testing, deployed, rejected (exactly, in lower case)",
        ),
        (
            json!({"status": "processing", "service_type": 7}),
            "Field 'service_type' must be a string",
        ),
    ];
    for (body, detail) in cases {
        let a = w.put(&id, &body).await;
        assert_eq!((a.status, a.detail()), (400, detail));
    }
    let a = w.get(&id).await;
    assert_eq!(
        (a.body["status"].clone(), a.body["version"].clone()),
        (json!("submitted"), json!(1))
    );
}

/// One rule: a change carries only its target status's field. A field of another status is
/// refused by name (never stored, never silently dropped), and a wrongly typed status gets one
/// error, not two.
#[tokio::test]
async fn a_status_change_carries_only_the_field_of_its_target() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    let a = w
        .put(
            &id,
            &json!({"status": "processing", "service_type": "eu.argo.http",
                    "rejection_reason": "no", "production_url": "https://argo.example.org/p"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body["errors"],
        json!([
            {"field": "production_url", "message": "Field 'production_url' is set only when probe status changes to 'deployed', not 'processing'"},
            {"field": "rejection_reason", "message": "Field 'rejection_reason' is set only when probe status changes to 'rejected', not 'processing'"},
        ])
    );
    let stored = w.get(&id).await;
    assert_eq!(stored.body["status"], "submitted");
    assert_eq!(stored.body["rejection_reason"], Value::Null);
    assert_eq!(stored.body["production_url"], Value::Null);
    // Blank is absent, as everywhere in a change.
    let a = w
        .put(
            &id,
            &json!({"status": "processing", "service_type": "eu.argo.http", "devel_url": " "}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    let a = w.put(&id, &json!({"status": ["testing"]})).await;
    assert_eq!(
        (a.status, a.body["errors"].clone()),
        (
            400,
            json!([{"field": "status", "message": "Field 'status' must be a string"}])
        )
    );
}

#[tokio::test]
async fn every_allowed_and_every_forbidden_transition() {
    let mut w = ProbeWorld::new();
    w.api.min_testing = time::Duration::ZERO;
    let paths: [(&str, &[&str]); 5] = [
        ("submitted", &[]),
        ("processing", &["processing"]),
        ("testing", &["processing", "testing"]),
        ("deployed", &["processing", "testing", "deployed"]),
        ("rejected", &["rejected"]),
    ];
    let allowed = |from: &str| -> &[&str] {
        match from {
            "submitted" => &["processing", "rejected"],
            "processing" => &["testing", "rejected"],
            "testing" => &["deployed", "processing", "rejected"],
            _ => &[],
        }
    };
    for (from, path) in paths {
        for target in ["submitted", "processing", "testing", "deployed", "rejected"] {
            let id = w.submitted("o@example.org").await;
            w.walk(&id, path).await;
            let a = w.put(&id, &change_to(target)).await;
            if allowed(from).contains(&target) {
                assert_eq!(a.status, 200, "{from} -> {target}: {:?}", a.body);
                assert_eq!(a.body["status"], target);
            } else {
                assert_eq!(a.status, 409, "{from} -> {target}: {:?}", a.body);
                if allowed(from).is_empty() {
                    assert!(a.detail().contains("is final"), "{}", a.detail());
                } else {
                    for name in allowed(from) {
                        assert!(a.detail().contains(&format!("'{name}'")), "{}", a.detail());
                    }
                }
                assert_eq!(
                    w.get(&id).await.body["status"],
                    from,
                    "a refused change changes nothing"
                );
            }
        }
    }
}

#[tokio::test]
async fn testing_lasts_three_days_unless_forced() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    w.walk(&id, &["processing", "testing"]).await;
    let deploy = json!({"status": "deployed", "production_url": "https://argo.example.org/p"});
    let a = w.put(&id, &deploy).await;
    assert_eq!(a.status, 409);
    assert!(a.detail().contains("must stay 72 hour(s)"), "{:?}", a.body);
    let mut forced = deploy.clone();
    forced["force"] = json!(true);
    let a = w.put(&id, &forced).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let last = a.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["to"].clone(),
            last["forced"].clone(),
            last["by"].clone()
        ),
        (json!("deployed"), json!(true), json!("team"))
    );

    // Four days later the same request needs no force, and the history says it was not forced.
    let id = w.submitted("o@example.org").await;
    w.walk(&id, &["processing", "testing"]).await;
    let mut c = w.api.store.get(&id).await.unwrap().unwrap();
    c.status_changed_at =
        telltale::base::time::timestamp(time::OffsetDateTime::now_utc() - time::Duration::days(4));
    w.api.store.import(c);
    let a = w.put(&id, &deploy).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body["history"].as_array().unwrap().last().unwrap()["forced"],
        false
    );
}

#[tokio::test]
async fn a_stale_version_is_a_412_and_changes_nothing() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    let uri = format!("/api/v2/probes/{id}/status");
    let first = w
        .call(
            "PUT",
            &uri,
            Some(MONITORING),
            &[("if-match", "\"1\"")],
            Some(&change_to("processing")),
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.headers["etag"], "\"2\"");
    let stale = w
        .call(
            "PUT",
            &uri,
            Some(MONITORING),
            &[("if-match", "\"1\"")],
            Some(&change_to("rejected")),
        )
        .await;
    assert_eq!(stale.status, 412, "{:?}", stale.body);
    assert_eq!(w.get(&id).await.body["status"], "processing");
    let bad = w
        .call(
            "PUT",
            &uri,
            Some(MONITORING),
            &[("if-match", "soon")],
            Some(&change_to("rejected")),
        )
        .await;
    assert_eq!(
        bad.status, 400,
        "an If-Match that is no version: {:?}",
        bad.body
    );
}

#[tokio::test]
async fn concurrent_changes_on_one_version_never_both_win() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    let uri = format!("/api/v2/probes/{id}/status");
    let h = [("if-match", "\"1\"")];
    let (processing, rejected) = (change_to("processing"), change_to("rejected"));
    let (a, b) = tokio::join!(
        w.call("PUT", &uri, Some(MONITORING), &h, Some(&processing)),
        w.call("PUT", &uri, Some(MONITORING), &h, Some(&rejected)),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    assert_eq!(w.get(&id).await.body["version"], 2);
}

/// Without If-Match the write is still conditional on the version read. Two changes that
/// both read version 1 before either writes (the in-memory store gives way at each call, as a
/// network round trip does) end with one winner and a 412; run one after the other, both
/// would pass (processing, then rejected from processing), so this race is a real one.
#[tokio::test]
async fn two_changes_racing_without_if_match_never_both_apply() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    let (processing, rejected) = (change_to("processing"), change_to("rejected"));
    let (a, b) = tokio::join!(w.put(&id, &processing), w.put(&id, &rejected));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{:?} {:?}", a.body, b.body);
    let stored = w.get(&id).await;
    assert_eq!(stored.body["version"], 2);
    assert_eq!(stored.body["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn one_email_per_status_to_the_stored_contact() {
    let w = ProbeWorld::new();
    let id = w.submitted("owner@example.org").await;
    w.walk(&id, &["processing", "testing", "deployed"]).await;
    let subjects: Vec<String> = w
        .api
        .mailer
        .sent()
        .iter()
        .map(|e| e.subject.clone())
        .collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(w
        .api
        .mailer
        .sent()
        .iter()
        .all(|e| e.to == "owner@example.org"));
    let emails = w.api.store.emails();
    assert_eq!(emails.len(), 4);
    assert!(emails.iter().all(|e| e.state.as_str() == "sent"));
    for status in [
        Status::Submitted,
        Status::Processing,
        Status::Testing,
        Status::Deployed,
    ] {
        assert!(
            emails.iter().any(|e| e.id == email_id(&id, status)),
            "{status:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_status_email_keeps_the_change_with_a_warning() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    w.api.mailer.refuse("Throttling");
    let a = w.put(&id, &change_to("processing")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(
        a.body["warning"]
            .as_str()
            .is_some_and(|m| m.contains("retried")),
        "{:?}",
        a.body
    );
    assert_eq!(w.get(&id).await.body["status"], "processing");
    w.api.mailer.accept();
    let sent = w.deliver().await;
    assert_eq!(
        sent.len(),
        2,
        "the submission's and the change's emails, once each"
    );
}

#[tokio::test]
async fn details_show_emails_and_history_and_unknown_ids_are_404s() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    w.walk(&id, &["processing"]).await;
    let a = w.get(&id).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["etag"], "\"2\"");
    assert_eq!(a.body["history"].as_array().unwrap().len(), 2);
    assert_eq!(a.body["service_type"], "eu.argo.servicestatus");
    let a = w.get("no-such-candidate").await;
    assert_eq!(a.status, 404, "{:?}", a.body);
    let long = "x".repeat(60_000);
    let a = w.get(&long).await;
    assert_eq!(a.status, 404);
    assert!(a.detail().len() < 1024, "the echoed id is cut");
    let a = w.put("no-such-candidate", &change_to("processing")).await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn a_final_candidate_cannot_move_even_with_force() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    w.walk(&id, &["rejected"]).await;
    let mut body = change_to("processing");
    body["force"] = json!(true);
    let a = w.put(&id, &body).await;
    assert_eq!(a.status, 409, "{:?}", a.body);
    assert!(a.detail().contains("is final"));
}

// ---- the list, a page at a time ----

/// The next page's query, from the `Link` header of a page.
fn next_query(a: &telltale_testkit::memory::Answer) -> Option<String> {
    let link = a.headers.get("link")?.to_str().unwrap().to_string();
    let inner = link
        .strip_prefix("<")
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("a Link header not of the next page: {link}"));
    assert!(inner.starts_with('?'), "relative to the request: {link}");
    Some(inner.to_string())
}

async fn pages(w: &ProbeWorld, first: &str, key: &str) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut query = Some(first.to_string());
    while let Some(q) = query {
        let a = w
            .call("GET", &format!("/api/v2/probes/{q}"), Some(key), &[], None)
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        out.push(a.body.as_array().unwrap().clone());
        query = next_query(&a);
        assert!(out.len() < 100, "paging does not end");
    }
    out
}

async fn many(w: &ProbeWorld, n: usize) {
    for i in 0..n {
        let mut body = valid_submission(&format!("owner{i}@example.org"));
        // Names that sort apart from their insertion order, some equal.
        body["name"] = json!(format!("probe-{:03}", (i * 37) % (n / 2 + 1)));
        assert_eq!(w.submit(&body).await.status, 201);
    }
}

#[tokio::test]
async fn the_list_pages_through_every_candidate_once_in_list_order() {
    let w = ProbeWorld::new();
    many(&w, 120).await;
    let whole = list(&w, "").await;
    assert_eq!(whole.len(), 120);
    let paged = pages(&w, "?limit=50", SUBMITTER).await;
    assert_eq!(
        paged.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    let ids = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&paged.concat()),
        ids(&whole),
        "the same order as POEM's list"
    );
    // A submitter's key sees POEM's fields only; the plain list has no Link.
    assert!(paged[0][0].get("contact").is_none());
    let plain = w
        .call("GET", "/api/v2/probes/", Some(SUBMITTER), &[], None)
        .await;
    assert!(plain.headers.get("link").is_none());
}

#[tokio::test]
async fn the_monitoring_team_pages_with_contacts_and_searches_any_case() {
    let w = ProbeWorld::new();
    many(&w, 30).await;
    let id = w.submitted("Needle.Owner@Example.org").await;
    let first = &pages(&w, "?limit=10", MONITORING).await[0];
    assert!(first[0]["contact"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .ends_with("@example.org"));
    assert_eq!(first[0]["submitted_by"], "tenant-a");

    let by_contact = pages(&w, "?q=NEEDLE.owner", MONITORING).await.concat();
    assert_eq!(by_contact.len(), 1, "{by_contact:?}");
    assert_eq!(by_contact[0]["id"], id.as_str());
    // A submitter is not shown contacts, so its search cannot find one, not even a part.
    for q in [
        "?q=NEEDLE.owner",
        "?q=needle",
        "?q=example.org",
        "?q=tenant-a",
    ] {
        let found = pages(&w, q, SUBMITTER).await.concat();
        assert!(found.is_empty(), "{q}: {found:?}");
    }
    let own_id = pages(&w, &format!("?q={}", &id[..8]), SUBMITTER)
        .await
        .concat();
    assert!(own_id.iter().any(|i| i["id"] == id.as_str()));
    let by_id = pages(&w, &format!("?q={}", &id[..8]), MONITORING)
        .await
        .concat();
    assert!(by_id.iter().any(|i| i["id"] == id.as_str()));
    let by_name = pages(&w, "?q=PROBE-00&limit=3", MONITORING).await;
    let names: Vec<&str> = by_name
        .iter()
        .flatten()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("probe-00")),
        "{names:?}"
    );
    assert!(by_name.iter().all(|p| p.len() <= 3));

    w.walk(&id, &["processing"]).await;
    let processing = pages(&w, "?status=processing&limit=5", MONITORING)
        .await
        .concat();
    assert_eq!(processing.len(), 1);
    assert_eq!(processing[0]["status"], "processing");
}

#[tokio::test]
async fn a_page_request_it_cannot_read_is_a_400_naming_the_parameter() {
    let w = ProbeWorld::new();
    many(&w, 4).await;
    for (query, field) in [
        ("?limit=0", "'limit'"),
        ("?limit=501", "'limit'"),
        ("?limit=-9223372036854775808", "'limit'"),
        ("?limit=ten", "'limit'"),
        ("?cursor=%2A%2A%2A", "'cursor'"),
        ("?cursor=", "'cursor'"),
        ("?q=a%E2%80%AEb", "'q'"),
        ("?limit=5&limit=6", "limit"),
        ("?limit=5&status=gone", "status"),
    ] {
        let a = w
            .call(
                "GET",
                &format!("/api/v2/probes/{query}"),
                Some(MONITORING),
                &[],
                None,
            )
            .await;
        assert_eq!(a.status, 400, "{query}: {:?}", a.body);
        assert!(a.detail().contains(field), "{query}: {}", a.detail());
    }
}

/// A cursor is taken only as a page gave it: anything else that decodes (a hand-made one, one
/// cut at a base64 boundary, the same list key untagged or tagged by another deployment) is the
/// documented 400.
#[tokio::test]
async fn only_a_cursor_a_page_gave_is_taken() {
    use base64::Engine;
    let w = ProbeWorld::new();
    many(&w, 5).await;
    let first = w
        .call(
            "GET",
            "/api/v2/probes/?limit=2",
            Some(MONITORING),
            &[],
            None,
        )
        .await;
    let link = first.headers["link"].to_str().unwrap().to_string();
    let cursor = link
        .split("cursor=")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap()
        .to_string();
    let next = w
        .call(
            "GET",
            &format!("/api/v2/probes/?limit=2&cursor={cursor}"),
            Some(MONITORING),
            &[],
            None,
        )
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_ne!(next.body[0]["id"], first.body[0]["id"]);

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = b64.decode(&cursor).unwrap();
    let list_key = &bytes[..bytes.len() - 16];
    let untagged = b64.encode(list_key);
    let elsewhere = telltale::probes::cursor::CursorKey::new("another deployment's key")
        .unwrap()
        .encode(std::str::from_utf8(list_key).unwrap());
    let cut = &cursor[..(cursor.len() / 4 - 1) * 4];
    for forged in ["enp6eg", "AA", cut, &untagged, &elsewhere] {
        let a = w
            .call(
                "GET",
                &format!("/api/v2/probes/?limit=2&cursor={forged}"),
                Some(MONITORING),
                &[],
                None,
            )
            .await;
        assert_eq!(
            (a.status, a.detail()),
            (
                400,
                "Invalid 'cursor': use the cursor of a previous page's Link header as it is"
            ),
            "{forged}"
        );
    }
}

/// Reading or changing a candidate with the table down: a 503 naming DynamoDB, and nothing
/// changed once it is back.
#[tokio::test]
async fn reading_or_changing_a_candidate_with_the_table_down_is_a_503_naming_dynamodb() {
    let w = ProbeWorld::new();
    let id = w.submitted("o@example.org").await;
    w.api.store.outage.set(true);
    let read = w.get(&id).await;
    let change = w.put(&id, &change_to("processing")).await;
    for a in [&read, &change] {
        assert_eq!(a.status, 503, "{:?}", a.body);
        assert!(a.detail().contains("DynamoDB"), "{:?}", a.body);
    }
    w.api.store.outage.set(false);
    let a = w.get(&id).await;
    assert_eq!(
        (a.body["status"].as_str(), a.body["version"].as_u64()),
        (Some("submitted"), Some(1))
    );
}

/// The in-memory candidate store keeps the probe table's promises (the same suite runs on
/// moto in the service tier).
#[tokio::test]
async fn the_memory_probe_store_keeps_the_tables_promises() {
    telltale_testkit::contracts::probe_store(
        &telltale_testkit::memory::MemoryProbes::default(),
        "memory",
    )
    .await;
}

/// `email-retry` fails its run while an email is refused, naming each one and SES's reason
/// (what the alarm's runbook entry reads), and answers its summary once they are sent.
#[tokio::test]
async fn email_retry_fails_naming_each_refused_email_then_reports_them_sent() {
    let w = ProbeWorld::new();
    w.api
        .mailer
        .refuse("TooManyRequestsException (SES' sending rate was exceeded)");
    let id = w.submitted("o@example.org").await;
    let stack = telltale::jobs::EmailRetry {
        outbox: w.api.store.clone(),
        mailer: w.api.mailer.clone(),
    };
    let failed = telltale::jobs::email_retry(&stack).await.unwrap_err();
    assert_eq!(
        failed.to_string(),
        format!(
            "1 email(s) still not sent: {}: TooManyRequestsException (SES' sending rate was exceeded)",
            email_id(&id, Status::Submitted)
        )
    );
    w.api.mailer.accept();
    let done = telltale::jobs::email_retry(&stack).await.unwrap();
    assert_eq!(done, json!({"sent": 1, "skipped": 0, "failed": []}));
}
