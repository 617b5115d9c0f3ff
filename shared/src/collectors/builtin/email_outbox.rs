//! `email_outbox`: probe emails SES has not accepted yet — an email that is not getting out is
//! what the team must hear about.
//!
//! `email_outbox pending=<i>,failing=<i>,max_attempts=<i>,oldest_age_seconds=<i>,dead=<i>`:
//! pending emails, those of them whose last attempt was refused, the most attempts any of them
//! took, how long the oldest has waited (absent when none is pending), and the emails given up
//! after too many refusals. Two queries of the sparse `emails-due` index, which holds only
//! pending and dead emails.

use crate::base::time::age_seconds;
use crate::collectors::point::Point;
use crate::collectors::sources::{Source, Sources};
use crate::collectors::{Collected, Collector, CollectorError, Spec};
use futures::future::BoxFuture;
use time::OffsetDateTime;

pub struct EmailOutbox;

const NAME: &str = "email_outbox";

static SPEC: Spec = Spec {
    name: NAME,
    description: "Probe emails not sent yet, how many were refused, and the age of the oldest",
    interval: "5m",
    sources: &[Source::Outbox],
};

impl Collector for EmailOutbox {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>> {
        Box::pin(async move {
            let table = sources.probes(NAME, Source::Outbox)?;
            let (pending, dead) = tokio::try_join!(table.unsent_emails(), table.given_up_emails())
                .map_err(|e| Source::Outbox.down(e.to_string()))?;
            let oldest = pending
                .iter()
                .filter_map(|e| e.queued_at.as_deref().and_then(|at| age_seconds(at, now)))
                .max();
            let point = Point::new("email_outbox")
                .field("pending", pending.len())
                .field("dead", dead.len())
                .field(
                    "failing",
                    pending.iter().filter(|e| e.last_error.is_some()).count(),
                )
                .field(
                    "max_attempts",
                    i64::from(pending.iter().map(|e| e.attempts).max().unwrap_or(0)),
                )
                .field_opt("oldest_age_seconds", oldest)
                .at(now);
            Ok(Collected {
                points: vec![point],
                warnings: Vec::new(),
            })
        })
    }
}
