//! Every runnable example of the README and `docs/` against the local stack, as a new user
//! would run it: `make dev`'s own script (`scripts/dev.sh`, on free ports, with its own state
//! directory) brings the stack up, and each ```` ```console ```` block's `$ ` commands run in
//! order in one shell per page, with the stack's environment, `KEY` (the demo monitoring key)
//! and `telltale` on the PATH. A command's output must match the lines shown under it:
//!
//! - `...` stands for any text (on its own line: any lines);
//! - ids (UUIDs), times (RFC 3339, POEM's dates, unix seconds), API keys and ETags match any
//!   value of their kind, so the example need not show this run's;
//! - the ports and the state directory shown (`localhost:9000`, `.local/`) are this run's.
//!
//! A command shown without output must exit 0. Other fenced blocks (`sh`, `json`, ...) are not
//! run: they need AWS, or are not commands.

use regex::Regex;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use telltale_testkit::{repo_root, watch::free_port};

/// One `$ ` command of a console block and the output shown under it.
#[derive(Debug)]
struct Example {
    place: String,
    command: String,
    shown: String,
}

fn console_blocks(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path
        .strip_prefix(repo_root())
        .unwrap()
        .display()
        .to_string();
    let mut examples = Vec::new();
    let mut in_block = false;
    let mut current: Option<Example> = None;
    let mut continued = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            if in_block {
                examples.extend(current.take());
            }
            in_block = !in_block && line.trim() == "```console";
            continue;
        }
        if !in_block {
            continue;
        }
        if continued {
            let e = current.as_mut().unwrap();
            e.command.push('\n');
            e.command.push_str(line);
            continued = unfinished(&e.command);
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            examples.extend(current.take());
            if cmd.trim_start().starts_with('#') {
                // A comment between commands, for the reader.
                continue;
            }
            current = Some(Example {
                place: format!("{name}:{}", n + 1),
                command: cmd.to_string(),
                shown: String::new(),
            });
            continued = unfinished(cmd);
        } else if let Some(e) = current.as_mut() {
            e.shown.push_str(line);
            e.shown.push('\n');
        }
    }
    examples
}

/// Whether a command goes on on the next line: a trailing backslash, or a quote left open (a
/// JSON body over several lines). Quotes in a comment (`# make dev's key`) open nothing.
fn unfinished(command: &str) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for line in command.lines() {
        let mut previous = ' ';
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if !single => escaped = true,
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && previous.is_whitespace() => break,
                _ => {}
            }
            previous = c;
        }
        escaped = false;
    }
    single || double || command.ends_with('\\')
}

/// The shown output as a pattern: literal text, `...` for anything, and the kinds of values
/// that differ from run to run.
fn pattern(shown: &str) -> Regex {
    let kinds = Regex::new(concat!(
        r"(?P<any>\.\.\.)",
        r"|(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
        r"|(?P<rfc3339>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))",
        r"|(?P<poem>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)",
        r"|(?P<key>tt_[0-9a-f]{8,})",
        r"|(?P<unix>\b1[6-9]\d{8}(?:\.\d+)?\b)",
    ))
    .unwrap();
    let mut out = String::from("(?s)^");
    for line in shown.trim_end().lines() {
        if line.trim() == "..." {
            // Any lines, none included.
            out.push_str(r"(?:[^\n]*\n)*?");
            continue;
        }
        let mut last = 0;
        for c in kinds.captures_iter(line) {
            let m = c.get(0).unwrap();
            out.push_str(&regex::escape(&line[last..m.start()]));
            out.push_str(if c.name("any").is_some() {
                ".*?"
            } else if c.name("uuid").is_some() {
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            } else if c.name("rfc3339").is_some() {
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"
            } else if c.name("poem").is_some() {
                r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
            } else if c.name("key").is_some() {
                "tt_[0-9a-f]+"
            } else {
                r"\d{10}(?:\.\d+)?"
            });
            last = m.end();
        }
        out.push_str(&regex::escape(&line[last..]));
        out.push('\n');
    }
    out.push('$');
    Regex::new(&out).unwrap()
}

/// Whether `got` is what `shown` shows (both as `tidy` leaves them).
fn shows(shown: &str, got: &str) -> bool {
    pattern(shown).is_match(&format!("{got}\n"))
}

/// Lines compared without their trailing spaces (tables pad them).
fn tidy(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

struct Stack {
    child: Child,
    ports: Vec<(u16, u16)>,
    state: String,
}

impl Drop for Stack {
    fn drop(&mut self) {
        // dev.sh stops every service it started when it is told to stop. The whole group is
        // told (`--`: without it, `kill` reads `-<pid>` as an option and signals nobody).
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
    }
}

/// `make dev`'s script on free ports, up and answering.
fn start_stack() -> Stack {
    let root = repo_root();
    let state = format!("target/docs-stack-{}", std::process::id());
    let defaults = [9000u16, 5000, 9090, 8086, 9091, 9093, 9094, 9095];
    let names = [
        "INVOKE_PORT",
        "MOTO_PORT",
        "PROMETHEUS_PORT",
        "INFLUXDB_PORT",
        "PUSHGATEWAY_PORT",
        "ALERTMANAGER_PORT",
        "FIXTURES_PORT",
        "EOSC_PORT",
    ];
    let ports: Vec<(u16, u16)> = defaults.iter().map(|d| (*d, free_port())).collect();
    let mut cmd = Command::new("setsid");
    cmd.args(["bash", "scripts/dev.sh"])
        .current_dir(&root)
        .env("TELLTALE_STATE_DIR", &state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, (_, port)) in names.iter().zip(&ports) {
        cmd.env(name, port.to_string());
    }
    let mut child = cmd.spawn().expect("starting scripts/dev.sh (make dev)");
    let stdout = child.stdout.take().unwrap();
    let stack = Stack {
        child,
        ports,
        state,
    };
    // dev.sh prints its banner once every function answers.
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("telltale is ready"));
    assert!(
        banner,
        "scripts/dev.sh stopped before its banner (its output is above)"
    );
    std::thread::spawn(move || lines.for_each(drop));
    let url = format!("http://127.0.0.1:{}/-/info", stack.ports[0].1);
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let ok = Command::new("curl")
            .args(["-fsS", "-o", "/dev/null", "-m", "120", &url])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the local stack did not answer {url}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    stack
}

impl Stack {
    /// The text as this run sees it: its ports, its state directory.
    fn localise(&self, text: &str) -> String {
        let mut out = text.replace(".local/", &format!("{}/", self.state));
        for (shown, real) in &self.ports {
            for host in ["localhost:", "127.0.0.1:", "-P "] {
                out = out.replace(&format!("{host}{shown}"), &format!("{host}{real}"));
            }
        }
        out
    }

    /// Runs the examples of one page in one shell, each command's output after a marker.
    fn run(&self, examples: &[&Example]) -> Vec<(i32, String)> {
        let marker = "@@telltale-doc-example@@";
        let mut script =
            String::from("set -a; . \"$STATE/dev.env\"; set +a\nKEY=$(cat \"$STATE/demo.key\")\n");
        for (i, e) in examples.iter().enumerate() {
            script.push_str(&format!(
                "echo '{marker} start {i}'\n{{\n{}\n}} 2>&1\necho \"{marker} end {i} $?\"\n",
                self.localise(&e.command)
            ));
        }
        let root = repo_root();
        let path = format!(
            "{}:{}:{}",
            root.join("target/debug").display(),
            root.join(".venv/bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new("bash")
            .current_dir(&root)
            .env("PATH", path)
            .env("STATE", &self.state)
            .env(
                "TELLTALE_API_URL",
                format!("http://localhost:{}", self.ports[0].1),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut results = Vec::new();
        for i in 0..examples.len() {
            let start = format!("{marker} start {i}\n");
            let end = format!("{marker} end {i} ");
            let from = text.find(&start).map(|p| p + start.len());
            let to = text.find(&end);
            let (Some(from), Some(to)) = (from, to) else {
                results.push((
                    -1,
                    format!("the shell stopped before this example:\n{text}"),
                ));
                continue;
            };
            let code = text[to + end.len()..]
                .lines()
                .next()
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(-1);
            results.push((code, text[from..to].to_string()));
        }
        results
    }
}

fn pages() -> Vec<PathBuf> {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = walk(&root.join("docs"));
    docs.sort();
    pages.extend(docs);
    pages
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_pattern_matches_loosely_and_no_further() {
    let shown = "{\"id\":\"fc46475f-f17f-4f79-aa73-17253f0229fa\",\"time\":1795246500,...}\n";
    let other = "{\"id\":\"0b9c0e1a-1111-4f79-aa73-17253f0229fb\",\"time\":1795999999,\"x\":1}";
    assert!(shows(shown, other));
    assert!(!shows(shown, "{\"id\":\"not-a-uuid\",\"time\":1795246500}"));
    let late = "{\"id\":\"fc46475f-f17f-4f79-aa73-17253f0229fa\",\"time\":\"soon\"}";
    assert!(!shows(shown, late));
    let shown = "created 2026-11-21 07:58:58 by tt_5c0e11aa\n";
    assert!(shows(
        shown,
        "created 2027-01-01 00:00:00 by tt_0123456789abcdef"
    ));
    assert!(!shows(shown, "created yesterday by tt_5c0e11aa"));
    // `...` alone on a line stands for any lines, none included.
    let shown = "HEAD\n...\nlast";
    assert!(shows(shown, "HEAD\nlast"));
    assert!(shows(shown, "HEAD\na\nb\nlast"));
    assert!(!shows(shown, "HEAD\nlast\nmore"));
    assert!(!unfinished("KEY=$(cat .local/demo.key)   # make dev's key"));
    assert!(unfinished("curl -d '{\"a\": 1,"));
    assert!(unfinished("curl localhost \\"));
    assert!(!unfinished("echo \"it's\""));
}

#[test]
fn every_runnable_example_in_the_docs_does_what_it_shows() {
    let pages: Vec<(PathBuf, Vec<Example>)> = pages()
        .into_iter()
        .map(|p| {
            let e = console_blocks(&p);
            (p, e)
        })
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let count: usize = pages.iter().map(|(_, e)| e.len()).sum();
    assert!(count >= 20, "only {count} runnable examples were found");
    let stack = start_stack();
    let mut failures = Vec::new();
    for (_, examples) in &pages {
        let refs: Vec<&Example> = examples.iter().collect();
        for (e, (code, output)) in examples.iter().zip(stack.run(&refs)) {
            let shown = tidy(&stack.localise(&e.shown));
            let got = tidy(&output);
            let ok = if shown.is_empty() {
                code == 0
            } else {
                shows(&shown, &got)
            };
            if !ok {
                failures.push(format!(
                    "{}: $ {}\n--- shown:\n{shown}\n--- got (exit {code}):\n{got}\n",
                    e.place, e.command
                ));
            }
        }
    }
    println!("docs: {count} runnable examples, {} failed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing the stack does by itself (Prometheus compacting its blocks, the services
    // writing their state) restarted a function while the examples ran.
    let log = repo_root().join(&stack.state).join("watch.log");
    let watch = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        !watch.contains("outcome=Both(Stop, Start)"),
        "watch restarted the functions during the examples; see {}",
        log.display()
    );
    // Each function ran as its template policy (moto enforcing IAM) and was refused nothing.
    let iam = repo_root().join(&stack.state).join("iam");
    let made = telltale_testkit::moto::function_principals(&iam);
    assert!(
        made.iter().any(|(binary, _)| binary == "probe-submit"),
        "probe-submit ran as no principal of its own: {made:?} in {}",
        iam.display()
    );
    let refused = telltale_testkit::moto::function_denials(&iam);
    assert!(refused.is_empty(), "IAM refused: {refused:?}");
    // Stopped (as Ctrl-C stops it), the stack leaves nothing outside its state directory:
    // Prometheus' blocks, kept in a temporary directory, are removed.
    let tsdb_file = repo_root().join(&stack.state).join("prometheus/tsdb-path");
    let tsdb = std::fs::read_to_string(&tsdb_file)
        .unwrap_or_else(|e| panic!("{}: {e}", tsdb_file.display()));
    let tsdb = PathBuf::from(tsdb.trim());
    assert!(tsdb.is_dir(), "{} while the stack runs", tsdb.display());
    drop(stack);
    assert!(
        !tsdb.exists(),
        "{} is left after the stack stopped",
        tsdb.display()
    );
}
