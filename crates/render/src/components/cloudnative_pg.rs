//! The CloudNativePG operator, from its chart's OCI source. Its CRDs are templates of the chart
//! (kept on uninstall, upgraded with the release) and its webhooks fail closed, so every
//! `Cluster` and `Database` waits for this component.

use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::{Component, File, Stage, Tier, helm_chart};
use crate::manifests::{self as m, Prune};

/// Namespace of the operator.
pub const NAMESPACE: &str = "cnpg-system";
/// The Flux Kustomization.
pub const STAGE: &str = "infra-cloudnative-pg";
/// The chart.
pub const CHART_URL: &str = "oci://ghcr.io/cloudnative-pg/charts/cloudnative-pg";

/// The operator chart's values: CRDs from the chart, watching every namespace, no
/// Prometheus-operator objects (whose CRDs a fresh K3s cluster does not have).
pub fn values() -> Value {
    json!({
        "crds": {"create": true},
        "config": {"clusterWide": true},
        "monitoring": {
            "podMonitorEnabled": false,
            "grafanaDashboard": {"create": false},
        },
    })
}

/// The component.
pub fn component(cfg: &ClusterConfig) -> Component {
    Component {
        dir: "infrastructure/cloudnative-pg",
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
            "cloudnative-pg",
            NAMESPACE,
            CHART_URL,
            &cfg.versions.cloudnative_pg,
            values(),
        ))
        .collect(),
    }
}
