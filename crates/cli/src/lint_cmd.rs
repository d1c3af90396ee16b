//! `psd lint`: find the trees and the configuration, run [`psd_lint`], print the findings in
//! the chosen format, map the result to an exit code (0 clean, 1 findings at or above
//! `--fail-on`, 2 usage or I/O error).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_lint::report::{self, Counts, Sources};
use psd_lint::{Config, Finding, Severity, Tree};

/// Arguments of `psd lint`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Configuration: .psd-lint.yaml at the repository root, else the `lint:` \
section of psd.yaml there (the repository root is found as psd render finds it: the nearest \
folder from the first PATH, or from here, up that holds psd.yaml, .sops.yaml or .git). \
Silence one rule on one object with the annotation `psd-lint/ignore: \"<rule-id>: <reason>\"`. \
See docs/LINT.md.

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 usage or I/O error \
(a path that cannot be read, an invalid configuration)."
)]
pub struct Args {
    /// Folders or files to lint. Paths inside a repository are linted in the context of its
    /// tree (its gitops/ if they are in there, else the whole repository), all of them at once,
    /// and only findings in the given paths are shown [default: the repository's gitops/, else
    /// the current folder].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format: human (rustc-like), json (an array of findings), sarif (SARIF 2.1.0, for
    /// GitHub code scanning), github (GitHub Actions annotations).
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json", "sarif", "github"])]
    format: String,
    /// The lowest severity that makes the run fail (exit 1) [default: fail_on of the
    /// configuration, else error].
    #[arg(long, value_name = "SEVERITY", value_parser = ["error", "warning", "info"])]
    fail_on: Option<String>,
    /// The configuration file (.psd-lint.yaml, or a psd.yaml with a `lint:` section) instead
    /// of the one at the repository root.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Decrypt SOPS-encrypted YAML files in memory (keys found as sops finds them:
    /// SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, keys.txt), verify their MACs, and
    /// lint what they hold. A file that does not decrypt is a sops/decrypt finding. Decrypted
    /// values are never printed.
    #[arg(long)]
    decrypt: bool,
    /// Validate objects against the JSON Schema found at this location (kubeconform's
    /// -schema-location: a local folder in yannh/kubernetes-json-schema's layout, or a path
    /// template such as `schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`).
    /// Repeat it to try several in order; replaces the configuration's locations.
    #[arg(long = "schema-location", value_name = "LOC")]
    schema_locations: Vec<String>,
    /// Validate HelmRelease values and HelmChartConfig valuesContent against
    /// DIR/CHART/VERSION/values.schema.json (or DIR/CHART/values.schema.json).
    #[arg(long, value_name = "DIR")]
    chart_schemas: Option<PathBuf>,
    /// kubeconform's -strict: `{{ .StrictSuffix }}` is `-strict`, choosing schemas that
    /// refuse unknown fields.
    #[arg(long)]
    strict: bool,
    /// The Kubernetes version for `{{ .NormalizedKubernetesVersion }}` (e.g. 1.35.0)
    /// [default: the configuration's, else master].
    #[arg(long, value_name = "VERSION")]
    kubernetes_version: Option<String>,
    /// List every rule (id, default severity, summary) and exit.
    #[arg(long)]
    list_rules: bool,
    // Colour: the global --color / --no-color (crate::ui).
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("psd lint: error: {message}");
    ExitCode::from(2)
}

/// Runs `psd lint`.
pub fn run(args: Args) -> ExitCode {
    let format = report::Format::parse(&args.format).unwrap_or(report::Format::Human);
    let start = match args.paths.first() {
        Some(p) if p.is_file() => p.parent().unwrap_or(Path::new(".")).to_path_buf(),
        Some(p) => p.clone(),
        None => PathBuf::from("."),
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let root = psd_render::find_repo_root(&start, home.as_deref()).map(|r| r.path);
    let known = psd_lint::rules::infos();
    let mut config = match load_config(args.config.as_deref(), root.as_deref(), &known) {
        Ok(c) => c,
        Err(message) => return fail(message),
    };
    if let Some(s) = args.fail_on.as_deref().and_then(Severity::parse) {
        config.fail_on = s;
    }
    if !args.schema_locations.is_empty() {
        config.schema.locations.clone_from(&args.schema_locations);
    }
    if let Some(dir) = &args.chart_schemas {
        config.schema.chart_schemas = Some(dir.clone());
    }
    if let Some(v) = &args.kubernetes_version {
        config.schema.kubernetes_version = Some(v.clone());
    }
    config.schema.strict |= args.strict;
    if let Err(message) = config.schema.check() {
        return fail(message);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.list_rules {
        let written = list_rules(&mut out, format, &known, &config).and_then(|()| out.flush());
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(format!("cannot write: {e}")),
        };
    }

    // What to lint: trees by folder, each with the paths (files or folders, relative to the
    // tree) whose findings are shown (None: all). Paths inside one repository are one tree,
    // so that references across folders resolve.
    let mut jobs: BTreeMap<PathBuf, Option<BTreeSet<String>>> = BTreeMap::new();
    let paths = if args.paths.is_empty() {
        let default = root
            .as_ref()
            .map(|r| r.join("gitops"))
            .filter(|g| g.is_dir())
            .unwrap_or_else(|| PathBuf::from("."));
        vec![default]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => return fail(format!("cannot read {}: {e}", p.display())),
        };
        let abs = match p.canonicalize() {
            Ok(a) => a,
            Err(e) => return fail(format!("cannot read {}: {e}", p.display())),
        };
        let dir = tree_of(&abs, meta.is_dir(), home.as_deref());
        let rel = relative(&abs, &dir);
        if rel.is_empty() {
            jobs.insert(dir, None);
        } else if let Some(only) = jobs.entry(dir).or_insert_with(|| Some(BTreeSet::new())) {
            only.insert(rel);
        }
    }
    let identities = if args.decrypt {
        let (ids, problems) = psd_sops::Identities::from_env();
        for p in problems {
            eprintln!("psd lint: note: key source {}: {}", p.source_name, p.reason);
        }
        crate::ui::keys_tried("lint", &ids);
        Some(ids)
    } else {
        None
    };

    let mut trees = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut yaml_files = 0;
    let mut queue: Vec<(PathBuf, Option<BTreeSet<String>>)> = jobs.into_iter().collect();
    while let Some((dir, only)) = queue.pop() {
        crate::ui::label_next("psd lint: reading");
        let read = Tree::from_dir_with_progress(&dir, &mut crate::ui::report);
        crate::ui::finish_report();
        let tree = match read {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        crate::verbose!(
            "psd lint: read {} file(s) under {}",
            tree.files.len(),
            dir.display()
        );
        let mut only = only;
        if let Some(paths) = &mut only {
            // A path the repository's walk leaves out (ignored by .gitignore) was still asked
            // for: it is linted on its own.
            paths.retain(|p| {
                let seen = tree.files.iter().any(|f| under(&f.path, p));
                if !seen {
                    queue.push((dir.join(p), None));
                }
                seen
            });
            if paths.is_empty() {
                continue;
            }
        }
        let shown = |file: &str| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|p| under(file, p)))
        };
        yaml_files += tree
            .files
            .iter()
            .filter(|f| f.is_yaml() && shown(&f.path))
            .count();
        let mut found = match &identities {
            Some(ids) => psd_lint::decrypt::decrypt(&tree, ids).lint(&config),
            None => psd_lint::lint(&tree, &config),
        };
        found.retain(|f| shown(&f.file));
        report::to_repo_relative(&tree, &mut found);
        findings.extend(found);
        trees.push(tree);
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut sources = Sources::default();
    for t in &trees {
        sources.add_repo_relative(t);
    }

    let written = match format {
        report::Format::Human => {
            let color = crate::ui::color_stdout();
            report::human::write(
                &mut out,
                &findings,
                &sources,
                report::human::Options {
                    color,
                    files: Some(yaml_files),
                },
            )
        }
        report::Format::Json => report::json::write(&mut out, &findings),
        report::Format::Sarif => report::sarif::write(&mut out, &findings, &known, &config),
        report::Format::Github => report::github::write(&mut out, &findings),
    }
    .and_then(|()| out.flush());
    if let Err(e) = written {
        return fail(format!("cannot write: {e}"));
    }
    if Counts::of(&findings).fails(config.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The tree a path belongs to: its repository's gitops/ if it is in there, else the
/// repository root, else the folder itself (a file: its own folder).
fn tree_of(path: &Path, is_dir: bool, home: Option<&Path>) -> PathBuf {
    let dir = if is_dir {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new("/")).to_path_buf()
    };
    match psd_render::find_repo_root(&dir, home) {
        Some(r) => {
            let root = r.path.canonicalize().unwrap_or(r.path);
            let gitops = root.join("gitops");
            if path.starts_with(&gitops) && gitops.is_dir() {
                gitops
            } else {
                root
            }
        }
        None => dir,
    }
}

/// `path` relative to `dir` with `/` separators (`""`: the same folder).
fn relative(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether tree-relative `file` is `path` or inside folder `path`.
fn under(file: &str, path: &str) -> bool {
    file.strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The configuration: `--config FILE`, else `.psd-lint.yaml` at the repository root, else the
/// `lint:` section of psd.yaml there, else the defaults.
fn load_config(
    explicit: Option<&Path>,
    root: Option<&Path>,
    known: &[&'static psd_lint::RuleInfo],
) -> Result<Config, String> {
    let file = match (explicit, root) {
        (Some(f), _) => Some(f.to_path_buf()),
        (None, Some(r)) => [".psd-lint.yaml", "psd.yaml"]
            .iter()
            .map(|n| r.join(n))
            .find(|p| p.is_file()),
        (None, None) => None,
    };
    let Some(file) = file else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let psd_yaml = file.file_name().is_some_and(|n| n == "psd.yaml");
    let mut config = Config::from_yaml(&file.display().to_string(), &text, psd_yaml, known)
        .map_err(|e| e.to_string())?;
    // Paths in the file are relative to the file.
    let base = file.parent().unwrap_or(Path::new("."));
    config.schema.relative_to(base);
    Ok(config)
}

fn list_rules(
    out: &mut impl std::io::Write,
    format: report::Format,
    known: &[&'static psd_lint::RuleInfo],
    config: &Config,
) -> std::io::Result<()> {
    let setting = |r: &psd_lint::RuleInfo| match config.setting(r) {
        psd_lint::RuleSetting::Off => "off",
        psd_lint::RuleSetting::Severity(s) => s.as_str(),
    };
    if format == report::Format::Json {
        let all: Vec<_> = known
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "severity": r.severity.as_str(),
                    "configured": setting(r),
                    "summary": r.summary,
                    "help": r.help,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &all)?;
        return writeln!(out);
    }
    let width = known.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in known {
        let configured = setting(r);
        let note = if configured == r.severity.as_str() {
            String::new()
        } else {
            format!(" (configured: {configured})")
        };
        writeln!(
            out,
            "{:<width$}  {:<7}  {}{note}",
            r.id,
            r.severity.as_str(),
            r.summary
        )?;
    }
    Ok(())
}
