//! `accounting_push`: how the latest push of each accounted metric ended, and how long ago it
//! last succeeded.
//!
//! `accounting_push,resource=<r>,metric=<m> state="pushed|failed|never|skipped",last_ok=<0|1>,
//! last_attempt_age_seconds=<i>,last_success_age_seconds=<i>,value=<f>`, one point per metric
//! the push selects (`skipped`: it has no query, so it is never pushed). The ages and the
//! value are absent until there is one. The outcomes are read by key (BatchGetItem, 100 at a
//! time) for the metrics the mapping files name.

use crate::accounting::model::PushState;
use crate::accounting::push::select;
use crate::base::time::age_seconds;
use crate::collectors::point::Point;
use crate::collectors::sources::{Source, Sources};
use crate::collectors::{Collected, Collector, CollectorError, Spec};
use futures::future::BoxFuture;
use time::OffsetDateTime;

pub struct AccountingPush;

const NAME: &str = "accounting_push";

static SPEC: Spec = Spec {
    name: NAME,
    description: "Last outcome of each accounted metric's push and the age of its last success",
    interval: "1h",
    sources: &[Source::Mappings, Source::Accounting],
};

impl Collector for AccountingPush {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn collect<'a>(
        &'a self,
        sources: &'a Sources,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<Collected, CollectorError>> {
        Box::pin(async move {
            let store = sources.mappings(NAME)?;
            let table = sources.accounting(NAME)?;
            let view = store.view().await;
            let down = |e: crate::Error| Source::Mappings.down(e.to_string());
            let (targets, skipped) = select(
                view.metadata().map_err(down)?,
                view.metrics().map_err(down)?,
            );
            let keys: Vec<(String, String)> = targets
                .iter()
                .map(|t| (t.installation.clone(), t.definition.clone()))
                .collect();
            let outcomes = table
                .outcomes(&keys)
                .await
                .map_err(|e| Source::Accounting.down(e.to_string()))?;
            let mut out = Collected::default();
            for t in &targets {
                let point = Point::new("accounting_push")
                    .tag("resource", t.resource.as_str())
                    .tag("metric", t.metric.as_str());
                let point = match outcomes.get(&(t.installation.clone(), t.definition.clone())) {
                    None => point.field("state", "never").field("last_ok", 0i64),
                    Some(o) => point
                        .field("state", o.state.as_str())
                        .field("last_ok", i64::from(o.state == PushState::Pushed))
                        .field_opt("last_attempt_age_seconds", age_seconds(&o.at, now))
                        .field_opt(
                            "last_success_age_seconds",
                            o.last_success_at
                                .as_deref()
                                .and_then(|at| age_seconds(at, now)),
                        )
                        .field_opt("value", o.value),
                };
                out.points.push(point.at(now));
            }
            for s in skipped {
                out.points.push(
                    Point::new("accounting_push")
                        .tag("resource", s.resource.as_str())
                        .tag("metric", s.metric.as_str())
                        .field("state", "skipped")
                        .field("last_ok", 0i64)
                        .at(now),
                );
            }
            Ok(out)
        })
    }
}
