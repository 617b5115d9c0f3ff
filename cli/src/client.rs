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
        let resp = self.request(req, url).await?;
        self.body(resp, url).await
    }

    async fn request(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        req.header("x-api-key", &self.key)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: url.to_string(),
                reason: e.to_string(),
            })
    }

    async fn body(&self, resp: reqwest::Response, url: &str) -> Result<Value, ClientError> {
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

    /// Every candidate (of `status`, matching `search`), read `page` at a time through the
    /// list route's `Link` header (one answer stays small at any list size); `read` hears how
    /// many have arrived after each page.
    pub async fn list(
        &self,
        status: Option<&str>,
        search: Option<&str>,
        page: u16,
        read: impl Fn(usize),
    ) -> Result<Value, ClientError> {
        let url = format!("{}/api/v2/probes/", self.base);
        let mut query: Vec<(&str, String)> = vec![("limit", page.to_string())];
        if let Some(s) = status {
            query.push(("status", s.to_string()));
        }
        if let Some(q) = search {
            query.push(("q", q.to_string()));
        }
        let mut all = Vec::new();
        loop {
            let resp = self
                .request(self.http.get(&url).query(&query), &url)
                .await?;
            let next = next_cursor(resp.headers());
            let page = self.body(resp, &url).await?;
            all.extend(page.as_array().cloned().unwrap_or_default());
            read(all.len());
            match next {
                Some(cursor) => {
                    query.retain(|(k, _)| *k != "cursor");
                    query.push(("cursor", cursor));
                }
                None => return Ok(Value::Array(all)),
            }
        }
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

/// The `cursor` of the `Link: <?limit=..&cursor=..>; rel="next"` header, if there is a next page.
fn next_cursor(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let target = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))?
        .split(['<', '>'])
        .nth(1)?;
    let query = target.split_once('?').map_or(target, |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
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

/// The list as a table: id, name, contact, status, created, last update.
pub fn render_list(items: &Value) -> String {
    let rows = items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    ["id", "name", "contact", "status", "created", "last_update"]
                        .iter()
                        .map(|k| text(&i[*k]))
                        .collect()
                })
                .collect::<Vec<Vec<String>>>()
        })
        .unwrap_or_default();
    table(
        &["id", "name", "contact", "status", "created", "last update"],
        rows,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(next_cursor(&h), None);
        h.insert(
            reqwest::header::LINK,
            r#"<?limit=2&status=testing&cursor=eyJ2Ijox%2BfQ>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(next_cursor(&h).as_deref(), Some("eyJ2Ijox+fQ"));
        h.insert(
            reqwest::header::LINK,
            r#"<?limit=2>; rel="prev""#.parse().unwrap(),
        );
        assert_eq!(next_cursor(&h), None);
    }
}
