//! The accounting table as the `AccountingStore` port: each method delegates to the table's own.

use super::AccountingTable;
use crate::accounting::model::{LastOutcome, PushRecord, StoredToken};
use crate::accounting::ports::AccountingStore;
use crate::base::error::Result;
use futures::future::BoxFuture;
use std::collections::HashMap;

/// The port, on the table's own methods.
impl AccountingStore for AccountingTable {
    fn token(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        Box::pin(AccountingTable::token(self))
    }

    fn put_token<'a>(&'a self, token: &'a StoredToken) -> BoxFuture<'a, Result<bool>> {
        Box::pin(AccountingTable::put_token(self, token))
    }

    fn record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PushRecord>>> {
        Box::pin(AccountingTable::record(self, key))
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        now: i64,
        lease_seconds: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(AccountingTable::claim(self, key, now, lease_seconds))
    }

    fn finish<'a>(
        &'a self,
        key: &'a str,
        pushed: bool,
        value: Option<f64>,
        metric_id: Option<&'a str>,
        reason: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(AccountingTable::finish(
            self, key, pushed, value, metric_id, reason, at,
        ))
    }

    fn last_end<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(AccountingTable::last_end(self, installation, definition))
    }

    fn set_last_end<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
        end: i64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(AccountingTable::set_last_end(
            self,
            installation,
            definition,
            end,
        ))
    }

    fn record_outcome<'a>(
        &'a self,
        installation: &'a str,
        definition: &'a str,
        pushed: bool,
        value: Option<f64>,
        reason: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(AccountingTable::record_outcome(
            self,
            installation,
            definition,
            pushed,
            value,
            reason,
            at,
        ))
    }

    fn outcomes<'a>(
        &'a self,
        metrics: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<HashMap<(String, String), LastOutcome>>> {
        Box::pin(AccountingTable::outcomes(self, metrics))
    }

    fn acquire_refresh_lease<'a>(
        &'a self,
        owner: &'a str,
        now: i64,
        seconds: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(AccountingTable::acquire_refresh_lease(
            self, owner, now, seconds,
        ))
    }

    fn release_refresh_lease<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(AccountingTable::release_refresh_lease(self, owner))
    }
}
