//! Evaluating PromQL queries and computations at a time: `#R#` ranges, the result rules of
//! the spec, and the registered functions. Values are f64, timestamps integer milliseconds.

use super::{BinOp, Computation, Expr};
use crate::base::error::{Error, Result};
use crate::metrics::ports::{PrometheusQuery, QueryData};
use crate::metrics::promql::RANGE_TOKEN;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

/// The longest range selector Prometheus parses (its durations are Go's, at most ~292 years);
/// kept well inside.
pub const MAX_RANGE_SECONDS: i64 = 200 * 366 * 86_400;

/// Everything an evaluation needs to know.
pub struct Context<'a> {
    pub prometheus: &'a dyn PrometheusQuery,
    /// Query time, unix seconds.
    pub time: i64,
    /// `counter.range.start`: where `#R#` ranges begin, unix seconds.
    pub range_start: i64,
    /// `resource/metric`, to name the mapping entry in messages.
    pub entry: &'a str,
}

impl Context<'_> {
    /// Replaces every `#R#` with the seconds from `range_start` to the query time.
    pub fn substitute(&self, text: &str) -> Result<String> {
        if !text.contains(RANGE_TOKEN) {
            return Ok(text.to_string());
        }
        let seconds = self.time.saturating_sub(self.range_start);
        if seconds > MAX_RANGE_SECONDS {
            return Err(self.refuse(format!(
                "the #R# range from counter.range.start {} to {} is longer than Prometheus takes",
                self.range_start, self.time
            )));
        }
        if seconds <= 0 {
            return Err(Error::BadRequest(format!(
                "{}: the #R# range is not positive: time {} is not after counter.range.start {}",
                self.entry, self.time, self.range_start
            )));
        }
        Ok(text.replace(RANGE_TOKEN, &format!("{seconds}s")))
    }

    fn refuse(&self, what: impl std::fmt::Display) -> Error {
        Error::Internal(format!("mapping entry {}: {what}", self.entry))
    }

    fn finite(&self, v: f64) -> Result<f64> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.refuse(format!("the value is {v}, not a finite number")))
        }
    }

    /// The value of an instant query: a scalar, or a vector of exactly one series.
    pub async fn instant(&self, promql: &str) -> Result<f64> {
        let promql = self.substitute(promql)?;
        match self.prometheus.query(&promql, self.time).await? {
            QueryData::Scalar(v) => self.finite(v),
            QueryData::Vector(items) => match items.as_slice() {
                [] => Err(Error::NotFound("no data".into())),
                [(_, v)] => self.finite(*v),
                many => Err(self.refuse(format!(
                    "the query returned {} series; it must return one (aggregate it, e.g. sum(...))",
                    many.len()
                ))),
            },
            QueryData::Matrix(_) => Err(self.refuse("the query returned a range vector; it must return one value")),
            QueryData::Text(_) => Err(self.refuse("the query returned a string; it must return a number")),
        }
    }

    /// The samples of a range query: one series (or none).
    async fn samples(&self, promql: &str) -> Result<Vec<(i64, f64)>> {
        match self.prometheus.query(promql, self.time).await? {
            QueryData::Matrix(mut series) => match series.len() {
                0 => Ok(Vec::new()),
                1 => Ok(series.remove(0).1),
                n => Err(self.refuse(format!(
                    "{promql} returned {n} series; sumPeriods needs one"
                ))),
            },
            _ => Err(self.refuse(format!("{promql} did not return a range vector"))),
        }
    }

    /// `sumPeriods(counts, stamps, from)`: over `[from, time]`, walk the stamps series in time
    /// order and note the timestamp at which each stamp value first appears; sum the counts
    /// series' values at exactly those timestamps (a missing count adds nothing).
    pub async fn sum_periods(&self, counts: &str, stamps: &str, from: f64) -> Result<f64> {
        let from = from.floor() as i64;
        let seconds = self.time.saturating_sub(from);
        if seconds > MAX_RANGE_SECONDS {
            return Err(self.refuse(format!(
                "sumPeriods from {from} to {} spans more than Prometheus takes",
                self.time
            )));
        }
        if seconds <= 0 {
            return Err(Error::BadRequest(format!(
                "{}: sumPeriods starts at {from}, which is not before the query time {}",
                self.entry, self.time
            )));
        }
        let counts_query = format!("{}[{seconds}s]", self.substitute(counts)?);
        let stamps_query = format!("{}[{seconds}s]", self.substitute(stamps)?);
        let (counts, mut stamps) =
            tokio::try_join!(self.samples(&counts_query), self.samples(&stamps_query))?;
        if stamps.is_empty() {
            return Err(Error::NotFound("no data".into()));
        }
        stamps.sort_by_key(|(t, _)| *t);
        let mut seen = HashSet::new();
        let period_starts: Vec<i64> = stamps
            .iter()
            .filter(|(_, v)| seen.insert(v.to_bits()))
            .map(|(t, _)| *t)
            .collect();
        let by_time: HashMap<i64, f64> = counts.into_iter().collect();
        let sum = period_starts.iter().filter_map(|t| by_time.get(t)).sum();
        self.finite(sum)
    }
}

enum Value {
    Number(f64),
    Text(String),
}

type Eval<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

fn eval<'a>(expr: &'a Expr, ctx: &'a Context<'a>) -> Eval<'a> {
    Box::pin(async move {
        let number = |v: Value| match v {
            Value::Number(n) => Ok(n),
            // Type-checked at load; kept total rather than panicking.
            Value::Text(_) => Err(ctx.refuse("a string was used as a number")),
        };
        Ok(match expr {
            Expr::Num(n) => Value::Number(*n),
            Expr::Str(s) => Value::Text(s.clone()),
            Expr::Neg(e, _) => Value::Number(-number(eval(e, ctx).await?)?),
            Expr::Binary(op, l, r, _) => {
                let (l, r) = tokio::try_join!(eval(l, ctx), eval(r, ctx))?;
                let (l, r) = (number(l)?, number(r)?);
                Value::Number(match op {
                    BinOp::Add => l + r,
                    BinOp::Sub => l - r,
                    BinOp::Mul => l * r,
                    BinOp::Div => l / r,
                })
            }
            Expr::Call { name, args, .. } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(eval(a, ctx).await?);
                }
                match (name.as_str(), values.as_slice()) {
                    ("query", [Value::Text(q)]) => Value::Number(ctx.instant(q).await?),
                    ("sumPeriods", [Value::Text(c), Value::Text(s), Value::Number(from)]) => {
                        Value::Number(ctx.sum_periods(c, s, *from).await?)
                    }
                    _ => return Err(ctx.refuse(format!("cannot call {name} with these arguments"))),
                }
            }
        })
    })
}

/// The value of a computation; NaN and infinities (e.g. a division by zero) are refused.
pub async fn evaluate(computation: &Computation, ctx: &Context<'_>) -> Result<f64> {
    match eval(&computation.expr, ctx).await? {
        Value::Number(n) => ctx.finite(n),
        Value::Text(_) => Err(ctx.refuse("the computation produced a string")),
    }
}
