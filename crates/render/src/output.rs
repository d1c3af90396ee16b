//! Running a render: configuration, recipients, secrets, the in-memory tree, and the comparison
//! with (and atomic update of) the tree on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use psd_model::cluster::{ClusterConfig, ClusterError};
use psd_model::secrecy::SecretString;

use crate::codec;
use crate::error::{RenderError, RotateError};
use crate::file_list::{self, FILE_LIST, Ownership, read_record};
use crate::guard::{self, ConfigSource};
use crate::keyless;
use crate::keys::{self, KeyEnv};
use crate::layout::{self, FileContent, FluxSystem};
use crate::lint_gate;
use crate::write::{
    lock_repo, refuse_symlinks, remove_file_and_empty_parents, remove_leftover_temporaries,
    write_all,
};
use crate::{components, secrets};

/// What a render does with the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write the tree (create the age key in the user's key file and `.sops.yaml` if needed).
    Write,
    /// Write nothing; report what differs (for CI).
    Check,
    /// Write nothing; list the files a render would write.
    DryRun,
}

/// Settings of one render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The repository root: `psd.yaml`, `.sops.yaml` and the tree live here (and `age.key` in
    /// repositories rendered by psd before keys moved to the user's key file).
    pub repo_root: PathBuf,
    /// The cluster description; `None`: `<repo_root>/psd.yaml` if it exists, else the
    /// embedded default.
    pub config_path: Option<PathBuf>,
    /// The Cloudflare API token, when the user supplied one.
    pub cloudflare_token: Option<SecretString>,
    /// Read private keys the way sops does (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY_CMD`, the default keys.txt), in [`RenderOptions::key_env`]. A legacy
    /// `<repo_root>/age.key` is always read.
    pub keys_from_env: bool,
    /// More age key files (keys.txt format) to read private keys from.
    pub identity_files: Vec<PathBuf>,
    /// The environment keys are found with (sops' variables, `HOME`, `XDG_CONFIG_HOME`): where
    /// private keys are read from when `keys_from_env`, and where a first render creates the
    /// repository's key. Default: the process environment.
    pub key_env: KeyEnv,
    /// Write, check or list.
    pub mode: Mode,
    /// Render even where that makes Flux delete data: over a tree of psd's first (Bitnami)
    /// stack, after renaming a bootstrapped cluster, into a new `flux.root`, or without a
    /// service the tree had. Off by default.
    pub allow_destructive: bool,
    /// Overwrite (or remove) files psd did not write, or that were edited since it wrote them.
    /// Off by default: such files stop the render.
    pub force: bool,
    /// Called (with the repository root) when another render holds the repository's lock,
    /// before this one waits for it; e.g. to tell the user. The report also notes the wait.
    pub on_wait: Option<fn(&Path)>,
    /// Called as the files of the tree are made (`done` of `total`, ending with
    /// `done == total`), so a caller can show progress; this crate prints nothing itself.
    pub on_progress: Option<fn(usize, usize)>,
    /// Credentials to generate anew, by name (`postgresql.password`, `redis.password`, …;
    /// an unknown name is an error listing the valid ones). Every other value is kept, and
    /// Secrets that copy a rotated value get the new one too. Needs a private key that opens
    /// the Secrets concerned; refused with [`Mode::Check`].
    pub rotate: Vec<String>,
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
            key_env: KeyEnv::process(),
            mode,
            allow_destructive: false,
            force: false,
            on_wait: None,
            on_progress: None,
            rotate: Vec::new(),
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
    /// An encrypted file kept as it is: no private key opens it, and what can be checked
    /// without one matches (see [`Report::reasons`] otherwise).
    Unchecked,
    /// An encrypted file no private key opens that differs from what a render writes (its
    /// recipients, metadata or key names: [`Report::reasons`] says how). Kept as it is: only a
    /// render with the key can update it.
    Outdated,
    /// A file psd wrote earlier that the configuration no longer asks for.
    Removed,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<9}` lines the paths up in psd render's output.
        f.pad(match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Unchecked => "unchecked",
            ChangeKind::Outdated => "outdated",
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
    /// Things psd did besides the tree (created a key, `.sops.yaml`, …).
    pub notes: Vec<String>,
    /// Why a file differs, where the render can say (an encrypted file's recipients, or what
    /// can be seen in it without its private key), by path.
    pub reasons: BTreeMap<String, Vec<String>>,
}

impl Report {
    /// Whether the tree on disk differs from the rendered one.
    pub fn has_drift(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c.kind,
                ChangeKind::Created
                    | ChangeKind::Updated
                    | ChangeKind::Removed
                    | ChangeKind::Outdated
            )
        })
    }

    /// Encrypted files no private key opened (their values were not checked).
    pub fn unchecked(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::Unchecked | ChangeKind::Outdated))
            .map(|c| c.path.as_str())
    }
}

/// Loads the cluster description for `opts` and validates it.
///
/// # Errors
/// [`RenderError::ReadConfig`] or [`RenderError::Config`].
pub fn load_config(opts: &RenderOptions) -> Result<ClusterConfig, RenderError> {
    load_config_with_source(opts).map(|(cfg, _)| cfg)
}

/// [`load_config`], and whether the description is the embedded default (no file, or a file
/// with nothing but whitespace and comments).
fn load_config_with_source(
    opts: &RenderOptions,
) -> Result<(ClusterConfig, ConfigSource), RenderError> {
    let default_path = opts.repo_root.join("psd.yaml");
    let path = match &opts.config_path {
        Some(p) => Some(p.clone()),
        None if default_path.exists() => Some(default_path),
        None => None,
    };
    let (cfg, source) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|source| RenderError::ReadConfig {
                path: p.clone(),
                source,
            })?;
            let empty = text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            let cfg = ClusterConfig::from_yaml_source(&text, &p.display().to_string())?;
            let source = if empty {
                ConfigSource::Default
            } else {
                ConfigSource::File
            };
            if let Err(error) = cfg.validate() {
                let at = match &error {
                    ClusterError::Invalid { field, .. } => psd_model::field_position(&text, field),
                    _ => None,
                };
                let location = match at {
                    Some((line, col)) => format!("{}:{line}:{col}", p.display()),
                    None => p.display().to_string(),
                };
                return Err(RenderError::ConfigValue { location, error });
            }
            (cfg, source)
        }
        None => (ClusterConfig::default(), ConfigSource::Default),
    };
    cfg.validate()?;
    Ok((cfg, source))
}

/// Renders the tree for `opts`: see the crate documentation.
///
/// # Errors
/// Any [`RenderError`]; on error nothing has been written to the tree.
pub fn render(opts: &RenderOptions) -> Result<Report, RenderError> {
    let (cfg, source) = load_config_with_source(opts)?;
    let root = &opts.repo_root;
    let mut report = Report::default();
    if opts.mode == Mode::Write {
        std::fs::create_dir_all(root).map_err(|e| RenderError::io("cannot create", root, e))?;
    }
    // Everything below (the previous record, the Secrets' values) is read under the lock, so
    // concurrent renders cannot mix their credentials.
    let lock = lock_repo(root, opts.mode == Mode::Write, opts.on_wait)?;
    if lock.waited {
        report.notes.push(format!(
            "waited for another psd render in {} to finish",
            root.display()
        ));
    }
    let list_path = format!("{}/{FILE_LIST}", cfg.flux.root);
    let previous = read_record(root, &list_path)?;
    // The first render of a folder without psd.yaml: most likely a newcomer who has not run
    // `psd init` yet, about to get someone else's cluster.
    if previous.is_none() && opts.config_path.is_none() && !root.join("psd.yaml").exists() {
        report.notes.push(format!(
            "no psd.yaml in {}: rendered the embedded default cluster (domain {}); run \
             `psd init --domain <your domain>` to describe your own",
            root.display(),
            cfg.domain
        ));
    }
    report.warnings.extend(guard::before_render(
        root,
        &cfg,
        source,
        previous.as_ref(),
        opts.allow_destructive,
    )?);
    let previous = previous.unwrap_or_default();
    let flux_system = flux_system(root, &cfg)?;
    let components = components::all(&cfg)?;
    if !opts.rotate.is_empty() && opts.mode == Mode::Check {
        return Err(RotateError::InCheck.into());
    }
    let rotation = secrets::plan_rotation(&components, &opts.rotate)?;

    let identities = keys::identities(opts, &cfg)?;
    report.warnings.extend(keys::legacy_key_warning(opts));

    let resolved = secrets::resolve(
        &cfg,
        &components,
        root,
        &identities,
        opts.cloudflare_token.as_ref(),
        &rotation,
    )?;
    report.warnings.extend(resolved.warnings.iter().cloned());
    report.notes.extend(resolved.notes.iter().cloned());
    for rot in &resolved.rotated {
        report.notes.push(rotation_note(rot, opts.mode));
    }
    let planned = layout::plan(&cfg, &components, &resolved.contents, flux_system)?;

    let needs_encryption = planned.iter().any(|f| match &f.content {
        FileContent::Secret(secret) => {
            let existing = resolved.existing.get(&f.path);
            let mut tree = secrets::tree_for(secret, existing, &f.path);
            let same = unchanged_secret(&tree, existing, None);
            codec::wipe(&mut tree);
            !same
        }
        _ => false,
    });

    // Recipients (only needed when something must be encrypted, or to create .sops.yaml).
    if opts.mode == Mode::Write {
        keys::remove_key_temporaries(opts, &mut report);
    }
    let existing_recipients: std::collections::BTreeSet<String> = resolved
        .existing
        .values()
        .flat_map(|e| e.recipients.iter().cloned())
        .collect();
    let recipients = keys::resolve(
        opts,
        &cfg,
        needs_encryption,
        &existing_recipients,
        &mut report,
    )?;

    // What a render would write where a file is kept unopened: its visible parts are compared.
    let shapes = if planned
        .iter()
        .any(|f| matches!(f.content, FileContent::KeepExisting))
    {
        secret_shapes(&cfg, &components, flux_system)?
    } else {
        BTreeMap::new()
    };

    // Final bytes of every file, in memory.
    let mut files: BTreeMap<String, (Vec<u8>, bool)> = BTreeMap::new(); // path → (bytes, unchecked)
    let progress = |done: usize| {
        if let Some(f) = opts.on_progress {
            f(done, planned.len());
        }
    };
    progress(0);
    for (done, f) in planned.iter().enumerate() {
        progress(done);
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
                    let problems =
                        keyless::problems(&e.bytes, shapes.get(&f.path), recipients.as_deref());
                    if !problems.is_empty() {
                        report.reasons.insert(f.path.clone(), problems);
                    }
                    (e.bytes.clone(), true)
                }
                FileContent::Secret(secret) => {
                    let existing = resolved.existing.get(&f.path);
                    if let (Some(e), Some(rs)) = (existing, recipients.as_deref()) {
                        let problems = keyless::recipient_problems(&e.recipients, rs);
                        if !problems.is_empty() {
                            report.reasons.insert(f.path.clone(), problems);
                        }
                    }
                    let mut tree = secrets::tree_for(secret, existing, &f.path);
                    let out = if unchanged_secret(&tree, existing, recipients.as_deref()) {
                        existing.map(|e| e.bytes.clone()).unwrap_or_default()
                    } else if opts.mode == Mode::Write {
                        let rs = recipients.as_deref().unwrap_or_default();
                        existing
                            .and_then(|e| codec::reseal(&e.bytes, &identities, &tree, rs))
                            .unwrap_or_else(|| codec::encrypt(&tree, rs))
                            .map_err(|reason| RenderError::Encrypt {
                                path: f.path.clone().into(),
                                reason,
                            })?
                    } else {
                        // Check/dry-run never encrypt: any bytes different from disk mark the change.
                        WOULD_REENCRYPT.to_vec()
                    };
                    codec::wipe(&mut tree);
                    (out, false)
                }
            };
        files.insert(f.path.clone(), bytes);
    }
    progress(planned.len());
    let planned_paths: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    report.warnings.extend(guard::removed_services(
        root,
        &cfg.flux.root,
        &previous,
        &planned_paths,
        opts.allow_destructive,
    )?);
    // Check and dry-run do not encrypt: a Secret they would re-encrypt keeps its recorded hash
    // (the new one is unknown), so the record alone never shows as drift. Nor does a Secret
    // changed with sops since (`sops set`, `sops updatekeys`): the hashes of Secrets are not
    // used for ownership (they are merged), and the file itself is what is compared.
    let record = file_list::format(
        &guard::identity(&cfg),
        files.iter().map(|(p, (b, _))| {
            let recorded = previous.files.get(p).cloned().flatten();
            let hash = match recorded {
                Some(h) if opts.mode != Mode::Write && p.ends_with(".enc.yaml") => h,
                _ => file_list::sha256_hex(b),
            };
            (p, hash)
        }),
    );
    files.insert(list_path.clone(), (record.into_bytes(), false));

    // Previously rendered files that are no longer configured.
    let stale: Vec<String> = previous
        .files
        .keys()
        .filter(|p| !files.contains_key(*p))
        .cloned()
        .collect();
    for p in &stale {
        if !is_inside(p, &cfg.flux.root) {
            return Err(RenderError::UnsafePath(p.into()));
        }
    }

    // The tree as it will be must pass `psd lint` before anything is written. (Check and
    // dry-run do not encrypt, so the Secrets they would create are not there to be linted.)
    if opts.mode == Mode::Write {
        let planned: BTreeMap<&str, &[u8]> = files
            .iter()
            .filter(|(_, (b, unchecked))| !unchecked && b.as_slice() != WOULD_REENCRYPT)
            .map(|(p, (b, _))| (p.as_str(), b.as_slice()))
            .collect();
        let removed: BTreeSet<&str> = stale.iter().map(String::as_str).collect();
        let left_out: Vec<&str> = if resolved
            .contents
            .values()
            .any(|c| matches!(c, crate::layout::SecretContent::Missing))
        {
            vec![psd_model::CloudflareConfig::SECRET_NAME]
        } else {
            Vec::new()
        };
        // Secrets kept as they are for lack of a key are the user's to fix (the render
        // reports them as outdated): what lint says about the tree is then a warning.
        let kept_unchecked = files.values().any(|(_, unchecked)| *unchecked);
        report.warnings.extend(lint_gate::check(
            root,
            &cfg.flux.root,
            &cfg.domain,
            &planned,
            &removed,
            &left_out,
            !kept_unchecked,
        )?);
    }

    // psd never writes or removes through a symbolic link (nor follows one to compare).
    if opts.mode == Mode::Write {
        for p in files.keys().chain(&stale) {
            refuse_symlinks(root, p)?;
        }
    }

    // Compare with disk; note the files psd does not own.
    let mut to_write: Vec<(&str, &[u8])> = Vec::new();
    let mut not_owned = Vec::new();
    for (path, (bytes, unchecked)) in &files {
        let on_disk = match std::fs::read(root.join(path)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(RenderError::io("cannot read", root.join(path), e)),
        };
        let kind = match &on_disk {
            None => ChangeKind::Created,
            Some(b) if b == bytes => {
                if *unchecked && report.reasons.contains_key(path) {
                    ChangeKind::Outdated
                } else if *unchecked {
                    ChangeKind::Unchecked
                } else {
                    ChangeKind::Unchanged
                }
            }
            Some(b) => {
                // Secrets are merged, not overwritten: their values are read and kept.
                if *path != list_path && !path.ends_with(".enc.yaml") {
                    match previous.owns(path, b) {
                        Ownership::Owned => {}
                        Ownership::NotListed => {
                            not_owned.push(format!("{path} (not written by psd)"));
                        }
                        Ownership::Edited => {
                            not_owned.push(format!("{path} (edited since psd wrote it)"));
                        }
                    }
                }
                ChangeKind::Updated
            }
        };
        if matches!(kind, ChangeKind::Created | ChangeKind::Updated) && *path != list_path {
            to_write.push((path, bytes));
        }
        report.changes.push(Change {
            path: path.clone(),
            kind,
        });
    }
    for p in &stale {
        match std::fs::read(root.join(p)) {
            Ok(b) => {
                if !p.ends_with(".enc.yaml") && previous.owns(p, &b) != Ownership::Owned {
                    not_owned.push(format!(
                        "{p} (edited since psd wrote it; psd would remove it)"
                    ));
                }
                report.changes.push(Change {
                    path: p.clone(),
                    kind: ChangeKind::Removed,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RenderError::io("cannot read", root.join(p), e)),
        }
    }
    if !not_owned.is_empty() {
        if opts.force {
            report.warnings.push(format!(
                "took over files psd did not own (--force): {}",
                not_owned.join(", ")
            ));
        } else if opts.mode == Mode::Write {
            return Err(RenderError::NotOwned { files: not_owned });
        } else {
            report.warnings.push(format!(
                "a render would stop at files psd does not own (run it with --force to take \
                 them over): {}",
                not_owned.join(", ")
            ));
        }
    }
    report.changes.sort_by(|a, b| a.path.cmp(&b.path));

    if opts.mode == Mode::Write {
        // The record goes last: if a rename fails partway, the files already written equal
        // what the next render plans, and the others still match the old record.
        if report
            .changes
            .iter()
            .any(|c| c.path == list_path && c.kind != ChangeKind::Unchanged)
        {
            let (bytes, _) = &files[&list_path];
            to_write.push((&list_path, bytes));
        }
        let mut ours: BTreeSet<&str> = files.keys().map(String::as_str).collect();
        ours.extend(previous.files.keys().map(String::as_str));
        // `.sops.yaml` (and `.gitignore`, which psd before issue 11 edited) are written with
        // the atomic-write-file crate: `.<name>.XXXXXX` beside them.
        let removed = remove_leftover_temporaries(root, &ours, &[".sops.yaml", ".gitignore"])?;
        if !removed.is_empty() {
            report.notes.push(format!(
                "removed temporaries an interrupted run left: {}",
                removed.join(", ")
            ));
        }
        write_all(root, &to_write)?;
        for p in &stale {
            if let Err(e) = remove_file_and_empty_parents(root, p, &cfg.flux.root) {
                let source = match e {
                    RenderError::Io { source, .. } => source,
                    other => std::io::Error::other(other.to_string()),
                };
                return Err(RenderError::PartlyWritten {
                    path: root.join(p),
                    written: to_write.iter().map(|(p, _)| (*p).to_owned()).collect(),
                    source,
                });
            }
        }
    }
    drop(lock);
    let unchecked: Vec<&str> = report.unchecked().collect();
    if !unchecked.is_empty() {
        let list = unchecked.join(", ");
        report.warnings.push(format!(
            "no age private key opened {} encrypted file(s), so they were kept as they are: \
             {list}. Checked without the key: {}. Not checked: {} (set SOPS_AGE_KEY_FILE to \
             check them)",
            unchecked.len(),
            keyless::CHECKED,
            keyless::NOT_CHECKED,
        ));
    }
    let outdated: Vec<&str> = report
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Outdated)
        .map(|c| c.path.as_str())
        .collect();
    if !outdated.is_empty() && opts.mode == Mode::Write {
        report.warnings.push(format!(
            "{} differ(s) from what psd writes, and only a render with the age private key can \
             update it: {}",
            outdated.join(", "),
            outdated
                .iter()
                .flat_map(|p| report.reasons[*p].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    Ok(report)
}

/// The Secret a render would write at each path, with throwaway values: what a file no key
/// opens is compared with (names, types, labels, key names; never values).
fn secret_shapes(
    cfg: &ClusterConfig,
    components: &[crate::component::Component],
    flux_system: FluxSystem,
) -> Result<BTreeMap<String, psd_model::SecretManifest>, RenderError> {
    let placeholder = SecretString::from("shape-only-placeholder".to_owned());
    let mut values = secrets::SecretValues::generate(cfg, Some(&placeholder))?;
    let planned = layout::plan(cfg, components, &values.contents, flux_system)?;
    values.contents.clear();
    Ok(planned
        .into_iter()
        .filter_map(|f| match f.content {
            FileContent::Secret(s) => Some((f.path, s)),
            _ => None,
        })
        .collect())
}

/// What the report says about a rotated value: where it changed and what the running service
/// needs next.
fn rotation_note(rot: &secrets::Rotated, mode: Mode) -> String {
    if rot.new {
        return format!(
            "{}: {} is new, so its values are generated anyway (nothing to rotate)",
            rot.name, rot.path
        );
    }
    let mut files = rot.path.clone();
    if !rot.copies.is_empty() {
        files = format!("{files} and its copy in {}", rot.copies.join(", "));
    }
    if mode == Mode::Write {
        format!(
            "rotated {} in {files}. Next: commit and push; {}",
            rot.name, rot.then
        )
    } else {
        format!(
            "would rotate {} in {files} (nothing written). Afterwards: {}",
            rot.name, rot.then
        )
    }
}

/// The bytes check and dry-run put in place of a Secret they would re-encrypt.
const WOULD_REENCRYPT: &[u8] = b"# would be re-encrypted\n";

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
