//! `telltale heartbeat check set|list|pause|resume`, `heartbeat log` and `heartbeat flips`: the
//! named checks' schedules and states, their pings and flips, straight from the heartbeat
//! table (AWS credentials; no HTTP route changes a check).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use telltale::adapters::aws::{self, heartbeat::HeartbeatTable};
use telltale::base::interval;
use telltale::heartbeat::check::{validate_name, Check};
use telltale::heartbeat::notice::Channel;
use telltale::heartbeat::ping::shown_body;
use telltale::heartbeat::ports::{
    CheckSettings, CheckStates, HeartbeatStore, NoticeLog, PingLog, StoredNotice,
};
use telltale::heartbeat::receive::settle;
use telltale::heartbeat::schedule::CronSchedule;
use telltale::heartbeat::state::Event;
use telltale_cli::terminal::printable as shown;

#[derive(Args)]
pub struct Table {
    /// The heartbeat table (the stack's HeartbeatTableName output).
    #[arg(long, env = "HEARTBEAT_TABLE", hide_env_values = true, global = true)]
    table: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum HeartbeatCommand {
    /// Named checks (healthchecks.io-style): create or change one, list, pause, resume, delete.
    Check {
        #[command(flatten)]
        table: Table,
        #[command(subcommand)]
        command: CheckCommand,
    },
    /// A check's last pings (newest first), with the start of each job's output.
    Log {
        #[command(flatten)]
        table: Table,
        /// The check's name.
        name: String,
    },
    /// A check's changes of state (newest first): when, from, to and why.
    Flips {
        #[command(flatten)]
        table: Table,
        /// The check's name.
        name: String,
    },
    /// The seed's Monasca loop: its notification method and alarm definition.
    Monasca {
        #[command(subcommand)]
        command: crate::monasca::MonascaCommand,
    },
}

#[derive(Subcommand)]
pub enum CheckCommand {
    /// Create a check, or change its schedule and grace (its counters and log stay).
    Set {
        /// The check's name, as pinged at /ping/<key>/<name> or /heartbeat/<name>.
        name: String,
        /// How often it should ping, with its unit: 90s, 5m, 1h, 1d (systemd time span).
        #[arg(long, default_value = "5m", conflicts_with = "cron")]
        period: String,
        /// A cron expression (five fields) for when it should ping, instead of a period.
        #[arg(long)]
        cron: Option<String>,
        /// The IANA time zone the cron expression is read in.
        #[arg(long, default_value = "UTC", requires = "cron")]
        tz: String,
        /// How late a ping may be before the check is down, with its unit (30s, 1m, ...).
        #[arg(long, default_value = "1m")]
        grace: String,
        /// Once paused, stay paused until `resume` (pings meanwhile are logged as ignored).
        #[arg(long)]
        manual_resume: bool,
        /// Email the check's flips to this address (repeat for more).
        #[arg(long = "email", value_name = "ADDRESS")]
        emails: Vec<String>,
        /// POST the check's flips to this URL (repeat for more), as JSON.
        #[arg(long = "webhook", value_name = "URL")]
        webhooks: Vec<String>,
        /// The SSM parameter (SecureString) holding the webhooks' signing secret.
        #[arg(long, value_name = "NAME", requires = "webhooks")]
        webhook_secret_parameter: Option<String>,
        /// Send the check's alerts to the stack's Alertmanager (re-sent while it is down).
        #[arg(long)]
        alertmanager: bool,
    },
    /// Every check with its UUID, state, last ping and next expected ping.
    List,
    /// Stop notifying about a check until it pings again (or, with --manual-resume, until resumed).
    Pause {
        /// The check's name.
        name: String,
    },
    /// Watch a paused check again: it is `new` until its next ping.
    Resume {
        /// The check's name.
        name: String,
    },
    /// Delete a check and its UUID (its ping URLs answer `not found` from now on).
    Delete {
        /// The check's name.
        name: String,
    },
}

fn seconds(flag: &str, text: &str) -> anyhow::Result<i64> {
    let bare = text.trim();
    if !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit()) {
        bail!("--{flag} {bare}: {bare} what? give a unit: {bare}s, {bare}m, {bare}h or {bare}d");
    }
    let span = interval::parse(text).with_context(|| format!("--{flag}"))?;
    if span.as_secs() == 0 {
        bail!("--{flag} must be at least one second");
    }
    Ok(span.as_secs() as i64)
}

fn when(t: Option<i64>) -> String {
    t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(telltale::base::time::timestamp)
        .map_or("-".into(), |s| telltale::probes::model::poem_date(&s))
}

fn schedule_text(c: &Check) -> String {
    match &c.cron {
        Some((expr, tz)) => format!("{expr} ({tz})"),
        None => format!("every {}s", c.period_seconds),
    }
}

async fn store(table: Table) -> anyhow::Result<(HeartbeatTable, bool)> {
    let name = crate::given(table.table, "--table", "HEARTBEAT_TABLE")?;
    let sdk = aws::sdk_config().await;
    Ok((
        HeartbeatTable::new(aws::dynamodb_client(&sdk), name),
        table.json,
    ))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn run(command: HeartbeatCommand) -> anyhow::Result<ExitCode> {
    match command {
        HeartbeatCommand::Check { table, command } => {
            let (store, json) = store(table).await?;
            check(&store, json, command).await
        }
        HeartbeatCommand::Monasca { command } => crate::monasca::run(command).await,
        HeartbeatCommand::Log { table, name } => {
            let (store, json) = store(table).await?;
            log(&store, json, &name).await
        }
        HeartbeatCommand::Flips { table, name } => {
            let (store, json) = store(table).await?;
            flips(&store, json, &name).await
        }
    }
}

async fn check(
    store: &HeartbeatTable,
    json: bool,
    command: CheckCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        CheckCommand::Set {
            name,
            period,
            cron,
            tz,
            grace,
            manual_resume,
            emails,
            webhooks,
            webhook_secret_parameter,
            alertmanager,
        } => {
            validate_name(&name)?;
            let channels = channels(emails, webhooks, webhook_secret_parameter, alertmanager)?;
            let cron = match cron {
                Some(expr) => {
                    let parsed = CronSchedule::parse(&expr, &tz)?;
                    Some((parsed.expression, parsed.zone))
                }
                None => None,
            };
            let settings = CheckSettings {
                period_seconds: seconds("period", &period)?,
                grace_seconds: seconds("grace", &grace)?,
                cron,
                manual_resume,
                channels,
            };
            store.set_check(&name, &settings, now()).await?;
            let c = found(store, &name).await?;
            eprintln!(
                "check {name}: {}, grace {} s; ping it at /ping/<heartbeat key>/{name} or /ping/{}",
                schedule_text(&c),
                settings.grace_seconds,
                c.uuid.as_deref().unwrap_or("-")
            );
            Ok(ExitCode::SUCCESS)
        }
        CheckCommand::List => list(store, json).await,
        CheckCommand::Pause { name } => change(store, &name, Event::Pause).await,
        CheckCommand::Resume { name } => change(store, &name, Event::Resume).await,
        CheckCommand::Delete { name } => {
            if !store.delete_check(&name).await? {
                bail!("no check {:?}", shown(&name));
            }
            eprintln!("check {name} deleted; its pings, flips and notices expire by themselves");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The channels `check set` was given, checked: addresses, http(s) URLs, an SSM name.
fn channels(
    emails: Vec<String>,
    webhooks: Vec<String>,
    secret: Option<String>,
    alertmanager: bool,
) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for to in emails {
        if !email_address::EmailAddress::is_valid(&to) {
            bail!("--email {}: not an email address", shown(&to));
        }
        if let Some(problem) = telltale::outbox::email::undeliverable(&to) {
            bail!("--email {}: SES cannot deliver to {problem}", shown(&to));
        }
        out.push(Channel::Email { to });
    }
    if let Some(name) = &secret {
        if !name.starts_with('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!(
                "--webhook-secret-parameter {}: an SSM parameter name such as /telltale/heartbeat/hook",
                shown(name)
            );
        }
    }
    for url in webhooks {
        let parsed = url::Url::parse(&url).with_context(|| format!("--webhook {}", shown(&url)))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            bail!("--webhook {}: an http:// or https:// URL", shown(&url));
        }
        out.push(Channel::Webhook {
            url,
            secret_parameter: secret.clone(),
        });
    }
    if alertmanager {
        out.push(Channel::Alertmanager);
    }
    Ok(out)
}

/// Each channel of `c` and how its notices stand (`notice::channel_health`).
fn channel_health(c: &Check, notices: &[StoredNotice]) -> Vec<(String, String)> {
    telltale::heartbeat::notice::channel_health(c, notices)
        .into_iter()
        .map(|(ch, health)| (ch.shown(), health.to_string()))
        .collect()
}

async fn found(store: &HeartbeatTable, name: &str) -> anyhow::Result<Check> {
    store.check(name).await?.with_context(|| {
        format!("no check {name:?}: create it with `telltale heartbeat check set`")
    })
}

async fn change(store: &HeartbeatTable, name: &str, event: Event) -> anyhow::Result<ExitCode> {
    let c = found(store, name).await?;
    let flip = settle(store, c, event, now(), b"").await?;
    let c = found(store, name).await?;
    match flip {
        Some(f) => eprintln!("check {name}: {} -> {}", f.from, f.to),
        None => eprintln!("check {name}: already {}", c.state),
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &HeartbeatTable, json: bool) -> anyhow::Result<ExitCode> {
    let checks = store.checks().await?;
    let notices = store.notices().await?;
    let now = now();
    if json {
        let list: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                serde_json::json!({"name": c.name, "uuid": c.uuid, "state": c.state_at(now).as_str(),
                    "stored_state": c.state.as_str(), "period_seconds": c.period_seconds,
                    "cron": c.cron.as_ref().map(|(e, _)| e), "tz": c.cron.as_ref().map(|(_, z)| z),
                    "grace_seconds": c.grace_seconds, "manual_resume": c.manual_resume,
                    "up": c.up(now), "last_seen": c.last_seen, "last_ping": c.last_ping,
                    "next_expected": c.next_expected(), "last_success": c.last_success,
                    "last_state": c.last_state, "last_exit_status": c.last_exit_status,
                    "last_duration_seconds": c.last_duration_seconds, "last_alarm": c.last_alarm,
                    "received": c.total(),
                    "channels": channel_health(c, &notices).iter()
                        .map(|(ch, h)| serde_json::json!({"channel": ch, "health": h}))
                        .collect::<Vec<_>>()})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows = checks.iter().map(|c| {
        vec![
            c.name.clone(),
            c.uuid.clone().unwrap_or_else(|| "-".into()),
            c.state_at(now).as_str().to_string(),
            schedule_text(c),
            format!("{}s", c.grace_seconds),
            when(c.last_seen),
            when(c.next_expected()),
            c.last_exit_status.map_or("-".into(), |e| e.to_string()),
            c.last_duration_seconds
                .map_or("-".into(), |d| format!("{d:.1}s")),
            c.total().to_string(),
            c.last_alarm.as_deref().map_or("-".into(), shown),
            {
                let health = channel_health(c, &notices);
                if health.is_empty() {
                    "-".into()
                } else {
                    health
                        .iter()
                        .map(|(ch, h)| format!("{} {h}", shown(ch)))
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            },
        ]
    });
    let t = telltale_cli::terminal::table(
        &[
            "check",
            "uuid",
            "state",
            "schedule",
            "grace",
            "last seen",
            "next expected",
            "exit",
            "duration",
            "received",
            "last alarm",
            "channels",
        ],
        rows,
    );
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// The start of a job's output, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = shown_body(body).replace('\n', "\\n").replace('\t', "\\t");
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

async fn log(store: &HeartbeatTable, json: bool, name: &str) -> anyhow::Result<ExitCode> {
    found(store, name).await?;
    let pings = store.pings(name).await?;
    let ms = |at: i64| when(Some(at.div_euclid(1000)));
    if json {
        let list: Vec<serde_json::Value> = pings
            .iter()
            .map(|p| {
                serde_json::json!({"n": p.n, "at_ms": p.at_ms, "kind": p.kind, "exit_status": p.exit_status,
                    "rid": p.rid, "duration_seconds": p.duration_seconds, "method": p.method,
                    "address": p.address, "user_agent": p.user_agent, "body": shown_body(&p.body)})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows = pings.iter().map(|p| {
        vec![
            p.n.to_string(),
            ms(p.at_ms),
            p.kind.clone(),
            p.exit_status.map_or("-".into(), |e| e.to_string()),
            p.duration_seconds
                .map_or("-".into(), |d| format!("{d:.1}s")),
            p.method.clone(),
            p.address.as_deref().map_or("-".into(), shown),
            p.user_agent.as_deref().map_or("-".into(), shown),
            excerpt(&p.body),
        ]
    });
    let t = telltale_cli::terminal::table(
        &[
            "#",
            "time",
            "kind",
            "exit",
            "duration",
            "method",
            "address",
            "user agent",
            "body",
        ],
        rows,
    );
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

async fn flips(store: &HeartbeatTable, json: bool, name: &str) -> anyhow::Result<ExitCode> {
    found(store, name).await?;
    let flips = store.flips(name).await?;
    if json {
        let list: Vec<serde_json::Value> = flips
            .iter()
            .map(|f| {
                serde_json::json!({"n": f.n, "at": f.flip.at, "from": f.flip.from.as_str(),
                    "to": f.flip.to.as_str(), "cause": f.flip.cause})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows = flips.iter().map(|f| {
        vec![
            f.n.to_string(),
            when(Some(f.flip.at)),
            f.flip.from.to_string(),
            f.flip.to.to_string(),
            f.flip.cause.clone(),
        ]
    });
    println!(
        "{}",
        telltale_cli::terminal::table(&["#", "time", "from", "to", "cause"], rows)
    );
    Ok(ExitCode::SUCCESS)
}
