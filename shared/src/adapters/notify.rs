//! The heartbeat notices' HTTP channels: a team's webhook receiver (signed with HMAC-SHA256
//! under a secret read from SSM) and Alertmanager's `POST /api/v2/alerts`. Each call has its
//! own timeout, so a receiver that hangs costs its own notice's time and nothing else.

use super::aws::ssm::ParameterCache;
use crate::heartbeat::notice::signature;
use crate::heartbeat::ports::{AlertPoster, WebhookPoster};
use std::time::Duration;

/// One call to a channel, at most.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The receiver's answer as the outbox records it: a 2xx is accepted, anything else refused.
async fn answered(result: reqwest::Result<reqwest::Response>, who: &str) -> Result<String, String> {
    match result {
        Ok(resp) if resp.status().is_success() => {
            Ok(format!("{who}: HTTP {}", resp.status().as_u16()))
        }
        Ok(resp) => Err(format!("{who} answered HTTP {}", resp.status().as_u16())),
        Err(e) if e.is_timeout() => Err(format!(
            "{who} did not answer within {} s",
            CALL_TIMEOUT.as_secs()
        )),
        Err(e) if e.is_connect() => Err(format!("{who} could not be reached")),
        Err(e) => Err(format!("{who}: {}", e.without_url())),
    }
}

pub struct Webhooks {
    pub http: reqwest::Client,
    /// Signing secrets, read once per process.
    secrets: ParameterCache,
}

impl Webhooks {
    pub fn new(http: reqwest::Client, ssm: aws_sdk_ssm::Client) -> Self {
        Self {
            http,
            secrets: ParameterCache::new(ssm),
        }
    }

    async fn secret(&self, name: &str) -> Result<Vec<u8>, String> {
        self.secrets.get(name, "the webhook's secret").await
    }
}

impl WebhookPoster for Webhooks {
    async fn post(
        &self,
        url: &str,
        body: &[u8],
        notice_id: &str,
        secret_parameter: Option<&str>,
    ) -> Result<String, String> {
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Telltale-Notice-Id", notice_id)
            .body(body.to_vec());
        if let Some(name) = secret_parameter {
            let secret = self.secret(name).await?;
            req = req.header("X-Telltale-Signature-256", signature(&secret, body));
        }
        answered(req.send().await, "the webhook").await
    }
}

/// Alertmanager at `base` (`ALERTMANAGER_URL`); none configured refuses every alert, so a
/// check set with `--alertmanager` shows a failing channel instead of silence.
pub struct Alertmanager {
    pub http: reqwest::Client,
    pub base: Option<String>,
}

impl AlertPoster for Alertmanager {
    async fn post_alerts(&self, alerts: &serde_json::Value) -> Result<String, String> {
        let Some(base) = &self.base else {
            return Err("no Alertmanager is configured (ALERTMANAGER_URL)".into());
        };
        let url = format!("{}/api/v2/alerts", base.trim_end_matches('/'));
        answered(
            self.http.post(url).json(alerts).send().await,
            "Alertmanager",
        )
        .await
    }
}
