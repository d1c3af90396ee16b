//! Properties over random trees: a random valid tree (random apps, namespaces, domain, cluster
//! name, tree root) lints clean; one random mutation that breaks one rule makes exactly that
//! rule fire, at the file and line of the mutation, and no other rule.
//!
//! The trees follow the shape of a Flux repository (entry folder with Flux Kustomizations,
//! infrastructure with cert-manager and its issuers, one folder per app with its namespace,
//! chart source, HelmRelease, Secret and Ingress) and their Secrets are really encrypted with
//! psd-sops to the fixture recipient, so the sops rules see what sops writes.

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, FileFailurePersistence};
use psd_lint::{Config, Finding, Tree, lint};
use psd_sops::api::{EncryptOptions, encrypt_tree};
use psd_sops::{Format, SelectionRule, StoreOptions, store_for};

mod support;
use support::RECIPIENT;

/// One app of a generated tree.
#[derive(Clone, Debug)]
struct App {
    name: String,
    namespace: String,
    password_key: String,
}

/// A generated repository.
#[derive(Clone, Debug)]
struct Spec {
    root: String,
    cluster: String,
    domain: String,
    apps: Vec<App>,
}

fn encrypt(plain: &str) -> String {
    let store = store_for(Format::Yaml, StoreOptions::default());
    let tree = store.load_plain(plain.as_bytes()).unwrap();
    let mut opts = EncryptOptions::new(vec![RECIPIENT.parse().unwrap()]);
    opts.rule = Some(SelectionRule::EncryptedRegex(
        regex::Regex::new("^(data|stringData)$").unwrap(),
    ));
    String::from_utf8(encrypt_tree(&tree, Format::Yaml, &opts).unwrap()).unwrap()
}

fn flux_ks(root: &str, name: &str, path: &str, deps: &[&str], extra: &str) -> String {
    let mut s = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  timeout: 5m\n"
    );
    if !deps.is_empty() {
        s.push_str("  dependsOn:\n");
        for d in deps {
            s.push_str(&format!("  - name: {d}\n"));
        }
    }
    s.push_str(&format!(
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./{root}/{path}\n  prune: true\n  wait: true\n{extra}  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    ));
    s
}

fn kustomization(resources: &[&str]) -> String {
    let mut s =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n".to_owned();
    for r in resources {
        s.push_str(&format!("- {r}\n"));
    }
    s
}

fn namespace(name: &str, protect: bool) -> String {
    let labels = if protect {
        "  labels:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"
    } else {
        ""
    };
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n{labels}")
}

fn oci(name: &str, ns: &str, url: &str, tag: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 12h\n  url: {url}\n  ref:\n    tag: {tag}\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n"
    )
}

/// The files of a valid tree, paths relative to the repository root.
fn files_of(spec: &Spec) -> Vec<(String, String)> {
    let r = &spec.root;
    let c = &spec.cluster;
    let mut files: Vec<(String, String)> = Vec::new();
    let mut add = |p: String, t: String| files.push((p, t));
    add(
        ".sops.yaml".into(),
        format!(
            "creation_rules:\n- path_regex: \\.enc\\.yaml$\n  encrypted_regex: ^(data|stringData)$\n  age: {RECIPIENT}\n"
        ),
    );
    // Entry folder.
    let mut infra = flux_ks(r, "cert-manager", "infrastructure/cert-manager", &[], "");
    infra.push_str("---\n");
    infra.push_str(&flux_ks(
        r,
        "issuers",
        "infrastructure/issuers",
        &["cert-manager"],
        "  healthCheckExprs:\n  - apiVersion: cert-manager.io/v1\n    kind: ClusterIssuer\n    current: has(status.conditions) && status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')\n",
    ));
    add(format!("{r}/clusters/{c}/infrastructure.yaml"), infra);
    let apps: Vec<String> = spec
        .apps
        .iter()
        .map(|a| {
            flux_ks(
                r,
                &format!("app-{}", a.name),
                &format!("apps/{}", a.name),
                &["issuers"],
                "",
            )
        })
        .collect();
    let mut entry = vec!["infrastructure.yaml"];
    if !apps.is_empty() {
        add(format!("{r}/clusters/{c}/apps.yaml"), apps.join("---\n"));
        entry.push("apps.yaml");
    }
    add(
        format!("{r}/clusters/{c}/kustomization.yaml"),
        kustomization(&entry),
    );
    // cert-manager and its issuer.
    let cm = format!("{r}/infrastructure/cert-manager");
    add(
        format!("{cm}/namespace.yaml"),
        namespace("cert-manager", false),
    );
    add(
        format!("{cm}/ocirepository.yaml"),
        oci(
            "cert-manager",
            "cert-manager",
            "oci://quay.io/jetstack/charts/cert-manager",
            "v1.21.1",
        ),
    );
    add(
        format!("{cm}/helmrelease.yaml"),
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 30m\n  chartRef:\n    kind: OCIRepository\n    name: cert-manager\n  values:\n    crds:\n      enabled: true\n      keep: true\n".into(),
    );
    add(
        format!("{cm}/cloudflare-secret.enc.yaml"),
        encrypt(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token\n  namespace: cert-manager\ntype: Opaque\nstringData:\n  api-token: token-value\n",
        ),
    );
    add(
        format!("{cm}/kustomization.yaml"),
        kustomization(&[
            "namespace.yaml",
            "ocirepository.yaml",
            "helmrelease.yaml",
            "cloudflare-secret.enc.yaml",
        ]),
    );
    let is = format!("{r}/infrastructure/issuers");
    add(
        format!("{is}/issuer.yaml"),
        format!(
            "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n  acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n    email: admin@{d}\n    privateKeySecretRef:\n      name: letsencrypt-account-key\n    solvers:\n    - selector:\n        dnsZones:\n        - {d}\n      dns01:\n        cloudflare:\n          apiTokenSecretRef:\n            name: cloudflare-api-token\n            key: api-token\n",
            d = spec.domain
        ),
    );
    add(
        format!("{is}/kustomization.yaml"),
        kustomization(&["issuer.yaml"]),
    );
    // Apps.
    for a in &spec.apps {
        let dir = format!("{r}/apps/{}", a.name);
        let (n, ns) = (&a.name, &a.namespace);
        add(format!("{dir}/namespace.yaml"), namespace(ns, false));
        add(
            format!("{dir}/ocirepository.yaml"),
            oci(n, ns, &format!("oci://ghcr.io/example/charts/{n}"), "1.2.3"),
        );
        add(
            format!("{dir}/helmrelease.yaml"),
            format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {n}\n  namespace: {ns}\nspec:\n  interval: 30m\n  chartRef:\n    kind: OCIRepository\n    name: {n}\n  valuesFrom:\n  - kind: Secret\n    name: {n}-credentials\n    valuesKey: {k}\n    targetPath: auth.password\n  values:\n    replicaCount: 1\n",
                k = a.password_key
            ),
        );
        add(
            format!("{dir}/secret.enc.yaml"),
            encrypt(&format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {n}-credentials\n  namespace: {ns}\ntype: Opaque\nstringData:\n  {k}: secret-value-{n}\n",
                k = a.password_key
            )),
        );
        add(
            format!("{dir}/ingress.yaml"),
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {n}\n  namespace: {ns}\n  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\n    traefik.ingress.kubernetes.io/router.entrypoints: websecure\nspec:\n  ingressClassName: traefik\n  rules:\n  - host: {n}.{d}\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {n}\n            port:\n              number: 80\n  tls:\n  - hosts:\n    - {n}.{d}\n    secretName: {n}-tls\n",
                d = spec.domain
            ),
        );
        add(
            format!("{dir}/kustomization.yaml"),
            kustomization(&[
                "namespace.yaml",
                "ocirepository.yaml",
                "helmrelease.yaml",
                "secret.enc.yaml",
                "ingress.yaml",
            ]),
        );
    }
    files
}

fn lint_files(spec: &Spec, files: &[(String, String)]) -> Vec<Finding> {
    let tree = Tree::from_files(
        files
            .iter()
            .map(|(p, t)| (p.clone(), t.clone().into_bytes())),
    );
    let config = Config {
        domain: Some(spec.domain.clone()),
        ..Config::default()
    };
    lint(&tree, &config)
}

fn label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,10}[a-z0-9])?"
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    let app = (label(), label(), "[a-z][a-z0-9_.-]{0,15}").prop_map(|(name, ns, key)| App {
        name,
        namespace: format!("ns-{ns}"),
        password_key: key,
    });
    (
        prop::sample::select(vec!["gitops", "kubernetes", "k8s/flux"]),
        label(),
        (label(), prop::sample::select(vec!["com", "io", "dev"]))
            .prop_map(|(a, b)| format!("{a}.{b}")),
        prop::collection::vec(app, 0..5),
    )
        .prop_map(|(root, cluster, domain, apps)| {
            // Names and namespaces must be unique across apps (a valid tree has no duplicate).
            let mut seen = std::collections::BTreeSet::new();
            let apps = apps
                .into_iter()
                .filter(|a| {
                    seen.insert(a.name.clone()) && seen.insert(format!("ns:{}", a.namespace))
                })
                .collect();
            Spec {
                root: root.to_owned(),
                cluster,
                domain,
                apps,
            }
        })
}

/// A mutation: which file and line it touched, and the rule that must fire.
#[derive(Debug)]
struct Mutated {
    files: Vec<(String, String)>,
    rule: &'static str,
    file: String,
    line: usize,
}

/// 1-based line of the first line containing `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    support::line_of(text, needle, 0)
}

/// Applies mutation `which` (any number; taken modulo the mutations that apply) to a valid
/// tree.
fn mutate(spec: &Spec, mut files: Vec<(String, String)>, which: usize, pick: usize) -> Mutated {
    let secrets: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].0.ends_with(".enc.yaml"))
        .collect();
    let yaml: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].0.ends_with(".yaml"))
        .collect();
    let releases: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].0.ends_with("helmrelease.yaml"))
        .collect();
    let ingresses: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].0.ends_with("ingress.yaml"))
        .collect();
    let which = if ingresses.is_empty() {
        which % 4
    } else {
        which % 5
    };
    match which {
        // A HelmRelease on a version helm-controller no longer serves.
        3 => {
            let i = releases[pick % releases.len()];
            let (p, t) = &mut files[i];
            *t = t.replacen(
                "helm.toolkit.fluxcd.io/v2\n",
                "helm.toolkit.fluxcd.io/v2beta2\n",
                1,
            );
            let line = line_of(t, "apiVersion: helm.toolkit.fluxcd.io/v2beta2");
            let file = p.clone();
            Mutated {
                files,
                rule: "api/removed-version",
                file,
                line,
            }
        }
        // An Ingress asking for a ClusterIssuer the tree does not define.
        4 => {
            let i = ingresses[pick % ingresses.len()];
            let (p, t) = &mut files[i];
            *t = t.replacen(
                "cluster-issuer: letsencrypt\n",
                "cluster-issuer: letsencrypt-prod\n",
                1,
            );
            let line = line_of(t, "cluster-issuer: letsencrypt-prod");
            let file = p.clone();
            Mutated {
                files,
                rule: "certs/unknown-cluster-issuer",
                file,
                line,
            }
        }
        // A value pasted in the clear into an encrypted Secret.
        0 => {
            let i = secrets[pick % secrets.len()];
            let (p, t) = &mut files[i];
            let at = t.find("stringData:\n").unwrap() + "stringData:\n".len();
            t.insert_str(at, "    pasted: plain-value\n");
            let line = line_of(t, "    pasted:");
            let file = p.clone();
            Mutated {
                files,
                rule: "secrets/plaintext",
                file,
                line,
            }
        }
        // A private key committed in a notes file.
        1 => {
            let file = format!("{}/notes/key-{pick}.txt", spec.root);
            let text = format!(
                "# created: 2026-01-01\n# public key: {RECIPIENT}\nAGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"
            );
            files.push((file.clone(), text));
            Mutated {
                files,
                rule: "secrets/age-private-key",
                file,
                line: 3,
            }
        }
        // A stray YAML file that does not parse (not applied by anything).
        _ => {
            let path = &files[yaml[pick % yaml.len()]].0;
            let dir = path
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| format!("{d}/"));
            let file = format!("{dir}broken-{pick}.yml");
            files.push((file.clone(), "a: 1\nb: [unclosed\nc: 2\n".into()));
            Mutated {
                files,
                rule: "yaml/syntax",
                file,
                line: 0,
            }
        }
    }
}

fn config() -> PtConfig {
    PtConfig {
        cases: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..PtConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_valid_trees_lint_clean(spec in arb_spec()) {
        let findings = lint_files(&spec, &files_of(&spec));
        prop_assert!(findings.is_empty(), "{:#?}", findings);
    }

    #[test]
    fn one_mutation_fires_its_rule_there_and_nothing_else(spec in arb_spec(), which in 0usize..1000, pick in 0usize..1000) {
        let m = mutate(&spec, files_of(&spec), which, pick);
        let findings = lint_files(&spec, &m.files);
        prop_assert!(!findings.is_empty(), "{} did not fire", m.rule);
        for f in &findings {
            prop_assert_eq!(f.rule, m.rule, "unrelated rule: {:#?}", findings);
            prop_assert_eq!(&f.file, &m.file);
            if m.line > 0 {
                prop_assert_eq!(f.span.map(|s| s.line), Some(m.line));
            }
        }
    }
}
