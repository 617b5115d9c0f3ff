//! The OIDC refresh-token grant and the stored token. The token-refresh function runs it on a
//! schedule; the push runs it on demand when the stored token is missing or about to expire,
//! or when the service refused it. Tokens and client secrets are `Secret`s: they never reach a
//! log or an error message.
//!
//! One refresh at a time, everywhere: refresh tokens rotate, and a provider with reuse
//! detection (Keycloak's "revoke refresh token") revokes the whole family when one is
//! presented twice. Within a process a lock serialises refreshes; across Lambda instances a
//! lease item in the accounting table does. Whoever waits for another refresh looks at the
//! stored token again and uses the new one instead of refreshing it a second time.

use super::config::AccountingConfig;
use super::model::StoredToken;
use super::ports::{AccountingStore, TokenGrant};
use crate::base::env::Secret;
use crate::base::error::{Dependency, Error, Result};
use time::OffsetDateTime;

/// How long a refresh may hold the lease; a crashed holder's lease lapses after it.
const LEASE_SECONDS: i64 = 30;
/// How long a refresh waits for another one before giving up.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Serialises refreshes within this process (one Lambda instance).
static LOCAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Refreshes unconditionally, one refresh at a time.
pub async fn refresh(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
) -> Result<StoredToken> {
    single_flight(grant, config, table, |_| false).await
}

/// How much earlier than its schedule's time a token may have been granted and still count as
/// that schedule's refresh: the clocks of the scheduler and of Lambda may differ by a little,
/// and a token granted a minute before is as fresh as one granted at the time.
pub const SCHEDULE_SKEW_SECONDS: i64 = 60;

/// The scheduled `token-refresh` for the schedule's time `scheduled` (unix s): refreshes unless
/// the stored token was granted at or after it (less `SCHEDULE_SKEW_SECONDS`) and has not
/// expired. A schedule delivered twice, at once or one
/// after the other, or a run retried after it succeeded, is then one grant: the second finds
/// the first's token (after waiting for its lease when they overlap). A run that failed left
/// the old token, so its retry refreshes.
pub async fn refresh_scheduled(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
    scheduled: i64,
) -> Result<StoredToken> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    single_flight(grant, config, table, |t| {
        t.refreshed_at >= scheduled - SCHEDULE_SKEW_SECONDS && usable(t, now, 0)
    })
    .await
}

fn usable(t: &StoredToken, now: i64, margin: i64) -> bool {
    !t.access_token.expose().is_empty() && t.expires_at - now > margin
}

/// Returns the stored token if `good` accepts it; otherwise refreshes, once across every
/// process: the lease's holder refreshes, the others wait and take its result.
async fn single_flight(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
    good: impl Fn(&StoredToken) -> bool,
) -> Result<StoredToken> {
    let _local = LOCAL.lock().await;
    let started = std::time::Instant::now();
    let owner = uuid::Uuid::new_v4().to_string();
    loop {
        if let Some(t) = table.token().await?.filter(|t| good(t)) {
            return Ok(t);
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if table
            .acquire_refresh_lease(&owner, now, LEASE_SECONDS)
            .await?
        {
            break;
        }
        if started.elapsed() > WAIT {
            return Err(Error::unavailable(
                Dependency::TokenEndpoint,
                "another refresh holds the lease and has not finished",
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Someone may have finished between our look and our lease.
    let result = match table.token().await? {
        Some(t) if good(&t) => Ok(t),
        _ => exchange(grant, config, table).await,
    };
    if let Err(e) = table.release_refresh_lease(&owner).await {
        tracing::warn!(error = %e, "the refresh lease was not released; it lapses by itself");
    }
    result
}

/// Exchanges the stored (or configured initial) refresh token for a new access token and
/// stores both, with the rotated refresh token when the provider sends one. On any failure the
/// stored token is left as it was. Called only by the lease's holder.
async fn exchange(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
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
    let granted = grant.grant(&refresh_token).await?;
    let now = OffsetDateTime::now_utc();
    let token = StoredToken {
        access_token: granted.access_token,
        expires_at: now.unix_timestamp() + granted.expires_in.unwrap_or(300),
        refresh_token: granted.refresh_token.unwrap_or(refresh_token),
        version: current.as_ref().map_or(1, |t| t.version + 1),
        refreshed_at: now.unix_timestamp(),
    };
    if table.put_token(&token).await? {
        tracing::debug!(
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

/// Whether a token is still good for at least the configured margin, judged now.
fn fresh_enough(config: &AccountingConfig) -> impl Fn(&StoredToken) -> bool {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let margin = config.refresh_margin.as_secs() as i64;
    move |t| usable(t, now, margin)
}

/// The stored token if it is fresh enough, else a refreshed one (once across every process).
async fn stored_or_refreshed(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
) -> Result<StoredToken> {
    let good = fresh_enough(config);
    match table.token().await? {
        Some(t) if good(&t) => Ok(t),
        _ => single_flight(grant, config, table, good).await,
    }
}

/// An access token valid for at least the configured margin, refreshing first if needed.
pub async fn valid_token(
    grant: &(impl TokenGrant + ?Sized),
    config: &AccountingConfig,
    table: &(impl AccountingStore + ?Sized),
) -> Result<Secret> {
    Ok(stored_or_refreshed(grant, config, table)
        .await?
        .access_token)
}

/// The access token a push run holds: read from the table once, then reused by every POST of
/// the run until it comes within the refresh margin of expiring or the service refuses it (one
/// table read per run instead of one per metric).
#[derive(Default)]
pub struct RunToken(tokio::sync::Mutex<Option<StoredToken>>);

impl RunToken {
    pub async fn get(
        &self,
        grant: &(impl TokenGrant + ?Sized),
        config: &AccountingConfig,
        table: &(impl AccountingStore + ?Sized),
    ) -> Result<Secret> {
        let mut held = self.0.lock().await;
        if let Some(t) = held.as_ref().filter(|t| fresh_enough(config)(t)) {
            return Ok(t.access_token.clone());
        }
        let token = stored_or_refreshed(grant, config, table).await?;
        let access = token.access_token.clone();
        *held = Some(token);
        Ok(access)
    }

    /// The service refused `refused`: another token (refreshed once across every process), held
    /// for the rest of the run.
    pub async fn refused(
        &self,
        grant: &(impl TokenGrant + ?Sized),
        config: &AccountingConfig,
        table: &(impl AccountingStore + ?Sized),
        refused: &Secret,
    ) -> Result<Secret> {
        let good = fresh_enough(config);
        let token = single_flight(grant, config, table, |t| {
            t.access_token != *refused && good(t)
        })
        .await?;
        let access = token.access_token.clone();
        *self.0.lock().await = Some(token);
        Ok(access)
    }
}
