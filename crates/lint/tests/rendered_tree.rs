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
