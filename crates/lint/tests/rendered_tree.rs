//! The reference tree psd renders (`gitops/`) lints clean, and the index sees it as Flux does.

use std::path::Path;

use psd_lint::{Config, Tree, index, lint};

fn gitops() -> Tree {
    Tree::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops")).unwrap()
}

#[test]
fn reference_tree_lints_clean() {
    let tree = gitops();
    assert_eq!(tree.repo_prefix, "gitops");
    let findings = lint(&tree, &Config::default());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn every_document_outside_the_entry_folder_is_applied_by_one_flux_kustomization() {
    let tree = gitops();
    let ix = index(&tree);
    assert!(ix.flux.len() >= 7, "{}", ix.flux.len());
    for d in &ix.docs {
        let path = &tree.files[d.file].path;
        if path.starts_with("clusters/") {
            continue;
        }
        let by = ix.applied_by.get(&d.file).map_or(0, Vec::len);
        assert_eq!(by, 1, "{path} is applied by {by} Kustomizations");
    }
    // Namespaces come from the documents themselves here.
    let (i, _) = ix
        .docs
        .iter()
        .enumerate()
        .find(|(_, d)| d.kind.as_deref() == Some("Cluster"))
        .unwrap();
    assert_eq!(ix.ns(i), "database");
}

#[test]
fn reference_tree_decrypted_with_the_fixture_key_lints_clean() {
    let key = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt");
    // Only the fixture key (no HOME: the default keys.txt is not looked at).
    let (ids, _no_home) = psd_sops::Identities::from_lookup(|name| {
        (name == "SOPS_AGE_KEY_FILE").then(|| key.clone().into_os_string())
    });
    let tree = gitops();
    let dec = psd_lint::decrypt::decrypt(&tree, &ids);
    assert!(dec.failures.is_empty(), "{:?}", dec.failures);
    assert!(dec.decrypted.len() >= 5, "{}", dec.decrypted.len());
    let findings = dec.lint(&Config::default());
    assert!(findings.is_empty(), "{findings:#?}");
}
