//! `telltale collect`: run a KPI collector by hand, as the seed's collectors ran.
//!
//! - `list`: names, intervals and descriptions;
//! - `run <name> --dry-run`: the line protocol it would write, on standard output; nothing is
//!   written and no InfluxDB is needed;
//! - `run <name>`: collect and write to the InfluxDB the `INFLUXDB_*` variables name;
//!   `--verbose`: debug logs on standard error;
//! - `template`: the collectors' section of `infra/template.yaml`, generated from the registry.

use anyhow::{bail, Context};
use clap::Subcommand;
use std::process::ExitCode;
use telltale::adapters::aws;
use telltale::adapters::influx::{config::InfluxConfig, InfluxSink};
use telltale::collectors::builtin::{find, names, BUILTINS};
use telltale::collectors::line::{encode, Precision};
use telltale::collectors::run::{collect, run as run_collector};
use telltale_cli::template;

#[derive(Subcommand)]
pub enum CollectCommand {
    /// List the collectors: name, interval, description.
    List,
    /// Collect once and write to the InfluxDB the INFLUXDB_* variables name (or print).
    Run {
        /// The collector to run (`telltale collect list` shows them).
        name: String,
        /// Print the line protocol on standard output instead of writing it; no InfluxDB needed.
        #[arg(long)]
        dry_run: bool,
        /// Log debug messages on standard error (coloured only on a terminal, never with NO_COLOR).
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print the collectors' section of the SAM template (infra/template.yaml).
    Template,
}

fn init_logs(verbose: bool) {
    let level = if verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::WARN
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(telltale_cli::terminal::colours_on_stderr())
        .with_max_level(level)
        .with_target(false)
        .try_init();
}

pub async fn run(command: CollectCommand) -> anyhow::Result<ExitCode> {
    let (name, dry_run, verbose) = match command {
        CollectCommand::List => {
            let rows = BUILTINS
                .iter()
                .map(|c| vec![c.name().into(), c.interval().into(), c.description().into()]);
            println!(
                "{}",
                telltale_cli::terminal::table(&["COLLECTOR", "EVERY", "WHAT"], rows)
            );
            return Ok(ExitCode::SUCCESS);
        }
        CollectCommand::Template => {
            print!("{}", template::section().map_err(anyhow::Error::msg)?);
            return Ok(ExitCode::SUCCESS);
        }
        CollectCommand::Run {
            name,
            dry_run,
            verbose,
        } => (name, dry_run, verbose),
    };
    init_logs(verbose);
    let Some(collector) = find(&name) else {
        bail!("unknown collector {name:?}; known: {}", names().join(", "));
    };
    let sdk = aws::sdk_config().await;
    let sources = telltale::wiring::collector_sources(&telltale::base::env::Env::process(), &sdk)?;
    let now = time::OffsetDateTime::now_utc();
    if dry_run {
        let precision_text =
            std::env::var("INFLUXDB_PRECISION").unwrap_or_else(|_| "s".to_string());
        let precision = Precision::parse(precision_text.trim()).with_context(|| {
            format!("INFLUXDB_PRECISION={precision_text:?}: use ns, us, ms or s")
        })?;
        let collected = collect(collector, &sources, now).await?;
        for w in &collected.warnings {
            eprintln!("warning: {w}");
        }
        print!("{}", encode(&collected.points, precision)?);
        eprintln!(
            "{}: {} point(s), nothing written (dry run)",
            collector.name(),
            collected.points.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let sink = InfluxSink::connect(InfluxConfig::from_env()?, &aws::ssm::ssm_client(&sdk)).await?;
    let report = run_collector(collector, &sources, &sink, now).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
