//! Finding a repository's root from a folder inside it, the way sops finds `.sops.yaml`: walk
//! up to the first folder that holds `psd.yaml`, `.sops.yaml` or `.git`.

use std::path::{Path, PathBuf};

/// The files and folders that mark a repository's root, in the order they are reported.
pub const ROOT_MARKERS: [&str; 3] = ["psd.yaml", ".sops.yaml", ".git"];

/// A repository root found by [`find_repo_root`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoRoot {
    /// The folder.
    pub path: PathBuf,
    /// The marker that made it the root (one of [`ROOT_MARKERS`]).
    pub marker: &'static str,
}

/// The repository root for a command run in `start`: `start` itself or its nearest ancestor
/// holding one of [`ROOT_MARKERS`]. `None` when there is none (a fresh folder: render there).
///
/// A home folder that is a root only because it holds `.git` (a dotfiles repository) is not
/// taken: a cluster repository is never the home folder itself, and rendering there would put
/// `gitops/` into `~`. `home` is that folder (`$HOME`), if known.
pub fn find_repo_root(start: &Path, home: Option<&Path>) -> Option<RepoRoot> {
    let start = std::path::absolute(start).ok()?;
    for dir in start.ancestors() {
        for marker in ROOT_MARKERS {
            if !dir.join(marker).exists() {
                continue;
            }
            if marker == ".git" && home.is_some_and(|h| same_dir(h, dir)) {
                continue;
            }
            return Some(RepoRoot {
                path: dir.to_path_buf(),
                marker,
            });
        }
    }
    None
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_up_to_the_nearest_marker() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let deep = root.join("gitops/apps/authentik");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find_repo_root(&deep, None), None);
        for marker in ROOT_MARKERS.iter().rev() {
            if *marker == ".git" {
                std::fs::create_dir(root.join(marker)).unwrap();
            } else {
                std::fs::write(root.join(marker), "").unwrap();
            }
            let found = find_repo_root(&deep, None).unwrap();
            assert_eq!(found.path, root);
            assert_eq!(found.marker, *marker);
        }
        // The start folder itself counts, and the nearest marker wins.
        std::fs::write(deep.join(".sops.yaml"), "").unwrap();
        assert_eq!(find_repo_root(&deep, None).unwrap().path, deep);
    }

    #[test]
    fn a_home_folder_with_only_git_is_not_a_root() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".git")).unwrap();
        let fresh = home.path().join("cluster");
        std::fs::create_dir(&fresh).unwrap();
        assert_eq!(find_repo_root(&fresh, Some(home.path())), None);
        assert_eq!(
            find_repo_root(&fresh, None).unwrap().path,
            home.path().to_path_buf()
        );
        // With a description there, it is one.
        std::fs::write(home.path().join("psd.yaml"), "").unwrap();
        assert_eq!(
            find_repo_root(&fresh, Some(home.path())).unwrap().marker,
            "psd.yaml"
        );
    }
}
