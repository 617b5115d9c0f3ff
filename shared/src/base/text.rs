//! The one text policy for what the service stores and shows: which characters a field may
//! hold, and how much of a caller's value an answer quotes back.
//!
//! Refused everywhere: control characters (Cc; line breaks and tabs only in multi-line
//! fields), format characters (Cf: zero-width characters, direction marks, embeddings,
//! overrides and isolates, the BOM, tag characters), line and paragraph separators (Zl, Zp)
//! and private-use characters (Co); the letters and symbols that display as nothing (the
//! Hangul fillers, the blank Braille pattern) and the noncharacters (U+FDD0–U+FDEF and the
//! last two code points of every plane). Each of them can make two different values look the
//! same, reorder what is displayed, or display nothing at all.

use unicode_general_category::{get_general_category, GeneralCategory as G};

/// Whether a field may hold several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The first character `value` may not hold, if any.
pub fn forbidden(value: &str, lines: Lines) -> Option<char> {
    value.chars().find(|&c| is_forbidden(c, lines))
}

/// Whether the text policy refuses `c` in a field of `lines`.
pub fn is_forbidden(c: char, lines: Lines) -> bool {
    match get_general_category(c) {
        G::Control => !(lines == Lines::Many && matches!(c, '\n' | '\r' | '\t')),
        G::Format | G::LineSeparator | G::ParagraphSeparator | G::PrivateUse => true,
        _ => BLANK_LOOKING.contains(&c) || is_noncharacter(c),
    }
}

/// Letters and symbols that are drawn as nothing: a name of them looks empty, or like another.
const BLANK_LOOKING: [char; 5] = ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];

/// Unicode's noncharacters, never meant for interchange.
fn is_noncharacter(c: char) -> bool {
    let v = c as u32;
    (0xFDD0..=0xFDEF).contains(&v) || v & 0xFFFE == 0xFFFE
}

/// `U+200B`: how a message names a character.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// The message for a field holding a character it may not hold, naming both.
pub fn problem(field: &str, value: &str, lines: Lines) -> Option<String> {
    let c = forbidden(value, lines)?;
    let allowed = match lines {
        Lines::One => "",
        Lines::Many => " (line breaks and tabs are allowed)",
    };
    Some(format!(
        "Field '{field}' must not contain {} ({}): control, format, separator, private-use, blank-looking and noncharacters are refused{allowed}",
        code_point(c),
        kind(c)
    ))
}

fn kind(c: char) -> &'static str {
    match get_general_category(c) {
        G::Control => "a control character",
        G::LineSeparator | G::ParagraphSeparator => "a line or paragraph separator",
        G::PrivateUse => "a private-use character",
        G::Format => "an invisible format character",
        _ if is_noncharacter(c) => "a noncharacter",
        _ => "a letter that displays as nothing",
    }
}

/// `value` for display: every character `forbidden` would refuse (line breaks and tabs kept in
/// `Lines::Many`) written as a visible `\u{200b}` escape, for values stored before the rule.
pub fn visible(value: &str, lines: Lines) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if is_forbidden(c, lines) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The most of a caller's value an answer repeats.
pub const MAX_ECHOED: usize = 64;

/// `value` as an error message may quote it: at most `MAX_ECHOED` characters, then `…`, and
/// shown with `visible`, so neither a huge nor an invisible value comes back as it was sent.
pub fn echoed(value: &str) -> String {
    let cut = match value.char_indices().nth(MAX_ECHOED) {
        Some((at, _)) => &value[..at],
        None => value,
    };
    let mut shown = visible(cut, Lines::One);
    if cut.len() < value.len() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_invisible_character_is_refused_by_name() {
        for (c, code) in [
            ('\u{200b}', "U+200B"),
            ('\u{200d}', "U+200D"),
            ('\u{200e}', "U+200E"),
            ('\u{200f}', "U+200F"),
            ('\u{061c}', "U+061C"),
            ('\u{2028}', "U+2028"),
            ('\u{2029}', "U+2029"),
            ('\u{feff}', "U+FEFF"),
            ('\u{e0041}', "U+E0041"),
            ('\u{202e}', "U+202E"),
            ('\u{2066}', "U+2066"),
            ('\u{e000}', "U+E000"),
            ('\u{1b}', "U+001B"),
            ('\u{3164}', "U+3164"),
            ('\u{115f}', "U+115F"),
            ('\u{2800}', "U+2800"),
            ('\u{fffe}', "U+FFFE"),
            ('\u{ffff}', "U+FFFF"),
            ('\u{fdd0}', "U+FDD0"),
            ('\u{1ffff}', "U+1FFFF"),
        ] {
            let value = format!("probe{c}name");
            let message = problem("name", &value, Lines::One).expect(code);
            assert!(message.contains(code), "{message}");
            assert!(message.contains("'name'"), "{message}");
            assert!(
                problem("description", &value, Lines::Many).is_some(),
                "{code}"
            );
        }
    }

    #[test]
    fn ordinary_text_passes() {
        for ok in ["check_http", "Prüfung – ☃ 検査", "emoji 🚀", "a b"] {
            assert_eq!(forbidden(ok, Lines::One), None, "{ok}");
        }
        assert_eq!(forbidden("two\nlines\tand\r\n", Lines::Many), None);
        assert_eq!(forbidden("two\nlines", Lines::One), Some('\n'));
    }

    #[test]
    fn shown_values_are_visible_and_short() {
        assert_eq!(
            visible("a\u{200b}b\u{1b}", Lines::One),
            "a\\u{200b}b\\u{1b}"
        );
        assert_eq!(visible("x\ny", Lines::Many), "x\ny");
        let long = "é".repeat(60_000);
        let shown = echoed(&long);
        assert_eq!(shown.chars().count(), MAX_ECHOED + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(echoed("short"), "short");
    }
}
