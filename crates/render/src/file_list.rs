//! The record of a render inside the tree (`.psd-files`): the files psd wrote, so that only
//! those are ever removed.

use std::path::Path;

use crate::error::RenderError;

/// The list of files psd wrote, inside the rendered tree. Only files on this list are ever
/// removed when they are no longer configured.
pub const FILE_LIST: &str = ".psd-files";

/// The paths listed in the record at `list_path` (relative to `root`); empty if there is none.
pub(crate) fn read_file_list(root: &Path, list_path: &str) -> Result<Vec<String>, RenderError> {
    match std::fs::read_to_string(root.join(list_path)) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(RenderError::io("cannot read", root.join(list_path), e)),
    }
}
