//! Which file goes where: the layout of the rendered tree, built in memory.
//!
//! ```text
//! <root>/clusters/<cluster>/      kustomization.yaml, infrastructure.yaml, apps.yaml (Flux Kustomizations)
//! <root>/infrastructure/sources/  OCIRepositories of the enabled charts
//! <root>/infrastructure/cert-manager/  namespace, HelmRelease, cloudflare-secret.enc.yaml
//! <root>/infrastructure/issuers/  letsencrypt-staging / letsencrypt-prod ClusterIssuers
//! <root>/infrastructure/traefik/  K3s HelmChartConfig with the TCP entry points
//! <root>/apps/<service>/          namespace, HelmRelease, secret.enc.yaml, IngressRouteTCP
//! ```
//!
//! Every folder has a `kustomization.yaml` listing its files, so `kubectl kustomize` builds it.

use std::collections::BTreeMap;

use psd_model::SecretManifest;
use psd_model::cluster::ClusterConfig;
use serde_json::Value;

use crate::error::RenderError;
use crate::manifests as m;
use crate::yaml;

/// Which Secret a `*.enc.yaml` file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKind {
    /// `cert-manager/cloudflare-api-token`.
    Cloudflare,
    /// `database/postgresql-credentials`.
    Postgresql,
    /// `database/postgresql-initdb` (Authentik's role and database).
    PostgresqlInitdb,
    /// `cache/redis-credentials`.
    Redis,
    /// `auth/authentik-credentials`.
    Authentik,
}

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
    Secret(SecretKind, SecretManifest),
    /// An existing encrypted file that is kept byte for byte.
    KeepExisting(SecretKind),
}

/// One file of the rendered tree; `path` is relative to the repository root, `/`-separated.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// Path relative to the repository root.
    pub path: String,
    /// What goes in it.
    pub content: FileContent,
}

/// The Secret files the configuration asks for: (path, kind), in path order.
pub fn secret_slots(cfg: &ClusterConfig) -> Vec<(String, SecretKind)> {
    let root = &cfg.flux.root;
    let s = &cfg.services;
    let mut out = vec![(
        format!("{root}/infrastructure/cert-manager/cloudflare-secret.enc.yaml"),
        SecretKind::Cloudflare,
    )];
    if s.postgresql.enabled {
        out.push((
            format!("{root}/apps/postgresql/secret.enc.yaml"),
            SecretKind::Postgresql,
        ));
        if s.authentik.enabled {
            out.push((
                format!("{root}/apps/postgresql/initdb.enc.yaml"),
                SecretKind::PostgresqlInitdb,
            ));
        }
    }
    if s.redis.enabled {
        out.push((
            format!("{root}/apps/redis/secret.enc.yaml"),
            SecretKind::Redis,
        ));
    }
    if s.authentik.enabled {
        out.push((
            format!("{root}/apps/authentik/secret.enc.yaml"),
            SecretKind::Authentik,
        ));
    }
    out.sort();
    out
}

/// Collects the files of one folder and writes its `kustomization.yaml` last.
struct Folder<'a> {
    dir: String,
    out: &'a mut Vec<PlannedFile>,
    names: Vec<String>,
}

impl<'a> Folder<'a> {
    fn new(out: &'a mut Vec<PlannedFile>, dir: String) -> Self {
        Self {
            dir,
            out,
            names: Vec::new(),
        }
    }

    fn doc(&mut self, name: &str, doc: &Value) -> Result<(), RenderError> {
        self.docs(name, std::slice::from_ref(doc))
    }

    fn docs(&mut self, name: &str, docs: &[Value]) -> Result<(), RenderError> {
        self.names.push(name.to_owned());
        self.out.push(PlannedFile {
            path: format!("{}/{name}", self.dir),
            content: FileContent::Plain(yaml::to_yaml_documents(docs)?),
        });
        Ok(())
    }

    fn secret(
        &mut self,
        name: &str,
        kind: SecretKind,
        secrets: &BTreeMap<SecretKind, SecretContent>,
    ) {
        let content = match secrets.get(&kind) {
            Some(SecretContent::Manifest(s)) => FileContent::Secret(kind, s.clone()),
            Some(SecretContent::KeepExisting) => FileContent::KeepExisting(kind),
            Some(SecretContent::Missing) | None => return,
        };
        self.names.push(name.to_owned());
        self.out.push(PlannedFile {
            path: format!("{}/{name}", self.dir),
            content,
        });
    }

    /// Adds a sub-folder entry (a resource that is a directory).
    fn subdir(&mut self, name: &str) {
        self.names.push(name.to_owned());
    }

    fn finish(self) -> Result<(), RenderError> {
        let doc = m::kustomization(&self.names);
        self.out.push(PlannedFile {
            path: format!("{}/kustomization.yaml", self.dir),
            content: FileContent::Plain(yaml::to_yaml(&doc)?),
        });
        Ok(())
    }
}

/// Builds every file of the tree in memory, sorted by path.
///
/// `secrets` says what is known for each Secret of [`secret_slots`]; `flux_system_present`
/// adds `flux-system` (written by `flux bootstrap`) to the cluster entry folder's
/// `kustomization.yaml` so the bootstrap components are not pruned.
///
/// # Errors
/// [`RenderError::Yaml`] if a manifest cannot be emitted.
pub fn plan(
    cfg: &ClusterConfig,
    secrets: &BTreeMap<SecretKind, SecretContent>,
    flux_system_present: bool,
) -> Result<Vec<PlannedFile>, RenderError> {
    let root = &cfg.flux.root;
    let s = &cfg.services;
    let tcp = !m::tcp_entry_points(cfg).is_empty();
    let mut out = Vec::new();

    // Cluster entry folder: the Flux Kustomizations.
    {
        let mut f = Folder::new(
            &mut out,
            format!("{root}/clusters/{}", cfg.flux.cluster_name),
        );
        let mut infra = vec![
            m::flux_kustomization(cfg, "infra-sources", "infrastructure/sources", &[]),
            m::flux_kustomization(
                cfg,
                "infra-cert-manager",
                "infrastructure/cert-manager",
                &["infra-sources"],
            ),
            m::flux_kustomization(
                cfg,
                "infra-issuers",
                "infrastructure/issuers",
                &["infra-cert-manager"],
            ),
        ];
        let mut app_deps = vec!["infra-sources", "infra-issuers"];
        if tcp {
            infra.push(m::flux_kustomization(
                cfg,
                "infra-traefik",
                "infrastructure/traefik",
                &[],
            ));
            app_deps.push("infra-traefik");
        }
        f.docs("infrastructure.yaml", &infra)?;
        if s.postgresql.enabled || s.redis.enabled || s.authentik.enabled {
            f.doc(
                "apps.yaml",
                &m::flux_kustomization(cfg, "apps", "apps", &app_deps),
            )?;
        }
        if flux_system_present {
            f.subdir("flux-system");
        }
        f.finish()?;
    }

    // Chart sources.
    {
        let mut f = Folder::new(&mut out, format!("{root}/infrastructure/sources"));
        for (name, doc) in m::sources(cfg) {
            f.doc(&name, &doc)?;
        }
        f.finish()?;
    }

    // cert-manager.
    {
        let mut f = Folder::new(&mut out, format!("{root}/infrastructure/cert-manager"));
        f.doc("namespace.yaml", &m::namespace(m::CERT_MANAGER_NAMESPACE))?;
        f.doc("helmrelease.yaml", &m::cert_manager_release(cfg))?;
        f.secret(
            "cloudflare-secret.enc.yaml",
            SecretKind::Cloudflare,
            secrets,
        );
        f.finish()?;
    }

    // ClusterIssuers (need cert-manager's CRDs: their own Flux Kustomization).
    {
        let mut f = Folder::new(&mut out, format!("{root}/infrastructure/issuers"));
        for (name, server) in m::ISSUERS {
            f.doc(
                &format!("{name}.yaml"),
                &m::cluster_issuer(cfg, name, server),
            )?;
        }
        f.finish()?;
    }

    // Traefik entry points.
    if tcp {
        let mut f = Folder::new(&mut out, format!("{root}/infrastructure/traefik"));
        f.doc("helmchartconfig.yaml", &m::traefik_helm_chart_config(cfg)?)?;
        f.finish()?;
    }

    // Apps.
    let mut apps = Vec::new();
    if s.postgresql.enabled {
        apps.push("postgresql");
        let mut f = Folder::new(&mut out, format!("{root}/apps/postgresql"));
        f.doc("namespace.yaml", &m::namespace(m::POSTGRESQL_NAMESPACE))?;
        f.doc("helmrelease.yaml", &m::postgresql_release(cfg))?;
        f.secret("secret.enc.yaml", SecretKind::Postgresql, secrets);
        if s.authentik.enabled {
            f.secret("initdb.enc.yaml", SecretKind::PostgresqlInitdb, secrets);
        }
        f.doc(
            "ingressroutetcp.yaml",
            &m::ingress_route_tcp("postgresql", m::POSTGRESQL_NAMESPACE, m::POSTGRESQL_SERVICE),
        )?;
        f.finish()?;
    }
    if s.redis.enabled {
        apps.push("redis");
        let mut f = Folder::new(&mut out, format!("{root}/apps/redis"));
        f.doc("namespace.yaml", &m::namespace(m::REDIS_NAMESPACE))?;
        f.doc("helmrelease.yaml", &m::redis_release(cfg))?;
        f.secret("secret.enc.yaml", SecretKind::Redis, secrets);
        f.doc(
            "ingressroutetcp.yaml",
            &m::ingress_route_tcp("redis", m::REDIS_NAMESPACE, m::REDIS_SERVICE),
        )?;
        f.finish()?;
    }
    if s.authentik.enabled {
        apps.push("authentik");
        let mut f = Folder::new(&mut out, format!("{root}/apps/authentik"));
        f.doc("namespace.yaml", &m::namespace(m::AUTHENTIK_NAMESPACE))?;
        f.doc("helmrelease.yaml", &m::authentik_release(cfg))?;
        f.secret("secret.enc.yaml", SecretKind::Authentik, secrets);
        f.finish()?;
    }
    if !apps.is_empty() {
        let mut f = Folder::new(&mut out, format!("{root}/apps"));
        for a in apps {
            f.subdir(a);
        }
        f.finish()?;
    }

    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
