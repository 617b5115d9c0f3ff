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

/// The test deployments' cursor key.
pub const CURSOR_KEY: &str = "test-deployment-cursor-key";

/// The cursor key as the probe routes hold it.
pub fn cursor_key() -> telltale::probes::cursor::CursorKey {
    telltale::probes::cursor::CursorKey::new(CURSOR_KEY).expect("a long enough key")
}

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
        tables::ensure_table(
            &f.dynamodb,
            telltale_cli::tables::Store::Probes,
            &f.probes_table,
        )
        .await
        .expect("probe table");
        tables::ensure_table(
            &f.dynamodb,
            telltale_cli::tables::Store::ApiKeys,
            &f.keys_table,
        )
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
            team_page_url: Some("https://argo.example.org/prod/team/".into()),
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
            cursors: crate::probes::cursor_key(),
        }
    }

    /// Every HTTP function's environment (probes, metrics on the demo mappings and the demo
    /// series, heartbeat), with a bucket and a heartbeat table of its own named after `label`.
    pub async fn every_route_env(&self, label: &str) -> Vec<(String, String)> {
        let sdk = moto().sdk_config().await;
        let s3 = telltale::adapters::aws::s3_client(&sdk);
        let bucket = unique(label);
        tables::ensure_bucket(&s3, &bucket).await.unwrap();
        for name in ["metadata_mappings.json", "metrics_mappings.json"] {
            let body = std::fs::read(crate::repo_root().join("demo").join(name)).unwrap();
            tables::put_object(&s3, &bucket, name, body).await.unwrap();
        }
        let heartbeats = unique(&format!("{label}-heartbeats"));
        tables::ensure_table(
            &self.dynamodb,
            telltale_cli::tables::Store::Heartbeat,
            &heartbeats,
        )
        .await
        .unwrap();
        let server = crate::prometheus::prometheus(crate::prometheus::demo_series);
        let mut env = self.env();
        env.extend(
            [
                ("MAPPINGS_BUCKET", bucket.as_str()),
                ("PROMETHEUS_URL", server.url.as_str()),
                ("PROMETHEUS_TIMEOUT_SECONDS", "10"),
                ("HEARTBEAT_TABLE", heartbeats.as_str()),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    /// Stores `candidate` as another tool (or an older version) might have: without the
    /// submission rules.
    /// Stores many candidates as they are (batched writes).
    pub async fn import_all(&self, candidates: &[telltale::probes::model::Candidate]) {
        ProbeTable::new(self.dynamodb.clone(), &self.probes_table)
            .import(candidates)
            .await
            .expect("importing candidates");
    }

    pub async fn import(&self, candidate: telltale::probes::model::Candidate) {
        ProbeTable::new(self.dynamodb.clone(), &self.probes_table)
            .import(&[candidate])
            .await
            .expect("importing a candidate");
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
                ("CURSOR_KEY", CURSOR_KEY),
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

/// A candidate named `name` as stored before today's text rules (or by another tool), with
/// the id `id`, submitted by `legacy`.
pub fn legacy_candidate(id: &str, name: &str) -> telltale::probes::model::Candidate {
    let mut c = telltale::probes::model::Candidate::submitted(
        id.into(),
        telltale::probes::validate::Submission {
            name: name.into(),
            description: None,
            docurl: "https://example.org".into(),
            command: "check.py -t 10".into(),
            contact: "x@example.org".into(),
            rpm: None,
            yum_baseurl: None,
            script: Some("https://example.org/s".into()),
        },
        "legacy",
        "2026-01-01T00:00:00Z",
    );
    c.submitted_by = "legacy".into();
    c
}
