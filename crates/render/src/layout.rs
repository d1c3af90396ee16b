//! Which file goes where: the components' folders and the cluster entry folder, built in memory.
//!
//! ```text
//! <root>/clusters/<cluster>/        kustomization.yaml + infrastructure.yaml, databases.yaml,
//!                                   apps.yaml: one Flux Kustomization per component
//! <root>/infrastructure/cert-manager/   chart source, HelmRelease, Cloudflare token
//! <root>/infrastructure/issuers/        letsencrypt-staging / letsencrypt-prod ClusterIssuers
//! <root>/infrastructure/traefik/        K3s HelmChartConfig (entry points, source ranges)
//! <root>/infrastructure/cloudnative-pg/ the PostgreSQL operator
//! <root>/databases/postgresql/          Cluster, Databases, role Secrets, IngressRouteTCP
//! <root>/databases/redis/               Valkey: chart source, HelmRelease, Secret, IngressRouteTCP
//! <root>/apps/authentik/                chart source, HelmRelease, Secret
//! ```
//!
//! Every folder has a `kustomization.yaml` listing its files, so `kubectl kustomize` builds it.
//! What each folder holds is decided by its module in [`crate::components`].

use std::collections::BTreeMap;

use psd_model::SecretManifest;
use psd_model::cluster::ClusterConfig;
use serde_json::Value;

use crate::component::{Component, File, Tier};
use crate::error::RenderError;
use crate::manifests as m;
use crate::yaml;

/// What the render has for one Secret file.
#[derive(Clone, Debug)]
pub enum SecretContent {
    /// The Secret to encrypt (or to compare with the decrypted existing file).
    Manifest(SecretManifest),
    /// The file exists but cannot be regenerated (no private key, or the Cloudflare token was not
    /// given): keep its bytes as they are.
    KeepExisting,
    /// Not available at all (the Cloudflare token was never given): the file is left out and
    /// the folder's `kustomization.yaml` does not list it.
    Missing,
}

/// The content of one planned file.
#[derive(Clone, Debug)]
pub enum FileContent {
    /// A plain manifest file (final bytes).
    Plain(String),
    /// A Secret that must be encrypted before it is written.
    Secret(SecretManifest),
    /// An existing encrypted file that is kept byte for byte.
    KeepExisting,
}

/// One file of the rendered tree; `path` is relative to the repository root, `/`-separated.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// Path relative to the repository root.
    pub path: String,
    /// What goes in it.
    pub content: FileContent,
}

/// Whether the cluster entry folder lists `flux-system` (the folder `flux bootstrap` writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FluxSystem {
    /// List it (the folder exists).
    Listed,
    /// Leave it out (not bootstrapped yet).
    Absent,
}

/// Path of a component file, relative to the repository root.
pub fn path_of(cfg: &ClusterConfig, c: &Component, file: &str) -> String {
    format!("{}/{}/{file}", cfg.flux.root, c.dir)
}

/// The cluster entry folder, relative to the repository root.
pub fn entry_dir(cfg: &ClusterConfig) -> String {
    format!("{}/clusters/{}", cfg.flux.root, cfg.flux.cluster_name)
}

/// Builds every file of the tree in memory, sorted by path.
///
/// `secrets` says what is known for each Secret slot (by slot id). A slot without an entry is
/// left out, like [`SecretContent::Missing`].
///
/// # Errors
/// [`RenderError::Yaml`] if a manifest cannot be emitted.
pub fn plan(
    cfg: &ClusterConfig,
    components: &[Component],
    secrets: &BTreeMap<String, SecretContent>,
    flux_system: FluxSystem,
) -> Result<Vec<PlannedFile>, RenderError> {
    let mut out = Vec::new();
    let mut tiers: BTreeMap<Tier, Vec<Value>> = BTreeMap::new();
    for c in components {
        let mut names = Vec::new();
        for f in &c.files {
            let content = match f {
                File::Plain { docs, .. } => FileContent::Plain(yaml::to_yaml_documents(docs)?),
                File::Secret { slot, .. } => match secrets.get(&slot.id) {
                    Some(SecretContent::Manifest(s)) => FileContent::Secret(s.clone()),
                    Some(SecretContent::KeepExisting) => FileContent::KeepExisting,
                    Some(SecretContent::Missing) | None => continue,
                },
            };
            names.push(f.name().to_owned());
            out.push(PlannedFile {
                path: path_of(cfg, c, f.name()),
                content,
            });
        }
        out.push(PlannedFile {
            path: path_of(cfg, c, "kustomization.yaml"),
            content: FileContent::Plain(yaml::to_yaml(&m::kustomization(&names))?),
        });
        tiers
            .entry(c.stage.tier)
            .or_default()
            .push(m::flux_kustomization(cfg, &c.stage, c.dir));
    }

    let entry = entry_dir(cfg);
    let mut names = Vec::new();
    for (tier, docs) in &tiers {
        names.push(tier.file_name().to_owned());
        out.push(PlannedFile {
            path: format!("{entry}/{}", tier.file_name()),
            content: FileContent::Plain(yaml::to_yaml_documents(docs)?),
        });
    }
    if flux_system == FluxSystem::Listed {
        names.push("flux-system".into());
    }
    out.push(PlannedFile {
        path: format!("{entry}/kustomization.yaml"),
        content: FileContent::Plain(yaml::to_yaml(&m::kustomization(&names))?),
    });

    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
