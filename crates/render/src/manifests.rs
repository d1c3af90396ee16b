//! Builders for every plain (not secret) manifest, as ordered JSON trees.
//!
//! Shapes follow `shared/docs/gitops-apis.md` (checked against upstream): HelmRelease `v2` with
//! `chartRef` to an `OCIRepository` (`source.toolkit.fluxcd.io/v1`), Flux `Kustomization` `v1`
//! with SOPS decryption, cert-manager `crds.enabled`, staging and production ClusterIssuers with a
//! Cloudflare DNS-01 solver, Traefik v3 entry points with `expose: {default: true}` and
//! `traefik.io/v1alpha1` IngressRouteTCPs, Bitnami values with the keys the charts read.

use psd_model::cluster::ClusterConfig;
use psd_model::{AuthentikCredentials, CloudflareConfig, PostgreSQLCredentials, RedisCredentials};
use serde_json::{Value, json};

use crate::error::RenderError;
use crate::yaml;

/// Namespace of cert-manager (and of the Cloudflare token Secret, which a ClusterIssuer reads
/// from cert-manager's cluster-resource namespace).
pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";
/// Namespace of PostgreSQL.
pub const POSTGRESQL_NAMESPACE: &str = PostgreSQLCredentials::NAMESPACE;
/// Namespace of Redis.
pub const REDIS_NAMESPACE: &str = RedisCredentials::NAMESPACE;
/// Namespace of Authentik.
pub const AUTHENTIK_NAMESPACE: &str = AuthentikCredentials::NAMESPACE;
/// Namespace of Flux (sources and Kustomizations live there).
pub const FLUX_NAMESPACE: &str = "flux-system";
/// Name of the Secret holding the age private key Flux decrypts with (key `age.agekey`).
pub const SOPS_AGE_SECRET: &str = "sops-age";
/// The Secret with the SQL script that creates Authentik's database and user.
pub const POSTGRESQL_INITDB_SECRET: &str = "postgresql-initdb";
/// The key of the script in [`POSTGRESQL_INITDB_SECRET`].
pub const POSTGRESQL_INITDB_KEY: &str = "10-authentik.sql";
/// The TLS Secret of Authentik's ingress (owned by cert-manager's ingress-shim only).
pub const AUTHENTIK_TLS_SECRET: &str = "authentik-tls";
/// PostgreSQL's Service name and port (release `postgresql`, standalone).
pub const POSTGRESQL_SERVICE: (&str, u16) = ("postgresql", 5432);
/// Redis' master Service name and port (release `redis`, standalone).
pub const REDIS_SERVICE: (&str, u16) = ("redis-master", 6379);
/// The ClusterIssuers psd renders: (name, ACME directory).
pub const ISSUERS: [(&str, &str); 2] = [
    (
        "letsencrypt-staging",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    (
        "letsencrypt-prod",
        "https://acme-v02.api.letsencrypt.org/directory",
    ),
];

/// A `Namespace`.
pub fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "psd"}},
    })
}

/// A kustomize `kustomization.yaml` listing `resources` in the given order.
pub fn kustomization(resources: &[String]) -> Value {
    json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    })
}

/// An `OCIRepository` for a Helm chart in `flux-system`.
pub fn oci_repository(name: &str, url: &str, tag: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": "12h",
            "url": url,
            "ref": {"tag": tag},
            "layerSelector": {
                "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                "operation": "copy",
            },
        },
    })
}

/// The chart sources of the enabled services: (file name, manifest).
pub fn sources(cfg: &ClusterConfig) -> Vec<(String, Value)> {
    let mut out = vec![(
        "cert-manager.yaml".to_owned(),
        oci_repository(
            "cert-manager",
            "oci://quay.io/jetstack/charts/cert-manager",
            &cfg.charts.cert_manager,
        ),
    )];
    let s = &cfg.services;
    if s.postgresql.enabled {
        out.push((
            "postgresql.yaml".into(),
            oci_repository(
                "postgresql",
                "oci://registry-1.docker.io/bitnamicharts/postgresql",
                &cfg.charts.postgresql,
            ),
        ));
    }
    if s.redis.enabled {
        out.push((
            "redis.yaml".into(),
            oci_repository(
                "redis",
                "oci://registry-1.docker.io/bitnamicharts/redis",
                &cfg.charts.redis,
            ),
        ));
    }
    if s.authentik.enabled {
        out.push((
            "authentik.yaml".into(),
            oci_repository(
                "authentik",
                "oci://ghcr.io/goauthentik/helm-charts/authentik",
                &cfg.charts.authentik,
            ),
        ));
    }
    out
}

/// A `HelmRelease` (`v2`) using the helm-controller's recommended settings.
fn helm_release(name: &str, namespace: &str, values: Value, depends_on: &[(&str, &str)]) -> Value {
    let mut spec = serde_json::Map::new();
    spec.insert("interval".into(), json!("30m"));
    spec.insert("timeout".into(), json!("10m"));
    spec.insert(
        "chartRef".into(),
        json!({"kind": "OCIRepository", "name": name, "namespace": FLUX_NAMESPACE}),
    );
    if !depends_on.is_empty() {
        let deps: Vec<Value> = depends_on
            .iter()
            .map(|(n, ns)| json!({"name": n, "namespace": ns}))
            .collect();
        spec.insert("dependsOn".into(), Value::Array(deps));
    }
    spec.insert(
        "install".into(),
        json!({"crds": "CreateReplace", "strategy": {"name": "RetryOnFailure"}}),
    );
    spec.insert(
        "upgrade".into(),
        json!({"crds": "CreateReplace", "strategy": {"name": "RetryOnFailure"}}),
    );
    spec.insert("driftDetection".into(), json!({"mode": "enabled"}));
    spec.insert("values".into(), values);
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": Value::Object(spec),
    })
}

/// cert-manager's chart values.
pub fn cert_manager_values(cfg: &ClusterConfig) -> Value {
    let mut v = json!({"crds": {"enabled": true, "keep": true}});
    if !cfg.acme.dns01_nameservers.is_empty() {
        v["dns01RecursiveNameservers"] = json!(cfg.acme.dns01_nameservers);
        v["dns01RecursiveNameserversOnly"] = json!(true);
    }
    v
}

/// cert-manager's HelmRelease.
pub fn cert_manager_release(cfg: &ClusterConfig) -> Value {
    helm_release(
        "cert-manager",
        CERT_MANAGER_NAMESPACE,
        cert_manager_values(cfg),
        &[],
    )
}

/// A Let's Encrypt ClusterIssuer solving DNS-01 through Cloudflare for the cluster's zone.
pub fn cluster_issuer(cfg: &ClusterConfig, name: &str, server: &str) -> Value {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name},
        "spec": {
            "acme": {
                "server": server,
                "email": cfg.acme.email,
                "privateKeySecretRef": {"name": format!("{name}-account-key")},
                "solvers": [{
                    "selector": {"dnsZones": [cfg.domain]},
                    "dns01": {
                        "cloudflare": {
                            "apiTokenSecretRef": {
                                "name": CloudflareConfig::SECRET_NAME,
                                "key": CloudflareConfig::API_TOKEN_KEY,
                            },
                        },
                    },
                }],
            },
        },
    })
}

/// Traefik's extra TCP entry points for the enabled data services: (name, port).
pub fn tcp_entry_points(cfg: &ClusterConfig) -> Vec<(&'static str, u16)> {
    let mut out = Vec::new();
    if cfg.services.postgresql.enabled {
        out.push(("postgresql", POSTGRESQL_SERVICE.1));
    }
    if cfg.services.redis.enabled {
        out.push(("redis", REDIS_SERVICE.1));
    }
    out
}

/// The values K3s' packaged Traefik gets through the HelmChartConfig.
pub fn traefik_values(cfg: &ClusterConfig) -> Value {
    let mut ports = serde_json::Map::new();
    for (name, port) in tcp_entry_points(cfg) {
        ports.insert(
            name.into(),
            json!({
                "port": port,
                "exposedPort": port,
                "expose": {"default": true},
                "protocol": "TCP",
            }),
        );
    }
    json!({"ports": Value::Object(ports)})
}

/// K3s' `HelmChartConfig` for Traefik (the only supported way to customise the packaged chart).
///
/// # Errors
/// [`RenderError::Yaml`] if the values cannot be emitted.
pub fn traefik_helm_chart_config(cfg: &ClusterConfig) -> Result<Value, RenderError> {
    Ok(json!({
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": yaml::to_yaml(&traefik_values(cfg))?},
    }))
}

/// An `IngressRouteTCP` sending a whole entry point to a Service (non-TLS TCP can only match
/// ``HostSNI(`*`)``, so each data service gets its own entry point).
pub fn ingress_route_tcp(name: &str, namespace: &str, service: (&str, u16)) -> Value {
    json!({
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRouteTCP",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "entryPoints": [name],
            "routes": [{
                "match": "HostSNI(`*`)",
                "services": [{"name": service.0, "port": service.1}],
            }],
        },
    })
}

fn bitnami_image(cfg: &ClusterConfig, name: &str, tag: &str) -> Value {
    let mut image = json!({
        "registry": cfg.images.registry,
        "repository": format!("{}/{name}", cfg.images.namespace),
    });
    if !tag.is_empty() {
        image["tag"] = json!(tag);
    }
    image
}

fn bitnami_global(cfg: &ClusterConfig) -> Value {
    json!({"security": {"allowInsecureImages": cfg.images.allow_insecure_images}})
}

/// Bitnami PostgreSQL values.
pub fn postgresql_values(cfg: &ClusterConfig) -> Value {
    let pg = &cfg.services.postgresql;
    let mut primary = json!({
        "persistence": {
            "enabled": true,
            "size": pg.size,
            "storageClass": cfg.postgresql_storage_class(),
        },
    });
    if cfg.services.authentik.enabled {
        primary["initdb"] = json!({"scriptsSecret": POSTGRESQL_INITDB_SECRET});
    }
    json!({
        "global": bitnami_global(cfg),
        "image": bitnami_image(cfg, "postgresql", &pg.image_tag),
        "architecture": "standalone",
        "auth": {
            "username": pg.username,
            "database": pg.database,
            "existingSecret": PostgreSQLCredentials::SECRET_NAME,
            "secretKeys": {
                "adminPasswordKey": PostgreSQLCredentials::ADMIN_PASSWORD_KEY,
                "userPasswordKey": PostgreSQLCredentials::USER_PASSWORD_KEY,
            },
        },
        "primary": primary,
    })
}

/// PostgreSQL's HelmRelease.
pub fn postgresql_release(cfg: &ClusterConfig) -> Value {
    helm_release(
        "postgresql",
        POSTGRESQL_NAMESPACE,
        postgresql_values(cfg),
        &[],
    )
}

/// Bitnami Redis values.
pub fn redis_values(cfg: &ClusterConfig) -> Value {
    let rd = &cfg.services.redis;
    json!({
        "global": bitnami_global(cfg),
        "image": bitnami_image(cfg, "redis", &rd.image_tag),
        "architecture": "standalone",
        "auth": {
            "enabled": true,
            "existingSecret": RedisCredentials::SECRET_NAME,
            "existingSecretPasswordKey": RedisCredentials::PASSWORD_KEY,
        },
        "master": {
            "persistence": {
                "enabled": true,
                "size": rd.size,
                "storageClass": cfg.redis_storage_class(),
            },
        },
    })
}

/// Redis' HelmRelease.
pub fn redis_release(cfg: &ClusterConfig) -> Value {
    helm_release("redis", REDIS_NAMESPACE, redis_values(cfg), &[])
}

/// Authentik values: secrets come from `authentik-credentials` through `global.envFrom`,
/// non-secret database settings stay in values, the ingress gets its certificate from the
/// cert-manager annotation only (no separate Certificate for `authentik-tls`).
pub fn authentik_values(cfg: &ClusterConfig) -> Value {
    let ak = &cfg.services.authentik;
    let host = cfg.authentik_host();
    json!({
        "global": {
            "envFrom": [{"secretRef": {"name": AuthentikCredentials::SECRET_NAME}}],
        },
        "authentik": {
            "postgresql": {
                "host": format!(
                    "{}.{}.svc.cluster.local",
                    POSTGRESQL_SERVICE.0, POSTGRESQL_NAMESPACE
                ),
                "port": POSTGRESQL_SERVICE.1,
                "name": ak.database,
                "user": ak.username,
            },
        },
        "server": {
            "ingress": {
                "enabled": true,
                "ingressClassName": "traefik",
                "annotations": {"cert-manager.io/cluster-issuer": cfg.acme.issuer.issuer_name()},
                "hosts": [host],
                "pathType": "Prefix",
                "tls": [{"secretName": AUTHENTIK_TLS_SECRET, "hosts": [host]}],
                "https": false,
            },
        },
    })
}

/// Authentik's HelmRelease (waits for PostgreSQL).
pub fn authentik_release(cfg: &ClusterConfig) -> Value {
    helm_release(
        "authentik",
        AUTHENTIK_NAMESPACE,
        authentik_values(cfg),
        &[("postgresql", POSTGRESQL_NAMESPACE)],
    )
}

/// One Flux Kustomization (`kustomize.toolkit.fluxcd.io/v1`) with SOPS decryption.
pub fn flux_kustomization(
    cfg: &ClusterConfig,
    name: &str,
    path: &str,
    depends_on: &[&str],
) -> Value {
    let mut spec = serde_json::Map::new();
    spec.insert("interval".into(), json!(cfg.flux.interval));
    spec.insert("retryInterval".into(), json!("1m"));
    spec.insert("timeout".into(), json!("15m"));
    if !depends_on.is_empty() {
        let deps: Vec<Value> = depends_on.iter().map(|d| json!({"name": d})).collect();
        spec.insert("dependsOn".into(), Value::Array(deps));
    }
    spec.insert(
        "sourceRef".into(),
        json!({"kind": "GitRepository", "name": cfg.flux.source_name}),
    );
    spec.insert("path".into(), json!(format!("./{}/{path}", cfg.flux.root)));
    spec.insert("prune".into(), json!(true));
    spec.insert("wait".into(), json!(true));
    spec.insert(
        "decryption".into(),
        json!({"provider": "sops", "secretRef": {"name": SOPS_AGE_SECRET}}),
    );
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": Value::Object(spec),
    })
}

/// The SQL script that creates Authentik's role and database (run once by the PostgreSQL
/// chart's initdb on an empty data directory). Identifiers are validated SQL identifiers; the
/// password is written as a standard SQL string literal with quotes doubled.
pub fn authentik_initdb_sql(cfg: &ClusterConfig, password: &str) -> String {
    let ak = &cfg.services.authentik;
    format!(
        "CREATE ROLE {user} WITH LOGIN PASSWORD '{pw}';\nCREATE DATABASE {db} OWNER {user};\n",
        user = ak.username,
        db = ak.database,
        pw = password.replace('\'', "''"),
    )
}
