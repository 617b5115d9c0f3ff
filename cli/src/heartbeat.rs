//! `telltale heartbeat check set|list`: the named checks' period and grace, and their state,
//! straight from the heartbeat table (AWS credentials; no HTTP route changes a check).

use anyhow::{bail, Context};
use clap::Subcommand;
use std::process::ExitCode;
use telltale::adapters::aws::{self, heartbeat::HeartbeatTable};
use telltale::base::interval;
use telltale::heartbeat::check::validate_name;
use telltale::heartbeat::ports::HeartbeatStore;

#[derive(Subcommand)]
pub enum HeartbeatCommand {
    /// Named checks (healthchecks.io-style): create or change one, list them.
    Check {
        /// The heartbeat table (the stack's HeartbeatTableName output).
        #[arg(long, env = "HEARTBEAT_TABLE", hide_env_values = true, global = true)]
        table: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: CheckCommand,
    },
}

#[derive(Subcommand)]
pub enum CheckCommand {
    /// Create a check, or change its period and grace (its counters stay).
    Set {
        /// The check's name, as pinged at /heartbeat/<name>.
        name: String,
        /// How often it should ping, with its unit: 90s, 5m, 1h, 1d (systemd time span).
        #[arg(long, default_value = "5m")]
        period: String,
        /// How late a ping may be before the check is down, with its unit (30s, 1m, ...).
        #[arg(long, default_value = "1m")]
        grace: String,
    },
    /// Every check with its state.
    List,
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

use telltale_cli::terminal::printable as shown;

pub async fn run(command: HeartbeatCommand) -> anyhow::Result<ExitCode> {
    let HeartbeatCommand::Check {
        table,
        json,
        command,
    } = command;
    let table = crate::given(table, "--table", "HEARTBEAT_TABLE")?;
    let sdk = aws::sdk_config().await;
    match command {
        CheckCommand::Set {
            name,
            period,
            grace,
        } => {
            validate_name(&name)?;
            let (period, grace) = (seconds("period", &period)?, seconds("grace", &grace)?);
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            HeartbeatTable::new(aws::dynamodb_client(&sdk), table)
                .set_check(&name, period, grace, now)
                .await?;
            eprintln!(
                "check {name}: period {period} s, grace {grace} s; ping it at /heartbeat/{name}"
            );
            Ok(ExitCode::SUCCESS)
        }
        CheckCommand::List => {
            let checks = HeartbeatTable::new(aws::dynamodb_client(&sdk), table)
                .checks()
                .await?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            if json {
                let list: Vec<serde_json::Value> = checks
                    .iter()
                    .map(|c| {
                        serde_json::json!({"name": c.name, "period_seconds": c.period_seconds,
                            "grace_seconds": c.grace_seconds, "up": c.up(now), "last_seen": c.last_seen,
                            "last_success": c.last_success, "last_state": c.last_state,
                            "last_exit_status": c.last_exit_status, "last_duration_seconds": c.last_duration_seconds,
                            "last_alarm": c.last_alarm, "received": c.total()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows = checks.iter().map(|c| {
                vec![
                    c.name.clone(),
                    if c.up(now) { "up" } else { "DOWN" }.to_string(),
                    format!("{}s", c.period_seconds),
                    format!("{}s", c.grace_seconds),
                    when(c.last_seen),
                    c.last_state.as_deref().map_or("-".into(), shown),
                    c.last_exit_status.map_or("-".into(), |e| e.to_string()),
                    c.last_duration_seconds
                        .map_or("-".into(), |d| format!("{d:.1}s")),
                    c.total().to_string(),
                    c.last_alarm.as_deref().map_or("-".into(), shown),
                ]
            });
            let t = telltale_cli::terminal::table(
                &[
                    "check",
                    "up",
                    "period",
                    "grace",
                    "last seen",
                    "last state",
                    "exit",
                    "duration",
                    "received",
                    "last alarm",
                ],
                rows,
            );
            println!("{t}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
