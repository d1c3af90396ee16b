//! The GitHub Actions format: one workflow command per finding, which GitHub shows as an
//! annotation on the line in the pull request:
//!
//! ```text
//! ::error file=gitops/apps/db.yaml,line=7,col=3,endLine=7,endColumn=11,title=secrets/plaintext::Secret apps/db …
//! ```
//!
//! `info` findings are `::notice`. Escaping as GitHub's toolkit does: in the message `%`,
//! `\r`, `\n` become `%25`, `%0D`, `%0A`; in properties also `:` and `,` (`%3A`, `%2C`).
//! The help follows the message on a second line.

use std::io::{self, Write};

use crate::finding::{Finding, Severity};

/// Escapes a command's message (data).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property's value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command for one finding (no newline).
pub fn command(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = vec![format!("file={}", escape_property(&f.file))];
    if let Some(s) = f.span {
        props.push(format!("line={}", s.line));
        props.push(format!("col={}", s.column));
        props.push(format!("endLine={}", s.end_line));
        props.push(format!("endColumn={}", s.end_column));
    }
    props.push(format!("title={}", escape_property(f.rule)));
    let mut message = f.message.clone();
    if !f.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&f.help);
    }
    format!("::{level} {}::{}", props.join(","), escape_data(&message))
}

/// Writes one command per finding.
pub fn write(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        writeln!(out, "{}", command(f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil;

    #[test]
    fn workflow_commands_escaped() {
        let mut out = Vec::new();
        write(&mut out, &testutil::findings()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "::error file=gitops/apps/db secret.yaml,line=2,col=3,endLine=2,endColumn=11,\
             title=secrets/plaintext::Secret apps/db has 1 value(s) in the clear, 100%25: bad\
             %0Ahelp: encrypt it%0Awith sops"
        );
        assert_eq!(
            lines[1],
            "::warning file=gitops/b.yaml,title=yaml/syntax::whole file%0Ahelp: fix it"
        );
        assert_eq!(escape_property("a:b,c%\r\n"), "a%3Ab%2Cc%25%0D%0A");
    }
}
