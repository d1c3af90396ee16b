//! `flux/*`: Flux's first reconciliation of the tree, simulated offline. Flux Kustomizations
//! run in the order `dependsOn` gives them (a Kustomization starts only when everything it
//! depends on is Ready) and after the Kustomization that applies them (their parent); within
//! one Kustomization, CustomResourceDefinitions and Namespaces are applied before everything
//! else. The rules report the first object that would fail and why:
//!
//! - `flux/depends-on-cycle`, `flux/depends-on-missing`: the order itself is broken;
//! - `flux/crd-not-ready`: a custom resource's CustomResourceDefinition is in the tree but
//!   applied by a Kustomization that is not ordered before it (fails until a retry);
//! - `flux/chart-crd-never-ready` (warning: the CRDs may be installed before Flux) and
//!   `flux/chart-crd-not-ready` (info: converges by retries): its CRD comes from a chart (a
//!   fixed table: cert-manager, cloudnative-pg, …) whose HelmRelease is not Ready before it:
//!   in the same Kustomization or one ordered after it (never), or in one not ordered before
//!   it or that does not `wait` (fails until a retry);
//! - `flux/deadlock`: what an object needs (its CRD from the tree, its Namespace, a Secret or
//!   source) is applied only by Kustomizations that run after the object's own is Ready;
//! - `flux/namespace-not-ordered`: the Namespace of an object is in the tree but applied by
//!   a Kustomization not ordered before it (fails until a retry);
//! - `flux/not-ordered`: a Secret, ConfigMap or source an object needs (see
//!   [`super::references`]) is applied by a Kustomization not ordered before it, or by none;
//! - `flux/health-check-expr`: a Kustomization others depend on waits on a kind kstatus
//!   cannot judge, without `healthCheckExprs` for it, so it turns Ready too early.
//!
//! Assumptions (unknown is not wrong): groups built into Kubernetes, K3s (`helm.cattle.io`,
//! `k3s.cattle.io`, Traefik's `traefik.io` / `traefik.containo.us`) and Flux (`*.fluxcd.io`,
//! installed by bootstrap) always exist; a custom resource whose CRD is neither in the tree
//! nor in the chart table is not reported; nor is one whose CRD chart is not in the tree
//! (the CRDs may be installed before Flux, as cluster-template's bootstrap does); a chart's
//! group used in the same Kustomization as the chart is reported there only, once (that
//! works only with CRDs installed before Flux, and then its uses elsewhere work too).
//! Objects applied by no Flux Kustomization (the entry folder `flux bootstrap` applies) are
//! not checked for order; a needed object applied by none is reported only when its file is
//! below some Kustomization's path (left out of a kustomization.yaml), not when it lies
//! outside all of them (a bootstrap step may apply it).

use std::collections::{BTreeMap, BTreeSet};

use psd_sops::stores::yaml::parse::Node;

use super::references::{Model, Order, chart_name, references};
use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// `dependsOn` forms a cycle.
pub static CYCLE: RuleInfo = RuleInfo {
    id: "flux/depends-on-cycle",
    severity: Severity::Error,
    summary: "Flux Kustomizations depend on each other in a cycle and never start",
    help: "remove one `dependsOn` entry of the cycle so that the Kustomizations can be ordered",
};

/// `dependsOn` names a Kustomization that is not in the tree.
pub static DEPENDS_ON_MISSING: RuleInfo = RuleInfo {
    id: "flux/depends-on-missing",
    severity: Severity::Error,
    summary: "a Flux Kustomization depends on a Kustomization that is not in the tree",
    help: "fix the name (and `namespace`, which defaults to the Kustomization's own) or add the Kustomization; Flux waits for it forever",
};

/// Something an object needs comes only from a Kustomization that waits for the object's own.
pub static DEADLOCK: RuleInfo = RuleInfo {
    id: "flux/deadlock",
    severity: Severity::Error,
    summary: "an object needs a CRD, Namespace, Secret or source that only a Kustomization ordered after its own applies: the first sync never converges",
    help: "move what is needed into the object's Kustomization or one it depends on, or turn the dependsOn around",
};

/// A custom resource is applied before its CRD (from the tree).
pub static CRD_NOT_READY: RuleInfo = RuleInfo {
    id: "flux/crd-not-ready",
    severity: Severity::Warning,
    summary: "a custom resource is applied before the Kustomization that applies its CustomResourceDefinition (its Kustomization fails until a retry after the CRD lands)",
    help: "make the Kustomization depend (`dependsOn`) on the one that applies the CustomResourceDefinition, or apply both in one Kustomization",
};

/// A custom resource is applied in the same Kustomization as the chart installing its CRD,
/// or in one that the chart's Kustomization comes after.
pub static CHART_CRD_NEVER: RuleInfo = RuleInfo {
    id: "flux/chart-crd-never-ready",
    severity: Severity::Warning,
    summary: "a custom resource is applied in the same Kustomization as the HelmRelease that installs its CRD, or in one the chart's comes after: on a fresh cluster that Kustomization never applies",
    help: "move the custom resource to its own Kustomization with `dependsOn` on the chart's (which needs `wait: true`); ignore this if the CRDs are installed before Flux (as cluster-template's bootstrap does)",
};

/// A custom resource is applied before the chart that installs its CRD is Ready.
pub static CHART_CRD_NOT_READY: RuleInfo = RuleInfo {
    id: "flux/chart-crd-not-ready",
    severity: Severity::Info,
    summary: "a custom resource is applied before the HelmRelease that installs its CRD is Ready (its Kustomization fails until a retry after the chart lands)",
    help: "give the custom resource's Kustomization `dependsOn` on the one holding the HelmRelease, and give that one `wait: true`; ignore this if the CRDs are installed before Flux",
};

/// An object's Namespace is applied later.
pub static NAMESPACE_NOT_ORDERED: RuleInfo = RuleInfo {
    id: "flux/namespace-not-ordered",
    severity: Severity::Warning,
    summary: "an object's Namespace is applied by a Kustomization that is not ordered before it (its Kustomization fails until a retry after the Namespace lands)",
    help: "apply the Namespace in the same Kustomization as the object, or in one it depends on (`dependsOn`)",
};

/// A Secret, ConfigMap or source an object needs is applied later or never.
pub static NOT_ORDERED: RuleInfo = RuleInfo {
    id: "flux/not-ordered",
    severity: Severity::Warning,
    summary: "a Secret, ConfigMap or source an object needs is applied later than the object, or by no Flux Kustomization",
    help: "apply it in the same Kustomization as the object that needs it, or in one that Kustomization depends on (`dependsOn`)",
};

/// A Kustomization waits on a kind kstatus cannot judge.
pub static HEALTH_CHECK_EXPR: RuleInfo = RuleInfo {
    id: "flux/health-check-expr",
    severity: Severity::Warning,
    summary: "a Kustomization others depend on waits on a kind kstatus cannot judge, without healthCheckExprs",
    help: "add `healthCheckExprs` for the kind (e.g. `current: has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')`), or the Kustomization reports Ready before the object is",
};

/// API groups that exist on every K3s cluster with Flux.
fn built_in(group: &str) -> bool {
    matches!(
        group,
        "" | "apps"
            | "batch"
            | "policy"
            | "autoscaling"
            | "apiextensions.k8s.io"
            | "apiregistration.k8s.io"
            | "helm.cattle.io"
            | "k3s.cattle.io"
            | "traefik.io"
            | "traefik.containo.us"
            | "metrics.k8s.io"
    ) || group.ends_with(".k8s.io")
        || group.ends_with(".fluxcd.io")
}

/// Charts that install CRDs: (chart name, API groups, values path that switches them and
/// whether that value defaults to on).
const CHART_CRDS: &[(&str, &[&str], &[&str], bool)] = &[
    (
        "cert-manager",
        &["cert-manager.io", "acme.cert-manager.io"],
        &["crds", "enabled"],
        false,
    ),
    (
        "cloudnative-pg",
        &["postgresql.cnpg.io"],
        &["crds", "create"],
        true,
    ),
    (
        "external-secrets",
        &["external-secrets.io", "generators.external-secrets.io"],
        &["installCRDs"],
        true,
    ),
    (
        "kube-prometheus-stack",
        &["monitoring.coreos.com"],
        &["crds", "enabled"],
        true,
    ),
    (
        "prometheus-operator-crds",
        &["monitoring.coreos.com"],
        &[],
        true,
    ),
    (
        "tailscale-operator",
        &["tailscale.com"],
        &["installCRDs"],
        true,
    ),
];

/// Kinds whose readiness kstatus cannot judge (no `observedGeneration`, no
/// `Reconciling`/`Stalled`): it calls them Current as soon as they exist.
const NOT_KSTATUS: &[(&str, &str)] = &[
    ("postgresql.cnpg.io", "Cluster"),
    ("postgresql.cnpg.io", "Database"),
    ("cert-manager.io", "ClusterIssuer"),
    ("cert-manager.io", "Issuer"),
    ("cert-manager.io", "Certificate"),
];

/// The order of Flux Kustomizations.
struct Graph {
    /// Effective namespace of each Kustomization.
    ns: Vec<String>,
    /// Resolved `dependsOn` edges: (target, node of the entry's name).
    deps: Vec<Vec<usize>>,
    /// Everything applied before each one starts (dependsOn and parents, transitively).
    before: Vec<BTreeSet<usize>>,
    /// Everything Ready before each one starts.
    ready: Vec<BTreeSet<usize>>,
}

/// The Kustomization `flux bootstrap` makes (not in the tree unless committed).
fn made_by_bootstrap(name: &str, ns: &str) -> bool {
    name == "flux-system" && ns == "flux-system"
}

fn flux_ns(cx: &Context, k: usize) -> String {
    let f = &cx.index.flux[k];
    cx.index.namespaces[f.doc]
        .clone()
        .or_else(|| f.namespace.clone())
        .unwrap_or_default()
}

fn closure(start: &[usize], next: impl Fn(usize) -> Vec<usize>) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = start.to_vec();
    while let Some(k) = stack.pop() {
        if seen.insert(k) {
            stack.extend(next(k));
        }
    }
    seen
}

impl Graph {
    fn build(cx: &Context, out: &mut Sink) -> Graph {
        let ix = cx.index;
        let n = ix.flux.len();
        let ns: Vec<String> = (0..n).map(|k| flux_ns(cx, k)).collect();
        let mut deps = vec![Vec::new(); n];
        for k in 0..n {
            let d = &ix.docs[ix.flux[k].doc];
            for item in d
                .get(&["spec", "dependsOn"])
                .map(NodeExt::items)
                .unwrap_or_default()
            {
                let Some(name_node) = item.get("name") else {
                    continue;
                };
                let Some(name) = name_node.as_str() else {
                    continue;
                };
                let want_ns = item
                    .get("namespace")
                    .and_then(NodeExt::as_str)
                    .unwrap_or(&ns[k]);
                let hits: Vec<usize> = (0..n)
                    .filter(|&j| ix.flux[j].name == name && (ns[j] == want_ns || ns[j].is_empty()))
                    .collect();
                if let Some(&j) = hits.first() {
                    deps[k].push(j);
                } else if !made_by_bootstrap(name, want_ns) && !super::references::templated(name) {
                    // `flux-system/flux-system` is the Kustomization `flux bootstrap` makes.
                    out.at(
                        cx,
                        &DEPENDS_ON_MISSING,
                        ix.flux[k].doc,
                        Some(name_node),
                        format!(
                            "{} depends on Kustomization `{want_ns}/{name}`, which is not in the tree",
                            d.describe()
                        ),
                        "",
                    );
                }
            }
        }
        let mut parents = vec![Vec::new(); n];
        for (k, p) in parents.iter_mut().enumerate() {
            let file = ix.docs[ix.flux[k].doc].file;
            for &q in ix.applied_by.get(&file).map_or(&[][..], Vec::as_slice) {
                if q != k {
                    p.push(q);
                }
            }
        }
        let before: Vec<BTreeSet<usize>> = (0..n)
            .map(|k| {
                let start: Vec<usize> = deps[k].iter().chain(&parents[k]).copied().collect();
                closure(&start, |j| {
                    deps[j].iter().chain(&parents[j]).copied().collect()
                })
            })
            .collect();
        // Ready before k: for k and everything before it, what they depend on, and what
        // those depend on (a Kustomization is Ready only after its own dependencies were).
        let ready: Vec<BTreeSet<usize>> = (0..n)
            .map(|k| {
                let mut starts: Vec<usize> = Vec::new();
                for j in std::iter::once(k).chain(before[k].iter().copied()) {
                    starts.extend(&deps[j]);
                }
                closure(&starts, |j| deps[j].clone())
            })
            .collect();
        Graph {
            ns,
            deps,
            before,
            ready,
        }
    }

    /// Reports each `dependsOn` cycle once.
    fn cycles(&self, cx: &Context, out: &mut Sink) {
        let n = self.deps.len();
        let mut reported: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
        let reach: Vec<BTreeSet<usize>> = (0..n)
            .map(|k| closure(&self.deps[k], |j| self.deps[j].clone()))
            .collect();
        for k in 0..n {
            // k is on a cycle if it reaches itself through dependsOn; the cycle's members
            // are what k reaches and what reaches k.
            if !reach[k].contains(&k) {
                continue;
            }
            let members: BTreeSet<usize> = reach[k]
                .iter()
                .copied()
                .filter(|&j| reach[j].contains(&k))
                .collect();
            if !reported.insert(members.clone()) {
                continue;
            }
            // Walk one cycle from k for the message.
            let mut path = vec![k];
            let mut cur = k;
            while let Some(&next) = self.deps[cur]
                .iter()
                .find(|j| members.contains(j) && (**j == k || !path.contains(j)))
            {
                path.push(next);
                if next == k {
                    break;
                }
                cur = next;
            }
            let names: Vec<&str> = path
                .iter()
                .map(|&j| cx.index.flux[j].name.as_str())
                .collect();
            let first = path.get(1).copied().unwrap_or(k);
            let d = &cx.index.docs[cx.index.flux[k].doc];
            let node = d
                .get(&["spec", "dependsOn"])
                .map(NodeExt::items)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.get("name"))
                .find(|n| n.as_str() == Some(cx.index.flux[first].name.as_str()));
            out.at(
                cx,
                &CYCLE,
                cx.index.flux[k].doc,
                node,
                format!("dependsOn cycle: {}", names.join(" → ")),
                "",
            );
        }
    }
}

/// The Kustomizations applying document `doc`.
fn appliers<'a>(cx: &Context<'a>, doc: usize) -> &'a [usize] {
    cx.index
        .applied_by
        .get(&cx.index.docs[doc].file)
        .map_or(&[][..], Vec::as_slice)
}

fn kname(cx: &Context, g: &Graph, k: usize) -> String {
    let ns = &g.ns[k];
    if ns.is_empty() {
        cx.index.flux[k].name.clone()
    } else {
        format!("{ns}/{}", cx.index.flux[k].name)
    }
}

/// Whether Kustomization `k` waits for `doc` (`wait: true`, or a health check naming it).
fn waits_for(cx: &Context, k: usize, doc: usize) -> bool {
    let f = &cx.index.flux[k];
    if f.wait {
        return true;
    }
    let d = &cx.index.docs[doc];
    cx.index.docs[f.doc]
        .get(&["spec", "healthChecks"])
        .map(NodeExt::items)
        .unwrap_or_default()
        .into_iter()
        .any(|h| {
            h.get("kind").and_then(NodeExt::as_str) == d.kind.as_deref()
                && h.get("name").and_then(NodeExt::as_str) == d.name.as_deref()
        })
}

/// Whether document `doc`, applied by no Flux Kustomization, lies below the path of one (so
/// it was meant to be applied and is not listed in its folder's kustomization). A file
/// outside every Flux path may be applied some other way (a bootstrap step): not reported.
fn forgotten(cx: &Context, doc: usize) -> bool {
    let file = &cx.tree.files[cx.index.docs[doc].file].path;
    appliers(cx, doc).is_empty()
        && cx.index.flux.iter().any(|k| {
            k.path
                .as_deref()
                .is_some_and(|p| p.is_empty() || file.starts_with(&format!("{p}/")))
        })
}

fn forgotten_why(cx: &Context, doc: usize) -> String {
    let file = &cx.tree.files[cx.index.docs[doc].file].path;
    format!(
        "no Flux Kustomization applies it ({file} is below a Kustomization's path but not listed in the kustomization.yaml of its folder)"
    )
}

/// Checks the `flux/*` rules.
pub fn check(cx: &Context, out: &mut Sink) {
    let ix = cx.index;
    if ix.flux.is_empty() {
        return;
    }
    let g = Graph::build(cx, out);
    g.cycles(cx, out);
    let m = Model::build(cx);
    let ordered = |k: usize, j: usize| j == k || g.before[k].contains(&j);

    // CRDs in the tree: (group, kind) -> documents.
    let mut crds: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, d) in ix.of_kind("apiextensions.k8s.io", "CustomResourceDefinition") {
        if let (Some(gr), Some(kd)) = (
            d.str_at(&["spec", "group"]),
            d.str_at(&["spec", "names", "kind"]),
        ) {
            crds.entry((gr.to_owned(), kd.to_owned()))
                .or_default()
                .push(i);
        }
    }
    // Charts in the tree that install CRDs: group -> HelmRelease documents.
    let mut chart_crds: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in ix.of_kind("helm.toolkit.fluxcd.io", "HelmRelease") {
        let chart = chart_name(cx, &m, i);
        for (name, groups, switch, default) in CHART_CRDS {
            if chart != *name {
                continue;
            }
            let mut path = vec!["spec", "values"];
            path.extend_from_slice(switch);
            let on = if switch.is_empty() {
                true
            } else {
                match d.get(&path) {
                    Some(v) if v.is_true() => true,
                    Some(v) if v.is_false() => false,
                    _ => {
                        // cert-manager's deprecated switch.
                        *default
                            || (*name == "cert-manager"
                                && d.get(&["spec", "values", "installCRDs"])
                                    .is_some_and(NodeExt::is_true))
                    }
                }
            };
            if on {
                for gr in *groups {
                    chart_crds.entry(gr).or_default().push(i);
                }
            }
        }
    }

    // Groups with a custom resource in the same Kustomization as the chart that installs
    // its CRD. That only converges when the CRDs are installed before Flux (cluster-template
    // and its descendants do so at bootstrap): it is reported there, once, and the group's
    // custom resources elsewhere are not (if the CRDs are there first, they are fine).
    let mut same_k_groups: BTreeSet<&str> = BTreeSet::new();
    for (group, hrs) in &chart_crds {
        let provider_ks: BTreeSet<usize> = hrs
            .iter()
            .flat_map(|&h| appliers(cx, h).iter().copied())
            .collect();
        if ix.docs.iter().enumerate().any(|(i, d)| {
            d.group() == *group && appliers(cx, i).iter().any(|k| provider_ks.contains(k))
        }) {
            same_k_groups.insert(group);
        }
    }
    let mut crd_reported: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut ns_reported: BTreeSet<(usize, String)> = BTreeSet::new();
    for (i, d) in ix.docs.iter().enumerate() {
        let by = appliers(cx, i);
        if by.is_empty() {
            continue;
        }
        let group = d.group().to_owned();
        let kind = d.kind.clone().unwrap_or_default();
        let kind_node = d.root.get("kind");
        for &k in by {
            // The CRD.
            if !built_in(&group) && !crd_reported.contains(&(k, group.clone())) {
                if let Some(defs) = crds.get(&(group.clone(), kind.clone())) {
                    let applied: Vec<usize> = defs
                        .iter()
                        .flat_map(|&c| appliers(cx, c).iter().copied())
                        .collect();
                    if !applied.is_empty() && !applied.iter().any(|&j| ordered(k, j)) {
                        crd_reported.insert((k, group.clone()));
                        let rule = if applied.iter().all(|&j| g.before[j].contains(&k)) {
                            &DEADLOCK
                        } else {
                            &CRD_NOT_READY
                        };
                        out.at(
                            cx,
                            rule,
                            i,
                            kind_node,
                            format!(
                                "{} is applied by Kustomization {} before its CustomResourceDefinition, which Kustomization {} applies and {} does not depend on",
                                d.describe(),
                                kname(cx, &g, k),
                                kname(cx, &g, applied[0]),
                                kname(cx, &g, k)
                            ),
                            "",
                        );
                    }
                } else if let Some(hrs) = chart_crds.get(group.as_str()) {
                    let mut why: Option<String> = None;
                    let mut ok = false;
                    for &h in hrs {
                        let hd = &ix.docs[h];
                        for &a in appliers(cx, h) {
                            if g.ready[k].contains(&a) && waits_for(cx, a, h) {
                                ok = true;
                            } else if why.is_none() {
                                why = Some(
                                    if hrs.iter().any(|&h2| appliers(cx, h2).contains(&k)) {
                                        format!(
                                            "{} installs the CRD in the same Kustomization {}, so it does not exist when this is applied",
                                            hd.describe(),
                                            kname(cx, &g, k)
                                        )
                                    } else if g.ready[k].contains(&a) {
                                        format!(
                                            "{} installs the CRD, but its Kustomization {} does not wait for it (`wait: true` or a health check)",
                                            hd.describe(),
                                            kname(cx, &g, a)
                                        )
                                    } else {
                                        format!(
                                            "{} installs the CRD in Kustomization {}, which {} does not depend on",
                                            hd.describe(),
                                            kname(cx, &g, a),
                                            kname(cx, &g, k)
                                        )
                                    },
                                );
                            }
                        }
                    }
                    let same = hrs.iter().any(|&h| appliers(cx, h).contains(&k));
                    let elsewhere_first = !same && same_k_groups.contains(group.as_str());
                    if !ok
                        && !elsewhere_first
                        && let Some(why) = why
                    {
                        crd_reported.insert((k, group.clone()));
                        let providers: Vec<usize> = hrs
                            .iter()
                            .flat_map(|&h| appliers(cx, h).iter().copied())
                            .collect();
                        // Never, when the chart comes only with this Kustomization or after it
                        // (unless the CRDs are installed before Flux: a warning, not an error).
                        let after = providers.iter().all(|&j| g.before[j].contains(&k));
                        let rule = if same || after {
                            &CHART_CRD_NEVER
                        } else {
                            &CHART_CRD_NOT_READY
                        };
                        let why = if after && !same {
                            format!(
                                "{} installs the CRD in Kustomization {}, which runs only after {} (through dependsOn or as its child)",
                                ix.docs[hrs[0]].describe(),
                                kname(cx, &g, providers[0]),
                                kname(cx, &g, k)
                            )
                        } else {
                            why
                        };
                        out.at(
                            cx,
                            rule,
                            i,
                            kind_node,
                            format!(
                                "{} may be applied before its CRD exists: {why}",
                                d.describe()
                            ),
                            "",
                        );
                    }
                }
            }
            // The Namespace.
            let kind_s = kind.as_str();
            if crate::index::CLUSTER_SCOPED.contains(&kind_s) || m.possible_ns[i].len() != 1 {
                continue;
            }
            let ns = ix.ns(i).to_owned();
            if ns.is_empty() || ns_reported.contains(&(k, ns.clone())) {
                continue;
            }
            let nss = ix.find("Namespace", "", &ns);
            if nss.is_empty() {
                continue;
            }
            let applied: Vec<usize> = nss
                .iter()
                .flat_map(|&c| appliers(cx, c).iter().copied())
                .collect();
            if applied.iter().any(|&j| ordered(k, j))
                || (applied.is_empty() && !nss.iter().any(|&c| forgotten(cx, c)))
            {
                continue;
            }
            ns_reported.insert((k, ns.clone()));
            let node = d.get(&["metadata", "namespace"]).or(kind_node);
            let why = match applied.first() {
                Some(&j) => format!(
                    "Kustomization {} applies it and {} does not depend on it",
                    kname(cx, &g, j),
                    kname(cx, &g, k)
                ),
                None => forgotten_why(cx, nss[0]),
            };
            let rule = if !applied.is_empty() && applied.iter().all(|&j| g.before[j].contains(&k)) {
                &DEADLOCK
            } else {
                &NAMESPACE_NOT_ORDERED
            };
            out.at(
                cx,
                rule,
                i,
                node,
                format!(
                    "{} is applied by Kustomization {} before its Namespace `{ns}`: {why}",
                    d.describe(),
                    kname(cx, &g, k)
                ),
                "",
            );
        }
    }

    // Secrets, ConfigMaps and sources.
    let mut reported: BTreeSet<(usize, String, String)> = BTreeSet::new();
    for r in references(cx, &m) {
        if r.order == Order::Free || r.namespaces.is_empty() {
            continue;
        }
        let targets = m.resolve(cx, &r);
        if targets.is_empty() {
            continue; // refs/missing-object's business
        }
        // A Flux Kustomization's own needs come before it starts: the referrer is the
        // Kustomization itself.
        let referrer_ks: Vec<usize> = if r.order == Order::Before {
            ix.flux
                .iter()
                .position(|f| f.doc == r.doc)
                .into_iter()
                .collect()
        } else {
            appliers(cx, r.doc).to_vec()
        };
        let applied: Vec<usize> = targets
            .iter()
            .flat_map(|&t| appliers(cx, t).iter().copied())
            .collect();
        for k in referrer_ks {
            let ok = applied.iter().any(|&j| {
                if r.order == Order::Before {
                    g.before[k].contains(&j)
                } else {
                    ordered(k, j)
                }
            });
            // `flux bootstrap` creates the flux-system source before anything syncs, even
            // when its manifest (gotk-sync.yaml) is committed and applied by the tree.
            let bootstrap_source = matches!(r.kind, "GitRepository" | "OCIRepository" | "Bucket")
                && made_by_bootstrap(&r.name, ix.ns(targets[0]));
            if ok
                || bootstrap_source
                || (applied.is_empty() && !targets.iter().any(|&t| forgotten(cx, t)))
                || !reported.insert((k, r.kind.to_owned(), r.name.clone()))
            {
                continue;
            }
            let target = ix.docs[targets[0]].describe();
            let why = match applied.first() {
                Some(&j) if j == k => format!(
                    "it is applied by the same Kustomization {}, which needs it before it starts",
                    kname(cx, &g, k)
                ),
                Some(&j) => format!(
                    "Kustomization {} applies it and {} does not depend on it",
                    kname(cx, &g, j),
                    kname(cx, &g, k)
                ),
                None => forgotten_why(cx, targets[0]),
            };
            // Never converges when every Kustomization applying it runs only after this one
            // is Ready, and this one cannot become Ready without it: a Kustomization's own
            // source or decryption key, or an object it waits for.
            // A Kustomization nothing in the tree applies was applied at bootstrap, and what it
            // needs itself (its substitution Secret) may have been too (cluster-template applies
            // its cluster-secrets that way): an ordering warning then, not a deadlock.
            let bootstrapped = r.doc == ix.flux[k].doc
                && r.via == "postBuild.substituteFrom"
                && applied.iter().all(|&j| j == k)
                && !ix.applied_by.contains_key(&ix.docs[ix.flux[k].doc].file);
            let stuck = !applied.is_empty()
                && !bootstrapped
                && (r.order == Order::Before || waits_for(cx, k, r.doc))
                && applied
                    .iter()
                    .all(|&j| (j == k && r.order == Order::Before) || g.ready[j].contains(&k));
            let rule = if stuck { &DEADLOCK } else { &NOT_ORDERED };
            out.at(
                cx,
                rule,
                r.doc,
                Some(r.node),
                format!(
                    "{} needs {target} ({}) on first sync, but {why}",
                    ix.docs[r.doc].describe(),
                    r.via
                ),
                "",
            );
        }
    }

    // Health checks kstatus cannot judge.
    let mut dependents = vec![false; ix.flux.len()];
    for ds in &g.deps {
        for &j in ds {
            dependents[j] = true;
        }
    }
    for (k, f) in ix.flux.iter().enumerate() {
        if !dependents[k] {
            continue;
        }
        let kd = &ix.docs[f.doc];
        let exprs: Vec<(String, String)> = kd
            .get(&["spec", "healthCheckExprs"])
            .map(NodeExt::items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                let api = e.get("apiVersion")?.as_str()?;
                let group = api.rsplit_once('/').map_or("", |(g, _)| g);
                Some((group.to_owned(), e.get("kind")?.as_str()?.to_owned()))
            })
            .collect();
        let mut seen = BTreeSet::new();
        for &file in &f.files {
            for (i, d) in ix.docs.iter().enumerate().filter(|(_, d)| d.file == file) {
                let gk = (d.group(), d.kind.as_deref().unwrap_or(""));
                if !NOT_KSTATUS.contains(&gk) || !waits_for(cx, k, i) {
                    continue;
                }
                let key = (gk.0.to_owned(), gk.1.to_owned());
                if exprs.contains(&key) || !seen.insert(key) {
                    continue;
                }
                let field = if f.wait { "wait" } else { "healthChecks" };
                let node: Option<&Node> = kd.get(&["spec"]).and_then(|s| s.key_node(field));
                out.at(
                    cx,
                    &HEALTH_CHECK_EXPR,
                    f.doc,
                    node,
                    format!(
                        "{} waits on {} ({}/{}), which kstatus calls Ready as soon as it exists; add healthCheckExprs for {}",
                        kd.describe(),
                        d.describe(),
                        gk.0,
                        gk.1,
                        gk.1
                    ),
                    "",
                );
            }
        }
    }
}
