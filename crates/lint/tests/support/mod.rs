//! Helpers the family tests share: trees from files in memory, lint runs, where findings are,
//! the fixture recipient and an encrypted-looking value, and the judge rule for `shared/`.
//!
//! Each test binary uses some of them (`mod support;`), hence `dead_code` is allowed.
#![allow(dead_code)]
// The judge rule prints SKIPPED, and findings on foreign trees are printed for the record.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use psd_lint::{Config, Finding, SchemaOptions, Tree, lint};

/// The fixture recipient (fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt).
pub const RECIPIENT: &str = "age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736";

/// A value as sops writes it (never decrypted by these tests).
pub const ENC: &str = "ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]";

/// A tree of these (path, text) files.
pub fn tree<P: AsRef<str>, T: AsRef<str>>(files: &[(P, T)]) -> Tree {
    Tree::from_files(
        files
            .iter()
            .map(|(p, t)| (p.as_ref().to_owned(), t.as_ref().as_bytes().to_vec())),
    )
}

/// Every finding on these files, with the cluster's domain when given.
pub fn lint_files(files: &[(&str, &str)], domain: Option<&str>) -> Vec<Finding> {
    let config = Config {
        domain: domain.map(str::to_owned),
        ..Config::default()
    };
    lint(&tree(files), &config)
}

/// Every finding on these files (no domain configured).
pub fn run(files: &[(&str, &str)]) -> Vec<Finding> {
    lint_files(files, None)
}

/// The service rule families.
pub const SERVICE_FAMILIES: &[&str] = &["persistence/", "ingress/", "entry-points/", "prune/"];

/// The reference and first-sync rule families.
pub const REFS_FAMILIES: &[&str] = &["refs/", "flux/"];

/// Whether `f` is of one of these rule families (id prefixes such as `refs/`).
pub fn in_families(f: &Finding, families: &[&str]) -> bool {
    families.iter().any(|p| f.rule.starts_with(p))
}

/// `(file, line)` of every finding of `rule`.
pub fn hits(findings: &[Finding], rule: &str) -> Vec<(String, usize)> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.file.clone(), f.span.map_or(0, |s| s.line)))
        .collect()
}

/// One `(file, line)`, to compare with [`hits`].
pub fn at(file: &str, line: usize) -> Vec<(String, usize)> {
    vec![(file.to_owned(), line)]
}

/// 1-based line of the `nth` (0-based) line containing `needle` in `text`.
pub fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in text"))
}

/// Prints the findings on tree `name`, for the record (`--nocapture` shows them).
pub fn record(name: &str, findings: &[Finding]) {
    for f in findings {
        let at = f
            .span
            .map_or(String::new(), |s| format!(":{}:{}", s.line, s.column));
        eprintln!(
            "{name}: {}{at}: {}[{}] {}",
            f.file, f.severity, f.rule, f.message
        );
    }
}

/// `shared/` beside the repository, if present. Missing: `None` (the test prints SKIPPED),
/// except under CI (`CI=true`), where it must be there.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("schemas").is_dir() && p.join("chart-schemas").is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared/schemas and shared/chart-schemas are missing at {}",
        p.display()
    );
    eprintln!("SKIPPED: no shared/schemas at {}", p.display());
    None
}

/// Validation against `shared/` as its README lays it out: yannh's layout for built-in kinds
/// (strict, Kubernetes 1.35.0), datreeio's for custom resources, and the chart schemas.
pub fn shared_config(shared: &Path) -> Config {
    let s = shared.join("schemas").display().to_string();
    Config {
        schema: SchemaOptions {
            locations: vec![
                format!(
                    "{s}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
                ),
                format!(
                    "{s}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"
                ),
            ],
            chart_schemas: Some(shared.join("chart-schemas")),
            kubernetes_version: Some("1.35.0".into()),
            strict: true,
        },
        ..Config::default()
    }
}
