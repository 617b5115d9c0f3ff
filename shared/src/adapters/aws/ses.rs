//! Sending email through SES (v2 API). Plain text, UTF-8.

use crate::probes::email::Email;
use crate::probes::ports::Mailer;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

pub struct Ses {
    client: aws_sdk_sesv2::Client,
}

impl Ses {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

fn content(text: &str) -> Result<Content, String> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| e.to_string())
}

impl Mailer for Ses {
    async fn send(&self, email: &Email) -> Result<String, String> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .to_addresses(&email.to)
                    .set_bcc_addresses(Some(email.bcc.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| explained(super::logged(&e)))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

/// SES' error code with what it means for the team, which reads it as the email's last error
/// (the service's own message, which names addresses, is only logged).
fn explained(code: String) -> String {
    let meaning = match code.as_str() {
        "MessageRejected" => "the sender is not verified, or SES refused the message",
        "MailFromDomainNotVerifiedException" => "the sender's MAIL FROM domain is not verified",
        "AccountSuspendedException" | "SendingPausedException" => {
            "sending is paused for this account"
        }
        "TooManyRequestsException" | "LimitExceededException" => "SES' sending rate was exceeded",
        _ => return code,
    };
    format!("{code} ({meaning})")
}
