//! Trees in the style of others, written here from what those repositories document (not
//! copied): onedr0p/cluster-template and fluxcd/flux2-kustomize-helm-example. Validated against
//! `shared/schemas` and `shared/chart-schemas`, they get no schema error; what does fire is
//! printed (run with `--nocapture`).

use std::path::Path;

use psd_lint::{Finding, Severity, Tree, lint};

mod support;
use support::{record, shared, shared_config};

fn check(name: &str, tree: &Tree, shared: &Path) -> Vec<Finding> {
    let findings = lint(tree, &shared_config(shared));
    record(name, &findings);
    let bad: Vec<_> = findings
        .iter()
        .filter(|f| f.rule.starts_with("schema/") && f.severity > Severity::Info)
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    findings
}

const KS_FLUX: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n";

#[test]
fn cluster_template_style() {
    let Some(shared) = shared() else { return };
    let ks = |name: &str, ns: &str, path: &str| {
        format!(
            "---\n{KS_FLUX}metadata:\n  name: &app {name}\n  namespace: &namespace {ns}\nspec:\n  commonMetadata:\n    labels:\n      app.kubernetes.io/name: *app\n  interval: 1h\n  path: {path}\n  postBuild:\n    substituteFrom:\n      - name: cluster-secrets\n        kind: Secret\n  prune: true\n  retryInterval: 2m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  targetNamespace: *namespace\n  timeout: 5m\n  wait: false\n"
        )
    };
    let tree = Tree::from_files([
        (
            ".sops.yaml",
            "---\ncreation_rules:\n  - path_regex: kubernetes/.*\\.sops\\.ya?ml\n    encrypted_regex: \"^(data|stringData)$\"\n    key_groups:\n      - age:\n          - age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n".to_owned(),
        ),
        (
            "cluster.yaml",
            "---\nnode_cidr: 192.168.1.0/24\ncloudflare_domain: example.com\ncluster_api_addr: 192.168.1.10\n".to_owned(),
        ),
        (
            "kubernetes/flux/cluster/ks.yaml",
            format!("---\n{KS_FLUX}metadata:\n  name: cluster-apps\n  namespace: flux-system\nspec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n  interval: 1h\n  path: ./kubernetes/apps\n  patches:\n    - patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n        metadata:\n          name: _\n        spec:\n          decryption:\n            provider: sops\n            secretRef:\n              name: sops-age\n      target:\n        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n  postBuild:\n    substituteFrom:\n      - name: cluster-secrets\n        kind: Secret\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n"),
        ),
        (
            "kubernetes/components/common/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./cluster-secrets.sops.yaml\n  - ./namespace.yaml\n".to_owned(),
        ),
        (
            "kubernetes/components/common/namespace.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: _\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n".to_owned(),
        ),
        (
            "kubernetes/components/common/cluster-secrets.sops.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: cluster-secrets\nstringData:\n    SECRET_DOMAIN: ENC[AES256_GCM,data:ZXhhbXBsZS5jb20=,iv:aXY=,tag:dGFn,type:str]\nsops:\n    age:\n        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWdl\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-11-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.10.2\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: cert-manager\ncomponents:\n  - ../../components/common\nresources:\n  - ./cert-manager/ks.yaml\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/ks.yaml",
            ks("cert-manager", "cert-manager", "./kubernetes/apps/cert-manager/cert-manager/app")
                + &ks("cert-manager-issuers", "cert-manager", "./kubernetes/apps/cert-manager/cert-manager/issuers")
                    .replace("  wait: false\n", "  wait: false\n  dependsOn:\n    - name: cert-manager\n"),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./helmrelease.yaml\n  - ./ocirepository.yaml\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/ocirepository.yaml",
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cert-manager\nspec:\n  interval: 15m\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n  ref:\n    tag: v1.21.1\n  url: oci://quay.io/jetstack/charts/cert-manager\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/helmrelease.yaml",
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  interval: 1h\n  values:\n    crds:\n      enabled: true\n    dns01RecursiveNameservers: https://1.1.1.1:443/dns-query,https://1.0.0.1:443/dns-query\n    dns01RecursiveNameserversOnly: true\n    replicaCount: 1\n    prometheus:\n      enabled: true\n      servicemonitor:\n        enabled: true\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/issuers/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./clusterissuer.yaml\n".to_owned(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/issuers/clusterissuer.yaml",
            "---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-production\nspec:\n  acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n    privateKeySecretRef:\n      name: letsencrypt-production\n    solvers:\n      - dns01:\n          cloudflare:\n            apiTokenSecretRef:\n              name: cert-manager-secret\n              key: api-token\n        selector:\n          dnsZones: [\"${SECRET_DOMAIN}\"]\n".to_owned(),
        ),
        (
            "kubernetes/apps/flux-system/flux-instance/app/fluxinstance.yaml",
            "---\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  distribution:\n    version: 2.7.x\n    registry: ghcr.io/fluxcd\n  components: [source-controller, kustomize-controller, helm-controller, notification-controller]\n  sync:\n    kind: GitRepository\n    url: https://github.com/example/home-ops.git\n    ref: refs/heads/main\n    path: kubernetes/flux/cluster\n".to_owned(),
        ),
    ]);
    let f = check("cluster-template", &tree, &shared);
    assert!(
        f.iter()
            .any(|f| f.rule == "schema/missing" && f.message.contains("FluxInstance"))
    );
}

#[test]
fn flux2_kustomize_helm_example_style() {
    let Some(shared) = shared() else { return };
    let tree = Tree::from_files([
        (
            "clusters/staging/flux-system/gotk-sync.yaml",
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/example/flux-fleet\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./clusters/staging\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        ),
        (
            "clusters/staging/flux-system/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n",
        ),
        (
            "clusters/staging/infrastructure.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-controllers\n  namespace: flux-system\nspec:\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/controllers\n  prune: true\n  wait: true\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-configs\n  namespace: flux-system\nspec:\n  dependsOn:\n    - name: infra-controllers\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/configs\n  prune: true\n",
        ),
        (
            "clusters/staging/apps.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  dependsOn:\n    - name: infra-configs\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/staging\n  prune: true\n  wait: true\n  timeout: 5m0s\n",
        ),
        (
            "infrastructure/controllers/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cert-manager.yaml\n  - ingress-nginx.yaml\n",
        ),
        (
            "infrastructure/controllers/cert-manager.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 24h\n  url: https://charts.jetstack.io\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: cert-manager\n      version: \"1.x\"\n      sourceRef:\n        kind: HelmRepository\n        name: cert-manager\n        namespace: cert-manager\n      interval: 12h\n  values:\n    crds:\n      enabled: true\n      keep: false\n",
        ),
        (
            "infrastructure/controllers/ingress-nginx.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress-nginx\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\nspec:\n  interval: 24h\n  url: https://kubernetes.github.io/ingress-nginx\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ingress-nginx\n  namespace: ingress-nginx\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: ingress-nginx\n      version: \"*\"\n      sourceRef:\n        kind: HelmRepository\n        name: ingress-nginx\n        namespace: ingress-nginx\n      interval: 12h\n  values:\n    controller:\n      service:\n        type: \"NodePort\"\n",
        ),
        (
            "infrastructure/configs/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cluster-issuers.yaml\n",
        ),
        (
            "infrastructure/configs/cluster-issuers.yaml",
            "---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n  acme:\n    email: fluxcdbot@users.noreply.github.com\n    server: https://acme-staging-v02.api.letsencrypt.org/directory\n    privateKeySecretRef:\n      name: letsencrypt-nginx\n    solvers:\n      - http01:\n          ingress:\n            class: nginx\n",
        ),
        (
            "apps/base/podinfo/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n  - namespace.yaml\n  - repository.yaml\n  - release.yaml\n",
        ),
        (
            "apps/base/podinfo/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
        ),
        (
            "apps/base/podinfo/repository.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  type: oci\n  interval: 5m0s\n  url: oci://ghcr.io/stefanprodan/charts\n",
        ),
        (
            "apps/base/podinfo/release.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  releaseName: podinfo\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  interval: 50m\n  install:\n    remediation:\n      retries: 3\n  values:\n    redis:\n      enabled: true\n      repository: public.ecr.aws/docker/library/redis\n      tag: 7.0.6\n    ingress:\n      enabled: true\n      className: nginx\n",
        ),
        (
            "apps/staging/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\npatches:\n  - path: podinfo-values.yaml\n    target:\n      kind: HelmRelease\n",
        ),
        (
            "apps/staging/podinfo-values.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  chart:\n    spec:\n      version: \">=1.0.0-alpha\"\n  test:\n    enable: true\n  values:\n    ingress:\n      hosts:\n        - host: podinfo.staging\n          paths:\n            - path: /\n              pathType: ImplementationSpecific\n",
        ),
    ]);
    check("flux2-kustomize-helm-example", &tree, &shared);
}
