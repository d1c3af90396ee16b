//! `entry-points/*`: Traefik TCP routes use entry points the Traefik configuration defines,
//! and an entry point with a catch-all TCP route serves no HTTP router.
//!
//! The Traefik configuration is K3s's `HelmChartConfig` `traefik` in `kube-system` (its
//! `spec.valuesContent`, a YAML string, read with positions in the file) or the values of a
//! HelmRelease of the `traefik` chart: `ports.<name>` are entry points, on top of the chart's
//! own `traefik`, `web`, `websecure` and `metrics`; `--entrypoints.<name>.…` arguments add
//! more. Default entry points are those with `asDefault: true`; when none has it, Traefik
//! makes every entry point but `traefik` and UDP ones a default (traefik
//! `cmd/traefik/traefik.go`), and routers without explicit entry points (an Ingress without
//! `traefik.ingress.kubernetes.io/router.entrypoints`, an IngressRoute without
//! `entryPoints`) land on all of them.
//!
//! What is assumed: without any Traefik configuration in the tree, K3s's bundled Traefik
//! with its defaults runs, so only `web` and `websecure` are known to exist, and an other
//! entry point is reported as a warning only; a Traefik HelmRelease with `valuesFrom` may
//! define more entry points than the tree shows (warning only, too). Ingresses of a class
//! other than one named like `traefik` are not Traefik's. A TCP route conflicts with HTTP
//! routers only when it catches every connection (``HostSNI(`*`)``): routes on a specific
//! SNI share an entry point with HTTP routers by design.

use std::collections::BTreeSet;

use psd_sops::stores::yaml::parse::Node;

use crate::document::{NodeExt, parse_embedded};
use crate::finding::{RuleInfo, Severity};
use crate::rules::ingress::{self, ENTRYPOINTS};
use crate::rules::persistence::chart_of;
use crate::{Context, Sink};

/// A route names an entry point that does not exist.
pub static UNKNOWN: RuleInfo = RuleInfo {
    id: "entry-points/unknown",
    severity: Severity::Error,
    summary: "a Traefik route names an entry point the Traefik configuration does not define",
    help: "add the entry point under `ports:` of the Traefik values (HelmChartConfig `traefik` in kube-system, `spec.valuesContent`): `ports: {<name>: {port: 5432, exposedPort: 5432, expose: {default: true}, protocol: TCP}}`, or fix the name",
};

/// A TCP route's entry point cannot be checked.
pub static UNVERIFIED: RuleInfo = RuleInfo {
    id: "entry-points/unverified",
    severity: Severity::Warning,
    summary: "a Traefik TCP route uses an entry point the tree cannot show to exist (no Traefik configuration, or one with valuesFrom)",
    help: "K3s's Traefik has only `web` and `websecure` unless configured: add a HelmChartConfig `traefik` in kube-system whose values define the entry point under `ports:`",
};

/// A catch-all TCP route shares its entry point with HTTP routers.
pub static HTTP_CONFLICT: RuleInfo = RuleInfo {
    id: "entry-points/http-conflict",
    severity: Severity::Error,
    summary: "an entry point with a catch-all TCP route (HostSNI(`*`)) also serves HTTP routers",
    help: "give the TCP route an entry point of its own; mark the HTTP entry points `asDefault: true` (`ports.web.asDefault`, `ports.websecure.asDefault`) and give Ingresses `traefik.ingress.kubernetes.io/router.entrypoints: websecure`, so no HTTP router lands on the TCP one",
};

/// The entry points of Traefik's chart whatever its values say.
const CHART_DEFAULTS: &[&str] = &["traefik", "web", "websecure", "metrics"];

/// One Traefik configuration.
struct Traefik {
    doc: usize,
    /// Entry point names, with `asDefault: true` and UDP flags.
    entry_points: Vec<(String, bool, bool)>,
    /// Whether all of its values are in the tree.
    complete: bool,
}

impl Traefik {
    fn from_values(doc: usize, values: Option<&Node>, complete: bool) -> Self {
        let mut eps: Vec<(String, bool, bool)> = CHART_DEFAULTS
            .iter()
            .map(|n| ((*n).to_owned(), false, false))
            .collect();
        if let Some(values) = values {
            for (name, _, p) in values.get("ports").map(NodeExt::pairs).unwrap_or_default() {
                eps.retain(|(n, _, _)| n != name);
                let null = !p.is_map() && p.as_str().is_none();
                if null {
                    continue; // `ports.x: null` removes a chart port
                }
                let default = p.get("asDefault").is_some_and(NodeExt::is_true);
                let udp = p
                    .get("protocol")
                    .and_then(NodeExt::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("udp"));
                eps.push((name.to_owned(), default, udp));
            }
            for arg in values
                .get("additionalArguments")
                .map(NodeExt::items)
                .unwrap_or_default()
            {
                let Some(a) = arg.as_str() else { continue };
                let prefix = "--entrypoints.";
                if a.get(..prefix.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
                {
                    let rest = &a[prefix.len()..];
                    let name = &rest[..rest.find(['.', '=']).unwrap_or(rest.len())];
                    if !name.is_empty() && !eps.iter().any(|(n, _, _)| n == name) {
                        eps.push((name.to_owned(), false, false));
                    }
                }
            }
        }
        Traefik {
            doc,
            entry_points: eps,
            complete,
        }
    }
}

fn configs(cx: &Context) -> Vec<Traefik> {
    let mut out = Vec::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        if d.is("helm.cattle.io", "HelmChartConfig")
            && d.name.as_deref() == Some("traefik")
            && cx.index.ns(i) == "kube-system"
        {
            match d.get(&["spec", "valuesContent"]) {
                Some(vc) => {
                    let parsed = parse_embedded(cx.text_of(i), vc);
                    let complete = parsed.is_some() || vc.as_str().is_none();
                    out.push(Traefik::from_values(i, parsed.as_ref(), complete));
                }
                None => out.push(Traefik::from_values(i, None, true)),
            }
        } else if d.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && chart_of(cx, i).name.as_deref() == Some("traefik")
        {
            let complete = d.get(&["spec", "valuesFrom"]).is_none();
            out.push(Traefik::from_values(
                i,
                d.get(&["spec", "values"]),
                complete,
            ));
        }
    }
    out
}

/// An HTTP router and the entry points it names (`None`: the default ones).
struct HttpRouter {
    doc: usize,
    what: String,
    entry_points: Option<Vec<String>>,
}

fn http_routers(cx: &Context) -> Vec<HttpRouter> {
    let mut out = Vec::new();
    for ing in ingress::ingresses(cx) {
        if ing.class.is_some_and(|c| !c.contains("traefik")) {
            continue;
        }
        let eps = ing.annotation(ENTRYPOINTS).map(|s| {
            s.split(',')
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect::<Vec<_>>()
        });
        out.push(HttpRouter {
            doc: ing.doc,
            what: ing.what.clone(),
            entry_points: eps.filter(|v| !v.is_empty()),
        });
    }
    for (i, d) in cx.index.docs.iter().enumerate() {
        if is_traefik(d.group()) && d.kind.as_deref() == Some("IngressRoute") {
            let eps: Vec<String> = d
                .get(&["spec", "entryPoints"])
                .map(NodeExt::items)
                .unwrap_or_default()
                .into_iter()
                .filter_map(NodeExt::as_str)
                .map(str::to_owned)
                .collect();
            out.push(HttpRouter {
                doc: i,
                what: d.describe(),
                entry_points: (!eps.is_empty()).then_some(eps),
            });
        }
    }
    out
}

fn is_traefik(group: &str) -> bool {
    matches!(group, "traefik.io" | "traefik.containo.us")
}

/// Whether a TCP route's match catches every connection: ``HostSNI(`*`)``.
fn catch_all(m: &str) -> bool {
    let m: String = m.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(
        m.as_str(),
        "HostSNI(`*`)" | "HostSNI(\"*\")" | "HostSNI('*')"
    )
}

/// Checks the three `entry-points/*` rules.
pub fn check(cx: &Context, out: &mut Sink) {
    let all_configs = configs(cx);
    let routers = http_routers(cx);
    for (i, d) in cx.index.docs.iter().enumerate() {
        if !is_traefik(d.group()) {
            continue;
        }
        let kind = d.kind.as_deref().unwrap_or("");
        let tcp = kind == "IngressRouteTCP";
        if !matches!(kind, "IngressRouteTCP" | "IngressRouteUDP" | "IngressRoute") {
            continue;
        }
        let mut configs: Vec<&Traefik> = all_configs
            .iter()
            .filter(|c| ingress::same_cluster(cx, c.doc, i))
            .collect();
        // Chains of Flux Kustomizations that start in different folders may still be one
        // cluster (the sync Kustomization is not in the tree): then use every configuration,
        // and only warn about what it lacks.
        let associated = !configs.is_empty();
        if !associated {
            configs = all_configs.iter().collect();
        }
        let known: BTreeSet<&str> = configs
            .iter()
            .flat_map(|c| c.entry_points.iter().map(|(n, _, _)| n.as_str()))
            .collect();
        let complete = associated && configs.iter().all(|c| c.complete);
        let ep_nodes: Vec<&Node> = d
            .get(&["spec", "entryPoints"])
            .map(NodeExt::items)
            .unwrap_or_default();
        for n in &ep_nodes {
            let Some(name) = n.as_str() else { continue };
            if name.contains("${") {
                continue;
            }
            if configs.is_empty() {
                if tcp && !matches!(name, "web" | "websecure") {
                    out.at(
                        cx,
                        &UNVERIFIED,
                        i,
                        Some(n),
                        format!(
                            "{} uses entry point `{name}`, which K3s's Traefik does not have by default, and the tree holds no Traefik configuration that defines it",
                            d.describe()
                        ),
                        "",
                    );
                }
            } else if !known.contains(name) {
                let (rule, why) = if complete {
                    (&UNKNOWN, "the Traefik configuration does not define it")
                } else {
                    (
                        &UNVERIFIED,
                        "the Traefik values in the tree do not define it (they come partly from valuesFrom, or belong to another cluster of the tree)",
                    )
                };
                out.at(
                    cx,
                    rule,
                    i,
                    Some(n),
                    format!("{} uses entry point `{name}`: {why}", d.describe()),
                    "",
                );
            }
        }
        if !tcp {
            continue;
        }
        let catches_all = d
            .get(&["spec", "routes"])
            .map(NodeExt::items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.get("match").and_then(NodeExt::as_str))
            .any(catch_all);
        if !catches_all {
            continue;
        }
        check_conflict(cx, out, i, &ep_nodes, &configs, &routers);
    }
}

fn check_conflict(
    cx: &Context,
    out: &mut Sink,
    route: usize,
    ep_nodes: &[&Node],
    configs: &[&Traefik],
    routers: &[HttpRouter],
) {
    let d = &cx.index.docs[route];
    // Default entry points: flagged asDefault, else all but `traefik` and UDP ones; without
    // a configuration, K3s's web and websecure.
    let (defaults, flagged): (BTreeSet<String>, bool) = if configs.is_empty() {
        (["web", "websecure"].map(str::to_owned).into(), false)
    } else {
        let eps: Vec<&(String, bool, bool)> =
            configs.iter().flat_map(|c| c.entry_points.iter()).collect();
        let flagged: BTreeSet<String> = eps
            .iter()
            .filter(|(_, dflt, _)| *dflt)
            .map(|(n, _, _)| n.clone())
            .collect();
        if flagged.is_empty() {
            let all = eps
                .iter()
                .filter(|(n, _, udp)| !udp && n != "traefik")
                .map(|(n, _, _)| n.clone())
                .collect();
            (all, false)
        } else {
            (flagged, true)
        }
    };
    let routers: Vec<&HttpRouter> = routers
        .iter()
        .filter(|r| ingress::same_cluster(cx, r.doc, route))
        .collect();
    let implicit = routers.iter().find(|r| r.entry_points.is_none());
    let mut targets: Vec<(String, Option<&Node>)> = ep_nodes
        .iter()
        .filter_map(|n| n.as_str().map(|s| (s.to_owned(), Some(*n))))
        .collect();
    if targets.is_empty() {
        // No entry points: the route lands on every default one.
        targets = defaults.iter().map(|e| (e.clone(), None)).collect();
    }
    let at_spec = d.get(&["spec"]);
    for (ep, node) in targets {
        let explicit = routers
            .iter()
            .find(|r| r.entry_points.as_ref().is_some_and(|v| v.contains(&ep)));
        let why = if let Some(r) = explicit {
            Some(format!("{} routes HTTP on it", r.what))
        } else if defaults.contains(&ep) {
            match implicit {
                Some(r) => Some(format!(
                    "it is a default entry point{}, and {} names no entry point so lands on it",
                    if flagged {
                        " (asDefault: true)"
                    } else {
                        " (no entry point has asDefault: true, so all are)"
                    },
                    r.what
                )),
                None if flagged => Some(
                    "it is marked asDefault: true, so every HTTP router without explicit entry points lands on it"
                        .to_owned(),
                ),
                None => None,
            }
        } else {
            None
        };
        if let Some(why) = why {
            let lands = if node.is_none() {
                " (the route names no entry point, so it lands on every default one)"
            } else {
                ""
            };
            out.at(
                cx,
                &HTTP_CONFLICT,
                route,
                node.or(at_spec),
                format!(
                    "{} catches every connection on entry point `{ep}`{lands}, but {why}",
                    d.describe()
                ),
                "",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::catch_all;

    #[test]
    fn catch_all_matches() {
        assert!(catch_all("HostSNI(`*`)"));
        assert!(catch_all("HostSNI( `*` )"));
        assert!(!catch_all("HostSNI(`db.example.org`)"));
    }
}
