//! The EOSC Accounting Service's metric endpoint and the OIDC token endpoint (EOSC AAI), over
//! one HTTPS client. Neither error text carries a URL's query or a token.

use crate::accounting::config::AccountingConfig;
use crate::accounting::ports::{AccountingService, Grant, Posted, TokenGrant};
use crate::adapters::timing;
use crate::base::env::Secret;
use crate::base::error::{Dependency, Error, Result};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};

/// The scopes the accounting service's tokens are asked with.
pub const SCOPE: &str = "openid email profile voperson_id eduperson_entitlement";

/// The HTTP client both endpoints use: each request gets at most `timeout`.
pub fn client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(timeout).build()
}

/// `POST {base}/accounting-system/installations/{id}/metrics`.
pub struct Eosc {
    pub http: reqwest::Client,
}

impl AccountingService for Eosc {
    fn post<'a>(
        &'a self,
        url: &'a str,
        bearer: &'a Secret,
        body: &'a Value,
    ) -> BoxFuture<'a, Posted> {
        Box::pin(async move {
            let request = self.http.post(url).bearer_auth(bearer.expose()).json(body);
            let sent = timing::send("EOSC Accounting Service", "metric", request).await;
            match sent {
                Ok(resp) => Posted {
                    status: resp.status().as_u16(),
                    answer: resp.json::<Value>().await.unwrap_or(Value::Null),
                },
                Err(e) => Posted {
                    status: 0,
                    answer: json!({"message": e.without_url().to_string()}),
                },
            }
        })
    }
}

/// The refresh-token grant, authenticated with the client's id and secret.
pub struct Oidc {
    pub http: reqwest::Client,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
}

impl Oidc {
    pub fn new(http: reqwest::Client, config: &AccountingConfig) -> Self {
        Self {
            http,
            token_url: config.token_url.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

impl TokenGrant for Oidc {
    fn grant<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<Grant>> {
        Box::pin(async move {
            let request = self
                .http
                .post(&self.token_url)
                .basic_auth(&self.client_id, Some(self.client_secret.expose()))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("scope", SCOPE),
                    ("refresh_token", refresh_token.expose()),
                ]);
            let resp = timing::send("OIDC token endpoint", "refresh", request)
                .await
                .map_err(|e| {
                    Error::unavailable(
                        Dependency::TokenEndpoint,
                        format!("{}: {}", self.token_url, e.without_url()),
                    )
                })?;
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            if !status.is_success() {
                // OIDC errors are `{"error": "...", "error_description": "..."}`; never echo a token.
                let reason = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "no error code".into());
                return Err(Error::bad_gateway(
                    Dependency::TokenEndpoint,
                    format!("HTTP {status}: {reason}"),
                ));
            }
            let granted: Granted = serde_json::from_str(&body).map_err(|e| {
                Error::bad_gateway(
                    Dependency::TokenEndpoint,
                    format!("answer not understood: {e}"),
                )
            })?;
            Ok(Grant {
                access_token: Secret::new(granted.access_token),
                expires_in: granted.expires_in,
                refresh_token: granted.refresh_token.map(Secret::new),
            })
        })
    }
}
