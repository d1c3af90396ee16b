//! The one place manifests are turned into YAML text.
//!
//! Every plain manifest goes through [`to_yaml`] / [`to_yaml_documents`] with the same
//! serde-saphyr options, so output is byte-stable: 2-space indent, sequences under a key not
//! indented (kubectl style), long strings never folded, strings that YAML 1.1 would read as
//! something else (`on`, `yes`, `"5432"`) quoted, multi-line strings as `|` blocks.

use serde_json::Value;

use crate::error::RenderError;

fn options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! {
        indent_step: 2,
        folded_wrap_chars: usize::MAX,
        min_fold_chars: usize::MAX,
        prefer_block_scalars: true,
    }
}

/// One document as YAML (ends with a newline, no `---`).
///
/// # Errors
/// [`RenderError::Yaml`] if the emitter rejects the value (cannot happen for JSON values).
pub fn to_yaml(doc: &Value) -> Result<String, RenderError> {
    let mut out = serde_saphyr::to_string_with_options(doc, options())
        .map_err(|e| RenderError::Yaml(e.to_string()))?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Several documents separated by `---` lines.
///
/// # Errors
/// As [`to_yaml`].
pub fn to_yaml_documents(docs: &[Value]) -> Result<String, RenderError> {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(doc)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubernetes_sensitive_strings_are_quoted_and_long_lines_kept() {
        let long = "x".repeat(200);
        let text =
            to_yaml(&json!({"a": "on", "b": "5432", "c": long, "d": [1, 2], "e": "l1\nl2\n"}))
                .unwrap();
        assert!(
            text.contains("a: \"on\"") || text.contains("a: 'on'"),
            "{text}"
        );
        assert!(
            text.contains("b: \"5432\"") || text.contains("b: '5432'"),
            "{text}"
        );
        assert!(text.contains(&format!("c: {long}\n")), "{text}");
        assert!(text.contains("d:\n- 1\n- 2\n"), "{text}");
        assert!(text.contains("e: |\n  l1\n  l2\n"), "{text}");
    }

    #[test]
    fn documents_are_separated() {
        let text = to_yaml_documents(&[json!({"a": 1}), json!({"b": 2})]).unwrap();
        assert_eq!(text, "a: 1\n---\nb: 2\n");
    }
}
