//! Age keys of a render: who the Secrets are encrypted to (`.sops.yaml`, else the config, else
//! a key psd creates in the user's key file), which private keys open the existing ones, and
//! the warnings about a repository's legacy `age.key`.
//!
//! A first render goes in an order where every prefix is safe to interrupt and to resume:
//! (a) the new key is appended to the key file sops reads (`$SOPS_AGE_KEY_FILE`, else
//! `<config dir>/sops/age/keys.txt`), marked `# psd: cluster key for <root>`; (b) `.sops.yaml`
//! is written for its recipient; (c) the tree is written. A render that finds no `.sops.yaml`
//! but a marked key for its root (an interrupted (a)) uses that key instead of making another.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use psd_model::AgeKeyPair;
use psd_model::cluster::ClusterConfig;
use psd_sops::keysource::{Identities, SourceError, default_key_file_path};
use serde_json::json;

use crate::error::RenderError;
use crate::output::{Mode, RenderOptions, Report};
use crate::write::write_atomic;
use crate::yaml;

/// The environment a render finds age keys with: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY_CMD`, the `SOPS_AGE_SSH_*` variables, `HOME` and `XDG_CONFIG_HOME` (for
/// sops' user key file, where a new key is created). The default is the process environment;
/// [`KeyEnv::fixed`] gives a render (a test, a sandbox) its own variables instead, and the
/// process environment is then not read at all.
///
/// `Debug` shows the variable names only: `SOPS_AGE_KEY` holds private keys.
#[derive(Clone, Default)]
pub struct KeyEnv {
    fixed: Option<BTreeMap<String, OsString>>,
}

impl KeyEnv {
    /// The process environment.
    #[must_use]
    pub fn process() -> Self {
        Self::default()
    }

    /// No variables at all: no private keys from the environment, and nowhere to create a key
    /// (a render that needs one fails and says so).
    #[must_use]
    pub fn empty() -> Self {
        Self {
            fixed: Some(BTreeMap::new()),
        }
    }

    /// Exactly these variables; every other one is unset.
    pub fn fixed<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<OsString>,
    {
        Self {
            fixed: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `name`; an empty value counts as unset (as in sops).
    #[must_use]
    pub fn var(&self, name: &str) -> Option<OsString> {
        let value = match &self.fixed {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var_os(name),
        };
        value.filter(|v| !v.is_empty())
    }

    /// Where a new key goes, and sops looks for keys by default: `$SOPS_AGE_KEY_FILE` if set,
    /// else sops' user key file (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else
    /// `~/.config/sops/age/keys.txt` on Linux). `None` when neither can be known (no `HOME`).
    #[must_use]
    pub fn key_file(&self) -> Option<PathBuf> {
        self.var("SOPS_AGE_KEY_FILE")
            .map(PathBuf::from)
            .or_else(|| self.default_key_file())
    }

    /// sops' user key file, whether or not `SOPS_AGE_KEY_FILE` is set.
    fn default_key_file(&self) -> Option<PathBuf> {
        default_key_file_path(|name| self.var(name))
    }
}

impl fmt::Debug for KeyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            None => f.write_str("KeyEnv(process)"),
            Some(vars) => f.debug_tuple("KeyEnv").field(&vars.keys()).finish(),
        }
    }
}

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
    from_sops_yaml_for(path, text, "gitops")
}

/// [`from_sops_yaml`] for the Secrets of a tree in `flux_root` (`<flux_root>/….enc.yaml`).
pub(crate) fn from_sops_yaml_for(
    path: &Path,
    text: &str,
    flux_root: &str,
) -> Result<Vec<String>, RenderError> {
    let bad = |reason: String| RenderError::SopsConfig {
        path: path.to_owned(),
        reason,
    };
    let config = psd_sops::config::SopsConfig::parse(path, text.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let probe = std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .join(flux_root)
        .join("secret.enc.yaml");
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

/// Whether this render would create the key: no `.sops.yaml`, no recipients in `psd.yaml`, no
/// legacy `age.key`. Then `$SOPS_AGE_KEY_FILE` naming a missing file is where the key goes,
/// not an error.
fn creates_key(root: &Path, cfg: &ClusterConfig) -> bool {
    cfg.sops.age_recipients.is_empty()
        && !root.join(".sops.yaml").exists()
        && !root.join(LEGACY_KEY).exists()
}

/// The key file renders of psd before issue 11 created in the repository root.
const LEGACY_KEY: &str = "age.key";

/// Whether a source that failed stops the render: every source the user configured
/// (`SOPS_AGE_*` variables) and sops' user key file (psd appends to it). The user's default
/// SSH keys are only tried, as sops does (a passphrase-protected `~/.ssh/id_ed25519` is no
/// reason to stop), and an unknown config folder only matters when a key must be created.
fn is_fatal(e: &SourceError, env: &KeyEnv, creates_key: bool) -> bool {
    if let Some(path) = e.source_name.strip_prefix("SOPS_AGE_KEY_FILE=") {
        // A missing file is where a first render creates the key.
        return !creates_key || Path::new(path).exists();
    }
    e.source_name.starts_with("SOPS_AGE_")
        || env
            .default_key_file()
            .is_some_and(|p| p.display().to_string() == e.source_name)
}

/// The private keys a render opens existing Secrets with: sops' own lookup (when
/// `opts.keys_from_env`, in `opts.key_env`), the repository's legacy `age.key`, and
/// `opts.identity_files`.
///
/// # Errors
/// [`RenderError::KeySource`] for a key source that is configured but unusable: a
/// `SOPS_AGE_KEY_FILE` that does not exist, a malformed key, a failing `SOPS_AGE_KEY_CMD`.
pub(crate) fn identities(
    opts: &RenderOptions,
    cfg: &ClusterConfig,
) -> Result<Identities, RenderError> {
    let root = &opts.repo_root;
    let mut identities = Identities::new();
    if opts.keys_from_env {
        let (ids, errors) = Identities::from_lookup(|name| opts.key_env.var(name));
        let creates = creates_key(root, cfg);
        if let Some(e) = errors
            .into_iter()
            .find(|e| is_fatal(e, &opts.key_env, creates))
        {
            return Err(RenderError::KeySource {
                source_name: e.source_name,
                reason: e.reason,
            });
        }
        identities.extend(ids);
    }
    let repo_key = root.join(LEGACY_KEY);
    for path in std::iter::once(&repo_key).chain(&opts.identity_files) {
        let text = match std::fs::read(path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == &repo_key => continue,
            Err(e) => return Err(RenderError::io("cannot read", path, e)),
        };
        let bad = |reason: String| RenderError::KeySource {
            source_name: path.display().to_string(),
            reason,
        };
        let text = std::str::from_utf8(&text).map_err(|_| bad("not UTF-8 text".into()))?;
        let parsed = Identities::parse_key_file(text).map_err(|e| bad(e.to_string()))?;
        identities.extend(parsed);
    }
    Ok(identities)
}

/// The recipients of the legacy `age.key`, if the repository has one.
fn legacy_recipients(root: &Path) -> Result<Option<Vec<String>>, RenderError> {
    let path = root.join(LEGACY_KEY);
    if !path.exists() {
        return Ok(None);
    }
    let pairs = psd_model::read_key_file(&path).map_err(|e| RenderError::KeySource {
        source_name: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Some(
        pairs.iter().map(|p| p.recipient().to_string()).collect(),
    ))
}

/// The comment that marks the key psd created for the repository at `canonical_root`.
pub(crate) fn marker(canonical_root: &Path) -> String {
    format!("psd: cluster key for {}", canonical_root.display()).replace(['\n', '\r'], " ")
}

/// The repository root as the marker names it: absolute, links resolved.
pub(crate) fn canonical_root(root: &Path) -> PathBuf {
    std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_owned())
}

/// The recipient of the last key in `key_file` marked for `canonical_root` (a first render
/// interrupted after it stored the key). A file that cannot be read holds none.
pub(crate) fn marked_recipient(key_file: &Path, canonical_root: &Path) -> Option<String> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(key_file).ok()?);
    let text = std::str::from_utf8(&bytes).ok()?;
    let wanted = format!("# {}", marker(canonical_root));
    let mut pending = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            if line == wanted {
                pending = true;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if pending {
            if let Ok(id) = psd_model::Identity::parse(line) {
                found = Some(id.recipient().to_string());
            }
            pending = false;
        }
    }
    found
}

/// Quotes `s` for a POSIX shell when it needs it.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@%,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Writes `.sops.yaml` for `recipients`.
fn write_sops_yaml(root: &Path, recipients: &[String]) -> Result<(), RenderError> {
    write_atomic(&root.join(".sops.yaml"), sops_yaml(recipients)?.as_bytes())
}

/// Refuses `sops.age_recipients` in `psd.yaml` that differ from `.sops.yaml`'s (as sets).
fn check_recipients_agree(
    cfg: &ClusterConfig,
    sops_path: &Path,
    recipients: &[String],
) -> Result<(), RenderError> {
    if cfg.sops.age_recipients.is_empty() {
        return Ok(());
    }
    let in_config: BTreeSet<&str> = cfg.sops.age_recipients.iter().map(String::as_str).collect();
    let in_rule: BTreeSet<&str> = recipients.iter().map(String::as_str).collect();
    if in_config == in_rule {
        return Ok(());
    }
    Err(RenderError::RecipientsConflict {
        path: sops_path.to_owned(),
        sops_yaml: in_rule.into_iter().map(str::to_owned).collect(),
        psd_yaml: in_config.into_iter().map(str::to_owned).collect(),
    })
}

/// Refuses to write a `.sops.yaml` for `chosen` when files in the tree are encrypted to
/// recipients it leaves out.
fn keep_existing_access(
    sops_path: &Path,
    cfg: &ClusterConfig,
    existing: &BTreeSet<String>,
    chosen: Option<&str>,
) -> Result<(), RenderError> {
    let dropped: Vec<&str> = existing
        .iter()
        .map(String::as_str)
        .filter(|r| Some(*r) != chosen)
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    Err(RenderError::NoRecipients(format!(
        "{} is missing, but encrypted files under {}/ are encrypted to {}, which a new \
         .sops.yaml would leave out: psd will not choose recipients that cut those people (or \
         Flux) off. Restore it (`git checkout -- .sops.yaml`), or list every recipient to keep \
         in psd.yaml under sops.age_recipients, and render again",
        sops_path.display(),
        cfg.flux.root,
        dropped.join(", ")
    )))
}

/// Finds (or in write mode creates) the recipients. `None` in check/dry-run mode when none
/// exist yet, and when nothing needs encrypting.
///
/// `existing` are the age recipients of the encrypted files already in the tree: when
/// `.sops.yaml` is missing and psd.yaml names no recipients, psd will not pick recipients of
/// its own for files that others can read today (that would silently drop their access).
pub(crate) fn resolve(
    opts: &RenderOptions,
    cfg: &ClusterConfig,
    needs_encryption: bool,
    existing: &BTreeSet<String>,
    report: &mut Report,
) -> Result<Option<Vec<String>>, RenderError> {
    let root = &opts.repo_root;
    let mode = opts.mode;
    let sops_path = root.join(".sops.yaml");
    match std::fs::read_to_string(&sops_path) {
        Ok(text) => {
            let rs = from_sops_yaml(&sops_path, &text)?;
            check_recipients_agree(cfg, &sops_path, &rs)?;
            return Ok(Some(rs));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RenderError::io("cannot read", sops_path, e)),
    }
    if !cfg.sops.age_recipients.is_empty() {
        let rs = cfg.sops.age_recipients.clone();
        if mode == Mode::Write {
            write_sops_yaml(root, &rs)?;
            report
                .notes
                .push("wrote .sops.yaml for the recipients in psd.yaml".into());
        }
        return Ok(Some(rs));
    }
    // A repository rendered by psd before keys moved out of the work tree.
    if let Some(rs) = legacy_recipients(root)? {
        if mode == Mode::Write {
            write_sops_yaml(root, &rs)?;
            report.notes.push(format!(
                "wrote .sops.yaml for the recipient of {LEGACY_KEY} ({})",
                rs.join(", ")
            ));
        }
        return Ok(Some(rs));
    }
    // The key an interrupted first render stored before it could write .sops.yaml.
    let canonical = canonical_root(root);
    let mut key_files: Vec<PathBuf> = opts.key_env.key_file().into_iter().collect();
    key_files.extend(opts.key_env.default_key_file());
    key_files.dedup();
    for file in &key_files {
        if let Some(r) = marked_recipient(file, &canonical) {
            keep_existing_access(&sops_path, cfg, existing, Some(&r))?;
            if mode == Mode::Write {
                write_sops_yaml(root, std::slice::from_ref(&r))?;
                report.notes.push(format!(
                    "found the age key psd created for this repository (by psd init or an \
                     earlier render) in {}; wrote .sops.yaml for its recipient {r}",
                    file.display()
                ));
            }
            return Ok(Some(vec![r]));
        }
    }
    keep_existing_access(&sops_path, cfg, existing, None)?;
    if !needs_encryption {
        return Ok(None);
    }
    let key_file = opts.key_env.key_file();
    if mode != Mode::Write {
        if let Some(k) = &key_file {
            report.notes.push(format!(
                "a render would create a new age key in {} and a .sops.yaml for it",
                k.display()
            ));
        }
        return Ok(None);
    }
    let Some(key_file) = key_file else {
        return Err(RenderError::NoRecipients(
            "this repository has no .sops.yaml and psd.yaml lists no sops.age_recipients, so \
             psd would create a key, but it cannot tell where: neither SOPS_AGE_KEY_FILE nor \
             HOME (or XDG_CONFIG_HOME) is set. Set SOPS_AGE_KEY_FILE to the key file to use"
                .into(),
        ));
    };
    // (a) The key, durably stored where sops and psd read it, before anything names it.
    let pair = AgeKeyPair::generate();
    let appended =
        psd_model::append_key_file(&key_file, &[marker(&canonical)], &pair).map_err(|source| {
            RenderError::CreateKey {
                path: key_file.clone(),
                source,
            }
        })?;
    // (b) .sops.yaml for it; (c) the tree follows.
    let recipient = pair.recipient().to_string();
    write_sops_yaml(root, std::slice::from_ref(&recipient))?;
    report
        .notes
        .push(created_note(&appended, &canonical, &recipient));
    Ok(Some(vec![recipient]))
}

/// What to tell the user about a key psd created: where it is, to back it up, how Flux gets it.
fn created_note(appended: &psd_model::Appended, canonical: &Path, recipient: &str) -> String {
    let path = appended.path.display().to_string();
    let q = shell_quote(&path);
    let mut note = if appended.created {
        format!("created a new age key for this repository in {path} (a new file, mode 0600)")
    } else {
        format!(
            "created a new age key for this repository and appended it to {path}, after the \
             {} key(s) it held",
            appended.keys_before
        )
    };
    note.push_str(&format!(
        ", marked `# {}`; sops and psd read keys from there. Wrote .sops.yaml for its recipient \
         {recipient}. Back the key up now (e.g. in a password manager): it is the only key that \
         decrypts this repository's Secrets. Give Flux the key with `psd bootstrap --apply` \
         (`psd bootstrap` prints every step, in order), or by hand: ",
        marker(canonical)
    ));
    if appended.keys_before == 0 {
        note.push_str(&format!(
            "kubectl create namespace flux-system && kubectl create secret generic sops-age \
             --namespace=flux-system --from-file=age.agekey={q}"
        ));
    } else {
        note.push_str(&format!(
            "kubectl create namespace flux-system; then, as {path} holds other keys too and \
             Flux needs only this one: grep -F -x -A3 {} {q} | \
             kubectl create secret generic sops-age --namespace=flux-system \
             --from-file=age.agekey=/dev/stdin",
            shell_quote(&format!("# {}", marker(canonical)))
        ));
    }
    note
}

/// Removes the key-file temporaries (`.psd-new-*`) interrupted runs left next to the key file
/// and in the repository root (where psd before issue 11 wrote `age.key`). A folder that cannot
/// be cleaned up is a warning, not a reason to stop: writing there fails on its own, with its
/// own message, if the render needs to.
pub(crate) fn remove_key_temporaries(opts: &RenderOptions, report: &mut Report) {
    let mut dirs = vec![opts.repo_root.clone()];
    for file in [opts.key_env.key_file(), opts.key_env.default_key_file()]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            dirs.push(dir.to_owned());
        }
    }
    dirs.dedup();
    let mut removed = Vec::new();
    for dir in dirs {
        match psd_model::remove_stale_key_temporaries(&dir) {
            Ok(gone) => removed.extend(gone.iter().map(|p| p.display().to_string())),
            Err(e) => report.warnings.push(format!(
                "cannot look for key-file temporaries (.psd-new-*) an interrupted run may have \
                 left in {}: {e}; remove any there by hand",
                dir.display()
            )),
        }
    }
    if !removed.is_empty() {
        report.notes.push(format!(
            "removed key-file temporaries an interrupted run left: {}",
            removed.join(", ")
        ));
    }
}

/// A warning when the repository's legacy `age.key` is tracked by git or not ignored. Nothing
/// when there is no such file, git is not installed, or the root is not in a git work tree.
pub(crate) fn legacy_key_warning(opts: &RenderOptions) -> Option<String> {
    let root = &opts.repo_root;
    if !root.join(LEGACY_KEY).is_file() {
        return None;
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()
            .and_then(|s| s.code())
    };
    let move_it = match opts.key_env.key_file() {
        Some(k) => format!(
            "move the key to {} where sops and psd find it (cat age.key >> {} && rm age.key)",
            k.display(),
            shell_quote(&k.display().to_string())
        ),
        None => "move the key out of the work tree (see SOPS_AGE_KEY_FILE)".to_owned(),
    };
    match git(&["ls-files", "--error-unmatch", "--", LEGACY_KEY]) {
        Some(0) => {
            return Some(format!(
                "{LEGACY_KEY} (this repository's private key) is tracked by git: anyone with a \
                 clone can decrypt the Secrets. Make a new key, put its recipient in .sops.yaml \
                 and render (the Secrets are re-encrypted), update the sops-age Secret in the \
                 cluster, then `git rm --cached {LEGACY_KEY}` and {move_it}"
            ));
        }
        Some(1) => {}
        // Not a work tree, git missing or failing: nothing to say.
        _ => return None,
    }
    match git(&["check-ignore", "-q", "--", LEGACY_KEY]) {
        Some(1) => Some(format!(
            "{LEGACY_KEY} (this repository's private key) is not ignored by git: `git add .` \
             would commit it, and `git clean -x` deletes it. Add /{LEGACY_KEY} to .gitignore, \
             or better {move_it}"
        )),
        _ => None,
    }
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
    fn the_marked_key_of_a_root_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        let root = Path::new("/src/cluster");
        let mine = AgeKeyPair::generate();
        let other = AgeKeyPair::generate();
        // Another root's key, a key without a marker, then this root's.
        psd_model::append_key_file(&file, &[marker(Path::new("/src/other"))], &other).unwrap();
        psd_model::append_key_file(&file, &[], &other).unwrap();
        assert_eq!(marked_recipient(&file, root), None);
        psd_model::append_key_file(&file, &[marker(root)], &mine).unwrap();
        assert_eq!(
            marked_recipient(&file, root),
            Some(mine.recipient().to_string())
        );
        assert_eq!(marked_recipient(&dir.path().join("missing"), root), None);
        // A root is not matched by a prefix of it.
        assert_eq!(marked_recipient(&file, Path::new("/src/cluste")), None);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("/home/u/.config/keys.txt"),
            "/home/u/.config/keys.txt"
        );
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(shell_quote(""), "''");
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
        let groups =
            format!("creation_rules:\n  - key_groups:\n      - age: [{A}]\n      - age: [{B}]\n");
        assert!(read(&groups).unwrap_err().contains("several key groups"));
        assert!(read("creation_rules: [").is_err());
    }
}
