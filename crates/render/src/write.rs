//! Writing the tree to disk: atomic file writes and removal of files psd no longer renders.

use std::path::Path;

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
