//! `psd_lint::lint` on arbitrary trees: the input is split at NUL bytes into up to eight
//! files, placed at paths that exercise the index (kustomizations, a Flux entry folder, a
//! Secret, `.sops.yaml`). Every run must return findings, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 8] = [
    "clusters/c/kustomization.yaml",
    "clusters/c/apps.yaml",
    "apps/a/kustomization.yaml",
    "apps/a/helmrelease.yaml",
    "apps/a/secret.enc.yaml",
    ".sops.yaml",
    "apps/b/ingress.yaml",
    "notes.txt",
];

fuzz_target!(|data: &[u8]| {
    let files = data
        .split(|&b| b == 0)
        .take(PATHS.len())
        .enumerate()
        .map(|(i, bytes)| (PATHS[i], bytes.to_vec()));
    let tree = psd_lint::Tree::from_files(files);
    let _ = psd_lint::lint(&tree, &psd_lint::Config::default());
});
