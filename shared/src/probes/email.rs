//! POEM's emails: one per status, to the stored contact, the team in BCC. Values are inserted
//! as plain text; nothing from a request is ever interpreted as a template.

use super::model::{Candidate, Status};

/// Where emails come from and whom the team copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// `ARGO Monitoring <no-reply@...>`; must be a verified SES identity.
    pub from: String,
    /// The monitoring team's addresses, BCC'd on every email.
    pub team: Vec<String>,
    /// Where service owners add a monitoring extension (the `processing` email names it).
    pub providers_portal_url: String,
    /// The monitoring team's page (`TEAM_PAGE_URL`, e.g. `https://…/prod/team/`): each email
    /// links to its candidate there; none when unset.
    pub team_page_url: Option<String>,
}

pub use crate::outbox::email::Email;

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

/// Which candidate an email is about, after POEM's text: two candidates of the same name get
/// the same sentences, so the id tells them apart (for the submitter, when replying, and for
/// the team, BCC'd on every email, with a link to the candidate on its page).
fn reference(c: &Candidate, settings: &EmailSettings) -> String {
    let mut text = format!("Probe candidate id: {}", c.id);
    if let Some(page) = &settings.team_page_url {
        text.push_str(&format!("\nMonitoring team: {page}#{}", c.id));
    }
    text
}

/// The email for a candidate entering `status`, built from the stored candidate.
pub fn compose(status: Status, c: &Candidate, settings: &EmailSettings) -> Email {
    Email {
        from: settings.from.clone(),
        to: c.contact.clone(),
        bcc: settings.team.clone(),
        subject: subject(status),
        text: format!(
            "Dear madam/sir,\n\n{}\n\n{}\n\nBest regards,\nARGO Monitoring team",
            core_text(status, c, settings),
            reference(c, settings)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::validate::Submission;

    fn candidate(id: &str) -> Candidate {
        let s = Submission {
            name: "same-name".into(),
            description: None,
            docurl: "https://example.org".into(),
            command: "check.py -t 10".into(),
            contact: "owner@example.org".into(),
            rpm: None,
            yum_baseurl: None,
            script: Some("https://example.org/s".into()),
        };
        Candidate::submitted(id.into(), s, "tenant", "2026-12-01T00:00:00Z")
    }

    fn settings(page: Option<&str>) -> EmailSettings {
        EmailSettings {
            from: "ARGO Monitoring <no-reply@example.org>".into(),
            team: vec!["team@example.org".into()],
            providers_portal_url: "https://providers.example.org".into(),
            team_page_url: page.map(String::from),
        }
    }

    #[test]
    fn two_candidates_of_one_name_get_emails_that_tell_them_apart() {
        let s = settings(Some("https://api.example.org/prod/team/"));
        let a = compose(Status::Submitted, &candidate("a1"), &s);
        let b = compose(Status::Submitted, &candidate("b2"), &s);
        assert_ne!(a.text, b.text);
        assert_eq!(a.subject, b.subject, "POEM's subjects stay exactly");
        assert!(a.text.starts_with(
            "Dear madam/sir,\n\nyour probe 'same-name' has been successfully submitted."
        ));
        assert!(a.text.ends_with(
            "\n\nProbe candidate id: a1\nMonitoring team: https://api.example.org/prod/team/#a1\n\nBest regards,\nARGO Monitoring team"
        ));
    }

    #[test]
    fn without_a_team_page_the_email_names_the_id_only() {
        let e = compose(Status::Rejected, &candidate("c3"), &settings(None));
        assert!(e
            .text
            .contains("\n\nProbe candidate id: c3\n\nBest regards,"));
        assert!(!e.text.contains("Monitoring team:"));
    }
}
