//! Whole route stacks on the in-memory ports, and requests and answers as a caller sees them.

use super::heartbeat::MemoryHeartbeats;
use super::probes::{MemoryKeys, MemoryMailer, MemoryProbes};
use serde_json::{json, Value};
use telltale::auth::Role;
use telltale::probes::email::Email;

/// The probe routes on in-memory stores, with one key of each role.
pub struct ProbeWorld {
    pub api: telltale::http::probes::ProbeApi<MemoryProbes, MemoryMailer, MemoryKeys>,
}

/// The keys every world knows: `SUBMITTER` (name `tenant-a`) and `MONITORING` (name `team`).
pub const SUBMITTER: &str = "tt_submitter_key";
pub const MONITORING: &str = "tt_monitoring_key";
pub const HEARTBEAT: &str = "tt_heartbeat_key";

fn keys() -> MemoryKeys {
    let keys = MemoryKeys::default();
    keys.add(SUBMITTER, "tenant-a", Role::Submitter);
    keys.add(MONITORING, "team", Role::Monitoring);
    keys.add(HEARTBEAT, "alarms", Role::Heartbeat);
    keys
}

/// An answer as a caller sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: lambda_http::http::HeaderMap,
}

impl Answer {
    fn of(resp: lambda_http::Response<lambda_http::Body>) -> Answer {
        let body = match resp.body() {
            lambda_http::Body::Empty => Value::Null,
            b => serde_json::from_slice(b.as_ref())
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b.as_ref()).into())),
        };
        Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    /// The `detail` (POEM) or `message` (Spring) of an error answer.
    pub fn detail(&self) -> &str {
        self.body["detail"]
            .as_str()
            .or_else(|| self.body["message"].as_str())
            .unwrap_or("")
    }
}

/// A request with these headers and body.
pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> lambda_http::Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    for (h, v) in headers {
        req = req.header(*h, *v);
    }
    let body = body.map_or(lambda_http::Body::Empty, |b| {
        lambda_http::Body::from(b.to_string())
    });
    req.body(body).expect("a request")
}

impl Default for ProbeWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeWorld {
    pub fn new() -> Self {
        Self {
            api: telltale::http::probes::ProbeApi {
                store: MemoryProbes::default(),
                mailer: MemoryMailer::default(),
                keys: keys(),
                email: telltale::probes::email::EmailSettings {
                    from: crate::probes::FROM.into(),
                    team: vec![crate::probes::TEAM.into()],
                    providers_portal_url: "https://providers.example.org".into(),
                    team_page_url: Some("https://argo.example.org/prod/team/".into()),
                },
                min_testing: time::Duration::days(3),
                cursors: crate::probes::cursor_key(),
            },
        }
    }

    /// Sends the request to the route the path belongs to, as API Gateway would.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(k) = key {
            all.push(("x-api-key", k));
        }
        let req = request(method, uri, &all, body);
        let path = uri.split('?').next().unwrap_or(uri).trim_end_matches('/');
        let resp = if path == "/api/v2/probes" {
            telltale::http::probes::submit_routes(&self.api, &req).await
        } else {
            telltale::http::probes::status_routes(&self.api, &req).await
        };
        Answer::of(resp)
    }

    pub async fn submit(&self, body: &Value) -> Answer {
        self.call("POST", "/api/v2/probes/", Some(SUBMITTER), &[], Some(body))
            .await
    }

    /// Submits a valid candidate; its id.
    pub async fn submitted(&self, contact: &str) -> String {
        let a = self.submit(&valid_submission(contact)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.body["id"].as_str().expect("an id").to_string()
    }

    pub async fn get(&self, id: &str) -> Answer {
        self.call(
            "GET",
            &format!("/api/v2/probes/{id}"),
            Some(MONITORING),
            &[],
            None,
        )
        .await
    }

    pub async fn put(&self, id: &str, body: &Value) -> Answer {
        self.call(
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            Some(MONITORING),
            &[],
            Some(body),
        )
        .await
    }

    /// Moves the candidate along `steps` (each must succeed).
    pub async fn walk(&self, id: &str, steps: &[&str]) {
        for step in steps {
            let a = self.put(id, &change_to(step)).await;
            assert_eq!(a.status, 200, "{step}: {:?}", a.body);
        }
    }

    /// Sends what is pending; the emails the mail service took.
    pub async fn deliver(&self) -> Vec<Email> {
        telltale::probes::outbox::deliver_pending(&self.api.store, &self.api.mailer)
            .await
            .expect("delivery");
        self.api.mailer.sent()
    }
}

/// A submission POEM accepts.
pub fn valid_submission(contact: &str) -> Value {
    json!({
        "name": "argo-probe-test",
        "description": "A probe that checks a service's status.",
        "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-test/blob/master/README.md",
        "script": "https://example.org/check.py",
        "command": "check.py -H <host> -t 30",
        "contact": contact
    })
}

/// A valid body for moving to `status`.
pub fn change_to(status: &str) -> Value {
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

/// The heartbeat routes on in-memory stores, shaped like `heartbeat::HeartbeatFixture`: a
/// `heartbeat` key and a `submitter` key.
pub struct HeartbeatWorld {
    pub table: String,
    /// Role `heartbeat`.
    pub key: String,
    /// Role `submitter`: valid, but not for these routes.
    pub submitter_key: String,
    store: MemoryHeartbeats,
    keys: MemoryKeys,
}

impl HeartbeatWorld {
    pub async fn new() -> Self {
        let keys = MemoryKeys::default();
        let (key, submitter_key) = (
            telltale::auth::generate_key(),
            telltale::auth::generate_key(),
        );
        keys.add(&key, "alertmanager", Role::Heartbeat);
        keys.add(&submitter_key, "tenant", Role::Submitter);
        Self {
            table: "heartbeats".into(),
            key,
            submitter_key,
            store: MemoryHeartbeats::default(),
            keys,
        }
    }

    pub fn config(&self) -> telltale::heartbeat::config::HeartbeatConfig {
        telltale::heartbeat::config::HeartbeatConfig {
            table: self.table.clone(),
            webhook_check: "heartbeat".into(),
            default_period: 300,
            default_grace: 60,
            ping_body_limit: 10_000,
        }
    }

    pub fn store(&self) -> MemoryHeartbeats {
        self.store.clone()
    }

    pub fn api(&self) -> telltale::http::heartbeat::HeartbeatApi<MemoryHeartbeats, MemoryKeys> {
        telltale::http::heartbeat::HeartbeatApi {
            store: self.store.clone(),
            keys: self.keys.clone(),
            config: self.config(),
        }
    }
}
