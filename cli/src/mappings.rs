//! `telltale mappings validate --metadata F --metrics F`: check a pair of mapping files before
//! uploading them; every problem is printed with its line and JSON path. A pair given the
//! wrong way round is named as such (a metrics file can otherwise pass as metadata).

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
    Validate {
        /// The metadata file (metadata_mappings.json): each resource's metrics, their names,
        /// units, types and EOSC ids.
        #[arg(long, value_name = "FILE")]
        metadata: PathBuf,
        /// The metrics file (metrics_mappings.json): each metric's Prometheus query.
        #[arg(long, value_name = "FILE")]
        metrics: PathBuf,
    },
}

pub fn run(command: MappingsCommand) -> anyhow::Result<ExitCode> {
    match command {
        MappingsCommand::Validate { metadata, metrics } => validate(&metadata, &metrics),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Metadata,
    Metrics,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Metadata => "--metadata",
            Kind::Metrics => "--metrics",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Metadata => "a metadata file (its resources hold a \"metrics\" object)",
            Kind::Metrics => "a metrics file (its metrics hold a \"query\")",
        }
    }
}

/// What a file looks like, whatever it was given as: a resource with a `metrics` object is
/// metadata, a metric with a `query` is metrics; anything else says nothing.
fn looks_like(text: &str) -> Option<Kind> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let resources = value.as_object()?.values().filter_map(|r| r.as_object());
    let (mut metadata, mut metrics) = (false, false);
    for r in resources {
        metadata |= r.get("metrics").is_some_and(|m| m.is_object());
        metrics |= r
            .values()
            .any(|m| m.as_object().is_some_and(|m| m.contains_key("query")));
    }
    match (metadata, metrics) {
        (true, false) => Some(Kind::Metadata),
        (false, true) => Some(Kind::Metrics),
        _ => None,
    }
}

/// Parses one mapping file; `Ok` carries how many metrics it defines.
type Check = fn(&[u8]) -> Result<usize, Vec<Problem>>;

fn validate(metadata: &Path, metrics: &Path) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let checks: [(&Path, Kind, Check); 2] = [
        (metadata, Kind::Metadata, |b| {
            parse_metadata(b).map(|m| m.values().map(|r| r.metrics.len()).sum())
        }),
        (metrics, Kind::Metrics, |b| {
            parse_metrics(b).map(|m| m.values().map(|r| r.len()).sum())
        }),
    ];
    let mut texts = Vec::new();
    for (path, _, _) in &checks {
        texts.push(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let swapped = looks_like(&texts[0]) == Some(Kind::Metrics)
        || looks_like(&texts[1]) == Some(Kind::Metadata);
    if swapped {
        for ((path, kind, _), text) in checks.iter().zip(&texts) {
            if let Some(other) = looks_like(text).filter(|k| k != kind) {
                println!(
                    "{}: given as {} but this is {}",
                    path.display(),
                    kind.flag(),
                    other.noun()
                );
            }
        }
        println!("did you swap --metadata and --metrics?");
        return Ok(ExitCode::FAILURE);
    }
    for ((path, _, check), text) in checks.iter().zip(&texts) {
        match check(text.as_bytes()) {
            Ok(count) => println!("{}: ok, {count} metric(s)", path.display()),
            Err(mut problems) => {
                failed = true;
                add_lines(text, &mut problems);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_told_by_its_shape() {
        let metadata = std::fs::read_to_string("../demo/metadata_mappings.json").unwrap();
        let metrics = std::fs::read_to_string("../demo/metrics_mappings.json").unwrap();
        assert_eq!(looks_like(&metadata), Some(Kind::Metadata));
        assert_eq!(looks_like(&metrics), Some(Kind::Metrics));
        assert_eq!(looks_like("{}"), None);
        assert_eq!(looks_like("not json"), None);
    }
}
