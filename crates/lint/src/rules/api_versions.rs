//! `api/*`: objects written in an API version the cluster no longer serves (Flux betas removed
//! by Flux 2.7/2.8, cert-manager's pre-v1 APIs, Traefik v2's `traefik.containo.us` group,
//! Kubernetes betas removed up to 1.35), and Flux APIs that still work but are deprecated
//! (`HelmRepository` of `type: oci`, in maintenance mode). Facts from
//! `shared/docs/gitops-apis.md` (rows 1, 4–7, 25) and the Kubernetes deprecated-API
//! migration guide.

use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// An apiVersion that is no longer served.
pub static REMOVED: RuleInfo = RuleInfo {
    id: "api/removed-version",
    severity: Severity::Error,
    summary: "an object uses an apiVersion the cluster no longer serves",
    help: "change apiVersion to the version named in the message (check the fields that changed between versions); the API server rejects the object as written",
};

/// A `HelmRepository` of `type: oci`.
pub static HELMREPOSITORY_OCI: RuleInfo = RuleInfo {
    id: "api/helmrepository-oci",
    severity: Severity::Warning,
    summary: "a HelmRepository of type oci (in maintenance mode since Flux 2.8)",
    help: "use one OCIRepository per chart (url oci://registry/path/chart, ref.tag or ref.semver, layerSelector for the Helm chart media type) and point the HelmRelease at it with spec.chartRef",
};

/// One removed API: group, version, the kinds it applies to (empty: every kind of the group
/// and version), the replacement `apiVersion`, and since when.
struct Removed {
    group: &'static str,
    version: &'static str,
    kinds: &'static [&'static str],
    replacement: &'static str,
    since: &'static str,
}

const fn r(
    group: &'static str,
    version: &'static str,
    kinds: &'static [&'static str],
    replacement: &'static str,
    since: &'static str,
) -> Removed {
    Removed {
        group,
        version,
        kinds,
        replacement,
        since,
    }
}

const WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"];
const SOURCES: &[&str] = &["GitRepository", "HelmRepository", "OCIRepository"];

/// The table. A `replacement` starting with `-` is a sentence: the API has no successor.
static TABLE: &[Removed] = &[
    // Flux (gitops-apis.md rows 1, 4-7).
    r(
        "helm.toolkit.fluxcd.io",
        "v2beta1",
        &["HelmRelease"],
        "helm.toolkit.fluxcd.io/v2",
        "helm-controller 1.4 (Flux 2.7)",
    ),
    r(
        "helm.toolkit.fluxcd.io",
        "v2beta2",
        &["HelmRelease"],
        "helm.toolkit.fluxcd.io/v2",
        "helm-controller 1.5 (Flux 2.8)",
    ),
    r(
        "source.toolkit.fluxcd.io",
        "v1beta1",
        SOURCES,
        "source.toolkit.fluxcd.io/v1",
        "Flux 2.8 at the latest (the CRD serves only v1)",
    ),
    r(
        "source.toolkit.fluxcd.io",
        "v1beta2",
        SOURCES,
        "source.toolkit.fluxcd.io/v1",
        "source-controller 1.8 (Flux 2.8)",
    ),
    r(
        "kustomize.toolkit.fluxcd.io",
        "v1beta1",
        &["Kustomization"],
        "kustomize.toolkit.fluxcd.io/v1",
        "kustomize-controller 1.7 (Flux 2.7)",
    ),
    r(
        "kustomize.toolkit.fluxcd.io",
        "v1beta2",
        &["Kustomization"],
        "kustomize.toolkit.fluxcd.io/v1",
        "kustomize-controller 1.8 (Flux 2.8)",
    ),
    // cert-manager: only v1 is served since 1.7.
    r(
        "cert-manager.io",
        "v1alpha2",
        &[],
        "cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    r(
        "cert-manager.io",
        "v1alpha3",
        &[],
        "cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    r(
        "cert-manager.io",
        "v1beta1",
        &[],
        "cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    r(
        "acme.cert-manager.io",
        "v1alpha2",
        &[],
        "acme.cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    r(
        "acme.cert-manager.io",
        "v1alpha3",
        &[],
        "acme.cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    r(
        "acme.cert-manager.io",
        "v1beta1",
        &[],
        "acme.cert-manager.io/v1",
        "cert-manager 1.7",
    ),
    // Traefik v2's group, dropped by Traefik v3 (K3s >= 1.32 ships v3; row 25).
    r(
        "traefik.containo.us",
        "v1alpha1",
        &[],
        "traefik.io/v1alpha1",
        "Traefik v3 (K3s 1.32)",
    ),
    // Kubernetes (deprecated-API migration guide), up to 1.35.
    r(
        "extensions",
        "v1beta1",
        &["Ingress"],
        "networking.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "extensions",
        "v1beta1",
        &["Deployment", "DaemonSet", "ReplicaSet"],
        "apps/v1",
        "Kubernetes 1.16",
    ),
    r(
        "extensions",
        "v1beta1",
        &["NetworkPolicy"],
        "networking.k8s.io/v1",
        "Kubernetes 1.16",
    ),
    r(
        "extensions",
        "v1beta1",
        &["PodSecurityPolicy"],
        "- none: use Pod Security Admission (namespace labels pod-security.kubernetes.io/*)",
        "Kubernetes 1.25",
    ),
    r("apps", "v1beta1", WORKLOADS, "apps/v1", "Kubernetes 1.16"),
    r("apps", "v1beta2", WORKLOADS, "apps/v1", "Kubernetes 1.16"),
    r(
        "networking.k8s.io",
        "v1beta1",
        &["Ingress", "IngressClass"],
        "networking.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "policy",
        "v1beta1",
        &["PodDisruptionBudget"],
        "policy/v1",
        "Kubernetes 1.25",
    ),
    r(
        "policy",
        "v1beta1",
        &["PodSecurityPolicy"],
        "- none: use Pod Security Admission (namespace labels pod-security.kubernetes.io/*)",
        "Kubernetes 1.25",
    ),
    r(
        "batch",
        "v1beta1",
        &["CronJob"],
        "batch/v1",
        "Kubernetes 1.25",
    ),
    r(
        "autoscaling",
        "v2beta1",
        &["HorizontalPodAutoscaler"],
        "autoscaling/v2",
        "Kubernetes 1.25",
    ),
    r(
        "autoscaling",
        "v2beta2",
        &["HorizontalPodAutoscaler"],
        "autoscaling/v2",
        "Kubernetes 1.26",
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1beta1",
        &[],
        "rbac.authorization.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1alpha1",
        &[],
        "rbac.authorization.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "apiextensions.k8s.io",
        "v1beta1",
        &["CustomResourceDefinition"],
        "apiextensions.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "admissionregistration.k8s.io",
        "v1beta1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
        "admissionregistration.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "apiregistration.k8s.io",
        "v1beta1",
        &["APIService"],
        "apiregistration.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "scheduling.k8s.io",
        "v1beta1",
        &["PriorityClass"],
        "scheduling.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "storage.k8s.io",
        "v1beta1",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
        "storage.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "storage.k8s.io",
        "v1beta1",
        &["CSIStorageCapacity"],
        "storage.k8s.io/v1",
        "Kubernetes 1.27",
    ),
    r(
        "certificates.k8s.io",
        "v1beta1",
        &["CertificateSigningRequest"],
        "certificates.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "coordination.k8s.io",
        "v1beta1",
        &["Lease"],
        "coordination.k8s.io/v1",
        "Kubernetes 1.22",
    ),
    r(
        "discovery.k8s.io",
        "v1beta1",
        &["EndpointSlice"],
        "discovery.k8s.io/v1",
        "Kubernetes 1.25",
    ),
    r(
        "events.k8s.io",
        "v1beta1",
        &["Event"],
        "events.k8s.io/v1",
        "Kubernetes 1.25",
    ),
    r(
        "node.k8s.io",
        "v1beta1",
        &["RuntimeClass"],
        "node.k8s.io/v1",
        "Kubernetes 1.25",
    ),
    r(
        "flowcontrol.apiserver.k8s.io",
        "v1beta1",
        &[],
        "flowcontrol.apiserver.k8s.io/v1",
        "Kubernetes 1.26",
    ),
    r(
        "flowcontrol.apiserver.k8s.io",
        "v1beta2",
        &[],
        "flowcontrol.apiserver.k8s.io/v1",
        "Kubernetes 1.29",
    ),
    r(
        "flowcontrol.apiserver.k8s.io",
        "v1beta3",
        &[],
        "flowcontrol.apiserver.k8s.io/v1",
        "Kubernetes 1.32",
    ),
];

/// Checks both rules.
pub fn check(cx: &Context, out: &mut Sink) {
    for (i, d) in cx.index.docs.iter().enumerate() {
        let (Some(api), Some(kind)) = (d.api_version.as_deref(), d.kind.as_deref()) else {
            continue;
        };
        let Some((group, version)) = api.rsplit_once('/') else {
            continue;
        };
        let hit = TABLE.iter().find(|e| {
            e.group == group
                && e.version == version
                && (e.kinds.is_empty() || e.kinds.contains(&kind))
        });
        if let Some(e) = hit {
            let node = d.get(&["apiVersion"]);
            let (message, help) = match e.replacement.strip_prefix("- ") {
                Some(none) => (
                    format!(
                        "{} uses {api}, no longer served since {}; there is no replacement",
                        d.describe(),
                        e.since
                    ),
                    format!("remove the object ({none})"),
                ),
                None => (
                    format!(
                        "{} uses {api}, no longer served since {}: use {}",
                        d.describe(),
                        e.since,
                        e.replacement
                    ),
                    format!(
                        "set `apiVersion: {}` (check the fields that changed between versions)",
                        e.replacement
                    ),
                ),
            };
            out.at(cx, &REMOVED, i, node, message, help);
        }
        if d.is("source.toolkit.fluxcd.io", "HelmRepository")
            && d.str_at(&["spec", "type"]) == Some("oci")
        {
            out.at(
                cx,
                &HELMREPOSITORY_OCI,
                i,
                d.get(&["spec", "type"]),
                format!(
                    "{} is of type oci, in maintenance mode since source-controller 1.8 (Flux 2.8)",
                    d.describe()
                ),
                "",
            );
        }
    }
}
