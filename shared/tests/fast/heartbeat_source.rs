//! The heartbeat source on in-memory sinks: the seed's even and odd periods, every sink on its
//! own, and a failing sink failing the run by name.

use telltale::base::env::Env;
use telltale::heartbeat::ports::BeatSink;
use telltale::heartbeat::source::{Source, SourceConfig};
use telltale_testkit::memory::MemoryBeats;

fn config() -> SourceConfig {
    SourceConfig::read(&Env::pairs(&[("HEARTBEAT_SOURCE_ID", "site-a")])).unwrap()
}

#[tokio::test]
async fn every_sink_gets_the_same_beat() {
    let (a, b) = (
        MemoryBeats::named("pushgateway"),
        MemoryBeats::named("monasca"),
    );
    let sinks: Vec<Box<dyn BeatSink>> = vec![Box::new(a.clone()), Box::new(b.clone())];
    let source = Source::new(config(), sinks).unwrap();
    let even = time::OffsetDateTime::from_unix_timestamp(120).unwrap();
    let report = source.emit(even).await;
    assert_eq!(report.beat, 1);
    assert!(report.failures().is_empty());
    assert_eq!(a.beats(), vec![("site-a".to_string(), 1, 2)]);
    assert_eq!(b.beats(), a.beats());
    let odd = time::OffsetDateTime::from_unix_timestamp(180).unwrap();
    assert_eq!(source.emit(odd).await.beat, 0);
}

#[tokio::test]
async fn a_failing_sink_does_not_stop_the_others_and_fails_the_run_by_name() {
    let (good, bad) = (
        MemoryBeats::named("influxdb"),
        MemoryBeats::named("monasca"),
    );
    bad.refuse("Monasca answered HTTP 500: down");
    let sinks: Vec<Box<dyn BeatSink>> = vec![Box::new(good.clone()), Box::new(bad)];
    let source = Source::new(config(), sinks).unwrap();
    let report = source.emit(time::OffsetDateTime::now_utc()).await;
    assert_eq!(good.beats().len(), 1);
    assert_eq!(
        report.failures(),
        vec!["monasca: Monasca answered HTTP 500: down".to_string()]
    );
    let err = telltale::jobs::heartbeat_source(&source, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 of 2 heartbeat sink(s) failed: monasca: Monasca answered HTTP 500: down"
    );
}

#[test]
fn a_source_without_any_sink_is_refused() {
    assert!(Source::new(config(), Vec::new()).is_none());
}
