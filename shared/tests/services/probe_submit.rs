//! `POST` and `GET /api/v2/probes/` against moto's DynamoDB and SES, through the same route
//! function the Lambda runs.

use lambda_http::{Body, Request};
use serde_json::{json, Value};
use telltale::adapters::aws::{keys::ApiKeys, probes::ProbeTable, ses::Ses};
use telltale::auth::Role;
use telltale::http::probes::{submit_routes, ProbeApi};
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
        format!("Dear madam/sir,\n\nyour probe 'poem-probe' has been successfully submitted. You will receive further instructions after the probe has been inspected.\n\nProbe candidate id: {id}\nMonitoring team: https://argo.example.org/prod/team/#{id}\n\nBest regards,\nARGO Monitoring team")
    );
    let outbox = f
        .api
        .store
        .get_email(&email_id(&id, Status::Submitted))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outbox.state.as_str(), "sent");
    assert!(f.api.store.pending().await.unwrap().is_empty());
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

/// The email-retry schedule delivered twice at once, then once more: each pending email is
/// claimed (on the table) by one run and sent once, as one delivery sends it.
#[tokio::test]
async fn an_email_retry_delivered_twice_sends_each_email_once() {
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let f = fixture_from(&format!("ARGO Monitoring <{sender}>")).await;
    let owners: Vec<String> = (0..3).map(|_| contact()).collect();
    for (i, owner) in owners.iter().enumerate() {
        let a = post(&f, &rpm_body(&format!("retry-twice-{i}"), owner), None).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    assert_eq!(f.api.store.pending().await.unwrap().len(), 3);
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .unwrap();
    let stack = telltale::jobs::EmailRetry {
        outbox: f.api.store,
        mailer: f.api.mailer,
    };
    let (a, b) = tokio::join!(
        telltale::jobs::email_retry(&stack),
        telltale::jobs::email_retry(&stack)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a["sent"].as_u64().unwrap() + b["sent"].as_u64().unwrap(),
        3,
        "{a} {b}"
    );
    let again = telltale::jobs::email_retry(&stack).await.unwrap();
    assert_eq!(again["sent"], 0, "{again}");
    for owner in &owners {
        assert_eq!(moto().emails_to(owner).await.len(), 1, "{owner}");
    }
    assert!(stack.outbox.pending().await.unwrap().is_empty());
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

    // Still refused: the retry runs report it and keep the email; after the third refusal it
    // waits a minute (the claim's lease in the table holds it back).
    for _ in 2..=3 {
        let summary = deliver_pending(&f.api.store, &f.api.mailer).await.unwrap();
        assert_eq!((summary.sent, summary.failed.len()), (0, 1));
    }
    let summary = deliver_pending(&f.api.store, &f.api.mailer).await.unwrap();
    assert_eq!(
        (summary.skipped, summary.failed.len()),
        (1, 0),
        "{summary:?}"
    );

    // SES recovers (the identity is verified): the next run after the wait sends it, the one
    // after sends nothing.
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    let summary = telltale::probes::outbox::deliver_pending_at(&f.api.store, &f.api.mailer, later)
        .await
        .unwrap();
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
            .state
            .as_str(),
        "sent"
    );
}

/// The list's pages as DynamoDB serves them: one Query per status from the cursor on (the
/// `by-status` index sorted by `name_key`), merged, in the same order as the whole list.
#[tokio::test]
async fn the_list_pages_through_dynamodb_in_list_order() {
    use telltale::probes::listing::{page, PageRequest};
    use telltale::probes::ports::CandidateStore;
    let f = fixture().await;
    let mut ids = Vec::new();
    for i in 0..23 {
        let a = post(
            &f,
            &rpm_body(&format!("Pager-{:02}", (i * 7) % 11), &contact()),
            None,
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }
    // Spread them over two statuses, so a page merges two queries.
    for id in ids.iter().step_by(3) {
        let mut c = f.api.store.get(id).await.unwrap().unwrap();
        let v = c.version;
        c.status = Status::Processing;
        c.version += 1;
        f.api.store.replace(&c, v, None).await.unwrap();
    }
    let whole: Vec<String> = telltale::probes::submit::list(&f.api.store, None)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut paged = Vec::new();
    let mut request = PageRequest {
        limit: Some("5".into()),
        ..PageRequest::default()
    };
    loop {
        let p = page(&f.api.store, &f.api.cursors, &request, true)
            .await
            .unwrap();
        assert!(p.items.len() <= 5);
        assert!(p.items.iter().all(|i| i.contact.is_some()));
        paged.extend(p.items.into_iter().map(|i| i.item.id));
        match p.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    let found = page(
        &f.api.store,
        &f.api.cursors,
        &PageRequest {
            search: Some("PAGER-04".into()),
            status: Some("processing".into()),
            ..PageRequest::default()
        },
        false,
    )
    .await
    .unwrap();
    assert!(!found.items.is_empty());
    assert!(found
        .items
        .iter()
        .all(|i| i.item.name == "Pager-04" && i.item.status == Status::Processing));
}

/// What SES can never deliver to is refused at submission with POEM's message; an
/// internationalised domain is sent as punycode and SES takes it; and an email SES refuses for
/// good (to a contact stored before the rule) is dead at its first attempt, not after 24.
#[tokio::test]
async fn an_address_ses_can_never_take_is_refused_and_an_idn_goes_as_punycode() {
    let f = fixture().await;
    for bad in [
        "\"a@b\"@example.org",
        "\"a,b@x.example\"@example.org",
        "ü@example.org",
    ] {
        let a = post(&f, &rpm_body("unsendable", bad), None).await;
        assert_eq!(
            (a.status, a.body["errors"][0]["message"].as_str()),
            (400, Some("Field 'contact' is not valid email")),
            "{bad}: {}",
            a.body
        );
    }
    let local = unique("idn");
    let a = post(
        &f,
        &rpm_body("idn-owner", &format!("{local}@bücher.example")),
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.body.get("warning").is_none(), "{}", a.body);
    let sent = moto()
        .emails_to(&format!("{local}@xn--bcher-kva.example"))
        .await;
    assert_eq!(sent.len(), 1);

    // A contact stored before the rule: its status email is refused for good and dead at once.
    let p = ProbeFixture::new(Role::Monitoring).await;
    let api = p.api(FROM);
    let mut legacy = telltale_testkit::probes::legacy_candidate(&unique("quoted"), "quoted-owner");
    legacy.contact = "\"q@x\"@example.org".into();
    p.import(legacy.clone()).await;
    let change = telltale::probes::change::parse_change(
        json!({"status": "rejected", "rejection_reason": "duplicate"})
            .as_object()
            .unwrap(),
        None,
    )
    .unwrap();
    let caller = telltale::auth::Caller {
        name: "team".into(),
        role: Role::Monitoring,
        key_hash: "team-hash".into(),
    };
    let details = telltale::probes::status::change_status(
        &api.store,
        &api.mailer,
        &api.email,
        api.min_testing,
        &caller,
        &legacy.id,
        change,
    )
    .await
    .unwrap();
    assert!(
        details
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("refused for good")),
        "{:?}",
        details.warning
    );
    let email = api
        .store
        .get_email(&email_id(&legacy.id, Status::Rejected))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((email.state.as_str(), email.attempts), ("dead", 1));
    let summary = deliver_pending(&api.store, &api.mailer).await.unwrap();
    assert!(summary.failed.is_empty(), "{summary:?}");
}

/// The table's own conditions, on moto: a `replace` from a version that is no longer the
/// stored one is refused (412), and an email claimed by one sender is not claimed by another
/// until its lease lapses.
#[tokio::test]
async fn the_tables_conditions_refuse_a_stale_version_and_a_held_claim() {
    use telltale::probes::ports::CandidateStore;
    // A sender SES does not know: the email stays pending, to be claimed.
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let f = fixture_from(&format!("ARGO Monitoring <{sender}>")).await;
    let a = post(&f, &rpm_body("conditions", &contact()), None).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();

    let read = f.api.store.get(&id).await.unwrap().unwrap();
    let mut next = read.clone();
    next.version = read.version + 1;
    next.status = Status::Processing;
    f.api
        .store
        .replace(&next, read.version, None)
        .await
        .unwrap();
    let mut stale = read.clone();
    stale.version = read.version + 1;
    stale.status = Status::Rejected;
    let refused = f.api.store.replace(&stale, read.version, None).await;
    assert!(
        matches!(refused, Err(telltale::Error::PreconditionFailed(_))),
        "{refused:?}"
    );
    let stored = f.api.store.get(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (Status::Processing, 2));

    let email = email_id(&id, Status::Submitted);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let first = f.api.store.claim(&email, now, 120).await.unwrap();
    assert!(first.is_some(), "a pending email is claimed");
    let second = f.api.store.claim(&email, now + 60, 120).await.unwrap();
    assert!(second.is_none(), "held by the first sender");
    let lapsed = f.api.store.claim(&email, now + 121, 120).await.unwrap();
    assert!(lapsed.is_some(), "taken again once the lease lapsed");
}

/// The probe table on moto keeps the promises the in-memory store is held to.
#[tokio::test]
async fn the_probe_table_keeps_the_promises_the_memory_store_is_held_to() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    telltale_testkit::contracts::probe_store(&f.api(FROM).store, "dynamodb").await;
}
