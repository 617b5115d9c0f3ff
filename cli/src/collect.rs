//! `telltale collect`: run a KPI collector by hand, as the seed's collectors ran.
//!
//! - `list`: names, intervals and descriptions;
//! - `run <name> --dry-run`: the line protocol it would write, on standard output; nothing is
//!   written and no InfluxDB is needed;
//! - `run <name>`: collect and write to the InfluxDB the `INFLUXDB_*` variables name;
//!   `--verbose`: debug logs on standard error;
//! - `validate [<file>]`: every problem of a declarations file, with its line and column;
//! - `template`: the collectors' section of `infra/template.yaml`, generated from the registry.
//!
//! `--file <path>` reads another declarations file instead of the compiled-in
//! `infra/collectors.yaml` (`COLLECTORS_FILE` does the same).

use anyhow::{bail, Context};
use clap::Subcommand;
use std::process::ExitCode;
use telltale::adapters::aws;
use telltale::adapters::influx::{config::InfluxConfig, InfluxSink};
use telltale::collectors::declared::program;
use telltale::collectors::line::{encode, Precision};
use telltale::collectors::registry::{describe, Registry, COMPILED};
use telltale::collectors::run::{collect, run as run_collector};
use telltale_cli::template;

#[derive(Subcommand)]
pub enum CollectCommand {
    /// List the collectors, built-in and declared: name, interval, kind, description.
    List {
        /// A declarations file instead of the compiled-in infra/collectors.yaml.
        #[arg(long, env = "COLLECTORS_FILE")]
        file: Option<std::path::PathBuf>,
    },
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
        /// A declarations file instead of the compiled-in infra/collectors.yaml.
        #[arg(long, env = "COLLECTORS_FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Check a declarations file (default: the compiled-in infra/collectors.yaml): names,
    /// intervals, jq programs, PromQL, field types, URL variables. Prints every problem with
    /// its line and column; fails when there is one.
    Validate {
        /// The file to check (default: the compiled-in infra/collectors.yaml).
        file: Option<std::path::PathBuf>,
    },
    /// Print a declarations file with every URL pointed at local copies served at
    /// `--fixtures` (`<URL>/<host>/<path>`): the examples, tried without the internet.
    Localize {
        /// Where the copies are served.
        #[arg(long)]
        fixtures: String,
        /// A declarations file instead of the compiled-in infra/collectors.yaml.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
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

/// The registry with the given file's declarations, or the compiled-in ones.
fn registry(file: Option<&std::path::Path>) -> anyhow::Result<Registry> {
    let (text, shown) = match file {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (COMPILED.to_string(), "infra/collectors.yaml".to_string()),
    };
    Registry::with_file(&text)
        .map_err(|problems| anyhow::anyhow!("{shown}:\n{}", describe(&problems)))
}

pub async fn run(command: CollectCommand) -> anyhow::Result<ExitCode> {
    let (name, dry_run, verbose, file) = match command {
        CollectCommand::List { file } => {
            let registry = registry(file.as_deref())?;
            let rows = registry.all().iter().map(|c| {
                let kind = if c.declared() { "declared" } else { "built-in" };
                vec![
                    c.name().into(),
                    c.interval().into(),
                    kind.into(),
                    c.description().into(),
                ]
            });
            println!(
                "{}",
                telltale_cli::terminal::table(&["COLLECTOR", "EVERY", "KIND", "WHAT"], rows)
            );
            return Ok(ExitCode::SUCCESS);
        }
        CollectCommand::Validate { file } => {
            let shown = file
                .as_ref()
                .map_or("infra/collectors.yaml".to_string(), |p| {
                    p.display().to_string()
                });
            let text = match &file {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => COMPILED.to_string(),
            };
            return Ok(match Registry::with_file(&text) {
                Ok(registry) => {
                    let declared = registry.all().iter().filter(|c| c.declared()).count();
                    println!("{shown}: {declared} declared collector(s), no problem");
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    for p in &problems {
                        println!("{shown}:{}:{}: {}", p.line, p.column, p.message);
                    }
                    eprintln!("{shown}: {} problem(s)", problems.len());
                    ExitCode::FAILURE
                }
            });
        }
        CollectCommand::Localize { fixtures, file } => {
            let text = match &file {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => COMPILED.to_string(),
            };
            print!("{}", telltale_cli::fixtures::localized(&text, &fixtures));
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
            file,
        } => (name, dry_run, verbose, file),
    };
    init_logs(verbose);
    let registry = registry(file.as_deref())?;
    let Some(collector) = registry.find(&name) else {
        bail!(
            "unknown collector {name:?}; known: {}",
            registry.names().join(", ")
        );
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
        let collected = collect(collector, &sources, now, None).await;
        if program::abandoned() {
            // The program's thread cannot be stopped; end here rather than wait for it.
            eprintln!(
                "error: {}",
                collected.err().map(|e| e.to_string()).unwrap_or_default()
            );
            std::process::exit(1);
        }
        let collected = collected?;
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
    let report = run_collector(collector, &sources, &sink, now).await;
    if program::abandoned() {
        eprintln!(
            "error: {}",
            report.err().map(|e| e.to_string()).unwrap_or_default()
        );
        std::process::exit(1);
    }
    let report = report?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
