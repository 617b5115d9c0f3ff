//! `telltale`: the command line of the bundle, for operators and developers.
//!
//! - `telltale mappings validate <metadata> <metrics>`: check a pair of mapping files before
//!   uploading them; every problem is printed with its line and JSON path.
//! - `telltale keys create --name N --role R`: create an API key; it is printed once and only
//!   its hash is stored.
//! - `telltale keys revoke --name N`: delete the keys of that name.
//! - `telltale probes list|show|set-status`: the monitoring team's day-to-day work on probe
//!   candidates, through the API (`TELLTALE_API_URL`, `TELLTALE_API_KEY`).
//! - `telltale push --dry-run`: what the accounting push would send now, without sending it.
//! - `telltale accounting set-refresh-token`: store the OIDC refresh token (read from stdin).
//! - `telltale local setup`: create the table(s) and bucket on the local emulator and upload
//!   mapping files (used by `make dev`).

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use telltale::accounting::push::Pusher;
use telltale::auth::{generate_key, hash_key, KeyLookup, Role, StoredKey};
use telltale::aws::accounting::{AccountingTable, StoredToken};
use telltale::aws::{self, keys::ApiKeys, probes::ProbeTable, tables};
use telltale::config::{AccountingConfig, MappingsConfig, PeriodMode, Secret, ValueConfig};
use telltale::metrics::locate::add_lines;
use telltale::metrics::mappings::{parse_metadata, parse_metrics, Problem};
use telltale::metrics::prometheus::Prometheus;
use telltale::metrics::store::MappingStore;
use telltale::probes::client::{render_details, render_list, ProbeClient};

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
        command: MappingsCommand,
    },
    /// Manage API keys (stored hashed in DynamoDB).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Probe candidates, through the API (needs a monitoring key to show or change them).
    Probes {
        /// Base URL of the API, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod
        #[arg(
            long,
            env = "TELLTALE_API_URL",
            default_value = "http://localhost:9000"
        )]
        api_url: String,
        #[arg(long, env = "TELLTALE_API_KEY", hide_env_values = true)]
        api_key: String,
        /// Print the API's JSON instead of tables.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: ProbesCommand,
    },
    /// Show what the accounting push would send (nothing is sent or recorded).
    Push {
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
    },
    /// The accounting push's stored state.
    Accounting {
        #[command(subcommand)]
        command: AccountingCommand,
    },
    /// Prepare the local emulator for `cargo lambda watch`.
    Local {
        #[command(subcommand)]
        command: LocalCommand,
    },
}

#[derive(Subcommand)]
enum MappingsCommand {
    /// Validate a metadata file and a metrics file; exit status 1 if anything is wrong.
    Validate { metadata: PathBuf, metrics: PathBuf },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key, print it once, store only its SHA-256.
    Create {
        /// Who the key is for; shown in status histories and logs.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long, env = "API_KEYS_TABLE")]
        table: String,
    },
    /// Delete every key with this name.
    Revoke {
        #[arg(long)]
        name: String,
        #[arg(long, env = "API_KEYS_TABLE")]
        table: String,
    },
}

#[derive(Subcommand)]
enum ProbesCommand {
    /// List candidates, sorted by name.
    List {
        /// Only this status: submitted, processing, testing, deployed or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show one candidate with its history and emails.
    Show { id: String },
    /// Move a candidate to another status; give the field that status needs.
    SetStatus {
        id: String,
        /// processing (needs --service-type), testing (--devel-url), deployed (--production-url)
        /// or rejected (--rejection-reason).
        status: String,
        #[arg(long)]
        service_type: Option<String>,
        #[arg(long)]
        devel_url: Option<String>,
        #[arg(long)]
        production_url: Option<String>,
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

#[derive(Subcommand)]
enum AccountingCommand {
    /// Store a new OIDC refresh token, read from standard input (so it stays out of shell
    /// history); the next push or refresh exchanges it. Needs AWS credentials for the table.
    SetRefreshToken {
        #[arg(long, env = "ACCOUNTING_TABLE")]
        table: String,
    },
}

#[derive(Subcommand)]
enum LocalCommand {
    /// Create the tables, the mappings bucket and the SES identity on the emulator named by
    /// AWS_ENDPOINT_URL, upload the mapping files, and register the sample events' key.
    Setup {
        #[arg(long, env = "API_KEYS_TABLE")]
        keys_table: String,
        #[arg(long, env = "PROBES_TABLE")]
        probes_table: String,
        #[arg(long, env = "ACCOUNTING_TABLE")]
        accounting_table: String,
        /// The sender address to verify in SES.
        #[arg(long, env = "EMAIL_FROM")]
        email_from: String,
        #[arg(long, env = "MAPPINGS_BUCKET")]
        bucket: String,
        /// Folder holding metadata_mappings.json and metrics_mappings.json.
        #[arg(long, default_value = "demo")]
        mappings_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Mappings {
            command: MappingsCommand::Validate { metadata, metrics },
        } => validate(&metadata, &metrics),
        Command::Keys { command } => {
            let sdk = aws::sdk_config().await;
            let client = aws::dynamodb_client(&sdk);
            match command {
                KeysCommand::Create { name, role, table } => {
                    if name.trim().is_empty() {
                        bail!("--name must not be empty");
                    }
                    let key = generate_key();
                    let record = StoredKey {
                        key_hash: hash_key(&key),
                        name,
                        role,
                    };
                    let now = time::OffsetDateTime::now_utc()
                        .format(&time::format_description::well_known::Rfc3339)?;
                    ApiKeys::new(client, table).put(&record, &now).await?;
                    eprintln!(
                        "created {} key '{}'; it is shown only now:",
                        role.as_str(),
                        record.name
                    );
                    println!("{key}");
                    Ok(ExitCode::SUCCESS)
                }
                KeysCommand::Revoke { name, table } => {
                    let removed = ApiKeys::new(client, table).revoke(&name).await?;
                    println!("revoked {removed} key(s) named '{name}'");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::Probes {
            api_url,
            api_key,
            json,
            command,
        } => probes(&ProbeClient::new(&api_url, &api_key), json, command).await,
        Command::Push {
            dry_run,
            time,
            base_url,
            table,
            period_mode,
        } => {
            if !dry_run {
                bail!("only --dry-run is offered here; the accounting-push function pushes for real (cargo lambda invoke accounting-push locally)");
            }
            push_dry_run(time, base_url, table, &period_mode).await
        }
        Command::Accounting {
            command: AccountingCommand::SetRefreshToken { table },
        } => {
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
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)?;
            if !table.put_token(&stored, &now).await? {
                bail!("the token changed while storing it; run the command again");
            }
            eprintln!("refresh token stored (version {version}); the next push or refresh uses it");
            Ok(ExitCode::SUCCESS)
        }
        Command::Local {
            command:
                LocalCommand::Setup {
                    keys_table,
                    probes_table,
                    accounting_table,
                    email_from,
                    bucket,
                    mappings_dir,
                },
        } => {
            let sdk = aws::sdk_config().await;
            if sdk.endpoint_url().is_none() {
                bail!(
                    "local setup only talks to an emulator: set AWS_ENDPOINT_URL (make dev does)"
                );
            }
            let dynamodb = aws::dynamodb_client(&sdk);
            let s3 = aws::s3_client(&sdk);
            tables::ensure_api_keys_table(&dynamodb, &keys_table)
                .await
                .map_err(anyhow::Error::msg)?;
            tables::ensure_probes_table(&dynamodb, &probes_table)
                .await
                .map_err(anyhow::Error::msg)?;
            tables::ensure_accounting_table(&dynamodb, &accounting_table)
                .await
                .map_err(anyhow::Error::msg)?;
            let (_, address) = email_from
                .rsplit_once('<')
                .map(|(n, a)| (n, a.trim_end_matches('>')))
                .unwrap_or(("", email_from.as_str()));
            tables::ensure_email_identity(&aws::ses_client(&sdk), address)
                .await
                .map_err(anyhow::Error::msg)?;
            tables::ensure_sample_candidate(&ProbeTable::new(dynamodb.clone(), &probes_table))
                .await?;
            let keys = ApiKeys::new(dynamodb.clone(), keys_table.clone());
            if keys
                .find(&hash_key(tables::SAMPLE_EVENTS_KEY))
                .await?
                .is_none()
            {
                let sample = StoredKey {
                    key_hash: hash_key(tables::SAMPLE_EVENTS_KEY),
                    name: "sample-events".into(),
                    role: Role::Monitoring,
                };
                keys.put(&sample, "1970-01-01T00:00:00Z").await?;
            }
            tables::ensure_bucket(&s3, &bucket)
                .await
                .map_err(anyhow::Error::msg)?;
            for name in [
                telltale::config::DEFAULT_METADATA_KEY,
                telltale::config::DEFAULT_METRICS_KEY,
            ] {
                let path = mappings_dir.join(name);
                let body =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                tables::put_object(&s3, &bucket, name, body)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            eprintln!("local setup done: tables {keys_table} and {probes_table}, bucket {bucket}, SES identity {address}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn probes(
    client: &ProbeClient,
    json: bool,
    command: ProbesCommand,
) -> anyhow::Result<ExitCode> {
    let (answer, render): (_, fn(&serde_json::Value) -> String) = match command {
        ProbesCommand::List { status } => (client.list(status.as_deref()).await, render_list),
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
        Ok(value) if json => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(value) => {
            println!("{}", render(&value));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn push_dry_run(
    time: Option<i64>,
    base_url: String,
    table: String,
    period_mode: &str,
) -> anyhow::Result<ExitCode> {
    let period_mode = match period_mode {
        "cumulative" => PeriodMode::Cumulative,
        "incremental" => PeriodMode::Incremental,
        other => bail!("--period-mode must be cumulative or incremental, not {other}"),
    };
    let value = ValueConfig::from_env()?;
    let sdk = aws::sdk_config().await;
    let store = MappingStore::new(aws::s3_client(&sdk), MappingsConfig::from_env()?);
    // A dry run never asks for a token, so no credentials are configured here.
    let config = AccountingConfig {
        base_url: base_url.trim_end_matches('/').to_string(),
        token_url: String::new(),
        client_id: String::new(),
        client_secret: Secret::new(""),
        initial_refresh_token: None,
        table: table.clone(),
        period_mode,
        concurrency: 1,
        refresh_margin: std::time::Duration::ZERO,
        retry_base: std::time::Duration::ZERO,
        retries: 0,
    };
    let table = AccountingTable::new(aws::dynamodb_client(&sdk), table);
    let prometheus = Prometheus::new(&value.prometheus_url, value.prometheus_timeout);
    let http = reqwest::Client::new();
    let pusher = Pusher {
        http: &http,
        config: &config,
        table: &table,
        prometheus: &prometheus,
        range_start: value.range_start,
    };
    let view = store.view().await;
    let end = time.unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
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
