//! The accounting push and the token refresh on in-memory ports: which metrics go out, for
//! which period, how each push ends, what is retried, and when a token is refreshed.

use serde_json::json;
use std::time::Duration;
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::accounting::model::{push_key, StoredToken};
use telltale::accounting::ports::AccountingStore;
use telltale::accounting::push::{zulu, Pusher, Summary};
use telltale::accounting::token::{refresh, valid_token};
use telltale::base::env::Secret;
use telltale::metrics::mappings::{MetadataMappings, MetricsMappings};
use telltale::metrics::parse::{parse_metadata, parse_metrics};
use telltale_testkit::memory::{MemoryAccounting, MemoryEosc, MemoryGrant, MemoryPrometheus};

const END: i64 = 1_795_219_200;
const RANGE_START: i64 = END - 86_400;

struct World {
    config: AccountingConfig,
    table: MemoryAccounting,
    eosc: MemoryEosc,
    grant: MemoryGrant,
    prometheus: MemoryPrometheus,
    metadata: MetadataMappings,
    metrics: MetricsMappings,
}

fn config(mode: PeriodMode) -> AccountingConfig {
    AccountingConfig {
        base_url: "https://accounting.example.org".into(),
        token_url: "https://aai.example.org/token".into(),
        client_id: "telltale-client".into(),
        client_secret: Secret::new("s3cret"),
        initial_refresh_token: Some(Secret::new("initial-refresh")),
        table: "accounting".into(),
        period_mode: mode,
        concurrency: 2,
        refresh_margin: Duration::from_secs(300),
        retry_base: Duration::from_millis(1),
        retries: 3,
    }
}

impl World {
    fn new(mode: PeriodMode) -> World {
        let metadata = json!({
            "res1": {"metrics": {
                "a": {"name": "A", "eoscMetricDefinitionId": "def-a"},
                "b": {"name": "B", "eoscMetricDefinitionId": "def-b"},
                "noquery": {"name": "No query", "eoscMetricDefinitionId": "def-n"},
                "nodef": {"name": "Not accounted"}
            }, "eoscInstallationId": "inst-1"},
            "res2": {"metrics": {"m": {"name": "No installation", "eoscMetricDefinitionId": "def-m"}}}
        });
        let metrics = json!({
            "res1": {"a": {"query": "sum(acc_a)"}, "b": {"query": "sum(acc_b)"}, "nodef": {"query": "acc_a"}},
            "res2": {"m": {"query": "acc_a"}}
        });
        World {
            config: config(mode),
            table: MemoryAccounting::default(),
            eosc: MemoryEosc::default(),
            grant: MemoryGrant::new("initial-refresh"),
            prometheus: MemoryPrometheus::default()
                .with("sum(acc_a)", 5.0)
                .with("sum(acc_b)", 7.5),
            metadata: parse_metadata(metadata.to_string().as_bytes()).unwrap(),
            metrics: parse_metrics(metrics.to_string().as_bytes()).unwrap(),
        }
    }

    fn pusher(&self) -> Pusher<'_> {
        Pusher {
            service: &self.eosc,
            grant: &self.grant,
            config: &self.config,
            table: &self.table,
            prometheus: &self.prometheus,
            range_start: RANGE_START,
        }
    }

    async fn push(&self, end: i64) -> Summary {
        self.pusher().run(&self.metadata, &self.metrics, end).await
    }
}

#[tokio::test]
async fn the_exact_requests_for_a_known_mapping() {
    let w = World::new(PeriodMode::Cumulative);
    let summary = w.push(END).await;
    let (from, to) = (zulu(RANGE_START), zulu(END));
    let sent: Vec<(String, String, serde_json::Value)> = w.eosc.accepted();
    let url = "https://accounting.example.org/accounting-system/installations/inst-1/metrics";
    let mut bodies: Vec<_> = sent
        .iter()
        .map(|(u, _, b)| (u.as_str(), b.clone()))
        .collect();
    bodies.sort_by_key(|(_, b)| b["metric_definition_id"].as_str().unwrap().to_string());
    assert_eq!(
        bodies,
        vec![
            (
                url,
                json!({"metric_definition_id": "def-a", "time_period_start": from, "time_period_end": to, "value": 5.0})
            ),
            (
                url,
                json!({"metric_definition_id": "def-b", "time_period_start": from, "time_period_end": to, "value": 7.5})
            ),
        ]
    );
    assert_eq!(
        (
            summary.pushed.len(),
            summary.failed.len(),
            summary.skipped.len()
        ),
        (2, 0, 1)
    );
    assert_eq!(
        (
            summary.skipped[0].metric.as_str(),
            summary.skipped[0].reason.as_str()
        ),
        ("noquery", "no query for it in metrics_mappings.json")
    );
    // No token yet: one refresh on demand, and every POST carried that token.
    assert_eq!(w.grant.grants(), 1);
    assert!(sent.iter().all(|(_, bearer, _)| bearer == "access-1"));
    let stored = w.table.stored_token().unwrap();
    assert_eq!(
        (stored.version, stored.refresh_token.expose()),
        (1, "refresh-1")
    );
}

#[tokio::test]
async fn a_re_run_for_the_same_time_pushes_nothing_twice() {
    let w = World::new(PeriodMode::Cumulative);
    assert_eq!(w.push(END).await.pushed.len(), 2);
    let second = w.push(END).await;
    assert_eq!(second.pushed.len(), 0);
    let already = second
        .skipped
        .iter()
        .filter(|s| s.reason.starts_with("already pushed for"))
        .count();
    assert_eq!(already, 2, "{second:?}");
    assert_eq!(w.eosc.accepted().len(), 2);
    assert_eq!(
        w.push(END + 3600).await.pushed.len(),
        2,
        "a later push is a new period"
    );
}

#[tokio::test]
async fn incremental_periods_never_overlap() {
    let w = World::new(PeriodMode::Incremental);
    for end in [END, END + 600, END + 1200] {
        assert_eq!(w.push(end).await.pushed.len(), 2);
    }
    let again = w.push(END + 1200).await;
    assert_eq!(again.pushed.len(), 0);
    assert!(
        again
            .skipped
            .iter()
            .any(|s| s.reason.starts_with("nothing new")),
        "{again:?}"
    );
    let mut periods: Vec<(String, String)> = w
        .eosc
        .accepted()
        .iter()
        .filter(|(_, _, b)| b["metric_definition_id"] == "def-a")
        .map(|(_, _, b)| {
            (
                b["time_period_start"].as_str().unwrap().into(),
                b["time_period_end"].as_str().unwrap().into(),
            )
        })
        .collect();
    periods.sort();
    assert_eq!(
        periods,
        vec![
            (zulu(RANGE_START), zulu(END)),
            (zulu(END), zulu(END + 600)),
            (zulu(END + 600), zulu(END + 1200))
        ]
    );
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let w = World::new(PeriodMode::Cumulative);
    assert_eq!(w.push(END).await.pushed.len(), 2);
    w.eosc.revoke("access-1");
    let summary = w.push(END + 60).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (2, 0),
        "{summary:?}"
    );
    assert_eq!(
        w.grant.grants(),
        2,
        "one refresh for the 401, reused by the next metric"
    );
    let tokens: Vec<String> = w.eosc.accepted().into_iter().map(|(_, t, _)| t).collect();
    assert_eq!(&tokens[2..], ["access-2", "access-2"]);
}

#[tokio::test]
async fn busy_answers_are_retried_and_push_once() {
    let w = World::new(PeriodMode::Cumulative);
    let w = World {
        eosc: w.eosc.clone().answers(&[500, 429, 0]),
        ..w
    };
    let summary = w.push(END).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (2, 0),
        "{summary:?}"
    );
    assert_eq!(
        w.eosc.calls(),
        5,
        "three refusals, then one request per metric"
    );
    assert_eq!(w.eosc.accepted().len(), 2);
}

#[tokio::test]
async fn retries_give_up_and_say_why() {
    let mut w = World::new(PeriodMode::Cumulative);
    w.config.retries = 1;
    w.config.concurrency = 1;
    let w = World {
        eosc: w.eosc.clone().answers(&[0, 0, 503, 503]),
        ..w
    };
    let summary = w.push(END).await;
    assert_eq!(summary.failed.len(), 2, "{summary:?}");
    assert_eq!(
        summary.failed[0].reason,
        "EOSC Accounting Service unreachable: connection refused"
    );
    assert_eq!(
        summary.failed[1].reason,
        "EOSC Accounting Service answered HTTP 503: scripted 503"
    );
}

#[tokio::test]
async fn a_4xx_is_recorded_and_the_others_go_on() {
    let mut w = World::new(PeriodMode::Cumulative);
    w.config.concurrency = 1;
    let w = World {
        eosc: w.eosc.clone().answers(&[404]),
        ..w
    };
    let summary = w.push(END).await;
    assert_eq!(
        (summary.pushed.len(), summary.failed.len()),
        (1, 1),
        "{summary:?}"
    );
    assert_eq!(
        summary.failed[0].reason,
        "EOSC Accounting Service answered HTTP 404: scripted 404"
    );
    assert_eq!(
        summary.line(),
        "accounting push: 1 pushed, 1 skipped, 1 failed"
    );
    let keys = [
        ("inst-1".to_string(), "def-a".to_string()),
        ("inst-1".to_string(), "def-b".to_string()),
    ];
    let outcomes = w.table.outcomes(&keys).await.unwrap();
    let failed = outcomes
        .values()
        .find(|o| o.state.as_str() == "failed")
        .unwrap();
    assert_eq!(failed.last_success_at, None);
    let pushed = outcomes
        .values()
        .find(|o| o.state.as_str() == "pushed")
        .unwrap();
    assert_eq!(pushed.last_success_at.as_ref(), Some(&pushed.at));
    // The failed one is retried by the next run for the same time; the pushed one is not.
    let again = w.push(END).await;
    assert_eq!(again.pushed.len(), 1);
    assert_eq!(again.pushed[0].metric, summary.failed[0].metric);
}

#[tokio::test]
async fn a_value_that_cannot_be_computed_is_a_failure_recorded_as_such() {
    let w = World::new(PeriodMode::Cumulative);
    *w.prometheus.down.lock().unwrap() = true;
    let summary = w.push(END).await;
    assert_eq!(summary.failed.len(), 2);
    assert!(
        summary.failed[0].reason.starts_with("value not computed: "),
        "{summary:?}"
    );
    assert!(summary.failed[0].reason.contains("Prometheus"));
    assert!(w.eosc.accepted().is_empty());
    let key = push_key("inst-1", "def-a", &zulu(RANGE_START), &zulu(END));
    assert_eq!(w.table.record_of(&key).unwrap().state.as_str(), "failed");
}

#[tokio::test]
async fn a_push_another_run_holds_is_left_to_it() {
    let w = World::new(PeriodMode::Cumulative);
    let key = push_key("inst-1", "def-a", &zulu(RANGE_START), &zulu(END));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(w.table.claim(&key, now, 600).await.unwrap());
    let summary = w.push(END).await;
    assert_eq!(summary.pushed.len(), 1);
    assert!(summary
        .skipped
        .iter()
        .any(|s| s.reason == "another run is pushing it right now"));
}

#[tokio::test]
async fn the_state_table_down_fails_each_metric_naming_it() {
    let w = World::new(PeriodMode::Incremental);
    w.table.outage.set(true);
    let summary = w.push(END).await;
    assert_eq!(summary.failed.len(), 2);
    assert!(
        summary.failed.iter().all(|f| f.reason.contains("DynamoDB")),
        "{summary:?}"
    );
    assert!(w.eosc.accepted().is_empty());
}

#[tokio::test]
async fn a_dry_run_lists_the_requests_and_sends_and_records_nothing() {
    let w = World::new(PeriodMode::Cumulative);
    let (requests, skipped) = w
        .pusher()
        .dry_run(&w.metadata, &w.metrics, END)
        .await
        .unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(skipped.len(), 1);
    assert_eq!(requests[0].body["time_period_end"], zulu(END));
    assert_eq!((w.eosc.calls(), w.grant.grants()), (0, 0));
    assert!(w.table.stored_token().is_none());
}

#[tokio::test]
async fn a_fresh_stored_token_is_used_as_it_is() {
    let w = World::new(PeriodMode::Cumulative);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let stored = StoredToken {
        access_token: Secret::new("stored-access"),
        expires_at: now + 3600,
        refresh_token: Secret::new("initial-refresh"),
        version: 1,
        refreshed_at: now,
    };
    assert!(w.table.put_token(&stored).await.unwrap());
    let token = valid_token(&w.grant, &w.config, &w.table).await.unwrap();
    assert_eq!(token.expose(), "stored-access");
    assert_eq!(w.grant.grants(), 0);
}

#[tokio::test]
async fn a_token_within_the_margin_is_refreshed_with_the_stored_refresh_token() {
    let w = World::new(PeriodMode::Cumulative);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let stored = StoredToken {
        access_token: Secret::new("old-access"),
        expires_at: now + 60,
        refresh_token: Secret::new("initial-refresh"),
        version: 1,
        refreshed_at: now,
    };
    assert!(w.table.put_token(&stored).await.unwrap());
    let token = valid_token(&w.grant, &w.config, &w.table).await.unwrap();
    assert_eq!(token.expose(), "access-1");
    let now_stored = w.table.stored_token().unwrap();
    assert_eq!(
        (now_stored.version, now_stored.refresh_token.expose()),
        (2, "refresh-1")
    );
}

#[tokio::test]
async fn an_unconditional_refresh_refreshes_and_stores_the_rotation() {
    let w = World::new(PeriodMode::Cumulative);
    let first = refresh(&w.grant, &w.config, &w.table).await.unwrap();
    let second = refresh(&w.grant, &w.config, &w.table).await.unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert_eq!(second.access_token.expose(), "access-2");
    assert_eq!(
        w.table.stored_token().unwrap().refresh_token.expose(),
        "refresh-2"
    );
    // The provider's reuse detection never saw a refresh token twice.
    assert_eq!(w.grant.grants(), 2);
}

#[tokio::test]
async fn a_down_token_endpoint_keeps_the_old_token_and_names_itself() {
    let w = World::new(PeriodMode::Cumulative);
    let before = refresh(&w.grant, &w.config, &w.table).await.unwrap();
    *w.grant.down.lock().unwrap() = true;
    let err = refresh(&w.grant, &w.config, &w.table).await.unwrap_err();
    assert!(err.to_string().contains("OIDC token endpoint"), "{err}");
    assert_eq!(w.table.stored_token().unwrap(), before);
    assert!(
        !format!("{err:?}").contains("refresh-1"),
        "no token in the error"
    );
}

#[tokio::test]
async fn without_any_refresh_token_the_error_says_how_to_set_one() {
    let mut w = World::new(PeriodMode::Cumulative);
    w.config.initial_refresh_token = None;
    let err = refresh(&w.grant, &w.config, &w.table).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("telltale accounting set-refresh-token"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refresh_in_another_instance_is_waited_for_and_its_token_used() {
    let w = World::new(PeriodMode::Cumulative);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(w
        .table
        .acquire_refresh_lease("other", now, 30)
        .await
        .unwrap());
    let theirs = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let token = StoredToken {
            access_token: Secret::new("from-the-other-instance"),
            expires_at: now + 3600,
            refresh_token: Secret::new("rotated-elsewhere"),
            version: 1,
            refreshed_at: now,
        };
        assert!(w.table.put_token(&token).await.unwrap());
        w.table.release_refresh_lease("other").await.unwrap();
    };
    let (ours, ()) = tokio::join!(valid_token(&w.grant, &w.config, &w.table), theirs);
    assert_eq!(ours.unwrap().expose(), "from-the-other-instance");
    assert_eq!(w.grant.grants(), 0, "no second refresh of the same family");
}

#[tokio::test]
async fn a_push_that_fails_a_metric_fails_the_scheduled_run_with_its_reason() {
    let w = World::new(PeriodMode::Cumulative);
    let mappings = telltale_testkit::memory::MemoryMappings::default();
    mappings.put("metadata_mappings.json", serde_json::to_vec(&json!({
        "res1": {"metrics": {"a": {"name": "A", "eoscMetricDefinitionId": "def-a"}}, "eoscInstallationId": "inst-1"}
    })).unwrap());
    mappings.put(
        "metrics_mappings.json",
        serde_json::to_vec(&json!({"res1": {"a": {"query": "sum(acc_a)"}}})).unwrap(),
    );
    let stack = telltale::jobs::Push {
        accounting: telltale::jobs::Accounting {
            config: w.config.clone(),
            table: Box::new(w.table.clone()),
            service: Box::new(w.eosc.clone().answers(&[400])),
            grant: Box::new(w.grant.clone()),
        },
        store: telltale::metrics::store::MappingStore::new(
            mappings,
            telltale::metrics::config::MappingsConfig::for_bucket("memory"),
        ),
        prometheus: Box::new(w.prometheus.clone()),
        range_start: RANGE_START,
    };
    let event = json!({"time": "2026-11-21T00:00:00Z"});
    let err = telltale::jobs::accounting_push(&stack, &event)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "accounting push: 0 pushed, 0 skipped, 1 failed; res1/a: EOSC Accounting Service answered HTTP 400: scripted 400"
    );
    let ok = telltale::jobs::accounting_push(&stack, &event)
        .await
        .unwrap();
    assert_eq!(ok["pushed"][0]["time_period_end"], "2026-11-21T00:00:00Z");
}

/// The in-memory accounting store keeps the table's promises (the same suite runs on moto in
/// the service tier).
#[tokio::test]
async fn the_memory_accounting_store_keeps_the_tables_promises() {
    telltale_testkit::contracts::accounting_store(&MemoryAccounting::default(), "memory").await;
}

/// The token-refresh schedule's event delivered twice — one after the other, at once, and
/// retried after a run that failed — grants what one delivery grants: one token per scheduled
/// time, so a rotating refresh token is never spent twice for one schedule.
#[tokio::test]
async fn a_refresh_schedule_delivered_twice_is_one_grant() {
    use telltale::jobs::{token_refresh, Refresh};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = json!({
        "source": "aws.events", "detail-type": "Scheduled Event", "time": zulu(now - 10),
    });
    // The token the previous schedule (two hours ago) left.
    let world = || async {
        let w = World::new(PeriodMode::Cumulative);
        let previous = StoredToken {
            access_token: Secret::new("previous-access"),
            expires_at: now + 600,
            refresh_token: Secret::new("initial-refresh"),
            version: 1,
            refreshed_at: now - 7200,
        };
        assert!(w.table.put_token(&previous).await.unwrap());
        let stack = Refresh {
            config: w.config.clone(),
            table: w.table.clone(),
            grant: w.grant.clone(),
        };
        (w, stack)
    };

    let (once, stack) = world().await;
    let answer = token_refresh(&stack, &event).await.unwrap();
    assert_eq!(
        (once.grant.grants(), answer["version"].as_u64()),
        (1, Some(2))
    );

    let (w, stack) = world().await;
    let first = token_refresh(&stack, &event).await.unwrap();
    let second = token_refresh(&stack, &event).await.unwrap();
    assert_eq!(w.grant.grants(), 1, "one after the other");
    assert_eq!(first, second, "the second finds the first's token");
    let (stored, single) = (
        w.table.stored_token().unwrap(),
        once.table.stored_token().unwrap(),
    );
    assert_eq!(
        (stored.version, stored.access_token, stored.refresh_token),
        (single.version, single.access_token, single.refresh_token),
        "the same token as one delivery leaves"
    );

    let (w, stack) = world().await;
    let (a, b) = tokio::join!(token_refresh(&stack, &event), token_refresh(&stack, &event));
    assert_eq!(w.grant.grants(), 1, "at once");
    assert_eq!(a.unwrap()["version"], b.unwrap()["version"]);

    let (w, stack) = world().await;
    *w.grant.down.lock().unwrap() = true;
    let failed = token_refresh(&stack, &event).await.unwrap_err();
    assert!(failed.0.contains("OIDC token endpoint"), "{failed:?}");
    assert_eq!(
        w.table.stored_token().unwrap().version,
        1,
        "the old token stays"
    );
    *w.grant.down.lock().unwrap() = false;
    token_refresh(&stack, &event).await.unwrap();
    token_refresh(&stack, &event).await.unwrap();
    assert_eq!(
        w.grant.grants(),
        1,
        "the retry of a failed run refreshes, once"
    );

    let later = json!({"time": zulu(now + 3 * 3600)});
    let (w, stack) = world().await;
    token_refresh(&stack, &event).await.unwrap();
    token_refresh(&stack, &later).await.unwrap();
    assert_eq!(
        w.grant.grants(),
        2,
        "the next scheduled time refreshes again"
    );
    let garbled = token_refresh(&stack, &json!({"time": "noon"}))
        .await
        .unwrap_err();
    assert!(garbled.0.contains("not an RFC 3339 time"), "{garbled:?}");
    assert_eq!(w.grant.grants(), 2);
}
