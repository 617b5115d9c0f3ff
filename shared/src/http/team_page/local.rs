//! What only `make dev` configures on the landing page: links to the local services
//! (`LOCAL_LINKS`, `Name=URL` pairs separated by `;`) and the view of the emails the local SES
//! accepted (`LOCAL_EMAILS_URL`, the emulator's state dump). Deployed, neither is set: the
//! landing page has no local section and `/team/emails.html` is a 404.

use crate::base::env::{ConfigError, Env};

/// The local section's configuration, checked at cold start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Local {
    pub links: Vec<(String, String)>,
    pub emails_url: Option<String>,
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// An `http(s)` URL, whole (no `javascript:` or relative link can reach the page).
fn web_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        _ => Err(invalid(name, value, "not an http(s) URL")),
    }
}

impl Local {
    pub fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Local, ConfigError> {
        let mut links = Vec::new();
        if let Some(text) = env.optional("LOCAL_LINKS") {
            for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((label, url)) = pair.split_once('=') else {
                    return Err(invalid("LOCAL_LINKS", pair, "not Name=URL"));
                };
                links.push((
                    label.trim().to_string(),
                    web_url("LOCAL_LINKS", url.trim())?,
                ));
            }
        }
        let emails_url = env
            .optional("LOCAL_EMAILS_URL")
            .map(|u| web_url("LOCAL_EMAILS_URL", &u))
            .transpose()?;
        Ok(Local { links, emails_url })
    }

    /// The landing page's local section, or nothing when none is configured.
    pub fn section(&self) -> String {
        if self.links.is_empty() && self.emails_url.is_none() {
            return String::new();
        }
        let mut html =
            String::from("  <h2>This machine</h2>\n  <ul class=\"links\" id=\"local\">\n");
        if self.emails_url.is_some() {
            html.push_str("    <li><a href=\"team/emails.html\">Emails the local SES accepted</a> (to, subject, text)</li>\n");
        }
        for (label, url) in &self.links {
            html.push_str(&format!(
                "    <li><a href=\"{}\">{}</a> <code>{}</code></li>\n",
                escape(url),
                escape(label),
                escape(url)
            ));
        }
        html.push_str("  </ul>\n");
        html
    }

    /// The origin the emails page may fetch from, for its Content-Security-Policy.
    pub fn emails_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.emails_url.as_deref()?).ok()?;
        Some(url.origin().ascii_serialization())
    }
}

/// Text and attribute values as HTML shows them, never as markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::pairs(pairs)
    }

    #[test]
    fn links_are_read_checked_and_escaped() {
        let local = Local::read(&env(&[
            ("LOCAL_LINKS", "Prometheus=http://127.0.0.1:9090; <b>Alerts</b>=http://127.0.0.1:9093/#/alerts?a=1&b=2"),
            ("LOCAL_EMAILS_URL", "http://127.0.0.1:5000/moto-api/data.json"),
        ]))
        .unwrap();
        assert_eq!(local.links.len(), 2);
        let html = local.section();
        assert!(
            html.contains(r#"<a href="http://127.0.0.1:9090/">Prometheus</a>"#),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;Alerts&lt;/b&gt;") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("a=1&amp;b=2"), "{html}");
        assert!(html.contains(r#"href="team/emails.html""#), "{html}");
        assert_eq!(
            local.emails_origin().as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(Local::read(&env(&[])).unwrap().section(), "");
    }

    #[test]
    fn a_link_that_is_not_a_web_url_is_refused_at_cold_start() {
        for bad in [
            "x=javascript:alert(1)",
            "x=/relative",
            "no-equals-sign",
            "x=data:text/html,hi",
        ] {
            let err = Local::read(&env(&[("LOCAL_LINKS", bad)])).unwrap_err();
            assert!(err.to_string().contains("LOCAL_LINKS"), "{bad}: {err}");
        }
        assert!(Local::read(&env(&[("LOCAL_EMAILS_URL", "file:///etc/passwd")])).is_err());
    }
}
