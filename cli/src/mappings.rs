//! `telltale mappings validate <metadata> <metrics>`: check a pair of mapping files before
//! uploading them; every problem is printed with its line and JSON path.

use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use telltale::metrics::mappings::Problem;
use telltale::metrics::parse::{parse_metadata, parse_metrics};
use telltale_cli::locate::add_lines;

#[derive(Subcommand)]
pub enum MappingsCommand {
    /// Validate a metadata file and a metrics file; exit status 1 if anything is wrong.
    Validate { metadata: PathBuf, metrics: PathBuf },
}

pub fn run(command: MappingsCommand) -> anyhow::Result<ExitCode> {
    match command {
        MappingsCommand::Validate { metadata, metrics } => validate(&metadata, &metrics),
    }
}

/// Parses one mapping file; `Ok` carries how many metrics it defines.
type Check = fn(&[u8]) -> Result<usize, Vec<Problem>>;

fn validate(metadata: &Path, metrics: &Path) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let checks: [(&Path, Check); 2] = [
        (metadata, |b| {
            parse_metadata(b).map(|m| m.values().map(|r| r.metrics.len()).sum())
        }),
        (metrics, |b| {
            parse_metrics(b).map(|m| m.values().map(|r| r.len()).sum())
        }),
    ];
    for (path, check) in checks {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        match check(text.as_bytes()) {
            Ok(count) => println!("{}: ok, {count} metric(s)", path.display()),
            Err(mut problems) => {
                failed = true;
                add_lines(&text, &mut problems);
                for p in &problems {
                    match p.line {
                        Some(line) => {
                            println!("{}:{line}: {}: {}", path.display(), p.path(), p.message)
                        }
                        None => println!("{}: {}: {}", path.display(), p.path(), p.message),
                    }
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
