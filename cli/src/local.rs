//! `telltale local setup`: create the tables, the bucket and the SES identity on the local
//! emulator and upload mapping files (used by `make dev`; refuses anything but an emulator).

use anyhow::{bail, Context};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use telltale::adapters::aws::{self, probes::ProbeTable};
use telltale_cli::tables;

#[derive(Subcommand)]
pub enum LocalCommand {
    /// Print the emails the emulator's SES accepted (from, to, bcc, subject, text), oldest
    /// first: what the probe functions sent, readable without opening moto's state dump.
    Emails {
        /// Only the emails to (or BCC'd to) this address.
        #[arg(long)]
        to: Option<String>,
    },
    /// Create the tables, the mappings bucket and the SES identity on the emulator named by
    /// AWS_ENDPOINT_URL and upload the mapping files. No key is created here: the sample
    /// events' key is in the repository, so it is registered only in the tests' own tables.
    Setup {
        /// The keys table to create.
        #[arg(long, env = "API_KEYS_TABLE", hide_env_values = true)]
        keys_table: String,
        /// The candidates' table to create (with the sample candidate).
        #[arg(long, env = "PROBES_TABLE", hide_env_values = true)]
        probes_table: String,
        /// The accounting push's table to create.
        #[arg(long, env = "ACCOUNTING_TABLE", hide_env_values = true)]
        accounting_table: String,
        /// The heartbeat checks' table to create.
        #[arg(long, env = "HEARTBEAT_TABLE", hide_env_values = true)]
        heartbeat_table: String,
        /// The sender address to verify in SES.
        #[arg(long, env = "EMAIL_FROM", hide_env_values = true)]
        email_from: String,
        /// The mappings bucket to create and fill.
        #[arg(long, env = "MAPPINGS_BUCKET", hide_env_values = true)]
        bucket: String,
        /// Folder holding metadata_mappings.json and metrics_mappings.json.
        #[arg(long, default_value = "demo")]
        mappings_dir: PathBuf,
    },
}

pub async fn run(command: LocalCommand) -> anyhow::Result<ExitCode> {
    let command = match command {
        LocalCommand::Emails { to } => return emails(to.as_deref()).await,
        setup => setup,
    };
    let LocalCommand::Setup {
        keys_table,
        probes_table,
        accounting_table,
        heartbeat_table,
        email_from,
        bucket,
        mappings_dir,
    } = command
    else {
        unreachable!("emails is answered above")
    };
    let sdk = aws::sdk_config().await;
    if sdk.endpoint_url().is_none() {
        bail!("local setup only talks to an emulator: set AWS_ENDPOINT_URL (make dev does)");
    }
    let dynamodb = aws::dynamodb_client(&sdk);
    let s3 = aws::s3_client(&sdk);
    tables::ensure_table(&dynamodb, tables::Store::ApiKeys, &keys_table)
        .await
        .map_err(anyhow::Error::msg)?;
    tables::ensure_table(&dynamodb, tables::Store::Probes, &probes_table)
        .await
        .map_err(anyhow::Error::msg)?;
    tables::ensure_table(&dynamodb, tables::Store::Accounting, &accounting_table)
        .await
        .map_err(anyhow::Error::msg)?;
    tables::ensure_table(&dynamodb, tables::Store::Heartbeat, &heartbeat_table)
        .await
        .map_err(anyhow::Error::msg)?;
    let (_, address) = email_from
        .rsplit_once('<')
        .map(|(n, a)| (n, a.trim_end_matches('>')))
        .unwrap_or(("", email_from.as_str()));
    tables::ensure_email_identity(&aws::ses_client(&sdk), address)
        .await
        .map_err(anyhow::Error::msg)?;
    tables::ensure_sample_candidate(&ProbeTable::new(dynamodb.clone(), &probes_table)).await?;
    tables::ensure_bucket(&s3, &bucket)
        .await
        .map_err(anyhow::Error::msg)?;
    for name in [
        telltale::metrics::config::DEFAULT_METADATA_KEY,
        telltale::metrics::config::DEFAULT_METRICS_KEY,
    ] {
        let path = mappings_dir.join(name);
        let body = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        tables::put_object(&s3, &bucket, name, body)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    eprintln!("local setup done: tables {keys_table}, {probes_table}, {accounting_table} and {heartbeat_table}, bucket {bucket}, SES identity {address}");
    Ok(ExitCode::SUCCESS)
}

/// `telltale local emails`: moto keeps what SES accepted in its state dump.
async fn emails(to: Option<&str>) -> anyhow::Result<ExitCode> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.trim().is_empty() {
        bail!("local emails reads the emulator's SES: set AWS_ENDPOINT_URL (make dev's .local/dev.env does)");
    }
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let data: serde_json::Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("reading {url}"))?
        .json()
        .await
        .with_context(|| format!("reading {url}"))?;
    let all = telltale_cli::emails::from_moto_data(&data);
    let shown: Vec<_> = all
        .iter()
        .filter(|e| to.is_none_or(|a| e.to.iter().chain(&e.bcc).any(|x| x == a)))
        .collect();
    for (i, e) in shown.iter().enumerate() {
        if i > 0 {
            println!("----");
        }
        print!("{}", telltale_cli::emails::render(e));
    }
    eprintln!("{} email(s)", shown.len());
    Ok(ExitCode::SUCCESS)
}
