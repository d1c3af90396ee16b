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
    /// A path recorded in the previous render's file list points outside the tree.
    #[error("refusing to remove {0}: outside the rendered tree")]
    UnsafePath(PathBuf),
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
