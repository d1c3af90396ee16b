//! `ingress/*`: every Ingress (an `Ingress` object, or one a HelmRelease's values declare,
//! such as Authentik's `server.ingress`) has TLS for its hosts from exactly one owner (the
//! cert-manager annotation or a `Certificate`), hosts under the configured domain, and no
//! host or cert-manager TLS secret that another Ingress also claims.
//!
//! What is assumed: an ingress in HelmRelease values is one under a key `ingress` that is
//! `enabled: true`, or bjw-s app-template's named ingresses (`ingress.<name>.hosts`); its
//! shape is the common one (`hosts` as strings or `{host, paths}`, bitnami's `hostname`,
//! `tls` as a list of `{secretName, hosts}`). When such a `tls` is not a list (bitnami's
//! `tls: true`), the chart builds TLS itself and nothing about it is reported. A TLS secret
//! may come from outside the tree (made by hand, replicated), so a secret no one in the tree
//! provides is reported only in trees that manage certificates with cert-manager, and never
//! when a `Certificate` anywhere writes a secret of that name (it may be replicated). Two
//! documents whose Flux Kustomization chains start in different folders (two clusters of one
//! repository, `clusters/staging` and `clusters/production`) never clash.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use psd_sops::stores::yaml::parse::Node;

use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// A host without TLS.
pub static TLS: RuleInfo = RuleInfo {
    id: "ingress/tls",
    severity: Severity::Warning,
    summary: "a host of an Ingress has no TLS entry (with cert-manager, no certificate is issued for it)",
    help: "list the host under a `tls` entry with a `secretName` (`tls: [{hosts: [app.example.org], secretName: app-tls}]`); cert-manager's annotation only acts on hosts listed there",
};

/// A TLS secret nothing provides.
pub static TLS_SECRET: RuleInfo = RuleInfo {
    id: "ingress/tls-secret",
    severity: Severity::Warning,
    summary: "an Ingress's TLS secret is made by nothing in the tree (no cert-manager annotation, Certificate or Secret)",
    help: "add the annotation `cert-manager.io/cluster-issuer: <issuer>` to the Ingress, or a Certificate whose `spec.secretName` is this secret, in the same namespace",
};

/// Two owners for one TLS secret.
pub static CERTIFICATE_CONFLICT: RuleInfo = RuleInfo {
    id: "ingress/certificate-conflict",
    severity: Severity::Error,
    summary: "one TLS secret is owned twice (cert-manager annotation and a Certificate, two Certificates, or two annotated Ingresses)",
    help: "keep one owner per secret: either the Ingress annotation (cert-manager then creates a Certificate named after the secret) or an explicit Certificate, and give every other Ingress or Certificate its own secretName",
};

/// A host outside the configured domain.
pub static HOST_DOMAIN: RuleInfo = RuleInfo {
    id: "ingress/host-domain",
    severity: Severity::Warning,
    summary: "an Ingress host is not under the configured domain",
    help: "use a host under the domain of the lint configuration (`domain:` in .psd-lint.yaml or psd.yaml), or change that domain",
};

/// The same host and path in two Ingresses.
pub static DUPLICATE_HOST: RuleInfo = RuleInfo {
    id: "ingress/duplicate-host",
    severity: Severity::Error,
    summary: "two Ingresses of one ingress class route the same host and path",
    help: "give each Ingress its own host (or path); with two routers on one host and path the controller picks one and the other service is unreachable",
};

/// An issuer the tree does not define.
pub static ISSUER: RuleInfo = RuleInfo {
    id: "ingress/issuer",
    severity: Severity::Error,
    summary: "an Ingress's `cert-manager.io/issuer` annotation names an Issuer its namespace does not define",
    help: "name an Issuer of the Ingress's namespace that the tree defines, or use `cert-manager.io/cluster-issuer` with a ClusterIssuer (checked by certs/unknown-cluster-issuer)",
};

/// The annotation naming a ClusterIssuer.
pub const CLUSTER_ISSUER: &str = "cert-manager.io/cluster-issuer";
/// The annotation naming an Issuer.
pub const ISSUER_ANNOTATION: &str = "cert-manager.io/issuer";
/// Traefik's annotation choosing a router's entry points.
pub const ENTRYPOINTS: &str = "traefik.ingress.kubernetes.io/router.entrypoints";

/// One host of an ingress.
pub(crate) struct Host<'a> {
    /// The host (`None`: a rule for every host).
    pub name: Option<&'a str>,
    /// Where it is written (or the rule, without a host).
    pub node: &'a Node,
    /// Its paths (`/` if none).
    pub paths: Vec<String>,
}

/// One TLS entry.
pub(crate) struct TlsEntry<'a> {
    /// `secretName` and its node.
    pub secret: Option<(&'a str, &'a Node)>,
    /// Its hosts.
    pub hosts: Vec<&'a str>,
}

/// An ingress: an `Ingress` object or one declared in HelmRelease values.
pub(crate) struct Ingress<'a> {
    /// Its document.
    pub doc: usize,
    /// For messages: `Ingress web/app` or `HelmRelease auth/authentik (values.server.ingress)`.
    pub what: String,
    /// The namespace it lands in.
    pub ns: String,
    /// Its ingress class (`ingressClassName`, chart `className`, or the old annotation).
    pub class: Option<&'a str>,
    /// Its annotations.
    pub annotations: Option<&'a Node>,
    /// Its hosts.
    pub hosts: Vec<Host<'a>>,
    /// Its TLS entries; `None` when a chart builds them (values with `tls` not a list).
    pub tls: Option<Vec<TlsEntry<'a>>>,
}

impl Ingress<'_> {
    /// The annotation `key`, if a string.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .and_then(|a| a.get(key))
            .and_then(NodeExt::as_str)
    }

    /// Whether cert-manager's ingress-shim issues its certificates.
    pub fn cert_manager(&self) -> bool {
        self.annotation(CLUSTER_ISSUER).is_some()
            || self.annotation(ISSUER_ANNOTATION).is_some()
            || self.annotation("kubernetes.io/tls-acme") == Some("true")
    }
}

fn strings(n: Option<&Node>) -> Vec<&str> {
    n.map(NodeExt::items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(NodeExt::as_str)
        .collect()
}

fn paths_of(n: Option<&Node>) -> Vec<String> {
    let mut out: Vec<String> = n
        .map(NodeExt::items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            p.as_str()
                .or_else(|| p.get("path").and_then(NodeExt::as_str))
        })
        .map(str::to_owned)
        .collect();
    if out.is_empty() {
        out.push("/".into());
    }
    out
}

/// Every ingress of the tree.
pub(crate) fn ingresses<'a>(cx: &Context<'a>) -> Vec<Ingress<'a>> {
    let mut out = Vec::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        if d.kind.as_deref() == Some("Ingress")
            && matches!(d.group(), "networking.k8s.io" | "extensions")
        {
            let annotations = d.get(&["metadata", "annotations"]);
            let class = d.str_at(&["spec", "ingressClassName"]).or_else(|| {
                annotations
                    .and_then(|a| a.get("kubernetes.io/ingress.class"))
                    .and_then(NodeExt::as_str)
            });
            let hosts = d
                .get(&["spec", "rules"])
                .map(NodeExt::items)
                .unwrap_or_default()
                .into_iter()
                .map(|r| Host {
                    name: r.get("host").and_then(NodeExt::as_str),
                    node: r.get("host").unwrap_or(r),
                    paths: paths_of(r.get("http").and_then(|h| h.get("paths"))),
                })
                .collect();
            let tls = d
                .get(&["spec", "tls"])
                .map(NodeExt::items)
                .unwrap_or_default()
                .into_iter()
                .map(tls_entry)
                .collect();
            out.push(Ingress {
                doc: i,
                what: d.describe(),
                ns: cx.index.ns(i).to_owned(),
                class,
                annotations,
                hosts,
                tls: Some(tls),
            });
        } else if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            let Some(values) = d.get(&["spec", "values"]) else {
                continue;
            };
            let ns = d
                .str_at(&["spec", "targetNamespace"])
                .unwrap_or(cx.index.ns(i))
                .to_owned();
            let mut blocks = Vec::new();
            value_ingresses(values, "values".into(), 0, &mut blocks);
            for (path, node) in blocks {
                out.push(from_values(
                    i,
                    format!("{} ({path})", d.describe()),
                    &ns,
                    node,
                ));
            }
        }
    }
    out
}

fn tls_entry(t: &Node) -> TlsEntry<'_> {
    TlsEntry {
        secret: t.get("secretName").and_then(|n| n.as_str().map(|s| (s, n))),
        hosts: strings(t.get("hosts")),
    }
}

/// Ingress blocks of HelmRelease values: `ingress` with `enabled: true`, or app-template's
/// `ingress.<name>` with `hosts` (enabled unless `enabled: false`).
fn value_ingresses<'a>(n: &'a Node, path: String, depth: usize, out: &mut Vec<(String, &'a Node)>) {
    if depth > 4 {
        return;
    }
    for (k, _, v) in n.pairs() {
        if !v.is_map() {
            continue;
        }
        let p = format!("{path}.{k}");
        if k == "ingress" {
            match v.get("enabled") {
                Some(e) => {
                    if e.is_true() {
                        out.push((p, v));
                    }
                }
                None => {
                    let named = v.pairs();
                    if !named.is_empty()
                        && named
                            .iter()
                            .all(|(_, _, c)| c.is_map() && c.get("hosts").is_some_and(Node::is_seq))
                    {
                        for (name, _, c) in named {
                            if !c.get("enabled").is_some_and(NodeExt::is_false) {
                                out.push((format!("{p}.{name}"), c));
                            }
                        }
                    }
                }
            }
        } else {
            value_ingresses(v, p, depth + 1, out);
        }
    }
}

fn from_values<'a>(doc: usize, what: String, ns: &str, v: &'a Node) -> Ingress<'a> {
    let annotations = v.get("annotations");
    let class = ["ingressClassName", "className", "class"]
        .iter()
        .find_map(|k| v.get(k).and_then(NodeExt::as_str))
        .or_else(|| {
            annotations
                .and_then(|a| a.get("kubernetes.io/ingress.class"))
                .and_then(NodeExt::as_str)
        });
    let default_paths = match v.get("path").and_then(NodeExt::as_str) {
        Some(p) => vec![p.to_owned()],
        None => paths_of(v.get("paths")),
    };
    let mut hosts = Vec::new();
    for h in v.get("hosts").map(NodeExt::items).unwrap_or_default() {
        if let Some(name) = h.as_str() {
            hosts.push(Host {
                name: Some(name),
                node: h,
                paths: default_paths.clone(),
            });
        } else if let Some(hn) = h.get("host").or_else(|| h.get("name")) {
            hosts.push(Host {
                name: hn.as_str(),
                node: hn,
                paths: if h.get("paths").is_some() {
                    paths_of(h.get("paths"))
                } else {
                    default_paths.clone()
                },
            });
        }
    }
    for key in ["hostname", "host"] {
        if let Some(hn) = v.get(key).filter(|n| n.as_str().is_some()) {
            hosts.push(Host {
                name: hn.as_str(),
                node: hn,
                paths: default_paths.clone(),
            });
        }
    }
    for h in v.get("extraHosts").map(NodeExt::items).unwrap_or_default() {
        if let Some(hn) = h.get("name") {
            hosts.push(Host {
                name: hn.as_str(),
                node: hn,
                paths: match h.get("path").and_then(NodeExt::as_str) {
                    Some(p) => vec![p.to_owned()],
                    None => default_paths.clone(),
                },
            });
        }
    }
    let tls = v
        .get("tls")
        .filter(|t| t.is_seq())
        .map(|t| t.items().into_iter().map(tls_entry).collect());
    Ingress {
        doc,
        what,
        ns: ns.to_owned(),
        class,
        annotations,
        hosts,
        tls,
    }
}

/// Whether TLS host `pattern` (possibly `*.example.org`) covers `host`.
fn covers(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    if p == h {
        return true;
    }
    match p.strip_prefix("*.") {
        Some(suffix) => h
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => false,
    }
}

/// Where the chains of Flux Kustomizations that apply document `doc` start: the folders of
/// the files holding the top Kustomizations (one applied by no other), such as
/// `clusters/production`; empty when no Flux Kustomization of the tree applies it.
pub(crate) fn entry_points_of(cx: &Context, doc: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = cx
        .index
        .applied_by
        .get(&cx.index.docs[doc].file)
        .cloned()
        .unwrap_or_default();
    while let Some(k) = todo.pop() {
        if !seen.insert(k) {
            continue;
        }
        let file = cx.index.docs[cx.index.flux[k].doc].file;
        match cx.index.applied_by.get(&file) {
            Some(up) if !up.is_empty() && !up.iter().all(|u| seen.contains(u)) => {
                todo.extend(up.iter().copied());
            }
            _ => {
                out.insert(cx.tree.files[file].dir().to_owned());
            }
        }
    }
    out
}

/// Whether two documents may end up in one cluster: unless both are applied by Flux
/// Kustomizations and their chains start at different entry points.
pub(crate) fn same_cluster(cx: &Context, a: usize, b: usize) -> bool {
    let (ea, eb) = (entry_points_of(cx, a), entry_points_of(cx, b));
    ea.is_empty() || eb.is_empty() || !ea.is_disjoint(&eb)
}

/// Whether a string is filled in later: a Flux substitution (`${VAR}`) or a Helm template
/// (`{{ .Release.Name }}`, as app-template values allow).
/// A writer of a TLS secret: its document, the node naming the secret, its description.
type Owner<'a> = (usize, &'a Node, String);

fn has_substitution(s: &str) -> bool {
    s.contains("${") || s.contains("{{")
}

/// Checks every `ingress/*` rule.
pub fn check(cx: &Context, out: &mut Sink) {
    let all = ingresses(cx);
    let domain = cx
        .config
        .domain
        .as_deref()
        .map(|d| d.trim_end_matches('.').to_ascii_lowercase());
    let uses_cert_manager = cx.index.docs.iter().any(|d| d.group() == "cert-manager.io")
        || all.iter().any(Ingress::cert_manager);
    // Secrets the tree makes, by namespace and name; Certificate secret names anywhere.
    let mut made: BTreeSet<(String, String)> = BTreeSet::new();
    let mut cert_secrets_anywhere: BTreeSet<&str> = BTreeSet::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        let ns = cx.index.ns(i).to_owned();
        let name = match (d.group(), d.kind.as_deref()) {
            ("", Some("Secret")) | ("bitnami.com", Some("SealedSecret")) => d.name.as_deref(),
            (g, Some("ExternalSecret")) if g.starts_with("external-secrets.io") => {
                d.str_at(&["spec", "target", "name"]).or(d.name.as_deref())
            }
            ("cert-manager.io", Some("Certificate")) => {
                let s = d.str_at(&["spec", "secretName"]);
                if let Some(s) = s {
                    cert_secrets_anywhere.insert(s);
                }
                s
            }
            _ => None,
        };
        if let Some(n) = name {
            made.insert((ns, n.to_owned()));
        }
    }

    // Owners of TLS secrets, per namespace: (doc, node, description).
    let mut owners: BTreeMap<(String, String), Vec<Owner>> = BTreeMap::new();
    for (i, d) in cx.index.of_kind("cert-manager.io", "Certificate") {
        if let Some(n) = d.get(&["spec", "secretName"])
            && let Some(s) = n.as_str()
        {
            owners
                .entry((cx.index.ns(i).to_owned(), s.to_owned()))
                .or_default()
                .push((i, n, d.describe()));
        }
    }

    // Patches are merged into a base the tree also holds: their hosts and secrets are not
    // a second claim.
    let patches = crate::rules::persistence::patch_files(cx);
    let mut routes: HashMap<(String, String, String), (usize, String)> = HashMap::new();
    for ing in &all {
        let patch = patches.contains(&cx.index.docs[ing.doc].file);
        let cm = ing.cert_manager();
        let router_tls = ing.annotation("traefik.ingress.kubernetes.io/router.tls") == Some("true");
        // Hosts and domain.
        for h in &ing.hosts {
            let Some(host) = h.name else { continue };
            let lower = host.trim_end_matches('.').to_ascii_lowercase();
            if let Some(dom) = &domain
                && !has_substitution(host)
                && lower != *dom
                && !lower.ends_with(&format!(".{dom}"))
            {
                out.at(
                    cx,
                    &HOST_DOMAIN,
                    ing.doc,
                    Some(h.node),
                    format!(
                        "host `{host}` of {} is not under the domain `{dom}`",
                        ing.what
                    ),
                    "",
                );
            }
            // TLS covering the host.
            if let Some(tls) = &ing.tls {
                let under_domain = domain
                    .as_ref()
                    .is_some_and(|d| lower == *d || lower.ends_with(&format!(".{d}")));
                // A patch without `tls` keeps the base's.
                let wanted = if patch {
                    !tls.is_empty()
                } else {
                    !tls.is_empty() || cm || (under_domain && !router_tls)
                };
                let covered = tls
                    .iter()
                    .any(|t| t.hosts.is_empty() || t.hosts.iter().any(|p| covers(p, host)));
                if wanted && !covered {
                    let msg = if tls.is_empty() && cm {
                        format!(
                            "host `{host}` of {} has no TLS entry: the cert-manager annotation issues no certificate without one",
                            ing.what
                        )
                    } else {
                        format!(
                            "host `{host}` of {} is in no TLS entry: it is served with the controller's default certificate",
                            ing.what
                        )
                    };
                    out.at(cx, &TLS, ing.doc, Some(h.node), msg, "");
                }
            }
            // Duplicates (a templated host differs per release: not compared).
            for p in h.paths.iter().filter(|_| !host.contains("{{") && !patch) {
                let key = (
                    ing.class.unwrap_or("").to_owned(),
                    lower.clone(),
                    p.trim_end_matches('/').to_owned(),
                );
                match routes.get(&key) {
                    Some((first_doc, first_what))
                        if *first_doc != ing.doc && same_cluster(cx, *first_doc, ing.doc) =>
                    {
                        out.at(
                            cx,
                            &DUPLICATE_HOST,
                            ing.doc,
                            Some(h.node),
                            format!(
                                "{} routes `{host}{p}`, which {first_what} routes too",
                                ing.what
                            ),
                            "",
                        );
                    }
                    Some(_) => {}
                    None => {
                        routes.insert(key, (ing.doc, ing.what.clone()));
                    }
                }
            }
        }
        // TLS secrets: who makes them.
        let mut own_secrets = BTreeSet::new();
        for t in ing.tls.iter().flatten() {
            let Some((secret, node)) = t.secret else {
                continue;
            };
            if has_substitution(secret) {
                continue;
            }
            if cm {
                if !patch && own_secrets.insert(secret) {
                    owners
                        .entry((ing.ns.clone(), secret.to_owned()))
                        .or_default()
                        .push((ing.doc, node, ing.what.clone()));
                }
            } else if uses_cert_manager
                && !patch
                && !made.contains(&(ing.ns.clone(), secret.to_owned()))
                && !cert_secrets_anywhere.contains(secret)
            {
                out.at(
                    cx,
                    &TLS_SECRET,
                    ing.doc,
                    Some(node),
                    format!(
                        "TLS secret `{secret}` of {} is made by nothing in the tree (no cert-manager annotation on it, no Certificate or Secret `{secret}` in namespace `{}`)",
                        ing.what, ing.ns
                    ),
                    "",
                );
            }
        }
        // The issuer named.
        check_issuer(cx, out, ing);
    }
    for ((ns, secret), list) in &owners {
        let Some((first_doc, _, first)) = list.first() else {
            continue;
        };
        for (doc, node, what) in list.iter().skip(1) {
            if !same_cluster(cx, *first_doc, *doc) {
                continue;
            }
            out.at(
                cx,
                &CERTIFICATE_CONFLICT,
                *doc,
                Some(node),
                format!(
                    "TLS secret `{secret}` in namespace `{ns}` is written by {what} and by {first}: two certificates fight over it"
                ),
                "",
            );
        }
    }
}

fn check_issuer(cx: &Context, out: &mut Sink, ing: &Ingress) {
    let Some(ann) = ing.annotations else { return };
    // ClusterIssuers named anywhere are certs/unknown-cluster-issuer's (cluster_issuers.rs).
    for (key, kind, scoped) in [(ISSUER_ANNOTATION, "Issuer", true)] {
        let Some(node) = ann.get(key) else { continue };
        let Some(name) = node.as_str().filter(|s| !has_substitution(s)) else {
            continue;
        };
        // Only when the tree manages issuers of this kind: else they come from elsewhere.
        if cx.index.of_kind("cert-manager.io", kind).next().is_none() {
            continue;
        }
        let ns = if scoped { ing.ns.as_str() } else { "" };
        if cx.index.find(kind, ns, name).is_empty() {
            let place = if scoped {
                format!(" in namespace `{}`", ing.ns)
            } else {
                String::new()
            };
            out.at(
                cx,
                &ISSUER,
                ing.doc,
                Some(node),
                format!(
                    "{} asks cert-manager for {kind} `{name}`, which the tree does not define{place}",
                    ing.what
                ),
                "",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.a.io", "x.a.io"));
        assert!(covers("X.A.io", "x.a.io"));
        assert!(!covers("*.a.io", "a.io"));
        assert!(!covers("*.a.io", "y.x.a.io"));
    }
}
