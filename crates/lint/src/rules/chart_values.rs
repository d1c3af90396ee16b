//! `values/*`: Helm chart values that no longer mean what they say. cert-manager's
//! deprecated `installCRDs` (now `crds.enabled` + `crds.keep`), and a Traefik port's
//! `expose: true` (an object `{default: true}` since chart v27; the chart's schema rejects the
//! boolean). Values are read from Flux `HelmRelease.spec.values` and from K3s
//! `HelmChartConfig`/`HelmChart` `spec.valuesContent` (a YAML string, parsed with the same
//! parser, positions mapped into the file). Facts: `shared/docs/gitops-apis.md` rows 12, 24.
//!
//! The chart is recognised by name only: `spec.chart.spec.chart`, the last path segment of
//! the `OCIRepository` a `chartRef` names, or (K3s) the `HelmChartConfig`/`HelmChart` name. A
//! release whose chart cannot be told is not checked.

use psd_sops::stores::yaml::Style;
use psd_sops::stores::yaml::parse::{self, Kind, MapEntry, Node, SeqEntry};

use crate::document::{Document, NodeExt};
use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// cert-manager's `installCRDs`.
pub static CERT_MANAGER_INSTALL_CRDS: RuleInfo = RuleInfo {
    id: "values/cert-manager-install-crds",
    severity: Severity::Warning,
    summary: "cert-manager values use the deprecated installCRDs",
    help: "replace `installCRDs: true` with `crds: {enabled: true, keep: true}` (keep stops Helm from deleting the CRDs, and every Certificate with them, on uninstall)",
};

/// Traefik `ports.<name>.expose: true`.
pub static TRAEFIK_EXPOSE_BOOL: RuleInfo = RuleInfo {
    id: "values/traefik-expose-bool",
    severity: Severity::Error,
    summary: "Traefik values set a port's expose to a boolean",
    help: "write `expose: {default: true}` (an object keyed by Service name since Traefik chart v27); the chart's values schema rejects `expose: true` and the release fails",
};

/// The chart a Flux `HelmRelease` or a K3s `HelmChartConfig`/`HelmChart` installs, if it can
/// be told (see the module documentation).
pub fn chart_name(cx: &Context, doc: usize) -> Option<String> {
    let d = &cx.index.docs[doc];
    let last = |s: &str| {
        let s = s.trim_end_matches('/');
        let s = s.rsplit('/').next().unwrap_or(s);
        s.strip_suffix(".tgz").unwrap_or(s).to_owned()
    };
    if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
        if let Some(chart) = d.str_at(&["spec", "chart", "spec", "chart"]) {
            return Some(last(chart));
        }
        let r = d.get(&["spec", "chartRef"])?;
        if r.get("kind").and_then(NodeExt::as_str) != Some("OCIRepository") {
            return None;
        }
        let name = r.get("name").and_then(NodeExt::as_str)?;
        let ns = r
            .get("namespace")
            .and_then(NodeExt::as_str)
            .unwrap_or(cx.index.ns(doc));
        let source = cx
            .index
            .find("OCIRepository", ns, name)
            .iter()
            .copied()
            .find(|&i| cx.index.docs[i].group() == "source.toolkit.fluxcd.io")?;
        let url = cx.index.docs[source].str_at(&["spec", "url"])?;
        return Some(last(url.strip_prefix("oci://").unwrap_or(url)));
    }
    if d.is("helm.cattle.io", "HelmChartConfig") {
        return d.name.clone();
    }
    if d.is("helm.cattle.io", "HelmChart") {
        return d.str_at(&["spec", "chart"]).map(last).or(d.name.clone());
    }
    None
}

/// The values of a `HelmRelease` (`spec.values`) or of a K3s `HelmChartConfig`/`HelmChart`
/// (`spec.valuesContent`, parsed, positions in the file). `None` if there are none or they
/// do not parse.
pub fn values_of(cx: &Context, doc: usize) -> Option<Node> {
    let d = &cx.index.docs[doc];
    if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
        return d.get(&["spec", "values"]).filter(|v| v.is_map()).cloned();
    }
    if d.group() == "helm.cattle.io" {
        return embedded_yaml(cx.text_of(doc), d.get(&["spec", "valuesContent"])?);
    }
    None
}

/// Parses a scalar holding a YAML document (such as `valuesContent`) and maps the positions of
/// its nodes into `file_text`. A literal block (`|`) maps line by line; any other style maps
/// every node to the scalar itself.
pub fn embedded_yaml(file_text: &str, scalar: &Node) -> Option<Node> {
    let Kind::Scalar { text, style, .. } = &scalar.kind else {
        return None;
    };
    let mut root = parse::parse_stream(text).ok()?.into_iter().next()??;
    if *style == Style::Literal {
        // The block's content starts on the line after its header, indented.
        let lines: Vec<&str> = file_text.lines().collect();
        let indent = lines
            .iter()
            .skip(scalar.line)
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
        let base = scalar.line;
        shift(&mut root, &|line, column| (base + line, column + indent));
    } else {
        let (l, c) = (scalar.line, scalar.column);
        shift(&mut root, &|_, _| (l, c));
    }
    Some(root)
}

fn shift(node: &mut Node, f: &dyn Fn(usize, usize) -> (usize, usize)) {
    (node.line, node.column) = f(node.line, node.column);
    match &mut node.kind {
        Kind::Map(entries) => {
            for e in entries {
                if let MapEntry::Pair(k, v) = e {
                    shift(k, f);
                    shift(v, f);
                }
            }
        }
        Kind::Seq(items) => {
            for e in items {
                if let SeqEntry::Item(n) = e {
                    shift(n, f);
                }
            }
        }
        Kind::Scalar { .. } => {}
    }
}

fn is_release(d: &Document) -> bool {
    d.is("helm.toolkit.fluxcd.io", "HelmRelease")
        || d.is("helm.cattle.io", "HelmChartConfig")
        || d.is("helm.cattle.io", "HelmChart")
}

/// Checks both rules.
pub fn check(cx: &Context, out: &mut Sink) {
    for (i, d) in cx.index.docs.iter().enumerate() {
        if !is_release(d) {
            continue;
        }
        let Some(chart) = chart_name(cx, i) else {
            continue;
        };
        let Some(values) = values_of(cx, i) else {
            continue;
        };
        match chart.as_str() {
            "cert-manager" => {
                if let Some(key) = values.key_node("installCRDs") {
                    out.at(
                        cx,
                        &CERT_MANAGER_INSTALL_CRDS,
                        i,
                        Some(key),
                        format!(
                            "{} sets installCRDs, deprecated in the cert-manager chart",
                            d.describe()
                        ),
                        "",
                    );
                }
            }
            "traefik" => {
                for (name, _, port) in values.get("ports").map(|p| p.pairs()).unwrap_or_default() {
                    let Some(expose) = port.get("expose") else {
                        continue;
                    };
                    if matches!(expose.kind, Kind::Scalar { .. }) && expose.as_str().is_some() {
                        let value = expose.as_str().unwrap_or("");
                        out.at(
                            cx,
                            &TRAEFIK_EXPOSE_BOOL,
                            i,
                            Some(expose),
                            format!(
                                "{}: ports.{name}.expose is `{value}`, but the chart expects an object",
                                d.describe()
                            ),
                            format!(
                                "write `expose: {{default: {value}}}`; the chart's values schema rejects the scalar and the release fails"
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
