//! Sending email through SES (v2 API). Plain text, UTF-8.

use crate::outbox::email::ascii_address;
use crate::outbox::ports::Refusal;
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
    async fn send(&self, email: &Email) -> Result<String, Refusal> {
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
                    .to_addresses(ascii_address(&email.to))
                    .set_bcc_addresses(Some(email.bcc.iter().map(|a| ascii_address(a)).collect()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| refusal(super::logged(&e)))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

/// Whether SES' refusal can change: a request SES finds malformed (an address it cannot take:
/// a quoted or non-ASCII local part, a malformed domain) is refused the same way every time;
/// throttling, a paused account or an unverified identity can be fixed, so they are retried.
fn refusal(code: String) -> Refusal {
    let permanent = matches!(
        code.as_str(),
        // SES v2's code, and SES v1's (which the emulator answers with).
        "BadRequestException" | "InvalidParameterValue"
    );
    let reason = explained(code);
    if permanent {
        Refusal::Permanent(reason)
    } else {
        Refusal::Transient(reason)
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
        "BadRequestException" | "InvalidParameterValue" => {
            "SES cannot take the message as addressed"
        }
        _ => return code,
    };
    format!("{code} ({meaning})")
}
