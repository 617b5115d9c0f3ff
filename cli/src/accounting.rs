//! `telltale accounting preview`: what the accounting push would send now, without sending it.
//! `telltale accounting set-refresh-token`: store the OIDC refresh token (read from stdin).

use anyhow::bail;
use clap::{Args, Subcommand};
use futures::future::BoxFuture;
use std::process::ExitCode;
use telltale::accounting::config::{AccountingConfig, PeriodMode};
use telltale::accounting::model::StoredToken;
use telltale::accounting::push::Pusher;
use telltale::adapters::aws;
use telltale::adapters::aws::accounting::AccountingTable;
use telltale::adapters::prometheus::Prometheus;
use telltale::base::env::Secret;
use telltale::metrics::config::{MappingsConfig, ValueConfig};
use telltale::metrics::ports::{PrometheusQuery, QueryData};

#[derive(Args)]
pub struct AccountingArgs {
    /// The accounting table (the stack's AccountingTableName output).
    #[arg(long, env = "ACCOUNTING_TABLE", hide_env_values = true, global = true)]
    table: Option<String>,
    #[command(subcommand)]
    command: AccountingCommand,
}

#[derive(Subcommand)]
enum AccountingCommand {
    /// Print what the accounting push would send now (the requests, and what it would skip);
    /// nothing is sent or recorded. Pushing for real is the accounting-push function's job.
    Preview(PreviewArgs),
    /// Store a new OIDC refresh token, read from standard input (so it stays out of shell
    /// history); the next push or refresh exchanges it. Needs AWS credentials for the table.
    SetRefreshToken,
}

#[derive(Args)]
struct PreviewArgs {
    /// The push's time, unix seconds (default: now).
    #[arg(long)]
    time: Option<i64>,
    /// Base URL of the EOSC Accounting Service API the requests would go to.
    #[arg(
        long,
        env = "ACCOUNTING_BASE_URL",
        hide_env_values = true,
        default_value = "https://accounting.example.org"
    )]
    base_url: String,
    /// cumulative (each push covers everything since the counter start) or incremental (the
    /// period since the last successful push).
    #[arg(
        long,
        env = "PERIOD_MODE",
        hide_env_values = true,
        default_value = "cumulative"
    )]
    period_mode: String,
}

pub async fn run(args: AccountingArgs) -> anyhow::Result<ExitCode> {
    let table = crate::given(args.table, "--table", "ACCOUNTING_TABLE")?;
    match args.command {
        AccountingCommand::Preview(preview_args) => preview(preview_args, table).await,
        AccountingCommand::SetRefreshToken => set_refresh_token(table).await,
    }
}

async fn preview(args: PreviewArgs, table_name: String) -> anyhow::Result<ExitCode> {
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
        table: table_name.clone(),
        period_mode,
        concurrency: 1,
        refresh_margin: std::time::Duration::ZERO,
        retry_base: std::time::Duration::ZERO,
        retries: 0,
    };
    let table = AccountingTable::new(aws::dynamodb_client(&sdk), table_name);
    // Each metric is one or more Prometheus queries; a person at a terminal sees them counted.
    let progress = telltale_cli::terminal::progress("Prometheus queries");
    let prometheus = Counted {
        inner: Prometheus::configured(&value),
        progress: progress.clone(),
    };
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
    let previewed = pusher.dry_run(view.metadata()?, view.metrics()?, end).await;
    progress.finish_and_clear();
    let (requests, skipped) = previewed?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({"would_send": requests, "skipped": skipped})
        )?
    );
    Ok(ExitCode::SUCCESS)
}

/// A Prometheus that ticks a progress counter at each answer.
struct Counted<P> {
    inner: P,
    progress: indicatif::ProgressBar,
}

impl<P: PrometheusQuery> PrometheusQuery for Counted<P> {
    fn query<'a>(
        &'a self,
        promql: &'a str,
        time: i64,
    ) -> BoxFuture<'a, telltale::Result<QueryData>> {
        Box::pin(async move {
            let answer = self.inner.query(promql, time).await;
            self.progress.inc(1);
            answer
        })
    }
}

async fn set_refresh_token(table: String) -> anyhow::Result<ExitCode> {
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
        refreshed_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    if !table.put_token(&stored).await? {
        bail!("the token changed while storing it; run the command again");
    }
    eprintln!("refresh token stored (version {version}); the next push or refresh uses it");
    Ok(ExitCode::SUCCESS)
}
