//! Text from the stores on its way to a terminal. Anything a submitter typed may hold escape
//! sequences (which a terminal obeys) or bidirectional overrides (which reorder what is shown);
//! those are printed as visible escapes instead.

/// `s` with control characters (but line breaks and tabs) and bidirectional controls shown as
/// `\u{…}`.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if bidi || (c.is_control() && c != '\n' && c != '\t') {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_overrides_become_visible() {
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("a\u{202e}b\u{0}"), "a\\u{202e}b\\u{0}");
        assert_eq!(printable("two\nlines\tand é"), "two\nlines\tand é");
    }
}
