//! `telltale heartbeat monasca setup`: the loop's Monasca side — the webhook notification method
//! and the alarm definition whose alarm and OK actions call it — created, left alone, or put
//! back, with the heartbeat source's `OS_*` variables. One line per object says what was done.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use std::process::ExitCode;
use telltale::adapters::aws;
use telltale::base::env::Env;
use telltale::heartbeat::alarm_setup::{line, set_up, shown_url, Wanted, DEFAULT_EXPRESSION};
use telltale_cli::terminal::printable as shown;

#[derive(Subcommand)]
pub enum MonascaCommand {
    /// Create, or put back, the webhook notification method and the alarm that calls it
    ///
    /// Both are found by name; a second run changes nothing, and what was changed by hand is
    /// put back. Uses the heartbeat source's variables: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD
    /// (or OS_PASSWORD_PARAMETER), OS_PROJECT_NAME, OS_REGION_NAME, OS_INTERFACE, MONASCA_URL.
    Setup {
        /// Where Monasca's webhook notifier posts: the deployment's `…/heartbeat?token=<key>`
        /// (a key with the heartbeat role). Never printed whole.
        #[arg(long)]
        webhook_url: String,
        /// The alarm definition's name; the notification method is `<name>_webhook`.
        #[arg(long, default_value = "heartbeat")]
        alarm_name: String,
        /// The alarm's expression; the default matches the source as shipped (one beat a
        /// minute, 1 and 0 in turn).
        #[arg(long, default_value = DEFAULT_EXPRESSION)]
        expression: String,
        /// LOW, MEDIUM, HIGH or CRITICAL.
        #[arg(long, default_value = "LOW")]
        severity: String,
        /// Say what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(command: MonascaCommand) -> anyhow::Result<ExitCode> {
    let MonascaCommand::Setup {
        webhook_url,
        alarm_name,
        expression,
        severity,
        dry_run,
    } = command;
    let url_ok = url::Url::parse(&webhook_url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok {
        bail!(
            "--webhook-url {}: an http(s) URL such as https://api.example.org/prod/heartbeat?token=<key>",
            shown(&shown_url(&webhook_url))
        );
    }
    let severity = severity.to_uppercase();
    if !["LOW", "MEDIUM", "HIGH", "CRITICAL"].contains(&severity.as_str()) {
        bail!(
            "--severity {}: LOW, MEDIUM, HIGH or CRITICAL",
            shown(&severity)
        );
    }
    let env = Env::process();
    let sdk = aws::sdk_config().await;
    let monasca = telltale::wiring::monasca_session(&env, &sdk)
        .await?
        .ok_or_else(|| {
            anyhow!("OS_AUTH_URL is not set: source the cloud's openrc (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME)")
        })?;
    let wanted = Wanted {
        webhook_url,
        alarm_name,
        expression,
        severity,
    };
    let steps = set_up(&monasca, &wanted, dry_run)
        .await
        .map_err(|e| anyhow!(e))?;
    for step in &steps {
        println!("{}", line(step, dry_run));
    }
    Ok(ExitCode::SUCCESS)
}
