//! Running a render: configuration, recipients, secrets, the in-memory tree, and the comparison
//! with (and atomic update of) the tree on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::SecretString;

use crate::codec;
use crate::error::RenderError;
use crate::file_list::{FILE_LIST, read_file_list};
use crate::keys;
use crate::layout::{self, FileContent, FluxSystem};
use crate::write::{remove_file_and_empty_parents, write_atomic};
use crate::{components, secrets};

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

    let identities = keys::identities(opts)?;

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
    let recipients = keys::resolve(root, &cfg, opts.mode, needs_encryption, &mut report)?;

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

/// The `.sops.yaml` psd writes for `recipients` (`path_regex: \.enc\.yaml$`,
/// `encrypted_regex: ^(data|stringData)$`).
///
/// # Errors
/// [`RenderError::Yaml`] if emitting fails.
pub fn sops_yaml(recipients: &[String]) -> Result<String, RenderError> {
    keys::sops_yaml(recipients)
}
