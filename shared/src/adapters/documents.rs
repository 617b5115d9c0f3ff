//! The documents declared collectors read: one GET each, certificates verified, the body read
//! as it arrives and refused past its cap, the request's timeout enforced (connect and read
//! alike). A header's secret is read from SSM once per process. Messages name the URL without
//! its query (which may carry a token) and never echo the answer beyond its first line.

use super::aws::ssm::ParameterCache;
use super::timing;
use crate::collectors::ports::{DocumentRequest, Documents, HeaderValue};
use futures::future::BoxFuture;

pub struct HttpDocuments {
    /// Built at the first fetch: a function whose collector reads no document (a built-in, a
    /// PromQL one) does not pay for loading the certificate roots at cold start.
    http: std::sync::OnceLock<reqwest::Client>,
    secrets: ParameterCache,
}

impl HttpDocuments {
    pub fn new(ssm: aws_sdk_ssm::Client) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            secrets: ParameterCache::new(ssm),
        }
    }

    fn client(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("telltale-collector/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
    }
}

/// The URL as messages show it: no query, no user information.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "the URL".to_string(),
    }
}

fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

impl HttpDocuments {
    async fn fetch(&self, request: &DocumentRequest) -> Result<Vec<u8>, String> {
        let at = shown(&request.url);
        let mut req = self.client().get(&request.url).timeout(request.timeout);
        for (name, value) in &request.headers {
            let value = match value {
                HeaderValue::Literal(v) => v.clone().into_bytes(),
                HeaderValue::Secret(p) => self.secrets.get(p, "the header's parameter").await?,
            };
            req = req.header(name.as_str(), value);
        }
        let timeout = request.timeout.as_secs_f64();
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                format!("GET {at}: no answer within {timeout} s")
            } else if e.is_connect() {
                format!("GET {at}: could not connect ({})", root_cause(&e))
            } else {
                format!("GET {at}: {}", root_cause(&e))
            }
        };
        let mut resp = timing::send("document", "GET", req).await.map_err(failed)?;
        let status = resp.status();
        let expected = resp.content_length().unwrap_or(0) as usize;
        let mut body = Vec::with_capacity(expected.min(request.max_bytes));
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > request.max_bytes {
                return Err(format!(
                    "GET {at}: the answer is larger than {} MB",
                    request.max_bytes / (1024 * 1024)
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(format!(
                "GET {at}: HTTP {}: {}",
                status.as_u16(),
                first_line(&body)
            ));
        }
        Ok(body)
    }
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(s) = source.source() {
        source = s;
    }
    source.to_string()
}

impl Documents for HttpDocuments {
    fn get<'a>(&'a self, request: &'a DocumentRequest) -> BoxFuture<'a, Result<Vec<u8>, String>> {
        Box::pin(self.fetch(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_query_or_credentials() {
        assert_eq!(
            shown("https://u:p@example.org/a.json?token=s3cret"),
            "https://example.org/a.json"
        );
    }
}
