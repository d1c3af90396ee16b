//! cert-manager: its chart (OCI, CRDs installed and kept) and the Cloudflare API token its
//! DNS-01 solver reads. The token Secret lives in cert-manager's own namespace, which is where a
//! ClusterIssuer looks for it (its cluster-resource namespace).

use psd_model::CloudflareConfig;
use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::{
    Built, Component, File, SecretInputs, SecretSlot, Stage, Tier, cred_err, helm_chart, need,
};
use crate::error::RenderError;
use crate::manifests::{self as m, Prune};

/// Namespace of cert-manager and of the Cloudflare token.
pub const NAMESPACE: &str = CloudflareConfig::NAMESPACE;
/// The Flux Kustomization.
pub const STAGE: &str = "infra-cert-manager";
/// Slot id of the Cloudflare token Secret.
pub const CLOUDFLARE_SLOT: &str = "cloudflare";
/// The chart.
pub const CHART_URL: &str = "oci://quay.io/jetstack/charts/cert-manager";

/// cert-manager's chart values.
pub fn values(cfg: &ClusterConfig) -> Value {
    let mut v = json!({"crds": {"enabled": true, "keep": true}});
    if !cfg.acme.dns01_nameservers.is_empty() {
        v["dns01RecursiveNameservers"] = json!(cfg.acme.dns01_nameservers);
        v["dns01RecursiveNameserversOnly"] = json!(true);
    }
    v
}

/// The component.
pub fn component(cfg: &ClusterConfig) -> Component {
    Component {
        dir: "infrastructure/cert-manager",
        stage: Stage {
            name: STAGE,
            tier: Tier::Infrastructure,
            depends_on: vec![],
            health_check_exprs: vec![],
        },
        files: [File::plain(
            "namespace.yaml",
            m::namespace(NAMESPACE, Prune::Allowed),
        )]
        .into_iter()
        .chain(helm_chart(
            "cert-manager",
            NAMESPACE,
            CHART_URL,
            &cfg.versions.cert_manager,
            values(cfg),
        ))
        .chain([File::Secret {
            name: "cloudflare-secret.enc.yaml".into(),
            slot: SecretSlot::new(CLOUDFLARE_SLOT, cloudflare_secret)
                .supplied_by_user()
                .not_rotatable(
                    "cloudflare.api-token",
                    CloudflareConfig::API_TOKEN_KEY,
                    "psd cannot make a Cloudflare token: create a new one in Cloudflare (My \
                     Profile, API Tokens; Zone DNS Edit and Zone Read), render with \
                     --cloudflare-token-file FILE (or CLOUDFLARE_API_TOKEN), then revoke the \
                     old one",
                ),
        }])
        .collect(),
    }
}

/// The token given for this render wins; else the one in the existing file; else nothing.
fn cloudflare_secret(i: &SecretInputs<'_>) -> Result<Built, RenderError> {
    let token = match (i.cloudflare_token, i.existing) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => need(d, CloudflareConfig::API_TOKEN_KEY, i.path)?.clone(),
        (None, None) => {
            return Ok(Built::Missing(format!(
                "no Cloudflare API token: {} was not written, so the ClusterIssuers cannot \
                 solve DNS-01 yet. Supply the token (Zone-DNS-Edit + Zone-Zone-Read) with \
                 CLOUDFLARE_API_TOKEN=… or --cloudflare-token-file FILE and render again.",
                i.path
            )));
        }
    };
    Ok(Built::Secret(
        CloudflareConfig::new(token)
            .map_err(cred_err)?
            .to_secret_manifest(),
    ))
}
