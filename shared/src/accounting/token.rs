//! The OIDC refresh-token grant and the stored token. The token-refresh function runs it on a
//! schedule; the push runs it on demand when the stored token is missing or about to expire.
//! Tokens and client secrets are `Secret`s: they never reach a log or an error message.

use crate::aws::accounting::{AccountingTable, StoredToken};
use crate::config::{AccountingConfig, Secret};
use crate::error::{Dependency, Error, Result};
use serde::Deserialize;
use time::OffsetDateTime;

pub const SCOPE: &str = "openid email profile voperson_id eduperson_entitlement";

#[derive(Deserialize)]
struct Grant {
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

/// Exchanges the stored (or configured initial) refresh token for a new access token and
/// stores both, with the rotated refresh token when the provider sends one. On any failure the
/// stored token is left as it was.
pub async fn refresh(
    http: &reqwest::Client,
    config: &AccountingConfig,
    table: &AccountingTable,
) -> Result<StoredToken> {
    let current = table.token().await?;
    let refresh_token = current
        .as_ref()
        .map(|t| t.refresh_token.clone())
        .filter(|t| !t.expose().is_empty())
        .or_else(|| config.initial_refresh_token.clone())
        .ok_or_else(|| {
            Error::Internal(
                "no refresh token: set INITIAL_REFRESH_TOKEN or run `telltale accounting set-refresh-token`".into(),
            )
        })?;
    let resp = http
        .post(&config.token_url)
        .basic_auth(&config.client_id, Some(config.client_secret.expose()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("scope", SCOPE),
            ("refresh_token", refresh_token.expose()),
        ])
        .send()
        .await
        .map_err(|e| {
            Error::unavailable(
                Dependency::TokenEndpoint,
                format!("{}: {}", config.token_url, e.without_url()),
            )
        })?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        // OIDC errors are `{"error": "...", "error_description": "..."}`; never echo a token.
        let reason = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| "no error code".into());
        return Err(Error::bad_gateway(
            Dependency::TokenEndpoint,
            format!("HTTP {status}: {reason}"),
        ));
    }
    let grant: Grant = serde_json::from_str(&body).map_err(|e| {
        Error::bad_gateway(
            Dependency::TokenEndpoint,
            format!("answer not understood: {e}"),
        )
    })?;
    let now = OffsetDateTime::now_utc();
    let token = StoredToken {
        access_token: Secret::new(grant.access_token),
        expires_at: now.unix_timestamp() + grant.expires_in.unwrap_or(300),
        refresh_token: grant
            .refresh_token
            .map(Secret::new)
            .unwrap_or(refresh_token),
        version: current.as_ref().map_or(1, |t| t.version + 1),
    };
    let at = crate::probes::model::timestamp(now);
    if table.put_token(&token, &at).await? {
        tracing::info!(
            expires_at = token.expires_at,
            version = token.version,
            "access token refreshed"
        );
        Ok(token)
    } else {
        // Another refresher stored a newer token meanwhile; that one is current.
        table
            .token()
            .await?
            .ok_or_else(|| Error::Internal("the stored token vanished during a refresh".into()))
    }
}

/// An access token valid for at least the configured margin, refreshing first if needed.
pub async fn valid_token(
    http: &reqwest::Client,
    config: &AccountingConfig,
    table: &AccountingTable,
) -> Result<Secret> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match table.token().await? {
        Some(t)
            if !t.access_token.expose().is_empty()
                && t.expires_at - now > config.refresh_margin.as_secs() as i64 =>
        {
            Ok(t.access_token)
        }
        _ => Ok(refresh(http, config, table).await?.access_token),
    }
}
