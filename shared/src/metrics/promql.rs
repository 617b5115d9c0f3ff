//! The original's PromQL with `#R#` range tokens: the token, and the syntax check both the
//! mapping files and the computation language's PromQL arguments go through.

/// The token the original replaces with a duration before querying Prometheus.
pub const RANGE_TOKEN: &str = "#R#";

/// Checks the syntax of PromQL that may hold `#R#` tokens: any valid duration stands in for the
/// token, since only the syntax is checked here (the real range is known at query time).
pub fn check_syntax(text: &str) -> Result<(), String> {
    promql_parser::parser::parse(&text.replace(RANGE_TOKEN, "1s"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_tokens_stand_for_a_duration() {
        assert!(check_syntax("increase(x[#R#])").is_ok());
        assert!(check_syntax("sum(rate(x[5m])) by (a)").is_ok());
        assert!(check_syntax("increase(x[#R#]").is_err());
        assert!(check_syntax("x[#R#").is_err());
    }
}
