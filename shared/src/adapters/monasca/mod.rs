//! The Monasca sink: `POST <monasca>/v2.0/metrics` with the seed's metric
//! (`monascamonitor.heartbeat{hostname=<id>}`), authenticated with a Keystone v3 token from a
//! password grant. The token is kept until a minute before it expires (or until Monasca says
//! 401), so a warm container authenticates once per token, not once per beat.
//!
//! Configuration uses OpenStack's own variables (the seed sourced an openrc): `OS_AUTH_URL`,
//! `OS_USERNAME`, `OS_PASSWORD` (or `OS_PASSWORD_PARAMETER`, an SSM SecureString),
//! `OS_PROJECT_NAME`, `OS_USER_DOMAIN_NAME`, `OS_PROJECT_DOMAIN_NAME` (both `Default` by
//! default), `OS_REGION_NAME` and `OS_INTERFACE` (`public` by default) to choose the
//! `monitoring` endpoint of the token's catalog; `MONASCA_URL` overrides it. Either may carry
//! the API version (`…/v2.0`) or not.
//!
//! The same session serves `telltale heartbeat monasca setup` (`objects.rs`).

pub mod keystone;
pub mod objects;

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
    /// `OS_REGION_NAME`: the catalog's region to take the endpoint from.
    pub region: Option<String>,
    /// `OS_INTERFACE`: `public` (default), `internal` or `admin`.
    pub interface: &'static str,
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
        let interface = match env.optional("OS_INTERFACE") {
            None => "public",
            Some(text) => keystone::interface(&text).ok_or(ConfigError::Invalid {
                name: "OS_INTERFACE",
                value: text.clone(),
                reason: "public, internal or admin".into(),
            })?,
        };
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
            monasca_url: monasca_url.map(|m| keystone::api_base(&m)),
            region: env.optional("OS_REGION_NAME").map(|r| r.trim().to_string()),
            interface,
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
        let endpoint = match &c.monasca_url {
            Some(url) => url.clone(),
            None => keystone::catalog_endpoint(&answer, c.region.as_deref(), c.interface)
                .map_err(|e| format!("no Monasca endpoint: {e} (or set MONASCA_URL)"))?,
        };
        let token = Token {
            value: Secret::new(subject),
            expires_at,
            endpoint,
        };
        let out = (token.value.clone(), token.endpoint.clone());
        *cached = Some(token);
        Ok(out)
    }

    /// Posts one heartbeat.
    pub async fn post(&self, hostname: &str, value: i64, timestamp_ms: i64) -> Result<(), String> {
        let body = json!([{"name": METRIC, "dimensions": {"hostname": hostname},
                           "timestamp": timestamp_ms, "value": value, "value_meta": {}}]);
        let (status, text) = self
            .call(reqwest::Method::POST, "/metrics", Some(&body), "metrics")
            .await?;
        match status {
            200..=299 => Ok(()),
            _ => Err(format!("Monasca answered HTTP {status}: {}", cut(&text))),
        }
    }

    /// One call to Monasca's API (`path` after `/v2.0`), with the session's token; a 401
    /// drops the cached token and tries once more with a new one. The status and the body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        operation: &'static str,
    ) -> Result<(u16, String), String> {
        let mut cached = self.token.lock().await;
        for attempt in 0..2 {
            let (token, base) = self.token(&mut cached).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{base}/v2.0{path}"))
                .header("x-auth-token", token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            let resp = timing::send("Monasca", operation, request)
                .await
                .map_err(|e| format!("Monasca not reachable: {}", e.without_url()))?;
            let status = resp.status().as_u16();
            if status == 401 && attempt == 0 {
                *cached = None;
                continue;
            }
            return Ok((status, resp.text().await.unwrap_or_default()));
        }
        Err("Monasca refused a fresh token (HTTP 401)".into())
    }
}

/// The start of an answer, for a message.
fn cut(text: &str) -> String {
    text.trim().chars().take(300).collect()
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
