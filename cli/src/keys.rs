//! `telltale keys create|revoke`: API keys. A new key is printed once, on standard output; only
//! its SHA-256 is stored.

use anyhow::bail;
use clap::{Args, Subcommand};
use std::process::ExitCode;
use telltale::adapters::aws::{self, keys::ApiKeys};
use telltale::auth::{generate_key, hash_key, Role, StoredKey};

fn role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "expected submitter, monitoring or heartbeat".to_string())
}

#[derive(Args)]
pub struct KeysArgs {
    /// The keys table (the stack's ApiKeysTableName output).
    #[arg(long, env = "API_KEYS_TABLE", hide_env_values = true, global = true)]
    table: Option<String>,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key, print it once, store only its SHA-256.
    Create {
        /// Who the key is for; shown in status histories and logs.
        #[arg(long)]
        name: String,
        /// What it may do: submitter (submit, and list every candidate without its contact), monitoring (review and change
        /// status) or heartbeat (pings, webhooks and the exposition).
        #[arg(long, value_parser = role)]
        role: Role,
    },
    /// Delete every key with this name.
    Revoke {
        /// The name the keys were created with (`create --name`).
        #[arg(long)]
        name: String,
    },
}

pub async fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let table = crate::given(args.table, "--table", "API_KEYS_TABLE")?;
    let sdk = aws::sdk_config().await;
    let client = aws::dynamodb_client(&sdk);
    match args.command {
        KeysCommand::Create { name, role } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let keys = ApiKeys::new(client, table);
            // A name says who holds a key (histories, logs, `revoke`): two live keys of one
            // name could not be told apart there.
            if !keys.named(&name).await?.is_empty() {
                bail!(
                    "a key named '{name}' exists; revoke it first (keys revoke --name '{name}') or choose another name"
                );
            }
            let key = generate_key();
            let record = StoredKey {
                key_hash: hash_key(&key),
                name,
                role,
            };
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)?;
            keys.put(&record, &now).await?;
            eprintln!(
                "created {} key '{}'; it is shown only now:",
                role.as_str(),
                record.name
            );
            println!("{key}");
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Revoke { name } => {
            let removed = ApiKeys::new(client, table).revoke(&name).await?;
            println!("revoked {removed} key(s) named '{name}'");
            Ok(ExitCode::SUCCESS)
        }
    }
}
