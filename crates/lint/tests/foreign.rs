//! Trees psd did not write lint without false errors: small repositories written for these
//! tests in the style of the Flux example repository (fluxcd/flux2-kustomize-helm-example:
//! clusters/infrastructure/apps, kustomize overlays with patches, an ingress-nginx
//! HelmRepository) and of onedr0p/cluster-template (apps grouped by namespace, namespace set
//! by kustomize and by `targetNamespace`, a shared kustomize Component, `*.sops.yaml` files,
//! decryption added to child Kustomizations by a patch, `${VAR}` substitution). Written from
//! what those repositories do, not copied from them. Warnings are printed for the record.

use std::path::Path;

use psd_lint::{Config, Severity, Tree, lint};

mod support;
use support::record;

fn lint_fixture(name: &str) -> Vec<psd_lint::Finding> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/foreign")
        .join(name);
    let mut tree = Tree::from_dir(&dir).unwrap();
    // The fixture folder is the repository root (the checkout's own .git is further up).
    tree.repo_prefix = String::new();
    let findings = lint(&tree, &Config::default());
    record(name, &findings);
    findings
}

fn errors(findings: &[psd_lint::Finding]) -> Vec<&psd_lint::Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

#[test]
fn flux_example_style_has_no_errors() {
    let f = lint_fixture("flux-example");
    assert!(errors(&f).is_empty(), "{:#?}", errors(&f));
}

#[test]
fn cluster_template_style_has_no_errors() {
    let f = lint_fixture("cluster-template");
    assert!(errors(&f).is_empty(), "{:#?}", errors(&f));
}

fn index_of(name: &str) -> (Tree, psd_lint::Index) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/foreign")
        .join(name);
    let mut tree = Tree::from_dir(&dir).unwrap();
    tree.repo_prefix = String::new();
    let ix = psd_lint::index(&tree);
    (tree, ix)
}

#[test]
fn the_index_sees_cluster_template_as_flux_does() {
    let (_, ix) = index_of("cluster-template");
    let k = ix.flux.iter().find(|k| k.name == "cert-manager").unwrap();
    // Put in cert-manager's namespace by kustomize; decryption patched in by its parent.
    assert_eq!(ix.ns(k.doc), "cert-manager");
    assert!(k.decryption);
    assert_eq!(k.target_namespace.as_deref(), Some("cert-manager"));
    // `name: _` becomes the namespace kustomize sets, once per namespace folder.
    assert_eq!(ix.find("Namespace", "", "cert-manager").len(), 1);
    assert_eq!(ix.find("Namespace", "", "default").len(), 1);
    assert!(ix.find("Namespace", "", "_").is_empty());
    // The HelmRelease gets its namespace from targetNamespace.
    assert_eq!(
        ix.find("HelmRelease", "cert-manager", "cert-manager").len(),
        1
    );
}

#[test]
fn the_index_leaves_out_patches() {
    let (tree, ix) = index_of("flux-example");
    let patch = tree
        .position("apps/production/podinfo-values.yaml")
        .unwrap();
    assert!(ix.patch_files.contains(&patch));
    assert!(ix.docs.iter().all(|d| d.file != patch));
    // The overlay applies the base: the HelmRelease is applied by the `apps` Kustomization.
    let (i, _) = ix
        .of_kind("helm.toolkit.fluxcd.io", "HelmRelease")
        .find(|(_, d)| d.name.as_deref() == Some("podinfo"))
        .unwrap();
    let by = &ix.applied_by[&ix.docs[i].file];
    assert_eq!(
        by.iter()
            .map(|&k| ix.flux[k].name.as_str())
            .collect::<Vec<_>>(),
        ["apps"]
    );
    assert_eq!(ix.ns(i), "podinfo");
}
