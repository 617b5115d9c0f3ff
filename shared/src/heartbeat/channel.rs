//! Where a check's notices go: email, a webhook, Alertmanager.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a check's notices go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Channel {
    Email {
        to: String,
    },
    /// `POST` of the notice's JSON, signed with HMAC-SHA256 under the secret kept in this SSM
    /// parameter (`X-Telltale-Signature-256: sha256=<hex>`).
    Webhook {
        url: String,
        secret_parameter: Option<String>,
    },
    /// `POST /api/v2/alerts` on the stack's Alertmanager (`ALERTMANAGER_URL`).
    Alertmanager,
}

impl Channel {
    /// A short, stable name for the channel (in notice ids, lists and metrics).
    pub fn key(&self) -> String {
        let spec = serde_json::to_string(self).unwrap_or_default();
        let digest = Sha256::digest(spec.as_bytes());
        let kind = match self {
            Channel::Email { .. } => "email",
            Channel::Webhook { .. } => "webhook",
            Channel::Alertmanager => "alertmanager",
        };
        format!("{kind}-{}", &hex::encode(digest)[..10])
    }

    /// What the list shows: the kind and its target.
    pub fn shown(&self) -> String {
        match self {
            Channel::Email { to } => format!("email {to}"),
            Channel::Webhook { url, .. } => format!("webhook {url}"),
            Channel::Alertmanager => "alertmanager".into(),
        }
    }
}
