//! The email channel: a plain-text, UTF-8 email, and the mail service that takes it (SES as
//! deployed). Shared by the probes' emails and the heartbeat checks' notices.

use serde::{Deserialize, Serialize};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub from: String,
    pub to: String,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
}

pub trait Mailer {
    /// Hands the email to the mail service; returns its message id, or why it refused.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, String>> + Send;
}
