//! Service rules (`persistence/*`, `ingress/*`, `entry-points/*`, `prune/*`): for each rule a
//! minimal tree that triggers it (rule, file, line) and the fixed tree that does not; the
//! reference tree with its domain configured; and trees in the style of others that must not
//! get false errors.

use std::path::Path;

use psd_lint::{Config, Finding, Severity, Tree, lint};

mod support;
use support::{SERVICE_FAMILIES, at, hits, in_families, lint_files as run_with, run};

fn ours(f: &Finding) -> bool {
    in_families(f, SERVICE_FAMILIES)
}

// ---------------------------------------------------------------- persistence/size

const CLUSTER_BAD: &str = "apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: pg
  namespace: db
spec:
  instances: 1
  storage:
    size: 10GB
";

#[test]
fn persistence_size() {
    let f = run(&[("db/cluster.yaml", CLUSTER_BAD)]);
    assert_eq!(hits(&f, "persistence/size"), at("db/cluster.yaml", 9));
    let msg = &f
        .iter()
        .find(|f| f.rule == "persistence/size")
        .unwrap()
        .message;
    assert!(
        msg.contains("Cluster db/pg") && msg.contains("10Gi"),
        "{msg}"
    );
    let good = CLUSTER_BAD.replace("10GB", "10Gi");
    assert!(hits(&run(&[("db/cluster.yaml", &good)]), "persistence/size").is_empty());

    // A Cluster without any size.
    let none = CLUSTER_BAD.replace("  storage:\n    size: 10GB\n", "");
    assert_eq!(
        hits(&run(&[("db/cluster.yaml", &none)]), "persistence/size"),
        at("db/cluster.yaml", 7)
    );

    // PVC without a request, StatefulSet template `ten`, chart value `0`.
    let pvc = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: a\nspec:\n  accessModes: [ReadWriteOnce]\n";
    assert_eq!(
        hits(&run(&[("a/pvc.yaml", pvc)]), "persistence/size"),
        at("a/pvc.yaml", 7)
    );
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\n  namespace: a\nspec:\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      resources:\n        requests:\n          storage: ten\n";
    assert_eq!(
        hits(&run(&[("a/sts.yaml", sts)]), "persistence/size"),
        at("a/sts.yaml", 13)
    );
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: pg\n  namespace: a\nspec:\n  chart:\n    spec:\n      chart: postgresql\n  values:\n    primary:\n      persistence:\n        size: 0\n";
    assert_eq!(
        hits(&run(&[("a/hr.yaml", hr)]), "persistence/size"),
        at("a/hr.yaml", 13)
    );
    let good = hr.replace("size: 0", "size: 8Gi");
    assert!(hits(&run(&[("a/hr.yaml", &good)]), "persistence/size").is_empty());
    // A Flux substitution is not judged.
    let subst = hr.replace("size: 0", "size: ${PG_SIZE}");
    assert!(hits(&run(&[("a/hr.yaml", &subst)]), "persistence/size").is_empty());
}

// ---------------------------------------------------------------- persistence/enabled

const VALKEY_SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: valkey
  namespace: redis
spec:
  url: oci://ghcr.io/valkey-io/valkey-helm/valkey
  ref:
    tag: 0.11.0
";

const VALKEY_BAD: &str = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: valkey
  namespace: redis
spec:
  chartRef:
    kind: OCIRepository
    name: valkey
  values:
    deploymentStrategy: Recreate
";

#[test]
fn persistence_enabled() {
    let f = run(&[
        ("redis/oci.yaml", VALKEY_SOURCE),
        ("redis/hr.yaml", VALKEY_BAD),
    ]);
    assert_eq!(hits(&f, "persistence/enabled"), at("redis/hr.yaml", 11));
    let good =
        format!("{VALKEY_BAD}    dataStorage:\n      enabled: true\n      requestedSize: 8Gi\n");
    let f = run(&[("redis/oci.yaml", VALKEY_SOURCE), ("redis/hr.yaml", &good)]);
    assert!(hits(&f, "persistence/enabled").is_empty(), "{f:#?}");

    // A database chart with its volume turned off.
    let pg = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: pg\n  namespace: a\nspec:\n  chart:\n    spec:\n      chart: postgresql\n  values:\n    primary:\n      persistence:\n        enabled: false\n";
    assert_eq!(
        hits(&run(&[("a/hr.yaml", pg)]), "persistence/enabled"),
        at("a/hr.yaml", 13)
    );
    let good = pg.replace("enabled: false", "enabled: true");
    assert!(hits(&run(&[("a/hr.yaml", &good)]), "persistence/enabled").is_empty());
    // Not a database chart: nothing to say.
    let other = pg.replace("chart: postgresql", "chart: podinfo");
    assert!(hits(&run(&[("a/hr.yaml", &other)]), "persistence/enabled").is_empty());
}

// ---------------------------------------------------------------- ingress/*

fn ingress(name: &str, annotations: &str, host: &str, tls: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: web
  annotations:
    {annotations}
spec:
  ingressClassName: traefik
  rules:
  - host: {host}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {name}
            port:
              number: 80
{tls}"
    )
}

const ISSUERS: &str = "apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef:
      name: letsencrypt
    solvers:
    - http01:
        ingress:
          ingressClassName: traefik
";

const CM: &str = "cert-manager.io/cluster-issuer: letsencrypt";
const TLS_APP: &str = "  tls:\n  - hosts:\n    - app.a.io\n    secretName: app-tls\n";

#[test]
fn ingress_tls() {
    let bad = ingress("app", CM, "app.a.io", "");
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &bad)]);
    assert_eq!(hits(&f, "ingress/tls"), at("web/app.yaml", 11));
    let good = ingress("app", CM, "app.a.io", TLS_APP);
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &good)]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // A TLS entry for another host only.
    let other = ingress(
        "app",
        CM,
        "app.a.io",
        &TLS_APP.replace("app.a.io", "b.a.io"),
    );
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &other)]);
    assert_eq!(hits(&f, "ingress/tls"), at("web/app.yaml", 11));
    // A wildcard covers it.
    let wild = ingress(
        "app",
        CM,
        "app.a.io",
        &TLS_APP.replace("app.a.io", "\"*.a.io\""),
    );
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &wild)]);
    assert!(hits(&f, "ingress/tls").is_empty());
    // No TLS and no cert-manager, no domain configured: a plain HTTP Ingress is fine.
    let plain = ingress("app", "a: b", "app.a.io", "");
    assert!(hits(&run(&[("web/app.yaml", &plain)]), "ingress/tls").is_empty());
    // With the domain configured, a host under it wants TLS.
    let f = run_with(&[("web/app.yaml", &plain)], Some("a.io"));
    assert_eq!(hits(&f, "ingress/tls"), at("web/app.yaml", 11));
}

#[test]
fn ingress_tls_secret() {
    let bad = ingress("app", "a: b", "app.a.io", TLS_APP);
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &bad)]);
    assert_eq!(hits(&f, "ingress/tls-secret"), at("web/app.yaml", 24));
    let cert = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: app\n  namespace: web\nspec:\n  secretName: app-tls\n  dnsNames: [app.a.io]\n  issuerRef:\n    kind: ClusterIssuer\n    name: letsencrypt\n";
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/app.yaml", &bad),
        ("web/cert.yaml", cert),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // A tree without cert-manager: the secret may be made by hand.
    assert!(hits(&run(&[("web/app.yaml", &bad)]), "ingress/tls-secret").is_empty());
}

#[test]
fn ingress_certificate_conflict() {
    let both = ingress("app", CM, "app.a.io", TLS_APP);
    let cert = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: app\n  namespace: web\nspec:\n  secretName: app-tls\n  dnsNames: [app.a.io]\n  issuerRef:\n    kind: ClusterIssuer\n    name: letsencrypt\n";
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/app.yaml", &both),
        ("web/cert.yaml", cert),
    ]);
    assert_eq!(
        hits(&f, "ingress/certificate-conflict"),
        at("web/app.yaml", 24)
    );
    // Two annotated Ingresses writing one secret.
    let second = ingress(
        "app2",
        CM,
        "app2.a.io",
        &TLS_APP.replace("app.a.io", "app2.a.io"),
    );
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/app.yaml", &both),
        ("web/app2.yaml", &second),
    ]);
    assert_eq!(
        hits(&f, "ingress/certificate-conflict"),
        at("web/app2.yaml", 24)
    );
    let fixed = second.replace("app-tls", "app2-tls");
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/app.yaml", &both),
        ("web/app2.yaml", &fixed),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
}

#[test]
fn ingress_host_domain() {
    let bad = ingress(
        "app",
        CM,
        "app.b.io",
        &TLS_APP.replace("app.a.io", "app.b.io"),
    );
    let f = run_with(
        &[("issuers.yaml", ISSUERS), ("web/app.yaml", &bad)],
        Some("a.io"),
    );
    assert_eq!(hits(&f, "ingress/host-domain"), at("web/app.yaml", 11));
    let good = ingress("app", CM, "app.a.io", TLS_APP);
    let f = run_with(
        &[("issuers.yaml", ISSUERS), ("web/app.yaml", &good)],
        Some("a.io"),
    );
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // Not configured: not checked.
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &bad)]);
    assert!(hits(&f, "ingress/host-domain").is_empty());
}

#[test]
fn ingress_duplicate_host() {
    let a = ingress("app", CM, "app.a.io", TLS_APP);
    let b = ingress(
        "other",
        CM,
        "app.a.io",
        &TLS_APP.replace("app-tls", "other-tls"),
    );
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/a.yaml", &a),
        ("web/b.yaml", &b),
    ]);
    assert_eq!(hits(&f, "ingress/duplicate-host"), at("web/b.yaml", 11));
    // Another path on the same host is fine.
    let b2 = b.replace("      - path: /\n", "      - path: /api\n");
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/a.yaml", &a),
        ("web/b.yaml", &b2),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
}

#[test]
fn ingress_issuer() {
    let bad = ingress(
        "app",
        "cert-manager.io/cluster-issuer: letsencrypt-prod",
        "app.a.io",
        TLS_APP,
    );
    let f = run(&[("issuers.yaml", ISSUERS), ("web/app.yaml", &bad)]);
    // A ClusterIssuer is certs/unknown-cluster-issuer's, once.
    assert!(hits(&f, "ingress/issuer").is_empty());
    assert_eq!(
        hits(&f, "certs/unknown-cluster-issuer"),
        at("web/app.yaml", 7)
    );
    // A namespaced Issuer missing from the Ingress's namespace is ingress/issuer's.
    let issuer = "apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata:\n  name: local\n  namespace: other\nspec:\n  selfSigned: {}\n";
    let bad = ingress("app", "cert-manager.io/issuer: local", "app.a.io", TLS_APP);
    let f = run(&[("issuer.yaml", issuer), ("web/app.yaml", &bad)]);
    assert_eq!(hits(&f, "ingress/issuer"), at("web/app.yaml", 7));
    // No issuer in the tree at all: they are managed elsewhere.
    assert!(hits(&run(&[("web/app.yaml", &bad)]), "ingress/issuer").is_empty());
}

/// An ingress in HelmRelease values (Authentik's `server.ingress`) is checked like an object.
#[test]
fn ingress_in_helm_values() {
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: authentik
  namespace: auth
spec:
  values:
    server:
      ingress:
        enabled: true
        annotations:
          cert-manager.io/cluster-issuer: letsencrypt
        hosts:
        - auth.a.io
        tls:
        - secretName: authentik-tls
          hosts:
          - login.a.io
";
    let f = run(&[("issuers.yaml", ISSUERS), ("auth/hr.yaml", hr)]);
    assert_eq!(hits(&f, "ingress/tls"), at("auth/hr.yaml", 14));
    assert!(f[0].message.contains("values.server.ingress"), "{f:#?}");
    let off = hr.replace("enabled: true", "enabled: false");
    assert!(run(&[("issuers.yaml", ISSUERS), ("auth/hr.yaml", &off)]).is_empty());
}

// ---------------------------------------------------------------- entry-points/*

const TRAEFIK: &str = "apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    ports:
      web:
        asDefault: true
      websecure:
        asDefault: true
      postgresql:
        port: 5432
        expose:
          default: true
        protocol: TCP
";

fn tcp_route(entry_point: &str) -> String {
    format!(
        "apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: pg
  namespace: db
spec:
  entryPoints:
  - {entry_point}
  routes:
  - match: HostSNI(`*`)
    services:
    - name: pg-rw
      port: 5432
"
    )
}

#[test]
fn entry_points_unknown() {
    let f = run(&[
        ("traefik.yaml", TRAEFIK),
        ("db/route.yaml", &tcp_route("postgres")),
    ]);
    assert_eq!(hits(&f, "entry-points/unknown"), at("db/route.yaml", 8));
    let f = run(&[
        ("traefik.yaml", TRAEFIK),
        ("db/route.yaml", &tcp_route("postgresql")),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // A folded valuesContent is read too (positions then point at the scalar).
    let quoted = "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: \"ports: {postgresql: {port: 5432}}\"\n";
    let f = run(&[
        ("traefik.yaml", quoted),
        ("db/route.yaml", &tcp_route("postgresql")),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
}

#[test]
fn entry_points_unverified() {
    let f = run(&[("db/route.yaml", &tcp_route("postgresql"))]);
    assert_eq!(hits(&f, "entry-points/unverified"), at("db/route.yaml", 8));
    assert_eq!(f[0].severity, Severity::Warning);
    let tls = tcp_route("websecure").replace("HostSNI(`*`)", "HostSNI(`db.a.io`)");
    assert!(run(&[("db/route.yaml", &tls)]).iter().all(|f| !ours(f)));
}

#[test]
fn entry_points_http_conflict() {
    // No asDefault: every entry point is a default one, and an Ingress without entry points
    // lands on the database port.
    let no_default = TRAEFIK.replace("        asDefault: true\n", "        port: 8000\n");
    let http = ingress("app", "a: b", "app.a.io", "");
    let f = run(&[
        ("traefik.yaml", &no_default),
        ("db/route.yaml", &tcp_route("postgresql")),
        ("web/app.yaml", &http),
    ]);
    assert_eq!(
        hits(&f, "entry-points/http-conflict"),
        at("db/route.yaml", 8)
    );
    // Fixed: web and websecure are the defaults.
    let f = run(&[
        ("traefik.yaml", TRAEFIK),
        ("db/route.yaml", &tcp_route("postgresql")),
        ("web/app.yaml", &http),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // An Ingress naming the TCP entry point explicitly.
    let explicit = ingress(
        "app",
        "traefik.ingress.kubernetes.io/router.entrypoints: websecure,postgresql",
        "app.a.io",
        "",
    );
    let f = run(&[
        ("traefik.yaml", TRAEFIK),
        ("db/route.yaml", &tcp_route("postgresql")),
        ("web/app.yaml", &explicit),
    ]);
    assert_eq!(
        hits(&f, "entry-points/http-conflict"),
        at("db/route.yaml", 8)
    );
    // A TCP entry point marked asDefault.
    let tcp_default = TRAEFIK.replace(
        "        protocol: TCP\n",
        "        protocol: TCP\n        asDefault: true\n",
    );
    let f = run(&[
        ("traefik.yaml", &tcp_default),
        ("db/route.yaml", &tcp_route("postgresql")),
    ]);
    assert_eq!(
        hits(&f, "entry-points/http-conflict"),
        at("db/route.yaml", 8)
    );
}

// ---------------------------------------------------------------- prune/*

const FLUX_DB: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: db
  namespace: flux-system
spec:
  interval: 10m
  path: ./db
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

const NS_DB: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n";

fn cluster(labels: &str) -> String {
    format!(
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\n{labels}spec:\n  instances: 1\n  storage:\n    size: 10Gi\n"
    )
}

const DISABLED: &str = "  labels:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n";

#[test]
fn prune_namespace_and_data_object() {
    let f = run(&[
        ("clusters/db.yaml", FLUX_DB),
        ("db/namespace.yaml", NS_DB),
        ("db/cluster.yaml", &cluster("")),
    ]);
    assert_eq!(hits(&f, "prune/namespace"), at("db/namespace.yaml", 4));
    assert_eq!(hits(&f, "prune/data-object"), at("db/cluster.yaml", 4));
    let ns_ok = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n";
    let f = run(&[
        ("clusters/db.yaml", FLUX_DB),
        ("db/namespace.yaml", ns_ok),
        ("db/cluster.yaml", &cluster(DISABLED)),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // Without pruning nothing is deleted.
    let no_prune = FLUX_DB.replace("prune: true", "prune: false");
    let f = run(&[
        ("clusters/db.yaml", &no_prune),
        ("db/namespace.yaml", NS_DB),
        ("db/cluster.yaml", &cluster("")),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // A namespace without data is not judged.
    let f = run(&[("clusters/db.yaml", FLUX_DB), ("db/namespace.yaml", NS_DB)]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
}

// ---------------------------------------------------------------- whole trees

#[test]
fn reference_tree_is_clean_with_its_domain() {
    let tree = Tree::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops")).unwrap();
    let config = Config {
        domain: Some("almckay.io".into()),
        ..Config::default()
    };
    let f = lint(&tree, &config);
    assert!(f.is_empty(), "{f:#?}");
}

/// The reference tree with the mistakes the rules exist for: the M1 bug (no `asDefault`, the
/// Authentik Ingress without entry points), an unprotected namespace, a size in GB.
#[test]
fn reference_tree_with_mistakes() {
    let mut tree =
        Tree::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops")).unwrap();
    let mut edit = |path: &str, from: &str, to: &str| {
        let f = tree.files.iter_mut().find(|f| f.path == path).unwrap();
        let text = String::from_utf8(f.bytes.clone()).unwrap();
        assert!(text.contains(from), "{path}: {from}");
        f.bytes = text.replace(from, to).into_bytes();
    };
    edit(
        "infrastructure/traefik/helmchartconfig.yaml",
        "        asDefault: true\n",
        "",
    );
    edit(
        "apps/authentik/helmrelease.yaml",
        "          traefik.ingress.kubernetes.io/router.entrypoints: websecure\n",
        "",
    );
    edit(
        "databases/redis/namespace.yaml",
        "    kustomize.toolkit.fluxcd.io/prune: disabled\n",
        "",
    );
    edit(
        "databases/postgresql/cluster.yaml",
        "size: 20Gi",
        "size: 20GB",
    );
    let f = lint(&tree, &Config::default());
    let got: Vec<(&str, &str, usize)> = f
        .iter()
        .map(|f| (f.rule, f.file.as_str(), f.span.map_or(0, |s| s.line)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("persistence/size", "databases/postgresql/cluster.yaml", 15),
            (
                "entry-points/http-conflict",
                "databases/postgresql/ingressroutetcp.yaml",
                8
            ),
            (
                "entry-points/http-conflict",
                "databases/redis/ingressroutetcp.yaml",
                8
            ),
            ("prune/namespace", "databases/redis/namespace.yaml", 4),
        ],
        "{f:#?}"
    );
}

/// Two clusters of one repository may serve the same host; one cluster may not.
#[test]
fn duplicate_hosts_only_within_one_cluster() {
    let ks = |name: &str, path: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: false\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        )
    };
    let a = ingress("app", "a: b", "app.a.io", "");
    let b = ingress("app2", "a: b", "app.a.io", "");
    let (ka, kb) = (ks("apps", "./apps-a"), ks("apps", "./apps-b"));
    let f = run(&[
        ("clusters/a/apps.yaml", &ka),
        ("clusters/b/apps.yaml", &kb),
        ("apps-a/app.yaml", &a),
        ("apps-b/app.yaml", &b),
    ]);
    assert!(hits(&f, "ingress/duplicate-host").is_empty(), "{f:#?}");
    let kb = ks("apps-b", "./apps-b");
    let f = run(&[
        ("clusters/a/apps.yaml", &ka),
        ("clusters/a/apps-b.yaml", &kb),
        ("apps-a/app.yaml", &a),
        ("apps-b/app.yaml", &b),
    ]);
    assert_eq!(
        hits(&f, "ingress/duplicate-host"),
        at("apps-b/app.yaml", 11)
    );
}

/// A kustomize patch is partial: what it lacks is in its base, and its hosts are the base's.
#[test]
fn patches_are_partial() {
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml\n- pvc.yaml\npatches:\n- path: patch.yaml\n";
    let base = ingress("app", CM, "app.a.io", TLS_APP);
    let patch = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app\n  namespace: web\n  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\nspec:\n  rules:\n  - host: app.a.io\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: web\nspec:\n  storageClassName: fast\n";
    let pvc = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: web\nspec:\n  resources:\n    requests:\n      storage: 1Gi\n";
    let f = run(&[
        ("issuers.yaml", ISSUERS),
        ("web/kustomization.yaml", kustomization),
        ("web/app.yaml", &base),
        ("web/pvc.yaml", pvc),
        ("web/patch.yaml", patch),
    ]);
    assert!(f.iter().all(|f| !ours(f)), "{f:#?}");
    // A patch is not judged on its own at all (the index leaves patch files out): a value
    // in it is only seen by whatever applies the built result.
    let bad = format!("{patch}  resources:\n    requests:\n      storage: 5GB\n");
    let f = run(&[
        ("web/kustomization.yaml", kustomization),
        ("web/pvc.yaml", pvc),
        ("web/patch.yaml", &bad),
    ]);
    assert!(hits(&f, "persistence/size").is_empty(), "{f:#?}");
}

/// Odd shapes (lists where mappings are expected, strings where lists are) never panic and
/// never report a service rule for what the rule cannot read.
#[test]
fn odd_shapes_do_not_crash() {
    let files = [
        (
            "a.yaml",
            "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: |\n    ports: [web, websecure]\n    additionalArguments: --entrypoints.x\n",
        ),
        (
            "b.yaml",
            "apiVersion: traefik.io/v1alpha1\nkind: IngressRouteTCP\nmetadata:\n  name: r\nspec:\n  entryPoints: web\n  routes: {match: x}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  annotations: [a]\nspec:\n  rules: {host: x}\n  tls: [1, {hosts: a}]\n",
        ),
        (
            "c.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: h\nspec:\n  chartRef: [x]\n  values:\n    ingress:\n      enabled: true\n      hosts: {a: b}\n      tls: [[x]]\n    persistence: [1]\n    dataStorage:\n      requestedSize: [1]\n---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: c\nspec:\n  storage: 10Gi\n  tablespaces: {a: b}\n",
        ),
        (
            "d.yaml",
            "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: |\n    ports: {a: [\n",
        ),
    ];
    let f = run(&files);
    let ours: Vec<_> = f.iter().filter(|f| ours(f)).collect();
    // What can be read and is wrong: the dataStorage size that is a list.
    assert!(
        ours.iter().all(|f| f.rule == "persistence/size"),
        "{ours:#?}"
    );
}
