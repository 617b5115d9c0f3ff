//! The probe functions: their table, how they email, and the `testing` stay.

use crate::base::env::{ConfigError, Env};

/// The probe functions: their table and how they email.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbesConfig {
    pub table: String,
    pub email: super::email::EmailSettings,
    /// Minimum stay in `testing` before `deployed` (`TESTING_MIN_DAYS`, default 3).
    pub min_testing: time::Duration,
    /// What the list's cursors are tagged with (`CURSOR_KEY`); only the functions that serve
    /// the list need it.
    pub cursor_key: Option<super::cursor::CursorKey>,
}

impl ProbesConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let team: Vec<String> = env
            .required("TEAM_EMAIL")?
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let deliverable = |a: &str| {
            super::validate::is_email(a) && crate::outbox::email::undeliverable(a).is_none()
        };
        if let Some(bad) = team.iter().find(|a| !deliverable(a)) {
            return Err(ConfigError::Invalid {
                name: "TEAM_EMAIL",
                value: bad.clone(),
                reason: "not an email address (a comma-separated list is accepted)".into(),
            });
        }
        Ok(Self {
            table: env.required("PROBES_TABLE")?,
            email: super::email::EmailSettings {
                from: env.required("EMAIL_FROM")?,
                team,
                providers_portal_url: env
                    .or("PROVIDERS_PORTAL_URL", "https://providers.eosc-portal.eu"),
                team_page_url: env
                    .optional("TEAM_PAGE_URL")
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty()),
            },
            min_testing: time::Duration::days(env.parsed_or::<u16>("TESTING_MIN_DAYS", 3)?.into()),
            cursor_key: cursor_key(env)?,
        })
    }
}

/// `CURSOR_KEY`, if set: at least 16 characters (the template gives the stack's own id).
fn cursor_key<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<super::cursor::CursorKey>, ConfigError> {
    let Some(text) = env.optional("CURSOR_KEY") else {
        return Ok(None);
    };
    match super::cursor::CursorKey::new(&text) {
        Some(key) => Ok(Some(key)),
        None => Err(ConfigError::Invalid {
            name: "CURSOR_KEY",
            value: format!("{} characters", text.trim().chars().count()),
            reason: format!("at least {} bytes", super::cursor::MIN_KEY_BYTES),
        }),
    }
}
