//! What a lint run reports: [`Finding`]s, each with a rule id, a [`Severity`], a file and a
//! [`Span`] in it, a one-line message and a help text.

use std::fmt;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; never fails a run unless `--fail-on info`.
    Info,
    /// Likely a mistake, or something that will break later.
    Warning,
    /// Breaks a cluster (or leaks a secret) as written.
    Error,
}

impl Severity {
    /// The lower-case name used in configuration and output: `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses [`Severity::as_str`]'s names (and `warn`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" | "note" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region of a file: 1-based line and column (in characters) of its first character, and of
/// the character after its last one (`end_column` is exclusive). A span covers at least one
/// character unless the file is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First line, 1-based.
    pub line: usize,
    /// First column, 1-based, in characters.
    pub column: usize,
    /// Last line, 1-based.
    pub end_line: usize,
    /// The column after the last character, 1-based, in characters.
    pub end_column: usize,
}

impl Span {
    /// A span of `len` characters on one line (at least one).
    pub fn on_line(line: usize, column: usize, len: usize) -> Self {
        Span {
            line,
            column,
            end_line: line,
            end_column: column + len.max(1),
        }
    }
}

/// Static facts about one rule: its stable id, default severity, one-line summary and help.
#[derive(Debug)]
pub struct RuleInfo {
    /// Stable id, kebab-case, grouped by prefix (`secrets/plaintext`, `refs/secret-key`).
    pub id: &'static str,
    /// Severity unless configured otherwise.
    pub severity: Severity,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// How to fix a finding of this rule, in general terms (a finding may say more).
    pub help: &'static str,
}

/// One problem found in a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id ([`RuleInfo::id`]).
    pub rule: &'static str,
    /// Its severity after configuration.
    pub severity: Severity,
    /// The file, relative to the linted root, with `/` separators.
    pub file: String,
    /// Where in the file; `None` for a finding about the whole file (or a missing one).
    pub span: Option<Span>,
    /// One line: what is wrong here.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Finding {
    /// Sort key: file, position, rule.
    pub fn sort_key(&self) -> (&str, Option<Span>, &str) {
        (&self.file, self.span, self.rule)
    }
}
