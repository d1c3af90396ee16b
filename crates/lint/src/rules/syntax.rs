//! `yaml/syntax`: a YAML file that cannot be parsed is one finding at the error's position.

use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// A YAML file does not parse.
pub static SYNTAX: RuleInfo = RuleInfo {
    id: "yaml/syntax",
    severity: Severity::Error,
    summary: "a YAML file does not parse",
    help: "fix the YAML at the position shown; Flux cannot apply a file it cannot read",
};

/// Reports every syntax error the index recorded.
pub fn check(cx: &Context, out: &mut Sink) {
    for (file, message, span) in &cx.index.syntax_errors {
        out.file(
            cx,
            &SYNTAX,
            *file,
            Some(*span),
            format!("invalid YAML: {message}"),
            "",
        );
    }
}
