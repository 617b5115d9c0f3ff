//! A declarations file pointed at local copies of its documents: every `http(s)://host/path`
//! becomes `<base>/host/path`, so a folder laid out by host (tests/fixtures/collectors/) and
//! served at `base` answers for the real sites. `make dev` and the black-box tests run the
//! example collectors this way; the file itself is not otherwise changed.

/// `text` with each URL's scheme and host replaced by `base` and the host as a first segment.
pub fn localized(text: &str, base: &str) -> String {
    let base = base.trim_end_matches('/');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["https://", "http://"]
            .iter()
            .filter_map(|s| rest.find(s).map(|i| (i, s.len())))
            .min();
        let Some((at, scheme)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(base);
        out.push('/');
        rest = &rest[at + scheme..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_fixtures_by_host() {
        let text = "url: https://autopkgtest.ubuntu.com/queues.json\nurl: http://reports.qa.ubuntu.com/r/rls-{code}.json\n";
        assert_eq!(
            localized(text, "http://127.0.0.1:1234/"),
            "url: http://127.0.0.1:1234/autopkgtest.ubuntu.com/queues.json\nurl: http://127.0.0.1:1234/reports.qa.ubuntu.com/r/rls-{code}.json\n"
        );
    }
}
