//! The input of a lint run: a set of files, read from disk ([`Tree::from_dir`]) or given in
//! memory ([`Tree::from_files`]).

use std::path::{Path, PathBuf};

/// One file of a [`Tree`].
#[derive(Clone, Debug)]
pub struct File {
    /// Path relative to the tree's root, with `/` separators.
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl File {
    /// The contents as text, or `None` if they are not UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Whether this file is read as YAML (`.yaml`, `.yml`).
    pub fn is_yaml(&self) -> bool {
        self.path.ends_with(".yaml") || self.path.ends_with(".yml")
    }

    /// The folder holding the file, relative to the root (`""` for the root itself).
    pub fn dir(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(d, _)| d)
    }
}

/// A set of files to lint, and where they sit in their repository.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// The files, sorted by path.
    pub files: Vec<File>,
    /// The tree's root relative to the repository root (the folder Flux's `GitRepository`
    /// checks out), with `/` separators; `""` when the tree is the whole repository. Flux
    /// Kustomization paths (`./gitops/apps`) are resolved against the repository root.
    pub repo_prefix: String,
    /// Where the tree was read from, if from disk (for messages only).
    pub root: Option<PathBuf>,
    /// `.sops.yaml` files in the folders above the tree's root up to the repository root
    /// (paths relative to the repository root), read by [`Tree::from_dir`]: sops finds its
    /// configuration by walking up, so a tree below the repository root is still governed by
    /// them. Those inside the tree are in `files`.
    pub sops_configs_above: Vec<File>,
}

/// Reading a tree from disk failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path given does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Walking the folder failed.
    #[error("cannot walk {path}: {message}")]
    Walk {
        /// The folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Files bigger than this are not read (a GitOps tree holds no such file); they are listed
/// with no content so that a rule can still name them.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

impl Tree {
    /// A tree from files in memory (paths relative to the root, `/` separators).
    pub fn from_files<P: Into<String>, B: Into<Vec<u8>>>(
        files: impl IntoIterator<Item = (P, B)>,
    ) -> Self {
        let mut files: Vec<File> = files
            .into_iter()
            .map(|(p, b)| File {
                path: p.into(),
                bytes: b.into(),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Tree {
            files,
            repo_prefix: String::new(),
            root: None,
            sops_configs_above: Vec::new(),
        }
    }

    /// Reads every file under `dir`, honouring `.gitignore`, `.ignore` and git's exclude files
    /// (also outside a git repository), including hidden files such as `.sops.yaml`, and
    /// skipping `.git`. A single file is a tree of one file. The repository root is found by
    /// walking up to the nearest folder holding `.git`.
    pub fn from_dir(dir: &Path) -> Result<Self, ReadError> {
        Self::from_dir_with_progress(dir, &mut |_, _| {})
    }

    /// [`Tree::from_dir`], calling `progress(done, total)` as the files are read (first with
    /// `done == 0` once the folder has been walked, last with `done == total`), so a caller
    /// can show progress; this crate prints nothing itself.
    pub fn from_dir_with_progress(
        dir: &Path,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Self, ReadError> {
        let meta = std::fs::metadata(dir).map_err(|source| ReadError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (root, single) = if meta.is_file() {
            (dir.parent().unwrap_or(Path::new(".")).to_owned(), Some(dir))
        } else {
            (dir.to_owned(), None)
        };
        let mut paths = Vec::new();
        if let Some(file) = single {
            paths.push(file.to_owned());
        } else {
            let walker = ignore::WalkBuilder::new(&root)
                .hidden(false)
                .require_git(false)
                .parents(true)
                .filter_entry(|e| e.file_name() != ".git")
                .build();
            for entry in walker {
                let entry = entry.map_err(|e| ReadError::Walk {
                    path: root.clone(),
                    message: e.to_string(),
                })?;
                if entry.file_type().is_some_and(|t| t.is_file()) {
                    paths.push(entry.into_path());
                }
            }
        }
        let mut files = Vec::with_capacity(paths.len());
        let total = paths.len();
        progress(0, total);
        for (done, p) in paths.into_iter().enumerate() {
            progress(done, total);
            let rel = p.strip_prefix(&root).unwrap_or(&p);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let too_big = std::fs::metadata(&p).is_ok_and(|m| m.len() > MAX_FILE_SIZE);
            let bytes = if too_big {
                Vec::new()
            } else {
                std::fs::read(&p).map_err(|source| ReadError::Io {
                    path: p.clone(),
                    source,
                })?
            };
            files.push(File { path: rel, bytes });
        }
        progress(total, total);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let repo_prefix = repo_prefix(&root);
        let sops_configs_above = sops_configs_above(&root, &repo_prefix);
        Ok(Tree {
            files,
            repo_prefix,
            root: Some(root),
            sops_configs_above,
        })
    }

    /// The file at `path` (relative to the root), if present.
    pub fn file(&self, path: &str) -> Option<&File> {
        self.position(path).map(|i| &self.files[i])
    }

    /// The index in [`Tree::files`] of the file at `path`, if present.
    pub fn position(&self, path: &str) -> Option<usize> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
    }

    /// Turns a repository-relative path (as Flux's `spec.path` writes it: `./gitops/apps`,
    /// `gitops/apps/`, `./`) into a path relative to this tree's root, or `None` if it lies
    /// outside the tree.
    pub fn from_repo_path(&self, repo_path: &str) -> Option<String> {
        let norm = normalize(repo_path)?;
        if self.repo_prefix.is_empty() {
            return Some(norm);
        }
        if norm == self.repo_prefix {
            return Some(String::new());
        }
        norm.strip_prefix(&self.repo_prefix)
            .and_then(|r| r.strip_prefix('/'))
            .map(str::to_owned)
    }
}

/// `./a/./b/../c/` → `a/c`; `.` → ``; `None` if it climbs above the root.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The `.sops.yaml` files in the folders strictly above `root` up to the repository root
/// (`repo_prefix` levels up), with paths relative to the repository root.
fn sops_configs_above(root: &Path, repo_prefix: &str) -> Vec<File> {
    let abs = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let parts: Vec<&str> = repo_prefix.split('/').filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    let mut dir = abs.as_path();
    for depth in (0..parts.len()).rev() {
        let Some(parent) = dir.parent() else { break };
        dir = parent;
        let candidate = dir.join(".sops.yaml");
        if let Ok(bytes) = std::fs::read(&candidate) {
            let rel = parts[..depth].join("/");
            let path = if rel.is_empty() {
                ".sops.yaml".to_owned()
            } else {
                format!("{rel}/.sops.yaml")
            };
            out.push(File { path, bytes });
        }
    }
    out
}

/// The path of `dir` relative to the nearest ancestor holding `.git` (`""` if none).
fn repo_prefix(dir: &Path) -> String {
    let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let mut cur = Some(abs.as_path());
    while let Some(d) = cur {
        if d.join(".git").exists() {
            let rel = abs.strip_prefix(d).unwrap_or(Path::new(""));
            return rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
        }
        cur = d.parent();
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./gitops/apps").as_deref(), Some("gitops/apps"));
        assert_eq!(normalize("gitops/apps/").as_deref(), Some("gitops/apps"));
        assert_eq!(normalize("./").as_deref(), Some(""));
        assert_eq!(normalize("a/../b/./c").as_deref(), Some("b/c"));
        assert_eq!(normalize("../x"), None);
    }

    #[test]
    fn repo_paths_map_into_the_tree() {
        let mut t = Tree::from_files([("apps/a.yaml", "")]);
        t.repo_prefix = "gitops".into();
        assert_eq!(t.from_repo_path("./gitops/apps").as_deref(), Some("apps"));
        assert_eq!(t.from_repo_path("./gitops").as_deref(), Some(""));
        assert_eq!(t.from_repo_path("./other"), None);
        assert!(t.file("apps/a.yaml").is_some());
    }
}
