//! SARIF 2.1.0, as GitHub code scanning reads it (`github/codeql-action/upload-sarif`): one
//! run whose `tool.driver` lists every rule (id, short description, help, default level) and
//! whose `results` are the findings, each with its rule, level, message and location (a URI
//! relative to `%SRCROOT%`, the repository root, and a region; columns count Unicode code
//! points, as `columnKind` says). A finding about a whole file points at its line 1, because
//! code scanning needs a line.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::config::{Config, RuleSetting};
use crate::finding::{Finding, RuleInfo, Severity};

/// Where the tool's documentation lives (SARIF's `informationUri`).
pub const INFORMATION_URI: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/LINT.md");

/// The SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference: unreserved characters and `/` kept, every other byte
/// percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule(info: &RuleInfo, config: &Config) -> Value {
    let configuration = match config.setting(info) {
        RuleSetting::Off => json!({ "enabled": false, "level": level(info.severity) }),
        RuleSetting::Severity(s) => json!({ "level": level(s) }),
    };
    json!({
        "id": info.id,
        "shortDescription": { "text": info.summary },
        "help": { "text": info.help },
        "defaultConfiguration": configuration,
    })
}

fn result(f: &Finding, rules: &[&RuleInfo]) -> Value {
    let region = match f.span {
        Some(s) => json!({
            "startLine": s.line,
            "startColumn": s.column,
            "endLine": s.end_line,
            "endColumn": s.end_column,
        }),
        None => json!({ "startLine": 1 }),
    };
    let mut text = f.message.clone();
    if !f.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&f.help);
    }
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&f.file), "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        }],
    });
    if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
        r["ruleIndex"] = json!(i);
    }
    r
}

/// The SARIF log of one run over `findings` (files relative to the repository root), with
/// `rules` as the tool's rules and their levels as `config` sets them.
pub fn log(findings: &[Finding], rules: &[&RuleInfo], config: &Config) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "psd lint",
                    "informationUri": INFORMATION_URI,
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|r| rule(r, config)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": findings.iter().map(|f| result(f, rules)).collect::<Vec<_>>(),
        }]
    })
}

/// Writes [`log`] pretty-printed, and a newline.
pub fn write(
    out: &mut impl Write,
    findings: &[Finding],
    rules: &[&RuleInfo],
    config: &Config,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(findings, rules, config))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil;

    #[test]
    fn one_run_with_rules_and_results() {
        let rules = crate::rules::infos();
        let mut cfg = Config::default();
        cfg.rules.insert("yaml/syntax".into(), RuleSetting::Off);
        let mut out = Vec::new();
        write(&mut out, &testutil::findings(), &rules, &cfg).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "psd lint");
        assert!(
            driver["informationUri"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
        let ids: Vec<&str> = driver["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"secrets/plaintext"));
        let syntax = &driver["rules"][ids.iter().position(|i| *i == "yaml/syntax").unwrap()];
        assert_eq!(syntax["defaultConfiguration"]["enabled"], false);
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "secrets/plaintext");
        assert_eq!(r["level"], "error");
        assert_eq!(
            driver["rules"][r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "secrets/plaintext"
        );
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "gitops/apps/db%20secret.yaml"
        );
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(loc["region"]["endColumn"], 11);
        assert_eq!(run["results"][1]["level"], "warning");
        assert_eq!(
            run["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"],
            1
        );
        assert_eq!(level(Severity::Info), "note");
    }
}
