//! A declared collector's jq program, on jaq (jaq-core, jaq-std, jaq-json).
//!
//! - What the program may reach: the standard library less what reads the function's
//!   environment (`env`; `$ENV` is never defined), its inputs or its standard error, or ends
//!   the process (`halt`): those answer an error naming them. Imports have nowhere to read from.
//! - Variables: `$now` (the run's time, unix seconds) and the collector's own.
//! - jaq has no limits of its own, so a run is bounded from outside: it runs on a thread of its
//!   own with a deep stack, stops at `MAX_OUTPUTS` outputs, and is given up after its time
//!   budget (`run`); a program that loops without output cannot be interrupted, so the thread
//!   is left behind and `abandoned()` tells the function to end its process after answering.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::native::Fun;
use jaq_core::{data, Compiler, Ctx, Native, Vars};
use jaq_json::Val;
use std::sync::atomic::{AtomicBool, Ordering};

/// More outputs than this fail the run (a program that explodes).
pub const MAX_OUTPUTS: usize = 100_000;

type D = data::JustLut<Val>;

/// Filters a collector must not reach, and why.
const LEFT_OUT: [(&str, &str); 8] = [
    ("env", "the function's environment holds credentials"),
    ("input", "a collector's program reads only its document"),
    ("inputs", "a collector's program reads only its document"),
    ("halt", "a program cannot end the function"),
    (
        "debug_empty",
        "a program's messages would go to the function's log unchecked",
    ),
    (
        "stderr_empty",
        "a program's messages would go to the function's log unchecked",
    ),
    (
        "input_filename",
        "a collector's program reads only its document",
    ),
    (
        "input_line_number",
        "a collector's program reads only its document",
    ),
];

static ABANDONED: AtomicBool = AtomicBool::new(false);

/// True once a program overran its budget and its thread was left running.
pub fn abandoned() -> bool {
    ABANDONED.load(Ordering::Relaxed)
}

pub(crate) fn mark_abandoned() {
    ABANDONED.store(true, Ordering::Relaxed);
}

/// Where a program fails to compile: 1-based, within the program's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn refused<'a>(cv: jaq_core::Cv<'a, D>) -> jaq_core::ValXs<'a, <D as jaq_core::DataT>::V<'a>> {
    let _ = cv;
    Box::new(std::iter::once(Err(jaq_core::Exn::from(
        jaq_core::Error::str("this filter is not available to collectors"),
    ))))
}

fn funs() -> impl Iterator<Item = Fun<D>> {
    jaq_core::funs::<D>()
        .chain(jaq_std::funs::<D>())
        .chain(jaq_json::funs::<D>())
        .map(|(name, args, native)| {
            if LEFT_OUT.iter().any(|(n, _)| *n == name) {
                (name, args, Native::<D>::new(refused))
            } else {
                (name, args, native)
            }
        })
}

/// Where `part` (a slice of `whole`) starts, as 1-based line and column.
fn position(whole: &str, part: &str) -> (usize, usize) {
    let start = jaq_core::load::span(whole, part).start.min(whole.len());
    let before = &whole[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A compiled program and what it needs to run; compiled on the thread that runs it, since
/// jaq's values are not `Send`.
pub struct Compiled {
    pub filter: jaq_core::compile::Filter<Native<D>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled")
    }
}

/// Compiles `code` with these variable names (without `$`, `now` first).
pub fn compile(code: &str, vars: &[String]) -> Result<Compiled, CompileError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| {
            let (_, error) = errors.into_iter().next().expect("an error");
            let (at, message) = match error {
                jaq_core::load::Error::Io(e) => (
                    e.first().map(|(s, _)| *s),
                    "imports are not available to collectors".to_string(),
                ),
                jaq_core::load::Error::Lex(e) => (
                    e.first().map(|(_, s)| *s),
                    e.first()
                        .map(|(x, _)| format!("expected {}", x.as_str()))
                        .unwrap_or_default(),
                ),
                jaq_core::load::Error::Parse(e) => (
                    e.first().map(|(_, s)| *s),
                    e.first()
                        .map(|(x, _)| format!("expected {}", x.as_str()))
                        .unwrap_or_default(),
                ),
            };
            located(code, at, message)
        })?;
    let names: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
    Compiler::default()
        .with_funs(funs())
        .with_global_vars(names.iter().map(String::as_str))
        .compile(modules)
        .map(|filter| Compiled { filter })
        .map_err(|errors| {
            let first = errors
                .into_iter()
                .flat_map(|(_, e)| e)
                .next()
                .expect("an error");
            let (name, undefined) = first;
            located(
                code,
                Some(name),
                format!("undefined {} {name}", undefined.as_str()),
            )
        })
}

fn located(code: &str, at: Option<&str>, message: String) -> CompileError {
    let (line, column) = at.map_or((1, 1), |part| position(code, part));
    CompileError {
        line,
        column,
        message,
    }
}

/// Why a program's run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// jq's own error (`error(...)`, a type error, an index out of range).
    Failed(String),
    /// More than `MAX_OUTPUTS` outputs.
    TooMany,
    /// The budget ran out between two outputs.
    OutOfTime,
}

impl Compiled {
    /// Runs on `input` with the variables' values (in `compile`'s order), handing each output
    /// to `each` until it says stop (`false`); checks `deadline` between outputs.
    pub fn run(
        &self,
        input: Val,
        vars: Vec<Val>,
        deadline: std::time::Instant,
        each: &mut dyn FnMut(Val) -> bool,
    ) -> Result<usize, RunError> {
        let ctx = Ctx::<D>::new(&self.filter.lut, Vars::new(vars));
        let mut outputs = 0usize;
        for out in self.filter.id.run((ctx, input)) {
            let value = out.map_err(|exn| match exn.get_err() {
                // `error("text")` reads as its text, as jq prints it.
                Ok(e) => RunError::Failed(match e.into_val() {
                    Val::TStr(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => other.to_string(),
                }),
                Err(_) => RunError::Failed("halt is not available to collectors".into()),
            })?;
            outputs += 1;
            if outputs > MAX_OUTPUTS {
                return Err(RunError::TooMany);
            }
            if std::time::Instant::now() > deadline {
                return Err(RunError::OutOfTime);
            }
            if !each(value) {
                break;
            }
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn outputs(code: &str, input: &str) -> Result<Vec<String>, RunError> {
        let program = compile(code, &["now".into(), "x".into()]).unwrap();
        let input = jaq_json::read::parse_single(input.as_bytes()).unwrap();
        let mut seen = Vec::new();
        program.run(
            input,
            vec![Val::from(1_700_000_000isize), Val::from("ex".to_string())],
            Instant::now() + Duration::from_secs(5),
            &mut |v| {
                seen.push(v.to_string());
                true
            },
        )?;
        Ok(seen)
    }

    #[test]
    fn programs_see_their_variables_and_keep_ints_apart_from_floats() {
        assert_eq!(
            outputs("[$now, $x, (.a | length), 4 / 2]", r#"{"a": [1, 2]}"#).unwrap(),
            vec![r#"[1700000000,"ex",2,2.0]"#]
        );
    }

    #[test]
    fn what_reads_the_environment_or_ends_the_process_is_refused() {
        for code in [
            "env",
            "$ENV",
            "halt",
            "halt_error(1)",
            "input",
            "debug",
            "stderr",
        ] {
            match compile(code, &["now".into()]) {
                Err(e) => assert!(e.message.contains("undefined"), "{code}: {e:?}"),
                Ok(p) => {
                    let err = p
                        .run(
                            Val::Null,
                            vec![Val::Null],
                            Instant::now() + Duration::from_secs(1),
                            &mut |_| true,
                        )
                        .unwrap_err();
                    assert!(
                        matches!(&err, RunError::Failed(m) if m.contains("not available")),
                        "{code}: {err:?}"
                    );
                }
            }
        }
        let err = compile(r#"import "x" as x; 1"#, &[]).unwrap_err();
        assert!(err.message.contains("imports"), "{err:?}");
    }

    #[test]
    fn compile_errors_say_where() {
        let err = compile("1 +\n  (2 | ", &[]).unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = compile(".a | $missing", &["now".into()]).unwrap_err();
        assert_eq!((err.line, err.column), (1, 6));
        assert!(err.message.contains("undefined variable"), "{err:?}");
        let err = compile("nosuchfilter(1)", &[]).unwrap_err();
        assert!(err.message.contains("undefined filter"), "{err:?}");
    }

    #[test]
    fn explosions_and_output_loops_are_stopped() {
        assert_eq!(outputs("repeat(1)", "null"), Err(RunError::TooMany));
        assert_eq!(
            outputs("error(\"no \\(.)\")", "3"),
            Err(RunError::Failed("no 3".into()))
        );
        let program = compile("range(1e12)", &[]).unwrap();
        let err = program
            .run(Val::Null, vec![], Instant::now(), &mut |_| true)
            .unwrap_err();
        assert_eq!(err, RunError::OutOfTime);
    }
}
