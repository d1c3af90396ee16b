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
    /// Effective name of each document (same order as `docs`), see [`Index::name`].
    pub names: Vec<Option<String>>,
    /// Documents by (kind, effective namespace or `""`, effective name).
    pub by_id: HashMap<(String, String, String), Vec<usize>>,
    /// The Flux Kustomizations.
    pub flux: Vec<FluxKustomization>,
    /// For each file, the Flux Kustomizations (indexes into `flux`) that apply it.
    pub applied_by: HashMap<usize, Vec<usize>>,
    /// For each folder holding a `kustomization.yaml`, the files it applies.
    pub kustomize_dirs: BTreeMap<String, BTreeSet<usize>>,
    /// Files a kustomization names as patches or generator inputs; their documents are not in
    /// [`Index::docs`].
    pub patch_files: BTreeSet<usize>,
    /// The first document of each file (file index → document index).
    pub first_doc: HashMap<usize, usize>,
}

impl Index {
    /// Builds the index from parsed documents.
    pub fn build(
        tree: &Tree,
        docs: Vec<Document>,
        syntax_errors: Vec<(usize, String, crate::finding::Span)>,
    ) -> Self {
        // Patches and generator inputs named by a kustomization are not resources: their
        // documents are partial objects (or not objects at all), so no rule looks at them.
        let mut patch_files = BTreeSet::new();
        for d in docs
            .iter()
            .filter(|d| is_kustomization_file(&tree.files[d.file].path))
        {
            let dir = tree.files[d.file].dir();
            let mut named: Vec<&str> = Vec::new();
            for key in ["patches", "patchesJson6902"] {
                for p in d.root.get(key).map(|n| n.items()).unwrap_or_default() {
                    named.extend(p.get("path").and_then(NodeExt::as_str));
                }
            }
            for p in d
                .root
                .get("patchesStrategicMerge")
                .map(|n| n.items())
                .unwrap_or_default()
            {
                named.extend(p.as_str());
            }
            for key in ["secretGenerator", "configMapGenerator"] {
                for g in d.root.get(key).map(|n| n.items()).unwrap_or_default() {
                    for list in ["files", "envs"] {
                        for f in g.get(list).map(|n| n.items()).unwrap_or_default() {
                            // `key=path` or `path`.
                            named.extend(
                                f.as_str().map(|s| s.rsplit_once('=').map_or(s, |(_, p)| p)),
                            );
                        }
                    }
                }
            }
            for n in named {
                let joined = if dir.is_empty() {
                    n.to_owned()
                } else {
                    format!("{dir}/{n}")
                };
                if let Some(i) = crate::tree::normalize(&joined).and_then(|p| tree.position(&p)) {
                    patch_files.insert(i);
                }
            }
        }
        let docs: Vec<Document> = docs
            .into_iter()
            .filter(|d| !patch_files.contains(&d.file))
            .collect();
        let mut first_doc = HashMap::new();
        for (i, d) in docs.iter().enumerate() {
            first_doc.entry(d.file).or_insert(i);
        }
        let mut ix = Index {
            docs,
            syntax_errors,
            patch_files,
            first_doc,
            ..Default::default()
        };
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
        // A Kustomization that patches `decryption` into the Kustomizations it applies (as
        // cluster-template does) gives it to them.
        let patched: Vec<usize> = (0..ix.flux.len())
            .filter(|&k| {
                ix.docs[ix.flux[k].doc]
                    .get(&["spec", "patches"])
                    .map(|n| n.items())
                    .unwrap_or_default()
                    .iter()
                    .any(|p| {
                        let kind = p
                            .get("target")
                            .and_then(|t| t.get("kind"))
                            .and_then(NodeExt::as_str);
                        kind.is_none_or(|k| k == "Kustomization")
                            && p.get("patch")
                                .and_then(NodeExt::as_str)
                                .is_some_and(|t| t.contains("decryption:"))
                    })
            })
            .collect();
        for k in patched {
            let files = ix.flux[k].files.clone();
            for c in 0..ix.flux.len() {
                if files.contains(&ix.docs[ix.flux[c].doc].file) {
                    ix.flux[c].decryption = true;
                }
            }
        }
        // Effective namespaces: Flux's targetNamespace, else the namespaces kustomize sets
        // (a file shared by two kustomizations, such as a Component, is applied in each), else
        // metadata.namespace.
        let kustomize_ns = ix.kustomize_namespaces(tree);
        let mut all_ns: Vec<Vec<String>> = Vec::with_capacity(ix.docs.len());
        for d in &ix.docs {
            let target = ix
                .applied_by
                .get(&d.file)
                .and_then(|ks| ks.iter().find_map(|&k| ix.flux[k].target_namespace.clone()));
            let set: Vec<String> = match (target, kustomize_ns.get(&d.file)) {
                (Some(t), _) => vec![t],
                (None, Some(list)) => list.clone(),
                (None, None) => d.namespace.iter().cloned().collect(),
            };
            all_ns.push(set);
        }
        let mut names = vec![None; ix.docs.len()];
        let mut namespaces = vec![None; ix.docs.len()];
        for (i, d) in ix.docs.iter().enumerate() {
            let (Some(kind), Some(name)) = (&d.kind, &d.name) else {
                continue;
            };
            let ids: Vec<(String, String)> = if kind == "Namespace" {
                // kustomize's namespace transformer (and Flux's targetNamespace) renames the
                // Namespace objects it applies (cluster-template writes `name: _`).
                let renamed = if all_ns[i].is_empty()
                    || d.namespace.as_deref() == all_ns[i].first().map(String::as_str)
                {
                    vec![name.clone()]
                } else {
                    all_ns[i].clone()
                };
                renamed.into_iter().map(|n| (String::new(), n)).collect()
            } else if CLUSTER_SCOPED.contains(&kind.as_str()) || all_ns[i].is_empty() {
                vec![(String::new(), name.clone())]
            } else {
                all_ns[i]
                    .iter()
                    .map(|ns| (ns.clone(), name.clone()))
                    .collect()
            };
            if !CLUSTER_SCOPED.contains(&kind.as_str()) {
                namespaces[i] = all_ns[i].first().cloned();
            }
            names[i] = ids.first().map(|(_, n)| n.clone());
            for (ns, n) in ids {
                ix.by_id.entry((kind.clone(), ns, n)).or_default().push(i);
            }
        }
        ix.namespaces = namespaces;
        ix.names = names;
        ix
    }

    /// The effective name of document `doc`: `metadata.name`, except for a Namespace that
    /// kustomize or Flux renames.
    pub fn name(&self, doc: usize) -> Option<&str> {
        self.names[doc].as_deref()
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
        let Some(kdoc) = self.first_doc.get(&kfile).map(|&d| &self.docs[d]) else {
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
            // The shallowest folder below `path` holding a kustomization takes the file (and
            // everything below it): kustomize-controller does not look inside such a folder.
            let rel = &f.path[prefix.len()..];
            let mut dir = path.to_owned();
            let mut owner = None;
            for seg in rel
                .split('/')
                .collect::<Vec<_>>()
                .iter()
                .rev()
                .skip(1)
                .rev()
            {
                dir = if dir.is_empty() {
                    (*seg).to_owned()
                } else {
                    format!("{dir}/{seg}")
                };
                if kustomization_in(tree, &dir).is_some() {
                    owner = Some(dir.clone());
                    break;
                }
            }
            if let Some(dir) = owner {
                out.extend(self.kustomize_dirs.get(&dir).cloned().unwrap_or_default());
                covered = Some(format!("{dir}/"));
                continue;
            }
            out.insert(i);
        }
        out
    }

    /// For files applied by kustomizations that set `namespace:`, those namespaces: the
    /// outermost (shallowest) kustomizations that set one win; several at the same depth
    /// (a Component shared by two namespace folders) each apply it.
    fn kustomize_namespaces(&self, tree: &Tree) -> HashMap<usize, Vec<String>> {
        let mut out: HashMap<usize, (usize, Vec<String>)> = HashMap::new();
        let mut dirs: Vec<&String> = self.kustomize_dirs.keys().collect();
        let depth = |d: &str| d.matches('/').count() + usize::from(!d.is_empty());
        dirs.sort_by_key(|d| depth(d));
        for dir in dirs {
            let Some(ns) = kustomization_in(tree, dir)
                .and_then(|kfile| self.first_doc.get(&kfile))
                .and_then(|&d| self.docs[d].str_at(&["namespace"]))
            else {
                continue;
            };
            let level = depth(dir);
            for &f in &self.kustomize_dirs[dir] {
                let e = out.entry(f).or_insert((level, Vec::new()));
                if e.0 == level && !e.1.iter().any(|n| n == ns) {
                    e.1.push(ns.to_owned());
                }
            }
        }
        out.into_iter().map(|(f, (_, v))| (f, v)).collect()
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
