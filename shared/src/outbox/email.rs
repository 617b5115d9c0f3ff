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
    fn send(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<String, super::ports::Refusal>> + Send;
}

/// Why a mail service without SMTPUTF8 (SES among them) can never deliver to `address`, if it
/// cannot: SES takes only 7-bit ASCII local parts, no quoted local part, and a domain it can
/// write in ASCII (an internationalised one goes as punycode, see `ascii_address`).
pub fn undeliverable(address: &str) -> Option<&'static str> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some("no domain");
    };
    if local.starts_with('"') {
        return Some("a quoted local part");
    }
    if !local.is_ascii() {
        return Some("a local part that is not ASCII");
    }
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(_)) => None,
        _ => Some("a domain that is not a host name"),
    }
}

/// The same address as a mail service without SMTPUTF8 takes it: an internationalised domain
/// in punycode (`a@bücher.example` → `a@xn--bcher-kva.example`); any other address as it is.
pub fn ascii_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match url::Host::parse(domain) {
            Ok(url::Host::Domain(ascii)) => format!("{local}@{ascii}"),
            _ => address.to_string(),
        },
        _ => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_ses_can_never_take_is_named_and_an_idn_goes_as_punycode() {
        for (address, problem) in [
            ("\"a@b\"@example.org", "a quoted local part"),
            ("\"a,b@x.example\"@example.org", "a quoted local part"),
            ("ü@example.org", "a local part that is not ASCII"),
            ("a@[192.0.2.1]", "a domain that is not a host name"),
        ] {
            assert_eq!(undeliverable(address), Some(problem), "{address}");
        }
        for fine in ["a@bücher.example", "o'neil+x@example.org", "a@example.org"] {
            assert_eq!(undeliverable(fine), None, "{fine}");
        }
        assert_eq!(ascii_address("a@bücher.example"), "a@xn--bcher-kva.example");
        assert_eq!(ascii_address("a@Example.org"), "a@Example.org");
    }
}
