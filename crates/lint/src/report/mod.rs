//! Printing findings: the same four formats `psd lint` writes, for any Rust tool that wants to
//! show findings the way psd does. Nothing here prints: every writer takes a
//! [`std::io::Write`], and the caller decides colour.
//!
//! - [`human`]: rustc-style text with the source line and the span underlined.
//! - [`json`]: an array of findings (documented there).
//! - [`sarif`]: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//! - [`github`]: GitHub Actions workflow commands (`::error file=…::…`), shown as annotations.
//!
//! Paths: a [`Finding::file`] is relative to the linted tree's root; [`repo_relative`] turns
//! it into a path relative to the repository root (what SARIF's `%SRCROOT%` and GitHub's
//! annotations expect), and [`Sources`] finds the text of a file by that path.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::collections::HashMap;

use crate::finding::{Finding, Severity};
use crate::tree::Tree;

/// An output format of `psd lint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// [`human`].
    Human,
    /// [`json`].
    Json,
    /// [`sarif`].
    Sarif,
    /// [`github`].
    Github,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Sarif, Format::Github];

    /// The name on the command line: `human`, `json`, `sarif`, `github`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }

    /// Parses [`Format::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The path of `file` (relative to `tree`'s root) relative to the repository root, with `/`
/// separators: `tree.repo_prefix` joined with it.
pub fn repo_relative(tree: &Tree, file: &str) -> String {
    if tree.repo_prefix.is_empty() {
        file.to_owned()
    } else if file.is_empty() {
        tree.repo_prefix.clone()
    } else {
        format!("{}/{file}", tree.repo_prefix)
    }
}

/// Rewrites every finding's file from tree-relative to repository-relative ([`repo_relative`]).
pub fn to_repo_relative(tree: &Tree, findings: &mut [Finding]) {
    for f in findings {
        f.file = repo_relative(tree, &f.file);
    }
}

/// The text of files by the path findings name, for the source lines of [`human`].
///
/// Give it the trees as read from disk: with `--decrypt`, findings come from a decrypted copy,
/// and its text must never be shown.
#[derive(Default)]
pub struct Sources<'a> {
    files: HashMap<String, &'a str>,
}

impl<'a> Sources<'a> {
    /// Adds every text file of `tree` under its repository-relative path (as
    /// [`to_repo_relative`] names them).
    pub fn add_repo_relative(&mut self, tree: &'a Tree) {
        for f in &tree.files {
            if let Some(text) = f.text() {
                self.files.insert(repo_relative(tree, &f.path), text);
            }
        }
    }

    /// Adds every text file of `tree` under its tree-relative path (as [`crate::lint`]
    /// names them).
    pub fn add_tree(&mut self, tree: &'a Tree) {
        for f in &tree.files {
            if let Some(text) = f.text() {
                self.files.insert(f.path.clone(), text);
            }
        }
    }

    /// The text of `file`, if known.
    pub fn get(&self, file: &str) -> Option<&'a str> {
        self.files.get(file).copied()
    }
}

/// How many findings of each severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
}

impl Counts {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Self {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }

    /// Whether any finding is at or above `fail_on`.
    pub fn fails(&self, fail_on: Severity) -> bool {
        match fail_on {
            Severity::Error => self.errors > 0,
            Severity::Warning => self.errors + self.warnings > 0,
            Severity::Info => self.errors + self.warnings + self.infos > 0,
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {}, {}",
            plural(self.errors, "error", "errors"),
            plural(self.warnings, "warning", "warnings"),
            plural(self.infos, "info", "infos")
        )
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use crate::finding::{Finding, Severity, Span};

    pub fn findings() -> Vec<Finding> {
        vec![
            Finding {
                rule: "secrets/plaintext",
                severity: Severity::Error,
                file: "gitops/apps/db secret.yaml".into(),
                span: Some(Span::on_line(2, 3, 8)),
                message: "Secret apps/db has 1 value(s) in the clear, 100%: bad".into(),
                help: "encrypt it\nwith sops".into(),
            },
            Finding {
                rule: "yaml/syntax",
                severity: Severity::Warning,
                file: "gitops/b.yaml".into(),
                span: None,
                message: "whole file".into(),
                help: "fix it".into(),
            },
        ]
    }

    pub const SOURCE: &str = "stringData:\n  password: hunter2\n";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_fail_on() {
        let c = Counts::of(&testutil::findings());
        assert_eq!(c.to_string(), "1 error, 1 warning, 0 infos");
        assert!(c.fails(Severity::Error));
        let only_warning = Counts {
            errors: 0,
            warnings: 1,
            infos: 0,
        };
        assert!(!only_warning.fails(Severity::Error));
        assert!(only_warning.fails(Severity::Warning));
        assert!(only_warning.fails(Severity::Info));
        assert!(!Counts::default().fails(Severity::Info));
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
    }

    #[test]
    fn paths_become_repo_relative() {
        let mut t = Tree::from_files([("apps/a.yaml", "a: 1\n")]);
        assert_eq!(repo_relative(&t, "apps/a.yaml"), "apps/a.yaml");
        t.repo_prefix = "gitops".into();
        assert_eq!(repo_relative(&t, "apps/a.yaml"), "gitops/apps/a.yaml");
        let mut s = Sources::default();
        s.add_repo_relative(&t);
        assert_eq!(s.get("gitops/apps/a.yaml"), Some("a: 1\n"));
        let mut s = Sources::default();
        s.add_tree(&t);
        assert_eq!(s.get("apps/a.yaml"), Some("a: 1\n"));
    }
}
