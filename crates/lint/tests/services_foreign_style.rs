//! Trees in the style of others (written here from their documented layout, not copied): the
//! service rules must not report errors on them. One in the style of onedr0p's
//! cluster-template (one `cluster-apps` Kustomization over `kubernetes/apps`, a `ks.yaml` per
//! app, app-template HelmReleases with `${SECRET_DOMAIN}` and templated hosts, a wildcard
//! Certificate used as the ingress controller's default), one in the style of
//! fluxcd/flux2-kustomize-helm-example (two clusters, a `flux-system` sync per cluster,
//! base + overlays patching a HelmRelease's ingress), and one hand-written K3s tree with a
//! database, Traefik TCP routes and a StatefulSet.

use psd_lint::{Finding, Severity};

mod support;
use support::{SERVICE_FAMILIES, in_families, lint_files};

/// The service rules' findings on these files.
fn run(files: &[(&str, &str)], domain: Option<&str>) -> Vec<Finding> {
    lint_files(files, domain)
        .into_iter()
        .filter(|f| in_families(f, SERVICE_FAMILIES))
        .collect()
}

const CLUSTER_TEMPLATE: &[(&str, &str)] = &[
    (
        "kubernetes/flux/cluster/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  postBuild:
    substituteFrom:
    - kind: Secret
      name: cluster-secrets
",
    ),
    (
        "kubernetes/apps/default/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: default
components:
- ../../components/common
resources:
- ./echo/ks.yaml
- ./whoami/ks.yaml
",
    ),
    (
        "kubernetes/components/common/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- ./namespace.yaml
",
    ),
    (
        "kubernetes/components/common/namespace.yaml",
        "apiVersion: v1
kind: Namespace
metadata:
  name: _
  annotations:
    kustomize.toolkit.fluxcd.io/prune: disabled
",
    ),
    (
        "kubernetes/apps/default/echo/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: echo
spec:
  targetNamespace: default
  path: ./kubernetes/apps/default/echo/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  wait: false
  interval: 1h
",
    ),
    (
        "kubernetes/apps/default/echo/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ./helmrelease.yaml
- ./ocirepository.yaml
",
    ),
    (
        "kubernetes/apps/default/echo/app/ocirepository.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: echo
spec:
  interval: 15m
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  ref:
    tag: 4.1.2
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
",
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
    name: echo
  values:
    controllers:
      echo:
        containers:
          app:
            image:
              repository: ghcr.io/mendhak/http-https-echo
              tag: 37
    service:
      app:
        ports:
          http:
            port: 80
    ingress:
      app:
        className: external
        annotations:
          external-dns.alpha.kubernetes.io/target: external.${SECRET_DOMAIN}
        hosts:
        - host: \"{{ .Release.Name }}.${SECRET_DOMAIN}\"
          paths:
          - path: /
            service:
              identifier: app
              port: http
    persistence:
      tmp:
        type: emptyDir
",
    ),
    (
        "kubernetes/apps/default/whoami/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: whoami
spec:
  targetNamespace: default
  path: ./kubernetes/apps/default/whoami/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  interval: 1h
",
    ),
    (
        "kubernetes/apps/default/whoami/app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ./helmrelease.yaml
",
    ),
    (
        "kubernetes/apps/default/whoami/app/helmrelease.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: whoami
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: echo
  values:
    ingress:
      app:
        className: internal
        hosts:
        - host: \"{{ .Release.Name }}.${SECRET_DOMAIN}\"
          paths:
          - path: /
            service:
              identifier: app
              port: http
        tls:
        - hosts:
          - \"{{ .Release.Name }}.${SECRET_DOMAIN}\"
    persistence:
      config:
        existingClaim: whoami
",
    ),
    (
        "kubernetes/apps/network/certificates/app/production.yaml",
        "apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: production
  namespace: network
spec:
  secretName: ${SECRET_DOMAIN/./-}-production-tls
  issuerRef:
    name: letsencrypt-production
    kind: ClusterIssuer
  commonName: ${SECRET_DOMAIN}
  dnsNames:
  - ${SECRET_DOMAIN}
  - \"*.${SECRET_DOMAIN}\"
",
    ),
    (
        "kubernetes/apps/cert-manager/cert-manager/issuers/issuers.yaml",
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
",
    ),
];

#[test]
fn cluster_template_style_gets_no_service_findings() {
    for domain in [None, Some("example.com")] {
        let f = run(CLUSTER_TEMPLATE, domain);
        assert!(f.is_empty(), "{f:#?}");
    }
}

fn flux_example() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for cluster in ["staging", "production"] {
        files.push((
            format!("clusters/{cluster}/flux-system/gotk-sync.yaml"),
            format!(
                "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@github.com/example/flux-example
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/{cluster}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"
            ),
        ));
        files.push((
            format!("clusters/{cluster}/flux-system/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-sync.yaml\n".into(),
        ));
        files.push((
            format!("clusters/{cluster}/apps.yaml"),
            format!(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  dependsOn:
  - name: infra-configs
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps/{cluster}
  prune: true
  wait: true
"
            ),
        ));
        files.push((
            format!("clusters/{cluster}/infrastructure.yaml"),
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra-controllers
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./infrastructure/controllers
  prune: true
  wait: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra-configs
  namespace: flux-system
spec:
  dependsOn:
  - name: infra-controllers
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./infrastructure/configs
  prune: true
"
            .into(),
        ));
        files.push((
            format!("apps/{cluster}/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../base/podinfo
patches:
- path: podinfo-values.yaml
  target:
    kind: HelmRelease
"
            .into(),
        ));
        files.push((
            format!("apps/{cluster}/podinfo-values.yaml"),
            format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  values:
    ingress:
      hosts:
      - host: podinfo.{cluster}
        paths:
        - path: /
          pathType: ImplementationSpecific
"
            ),
        ));
    }
    let rest: &[(&str, &str)] = &[
        (
            "apps/base/podinfo/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: podinfo
resources:
- namespace.yaml
- repository.yaml
- release.yaml
",
        ),
        (
            "apps/base/podinfo/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
        ),
        (
            "apps/base/podinfo/repository.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 5m
  url: https://stefanprodan.github.io/podinfo
",
        ),
        (
            "apps/base/podinfo/release.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  releaseName: podinfo
  chart:
    spec:
      chart: podinfo
      sourceRef:
        kind: HelmRepository
        name: podinfo
  interval: 50m
  values:
    redis:
      enabled: true
    ingress:
      enabled: true
      className: nginx
",
        ),
        (
            "infrastructure/controllers/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- cert-manager.yaml
- ingress-nginx.yaml
",
        ),
        (
            "infrastructure/controllers/cert-manager.yaml",
            "apiVersion: v1
kind: Namespace
metadata:
  name: cert-manager
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 24h
  url: https://charts.jetstack.io
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 30m
  chart:
    spec:
      chart: cert-manager
      version: \"1.x\"
      sourceRef:
        kind: HelmRepository
        name: cert-manager
        namespace: cert-manager
  values:
    crds:
      enabled: true
",
        ),
        (
            "infrastructure/controllers/ingress-nginx.yaml",
            "apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ingress-nginx
  namespace: ingress-nginx
spec:
  interval: 30m
  chart:
    spec:
      chart: ingress-nginx
      sourceRef:
        kind: HelmRepository
        name: ingress-nginx
        namespace: ingress-nginx
  values:
    controller:
      service:
        type: NodePort
",
        ),
        (
            "infrastructure/configs/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- cluster-issuers.yaml
",
        ),
        (
            "infrastructure/configs/cluster-issuers.yaml",
            "apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    privateKeySecretRef:
      name: letsencrypt-nginx
    server: https://acme-v02.api.letsencrypt.org/directory
    solvers:
    - http01:
        ingress:
          class: nginx
",
        ),
    ];
    files.extend(rest.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())));
    files
}

#[test]
fn flux_example_style_gets_no_service_findings() {
    let files = flux_example();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let f = run(&refs, None);
    assert!(f.is_empty(), "{f:#?}");
}

/// A hand-written K3s tree: Traefik with a database entry point, a Bitnami PostgreSQL chart, a
/// StatefulSet, an IngressRoute and a TLS-passthrough TCP route on websecure.
const HAND_WRITTEN: &[(&str, &str)] = &[
    (
        "flux/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
",
    ),
    (
        "apps/traefik-config.yaml",
        "apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    additionalArguments:
    - \"--entrypoints.mqtt.address=:1883/tcp\"
    ports:
      web:
        asDefault: true
      websecure:
        asDefault: true
      pg:
        port: 5432
        expose:
          default: true
",
    ),
    (
        "apps/db/namespace.yaml",
        "apiVersion: v1
kind: Namespace
metadata:
  name: db
  labels:
    kustomize.toolkit.fluxcd.io/prune: disabled
",
    ),
    (
        "apps/db/postgresql.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: db
spec:
  type: oci
  url: oci://registry-1.docker.io/bitnamicharts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: postgresql
  namespace: db
spec:
  interval: 1h
  chart:
    spec:
      chart: postgresql
      sourceRef:
        kind: HelmRepository
        name: bitnami
  values:
    primary:
      persistence:
        size: 20Gi
",
    ),
    (
        "apps/db/route.yaml",
        "apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: pg
  namespace: db
spec:
  entryPoints: [pg]
  routes:
  - match: HostSNI(`*`)
    services:
    - name: postgresql
      port: 5432
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: mqtt
  namespace: db
spec:
  entryPoints: [mqtt]
  routes:
  - match: HostSNI(`*`)
    services:
    - name: mosquitto
      port: 1883
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: passthrough
  namespace: db
spec:
  entryPoints: [websecure]
  routes:
  - match: HostSNI(`vault.example.org`)
    services:
    - name: vault
      port: 8200
  tls:
    passthrough: true
",
    ),
    (
        "apps/web/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
    ),
    (
        "apps/web/app.yaml",
        "apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: app
  namespace: web
spec:
  routes:
  - match: Host(`app.example.org`)
    kind: Rule
    services:
    - name: app
      port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
  namespace: web
spec:
  serviceName: cache
  selector:
    matchLabels: {app: cache}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
      - name: cache
        image: docker.io/library/memcached:1.6
",
    ),
];

#[test]
fn hand_written_k3s_tree_gets_no_service_findings() {
    let f = run(HAND_WRITTEN, Some("example.org"));
    assert!(f.is_empty(), "{f:#?}");
    // Dropping the namespace's protection is noticed (a warning: nothing breaks yet).
    let mut files = HAND_WRITTEN.to_vec();
    files[2].1 = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n";
    let f = run(&files, None);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "prune/namespace");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(f[0].message.contains("HelmRelease db/postgresql"), "{f:#?}");
}
