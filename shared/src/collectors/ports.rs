//! What the collectors need from the outside world: the stores they read (as `dyn` views of
//! the domains' own ports, so one `Sources` holds whichever the function is configured with) and
//! the sink the points go to (InfluxDB as deployed, in memory in the testkit).

use super::point::Point;
use super::types::StoredTypes;
use crate::base::error::Result;
use crate::probes::model::{Candidate, Status};
use crate::probes::ports::{CandidateStore, Outbox, OutboxEmail};
use futures::future::BoxFuture;
use std::future::Future;
use std::time::Duration;

/// The probe table as the collectors read it.
pub trait ProbeReader: Send + Sync {
    /// Candidates with this status (through the by-status index), or all.
    fn candidates(&self, status: Option<Status>) -> BoxFuture<'_, Result<Vec<Candidate>>>;

    /// The emails not sent yet, whole.
    fn unsent_emails(&self) -> BoxFuture<'_, Result<Vec<OutboxEmail>>>;

    /// The emails given up on.
    fn given_up_emails(&self) -> BoxFuture<'_, Result<Vec<OutboxEmail>>>;
}

impl<T: CandidateStore + Outbox + Send + Sync> ProbeReader for T {
    fn candidates(&self, status: Option<Status>) -> BoxFuture<'_, Result<Vec<Candidate>>> {
        Box::pin(CandidateStore::list(self, status))
    }

    fn unsent_emails(&self) -> BoxFuture<'_, Result<Vec<OutboxEmail>>> {
        Box::pin(Outbox::pending_emails(self))
    }

    fn given_up_emails(&self) -> BoxFuture<'_, Result<Vec<OutboxEmail>>> {
        Box::pin(Outbox::dead_emails(self))
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub points: usize,
    pub requests: usize,
}

/// Where a run's points go.
pub trait PointSink: Sync {
    /// Said at every run (a sink configured insecurely, say).
    fn warnings(&self) -> Vec<String>;

    /// Writes every point; nothing is written if any point cannot be encoded. The error names
    /// the sink and carries its own message.
    fn write_points(
        &self,
        points: &[Point],
    ) -> impl Future<Output = Result<Written, String>> + Send;

    /// The field types already stored for these measurements (InfluxDB's `SHOW FIELD KEYS`),
    /// read once per run; empty where the sink cannot tell.
    fn field_types(
        &self,
        measurements: &[String],
    ) -> impl Future<Output = Result<StoredTypes, String>> + Send;
}

/// One GET of a declared collector's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    pub url: String,
    /// Header values; `Secret` names an SSM parameter read (once per cold start) for it.
    pub headers: Vec<(String, HeaderValue)>,
    pub timeout: Duration,
    /// A longer body fails the run.
    pub max_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Literal(String),
    Secret(String),
}

/// The documents declared collectors read, over HTTP(S) with certificates verified.
pub trait Documents: Send + Sync {
    /// The body of a 2xx answer; otherwise a message naming the URL (never its secrets) and
    /// what went wrong: the status and the start of the answer, a timeout, an oversize body.
    fn get<'a>(&'a self, request: &'a DocumentRequest) -> BoxFuture<'a, Result<Vec<u8>, String>>;
}
