//! The sops/*, api/*, values/*, certs/* and images/* rules: for each rule a minimal tree that
//! triggers it (rule, file, line) and the fixed tree that does not.

use std::path::Path;

use psd_lint::tree::File;
use psd_lint::{Config, Tree, lint};

mod support;
use support::{RECIPIENT, at, hits, run};

const RECIPIENT_A: &str = RECIPIENT;
const RECIPIENT_B: &str = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";

/// A Secret as sops writes it with `encrypted_regex: ^(data|stringData)$`, for `recipients`.
fn encrypted_secret(name: &str, ns: &str, recipients: &[&str]) -> String {
    let mut age = String::new();
    for r in recipients {
        age.push_str(&format!(
            "        - recipient: {r}\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWdl\n            -----END AGE ENCRYPTED FILE-----\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: {ns}\ntype: Opaque\nstringData:\n    password: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\nsops:\n    age:\n{age}    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:DDDD,iv:EEEE,tag:FFFF,type:str]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.10.2\n"
    )
}

const SOPS_YAML: &str = "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736\n";

fn flux_ks(name: &str, path: &str, decryption: bool) -> String {
    let dec = if decryption {
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    } else {
        ""
    };
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{dec}"
    )
}

// ---- sops/not-encrypted

#[test]
fn not_encrypted() {
    let clear =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: apps\ndata:\n  a: b\n";
    let f = run(&[("apps/config.enc.yaml", clear)]);
    assert_eq!(
        hits(&f, "sops/not-encrypted"),
        at("apps/config.enc.yaml", 1)
    );
    let f = run(&[("apps/config.sops.yml", clear)]);
    assert_eq!(
        hits(&f, "sops/not-encrypted"),
        at("apps/config.sops.yml", 1)
    );
    // Fixed: encrypted; and a clear file not named as encrypted, and .sops.yaml itself.
    let good = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    let f = run(&[
        ("apps/db.enc.yaml", good.as_str()),
        ("apps/config.yaml", clear),
        (".sops.yaml", SOPS_YAML),
    ]);
    assert!(hits(&f, "sops/not-encrypted").is_empty(), "{f:#?}");
}

// ---- sops/identity-encrypted

#[test]
fn identity_encrypted() {
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - db.enc.yaml\n";
    let bad = encrypted_secret("db", "apps", &[RECIPIENT_A]).replace(
        "    name: db\n",
        "    name: ENC[AES256_GCM,data:ZZZZ,iv:YYYY,tag:XXXX,type:str]\n",
    );
    let f = run(&[
        ("apps/kustomization.yaml", kustomization),
        ("apps/db.enc.yaml", bad.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/identity-encrypted"),
        at("apps/db.enc.yaml", 4)
    );
    let kind = encrypted_secret("db", "apps", &[RECIPIENT_A]).replace(
        "kind: Secret\n",
        "kind: ENC[AES256_GCM,data:ZZZZ,iv:YYYY,tag:XXXX,type:str]\n",
    );
    let ks = flux_ks("apps", "./apps", true);
    let f = run(&[
        ("clusters/k3s/apps.yaml", ks.as_str()),
        ("apps/db.enc.yaml", kind.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/identity-encrypted"),
        at("apps/db.enc.yaml", 2)
    );
    // Fixed: identity in the clear.
    let good = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    let f = run(&[
        ("apps/kustomization.yaml", kustomization),
        ("apps/db.enc.yaml", good.as_str()),
    ]);
    assert!(hits(&f, "sops/identity-encrypted").is_empty(), "{f:#?}");
    // Unknown: a fully encrypted file nothing in the tree applies (sops -d | kubectl apply).
    let f = run(&[("bootstrap/db.enc.yaml", kind.as_str())]);
    assert!(hits(&f, "sops/identity-encrypted").is_empty(), "{f:#?}");
}

// ---- sops/no-creation-rule

#[test]
fn no_creation_rule() {
    let secret = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    // Named *.sops.yaml, but the only rule wants *.enc.yaml.
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/db.sops.yaml", secret.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/no-creation-rule"),
        at("apps/db.sops.yaml", 9)
    );
    // Fixed: a matching name.
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/db.enc.yaml", secret.as_str()),
    ]);
    assert!(hits(&f, "sops/no-creation-rule").is_empty(), "{f:#?}");
    // Unknown: no .sops.yaml at all (encrypted with command-line keys).
    let f = run(&[("apps/db.sops.yaml", secret.as_str())]);
    assert!(hits(&f, "sops/no-creation-rule").is_empty(), "{f:#?}");
    // The nearest .sops.yaml wins: a nested one without a matching rule.
    let nested = "creation_rules:\n  - path_regex: ^talos/\n    age: age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736\n";
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/.sops.yaml", nested),
        ("apps/db.enc.yaml", secret.as_str()),
    ]);
    assert_eq!(hits(&f, "sops/no-creation-rule"), at("apps/db.enc.yaml", 9));
}

#[test]
fn creation_rules_above_the_tree_are_read() {
    // The tree is `gitops/` of a repository whose .sops.yaml sits at the root; its rule is
    // anchored at the repository root.
    let anchored = "creation_rules:\n  - path_regex: ^gitops/.*\\.enc\\.yaml$\n    age: age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736\n";
    let secret = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    let tree_with = |files: &[(&str, &str)]| {
        let mut t = Tree::from_files(files.iter().copied());
        t.repo_prefix = "gitops".into();
        t.sops_configs_above = vec![File {
            path: ".sops.yaml".into(),
            bytes: anchored.as_bytes().to_vec(),
        }];
        t
    };
    let f = lint(
        &tree_with(&[("apps/db.enc.yaml", secret.as_str())]),
        &Config::default(),
    );
    assert!(hits(&f, "sops/no-creation-rule").is_empty(), "{f:#?}");
    let f = lint(
        &tree_with(&[("apps/db.sops.yaml", secret.as_str())]),
        &Config::default(),
    );
    assert_eq!(
        hits(&f, "sops/no-creation-rule"),
        at("apps/db.sops.yaml", 9)
    );
    // The reference tree: its .sops.yaml is found above it.
    let t = Tree::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops")).unwrap();
    assert_eq!(t.sops_configs_above.len(), 1);
    assert_eq!(t.sops_configs_above[0].path, ".sops.yaml");
}

// ---- sops/recipients-mismatch

#[test]
fn recipients_mismatch() {
    let other = encrypted_secret("db", "apps", &[RECIPIENT_B]);
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/db.enc.yaml", other.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/recipients-mismatch"),
        at("apps/db.enc.yaml", 10)
    );
    let extra = encrypted_secret("db", "apps", &[RECIPIENT_A, RECIPIENT_B]);
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/db.enc.yaml", extra.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/recipients-mismatch"),
        at("apps/db.enc.yaml", 10)
    );
    // Fixed: the rule's recipients exactly; also a rule written as a YAML list.
    let same = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    let f = run(&[
        (".sops.yaml", SOPS_YAML),
        ("apps/db.enc.yaml", same.as_str()),
    ]);
    assert!(hits(&f, "sops/recipients-mismatch").is_empty(), "{f:#?}");
    let both = encrypted_secret("db", "apps", &[RECIPIENT_B, RECIPIENT_A]);
    let list = format!(
        "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age:\n      - {RECIPIENT_A}\n      - {RECIPIENT_B}\n"
    );
    let f = run(&[
        (".sops.yaml", list.as_str()),
        ("apps/db.enc.yaml", both.as_str()),
    ]);
    assert!(hits(&f, "sops/recipients-mismatch").is_empty(), "{f:#?}");
}

// ---- sops/missing-decryption

#[test]
fn missing_decryption() {
    let secret = encrypted_secret("db", "apps", &[RECIPIENT_A]);
    let ks = flux_ks("apps", "./apps", false);
    let f = run(&[
        ("clusters/k3s/apps.yaml", ks.as_str()),
        ("apps/db.enc.yaml", secret.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/missing-decryption"),
        at("clusters/k3s/apps.yaml", 8)
    );
    // Wrong provider.
    let wrong = flux_ks("apps", "./apps", true).replace("provider: sops", "provider: vault");
    let f = run(&[
        ("clusters/k3s/apps.yaml", wrong.as_str()),
        ("apps/db.enc.yaml", secret.as_str()),
    ]);
    assert_eq!(
        hits(&f, "sops/missing-decryption"),
        at("clusters/k3s/apps.yaml", 14)
    );
    // Fixed; and a Kustomization with decryption but nothing encrypted is fine, as is one
    // without decryption over clear files, or over an object Flux is told not to decrypt.
    let ks = flux_ks("apps", "./apps", true);
    let plain = flux_ks("infra", "./infra", false);
    let opted_out = encrypted_secret("x", "other", &[RECIPIENT_A]).replace(
        "    namespace: other\n",
        "    namespace: other\n    annotations:\n        kustomize.toolkit.fluxcd.io/decrypt: Disabled\n",
    );
    let other = flux_ks("other", "./other", false);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: infra\n";
    let f = run(&[
        ("clusters/k3s/apps.yaml", ks.as_str()),
        ("clusters/k3s/infra.yaml", plain.as_str()),
        ("clusters/k3s/other.yaml", other.as_str()),
        ("apps/db.enc.yaml", secret.as_str()),
        ("infra/cm.yaml", cm),
        ("other/x.enc.yaml", opted_out.as_str()),
    ]);
    assert!(hits(&f, "sops/missing-decryption").is_empty(), "{f:#?}");
    // A Kustomization of an OCI artifact: its path is in another source.
    let oci =
        flux_ks("apps", "./apps", false).replace("kind: GitRepository", "kind: OCIRepository");
    let f = run(&[
        ("clusters/k3s/apps.yaml", oci.as_str()),
        ("apps/db.enc.yaml", secret.as_str()),
    ]);
    assert!(hits(&f, "sops/missing-decryption").is_empty(), "{f:#?}");
}

// ---- api/removed-version, api/helmrepository-oci

#[test]
fn removed_versions() {
    let cases = [
        "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: traefik.containo.us/v1alpha1\nkind: IngressRouteTCP\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: cert-manager.io/v1alpha2\nkind: ClusterIssuer\nmetadata:\n  name: a\n",
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: a\n",
    ];
    for text in cases {
        let f = run(&[("a.yaml", text)]);
        assert_eq!(hits(&f, "api/removed-version"), at("a.yaml", 1), "{text}");
    }
    let good = [
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: a\n",
        // The kustomize file's own apiVersion is not Flux's.
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
        "apiVersion: traefik.io/v1alpha1\nkind: IngressRouteTCP\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n  namespace: a\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: a\n  namespace: a\n",
        // A version of a kind that table does not know about (Bucket v1beta2) is not judged.
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: Bucket\nmetadata:\n  name: a\n  namespace: a\n",
    ];
    for text in good {
        let f = run(&[("a.yaml", text)]);
        assert!(hits(&f, "api/removed-version").is_empty(), "{text}: {f:#?}");
    }
}

#[test]
fn helmrepository_oci() {
    let bad = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: r\n  namespace: flux-system\nspec:\n  type: oci\n  url: oci://ghcr.io/x/charts\n";
    let f = run(&[("r.yaml", bad)]);
    assert_eq!(hits(&f, "api/helmrepository-oci"), at("r.yaml", 7));
    let good = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: r\n  namespace: flux-system\nspec:\n  url: https://charts.jetstack.io\n";
    let f = run(&[("r.yaml", good)]);
    assert!(hits(&f, "api/helmrepository-oci").is_empty(), "{f:#?}");
}

// ---- values/cert-manager-install-crds

fn cert_manager(values: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 1h\n  url: oci://quay.io/jetstack/charts/cert-manager\n  ref:\n    tag: v1.21.1\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  values:\n{values}"
    )
}

#[test]
fn cert_manager_install_crds() {
    let bad = cert_manager("    installCRDs: true\n");
    let f = run(&[("cm.yaml", bad.as_str())]);
    assert_eq!(
        hits(&f, "values/cert-manager-install-crds"),
        at("cm.yaml", 23)
    );
    // Through a HelmRepository chart spec too.
    let classic = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cm\n  namespace: cert-manager\nspec:\n  chart:\n    spec:\n      chart: cert-manager\n      sourceRef:\n        kind: HelmRepository\n        name: jetstack\n  values:\n    installCRDs: true\n";
    let f = run(&[("cm.yaml", classic)]);
    assert_eq!(
        hits(&f, "values/cert-manager-install-crds"),
        at("cm.yaml", 14)
    );
    let good = cert_manager("    crds:\n      enabled: true\n      keep: true\n");
    let f = run(&[("cm.yaml", good.as_str())]);
    assert!(
        hits(&f, "values/cert-manager-install-crds").is_empty(),
        "{f:#?}"
    );
    // Another chart's installCRDs (external-secrets uses it today) is not judged.
    let other = classic.replace("chart: cert-manager", "chart: external-secrets");
    let f = run(&[("es.yaml", other.as_str())]);
    assert!(
        hits(&f, "values/cert-manager-install-crds").is_empty(),
        "{f:#?}"
    );
}

// ---- values/traefik-expose-bool

#[test]
fn traefik_expose_bool() {
    let bad = "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: |-\n    ports:\n      postgresql:\n        port: 5432\n        expose: true\n        protocol: TCP\n";
    let f = run(&[("traefik.yaml", bad)]);
    let h = hits(&f, "values/traefik-expose-bool");
    assert_eq!(h, at("traefik.yaml", 11));
    let span = f
        .iter()
        .find(|x| x.rule == "values/traefik-expose-bool")
        .unwrap()
        .span
        .unwrap();
    assert_eq!((span.column, span.end_column), (17, 21));
    // In a Flux HelmRelease of the traefik chart as well.
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: traefik\n  namespace: traefik\nspec:\n  chart:\n    spec:\n      chart: traefik\n      sourceRef:\n        kind: HelmRepository\n        name: traefik\n  values:\n    ports:\n      redis:\n        expose: true\n";
    let f = run(&[("hr.yaml", hr)]);
    assert_eq!(hits(&f, "values/traefik-expose-bool"), at("hr.yaml", 16));
    let good = bad.replace("expose: true", "expose:\n          default: true");
    let f = run(&[("traefik.yaml", good.as_str())]);
    assert!(hits(&f, "values/traefik-expose-bool").is_empty(), "{f:#?}");
}

// ---- certs/unknown-cluster-issuer

const ISSUER: &str = "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-prod\nspec:\n  acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n";

#[test]
fn unknown_cluster_issuer() {
    let ingress = |issuer: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: apps\n  annotations:\n    cert-manager.io/cluster-issuer: {issuer}\nspec:\n  rules: []\n"
        )
    };
    let cert = |kind: &str| {
        format!(
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  secretName: web-tls\n  dnsNames: [a.example.com]\n  issuerRef:\n    name: letsencrypt-staging\n    kind: {kind}\n"
        )
    };
    let values = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: app\n      sourceRef: {kind: HelmRepository, name: r}\n  values:\n    ingress:\n      annotations:\n        cert-manager.io/cluster-issuer: letsencrypt-staging\n";
    let bad_ingress = ingress("letsencrypt-staging");
    let bad_cert = cert("ClusterIssuer");
    let f = run(&[
        ("issuer.yaml", ISSUER),
        ("ingress.yaml", bad_ingress.as_str()),
        ("cert.yaml", bad_cert.as_str()),
        ("hr.yaml", values),
    ]);
    let mut h = hits(&f, "certs/unknown-cluster-issuer");
    h.sort();
    assert_eq!(
        h,
        vec![
            ("cert.yaml".to_owned(), 10),
            ("hr.yaml".to_owned(), 14),
            ("ingress.yaml".to_owned(), 7),
        ]
    );
    // Fixed names; an Issuer (namespaced) is not a ClusterIssuer; and without any
    // ClusterIssuer or cert-manager release in the tree nothing is known.
    let good_ingress = ingress("letsencrypt-prod");
    let namespaced = cert("Issuer");
    let f = run(&[
        ("issuer.yaml", ISSUER),
        ("ingress.yaml", good_ingress.as_str()),
        ("cert.yaml", namespaced.as_str()),
        (
            "hr.yaml",
            &values.replace("letsencrypt-staging", "letsencrypt-prod"),
        ),
    ]);
    assert!(
        hits(&f, "certs/unknown-cluster-issuer").is_empty(),
        "{f:#?}"
    );
    let f = run(&[("ingress.yaml", bad_ingress.as_str())]);
    assert!(
        hits(&f, "certs/unknown-cluster-issuer").is_empty(),
        "{f:#?}"
    );
    // A cert-manager release without issuers: the name cannot resolve.
    let cm = cert_manager("    crds:\n      enabled: true\n");
    let f = run(&[
        ("cm.yaml", cm.as_str()),
        ("ingress.yaml", bad_ingress.as_str()),
    ]);
    assert_eq!(
        hits(&f, "certs/unknown-cluster-issuer"),
        at("ingress.yaml", 7)
    );
}

// ---- images/*

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: registry.k8s.io/pause:3.10\n      containers:\n        - name: web\n          image: {image}\n"
    )
}

#[test]
fn frozen_registry() {
    let old = deployment("k8s.gcr.io/pause:3.2");
    let f = run(&[("d.yaml", old.as_str())]);
    assert_eq!(hits(&f, "images/frozen-registry"), at("d.yaml", 14));
    let legacy = deployment("docker.io/bitnamilegacy/redis:7.4.2");
    let f = run(&[("d.yaml", legacy.as_str())]);
    assert_eq!(hits(&f, "images/frozen-registry"), at("d.yaml", 14));
    let oci = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: redis\n  namespace: redis\nspec:\n  url: oci://registry-1.docker.io/bitnamicharts/redis\n";
    let f = run(&[("o.yaml", oci)]);
    assert_eq!(hits(&f, "images/frozen-registry"), at("o.yaml", 7));
    let repo = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: bitnami\n  namespace: flux-system\nspec:\n  url: https://charts.bitnami.com/bitnami\n";
    let f = run(&[("r.yaml", repo)]);
    assert_eq!(hits(&f, "images/frozen-registry"), at("r.yaml", 7));
    let good = deployment("registry.k8s.io/pause:3.10");
    let oci_good = oci.replace(
        "registry-1.docker.io/bitnamicharts/redis",
        "ghcr.io/valkey-io/valkey-helm/valkey",
    );
    let f = run(&[("d.yaml", good.as_str()), ("o.yaml", oci_good.as_str())]);
    assert!(hits(&f, "images/frozen-registry").is_empty(), "{f:#?}");
}

#[test]
fn bitnami_versioned() {
    let hr = |image: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: redis\n  namespace: redis\nspec:\n  chart:\n    spec:\n      chart: redis\n      sourceRef: {{kind: HelmRepository, name: r}}\n  values:\n{image}"
        )
    };
    let bad = hr(
        "    image:\n      registry: docker.io\n      repository: bitnami/redis\n      tag: 7.4.2\n",
    );
    let f = run(&[("hr.yaml", bad.as_str())]);
    assert_eq!(hits(&f, "images/bitnami-versioned"), at("hr.yaml", 14));
    let bad = deployment("bitnami/kubectl:1.33");
    let f = run(&[("d.yaml", bad.as_str())]);
    assert_eq!(hits(&f, "images/bitnami-versioned"), at("d.yaml", 14));
    let good = hr(
        "    image:\n      registry: docker.io\n      repository: valkey/valkey\n      tag: \"9.1.1\"\n",
    );
    let f = run(&[("hr.yaml", good.as_str())]);
    assert!(f.iter().all(|x| !x.rule.starts_with("images/")), "{f:#?}");
}

#[test]
fn latest_tag() {
    let f = run(&[("d.yaml", deployment("nginx").as_str())]);
    assert_eq!(hits(&f, "images/latest-tag"), at("d.yaml", 14));
    let f = run(&[("d.yaml", deployment("ghcr.io/a/b:latest").as_str())]);
    assert_eq!(hits(&f, "images/latest-tag"), at("d.yaml", 14));
    let cnpg = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\nspec:\n  instances: 1\n  imageName: ghcr.io/cloudnative-pg/postgresql:latest\n";
    let f = run(&[("c.yaml", cnpg)]);
    assert_eq!(hits(&f, "images/latest-tag"), at("c.yaml", 8));
    let values = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: a\nspec:\n  chart:\n    spec:\n      chart: a\n      sourceRef: {kind: HelmRepository, name: r}\n  values:\n    image:\n      repository: ghcr.io/a/a\n      tag: latest\n    sidecar:\n      image:\n        repository: ghcr.io/a/sidecar\n";
    let f = run(&[("hr.yaml", values)]);
    // The explicit latest only: a missing tag in values means the chart's default.
    assert_eq!(hits(&f, "images/latest-tag"), at("hr.yaml", 14));
    let pinned = deployment("nginx:1.29.1");
    let digest = deployment("nginx@sha256:0123456789abcdef");
    let templated = deployment("ghcr.io/a/b:${TAG}");
    let f = run(&[
        ("a.yaml", pinned.as_str()),
        ("b.yaml", digest.as_str()),
        ("c.yaml", templated.as_str()),
    ]);
    assert!(hits(&f, "images/latest-tag").is_empty(), "{f:#?}");
}

#[test]
fn values_content_positions() {
    // A literal block maps line by line; a quoted string maps to the string itself.
    let literal = "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: |\n\n    image:\n      repository: k8s.gcr.io/traefik\n      tag: v3.7.8\n";
    let f = run(&[("t.yaml", literal)]);
    assert_eq!(hits(&f, "images/frozen-registry"), at("t.yaml", 10));
    let span = f[0].span.unwrap();
    assert_eq!(span.column, 19);
    let quoted = "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: \"ports:\\n  web:\\n    expose: true\\n\"\n";
    let f = run(&[("t.yaml", quoted)]);
    assert_eq!(hits(&f, "values/traefik-expose-bool"), at("t.yaml", 7));
    // valuesContent that does not parse is left alone (nothing to judge).
    let broken = "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: \"a: [\"\n";
    let f = run(&[("t.yaml", broken)]);
    assert!(
        f.iter()
            .all(|x| !x.rule.starts_with("values/") && !x.rule.starts_with("images/")),
        "{f:#?}"
    );
}
