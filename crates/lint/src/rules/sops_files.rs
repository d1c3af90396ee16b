//! `sops/*`: SOPS-encrypted files and their wiring. A file named as encrypted that is not; an
//! encrypted document whose identity (`apiVersion`, `kind`, `metadata`) is encrypted, which
//! Flux and kustomize cannot read; an encrypted file that no `.sops.yaml` creation rule
//! matches, or whose recipients differ from its rule's; and a Flux `Kustomization` applying
//! encrypted files without `spec.decryption`.
//!
//! `.sops.yaml` is read with psd-sops' own reader ([`psd_sops::config::SopsConfig`]) and the
//! rule is chosen as sops chooses it. Assumptions, to stay silent where nothing can be known:
//! the `.sops.yaml` that governs a file is the nearest one walking up from the file's folder
//! within the repository (the tree, plus [`Tree::sops_configs_above`](crate::Tree)); sops
//! itself starts at the working directory, and people run it from the repository root or
//! next to the file, where the two agree. A file with no `.sops.yaml` above it, or one that
//! sops cannot read, or one without `creation_rules`, was encrypted with command-line keys:
//! nothing is reported about rules or recipients then. Files matched only by a creation rule
//! (not by their name) are not required to be encrypted: the Flux guide's rule matches every
//! `*.yaml` file, and a Secret in the clear is `secrets/plaintext`'s business anyway.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use psd_sops::config::SopsConfig;
use psd_sops::stores::yaml::parse::{Kind, MapEntry, Node, SeqEntry};

use crate::document::{Document, NodeExt};
use crate::finding::{RuleInfo, Severity};
use crate::{Context, Sink};

/// A file named `*.enc.yaml` / `*.sops.yaml` holds a document without sops metadata.
pub static NOT_ENCRYPTED: RuleInfo = RuleInfo {
    id: "sops/not-encrypted",
    severity: Severity::Error,
    summary: "a file named *.enc.yaml or *.sops.yaml is not encrypted",
    help: "encrypt it in place with `psd encrypt -i FILE` (or `sops -e -i FILE`) before committing, or rename it if it holds nothing secret",
};

/// An encrypted document whose `apiVersion`, `kind` or `metadata` is encrypted.
pub static IDENTITY_ENCRYPTED: RuleInfo = RuleInfo {
    id: "sops/identity-encrypted",
    severity: Severity::Error,
    summary: "an encrypted document has apiVersion, kind or metadata encrypted",
    help: "Flux and kustomize read apiVersion, kind and metadata before decrypting: re-encrypt with `encrypted_regex: ^(data|stringData)$` in the .sops.yaml creation rule (decrypt, fix the rule, encrypt again)",
};

/// No `.sops.yaml` creation rule matches an encrypted file.
pub static NO_CREATION_RULE: RuleInfo = RuleInfo {
    id: "sops/no-creation-rule",
    severity: Severity::Warning,
    summary: "an encrypted file matches no creation rule of its .sops.yaml",
    help: "add a creation rule whose path_regex matches the file (or rename the file to match one); without it `sops updatekeys` and re-encryption fail and new recipients never reach the file",
};

/// An encrypted file's recipients differ from its creation rule's.
pub static RECIPIENTS: RuleInfo = RuleInfo {
    id: "sops/recipients-mismatch",
    severity: Severity::Warning,
    summary: "an encrypted file's age recipients differ from its .sops.yaml creation rule's",
    help: "run `psd updatekeys FILE` (or `sops updatekeys FILE`) so the file is encrypted for exactly the rule's recipients; check the cluster's key is among them",
};

/// A Flux Kustomization applies encrypted files but does not decrypt.
pub static MISSING_DECRYPTION: RuleInfo = RuleInfo {
    id: "sops/missing-decryption",
    severity: Severity::Error,
    summary: "a Flux Kustomization applies SOPS-encrypted files without spec.decryption (provider sops)",
    help: "add `decryption: {provider: sops, secretRef: {name: sops-age}}` to the Kustomization's spec (the Secret holds the age key under a key ending in .agekey, in the Kustomization's namespace)",
};

/// Whether the file name says the file is encrypted (`x.enc.yaml`, `x.sops.yml`, …; not the
/// `.sops.yaml` configuration itself).
pub fn named_encrypted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    let Some(base) = stem
        .strip_suffix(".enc")
        .or_else(|| stem.strip_suffix(".sops"))
    else {
        return false;
    };
    !base.is_empty()
}

/// Whether Flux is told not to decrypt this object.
fn decrypt_disabled(d: &Document) -> bool {
    d.str_at(&[
        "metadata",
        "annotations",
        "kustomize.toolkit.fluxcd.io/decrypt",
    ])
    .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// The first scalar at or below `node` whose text starts with `ENC[`.
fn first_encrypted(node: &Node) -> Option<&Node> {
    match &node.kind {
        Kind::Scalar { text, .. } => text.starts_with("ENC[").then_some(node),
        Kind::Map(entries) => entries.iter().find_map(|e| match e {
            MapEntry::Pair(k, v) => first_encrypted(k).or_else(|| first_encrypted(v)),
            MapEntry::Comment(_) => None,
        }),
        Kind::Seq(items) => items.iter().find_map(|e| match e {
            SeqEntry::Item(n) => first_encrypted(n),
            SeqEntry::Comment(_) => None,
        }),
    }
}

/// A `.sops.yaml` of the repository: its folder (repository-relative) and what psd-sops
/// reads from it (`None`: sops cannot read it, so nothing is known).
struct Config {
    dir: String,
    parsed: Option<SopsConfig>,
}

/// Fake absolute root the repository is placed under, so that psd-sops' reader computes the
/// path relative to a `.sops.yaml` exactly as sops does with real absolute paths.
const ROOT: &str = "/repo";

fn repo_path(cx: &Context, tree_path: &str) -> String {
    if cx.tree.repo_prefix.is_empty() {
        tree_path.to_owned()
    } else if tree_path.is_empty() {
        cx.tree.repo_prefix.clone()
    } else {
        format!("{}/{tree_path}", cx.tree.repo_prefix)
    }
}

fn abs(repo_path: &str) -> PathBuf {
    if repo_path.is_empty() {
        PathBuf::from(ROOT)
    } else {
        PathBuf::from(format!("{ROOT}/{repo_path}"))
    }
}

fn configs(cx: &Context) -> Vec<Config> {
    let inside = cx
        .tree
        .files
        .iter()
        .filter(|f| f.path == ".sops.yaml" || f.path.ends_with("/.sops.yaml"))
        .map(|f| (repo_path(cx, &f.path), &f.bytes));
    let above = cx
        .tree
        .sops_configs_above
        .iter()
        .map(|f| (f.path.clone(), &f.bytes));
    inside
        .chain(above)
        .map(|(path, bytes)| {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            let parsed = SopsConfig::parse(&abs(&path), bytes).ok();
            Config { dir, parsed }
        })
        .collect()
}

/// The nearest `.sops.yaml` at or above the folder of `repo_file`.
fn nearest<'a>(configs: &'a [Config], repo_file: &str) -> Option<&'a Config> {
    let mut dir = repo_file.rsplit_once('/').map_or("", |(d, _)| d);
    loop {
        if let Some(c) = configs.iter().find(|c| c.dir == dir) {
            return Some(c);
        }
        if dir.is_empty() {
            return None;
        }
        dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
    }
}

/// The age recipients of an encrypted document, one set per key group.
fn file_recipients(sops: &Node) -> Vec<BTreeSet<String>> {
    let of = |n: &Node| -> BTreeSet<String> {
        n.get("age")
            .map(NodeExt::items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.get("recipient").and_then(NodeExt::as_str))
            .map(|s| s.trim().to_owned())
            .collect()
    };
    match sops.get("key_groups") {
        Some(groups) if groups.is_seq() => groups.items().into_iter().map(of).collect(),
        _ => vec![of(sops)],
    }
}

fn normalized(mut groups: Vec<BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    groups.retain(|g| !g.is_empty());
    groups.sort();
    groups
}

fn show(groups: &[BTreeSet<String>]) -> String {
    let shown: Vec<String> = groups
        .iter()
        .map(|g| g.iter().cloned().collect::<Vec<_>>().join(", "))
        .collect();
    if shown.is_empty() {
        "no age recipient".to_owned()
    } else if shown.len() == 1 {
        shown[0].clone()
    } else {
        shown
            .iter()
            .map(|g| format!("[{g}]"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whether `node` has a key, or a scalar (an inline patch is a YAML string), mentioning
/// `decryption`.
fn mentions_decryption(node: &Node) -> bool {
    match &node.kind {
        Kind::Scalar { text, .. } => text.contains("decryption"),
        Kind::Map(_) => node
            .pairs()
            .into_iter()
            .any(|(k, _, v)| k == "decryption" || mentions_decryption(v)),
        Kind::Seq(_) => node.items().into_iter().any(mentions_decryption),
    }
}

/// Whether a patch may give the Flux Kustomization in document `doc` its `decryption`: a
/// parent Flux Kustomization applying its file has `spec.patches` mentioning `decryption`
/// (cluster-template patches every child Kustomization so), or a kustomization.yaml applying
/// it has patches that do (inline, or in a patch file of the tree). Assumed to apply to this
/// one: patch targets are not evaluated.
fn patched_with_decryption(cx: &Context, doc: usize) -> bool {
    let file = cx.index.docs[doc].file;
    let by_flux = cx
        .index
        .applied_by
        .get(&file)
        .into_iter()
        .flatten()
        .any(|&p| {
            cx.index.docs[cx.index.flux[p].doc]
                .get(&["spec", "patches"])
                .is_some_and(mentions_decryption)
        });
    if by_flux {
        return true;
    }
    cx.index.kustomize_dirs.iter().any(|(dir, files)| {
        if !files.contains(&file) {
            return false;
        }
        let Some(kfile) = crate::index::kustomization_in(cx.tree, dir) else {
            return false;
        };
        let Some(kdoc) = cx.index.first_doc.get(&kfile).map(|&d| &cx.index.docs[d]) else {
            return false;
        };
        ["patches", "patchesStrategicMerge", "patchesJson6902"]
            .iter()
            .filter_map(|key| kdoc.root.get(key))
            .flat_map(NodeExt::items)
            .any(|patch| {
                if mentions_decryption(patch) {
                    return true;
                }
                // A patch in a file: `path: x.yaml`, or a bare file name (strategic merge).
                let path = patch
                    .get("path")
                    .and_then(NodeExt::as_str)
                    .or_else(|| patch.as_str());
                path.and_then(|p| {
                    let joined = if dir.is_empty() {
                        p.to_owned()
                    } else {
                        format!("{dir}/{p}")
                    };
                    crate::tree::normalize(&joined)
                })
                .and_then(|p| cx.tree.file(&p))
                .and_then(|f| f.text())
                .is_some_and(|t| t.contains("decryption"))
            })
    })
}

/// Checks every `sops/*` rule.
pub fn check(cx: &Context, out: &mut Sink) {
    let mut docs_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        docs_of.entry(d.file).or_default().push(i);
    }
    // Named as encrypted, but a document is not.
    for (fi, f) in cx.tree.files.iter().enumerate() {
        if !named_encrypted(&f.path) {
            continue;
        }
        for &i in docs_of.get(&fi).map_or(&[][..], Vec::as_slice) {
            let d = &cx.index.docs[i];
            if !d.encrypted {
                out.at(
                    cx,
                    &NOT_ENCRYPTED,
                    i,
                    None,
                    format!(
                        "{} is in {}, named as encrypted, but has no sops metadata: it is committed in the clear",
                        d.describe(),
                        f.path
                    ),
                    "",
                );
            }
        }
    }
    // Identity fields encrypted, in files Flux or kustomize apply (a fully encrypted file
    // nothing applies may be fed to `sops -d | kubectl apply` or be no Kubernetes object at
    // all, e.g. Talos secrets).
    let applied = |file: usize| {
        cx.index.applied_by.contains_key(&file)
            || cx.index.kustomize_dirs.values().any(|f| f.contains(&file))
    };
    for (i, d) in cx.index.docs.iter().enumerate() {
        if !d.encrypted || !applied(d.file) {
            continue;
        }
        let hit = ["apiVersion", "kind", "metadata"]
            .iter()
            .find_map(|k| d.root.get(k).and_then(first_encrypted).map(|n| (*k, n)));
        if let Some((field, node)) = hit {
            out.at(
                cx,
                &IDENTITY_ENCRYPTED,
                i,
                Some(node),
                format!(
                    "`{field}` is encrypted in {}: Flux cannot tell what object this is",
                    cx.tree.files[d.file].path
                ),
                "",
            );
        }
    }
    // Creation rules and recipients, once per file (every document of a file carries the
    // same metadata).
    let configs = configs(cx);
    let mut seen_files = BTreeSet::new();
    for (i, d) in cx.index.docs.iter().enumerate() {
        if !d.encrypted || !seen_files.insert(d.file) {
            continue;
        }
        let path = &cx.tree.files[d.file].path;
        let repo_file = repo_path(cx, path);
        let Some(config) = nearest(&configs, &repo_file) else {
            continue;
        };
        let Some(parsed) = &config.parsed else {
            continue;
        };
        if !parsed.has_creation_rules() {
            continue;
        }
        let sops = d.root.get("sops").expect("encrypted documents have sops");
        let sops_key = d.root.key_node("sops");
        let config_name = if config.dir.is_empty() {
            ".sops.yaml".to_owned()
        } else {
            format!("{}/.sops.yaml", config.dir)
        };
        let rule = match parsed.rule_for(&abs(&repo_file)) {
            Ok(rule) => rule,
            Err(psd_sops::Error::NoMatchingCreationRule { .. }) => {
                out.at(
                    cx,
                    &NO_CREATION_RULE,
                    i,
                    sops_key,
                    format!("no creation rule of {config_name} matches {repo_file}"),
                    "",
                );
                continue;
            }
            // A regex that does not compile, several selection rules, or keys psd-sops does
            // not read (PGP, KMS): the rule cannot be judged here.
            Err(_) => continue,
        };
        let wanted = normalized(
            rule.age_recipients()
                .into_iter()
                .map(|g| g.into_iter().map(|s| s.trim().to_owned()).collect())
                .collect(),
        );
        if wanted.is_empty() {
            continue;
        }
        let have = normalized(file_recipients(sops));
        if have != wanted {
            let node = sops
                .key_node("key_groups")
                .or_else(|| sops.key_node("age"))
                .or(sops_key);
            let which = rule
                .path_regex
                .as_deref()
                .filter(|r| !r.is_empty())
                .map_or_else(
                    || "the catch-all rule".to_owned(),
                    |r| format!("the rule `path_regex: {r}`"),
                );
            out.at(
                cx,
                &RECIPIENTS,
                i,
                node,
                format!(
                    "{path} is encrypted for {} but {which} of {config_name} names {}",
                    show(&have),
                    show(&wanted)
                ),
                "",
            );
        }
    }
    // Decryption wiring.
    for k in &cx.index.flux {
        // A Kustomization of an OCI artifact, a bucket or a generated artifact applies files
        // of another source: its path does not point into this tree.
        let source_kind = cx.index.docs[k.doc].str_at(&["spec", "sourceRef", "kind"]);
        if source_kind.is_some_and(|kind| kind != "GitRepository") {
            continue;
        }
        let encrypted: Vec<usize> = k
            .files
            .iter()
            .flat_map(|f| docs_of.get(f).map_or(&[][..], Vec::as_slice))
            .copied()
            .filter(|&i| cx.index.docs[i].encrypted && !decrypt_disabled(&cx.index.docs[i]))
            .collect();
        let Some(&first) = encrypted.first() else {
            continue;
        };
        let d = &cx.index.docs[k.doc];
        let example = &cx.tree.files[cx.index.docs[first].file].path;
        let files: BTreeSet<usize> = encrypted.iter().map(|&i| cx.index.docs[i].file).collect();
        let decryption = d.get(&["spec", "decryption"]);
        match decryption {
            None if patched_with_decryption(cx, k.doc) => {}
            None => {
                let node = d.get(&["spec", "path"]).or_else(|| d.root.key_node("spec"));
                out.at(
                    cx,
                    &MISSING_DECRYPTION,
                    k.doc,
                    node,
                    format!(
                        "{} applies {} SOPS-encrypted file(s) ({example}{}) but has no spec.decryption: Flux would apply them still encrypted",
                        d.describe(),
                        files.len(),
                        if files.len() > 1 { ", …" } else { "" }
                    ),
                    "",
                );
            }
            Some(dec) => {
                let provider = dec.get("provider");
                if provider.and_then(NodeExt::as_str) != Some("sops") {
                    out.at(
                        cx,
                        &MISSING_DECRYPTION,
                        k.doc,
                        Some(provider.unwrap_or(dec)),
                        format!(
                            "{} decrypts {example} but spec.decryption.provider is not `sops` (the only provider Flux knows)",
                            d.describe()
                        ),
                        "set `provider: sops` under spec.decryption",
                    );
                }
            }
        }
    }
}
