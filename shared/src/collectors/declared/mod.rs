//! Declared collectors: a document fetched over HTTP (or a PromQL query) reshaped into points
//! by a jq program, written in `infra/collectors.yaml` rather than in Rust.
//!
//! - `file.rs` reads and checks the file (`checks.rs`: its rules and the problems' places);
//!   `program.rs` runs jq; `runner.rs` is the program's thread; `formats.rs` decodes the
//!   document; `shape.rs` turns outputs into points.
//! - A run fetches every request of its matrix (at once), then runs the program over each
//!   answer on a thread of its own, within the run's budget. Any failure fails the whole run
//!   naming the collector and what was wrong; nothing of a failed run is written.
//! - A declared collector lives as long as the process: its description is leaked once at
//!   load (cold start), so the registry hands out `&'static` collectors like the built-ins.

mod checks;
pub mod file;
pub mod formats;
pub mod program;
mod runner;
pub mod shape;

use super::point::{FieldValue, Point};
use super::ports::{DocumentRequest, HeaderValue};
use super::sources::{Source, Sources};
use super::types::FieldType;
use super::{Collected, Collector, CollectorError, Spec};
use formats::Format;
use futures::future::BoxFuture;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use runner::{run_program, series, Input};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// A whole run at most (every fetch and the program), under the function's 60 s timeout;
/// a collector's `budget:` may ask for less.
pub const RUN_BUDGET: Duration = Duration::from_secs(40);
/// The largest document a collector reads.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Stack for the program's thread: jaq recurses, and a deep document or a recursive
/// definition should fail as an error long before the process runs out of stack.
const PROGRAM_STACK: usize = 64 * 1024 * 1024;

/// Characters a matrix or variable value keeps in a URL: RFC 3986's unreserved ones.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq)]
pub struct HttpFetch {
    pub url: String,
    pub headers: Vec<(String, HeaderValue)>,
    pub timeout: Duration,
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    Http(HttpFetch),
    Promql(String),
}

pub struct Declared {
    spec: &'static Spec,
    fetch: Fetch,
    vars: BTreeMap<String, String>,
    matrix: Vec<(String, Vec<String>)>,
    jq: Option<String>,
    measurement: Option<String>,
    fields: BTreeMap<String, FieldType>,
    /// The whole run's time (`budget:`, at most `RUN_BUDGET`).
    budget: Duration,
}

impl Declared {
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        description: String,
        interval: String,
        fetch: Fetch,
        vars: BTreeMap<String, String>,
        matrix: Vec<(String, Vec<String>)>,
        jq: Option<String>,
        measurement: Option<String>,
        fields: BTreeMap<String, FieldType>,
        budget: Duration,
    ) -> Declared {
        let sources: &'static [Source] = match fetch {
            Fetch::Http(_) => &[Source::Documents],
            Fetch::Promql(_) => &[Source::Prometheus],
        };
        let spec = Box::leak(Box::new(Spec {
            name: Box::leak(name.into_boxed_str()),
            description: Box::leak(description.into_boxed_str()),
            interval: Box::leak(interval.into_boxed_str()),
            sources,
        }));
        Declared {
            spec,
            fetch,
            vars,
            matrix,
            jq,
            measurement,
            fields,
            budget,
        }
    }

    /// The variable names the program sees, `now` first.
    fn names(&self) -> Vec<String> {
        let mut names = vec!["now".to_string()];
        names.extend(self.vars.keys().cloned());
        names.extend(self.matrix.iter().map(|(k, _)| k.clone()));
        names
    }

    /// Every combination of the matrix's values (one, empty, without a matrix).
    fn combinations(&self) -> Vec<Vec<&str>> {
        let mut out: Vec<Vec<&str>> = vec![Vec::new()];
        for (_, values) in &self.matrix {
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let mut next = prefix.clone();
                        next.push(v.as_str());
                        next
                    })
                })
                .collect();
        }
        out
    }

    /// The URL with `{variable}` filled in (values percent-encoded).
    fn url(&self, template: &str, combination: &[&str]) -> String {
        let mut url = template.to_string();
        let values = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(
                self.matrix
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .zip(combination.iter().copied()),
            );
        for (k, v) in values {
            url = url.replace(
                &format!("{{{k}}}"),
                &utf8_percent_encode(v, URL_VALUE).to_string(),
            );
        }
        url
    }

    /// The `SSM` parameters its headers read (the template grants exactly these).
    pub fn secret_parameters(&self) -> Vec<String> {
        match &self.fetch {
            Fetch::Http(h) => h
                .headers
                .iter()
                .filter_map(|(_, v)| match v {
                    HeaderValue::Secret(p) => Some(p.clone()),
                    HeaderValue::Literal(_) => None,
                })
                .collect(),
            Fetch::Promql(_) => Vec::new(),
        }
    }

    fn failed(&self, message: impl Into<String>) -> CollectorError {
        CollectorError::Run {
            collector: self.spec.name.to_string(),
            message: message.into(),
        }
    }

    async fn inputs(
        &self,
        sources: &Sources,
        now: OffsetDateTime,
    ) -> Result<Vec<(Input, Vec<&str>)>, CollectorError> {
        match &self.fetch {
            Fetch::Promql(q) => {
                let prometheus = sources.prometheus(self.spec.name)?;
                let data = prometheus
                    .query(q, now.unix_timestamp())
                    .await
                    .map_err(|e| Source::Prometheus.down(e.to_string()))?;
                Ok(vec![(Input::Series(data), Vec::new())])
            }
            Fetch::Http(h) => {
                let documents = sources.documents(self.spec.name)?;
                let requests: Vec<(DocumentRequest, Vec<&str>)> = self
                    .combinations()
                    .into_iter()
                    .map(|c| {
                        let request = DocumentRequest {
                            url: self.url(&h.url, &c),
                            headers: h.headers.clone(),
                            timeout: h.timeout,
                            max_bytes: MAX_BODY_BYTES,
                        };
                        (request, c)
                    })
                    .collect();
                let bodies =
                    futures::future::try_join_all(requests.iter().map(|(r, _)| documents.get(r)))
                        .await
                        .map_err(|e| self.failed(e))?;
                Ok(bodies
                    .into_iter()
                    .zip(requests)
                    .map(|(body, (_, c))| {
                        (
                            Input::Document {
                                body,
                                format: h.format,
                            },
                            c,
                        )
                    })
                    .collect())
            }
        }
    }

    /// Runs the program (or the plain PromQL mapping) on its own thread within `deadline`.
    async fn points(
        &self,
        inputs: Vec<(Input, Vec<&str>)>,
        now: OffsetDateTime,
        deadline: Instant,
    ) -> Result<(Vec<Point>, usize), CollectorError> {
        let Some(jq) = self.jq.clone() else {
            return Ok(self.series_points(inputs, now));
        };
        let names = self.names();
        let fixed: Vec<String> = self.vars.values().cloned().collect();
        let inputs: Vec<(Input, Vec<String>)> = inputs
            .into_iter()
            .map(|(i, c)| (i, c.into_iter().map(str::to_string).collect()))
            .collect();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("jq {}", self.spec.name))
            .stack_size(PROGRAM_STACK)
            .spawn(move || {
                let _ = tx.send(run_program(&jq, &names, &fixed, inputs, now, deadline));
            });
        if let Err(e) = spawned {
            return Err(self.failed(format!("no thread for the program: {e}")));
        }
        let budget = self.budget.as_secs_f64();
        match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(Ok(result)) => result.map_err(|e| self.failed(e)),
            Ok(Err(_)) => Err(self.failed("the program stopped without an answer")),
            Err(_) => {
                program::mark_abandoned();
                Err(self.failed(format!(
                    "the program ran past the run's {budget} s budget and was given up"
                )))
            }
        }
    }

    /// `promql` without a program: one point per series, its labels as tags (less
    /// `__name__`) and its value as the float field `value`.
    fn series_points(
        &self,
        inputs: Vec<(Input, Vec<&str>)>,
        now: OffsetDateTime,
    ) -> (Vec<Point>, usize) {
        let measurement = self.measurement.clone().unwrap_or_default();
        let mut points = Vec::new();
        let mut left_out = 0;
        for (input, _) in inputs {
            let Input::Series(data) = input else { continue };
            for (labels, value) in series(data) {
                if !value.is_finite() {
                    left_out += 1;
                    continue;
                }
                let mut p =
                    Point::new(measurement.clone()).field("value", FieldValue::Float(value));
                for (k, v) in labels.into_iter().filter(|(k, _)| k != "__name__") {
                    p = p.tag(k, v);
                }
                points.push(p.at(now));
            }
        }
        (points, left_out)
    }
}

impl Collector for Declared {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    fn field_types(&self) -> &BTreeMap<String, FieldType> {
        &self.fields
    }

    fn secret_parameters(&self) -> Vec<String> {
        Declared::secret_parameters(self)
    }

    fn declared(&self) -> bool {
        true
    }

    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>> {
        Box::pin(async move {
            let deadline = Instant::now() + self.budget;
            let inputs = tokio::time::timeout_at(deadline.into(), self.inputs(sources, now))
                .await
                .map_err(|_| {
                    self.failed(format!(
                        "the fetches ran past the run's {} s budget",
                        RUN_BUDGET.as_secs()
                    ))
                })??;
            let (points, left_out) = self.points(inputs, now, deadline).await?;
            let mut warnings = Vec::new();
            if left_out > 0 {
                warnings.push(format!(
                    "{}: {left_out} NaN or infinite value(s) left out (InfluxDB cannot store them)",
                    self.spec.name
                ));
            }
            Ok(Collected { points, warnings })
        })
    }
}
