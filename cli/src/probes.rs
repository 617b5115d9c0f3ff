//! `telltale probes list|show|set-status`: the monitoring team's day-to-day work on probe
//! candidates, through the API (`TELLTALE_API_URL`, `TELLTALE_API_KEY`).

use clap::{Args, Subcommand};
use std::process::ExitCode;
use telltale_cli::client::{render_details, render_list, ProbeClient};

#[derive(Args)]
pub struct ProbesArgs {
    /// Base URL of the API, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod
    #[arg(
        long,
        env = "TELLTALE_API_URL",
        hide_env_values = true,
        default_value = "http://localhost:9000",
        global = true
    )]
    api_url: String,
    /// A key with the monitoring role (`telltale keys create --role monitoring`).
    #[arg(long, env = "TELLTALE_API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ProbesCommand,
}

#[derive(Subcommand)]
enum ProbesCommand {
    /// List candidates, sorted by name (read a page at a time; progress on a terminal).
    List {
        /// Only this status: submitted, processing, testing, deployed or rejected.
        #[arg(long)]
        status: Option<String>,
        /// Only candidates whose name or contact holds this text (any case), or whose id
        /// starts with it.
        #[arg(long)]
        search: Option<String>,
        /// Candidates per request, 1 to 500.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=500))]
        page_size: u16,
    },
    /// Show one candidate with its history and emails.
    Show {
        /// The candidate's id (the first column of `list`).
        id: String,
    },
    /// Move a candidate to another status; give the field that status needs.
    SetStatus {
        /// The candidate's id (the first column of `list`).
        id: String,
        /// processing (needs --service-type), testing (--devel-url), deployed (--production-url)
        /// or rejected (--rejection-reason).
        status: String,
        /// For processing: the service type the probe monitors, e.g. eu.argo.http.
        #[arg(long)]
        service_type: Option<String>,
        /// For testing: where its results show on the devel infrastructure.
        #[arg(long)]
        devel_url: Option<String>,
        /// For deployed: where its results show in production.
        #[arg(long)]
        production_url: Option<String>,
        /// For rejected: why, as the submitter will read it in the email.
        #[arg(long)]
        rejection_reason: Option<String>,
        /// Deploy before the minimum time in testing has passed (recorded in the history).
        #[arg(long)]
        force: bool,
        /// Refuse the change if the candidate is no longer at this version (see `show`).
        #[arg(long)]
        expected_version: Option<u64>,
    },
}

pub async fn run(args: ProbesArgs) -> anyhow::Result<ExitCode> {
    let key = crate::given(args.api_key, "--api-key", "TELLTALE_API_KEY")?;
    let client = ProbeClient::new(&args.api_url, &key);
    let (answer, render): (_, fn(&serde_json::Value) -> String) = match args.command {
        ProbesCommand::List {
            status,
            search,
            page_size,
        } => {
            let progress = telltale_cli::terminal::progress("candidates read");
            let listed = client
                .list(status.as_deref(), search.as_deref(), page_size, |n| {
                    progress.set_position(n as u64)
                })
                .await;
            progress.finish_and_clear();
            (listed, render_list)
        }
        ProbesCommand::Show { id } => (client.show(&id).await, render_details),
        ProbesCommand::SetStatus {
            id,
            status,
            service_type,
            devel_url,
            production_url,
            rejection_reason,
            force,
            expected_version,
        } => {
            let mut body = serde_json::json!({ "status": status });
            for (field, value) in [
                ("service_type", service_type),
                ("devel_url", devel_url),
                ("production_url", production_url),
                ("rejection_reason", rejection_reason),
            ] {
                if let Some(v) = value {
                    body[field] = serde_json::Value::String(v);
                }
            }
            if force {
                body["force"] = serde_json::Value::Bool(true);
            }
            (
                client.set_status(&id, &body, expected_version).await,
                render_details,
            )
        }
    };
    match answer {
        Ok(value) if args.json => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(value) => {
            println!("{}", render(&value));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", in_cli_words(&e.to_string()));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The API's messages, with what they tell an HTTP client to send said as this command's
/// option (the API keeps POEM's text for its other clients).
fn in_cli_words(message: &str) -> String {
    message.replace(
        "Send \"force\": true to deploy anyway",
        "Give --force to deploy anyway",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_409_names_the_option() {
        assert_eq!(
            super::in_cli_words("must stay 72 hour(s) before 'deployed'. Send \"force\": true to deploy anyway (HTTP 409)"),
            "must stay 72 hour(s) before 'deployed'. Give --force to deploy anyway (HTTP 409)"
        );
    }
}
