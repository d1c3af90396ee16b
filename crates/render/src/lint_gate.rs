//! Render lints the tree it is about to write, before anything is written: the whole
//! `<flux.root>` as it will be on disk (files psd writes, over what is there, without the
//! files it removes) and `.sops.yaml`, with the same rules `psd lint` runs ([`psd_lint`]).
//! An error in a file psd writes stops the render (psd would commit a tree that breaks the
//! cluster); findings only in files psd does not write are reported as warnings, since the
//! user owns them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use psd_lint::{Config, Finding, Severity, Tree};

use crate::error::RenderError;

/// Whether `path` is a temporary an interrupted render left beside a file it writes
/// (`.psd-tmp-<name>`, or `.<name>.XXXXXX`): the render removes those before it writes, so
/// they are not part of the tree it leaves (linted, such a copy of a HelmRelease would be a
/// second HelmRelease of the same name).
fn is_leftover_temporary(path: &str, files: &BTreeMap<&str, &[u8]>) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let written_here = |base: &str| {
        let target = if dir.is_empty() {
            base.to_owned()
        } else {
            format!("{dir}/{base}")
        };
        files.contains_key(target.as_str())
    };
    name.strip_prefix(crate::write::TMP_PREFIX)
        .is_some_and(written_here)
        || crate::write::atomic_temporary_of(name).is_some_and(written_here)
}

/// Lints the tree a render would leave. `files` are the repository-relative paths psd
/// produces the bytes of, with those bytes; every other file is read from disk (a Secret kept
/// as it is for lack of a key, or one a check would re-encrypt, stands as it is on disk, and
/// its problems are the render's drift report, not a lint failure). Returns warnings about
/// files psd does not produce.
pub(crate) fn check(
    root: &Path,
    flux_root: &str,
    domain: &str,
    files: &BTreeMap<&str, &[u8]>,
    removed: &BTreeSet<&str>,
    left_out: &[&str],
    enforce: bool,
) -> Result<Vec<String>, RenderError> {
    let mut all: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let tree_root = root.join(flux_root);
    if tree_root.is_dir() {
        let on_disk = Tree::from_dir(&tree_root).map_err(|e| RenderError::Lint {
            findings: vec![e.to_string()],
        })?;
        for f in on_disk.files {
            let path = format!("{flux_root}/{}", f.path);
            if is_leftover_temporary(&path, files) {
                continue;
            }
            all.insert(path, f.bytes);
        }
    }
    for p in removed {
        all.remove(*p);
    }
    for (p, bytes) in files {
        all.insert((*p).to_owned(), bytes.to_vec());
    }
    if let Ok(b) = std::fs::read(root.join(".sops.yaml")) {
        all.insert(".sops.yaml".to_owned(), b);
    }
    let tree = Tree::from_files(all);
    let config = Config {
        domain: Some(domain.to_owned()),
        ..Config::default()
    };
    let findings = psd_lint::lint(&tree, &config);
    // A Secret psd leaves out until the user supplies its value (the Cloudflare token) is
    // reported by the render itself; references to it are not a broken tree.
    let awaited = |f: &Finding| {
        f.rule == "refs/missing-object"
            && left_out
                .iter()
                .any(|name| f.message.contains(&format!("Secret `{name}`")))
    };
    let (ours, theirs): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .filter(|f| !awaited(f))
        .partition(|f| files.contains_key(f.file.as_str()));
    let errors: Vec<String> = ours
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| describe(f))
        .collect();
    if enforce && !errors.is_empty() {
        return Err(RenderError::Lint { findings: errors });
    }
    Ok(ours
        .iter()
        .chain(&theirs)
        .map(|f| format!("lint: {}", describe(f)))
        .collect())
}

fn describe(f: &Finding) -> String {
    let at = match f.span {
        Some(s) => format!("{}:{}:{}", f.file, s.line, s.column),
        None => f.file.clone(),
    };
    format!(
        "{at}: {}[{}]: {} ({})",
        f.severity, f.rule, f.message, f.help
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN_SECRET: &[u8] = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\nstringData:\n  password: x\n";

    #[test]
    fn an_error_in_a_file_psd_writes_stops_the_render() {
        let dir = tempfile::tempdir().unwrap();
        let files = BTreeMap::from([("gitops/apps/s.yaml", PLAIN_SECRET)]);
        let err = check(
            dir.path(),
            "gitops",
            "example.org",
            &files,
            &BTreeSet::new(),
            &[],
            true,
        )
        .unwrap_err();
        let RenderError::Lint { findings } = &err else {
            panic!("{err}")
        };
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].starts_with("gitops/apps/s.yaml:7:3: error[secrets/plaintext]"),
            "{}",
            findings[0]
        );
        // The message names the place, never the value.
        assert!(!err.to_string().contains("password: x"));
    }

    #[test]
    fn findings_in_files_the_user_owns_are_warnings_and_removed_files_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gitops/mine")).unwrap();
        std::fs::write(dir.path().join("gitops/mine/s.yaml"), PLAIN_SECRET).unwrap();
        std::fs::write(dir.path().join("gitops/mine/old.yaml"), PLAIN_SECRET).unwrap();
        let files = BTreeMap::from([("gitops/apps/ok.yaml", &b"a: 1\n"[..])]);
        let removed = BTreeSet::from(["gitops/mine/old.yaml"]);
        let warnings = check(
            dir.path(),
            "gitops",
            "example.org",
            &files,
            &removed,
            &[],
            true,
        )
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("lint: gitops/mine/s.yaml:7:3"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn temporaries_of_written_files_are_not_part_of_the_tree() {
        let bytes: &[u8] = b"";
        let files: BTreeMap<&str, &[u8]> = [
            ("gitops/apps/authentik/helmrelease.yaml", bytes),
            ("gitops/x.yaml", bytes),
        ]
        .into();
        for leftover in [
            "gitops/apps/authentik/.psd-tmp-helmrelease.yaml",
            "gitops/apps/authentik/.helmrelease.yaml.a1B2c3",
            "gitops/.x.yaml.zzzzzz",
        ] {
            assert!(is_leftover_temporary(leftover, &files), "{leftover}");
        }
        for users in [
            "gitops/apps/authentik/.psd-tmp-other.yaml",
            "gitops/apps/authentik/.helmrelease.yaml.a1B2c",
            "gitops/apps/authentik/helmrelease.yaml.a1B2c3",
            "gitops/apps/.helmrelease.yaml.a1B2c3",
            "gitops/apps/authentik/helmrelease.yaml",
        ] {
            assert!(!is_leftover_temporary(users, &files), "{users}");
        }
    }
}
