//! Redis, served by Valkey (BSD-licensed, maintained; speaks the Redis protocol) from the
//! official chart: standalone (one Deployment with `Recreate`, so the volume is never mounted
//! twice), a pinned image, a persistent volume kept on uninstall, append-only persistence, and
//! the password of the `default` ACL user from Secret `redis-credentials` (the name and key of
//! psd's first stack, so existing files stay valid). Traefik entry point `redis` → Service
//! `valkey`. The namespace is never pruned by Flux.

use psd_model::RedisCredentials;
use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::{
    Built, Component, File, SecretInputs, SecretSlot, Stage, Tier, cred_err, helm_chart, need,
};
use crate::error::RenderError;
use crate::manifests::{self as m, Prune};

/// Namespace of Valkey and its Secret.
pub const NAMESPACE: &str = RedisCredentials::NAMESPACE;
/// The HelmRelease (and so the Service) name.
pub const RELEASE: &str = "valkey";
/// The Redis port.
pub const PORT: u16 = 6379;
/// Traefik's entry point for Redis: (name, port).
pub const ENTRY_POINT: (&str, u16) = ("redis", PORT);
/// The Flux Kustomization.
pub const STAGE: &str = "databases-redis";
/// Slot id of the password Secret.
pub const SLOT: &str = "redis";
/// The chart.
pub const CHART_URL: &str = "oci://ghcr.io/valkey-io/valkey-helm/valkey";
/// The ACL rules of the `default` user: every key, every channel, every command.
pub const DEFAULT_USER_PERMISSIONS: &str = "~* &* +@all";

/// The Valkey chart's values.
pub fn values(cfg: &ClusterConfig) -> Value {
    json!({
        "image": {
            "registry": "docker.io",
            "repository": "valkey/valkey",
            "tag": cfg.versions.valkey_image,
        },
        "deploymentStrategy": "Recreate",
        "auth": {
            "enabled": true,
            "usersExistingSecret": RedisCredentials::SECRET_NAME,
            "aclUsers": {
                "default": {
                    "permissions": DEFAULT_USER_PERMISSIONS,
                    "passwordKey": RedisCredentials::PASSWORD_KEY,
                },
            },
        },
        "dataStorage": {
            "enabled": true,
            "requestedSize": cfg.services.redis.size,
            "className": cfg.redis_storage_class(),
            "keepPvc": true,
        },
        "valkeyConfig": "appendonly yes\n",
    })
}

/// The component.
pub fn component(cfg: &ClusterConfig) -> Component {
    Component {
        dir: "databases/redis",
        stage: Stage {
            name: STAGE,
            tier: Tier::Databases,
            depends_on: vec![],
            health_check_exprs: vec![],
        },
        files: [
            File::plain("namespace.yaml", m::namespace(NAMESPACE, Prune::Never)),
            File::Secret {
                name: "secret.enc.yaml".into(),
                // The Bitnami stack's Secret had the same name and key.
                slot: SecretSlot::new(SLOT, password_secret)
                    .taking_over("apps/redis/secret.enc.yaml")
                    .rotatable(
                        "redis.password",
                        RedisCredentials::PASSWORD_KEY,
                        format!(
                            "Valkey reads it only when its pod starts: once Flux has applied \
                             the Secret, restart it (kubectl -n {NAMESPACE} rollout restart \
                             deployment/{RELEASE}) and give the new password to its clients"
                        ),
                    ),
            },
        ]
        .into_iter()
        .chain(helm_chart(
            RELEASE,
            NAMESPACE,
            CHART_URL,
            &cfg.versions.valkey,
            values(cfg),
        ))
        .chain([File::plain(
            "ingressroutetcp.yaml",
            m::ingress_route_tcp(ENTRY_POINT.0, NAMESPACE, ENTRY_POINT.0, RELEASE, PORT),
        )])
        .collect(),
    }
}

fn password_secret(i: &SecretInputs<'_>) -> Result<Built, RenderError> {
    let creds = match i.existing {
        Some(d) => RedisCredentials::from_existing(
            need(d, RedisCredentials::PASSWORD_KEY, i.path)?.clone(),
        )
        .map_err(cred_err)?,
        None => RedisCredentials::generate().map_err(cred_err)?,
    };
    Ok(Built::Secret(creds.to_secret_manifest()))
}
