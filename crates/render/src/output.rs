//! Running a render: configuration, recipients, secrets, the in-memory tree, and the comparison
//! with (and atomic update of) the tree on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::SecretString;
use psd_sops::keysource::Identities;

use crate::codec;
use crate::error::RenderError;
use crate::layout::{self, FileContent, FluxSystem};
use crate::{components, secrets};

/// The list of files psd wrote, inside the rendered tree. Only files on this list are ever
/// removed when they are no longer configured.
pub const FILE_LIST: &str = ".psd-files";

/// What a render does with the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write the tree (create the age key and `.sops.yaml` if needed).
    Write,
    /// Write nothing; report what differs (for CI).
    Check,
    /// Write nothing; list the files a render would write.
    DryRun,
}

/// Settings of one render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The repository root: `psd.yaml`, `.sops.yaml`, `age.key` and the tree live here.
    pub repo_root: PathBuf,
    /// The cluster description; `None`: `<repo_root>/psd.yaml` if it exists, else the
    /// embedded default.
    pub config_path: Option<PathBuf>,
    /// The Cloudflare API token, when the user supplied one.
    pub cloudflare_token: Option<SecretString>,
    /// Read private keys the way sops does (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY_CMD`, the default keys.txt). `<repo_root>/age.key` is always read.
    pub keys_from_env: bool,
    /// More age key files (keys.txt format) to read private keys from.
    pub identity_files: Vec<PathBuf>,
    /// Write, check or list.
    pub mode: Mode,
    /// Render even where that makes Flux delete data: over a tree of psd's first (Bitnami)
    /// stack, whose PostgreSQL and Redis volumes Flux would prune. Off by default.
    pub allow_destructive: bool,
}

impl RenderOptions {
    /// Defaults: config from `psd.yaml` or embedded, no token, keys from the environment.
    pub fn new(repo_root: impl Into<PathBuf>, mode: Mode) -> Self {
        Self {
            repo_root: repo_root.into(),
            config_path: None,
            cloudflare_token: None,
            keys_from_env: true,
            identity_files: Vec::new(),
            mode,
            allow_destructive: false,
        }
    }
}

/// What happened (or would happen) to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// New file.
    Created,
    /// Content changed.
    Updated,
    /// Same bytes as before (or an encrypted file whose decrypted content is the same).
    Unchanged,
    /// An encrypted file kept as it is without checking its content (no private key).
    Unchecked,
    /// A file psd wrote earlier that the configuration no longer asks for.
    Removed,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Unchecked => "unchecked",
            ChangeKind::Removed => "removed",
        })
    }
}

/// One file of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Path relative to the repository root.
    pub path: String,
    /// What happened.
    pub kind: ChangeKind,
}

/// The outcome of a render.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every file, in path order (removed ones included).
    pub changes: Vec<Change>,
    /// Things the user must act on (missing token, legacy images, …).
    pub warnings: Vec<String>,
    /// Things psd did besides the tree (created `age.key`, `.sops.yaml`, …).
    pub notes: Vec<String>,
}

impl Report {
    /// Whether the tree on disk differs from the rendered one.
    pub fn has_drift(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c.kind,
                ChangeKind::Created | ChangeKind::Updated | ChangeKind::Removed
            )
        })
    }

    /// Encrypted files that could not be checked.
    pub fn unchecked(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Unchecked)
            .map(|c| c.path.as_str())
    }
}

/// Loads the cluster description for `opts` and validates it.
///
/// # Errors
/// [`RenderError::ReadConfig`] or [`RenderError::Config`].
pub fn load_config(opts: &RenderOptions) -> Result<ClusterConfig, RenderError> {
    let default_path = opts.repo_root.join("psd.yaml");
    let path = match &opts.config_path {
        Some(p) => Some(p.clone()),
        None if default_path.exists() => Some(default_path),
        None => None,
    };
    let cfg = match path {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|source| RenderError::ReadConfig {
                path: p.clone(),
                source,
            })?;
            ClusterConfig::from_yaml_source(&text, &p.display().to_string())?
        }
        None => ClusterConfig::default(),
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Renders the tree for `opts`: see the crate documentation.
///
/// # Errors
/// Any [`RenderError`]; on error nothing has been written to the tree.
pub fn render(opts: &RenderOptions) -> Result<Report, RenderError> {
    let cfg = load_config(opts)?;
    let root = &opts.repo_root;
    let mut report = Report::default();
    let flux_system = flux_system(root, &cfg)?;
    let legacy = legacy_stack_files(root, &cfg);
    if !legacy.is_empty() {
        if !opts.allow_destructive {
            return Err(RenderError::LegacyStack { files: legacy });
        }
        report.warnings.push(format!(
            "replacing psd's Bitnami stack (--allow-destructive): once Flux applies this tree it \
             deletes the old PostgreSQL and Redis releases and their volumes. Dump the data \
             first (docs/MIGRATION-stack-v2.md): {}",
            legacy.join(", ")
        ));
    }
    let components = components::all(&cfg)?;

    // Private keys: sops' own lookup plus the repository's age.key.
    let mut identities = Identities::new();
    if opts.keys_from_env {
        let (ids, _errors) = Identities::from_env();
        identities.extend(ids);
    }
    let repo_key = root.join("age.key");
    for path in std::iter::once(&repo_key).chain(&opts.identity_files) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == &repo_key => continue,
            Err(e) => return Err(RenderError::io("cannot read", path, e)),
        };
        let parsed = Identities::parse_key_file(&text).map_err(|e| RenderError::SopsConfig {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        identities.extend(parsed);
    }

    let resolved = secrets::resolve(
        &cfg,
        &components,
        root,
        &identities,
        opts.cloudflare_token.as_ref(),
    )?;
    report.warnings.extend(resolved.warnings.iter().cloned());
    let planned = layout::plan(&cfg, &components, &resolved.contents, flux_system)?;

    let needs_encryption = planned.iter().any(|f| match &f.content {
        FileContent::Secret(secret) => {
            let mut tree = codec::secret_to_tree(secret);
            let same = unchanged_secret(&tree, resolved.existing.get(&f.path), None);
            codec::wipe(&mut tree);
            !same
        }
        _ => false,
    });

    // Recipients (only needed when something must be encrypted, or to create .sops.yaml).
    let recipients = recipients::resolve(root, &cfg, opts.mode, needs_encryption, &mut report)?;

    // Final bytes of every file, in memory.
    let mut files: BTreeMap<String, (Vec<u8>, bool)> = BTreeMap::new(); // path → (bytes, unchecked)
    for f in &planned {
        let bytes =
            match &f.content {
                FileContent::Plain(text) => (text.clone().into_bytes(), false),
                FileContent::KeepExisting => {
                    let e = resolved.existing.get(&f.path).ok_or_else(|| {
                        RenderError::ExistingSecret {
                            path: f.path.clone().into(),
                            reason: "vanished during the render".into(),
                        }
                    })?;
                    (e.bytes.clone(), true)
                }
                FileContent::Secret(secret) => {
                    let mut tree = codec::secret_to_tree(secret);
                    let existing = resolved.existing.get(&f.path);
                    let out = if unchanged_secret(&tree, existing, recipients.as_deref()) {
                        existing.map(|e| e.bytes.clone()).unwrap_or_default()
                    } else if opts.mode == Mode::Write {
                        let rs = recipients.as_deref().unwrap_or_default();
                        codec::encrypt(&tree, rs).map_err(|reason| RenderError::Encrypt {
                            path: f.path.clone().into(),
                            reason,
                        })?
                    } else {
                        // Check/dry-run never encrypt: any bytes different from disk mark the change.
                        b"# would be re-encrypted\n".to_vec()
                    };
                    codec::wipe(&mut tree);
                    (out, false)
                }
            };
        files.insert(f.path.clone(), bytes);
    }
    let list_path = format!("{}/{FILE_LIST}", cfg.flux.root);
    let mut list = String::from(
        "# Files written by `psd render`; psd removes a file listed here when it is no longer \
         configured.\n",
    );
    for p in files.keys() {
        list.push_str(p);
        list.push('\n');
    }
    files.insert(list_path.clone(), (list.into_bytes(), false));

    // Previously rendered files that are no longer configured.
    let previous = read_file_list(root, &list_path)?;
    let stale: Vec<String> = previous
        .into_iter()
        .filter(|p| !files.contains_key(p))
        .collect();
    for p in &stale {
        if !is_inside(p, &cfg.flux.root) {
            return Err(RenderError::UnsafePath(p.into()));
        }
    }

    // Compare with disk.
    let mut to_write = Vec::new();
    for (path, (bytes, unchecked)) in &files {
        let on_disk = match std::fs::read(root.join(path)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(RenderError::io("cannot read", root.join(path), e)),
        };
        let kind = match on_disk {
            None => ChangeKind::Created,
            Some(b) if &b == bytes => {
                if *unchecked {
                    ChangeKind::Unchecked
                } else {
                    ChangeKind::Unchanged
                }
            }
            Some(_) => ChangeKind::Updated,
        };
        if matches!(kind, ChangeKind::Created | ChangeKind::Updated) {
            to_write.push((path, bytes));
        }
        report.changes.push(Change {
            path: path.clone(),
            kind,
        });
    }
    for p in &stale {
        if root.join(p).exists() {
            report.changes.push(Change {
                path: p.clone(),
                kind: ChangeKind::Removed,
            });
        }
    }
    report.changes.sort_by(|a, b| a.path.cmp(&b.path));

    if opts.mode == Mode::Write {
        for (path, bytes) in to_write {
            write_atomic(&root.join(path), bytes)?;
        }
        for p in &stale {
            remove_file_and_empty_parents(root, p, &cfg.flux.root)?;
        }
    }
    let unchecked: Vec<&str> = report.unchecked().collect();
    if !unchecked.is_empty() {
        let list = unchecked.join(", ");
        report.warnings.push(format!(
            "no age private key opened these encrypted files, so they were kept as they are \
             without checking their content: {list} (set SOPS_AGE_KEY_FILE to check them)"
        ));
    }
    Ok(report)
}

/// Whether an existing file already holds exactly this Secret for these recipients.
fn unchanged_secret(
    tree: &psd_sops::tree::Tree,
    existing: Option<&secrets::Existing>,
    recipients: Option<&[String]>,
) -> bool {
    let Some(e) = existing else { return false };
    let Some(old) = &e.decrypted else {
        return false;
    };
    if old != tree {
        return false;
    }
    match recipients {
        None => true,
        Some(rs) => {
            let want: BTreeSet<&str> = rs.iter().map(String::as_str).collect();
            let have: BTreeSet<&str> = e.recipients.iter().map(String::as_str).collect();
            want == have
        }
    }
}

/// Whether the cluster entry folder lists `flux-system`: when the folder is there. Once the
/// entry `kustomization.yaml` lists it, it must stay listed: without it Flux would prune its own
/// components, so a render in a checkout that lacks the folder is refused.
fn flux_system(root: &Path, cfg: &ClusterConfig) -> Result<FluxSystem, RenderError> {
    let entry = root.join(layout::entry_dir(cfg));
    if entry.join("flux-system").is_dir() {
        return Ok(FluxSystem::Listed);
    }
    let path = entry.join("kustomization.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FluxSystem::Absent),
        Err(e) => return Err(RenderError::io("cannot read", path, e)),
    };
    let listed = serde_saphyr::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|doc| doc.get("resources").and_then(|r| r.as_array()).cloned())
        .is_some_and(|r| {
            r.iter()
                .any(|v| v.as_str().map(|s| s.trim_end_matches('/')) == Some("flux-system"))
        });
    if listed {
        return Err(RenderError::FluxSystemMissing {
            path: entry.join("flux-system"),
        });
    }
    Ok(FluxSystem::Absent)
}

/// Files only psd's first (Bitnami) stack wrote; their presence means Flux runs that stack.
fn legacy_stack_files(root: &Path, cfg: &ClusterConfig) -> Vec<String> {
    [
        "apps/postgresql/helmrelease.yaml",
        "apps/redis/helmrelease.yaml",
        "infrastructure/sources/kustomization.yaml",
    ]
    .iter()
    .map(|p| format!("{}/{p}", cfg.flux.root))
    .filter(|p| root.join(p).is_file())
    .collect()
}

fn is_inside(path: &str, tree_root: &str) -> bool {
    let p = Path::new(path);
    p.starts_with(tree_root)
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn read_file_list(root: &Path, list_path: &str) -> Result<Vec<String>, RenderError> {
    match std::fs::read_to_string(root.join(list_path)) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(RenderError::io("cannot read", root.join(list_path), e)),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RenderError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| RenderError::io("cannot create", dir, e))?;
    }
    let mut file = atomic_write_file::AtomicWriteFile::options()
        .open(path)
        .map_err(|e| RenderError::io("cannot write", path, e))?;
    file.write_all(bytes)
        .map_err(|e| RenderError::io("cannot write", path, e))?;
    file.commit()
        .map_err(|e| RenderError::io("cannot write", path, e))
}

fn remove_file_and_empty_parents(
    root: &Path,
    rel: &str,
    tree_root: &str,
) -> Result<(), RenderError> {
    let path = root.join(rel);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RenderError::io("cannot remove", path, e)),
    }
    let stop = root.join(tree_root);
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(&stop) {
            break;
        }
        // Only empty folders go; a folder with a user's file stays.
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

mod recipients {
    //! Who the Secrets are encrypted to: `.sops.yaml`, else the config, else a new `age.key`.

    use std::path::Path;

    use psd_model::AgeKeyPair;
    use psd_model::cluster::ClusterConfig;
    use serde_json::json;

    use super::{Mode, Report, write_atomic};
    use crate::error::RenderError;
    use crate::yaml;

    /// The `.sops.yaml` psd writes for `recipients`.
    pub(crate) fn sops_yaml(recipients: &[String]) -> Result<String, RenderError> {
        let doc = json!({
            "creation_rules": [{
                "path_regex": "\\.enc\\.yaml$",
                "encrypted_regex": "^(data|stringData)$",
                "age": recipients.join(","),
            }],
        });
        yaml::to_yaml(&doc)
    }

    /// The age recipients of the `.sops.yaml` creation rule that sops would use for a
    /// rendered Secret (`gitops/….enc.yaml` under the config's directory).
    pub(crate) fn from_sops_yaml(path: &Path, text: &str) -> Result<Vec<String>, RenderError> {
        let bad = |reason: String| RenderError::SopsConfig {
            path: path.to_owned(),
            reason,
        };
        let config = psd_sops::config::SopsConfig::parse(path, text.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let probe = std::path::absolute(dir)
            .unwrap_or_else(|_| dir.to_owned())
            .join("gitops/secret.enc.yaml");
        let rule = config.rule_for(&probe).map_err(|e| bad(e.to_string()))?;
        match rule.age_recipients().as_slice() {
            [group] if !group.is_empty() => Ok(group.clone()),
            [] | [_] => Err(bad(
                "the creation rule for *.enc.yaml has no age recipients".into(),
            )),
            _ => Err(bad(
                "the creation rule for *.enc.yaml has several key groups (Shamir); psd render \
                 encrypts to one group: list the recipients in one `age` field"
                    .into(),
            )),
        }
    }

    /// Finds (or in write mode creates) the recipients. `None` in check/dry-run mode when none
    /// exist yet.
    pub(crate) fn resolve(
        root: &Path,
        cfg: &ClusterConfig,
        mode: Mode,
        needs_encryption: bool,
        report: &mut Report,
    ) -> Result<Option<Vec<String>>, RenderError> {
        let sops_path = root.join(".sops.yaml");
        match std::fs::read_to_string(&sops_path) {
            Ok(text) => return from_sops_yaml(&sops_path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RenderError::io("cannot read", sops_path, e)),
        }
        if !cfg.sops.age_recipients.is_empty() {
            let rs = cfg.sops.age_recipients.clone();
            if mode == Mode::Write {
                write_atomic(&sops_path, sops_yaml(&rs)?.as_bytes())?;
                report
                    .notes
                    .push("wrote .sops.yaml for the recipients in psd.yaml".into());
            }
            return Ok(Some(rs));
        }
        if mode != Mode::Write || !needs_encryption {
            return Ok(None);
        }
        let key_path = root.join("age.key");
        if key_path.exists() {
            return Err(RenderError::NoRecipients(
                "age.key exists but there is no .sops.yaml: create one for its recipient \
                 (psd keygen -y age.key) or delete age.key"
                    .into(),
            ));
        }
        let pair = AgeKeyPair::generate();
        psd_model::write_key_file(&key_path, std::slice::from_ref(&pair)).map_err(|e| {
            RenderError::NoRecipients(format!("cannot create {}: {e}", key_path.display()))
        })?;
        add_to_gitignore(root, "age.key")?;
        let rs = vec![pair.recipient().to_string()];
        write_atomic(&sops_path, sops_yaml(&rs)?.as_bytes())?;
        report.notes.push(format!(
            "created age.key (mode 0600, added to .gitignore; back it up, it is the only key \
             that decrypts the Secrets) and .sops.yaml for its recipient {}. Give Flux the key: \
             kubectl create secret generic sops-age --namespace=flux-system \
             --from-file=age.agekey=age.key",
            rs[0]
        ));
        Ok(Some(rs))
    }

    fn add_to_gitignore(root: &Path, entry: &str) -> Result<(), RenderError> {
        let path = root.join(".gitignore");
        let mut text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(RenderError::io("cannot read", path, e)),
        };
        if text.lines().any(|l| {
            let l = l.trim();
            l == entry || l == format!("/{entry}")
        }) {
            return Ok(());
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("/{entry}\n"));
        write_atomic(&path, text.as_bytes())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const A: &str = "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406";
        const B: &str = "age1s283pahn2yhszjxvx7qzl0aflq8zygm58rw0d87q6yjv7yrdl3zsc0ht2j";

        fn read(text: &str) -> Result<Vec<String>, String> {
            from_sops_yaml(Path::new("/repo/.sops.yaml"), text).map_err(|e| e.to_string())
        }

        #[test]
        fn recipients_of_the_rule_sops_would_use() {
            // What psd writes reads back.
            let written = sops_yaml(&[A.to_owned(), B.to_owned()]).unwrap();
            assert_eq!(read(&written).unwrap(), [A, B]);
            // First matching rule, relative to the config's directory; a YAML list works.
            let text = format!(
                "creation_rules:\n  - path_regex: ^apps/\n    age: {B}\n  - path_regex: ^gitops/\n    age: [{A}]\n"
            );
            assert_eq!(read(&text).unwrap(), [A]);
            // No rule for the Secrets, no age key, several groups, not YAML: each says so.
            let e = read(&format!(
                "creation_rules:\n  - path_regex: ^apps/\n    age: {A}\n"
            ));
            assert!(e.unwrap_err().contains("no matching creation rules"));
            let e = read("creation_rules:\n  - pgp: ABCD\n").unwrap_err();
            assert!(e.contains("age"), "{e}");
            let groups = format!(
                "creation_rules:\n  - key_groups:\n      - age: [{A}]\n      - age: [{B}]\n"
            );
            assert!(read(&groups).unwrap_err().contains("several key groups"));
            assert!(read("creation_rules: [").is_err());
        }
    }
}

/// The `.sops.yaml` psd writes for `recipients` (`path_regex: \.enc\.yaml$`,
/// `encrypted_regex: ^(data|stringData)$`).
///
/// # Errors
/// [`RenderError::Yaml`] if emitting fails.
pub fn sops_yaml(recipients: &[String]) -> Result<String, RenderError> {
    recipients::sops_yaml(recipients)
}
