//! The custom-computation language: what a `query` starting with `#` may say.
//!
//! The original evaluated Spring Expression Language, which let a mapping file call arbitrary
//! Java. Here a computation is number and string literals, `+ - * /`, parentheses and calls of
//! the functions in [`FUNCTIONS`]; nothing else can be named. Computations are parsed and
//! type-checked when the mapping file loads, so a bad one rejects that mapping version.

pub mod eval;
pub mod parse;

use crate::metrics::promql::check_syntax;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
        }
    }
}

/// Syntax tree; `usize` fields are byte offsets into the source, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    Neg(Box<Expr>, usize),
    Binary(BinOp, Box<Expr>, Box<Expr>, usize),
    Call {
        name: String,
        args: Vec<Expr>,
        pos: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Text,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Number => "a number",
            Type::Text => "a string",
        }
    }
}

/// A function a computation may call.
pub struct Function {
    pub name: &'static str,
    pub params: &'static [Type],
    /// What each string argument must be, checked at load: `Some(wrap)` means the argument,
    /// put into `wrap` in place of `{}`, must parse as PromQL.
    pub promql_args: &'static [Option<&'static str>],
}

/// Every function there is.
pub const FUNCTIONS: &[Function] = &[
    // sumPeriods(countsSeries, stampsSeries, fromUnixSeconds)
    Function {
        name: "sumPeriods",
        params: &[Type::Text, Type::Text, Type::Number],
        promql_args: &[Some("{}[1s]"), Some("{}[1s]"), None],
    },
    // query('<promql>'): the value of an instant query
    Function {
        name: "query",
        params: &[Type::Text],
        promql_args: &[Some("{}")],
    },
];

/// A computation that parsed and type-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Computation {
    pub expr: Expr,
}

/// Parses and checks a computation (the text after `#`).
pub fn compile(text: &str) -> Result<Computation, String> {
    let expr = parse::parse(text)?;
    match type_of(&expr, text)? {
        Type::Number => Ok(Computation { expr }),
        Type::Text => Err("a computation must produce a number, not a string".into()),
    }
}

fn column(text: &str, pos: usize) -> usize {
    text.get(..pos).map(|s| s.chars().count()).unwrap_or(pos) + 1
}

fn type_of(expr: &Expr, text: &str) -> Result<Type, String> {
    match expr {
        Expr::Num(_) => Ok(Type::Number),
        Expr::Str(_) => Ok(Type::Text),
        Expr::Neg(e, pos) => match type_of(e, text)? {
            Type::Number => Ok(Type::Number),
            Type::Text => Err(format!(
                "column {}: '-' needs a number, not a string",
                column(text, *pos)
            )),
        },
        Expr::Binary(op, l, r, pos) => {
            if type_of(l, text)? == Type::Number && type_of(r, text)? == Type::Number {
                Ok(Type::Number)
            } else {
                Err(format!(
                    "column {}: '{}' needs numbers on both sides",
                    column(text, *pos),
                    op.symbol()
                ))
            }
        }
        Expr::Call { name, args, pos } => {
            let at = column(text, *pos);
            let known: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
            let f = FUNCTIONS.iter().find(|f| f.name == name).ok_or_else(|| {
                format!(
                    "column {at}: unknown function '{name}'; known functions: {}",
                    known.join(", ")
                )
            })?;
            if args.len() != f.params.len() {
                return Err(format!(
                    "column {at}: {name} takes {} argument(s), not {}",
                    f.params.len(),
                    args.len()
                ));
            }
            for (i, (arg, want)) in args.iter().zip(f.params).enumerate() {
                let got = type_of(arg, text)?;
                if got != *want {
                    return Err(format!(
                        "column {at}: argument {} of {name} must be {}, not {}",
                        i + 1,
                        want.name(),
                        got.name()
                    ));
                }
                if let (Expr::Str(s), Some(Some(wrap))) = (arg, f.promql_args.get(i)) {
                    check_syntax(&wrap.replace("{}", s)).map_err(|e| {
                        format!(
                            "column {at}: argument {} of {name} is not valid PromQL: {e}",
                            i + 1
                        )
                    })?;
                }
            }
            Ok(Type::Number)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_example_compiles() {
        let c = compile("sumPeriods('series_one', 'series_two', 42)").unwrap();
        assert!(
            matches!(c.expr, Expr::Call { ref name, ref args, .. } if name == "sumPeriods" && args.len() == 3)
        );
    }

    #[test]
    fn arithmetic_precedence_and_negation() {
        let c = compile("1 + 2 * -3").unwrap();
        let Expr::Binary(BinOp::Add, l, r, _) = c.expr else {
            panic!("{:?}", c.expr)
        };
        assert_eq!(*l, Expr::Num(1.0));
        assert!(matches!(*r, Expr::Binary(BinOp::Mul, _, _, _)));
        assert!(compile("(query('up') + query(\"sum(x)\")) / 2").is_ok());
        assert!(compile("query('it\\'s')").is_err(), "not PromQL");
    }

    #[test]
    fn load_time_errors_say_what_and_where() {
        let cases = [
            (
                "nope(1)",
                "column 1: unknown function 'nope'; known functions: sumPeriods, query",
            ),
            (
                "1 + sumPeriods('a', 'b')",
                "column 5: sumPeriods takes 3 argument(s), not 2",
            ),
            (
                "sumPeriods('a', 3, 4)",
                "column 1: argument 2 of sumPeriods must be a string, not a number",
            ),
            (
                "query(1)",
                "column 1: argument 1 of query must be a string, not a number",
            ),
            ("'a' + 1", "column 1: '+' needs numbers on both sides"),
            (
                "'text'",
                "a computation must produce a number, not a string",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(compile(text).unwrap_err(), message, "{text}");
        }
        assert!(compile("query('sum(rate(x[5m])')")
            .unwrap_err()
            .contains("not valid PromQL"));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = compile("1 +").unwrap_err();
        assert!(
            e.starts_with("syntax error at line 1, column 4: expected "),
            "{e}"
        );
        let e = compile("query('up'\n  + 2").unwrap_err();
        assert!(e.starts_with("syntax error at line 2, column 6: "), "{e}");
        let e = compile("sumPeriods('a', 'b', 1").unwrap_err();
        assert!(e.contains("column 23"), "{e}");
    }
}
