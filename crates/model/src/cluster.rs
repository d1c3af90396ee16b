//! The cluster description (`psd.yaml`): domain, ACME email, enabled services, sizes, storage
//! class, how the data ports are exposed, pinned versions, age recipients and the Flux cluster
//! name.
//!
//! Every field has a documented default; a file may set any subset of them, and with no file at
//! all [`ClusterConfig::default`] is the design's cluster (domain `almckay.io`). Unknown keys are
//! errors that carry the line and column ([`ClusterConfig::from_yaml`]), and
//! [`ClusterConfig::validate`] checks DNS names, the email address, Kubernetes quantities and
//! SQL identifiers before anything is rendered. [`json_schema`] gives the JSON Schema of the file,
//! derived from these types so it cannot drift from them.
//!
//! ```
//! let cfg = psd_model::cluster::ClusterConfig::from_yaml("domain: example.org\n").unwrap();
//! assert_eq!(cfg.domain, "example.org");
//! assert_eq!(cfg.services.postgresql.size, "20Gi");
//! cfg.validate().unwrap();
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Errors reading or validating a cluster description.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The YAML could not be parsed or has an unknown/mistyped key. The message carries the line
    /// and column (and a snippet of the offending line).
    #[error("invalid cluster description: {0}")]
    Parse(String),
    /// A field has a value that cannot work in a cluster (bad DNS name, email, size, …).
    #[error("invalid value for `{field}`: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `services.postgresql.size`.
        field: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
}

/// The whole cluster description (`psd.yaml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "psd cluster description (psd.yaml)")]
pub struct ClusterConfig {
    /// The DNS zone the cluster serves (a DNS-1123 subdomain with at least two labels). Hosts are
    /// made from it (e.g. `auth.<domain>`) and the Cloudflare DNS-01 solver is limited to it.
    /// Default: `almckay.io`.
    pub domain: String,
    /// Let's Encrypt (ACME) settings.
    pub acme: AcmeConfig,
    /// Flux settings.
    pub flux: FluxConfig,
    /// SOPS settings: who can decrypt the Secrets.
    pub sops: SopsConfig,
    /// Storage class for every persistent volume unless a service overrides it (a DNS-1123
    /// subdomain). Default: `local-path` (the provisioner K3s ships).
    pub storage_class: String,
    /// Which services run and how.
    pub services: ServicesConfig,
    /// Who may reach the cluster's Traefik entry points (the data ports above all).
    pub exposure: ExposureConfig,
    /// Every pinned chart and image version, in one place, so a render is reproducible.
    pub versions: VersionsConfig,
    /// `psd lint` settings (render ignores them; `psd lint` checks them): see docs/LINT.md.
    #[serde(skip_serializing_if = "LintConfig::is_empty")]
    pub lint: LintConfig,
}

/// How `psd lint` treats a rule, or the lowest severity that fails a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LintLevel {
    /// The rule is never reported.
    Off,
    /// Reported as an error.
    Error,
    /// Reported as a warning (`warn` is accepted too).
    #[serde(alias = "warn")]
    Warning,
    /// Reported as information.
    Info,
}

/// The `lint:` section of psd.yaml: the same keys as a `.psd-lint.yaml` (which wins when both
/// exist).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LintConfig {
    /// External hosts must be under this domain. Default: the cluster's `domain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The lowest severity that makes `psd lint` exit 1 (`error`, `warning`, `info`).
    /// Default: `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<LintLevel>,
    /// Per rule id (or id prefix ending in `/`, such as `images/`): `off` or a severity
    /// (`psd lint --list-rules` lists the ids).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub rules: std::collections::BTreeMap<String, LintLevel>,
}

impl LintConfig {
    /// Whether nothing is set (then psd.yaml does not show the section).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            domain: "almckay.io".into(),
            acme: AcmeConfig::default(),
            flux: FluxConfig::default(),
            sops: SopsConfig::default(),
            storage_class: "local-path".into(),
            services: ServicesConfig::default(),
            exposure: ExposureConfig::default(),
            versions: VersionsConfig::default(),
            lint: LintConfig::default(),
        }
    }
}

/// Which Let's Encrypt ClusterIssuer the ingress annotations point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AcmeEnvironment {
    /// `letsencrypt-staging`: untrusted certificates, generous rate limits (for first runs).
    Staging,
    /// `letsencrypt-prod`: trusted certificates, strict rate limits.
    Production,
}

impl AcmeEnvironment {
    /// The ClusterIssuer name psd renders for this environment.
    pub fn issuer_name(self) -> &'static str {
        match self {
            AcmeEnvironment::Staging => "letsencrypt-staging",
            AcmeEnvironment::Production => "letsencrypt-prod",
        }
    }
}

/// Let's Encrypt (ACME) settings. Both a staging and a production ClusterIssuer are always
/// rendered; `issuer` chooses the one ingresses use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeConfig {
    /// The ACME account email (expiry notices go there). Empty (the default): `admin@` +
    /// `domain`; read it through [`ClusterConfig::acme_email`].
    pub email: String,
    /// The issuer ingresses use: `production` or `staging`. Default: `production`.
    pub issuer: AcmeEnvironment,
    /// Recursive nameservers cert-manager uses for its DNS-01 self-check
    /// (`dns01RecursiveNameservers`, `host:port` list separated by commas). Needed when the
    /// cluster's DNS hides the public zone. Empty string: cert-manager's default (cluster DNS).
    /// Default: `1.1.1.1:53,1.0.0.1:53`.
    pub dns01_nameservers: String,
}

impl Default for AcmeConfig {
    fn default() -> Self {
        Self {
            email: String::new(),
            issuer: AcmeEnvironment::Production,
            dns01_nameservers: "1.1.1.1:53,1.0.0.1:53".into(),
        }
    }
}

/// Flux settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FluxConfig {
    /// The cluster's name: the entry folder is `gitops/clusters/<cluster_name>/`, which is the
    /// `--path` to give `flux bootstrap` (a DNS-1123 label). Default: `k3s`.
    pub cluster_name: String,
    /// The name of the Flux `GitRepository` source the Kustomizations read (the one
    /// `flux bootstrap` creates). Default: `flux-system`.
    pub source_name: String,
    /// Folder of the rendered tree, relative to the repository root; also the prefix of every
    /// Kustomization `path`. Default: `gitops`.
    pub root: String,
    /// How often Flux reconciles the Kustomizations (a Go duration). Default: `10m`.
    pub interval: String,
}

impl Default for FluxConfig {
    fn default() -> Self {
        Self {
            cluster_name: "k3s".into(),
            source_name: "flux-system".into(),
            root: "gitops".into(),
            interval: "10m".into(),
        }
    }
}

/// SOPS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SopsConfig {
    /// age recipients (`age1…`) every Secret is encrypted to, used to write `.sops.yaml` when
    /// the repository has none. Once `.sops.yaml` exists it is the source of truth: a list here
    /// must name the same recipients, or the render stops. Empty: the first render creates a
    /// key in the user's sops key file (`$SOPS_AGE_KEY_FILE`, else
    /// `~/.config/sops/age/keys.txt`) and a `.sops.yaml` for it. Default: empty.
    pub age_recipients: Vec<String>,
}

/// The services psd renders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServicesConfig {
    /// PostgreSQL run by the CloudNativePG operator: a `Cluster` named `postgresql` in namespace
    /// `database`, exposed on Traefik entry point `postgresql` (TCP 5432).
    pub postgresql: PostgresqlConfig,
    /// Redis, served by Valkey (BSD-licensed, speaks the Redis protocol) from its official
    /// chart, standalone, in namespace `redis`, exposed on Traefik entry point `redis`
    /// (TCP 6379).
    pub redis: RedisConfig,
    /// Authentik in namespace `auth`, served over HTTPS at `<host>.<domain>`; its database lives
    /// in the PostgreSQL above (so it needs PostgreSQL enabled).
    pub authentik: AuthentikConfig,
}

/// PostgreSQL settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresqlConfig {
    /// Render PostgreSQL. Default: `true`.
    pub enabled: bool,
    /// PostgreSQL instances (1 to 9). `1` suits a single node (and disables the operator's
    /// PodDisruptionBudgets, so draining the node cannot hang); `3` on a cluster of three or
    /// more nodes gives a primary with two replicas on different nodes (required pod
    /// anti-affinity) and switchover on updates. Default: `1`.
    pub instances: u8,
    /// Size of each instance's data volume (a Kubernetes quantity such as `20Gi`).
    /// Default: `20Gi`.
    pub size: String,
    /// Storage class of the data volume; empty: the top-level `storage_class`. Default: empty.
    pub storage_class: String,
    /// The application database created at bootstrap (`bootstrap.initdb.database`, an SQL
    /// identifier). Default: `app`.
    pub database: String,
    /// The application database's owner (`bootstrap.initdb.owner`, an SQL identifier); its
    /// password is in Secret `database/postgresql-app-credentials`. Default: `app`.
    pub username: String,
}

impl Default for PostgresqlConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            instances: 1,
            size: "20Gi".into(),
            storage_class: String::new(),
            database: "app".into(),
            username: "app".into(),
        }
    }
}

/// Redis settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Render Redis (Valkey). Default: `true`.
    pub enabled: bool,
    /// Size of the data volume (a Kubernetes quantity). Default: `8Gi`.
    pub size: String,
    /// Storage class of the data volume; empty: the top-level `storage_class`. Default: empty.
    pub storage_class: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            size: "8Gi".into(),
            storage_class: String::new(),
        }
    }
}

/// Authentik settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthentikConfig {
    /// Render Authentik. Default: `true`.
    pub enabled: bool,
    /// Host label: Authentik is served at `<host>.<domain>` (a DNS-1123 label). Default: `auth`.
    pub host: String,
    /// Authentik's own database inside PostgreSQL, created by a CloudNativePG `Database` (an
    /// SQL identifier). Default: `authentik`.
    pub database: String,
    /// The PostgreSQL role Authentik connects as, a managed role of the `Cluster` (an SQL
    /// identifier). Default: `authentik`.
    pub username: String,
    /// Email of the initial `akadmin` user (`AUTHENTIK_BOOTSTRAP_EMAIL`).
    /// Default: the ACME email.
    pub bootstrap_email: String,
}

impl Default for AuthentikConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            host: "auth".into(),
            database: "authentik".into(),
            username: "authentik".into(),
            bootstrap_email: String::new(),
        }
    }
}

/// Who may reach Traefik's entry points.
///
/// psd adds TCP entry points for PostgreSQL and Redis to K3s' Traefik. K3s' ServiceLB would
/// publish them in clear text on every node address; psd limits the whole Traefik
/// LoadBalancer Service to `source_ranges` (ServiceLB drops every other source) and turns off
/// its NodePorts, which source ranges do not cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExposureConfig {
    /// Source address ranges (CIDR) allowed to reach Traefik (`loadBalancerSourceRanges`).
    /// Must not be empty while a data service is enabled. Add `fd7a:115c:a1e0::/48` only on a
    /// dual-stack cluster. Default: `[100.64.0.0/10]`, the tailnet's IPv4 range.
    pub source_ranges: Vec<String>,
    /// Redirect plain HTTP on entry point `web` to HTTPS (`websecure`), permanently.
    /// Default: `true`.
    pub https_redirect: bool,
}

impl Default for ExposureConfig {
    fn default() -> Self {
        Self {
            source_ranges: vec![TAILNET_IPV4_RANGE.into()],
            https_redirect: true,
        }
    }
}

/// The tailnet's IPv4 range (Tailscale's CGNAT block).
pub const TAILNET_IPV4_RANGE: &str = "100.64.0.0/10";

/// Every pinned version of the rendered tree: chart tags of the Flux `OCIRepository`s and the
/// images the charts and the operator run. Changing one here is the whole upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VersionsConfig {
    /// cert-manager chart tag in `oci://quay.io/jetstack/charts/cert-manager`.
    /// Default: `v1.21.1`.
    pub cert_manager: String,
    /// CloudNativePG operator chart tag in `oci://ghcr.io/cloudnative-pg/charts/cloudnative-pg`.
    /// Default: `0.29.0` (operator 1.30.0).
    pub cloudnative_pg: String,
    /// PostgreSQL image of the `Cluster` (`imageName`): a CloudNativePG image whose tag starts
    /// with the major version (never `latest`), optionally with an `@sha256:` digest.
    /// Default: `ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie`.
    pub postgresql_image: String,
    /// Valkey chart tag in `oci://ghcr.io/valkey-io/valkey-helm/valkey`. Default: `0.11.0`.
    pub valkey: String,
    /// Valkey image tag in `docker.io/valkey/valkey`. Default: `9.1.1`.
    pub valkey_image: String,
    /// Authentik chart tag in `oci://ghcr.io/goauthentik/helm-charts/authentik`.
    /// Default: `2026.8.0`.
    pub authentik: String,
}

impl Default for VersionsConfig {
    fn default() -> Self {
        Self {
            cert_manager: "v1.21.1".into(),
            cloudnative_pg: "0.29.0".into(),
            postgresql_image: "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie".into(),
            valkey: "0.11.0".into(),
            valkey_image: "9.1.1".into(),
            authentik: "2026.8.0".into(),
        }
    }
}

/// Keys of the first stack (Bitnami) that stack v2 removed: (dotted path, what replaces it).
const REMOVED_KEYS: &[(&str, &str)] = &[
    (
        "images",
        "the Bitnami image overrides are gone: PostgreSQL runs on CloudNativePG \
         (`versions.postgresql_image`) and Redis on Valkey (`versions.valkey_image`)",
    ),
    (
        "charts",
        "chart pins moved to `versions` (cert_manager, cloudnative_pg, valkey, authentik)",
    ),
    (
        "services.postgresql.image_tag",
        "the image is pinned in `versions.postgresql_image`",
    ),
    (
        "services.redis.image_tag",
        "the image is pinned in `versions.valkey_image`",
    ),
];

impl ClusterConfig {
    /// Parses a `psd.yaml`. Missing fields take their defaults; unknown keys, wrong types and
    /// YAML syntax errors are reported with line and column. The result is not yet validated:
    /// call [`ClusterConfig::validate`].
    ///
    /// # Errors
    /// [`ClusterError::Parse`] with the location of the problem.
    pub fn from_yaml(text: &str) -> Result<Self, ClusterError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let opts = serde_saphyr::options! {
            strict_booleans: true,
        };
        serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            removed_key(text).unwrap_or_else(|| ClusterError::Parse(parse_message(&e.to_string())))
        })
    }

    /// [`ClusterConfig::from_yaml`] for text read from `source` (a file path), which the
    /// error's snippet header then names instead of `<input>`.
    ///
    /// # Errors
    /// [`ClusterError::Parse`] with the location of the problem.
    pub fn from_yaml_source(text: &str, source: &str) -> Result<Self, ClusterError> {
        Self::from_yaml(text).map_err(|e| match e {
            ClusterError::Parse(m) => {
                ClusterError::Parse(m.replace("--> <input>:", &format!("--> {source}:")))
            }
            other => other,
        })
    }

    /// The host Authentik is served at (`<host>.<domain>`).
    pub fn authentik_host(&self) -> String {
        format!("{}.{}", self.services.authentik.host, self.domain)
    }

    /// The storage class PostgreSQL's volume uses.
    pub fn postgresql_storage_class(&self) -> &str {
        non_empty_or(&self.services.postgresql.storage_class, &self.storage_class)
    }

    /// The storage class of Redis' (Valkey's) volume.
    pub fn redis_storage_class(&self) -> &str {
        non_empty_or(&self.services.redis.storage_class, &self.storage_class)
    }

    /// The ACME account email: `acme.email`, else `admin@<domain>`.
    pub fn acme_email(&self) -> String {
        if self.acme.email.is_empty() {
            format!("admin@{}", self.domain)
        } else {
            self.acme.email.clone()
        }
    }

    /// The email of Authentik's initial admin: `services.authentik.bootstrap_email`, else the
    /// ACME email.
    pub fn authentik_bootstrap_email(&self) -> String {
        if self.services.authentik.bootstrap_email.is_empty() {
            self.acme_email()
        } else {
            self.services.authentik.bootstrap_email.clone()
        }
    }

    /// Checks every value that must be valid for the rendered tree to work.
    ///
    /// # Errors
    /// The first [`ClusterError::Invalid`] found, naming the field.
    pub fn validate(&self) -> Result<(), ClusterError> {
        check("domain", validate_domain(&self.domain))?;
        check("acme.email", validate_email(&self.acme_email()))?;
        for (i, ns) in self
            .acme
            .dns01_nameservers
            .split(',')
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            check(
                &format!("acme.dns01_nameservers[{i}]"),
                validate_host_port(ns),
            )?;
        }
        check("flux.cluster_name", validate_label(&self.flux.cluster_name))?;
        check(
            "flux.source_name",
            validate_subdomain(&self.flux.source_name),
        )?;
        check("flux.root", validate_relative_dir(&self.flux.root))?;
        check("flux.interval", validate_duration(&self.flux.interval))?;
        for (i, r) in self.sops.age_recipients.iter().enumerate() {
            check(
                &format!("sops.age_recipients[{i}]"),
                validate_age_recipient(r),
            )?;
        }
        check("storage_class", validate_subdomain(&self.storage_class))?;
        let pg = &self.services.postgresql;
        check("services.postgresql.instances", {
            if (1..=9).contains(&pg.instances) {
                Ok(())
            } else {
                Err(format!(
                    "{} instances: use 1 on a single node, 3 for high availability (at most 9)",
                    pg.instances
                ))
            }
        })?;
        check("services.postgresql.size", validate_quantity(&pg.size))?;
        if !pg.storage_class.is_empty() {
            check(
                "services.postgresql.storage_class",
                validate_subdomain(&pg.storage_class),
            )?;
        }
        check(
            "services.postgresql.database",
            validate_sql_identifier(&pg.database),
        )?;
        check(
            "services.postgresql.username",
            validate_sql_identifier(&pg.username),
        )?;
        let rd = &self.services.redis;
        check("services.redis.size", validate_quantity(&rd.size))?;
        if !rd.storage_class.is_empty() {
            check(
                "services.redis.storage_class",
                validate_subdomain(&rd.storage_class),
            )?;
        }
        let ak = &self.services.authentik;
        check("services.authentik.host", validate_label(&ak.host))?;
        check(
            "services.authentik.database",
            validate_sql_identifier(&ak.database),
        )?;
        check(
            "services.authentik.username",
            validate_sql_identifier(&ak.username),
        )?;
        if !ak.bootstrap_email.is_empty() {
            check(
                "services.authentik.bootstrap_email",
                validate_email(&ak.bootstrap_email),
            )?;
        }
        check("services.authentik.host", {
            let host = self.authentik_host();
            if host.len() > 253 {
                Err(format!("`{host}` is longer than 253 characters"))
            } else {
                Ok(())
            }
        })?;
        if ak.enabled && !pg.enabled {
            return Err(ClusterError::Invalid {
                field: "services.authentik.enabled".into(),
                reason: "Authentik keeps its data in PostgreSQL: enable services.postgresql too"
                    .into(),
            });
        }
        if ak.enabled && pg.enabled && (ak.username == pg.username || ak.database == pg.database) {
            return Err(ClusterError::Invalid {
                field: "services.authentik.username".into(),
                reason: "Authentik needs its own PostgreSQL user and database, different from \
                         services.postgresql.username/database"
                    .into(),
            });
        }
        for (i, range) in self.exposure.source_ranges.iter().enumerate() {
            check(
                &format!("exposure.source_ranges[{i}]"),
                validate_cidr(range),
            )?;
        }
        if self.exposure.source_ranges.is_empty() && (pg.enabled || rd.enabled) {
            return Err(ClusterError::Invalid {
                field: "exposure.source_ranges".into(),
                reason: format!(
                    "empty, so the PostgreSQL/Redis ports would be open to every network the \
                     nodes are on; list the ranges allowed in (the tailnet is \
                     {TAILNET_IPV4_RANGE})"
                ),
            });
        }
        let v = &self.versions;
        for (field, tag) in [
            ("versions.cert_manager", &v.cert_manager),
            ("versions.cloudnative_pg", &v.cloudnative_pg),
            ("versions.valkey", &v.valkey),
            ("versions.valkey_image", &v.valkey_image),
            ("versions.authentik", &v.authentik),
        ] {
            check(field, validate_tag(tag))?;
            if tag.is_empty() || tag == "latest" {
                return Err(ClusterError::Invalid {
                    field: field.into(),
                    reason: "a pinned version is required (not empty, not `latest`)".into(),
                });
            }
        }
        check(
            "versions.postgresql_image",
            validate_postgres_image(&v.postgresql_image),
        )?;
        Ok(())
    }

    /// The default description as YAML (what `psd config default` prints).
    pub fn default_yaml() -> String {
        // Serialising plain strings, bools and lists cannot fail.
        serde_saphyr::to_string(&Self::default()).unwrap_or_default()
    }
}

/// A key of the first stack in `text`, as a clear error saying what replaced it.
fn removed_key(text: &str) -> Option<ClusterError> {
    let doc: serde_json::Value = serde_saphyr::from_str(text).ok()?;
    REMOVED_KEYS.iter().find_map(|(path, instead)| {
        let found = path
            .split('.')
            .try_fold(&doc, |v, key| v.get(key))
            .is_some();
        found.then(|| ClusterError::Invalid {
            field: (*path).into(),
            reason: format!(
                "this key belongs to the Bitnami stack that psd no longer renders: {instead}. \
                 Remove it from psd.yaml (docs/MIGRATION-stack-v2.md explains the move)"
            ),
        })
    })
}

fn non_empty_or<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn check(field: &str, r: Result<(), String>) -> Result<(), ClusterError> {
    r.map_err(|reason| ClusterError::Invalid {
        field: field.into(),
        reason: shorten_quoted(&reason),
    })
}

/// What the YAML parser says, in a user's words: its hints to programmers (which Rust type or
/// parser option to use) become what to change in `psd.yaml`, and long lines are cut.
fn parse_message(raw: &str) -> String {
    const REWORDED: [(&str, &str); 6] = [
        (
            ", set DuplicateKeyPolicy in Options if acceptable",
            " (each key may appear once: remove one of them)",
        ),
        (
            "multiple YAML documents detected; use from_str_multiple or \
             from_str_multiple_with_options",
            "more than one YAML document (a `---` line): psd.yaml holds one description",
        ),
        (
            "cannot deserialize null into string; use Option<String>",
            "this key has no value: give it one, or remove the line to use the default",
        ),
        (
            "invalid boolean (strict mode expects true/false)",
            "expected `true` or `false`",
        ),
        ("invalid u8", "expected a whole number from 0 to 255"),
        (
            "expected mapping start",
            "expected `key: value` lines here (a mapping)",
        ),
    ];
    let mut m = raw.strip_prefix("error: ").unwrap_or(raw).to_owned();
    for (from, to) in REWORDED {
        m = m.replace(from, to);
    }
    // A Rust type name left in a message (`Option<…>`, `u16`, …) means nothing to a user.
    m = m.replace("; use Option<", " (Option<");
    m.lines()
        .map(|l| shorten_line(l, 160))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` cut to `max` characters, saying how long it was.
fn shorten_line(line: &str, max: usize) -> String {
    let n = line.chars().count();
    if n <= max {
        return line.to_owned();
    }
    let head: String = line.chars().take(max).collect();
    format!("{head}… ({n} characters)")
}

/// `reason` with every `quoted` value longer than 64 characters cut to its first 40 (the value
/// is in the user's file; the message needs only enough to find it).
fn shorten_quoted(reason: &str) -> String {
    reason
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            let n = part.chars().count();
            if i % 2 == 1 && n > 64 {
                let head: String = part.chars().take(40).collect();
                format!("{head}… ({n} characters)")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// The JSON Schema of `psd.yaml`, generated from [`ClusterConfig`]'s types and doc comments.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ClusterConfig)).unwrap_or_default()
}

/// A DNS-1123 label: 1–63 of `a-z0-9-`, starting and ending alphanumeric
/// (the rule of [`crate::names::validate_dns_label`]).
pub fn validate_label(s: &str) -> Result<(), String> {
    crate::names::validate_dns_label("DNS-1123 label", s).map_err(|e| e.to_string())
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters
/// (the rule of [`crate::names::validate_dns_subdomain`]).
pub fn validate_subdomain(s: &str) -> Result<(), String> {
    crate::names::validate_dns_subdomain("DNS-1123 subdomain", s).map_err(|e| e.to_string())
}

/// A DNS zone: a DNS-1123 subdomain with at least two labels and a non-numeric top label.
pub fn validate_domain(s: &str) -> Result<(), String> {
    validate_subdomain(s)?;
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("`{s}` needs at least two labels, e.g. example.org"));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("`{s}` has a numeric top-level label"));
    }
    Ok(())
}

/// An email address as ACME accepts it: the rule of [`crate::names::validate_email`], with a
/// domain that is a DNS zone ([`validate_domain`]).
pub fn validate_email(s: &str) -> Result<(), String> {
    crate::names::validate_email("email address", s).map_err(|e| e.to_string())?;
    let domain = s.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    validate_domain(domain).map_err(|e| format!("`{s}` is not a usable email address: {e}"))
}

/// A Kubernetes quantity for a volume size: a positive decimal number with an optional binary
/// (`Ki` … `Ei`) or decimal (`k`, `M` … `E`) suffix, e.g. `20Gi`.
pub fn validate_quantity(s: &str) -> Result<(), String> {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "",
    ];
    let bad = || {
        format!(
            "`{s}` is not a Kubernetes quantity for a size (a number with a suffix like Mi, Gi, \
             Ti or G, e.g. 20Gi)"
        )
    };
    let suffix = SUFFIXES
        .iter()
        .find(|suf| !suf.is_empty() && s.ends_with(*suf))
        .copied()
        .unwrap_or("");
    let number = &s[..s.len() - suffix.len()];
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (!number.contains('.') || !frac.is_empty());
    if !digits_ok || number.bytes().all(|b| b == b'0' || b == b'.') {
        return Err(bad());
    }
    Ok(())
}

/// An SQL identifier safe to put unquoted in a script: `[a-z_][a-z0-9_]*`, at most 63 bytes.
pub fn validate_sql_identifier(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a simple SQL identifier (1-63 characters of a-z, 0-9 and '_', not \
             starting with a digit)"
        ))
    }
}

/// An OCI tag (empty allowed: "use the default").
fn validate_tag(s: &str) -> Result<(), String> {
    let ok = s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        && !s.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a valid image or chart tag"))
    }
}

/// A CloudNativePG PostgreSQL image: `registry/path:TAG[@sha256:HEX]` whose tag starts with
/// the PostgreSQL major version (the operator rejects `latest` and derives the major from
/// the tag).
fn validate_postgres_image(s: &str) -> Result<(), String> {
    let bad = |why: &str| {
        format!(
            "`{s}` {why}; use an image such as \
             ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie"
        )
    };
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("has a digest that is not sha256:<64 hex digits>"));
        }
    }
    let Some((repo, tag)) = name.rsplit_once(':').filter(|(r, _)| !r.ends_with('/')) else {
        return Err(bad("has no tag"));
    };
    let repo_ok = !repo.is_empty()
        && repo.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-:".contains(&b))
        });
    if !repo_ok {
        return Err(bad("is not an image reference"));
    }
    validate_tag(tag)?;
    if !tag.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err(bad(
            "has a tag that does not start with the PostgreSQL major version",
        ));
    }
    Ok(())
}

/// An IPv4 or IPv6 network in CIDR notation, e.g. `100.64.0.0/10`.
fn validate_cidr(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not a CIDR range such as 100.64.0.0/10");
    let (addr, bits) = s.split_once('/').ok_or_else(bad)?;
    let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    if bits > max || (bits.to_string() != s.split_once('/').map_or("", |(_, b)| b)) {
        return Err(bad());
    }
    Ok(())
}

fn validate_host_port(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not a host:port nameserver such as 1.1.1.1:53");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = host.parse::<std::net::IpAddr>().is_ok() || validate_subdomain(host).is_ok();
    if !host_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad());
    }
    Ok(())
}

fn validate_relative_dir(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a relative folder path (no '..', no leading '/')"
        ))
    }
}

/// A Go duration as Flux accepts it, e.g. `10m`, `1h30m`, `30s`.
fn validate_duration(s: &str) -> Result<(), String> {
    let bad = || format!("`{s}` is not a duration such as 10m or 1h30m");
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &rest[digits..];
        let unit = ["ms", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(*u))
            .ok_or_else(bad)?;
        rest = &rest[unit.len()..];
    }
    Ok(())
}

/// An age X25519 recipient: `age1` followed by 58 bech32 characters (lower case).
fn validate_age_recipient(s: &str) -> Result<(), String> {
    if s.parse::<age::x25519::Recipient>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an age recipient (age1… as printed by age-keygen -y)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_is_the_design_and_valid() {
        let c = ClusterConfig::default();
        c.validate().unwrap();
        assert_eq!(c.domain, "almckay.io");
        assert_eq!(c.acme_email(), "admin@almckay.io");
        assert_eq!(c.services.postgresql.size, "20Gi");
        assert_eq!(c.services.redis.size, "8Gi");
        assert_eq!(c.storage_class, "local-path");
        assert_eq!(c.flux.cluster_name, "k3s");
        assert_eq!(c.services.postgresql.instances, 1);
        assert_eq!(c.exposure.source_ranges, ["100.64.0.0/10"]);
        assert_eq!(c.authentik_host(), "auth.almckay.io");
        assert_eq!(c.authentik_bootstrap_email(), "admin@almckay.io");
    }

    /// The parser's error for `text`, as a user sees it.
    fn parse_error(text: &str) -> String {
        ClusterConfig::from_yaml(text).unwrap_err().to_string()
    }

    fn assert_no_internals(m: &str) {
        for internal in [
            "Option<",
            "DuplicateKeyPolicy",
            "from_str_multiple",
            "u8",
            "error: ",
        ] {
            assert!(!m.contains(internal), "{internal:?} in {m:?}");
        }
    }

    #[test]
    fn parse_errors_speak_to_users_not_programmers() {
        let cases = [
            ("domain: a.io\ndomain: b.io\n", "remove one of them"),
            ("domain: a.io\n---\ndomain: b.io\n", "one description"),
            ("services:\n  postgresql:\n    size: ~\n", "has no value"),
            (
                "services:\n  redis:\n    enabled: yes\n",
                "`true` or `false`",
            ),
            ("services:\n  postgresql:\n    instances: 300\n", "0 to 255"),
            ("- a\n- b\n", "mapping"),
        ];
        for (text, hint) in cases {
            let m = parse_error(text);
            assert!(m.contains(hint), "{hint:?} not in {m:?} for {text:?}");
            assert_no_internals(&m);
        }
    }

    #[test]
    fn huge_values_are_not_echoed_back() {
        let huge = "x".repeat(10 * 1024 * 1024);
        let m = parse_error(&format!("domain: [{huge}\n"));
        assert!(m.len() < 2000, "{} bytes", m.len());
        let c = ClusterConfig::from_yaml(&format!("domain: {huge}é.io\n")).unwrap();
        let m = c.validate().unwrap_err().to_string();
        assert!(
            m.len() < 400,
            "{} bytes: {}",
            m.len(),
            &m[..400.min(m.len())]
        );
        assert!(m.contains("characters"), "{m}");
        assert_eq!(m.matches('`').count() % 2, 0, "{m}");
    }

    #[test]
    fn shorten_quoted_keeps_short_values_and_balanced_quotes() {
        assert_eq!(shorten_quoted("bad `a.io` here"), "bad `a.io` here");
        let long = "é".repeat(100);
        let s = shorten_quoted(&format!("bad `{long}` and `b`"));
        assert_eq!(
            s,
            format!("bad `{}… (100 characters)` and `b`", "é".repeat(40))
        );
        assert_eq!(shorten_quoted("no quotes"), "no quotes");
        assert_eq!(shorten_quoted(""), "");
        assert_eq!(shorten_quoted("`"), "`");
    }

    #[test]
    fn emails_follow_the_domain_unless_set() {
        let c = ClusterConfig::from_yaml("domain: example.org\n").unwrap();
        c.validate().unwrap();
        assert_eq!(c.acme_email(), "admin@example.org");
        assert_eq!(c.authentik_bootstrap_email(), "admin@example.org");
        let c = ClusterConfig::from_yaml("domain: example.org\nacme:\n  email: ops@example.net\n")
            .unwrap();
        assert_eq!(c.acme_email(), "ops@example.net");
        assert_eq!(c.authentik_bootstrap_email(), "ops@example.net");
        let c = ClusterConfig::from_yaml(
            "domain: example.org\nservices:\n  authentik:\n    bootstrap_email: me@example.com\n",
        )
        .unwrap();
        assert_eq!(c.acme_email(), "admin@example.org");
        assert_eq!(c.authentik_bootstrap_email(), "me@example.com");
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(
            ClusterConfig::from_yaml("").unwrap(),
            ClusterConfig::default()
        );
        assert_eq!(
            ClusterConfig::from_yaml("# nothing\n").unwrap(),
            ClusterConfig::default()
        );
    }

    #[test]
    fn default_yaml_round_trips() {
        let text = ClusterConfig::default_yaml();
        assert_eq!(
            ClusterConfig::from_yaml(&text).unwrap(),
            ClusterConfig::default()
        );
    }

    #[test]
    fn unknown_key_reports_line_and_column() {
        let err =
            ClusterConfig::from_yaml("domain: example.org\nservices:\n  redis:\n    sise: 1Gi\n")
                .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("sise"), "{msg}");
        assert!(msg.contains("line 4"), "{msg}");
        assert!(msg.contains("column 5"), "{msg}");
    }

    #[test]
    fn parse_errors_name_the_file() {
        let text = "domain: example.org\nservices:\n  postgres: {}\n";
        let msg = ClusterConfig::from_yaml_source(text, "cluster/psd.yaml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("--> cluster/psd.yaml:3:3"), "{msg}");
        assert!(!msg.contains("<input>"), "{msg}");
    }

    #[test]
    fn wrong_type_reports_location() {
        let msg = ClusterConfig::from_yaml("services:\n  redis:\n    enabled: yes\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = ClusterConfig::from_yaml("services:\n  redis:\n    enabled: false\n").unwrap();
        assert!(!c.services.redis.enabled);
        assert_eq!(c.services.redis.size, "8Gi");
        assert!(c.services.postgresql.enabled);
    }

    #[test]
    fn invalid_values_name_the_field() {
        let cases: &[(&str, &str)] = &[
            ("domain: Example.org\n", "domain"),
            ("domain: localhost\n", "domain"),
            ("acme:\n  email: admin\n", "acme.email"),
            ("acme:\n  email: a@b\n", "acme.email"),
            (
                "services:\n  postgresql:\n    size: 20GB\n",
                "services.postgresql.size",
            ),
            (
                "services:\n  redis:\n    size: '0Gi'\n",
                "services.redis.size",
            ),
            ("storage_class: Local_Path\n", "storage_class"),
            ("flux:\n  cluster_name: my.cluster\n", "flux.cluster_name"),
            (
                "services:\n  postgresql:\n    database: \"x; DROP\"\n",
                "services.postgresql.database",
            ),
            (
                "sops:\n  age_recipients: [age1nope]\n",
                "sops.age_recipients[0]",
            ),
            (
                "services:\n  postgresql:\n    enabled: false\n",
                "services.authentik.enabled",
            ),
            ("flux:\n  root: ../out\n", "flux.root"),
            (
                "services:\n  postgresql:\n    instances: 0\n",
                "services.postgresql.instances",
            ),
            (
                "exposure:\n  source_ranges: [100.64.0.0/33]\n",
                "exposure.source_ranges[0]",
            ),
            (
                "exposure:\n  source_ranges: [tailnet]\n",
                "exposure.source_ranges[0]",
            ),
            ("exposure:\n  source_ranges: []\n", "exposure.source_ranges"),
            (
                "versions:\n  postgresql_image: ghcr.io/cloudnative-pg/postgresql:latest\n",
                "versions.postgresql_image",
            ),
            (
                "versions:\n  postgresql_image: ghcr.io/cloudnative-pg/postgresql\n",
                "versions.postgresql_image",
            ),
            (
                "versions:\n  valkey_image: latest\n",
                "versions.valkey_image",
            ),
        ];
        for (yaml, field) in cases {
            match ClusterConfig::from_yaml(yaml).unwrap().validate() {
                Err(ClusterError::Invalid { field: f, .. }) => assert_eq!(&f, field, "{yaml}"),
                other => panic!("{yaml}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_of_the_bitnami_stack_say_what_replaced_them() {
        for (yaml, field, hint) in [
            (
                "images:\n  namespace: bitnamilegacy\n",
                "images",
                "versions.postgresql_image",
            ),
            ("charts:\n  postgresql: 17.1.0\n", "charts", "versions"),
            (
                "services:\n  redis:\n    image_tag: 8.2.1\n",
                "services.redis.image_tag",
                "versions.valkey_image",
            ),
        ] {
            match ClusterConfig::from_yaml(yaml) {
                Err(ClusterError::Invalid { field: f, reason }) => {
                    assert_eq!(f, field, "{yaml}");
                    assert!(reason.contains(hint), "{reason}");
                    assert!(reason.contains("MIGRATION-stack-v2.md"), "{reason}");
                }
                other => panic!("{yaml}: {other:?}"),
            }
        }
        // An unknown key that never existed is still the parser's located error.
        let msg = ClusterConfig::from_yaml("imgs: {}\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn exposure_and_images() {
        for ok in [
            "100.64.0.0/10",
            "fd7a:115c:a1e0::/48",
            "0.0.0.0/0",
            "10.0.0.1/32",
        ] {
            validate_cidr(ok).unwrap();
        }
        for bad in [
            "",
            "100.64.0.0",
            "100.64.0.0/",
            "100.64.0.0/010",
            "::/129",
            "x/8",
        ] {
            assert!(validate_cidr(bad).is_err(), "{bad}");
        }
        for ok in [
            "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie",
            "localhost:5000/pg/postgresql:17",
            "ghcr.io/cloudnative-pg/postgresql:18.6-202608170814-standard-trixie@sha256:771f9eab5225587af259d84680cc69a5b6e374ac32bb24effafde1f3368a1241",
        ] {
            validate_postgres_image(ok).unwrap();
        }
        for bad in [
            "postgresql",
            "ghcr.io/x/postgresql:latest",
            "ghcr.io/x/postgresql:18@sha256:abc",
            "GHCR.io/x/postgresql:18",
            "localhost:5000/postgresql",
        ] {
            assert!(validate_postgres_image(bad).is_err(), "{bad}");
        }
        // Without any data service the ranges may be empty (Traefik serves only HTTP(S)).
        let mut c = ClusterConfig::default();
        c.exposure.source_ranges.clear();
        assert!(c.validate().is_err());
        c.services.postgresql.enabled = false;
        c.services.authentik.enabled = false;
        c.services.redis.enabled = false;
        c.validate().unwrap();
    }

    #[test]
    fn quantities() {
        for ok in ["20Gi", "8Gi", "1", "1.5Ti", "500M", "100k"] {
            validate_quantity(ok).unwrap();
        }
        for bad in [
            "", "Gi", "20GB", "-1Gi", "1.Gi", "0", "0.0Gi", "20 Gi", "2e3",
        ] {
            assert!(validate_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schema_is_derived_from_the_types() {
        let schema = json_schema();
        let props = &schema["properties"];
        for key in [
            "domain",
            "acme",
            "flux",
            "sops",
            "storage_class",
            "services",
            "exposure",
            "versions",
        ] {
            assert!(props.get(key).is_some(), "{key} missing from schema");
        }
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        // The schema accepts the default serialised as JSON.
        let validator = jsonschema::validator_for(&schema).unwrap();
        let default = serde_json::to_value(ClusterConfig::default()).unwrap();
        assert!(validator.is_valid(&default));
        let bad = serde_json::json!({"domian": "x"});
        assert!(!validator.is_valid(&bad));
    }

    proptest! {
        #[test]
        fn valid_labels_pass(s in "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?") {
            prop_assert!(validate_label(&s).is_ok());
        }

        #[test]
        fn serialised_configs_parse_back(
            domain in "[a-z][a-z0-9]{0,10}\\.(org|io|net)",
            redis in any::<bool>(),
            size in 1u32..1000,
        ) {
            let mut c = ClusterConfig { domain, ..ClusterConfig::default() };
            c.services.redis.enabled = redis;
            c.services.postgresql.size = format!("{size}Gi");
            c.validate().unwrap();
            let text = serde_saphyr::to_string(&c).unwrap();
            prop_assert_eq!(ClusterConfig::from_yaml(&text).unwrap(), c);
        }
    }
}

#[cfg(test)]
mod lint_section_tests {
    use super::*;

    #[test]
    fn psd_yaml_may_hold_the_lint_settings() {
        let c = ClusterConfig::from_yaml(
            "domain: example.org\nlint:\n  fail_on: warning\n  rules:\n    images/: off\n    secrets/plaintext: warn\n",
        )
        .unwrap();
        assert_eq!(c.lint.fail_on, Some(LintLevel::Warning));
        assert_eq!(c.lint.rules["images/"], LintLevel::Off);
        assert_eq!(c.lint.rules["secrets/plaintext"], LintLevel::Warning);
        assert!(ClusterConfig::from_yaml("lint:\n  nope: 1\n").is_err());
        assert!(ClusterConfig::default().lint.is_empty());
        assert!(!ClusterConfig::default_yaml().contains("lint"));
    }
}
