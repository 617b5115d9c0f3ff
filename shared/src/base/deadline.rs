//! The time an invocation has left. Lambda gives every invocation a deadline; an answer that
//! comes after it is API Gateway's generic error, so each HTTP handler runs within it
//! (`within`), and the calls inside ask for what is left (`budget`) instead of waiting their
//! own full timeouts back to back.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Kept free before the deadline to shape and send the answer.
pub const MARGIN: Duration = Duration::from_millis(400);

/// How long a route may take when the invocation brings no usable deadline (a local emulator:
/// `cargo lambda watch` sends none, and its own `--timeout` breaks idle functions). A hung
/// dependency then still ends in an answer, as the deployed timeout (at most 15 s) would make it.
pub const WITHOUT_DEADLINE: Duration = Duration::from_secs(30);

/// The instant a route must be done by: the invocation's deadline less the margin, or
/// `WITHOUT_DEADLINE` from now when there is none.
pub fn or_local_limit(deadline: Option<Instant>) -> Instant {
    deadline.unwrap_or_else(|| Instant::now() + WITHOUT_DEADLINE)
}

/// The instant `deadline_ms` (unix milliseconds, as Lambda's context has it) falls on, less
/// the margin; `None` when there is no deadline (tests, local runs without one).
pub fn from_unix_millis(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    if deadline_ms <= now_ms + MARGIN.as_millis() as u64 {
        // Lambda hands out an invocation with its whole timeout ahead. A deadline already
        // gone at pickup comes from a local emulator (`cargo lambda watch` sends its timeout,
        // 600000, instead of an instant): run without one.
        tracing::debug!(
            deadline_ms,
            now_ms,
            "the invocation's deadline has passed at pickup; ignoring it"
        );
        return None;
    }
    Some(Instant::now() + Duration::from_millis(deadline_ms - now_ms) - MARGIN)
}

/// Runs `fut` with `deadline` visible to `budget`, and gives up at the deadline: `None` then.
pub async fn within<F: Future>(deadline: Option<Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        None => Some(fut.await),
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            tokio::time::timeout(left, DEADLINE.scope(at, fut))
                .await
                .ok()
        }
    }
}

/// How much earlier than the route's own cut a call inside it gives up. Without it both
/// timers fall on the same millisecond and which fires first is chance: the caller would get
/// either "Prometheus timed out" or the generic "did not finish in time". The inner one names
/// the slow dependency, so it must win.
pub const INNER_SLACK: Duration = Duration::from_millis(150);

/// `wanted`, or less if the invocation has less left (at least a millisecond, so a call is
/// attempted and fails as a timeout rather than never running).
pub fn budget(wanted: Duration) -> Duration {
    DEADLINE
        .try_with(|at| {
            at.saturating_duration_since(Instant::now())
                .saturating_sub(INNER_SLACK)
        })
        .map_or(wanted, |left| wanted.min(left))
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budgets_shrink_to_what_is_left() {
        assert_eq!(budget(Duration::from_secs(10)), Duration::from_secs(10));
        let at = Instant::now() + Duration::from_millis(200);
        let inside = within(Some(at), async { budget(Duration::from_secs(10)) })
            .await
            .unwrap();
        assert!(
            inside <= Duration::from_millis(200) - INNER_SLACK,
            "a call inside gives up before the route does: {inside:?}"
        );
        let late = within(Some(Instant::now() + Duration::from_millis(50)), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        assert!(late.is_none());
        assert!(from_unix_millis(0).is_none());
        assert!(
            from_unix_millis(1_000).is_none(),
            "a deadline long past is ignored"
        );
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let at = from_unix_millis(now_ms + 10_000).unwrap();
        let left = at.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(9) && left < Duration::from_secs(10),
            "{left:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_deadline_a_hung_route_still_ends() {
        let at = or_local_limit(None);
        let left = at.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(29) && left <= WITHOUT_DEADLINE,
            "{left:?}"
        );
        let hung = within(Some(at), std::future::pending::<()>()).await;
        assert!(hung.is_none(), "a route that never finishes is cut");
    }
}
