//! `psd doctor`: one report on a cluster repository (and, with `--cluster`, on the cluster
//! through `kubectl`), every check passed or failed with its fix; exit 1 if any failed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use psd_model::cluster::ClusterConfig;
use psd_render::bootstrap::{self, HeldKey};
use psd_render::{KeyEnv, Mode, RenderOptions};

use crate::bootstrap::{
    git_output, install_hint, on_path, repo_root, unreachable, unreachable_fix,
};

/// Arguments of `psd doctor`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks, in order: .sops.yaml and the recipients of its rule for the \
Secrets; an age private key found where sops looks, in sops' order (SOPS_AGE_KEY, \
SOPS_AGE_KEY_FILE, the output of SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt); the key file private (no group or other permissions) and not \
tracked by git; the key's recipient in .sops.yaml; .sops.yaml consistent with psd.yaml \
(sops.age_recipients); every *.enc.yaml decrypts with its MAC verified; `psd render --check` \
finds no drift; `psd lint` is clean; `kubectl kustomize` builds the entry folder and every \
Flux Kustomization's path; the Cloudflare token's Secret is there; flux-system/ is there once \
Flux is bootstrapped. With --cluster, through kubectl's current context: the cluster answers, \
Flux is installed, the Secret flux-system/sops-age holds a key of .sops.yaml, and every Flux \
Kustomization is Ready (else its message). A check that cannot run because an earlier one \
failed is skipped and says why. Nothing secret is printed.

Examples:
  psd doctor
  psd doctor --cluster
  psd doctor --root ../cluster

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 2 usage error."
)]
pub struct Args {
    /// Repository root [default: the nearest folder from here up that holds psd.yaml,
    /// .sops.yaml or .git].
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The cluster description [default: psd.yaml in the repository root, else the default].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also check the cluster of kubectl's current context.
    #[arg(long)]
    cluster: bool,
}

/// One line of the report.
enum Outcome {
    Pass(String),
    Fail { what: String, fix: String },
    Skip(String),
}

#[derive(Default)]
struct Report {
    lines: Vec<(&'static str, Outcome)>,
}

impl Report {
    fn pass(&mut self, check: &'static str, detail: impl Into<String>) {
        self.lines.push((check, Outcome::Pass(detail.into())));
    }
    fn fail(&mut self, check: &'static str, what: impl Into<String>, fix: impl Into<String>) {
        self.lines.push((
            check,
            Outcome::Fail {
                what: what.into(),
                fix: fix.into(),
            },
        ));
    }
    fn skip(&mut self, check: &'static str, why: impl Into<String>) {
        self.lines.push((check, Outcome::Skip(why.into())));
    }
    fn failed(&self) -> usize {
        self.lines
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Fail { .. }))
            .count()
    }
    fn print(&self) {
        for (check, o) in &self.lines {
            match o {
                Outcome::Pass(d) => println!("ok    {check}: {d}"),
                Outcome::Skip(d) => println!("skip  {check}: {d}"),
                Outcome::Fail { what, fix } => {
                    // One line per check: a multi-line cause is joined.
                    let what: Vec<&str> = what.lines().map(str::trim).collect();
                    println!("FAIL  {check}: {}", what.join("; "));
                    println!("      fix: {fix}");
                }
            }
        }
    }
}

/// Runs `psd doctor`.
pub fn run(args: Args) -> ExitCode {
    let root = repo_root(args.root.clone());
    let mut r = Report::default();
    let mut ropts = RenderOptions::new(root.clone(), Mode::Check);
    ropts.config_path.clone_from(&args.config);
    let cfg = match psd_render::load_config(&ropts) {
        Ok(c) => {
            if args.config.is_none() && !root.join("psd.yaml").exists() {
                r.fail(
                    "psd.yaml",
                    format!(
                        "no psd.yaml in {}: psd uses its embedded default cluster (domain {})",
                        root.display(),
                        c.domain
                    ),
                    "run `psd init --domain <your domain> --email <you@your domain>` in the \
                     repository's root",
                );
            } else {
                r.pass("psd.yaml", "the cluster description is valid");
            }
            Some(c)
        }
        Err(e) => {
            r.fail(
                "psd.yaml",
                e.to_string(),
                "correct the value named (`psd config schema` lists every key)",
            );
            None
        }
    };
    let default_cfg = ClusterConfig::default();
    let cfgr = cfg.as_ref().unwrap_or(&default_cfg);
    let recipients = check_keys(&mut r, &root, cfgr);
    check_decrypt(&mut r, &root, recipients.is_some());
    if !root.join(&cfgr.flux.root).is_dir() {
        r.fail(
            "render --check",
            format!("{} is not rendered yet", cfgr.flux.root),
            "`psd render --cloudflare-token-file -` (paste the Cloudflare API token, then Ctrl-D)",
        );
    } else if cfg.is_some() {
        check_render(&mut r, &ropts);
    } else {
        r.skip("render --check", "psd.yaml is not valid");
    }
    check_lint(&mut r, &root, cfgr);
    check_kustomize(&mut r, &root, cfgr);
    let token = Path::new(&cfgr.flux.root).join(bootstrap::CLOUDFLARE_SECRET_FILE);
    if root.join(&token).is_file() {
        r.pass("Cloudflare token", format!("{} is there", token.display()));
    } else {
        r.fail(
            "Cloudflare token",
            format!(
                "{} is missing: cert-manager cannot get certificates",
                token.display()
            ),
            "create a Cloudflare API token (Zone DNS Edit + Zone Read) and run `psd render \
             --cloudflare-token-file -` (paste it, then Ctrl-D)",
        );
    }
    let flux_dir = Path::new(&bootstrap::flux_path(cfgr)).join("flux-system");
    let bootstrapped = root.join(&flux_dir).is_dir();
    let flux_in_cluster = if args.cluster {
        check_cluster(&mut r, recipients.as_deref())
    } else {
        None
    };
    if bootstrapped {
        r.pass("flux-system", format!("{} is there", flux_dir.display()));
    } else if flux_in_cluster == Some(true) {
        r.fail(
            "flux-system",
            format!(
                "Flux runs in the cluster but {} is not in this checkout",
                flux_dir.display()
            ),
            "`git pull` (flux bootstrap pushed it), then `psd render` and push",
        );
    } else {
        r.skip(
            "flux-system",
            format!(
                "{} is not there: Flux is not bootstrapped yet (next step: `psd bootstrap`)",
                flux_dir.display()
            ),
        );
    }
    r.print();
    let failed = r.failed();
    if failed == 0 {
        eprintln!("psd doctor: every check passed");
        ExitCode::SUCCESS
    } else {
        eprintln!("psd doctor: {failed} check(s) failed");
        ExitCode::from(1)
    }
}

/// The key checks; the recipients of `.sops.yaml` when it is usable.
fn check_keys(r: &mut Report, root: &Path, cfg: &ClusterConfig) -> Option<Vec<String>> {
    let recipients = match bootstrap::sops_recipients(root, &cfg.flux.root) {
        Ok(rs) => {
            r.pass(".sops.yaml", format!("encrypts to {}", rs.join(", ")));
            Some(rs)
        }
        Err(e) => {
            let fix = match e {
                bootstrap::SetupError::MissingSopsYaml { .. } => {
                    "`psd init` (a new repository) or `psd render` (creates the key and \
                     .sops.yaml)"
                }
                _ => {
                    "give .sops.yaml a creation rule with `path_regex: \\.enc\\.yaml$` and \
                      an `age:` list (psd render writes one when the file is absent)"
                }
            };
            r.fail(".sops.yaml", e.to_string(), fix);
            None
        }
    };
    let (held, looked, errors) = bootstrap::held_keys(&KeyEnv::process());
    for e in &errors {
        r.fail(
            "key source",
            e.to_string(),
            "fix or unset the variable named (SOPS_AGE_KEY_FILE must name an age key file; \
             SOPS_AGE_KEY_CMD must name a command that prints one and exits 0)",
        );
    }
    if held.is_empty() {
        r.fail(
            "key found",
            format!("no age private key (looked in: {})", looked.join(", ")),
            "set SOPS_AGE_KEY_FILE to the file with this repository's key (restore it from \
             your backup), or ask a teammate to add your recipient (`psd keygen`)",
        );
    } else {
        let sources: BTreeSet<&str> = held.iter().map(|k| k.source.as_str()).collect();
        r.pass(
            "key found",
            format!(
                "{} key(s) in {}",
                held.len(),
                sources.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    check_key_files(r, root, &held);
    match (&recipients, held.is_empty()) {
        (Some(rs), false) => {
            if let Some(k) = held
                .iter()
                .find(|k| rs.iter().any(|x| x == k.pair.recipient().as_str()))
            {
                r.pass(
                    "recipient in .sops.yaml",
                    format!("{} (key from {})", k.pair.recipient(), k.source),
                );
            } else {
                let found: Vec<String> = held
                    .iter()
                    .map(|k| k.pair.recipient().to_string())
                    .collect();
                r.fail(
                    "recipient in .sops.yaml",
                    format!(
                        "wrong key: the keys found are for {}, .sops.yaml encrypts to {}",
                        found.join(", "),
                        rs.join(", ")
                    ),
                    "set SOPS_AGE_KEY_FILE to the file holding the key of a recipient of \
                     .sops.yaml; or add your recipient to .sops.yaml and have someone with a \
                     key run `psd render` (and `psd updatekeys` for files psd does not render)",
                );
            }
        }
        _ => r.skip("recipient in .sops.yaml", "needs .sops.yaml and a key"),
    }
    if let Some(rs) = &recipients {
        let in_cfg: BTreeSet<&str> = cfg.sops.age_recipients.iter().map(String::as_str).collect();
        let in_rule: BTreeSet<&str> = rs.iter().map(String::as_str).collect();
        if in_cfg.is_empty() || in_cfg == in_rule {
            r.pass(
                ".sops.yaml and psd.yaml agree",
                if in_cfg.is_empty() {
                    "psd.yaml lists no sops.age_recipients (.sops.yaml decides)"
                } else {
                    "sops.age_recipients is the same set"
                },
            );
        } else {
            r.fail(
                ".sops.yaml and psd.yaml agree",
                format!(
                    "psd.yaml's sops.age_recipients ({}) differ from .sops.yaml's ({})",
                    cfg.sops.age_recipients.join(", "),
                    rs.join(", ")
                ),
                "make them the same set, or remove sops.age_recipients from psd.yaml \
                 (.sops.yaml is the source of truth)",
            );
        }
    } else {
        r.skip(".sops.yaml and psd.yaml agree", "needs .sops.yaml");
    }
    recipients
}

/// Each key file: private, and not tracked (or trackable) by git.
fn check_key_files(r: &mut Report, root: &Path, held: &[HeldKey]) {
    use std::os::unix::fs::PermissionsExt as _;
    let files: BTreeSet<&Path> = held.iter().filter_map(|k| k.file.as_deref()).collect();
    if files.is_empty() {
        r.skip(
            "key private",
            "no key file (keys from SOPS_AGE_KEY or SOPS_AGE_KEY_CMD only)",
        );
        return;
    }
    let root_abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    for file in files {
        let shown = file.display();
        match std::fs::metadata(file) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => r.fail(
                "key private",
                format!(
                    "{shown} can be read by others (mode {:o})",
                    m.permissions().mode() & 0o777
                ),
                format!("chmod 600 {shown}"),
            ),
            Ok(_) => r.pass("key private", format!("{shown} is mode 0600 or stricter")),
            Err(e) => r.fail(
                "key private",
                format!("cannot read {shown}: {e}"),
                "check the path",
            ),
        }
        let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
        let Ok(rel) = abs.strip_prefix(&root_abs) else {
            r.pass(
                "key not in git",
                format!("{shown} is outside the repository"),
            );
            continue;
        };
        let rel = rel.display().to_string();
        if git_output(&root_abs, &["ls-files", "--", &rel]).is_some() {
            r.fail(
                "key not in git",
                format!("{shown} is tracked by git: anyone with a clone can decrypt the Secrets"),
                format!(
                    "treat the key as public: make a new key, put its recipient in .sops.yaml, \
                     `psd render`, update the cluster's sops-age Secret (`psd bootstrap \
                     --apply`), then `git rm --cached {rel}` and move the key out of the \
                     repository"
                ),
            );
        } else if Command::new("git")
            .arg("-C")
            .arg(&root_abs)
            .args(["check-ignore", "-q", "--", &rel])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.code() == Some(1))
        {
            r.fail(
                "key not in git",
                format!(
                    "{shown} is inside the repository and not ignored: `git add .` would commit it"
                ),
                format!(
                    "move it out (e.g. cat {rel} >> ~/.config/sops/age/keys.txt && rm {rel}), \
                     or add /{rel} to .gitignore"
                ),
            );
        } else {
            r.pass("key not in git", format!("{shown} is not tracked"));
        }
    }
}

/// The `*.enc.yaml` files under `dir`, skipping hidden folders and `target`.
fn enc_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            if !name.starts_with('.') && name != "target" {
                enc_files(&e.path(), out);
            }
        } else if t.is_file() && name.ends_with(".enc.yaml") {
            out.push(e.path());
        }
    }
}

fn check_decrypt(r: &mut Report, root: &Path, have_rules: bool) {
    const CHECK: &str = "Secrets decrypt";
    let mut files = Vec::new();
    enc_files(root, &mut files);
    if files.is_empty() {
        r.skip(CHECK, "no *.enc.yaml files yet (`psd render` writes them)");
        return;
    }
    let env = KeyEnv::process();
    let (ids, _) = psd_sops::Identities::from_lookup(|n| env.var(n));
    if ids.is_empty() {
        r.skip(CHECK, "no age private key (see `key found`)");
        return;
    }
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let result = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                psd_sops::decrypt_tree(
                    &bytes,
                    psd_sops::Format::Yaml,
                    &ids,
                    &psd_sops::DecryptOptions::default(),
                )
                .map(drop)
                .map_err(|e| e.to_string())
            });
        if let Err(e) = result {
            bad.push(format!("{rel}: {}", e.lines().next().unwrap_or("")));
        }
    }
    if bad.is_empty() {
        r.pass(CHECK, format!("{} file(s), MACs verified", files.len()));
    } else {
        let fix = if have_rules {
            "a file no key opens was encrypted to other recipients: set SOPS_AGE_KEY_FILE to a \
             key of its recipients (`psd filestatus`/the file's sops.age list names them); a MAC \
             mismatch means the file was edited by hand: restore it from git, or re-create it \
             with `psd edit`"
        } else {
            "fix .sops.yaml first (see above)"
        };
        r.fail(
            CHECK,
            format!(
                "{} of {} file(s) do not: {}",
                bad.len(),
                files.len(),
                bad.join("; ")
            ),
            fix,
        );
    }
}

fn check_render(r: &mut Report, opts: &RenderOptions) {
    const CHECK: &str = "render --check";
    match psd_render::render(opts) {
        Ok(report) if report.has_drift() => {
            let files: Vec<&str> = report
                .changes
                .iter()
                .filter(|c| {
                    matches!(
                        c.kind,
                        psd_render::ChangeKind::Created
                            | psd_render::ChangeKind::Updated
                            | psd_render::ChangeKind::Removed
                            | psd_render::ChangeKind::Outdated
                    )
                })
                .map(|c| c.path.as_str())
                .collect();
            r.fail(
                CHECK,
                format!(
                    "{} file(s) differ from a render: {}",
                    files.len(),
                    shorten(&files)
                ),
                "run `psd render` (with the age key) and commit",
            );
        }
        Ok(report) => {
            let unchecked = report.unchecked().count();
            if unchecked == 0 {
                r.pass(CHECK, format!("no drift ({} files)", report.changes.len()));
            } else {
                r.pass(
                    CHECK,
                    format!(
                        "no drift in what could be checked; {unchecked} encrypted file(s) no \
                         key opens"
                    ),
                );
            }
        }
        Err(e) => r.fail(
            CHECK,
            e.to_string(),
            "fix what the message names, then `psd render`",
        ),
    }
}

fn shorten(items: &[&str]) -> String {
    if items.len() <= 5 {
        items.join(", ")
    } else {
        format!("{}, … ({} more)", items[..5].join(", "), items.len() - 5)
    }
}

fn check_lint(r: &mut Report, root: &Path, cfg: &ClusterConfig) {
    const CHECK: &str = "lint";
    let tree = root.join(&cfg.flux.root);
    if !tree.is_dir() {
        r.skip(
            CHECK,
            format!("{} does not exist yet (`psd render`)", tree.display()),
        );
        return;
    }
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("psd"));
    let out = Command::new(me)
        .arg("lint")
        .arg(&tree)
        .current_dir(root)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => r.pass(CHECK, format!("{} is clean", cfg.flux.root)),
        Ok(o) if o.status.code() == Some(1) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned();
            r.fail(
                CHECK,
                format!("findings in {} (first: {first})", cfg.flux.root),
                format!(
                    "run `psd lint {}` for every finding and its help",
                    cfg.flux.root
                ),
            );
        }
        Ok(o) => r.fail(
            CHECK,
            String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            "fix the configuration named (.psd-lint.yaml or psd.yaml `lint:`)",
        ),
        Err(e) => r.fail(CHECK, format!("cannot run psd lint: {e}"), "reinstall psd"),
    }
}

/// The entry folder and every Flux Kustomization's path, relative to the root.
fn flux_paths(root: &Path, cfg: &ClusterConfig) -> Result<BTreeSet<String>, String> {
    let mut paths = BTreeSet::from([bootstrap::flux_path(cfg)]);
    let tree_dir = root.join(&cfg.flux.root);
    let tree = psd_lint::Tree::from_dir(&tree_dir).map_err(|e| e.to_string())?;
    let index = psd_lint::index(&tree);
    for k in &index.flux {
        if let Some(p) = &k.path_written {
            let p = p.trim_start_matches("./").trim_end_matches('/');
            if !p.is_empty() && p != "." {
                paths.insert(p.to_owned());
            }
        }
    }
    Ok(paths)
}

fn check_kustomize(r: &mut Report, root: &Path, cfg: &ClusterConfig) {
    const CHECK: &str = "kubectl kustomize";
    if !root.join(&cfg.flux.root).is_dir() {
        r.skip(
            CHECK,
            format!("{} does not exist yet (`psd render`)", cfg.flux.root),
        );
        return;
    }
    if !on_path("kubectl") {
        r.fail(
            CHECK,
            "kubectl is not installed (not on PATH)",
            install_hint("kubectl"),
        );
        return;
    }
    let paths = match flux_paths(root, cfg) {
        Ok(p) => p,
        Err(e) => {
            r.fail(
                CHECK,
                format!("cannot read {}: {e}", cfg.flux.root),
                "check the folder",
            );
            return;
        }
    };
    let mut bad = Vec::new();
    for p in &paths {
        let dir = root.join(p);
        if !dir.is_dir() {
            bad.push(format!("{p}: the folder does not exist"));
            continue;
        }
        match Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => bad.push(format!(
                "{p}: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("failed")
            )),
            Err(e) => bad.push(format!("{p}: cannot run kubectl: {e}")),
        }
    }
    if bad.is_empty() {
        r.pass(CHECK, format!("{} Flux path(s) build", paths.len()));
    } else {
        r.fail(
            CHECK,
            bad.join("; "),
            "fix the kustomization.yaml named (a file it lists is missing, or a folder a Flux \
             Kustomization's spec.path names); `psd render` restores the files psd owns",
        );
    }
}

/// Runs `kubectl args…`; stdout on success, stderr on failure.
fn kubectl(args: &[&str]) -> Result<String, String> {
    match Command::new("kubectl")
        .args(args)
        .arg("--request-timeout=15s")
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_owned()),
        Err(e) => Err(format!("cannot run kubectl: {e}")),
    }
}

/// The `--cluster` checks; whether Flux is installed (`None`: unknown).
fn check_cluster(r: &mut Report, recipients: Option<&[String]>) -> Option<bool> {
    if !on_path("kubectl") {
        r.fail(
            "cluster",
            "kubectl is not installed (not on PATH)",
            install_hint("kubectl"),
        );
        return None;
    }
    match kubectl(&["version", "-o", "json"]) {
        Ok(out) => {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let server = v["serverVersion"]["gitVersion"].as_str().unwrap_or("?");
            r.pass("cluster", format!("reachable, Kubernetes {server}"));
        }
        Err(e) => {
            let what = if unreachable(&e) {
                unreachable_fix()
            } else {
                format!("kubectl version failed: {}", e.lines().next().unwrap_or(""))
            };
            r.fail(
                "cluster",
                what,
                "`kubectl get nodes` must work before psd can check the cluster",
            );
            for c in ["Flux installed", "sops-age Secret", "Kustomizations Ready"] {
                r.skip(c, "the cluster cannot be reached");
            }
            return None;
        }
    }
    let installed = kubectl(&[
        "get",
        "crd",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "-o",
        "name",
    ]);
    let flux = match installed {
        Ok(_) => {
            r.pass("Flux installed", "the Kustomization CRD is there");
            true
        }
        Err(e) if e.contains("NotFound") || e.contains("not found") => {
            r.fail(
                "Flux installed",
                "Flux is not installed in the cluster",
                "`psd bootstrap` prints the steps (flux bootstrap …)",
            );
            false
        }
        Err(e) => {
            r.fail(
                "Flux installed",
                e,
                "check kubectl's permissions (cluster-admin is needed)",
            );
            false
        }
    };
    match kubectl(&[
        "get",
        "secret",
        "sops-age",
        "--namespace=flux-system",
        "-o",
        "jsonpath={.data.age\\.agekey}",
    ]) {
        Ok(value) if value.trim().is_empty() => r.fail(
            "sops-age Secret",
            "flux-system/sops-age has no key age.agekey",
            "`psd bootstrap --apply` (replaces it with the right key)",
        ),
        Ok(value) => match bootstrap::recipients_of_secret_data(&value) {
            Ok(rs) => match recipients {
                Some(wanted) if !rs.iter().any(|x| wanted.contains(x)) => r.fail(
                    "sops-age Secret",
                    format!(
                        "flux-system/sops-age holds the key of {}, but .sops.yaml encrypts to \
                         {}: Flux cannot decrypt",
                        rs.join(", "),
                        wanted.join(", ")
                    ),
                    "`psd bootstrap --apply` with this repository's key",
                ),
                _ => r.pass(
                    "sops-age Secret",
                    format!("flux-system/sops-age holds the key of {}", rs.join(", ")),
                ),
            },
            Err(e) => r.fail("sops-age Secret", e.to_string(), "`psd bootstrap --apply`"),
        },
        Err(e) if e.contains("NotFound") || e.contains("not found") => r.fail(
            "sops-age Secret",
            "flux-system/sops-age is not in the cluster: Flux cannot decrypt the Secrets",
            "`psd bootstrap --apply`",
        ),
        Err(e) => r.fail("sops-age Secret", e, "check kubectl's permissions"),
    }
    if !flux {
        r.skip("Kustomizations Ready", "Flux is not installed");
        return Some(false);
    }
    match kubectl(&[
        "get",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "--all-namespaces",
        "-o",
        "json",
    ]) {
        Ok(out) => {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let mut bad = Vec::new();
            for k in &items {
                let name = format!(
                    "{}/{}",
                    k["metadata"]["namespace"].as_str().unwrap_or(""),
                    k["metadata"]["name"].as_str().unwrap_or("?")
                );
                let ready = k["status"]["conditions"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
                match ready {
                    Some(c) if c["status"] == "True" => {}
                    Some(c) => bad.push(format!(
                        "{name}: {} ({})",
                        c["message"].as_str().unwrap_or(""),
                        c["reason"].as_str().unwrap_or("")
                    )),
                    None => bad.push(format!("{name}: not reconciled yet")),
                }
            }
            if items.is_empty() {
                r.fail(
                    "Kustomizations Ready",
                    "no Flux Kustomization in the cluster",
                    "finish `flux bootstrap` (psd bootstrap prints it)",
                );
            } else if bad.is_empty() {
                r.pass("Kustomizations Ready", format!("{} Ready", items.len()));
            } else {
                r.fail(
                    "Kustomizations Ready",
                    format!(
                        "{} of {} not Ready: {}",
                        bad.len(),
                        items.len(),
                        bad.join("; ")
                    ),
                    "fix what the message says (docs/SECRETS_MANAGEMENT.md lists decryption \
                     errors), push, then `flux reconcile kustomization flux-system --with-source`",
                );
            }
        }
        Err(e) => r.fail("Kustomizations Ready", e, "check kubectl's permissions"),
    }
    Some(flux)
}
