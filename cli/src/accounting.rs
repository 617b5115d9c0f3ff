//! `telltale push --dry-run`: what the accounting push would send now, without sending it.
//! `telltale accounting set-refresh-token`: store the OIDC refresh token (read from stdin).

use anyhow::bail;
use clap::{Args, Subcommand};
use std::process::ExitCode;
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::accounting::model::StoredToken;
use telltale::accounting::push::Pusher;
use telltale::adapters::aws;
use telltale::adapters::aws::accounting::AccountingTable;
use telltale::adapters::prometheus::Prometheus;
use telltale::base::env::Secret;
use telltale::metrics::config::{MappingsConfig, ValueConfig};

#[derive(Args)]
pub struct PushArgs {
    /// Required: pushing for real is the accounting-push function's job.
    #[arg(long)]
    dry_run: bool,
    /// Push time, unix seconds (default: now).
    #[arg(long)]
    time: Option<i64>,
    #[arg(
        long,
        env = "ACCOUNTING_BASE_URL",
        default_value = "https://accounting.example.org"
    )]
    base_url: String,
    #[arg(long, env = "ACCOUNTING_TABLE")]
    table: String,
    /// cumulative or incremental
    #[arg(long, env = "PERIOD_MODE", default_value = "cumulative")]
    period_mode: String,
}

#[derive(Subcommand)]
pub enum AccountingCommand {
    /// Store a new OIDC refresh token, read from standard input (so it stays out of shell
    /// history); the next push or refresh exchanges it. Needs AWS credentials for the table.
    SetRefreshToken {
        #[arg(long, env = "ACCOUNTING_TABLE")]
        table: String,
    },
}

pub async fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        bail!("only --dry-run is offered here; the accounting-push function pushes for real (cargo lambda invoke accounting-push locally)");
    }
    let period_mode = match args.period_mode.as_str() {
        "cumulative" => PeriodMode::Cumulative,
        "incremental" => PeriodMode::Incremental,
        other => bail!("--period-mode must be cumulative or incremental, not {other}"),
    };
    let value = ValueConfig::from_env()?;
    let sdk = aws::sdk_config().await;
    let store = telltale::adapters::aws::s3::mapping_store(
        aws::s3_client(&sdk),
        MappingsConfig::from_env()?,
    );
    // A dry run never asks for a token, so no credentials are configured here.
    let config = AccountingConfig {
        base_url: args.base_url.trim_end_matches('/').to_string(),
        token_url: String::new(),
        client_id: String::new(),
        client_secret: Secret::new(""),
        initial_refresh_token: None,
        table: args.table.clone(),
        period_mode,
        concurrency: 1,
        refresh_margin: std::time::Duration::ZERO,
        retry_base: std::time::Duration::ZERO,
        retries: 0,
    };
    let table = AccountingTable::new(aws::dynamodb_client(&sdk), args.table);
    let prometheus = Prometheus::configured(&value);
    // Bounded like the deployed push: a hung endpoint ends the command with an error.
    let http = telltale::adapters::eosc::client(std::time::Duration::from_secs(60))?;
    let service = telltale::adapters::eosc::Eosc { http: http.clone() };
    let grant = telltale::adapters::eosc::Oidc::new(http, &config);
    let pusher = Pusher {
        service: &service,
        grant: &grant,
        config: &config,
        table: &table,
        prometheus: &prometheus,
        range_start: value.range_start,
    };
    let view = store.view().await;
    let end = args
        .time
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let (requests, skipped) = pusher
        .dry_run(view.metadata()?, view.metrics()?, end)
        .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({"would_send": requests, "skipped": skipped})
        )?
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn run(command: AccountingCommand) -> anyhow::Result<ExitCode> {
    let AccountingCommand::SetRefreshToken { table } = command;
    let mut token = String::new();
    std::io::stdin().read_line(&mut token)?;
    let token = token.trim();
    if token.is_empty() {
        bail!("no refresh token on standard input");
    }
    let sdk = aws::sdk_config().await;
    let table = AccountingTable::new(aws::dynamodb_client(&sdk), table);
    let version = table.token().await?.map_or(1, |t| t.version + 1);
    let stored = StoredToken {
        access_token: Secret::new(""),
        expires_at: 0,
        refresh_token: Secret::new(token),
        version,
    };
    let now =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    if !table.put_token(&stored, &now).await? {
        bail!("the token changed while storing it; run the command again");
    }
    eprintln!("refresh token stored (version {version}); the next push or refresh uses it");
    Ok(ExitCode::SUCCESS)
}
