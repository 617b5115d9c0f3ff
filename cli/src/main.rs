//! `telltale`: the command line of the bundle, for operators and developers. One module per
//! command group:
//!
//! - `mappings validate`: check a pair of mapping files before uploading them (mappings.rs);
//! - `keys create|revoke`: API keys, printed once, stored hashed (keys.rs);
//! - `probes list|show|set-status`: the monitoring team's work on candidates, through the API
//!   (probes.rs);
//! - `push --dry-run` and `accounting set-refresh-token` (accounting.rs);
//! - `collect`: run a KPI collector by hand, list them, print their template section
//!   (collect.rs);
//! - `heartbeat check set|list`: named heartbeat checks (heartbeat.rs);
//! - `local setup`: prepare the local emulator for `cargo lambda watch` (local.rs).

mod accounting;
mod collect;
mod heartbeat;
mod keys;
mod local;
mod mappings;
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
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Probe candidates, through the API (needs a monitoring key to show or change them).
    Probes(probes::ProbesArgs),
    /// Show what the accounting push would send (nothing is sent or recorded).
    Push(accounting::PushArgs),
    /// The accounting push's stored state.
    Accounting {
        #[command(subcommand)]
        command: accounting::AccountingCommand,
    },
    /// Run a KPI collector by hand (--dry-run prints line protocol), or list them.
    Collect(collect::CollectArgs),
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
        Command::Keys { command } => keys::run(command).await,
        Command::Probes(args) => probes::run(args).await,
        Command::Push(args) => accounting::push(args).await,
        Command::Accounting { command } => accounting::run(command).await,
        Command::Collect(args) => collect::run(args).await,
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
