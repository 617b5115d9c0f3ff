//! Text to syntax tree, with pest. Errors carry the line and column pest reports.

use super::{BinOp, Expr};
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "metrics/expr/grammar.pest"]
struct Grammar;

/// Parses a computation (without its leading `#`).
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut pairs = Grammar::parse(Rule::computation, text).map_err(|e| {
        let (line, col) = match e.line_col {
            pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
        };
        let expected = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
                let names: Vec<String> = positives.iter().map(describe).collect();
                format!("expected {}", names.join(" or "))
            }
            _ => "unexpected input".to_string(),
        };
        format!("syntax error at line {line}, column {col}: {expected}")
    })?;
    let computation = pairs.next().ok_or("empty computation")?;
    let sum = computation.into_inner().next().ok_or("empty computation")?;
    Ok(build(sum))
}

fn describe(rule: &Rule) -> String {
    match rule {
        Rule::number => "a number".into(),
        Rule::string => "a string".into(),
        Rule::ident | Rule::call => "a function call".into(),
        Rule::add_op | Rule::mul_op => "an operator".into(),
        Rule::sum | Rule::product | Rule::unary => "an expression".into(),
        Rule::EOI => "the end of the expression".into(),
        other => format!("{other:?}"),
    }
}

fn build(pair: Pair<Rule>) -> Expr {
    let pos = pair.as_span().start();
    match pair.as_rule() {
        Rule::sum | Rule::product => {
            let mut inner = pair.into_inner();
            let mut left = inner.next().map(build).unwrap_or(Expr::Num(0.0));
            while let (Some(op), Some(right)) = (inner.next(), inner.next()) {
                let op = match op.as_str() {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    _ => BinOp::Div,
                };
                left = Expr::Binary(op, Box::new(left), Box::new(build(right)), pos);
            }
            left
        }
        Rule::unary => {
            let mut negations = 0;
            let mut operand = Expr::Num(0.0);
            for p in pair.into_inner() {
                if p.as_rule() == Rule::neg {
                    negations += 1;
                } else {
                    operand = build(p);
                }
            }
            (0..negations).fold(operand, |e, _| Expr::Neg(Box::new(e), pos))
        }
        Rule::number => Expr::Num(pair.as_str().parse().unwrap_or(f64::NAN)),
        Rule::string => {
            let raw = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
            Expr::Str(unescape(raw))
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let name = inner
                .next()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            Expr::Call {
                name,
                args: inner.map(build).collect(),
                pos,
            }
        }
        // The grammar produces no other rule here; keep the tree total rather than panic.
        _ => Expr::Num(f64::NAN),
    }
}

/// `\x` stands for `x`: enough to put either quote inside a string.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any text at all: an answer, never a panic.
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse(&text);
        }

        /// Text made of the language's own characters reaches deeper into the grammar.
        #[test]
        fn never_panics_on_near_miss_text(text in "[()+*/,'\"\\\\ a-zA-Z0-9_.eE#-]{0,64}") {
            if let Err(message) = parse(&text) {
                prop_assert!(message.starts_with("syntax error at line "), "{}", message);
            }
        }

        /// Sums of numbers parse, and negation binds tighter than subtraction.
        #[test]
        fn numbers_and_operators_parse(a in 0u32..1000, b in 0u32..1000) {
            let text = format!("{a} - -{b}");
            prop_assert!(matches!(parse(&text), Ok(Expr::Binary(BinOp::Sub, _, _, _))));
        }
    }
}
