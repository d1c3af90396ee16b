//! K3s' packaged Traefik, customised through a `HelmChartConfig` (the only supported way):
//!
//! - `web` and `websecure` are the default entry points (`asDefault`). Without it Traefik makes
//!   every TCP entry point a default one, so HTTPS routers without explicit entry points would
//!   also land on the PostgreSQL port, where Traefik then answers PostgreSQL's SSLRequest itself
//!   and drops the connection.
//! - One TCP entry point per data service (`expose: {default: true}`, an object since chart
//!   27).
//! - The LoadBalancer Service accepts only the configured source ranges (the tailnet by
//!   default) and allocates no NodePorts, which source ranges would not cover. The keys sit
//!   under `service.spec`, passed through verbatim by every chart K3s ships.
//! - Optionally a permanent redirect from HTTP to HTTPS.

use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::{Component, File, Stage, Tier};
use crate::error::RenderError;
use crate::yaml;

/// The Flux Kustomization.
pub const STAGE: &str = "infra-traefik";
/// The entry point of HTTP routers (plain HTTP).
pub const WEB: &str = "web";
/// The entry point of HTTPS routers.
pub const WEBSECURE: &str = "websecure";

/// The values K3s' Traefik chart gets.
pub fn values(cfg: &ClusterConfig) -> Value {
    let mut web = json!({"asDefault": true});
    if cfg.exposure.https_redirect {
        web["http"] = json!({
            "redirections": {
                "entryPoint": {"to": WEBSECURE, "scheme": "https", "permanent": true},
            },
        });
    }
    let mut ports = serde_json::Map::new();
    ports.insert(WEB.into(), web);
    ports.insert(WEBSECURE.into(), json!({"asDefault": true}));
    for (name, port) in super::tcp_entry_points(cfg) {
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
    let mut v = json!({"ports": Value::Object(ports)});
    if !cfg.exposure.source_ranges.is_empty() {
        v["service"] = json!({
            "spec": {
                "allocateLoadBalancerNodePorts": false,
                "loadBalancerSourceRanges": cfg.exposure.source_ranges,
            },
        });
    }
    v
}

/// K3s' `HelmChartConfig` for Traefik.
///
/// # Errors
/// [`RenderError::Yaml`] if the values cannot be emitted.
pub fn helm_chart_config(cfg: &ClusterConfig) -> Result<Value, RenderError> {
    Ok(json!({
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": yaml::to_yaml(&values(cfg))?},
    }))
}

/// The component.
///
/// # Errors
/// As [`helm_chart_config`].
pub fn component(cfg: &ClusterConfig) -> Result<Component, RenderError> {
    Ok(Component {
        dir: "infrastructure/traefik",
        stage: Stage {
            name: STAGE,
            tier: Tier::Infrastructure,
            depends_on: vec![],
            health_check_exprs: vec![],
        },
        files: vec![File::plain("helmchartconfig.yaml", helm_chart_config(cfg)?)],
    })
}
