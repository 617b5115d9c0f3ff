//! Every port of the library in memory, for the fast tier (`make test-fast`): no process, no
//! socket. Each keeps the guarantee its real adapter gives (conditional writes, atomic
//! counters, leases, ETags), so a rule tested here behaves as it does on DynamoDB, S3 or SES;
//! what only the real service can prove stays in the service tests. Every store can be told to
//! fail, as a dependency that is down would.

use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use telltale::accounting::model::{LastOutcome, PushRecord, StoredToken};
use telltale::accounting::ports::{AccountingService, AccountingStore, Grant, Posted, TokenGrant};
use telltale::auth::{hash_key, KeyLookup, Role, StoredKey};
use telltale::base::env::Secret;
use telltale::base::error::{Dependency, Error, Result};
use telltale::collectors::point::Point;
use telltale::collectors::ports::{PointSink, Written};
use telltale::heartbeat::check::Check;
use telltale::heartbeat::ports::{Beat, BeatSink, HeartbeatStore, Record, Recorded};
use telltale::metrics::ports::{Fetched, MappingSource, PrometheusQuery, QueryData};
use telltale::probes::email::Email;
use telltale::probes::model::{Candidate, Status};
use telltale::probes::ports::{
    CandidateStore, Created, IdempotencyRecord, Mailer, Outbox, OutboxEmail,
};

/// Shared switch: while set, every call of the store fails as an unreachable DynamoDB would.
#[derive(Clone, Default)]
pub struct Outage(Arc<Mutex<bool>>);

impl Outage {
    pub fn set(&self, down: bool) {
        *self.0.lock().unwrap() = down;
    }

    fn check(&self, what: &str) -> Result<()> {
        if *self.0.lock().unwrap() {
            return Err(Error::unavailable(
                Dependency::DynamoDb,
                format!("{what}: not reachable"),
            ));
        }
        Ok(())
    }
}

// ---- probes ----

#[derive(Default)]
struct ProbeState {
    candidates: BTreeMap<String, Candidate>,
    emails: BTreeMap<String, (OutboxEmail, Option<i64>)>,
    idempotency: HashMap<String, (String, String)>,
}

/// The probe table: candidates, their outbox and the idempotency records, with the table's
/// conditions (a version to replace, one email per candidate and status, a claim lease).
#[derive(Clone, Default)]
pub struct MemoryProbes {
    state: Arc<Mutex<ProbeState>>,
    pub outage: Outage,
}

impl MemoryProbes {
    /// Every email stored, by id.
    pub fn emails(&self) -> Vec<OutboxEmail> {
        let state = self.state.lock().unwrap();
        state.emails.values().map(|(e, _)| e.clone()).collect()
    }

    pub fn candidates(&self) -> Vec<Candidate> {
        self.state
            .lock()
            .unwrap()
            .candidates
            .values()
            .cloned()
            .collect()
    }

    /// Stores a candidate as it is, without an email (a legacy or imported item).
    pub fn import(&self, candidate: Candidate) {
        let mut state = self.state.lock().unwrap();
        state.candidates.insert(candidate.id.clone(), candidate);
    }
}

impl CandidateStore for MemoryProbes {
    async fn create(
        &self,
        candidate: &Candidate,
        email: &OutboxEmail,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Created> {
        self.outage.check("storing the candidate")?;
        let mut state = self.state.lock().unwrap();
        if let Some(r) = idempotency {
            if let Some((candidate_id, request_hash)) = state.idempotency.get(&r.key_id) {
                return Ok(Created::Replay {
                    candidate_id: candidate_id.clone(),
                    request_hash: request_hash.clone(),
                });
            }
        }
        if state.candidates.contains_key(&candidate.id) || state.emails.contains_key(&email.id) {
            return Err(Error::unavailable(
                Dependency::DynamoDb,
                "storing the candidate: transaction cancelled",
            ));
        }
        if let Some(r) = idempotency {
            state.idempotency.insert(
                r.key_id.clone(),
                (candidate.id.clone(), r.request_hash.clone()),
            );
        }
        state
            .candidates
            .insert(candidate.id.clone(), candidate.clone());
        state.emails.insert(email.id.clone(), (email.clone(), None));
        Ok(Created::New)
    }

    async fn get(&self, id: &str) -> Result<Option<Candidate>> {
        self.outage.check("reading the candidate")?;
        Ok(self.state.lock().unwrap().candidates.get(id).cloned())
    }

    async fn replace(
        &self,
        candidate: &Candidate,
        expected_version: u64,
        email: Option<&OutboxEmail>,
    ) -> Result<()> {
        self.outage.check("changing the candidate")?;
        let mut state = self.state.lock().unwrap();
        let current = state.candidates.get(&candidate.id).map(|c| c.version);
        if current != Some(expected_version) {
            return Err(Error::PreconditionFailed(format!(
                "Probe candidate was changed by someone else since version {expected_version}; reload it and try again"
            )));
        }
        if let Some(e) = email {
            if state.emails.contains_key(&e.id) {
                return Err(Error::unavailable(
                    Dependency::DynamoDb,
                    "changing the candidate: transaction cancelled",
                ));
            }
            state.emails.insert(e.id.clone(), (e.clone(), None));
        }
        state
            .candidates
            .insert(candidate.id.clone(), candidate.clone());
        Ok(())
    }

    async fn list(&self, status: Option<Status>) -> Result<Vec<Candidate>> {
        self.outage.check("querying the probe table")?;
        let state = self.state.lock().unwrap();
        Ok(state
            .candidates
            .values()
            .filter(|c| status.is_none_or(|s| c.status == s))
            .cloned()
            .collect())
    }
}

impl Outbox for MemoryProbes {
    async fn claim(&self, id: &str, now: i64, lease_seconds: i64) -> Result<Option<OutboxEmail>> {
        self.outage.check("claiming an email")?;
        let mut state = self.state.lock().unwrap();
        let Some((email, claimed_until)) = state.emails.get_mut(id) else {
            return Ok(None);
        };
        if email.state != "pending" || claimed_until.is_some_and(|t| t >= now) {
            return Ok(None);
        }
        *claimed_until = Some(now + lease_seconds);
        email.attempts += 1;
        Ok(Some(email.clone()))
    }

    async fn mark_sent(&self, id: &str, message_id: &str, at: &str) -> Result<()> {
        self.outage.check("marking an email sent")?;
        let mut state = self.state.lock().unwrap();
        if let Some((email, claimed)) = state.emails.get_mut(id) {
            email.state = "sent".into();
            email.sent_at = Some(at.into());
            email.message_id = Some(message_id.into());
            email.last_error = None;
            *claimed = None;
        }
        Ok(())
    }

    async fn mark_failed(&self, id: &str, reason: &str) -> Result<()> {
        self.outage.check("recording an email failure")?;
        let mut state = self.state.lock().unwrap();
        if let Some((email, claimed)) = state.emails.get_mut(id) {
            email.last_error = Some(reason.into());
            *claimed = None;
        }
        Ok(())
    }

    async fn mark_dead(&self, id: &str, reason: &str, _at: &str) -> Result<()> {
        self.outage.check("giving an email up")?;
        let mut state = self.state.lock().unwrap();
        if let Some((email, claimed)) = state.emails.get_mut(id) {
            email.state = "dead".into();
            email.last_error = Some(reason.into());
            *claimed = None;
        }
        Ok(())
    }

    async fn dead_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.outage.check("querying the probe table")?;
        Ok(self.emails_in("dead"))
    }

    async fn pending(&self) -> Result<Vec<String>> {
        self.outage.check("querying the probe table")?;
        Ok(self
            .emails_in("pending")
            .into_iter()
            .map(|e| e.id)
            .collect())
    }

    async fn pending_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.outage.check("querying the probe table")?;
        Ok(self.emails_in("pending"))
    }

    async fn get_email(&self, id: &str) -> Result<Option<OutboxEmail>> {
        self.outage.check("reading an email")?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .emails
            .get(id)
            .map(|(e, _)| e.clone()))
    }
}

impl MemoryProbes {
    fn emails_in(&self, state: &str) -> Vec<OutboxEmail> {
        let s = self.state.lock().unwrap();
        s.emails
            .values()
            .filter(|(e, _)| e.state == state)
            .map(|(e, _)| e.clone())
            .collect()
    }
}

/// The mail service: accepts (and keeps) every email, or refuses them all while `refusing`.
#[derive(Clone, Default)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<Email>>>,
    refusing: Arc<Mutex<Option<String>>>,
}

impl MemoryMailer {
    /// Refuses every email with this reason until `accept` is called.
    pub fn refuse(&self, reason: &str) {
        *self.refusing.lock().unwrap() = Some(reason.into());
    }

    pub fn accept(&self) {
        *self.refusing.lock().unwrap() = None;
    }

    /// The emails accepted, in order.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().unwrap().clone()
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> std::result::Result<String, String> {
        if let Some(reason) = self.refusing.lock().unwrap().clone() {
            return Err(reason);
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(email.clone());
        Ok(format!("memory-{}", sent.len()))
    }
}

/// The key table: keys by hash.
#[derive(Clone, Default)]
pub struct MemoryKeys {
    keys: Arc<Mutex<HashMap<String, StoredKey>>>,
    pub outage: Outage,
}

impl MemoryKeys {
    /// Stores `key` (the key itself, hashed here) for `name` with `role`.
    pub fn add(&self, key: &str, name: &str, role: Role) {
        let stored = StoredKey {
            key_hash: hash_key(key),
            name: name.into(),
            role,
        };
        self.keys
            .lock()
            .unwrap()
            .insert(stored.key_hash.clone(), stored);
    }
}

impl KeyLookup for MemoryKeys {
    async fn find(&self, key_hash: &str) -> Result<Option<StoredKey>> {
        self.outage.check("reading the key table")?;
        Ok(self.keys.lock().unwrap().get(key_hash).cloned())
    }
}

// ---- heartbeat ----

#[derive(Clone, Default)]
struct StoredCheck {
    check: Check,
    last_start_ms: Option<i64>,
}

/// The heartbeat table: counters added atomically, a run's duration from its start.
#[derive(Clone, Default)]
pub struct MemoryHeartbeats {
    checks: Arc<Mutex<BTreeMap<String, StoredCheck>>>,
    pub outage: Outage,
}

impl HeartbeatStore for MemoryHeartbeats {
    async fn record(&self, r: &Record<'_>) -> Result<Recorded> {
        self.outage.check("recording a ping")?;
        let now = r.now_ms.div_euclid(1000);
        let mut checks = self.checks.lock().unwrap();
        if !r.create && !checks.contains_key(r.check) {
            return Ok(Recorded::UnknownCheck);
        }
        let stored = checks
            .entry(r.check.to_string())
            .or_insert_with(|| StoredCheck {
                check: Check {
                    name: r.check.to_string(),
                    period_seconds: r.default_period,
                    grace_seconds: r.default_grace,
                    created_at: now,
                    ..Check::default()
                },
                last_start_ms: None,
            });
        let c = &mut stored.check;
        c.last_seen = Some(now);
        c.last_state = Some(r.state.to_string());
        if r.success {
            c.last_success = Some(now);
        }
        if let Some(code) = r.exit_status {
            c.last_exit_status = Some(code);
        }
        if let Some(alarm) = r.alarm {
            c.last_alarm = Some(alarm.to_string());
        }
        for (state, count) in r.counts {
            *c.received
                .entry((r.source.to_string(), state.clone()))
                .or_insert(0) += count;
        }
        if r.ends_run {
            if let Some(started) = stored.last_start_ms.take().filter(|s| *s <= r.now_ms) {
                stored.check.last_duration_seconds = Some((r.now_ms - started) as f64 / 1000.0);
            }
        }
        if r.start {
            stored.last_start_ms = Some(r.now_ms);
        }
        Ok(Recorded::Counted)
    }

    async fn checks(&self) -> Result<Vec<Check>> {
        self.outage.check("listing the checks")?;
        Ok(self
            .checks
            .lock()
            .unwrap()
            .values()
            .map(|s| s.check.clone())
            .collect())
    }

    async fn set_check(
        &self,
        name: &str,
        period_seconds: i64,
        grace_seconds: i64,
        now: i64,
    ) -> Result<()> {
        self.outage.check("setting a check")?;
        let mut checks = self.checks.lock().unwrap();
        let stored = checks
            .entry(name.to_string())
            .or_insert_with(|| StoredCheck {
                check: Check {
                    name: name.to_string(),
                    created_at: now,
                    ..Check::default()
                },
                last_start_ms: None,
            });
        stored.check.period_seconds = period_seconds;
        stored.check.grace_seconds = grace_seconds;
        Ok(())
    }
}

/// A heartbeat sink that keeps every beat, or refuses them all.
#[derive(Clone, Default)]
pub struct MemoryBeats {
    pub name: &'static str,
    beats: Arc<Mutex<Vec<(String, i64, i64)>>>,
    refusing: Arc<Mutex<Option<String>>>,
}

impl MemoryBeats {
    pub fn named(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    pub fn refuse(&self, reason: &str) {
        *self.refusing.lock().unwrap() = Some(reason.into());
    }

    /// (source, value, periods) of every beat taken.
    pub fn beats(&self) -> Vec<(String, i64, i64)> {
        self.beats.lock().unwrap().clone()
    }
}

impl BeatSink for MemoryBeats {
    fn name(&self) -> &'static str {
        self.name
    }

    fn send<'a>(&'a self, beat: &'a Beat<'a>) -> BoxFuture<'a, std::result::Result<(), String>> {
        let result = match self.refusing.lock().unwrap().clone() {
            Some(reason) => Err(reason),
            None => {
                self.beats.lock().unwrap().push((
                    beat.source.to_string(),
                    beat.value,
                    beat.periods,
                ));
                Ok(())
            }
        };
        Box::pin(async move { result })
    }
}

// ---- metrics ----

/// Prometheus answering from a table of queries; an unknown query is an empty vector, as
/// Prometheus answers for a series that does not exist.
#[derive(Clone, Default)]
pub struct MemoryPrometheus {
    answers: Arc<Mutex<HashMap<String, QueryData>>>,
    asked: Arc<Mutex<Vec<(String, i64)>>>,
    pub down: Arc<Mutex<bool>>,
}

impl MemoryPrometheus {
    /// `promql` answers `value` as a one-sample vector.
    pub fn with(self, promql: &str, value: f64) -> Self {
        self.answer(promql, QueryData::Vector(vec![(Default::default(), value)]))
    }

    pub fn answer(self, promql: &str, data: QueryData) -> Self {
        self.answers.lock().unwrap().insert(promql.into(), data);
        self
    }

    /// Every query asked, with its time, in order.
    pub fn asked(&self) -> Vec<(String, i64)> {
        self.asked.lock().unwrap().clone()
    }
}

impl PrometheusQuery for MemoryPrometheus {
    fn query<'a>(&'a self, promql: &'a str, time: i64) -> BoxFuture<'a, Result<QueryData>> {
        self.asked.lock().unwrap().push((promql.into(), time));
        let answer = if *self.down.lock().unwrap() {
            Err(Error::unavailable(Dependency::Prometheus, "not reachable"))
        } else {
            Ok(self
                .answers
                .lock()
                .unwrap()
                .get(promql)
                .cloned()
                .unwrap_or(QueryData::Vector(Vec::new())))
        };
        Box::pin(async move { answer })
    }
}

/// A stored file: its bytes and its ETag.
type File = (Vec<u8>, String);

/// A bucket of mapping files with ETags (a new ETag per upload) and conditional reads.
#[derive(Clone, Default)]
pub struct MemoryMappings {
    files: Arc<Mutex<HashMap<String, File>>>,
    uploads: Arc<Mutex<u64>>,
    reads: Arc<Mutex<u64>>,
    pub down: Arc<Mutex<bool>>,
}

impl MemoryMappings {
    pub fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        let mut n = self.uploads.lock().unwrap();
        *n += 1;
        self.files
            .lock()
            .unwrap()
            .insert(key.into(), (body.into(), format!("\"etag-{n}\"")));
    }

    /// How many reads sent a body (not "not modified").
    pub fn reads(&self) -> u64 {
        *self.reads.lock().unwrap()
    }
}

impl MappingSource for MemoryMappings {
    fn place(&self) -> &str {
        "memory://mappings"
    }

    fn fetch<'a>(
        &'a self,
        key: &'a str,
        etag: Option<&'a str>,
    ) -> BoxFuture<'a, std::result::Result<Fetched, String>> {
        let answer = if *self.down.lock().unwrap() {
            Err(format!("{key}: not reachable"))
        } else {
            match self.files.lock().unwrap().get(key) {
                None => Err(format!("{key}: NoSuchKey (no such object)")),
                Some((_, tag)) if Some(tag.as_str()) == etag => Ok(Fetched::NotModified),
                Some((bytes, tag)) => {
                    *self.reads.lock().unwrap() += 1;
                    Ok(Fetched::Body {
                        bytes: bytes.clone(),
                        etag: Some(tag.clone()),
                        last_modified: None,
                    })
                }
            }
        };
        Box::pin(async move { answer })
    }
}

// ---- accounting ----

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

    fn put_token<'a>(
        &'a self,
        token: &'a StoredToken,
        _at: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
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
        ready(Ok(self.record_of(key)))
    }

    fn claim<'a>(&'a self, key: &'a str, now: i64, lease: i64) -> BoxFuture<'a, Result<bool>> {
        let r = self.outage.check("claiming a push").map(|()| {
            let mut s = self.state.lock().unwrap();
            let free = match s.pushes.get(key) {
                None => true,
                Some(r) if r.state == "pushed" => false,
                Some(r) if r.state == "pushing" => r.claimed_until.is_some_and(|t| t < now),
                Some(_) => true,
            };
            if free {
                s.pushes.insert(
                    key.into(),
                    PushRecord {
                        state: "pushing".into(),
                        value: None,
                        metric_id: None,
                        reason: None,
                        claimed_until: Some(now + lease),
                    },
                );
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
            self.state.lock().unwrap().pushes.insert(
                key.into(),
                PushRecord {
                    state: if pushed { "pushed" } else { "failed" }.into(),
                    value,
                    metric_id: metric_id.map(str::to_string),
                    reason: reason.map(str::to_string),
                    claimed_until: None,
                },
            );
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
            s.last_end.insert((i.to_string(), d.to_string()), end);
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
            s.outcomes.insert(
                key,
                LastOutcome {
                    state: if pushed { "pushed" } else { "failed" }.into(),
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
        let mut s = self.state.lock().unwrap();
        if s.lease.as_ref().is_some_and(|(o, _)| o == owner) {
            s.lease = None;
        }
        ready(Ok(()))
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

// ---- collectors ----

/// Where points go: kept in memory, or refused.
#[derive(Clone, Default)]
pub struct MemorySink {
    points: Arc<Mutex<Vec<Point>>>,
    pub refusing: Arc<Mutex<Option<String>>>,
}

impl MemorySink {
    pub fn points(&self) -> Vec<Point> {
        self.points.lock().unwrap().clone()
    }
}

impl PointSink for MemorySink {
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    async fn write_points(&self, points: &[Point]) -> std::result::Result<Written, String> {
        if let Some(reason) = self.refusing.lock().unwrap().clone() {
            return Err(reason);
        }
        self.points.lock().unwrap().extend_from_slice(points);
        Ok(Written {
            points: points.len(),
            requests: usize::from(!points.is_empty()),
        })
    }
}

// ---- whole route stacks, in memory ----

/// The probe routes on in-memory stores, with one key of each role.
pub struct ProbeWorld {
    pub api: telltale::http::probes::ProbeApi<MemoryProbes, MemoryMailer, MemoryKeys>,
}

/// The keys every world knows: `SUBMITTER` (name `tenant-a`) and `MONITORING` (name `team`).
pub const SUBMITTER: &str = "tt_submitter_key";
pub const MONITORING: &str = "tt_monitoring_key";
pub const HEARTBEAT: &str = "tt_heartbeat_key";

fn keys() -> MemoryKeys {
    let keys = MemoryKeys::default();
    keys.add(SUBMITTER, "tenant-a", Role::Submitter);
    keys.add(MONITORING, "team", Role::Monitoring);
    keys.add(HEARTBEAT, "alarms", Role::Heartbeat);
    keys
}

/// An answer as a caller sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: lambda_http::http::HeaderMap,
}

impl Answer {
    fn of(resp: lambda_http::Response<lambda_http::Body>) -> Answer {
        let body = match resp.body() {
            lambda_http::Body::Empty => Value::Null,
            b => serde_json::from_slice(b.as_ref())
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b.as_ref()).into())),
        };
        Answer {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        }
    }

    /// The `detail` (POEM) or `message` (Spring) of an error answer.
    pub fn detail(&self) -> &str {
        self.body["detail"]
            .as_str()
            .or_else(|| self.body["message"].as_str())
            .unwrap_or("")
    }
}

/// A request with these headers and body.
pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> lambda_http::Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    for (h, v) in headers {
        req = req.header(*h, *v);
    }
    let body = body.map_or(lambda_http::Body::Empty, |b| {
        lambda_http::Body::from(b.to_string())
    });
    req.body(body).expect("a request")
}

impl Default for ProbeWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeWorld {
    pub fn new() -> Self {
        Self {
            api: telltale::http::probes::ProbeApi {
                store: MemoryProbes::default(),
                mailer: MemoryMailer::default(),
                keys: keys(),
                email: telltale::probes::email::EmailSettings {
                    from: crate::probes::FROM.into(),
                    team: vec![crate::probes::TEAM.into()],
                    providers_portal_url: "https://providers.example.org".into(),
                },
                min_testing: time::Duration::days(3),
            },
        }
    }

    /// Sends the request to the route the path belongs to, as API Gateway would.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(k) = key {
            all.push(("x-api-key", k));
        }
        let req = request(method, uri, &all, body);
        let path = uri.split('?').next().unwrap_or(uri).trim_end_matches('/');
        let resp = if path == "/api/v2/probes" {
            telltale::http::probes::submit_routes(&self.api, &req).await
        } else {
            telltale::http::probes::status_routes(&self.api, &req).await
        };
        Answer::of(resp)
    }

    pub async fn submit(&self, body: &Value) -> Answer {
        self.call("POST", "/api/v2/probes/", Some(SUBMITTER), &[], Some(body))
            .await
    }

    /// Submits a valid candidate; its id.
    pub async fn submitted(&self, contact: &str) -> String {
        let a = self.submit(&valid_submission(contact)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        a.body["id"].as_str().expect("an id").to_string()
    }

    pub async fn get(&self, id: &str) -> Answer {
        self.call(
            "GET",
            &format!("/api/v2/probes/{id}"),
            Some(MONITORING),
            &[],
            None,
        )
        .await
    }

    pub async fn put(&self, id: &str, body: &Value) -> Answer {
        self.call(
            "PUT",
            &format!("/api/v2/probes/{id}/status"),
            Some(MONITORING),
            &[],
            Some(body),
        )
        .await
    }

    /// Moves the candidate along `steps` (each must succeed).
    pub async fn walk(&self, id: &str, steps: &[&str]) {
        for step in steps {
            let a = self.put(id, &change_to(step)).await;
            assert_eq!(a.status, 200, "{step}: {:?}", a.body);
        }
    }

    /// Sends what is pending; the emails the mail service took.
    pub async fn deliver(&self) -> Vec<Email> {
        telltale::probes::outbox::deliver_pending(&self.api.store, &self.api.mailer)
            .await
            .expect("delivery");
        self.api.mailer.sent()
    }
}

/// A submission POEM accepts.
pub fn valid_submission(contact: &str) -> Value {
    json!({
        "name": "argo-probe-test",
        "description": "A probe that checks a service's status.",
        "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-test/blob/master/README.md",
        "script": "https://example.org/check.py",
        "command": "check.py -H <host> -t 30",
        "contact": contact
    })
}

/// A valid body for moving to `status`.
pub fn change_to(status: &str) -> Value {
    match status {
        "processing" => json!({"status": "processing", "service_type": "eu.argo.servicestatus"}),
        "testing" => {
            json!({"status": "testing", "devel_url": "https://devel.argo.example.org/probe"})
        }
        "deployed" => {
            json!({"status": "deployed", "production_url": "https://argo.example.org/probe", "force": true})
        }
        "rejected" => {
            json!({"status": "rejected", "rejection_reason": "It does not follow the guidelines"})
        }
        other => json!({"status": other}),
    }
}

/// The heartbeat routes on in-memory stores, shaped like `heartbeat::HeartbeatFixture`: a
/// `heartbeat` key and a `submitter` key.
pub struct HeartbeatWorld {
    pub table: String,
    /// Role `heartbeat`.
    pub key: String,
    /// Role `submitter`: valid, but not for these routes.
    pub submitter_key: String,
    store: MemoryHeartbeats,
    keys: MemoryKeys,
}

impl HeartbeatWorld {
    pub async fn new() -> Self {
        let keys = MemoryKeys::default();
        let (key, submitter_key) = (
            telltale::auth::generate_key(),
            telltale::auth::generate_key(),
        );
        keys.add(&key, "alertmanager", Role::Heartbeat);
        keys.add(&submitter_key, "tenant", Role::Submitter);
        Self {
            table: "heartbeats".into(),
            key,
            submitter_key,
            store: MemoryHeartbeats::default(),
            keys,
        }
    }

    pub fn config(&self) -> telltale::heartbeat::config::HeartbeatConfig {
        telltale::heartbeat::config::HeartbeatConfig {
            table: self.table.clone(),
            webhook_check: "heartbeat".into(),
            default_period: 300,
            default_grace: 60,
        }
    }

    pub fn store(&self) -> MemoryHeartbeats {
        self.store.clone()
    }

    pub fn api(&self) -> telltale::http::heartbeat::HeartbeatApi<MemoryHeartbeats, MemoryKeys> {
        telltale::http::heartbeat::HeartbeatApi {
            store: self.store.clone(),
            keys: self.keys.clone(),
            config: self.config(),
        }
    }
}
