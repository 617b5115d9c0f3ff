//! The Monasca sink: `POST <monasca>/v2.0/metrics` with the seed's metric
//! (`monascamonitor.heartbeat{hostname=<id>}`), authenticated with a Keystone v3 token from a
//! password grant. The token is kept until a minute before it expires (or until Monasca says
//! 401), so a warm container authenticates once per token, not once per beat.
//!
//! Configuration uses OpenStack's own variables (the seed sourced an openrc): `OS_AUTH_URL`,
//! `OS_USERNAME`, `OS_PASSWORD` (or `OS_PASSWORD_PARAMETER`, an SSM SecureString),
//! `OS_PROJECT_NAME`, `OS_USER_DOMAIN_NAME`, `OS_PROJECT_DOMAIN_NAME` (both `Default` by
//! default); `MONASCA_URL` overrides the `monitoring` endpoint of the token's catalog.

use crate::adapters::timing;
use crate::base::env::{ConfigError, Env, Secret, SecretRef};
use crate::heartbeat::ports::{Beat, BeatSink};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::sync::Mutex;

pub const METRIC: &str = "monascamonitor.heartbeat";

/// Renew a cached token this long before it expires.
const MARGIN_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct MonascaConfig {
    /// Keystone's base URL, without `/v3`.
    pub auth_url: String,
    pub username: String,
    pub password: SecretRef,
    pub user_domain: String,
    pub project: String,
    pub project_domain: String,
    pub monasca_url: Option<String>,
}

impl MonascaConfig {
    /// `None` when `OS_AUTH_URL` is not set.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let Some(auth_url) = env.optional("OS_AUTH_URL") else {
            return Ok(None);
        };
        let url_ok =
            |u: &str| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !url_ok(auth_url.trim()) {
            return Err(ConfigError::Invalid {
                name: "OS_AUTH_URL",
                value: auth_url,
                reason: "use http(s)://keystone:5000[/v3]".into(),
            });
        }
        let monasca_url = env.optional("MONASCA_URL");
        if let Some(m) = &monasca_url {
            if !url_ok(m.trim()) {
                return Err(ConfigError::Invalid {
                    name: "MONASCA_URL",
                    value: m.clone(),
                    reason: "use http(s)://monasca:8070".into(),
                });
            }
        }
        let base = auth_url.trim().trim_end_matches('/');
        Ok(Some(Self {
            auth_url: base.strip_suffix("/v3").unwrap_or(base).to_string(),
            username: env.required("OS_USERNAME")?,
            password: env.secret("OS_PASSWORD", "OS_PASSWORD_PARAMETER").ok_or(
                ConfigError::Missing {
                    name: "OS_PASSWORD or OS_PASSWORD_PARAMETER",
                },
            )?,
            user_domain: env.or("OS_USER_DOMAIN_NAME", "Default"),
            project: env.required("OS_PROJECT_NAME")?,
            project_domain: env.or("OS_PROJECT_DOMAIN_NAME", "Default"),
            monasca_url: monasca_url.map(|m| m.trim().trim_end_matches('/').to_string()),
        }))
    }
}

struct Token {
    value: Secret,
    expires_at: i64,
    endpoint: String,
}

pub struct Monasca {
    config: MonascaConfig,
    password: Secret,
    http: reqwest::Client,
    token: Mutex<Option<Token>>,
}

/// The public `monitoring` endpoint of a Keystone catalog.
fn catalog_endpoint(body: &Value) -> Option<String> {
    body["token"]["catalog"]
        .as_array()?
        .iter()
        .find(|s| s["type"] == "monitoring")?["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["interface"] == "public")?["url"]
        .as_str()
        .map(|u| u.trim_end_matches('/').to_string())
}

impl Monasca {
    pub async fn connect(
        config: MonascaConfig,
        http: reqwest::Client,
        ssm: &aws_sdk_ssm::Client,
    ) -> Result<Self, ConfigError> {
        let password = crate::adapters::aws::ssm::resolve(config.password.clone(), ssm).await?;
        Ok(Self {
            config,
            password,
            http,
            token: Mutex::new(None),
        })
    }

    /// A valid token and the Monasca endpoint, from the cache or a new password grant.
    async fn token(&self, cached: &mut Option<Token>) -> Result<(Secret, String), String> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(t) = cached
            .as_ref()
            .filter(|t| t.expires_at - now > MARGIN_SECONDS)
        {
            return Ok((t.value.clone(), t.endpoint.clone()));
        }
        let c = &self.config;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username, "domain": {"name": c.user_domain}, "password": self.password.expose()}}},
            "scope": {"project": {"name": c.project, "domain": {"name": c.project_domain}}}}});
        let request = self
            .http
            .post(format!("{}/v3/auth/tokens", c.auth_url))
            .json(&body);
        let resp = timing::send("Keystone", "token", request)
            .await
            .map_err(|e| format!("Keystone not reachable: {}", e.without_url()))?;
        let status = resp.status().as_u16();
        let subject = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        let (201, Some(subject)) = (status, subject) else {
            let reason = answer["error"]["message"].as_str().unwrap_or("no message");
            return Err(format!(
                "Keystone refused the password grant (HTTP {status}): {reason}"
            ));
        };
        let expires_at = answer["token"]["expires_at"]
            .as_str()
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map_or(now + 3600, OffsetDateTime::unix_timestamp);
        let endpoint = c
            .monasca_url
            .clone()
            .or_else(|| catalog_endpoint(&answer))
            .ok_or("no MONASCA_URL and no monitoring endpoint in Keystone's catalog")?;
        let token = Token {
            value: Secret::new(subject),
            expires_at,
            endpoint,
        };
        let out = (token.value.clone(), token.endpoint.clone());
        *cached = Some(token);
        Ok(out)
    }

    /// Posts one heartbeat; a 401 drops the cached token and retries once with a new one.
    pub async fn post(&self, hostname: &str, value: i64, timestamp_ms: i64) -> Result<(), String> {
        let body = json!([{"name": METRIC, "dimensions": {"hostname": hostname},
                           "timestamp": timestamp_ms, "value": value, "value_meta": {}}]);
        let mut cached = self.token.lock().await;
        for attempt in 0..2 {
            let (token, endpoint) = self.token(&mut cached).await?;
            let request = self
                .http
                .post(format!("{endpoint}/v2.0/metrics"))
                .header("x-auth-token", token.expose())
                .json(&body);
            let resp = timing::send("Monasca", "metrics", request)
                .await
                .map_err(|e| format!("Monasca not reachable: {}", e.without_url()))?;
            let status = resp.status().as_u16();
            match status {
                200..=299 => return Ok(()),
                401 if attempt == 0 => *cached = None,
                _ => {
                    let text: String = resp
                        .text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect();
                    return Err(format!("Monasca answered HTTP {status}: {}", text.trim()));
                }
            }
        }
        Err("Monasca refused a fresh token (HTTP 401)".into())
    }
}

impl BeatSink for Monasca {
    fn name(&self) -> &'static str {
        "monasca"
    }

    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, Result<(), String>> {
        let ms = (beat.at.unix_timestamp_nanos() / 1_000_000) as i64;
        Box::pin(self.post(beat.source, beat.value, ms))
    }
}
