//! The accounting table, the OIDC token endpoint and the EOSC Accounting Service.

use super::Outage;
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use telltale::accounting::model::{LastOutcome, PushRecord, PushState, StoredToken};
use telltale::accounting::ports::{AccountingService, AccountingStore, Grant, Posted, TokenGrant};
use telltale::base::env::Secret;
use telltale::base::error::{Dependency, Error, Result};

#[derive(Default)]
struct AccountingState {
    token: Option<StoredToken>,
    lease: Option<(String, i64)>,
    pushes: HashMap<String, PushRecord>,
    last_end: HashMap<(String, String), i64>,
    outcomes: HashMap<(String, String), LastOutcome>,
}

/// The accounting table: the token with its version condition, the refresh lease, push claims.
#[derive(Clone, Default)]
pub struct MemoryAccounting {
    state: Arc<Mutex<AccountingState>>,
    pub outage: Outage,
}

impl MemoryAccounting {
    pub fn record_of(&self, key: &str) -> Option<PushRecord> {
        self.state.lock().unwrap().pushes.get(key).cloned()
    }

    pub fn stored_token(&self) -> Option<StoredToken> {
        self.state.lock().unwrap().token.clone()
    }
}

/// A push record before anything was recorded in it (as an item the table's update creates).
fn new_record() -> PushRecord {
    PushRecord {
        state: PushState::Pushing,
        value: None,
        metric_id: None,
        reason: None,
        claimed_until: None,
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(async move { value })
}

impl AccountingStore for MemoryAccounting {
    fn token(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        let r = self
            .outage
            .check("reading the token")
            .map(|()| self.state.lock().unwrap().token.clone());
        ready(r)
    }

    fn put_token<'a>(&'a self, token: &'a StoredToken) -> BoxFuture<'a, Result<bool>> {
        let r = self.outage.check("storing the token").map(|()| {
            let mut s = self.state.lock().unwrap();
            let current = s.token.as_ref().map_or(0, |t| t.version);
            let fits = token.version == current + 1;
            if fits {
                s.token = Some(token.clone());
            }
            fits
        });
        ready(r)
    }

    fn record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<PushRecord>>> {
        let r = self
            .outage
            .check("reading a push")
            .map(|()| self.record_of(key));
        ready(r)
    }

    fn claim<'a>(&'a self, key: &'a str, now: i64, lease: i64) -> BoxFuture<'a, Result<bool>> {
        let r = self.outage.check("claiming a push").map(|()| {
            let mut s = self.state.lock().unwrap();
            let free = match s.pushes.get(key) {
                None => true,
                Some(r) if r.state == PushState::Pushed => false,
                Some(r) if r.state == PushState::Pushing => {
                    r.claimed_until.is_some_and(|t| t < now)
                }
                Some(_) => true,
            };
            if free {
                // As the table's update: the state and the lease change, the rest is kept.
                let record = s.pushes.entry(key.into()).or_insert_with(new_record);
                record.state = PushState::Pushing;
                record.claimed_until = Some(now + lease);
            }
            free
        });
        ready(r)
    }

    fn finish<'a>(
        &'a self,
        key: &'a str,
        pushed: bool,
        value: Option<f64>,
        metric_id: Option<&'a str>,
        reason: Option<&'a str>,
        _at: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        let r = self.outage.check("recording a push").map(|()| {
            let mut s = self.state.lock().unwrap();
            // As the table's update: what is given is set, the rest kept, the lease removed.
            let record = s.pushes.entry(key.into()).or_insert_with(new_record);
            record.state = if pushed {
                PushState::Pushed
            } else {
                PushState::Failed
            };
            record.value = value.or(record.value);
            record.metric_id = metric_id.map(str::to_string).or(record.metric_id.take());
            record.reason = reason.map(str::to_string).or(record.reason.take());
            record.claimed_until = None;
        });
        ready(r)
    }

    fn last_end<'a>(&'a self, i: &'a str, d: &'a str) -> BoxFuture<'a, Result<Option<i64>>> {
        let r = self.outage.check("reading the last push").map(|()| {
            let s = self.state.lock().unwrap();
            s.last_end.get(&(i.to_string(), d.to_string())).copied()
        });
        ready(r)
    }

    fn set_last_end<'a>(&'a self, i: &'a str, d: &'a str, end: i64) -> BoxFuture<'a, Result<()>> {
        let r = self.outage.check("recording the last push").map(|()| {
            let mut s = self.state.lock().unwrap();
            // Forward only, as the table's condition.
            let last = s
                .last_end
                .entry((i.to_string(), d.to_string()))
                .or_insert(end);
            *last = (*last).max(end);
        });
        ready(r)
    }

    fn record_outcome<'a>(
        &'a self,
        i: &'a str,
        d: &'a str,
        pushed: bool,
        value: Option<f64>,
        reason: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        let r = self.outage.check("recording a push outcome").map(|()| {
            let mut s = self.state.lock().unwrap();
            let key = (i.to_string(), d.to_string());
            let before = s.outcomes.get(&key).and_then(|o| o.last_success_at.clone());
            // A value not given keeps the one stored, as the table's update does.
            let value = value.or(s.outcomes.get(&key).and_then(|o| o.value));
            s.outcomes.insert(
                key,
                LastOutcome {
                    state: if pushed {
                        PushState::Pushed
                    } else {
                        PushState::Failed
                    },
                    at: at.into(),
                    last_success_at: if pushed { Some(at.into()) } else { before },
                    reason: reason.map(str::to_string),
                    value,
                },
            );
        });
        ready(r)
    }

    fn outcomes<'a>(
        &'a self,
        metrics: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<HashMap<(String, String), LastOutcome>>> {
        let r = self.outage.check("reading push outcomes").map(|()| {
            let s = self.state.lock().unwrap();
            metrics
                .iter()
                .filter_map(|k| s.outcomes.get(k).map(|o| (k.clone(), o.clone())))
                .collect()
        });
        ready(r)
    }

    fn acquire_refresh_lease<'a>(
        &'a self,
        owner: &'a str,
        now: i64,
        seconds: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        let r = self.outage.check("taking the refresh lease").map(|()| {
            let mut s = self.state.lock().unwrap();
            let free = s.lease.as_ref().is_none_or(|(_, until)| *until < now);
            if free {
                s.lease = Some((owner.into(), now + seconds));
            }
            free
        });
        ready(r)
    }

    fn release_refresh_lease<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<()>> {
        let r = self.outage.check("releasing the refresh lease").map(|()| {
            let mut s = self.state.lock().unwrap();
            if s.lease.as_ref().is_some_and(|(o, _)| o == owner) {
                s.lease = None;
            }
        });
        ready(r)
    }
}

/// The OIDC token endpoint: grants a numbered access token for the current refresh token,
/// rotating it; refuses a refresh token it did not issue last (reuse detection).
#[derive(Clone)]
pub struct MemoryGrant {
    state: Arc<Mutex<(String, u32)>>,
    pub down: Arc<Mutex<bool>>,
    pub expires_in: i64,
}

impl MemoryGrant {
    pub fn new(first_refresh_token: &str) -> Self {
        Self {
            state: Arc::new(Mutex::new((first_refresh_token.into(), 0))),
            down: Arc::default(),
            expires_in: 3600,
        }
    }

    /// How many grants were made.
    pub fn grants(&self) -> u32 {
        self.state.lock().unwrap().1
    }
}

impl TokenGrant for MemoryGrant {
    fn grant<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<Grant>> {
        let r = if *self.down.lock().unwrap() {
            Err(Error::unavailable(
                Dependency::TokenEndpoint,
                "not reachable",
            ))
        } else {
            let mut s = self.state.lock().unwrap();
            if refresh_token.expose() != s.0 {
                Err(Error::bad_gateway(
                    Dependency::TokenEndpoint,
                    "HTTP 400 Bad Request: invalid_grant",
                ))
            } else {
                s.1 += 1;
                s.0 = format!("refresh-{}", s.1);
                Ok(Grant {
                    access_token: Secret::new(format!("access-{}", s.1)),
                    expires_in: Some(self.expires_in),
                    refresh_token: Some(Secret::new(s.0.clone())),
                })
            }
        };
        ready(r)
    }
}

/// The EOSC Accounting Service: answers from a script of statuses (then 201 for ever), keeps
/// every record it accepted with the bearer token it came with.
#[derive(Clone, Default)]
pub struct MemoryEosc {
    script: Arc<Mutex<VecDeque<u16>>>,
    revoked: Arc<Mutex<Vec<String>>>,
    accepted: Arc<Mutex<Vec<(String, String, Value)>>>,
    calls: Arc<Mutex<u32>>,
}

impl MemoryEosc {
    /// The next answers, in order (0 = no answer at all).
    pub fn answers(self, statuses: &[u16]) -> Self {
        self.script.lock().unwrap().extend(statuses);
        self
    }

    /// (url, bearer, body) of every accepted record.
    pub fn accepted(&self) -> Vec<(String, String, Value)> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }

    /// From now on `token` is refused with a 401, as an expired or revoked token is.
    pub fn revoke(&self, token: &str) {
        self.revoked.lock().unwrap().push(token.into());
    }
}

impl AccountingService for MemoryEosc {
    fn post<'a>(
        &'a self,
        url: &'a str,
        bearer: &'a Secret,
        body: &'a Value,
    ) -> BoxFuture<'a, Posted> {
        *self.calls.lock().unwrap() += 1;
        let status = if self
            .revoked
            .lock()
            .unwrap()
            .iter()
            .any(|t| t == bearer.expose())
        {
            401
        } else {
            self.script.lock().unwrap().pop_front().unwrap_or(201)
        };
        let answer = match status {
            0 => json!({"message": "connection refused"}),
            200 | 201 => {
                let mut accepted = self.accepted.lock().unwrap();
                accepted.push((url.into(), bearer.expose().into(), body.clone()));
                json!({"metric_id": format!("m-{}", accepted.len())})
            }
            s => json!({"message": format!("scripted {s}")}),
        };
        ready(Posted { status, answer })
    }
}
