//! Let's Encrypt ClusterIssuers (staging and production) solving DNS-01 through Cloudflare for
//! the cluster's zone. They need cert-manager's CRDs, so they have their own Kustomization
//! after cert-manager's, and Flux waits until both are `Ready` (registered with the ACME
//! server) before anything that asks them for a certificate.

use psd_model::CloudflareConfig;
use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::{Component, File, Stage, Tier};
use crate::manifests as m;

/// The Flux Kustomization.
pub const STAGE: &str = "infra-issuers";

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

/// A Let's Encrypt ClusterIssuer solving DNS-01 through Cloudflare for the cluster's zone.
pub fn cluster_issuer(cfg: &ClusterConfig, name: &str, server: &str) -> Value {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name},
        "spec": {
            "acme": {
                "server": server,
                "email": cfg.acme_email(),
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

/// The component.
pub fn component(cfg: &ClusterConfig) -> Component {
    Component {
        dir: "infrastructure/issuers",
        stage: Stage {
            name: STAGE,
            tier: Tier::Infrastructure,
            depends_on: vec![super::cert_manager::STAGE],
            health_check_exprs: vec![m::ready_condition_expr(
                "cert-manager.io/v1",
                "ClusterIssuer",
            )],
        },
        files: ISSUERS
            .iter()
            .map(|(name, server)| {
                File::plain(format!("{name}.yaml"), cluster_issuer(cfg, name, server))
            })
            .collect(),
    }
}
