//! One log line per dependency call: which dependency, which operation, how long, and how it
//! ended. It is logged inside the invocation's span, so it carries the request id and the
//! X-Ray trace id like every other line, and one request can be followed call by call.
//!
//! A call that got an answer (any 2xx–4xx status: a 404 or a failed condition is an answer the
//! adapter reads) is a debug line. A call that timed out, could not connect or got a 5xx is a
//! warning, so the operations docs' "dependency failures" query finds it at the default level.
//!
//! AWS calls are timed by an SDK interceptor (every operation of every client, no call site
//! to forget); the HTTP adapters send through `send`.

use std::time::{Duration, Instant};

/// How a call ended, as the `outcome` field says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer below 400 (304 included).
    Ok,
    /// A 4xx answer: the dependency understood and said no.
    Refused,
    /// A 5xx answer, or an answer that could not be read.
    Failed,
    Timeout,
    Unreachable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
        }
    }

    pub fn of_status(status: u16) -> Self {
        match status {
            0..=399 => Outcome::Ok,
            400..=499 => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }

    fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Timeout | Outcome::Unreachable
        )
    }
}

/// Logs one finished call. `status` is the HTTP status when an answer came.
pub fn record(
    dependency: &str,
    operation: &str,
    took: Duration,
    status: Option<u16>,
    outcome: Outcome,
) {
    // Tenths of a millisecond: enough to sort by, short to read.
    let duration_ms = crate::base::telemetry::millis(took);
    let status = status.unwrap_or(0);
    // One set of fields at either level (tracing's levels are fixed per call site).
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                dependency,
                operation,
                duration_ms,
                status,
                outcome = outcome.as_str(),
                "dependency call"
            )
        };
    }
    if outcome.is_failure() {
        line!(warn);
    } else {
        line!(debug);
    }
}

/// Sends an HTTP request and logs the call (the answer's headers; reading its body is the
/// adapter's own step).
pub async fn send(
    dependency: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let started = Instant::now();
    let result = request.send().await;
    let took = started.elapsed();
    match &result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            record(
                dependency,
                operation,
                took,
                Some(status),
                Outcome::of_status(status),
            );
        }
        Err(e) => {
            let outcome = if e.is_timeout() {
                Outcome::Timeout
            } else if e.is_connect() || e.is_request() {
                Outcome::Unreachable
            } else {
                Outcome::Failed
            };
            record(dependency, operation, took, None, outcome);
        }
    }
    result
}

pub mod sdk {
    //! The SDK interceptor: started before the first attempt, logged after the last, so the
    //! duration includes the SDK's own retries (the `operation` is e.g. `DynamoDB.GetItem`).

    use super::{record, Outcome};
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::context::{
        BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
    };
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
    use std::time::Instant;

    #[derive(Debug, Clone, Copy)]
    struct Started(Instant);

    impl Storable for Started {
        type Storer = StoreReplace<Self>;
    }

    #[derive(Debug, Default)]
    pub struct Timing;

    impl Intercept for Timing {
        fn name(&self) -> &'static str {
            "telltale timing"
        }

        fn read_before_execution(
            &self,
            _context: &BeforeSerializationInterceptorContextRef<'_>,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            cfg.interceptor_state().store_put(Started(Instant::now()));
            Ok(())
        }

        fn read_after_execution(
            &self,
            context: &FinalizerInterceptorContextRef<'_>,
            _runtime_components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let Some(Started(at)) = cfg.load::<Started>().copied() else {
                return Ok(());
            };
            let (service, operation) = cfg
                .load::<Metadata>()
                .map_or(("AWS", "call"), |m| (m.service(), m.name()));
            let status = context.response().map(|r| r.status().as_u16());
            let outcome = match (status, context.output_or_error()) {
                (Some(s), _) => Outcome::of_status(s),
                (None, Some(Err(e))) if e.is_timeout_error() => Outcome::Timeout,
                (None, Some(Err(e))) if e.is_connector_error() => Outcome::Unreachable,
                (None, Some(Ok(_))) => Outcome::Ok,
                (None, _) => Outcome::Failed,
            };
            record(service, operation, at.elapsed(), status, outcome);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_answers_until_the_server_fails() {
        assert_eq!(Outcome::of_status(200), Outcome::Ok);
        assert_eq!(Outcome::of_status(304), Outcome::Ok);
        assert_eq!(Outcome::of_status(404), Outcome::Refused);
        assert_eq!(Outcome::of_status(503), Outcome::Failed);
        assert!(!Outcome::Refused.is_failure());
        assert!(Outcome::Timeout.is_failure());
    }
}
