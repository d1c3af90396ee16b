//! Builders for the manifest shapes several components share, as ordered JSON trees.
//!
//! Shapes follow `shared/docs/gitops-apis.md` (checked against upstream): HelmRelease `v2` with
//! `chartRef` to an `OCIRepository` (`source.toolkit.fluxcd.io/v1`) in the release's own
//! namespace, Flux `Kustomization` `v1` with SOPS decryption, `traefik.io/v1alpha1`
//! IngressRouteTCPs, namespaces that Flux never prunes when they hold data.

use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use crate::component::Stage;

/// Namespace of Flux (its Kustomizations live there).
pub const FLUX_NAMESPACE: &str = "flux-system";
/// Name of the Secret holding the age private key Flux decrypts with (key `age.agekey`).
pub const SOPS_AGE_SECRET: &str = "sops-age";
/// The label (or annotation) that stops Flux from ever deleting an object, also when its file
/// or its whole Kustomization goes away (fluxcd/pkg ssa matches labels and annotations).
pub const PRUNE_DISABLED: (&str, &str) = ("kustomize.toolkit.fluxcd.io/prune", "disabled");
/// The label every rendered object carries.
pub const MANAGED_BY: (&str, &str) = psd_model::MANAGED_BY_LABEL;

/// Whether Flux may delete an object when it leaves the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prune {
    /// Normal garbage collection.
    Allowed,
    /// Never deleted by Flux (namespaces with volumes, the database cluster).
    Never,
}

/// The labels of a rendered object.
pub fn labels(prune: Prune) -> Value {
    let mut l = json!({MANAGED_BY.0: MANAGED_BY.1});
    if prune == Prune::Never {
        l[PRUNE_DISABLED.0] = json!(PRUNE_DISABLED.1);
    }
    l
}

/// A `Namespace`.
pub fn namespace(name: &str, prune: Prune) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(prune)},
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

/// An `OCIRepository` for a Helm chart, in the namespace of the HelmRelease that uses it (so
/// one failing chart pull holds up only its own component).
pub fn oci_repository(name: &str, namespace: &str, url: &str, tag: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name, "namespace": namespace},
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

/// A `HelmRelease` (`v2`) with the helm-controller's recommended settings, its chart from the
/// `OCIRepository` of the same name beside it.
pub fn helm_release(name: &str, namespace: &str, values: Value) -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "interval": "30m",
            "timeout": "10m",
            "chartRef": {"kind": "OCIRepository", "name": name},
            "install": {"crds": "CreateReplace", "strategy": {"name": "RetryOnFailure"}},
            "upgrade": {"crds": "CreateReplace", "strategy": {"name": "RetryOnFailure"}},
            "driftDetection": {"mode": "enabled"},
            "values": values,
        },
    })
}

/// An `IngressRouteTCP` sending a whole entry point to a Service (non-TLS TCP can only match
/// ``HostSNI(`*`)``, so each data service has its own entry point).
pub fn ingress_route_tcp(
    name: &str,
    namespace: &str,
    entry_point: &str,
    service: &str,
    port: u16,
) -> Value {
    json!({
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRouteTCP",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "entryPoints": [entry_point],
            "routes": [{
                "match": "HostSNI(`*`)",
                "services": [{"name": service, "port": port}],
            }],
        },
    })
}

/// A `healthCheckExprs` entry judging a kind by its `Ready` condition, with `exists` (a
/// `filter(...).all(...)` would be true before any condition is set). No `failed` expression:
/// CloudNativePG and cert-manager report `Ready: False` while they are still setting up, which
/// Flux would take as a final failure.
pub fn ready_condition_expr(api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "current": "has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')",
    })
}

/// The Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) applying a component's folder,
/// with SOPS decryption, garbage collection and a health wait.
pub fn flux_kustomization(cfg: &ClusterConfig, stage: &Stage, dir: &str) -> Value {
    let mut spec = serde_json::Map::new();
    spec.insert("interval".into(), json!(cfg.flux.interval));
    spec.insert("retryInterval".into(), json!("1m"));
    spec.insert("timeout".into(), json!("15m"));
    if !stage.depends_on.is_empty() {
        let deps: Vec<Value> = stage
            .depends_on
            .iter()
            .map(|d| json!({"name": d}))
            .collect();
        spec.insert("dependsOn".into(), Value::Array(deps));
    }
    spec.insert(
        "sourceRef".into(),
        json!({"kind": "GitRepository", "name": cfg.flux.source_name}),
    );
    spec.insert("path".into(), json!(format!("./{}/{dir}", cfg.flux.root)));
    spec.insert("prune".into(), json!(true));
    spec.insert("wait".into(), json!(true));
    if !stage.health_check_exprs.is_empty() {
        spec.insert(
            "healthCheckExprs".into(),
            Value::Array(stage.health_check_exprs.clone()),
        );
    }
    spec.insert(
        "decryption".into(),
        json!({"provider": "sops", "secretRef": {"name": SOPS_AGE_SECRET}}),
    );
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": stage.name, "namespace": FLUX_NAMESPACE},
        "spec": Value::Object(spec),
    })
}
