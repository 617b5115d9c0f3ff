//! The heartbeat table and a heartbeat sink.

use super::Outage;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use telltale::base::error::Result;
use telltale::heartbeat::check::{Check, FLIPS_KEPT, PINGS_KEPT};
use telltale::heartbeat::notice::Notice;
use telltale::heartbeat::ports::{AlertPoster, NoticeLog, StoredNotice, WebhookPoster};
use telltale::heartbeat::ports::{
    Beat, BeatSink, CheckSettings, CheckStates, FlipEntry, HeartbeatStore, PingEntry, PingLog,
    Record, Recorded, Settled,
};
use telltale::heartbeat::state::Step;
use telltale::outbox::ports::{Claimed, Claims};

/// The heartbeat table: counters added atomically, a run's duration from its start, a state
/// settled only on the revision it was decided from, the last pings and flips of each check.
#[derive(Clone, Default)]
pub struct MemoryHeartbeats {
    checks: Arc<Mutex<BTreeMap<String, Check>>>,
    uuids: Arc<Mutex<BTreeMap<String, String>>>,
    pings: Arc<Mutex<BTreeMap<(String, u64), PingEntry>>>,
    flips: Arc<Mutex<BTreeMap<(String, u64), FlipEntry>>>,
    notices: Arc<Mutex<BTreeMap<String, StoredNotice>>>,
    leases: Arc<Mutex<BTreeMap<String, i64>>>,
    pub outage: Outage,
}

impl MemoryHeartbeats {
    fn create(&self, checks: &mut BTreeMap<String, Check>, name: &str, check: Check) {
        if let Some(uuid) = &check.uuid {
            self.uuids
                .lock()
                .unwrap()
                .insert(uuid.clone(), name.to_string());
        }
        checks.insert(name.to_string(), check);
    }
}

impl HeartbeatStore for MemoryHeartbeats {
    async fn record(&self, r: &Record<'_>) -> Result<Recorded> {
        self.outage.check("recording a ping")?;
        tokio::task::yield_now().await;
        let now = r.now_ms.div_euclid(1000);
        let mut checks = self.checks.lock().unwrap();
        let created = !checks.contains_key(r.check);
        if created {
            if !r.create {
                return Ok(Recorded::UnknownCheck);
            }
            let check = Check::created(
                r.check,
                uuid::Uuid::new_v4().to_string(),
                r.default_period,
                r.default_grace,
                now,
            );
            self.create(&mut checks, r.check, check);
        }
        let check = checks.get_mut(r.check).expect("present");
        if check.ignores_pings() {
            return Ok(Recorded::Ignored(Box::new(check.clone())));
        }
        let duration = r.apply(check);
        for rid in check.stale_runs() {
            check.runs.remove(&rid);
        }
        Ok(Recorded::Counted {
            check: Box::new(check.clone()),
            created,
            duration,
        })
    }

    async fn checks(&self) -> Result<Vec<Check>> {
        self.outage.check("listing the checks")?;
        Ok(self.checks.lock().unwrap().values().cloned().collect())
    }

    async fn set_check(&self, name: &str, settings: &CheckSettings, now: i64) -> Result<()> {
        self.outage.check("setting a check")?;
        let mut checks = self.checks.lock().unwrap();
        if !checks.contains_key(name) {
            let check = Check::created(name, uuid::Uuid::new_v4().to_string(), 0, 0, now);
            self.create(&mut checks, name, check);
        }
        let check = checks.get_mut(name).expect("present");
        check.period_seconds = settings.period_seconds;
        check.grace_seconds = settings.grace_seconds;
        check.cron = settings.cron.clone();
        check.manual_resume = settings.manual_resume;
        check.channels = settings.channels.clone();
        check.rev += 1;
        Ok(())
    }
}

impl CheckStates for MemoryHeartbeats {
    async fn check(&self, name: &str) -> Result<Option<Check>> {
        self.outage.check("reading a check")?;
        Ok(self.checks.lock().unwrap().get(name).cloned())
    }

    async fn settle(&self, read: &Check, step: &Step, notices: &[Notice]) -> Result<Settled> {
        self.outage.check("settling a check's state")?;
        tokio::task::yield_now().await;
        let mut checks = self.checks.lock().unwrap();
        let Some(check) = checks.get_mut(&read.name).filter(|c| c.rev == read.rev) else {
            return Ok(Settled::Stale);
        };
        let mut stored = self.notices.lock().unwrap();
        // As DynamoDB's transaction: a notice id already there cancels the whole write.
        if notices.iter().any(|n| stored.contains_key(&n.id)) {
            return Ok(Settled::Stale);
        }
        for n in notices {
            stored.insert(
                n.id.clone(),
                StoredNotice {
                    notice: n.clone(),
                    state: "pending".into(),
                    attempts: 0,
                    last_error: None,
                },
            );
        }
        check.rev += 1;
        check.state = step.state;
        if let Some(flip) = &step.flip {
            check.state_since = Some(flip.at);
            check.flips += 1;
            self.flips.lock().unwrap().insert(
                (read.name.clone(), check.flips % FLIPS_KEPT),
                FlipEntry {
                    n: check.flips,
                    flip: flip.clone(),
                },
            );
        }
        Ok(Settled::Written)
    }

    async fn by_uuid(&self, uuid: &str) -> Result<Option<String>> {
        self.outage.check("finding a check by UUID")?;
        Ok(self.uuids.lock().unwrap().get(uuid).cloned())
    }
}

/// One check's entries of a log kept by (check, slot), newest (highest number) first.
fn newest_first<T: Clone>(
    log: &BTreeMap<(String, u64), T>,
    check: &str,
    number: impl Fn(&T) -> u64,
) -> Vec<T> {
    let mut out: Vec<T> = log
        .iter()
        .filter(|((c, _), _)| c == check)
        .map(|(_, e)| e.clone())
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(number(e)));
    out
}

impl PingLog for MemoryHeartbeats {
    async fn log_ping(&self, check: &str, entry: &PingEntry) -> Result<()> {
        self.outage.check("logging a ping")?;
        self.pings
            .lock()
            .unwrap()
            .insert((check.to_string(), entry.n % PINGS_KEPT), entry.clone());
        Ok(())
    }

    async fn pings(&self, check: &str) -> Result<Vec<PingEntry>> {
        self.outage.check("reading the ping log")?;
        Ok(newest_first(&self.pings.lock().unwrap(), check, |e| e.n))
    }

    async fn flips(&self, check: &str) -> Result<Vec<FlipEntry>> {
        self.outage.check("reading the flips")?;
        Ok(newest_first(&self.flips.lock().unwrap(), check, |e| e.n))
    }
}

impl Claims for MemoryHeartbeats {
    type Message = Notice;

    fn kind(&self) -> &'static str {
        "notice"
    }

    async fn claim(&self, id: &str, now: i64, lease: i64) -> Result<Option<Claimed<Notice>>> {
        self.outage.check("claiming a notice")?;
        tokio::task::yield_now().await;
        let mut notices = self.notices.lock().unwrap();
        let mut leases = self.leases.lock().unwrap();
        let Some(n) = notices.get_mut(id).filter(|n| n.state == "pending") else {
            return Ok(None);
        };
        if leases.get(id).is_some_and(|until| *until >= now) {
            return Ok(None);
        }
        leases.insert(id.to_string(), now + lease);
        n.attempts += 1;
        Ok(Some(Claimed {
            message: n.notice.clone(),
            attempts: n.attempts,
        }))
    }

    async fn mark_sent(&self, id: &str, _receipt: &str, _at: &str) -> Result<()> {
        self.outage.check("marking a notice sent")?;
        self.leases.lock().unwrap().remove(id);
        if let Some(n) = self.notices.lock().unwrap().get_mut(id) {
            n.state = "sent".into();
        }
        Ok(())
    }

    async fn mark_failed(&self, id: &str, reason: &str, retry_at: Option<i64>) -> Result<()> {
        self.outage.check("marking a notice failed")?;
        match retry_at {
            Some(at) => self.leases.lock().unwrap().insert(id.to_string(), at),
            None => self.leases.lock().unwrap().remove(id),
        };
        if let Some(n) = self.notices.lock().unwrap().get_mut(id) {
            n.last_error = Some(reason.into());
        }
        Ok(())
    }

    async fn mark_dead(&self, id: &str, reason: &str, _at: &str) -> Result<()> {
        self.outage.check("marking a notice dead")?;
        self.leases.lock().unwrap().remove(id);
        if let Some(n) = self.notices.lock().unwrap().get_mut(id) {
            n.state = "dead".into();
            n.last_error = Some(reason.into());
        }
        Ok(())
    }

    async fn pending(&self) -> Result<Vec<String>> {
        self.outage.check("listing the notices")?;
        Ok(self
            .notices
            .lock()
            .unwrap()
            .values()
            .filter(|n| n.state == "pending")
            .map(|n| n.notice.id.clone())
            .collect())
    }
}

impl NoticeLog for MemoryHeartbeats {
    async fn notices(&self) -> Result<Vec<StoredNotice>> {
        self.outage.check("listing the notices")?;
        Ok(self.notices.lock().unwrap().values().cloned().collect())
    }
}

/// One call a receiver took: (URL, or `alerts`; body; notice id; signature).
pub type ReceivedCall = (String, String, String, Option<String>);

/// A webhook receiver and an Alertmanager that keep what they are sent, or refuse it all.
#[derive(Clone, Default)]
pub struct MemoryReceiver {
    /// (URL or `alerts`, body, notice id, signature) of every call taken.
    calls: Arc<Mutex<Vec<ReceivedCall>>>,
    refusing: Arc<Mutex<Option<String>>>,
    /// Secrets by parameter name, as SSM would keep them.
    pub secrets: Arc<Mutex<BTreeMap<String, String>>>,
}

impl MemoryReceiver {
    pub fn refuse(&self, reason: Option<&str>) {
        *self.refusing.lock().unwrap() = reason.map(str::to_string);
    }

    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.calls.lock().unwrap().clone()
    }

    fn take(
        &self,
        call: (String, String, String, Option<String>),
    ) -> std::result::Result<String, String> {
        if let Some(reason) = self.refusing.lock().unwrap().clone() {
            return Err(reason);
        }
        self.calls.lock().unwrap().push(call);
        Ok("HTTP 200".into())
    }
}

impl WebhookPoster for MemoryReceiver {
    async fn post(
        &self,
        url: &str,
        body: &[u8],
        notice_id: &str,
        secret_parameter: Option<&str>,
    ) -> std::result::Result<String, String> {
        tokio::task::yield_now().await;
        let signature = match secret_parameter {
            Some(name) => {
                let secret = self.secrets.lock().unwrap().get(name).cloned();
                let secret = secret
                    .ok_or_else(|| format!("the webhook's secret {name}: ParameterNotFound"))?;
                Some(telltale::heartbeat::notice::signature(
                    secret.as_bytes(),
                    body,
                ))
            }
            None => None,
        };
        self.take((
            url.to_string(),
            String::from_utf8_lossy(body).to_string(),
            notice_id.to_string(),
            signature,
        ))
    }
}

impl AlertPoster for MemoryReceiver {
    async fn post_alerts(&self, alerts: &serde_json::Value) -> std::result::Result<String, String> {
        tokio::task::yield_now().await;
        self.take(("alerts".into(), alerts.to_string(), String::new(), None))
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
