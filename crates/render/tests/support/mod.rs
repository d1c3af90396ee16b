//! Helpers shared by the integration tests of `psd-render`; a test file uses them with
//! `mod support;`.

// Each test binary compiles this whole module but uses only part of it.
#![allow(dead_code)]

pub mod live;

use std::path::PathBuf;

/// The real `sops` binary: `$PSD_SOPS`, else `sops` on `PATH`, else the project's `.venv`
/// (where `.ci/run` installs it). `None` if none is found.
pub fn sops() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PSD_SOPS") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([venv])
        .map(|d| d.join("sops"))
        .find(|p| p.is_file())
}
