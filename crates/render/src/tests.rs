//! Properties of the in-memory tree over random valid configurations (plain files parsed back
//! from the emitted YAML; Secrets from their manifests): every reference resolves, shared
//! passwords are equal, the Flux order holds, no entry point serves both TCP and HTTP, data is
//! protected from pruning, and every folder lists exactly its files.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use psd_model::cluster::{AcmeEnvironment, ClusterConfig};
use psd_model::secrecy::SecretString;
use serde_json::{Value, json};

use crate::components;
use crate::layout::{FileContent, FluxSystem, plan};
use crate::secrets::SecretValues;

/// One rendered document and the file it is in.
#[derive(Debug)]
struct Doc {
    path: String,
    value: Value,
}

fn docs_with(cfg: &ClusterConfig, token: bool, flux: FluxSystem) -> Vec<Doc> {
    let t = SecretString::from("test-token-0123456789".to_owned());
    let secrets = SecretValues::generate(cfg, token.then_some(&t)).unwrap();
    let comps = components::all(cfg).unwrap();
    let files = plan(cfg, &comps, &secrets.contents, flux).unwrap();
    let mut out = Vec::new();
    for f in files {
        match f.content {
            FileContent::Plain(text) => {
                let values: Vec<Value> =
                    serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text).unwrap();
                for value in values {
                    out.push(Doc {
                        path: f.path.clone(),
                        value,
                    });
                }
            }
            FileContent::Secret(s) => out.push(Doc {
                path: f.path.clone(),
                value: s.to_plain_json(),
            }),
            FileContent::KeepExisting => unreachable!("generated secrets are never kept"),
        }
    }
    out
}

/// The fixture key's recipient (`fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt`).
const FIXTURE_RECIPIENT: &str = "age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736";

/// What `psd lint` says of the tree a render of `cfg` writes: every file as it goes to disk
/// (Secrets encrypted to the fixture recipient) and `.sops.yaml`.
fn lint_of(cfg: &ClusterConfig) -> Vec<psd_lint::Finding> {
    let t = SecretString::from("test-token-0123456789".to_owned());
    let secrets = SecretValues::generate(cfg, Some(&t)).unwrap();
    let comps = components::all(cfg).unwrap();
    let mut files: Vec<(String, Vec<u8>)> =
        plan(cfg, &comps, &secrets.contents, FluxSystem::Absent)
            .unwrap()
            .into_iter()
            .map(|f| {
                let bytes = match f.content {
                    FileContent::Plain(text) => text.into_bytes(),
                    FileContent::Secret(s) => {
                        let mut tree = crate::codec::secret_to_tree(&s);
                        let out =
                            crate::codec::encrypt(&tree, &[FIXTURE_RECIPIENT.to_owned()]).unwrap();
                        crate::codec::wipe(&mut tree);
                        out
                    }
                    FileContent::KeepExisting => unreachable!("generated secrets are never kept"),
                };
                (f.path, bytes)
            })
            .collect();
    let sops = crate::sops_yaml(&[FIXTURE_RECIPIENT.to_owned()]).unwrap();
    files.push((".sops.yaml".to_owned(), sops.into_bytes()));
    let config = psd_lint::Config {
        domain: Some(cfg.domain.clone()),
        ..psd_lint::Config::default()
    };
    psd_lint::lint(&psd_lint::Tree::from_files(files), &config)
}

fn docs_of(cfg: &ClusterConfig) -> Vec<Doc> {
    docs_with(cfg, true, FluxSystem::Absent)
}

fn of_kind<'a>(docs: &'a [Doc], kind: &str) -> Vec<&'a Doc> {
    docs.iter().filter(|d| d.value["kind"] == kind).collect()
}

fn ns_of(d: &Doc) -> &str {
    d.value["metadata"]["namespace"].as_str().unwrap_or("")
}

fn name_of(d: &Doc) -> &str {
    d.value["metadata"]["name"].as_str().unwrap_or("")
}

fn find<'a>(docs: &'a [Doc], kind: &str, ns: &str, name: &str) -> Option<&'a Doc> {
    docs.iter()
        .find(|d| d.value["kind"] == kind && name_of(d) == name && ns_of(d) == ns)
}

/// The value of `key` in Secret `ns/name`.
fn secret_value<'a>(docs: &'a [Doc], ns: &str, name: &str, key: &str) -> Option<&'a str> {
    find(docs, "Secret", ns, name)?.value["stringData"][key].as_str()
}

fn release<'a>(docs: &'a [Doc], name: &str) -> Option<&'a Doc> {
    docs.iter()
        .find(|d| d.value["kind"] == "HelmRelease" && name_of(d) == name)
}

fn str_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn arb_config() -> impl Strategy<Value = ClusterConfig> {
    let domain = "[a-z]([a-z0-9-]{0,12}[a-z0-9])?(\\.[a-z]([a-z0-9]{0,6}))?\\.(com|org|io|dev|net)";
    let size = (
        1u32..4000,
        prop::sample::select(vec!["Gi", "Mi", "Ti", "G", "M"]),
    );
    let ident = "[a-z_][a-z0-9_]{0,20}";
    let ranges = prop::sample::subsequence(
        vec!["100.64.0.0/10", "fd7a:115c:a1e0::/48", "192.168.1.0/24"],
        1..=3,
    );
    (
        (domain, any::<bool>(), any::<bool>(), any::<bool>()),
        (size.clone(), size),
        (
            "[a-z]([a-z0-9-]{0,20}[a-z0-9])?",
            "[a-z]([a-z0-9-]{0,10}[a-z0-9])?",
            "[a-z]([a-z0-9]{0,10})?",
        ),
        (any::<bool>(), prop::sample::select(vec![1u8, 2, 3, 5, 9])),
        (ident, ident, ident, ident),
        (ranges, any::<bool>()),
    )
        .prop_map(
            |(
                (domain, pg, redis, ak),
                (pgs, rds),
                (sc, cluster, host),
                (staging, instances),
                (owner, appdb, akuser, akdb),
                (ranges, redirect),
            )| {
                let mut c = ClusterConfig {
                    domain: domain.clone(),
                    storage_class: sc,
                    ..ClusterConfig::default()
                };
                c.acme.email = format!("ops@{domain}");
                c.flux.cluster_name = cluster;
                let s = &mut c.services;
                s.postgresql.enabled = pg;
                s.redis.enabled = redis;
                s.authentik.enabled = ak && pg;
                s.postgresql.size = format!("{}{}", pgs.0, pgs.1);
                s.postgresql.instances = instances;
                s.postgresql.username = owner;
                s.postgresql.database = appdb;
                s.redis.size = format!("{}{}", rds.0, rds.1);
                s.authentik.host = host;
                s.authentik.username = akuser;
                s.authentik.database = akdb;
                c.acme.issuer = if staging {
                    AcmeEnvironment::Staging
                } else {
                    AcmeEnvironment::Production
                };
                c.exposure.source_ranges = ranges.into_iter().map(str::to_owned).collect();
                c.exposure.https_redirect = redirect;
                c
            },
        )
        .prop_filter("valid", |c| c.validate().is_ok())
}

/// Every Secret a manifest references exists in the right namespace with the referenced key
/// and type, every role Secret's `username` is its role, and passwords two Secrets share are
/// equal.
fn check_secret_references(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    for issuer in of_kind(docs, "ClusterIssuer") {
        let r =
            &issuer.value["spec"]["acme"]["solvers"][0]["dns01"]["cloudflare"]["apiTokenSecretRef"];
        prop_assert!(
            secret_value(
                docs,
                "cert-manager",
                r["name"].as_str().unwrap(),
                r["key"].as_str().unwrap()
            )
            .is_some()
        );
    }
    let basic_auth = |ns: &str, name: &str, role: &str| -> Result<String, TestCaseError> {
        let s = find(docs, "Secret", ns, name);
        prop_assert!(s.is_some(), "Secret {ns}/{name} missing");
        let s = &s.unwrap().value;
        prop_assert_eq!(&s["type"], "kubernetes.io/basic-auth");
        prop_assert_eq!(&s["metadata"]["labels"]["cnpg.io/reload"], "true");
        let keys: BTreeSet<&str> = s["stringData"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        prop_assert_eq!(keys, BTreeSet::from(["username", "password"]));
        prop_assert_eq!(s["stringData"]["username"].as_str(), Some(role));
        Ok(s["stringData"]["password"].as_str().unwrap().to_owned())
    };
    let mut role_passwords = BTreeMap::new();
    for c in of_kind(docs, "Cluster") {
        let ns = ns_of(c);
        let spec = &c.value["spec"];
        let initdb = &spec["bootstrap"]["initdb"];
        let owner = initdb["owner"].as_str().unwrap();
        prop_assert_eq!(owner, cfg.services.postgresql.username.as_str());
        prop_assert_eq!(
            initdb["database"].as_str(),
            Some(cfg.services.postgresql.database.as_str())
        );
        let pw = basic_auth(ns, initdb["secret"]["name"].as_str().unwrap(), owner)?;
        role_passwords.insert(owner.to_owned(), pw);
        for role in spec["managed"]["roles"].as_array().into_iter().flatten() {
            let name = role["name"].as_str().unwrap();
            prop_assert_eq!(&role["login"], &Value::Bool(true));
            prop_assert!(role.get("superuser").is_none());
            let pw = basic_auth(ns, role["passwordSecret"]["name"].as_str().unwrap(), name)?;
            prop_assert!(
                role_passwords.insert(name.to_owned(), pw).is_none(),
                "role {name} twice"
            );
        }
    }
    for d in of_kind(docs, "Database") {
        let spec = &d.value["spec"];
        prop_assert!(
            find(
                docs,
                "Cluster",
                ns_of(d),
                spec["cluster"]["name"].as_str().unwrap()
            )
            .is_some()
        );
        prop_assert!(role_passwords.contains_key(spec["owner"].as_str().unwrap()));
        prop_assert!(
            !["postgres", "template0", "template1"].contains(&spec["name"].as_str().unwrap())
        );
    }
    // No Secret takes a name CloudNativePG reserves for its own.
    for c in of_kind(docs, "Cluster") {
        for suffix in ["app", "superuser", "ca", "server", "replication"] {
            let reserved = format!("{}-{suffix}", name_of(c));
            prop_assert!(find(docs, "Secret", ns_of(c), &reserved).is_none());
        }
    }
    if let Some(r) = release(docs, "valkey") {
        let v = &r.value["spec"]["values"];
        let secret = v["auth"]["usersExistingSecret"].as_str().unwrap();
        prop_assert_eq!(&v["auth"]["enabled"], &Value::Bool(true));
        let users = v["auth"]["aclUsers"].as_object().unwrap();
        prop_assert!(users.contains_key("default"));
        for user in users.values() {
            prop_assert!(user["permissions"].as_str().is_some());
            let key = user["passwordKey"].as_str().unwrap();
            prop_assert!(secret_value(docs, ns_of(r), secret, key).is_some());
        }
        prop_assert_eq!(&v["deploymentStrategy"], "Recreate");
        for bitnami in ["architecture", "master", "global"] {
            prop_assert!(v.get(bitnami).is_none(), "Bitnami key {bitnami}");
        }
        prop_assert!(v["auth"].get("existingSecret").is_none());
    }
    if let Some(r) = release(docs, "authentik") {
        let v = &r.value["spec"]["values"];
        let name = v["global"]["envFrom"][0]["secretRef"]["name"]
            .as_str()
            .unwrap();
        for key in ["AUTHENTIK_SECRET_KEY", "AUTHENTIK_POSTGRESQL__PASSWORD"] {
            prop_assert!(secret_value(docs, ns_of(r), name, key).is_some(), "{key}");
        }
        prop_assert!(v["authentik"].get("secret_key").is_none());
        prop_assert!(v["authentik"]["postgresql"].get("password").is_none());
        prop_assert!(
            v.get("redis").is_none() && v.get("ingress").is_none() && v.get("envFrom").is_none()
        );
        prop_assert_eq!(&v["postgresql"]["enabled"], &Value::Bool(false));
        let pg = &v["authentik"]["postgresql"];
        // The host is the read-write Service of a rendered Cluster.
        let host = pg["host"].as_str().unwrap();
        let (svc, ns) = host
            .strip_suffix(".svc.cluster.local")
            .and_then(|h| h.split_once('.'))
            .unwrap();
        let cluster = svc.strip_suffix("-rw").unwrap();
        prop_assert!(find(docs, "Cluster", ns, cluster).is_some(), "{host}");
        prop_assert_eq!(&pg["port"], &json!(5432));
        prop_assert_eq!(&pg["sslmode"], "require");
        // It logs in as a role whose password is the one in its own Secret, into a database
        // that role owns.
        let user = pg["user"].as_str().unwrap();
        prop_assert_eq!(user, cfg.services.authentik.username.as_str());
        prop_assert_eq!(
            role_passwords.get(user).map(String::as_str),
            secret_value(docs, ns_of(r), name, "AUTHENTIK_POSTGRESQL__PASSWORD")
        );
        let db = pg["name"].as_str().unwrap();
        prop_assert!(
            of_kind(docs, "Database")
                .iter()
                .any(|d| d.value["spec"]["name"] == db && d.value["spec"]["owner"] == user)
        );
    }
    Ok(())
}

/// Every HelmRelease's chart source is an OCIRepository beside it; every IngressRouteTCP sends
/// to a Service the operator or chart creates; every Flux Kustomization's path is a rendered
/// folder and its `dependsOn` names rendered Kustomizations, without a cycle, in the order
/// controllers → databases → apps, with health checks for CloudNativePG's kinds.
fn check_wiring(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    for r in of_kind(docs, "HelmRelease") {
        let chart = &r.value["spec"]["chartRef"];
        prop_assert_eq!(&chart["kind"], "OCIRepository");
        let ns = chart["namespace"].as_str().unwrap_or(ns_of(r));
        prop_assert_eq!(ns, ns_of(r), "source beside its release");
        let src = find(docs, "OCIRepository", ns, chart["name"].as_str().unwrap());
        prop_assert!(src.is_some(), "{}", name_of(r));
        // In the same folder (so the same Flux Kustomization).
        let (a, _) = src.unwrap().path.rsplit_once('/').unwrap();
        let (b, _) = r.path.rsplit_once('/').unwrap();
        prop_assert_eq!(a, b);
    }
    for route in of_kind(docs, "IngressRouteTCP") {
        let svc = &route.value["spec"]["routes"][0]["services"][0];
        let name = svc["name"].as_str().unwrap();
        let ns = ns_of(route);
        let by_cluster = of_kind(docs, "Cluster")
            .iter()
            .any(|c| ns_of(c) == ns && name == format!("{}-rw", name_of(c)) && svc["port"] == 5432);
        let by_valkey = release(docs, "valkey")
            .is_some_and(|r| ns_of(r) == ns && name == name_of(r) && svc["port"] == 6379);
        prop_assert!(by_cluster || by_valkey, "{ns}/{name}");
    }

    let entry = format!("{}/clusters/{}", cfg.flux.root, cfg.flux.cluster_name);
    let stages: BTreeMap<&str, &Doc> = docs
        .iter()
        .filter(|d| {
            d.value["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
                && d.value["kind"] == "Kustomization"
        })
        .map(|d| (name_of(d), d))
        .collect();
    // Which folder each stage applies, and which stage applies a folder.
    let mut stage_of_dir = BTreeMap::new();
    for (name, k) in &stages {
        prop_assert!(k.path.starts_with(&entry));
        let path = k.value["spec"]["path"].as_str().unwrap();
        let dir = path.strip_prefix("./").unwrap();
        prop_assert!(
            docs.iter()
                .any(|d| d.path == format!("{dir}/kustomization.yaml")),
            "{path}"
        );
        prop_assert!(stage_of_dir.insert(dir.to_owned(), *name).is_none());
        prop_assert_eq!(&k.value["spec"]["decryption"]["provider"], "sops");
        for dep in k.value["spec"]["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
        {
            prop_assert!(stages.contains_key(dep["name"].as_str().unwrap()));
        }
    }
    let stage_of = |d: &Doc| -> &str {
        let (dir, _) = d.path.rsplit_once('/').unwrap();
        stage_of_dir.get(dir).copied().unwrap_or("")
    };
    // Every document outside the entry folder is applied by exactly one stage.
    for d in docs.iter().filter(|d| !d.path.starts_with(&entry)) {
        prop_assert!(!stage_of(d).is_empty(), "{} is not applied", d.path);
    }
    let closure = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.to_owned()];
        while let Some(s) = todo.pop() {
            for dep in stages[s.as_str()].value["spec"]["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let dep = dep["name"].as_str().unwrap().to_owned();
                if seen.insert(dep.clone()) {
                    todo.push(dep);
                }
            }
        }
        seen
    };
    for name in stages.keys() {
        prop_assert!(!closure(name).contains(*name), "cycle through {name}");
    }
    let release_stage = |name: &str| release(docs, name).map(stage_of);
    // CloudNativePG's kinds wait for the operator (its webhooks fail closed) and have CEL
    // health checks; issuers wait for cert-manager and for nothing else.
    for kind in ["Cluster", "Database"] {
        for d in of_kind(docs, kind) {
            let s = stage_of(d);
            prop_assert!(closure(s).contains(release_stage("cloudnative-pg").unwrap()));
            let exprs = &stages[s].value["spec"]["healthCheckExprs"];
            prop_assert!(
                exprs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["kind"] == kind && e["apiVersion"] == "postgresql.cnpg.io/v1"),
                "{kind} has no health check"
            );
        }
    }
    for issuer in of_kind(docs, "ClusterIssuer") {
        let deps = closure(stage_of(issuer));
        let cm = release_stage("cert-manager").unwrap();
        prop_assert_eq!(deps, BTreeSet::from([cm.to_owned()]));
        prop_assert_ne!(stage_of(issuer), cm);
    }
    // Apps wait for the database cluster they use and for the issuer of their certificate.
    if let Some(ak) = release(docs, "authentik") {
        let deps = closure(stage_of(ak));
        for c in of_kind(docs, "Cluster") {
            prop_assert!(deps.contains(stage_of(c)));
        }
        let issuer = of_kind(docs, "ClusterIssuer")[0];
        prop_assert!(deps.contains(stage_of(issuer)));
    }
    Ok(())
}

/// Persistence, high availability and protection from pruning.
fn check_data(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    let prune_disabled =
        |d: &Doc| d.value["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled";
    for c in of_kind(docs, "Cluster") {
        let spec = &c.value["spec"];
        let pg = &cfg.services.postgresql;
        prop_assert_eq!(&spec["storage"]["size"], &json!(pg.size));
        prop_assert_eq!(
            &spec["storage"]["storageClass"],
            &json!(cfg.postgresql_storage_class())
        );
        prop_assert_eq!(&spec["instances"], &json!(pg.instances));
        prop_assert_eq!(&spec["imageName"], &json!(cfg.versions.postgresql_image));
        prop_assert!(!spec["imageName"].as_str().unwrap().ends_with(":latest"));
        prop_assert_ne!(&spec["enableSuperuserAccess"], &Value::Bool(true));
        // One instance: no PDB (a drain would hang); several: spread over nodes.
        prop_assert_eq!(spec["enablePDB"] == Value::Bool(false), pg.instances == 1);
        prop_assert_eq!(
            spec["affinity"]["podAntiAffinityType"] == "required",
            pg.instances > 1
        );
        prop_assert!(spec.get("backup").is_none());
        prop_assert!(prune_disabled(c));
        let ns = find(docs, "Namespace", "", ns_of(c));
        prop_assert!(ns.is_some_and(prune_disabled));
    }
    if let Some(r) = release(docs, "valkey") {
        let ds = &r.value["spec"]["values"]["dataStorage"];
        prop_assert_eq!(&ds["enabled"], &Value::Bool(true));
        prop_assert_eq!(&ds["keepPvc"], &Value::Bool(true));
        prop_assert_eq!(&ds["requestedSize"], &json!(cfg.services.redis.size));
        prop_assert_eq!(&ds["className"], &json!(cfg.redis_storage_class()));
        let ns = find(docs, "Namespace", "", ns_of(r));
        prop_assert!(ns.is_some_and(prune_disabled));
    }
    Ok(())
}

/// Ingresses: TLS for exactly their hosts, the cert-manager annotation naming a rendered
/// ClusterIssuer, no competing Certificate; entry points: no entry point serves both a TCP
/// route and an HTTP router, the HTTP ones are the defaults, and Traefik's Service only admits
/// the configured ranges and has no NodePorts.
fn check_exposure(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    let issuers: BTreeSet<&str> = of_kind(docs, "ClusterIssuer")
        .iter()
        .map(|d| name_of(d))
        .collect();
    prop_assert_eq!(issuers.len(), 2);
    let hcc = of_kind(docs, "HelmChartConfig");
    prop_assert_eq!(hcc.len(), 1);
    let traefik: Value =
        serde_saphyr::from_str(hcc[0].value["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    let ports = traefik["ports"].as_object().unwrap();
    let defaults: BTreeSet<&str> = ports
        .iter()
        .filter(|(_, p)| p["asDefault"] == Value::Bool(true))
        .map(|(n, _)| n.as_str())
        .collect();
    prop_assert_eq!(&defaults, &BTreeSet::from(["web", "websecure"]));

    // Entry points HTTP routers use.
    let mut http: BTreeSet<String> = BTreeSet::new();
    let mut ingresses = 0;
    if let Some(r) = release(docs, "authentik") {
        let ing = &r.value["spec"]["values"]["server"]["ingress"];
        ingresses += 1;
        prop_assert_eq!(&ing["ingressClassName"], "traefik");
        let ann = &ing["annotations"];
        let issuer = ann["cert-manager.io/cluster-issuer"].as_str().unwrap();
        prop_assert!(issuers.contains(issuer));
        prop_assert_eq!(issuer, cfg.acme.issuer.issuer_name());
        // Without the annotation the router lands on every default entry point.
        let eps = ann["traefik.ingress.kubernetes.io/router.entrypoints"].as_str();
        prop_assert!(eps.is_some(), "ingress without entry points");
        http.extend(eps.unwrap().split(',').map(|s| s.trim().to_owned()));
        let hosts = str_set(&ing["hosts"]);
        let tls = ing["tls"].as_array().unwrap();
        prop_assert_eq!(tls.len(), 1);
        prop_assert_eq!(&hosts, &str_set(&tls[0]["hosts"]));
        prop_assert_eq!(hosts, BTreeSet::from([cfg.authentik_host()]));
    }
    prop_assert_eq!(ingresses, usize::from(cfg.services.authentik.enabled));
    prop_assert!(of_kind(docs, "Certificate").is_empty());
    prop_assert!(http.iter().all(|e| e == "websecure"), "{http:?}");

    let mut tcp = BTreeSet::new();
    for route in of_kind(docs, "IngressRouteTCP") {
        prop_assert_eq!(&route.value["apiVersion"], "traefik.io/v1alpha1");
        prop_assert_eq!(&route.value["spec"]["routes"][0]["match"], "HostSNI(`*`)");
        for e in str_set(&route.value["spec"]["entryPoints"]) {
            let p = &ports[&e];
            prop_assert_eq!(&p["expose"], &json!({"default": true}));
            prop_assert_eq!(&p["protocol"], "TCP");
            prop_assert!(e.len() <= 15);
            prop_assert!(tcp.insert(e.clone()), "two routes on {e}");
        }
    }
    // An entry point with a TCP route serves no HTTP router, explicit or by default.
    prop_assert!(tcp.is_disjoint(&http));
    prop_assert!(tcp.iter().all(|e| !defaults.contains(e.as_str())));
    let want =
        usize::from(cfg.services.postgresql.enabled) + usize::from(cfg.services.redis.enabled);
    prop_assert_eq!(tcp.len(), want);

    let svc = &traefik["service"];
    prop_assert!(
        svc.get("loadBalancerSourceRanges").is_none(),
        "only under service.spec"
    );
    prop_assert_eq!(
        str_set(&svc["spec"]["loadBalancerSourceRanges"]),
        cfg.exposure
            .source_ranges
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    prop_assert_eq!(
        &svc["spec"]["allocateLoadBalancerNodePorts"],
        &Value::Bool(false)
    );
    let redirect = &ports["web"]["http"]["redirections"]["entryPoint"];
    prop_assert_eq!(redirect.is_object(), cfg.exposure.https_redirect);
    if cfg.exposure.https_redirect {
        prop_assert_eq!(&redirect["to"], "websecure");
    }
    Ok(())
}

/// Secrets only in `*.enc.yaml`, no two documents with one identity, and every folder's
/// `kustomization.yaml` lists exactly the files in it.
fn check_folders(docs: &[Doc]) -> Result<(), TestCaseError> {
    let mut ids = BTreeSet::new();
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in docs {
        prop_assert_eq!(
            d.value["kind"] == "Secret",
            d.path.ends_with(".enc.yaml"),
            "{}",
            d.path
        );
        let (dir, file) = d.path.rsplit_once('/').unwrap();
        folders
            .entry(dir.to_owned())
            .or_default()
            .insert(file.to_owned());
        if d.value.get("metadata").is_some() {
            let id = (
                d.value["apiVersion"].to_string(),
                d.value["kind"].to_string(),
                ns_of(d).to_owned(),
                name_of(d).to_owned(),
            );
            prop_assert!(ids.insert(id.clone()), "duplicate {id:?}");
        }
    }
    for (dir, files) in &folders {
        let k = docs
            .iter()
            .find(|d| d.path == format!("{dir}/kustomization.yaml"));
        prop_assert!(k.is_some(), "{dir} has no kustomization.yaml");
        let listed = str_set(&k.unwrap().value["resources"]);
        let mut present = files.clone();
        present.remove("kustomization.yaml");
        prop_assert_eq!(&listed, &present, "{}", dir);
    }
    Ok(())
}

fn check_all(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    check_secret_references(cfg, docs)?;
    check_wiring(cfg, docs)?;
    check_data(cfg, docs)?;
    check_exposure(cfg, docs)?;
    check_folders(docs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn properties_hold_for_random_configs(cfg in arb_config()) {
        check_all(&cfg, &docs_of(&cfg))?;
    }

    /// Every rule of `psd lint` passes on what a render writes.
    #[test]
    fn rendered_trees_lint_clean(cfg in arb_config()) {
        let findings = lint_of(&cfg);
        prop_assert!(findings.is_empty(), "{:#?}", findings);
    }

    #[test]
    fn plain_files_are_deterministic(cfg in arb_config()) {
        let a = docs_of(&cfg);
        let b = docs_of(&cfg);
        prop_assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(&x.path, &y.path);
            if x.value["kind"] != "Secret" {
                prop_assert_eq!(&x.value, &y.value);
            }
        }
    }
}

#[test]
fn default_config_passes_the_properties() {
    let cfg = ClusterConfig::default();
    check_all(&cfg, &docs_of(&cfg)).unwrap();
    let findings = lint_of(&cfg);
    assert!(findings.is_empty(), "{findings:#?}");
}

/// The checks are not vacuous: each breaks when the tree is broken in the way it guards.
#[test]
fn properties_catch_broken_trees() {
    let cfg = ClusterConfig::default();
    let broken = |f: &dyn Fn(&mut Vec<Doc>)| {
        let mut docs = docs_of(&cfg);
        f(&mut docs);
        check_all(&cfg, &docs).is_err()
    };
    let edit = |kind: &'static str, name: &'static str, f: fn(&mut Value)| {
        move |docs: &mut Vec<Doc>| {
            let d = docs
                .iter_mut()
                .find(|d| d.value["kind"] == kind && d.value["metadata"]["name"] == name)
                .unwrap();
            f(&mut d.value);
        }
    };
    // A role Secret whose password differs from Authentik's.
    assert!(broken(&edit(
        "Secret",
        "postgresql-authentik-credentials",
        |v| {
            v["stringData"]["password"] = json!("other");
        }
    )));
    // An Opaque role Secret; a username that is not the role.
    assert!(broken(&edit("Secret", "postgresql-app-credentials", |v| {
        v["type"] = json!("Opaque");
    })));
    assert!(broken(&edit("Secret", "postgresql-app-credentials", |v| {
        v["stringData"]["username"] = json!("postgres");
    })));
    // A route to a Service nobody creates.
    assert!(broken(&edit("IngressRouteTCP", "postgresql", |v| {
        v["spec"]["routes"][0]["services"][0]["name"] = json!("postgresql");
    })));
    // The Authentik ingress on every entry point; no asDefault.
    assert!(broken(&edit("HelmRelease", "authentik", |v| {
        v["spec"]["values"]["server"]["ingress"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("traefik.ingress.kubernetes.io/router.entrypoints");
    })));
    assert!(broken(&edit("HelmChartConfig", "traefik", |v| {
        let text = v["spec"]["valuesContent"]
            .as_str()
            .unwrap()
            .replace("asDefault: true", "asDefault: false");
        v["spec"]["valuesContent"] = json!(text);
    })));
    // Databases not waiting for the operator; a missing health check.
    assert!(broken(&edit(
        "Kustomization",
        "databases-postgresql",
        |v| {
            v["spec"].as_object_mut().unwrap().remove("dependsOn");
        }
    )));
    assert!(broken(&edit(
        "Kustomization",
        "databases-postgresql",
        |v| {
            v["spec"]
                .as_object_mut()
                .unwrap()
                .remove("healthCheckExprs");
        }
    )));
    // A prunable database namespace; a PDB on one instance.
    assert!(broken(&edit("Namespace", "database", |v| {
        v["metadata"]["labels"] = json!({});
    })));
    assert!(broken(&edit("Cluster", "postgresql", |v| {
        v["spec"]["enablePDB"] = json!(true);
    })));
    // Valkey without Recreate, with a Bitnami key.
    assert!(broken(&edit("HelmRelease", "valkey", |v| {
        v["spec"]["values"]["deploymentStrategy"] = json!("RollingUpdate");
    })));
    assert!(broken(&edit("HelmRelease", "valkey", |v| {
        v["spec"]["values"]["architecture"] = json!("standalone");
    })));
    // A chart source in another namespace.
    assert!(broken(&edit("HelmRelease", "authentik", |v| {
        v["spec"]["chartRef"]["namespace"] = json!("flux-system");
    })));
    // A file the folder's kustomization.yaml does not list.
    assert!(broken(&|docs: &mut Vec<Doc>| {
        docs.push(Doc {
            path: "gitops/databases/redis/extra.yaml".into(),
            value: json!({"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "redis"}}),
        });
    }));
}

#[test]
fn missing_cloudflare_token_leaves_the_secret_out_of_the_kustomization() {
    let cfg = ClusterConfig::default();
    let docs = docs_with(&cfg, false, FluxSystem::Absent);
    assert!(
        !docs
            .iter()
            .any(|d| d.path.ends_with("cloudflare-secret.enc.yaml"))
    );
    let k = docs
        .iter()
        .find(|d| d.path == "gitops/infrastructure/cert-manager/kustomization.yaml")
        .unwrap();
    assert!(!k.value["resources"].to_string().contains("cloudflare"));
    check_folders(&docs).unwrap();
}

#[test]
fn flux_system_folder_is_kept_in_the_entry_kustomization() {
    let cfg = ClusterConfig::default();
    for (flux, listed) in [(FluxSystem::Listed, true), (FluxSystem::Absent, false)] {
        let docs = docs_with(&cfg, true, flux);
        let k = docs
            .iter()
            .find(|d| d.path == "gitops/clusters/k3s/kustomization.yaml")
            .unwrap();
        assert_eq!(
            str_set(&k.value["resources"]).contains("flux-system"),
            listed
        );
    }
}

#[test]
fn high_availability_spreads_instances() {
    let mut cfg = ClusterConfig::default();
    cfg.services.postgresql.instances = 3;
    let docs = docs_of(&cfg);
    let c = find(&docs, "Cluster", "database", "postgresql").unwrap();
    assert_eq!(c.value["spec"]["instances"], 3);
    assert_eq!(c.value["spec"]["primaryUpdateMethod"], "switchover");
    assert!(c.value["spec"].get("enablePDB").is_none());
    check_all(&cfg, &docs).unwrap();
}
