//! `refs/*` and `flux/*` (first sync): for each rule a tree that triggers it (rule id, file
//! and line asserted) and the fixed tree that does not. The trees are small variations of one
//! good tree in the shape psd renders.

use psd_lint::{Config, Finding, Tree, lint};

mod support;
use support::{REFS_FAMILIES, in_families, line_of};

const KS: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra
  namespace: flux-system
spec:
  interval: 10m
  path: ./infra
  prune: true
  wait: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: issuers
  namespace: flux-system
spec:
  interval: 10m
  dependsOn:
  - name: infra
  path: ./issuers
  prune: true
  wait: true
  healthCheckExprs:
  - apiVersion: cert-manager.io/v1
    kind: ClusterIssuer
    current: has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')
  sourceRef:
    kind: GitRepository
    name: flux-system
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  dependsOn:
  - name: issuers
  path: ./apps
  prune: true
  wait: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

const INFRA: &str = "\
apiVersion: v1
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
  interval: 12h
  url: oci://quay.io/jetstack/charts/cert-manager
  ref:
    tag: v1.21.1
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 30m
  chartRef:
    kind: OCIRepository
    name: cert-manager
  values:
    crds:
      enabled: true
---
apiVersion: v1
kind: Secret
metadata:
  name: cloudflare-api-token
  namespace: cert-manager
stringData:
  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
";

const ISSUER: &str = "\
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt-prod
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef:
      name: letsencrypt-prod-account-key
    solvers:
    - dns01:
        cloudflare:
          apiTokenSecretRef:
            name: cloudflare-api-token
            key: api-token
";

const APP: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: v1
kind: Secret
metadata:
  name: app-credentials
  namespace: app
stringData:
  password: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
  redis-password: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
spec:
  template:
    spec:
      containers:
      - name: web
        image: example/web:1
        env:
        - name: PASSWORD
          valueFrom:
            secretKeyRef:
              name: app-credentials
              key: password
        - name: TLS
          valueFrom:
            secretKeyRef:
              name: web-tls
              key: tls.crt
        - name: OPTIONAL
          valueFrom:
            secretKeyRef:
              name: not-here
              key: x
              optional: true
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: web
  namespace: app
spec:
  secretName: web-tls
  dnsNames:
  - web.example.org
  issuerRef:
    kind: ClusterIssuer
    name: letsencrypt-prod
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: valkey
  namespace: app
spec:
  interval: 12h
  url: oci://ghcr.io/valkey-io/valkey-helm/valkey
  ref:
    tag: 0.11.0
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: valkey
  namespace: app
spec:
  interval: 30m
  chartRef:
    kind: OCIRepository
    name: valkey
  values:
    auth:
      enabled: true
      usersExistingSecret: app-credentials
      aclUsers:
        default:
          permissions: ~* &* +@all
          passwordKey: redis-password
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: valkey
  namespace: app
spec:
  entryPoints:
  - redis
  routes:
  - match: HostSNI(`*`)
    services:
    - name: valkey
      port: 6379
";

/// The good tree, with `edit` applied to (path, text) pairs and `extra` files added.
fn tree(edit: impl Fn(&str, String) -> String, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = [
        ("clusters/k3s/ks.yaml", KS),
        ("infra/cert-manager.yaml", INFRA),
        ("issuers/issuer.yaml", ISSUER),
        ("apps/app.yaml", APP),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), edit(p, t.to_string())))
    .collect();
    files.extend(extra.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    files
}

/// The findings of this family's rules (the other families have their own tests).
fn run(files: &[(String, String)]) -> Vec<Finding> {
    lint(&support::tree(files), &Config::default())
        .into_iter()
        .filter(|f| in_families(f, REFS_FAMILIES))
        .collect()
}

fn good() -> Vec<(String, String)> {
    tree(|_, t| t, &[])
}

/// Replaces `from` by `to` in file `path` (which must contain it).
fn sub(
    path: &'static str,
    from: &'static str,
    to: &'static str,
) -> impl Fn(&str, String) -> String {
    move |p, t| {
        if p == path {
            assert!(t.contains(from), "{path} lacks {from:?}");
            t.replacen(from, to, 1)
        } else {
            t
        }
    }
}

/// Asserts that `rule` fired in `path` at the line of `needle` (its `nth` occurrence).
fn assert_at(files: &[(String, String)], rule: &str, path: &str, needle: &str, nth: usize) {
    let findings = run(files);
    let text = &files.iter().find(|(p, _)| p == path).unwrap().1;
    let line = line_of(text, needle, nth);
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.file == path && f.span.map(|s| s.line) == Some(line)),
        "{rule} not at {path}:{line}; got {findings:#?}"
    );
}

#[test]
fn the_good_tree_is_clean() {
    let findings = run(&good());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn refs_missing_object() {
    let bad = tree(
        sub(
            "issuers/issuer.yaml",
            "name: cloudflare-api-token",
            "name: cloudflare-token",
        ),
        &[],
    );
    assert_at(
        &bad,
        "refs/missing-object",
        "issuers/issuer.yaml",
        "name: cloudflare-token",
        0,
    );
    // A workload's Secret in a namespace where a chart is installed may come from the chart.
    let chart_may_make_it = tree(
        sub(
            "apps/app.yaml",
            "name: app-credentials\n              key: password",
            "name: app-credentialz\n              key: password",
        ),
        &[],
    );
    assert!(run(&chart_may_make_it).is_empty());
    // A chartRef to a source that is not there.
    let bad = tree(
        sub(
            "apps/app.yaml",
            "    kind: OCIRepository\n    name: valkey",
            "    kind: OCIRepository\n    name: valkey-chart",
        ),
        &[],
    );
    assert_at(
        &bad,
        "refs/missing-object",
        "apps/app.yaml",
        "name: valkey-chart",
        0,
    );
    // A route to a Service nobody makes (no chart in that namespace).
    let bad = tree(
        |p, t| {
            let t = sub(
                "apps/app.yaml",
                "    - name: valkey\n      port",
                "    - name: valkee\n      port",
            )(p, t);
            sub(
                "apps/app.yaml",
                "  namespace: app\nspec:\n  entryPoints",
                "  namespace: other\nspec:\n  entryPoints",
            )(p, t)
        },
        &[],
    );
    assert_at(
        &bad,
        "refs/missing-object",
        "apps/app.yaml",
        "name: valkee",
        0,
    );
}

#[test]
fn refs_missing_key() {
    let bad = tree(
        sub("issuers/issuer.yaml", "key: api-token", "key: token"),
        &[],
    );
    assert_at(
        &bad,
        "refs/missing-key",
        "issuers/issuer.yaml",
        "key: token",
        0,
    );
    let bad = tree(
        sub(
            "apps/app.yaml",
            "passwordKey: redis-password",
            "passwordKey: valkey-password",
        ),
        &[],
    );
    assert_at(
        &bad,
        "refs/missing-key",
        "apps/app.yaml",
        "passwordKey: valkey-password",
        0,
    );
}

#[test]
fn refs_wrong_namespace() {
    // The ClusterIssuer's token must be in cert-manager's namespace.
    let bad = tree(
        sub(
            "infra/cert-manager.yaml",
            "  name: cloudflare-api-token\n  namespace: cert-manager",
            "  name: cloudflare-api-token\n  namespace: default",
        ),
        &[],
    );
    assert_at(
        &bad,
        "refs/wrong-namespace",
        "issuers/issuer.yaml",
        "name: cloudflare-api-token",
        0,
    );
    // Unless cert-manager is configured to look there.
    let fixed = tree(
        |p, t| {
            let t = sub(
                "infra/cert-manager.yaml",
                "  name: cloudflare-api-token\n  namespace: cert-manager",
                "  name: cloudflare-api-token\n  namespace: default",
            )(p, t);
            sub(
                "infra/cert-manager.yaml",
                "  values:\n",
                "  values:\n    clusterResourceNamespace: default\n",
            )(p, t)
        },
        &[],
    );
    let f = run(&fixed);
    assert!(!f.iter().any(|f| f.rule.starts_with("refs/")), "{f:#?}");
}

#[test]
fn objects_made_outside_the_tree_are_not_missing() {
    let cnpg = "\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: pg
  namespace: app
spec:
  instances: 1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reader
  namespace: app
spec:
  template:
    spec:
      containers:
      - name: r
        image: x:1
        envFrom:
        - secretRef:
            name: pg-app
        - secretRef:
            name: ${CLUSTER_SECRET}
      volumes:
      - name: ca
        secret:
          secretName: pg-ca
";
    let f = run(&tree(|_, t| t, &[("apps/pg.yaml", cnpg)]));
    assert!(!f.iter().any(|f| f.rule.starts_with("refs/")), "{f:#?}");
}

#[test]
fn flux_depends_on_missing() {
    let bad = tree(
        sub("clusters/k3s/ks.yaml", "- name: issuers", "- name: issuerz"),
        &[],
    );
    assert_at(
        &bad,
        "flux/depends-on-missing",
        "clusters/k3s/ks.yaml",
        "- name: issuerz",
        0,
    );
}

#[test]
fn flux_depends_on_cycle() {
    let bad = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  interval: 10m\n  path: ./infra",
            "  interval: 10m\n  dependsOn:\n  - name: apps\n  path: ./infra",
        ),
        &[],
    );
    let f = run(&bad);
    let cycles: Vec<_> = f
        .iter()
        .filter(|f| f.rule == "flux/depends-on-cycle")
        .collect();
    assert_eq!(cycles.len(), 1, "{f:#?}");
    let text = &bad[0].1;
    assert_eq!(
        cycles[0].span.unwrap().line,
        line_of(text, "- name: apps", 0)
    );
    assert!(
        cycles[0].message.contains("infra → apps → issuers → infra"),
        "{}",
        cycles[0].message
    );
}

/// A Kustomization for `./extra` that nothing orders.
const EXTRA_KS: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: extra
  namespace: flux-system
spec:
  interval: 10m
  path: ./extra
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

const WIDGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
";

const WIDGET: &str = "\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: cert-manager
";

#[test]
fn flux_crd_not_ready() {
    // The CRD comes from a Kustomization nothing orders: the Widget's fails until a retry.
    let bad = tree(
        |_, t| t,
        &[
            ("clusters/k3s/extra.yaml", EXTRA_KS),
            ("extra/crd.yaml", WIDGET_CRD),
            ("infra/widget.yaml", WIDGET),
        ],
    );
    assert_at(
        &bad,
        "flux/crd-not-ready",
        "infra/widget.yaml",
        "kind: Widget",
        0,
    );
    // The CRD comes with the apps, which wait for infra to be Ready: never.
    let bad = tree(
        |_, t| t,
        &[("apps/crd.yaml", WIDGET_CRD), ("infra/widget.yaml", WIDGET)],
    );
    assert_at(
        &bad,
        "flux/deadlock",
        "infra/widget.yaml",
        "kind: Widget",
        0,
    );
    let fixed = tree(
        |_, t| t,
        &[("infra/crd.yaml", WIDGET_CRD), ("apps/widget.yaml", WIDGET)],
    );
    let f = run(&fixed);
    assert!(!f.iter().any(|f| f.rule.starts_with("flux/")), "{f:#?}");
    // A kind whose CRD is nowhere in the tree is unknown, not wrong.
    let unknown = tree(|_, t| t, &[("infra/widget.yaml", WIDGET)]);
    assert!(run(&unknown).is_empty());
}

#[test]
fn flux_chart_crd_not_ready() {
    // No dependsOn: the ClusterIssuer may come before cert-manager's CRDs.
    let bad = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  dependsOn:\n  - name: infra\n",
            "",
        ),
        &[],
    );
    assert_at(
        &bad,
        "flux/chart-crd-not-ready",
        "issuers/issuer.yaml",
        "kind: ClusterIssuer",
        0,
    );
    // Ordered, but infra does not wait for its HelmRelease.
    let bad = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  prune: true\n  wait: true\n  sourceRef",
            "  prune: true\n  sourceRef",
        ),
        &[],
    );
    let f = run(&bad);
    let hit = f
        .iter()
        .find(|f| f.rule == "flux/chart-crd-not-ready")
        .expect("reported");
    assert!(hit.message.contains("does not wait"), "{}", hit.message);
    // In the same Kustomization as the chart.
    // With the chart only in the apps, which run after the issuers are Ready: never.
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 30m\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  values:\n    crds:\n      enabled: true\n";
    let cert = "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: web\n  namespace: app\nspec:\n  secretName: web-tls\n  dnsNames:\n  - web.example.org\n  issuerRef:\n    kind: ClusterIssuer\n    name: letsencrypt-prod\n";
    let bad = tree(
        |p, t| {
            let t = sub("infra/cert-manager.yaml", hr, "")(p, t);
            sub("apps/app.yaml", cert, "")(p, t)
        },
        &[("apps/chart.yaml", hr)],
    );
    let f = run(&bad);
    let hit = f
        .iter()
        .find(|f| f.rule == "flux/chart-crd-never-ready")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(hit.file, "issuers/issuer.yaml");
    assert!(hit.message.contains("runs only after"), "{}", hit.message);
    let bad = tree(|_, t| t, &[("infra/issuer.yaml", ISSUER)]);
    assert_at(
        &bad,
        "flux/chart-crd-never-ready",
        "infra/issuer.yaml",
        "kind: ClusterIssuer",
        0,
    );
}

#[test]
fn flux_namespace_not_ordered() {
    // The `app` Namespace moves to a Kustomization that runs after the apps.
    let late_ks = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: late
  namespace: flux-system
spec:
  interval: 10m
  dependsOn:
  - name: apps
  path: ./late
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n";
    let bad = tree(
        sub(
            "apps/app.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n---\n",
            "",
        ),
        &[("clusters/k3s/late.yaml", late_ks), ("late/ns.yaml", ns)],
    );
    assert_at(&bad, "flux/deadlock", "apps/app.yaml", "namespace: app", 0);
    // From a Kustomization nothing orders: the apps fail until a retry.
    let bad = tree(
        sub(
            "apps/app.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n---\n",
            "",
        ),
        &[("clusters/k3s/extra.yaml", EXTRA_KS), ("extra/ns.yaml", ns)],
    );
    assert_at(
        &bad,
        "flux/namespace-not-ordered",
        "apps/app.yaml",
        "namespace: app",
        0,
    );
    // (Without a dependant on the apps: their Certificate would need healthCheckExprs.)
    let unordered = late_ks.replace("  dependsOn:\n  - name: apps\n", "");
    let fixed = tree(|_, t| t, &[("clusters/k3s/late.yaml", &unordered)]);
    let f = run(&fixed);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn flux_not_ordered() {
    // The token Secret is applied with the issuers' dependants, after the issuers.
    let secret = "\
apiVersion: v1
kind: Secret
metadata:
  name: cloudflare-api-token
  namespace: cert-manager
stringData:
  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
";
    let bad = tree(
        sub(
            "infra/cert-manager.yaml",
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token\n  namespace: cert-manager\nstringData:\n  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\n",
            "",
        ),
        &[("apps/token.yaml", secret)],
    );
    // The issuers wait for the ClusterIssuer, which waits for the token: never.
    assert_at(
        &bad,
        "flux/deadlock",
        "issuers/issuer.yaml",
        "name: cloudflare-api-token",
        0,
    );
    let unordered = tree(
        sub(
            "infra/cert-manager.yaml",
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token\n  namespace: cert-manager\nstringData:\n  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\n",
            "",
        ),
        &[
            ("clusters/k3s/extra.yaml", EXTRA_KS),
            ("extra/token.yaml", secret),
        ],
    );
    assert_at(
        &unordered,
        "flux/not-ordered",
        "issuers/issuer.yaml",
        "name: cloudflare-api-token",
        0,
    );
    // A Kustomization's decryption Secret outside flux-system must come from an earlier one.
    let bad = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  name: apps\n  namespace: flux-system",
            "  name: apps\n  namespace: app",
        ),
        &[],
    );
    let bad: Vec<(String, String)> = bad
        .into_iter()
        .map(|(p, t)| {
            if p == "clusters/k3s/ks.yaml" {
                let t = t.replacen(
                    "  path: ./apps\n",
                    "  path: ./apps\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-app\n",
                    1,
                );
                let t = t.replacen("  - name: issuers\n", "  - name: issuers\n    namespace: flux-system\n", 1);
                (p, t.replacen("    name: flux-system\n", "    name: flux-system\n    namespace: flux-system\n", 3))
            } else {
                (p, t)
            }
        })
        .collect();
    let sops = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-app\n  namespace: app\ndata:\n  age.agekey: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\n";
    let with_key_in_apps = {
        let mut b = bad.clone();
        b.push(("apps/sops.yaml".into(), sops.into()));
        b
    };
    // Its own key, which it would need before it can apply it.
    assert_at(
        &with_key_in_apps,
        "flux/deadlock",
        "clusters/k3s/ks.yaml",
        "name: sops-app",
        0,
    );
    let mut fixed = bad.clone();
    fixed.push(("infra/sops.yaml".into(), sops.into()));
    let f = run(&fixed);
    assert!(
        !f.iter()
            .any(|f| f.rule == "flux/not-ordered" || f.rule.starts_with("refs/")),
        "{f:#?}"
    );
    // Without the Secret anywhere it is missing.
    assert_at(
        &bad,
        "refs/missing-object",
        "clusters/k3s/ks.yaml",
        "name: sops-app",
        0,
    );
}

#[test]
fn flux_health_check_expr() {
    let bad = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  healthCheckExprs:\n  - apiVersion: cert-manager.io/v1\n    kind: ClusterIssuer\n    current: has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')\n",
            "",
        ),
        &[],
    );
    assert_at(
        &bad,
        "flux/health-check-expr",
        "clusters/k3s/ks.yaml",
        "  wait: true",
        1,
    );
    // The apps' Certificate is waited on too, but nothing depends on the apps.
    let f = run(&bad);
    assert_eq!(
        f.iter()
            .filter(|f| f.rule == "flux/health-check-expr")
            .count(),
        1,
        "{f:#?}"
    );
}

/// The reference tree psd renders, with one file edited: the rules catch the ways render's
/// own property checks break it.
#[test]
fn broken_reference_trees_are_caught() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops");
    let base = Tree::from_dir(&dir).unwrap();
    let edited = |path: &str, from: &str, to: &str| {
        let mut t = base.clone();
        let f = t.files.iter_mut().find(|f| f.path == path).unwrap();
        let text = f.text().unwrap().to_owned();
        assert!(text.contains(from), "{path} lacks {from:?}");
        f.bytes = text.replacen(from, to, 1).into_bytes();
        let rules: Vec<&str> = lint(&t, &Config::default())
            .iter()
            .map(|f| f.rule)
            .collect();
        rules
    };
    // A route to a Service nobody creates (not the CNPG `-rw` one).
    let r = edited(
        "databases/postgresql/ingressroutetcp.yaml",
        "name: postgresql-rw",
        "name: postgres",
    );
    assert_eq!(r, ["refs/missing-object"]);
    // Databases not waiting for the operator.
    let r = edited(
        "clusters/k3s/databases.yaml",
        "  dependsOn:\n  - name: infra-cloudnative-pg\n",
        "",
    );
    assert!(r.contains(&"flux/chart-crd-not-ready"), "{r:?}");
    // The operator's Kustomization not waiting.
    let r = edited(
        "clusters/k3s/infrastructure.yaml",
        "  path: ./gitops/infrastructure/cloudnative-pg\n  prune: true\n  wait: true\n",
        "  path: ./gitops/infrastructure/cloudnative-pg\n  prune: true\n",
    );
    assert!(r.contains(&"flux/chart-crd-not-ready"), "{r:?}");
    // A missing health check expression.
    let r = edited(
        "clusters/k3s/databases.yaml",
        "  - apiVersion: postgresql.cnpg.io/v1\n    kind: Database\n    current: has(status.applied) && status.applied\n",
        "",
    );
    assert_eq!(r, ["flux/health-check-expr"]);
    // A role Secret renamed; a key renamed; the issuers before cert-manager.
    let r = edited(
        "databases/postgresql/cluster.yaml",
        "name: postgresql-authentik-credentials",
        "name: postgresql-authentik",
    );
    assert_eq!(r, ["refs/missing-object"]);
    let r = edited(
        "databases/redis/helmrelease.yaml",
        "passwordKey: redis-password",
        "passwordKey: password",
    );
    assert_eq!(r, ["refs/missing-key"]);
    let r = edited(
        "clusters/k3s/infrastructure.yaml",
        "  dependsOn:\n  - name: infra-cert-manager\n",
        "",
    );
    assert!(
        r.contains(&"flux/chart-crd-not-ready") && r.contains(&"flux/not-ordered"),
        "{r:?}"
    );
}

#[test]
fn values_that_are_not_references_are_skipped() {
    let hr = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: other
  namespace: solo
spec:
  interval: 30m
  chartRef:
    kind: OCIRepository
    name: cert-manager
    namespace: cert-manager
  values:
    admin:
      existingSecret: true
      useExistingSecret: true
    postgresql:
      enabled: false
      auth:
        existingSecret: not-used
    extra:
      existingSecret: ${FROM_FLUX}
";
    let f = run(&tree(|_, t| t, &[("infra/other.yaml", hr)]));
    assert!(!f.iter().any(|f| f.rule.starts_with("refs/")), "{f:#?}");
    // Switched on, the Secret is missing: the only chart in `solo` is the one that reads it.
    let on = hr.replace("enabled: false", "enabled: true");
    let files = tree(|_, t| t, &[("infra/other.yaml", &on)]);
    assert_at(
        &files,
        "refs/missing-object",
        "infra/other.yaml",
        "existingSecret: not-used",
        0,
    );
}

#[test]
fn objects_outside_every_flux_path_may_be_applied_by_bootstrap() {
    // The issuers' token Secret only in a bootstrap folder no Kustomization applies.
    let secret = "\
apiVersion: v1
kind: Secret
metadata:
  name: cloudflare-api-token
  namespace: cert-manager
stringData:
  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
";
    let drop = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token\n  namespace: cert-manager\nstringData:\n  api-token: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\n";
    let files = tree(
        sub("infra/cert-manager.yaml", drop, ""),
        &[("bootstrap/secret.yaml", secret)],
    );
    let f = run(&files);
    assert!(f.is_empty(), "{f:#?}");
    // Below a Kustomization's path but left out of its folder's kustomization.yaml.
    let files = tree(
        sub("infra/cert-manager.yaml", drop, ""),
        &[
            ("infra/token/secret.yaml", secret),
            (
                "infra/token/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
            ),
        ],
    );
    assert_at(
        &files,
        "flux/not-ordered",
        "issuers/issuer.yaml",
        "name: cloudflare-api-token",
        0,
    );
}

#[test]
fn a_chart_crd_group_used_beside_its_chart_is_reported_once() {
    // One ClusterIssuer beside cert-manager's HelmRelease (works only with CRDs installed
    // before Flux), the other in an unordered Kustomization: only the first is reported.
    let files = tree(
        sub(
            "clusters/k3s/ks.yaml",
            "  dependsOn:\n  - name: infra\n",
            "",
        ),
        &[(
            "infra/issuer.yaml",
            &ISSUER.replace("letsencrypt-prod", "letsencrypt-other"),
        )],
    );
    let f = run(&files);
    let hits: Vec<_> = f
        .iter()
        .filter(|f| f.rule.starts_with("flux/chart-crd"))
        .collect();
    assert_eq!(hits.len(), 1, "{f:#?}");
    assert_eq!(hits[0].rule, "flux/chart-crd-never-ready");
    assert_eq!(hits[0].file, "infra/issuer.yaml");
}
