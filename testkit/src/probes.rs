//! A probe table, a key table with one key, and a verified SES sender, all on moto.

use super::moto::moto;
use super::unique;
use telltale::adapters::aws::{
    dynamodb_client, keys::ApiKeys, probes::ProbeTable, ses::Ses, ses_client,
};
use telltale::auth::{generate_key, hash_key, Role, StoredKey};
use telltale::http::probes::ProbeApi;
use telltale::probes::email::EmailSettings;
use telltale_cli::tables;

pub const FROM: &str = "ARGO Monitoring <no-reply@telltale.test>";
pub const TEAM: &str = "monitoring-team@telltale.test";

pub struct ProbeFixture {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub probes_table: String,
    pub keys_table: String,
    /// A key registered with the role given to `new`, named `tenant-a`.
    pub key: String,
}

impl ProbeFixture {
    pub async fn new(role: Role) -> Self {
        let sdk = moto().sdk_config().await;
        let f = ProbeFixture {
            dynamodb: dynamodb_client(&sdk),
            ses: ses_client(&sdk),
            probes_table: unique("probes"),
            keys_table: unique("keys"),
            key: generate_key(),
        };
        tables::ensure_probes_table(&f.dynamodb, &f.probes_table)
            .await
            .expect("probe table");
        tables::ensure_api_keys_table(&f.dynamodb, &f.keys_table)
            .await
            .expect("key table");
        tables::ensure_email_identity(&f.ses, "no-reply@telltale.test")
            .await
            .expect("SES identity");
        f.add_key(&f.key, "tenant-a", role).await;
        f
    }

    pub async fn add_key(&self, key: &str, name: &str, role: Role) {
        let record = StoredKey {
            key_hash: hash_key(key),
            name: name.into(),
            role,
        };
        ApiKeys::new(self.dynamodb.clone(), &self.keys_table)
            .put(&record, "2026-01-01T00:00:00Z")
            .await
            .expect("storing a key");
    }

    pub fn email_settings(&self, from: &str) -> EmailSettings {
        EmailSettings {
            from: from.into(),
            team: vec![TEAM.into()],
            providers_portal_url: "https://providers.example.org".into(),
        }
    }

    /// The probe routes' dependencies, sending from `from`.
    pub fn api(&self, from: &str) -> ProbeApi<ProbeTable, Ses, ApiKeys> {
        ProbeApi {
            store: ProbeTable::new(self.dynamodb.clone(), &self.probes_table),
            mailer: Ses::new(self.ses.clone()),
            keys: ApiKeys::new(self.dynamodb.clone(), &self.keys_table),
            email: self.email_settings(from),
            min_testing: time::Duration::days(3),
        }
    }

    /// The probe functions' environment, for a process under `cargo lambda watch`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = moto().env();
        env.extend(
            [
                ("PROBES_TABLE", self.probes_table.as_str()),
                ("API_KEYS_TABLE", self.keys_table.as_str()),
                ("EMAIL_FROM", FROM),
                ("TEAM_EMAIL", TEAM),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }
}

/// A unique recipient, so one test's emails can be told from another's in moto.
pub fn contact() -> String {
    format!("{}@example.org", unique("owner"))
}
