//! Trees in the style of others, written here from their documented layout (no file copied):
//! onedr0p/cluster-template (SOPS `*.sops.yaml`, per-app Flux Kustomizations that receive
//! `decryption` from a patch of their parent, postBuild substitution, OCI charts) and
//! fluxcd/flux2-kustomize-helm-example (controllers/configs split, podinfo with overlays, no
//! SOPS). The sops/*, api/*, values/*, certs/* and images/* rules must not fire on them.

use psd_lint::{Config, Finding, Tree, lint};

const MINE: &[&str] = &["sops/", "api/", "values/", "certs/", "images/"];

fn mine(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| in_families(f, MINE)).collect()
}

mod support;
use support::{ENC, RECIPIENT as AGE, in_families};

fn sops_secret(name: &str, ns: Option<&str>, key: &str) -> String {
    let ns = ns.map_or(String::new(), |n| format!("  namespace: {n}\n"));
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{ns}stringData:\n  {key}: {ENC}\nsops:\n  age:\n    - recipient: {AGE}\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n        YWdl\n        -----END AGE ENCRYPTED FILE-----\n  lastmodified: \"2026-03-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:DDDD,iv:EEEE,tag:FFFF,type:str]\n  encrypted_regex: ^(data|stringData)$\n  mac_only_encrypted: true\n  version: 3.10.2\n"
    )
}

fn cluster_template() -> Tree {
    let sops_yaml = format!(
        "---\ncreation_rules:\n  - path_regex: talos/.*\\.sops\\.ya?ml\n    mac_only_encrypted: true\n    key_groups:\n      - age:\n          - \"{AGE}\"\n  - path_regex: (bootstrap|kubernetes)/.*\\.sops\\.ya?ml\n    encrypted_regex: \"^(data|stringData)$\"\n    mac_only_encrypted: true\n    key_groups:\n      - age:\n          - \"{AGE}\"\nstores:\n  yaml:\n    indent: 2\n"
    );
    let cluster_ks = r#"---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: _
        spec:
          decryption:
            provider: sops
            secretRef:
              name: sops-age
          postBuild:
            substituteFrom:
              - name: cluster-secrets
                kind: Secret
      target:
        group: kustomize.toolkit.fluxcd.io
        kind: Kustomization
"#;
    let common = "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./namespace.yaml\n  - ./sops\n";
    let common_ns = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: _\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n";
    let common_sops = "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./cluster-secrets.sops.yaml\n";
    let ns_kustomization = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: cert-manager\ncomponents:\n  - ../../components/common\nresources:\n  - ./cert-manager/ks.yaml\n";
    let app_ks = r#"---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cert-manager
spec:
  healthChecks:
    - apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      name: letsencrypt-production
  healthCheckExprs:
    - apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      current: status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')
  interval: 1h
  path: ./kubernetes/apps/cert-manager/cert-manager/app
  postBuild:
    substituteFrom:
      - name: cluster-secrets
        kind: Secret
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: cert-manager
  wait: false
"#;
    let app_kustomization = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./clusterissuer.yaml\n  - ./helmrelease.yaml\n  - ./ocirepository.yaml\n  - ./secret.sops.yaml\n";
    let ocirepo = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cert-manager\nspec:\n  interval: 15m\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n  ref:\n    tag: v1.21.1\n  url: oci://quay.io/jetstack/charts/cert-manager\n";
    let helmrelease = "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  interval: 1h\n  values:\n    crds:\n      enabled: true\n    dns01RecursiveNameservers: https://1.1.1.1:443/dns-query,https://1.0.0.1:443/dns-query\n    dns01RecursiveNameserversOnly: true\n    replicaCount: 1\n";
    let issuer = "---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-production\nspec:\n  acme:\n    privateKeySecretRef:\n      name: letsencrypt-production\n    profile: shortlived\n    server: https://acme-v02.api.letsencrypt.org/directory\n    solvers:\n      - dns01:\n          cloudflare:\n            apiTokenSecretRef:\n              name: cert-manager-secret\n              key: api-token\n        selector:\n          dnsZones: [\"${SECRET_DOMAIN}\"]\n";
    let network_ns = ns_kustomization
        .replace("cert-manager", "network")
        .replace("./network/ks.yaml", "./envoy-gateway/ks.yaml");
    let eg_ks = app_ks
        .replace("name: cert-manager\n", "name: envoy-gateway\n")
        .replace(
            "./kubernetes/apps/cert-manager/cert-manager/app",
            "./kubernetes/apps/network/envoy-gateway/app",
        )
        .replace("targetNamespace: cert-manager", "targetNamespace: network");
    let certificate = "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: \"${SECRET_DOMAIN/./-}-production\"\nspec:\n  secretName: \"${SECRET_DOMAIN/./-}-production-tls\"\n  issuerRef:\n    name: letsencrypt-production\n    kind: ClusterIssuer\n  commonName: \"${SECRET_DOMAIN}\"\n  dnsNames: [\"${SECRET_DOMAIN}\", \"*.${SECRET_DOMAIN}\"]\n";
    let echo = "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: echo\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: app-template\n  interval: 1h\n  values:\n    controllers:\n      echo:\n        strategy: RollingUpdate\n        containers:\n          app:\n            image:\n              repository: ghcr.io/mendhak/http-https-echo\n              tag: 37\n            env:\n              HTTP_PORT: &port 80\n";
    let app_template = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app-template\nspec:\n  interval: 15m\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n  ref:\n    tag: 4.4.0\n  url: oci://ghcr.io/bjw-s-labs/helm/app-template\n";
    let eg_app = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./certificate.yaml\n  - ./echo.yaml\n  - ./ocirepository.yaml\n";
    let network_ns = network_ns.replace("./cert-manager/ks.yaml", "./envoy-gateway/ks.yaml");
    let files: Vec<(String, String)> = vec![
        (".sops.yaml".into(), sops_yaml),
        ("kubernetes/flux/cluster/ks.yaml".into(), cluster_ks.into()),
        (
            "kubernetes/components/common/kustomization.yaml".into(),
            common.into(),
        ),
        (
            "kubernetes/components/common/namespace.yaml".into(),
            common_ns.into(),
        ),
        (
            "kubernetes/components/common/sops/kustomization.yaml".into(),
            common_sops.into(),
        ),
        (
            "kubernetes/components/common/sops/cluster-secrets.sops.yaml".into(),
            sops_secret("cluster-secrets", None, "SECRET_DOMAIN"),
        ),
        (
            "kubernetes/apps/cert-manager/kustomization.yaml".into(),
            ns_kustomization.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/ks.yaml".into(),
            app_ks.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/kustomization.yaml".into(),
            app_kustomization.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/ocirepository.yaml".into(),
            ocirepo.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/helmrelease.yaml".into(),
            helmrelease.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/clusterissuer.yaml".into(),
            issuer.into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/secret.sops.yaml".into(),
            sops_secret("cert-manager-secret", None, "api-token"),
        ),
        (
            "kubernetes/apps/network/kustomization.yaml".into(),
            network_ns,
        ),
        (
            "kubernetes/apps/network/envoy-gateway/ks.yaml".into(),
            eg_ks,
        ),
        (
            "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml".into(),
            eg_app.into(),
        ),
        (
            "kubernetes/apps/network/envoy-gateway/app/certificate.yaml".into(),
            certificate.into(),
        ),
        (
            "kubernetes/apps/network/envoy-gateway/app/echo.yaml".into(),
            echo.into(),
        ),
        (
            "kubernetes/apps/network/envoy-gateway/app/ocirepository.yaml".into(),
            app_template.into(),
        ),
    ];
    Tree::from_files(files)
}

fn flux_example() -> Tree {
    let gotk_sync = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: https://github.com/example/flux2-kustomize-helm-example\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./clusters/production\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    let flux_system_k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\n  - gotk-sync.yaml\n";
    let infrastructure = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-controllers\n  namespace: flux-system\nspec:\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/controllers\n  prune: true\n  wait: true\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-configs\n  namespace: flux-system\nspec:\n  dependsOn:\n    - name: infra-controllers\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/configs\n  prune: true\n  patches:\n    - patch: |\n        - op: replace\n          path: /spec/acme/server\n          value: https://acme-v02.api.letsencrypt.org/directory\n      target:\n        kind: ClusterIssuer\n        name: letsencrypt\n";
    let apps = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  dependsOn:\n    - name: infra-configs\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/production\n  prune: true\n  wait: true\n  timeout: 5m0s\n";
    let controllers_k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cert-manager.yaml\n  - ingress-nginx.yaml\n";
    let cert_manager = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 24h\n  url: oci://quay.io/jetstack/charts/cert-manager\n  layerSelector:\n    mediaType: \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\"\n    operation: copy\n  ref:\n    semver: \"1.x\"\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 12h\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  values:\n    crds:\n      enabled: true\n      keep: true\n";
    let ingress_nginx = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress-nginx\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\nspec:\n  interval: 24h\n  url: https://kubernetes.github.io/ingress-nginx\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: ingress-nginx\n      version: \"*\"\n      sourceRef:\n        kind: HelmRepository\n        name: ingress-nginx\n        namespace: ingress-nginx\n      interval: 12h\n  values:\n    controller:\n      service:\n        type: \"NodePort\"\n      admissionWebhooks:\n        enabled: false\n";
    let configs_k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cluster-issuers.yaml\n";
    let issuers = "---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n  acme:\n    email: fluxcdbot@users.noreply.github.com\n    server: https://acme-staging-v02.api.letsencrypt.org/directory\n    privateKeySecretRef:\n      name: letsencrypt-nginx\n    solvers:\n      - http01:\n          ingress:\n            class: nginx\n";
    let podinfo_base_k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n  - namespace.yaml\n  - repository.yaml\n  - release.yaml\n";
    let podinfo_ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n";
    let podinfo_repo = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  interval: 5m\n  url: oci://ghcr.io/stefanprodan/charts/podinfo\n  ref:\n    semver: \">=6.0.0\"\n";
    let podinfo_release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  releaseName: podinfo\n  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  interval: 50m\n  install:\n    remediation:\n      retries: 3\n  values:\n    redis:\n      enabled: true\n      repository: public.ecr.aws/docker/library/redis\n      tag: 7.0.6\n    ingress:\n      enabled: true\n      className: nginx\n";
    let production_k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\npatches:\n  - path: podinfo-values.yaml\n    target:\n      kind: HelmRelease\n";
    let production_values = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  values:\n    ingress:\n      hosts:\n        - host: podinfo.production\n          paths:\n            - path: /\n              pathType: ImplementationSpecific\n      annotations:\n        cert-manager.io/cluster-issuer: letsencrypt\n      tls:\n        - secretName: podinfo-tls\n          hosts: [podinfo.production]\n";
    Tree::from_files([
        ("clusters/production/flux-system/gotk-sync.yaml", gotk_sync),
        (
            "clusters/production/flux-system/kustomization.yaml",
            flux_system_k,
        ),
        ("clusters/production/infrastructure.yaml", infrastructure),
        ("clusters/production/apps.yaml", apps),
        (
            "infrastructure/controllers/kustomization.yaml",
            controllers_k,
        ),
        ("infrastructure/controllers/cert-manager.yaml", cert_manager),
        (
            "infrastructure/controllers/ingress-nginx.yaml",
            ingress_nginx,
        ),
        ("infrastructure/configs/kustomization.yaml", configs_k),
        ("infrastructure/configs/cluster-issuers.yaml", issuers),
        ("apps/base/podinfo/kustomization.yaml", podinfo_base_k),
        ("apps/base/podinfo/namespace.yaml", podinfo_ns),
        ("apps/base/podinfo/repository.yaml", podinfo_repo),
        ("apps/base/podinfo/release.yaml", podinfo_release),
        ("apps/production/kustomization.yaml", production_k),
        ("apps/production/podinfo-values.yaml", production_values),
    ])
}

#[test]
fn cluster_template_style_is_clean() {
    let tree = cluster_template();
    let ix = psd_lint::index(&tree);
    // The per-app Kustomizations see their encrypted files.
    assert!(ix.flux.iter().any(|k| {
        k.name == "cert-manager"
            && k.files
                .iter()
                .any(|&f| tree.files[f].path.ends_with("secret.sops.yaml"))
    }));
    let findings = lint(&tree, &Config::default());
    assert!(mine(&findings).is_empty(), "{:#?}", mine(&findings));
}

#[test]
fn flux_example_style_is_clean() {
    let findings = lint(&flux_example(), &Config::default());
    assert!(mine(&findings).is_empty(), "{:#?}", mine(&findings));
}

#[test]
fn cluster_template_without_the_parent_patch_needs_decryption() {
    // The same tree without the patch that hands decryption to every child: the child that
    // applies secret.sops.yaml is reported.
    let mut tree = cluster_template();
    let i = tree.position("kubernetes/flux/cluster/ks.yaml").unwrap();
    let text = tree.files[i].text().unwrap().to_owned();
    let cut = text.find("  patches:").unwrap();
    tree.files[i].bytes = text.as_bytes()[..cut].to_vec();
    let findings = lint(&tree, &Config::default());
    let hits: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "sops/missing-decryption")
        .map(|f| (f.file.as_str(), f.span.unwrap().line))
        .collect();
    assert_eq!(
        hits,
        vec![("kubernetes/apps/cert-manager/cert-manager/ks.yaml", 16)]
    );
}

#[test]
fn cluster_template_rules_are_exercised() {
    // key_groups in .sops.yaml are read: a different recipient there is reported per file.
    let mut tree = cluster_template();
    let i = tree.position(".sops.yaml").unwrap();
    let text = tree.files[i].text().unwrap().replace(
        AGE,
        "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
    );
    tree.files[i].bytes = text.into_bytes();
    // And a Certificate naming an issuer the tree lacks.
    let c = tree
        .position("kubernetes/apps/network/envoy-gateway/app/certificate.yaml")
        .unwrap();
    let text = tree.files[c]
        .text()
        .unwrap()
        .replace("name: letsencrypt-production", "name: letsencrypt-staging");
    tree.files[c].bytes = text.into_bytes();
    let findings = lint(&tree, &Config::default());
    let rules: Vec<(&str, &str)> = mine(&findings)
        .iter()
        .map(|f| (f.rule, f.file.as_str()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (
                "sops/recipients-mismatch",
                "kubernetes/apps/cert-manager/cert-manager/app/secret.sops.yaml"
            ),
            (
                "certs/unknown-cluster-issuer",
                "kubernetes/apps/network/envoy-gateway/app/certificate.yaml"
            ),
            (
                "sops/recipients-mismatch",
                "kubernetes/components/common/sops/cluster-secrets.sops.yaml"
            ),
        ]
    );
}
