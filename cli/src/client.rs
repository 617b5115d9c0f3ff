//! A client of the probe API for the monitoring team's command line: it speaks the same HTTP
//! as any other client, so it works against `make dev` and against the deployed API alike.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API answered with an error; `detail` is its message.
    #[error("{detail} (HTTP {status})")]
    Api { status: u16, detail: String },
    #[error("cannot reach the API at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the API at {url} answered something that is not JSON: {reason}")]
    NotJson { url: String, reason: String },
}

pub struct ProbeClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl ProbeClient {
    pub fn new(base_url: &str, api_key: &str) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_string(),
            key: api_key.to_string(),
            // A hung stack or proxy ends the command with an error instead of waiting forever.
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Value, ClientError> {
        let resp = req
            .header("x-api-key", &self.key)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(|e| ClientError::NotJson {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if status >= 400 {
            let detail = body["detail"]
                .as_str()
                .or_else(|| body["message"].as_str())
                .unwrap_or("no detail given")
                .to_string();
            return Err(ClientError::Api { status, detail });
        }
        Ok(body)
    }

    pub async fn list(&self, status: Option<&str>) -> Result<Value, ClientError> {
        let url = format!("{}/api/v2/probes/", self.base);
        let mut req = self.http.get(&url);
        if let Some(s) = status {
            req = req.query(&[("status", s)]);
        }
        self.send(req, &url).await
    }

    pub async fn show(&self, id: &str) -> Result<Value, ClientError> {
        let url = format!("{}/api/v2/probes/{}", self.base, encode(id));
        self.send(self.http.get(&url), &url).await
    }

    /// `body` holds `status` and the fields that status needs.
    pub async fn set_status(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<u64>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}/api/v2/probes/{}/status", self.base, encode(id));
        let mut req = self.http.put(&url).json(body);
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        self.send(req, &url).await
    }
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => crate::terminal::printable(s),
        other => crate::terminal::printable(&other.to_string()),
    }
}

use crate::terminal::table;

/// The list as a table: id, name, status, created, last update.
pub fn render_list(items: &Value) -> String {
    let rows = items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    ["id", "name", "status", "created", "last_update"]
                        .iter()
                        .map(|k| text(&i[*k]))
                        .collect()
                })
                .collect::<Vec<Vec<String>>>()
        })
        .unwrap_or_default();
    table(&["id", "name", "status", "created", "last update"], rows)
}

/// One candidate: its fields, then its history and emails as tables.
pub fn render_details(c: &Value) -> String {
    let fields = [
        "id",
        "name",
        "status",
        "version",
        "description",
        "docurl",
        "command",
        "contact",
        "rpm",
        "yum_baseurl",
        "script",
        "service_type",
        "devel_url",
        "production_url",
        "rejection_reason",
        "submitted_by",
        "created",
        "last_update",
        "status_changed_at",
    ];
    let mut out = table(
        &["field", "value"],
        fields.iter().map(|f| vec![f.to_string(), text(&c[*f])]),
    );
    let history: Vec<Vec<String>> = c["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| {
                    let forced = if e["forced"] == Value::Bool(true) {
                        "yes"
                    } else {
                        ""
                    };
                    vec![
                        text(&e["at"]),
                        text(&e["from"]),
                        text(&e["to"]),
                        text(&e["by"]),
                        forced.to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    out.push_str("\n\nHistory\n");
    out.push_str(&table(&["when", "from", "to", "by", "forced"], history));
    let emails: Vec<Vec<String>> = c["emails"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| {
                    vec![
                        text(&e["status"]),
                        text(&e["state"]),
                        text(&e["attempts"]),
                        text(&e["sent_at"]),
                        text(&e["last_error"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    out.push_str("\n\nEmails\n");
    out.push_str(&table(
        &["status", "state", "attempts", "sent", "last error"],
        emails,
    ));
    if let Some(w) = c["warning"].as_str() {
        out.push_str(&format!("\n\nwarning: {w}"));
    }
    out
}
