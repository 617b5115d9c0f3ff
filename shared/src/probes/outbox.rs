//! Delivering outbox emails: claim, send, record (`crate::outbox`, the algorithm every channel
//! shares). Used right after the change that caused the email, and by the scheduled
//! `email-retry` function for whatever is still pending. Delivery is at least once.

use super::email::Email;
use super::ports::{Mailer, Outbox};
use crate::base::error::Result;
use crate::outbox::{claim_and_send, ports, record};
pub use crate::outbox::{Delivery, RetrySummary, LEASE_SECONDS, MAX_ATTEMPTS};

/// The candidates' outbox as the shared delivery sees it.
pub struct Emails<'a, O>(pub &'a O);

impl<O: Outbox> ports::Claims for Emails<'_, O> {
    type Message = Email;

    fn kind(&self) -> &'static str {
        "email"
    }

    // Each method returns the port's own future (no borrow of the wrapper), so the outbox
    // need not be `Sync` for the delivery to be `Send`.
    fn claim(
        &self,
        id: &str,
        now: i64,
        lease_seconds: i64,
    ) -> impl std::future::Future<Output = Result<Option<ports::Claimed<Email>>>> + Send {
        let claimed = self.0.claim(id, now, lease_seconds);
        async move {
            Ok(claimed.await?.map(|e| ports::Claimed {
                message: e.email,
                attempts: e.attempts,
            }))
        }
    }

    fn mark_sent(
        &self,
        id: &str,
        receipt: &str,
        at: &str,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        self.0.mark_sent(id, receipt, at)
    }

    fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        retry_at: Option<i64>,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        self.0.mark_failed(id, reason, retry_at)
    }

    fn mark_dead(
        &self,
        id: &str,
        reason: &str,
        at: &str,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        self.0.mark_dead(id, reason, at)
    }

    fn pending(&self) -> impl std::future::Future<Output = Result<Vec<String>>> + Send {
        self.0.pending()
    }
}

/// The mail service as the shared delivery's email channel.
pub struct MailChannel<'a, M>(pub &'a M);

impl<M: Mailer> ports::Sender<Email> for MailChannel<'_, M> {
    fn send(
        &self,
        email: &Email,
    ) -> impl std::future::Future<Output = std::result::Result<String, ports::Refusal>> + Send {
        self.0.send(email)
    }
}

pub async fn deliver(outbox: &impl Outbox, mailer: &impl Mailer, id: &str) -> Result<Delivery> {
    crate::outbox::deliver(&Emails(outbox), &MailChannel(mailer), id).await
}

/// How long the email step after a committed change may take before the answer goes out
/// without it (the email stays pending and `email-retry` sends it).
pub const AFTER_COMMIT_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Delivers the email of a change that is already committed. Never fails: `Some(reason)` when
/// the email did not go out now (refused, store error, out of time), saying whether it is
/// retried (it stays pending) or not (refused for good).
pub async fn deliver_after_commit(
    outbox: &impl Outbox,
    mailer: &impl Mailer,
    id: &str,
) -> Option<String> {
    let (outbox, mailer) = (&Emails(outbox), &MailChannel(mailer));
    let budget = crate::base::deadline::budget(AFTER_COMMIT_BUDGET);
    // The budget bounds the claim and the send; the record after an accepted send is not cut
    // short by it (cutting it would leave a sent email pending, to be sent again).
    let recorded = match tokio::time::timeout(budget, claim_and_send(outbox, mailer, id)).await {
        Ok(Ok(None)) => Ok(Delivery::NotDue),
        Ok(Ok(Some(attempt))) => record(outbox, id, attempt).await,
        Ok(Err(e)) => Err(e),
        Err(_) => {
            tracing::warn!(email = id, "email step out of time; it stays pending");
            return Some("the mail step ran out of time. It will be retried".into());
        }
    };
    match recorded {
        Ok(Delivery::Sent | Delivery::NotDue) => None,
        Ok(Delivery::Failed(reason)) => Some(format!("{reason}. It will be retried")),
        Ok(Delivery::Dead(reason)) => Some(format!("{reason}. It will not be retried")),
        Err(e) => {
            tracing::warn!(email = id, error = %e, "email not delivered after the change; it stays pending");
            Some(format!("{e}. It will be retried"))
        }
    }
}

/// Tries every pending email once; one that fails (refused, or a store error) never stops the
/// others.
pub async fn deliver_pending(outbox: &impl Outbox, mailer: &impl Mailer) -> Result<RetrySummary> {
    crate::outbox::deliver_pending(&Emails(outbox), &MailChannel(mailer)).await
}

/// `deliver_pending` as of `now`: an email refused before is tried only once its wait
/// (`crate::outbox::backoff_seconds`) is over.
pub async fn deliver_pending_at(
    outbox: &impl Outbox,
    mailer: &impl Mailer,
    now: time::OffsetDateTime,
) -> Result<RetrySummary> {
    crate::outbox::deliver_pending_at(&Emails(outbox), &MailChannel(mailer), now).await
}
