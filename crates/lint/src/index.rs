//! The tree as Flux and kustomize see it: every object with its effective namespace, every
//! kustomize folder with the files it applies, and every Flux `Kustomization` with the files
//! it applies. Rules look things up here instead of walking documents themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::document::{Document, NodeExt};
use crate::tree::Tree;

/// Kinds that have no namespace.
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PersistentVolume",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "Node",
    "RuntimeClass",
    "VolumeSnapshotClass",
    "CSIDriver",
    "ClusterSecretStore",
    "ClusterImageCatalog",
    "ClusterPolicy",
];

/// A Flux `Kustomization` (kustomize.toolkit.fluxcd.io).
#[derive(Debug)]
pub struct FluxKustomization {
    /// Index of its document in [`Index::docs`].
    pub doc: usize,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (Flux's default is the namespace of the object; unset: `None`).
    pub namespace: Option<String>,
    /// `spec.path` mapped into the tree (`None` if unset or outside the tree).
    pub path: Option<String>,
    /// `spec.path` as written.
    pub path_written: Option<String>,
    /// `spec.targetNamespace`.
    pub target_namespace: Option<String>,
    /// `spec.dependsOn` names (with their namespace, defaulting to this one's).
    pub depends_on: Vec<(Option<String>, String)>,
    /// `spec.wait: true`.
    pub wait: bool,
    /// Whether `spec.decryption` is set.
    pub decryption: bool,
    /// The files this Kustomization applies (indexes into [`Tree::files`]); empty if its path
    /// is outside the tree.
    pub files: BTreeSet<usize>,
}

/// The whole tree, indexed.
#[derive(Debug, Default)]
pub struct Index {
    /// Every document of every YAML file, in file order.
    pub docs: Vec<Document>,
    /// YAML syntax errors: file index, message, span.
    pub syntax_errors: Vec<(usize, String, crate::finding::Span)>,
    /// Effective namespace of each document (same order as `docs`): `None` for cluster-scoped
    /// kinds and for documents whose namespace cannot be known (no `metadata.namespace` and
    /// nothing that sets one).
    pub namespaces: Vec<Option<String>>,
    /// Documents by (kind, effective namespace or `""`, name).
    pub by_id: HashMap<(String, String, String), Vec<usize>>,
    /// The Flux Kustomizations.
    pub flux: Vec<FluxKustomization>,
    /// For each file, the Flux Kustomizations (indexes into `flux`) that apply it.
    pub applied_by: HashMap<usize, Vec<usize>>,
    /// For each folder holding a `kustomization.yaml`, the files it applies.
    pub kustomize_dirs: BTreeMap<String, BTreeSet<usize>>,
    /// The first document of each file (keeps lookups by file linear in the tree's size).
    first_doc: HashMap<usize, usize>,
}

impl Index {
    /// Builds the index from parsed documents.
    pub fn build(
        tree: &Tree,
        docs: Vec<Document>,
        syntax_errors: Vec<(usize, String, crate::finding::Span)>,
    ) -> Self {
        let mut ix = Index {
            docs,
            syntax_errors,
            ..Default::default()
        };
        for (i, d) in ix.docs.iter().enumerate() {
            ix.first_doc.entry(d.file).or_insert(i);
        }
        // Kustomize folders and what they apply.
        let dirs: Vec<String> = tree
            .files
            .iter()
            .filter(|f| is_kustomization_file(&f.path))
            .map(|f| f.dir().to_owned())
            .collect();
        for dir in dirs {
            let mut seen = BTreeSet::new();
            let files = ix.kustomize_apply(tree, &dir, &mut seen);
            ix.kustomize_dirs.insert(dir, files);
        }
        // Flux Kustomizations.
        for (i, d) in ix.docs.iter().enumerate() {
            if !d.is("kustomize.toolkit.fluxcd.io", "Kustomization") {
                continue;
            }
            let path_written = d.str_at(&["spec", "path"]).map(str::to_owned);
            let path = match &path_written {
                Some(p) => tree.from_repo_path(p),
                None => tree.from_repo_path("./"),
            };
            let depends_on = d
                .get(&["spec", "dependsOn"])
                .map(|n| n.items())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|dep| {
                    let name = dep.get("name")?.as_str()?.to_owned();
                    Some((
                        dep.get("namespace")
                            .and_then(NodeExt::as_str)
                            .map(str::to_owned),
                        name,
                    ))
                })
                .collect();
            ix.flux.push(FluxKustomization {
                doc: i,
                name: d.name.clone().unwrap_or_default(),
                namespace: d.namespace.clone(),
                path,
                path_written,
                target_namespace: d.str_at(&["spec", "targetNamespace"]).map(str::to_owned),
                depends_on,
                wait: d.get(&["spec", "wait"]).is_some_and(NodeExt::is_true),
                decryption: d.get(&["spec", "decryption"]).is_some(),
                files: BTreeSet::new(),
            });
        }
        for k in 0..ix.flux.len() {
            let Some(path) = ix.flux[k].path.clone() else {
                continue;
            };
            let files = ix.flux_apply(tree, &path);
            for &f in &files {
                ix.applied_by.entry(f).or_default().push(k);
            }
            ix.flux[k].files = files;
        }
        // Effective namespaces.
        let kustomize_ns: HashMap<usize, String> = ix.kustomize_namespaces(tree);
        let mut namespaces = Vec::with_capacity(ix.docs.len());
        for d in &ix.docs {
            let kind = d.kind.as_deref().unwrap_or("");
            let ns = if CLUSTER_SCOPED.contains(&kind) {
                None
            } else {
                let target = ix
                    .applied_by
                    .get(&d.file)
                    .and_then(|ks| ks.iter().find_map(|&k| ix.flux[k].target_namespace.clone()));
                target
                    .or_else(|| kustomize_ns.get(&d.file).cloned())
                    .or_else(|| d.namespace.clone())
            };
            namespaces.push(ns);
        }
        ix.namespaces = namespaces;
        for (i, d) in ix.docs.iter().enumerate() {
            if let (Some(kind), Some(name)) = (&d.kind, &d.name) {
                let ns = ix.namespaces[i].clone().unwrap_or_default();
                ix.by_id
                    .entry((kind.clone(), ns, name.clone()))
                    .or_default()
                    .push(i);
            }
        }
        ix
    }

    /// Documents of `kind` named `name` in namespace `ns` (`""` for cluster-scoped kinds).
    pub fn find(&self, kind: &str, ns: &str, name: &str) -> &[usize] {
        self.by_id
            .get(&(kind.to_owned(), ns.to_owned(), name.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// All documents of `kind` in API group `group`.
    pub fn of_kind<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Document)> + 'a {
        self.docs
            .iter()
            .enumerate()
            .filter(move |(_, d)| d.is(group, kind))
    }

    /// The effective namespace of document `doc`, `""` if none or unknown.
    pub fn ns(&self, doc: usize) -> &str {
        self.namespaces[doc].as_deref().unwrap_or("")
    }

    /// The Flux Kustomization named `name` in `ns`.
    pub fn flux_named(&self, ns: Option<&str>, name: &str) -> Option<usize> {
        self.flux.iter().position(|k| {
            k.name == name
                && (ns.is_none() || k.namespace.as_deref().unwrap_or("") == ns.unwrap_or(""))
        })
    }

    /// Files a kustomize folder applies: its `resources` (files, and folders with their own
    /// kustomization, recursively), `components`, and generator inputs are not followed.
    fn kustomize_apply(
        &self,
        tree: &Tree,
        dir: &str,
        seen: &mut BTreeSet<String>,
    ) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        if !seen.insert(dir.to_owned()) {
            return out;
        }
        let Some(kfile) = kustomization_in(tree, dir) else {
            return out;
        };
        let Some(kdoc) = self.first_doc.get(&kfile).map(|&i| &self.docs[i]) else {
            return out;
        };
        for key in ["resources", "components", "bases"] {
            for r in kdoc.root.get(key).map(|n| n.items()).unwrap_or_default() {
                let Some(r) = r.as_str() else { continue };
                if r.contains("://") || r.starts_with("github.com/") {
                    continue;
                }
                let joined = if dir.is_empty() {
                    r.to_owned()
                } else {
                    format!("{dir}/{r}")
                };
                let Some(p) = crate::tree::normalize(&joined) else {
                    continue;
                };
                if let Some(i) = tree.position(&p) {
                    out.insert(i);
                } else if kustomization_in(tree, &p).is_some() {
                    out.extend(self.kustomize_apply(tree, &p, seen));
                }
            }
        }
        out.insert(kfile);
        out
    }

    /// Files a Flux Kustomization with this path applies: the folder's kustomization if it
    /// has one, else (as kustomize-controller generates one) every YAML file below it, each
    /// sub-folder with a kustomization contributing what that applies.
    fn flux_apply(&self, tree: &Tree, path: &str) -> BTreeSet<usize> {
        if kustomization_in(tree, path).is_some() {
            return self.kustomize_dirs.get(path).cloned().unwrap_or_default();
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut out = BTreeSet::new();
        // Files are sorted by path, so those under `prefix` are one run of them, and so are
        // those under a covered folder: remembering the last covered folder is enough.
        let start = tree
            .files
            .partition_point(|f| f.path.as_str() < prefix.as_str());
        let mut covered: Option<String> = None;
        for (i, f) in tree.files.iter().enumerate().skip(start) {
            if !f.path.starts_with(&prefix) {
                break;
            }
            if !f.is_yaml() {
                continue;
            }
            if covered.as_deref().is_some_and(|c| f.path.starts_with(c)) {
                continue;
            }
            let dir = f.dir();
            if dir != path && kustomization_in(tree, dir).is_some() {
                out.extend(self.kustomize_dirs.get(dir).cloned().unwrap_or_default());
                covered = Some(format!("{dir}/"));
                continue;
            }
            out.insert(i);
        }
        out
    }

    /// For files applied by a kustomization that sets `namespace:`, that namespace.
    fn kustomize_namespaces(&self, tree: &Tree) -> HashMap<usize, String> {
        let mut out = HashMap::new();
        // Outer kustomizations override inner ones: visit folders from deepest to shallowest
        // and let later (shallower) ones win.
        let mut dirs: Vec<&String> = self.kustomize_dirs.keys().collect();
        dirs.sort_by_key(|d| {
            std::cmp::Reverse(d.matches('/').count() + usize::from(!d.is_empty()))
        });
        for dir in dirs {
            let Some(kfile) = kustomization_in(tree, dir) else {
                continue;
            };
            let Some(ns) = self
                .first_doc
                .get(&kfile)
                .and_then(|&i| self.docs[i].str_at(&["namespace"]))
            else {
                continue;
            };
            for &f in &self.kustomize_dirs[dir] {
                out.insert(f, ns.to_owned());
            }
        }
        out
    }
}

/// Whether a path names a kustomize file (`kustomization.yaml`, `.yml`, `Kustomization`).
pub fn is_kustomization_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

/// The index of the kustomize file in folder `dir`, if any.
pub fn kustomization_in(tree: &Tree, dir: &str) -> Option<usize> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .find_map(|n| {
            let p = if dir.is_empty() {
                (*n).to_owned()
            } else {
                format!("{dir}/{n}")
            };
            tree.position(&p)
        })
}
