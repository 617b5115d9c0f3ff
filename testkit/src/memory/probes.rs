//! The probe table (candidates, outbox, idempotency), the mail service and the key table.

use super::Outage;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use telltale::auth::{hash_key, KeyLookup, Role, StoredKey};
use telltale::base::error::{Dependency, Error, Result};
use telltale::outbox::ports::Refusal;
use telltale::probes::email::Email;
use telltale::probes::model::{Candidate, Status};
use telltale::probes::ports::{
    CandidateStore, Created, EmailState, IdempotencyRecord, Mailer, Outbox, OutboxEmail, Page,
    PageQuery,
};

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

    async fn page(&self, query: &PageQuery) -> Result<Page> {
        self.outage.check("reading the candidates")?;
        let all: Vec<Candidate> = self
            .state
            .lock()
            .unwrap()
            .candidates
            .values()
            .filter(|c| query.status.is_none_or(|s| c.status == s))
            .cloned()
            .collect();
        let (items, more) = telltale::probes::listing::select(all, query);
        Ok(Page { items, more })
    }

    async fn get(&self, id: &str) -> Result<Option<Candidate>> {
        // Each call gives way once before it acts, as a network round trip would, so requests
        // run at once interleave here as they do on DynamoDB.
        tokio::task::yield_now().await;
        self.outage.check("reading the candidate")?;
        Ok(self.state.lock().unwrap().candidates.get(id).cloned())
    }

    async fn replace(
        &self,
        candidate: &Candidate,
        expected_version: u64,
        email: Option<&OutboxEmail>,
    ) -> Result<()> {
        tokio::task::yield_now().await;
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
        tokio::task::yield_now().await;
        self.outage.check("claiming an email")?;
        let mut state = self.state.lock().unwrap();
        let Some((email, claimed_until)) = state.emails.get_mut(id) else {
            return Ok(None);
        };
        if email.state != EmailState::Pending || claimed_until.is_some_and(|t| t >= now) {
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
            email.state = EmailState::Sent;
            email.sent_at = Some(at.into());
            email.message_id = Some(message_id.into());
            email.last_error = None;
            *claimed = None;
        }
        Ok(())
    }

    async fn mark_failed(&self, id: &str, reason: &str, retry_at: Option<i64>) -> Result<()> {
        self.outage.check("recording an email failure")?;
        let mut state = self.state.lock().unwrap();
        if let Some((email, claimed)) = state.emails.get_mut(id) {
            email.last_error = Some(reason.into());
            *claimed = retry_at;
        }
        Ok(())
    }

    async fn mark_dead(&self, id: &str, reason: &str, _at: &str) -> Result<()> {
        self.outage.check("giving an email up")?;
        let mut state = self.state.lock().unwrap();
        if let Some((email, claimed)) = state.emails.get_mut(id) {
            email.state = EmailState::Dead;
            email.last_error = Some(reason.into());
            *claimed = None;
        }
        Ok(())
    }

    async fn dead_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.outage.check("querying the probe table")?;
        Ok(self.emails_in(EmailState::Dead))
    }

    async fn pending(&self) -> Result<Vec<String>> {
        self.outage.check("querying the probe table")?;
        Ok(self
            .emails_in(EmailState::Pending)
            .into_iter()
            .map(|e| e.id)
            .collect())
    }

    async fn pending_emails(&self) -> Result<Vec<OutboxEmail>> {
        self.outage.check("querying the probe table")?;
        Ok(self.emails_in(EmailState::Pending))
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
    fn emails_in(&self, state: EmailState) -> Vec<OutboxEmail> {
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
    refusing: Arc<Mutex<Option<Refusal>>>,
}

impl MemoryMailer {
    /// Refuses every email with this reason, as for now (throttled, paused), until `accept`.
    pub fn refuse(&self, reason: &str) {
        *self.refusing.lock().unwrap() = Some(Refusal::Transient(reason.into()));
    }

    /// Refuses every email for good (an address the service will never take), until `accept`.
    pub fn refuse_for_good(&self, reason: &str) {
        *self.refusing.lock().unwrap() = Some(Refusal::Permanent(reason.into()));
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
    async fn send(&self, email: &Email) -> std::result::Result<String, Refusal> {
        if let Some(refusal) = self.refusing.lock().unwrap().clone() {
            return Err(refusal);
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
