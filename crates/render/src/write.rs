//! Writing the tree to disk: the lock on the repository, leftover temporaries, the two-phase
//! write of every file (all temporaries first, then the renames), and removal of files psd no
//! longer renders.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::RenderError;

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RenderError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| RenderError::io("cannot create", dir, e))?;
    }
    let mut file = atomic_write_file::AtomicWriteFile::options()
        .open(path)
        .map_err(|e| RenderError::io("cannot write", path, e))?;
    file.write_all(bytes)
        .map_err(|e| RenderError::io("cannot write", path, e))?;
    file.commit()
        .map_err(|e| RenderError::io("cannot write", path, e))
}

/// Removes `rel` (relative to `root`) and the folders it leaves empty, up to `tree_root`.
pub(crate) fn remove_file_and_empty_parents(
    root: &Path,
    rel: &str,
    tree_root: &str,
) -> Result<(), RenderError> {
    let path = root.join(rel);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RenderError::io("cannot remove", path, e)),
    }
    let stop = root.join(tree_root);
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(&stop) {
            break;
        }
        // Only empty folders go; a folder with a user's file stays.
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// The prefix of psd's temporaries (`<dir>/.psd-tmp-<name>`), removed by the next render if a
/// run was killed between writing and renaming them.
pub(crate) const TMP_PREFIX: &str = ".psd-tmp-";

/// A lock on the repository root folder (an `flock` on the folder itself, so no lock file is
/// left in the repository), released when dropped.
#[derive(Debug)]
pub(crate) struct RepoLock {
    _dir: Option<File>,
    /// Whether another render held the lock and this one waited for it.
    pub waited: bool,
}

/// Locks `repo`: exclusively to write, shared to read. Waits while another render holds it,
/// after calling `on_wait`.
pub(crate) fn lock_repo(
    repo: &Path,
    exclusive: bool,
    on_wait: Option<fn(&Path)>,
) -> Result<RepoLock, RenderError> {
    let dir = match File::open(repo) {
        Ok(d) => d,
        // Nothing to read yet (check or dry-run of a repository not created): nothing to lock.
        Err(e) if !exclusive && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(RepoLock {
                _dir: None,
                waited: false,
            });
        }
        Err(e) => return Err(RenderError::io("cannot open", repo, e)),
    };
    let attempt = if exclusive {
        dir.try_lock()
    } else {
        dir.try_lock_shared()
    };
    let waited = match attempt {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => {
            if let Some(f) = on_wait {
                f(repo);
            }
            let r = if exclusive {
                dir.lock()
            } else {
                dir.lock_shared()
            };
            r.map_err(|e| RenderError::io("cannot lock", repo, e))?;
            true
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(RenderError::io("cannot lock", repo, e));
        }
    };
    Ok(RepoLock {
        _dir: Some(dir),
        waited,
    })
}

/// Refuses if `rel` (relative to `repo`) or any folder on the way to it is a symbolic link.
pub(crate) fn refuse_symlinks(repo: &Path, rel: &str) -> Result<(), RenderError> {
    let mut path = repo.to_path_buf();
    for part in Path::new(rel).components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(RenderError::Symlink { path });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(RenderError::io("cannot read", path, e)),
        }
    }
    Ok(())
}

/// Removes temporaries earlier runs left in the folders of `tree_paths` and `atomic_paths`
/// (relative to `repo`): psd's own `.psd-tmp-*` in the folders of `tree_paths` (the files
/// [`write_all`] writes), and `.<name>.XXXXXX` (the atomic-write-file crate's pattern, see
/// [`write_atomic`]) where `<name>` is one of either list in that folder. Nothing else is
/// touched. Returns what was removed.
pub(crate) fn remove_leftover_temporaries(
    repo: &Path,
    tree_paths: &BTreeSet<&str>,
    atomic_paths: &[&str],
) -> Result<Vec<String>, RenderError> {
    // Folder → (names written there, whether `write_all` writes there).
    let mut names_by_dir: std::collections::BTreeMap<&Path, (BTreeSet<&str>, bool)> =
        Default::default();
    let all = tree_paths
        .iter()
        .map(|p| (*p, true))
        .chain(atomic_paths.iter().map(|p| (*p, false)));
    for (p, by_write_all) in all {
        let p = Path::new(p);
        if let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) {
            let entry = names_by_dir.entry(dir).or_default();
            entry.0.insert(name);
            entry.1 |= by_write_all;
        }
    }
    let mut removed = Vec::new();
    for (dir, (names, psd_tmp)) in names_by_dir {
        let Ok(entries) = std::fs::read_dir(repo.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let ours = (psd_tmp && name.starts_with(TMP_PREFIX))
                || atomic_temporary_of(&name).is_some_and(|base| names.contains(base));
            if !ours || !e.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = e.path();
            std::fs::remove_file(&path)
                .map_err(|err| RenderError::io("cannot remove", &path, err))?;
            removed.push(dir.join(&name).display().to_string());
        }
    }
    Ok(removed)
}

/// The file a `.<name>.XXXXXX` temporary (the atomic-write-file crate's pattern) was being
/// written for: `<name>`; `None` for any other name.
pub(crate) fn atomic_temporary_of(name: &str) -> Option<&str> {
    let (base, suffix) = name.strip_prefix('.')?.rsplit_once('.')?;
    (suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(base)
}

/// Writes every `(path, bytes)` (relative to `repo`): first each as a temporary
/// `.psd-tmp-<name>` beside its target (mode: the existing file's permission bits, else 0644;
/// fsynced), and only when all exist renames them into place, in order.
///
/// If a temporary cannot be made, the ones made (and folders created) are removed:
/// [`RenderError::NothingWritten`]. If a rename fails, [`RenderError::PartlyWritten`] names
/// the files already replaced.
pub(crate) fn write_all(repo: &Path, files: &[(&str, &[u8])]) -> Result<(), RenderError> {
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new(); // (temporary, target)
    let undo = |temps: &[(PathBuf, PathBuf)], created_dirs: &[PathBuf]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    };
    for (rel, bytes) in files {
        let target = repo.join(rel);
        match prepare(&target, bytes, &mut created_dirs) {
            Ok(tmp) => temps.push((tmp, target)),
            Err(source) => {
                undo(&temps, &created_dirs);
                return Err(RenderError::NothingWritten {
                    path: target,
                    source,
                });
            }
        }
    }
    let mut written = Vec::new();
    let mut dirs = BTreeSet::new();
    for (i, (tmp, target)) in temps.iter().enumerate() {
        if let Err(source) = std::fs::rename(tmp, target) {
            undo(&temps[i..], &[]);
            return Err(RenderError::PartlyWritten {
                path: target.clone(),
                written,
                source,
            });
        }
        written.push(files[i].0.to_owned());
        if let Some(d) = target.parent() {
            dirs.insert(d.to_path_buf());
        }
    }
    // Make the renames durable; a folder that cannot be synced is not an error.
    for d in dirs {
        if let Ok(f) = File::open(&d) {
            let _ = f.sync_all();
        }
    }
    Ok(())
}

/// Creates the folders of `target` (recording the ones made) and its fsynced temporary.
fn prepare(
    target: &Path,
    bytes: &[u8],
    created_dirs: &mut Vec<PathBuf>,
) -> std::io::Result<PathBuf> {
    let dir = target
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    let mut missing = Vec::new();
    let mut d = Some(dir);
    while let Some(p) = d {
        if std::fs::symlink_metadata(p).is_ok() {
            break;
        }
        missing.push(p.to_path_buf());
        d = p.parent();
    }
    for p in missing.into_iter().rev() {
        std::fs::create_dir(&p)?;
        created_dirs.push(p);
    }
    let name = target
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    let tmp = dir.join(format!("{TMP_PREFIX}{}", name.to_string_lossy()));
    let mode = match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_file() => m.permissions().mode() & 0o777,
        _ => 0o644,
    };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    let result = (|| {
        // The umask may have narrowed the mode; set exactly the bits wanted.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}
