//! `telltale`: the command line of the bundle, for operators and developers. One module per
//! command group:
//!
//! - `mappings validate`: check a pair of mapping files before uploading them (mappings.rs);
//! - `keys create|revoke`: API keys, printed once, stored hashed (keys.rs);
//! - `probes list|show|set-status`: the monitoring team's work on candidates, through the API
//!   (probes.rs);
//! - `accounting preview|set-refresh-token` (accounting.rs);
//! - `collect list|run|template`: the KPI collectors, run by hand, and their template section
//!   (collect.rs);
//! - `heartbeat check set|list`: named heartbeat checks (heartbeat.rs);
//! - `local setup`: prepare the local emulator for `cargo lambda watch` (local.rs).

mod accounting;
mod collect;
mod heartbeat;
mod keys;
mod local;
mod mappings;
mod monasca;
mod probes;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "telltale",
    version,
    about = "telltale operator and developer commands"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the metric mapping files.
    Mappings {
        #[command(subcommand)]
        command: mappings::MappingsCommand,
    },
    /// Manage API keys (stored hashed in DynamoDB).
    Keys(keys::KeysArgs),
    /// Probe candidates, through the API (needs a monitoring key to show or change them).
    Probes(probes::ProbesArgs),
    /// The accounting push: preview what it would send, store its refresh token.
    Accounting(accounting::AccountingArgs),
    /// The KPI collectors: list them, run one by hand, print their template section.
    Collect {
        #[command(subcommand)]
        command: collect::CollectCommand,
    },
    /// Heartbeat checks: their period and grace, and their state.
    Heartbeat {
        #[command(subcommand)]
        command: heartbeat::HeartbeatCommand,
    },
    /// Prepare the local emulator for `cargo lambda watch`.
    Local {
        #[command(subcommand)]
        command: local::LocalCommand,
    },
}

/// A setting given as an option or by its environment variable, required by the command that
/// reads it (clap would otherwise list it as required in every usage line, even when the
/// variable is set).
pub(crate) fn given(value: Option<String>, flag: &str, variable: &str) -> anyhow::Result<String> {
    match value.map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => anyhow::bail!("give {flag} or set {variable}"),
    }
}

/// A reader that stops early (`telltale ... | head`) ends the command quietly, as it ends any
/// other Unix tool: Rust ignores SIGPIPE, so the next write would fail and `println!` panic.
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: `signal` with the default action installs no handler of ours; it runs first in
    // `main`, before the runtime starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    die_quietly_on_a_closed_pipe();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Mappings { command } => mappings::run(command),
        Command::Keys(args) => keys::run(args).await,
        Command::Probes(args) => probes::run(args).await,
        Command::Accounting(args) => accounting::run(args).await,
        Command::Collect { command } => collect::run(command).await,
        Command::Heartbeat { command } => heartbeat::run(command).await,
        Command::Local { command } => local::run(command).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and subcommand, by its path (`telltale probes set-status`).
    fn commands() -> Vec<(String, clap::Command)> {
        fn walk(path: String, cmd: clap::Command, out: &mut Vec<(String, clap::Command)>) {
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(format!("{path} {}", sub.get_name()), sub.clone(), out);
                }
            }
            out.push((path, cmd));
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut out = Vec::new();
        walk("telltale".into(), cmd, &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn every_command_and_argument_says_what_it_is() {
        let mut missing = Vec::new();
        for (path, cmd) in commands() {
            if path != "telltale" && cmd.get_about().is_none() {
                missing.push(format!("{path} (the command)"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path}: {id}"));
                }
            }
        }
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }

    /// The `--help` of every command, as a user reads it; a change shows in review.
    #[test]
    fn help_texts() {
        let mut all = String::new();
        for (path, mut cmd) in commands() {
            all.push_str(&format!("$ {path} --help\n{}\n", cmd.render_help()));
        }
        insta::assert_snapshot!(all);
    }

    #[test]
    fn a_setting_from_neither_option_nor_variable_names_both() {
        let err = given(None, "--table", "API_KEYS_TABLE").unwrap_err();
        assert_eq!(err.to_string(), "give --table or set API_KEYS_TABLE");
        assert!(given(Some("  ".into()), "--table", "X").is_err());
        assert_eq!(given(Some("t".into()), "--table", "X").unwrap(), "t");
    }
}
