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

/// The one table style of every command: upper-case headers, columns two spaces apart, no
/// borders, no trailing blanks (so `grep`, `awk` and `column` read it as they read `ps`).
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row);
    }
    // The preset pads every cell with a space; dropping the first keeps the columns aligned.
    t.to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Colour (the logs' ANSI escapes) only for a person at a terminal: never into a file or a
/// pipe, and never when `NO_COLOR` is set to anything (https://no-color.org).
pub fn colours_on_stderr() -> bool {
    use std::io::IsTerminal;
    colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn colours(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Progress of a command that walks many items, on standard error, drawn only for a person at
/// a terminal (hidden into a file or a pipe, so scripts and tests read clean output). The
/// message says what is counted: `{count} candidates read`.
pub fn progress(what: &'static str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let target = if std::io::stderr().is_terminal() {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    };
    let bar = indicatif::ProgressBar::with_draw_target(None, target);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {{pos}} {what} ({{elapsed}})"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_need_a_terminal_and_no_no_color() {
        use std::ffi::OsStr;
        assert!(colours(true, None));
        assert!(!colours(false, None));
        assert!(!colours(true, Some(OsStr::new("1"))));
        assert!(
            colours(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
    }

    #[test]
    fn tables_have_one_style() {
        let t = table(&["name", "every"], [vec!["a".into(), "5m".into()]]);
        assert_eq!(t, "NAME  EVERY\na     5m");
    }

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
