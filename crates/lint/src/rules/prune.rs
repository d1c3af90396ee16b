//! `prune/*`: data survives Flux's garbage collection. A Flux Kustomization with
//! `prune: true` deletes what it applied once it leaves the source (a folder deleted or
//! renamed, a file dropped from a kustomization): a Namespace goes with every volume in it,
//! a CloudNativePG Cluster with its PVCs. Flux skips objects labelled or annotated
//! `kustomize.toolkit.fluxcd.io/prune: disabled`.
//!
//! What is assumed: data is held by a CNPG Cluster, a PVC, a StatefulSet with
//! volumeClaimTemplates, or a HelmRelease whose values keep a volume (see
//! [`crate::rules::persistence`]); a Namespace not in the tree, or applied by no Flux
//! Kustomization of the tree, is not judged (a HelmRelease's `createNamespace`, `flux
//! bootstrap`, or a hand-made one are never pruned by Flux).

use std::collections::BTreeSet;

use crate::document::{Document, NodeExt};
use crate::finding::{RuleInfo, Severity};
use crate::rules::ingress::same_cluster;
use crate::rules::persistence::holds_data;
use crate::{Context, Sink};

/// A Namespace with data can be pruned.
pub static NAMESPACE: RuleInfo = RuleInfo {
    id: "prune/namespace",
    severity: Severity::Warning,
    summary: "a Namespace holding volumes is applied by a pruning Flux Kustomization without `kustomize.toolkit.fluxcd.io/prune: disabled`",
    help: "add the label (or annotation) `kustomize.toolkit.fluxcd.io/prune: disabled` to the Namespace, so that deleting or renaming its folder cannot delete the namespace and its volumes",
};

/// A CNPG Cluster can be pruned.
pub static DATA_OBJECT: RuleInfo = RuleInfo {
    id: "prune/data-object",
    severity: Severity::Warning,
    summary: "a CloudNativePG Cluster is applied by a pruning Flux Kustomization without `kustomize.toolkit.fluxcd.io/prune: disabled`",
    help: "add the label (or annotation) `kustomize.toolkit.fluxcd.io/prune: disabled` to the Cluster: its PVCs belong to it and are deleted with it",
};

/// The label or annotation Flux honours.
pub const PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";

fn prune_disabled(d: &Document) -> bool {
    ["labels", "annotations"].iter().any(|m| {
        d.str_at(&["metadata", m, PRUNE])
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    })
}

/// The first Flux Kustomization with `prune: true` that applies document `doc`, described.
fn pruned_by(cx: &Context, doc: usize) -> Option<String> {
    let file = cx.index.docs[doc].file;
    cx.index.applied_by.get(&file)?.iter().find_map(|&k| {
        let fk = &cx.index.flux[k];
        let d = &cx.index.docs[fk.doc];
        d.get(&["spec", "prune"])
            .is_some_and(NodeExt::is_true)
            .then(|| d.describe())
    })
}

/// Checks both rules.
pub fn check(cx: &Context, out: &mut Sink) {
    let mut reported: BTreeSet<usize> = BTreeSet::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        let Some(what) = holds_data(cx, i) else {
            continue;
        };
        if d.is("postgresql.cnpg.io", "Cluster")
            && !prune_disabled(d)
            && let Some(by) = pruned_by(cx, i)
        {
            out.at(
                cx,
                &DATA_OBJECT,
                i,
                d.get(&["metadata", "name"]),
                format!(
                    "{} is applied by {by} with prune: true and lacks `{PRUNE}: disabled`: removing it from the source deletes its PVCs",
                    d.describe()
                ),
                "",
            );
        }
        let ns = if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            d.str_at(&["spec", "targetNamespace"])
                .unwrap_or(cx.index.ns(i))
        } else {
            cx.index.ns(i)
        };
        if ns.is_empty() {
            continue;
        }
        for &n in cx.index.find("Namespace", "", ns) {
            let nd = &cx.index.docs[n];
            if !nd.is("", "Namespace")
                || prune_disabled(nd)
                || !same_cluster(cx, n, i)
                || reported.contains(&n)
            {
                continue;
            }
            let Some(by) = pruned_by(cx, n) else { continue };
            reported.insert(n);
            out.at(
                cx,
                &NAMESPACE,
                n,
                nd.get(&["metadata", "name"]),
                format!(
                    "Namespace {ns} holds {what} and is applied by {by} with prune: true, but lacks `{PRUNE}: disabled`: deleting or renaming its folder deletes the namespace and its volumes"
                ),
                "",
            );
        }
    }
}
