//! `probe_pipeline`: how many candidates wait in each status, for how long, and how long
//! testing takes.
//!
//! - `probe_pipeline,status=<status> count=<i>,oldest_age_seconds=<i>` — one point per status
//!   (the age is absent when the status is empty); the oldest age in `testing` is the longest
//!   stay in testing so far.
//! - `probe_testing_time completed=<i>,mean_seconds=<f>,max_seconds=<i>` — every finished stay
//!   in testing, read from the candidates' histories (mean and max absent while none finished).
//!
//! One index query per status (the `by-status` index); a status that cannot be read is a
//! warning, the others are written. The testing time needs every status, so it is left out
//! (with a warning) when one is missing.

use crate::base::time::{age_seconds, parse_time};
use crate::collectors::point::Point;
use crate::collectors::sources::{Source, Sources};
use crate::collectors::{Collected, Collector, CollectorError, Spec};
use crate::probes::model::{Candidate, Status};
use futures::future::BoxFuture;
use time::OffsetDateTime;

pub struct ProbePipeline;

const NAME: &str = "probe_pipeline";

static SPEC: Spec = Spec {
    name: NAME,
    description: "Probe candidates per status, the age of the oldest in each status, and time spent in testing",
    interval: "5m",
    sources: &[Source::Candidates],
};

impl Collector for ProbePipeline {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>> {
        Box::pin(async move {
            let table = sources.probes(NAME, Source::Candidates)?;
            let lists = futures::future::join_all(
                Status::ALL
                    .map(|status| async move { (status, table.candidates(Some(status)).await) }),
            )
            .await;
            let mut out = Collected::default();
            let mut everyone: Vec<Candidate> = Vec::new();
            let mut first_error = None;
            for (status, result) in lists {
                match result {
                    Ok(candidates) => {
                        let oldest = candidates
                            .iter()
                            .filter_map(|c| age_seconds(&c.status_changed_at, now))
                            .max();
                        out.points.push(
                            Point::new("probe_pipeline")
                                .tag("status", status.as_str())
                                .field("count", candidates.len())
                                .field_opt("oldest_age_seconds", oldest)
                                .at(now),
                        );
                        everyone.extend(candidates);
                    }
                    Err(e) => {
                        out.warnings
                            .push(format!("status {}: not read: {e}", status.as_str()));
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
            if out.points.is_empty() {
                return Err(Source::Candidates
                    .down(first_error.unwrap_or_else(|| "no status could be read".into())));
            }
            if first_error.is_some() {
                out.warnings
                    .push("probe_testing_time left out: it needs every status".into());
            } else {
                out.points.push(testing_time(&everyone).at(now));
            }
            Ok(out)
        })
    }
}

/// Every finished stay in testing: from entering `testing` to the next change.
fn testing_time(candidates: &[Candidate]) -> Point {
    let stays: Vec<i64> = candidates
        .iter()
        .flat_map(|c| c.history.windows(2))
        .filter(|pair| pair[0].to == Status::Testing)
        .filter_map(|pair| {
            Some(
                (parse_time(&pair[1].at)? - parse_time(&pair[0].at)?)
                    .whole_seconds()
                    .max(0),
            )
        })
        .collect();
    let completed = stays.len();
    let mean = (completed > 0).then(|| stays.iter().sum::<i64>() as f64 / completed as f64);
    Point::new("probe_testing_time")
        .field("completed", completed)
        .field_opt("mean_seconds", mean)
        .field_opt("max_seconds", stays.iter().max().copied())
}
