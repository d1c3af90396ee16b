//! Properties 4–9 of the design over random valid configurations, checked on the in-memory
//! tree (plain files parsed back from the emitted YAML; Secrets from their manifests).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use psd_model::cluster::{AcmeEnvironment, ClusterConfig};
use psd_model::secrecy::SecretString;
use serde_json::Value;

use crate::layout::{FileContent, plan};
use crate::manifests as m;
use crate::secrets::SecretValues;

/// One rendered document and the file it is in.
#[derive(Debug)]
struct Doc {
    path: String,
    value: Value,
}

fn docs_of(cfg: &ClusterConfig) -> Vec<Doc> {
    let token = SecretString::from("test-token-0123456789".to_owned());
    let secrets = SecretValues::generate(cfg, Some(&token)).unwrap();
    let files = plan(cfg, &secrets.contents, false).unwrap();
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
            FileContent::Secret(_, s) => out.push(Doc {
                path: f.path.clone(),
                value: s.to_plain_json(),
            }),
            FileContent::KeepExisting(_) => unreachable!("generated secrets are never kept"),
        }
    }
    out
}

fn of_kind<'a>(docs: &'a [Doc], kind: &str) -> Vec<&'a Doc> {
    docs.iter().filter(|d| d.value["kind"] == kind).collect()
}

fn find<'a>(docs: &'a [Doc], kind: &str, ns: &str, name: &str) -> Option<&'a Doc> {
    docs.iter().find(|d| {
        d.value["kind"] == kind
            && d.value["metadata"]["name"] == name
            && (d.value["metadata"]["namespace"] == ns || ns.is_empty())
    })
}

fn secret_has(docs: &[Doc], ns: &str, name: &str, key: &str) -> bool {
    find(docs, "Secret", ns, name)
        .is_some_and(|d| d.value["stringData"].get(key).is_some_and(Value::is_string))
}

fn release_values<'a>(docs: &'a [Doc], name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d.value["kind"] == "HelmRelease" && d.value["metadata"]["name"] == name)
        .map(|d| &d.value["spec"]["values"])
}

fn arb_config() -> impl Strategy<Value = ClusterConfig> {
    let domain = "[a-z]([a-z0-9-]{0,12}[a-z0-9])?(\\.[a-z]([a-z0-9]{0,6}))?\\.(com|org|io|dev|net)";
    let size = (
        1u32..4000,
        prop::sample::select(vec!["Gi", "Mi", "Ti", "G", "M"]),
    );
    (
        domain,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        size.clone(),
        size,
        "[a-z]([a-z0-9-]{0,20}[a-z0-9])?",
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?",
        "[a-z]([a-z0-9]{0,10})?",
        any::<bool>(),
    )
        .prop_map(
            |(domain, pg, redis, ak, pgs, rds, sc, cluster, host, staging)| {
                let mut c = ClusterConfig {
                    domain: domain.clone(),
                    storage_class: sc,
                    ..ClusterConfig::default()
                };
                c.acme.email = format!("ops@{domain}");
                c.flux.cluster_name = cluster;
                c.services.postgresql.enabled = pg;
                c.services.redis.enabled = redis;
                c.services.authentik.enabled = ak && pg;
                c.services.postgresql.size = format!("{}{}", pgs.0, pgs.1);
                c.services.redis.size = format!("{}{}", rds.0, rds.1);
                c.services.authentik.host = host;
                c.acme.issuer = if staging {
                    AcmeEnvironment::Staging
                } else {
                    AcmeEnvironment::Production
                };
                c
            },
        )
        .prop_filter("valid", |c| c.validate().is_ok())
}

/// Property 4: every Secret a manifest references exists, in the right namespace, with the
/// referenced key; Authentik's database password is the one the initdb script sets.
fn check_secret_references(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    for issuer in of_kind(docs, "ClusterIssuer") {
        let r =
            &issuer.value["spec"]["acme"]["solvers"][0]["dns01"]["cloudflare"]["apiTokenSecretRef"];
        prop_assert!(secret_has(
            docs,
            m::CERT_MANAGER_NAMESPACE,
            r["name"].as_str().unwrap(),
            r["key"].as_str().unwrap()
        ));
    }
    if let Some(v) = release_values(docs, "postgresql") {
        let name = v["auth"]["existingSecret"].as_str().unwrap();
        for key in ["adminPasswordKey", "userPasswordKey"] {
            let k = v["auth"]["secretKeys"][key].as_str().unwrap();
            prop_assert!(secret_has(docs, m::POSTGRESQL_NAMESPACE, name, k), "{key}");
        }
        prop_assert_eq!(
            &v["auth"]["username"],
            &Value::from(cfg.services.postgresql.username.clone())
        );
        prop_assert_eq!(
            &v["auth"]["database"],
            &Value::from(cfg.services.postgresql.database.clone())
        );
        if let Some(initdb) = v["primary"]["initdb"]["scriptsSecret"].as_str() {
            prop_assert!(secret_has(
                docs,
                m::POSTGRESQL_NAMESPACE,
                initdb,
                m::POSTGRESQL_INITDB_KEY
            ));
        }
    }
    if let Some(v) = release_values(docs, "redis") {
        prop_assert!(secret_has(
            docs,
            m::REDIS_NAMESPACE,
            v["auth"]["existingSecret"].as_str().unwrap(),
            v["auth"]["existingSecretPasswordKey"].as_str().unwrap()
        ));
    }
    if let Some(v) = release_values(docs, "authentik") {
        let name = v["global"]["envFrom"][0]["secretRef"]["name"]
            .as_str()
            .unwrap();
        for key in ["AUTHENTIK_SECRET_KEY", "AUTHENTIK_POSTGRESQL__PASSWORD"] {
            prop_assert!(secret_has(docs, m::AUTHENTIK_NAMESPACE, name, key), "{key}");
        }
        prop_assert!(v["authentik"].get("secret_key").is_none());
        prop_assert!(
            v.get("redis").is_none() && v.get("ingress").is_none() && v.get("envFrom").is_none()
        );
        let pw = find(docs, "Secret", m::AUTHENTIK_NAMESPACE, name)
            .unwrap()
            .value["stringData"]["AUTHENTIK_POSTGRESQL__PASSWORD"]
            .as_str()
            .unwrap()
            .to_owned();
        let sql = find(
            docs,
            "Secret",
            m::POSTGRESQL_NAMESPACE,
            m::POSTGRESQL_INITDB_SECRET,
        )
        .unwrap()
        .value["stringData"][m::POSTGRESQL_INITDB_KEY]
            .as_str()
            .unwrap()
            .to_owned();
        let ak = &cfg.services.authentik;
        let role = format!("CREATE ROLE {} WITH LOGIN PASSWORD '{pw}';", ak.username);
        let db = format!("CREATE DATABASE {} OWNER {};", ak.database, ak.username);
        prop_assert!(sql.contains(&role));
        prop_assert!(sql.contains(&db));
        prop_assert_eq!(
            &v["authentik"]["postgresql"]["user"],
            &Value::from(ak.username.clone())
        );
        prop_assert_eq!(
            &v["authentik"]["postgresql"]["name"],
            &Value::from(ak.database.clone())
        );
    }
    Ok(())
}

/// Property 5: persistence is enabled with the configured size and storage class.
fn check_persistence(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    if let Some(v) = release_values(docs, "postgresql") {
        let p = &v["primary"]["persistence"];
        prop_assert_eq!(&p["enabled"], &Value::Bool(true));
        prop_assert_eq!(
            p["size"].as_str(),
            Some(cfg.services.postgresql.size.as_str())
        );
        prop_assert_eq!(
            p["storageClass"].as_str(),
            Some(cfg.postgresql_storage_class())
        );
    }
    if let Some(v) = release_values(docs, "redis") {
        prop_assert_eq!(&v["architecture"], &Value::from("standalone"));
        let p = &v["master"]["persistence"];
        prop_assert_eq!(&p["enabled"], &Value::Bool(true));
        prop_assert_eq!(p["size"].as_str(), Some(cfg.services.redis.size.as_str()));
        prop_assert_eq!(p["storageClass"].as_str(), Some(cfg.redis_storage_class()));
    }
    Ok(())
}

/// Properties 6 and 7: every ingress has TLS for exactly its hosts and the cert-manager
/// annotation naming a rendered ClusterIssuer; hosts and TLS secret names are unique, and no
/// explicit Certificate competes with the annotation for a TLS Secret.
fn check_ingress(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    let issuers: BTreeSet<&str> = of_kind(docs, "ClusterIssuer")
        .iter()
        .filter_map(|d| d.value["metadata"]["name"].as_str())
        .collect();
    prop_assert_eq!(issuers.len(), 2);
    let mut hosts = BTreeSet::new();
    let mut tls_names = BTreeSet::new();
    let mut ingresses = 0;
    for name in ["authentik"] {
        let Some(v) = release_values(docs, name) else {
            continue;
        };
        let ing = &v["server"]["ingress"];
        ingresses += 1;
        prop_assert_eq!(&ing["enabled"], &Value::Bool(true));
        prop_assert_eq!(&ing["ingressClassName"], &Value::from("traefik"));
        let issuer = ing["annotations"]["cert-manager.io/cluster-issuer"]
            .as_str()
            .unwrap();
        prop_assert!(issuers.contains(issuer));
        prop_assert_eq!(issuer, cfg.acme.issuer.issuer_name());
        let ing_hosts: BTreeSet<&str> = ing["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let tls = ing["tls"].as_array().unwrap();
        prop_assert_eq!(tls.len(), 1);
        let tls_hosts: BTreeSet<&str> = tls[0]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        prop_assert_eq!(&ing_hosts, &tls_hosts);
        for h in ing_hosts {
            let suffix = format!(".{}", cfg.domain);
            prop_assert!(h.ends_with(&suffix));
            prop_assert!(hosts.insert(h.to_owned()), "duplicate host {h}");
        }
        let secret = tls[0]["secretName"].as_str().unwrap();
        prop_assert!(
            tls_names.insert(secret.to_owned()),
            "duplicate TLS secret {secret}"
        );
    }
    prop_assert_eq!(ingresses, usize::from(cfg.services.authentik.enabled));
    prop_assert!(
        of_kind(docs, "Certificate").is_empty(),
        "annotation-only certificates"
    );
    // No two documents share kind/namespace/name.
    let mut ids = BTreeSet::new();
    for d in docs.iter().filter(|d| d.value.get("metadata").is_some()) {
        let id = (
            d.value["kind"].to_string(),
            d.value["metadata"]["namespace"].to_string(),
            d.value["metadata"]["name"].to_string(),
        );
        prop_assert!(ids.insert(id.clone()), "duplicate {id:?}");
    }
    Ok(())
}

/// Property 8: files in the right folders, Secrets only in `*.enc.yaml`, and every folder's
/// `kustomization.yaml` lists exactly what is in it.
fn check_folders(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    let root = &cfg.flux.root;
    let expected_dir = |d: &Doc| -> String {
        let ns = d.value["metadata"]["namespace"].as_str().unwrap_or("");
        let kind = d.value["kind"].as_str().unwrap();
        match (kind, ns) {
            ("ClusterIssuer", _) => format!("{root}/infrastructure/issuers"),
            ("Kustomization", "flux-system") => {
                format!("{root}/clusters/{}", cfg.flux.cluster_name)
            }
            ("Kustomization", _) => String::new(),
            (_, "flux-system") => format!("{root}/infrastructure/sources"),
            (_, "kube-system") => format!("{root}/infrastructure/traefik"),
            (_, "cert-manager") => format!("{root}/infrastructure/cert-manager"),
            (_, "database") => format!("{root}/apps/postgresql"),
            (_, "cache") => format!("{root}/apps/redis"),
            (_, "auth") => format!("{root}/apps/authentik"),
            ("Namespace", _) => match d.value["metadata"]["name"].as_str().unwrap() {
                "cert-manager" => format!("{root}/infrastructure/cert-manager"),
                "database" => format!("{root}/apps/postgresql"),
                "cache" => format!("{root}/apps/redis"),
                "auth" => format!("{root}/apps/authentik"),
                other => panic!("unexpected namespace {other}"),
            },
            other => panic!("unexpected document {other:?}"),
        }
    };
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in docs {
        let (dir, file) = d.path.rsplit_once('/').unwrap();
        folders
            .entry(dir.to_owned())
            .or_default()
            .insert(file.to_owned());
        let want = expected_dir(d);
        if !want.is_empty() {
            prop_assert_eq!(dir, want.as_str(), "{}", d.path);
        }
        prop_assert_eq!(
            d.value["kind"] == "Secret",
            d.path.ends_with(".enc.yaml"),
            "{}",
            d.path
        );
    }
    // Sub-folders are resources of their parent's kustomization.yaml.
    let dirs: Vec<String> = folders.keys().cloned().collect();
    for dir in &dirs {
        if let Some((parent, name)) = dir.rsplit_once('/')
            && folders.contains_key(parent)
        {
            folders.get_mut(parent).unwrap().insert(format!("{name}/"));
        }
    }
    for (dir, files) in &folders {
        prop_assert!(
            files.contains("kustomization.yaml"),
            "{dir} has no kustomization.yaml"
        );
        let k = docs
            .iter()
            .find(|d| d.path == format!("{dir}/kustomization.yaml"))
            .unwrap();
        let listed: BTreeSet<String> = k.value["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let r = r.as_str().unwrap();
                if folders.contains_key(&format!("{dir}/{r}")) {
                    format!("{r}/")
                } else {
                    r.to_owned()
                }
            })
            .collect();
        let mut present = files.clone();
        present.remove("kustomization.yaml");
        prop_assert_eq!(&listed, &present, "{}", dir);
    }
    Ok(())
}

/// Property 9: one IngressRouteTCP (traefik.io/v1alpha1) per enabled data service, on its own
/// Traefik entry point exposed through the HelmChartConfig.
fn check_tcp_routes(cfg: &ClusterConfig, docs: &[Doc]) -> Result<(), TestCaseError> {
    let routes = of_kind(docs, "IngressRouteTCP");
    let cfgs = of_kind(docs, "HelmChartConfig");
    let mut expected = Vec::new();
    if cfg.services.postgresql.enabled {
        expected.push(("postgresql", m::POSTGRESQL_NAMESPACE, m::POSTGRESQL_SERVICE));
    }
    if cfg.services.redis.enabled {
        expected.push(("redis", m::REDIS_NAMESPACE, m::REDIS_SERVICE));
    }
    prop_assert_eq!(routes.len(), expected.len());
    prop_assert_eq!(cfgs.len(), usize::from(!expected.is_empty()));
    let ports: Value = match cfgs.first() {
        Some(c) => {
            serde_saphyr::from_str(c.value["spec"]["valuesContent"].as_str().unwrap()).unwrap()
        }
        None => Value::Null,
    };
    for (entry, ns, (svc, port)) in expected {
        let r = find(docs, "IngressRouteTCP", ns, entry).unwrap();
        prop_assert_eq!(&r.value["apiVersion"], &Value::from("traefik.io/v1alpha1"));
        prop_assert_eq!(&r.value["spec"]["entryPoints"], &serde_json::json!([entry]));
        let s = &r.value["spec"]["routes"][0]["services"][0];
        prop_assert_eq!(&s["name"], &Value::from(svc));
        prop_assert_eq!(&s["port"], &Value::from(port));
        let p = &ports["ports"][entry];
        prop_assert_eq!(&p["expose"], &serde_json::json!({"default": true}));
        prop_assert_eq!(&p["port"], &Value::from(port));
        prop_assert_eq!(&p["exposedPort"], &Value::from(port));
        prop_assert!(entry.len() <= 15);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn properties_4_to_9_hold_for_random_configs(cfg in arb_config()) {
        let docs = docs_of(&cfg);
        check_secret_references(&cfg, &docs)?;
        check_persistence(&cfg, &docs)?;
        check_ingress(&cfg, &docs)?;
        check_folders(&cfg, &docs)?;
        check_tcp_routes(&cfg, &docs)?;
    }

    #[test]
    fn plain_files_are_deterministic(cfg in arb_config()) {
        let a = docs_of(&cfg);
        let b = docs_of(&cfg);
        for (x, y) in a.iter().zip(&b) {
            if x.value["kind"] != "Secret" {
                prop_assert_eq!(&x.value, &y.value);
            }
        }
    }
}

#[test]
fn default_config_passes_the_properties() {
    let cfg = ClusterConfig::default();
    let docs = docs_of(&cfg);
    check_secret_references(&cfg, &docs).unwrap();
    check_persistence(&cfg, &docs).unwrap();
    check_ingress(&cfg, &docs).unwrap();
    check_folders(&cfg, &docs).unwrap();
    check_tcp_routes(&cfg, &docs).unwrap();
}

#[test]
fn missing_cloudflare_token_leaves_the_secret_out_of_the_kustomization() {
    let cfg = ClusterConfig::default();
    let secrets = SecretValues::generate(&cfg, None).unwrap();
    let files = plan(&cfg, &secrets.contents, false).unwrap();
    assert!(
        !files
            .iter()
            .any(|f| f.path.ends_with("cloudflare-secret.enc.yaml"))
    );
    let k = files
        .iter()
        .find(|f| f.path == "gitops/infrastructure/cert-manager/kustomization.yaml")
        .unwrap();
    let FileContent::Plain(text) = &k.content else {
        panic!()
    };
    assert!(!text.contains("cloudflare"), "{text}");
}

#[test]
fn flux_system_folder_is_kept_in_the_entry_kustomization() {
    let cfg = ClusterConfig::default();
    let secrets = SecretValues::generate(&cfg, None).unwrap();
    let files = plan(&cfg, &secrets.contents, true).unwrap();
    let k = files
        .iter()
        .find(|f| f.path == "gitops/clusters/k3s/kustomization.yaml")
        .unwrap();
    let FileContent::Plain(text) = &k.content else {
        panic!()
    };
    assert!(text.contains("- flux-system\n"), "{text}");
}

#[test]
fn initdb_sql_doubles_quotes() {
    let cfg = ClusterConfig::default();
    let sql = m::authentik_initdb_sql(&cfg, "a'b");
    assert_eq!(
        sql,
        "CREATE ROLE authentik WITH LOGIN PASSWORD 'a''b';\nCREATE DATABASE authentik OWNER authentik;\n"
    );
}
