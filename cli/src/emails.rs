//! The emails the local emulator's SES accepted, as `/moto-api/data.json` lists them: what
//! `telltale local emails` prints, and what the tests read.

use serde_json::Value;

/// An email moto's SES accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub source: String,
    pub to: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Every email in moto's state dump, oldest first.
pub fn from_moto_data(data: &Value) -> Vec<SentEmail> {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    data["ses"]["Message"]
        .as_array()
        .map(|msgs| {
            msgs.iter()
                .map(|m| SentEmail {
                    source: m["source"].as_str().unwrap_or_default().to_string(),
                    to: list(&m["destinations"]["ToAddresses"]),
                    bcc: list(&m["destinations"]["BccAddresses"]),
                    subject: m["subject"].as_str().unwrap_or_default().to_string(),
                    body: m["body"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One email as a person reads it: headers, a blank line, the text (terminal-safe).
pub fn render(e: &SentEmail) -> String {
    use crate::terminal::printable;
    let mut out = format!(
        "From: {}\nTo: {}\n",
        printable(&e.source),
        printable(&e.to.join(", "))
    );
    if !e.bcc.is_empty() {
        out.push_str(&format!("Bcc: {}\n", printable(&e.bcc.join(", "))));
    }
    out.push_str(&format!(
        "Subject: {}\n\n{}\n",
        printable(&e.subject),
        printable(&e.body)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_messages_become_readable_emails() {
        let data = serde_json::json!({"ses": {"Message": [{
            "source": "ARGO <no-reply@x.org>",
            "destinations": {"ToAddresses": ["a@x.org"], "BccAddresses": ["team@x.org"]},
            "subject": "[ARGO Monitoring] Probe submitted",
            "body": "Dear madam/sir,\n\nhi \u{1b}[31m"
        }]}});
        let emails = from_moto_data(&data);
        assert_eq!(emails.len(), 1);
        assert_eq!(
            render(&emails[0]),
            "From: ARGO <no-reply@x.org>\nTo: a@x.org\nBcc: team@x.org\nSubject: [ARGO Monitoring] Probe submitted\n\nDear madam/sir,\n\nhi \\u{1b}[31m\n"
        );
        assert!(from_moto_data(&serde_json::json!({})).is_empty());
    }
}
