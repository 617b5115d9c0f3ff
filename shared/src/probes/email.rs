//! POEM's emails: one per status, to the stored contact, the team in BCC. Values are inserted
//! as plain text; nothing from a request is ever interpreted as a template.

use super::model::{Candidate, Status};
use serde::{Deserialize, Serialize};

/// Where emails come from and whom the team copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// `ARGO Monitoring <no-reply@...>`; must be a verified SES identity.
    pub from: String,
    /// The monitoring team's addresses, BCC'd on every email.
    pub team: Vec<String>,
    /// Where service owners add a monitoring extension (the `processing` email names it).
    pub providers_portal_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub from: String,
    pub to: String,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
}

pub fn subject(status: Status) -> String {
    let word = match status {
        Status::Submitted => "submitted",
        Status::Processing => "processing",
        Status::Testing => "testing",
        Status::Deployed => "deployed",
        Status::Rejected => "rejected",
    };
    format!("[ARGO Monitoring] Probe {word}")
}

fn core_text(status: Status, c: &Candidate, settings: &EmailSettings) -> String {
    let name = &c.name;
    let or_blank = |v: &Option<String>| v.clone().unwrap_or_default();
    match status {
        Status::Submitted => format!(
            "your probe '{name}' has been successfully submitted. You will receive further instructions after the probe has been inspected."
        ),
        Status::Processing => format!(
            "we have started setting up the probe '{name}' for testing. Please add a new monitoring extension for your service with service type {} in {}. You will receive more information after the probe has been deployed to devel infrastructure.",
            or_blank(&c.service_type),
            settings.providers_portal_url
        ),
        Status::Testing => format!(
            "the probe '{name}' has been deployed to devel infrastructure. You can see the results here: {}. The probe will be running in the devel infrastructure for a couple of days, and will be moved to production once we make sure it is working properly. You will receive final email once the probe has been deployed to production infrastructure.",
            or_blank(&c.devel_url)
        ),
        Status::Deployed => format!(
            "the probe '{name}' has been deployed to production. You can see the results here: {}",
            or_blank(&c.production_url)
        ),
        Status::Rejected => format!(
            "the probe '{name}' has been rejected for the following reason: {}. If you make the necessary changes to the probe, please submit the new version.",
            or_blank(&c.rejection_reason)
        ),
    }
}

/// The email for a candidate entering `status`, built from the stored candidate.
pub fn compose(status: Status, c: &Candidate, settings: &EmailSettings) -> Email {
    Email {
        from: settings.from.clone(),
        to: c.contact.clone(),
        bcc: settings.team.clone(),
        subject: subject(status),
        text: format!(
            "Dear madam/sir,\n\n{}\n\nBest regards,\nARGO Monitoring team",
            core_text(status, c, settings)
        ),
    }
}
