//! `POST` and `GET /api/v2/probes/` against moto's DynamoDB and SES, through the same route
//! function the Lambda runs.

use lambda_http::{Body, Request};
use serde_json::{json, Value};
use telltale::auth::Role;
use telltale::aws::{keys::ApiKeys, probes::ProbeTable, ses::Ses};
use telltale::probes::api::{submit_routes, ProbeApi};
use telltale::probes::model::Status;
use telltale::probes::outbox::deliver_pending;
use telltale::probes::ports::{email_id, Outbox};
use telltale_cli::tables;
use telltale_testkit::probes::{contact, ProbeFixture, FROM, TEAM};
use telltale_testkit::{moto::moto, unique};

struct Fixture {
    api: ProbeApi<ProbeTable, Ses, ApiKeys>,
    key: String,
    ses: aws_sdk_sesv2::Client,
}

async fn fixture_from(from: &str) -> Fixture {
    let f = ProbeFixture::new(Role::Submitter).await;
    Fixture {
        api: f.api(from),
        key: f.key,
        ses: f.ses,
    }
}

async fn fixture() -> Fixture {
    fixture_from(FROM).await
}

fn rpm_body(name: &str, contact: &str) -> Value {
    json!({
        "name": name,
        "description": "A generic probe to check service status.",
        "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
        "rpm": "argo-probe-argo-servicestatus-0.2.0-1.el7.noarch.rpm",
        "yum_baseurl": "http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/",
        "command": "/usr/libexec/argo/probes/argo-servicestatus/check_status.py -u <URL> -t 30",
        "contact": contact
    })
}

struct Answer {
    status: u16,
    body: Value,
    headers: lambda_http::http::HeaderMap,
}

async fn call(
    f: &Fixture,
    method: &str,
    uri: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Body,
) -> Answer {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    for (h, v) in headers {
        req = req.header(*h, *v);
    }
    let req: Request = req.body(body).unwrap();
    let resp = submit_routes(&f.api, &req).await;
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: serde_json::from_slice(resp.body().as_ref()).expect("every answer is JSON"),
    }
}

async fn post(f: &Fixture, body: &Value, idempotency: Option<&str>) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(k) = idempotency {
        headers.push(("idempotency-key", k));
    }
    call(
        f,
        "POST",
        "/api/v2/probes/",
        Some(&f.key),
        &headers,
        Body::from(body.to_string()),
    )
    .await
}

async fn list(f: &Fixture, query: &str) -> Vec<Value> {
    let a = call(
        f,
        "GET",
        &format!("/api/v2/probes/{query}"),
        Some(&f.key),
        &[],
        Body::Empty,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_valid_submission_is_stored_and_confirmed_by_one_email() {
    let f = fixture().await;
    let owner = contact();
    let a = post(&f, &rpm_body("poem-probe", &owner), None).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.body,
        json!({"detail": "Probe 'poem-probe' POSTed successfully", "id": id, "status": "submitted"})
    );
    assert_eq!(
        a.headers["location"],
        format!("/api/v2/probes/{id}").as_str()
    );

    let stored = telltale::probes::ports::CandidateStore::get(&f.api.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "poem-probe");
    assert_eq!(stored.contact, owner);
    assert_eq!(
        stored.yum_baseurl.as_deref(),
        Some("http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/")
    );
    assert_eq!(stored.submitted_by, "tenant-a");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.history.len(), 1);

    let emails = moto().emails_to(&owner).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let e = &emails[0];
    assert_eq!(e.subject, "[ARGO Monitoring] Probe submitted");
    assert_eq!(e.source, FROM);
    assert_eq!(e.bcc, vec![TEAM.to_string()]);
    assert_eq!(
        e.body,
        "Dear madam/sir,\n\nyour probe 'poem-probe' has been successfully submitted. You will receive further instructions after the probe has been inspected.\n\nBest regards,\nARGO Monitoring team"
    );
    let outbox = f
        .api
        .store
        .get_email(&email_id(&id, Status::Submitted))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outbox.state, "sent");
    assert!(f.api.store.pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn poem_errors_come_first_and_all_are_listed() {
    let f = fixture().await;
    let mut body = rpm_body("p", &contact());
    body.as_object_mut().unwrap().remove("yum_baseurl");
    body["contact"] = json!("not-an-email");
    body["command"] = json!("check.py -u <URL>");
    let a = post(&f, &body, None).await;
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
    let a = post(&f, &json!({"docurl": "https://x.org"}), None).await;
    assert_eq!(a.body["detail"], "Field 'name' is mandatory");
    assert!(list(&f, "").await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn malformed_bodies_get_precise_4xx_answers() {
    let f = fixture().await;
    let json_ct = [("content-type", "application/json")];
    // Body, headers, expected status, expected start of `detail`.
    type Case<'a> = (Body, &'a [(&'a str, &'a str)], u16, &'a str);
    let cases: Vec<Case> = vec![
        (Body::from("{\"name\": "), &json_ct, 400, "JSON parse error - "),
        (Body::from("[1, 2]"), &json_ct, 400, "Request body must be a JSON object"),
        (Body::Empty, &json_ct, 400, "Request body is empty; expected a JSON object"),
        (Body::from("name=x"), &[("content-type", "application/x-www-form-urlencoded")], 415, "Unsupported media type \"application/x-www-form-urlencoded\""),
        (Body::from(format!("{{\"name\": \"{}\"}}", "x".repeat(70_000))), &json_ct, 413, "request body is larger than 65536 bytes"),
        (Body::from(json!({"name": 1, "docurl": [], "command": {}, "contact": true, "script": "https://s.org/x"}).to_string()), &json_ct, 400, "Field 'name' must be a string"),
    ];
    for (body, headers, status, detail) in cases {
        let a = call(&f, "POST", "/api/v2/probes", Some(&f.key), headers, body).await;
        assert_eq!(a.status, status, "{}", a.body);
        assert!(
            a.body["detail"].as_str().unwrap().starts_with(detail),
            "{}",
            a.body
        );
    }
    // A body without Content-Type is read as JSON.
    let a = call(
        &f,
        "POST",
        "/api/v2/probes",
        Some(&f.key),
        &[],
        Body::from(rpm_body("no-ct", &contact()).to_string()),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let a = call(&f, "PUT", "/api/v2/probes/", Some(&f.key), &[], Body::Empty).await;
    assert_eq!(
        (a.status, a.body),
        (405, json!({"detail": "Method \"PUT\" not allowed."}))
    );
}

#[tokio::test]
async fn missing_or_wrong_keys_get_403_and_nothing_happens() {
    let f = fixture().await;
    let owner = contact();
    for key in [None, Some("tt_not-a-key"), Some("")] {
        let a = call(
            &f,
            "POST",
            "/api/v2/probes/",
            key,
            &[("content-type", "application/json")],
            Body::from(rpm_body("p", &owner).to_string()),
        )
        .await;
        assert_eq!(
            (a.status, &a.body),
            (
                403,
                &json!({"detail": "Authentication credentials were not provided."})
            )
        );
        let a = call(&f, "GET", "/api/v2/probes/", key, &[], Body::Empty).await;
        assert_eq!(a.status, 403);
    }
    assert!(moto().emails_to(&owner).await.is_empty());
    assert!(list(&f, "").await.is_empty());
}

#[tokio::test]
async fn same_name_twice_is_allowed_and_the_list_is_poems() {
    let f = fixture().await;
    for name in ["zeta-probe", "alpha-probe", "zeta-probe"] {
        assert_eq!(
            post(&f, &rpm_body(name, &contact()), None).await.status,
            201
        );
    }
    let items = list(&f, "").await;
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["alpha-probe", "zeta-probe", "zeta-probe"]);
    let item = items[0].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
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
    let created = item["created"].as_str().unwrap();
    assert!(
        time::PrimitiveDateTime::parse(
            created,
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
        )
        .is_ok(),
        "{created}"
    );
    assert_eq!(item["status"], "submitted");

    assert_eq!(list(&f, "?status=submitted").await.len(), 3);
    assert!(list(&f, "?status=testing").await.is_empty());
    let a = call(
        &f,
        "GET",
        "/api/v2/probes/?status=bogus",
        Some(&f.key),
        &[],
        Body::Empty,
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Unknown status 'bogus'"));
}

#[tokio::test]
async fn a_retried_request_creates_nothing_twice() {
    let f = fixture().await;
    let owner = contact();
    let body = rpm_body("retried", &owner);
    let first = post(&f, &body, Some("req-1")).await;
    let second = post(&f, &body, Some("req-1")).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body, second.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(list(&f, "").await.len(), 1);
    assert_eq!(moto().emails_to(&owner).await.len(), 1);

    // The same key for another body is refused rather than silently answered with the first.
    let other = post(&f, &rpm_body("other", &owner), Some("req-1")).await;
    assert_eq!(other.status, 422, "{}", other.body);
}

#[tokio::test]
async fn concurrent_retries_create_one_candidate_and_one_email() {
    let f = fixture().await;
    let owner = contact();
    let body = rpm_body("racing", &owner);
    let answers =
        futures::future::join_all((0..6).map(|_| post(&f, &body, Some("race-key")))).await;
    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one candidate for one key");
    assert_eq!(list(&f, "").await.len(), 1);
    assert_eq!(moto().emails_to(&owner).await.len(), 1);
}

#[tokio::test]
async fn a_refused_email_stays_pending_and_is_sent_exactly_once_later() {
    // A sender SES does not know yet: SES refuses every email from it.
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let f = fixture_from(&format!("ARGO Monitoring <{sender}>")).await;
    let owner = contact();
    let a = post(&f, &rpm_body("mail-later", &owner), None).await;
    assert_eq!(
        a.status, 201,
        "the candidate is accepted even if mail fails: {}",
        a.body
    );
    let warning = a.body["warning"].as_str().unwrap();
    assert!(
        warning.contains("not sent") && warning.contains("not verified"),
        "{warning}"
    );
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(list(&f, "").await.len(), 1);
    assert!(moto().emails_to(&owner).await.is_empty());
    let pending = f.api.store.pending().await.unwrap();
    assert_eq!(pending, vec![email_id(&id, Status::Submitted)]);
    let recorded = f.api.store.get_email(&pending[0]).await.unwrap().unwrap();
    assert_eq!(recorded.attempts, 1);
    assert!(recorded.last_error.unwrap().contains("not verified"));

    // Still refused: the retry run reports it and keeps the email.
    let summary = deliver_pending(&f.api.store, &f.api.mailer).await.unwrap();
    assert_eq!((summary.sent, summary.failed.len()), (0, 1));

    // SES recovers (the identity is verified): the next run sends it, the one after sends nothing.
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .unwrap();
    let summary = deliver_pending(&f.api.store, &f.api.mailer).await.unwrap();
    assert_eq!((summary.sent, summary.failed.len()), (1, 0));
    let summary = deliver_pending(&f.api.store, &f.api.mailer).await.unwrap();
    assert_eq!(
        (summary.sent, summary.skipped, summary.failed.len()),
        (0, 0, 0)
    );
    let emails = moto().emails_to(&owner).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].subject, "[ARGO Monitoring] Probe submitted");
    assert_eq!(
        f.api
            .store
            .get_email(&pending[0])
            .await
            .unwrap()
            .unwrap()
            .state,
        "sent"
    );
}

#[tokio::test]
async fn each_poem_message_is_answered_for_its_case_over_the_route() {
    let f = fixture().await;
    let owner = contact();
    let base = rpm_body("cases", &owner);
    let edit = |changes: &[(&str, Option<Value>)]| {
        let mut b = base.clone();
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
        (edit(&[("rpm", None), ("yum_baseurl", None)]), "You must provide either 'rpm' or 'script' field"),
        (edit(&[("docurl", Some(json!("docs/README.md")))]), "Field 'docurl' must be defined as valid URL"),
        (
            edit(&[("yum_baseurl", None)]),
            "Field 'yum_baseurl' is mandatory with 'rpm' field, unless 'rpm' field is defined as valid URL",
        ),
        (edit(&[("yum_baseurl", Some(json!("rpm-repo/centos7")))]), "Field 'yum_baseurl' must be defined as valid URL"),
        (edit(&[("script", Some(json!("check.sh")))]), "Field 'script' must be defined as valid URL"),
        (edit(&[("contact", Some(json!("owner at example.org")))]), "Field 'contact' is not valid email"),
        (
            edit(&[("command", Some(json!("check.py -u <URL> --time 30")))]),
            telltale::probes::validate::GUIDELINES_MESSAGE,
        ),
    ];
    for (body, detail) in cases {
        let a = post(&f, &body, None).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert_eq!(a.body["detail"], detail);
        assert_eq!(a.body["errors"][0]["message"], detail);
    }
    assert!(list(&f, "").await.is_empty());
    assert!(moto().emails_to(&owner).await.is_empty());
}
