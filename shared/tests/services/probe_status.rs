//! `GET /api/v2/probes/{id}` and `PUT /api/v2/probes/{id}/status` against moto's DynamoDB and
//! SES, through the route function the Lambda runs.

use lambda_http::{Body, Request};
use serde_json::{json, Value};
use telltale::adapters::aws::{keys::ApiKeys, probes::ProbeTable, ses::Ses};
use telltale::auth::Role;
use telltale::http::probes::{status_routes, submit_routes, ProbeApi};
use telltale::probes::outbox::deliver_pending;
use telltale_cli::tables;
use telltale_testkit::probes::{contact, ProbeFixture, FROM, TEAM};
use telltale_testkit::{moto::moto, unique};

type Api = ProbeApi<ProbeTable, Ses, ApiKeys>;

struct Answer {
    status: u16,
    body: Value,
    etag: Option<String>,
}

async fn call(
    api: &Api,
    method: &str,
    uri: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("x-api-key", key);
    for (h, v) in headers {
        req = req.header(*h, *v);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or(Body::Empty);
    let req: Request = req.body(body).unwrap();
    let resp = if uri.starts_with("/api/v2/probes/") && uri.len() > "/api/v2/probes/".len() {
        status_routes(api, &req).await
    } else {
        submit_routes(api, &req).await
    };
    Answer {
        status: resp.status().as_u16(),
        etag: resp
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string()),
        body: serde_json::from_slice(resp.body().as_ref()).expect("every answer is JSON"),
    }
}

struct Team {
    f: ProbeFixture,
    api: Api,
}

impl Team {
    async fn new(min_testing_days: i64) -> Team {
        Team::sending_from(FROM, min_testing_days).await
    }

    async fn sending_from(from: &str, min_testing_days: i64) -> Team {
        let f = ProbeFixture::new(Role::Monitoring).await;
        let mut api = f.api(from);
        api.min_testing = time::Duration::days(min_testing_days);
        Team { f, api }
    }

    /// A new candidate from `owner`; returns its id.
    async fn submit(&self, owner: &str) -> String {
        let body = json!({
            "name": "lifecycle-probe", "docurl": "https://example.org/doc",
            "script": "https://example.org/check.py", "command": "check.py -H <host> -t 10",
            "contact": owner
        });
        let a = call(
            &self.api,
            "POST",
            "/api/v2/probes/",
            &self.f.key,
            &[],
            Some(body),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    async fn get(&self, id: &str) -> Answer {
        call(
            &self.api,
            "GET",
            &format!("/api/v2/probes/{id}"),
            &self.f.key,
            &[],
            None,
        )
        .await
    }

    async fn put(&self, id: &str, body: Value) -> Answer {
        call(
            &self.api,
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            &self.f.key,
            &[],
            Some(body),
        )
        .await
    }

    async fn put_if_match(&self, id: &str, version: &str, body: Value) -> Answer {
        call(
            &self.api,
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            &self.f.key,
            &[("if-match", version)],
            Some(body),
        )
        .await
    }
}

/// A valid body for moving to `status`.
fn to(status: &str) -> Value {
    match status {
        "processing" => json!({"status": "processing", "service_type": "eu.argo.servicestatus"}),
        "testing" => {
            json!({"status": "testing", "devel_url": "https://devel.argo.example.org/probe"})
        }
        "deployed" => {
            json!({"status": "deployed", "production_url": "https://argo.example.org/probe", "force": true})
        }
        "rejected" => {
            json!({"status": "rejected", "rejection_reason": "It does not follow the guidelines"})
        }
        other => json!({"status": other}),
    }
}

#[tokio::test]
async fn concurrent_changes_on_one_version_never_both_win() {
    let t = Team::new(3).await;
    // With If-Match: both name version 1.
    let id = t.submit(&contact()).await;
    let (a, b) = tokio::join!(
        t.put_if_match(&id, "\"1\"", to("processing")),
        t.put_if_match(&id, "\"1\"", to("rejected")),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
    let details = t.get(&id).await;
    assert_eq!(
        details.body["history"].as_array().unwrap().len(),
        2,
        "submitted + exactly one change"
    );
    assert_eq!(details.body["version"], 2);
    assert_eq!(details.etag.as_deref(), Some("\"2\""));

    // A stale version is refused before anything is written.
    let a = t.put_if_match(&id, "\"1\"", to("testing")).await;
    assert_eq!(a.status, 412);
    let a = t
        .put(
            &id,
            json!({"status": "rejected", "rejection_reason": "x", "expected_version": 1}),
        )
        .await;
    assert_eq!(a.status, 412);

    // Without any version from the clients, the conditional write still lets only one win:
    // overlapping, the loser gets 412; one after the other, 409 (processing -> processing).
    for _ in 0..3 {
        let id = t.submit(&contact()).await;
        let (a, b) = tokio::join!(t.put(&id, to("processing")), t.put(&id, to("processing")));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert!(
            statuses == [200, 409] || statuses == [200, 412],
            "{} / {}",
            a.body,
            b.body
        );
        let history = t.get(&id).await.body["history"].as_array().unwrap().len();
        assert_eq!(history, 2, "one change recorded");
    }
}

#[tokio::test]
async fn one_email_per_status_to_the_stored_contact() {
    let t = Team::new(0).await;
    let owner = contact();
    let id = t.submit(&owner).await;
    // The request body's contact must never be used (POEM's bug).
    let mut body = to("processing");
    body["contact"] = json!("someone-else@example.org");
    assert_eq!(t.put(&id, body).await.status, 200);
    assert_eq!(t.put(&id, to("testing")).await.status, 200);
    assert_eq!(t.put(&id, to("processing")).await.status, 200);
    assert_eq!(t.put(&id, to("testing")).await.status, 200);
    let a = t
        .put(
            &id,
            json!({"status": "deployed", "production_url": "https://argo.example.org/prod"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    let emails = moto().emails_to(&owner).await;
    let subjects: Vec<&str> = emails.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            "[ARGO Monitoring] Probe submitted",
            "[ARGO Monitoring] Probe processing",
            "[ARGO Monitoring] Probe testing",
            "[ARGO Monitoring] Probe deployed"
        ],
        "re-entering a status sends nothing again"
    );
    assert!(emails
        .iter()
        .all(|e| e.bcc == vec![TEAM.to_string()] && e.source == FROM));
    assert_eq!(
        emails[1].body,
        format!("Dear madam/sir,\n\nwe have started setting up the probe 'lifecycle-probe' for testing. Please add a new monitoring extension for your service with service type eu.argo.servicestatus in https://providers.example.org. You will receive more information after the probe has been deployed to devel infrastructure.\n\nProbe candidate id: {id}\nMonitoring team: https://argo.example.org/prod/team/#{id}\n\nBest regards,\nARGO Monitoring team")
    );
    assert!(emails[2]
        .body
        .contains("You can see the results here: https://devel.argo.example.org/probe."));
    assert!(emails[3].body.ends_with(&format!("the probe 'lifecycle-probe' has been deployed to production. You can see the results here: https://argo.example.org/prod\n\nProbe candidate id: {id}\nMonitoring team: https://argo.example.org/prod/team/#{id}\n\nBest regards,\nARGO Monitoring team")));
    assert!(moto()
        .emails_to("someone-else@example.org")
        .await
        .is_empty());

    let details = t.get(&id).await.body;
    let states: Vec<(&str, &str)> = details["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("submitted", "sent"),
            ("processing", "sent"),
            ("testing", "sent"),
            ("deployed", "sent")
        ]
    );

    let owner = contact();
    let id = t.submit(&owner).await;
    t.put(&id, to("rejected")).await;
    let emails = moto().emails_to(&owner).await;
    assert_eq!(emails.len(), 2);
    assert!(emails[1].body.contains(
        "has been rejected for the following reason: It does not follow the guidelines."
    ));
}

#[tokio::test]
async fn a_refused_status_email_keeps_the_change_and_is_retried() {
    let sender = format!("{}@unverified.telltale.test", unique("sender"));
    let t = Team::sending_from(&format!("ARGO Monitoring <{sender}>"), 3).await;
    let owner = contact();
    let id = t.submit(&owner).await;
    let a = t.put(&id, to("processing")).await;
    assert_eq!(a.status, 200, "the change stands: {}", a.body);
    assert_eq!(a.body["status"], "processing");
    let warning = a.body["warning"].as_str().unwrap();
    assert!(
        warning.starts_with("Status was changed, but the email was not sent: "),
        "{warning}"
    );
    assert!(moto().emails_to(&owner).await.is_empty());

    tables::ensure_email_identity(&t.f.ses, &sender)
        .await
        .unwrap();
    let summary = deliver_pending(&t.api.store, &t.api.mailer).await.unwrap();
    assert_eq!(
        (summary.sent, summary.failed.len()),
        (2, 0),
        "submitted + processing"
    );
    assert_eq!(
        deliver_pending(&t.api.store, &t.api.mailer)
            .await
            .unwrap()
            .sent,
        0
    );
    let subjects: Vec<String> = moto()
        .emails_to(&owner)
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(subjects.len(), 2);
    assert!(subjects.contains(&"[ARGO Monitoring] Probe processing".to_string()));
}
