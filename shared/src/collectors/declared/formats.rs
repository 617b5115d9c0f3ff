//! A fetched document as the program's input: JSON as it is; YAML as the same JSON value;
//! CSV as an array of objects keyed by the header row, every value a string (as the seed's
//! collectors read britney's and the archive's CSV); text as one string.

use jaq_json::Val;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Csv,
    Text,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        Some(match text {
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "csv" => Format::Csv,
            "text" => Format::Text,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
            Format::Csv => "CSV",
            Format::Text => "text",
        }
    }
}

/// The error says where and what, never the document.
pub fn decode(body: &[u8], format: Format) -> Result<Val, String> {
    let cut = |e: String| -> String {
        let line = e.lines().next().unwrap_or_default().to_string();
        match line.char_indices().nth(160) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => line,
        }
    };
    let fail = |e: String| format!("the answer is not {}: {}", format.as_str(), cut(e));
    match format {
        Format::Json => jaq_json::read::parse_single(body).map_err(|e| fail(e.to_string())),
        Format::Yaml => {
            let text = std::str::from_utf8(body).map_err(|e| fail(e.to_string()))?;
            serde_saphyr::from_str::<Val>(text).map_err(|e| fail(e.to_string()))
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().from_reader(body);
            let headers: Vec<Val> = reader
                .headers()
                .map_err(|e| fail(e.to_string()))?
                .iter()
                .map(|h| Val::from(h.to_string()))
                .collect();
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| fail(e.to_string()))?;
                let row = headers
                    .iter()
                    .cloned()
                    .zip(record.iter().map(|v| Val::from(v.to_string())))
                    .collect();
                rows.push(Val::obj(row));
            }
            Ok(rows.into_iter().collect())
        }
        Format::Text => std::str::from_utf8(body)
            .map(|t| Val::from(t.to_string()))
            .map_err(|e| fail(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_becomes_a_value() {
        let json = decode(br#"{"a": [1, 2.5]}"#, Format::Json).unwrap();
        assert_eq!(json.to_string(), r#"{"a":[1,2.5]}"#);
        let yaml = decode(b"a:\n  - 1\n  - x\n", Format::Yaml).unwrap();
        assert_eq!(yaml.to_string(), r#"{"a":[1,"x"]}"#);
        let csv = decode(b"name,count\nfoo,3\nbar,4\n", Format::Csv).unwrap();
        assert_eq!(
            csv.to_string(),
            r#"[{"name":"foo","count":"3"},{"name":"bar","count":"4"}]"#
        );
        assert_eq!(
            decode(b"hi\n", Format::Text).unwrap().to_string(),
            r#""hi\n""#
        );
    }

    #[test]
    fn a_document_that_does_not_parse_is_named_by_format_never_echoed() {
        let secret = "<html>token=abcdef</html>".repeat(50);
        let err = decode(secret.as_bytes(), Format::Json).unwrap_err();
        assert!(err.starts_with("the answer is not JSON"), "{err}");
        assert!(!err.contains("abcdef"), "{err}");
        assert!(decode(b"a,b\n1,2,3\n", Format::Csv).is_err());
        assert!(decode(&[0xff, 0xfe], Format::Text).is_err());
    }
}
