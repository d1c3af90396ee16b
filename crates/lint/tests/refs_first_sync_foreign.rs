//! Trees in the style of others (written here from their documented layout, not copied) get no
//! false `refs/*` or `flux/*` errors: one like onedr0p/cluster-template (per-namespace folders
//! whose kustomization sets the namespace and pulls in a sops component, one Flux
//! Kustomization per app in the app's namespace, `targetNamespace`, `postBuild`
//! substitution, CRDs installed before Flux by its bootstrap), and one like
//! fluxcd/flux2-kustomize-helm-example (infrastructure controllers → configs → apps, base and
//! overlay folders, HelmRepository sources, ConfigMap values from a generator).

use psd_lint::{Config, Finding, Severity, Tree, index, lint};

mod support;
use support::{ENC, REFS_FAMILIES, in_families};

fn run(files: &[(&str, String)]) -> (Tree, Vec<Finding>) {
    let tree = support::tree(files);
    let f = lint(&tree, &Config::default());
    (tree, f)
}

fn mine(f: &[Finding]) -> Vec<&Finding> {
    f.iter().filter(|f| in_families(f, REFS_FAMILIES)).collect()
}

fn cluster_template() -> Vec<(&'static str, String)> {
    let ks = |name: &str, ns: &str, path: &str, extra: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: {ns}
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  interval: 1h
  path: {path}
  prune: true
  retryInterval: 2m
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
{extra}"
        )
    };
    vec![
        (
            "kubernetes/flux/cluster/ks.yaml",
            format!(
                "{}---\n{}",
                ks(
                    "cluster-meta",
                    "flux-system",
                    "./kubernetes/flux/meta",
                    "  targetNamespace: flux-system\n  wait: true\n"
                ),
                ks(
                    "cluster-apps",
                    "flux-system",
                    "./kubernetes/apps",
                    "  dependsOn:\n  - name: cluster-meta\n    namespace: flux-system\n  wait: false\n"
                )
            ),
        ),
        (
            "kubernetes/flux/meta/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ./repos/app-template.yaml\n".into(),
        ),
        (
            "kubernetes/flux/meta/repos/app-template.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app-template\nspec:\n  interval: 15m\n  url: oci://ghcr.io/bjw-s-labs/helm/app-template\n  ref:\n    tag: 4.4.0\n".into(),
        ),
        (
            "kubernetes/components/sops/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- ./sops-age.sops.yaml\n- ./cluster-secrets.sops.yaml\n".into(),
        ),
        (
            "kubernetes/components/sops/sops-age.sops.yaml",
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\nstringData:\n  age.agekey: {ENC}\n"),
        ),
        (
            "kubernetes/components/sops/cluster-secrets.sops.yaml",
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\nstringData:\n  SECRET_DOMAIN: {ENC}\n"),
        ),
        (
            "kubernetes/apps/cert-manager/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: cert-manager\ncomponents:\n- ../../components/sops\nresources:\n- ./namespace.yaml\n- ./cert-manager/ks.yaml\n".into(),
        ),
        (
            "kubernetes/apps/cert-manager/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n".into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/ks.yaml",
            ks(
                "cert-manager",
                "cert-manager",
                "./kubernetes/apps/cert-manager/cert-manager/app",
                "  targetNamespace: cert-manager
  postBuild:
    substituteFrom:
    - name: cluster-secrets
      kind: Secret
  healthChecks:
  - apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    name: cert-manager
    namespace: cert-manager
  - apiVersion: cert-manager.io/v1
    kind: ClusterIssuer
    name: letsencrypt-production
  healthCheckExprs:
  - apiVersion: cert-manager.io/v1
    kind: ClusterIssuer
    current: status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')
",
            ),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ./clusterissuer.yaml\n- ./helmrelease.yaml\n- ./ocirepository.yaml\n- ./secret.sops.yaml\n".into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/ocirepository.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cert-manager\nspec:\n  interval: 12h\n  url: oci://quay.io/jetstack/charts/cert-manager\n  ref:\n    tag: v1.21.1\n".into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/helmrelease.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  values:\n    crds:\n      enabled: true\n    dns01RecursiveNameservers: https://1.1.1.1:443/dns-query\n    dns01RecursiveNameserversOnly: true\n".into(),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/secret.sops.yaml",
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: cert-manager-secret\nstringData:\n  api-token: {ENC}\n"),
        ),
        (
            "kubernetes/apps/cert-manager/cert-manager/app/clusterissuer.yaml",
            "apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt-production
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef:
      name: letsencrypt-production
    solvers:
    - dns01:
        cloudflare:
          apiTokenSecretRef:
            name: cert-manager-secret
            key: api-token
      selector:
        dnsZones:
        - ${SECRET_DOMAIN}
"
            .into(),
        ),
        (
            "kubernetes/apps/default/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\ncomponents:\n- ../../components/sops\nresources:\n- ./echo/ks.yaml\n".into(),
        ),
        (
            "kubernetes/apps/default/echo/ks.yaml",
            ks(
                "echo",
                "default",
                "./kubernetes/apps/default/echo/app",
                "  targetNamespace: default\n  wait: false\n  postBuild:\n    substituteFrom:\n    - name: cluster-secrets\n      kind: Secret\n",
            ),
        ),
        (
            "kubernetes/apps/default/echo/app/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ./helmrelease.yaml\n".into(),
        ),
        (
            "kubernetes/apps/default/echo/app/helmrelease.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: echo
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: app-template
    namespace: flux-system
  values:
    controllers:
      echo:
        containers:
          app:
            image:
              repository: ghcr.io/mendhak/http-https-echo
              tag: 37
            envFrom:
            - secretRef:
                name: echo-secret
                optional: true
    route:
      app:
        hostnames:
        - echo.${SECRET_DOMAIN}
"
            .into(),
        ),
    ]
}

fn flux_example() -> Vec<(&'static str, String)> {
    let ks = |name: &str, path: &str, extra: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  interval: 1h
  retryInterval: 1m
  timeout: 5m
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: {path}
  prune: true
{extra}"
        )
    };
    vec![
        (
            "clusters/production/infrastructure.yaml",
            format!(
                "{}---\n{}",
                ks("infra-controllers", "./infrastructure/controllers", "  wait: true\n"),
                ks(
                    "infra-configs",
                    "./infrastructure/configs",
                    "  dependsOn:\n  - name: infra-controllers\n  healthCheckExprs:\n  - apiVersion: cert-manager.io/v1\n    kind: ClusterIssuer\n    current: has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')\n  wait: true\n"
                )
            ),
        ),
        (
            "clusters/production/apps.yaml",
            ks(
                "apps",
                "./apps/production",
                "  dependsOn:\n  - name: infra-configs\n  wait: true\n",
            ),
        ),
        (
            "infrastructure/controllers/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cert-manager.yaml\n".into(),
        ),
        (
            "infrastructure/controllers/cert-manager.yaml",
            "apiVersion: v1
kind: Namespace
metadata:
  name: cert-manager
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 24h
  url: oci://quay.io/jetstack/charts/cert-manager
  ref:
    semver: 1.x
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 12h
  chartRef:
    kind: OCIRepository
    name: cert-manager
  values:
    crds:
      enabled: true
      keep: true
"
            .into(),
        ),
        (
            "infrastructure/configs/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cluster-issuers.yaml\n".into(),
        ),
        (
            "infrastructure/configs/cluster-issuers.yaml",
            "apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    email: fluxcdbot@users.noreply.github.com
    server: https://acme-staging-v02.api.letsencrypt.org/directory
    privateKeySecretRef:
      name: letsencrypt-nginx
    solvers:
    - http01:
        ingress:
          class: nginx
"
            .into(),
        ),
        (
            "apps/base/podinfo/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n- namespace.yaml\n- repository.yaml\n- release.yaml\n".into(),
        ),
        (
            "apps/base/podinfo/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n".into(),
        ),
        (
            "apps/base/podinfo/repository.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  interval: 24h\n  url: https://stefanprodan.github.io/podinfo\n".into(),
        ),
        (
            "apps/base/podinfo/release.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 50m
  chart:
    spec:
      chart: podinfo
      version: '*'
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: podinfo
  valuesFrom:
  - kind: ConfigMap
    name: podinfo-values
  values:
    ingress:
      enabled: true
      className: nginx
"
            .into(),
        ),
        (
            "apps/production/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n- ../base/podinfo\nconfigMapGenerator:\n- name: podinfo-values\n  files:\n  - values.yaml=podinfo-values.yaml\nconfigurations:\n- kustomizeconfig.yaml\n".into(),
        ),
        (
            "apps/production/podinfo-values.yaml",
            "replicaCount: 2\n".into(),
        ),
        (
            "apps/production/kustomizeconfig.yaml",
            "nameReference:\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n  - path: spec/valuesFrom/name\n    kind: HelmRelease\n".into(),
        ),
    ]
}

#[test]
fn cluster_template_style() {
    let files = cluster_template();
    let (tree, f) = run(&files);
    // The app's files are applied by the app's Kustomization only, not also by cluster-apps.
    let ix = index(&tree);
    let hr = tree
        .position("kubernetes/apps/cert-manager/cert-manager/app/helmrelease.yaml")
        .unwrap();
    assert_eq!(ix.applied_by.get(&hr).map(Vec::len), Some(1));
    let mine = mine(&f);
    assert!(
        !mine.iter().any(|f| f.severity == Severity::Error),
        "{mine:#?}"
    );
    // What fires: the ClusterIssuer next to the HelmRelease that installs its CRD (this
    // template installs the CRDs before Flux, at bootstrap) — a warning.
    let rules: Vec<&str> = mine.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["flux/chart-crd-never-ready"], "{mine:#?}");
}

#[test]
fn flux_example_style() {
    let (_, f) = run(&flux_example());
    assert!(mine(&f).is_empty(), "{f:#?}");
}
