//! `telltale keys create|revoke`: API keys. A new key is printed once, on standard output; only
//! its SHA-256 is stored.

use anyhow::bail;
use clap::Subcommand;
use std::process::ExitCode;
use telltale::adapters::aws::{self, keys::ApiKeys};
use telltale::auth::{generate_key, hash_key, Role, StoredKey};

fn role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "expected submitter, monitoring or heartbeat".to_string())
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key, print it once, store only its SHA-256.
    Create {
        /// Who the key is for; shown in status histories and logs.
        #[arg(long)]
        name: String,
        /// submitter, monitoring or heartbeat.
        #[arg(long, value_parser = role)]
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

pub async fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
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
