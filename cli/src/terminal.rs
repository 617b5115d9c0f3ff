//! Text from the stores on its way to a terminal. Anything a submitter typed may hold escape
//! sequences (which a terminal obeys), direction controls (which reorder what is shown) or
//! invisible characters (which make two names look alike); values stored before the service
//! refused them are printed with those characters as visible escapes.

use telltale::base::text::{is_forbidden, Lines};

/// `s` with every character the service's text policy refuses (see `telltale::base::text`;
/// line breaks and tabs kept, carriage returns shown) as `\u{…}`.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c != '\n' && c != '\t' && is_forbidden(c, Lines::One) {
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
        for (c, shown) in [
            ('\u{200b}', "\\u{200b}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{e0041}', "\\u{e0041}"),
            ('\u{200f}', "\\u{200f}"),
            ('\r', "\\u{d}"),
            ('\u{e000}', "\\u{e000}"),
        ] {
            assert_eq!(printable(&format!("a{c}b")), format!("a{shown}b"));
        }
    }
}
