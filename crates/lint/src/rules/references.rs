//! `refs/*`: every reference names an object that exists in the tree, in the namespace where
//! it is looked up, and every key it names exists in that Secret or ConfigMap (key names are
//! readable even when the values are encrypted).
//!
//! References followed (the generalisation of render's `check_secret_references`):
//! - HelmRelease: `valuesFrom`, `chartRef`, `chart.spec.sourceRef`, `dependsOn`, and in
//!   `values`: `existingSecret` / `*ExistingSecret` (with the sibling `existingSecret*Key`,
//!   `secretKeys.*` and, for Valkey's `usersExistingSecret`, `aclUsers.*.passwordKey`),
//!   `envFrom`, `secretKeyRef` / `configMapKeyRef`, `volumes[].secret` / `.configMap`;
//! - workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob): the same
//!   pod-spec references;
//! - cert-manager Issuer / ClusterIssuer: every `*SecretRef` (not `privateKeySecretRef`,
//!   which cert-manager creates); a ClusterIssuer's Secrets live in cert-manager's cluster
//!   resource namespace;
//! - CloudNativePG: `Cluster` `bootstrap.initdb.secret`, `managed.roles[].passwordSecret`,
//!   `superuserSecret`, `certificates.*Secret`; `Database` / `Pooler` / `ScheduledBackup`
//!   `spec.cluster`;
//! - Traefik `IngressRoute*` and `Ingress` backends → Services;
//! - Flux `Kustomization`: `sourceRef`, `decryption.secretRef`, `postBuild.substituteFrom`
//!   (its `dependsOn` is checked by [`super::first_sync`]).
//!
//! Objects created outside the tree are never reported missing (unknown is not wrong): the
//! `flux-system` GitRepository/OCIRepository and decryption Secrets in `flux-system` (made by
//! `flux bootstrap`); Secrets CloudNativePG makes (`<cluster>-app`, `-superuser`, `-ca`,
//! `-server`, `-replication`) and its Services (`<cluster>-rw`, `-ro`, `-r`, additional ones); Secrets
//! cert-manager writes (a Certificate's `secretName`, an Ingress `tls[].secretName`); Secrets
//! of ExternalSecret, SealedSecret and similar operators; kustomize generator outputs; names
//! with `${…}` or `{{…}}` (substituted later); and, where a chart may make the object, anything
//! in a namespace another HelmRelease (or K3s HelmChart) installs into. A reference marked
//! `optional: true` is not checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use psd_sops::stores::yaml::parse::Node;

use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity};
use crate::index::is_kustomization_file;
use crate::{Context, Sink};

/// A reference names an object that is not in the tree.
pub static MISSING_OBJECT: RuleInfo = RuleInfo {
    id: "refs/missing-object",
    severity: Severity::Error,
    summary: "a reference names a Secret, ConfigMap, Service, source or other object that is not in the tree",
    help: "add the object to the tree (a Secret as a SOPS-encrypted *.enc.yaml) in the namespace shown, or fix the name in the reference",
};

/// A reference names a key its Secret or ConfigMap does not have.
pub static MISSING_KEY: RuleInfo = RuleInfo {
    id: "refs/missing-key",
    severity: Severity::Error,
    summary: "a reference names a key that its Secret or ConfigMap does not have",
    help: "add the key to the Secret (`psd set FILE '[\"stringData\"][\"KEY\"]' VALUE` or `sops set`), or name one of the keys it has",
};

/// A reference names an object that exists, but in another namespace.
pub static WRONG_NAMESPACE: RuleInfo = RuleInfo {
    id: "refs/wrong-namespace",
    severity: Severity::Error,
    summary: "a reference names an object that exists only in another namespace than the one it is looked up in",
    help: "move the object to the namespace shown (references to Secrets, ConfigMaps and Services are namespace-local; a ClusterIssuer's Secrets live in cert-manager's namespace)",
};

/// When a referenced object must be applied, relative to the object that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Not needed at apply time (a Service behind a route, a HelmRelease dependency).
    Free,
    /// Needed once the referrer reconciles: the same Flux Kustomization or an earlier one.
    NoLater,
    /// Needed before the referrer's own Kustomization runs (its source, its decryption key):
    /// an earlier Kustomization only.
    Before,
}

/// One reference from a document to another object.
pub(crate) struct Ref<'a> {
    /// The referring document.
    pub doc: usize,
    /// The node naming the target (findings point here).
    pub node: &'a Node,
    /// Kind and API group of the target.
    pub kind: &'static str,
    /// API group of the target (`""` core).
    pub group: &'static str,
    /// Namespaces in which the target is looked up (`[""]` cluster-scoped; empty: unknown,
    /// not checked).
    pub namespaces: Vec<String>,
    /// The target's name.
    pub name: String,
    /// Keys the reference reads, with the node naming each.
    pub keys: Vec<(String, &'a Node)>,
    /// What refers (`valuesFrom`, `apiTokenSecretRef`, …), for messages.
    pub via: String,
    /// A chart installed in the target namespace by another HelmRelease may create it.
    pub chart_may_create: bool,
    /// First-sync ordering need.
    pub order: Order,
}

/// Facts about the tree the reference rules share with [`super::first_sync`].
pub(crate) struct Model {
    /// Every namespace each document may land in (several when a file is included by
    /// kustomizations with different `namespace:`).
    pub possible_ns: Vec<BTreeSet<String>>,
    /// Documents by (kind, name).
    by_kind_name: HashMap<(String, String), Vec<usize>>,
    /// Names made by kustomize `secretGenerator` / `configMapGenerator`.
    generated: BTreeSet<String>,
    /// Namespaces each HelmRelease / HelmChart installs into, by document.
    pub release_ns: BTreeMap<usize, String>,
    /// CloudNativePG clusters: (namespace, name).
    cnpg: Vec<(String, String)>,
    /// Secrets an operator writes: (namespace or `*`, name).
    operator_secrets: BTreeSet<(String, String)>,
    /// Services an operator makes: (namespace, name).
    operator_services: BTreeSet<(String, String)>,
    /// cert-manager's cluster resource namespace.
    pub cert_manager_ns: String,
}

fn walk<'a>(n: &'a Node, f: &mut impl FnMut(&'a Node)) {
    f(n);
    for (_, _, v) in n.pairs() {
        walk(v, f);
    }
    for i in n.items() {
        walk(i, f);
    }
}

/// Whether a name is filled in later (Flux `postBuild` substitution, a Helm template).
pub(crate) fn templated(name: &str) -> bool {
    name.contains("${") || name.contains("{{")
}

/// The chart a HelmRelease installs: `chart.spec.chart`, else the last segment of its
/// `chartRef` OCIRepository's URL, else its name.
pub(crate) fn chart_name(cx: &Context, m: &Model, doc: usize) -> String {
    let d = &cx.index.docs[doc];
    if let Some(c) = d.str_at(&["spec", "chart", "spec", "chart"]) {
        return c.rsplit('/').next().unwrap_or(c).to_owned();
    }
    if d.str_at(&["spec", "chartRef", "kind"]) == Some("OCIRepository")
        && let Some(name) = d.str_at(&["spec", "chartRef", "name"])
    {
        let ns = d
            .str_at(&["spec", "chartRef", "namespace"])
            .unwrap_or(cx.index.ns(doc));
        for s in m.lookup(cx, "OCIRepository", "source.toolkit.fluxcd.io", ns, name) {
            if let Some(url) = cx.index.docs[s].str_at(&["spec", "url"]) {
                let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
                return last.to_owned();
            }
        }
    }
    d.name.clone().unwrap_or_default()
}

impl Model {
    /// Builds the shared facts.
    pub fn build(cx: &Context) -> Model {
        let ix = cx.index;
        let n = ix.docs.len();
        let mut possible_ns: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n];
        // Every kustomization `namespace:` that covers a file.
        let mut file_ns: HashMap<usize, BTreeSet<String>> = HashMap::new();
        for (dir, files) in &ix.kustomize_dirs {
            let Some(kfile) = crate::index::kustomization_in(cx.tree, dir) else {
                continue;
            };
            let Some(ns) = ix
                .first_doc
                .get(&kfile)
                .and_then(|&d| ix.docs[d].str_at(&["namespace"]))
            else {
                continue;
            };
            for f in files {
                file_ns.entry(*f).or_default().insert(ns.to_owned());
            }
        }
        for (i, d) in ix.docs.iter().enumerate() {
            let kind = d.kind.as_deref().unwrap_or("");
            if crate::index::CLUSTER_SCOPED.contains(&kind) {
                continue;
            }
            let set = &mut possible_ns[i];
            if let Some(ns) = &ix.namespaces[i] {
                set.insert(ns.clone());
            }
            if let Some(ns) = &d.namespace {
                set.insert(ns.clone());
            }
            if let Some(nss) = file_ns.get(&d.file) {
                set.extend(nss.iter().cloned());
            }
            for &k in ix.applied_by.get(&d.file).map_or(&[][..], Vec::as_slice) {
                if let Some(t) = &ix.flux[k].target_namespace {
                    set.insert(t.clone());
                }
            }
        }
        let mut by_kind_name: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, d) in ix.docs.iter().enumerate() {
            if let (Some(k), Some(nm)) = (&d.kind, &d.name) {
                by_kind_name
                    .entry((k.clone(), nm.clone()))
                    .or_default()
                    .push(i);
            }
        }
        let mut generated = BTreeSet::new();
        for d in &ix.docs {
            if !is_kustomization_file(&cx.tree.files[d.file].path) {
                continue;
            }
            for key in ["secretGenerator", "configMapGenerator"] {
                for g in d.root.get(key).map(NodeExt::items).unwrap_or_default() {
                    if let Some(name) = g.get("name").and_then(NodeExt::as_str) {
                        generated.insert(name.to_owned());
                    }
                }
            }
        }
        let mut release_ns = BTreeMap::new();
        for (i, d) in ix.docs.iter().enumerate() {
            if d.is("helm.toolkit.fluxcd.io", "HelmRelease") || d.is("helm.cattle.io", "HelmChart")
            {
                let ns = d
                    .str_at(&["spec", "targetNamespace"])
                    .unwrap_or(ix.ns(i))
                    .to_owned();
                release_ns.insert(i, ns);
            }
        }
        let mut cnpg = Vec::new();
        let mut operator_secrets = BTreeSet::new();
        let mut operator_services = BTreeSet::new();
        for (i, d) in ix.docs.iter().enumerate() {
            let ns = ix.ns(i).to_owned();
            let name = d.name.clone().unwrap_or_default();
            match (d.group(), d.kind.as_deref().unwrap_or("")) {
                ("postgresql.cnpg.io", "Cluster") => {
                    for extra in d
                        .get(&["spec", "managed", "services", "additional"])
                        .map(NodeExt::items)
                        .unwrap_or_default()
                    {
                        if let Some(s) = extra
                            .get("serviceTemplate")
                            .and_then(|t| t.get("metadata"))
                            .and_then(|m| m.get("name"))
                            .and_then(NodeExt::as_str)
                        {
                            operator_services.insert((ns.clone(), s.to_owned()));
                        }
                    }
                    cnpg.push((ns, name));
                }
                ("cert-manager.io", "Certificate") => {
                    if let Some(s) = d.str_at(&["spec", "secretName"]) {
                        operator_secrets.insert((ns, s.to_owned()));
                    }
                }
                ("networking.k8s.io", "Ingress") => {
                    for t in d
                        .get(&["spec", "tls"])
                        .map(NodeExt::items)
                        .unwrap_or_default()
                    {
                        if let Some(s) = t.get("secretName").and_then(NodeExt::as_str) {
                            operator_secrets.insert((ns.clone(), s.to_owned()));
                        }
                    }
                }
                ("external-secrets.io", "ExternalSecret") => {
                    let s = d.str_at(&["spec", "target", "name"]).unwrap_or(&name);
                    operator_secrets.insert((ns, s.to_owned()));
                }
                ("external-secrets.io", "ClusterExternalSecret") => {
                    let s = d
                        .str_at(&["spec", "externalSecretSpec", "target", "name"])
                        .or(d.str_at(&["spec", "externalSecretName"]))
                        .unwrap_or(&name);
                    operator_secrets.insert(("*".to_owned(), s.to_owned()));
                }
                ("bitnami.com", "SealedSecret")
                | ("onepassword.com", "OnePasswordItem")
                | ("secrets.doppler.com", "DopplerSecret") => {
                    operator_secrets.insert((ns, name));
                }
                ("secrets.hashicorp.com", _) => {
                    if let Some(s) = d.str_at(&["spec", "destination", "name"]) {
                        operator_secrets.insert((ns, s.to_owned()));
                    }
                }
                _ => {}
            }
        }
        let mut m = Model {
            possible_ns,
            by_kind_name,
            generated,
            release_ns,
            cnpg,
            operator_secrets,
            operator_services,
            cert_manager_ns: "cert-manager".to_owned(),
        };
        // cert-manager's cluster resource namespace: `clusterResourceNamespace` of its
        // release, else the release's namespace, else `cert-manager`.
        let releases: Vec<(usize, String)> = m
            .release_ns
            .iter()
            .map(|(&i, ns)| (i, ns.clone()))
            .collect();
        for (i, ns) in releases {
            if ix.docs[i].is("helm.toolkit.fluxcd.io", "HelmRelease")
                && chart_name(cx, &m, i) == "cert-manager"
            {
                m.cert_manager_ns = ix.docs[i]
                    .str_at(&["spec", "values", "clusterResourceNamespace"])
                    .unwrap_or(&ns)
                    .to_owned();
                break;
            }
        }
        m
    }

    /// Documents of `kind` (in API group `group`) named `name` that may land in namespace
    /// `ns` (`""`: cluster-scoped, any).
    pub fn lookup(
        &self,
        cx: &Context,
        kind: &str,
        group: &str,
        ns: &str,
        name: &str,
    ) -> Vec<usize> {
        self.by_kind_name
            .get(&(kind.to_owned(), name.to_owned()))
            .map(|all| {
                all.iter()
                    .copied()
                    .filter(|&d| self.matches(cx, d, group, ns))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn matches(&self, cx: &Context, d: usize, group: &str, ns: &str) -> bool {
        cx.index.docs[d].group() == group && (ns.is_empty() || self.possible_ns[d].contains(ns))
    }

    /// Documents a reference resolves to.
    pub fn resolve(&self, cx: &Context, r: &Ref) -> Vec<usize> {
        let Some(all) = self.by_kind_name.get(&(r.kind.to_owned(), r.name.clone())) else {
            return Vec::new();
        };
        all.iter()
            .copied()
            .filter(|&d| {
                r.namespaces
                    .iter()
                    .any(|ns| self.matches(cx, d, r.group, ns))
            })
            .collect()
    }

    /// Documents of the reference's kind and name in any namespace.
    fn anywhere(&self, cx: &Context, r: &Ref) -> Vec<usize> {
        self.by_kind_name
            .get(&(r.kind.to_owned(), r.name.clone()))
            .map(|all| {
                all.iter()
                    .copied()
                    .filter(|&d| cx.index.docs[d].group() == r.group)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the target may be created outside the tree (see the module docs).
    pub fn made_elsewhere(&self, r: &Ref, ns: &str) -> bool {
        let name = r.name.as_str();
        // What CloudNativePG makes for a cluster `c`: Secrets `c-app`, `c-superuser`, `c-ca`,
        // `c-server`, `c-replication`; Services `c-rw`, `c-ro`, `c-r` (and the additional
        // Services its spec names, collected in `operator_services`).
        let cnpg_made = |suffixes: &[&str]| {
            self.cnpg.iter().any(|(cns, c)| {
                cns == ns
                    && name
                        .strip_prefix(c.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|rest| suffixes.contains(&rest))
            })
        };
        let chart_in_ns = || {
            self.release_ns
                .iter()
                .any(|(&d, rns)| d != r.doc && rns == ns)
        };
        match r.kind {
            "Secret" => {
                cnpg_made(&["app", "superuser", "ca", "server", "replication"])
                    || self.generated.contains(name)
                    || self
                        .operator_secrets
                        .contains(&(ns.to_owned(), name.to_owned()))
                    || self
                        .operator_secrets
                        .contains(&("*".to_owned(), name.to_owned()))
                    || (r.chart_may_create && chart_in_ns())
            }
            "ConfigMap" => {
                name == "kube-root-ca.crt"
                    || self.generated.contains(name)
                    || (r.chart_may_create && chart_in_ns())
            }
            "Service" => {
                cnpg_made(&["rw", "ro", "r"])
                    || self
                        .operator_services
                        .contains(&(ns.to_owned(), name.to_owned()))
                    || chart_in_ns()
                    || ns == "kube-system"
                    || (ns == "default" && name == "kubernetes")
            }
            "GitRepository" | "OCIRepository" => ns == "flux-system" && name == "flux-system",
            _ => false,
        }
    }
}

/// Builds references as it walks documents.
struct Collect<'a, 'm> {
    out: Vec<Ref<'a>>,
    m: &'m Model,
    doc: usize,
}

impl<'a> Collect<'a, '_> {
    /// The namespaces of the current document.
    fn own_ns(&self) -> Vec<String> {
        self.m.possible_ns[self.doc].iter().cloned().collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &'static str,
        group: &'static str,
        node: &'a Node,
        namespaces: Vec<String>,
        keys: Vec<(String, &'a Node)>,
        via: impl Into<String>,
        chart_may_create: bool,
        order: Order,
    ) {
        let Some(name) = node.as_str() else { return };
        if name.is_empty() || templated(name) {
            return;
        }
        self.out.push(Ref {
            doc: self.doc,
            node,
            kind,
            group,
            namespaces,
            name: name.to_owned(),
            keys,
            via: via.into(),
            chart_may_create,
            order,
        });
    }

    /// `{name, key?, optional?}`-style selector at `sel`.
    fn selector(
        &mut self,
        kind: &'static str,
        sel: &'a Node,
        key_key: Option<&str>,
        ns: Vec<String>,
        via: &str,
        chart_may_create: bool,
    ) {
        if sel.get("optional").is_some_and(NodeExt::is_true) {
            return;
        }
        let Some(name) = sel.get("name") else {
            return;
        };
        let keys = key_key
            .and_then(|k| sel.get(k))
            .and_then(|n| n.as_str().map(|s| (s.to_owned(), n)))
            .into_iter()
            .collect();
        self.push(
            kind,
            "",
            name,
            ns,
            keys,
            via,
            chart_may_create,
            Order::NoLater,
        );
    }

    /// Pod-spec-like references anywhere below `root` (also used on Helm values).
    fn pod_refs(&mut self, root: &'a Node, ns: &[String], values: bool) {
        // Maps below `root`, skipping sections switched off with `enabled: false` (a chart
        // does not read them).
        fn maps_of<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
            if n.get("enabled").is_some_and(NodeExt::is_false) {
                return;
            }
            if n.is_map() {
                out.push(n);
            }
            for (_, _, v) in n.pairs() {
                maps_of(v, out);
            }
            for i in n.items() {
                maps_of(i, out);
            }
        }
        let mut maps: Vec<&'a Node> = Vec::new();
        maps_of(root, &mut maps);
        for m in maps {
            for (k, _, v) in m.pairs() {
                match k {
                    "envFrom" => {
                        for item in v.items() {
                            if let Some(s) = item.get("secretRef") {
                                self.selector("Secret", s, None, ns.to_vec(), "envFrom", true);
                            }
                            if let Some(c) = item.get("configMapRef") {
                                self.selector("ConfigMap", c, None, ns.to_vec(), "envFrom", true);
                            }
                        }
                    }
                    "secretKeyRef" => {
                        self.selector("Secret", v, Some("key"), ns.to_vec(), "secretKeyRef", true);
                    }
                    "configMapKeyRef" => {
                        self.selector(
                            "ConfigMap",
                            v,
                            Some("key"),
                            ns.to_vec(),
                            "configMapKeyRef",
                            true,
                        );
                    }
                    "volumes" => {
                        for vol in v.items() {
                            for (field, kind, name_key) in [
                                ("secret", "Secret", "secretName"),
                                ("configMap", "ConfigMap", "name"),
                            ] {
                                let Some(src) = vol.get(field) else { continue };
                                if src.get("optional").is_some_and(NodeExt::is_true) {
                                    continue;
                                }
                                let Some(name) = src.get(name_key) else {
                                    continue;
                                };
                                let keys = src
                                    .get("items")
                                    .map(NodeExt::items)
                                    .unwrap_or_default()
                                    .into_iter()
                                    .filter_map(|it| {
                                        let n = it.get("key")?;
                                        Some((n.as_str()?.to_owned(), n))
                                    })
                                    .collect();
                                self.push(
                                    kind,
                                    "",
                                    name,
                                    ns.to_vec(),
                                    keys,
                                    format!("volume {field}"),
                                    true,
                                    Order::NoLater,
                                );
                            }
                        }
                    }
                    _ if values
                        && (k == "existingSecret" || k.ends_with("ExistingSecret"))
                        && !["useExisting", "createExisting", "enableExisting"]
                            .iter()
                            .any(|p| k.starts_with(p)) =>
                    {
                        // A name, not a switch (`existingSecret: true`) or a number.
                        let plain_name = v.as_str().is_some_and(|s| {
                            !v.is_true() && !v.is_false() && s.parse::<f64>().is_err()
                        });
                        if !plain_name {
                            continue;
                        }
                        let mut keys = Vec::new();
                        for (k2, _, v2) in m.pairs() {
                            let key_sibling = k2 != k
                                && k2.ends_with("Key")
                                && (k2.starts_with("existingSecret") || k2.starts_with(k));
                            if key_sibling && let Some(s) = v2.as_str() {
                                keys.push((s.to_owned(), v2));
                            }
                            if k2 == "secretKeys" {
                                for (_, _, kv) in v2.pairs() {
                                    if let Some(s) = kv.as_str() {
                                        keys.push((s.to_owned(), kv));
                                    }
                                }
                            }
                            if k == "usersExistingSecret" && k2 == "aclUsers" {
                                for (_, _, user) in v2.pairs() {
                                    if let Some(pk) = user.get("passwordKey")
                                        && let Some(s) = pk.as_str()
                                    {
                                        keys.push((s.to_owned(), pk));
                                    }
                                }
                            }
                        }
                        // An `existingSecret` is by definition not made by its own chart,
                        // but another chart in the namespace may make it.
                        self.push("Secret", "", v, ns.to_vec(), keys, k, true, Order::NoLater);
                    }
                    _ => {}
                }
            }
        }
    }
}

const WORKLOADS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
];

/// Where the target of a [`Fixed`] reference is looked up.
#[derive(Clone, Copy)]
enum Ns {
    /// The referring document's namespaces.
    Own,
    /// The `namespace` beside the name, else the referring document's.
    Explicit,
    /// The referring document's, unless one of them is `flux-system` (where `flux bootstrap`
    /// makes the Secret): then not checked.
    OwnOutsideFluxSystem,
}

/// The keys a [`Fixed`] reference reads.
#[derive(Clone, Copy)]
enum Keys {
    /// None.
    None,
    /// `username` and `password` (a basic-auth Secret, as CloudNativePG reads it).
    UserPassword,
    /// A HelmRelease `valuesFrom`: `valuesKey`, else `values.yaml`.
    ValuesKey,
}

/// A reference at a fixed place in documents of some kinds; most references are one of these.
struct Fixed {
    /// API group of the referring documents.
    group: &'static str,
    /// Their kinds.
    kinds: &'static [&'static str],
    /// Path to a list whose every item holds a reference; empty: the document root holds one.
    items: &'static [&'static str],
    /// Path, below the root or an item, to the node naming the target.
    name: &'static [&'static str],
    /// Kinds of the target: with `named`, those the `kind` beside the name may say (another
    /// or none: not checked); else the one kind.
    target: &'static [&'static str],
    /// Whether the target's kind is the `kind` beside the name.
    named: bool,
    /// Whether an item with `optional: true` is skipped.
    optional: bool,
    /// API group of the target.
    target_group: &'static str,
    ns: Ns,
    keys: Keys,
    /// What refers, for messages.
    via: &'static str,
    order: Order,
}

/// The references every [`Fixed`] describes, in the order they are collected.
const FIXED: &[Fixed] = &[
    Fixed {
        group: "helm.toolkit.fluxcd.io",
        kinds: &["HelmRelease"],
        items: &["spec", "valuesFrom"],
        name: &["name"],
        target: &["Secret", "ConfigMap"],
        target_group: "",
        ns: Ns::Own,
        keys: Keys::ValuesKey,
        named: true,
        optional: true,
        via: "valuesFrom",
        order: Order::NoLater,
    },
    Fixed {
        group: "helm.toolkit.fluxcd.io",
        kinds: &["HelmRelease"],
        items: &[],
        name: &["spec", "chartRef", "name"],
        target: &["OCIRepository"],
        target_group: "source.toolkit.fluxcd.io",
        ns: Ns::Explicit,
        keys: Keys::None,
        named: true,
        optional: false,
        via: "chartRef",
        order: Order::NoLater,
    },
    Fixed {
        group: "helm.toolkit.fluxcd.io",
        kinds: &["HelmRelease"],
        items: &[],
        name: &["spec", "chart", "spec", "sourceRef", "name"],
        target: &["HelmRepository", "GitRepository", "Bucket"],
        target_group: "source.toolkit.fluxcd.io",
        ns: Ns::Explicit,
        keys: Keys::None,
        named: true,
        optional: false,
        via: "chart.spec.sourceRef",
        order: Order::NoLater,
    },
    Fixed {
        group: "helm.toolkit.fluxcd.io",
        kinds: &["HelmRelease"],
        items: &["spec", "dependsOn"],
        name: &["name"],
        target: &["HelmRelease"],
        target_group: "helm.toolkit.fluxcd.io",
        ns: Ns::Explicit,
        keys: Keys::None,
        named: false,
        optional: false,
        via: "dependsOn",
        order: Order::Free,
    },
    Fixed {
        group: "kustomize.toolkit.fluxcd.io",
        kinds: &["Kustomization"],
        items: &[],
        name: &["spec", "sourceRef", "name"],
        target: &["GitRepository", "OCIRepository", "Bucket"],
        target_group: "source.toolkit.fluxcd.io",
        ns: Ns::Explicit,
        keys: Keys::None,
        named: true,
        optional: false,
        via: "sourceRef",
        order: Order::Before,
    },
    Fixed {
        group: "kustomize.toolkit.fluxcd.io",
        kinds: &["Kustomization"],
        items: &[],
        name: &["spec", "decryption", "secretRef", "name"],
        target: &["Secret"],
        target_group: "",
        ns: Ns::OwnOutsideFluxSystem,
        keys: Keys::None,
        named: false,
        optional: false,
        via: "decryption.secretRef",
        order: Order::Before,
    },
    Fixed {
        group: "kustomize.toolkit.fluxcd.io",
        kinds: &["Kustomization"],
        items: &["spec", "postBuild", "substituteFrom"],
        name: &["name"],
        target: &["Secret", "ConfigMap"],
        target_group: "",
        ns: Ns::Own,
        keys: Keys::None,
        named: true,
        optional: true,
        via: "postBuild.substituteFrom",
        order: Order::Before,
    },
    Fixed {
        group: "postgresql.cnpg.io",
        kinds: &["Cluster"],
        items: &[],
        name: &["spec", "bootstrap", "initdb", "secret", "name"],
        target: &["Secret"],
        target_group: "",
        ns: Ns::Own,
        keys: Keys::UserPassword,
        named: false,
        optional: false,
        via: "bootstrap.initdb.secret",
        order: Order::NoLater,
    },
    Fixed {
        group: "postgresql.cnpg.io",
        kinds: &["Cluster"],
        items: &[],
        name: &["spec", "superuserSecret", "name"],
        target: &["Secret"],
        target_group: "",
        ns: Ns::Own,
        keys: Keys::UserPassword,
        named: false,
        optional: false,
        via: "superuserSecret",
        order: Order::NoLater,
    },
    Fixed {
        group: "postgresql.cnpg.io",
        kinds: &["Cluster"],
        items: &["spec", "managed", "roles"],
        name: &["passwordSecret", "name"],
        target: &["Secret"],
        target_group: "",
        ns: Ns::Own,
        keys: Keys::UserPassword,
        named: false,
        optional: false,
        via: "managed.roles[].passwordSecret",
        order: Order::NoLater,
    },
    Fixed {
        group: "postgresql.cnpg.io",
        kinds: &["Database", "Pooler", "ScheduledBackup", "Backup"],
        items: &[],
        name: &["spec", "cluster", "name"],
        target: &["Cluster"],
        target_group: "postgresql.cnpg.io",
        ns: Ns::Own,
        keys: Keys::None,
        named: false,
        optional: false,
        via: "spec.cluster",
        order: Order::Free,
    },
];

/// The node at `path` below `n`.
fn node_at<'a>(n: &'a Node, path: &[&str]) -> Option<&'a Node> {
    path.iter().try_fold(n, |n, k| n.get(k))
}

impl<'a> Collect<'a, '_> {
    /// Collects the references `f` describes in `root`, a document of one of its kinds.
    fn fixed(&mut self, f: &Fixed, root: &'a Node, own: &[String]) {
        let holders = if f.items.is_empty() {
            vec![root]
        } else {
            node_at(root, f.items)
                .map(NodeExt::items)
                .unwrap_or_default()
        };
        for holder in holders {
            if f.optional && holder.get("optional").is_some_and(NodeExt::is_true) {
                continue;
            }
            let Some(name) = node_at(holder, f.name) else {
                continue;
            };
            // The object holding the name (its `kind`, `namespace` and `valuesKey` siblings).
            let object = node_at(holder, &f.name[..f.name.len() - 1]).unwrap_or(holder);
            let kind = if f.named {
                let said = object.get("kind").and_then(NodeExt::as_str);
                match f.target.iter().find(|t| Some(**t) == said) {
                    Some(t) => t,
                    None => continue,
                }
            } else {
                f.target[0]
            };
            let namespaces = match f.ns {
                Ns::Own => own.to_vec(),
                Ns::Explicit => match object.get("namespace").and_then(NodeExt::as_str) {
                    Some(ns) => vec![ns.to_owned()],
                    None => own.to_vec(),
                },
                Ns::OwnOutsideFluxSystem => {
                    if own.iter().any(|n| n == "flux-system") {
                        continue;
                    }
                    own.to_vec()
                }
            };
            let keys = match f.keys {
                Keys::None => Vec::new(),
                Keys::UserPassword => {
                    vec![("username".to_owned(), name), ("password".to_owned(), name)]
                }
                Keys::ValuesKey => match object.get("valuesKey") {
                    Some(k) => k.as_str().map(|s| (s.to_owned(), k)).into_iter().collect(),
                    None => vec![("values.yaml".to_owned(), name)],
                },
            };
            self.push(
                kind,
                f.target_group,
                name,
                namespaces,
                keys,
                f.via,
                false,
                f.order,
            );
        }
    }
}

/// Every reference in the tree.
pub(crate) fn references<'a>(cx: &Context<'a>, m: &Model) -> Vec<Ref<'a>> {
    let ix = cx.index;
    let mut c = Collect {
        out: Vec::new(),
        m,
        doc: 0,
    };
    for (i, d) in ix.docs.iter().enumerate() {
        c.doc = i;
        let own = c.own_ns();
        let group = d.group();
        let kind = d.kind.as_deref().unwrap_or("");
        let explicit_ns = |n: &'a Node| -> Vec<String> {
            match n.get("namespace").and_then(NodeExt::as_str) {
                Some(ns) => vec![ns.to_owned()],
                None => own.clone(),
            }
        };
        for f in FIXED {
            if f.group == group && f.kinds.contains(&kind) {
                c.fixed(f, &d.root, &own);
            }
        }
        match (group, kind) {
            ("helm.toolkit.fluxcd.io", "HelmRelease") => {
                if let Some(values) = d.get(&["spec", "values"]) {
                    let rns: Vec<String> = match d.str_at(&["spec", "targetNamespace"]) {
                        Some(t) => vec![t.to_owned()],
                        None => own.clone(),
                    };
                    c.pod_refs(values, &rns, true);
                }
            }
            ("cert-manager.io", "ClusterIssuer" | "Issuer") => {
                let ns = if kind == "ClusterIssuer" {
                    vec![m.cert_manager_ns.clone()]
                } else {
                    own.clone()
                };
                if let Some(spec) = d.get(&["spec"]) {
                    let mut found: Vec<(&'a str, &'a Node)> = Vec::new();
                    walk(spec, &mut |n| {
                        for (k, _, v) in n.pairs() {
                            if (k.ends_with("SecretRef")
                                && k != "privateKeySecretRef"
                                && v.is_map())
                                || (k == "ca" && v.get("secretName").is_some())
                            {
                                found.push((k, v));
                            }
                        }
                    });
                    for (k, v) in found {
                        if k == "ca" {
                            if let Some(name) = v.get("secretName") {
                                c.push(
                                    "Secret",
                                    "",
                                    name,
                                    ns.clone(),
                                    Vec::new(),
                                    "ca.secretName",
                                    false,
                                    Order::NoLater,
                                );
                            }
                        } else {
                            c.selector("Secret", v, Some("key"), ns.clone(), k, false);
                        }
                    }
                }
            }
            ("postgresql.cnpg.io", "Cluster") => {
                if let Some(certs) = d.get(&["spec", "certificates"]) {
                    for (k, _, v) in certs.pairs() {
                        if k.ends_with("Secret") {
                            c.push(
                                "Secret",
                                "",
                                v,
                                own.clone(),
                                Vec::new(),
                                format!("certificates.{k}"),
                                false,
                                Order::NoLater,
                            );
                        }
                    }
                }
                if let Some(spec) = d.get(&["spec"]) {
                    c.pod_refs(spec, &own, false);
                }
            }
            (
                "traefik.io" | "traefik.containo.us",
                "IngressRoute" | "IngressRouteTCP" | "IngressRouteUDP",
            ) => {
                let mut services = Vec::new();
                for route in d
                    .get(&["spec", "routes"])
                    .map(NodeExt::items)
                    .unwrap_or_default()
                {
                    services.extend(
                        route
                            .get("services")
                            .map(NodeExt::items)
                            .unwrap_or_default(),
                    );
                }
                for s in services {
                    let kind = s.get("kind").and_then(NodeExt::as_str).unwrap_or("Service");
                    let Some(name) = s.get("name") else { continue };
                    if kind != "Service" || name.as_str().is_some_and(|n| n.contains('@')) {
                        continue;
                    }
                    let ns = explicit_ns(s);
                    c.push(
                        "Service",
                        "",
                        name,
                        ns,
                        Vec::new(),
                        "services",
                        false,
                        Order::Free,
                    );
                }
            }
            ("networking.k8s.io", "Ingress") => {
                let mut backends: Vec<&'a Node> = Vec::new();
                if let Some(b) = d.get(&["spec", "defaultBackend"]) {
                    backends.push(b);
                }
                for rule in d
                    .get(&["spec", "rules"])
                    .map(NodeExt::items)
                    .unwrap_or_default()
                {
                    for p in rule
                        .get("http")
                        .and_then(|h| h.get("paths"))
                        .map(NodeExt::items)
                        .unwrap_or_default()
                    {
                        if let Some(b) = p.get("backend") {
                            backends.push(b);
                        }
                    }
                }
                for b in backends {
                    if let Some(name) = b.get("service").and_then(|s| s.get("name")) {
                        c.push(
                            "Service",
                            "",
                            name,
                            own.clone(),
                            Vec::new(),
                            "backend",
                            false,
                            Order::Free,
                        );
                    }
                }
            }
            _ if WORKLOADS.contains(&(group, kind)) => {
                if let Some(spec) = d.get(&["spec"]) {
                    c.pod_refs(spec, &own, false);
                }
            }
            _ => {}
        }
    }
    c.out
}

/// The help for psd's ClusterIssuer when the Cloudflare token Secret is missing: psd writes
/// that Secret only once it is given the token.
const CLOUDFLARE_TOKEN_HELP: &str = "psd writes this Secret once it has the Cloudflare API token (permissions Zone:DNS:Edit and Zone:Zone:Read): run `psd render --cloudflare-token-file FILE` with the token in FILE (kept outside the repository), or with CLOUDFLARE_API_TOKEN set";

/// Whether the file holding document `doc` was written by `psd render`: it is listed in a
/// `.psd-files` record of the tree (paths there are relative to the repository root).
fn rendered_by_psd(cx: &Context, doc: usize) -> bool {
    let file = &cx.tree.files[cx.index.docs[doc].file].path;
    let wanted = crate::report::repo_relative(cx.tree, file);
    cx.tree
        .files
        .iter()
        .filter(|f| f.path == ".psd-files" || f.path.ends_with("/.psd-files"))
        .filter_map(crate::tree::File::text)
        .flat_map(str::lines)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .any(|(_, path)| path.trim() == wanted)
}

/// Whether document `doc` holds `key` under `data`/`stringData` (Secret) or
/// `data`/`binaryData` (ConfigMap).
fn has_key(cx: &Context, doc: usize, key: &str) -> bool {
    let d = &cx.index.docs[doc];
    ["data", "stringData", "binaryData"]
        .iter()
        .any(|f| d.root.get(f).is_some_and(|m| m.get(key).is_some()))
}

/// Checks the three rules.
pub fn check(cx: &Context, out: &mut Sink) {
    let m = Model::build(cx);
    for r in references(cx, &m) {
        if r.namespaces.is_empty() {
            continue;
        }
        let found = m.resolve(cx, &r);
        let referrer = cx.index.docs[r.doc].describe();
        if found.is_empty() {
            if r.namespaces.iter().any(|ns| m.made_elsewhere(&r, ns)) {
                continue;
            }
            let wanted = r.namespaces.join(" or ");
            let elsewhere = m.anywhere(cx, &r);
            if !elsewhere.is_empty() && r.namespaces.iter().all(|n| !n.is_empty()) {
                let there: BTreeSet<&str> = elsewhere.iter().map(|&d| cx.index.ns(d)).collect();
                let there: Vec<&str> = there.into_iter().collect();
                out.at(
                    cx,
                    &WRONG_NAMESPACE,
                    r.doc,
                    Some(r.node),
                    format!(
                        "{referrer} names {} `{}` ({}) in namespace `{wanted}`, but it is in `{}`",
                        r.kind,
                        r.name,
                        r.via,
                        there.join("`, `")
                    ),
                    format!(
                        "move {} `{}` to namespace `{wanted}` (a {} is looked up there)",
                        r.kind, r.name, r.via
                    ),
                );
            } else {
                let place = if wanted.is_empty() {
                    String::new()
                } else {
                    format!(" in namespace `{wanted}`")
                };
                let help = if r.kind == "Secret"
                    && r.name == psd_model::CloudflareConfig::SECRET_NAME
                    && rendered_by_psd(cx, r.doc)
                {
                    CLOUDFLARE_TOKEN_HELP
                } else {
                    ""
                };
                out.at(
                    cx,
                    &MISSING_OBJECT,
                    r.doc,
                    Some(r.node),
                    format!(
                        "{referrer} names {} `{}` ({}), which is not in the tree{place}",
                        r.kind, r.name, r.via
                    ),
                    help,
                );
            }
            continue;
        }
        if !matches!(r.kind, "Secret" | "ConfigMap") || m.generated.contains(&r.name) {
            continue;
        }
        for (key, node) in &r.keys {
            if found.iter().any(|&d| has_key(cx, d, key)) {
                continue;
            }
            let target = &cx.index.docs[found[0]];
            let mut have: Vec<&str> = ["data", "stringData", "binaryData"]
                .iter()
                .filter_map(|f| target.root.get(f))
                .flat_map(|mp| mp.pairs().into_iter().map(|(k, _, _)| k))
                .collect();
            have.sort_unstable();
            have.dedup();
            out.at(
                cx,
                &MISSING_KEY,
                r.doc,
                Some(node),
                format!(
                    "{referrer} reads key `{key}` of {} ({}), which has {}",
                    target.describe(),
                    r.via,
                    if have.is_empty() {
                        "no keys".to_owned()
                    } else {
                        format!("only `{}`", have.join("`, `"))
                    }
                ),
                format!(
                    "add `{key}` to {} in {}, or name one of its keys",
                    target.describe(),
                    cx.tree.files[target.file].path
                ),
            );
        }
    }
}
