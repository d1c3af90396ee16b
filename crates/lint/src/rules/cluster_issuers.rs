//! `certs/unknown-cluster-issuer`: a certificate request naming a cert-manager
//! `ClusterIssuer` the tree does not define. Requests are the `cert-manager.io/cluster-issuer`
//! annotation (on any object, and anywhere in Helm values, where charts copy it onto their
//! Ingress) and `Certificate.spec.issuerRef` with `kind: ClusterIssuer` (group
//! `cert-manager.io` or unset; external issuers are not judged).
//!
//! Assumption: the tree manages its issuers only if it defines at least one `ClusterIssuer`
//! or installs cert-manager (a HelmRelease of the `cert-manager` chart); otherwise issuers come
//! from outside and nothing is reported. Names with substitutions (`${…}`, `{{…}}`) are
//! skipped.

use std::collections::BTreeSet;

use psd_sops::stores::yaml::parse::Node;

use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity};
use crate::rules::chart_values::{chart_name, values_of};
use crate::{Context, Sink};

/// A ClusterIssuer named but not defined.
pub static UNKNOWN: RuleInfo = RuleInfo {
    id: "certs/unknown-cluster-issuer",
    severity: Severity::Error,
    summary: "a cluster-issuer annotation or Certificate names a ClusterIssuer the tree does not define",
    help: "name one of the tree's ClusterIssuers (or add the missing one); cert-manager leaves the certificate pending and the TLS Secret is never created",
};

const ANNOTATION: &str = "cert-manager.io/cluster-issuer";

fn templated(s: &str) -> bool {
    s.contains("${") || s.contains("{{")
}

/// Every value of the annotation key below `node`.
fn annotations<'a>(node: &'a Node, found: &mut Vec<&'a Node>) {
    for (key, _, value) in node.pairs() {
        if key == ANNOTATION {
            found.push(value);
        } else {
            annotations(value, found);
        }
    }
    for item in node.items() {
        annotations(item, found);
    }
}

/// Checks the rule.
pub fn check(cx: &Context, out: &mut Sink) {
    let issuers: BTreeSet<&str> = cx
        .index
        .of_kind("cert-manager.io", "ClusterIssuer")
        .filter_map(|(_, d)| d.name.as_deref())
        .collect();
    let installs_cert_manager = cx
        .index
        .of_kind("helm.toolkit.fluxcd.io", "HelmRelease")
        .any(|(i, _)| chart_name(cx, i).as_deref() == Some("cert-manager"));
    if issuers.is_empty() && !installs_cert_manager {
        return;
    }
    let known = if issuers.is_empty() {
        "the tree defines no ClusterIssuer".to_owned()
    } else {
        format!(
            "the tree defines {}",
            issuers.iter().copied().collect::<Vec<_>>().join(", ")
        )
    };
    for (i, d) in cx.index.docs.iter().enumerate() {
        let mut found: Vec<(&Node, &str)> = Vec::new();
        if let Some(a) = d.get(&["metadata", "annotations", ANNOTATION]) {
            found.push((a, "annotation"));
        }
        let values = values_of(cx, i);
        let mut in_values = Vec::new();
        if let Some(v) = &values {
            annotations(v, &mut in_values);
        }
        found.extend(
            in_values
                .iter()
                .map(|n| (*n, "annotation in the Helm values")),
        );
        let issuer_ref = d
            .get(&["spec", "issuerRef"])
            .filter(|_| d.is("cert-manager.io", "Certificate"));
        if let Some(r) = issuer_ref
            && r.get("kind").and_then(NodeExt::as_str) == Some("ClusterIssuer")
            && matches!(
                r.get("group").and_then(NodeExt::as_str),
                None | Some("cert-manager.io")
            )
            && let Some(name) = r.get("name")
        {
            found.push((name, "issuerRef"));
        }
        for (node, what) in found {
            let Some(name) = node.as_str() else { continue };
            if templated(name) || issuers.contains(name) {
                continue;
            }
            out.at(
                cx,
                &UNKNOWN,
                i,
                Some(node),
                format!(
                    "{}'s {what} names ClusterIssuer `{name}`, but {known}",
                    d.describe()
                ),
                "",
            );
        }
    }
}
