//! `GET /heartbeat/metrics`: Prometheus text exposition (format 0.0.4), which
//! `promtool check metrics` accepts.
//!
//! - `monasca_monitor_heartbeat_total`: notifications received on `POST /heartbeat` (the seed's
//!   counter, so its dashboards and alerts keep working), with `monasca_monitor_heartbeat_created`;
//! - per check: `telltale_heartbeat_received_total{check,source,state}`,
//!   `telltale_heartbeat_last_seen_timestamp_seconds`, `..._last_success_timestamp_seconds`,
//!   `telltale_heartbeat_up` (1 while the last success is within period + grace),
//!   `..._period_seconds`, `..._grace_seconds`, `..._last_duration_seconds`,
//!   `telltale_heartbeat_state{check,state}` (1 for the state the clock gives it now, 0 for
//!   the four others) and `telltale_heartbeat_flips_total` (changes of state recorded).

use super::check::Check;
use super::state::State;
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Per-check gauges: (metric, help, value of a check if it has one).
type Gauge = (&'static str, &'static str, fn(&Check, i64) -> Option<f64>);

const GAUGES: [Gauge; 6] = [
    (
        "telltale_heartbeat_last_seen_timestamp_seconds",
        "Unix time of the last ping or notification of the check.",
        |c, _| c.last_seen.map(|t| t as f64),
    ),
    (
        "telltale_heartbeat_last_success_timestamp_seconds",
        "Unix time of the last successful ping of the check.",
        |c, _| c.last_success.map(|t| t as f64),
    ),
    (
        "telltale_heartbeat_up",
        "1 while the last success is no older than the check's period plus grace, else 0.",
        |c, now| Some(if c.up(now) { 1.0 } else { 0.0 }),
    ),
    (
        "telltale_heartbeat_period_seconds",
        "How often the check is expected to ping.",
        |c, _| Some(c.period_seconds as f64),
    ),
    (
        "telltale_heartbeat_grace_seconds",
        "How late a ping may be before the check is down.",
        |c, _| Some(c.grace_seconds as f64),
    ),
    (
        "telltale_heartbeat_last_duration_seconds",
        "From the last /start to the ping after it.",
        |c, _| c.last_duration_seconds,
    ),
];

/// The exposition of `checks` at `now` (unix seconds); `webhook_check` is the check that
/// `POST /heartbeat` counts into.
pub fn render(
    checks: &[Check],
    notices: &[super::notice::StoredNotice],
    webhook_check: &str,
    now: i64,
) -> String {
    let mut out = String::with_capacity(256 + checks.len() * 900);
    let webhook = checks.iter().find(|c| c.name == webhook_check);
    family(
        &mut out,
        "monasca_monitor_heartbeat_total",
        "counter",
        "Alarm notifications received on POST /heartbeat.",
    );
    let _ = writeln!(
        out,
        "monasca_monitor_heartbeat_total {}",
        webhook.map_or(0, Check::total)
    );
    family(
        &mut out,
        "monasca_monitor_heartbeat_created",
        "gauge",
        "Unix time the notification counter started.",
    );
    let _ = writeln!(
        out,
        "monasca_monitor_heartbeat_created {}",
        webhook.map_or(now, |c| c.created_at)
    );
    family(
        &mut out,
        "telltale_heartbeat_received_total",
        "counter",
        "Pings and notifications received, by check, source and state.",
    );
    for c in checks {
        for ((source, state), n) in &c.received {
            let _ = writeln!(
                out,
                "telltale_heartbeat_received_total{{check=\"{}\",source=\"{}\",state=\"{}\"}} {n}",
                label(&c.name),
                label(source),
                label(state)
            );
        }
    }
    family(
        &mut out,
        "telltale_heartbeat_state",
        "gauge",
        "1 for the check's state now (new, up, late, down, paused), 0 for the others.",
    );
    for c in checks {
        let now_state = c.state_at(now);
        for state in State::ALL {
            let _ = writeln!(
                out,
                "telltale_heartbeat_state{{check=\"{}\",state=\"{state}\"}} {}",
                label(&c.name),
                u8::from(state == now_state)
            );
        }
    }
    family(
        &mut out,
        "telltale_heartbeat_flips_total",
        "counter",
        "Changes of state recorded for the check.",
    );
    for c in checks {
        let _ = writeln!(
            out,
            "telltale_heartbeat_flips_total{{check=\"{}\"}} {}",
            label(&c.name),
            c.flips
        );
    }
    family(
        &mut out,
        "telltale_heartbeat_channel_failing",
        "gauge",
        "1 while the newest notice on the check's channel is refused or given up, else 0.",
    );
    for c in checks {
        for (channel, health) in super::notice::channel_health(c, notices) {
            let _ = writeln!(
                out,
                "telltale_heartbeat_channel_failing{{check=\"{}\",channel=\"{}\"}} {}",
                label(&c.name),
                label(&channel.key()),
                u8::from(health.failing())
            );
        }
    }
    for (name, help, value) in GAUGES {
        family(&mut out, name, "gauge", help);
        for c in checks {
            if let Some(v) = value(c, now) {
                let _ = writeln!(out, "{name}{{check=\"{}\"}} {v}", label(&c.name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_and_the_seeds_counter() {
        let mut c = Check {
            name: "heartbeat".into(),
            period_seconds: 300,
            grace_seconds: 60,
            created_at: 1000,
            last_seen: Some(2000),
            last_success: Some(2000),
            last_duration_seconds: Some(1.5),
            ..Check::default()
        };
        c.received
            .insert(("alertmanager".into(), "firing".into()), 3);
        c.received.insert(("monasca".into(), "ALARM".into()), 2);
        let text = render(&[c], &[], "heartbeat", 2100);
        for line in [
            "monasca_monitor_heartbeat_total 5",
            "monasca_monitor_heartbeat_created 1000",
            "telltale_heartbeat_received_total{check=\"heartbeat\",source=\"alertmanager\",state=\"firing\"} 3",
            "telltale_heartbeat_up{check=\"heartbeat\"} 1",
            "telltale_heartbeat_last_duration_seconds{check=\"heartbeat\"} 1.5",
            "telltale_heartbeat_period_seconds{check=\"heartbeat\"} 300",
            "telltale_heartbeat_state{check=\"heartbeat\",state=\"new\"} 1",
            "telltale_heartbeat_state{check=\"heartbeat\",state=\"down\"} 0",
            "telltale_heartbeat_flips_total{check=\"heartbeat\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(render(&[], &[], "heartbeat", 5).contains("monasca_monitor_heartbeat_total 0\n"));
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
