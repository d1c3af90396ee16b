//! Errors of the render crate.

use std::path::PathBuf;

/// Everything that can stop a render. No variant ever carries a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The cluster description file could not be read.
    #[error("cannot read the cluster description {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The cluster description is malformed or has an invalid value.
    #[error(transparent)]
    Config(#[from] psd_model::cluster::ClusterError),
    /// A value in a cluster description file cannot work; `location` is `file:line:col` (or
    /// the file alone when the value is a default derived from another field).
    #[error("{location}: {error}")]
    ConfigValue {
        /// Where: `psd.yaml:4:10`.
        location: String,
        /// What is wrong and what is accepted.
        error: psd_model::cluster::ClusterError,
    },
    /// The Cloudflare API token file could not be read.
    #[error("cannot read the Cloudflare token file {path}: {source}")]
    ReadToken {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A credential was rejected (empty token, too-short key, …). The message names the value,
    /// never its content.
    #[error("invalid credential: {0}")]
    Credential(String),
    /// The emitter failed on a manifest.
    #[error("cannot write YAML: {0}")]
    Yaml(String),
    /// `.sops.yaml` exists but cannot be used.
    #[error("cannot use {path}: {reason}")]
    SopsConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No age recipient could be determined and none could be created.
    #[error("no age recipients: {0}")]
    NoRecipients(String),
    /// A source of age private keys is configured but cannot be used: `SOPS_AGE_KEY_FILE`
    /// naming a missing file, a malformed key in a file or in `SOPS_AGE_KEY`, a failing
    /// `SOPS_AGE_KEY_CMD`. Never holds key material.
    #[error(
        "cannot read age keys from {source_name}: {reason}. psd reads private keys as sops \
         does (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, then sops' keys.txt): fix \
         this source or unset it"
    )]
    KeySource {
        /// The source: `SOPS_AGE_KEY_FILE=/path`, `SOPS_AGE_KEY`, `SOPS_AGE_KEY_CMD`, a path.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A new key could not be stored in the key file.
    #[error(
        "cannot store the new age key for this repository: {source}. Set SOPS_AGE_KEY_FILE to \
         a key file you can write, or list existing recipients in psd.yaml \
         (sops.age_recipients)"
    )]
    CreateKey {
        /// The key file it was to be appended to.
        path: PathBuf,
        /// What failed.
        #[source]
        source: psd_model::KeyFileError,
    },
    /// `psd.yaml` lists `sops.age_recipients` that differ from the `.sops.yaml` rule's.
    #[error(
        "psd.yaml and {} name different age recipients. {} is the source of truth once it \
         exists, and its rule for *.enc.yaml lists {}; psd.yaml's sops.age_recipients lists \
         {}. To change who can decrypt, edit the age list in {} and render (psd re-encrypts \
         the Secrets it renders; run `sops updatekeys FILE` for other encrypted files), then \
         remove sops.age_recipients from psd.yaml or make it the same set",
        path.display(),
        path.display(),
        sops_yaml.join(", "),
        psd_yaml.join(", "),
        path.display()
    )]
    RecipientsConflict {
        /// The `.sops.yaml`.
        path: PathBuf,
        /// The recipients of its rule, sorted.
        sops_yaml: Vec<String>,
        /// `sops.age_recipients` in `psd.yaml`, sorted.
        psd_yaml: Vec<String>,
    },
    /// Encrypting a Secret failed.
    #[error("cannot encrypt {path}: {reason}")]
    Encrypt {
        /// The file being rendered.
        path: PathBuf,
        /// The encryptor's error.
        reason: String,
    },
    /// An existing encrypted file could be read but its content is not what psd expects (a
    /// missing key, not a Secret, …).
    #[error("{path} is not a Secret psd can reuse: {reason}")]
    ExistingSecret {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the tree failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What psd was doing (e.g. "cannot write").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The repository holds a tree of psd's first (Bitnami) stack: rendering stack v2 over it
    /// makes Flux delete the old databases and their volumes.
    #[error(
        "this repository holds psd's Bitnami stack ({}). Rendering the CloudNativePG/Valkey \
         stack over it makes Flux delete the old PostgreSQL and Redis releases and their \
         volumes. Move the data first (pg_dump from the old PostgreSQL, pg_restore into the new \
         Cluster; steps in docs/MIGRATION-stack-v2.md), then render again with \
         --allow-destructive",
        files.join(", ")
    )]
    LegacyStack {
        /// The first stack's files found.
        files: Vec<String>,
    },
    /// The cluster entry folder lists `flux-system` but the folder is not in this checkout.
    #[error(
        "{} is listed in the cluster's kustomization.yaml but missing here: without it Flux \
         would prune its own components. Pull the repository (git pull) so the folder `flux \
         bootstrap` wrote is present, then render again",
        path.display()
    )]
    FluxSystemMissing {
        /// The missing folder.
        path: PathBuf,
    },
    /// `.psd-files` cannot be read as a record.
    #[error(
        "{} line {line}: {reason}. This file is psd's record of the files it wrote; restore it \
         from git (git checkout -- {})",
        path.display(),
        path.display()
    )]
    FileList {
        /// The record.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Files psd would overwrite or remove that it does not own.
    #[error(
        "psd would overwrite or remove files it does not own: {}. Move your change into \
         psd.yaml, or into a kustomize patch in a file psd does not write, or run `psd render \
         --force` to let psd take these files over (your changes to them are lost)",
        files.join(", ")
    )]
    NotOwned {
        /// Each file with why (e.g. `gitops/x.yaml (not written by psd)`).
        files: Vec<String>,
    },
    /// The embedded default description would be rendered over a tree rendered from another one.
    #[error(
        "no cluster description (psd.yaml missing or empty), but {} says this tree was rendered \
         for {previous}. The embedded default is for a fresh repository only: put that \
         description in psd.yaml or pass --config FILE",
        record.display()
    )]
    DefaultOverOtherTree {
        /// The record found.
        record: PathBuf,
        /// Its identity (`domain=… cluster=… root=…`).
        previous: String,
    },
    /// `flux.cluster_name` changed after `flux bootstrap`.
    #[error(
        "flux.cluster_name changed from `{old}` to `{new}`, but {root}/clusters/{old}/flux-system \
         exists: the cluster is bootstrapped, and Flux's own Kustomization still reads \
         {root}/clusters/{old}; once that folder is gone Flux prunes everything it deployed. \
         Keep the name `{old}` in psd.yaml, or render with the new name and --allow-destructive \
         only together with re-running `flux bootstrap --path={root}/clusters/{new}`"
    )]
    ClusterRenamed {
        /// `flux.root`.
        root: String,
        /// The name the tree was rendered for.
        old: String,
        /// The name in the description.
        new: String,
    },
    /// The tree was rendered for another cluster name (not bootstrapped).
    #[error(
        "{root}/ was rendered for cluster `{old}`, this description says `{new}`. Either two \
         descriptions share one flux.root (give each its own root), or the cluster was renamed \
         before bootstrap (then render with --allow-destructive: {root}/clusters/{old} is \
         removed)"
    )]
    ClusterMismatch {
        /// `flux.root`.
        root: String,
        /// The name the tree was rendered for.
        old: String,
        /// The name in the description.
        new: String,
    },
    /// `flux.root` changed: a tree for this description exists at another root.
    #[error(
        "flux.root is now `{new}` but {old}/ holds the tree rendered for this description. \
         Rendering into {new}/ would generate every credential anew and leave {old}/ behind. \
         Move it instead: git mv {old} {new}, then render (or pass --allow-destructive to start \
         a fresh tree)"
    )]
    RootMoved {
        /// The root of the existing tree.
        old: String,
        /// The root in the description.
        new: String,
    },
    /// Services the previous render had that this one drops.
    #[error(
        "this render drops {}: once Flux applies the tree it deletes what it deployed from \
         them, and the services stop (only objects labelled kustomize.toolkit.fluxcd.io/prune: \
         disabled stay: psd's database namespaces and the PostgreSQL Cluster with its volume). \
         Re-enable them in psd.yaml, or back up what you need and render with \
         --allow-destructive",
        services.join(", ")
    )]
    ServiceRemoved {
        /// The component folders (e.g. `gitops/databases/redis`).
        services: Vec<String>,
    },
    /// A path psd would write or remove is (or lies under) a symbolic link.
    #[error(
        "{} is a symbolic link; psd does not write through links. Replace it with a plain \
         file or folder (or remove it), then render again",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Preparing the new files failed; the tree is unchanged.
    #[error("cannot write {}: {source}; nothing was changed", path.display())]
    NothingWritten {
        /// The file that could not be prepared.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Moving the new files into place failed partway.
    #[error(
        "cannot write {}: {source}. Already written: {}. Fix the cause and render again",
        path.display(),
        if written.is_empty() { "none".to_owned() } else { written.join(", ") }
    )]
    PartlyWritten {
        /// The file that failed.
        path: PathBuf,
        /// The files replaced before it.
        written: Vec<String>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A path recorded in the previous render's file list points outside the tree.
    #[error("refusing to remove {0}: outside the rendered tree")]
    UnsafePath(PathBuf),
    /// A Secret that copies a value from another Secret holds a different value than that
    /// Secret: psd does not pick one of them.
    #[error(
        "{}: `{key}` differs from `{source_key}` in {}, which it must equal (one password in \
         two Secrets: the service logs in with one, the database checks the other). psd does \
         not pick one for you: set the same value in both files with sops set{}",
        path.display(),
        source_path.display(),
        match rotate {
            Some(name) => format!(", or give both a new one with psd render --rotate {name}"),
            None => String::new(),
        }
    )]
    CopyMismatch {
        /// The Secret file holding the copy.
        path: PathBuf,
        /// The copy's key.
        key: String,
        /// The Secret file the value comes from.
        source_path: PathBuf,
        /// The key there.
        source_key: String,
        /// The name `--rotate` knows the source value under, if it is rotatable.
        rotate: Option<String>,
    },
    /// The tree psd would write fails `psd lint` (a bug in psd, or a configuration psd
    /// cannot render correctly); nothing was written.
    #[error(
        "the tree psd would write fails its lint checks, so nothing was written:\n  {}\nPlease report this with your psd.yaml (without secrets)",
        findings.join("\n  ")
    )]
    Lint {
        /// One line per finding: file:line:col, rule, message, help.
        findings: Vec<String>,
    },
    /// `--rotate` cannot be done.
    #[error(transparent)]
    Rotate(#[from] RotateError),
}

/// Why a `--rotate` request cannot be done. Nothing has been written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// No credential of the rendered services has this name.
    #[error(
        "there is no credential `{name}` to rotate. The names are: {}",
        if valid.is_empty() { "none (no service with generated credentials is enabled)".to_owned() } else { valid.join(", ") }
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that can be rotated.
        valid: Vec<String>,
    },
    /// psd does not generate this value.
    #[error("`{name}` is not rotated by psd: {reason}")]
    NotRotatable {
        /// The name asked for.
        name: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// No private key opens a Secret whose value would change, so its other values could not
    /// be kept.
    #[error(
        "cannot rotate `{name}`: no age private key opened {}, so psd cannot keep its other \
         values. Set SOPS_AGE_KEY_FILE to the key file that opens it (or SOPS_AGE_KEY to the \
         key) and render again",
        path.display()
    )]
    NoKey {
        /// The name asked for.
        name: String,
        /// The Secret file that could not be opened.
        path: PathBuf,
    },
    /// `--rotate` together with `--check`.
    #[error(
        "--rotate changes credentials and --check only compares the tree: render with --rotate \
         (add --dry-run to see which files it would change)"
    )]
    InCheck,
}

impl RenderError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
