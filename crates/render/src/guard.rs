//! What a render may not do without `--allow-destructive` (or not at all): render the embedded
//! default over another description's tree, rename a bootstrapped cluster, move `flux.root`,
//! drop a service, replace psd's first (Bitnami) stack.
//!
//! Each check compares the description with the previous render's record (`.psd-files`) and the
//! tree on disk, before anything is read from or written to the tree.

use std::collections::BTreeSet;
use std::path::Path;

use psd_model::cluster::ClusterConfig;

use crate::error::RenderError;
use crate::file_list::{FILE_LIST, Identity, Record, read_record};

/// Where the description came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    /// A file with content (`psd.yaml` or `--config`).
    File,
    /// No file, or an empty one (only whitespace and comments): the embedded default.
    Default,
}

/// The identity of a description.
pub(crate) fn identity(cfg: &ClusterConfig) -> Identity {
    Identity {
        domain: cfg.domain.clone(),
        cluster: cfg.flux.cluster_name.clone(),
        root: cfg.flux.root.clone(),
    }
}

/// Checks that need only the description and the disk, run before secrets are read. Returns
/// warnings for what `allow_destructive` let through.
pub(crate) fn before_render(
    repo: &Path,
    cfg: &ClusterConfig,
    source: ConfigSource,
    previous: Option<&Record>,
    allow_destructive: bool,
) -> Result<Vec<String>, RenderError> {
    let new = identity(cfg);
    let mut warnings = Vec::new();
    let old = previous.and_then(|r| r.identity.as_ref());

    // (a) The embedded default over a tree of another description: never.
    if source == ConfigSource::Default
        && let Some(old) = old
        && *old != new
    {
        return Err(RenderError::DefaultOverOtherTree {
            record: repo.join(&new.root).join(FILE_LIST),
            previous: old.to_string(),
        });
    }

    // (b) Another cluster name in the same root.
    if let Some(old) = old
        && old.cluster != new.cluster
    {
        let bootstrapped = repo
            .join(&new.root)
            .join("clusters")
            .join(&old.cluster)
            .join("flux-system")
            .exists();
        let (root, o, n) = (new.root.clone(), old.cluster.clone(), new.cluster.clone());
        if !allow_destructive {
            return Err(if bootstrapped {
                RenderError::ClusterRenamed {
                    root,
                    old: o,
                    new: n,
                }
            } else {
                RenderError::ClusterMismatch {
                    root,
                    old: o,
                    new: n,
                }
            });
        }
        warnings.push(format!(
            "cluster renamed from `{o}` to `{n}` (--allow-destructive): {root}/clusters/{o} is \
             removed{}",
            if bootstrapped {
                "; re-run `flux bootstrap` with the new path before pushing, or Flux prunes \
                 everything"
            } else {
                ""
            }
        ));
    }

    // (c) flux.root changed: a tree of this description at another root.
    if previous.is_none() {
        for other in records_elsewhere(repo, &new.root) {
            if other.domain == new.domain && other.cluster == new.cluster && other.root != new.root
            {
                if !allow_destructive {
                    return Err(RenderError::RootMoved {
                        old: other.root,
                        new: new.root,
                    });
                }
                warnings.push(format!(
                    "starting a fresh tree in {}/ (--allow-destructive): {}/ is left as it was \
                     and its credentials are not reused",
                    new.root, other.root
                ));
            }
        }
    }

    // psd's first (Bitnami) stack.
    let legacy = legacy_stack_files(repo, cfg);
    if !legacy.is_empty() {
        if !allow_destructive {
            return Err(RenderError::LegacyStack { files: legacy });
        }
        warnings.push(format!(
            "replacing psd's Bitnami stack (--allow-destructive): once Flux applies this tree it \
             deletes the old PostgreSQL and Redis releases and their volumes. Dump the data \
             first (docs/MIGRATION-stack-v2.md): {}",
            legacy.join(", ")
        ));
    }
    Ok(warnings)
}

/// (d) Component folders of the previous render (`<root>/<group>/<name>`) that the new plan no
/// longer has and that are still on disk: Flux would prune the service.
pub(crate) fn removed_services(
    repo: &Path,
    tree_root: &str,
    previous: &Record,
    planned: &BTreeSet<&str>,
    allow_destructive: bool,
) -> Result<Vec<String>, RenderError> {
    let folder = |p: &str| -> Option<String> {
        let rest = p.strip_prefix(tree_root)?.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let group = parts.next()?;
        let name = parts.next()?;
        parts.next()?; // a file inside the folder
        matches!(group, "apps" | "databases" | "infrastructure")
            .then(|| format!("{tree_root}/{group}/{name}"))
    };
    let kept: BTreeSet<String> = planned.iter().filter_map(|p| folder(p)).collect();
    let removed: BTreeSet<String> = previous
        .files
        .keys()
        .filter(|p| repo.join(p).exists())
        .filter_map(|p| folder(p))
        .filter(|f| !kept.contains(f))
        .collect();
    if removed.is_empty() {
        return Ok(Vec::new());
    }
    let services: Vec<String> = removed.into_iter().collect();
    if !allow_destructive {
        return Err(RenderError::ServiceRemoved { services });
    }
    Ok(vec![format!(
        "removing {} (--allow-destructive): Flux deletes what it deployed from them",
        services.join(", ")
    )])
}

/// Identities of `.psd-files` records in the repository (at most 3 folders deep, skipping
/// `.git`, `target`, `node_modules`) other than `<repo>/<tree_root>/.psd-files`, whose location
/// matches the root they record. Unreadable records are ignored here.
fn records_elsewhere(repo: &Path, tree_root: &str) -> Vec<Identity> {
    let mut out = Vec::new();
    let mut stack = vec![(repo.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let name = e.file_name();
            if matches!(name.to_str(), Some(".git" | "target" | "node_modules")) {
                continue;
            }
            let path = e.path();
            let Ok(rel) = path.strip_prefix(repo) else {
                continue;
            };
            let Some(rel) = rel.to_str() else { continue };
            if rel != tree_root
                && let Ok(Some(record)) = read_record(repo, &format!("{rel}/{FILE_LIST}"))
                && let Some(id) = record.identity
                && id.root == rel
            {
                out.push(id);
            }
            if depth + 1 < 3 {
                stack.push((path, depth + 1));
            }
        }
    }
    out
}

/// Files only psd's first (Bitnami) stack wrote; their presence means Flux runs that stack.
fn legacy_stack_files(root: &Path, cfg: &ClusterConfig) -> Vec<String> {
    [
        "apps/postgresql/helmrelease.yaml",
        "apps/redis/helmrelease.yaml",
        "infrastructure/sources/kustomization.yaml",
    ]
    .iter()
    .map(|p| format!("{}/{p}", cfg.flux.root))
    .filter(|p| root.join(p).is_file())
    .collect()
}
