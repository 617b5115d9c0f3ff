//! Each function's configuration from the environment: defaults, and a missing or invalid
//! variable named in the error that stops the function at cold start.

use std::time::Duration;
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::auth::config::AuthConfig;
use telltale::base::env::{ConfigError, Env, Secret, SecretRef};
use telltale::heartbeat::config::HeartbeatConfig;
use telltale::metrics::config::{ValueConfig, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_RANGE_START};
use telltale::probes::config::ProbesConfig;

fn named(err: ConfigError) -> &'static str {
    match err {
        ConfigError::Missing { name } | ConfigError::Invalid { name, .. } => name,
    }
}

#[test]
fn blank_variables_count_as_unset() {
    let env = Env::pairs(&[("A", "  "), ("B", "x")]);
    assert_eq!(env.optional("A"), None);
    assert_eq!(env.optional("B").as_deref(), Some("x"));
    assert_eq!(env.or("A", "default"), "default");
    assert_eq!(named(env.required("A").unwrap_err()), "A");
    assert_eq!(env.parsed_or::<u16>("A", 7).unwrap(), 7);
    let err = Env::pairs(&[("N", "-1")])
        .parsed_or::<u16>("N", 7)
        .unwrap_err();
    assert!(err.to_string().contains("\"-1\""), "{err}");
}

#[test]
fn a_secret_parameter_wins_over_the_value_and_never_prints() {
    let env = Env::pairs(&[("S", "plain"), ("S_PARAMETER", "/telltale/s")]);
    assert_eq!(
        env.secret("S", "S_PARAMETER"),
        Some(SecretRef::Parameter {
            variable: "S_PARAMETER",
            name: "/telltale/s".into()
        })
    );
    let env = Env::pairs(&[("S", "plain")]);
    assert_eq!(
        env.secret("S", "S_PARAMETER"),
        Some(SecretRef::Value(Secret::new("plain")))
    );
    assert_eq!(
        format!("{:?} {}", Secret::new("hunter2"), Secret::new("hunter2")),
        "*** ***"
    );
}

#[test]
fn the_value_route_needs_a_prometheus_url_and_has_the_originals_defaults() {
    assert_eq!(
        named(ValueConfig::read(&Env::pairs(&[])).unwrap_err()),
        "PROMETHEUS_URL"
    );
    let err = ValueConfig::read(&Env::pairs(&[("PROMETHEUS_URL", "not a url")])).unwrap_err();
    assert_eq!(named(err), "PROMETHEUS_URL");
    let c = ValueConfig::read(&Env::pairs(&[("PROMETHEUS_URL", "http://prom:9090")])).unwrap();
    assert_eq!(
        (c.range_start, c.prometheus_timeout, c.max_response_bytes),
        (
            DEFAULT_RANGE_START,
            Duration::from_secs(10),
            DEFAULT_MAX_RESPONSE_BYTES
        )
    );
}

#[test]
fn the_probe_functions_check_the_team_addresses() {
    let base = [
        ("PROBES_TABLE", "p"),
        ("EMAIL_FROM", "ARGO <no-reply@example.org>"),
    ];
    let mut env = base.to_vec();
    env.push(("TEAM_EMAIL", "team@example.org, not-an-address"));
    let err = ProbesConfig::read(&Env::pairs(&env)).unwrap_err();
    assert!(err.to_string().contains("not-an-address"), "{err}");
    let mut env = base.to_vec();
    env.push(("TEAM_EMAIL", "a@example.org, b@example.org"));
    let c = ProbesConfig::read(&Env::pairs(&env)).unwrap();
    assert_eq!(c.email.team, vec!["a@example.org", "b@example.org"]);
    assert_eq!(c.min_testing, time::Duration::days(3));
    assert_eq!(
        named(AuthConfig::read(&Env::pairs(&[])).unwrap_err()),
        "API_KEYS_TABLE"
    );
}

#[test]
fn the_accounting_push_reads_its_period_mode_and_limits() {
    let env = |mode: &str| {
        Env::pairs(&[
            ("ACCOUNTING_BASE_URL", "https://acc.example.org/"),
            ("TOKEN_URL", "https://aai.example.org/token"),
            ("OIDC_CLIENT_ID", "c"),
            ("ACCOUNTING_TABLE", "t"),
            ("PERIOD_MODE", mode),
            ("PUSH_CONCURRENCY", "0"),
        ])
        .0
    };
    let read = |mode: &str| AccountingConfig::read(&Env(env(mode)), Secret::new("s"), None);
    let c = read("incremental").unwrap();
    assert_eq!(c.period_mode, PeriodMode::Incremental);
    assert_eq!(
        c.base_url, "https://acc.example.org",
        "the trailing slash is dropped"
    );
    assert_eq!(c.concurrency, 1, "at least one push at a time");
    assert_eq!(named(read("sometimes").unwrap_err()), "PERIOD_MODE");
}

#[test]
fn the_heartbeat_routes_refuse_a_webhook_check_no_url_can_name() {
    let ok = HeartbeatConfig::read(&Env::pairs(&[("HEARTBEAT_TABLE", "h")])).unwrap();
    assert_eq!(
        (
            ok.webhook_check.as_str(),
            ok.default_period,
            ok.default_grace
        ),
        ("heartbeat", 300, 60)
    );
    for (k, v) in [
        ("HEARTBEAT_WEBHOOK_CHECK", "Not/A/Name"),
        ("HEARTBEAT_DEFAULT_PERIOD", "soon"),
    ] {
        let err =
            HeartbeatConfig::read(&Env::pairs(&[("HEARTBEAT_TABLE", "h"), (k, v)])).unwrap_err();
        assert_eq!(named(err), k);
    }
}
