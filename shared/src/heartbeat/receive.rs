//! A ping received, whatever URL it came by: recorded on its check (created if asked), kept in
//! the check's ping log, and the check's state settled from what the ping changed.

use super::check::Check;
use super::ping::kept_body;
use super::ports::{Heartbeats, PingEntry, Record, Recorded, Settled};
use super::state::{step, Event, Flip, PingKind};
use crate::base::error::Result;

/// How often a state is decided again when other writes keep coming first; past that, the
/// next sweep settles it (the facts are recorded, so nothing is lost).
const SETTLE_TRIES: usize = 8;

/// One ping as the route read it.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    pub check: &'a str,
    pub kind: PingKind,
    pub rid: Option<&'a str>,
    /// Create the check with the defaults if it does not exist (`?create=1`).
    pub create: bool,
    /// Where the ping came from: `ping` for every URL form, as the counters label it.
    pub source: &'a str,
    pub method: &'a str,
    pub address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub body: &'a [u8],
    pub body_limit: usize,
    pub default_period: i64,
    pub default_grace: i64,
    pub now_ms: i64,
    /// The check `POST /heartbeat` counts alarm notifications into: no ping may count into it,
    /// or a cron job of that name would keep the seed's loop alarm quiet.
    pub webhook_check: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Recorded {
        created: bool,
        /// The flip the ping made, if it made one and settled it.
        flip: Option<Flip>,
    },
    /// Paused until a manual resume: logged as ignored.
    Ignored,
    UnknownCheck,
    /// The webhook's check: not counted, nothing recorded.
    WebhookCheck,
}

pub async fn receive(store: &impl Heartbeats, p: &Incoming<'_>) -> Result<Received> {
    if p.check == p.webhook_check {
        return Ok(Received::WebhookCheck);
    }
    let counts = [(p.kind.as_str().to_string(), 1u64)];
    let record = Record {
        check: p.check,
        source: p.source,
        counts: &counts,
        state: p.kind.as_str(),
        success: !p.kind.failed() && p.kind.ends_run(),
        start: p.kind == PingKind::Start,
        ends_run: p.kind.ends_run(),
        failed: p.kind.failed(),
        rid: p.rid,
        exit_status: p.kind.exit_status(),
        alarm: None,
        create: p.create,
        default_period: p.default_period,
        default_grace: p.default_grace,
        now_ms: p.now_ms,
    };
    let (check, created, duration, ignored) = match store.record(&record).await? {
        Recorded::UnknownCheck => return Ok(Received::UnknownCheck),
        Recorded::Ignored(check) => (check, false, None, true),
        Recorded::Counted {
            check,
            created,
            duration,
        } => (check, created, duration, false),
    };
    let entry = PingEntry {
        n: check.pings,
        at_ms: p.now_ms,
        kind: PingEntry::kind_of(p.kind, ignored),
        exit_status: p.kind.exit_status(),
        rid: p.rid.map(str::to_string),
        duration_seconds: duration,
        method: p.method.to_string(),
        address: p.address.map(str::to_string),
        user_agent: p.user_agent.map(str::to_string),
        body: kept_body(p.body, p.body_limit).to_vec(),
    };
    store.log_ping(p.check, &entry).await?;
    if ignored {
        return Ok(Received::Ignored);
    }
    let flip = settle(
        store,
        *check,
        Event::Ping(p.kind),
        p.now_ms.div_euclid(1000),
        kept_body(p.body, p.body_limit),
    )
    .await?;
    Ok(Received::Recorded { created, flip })
}

/// Decides the check's state after `event` and writes it with its flip, deciding again from a
/// fresh read whenever another write came first. The flip written, if one was.
/// `output` is the job's output when a ping caused it (its end goes into the notices).
pub async fn settle(
    store: &impl Heartbeats,
    mut check: Check,
    event: Event,
    now: i64,
    output: &[u8],
) -> Result<Option<Flip>> {
    for _ in 0..SETTLE_TRIES {
        let schedule = check.schedule();
        let next = step(&check.facts(&schedule), event, now);
        if next.flip.is_none() || next.ignored {
            return Ok(None);
        }
        let notices = match &next.flip {
            Some(flip) => super::notice::notices(&check, flip, check.flips + 1, output),
            None => Vec::new(),
        };
        match store.settle(&check, &next, &notices).await? {
            Settled::Written => return Ok(next.flip),
            Settled::Stale => match store.check(&check.name).await? {
                Some(fresh) => check = fresh,
                None => return Ok(None),
            },
        }
    }
    tracing::warn!(
        check = %check.name,
        "the check's state was left for the next sweep: other writes kept coming first"
    );
    Ok(None)
}
