//! The JSON format: one array of findings, sorted by file and position, each an object with
//! exactly these keys:
//!
//! | key | type | meaning |
//! | --- | --- | --- |
//! | `rule` | string | the rule id, e.g. `secrets/plaintext` |
//! | `severity` | string | `error`, `warning` or `info` (after configuration) |
//! | `file` | string | the file, relative to the repository root, `/` separators |
//! | `line`, `column` | number or null | 1-based start (column in characters); null for a finding about a whole file |
//! | `end_line`, `end_column` | number or null | 1-based end; `end_column` is the column after the last character |
//! | `message` | string | what is wrong here, one line |
//! | `help` | string | how to fix it |
//!
//! ```json
//! [{"rule":"secrets/plaintext","severity":"error","file":"gitops/apps/db.yaml","line":7,
//!   "column":3,"end_line":7,"end_column":11,"message":"…","help":"…"}]
//! ```

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::finding::Finding;

/// One finding as JSON.
pub fn finding(f: &Finding) -> Value {
    let s = f.span;
    json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "file": f.file,
        "line": s.map(|s| s.line),
        "column": s.map(|s| s.column),
        "end_line": s.map(|s| s.end_line),
        "end_column": s.map(|s| s.end_column),
        "message": f.message,
        "help": f.help,
    })
}

/// Writes `findings` as one pretty-printed JSON array and a newline.
pub fn write(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    let all = Value::Array(findings.iter().map(finding).collect());
    serde_json::to_writer_pretty(&mut *out, &all)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil;

    #[test]
    fn array_of_findings() {
        let mut out = Vec::new();
        write(&mut out, &testutil::findings()).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["rule"], "secrets/plaintext");
        assert_eq!(v[0]["severity"], "error");
        assert_eq!(v[0]["file"], "gitops/apps/db secret.yaml");
        assert_eq!(
            (
                &v[0]["line"],
                &v[0]["column"],
                &v[0]["end_line"],
                &v[0]["end_column"]
            ),
            (&json!(2), &json!(3), &json!(2), &json!(11))
        );
        assert_eq!(v[1]["line"], Value::Null);
        let keys: Vec<&str> = v[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "rule",
                "severity",
                "file",
                "line",
                "column",
                "end_line",
                "end_column",
                "message",
                "help"
            ]
        );
    }
}
