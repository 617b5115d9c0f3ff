//! What the accounting push and the token refresh need from the outside world: their state
//! table, the EOSC Accounting Service, and the OIDC token endpoint. Implemented on DynamoDB and
//! HTTPS, and in memory in the testkit. Boxed futures, so
//! the push and the collectors hold them as `&dyn`.

use super::model::{LastOutcome, PushRecord, StoredToken};
use crate::base::env::Secret;
use crate::base::error::Result;
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;

pub trait AccountingStore: Send + Sync {
    /// The stored tokens, if any.
    fn token(&self) -> BoxFuture<'_, Result<Option<StoredToken>>>;

    /// Stores `token` if the stored one is still at `token.version - 1` (or there is none);
    /// `false` when another refresher stored a newer one first.
    fn put_token<'a>(&'a self, token: &'a StoredToken) -> BoxFuture<'a, Result<bool>>;

    fn record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PushRecord>>>;

    /// Claims a push (`push_key`) unless it was pushed already or another run holds an
    /// unexpired claim; the claim lapses after `lease_seconds`.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        now: i64,
        lease_seconds: i64,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Records how the push of this period ended.
    #[allow(clippy::too_many_arguments)]
    fn finish<'a>(
        &'a self,
        key: &'a str,
        pushed: bool,
        value: Option<f64>,
        metric_id: Option<&'a str>,
        reason: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// The end of the metric's last successful push (incremental periods).
    fn last_end<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>>>;

    fn set_last_end<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
        end: i64,
    ) -> BoxFuture<'a, Result<()>>;

    /// Records how this metric's push ended; a success also moves `last_success_at`.
    #[allow(clippy::too_many_arguments)]
    fn record_outcome<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
        pushed: bool,
        value: Option<f64>,
        reason: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// The latest outcome of each `(installation, definition)` that has one.
    fn outcomes<'a>(
        &'a self,
        metrics: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<HashMap<(String, String), LastOutcome>>>;

    /// Takes the refresh lease unless someone else holds an unexpired one.
    fn acquire_refresh_lease<'a>(
        &'a self,
        owner: &'a str,
        now: i64,
        seconds: i64,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Gives the lease back if `owner` still holds it.
    fn release_refresh_lease<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// What the token endpoint granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: Secret,
    pub expires_in: Option<i64>,
    /// The rotated refresh token, when the provider rotates them.
    pub refresh_token: Option<Secret>,
}

pub trait TokenGrant: Send + Sync {
    /// The refresh-token grant. No answer is a 503 naming the token endpoint; a refusal is a
    /// 502 with the OIDC error code (never a token).
    fn grant<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<Grant>>;
}

/// The service's answer to one POST: `status` 0 when there was none (`answer` then holds
/// `{"message": why}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub status: u16,
    pub answer: Value,
}

pub trait AccountingService: Send + Sync {
    /// POSTs one metric record to `url` with the bearer token.
    fn post<'a>(
        &'a self,
        url: &'a str,
        bearer: &'a Secret,
        body: &'a Value,
    ) -> BoxFuture<'a, Posted>;
}
