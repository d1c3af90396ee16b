//! The human format, like rustc's:
//!
//! ```text
//! error[secrets/plaintext]: Secret apps/db has 1 value(s) in the clear under `stringData`
//!  --> gitops/apps/db.yaml:7:3
//!   |
//! 7 |   password: hunter2
//!   |   ^^^^^^^^
//!   |
//!   = help: encrypt the file with `psd encrypt -i FILE` …
//!
//! psd lint: 1 error, 0 warnings, 0 infos
//! ```
//!
//! Colour (ANSI) only when [`Options::color`] is set: the caller decides it (a terminal, and
//! `NO_COLOR` unset).

use std::io::{self, Write};

use super::{Counts, Sources};
use crate::finding::{Finding, Severity};

/// How to write.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Write ANSI colour codes.
    pub color: bool,
    /// The number of files read, for the summary line (`None`: not said).
    pub files: Option<usize>,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn severity(&self, sev: Severity, s: &str) -> String {
        let code = match sev {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.wrap(code, s)
    }
    fn gutter(&self, s: &str) -> String {
        self.wrap("1;34", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// Writes `findings` (with source lines from `sources`) and a summary line.
pub fn write(
    out: &mut impl Write,
    findings: &[Finding],
    sources: &Sources,
    opts: Options,
) -> io::Result<()> {
    let paint = Paint { on: opts.color };
    for f in findings {
        write_one(out, f, sources, &paint)?;
    }
    let counts = Counts::of(findings);
    let files = opts
        .files
        .map(|n| format!(" in {n} file{}", if n == 1 { "" } else { "s" }))
        .unwrap_or_default();
    if findings.is_empty() {
        writeln!(out, "psd lint: no problems found{files}")
    } else {
        let worst = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        writeln!(
            out,
            "{}: {counts}{files}",
            paint.severity(worst, "psd lint")
        )
    }
}

/// Rules whose findings sit on a line holding a secret in the clear: the human format shows
/// that line only up to the end of the finding's span.
pub const HIDES_SOURCE_LINE: &[&str] = &["secrets/plaintext", "secrets/age-private-key"];

fn write_one(out: &mut impl Write, f: &Finding, sources: &Sources, p: &Paint) -> io::Result<()> {
    let head = format!("{}[{}]", f.severity, f.rule);
    writeln!(
        out,
        "{}{}",
        p.severity(f.severity, &head),
        p.bold(&format!(": {}", f.message))
    )?;
    let line_text = f.span.and_then(|s| {
        sources
            .get(&f.file)
            .and_then(|t| t.lines().nth(s.line.saturating_sub(1)))
    });
    let width = f.span.map_or(1, |s| s.line.to_string().len());
    let pad = " ".repeat(width);
    let location = match f.span {
        Some(s) => format!("{}:{}:{}", f.file, s.line, s.column),
        None => f.file.clone(),
    };
    writeln!(out, "{pad}{} {location}", p.gutter("-->"))?;
    if let (Some(span), Some(text)) = (f.span, line_text) {
        let text = text.trim_end_matches('\r');
        // A line that holds a secret in the clear is shown only up to the end of the span
        // (the key's name, the key's prefix): the output goes to terminals and CI logs.
        let cut: String;
        let text = if HIDES_SOURCE_LINE.contains(&f.rule) && span.end_line == span.line {
            cut = text
                .chars()
                .take(span.end_column.saturating_sub(1))
                .chain(" …".chars())
                .collect();
            cut.as_str()
        } else {
            text
        };
        let bar = p.gutter("|");
        writeln!(out, "{pad} {bar}")?;
        writeln!(out, "{} {bar} {text}", p.gutter(&span.line.to_string()))?;
        let chars: Vec<char> = text.chars().collect();
        let start = span.column.saturating_sub(1).min(chars.len());
        // The underline stops at the end of the line (a span over several lines, or a span
        // computed on a decrypted copy whose line is longer).
        let end = if span.end_line == span.line {
            span.end_column.saturating_sub(1)
        } else {
            chars.len()
        }
        .min(chars.len())
        .max(start + 1);
        // Keep tabs so the carets line up under the text.
        let lead: String = chars[..start]
            .iter()
            .map(|&c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(end - start);
        writeln!(out, "{pad} {bar} {lead}{}", p.severity(f.severity, &carets))?;
    }
    if !f.help.is_empty() {
        let bar = p.gutter("|");
        writeln!(out, "{pad} {bar}")?;
        let mut lines = f.help.lines();
        if let Some(first) = lines.next() {
            writeln!(out, "{pad} {} {}: {first}", p.gutter("="), p.bold("help"))?;
        }
        for more in lines {
            writeln!(out, "{pad}         {more}")?;
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil;

    fn render(color: bool) -> String {
        let t = crate::Tree::from_files([("gitops/apps/db secret.yaml", testutil::SOURCE)]);
        let mut s = Sources::default();
        s.add_tree(&t);
        let mut out = Vec::new();
        write(
            &mut out,
            &testutil::findings(),
            &s,
            Options {
                color,
                files: Some(2),
            },
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn like_rustc() {
        let text = render(false);
        let expected =
            "error[secrets/plaintext]: Secret apps/db has 1 value(s) in the clear, 100%: bad
 --> gitops/apps/db secret.yaml:2:3
  |
2 |   password …
  |   ^^^^^^^^
  |
  = help: encrypt it
          with sops

warning[yaml/syntax]: whole file
 --> gitops/b.yaml
  |
  = help: fix it

psd lint: 1 error, 1 warning, 0 infos in 2 files
";
        assert_eq!(text, expected);
        // The value in the clear is never shown.
        assert!(!text.contains("hunter2"));
        assert!(!text.contains('\x1b'));
        assert!(render(true).contains("\x1b[1;31merror[secrets/plaintext]\x1b[0m"));
    }

    #[test]
    fn clean_and_odd_spans() {
        let mut out = Vec::new();
        write(&mut out, &[], &Sources::default(), Options::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "psd lint: no problems found\n"
        );
        // A span past the end of its line, and one over two lines, still underline something.
        let t = crate::Tree::from_files([("a.yaml", "\tab\n")]);
        let mut s = Sources::default();
        s.add_tree(&t);
        let mut f = testutil::findings().remove(0);
        f.file = "a.yaml".into();
        f.rule = "yaml/syntax";
        f.span = Some(crate::Span {
            line: 1,
            column: 2,
            end_line: 2,
            end_column: 1,
        });
        let mut out = Vec::new();
        write(&mut out, &[f.clone()], &s, Options::default()).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("1 | \tab\n  | \t^^\n")
        );
        f.span = Some(crate::Span::on_line(1, 40, 3));
        let mut out = Vec::new();
        write(&mut out, &[f], &s, Options::default()).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("  | \t  ^\n"));
    }
}
