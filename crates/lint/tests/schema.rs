//! Schema validation: kubeconform-style locations, chart values schemas, and the reference
//! tree against `shared/schemas` and `shared/chart-schemas`.

use std::path::Path;

use psd_lint::{Config, Finding, SchemaOptions, Tree, lint};

mod support;
use support::{shared, shared_config};

/// A folder of schemas for the tests that need no shared/.
fn schemas() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let w = |p: &str, t: &str| {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    w(
        "k/v1.35.0-standalone-strict/configmap-v1.json",
        r#"{"$schema": "http://json-schema.org/schema#", "type": "object", "additionalProperties": false,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
              "metadata": {"type": "object"},
              "data": {"type": "object", "additionalProperties": {"type": "string"}},
              "immutable": {"type": ["boolean", "null"]}}}"#,
    );
    w(
        "k/v1.35.0-standalone-strict/secret-v1.json",
        r#"{"type": "object", "additionalProperties": false,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
              "metadata": {"type": "object"}, "type": {"type": "string"},
              "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
              "stringData": {"type": "object", "additionalProperties": {"type": "string"}}}}"#,
    );
    w(
        "k/apps/deployment_v1.json",
        r#"{"type": "object", "properties": {"spec": {"type": "object", "additionalProperties": false,
            "required": ["selector"],
            "properties": {"replicas": {"type": "integer"}, "selector": {"type": "object"},
              "paused": {"type": "boolean"}}}}}"#,
    );
    w("k/broken.io/thing_v1.json", "{ not json");
    w(
        "c/demo/1.0.0/values.schema.json",
        r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "additionalProperties": false, "required": ["must"],
            "properties": {"must": {"type": "string"}, "replicas": {"type": "integer"},
              "ports": {"type": "object", "additionalProperties": {"type": "object",
                "additionalProperties": false,
                "properties": {"port": {"type": "integer"}, "exposedPort": {"type": "integer"},
                  "expose": {"type": "object"}}}}}}"#,
    );
    w(
        "c/demo/2.0.0/values.schema.json",
        r#"{"type": "object", "properties": {"replicas": {"type": "integer"},
              "ports": {"type": "object", "additionalProperties": {"type": "object",
                "properties": {"expose": {"type": "object"}}}}}}"#,
    );
    dir
}

fn config(dir: &Path) -> Config {
    let d = dir.display();
    Config {
        schema: SchemaOptions {
            locations: vec![
                format!("{d}/k"),
                format!(
                    "{d}/k/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"
                ),
            ],
            chart_schemas: Some(dir.join("c")),
            kubernetes_version: Some("1.35.0".into()),
            strict: true,
        },
        ..Config::default()
    }
}

fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn at(f: &Finding) -> (&str, usize, usize) {
    let s = f.span.unwrap();
    (f.file.as_str(), s.line, s.column)
}

#[test]
fn off_without_locations() {
    let tree = Tree::from_files([(
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: 1\n",
    )]);
    assert!(lint(&tree, &Config::default()).is_empty());
}

#[test]
fn wrong_type_and_unknown_field_each_one_finding_at_their_line() {
    let dir = schemas();
    let bad = Tree::from_files([(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: apps\ndata:\n  port: 8080\nimutable: true\n",
    )]);
    let f = lint(&bad, &config(dir.path()));
    let inv = of(&f, "schema/invalid");
    assert_eq!(inv.len(), 2, "{f:#?}");
    assert_eq!(at(inv[0]), ("apps/cm.yaml", 7, 9));
    assert!(inv[0].message.contains("data.port"), "{}", inv[0].message);
    assert_eq!(at(inv[1]), ("apps/cm.yaml", 8, 1));
    assert!(inv[1].message.contains("unknown field `imutable`"));
    assert!(
        inv[1].help.starts_with("did you mean `immutable`?"),
        "{}",
        inv[1].help
    );
    let good = Tree::from_files([(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: apps\ndata:\n  port: \"8080\"\nimmutable: true\n",
    )]);
    assert!(lint(&good, &config(dir.path())).is_empty());
}

#[test]
fn a_kind_without_schema_is_reported_once() {
    let dir = schemas();
    let tree = Tree::from_files([
        (
            "a.yaml",
            "apiVersion: example.io/v1\nkind: Widget\nmetadata:\n  name: a\n---\napiVersion: example.io/v1\nkind: Widget\nmetadata:\n  name: b\n",
        ),
        (
            "b.yaml",
            "apiVersion: example.io/v1\nkind: Widget\nmetadata:\n  name: c\n",
        ),
    ]);
    let f = lint(&tree, &config(dir.path()));
    let missing = of(&f, "schema/missing");
    assert_eq!(missing.len(), 1, "{f:#?}");
    assert_eq!(at(missing[0]), ("a.yaml", 2, 7));
    assert_eq!(missing[0].severity, psd_lint::Severity::Info);
    // A document that is no Kubernetes object (no apiVersion/kind) is not reported.
    let other = Tree::from_files([
        ("values.yaml", "replicas: 2\n"),
        (
            "charts/x/Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\n",
        ),
        (
            "charts/x/templates/cm.yaml",
            "apiVersion: example.io/v1\nkind: Widget\nmetadata:\n  name: x\n",
        ),
    ]);
    assert!(of(&lint(&other, &config(dir.path())), "schema/chart-values").is_empty());
}

#[test]
fn an_unusable_schema_is_reported_once() {
    let dir = schemas();
    let tree = Tree::from_files([(
        "a.yaml",
        "apiVersion: broken.io/v1\nkind: Thing\nmetadata:\n  name: a\n---\napiVersion: broken.io/v1\nkind: Thing\nmetadata:\n  name: b\n",
    )]);
    let f = lint(&tree, &config(dir.path()));
    let u = of(&f, "schema/unusable");
    assert_eq!(u.len(), 1, "{f:#?}");
    assert_eq!(at(u[0]), ("a.yaml", 2, 7));
    assert_eq!(f.len(), 1);
}

#[test]
fn sops_metadata_encrypted_values_and_substitutions_are_not_errors() {
    let dir = schemas();
    let tree = Tree::from_files([
        (
            "s.enc.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: Opaque\nstringData:\n  a: ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.10.2\n",
        ),
        (
            "d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: ${REPLICAS:=1}\n  selector: {}\n  paused: ENC[AES256_GCM,data:eA==,iv:x,tag:y,type:bool]\n",
        ),
    ]);
    let f = lint(&tree, &config(dir.path()));
    assert!(f.is_empty(), "{f:#?}");
    // The sops key is what a strict schema would otherwise refuse; a real type error stays.
    let bad = Tree::from_files([(
        "d.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: \"2\"\n  selector: {}\n",
    )]);
    let f = lint(&bad, &config(dir.path()));
    assert_eq!(of(&f, "schema/invalid").len(), 1, "{f:#?}");
    assert_eq!(at(&f[0]), ("d.yaml", 6, 13));
}

#[test]
fn patch_files_may_be_partial() {
    let dir = schemas();
    let tree = Tree::from_files([
        (
            "app/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [d.yaml]\npatches:\n  - path: patch.yaml\n",
        ),
        (
            "app/d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: {}\n",
        ),
        (
            "app/patch.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 2\n  $patch: merge\n",
        ),
    ]);
    let f: Vec<_> = lint(&tree, &config(dir.path()))
        .into_iter()
        .filter(|f| f.rule != "schema/missing")
        .collect();
    assert!(f.is_empty(), "{f:#?}");
    // The same partial object outside a patch misses a required field.
    let tree = Tree::from_files([(
        "app/d.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 2\n",
    )]);
    let f = lint(&tree, &config(dir.path()));
    assert_eq!(of(&f, "schema/invalid").len(), 1, "{f:#?}");
    assert_eq!(at(&f[0]), ("app/d.yaml", 6, 3));
}

const OCI: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: demo\n  namespace: apps\nspec:\n  interval: 1h\n  url: oci://ghcr.io/example/charts/demo\n  ref:\n    tag: 1.0.0\n";

#[test]
fn helmrelease_values_against_the_chart_schema() {
    let dir = schemas();
    let hr = |values: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: apps\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: demo\n  values:\n{values}"
        )
    };
    // Wrong type and misspelt key; `must` is required but may come from the chart's defaults;
    // a null deletes a default.
    let bad = Tree::from_files([
        ("apps/oci.yaml", OCI.to_owned()),
        (
            "apps/hr.yaml",
            hr(
                "    replicas: two\n    ports:\n      web:\n        exposedport: 80\n    must: null\n",
            ),
        ),
    ]);
    let f = lint(&bad, &config(dir.path()));
    let cv = of(&f, "schema/chart-values");
    assert_eq!(cv.len(), 2, "{f:#?}");
    assert_eq!(at(cv[0]), ("apps/hr.yaml", 12, 15));
    assert!(
        cv[0].message.contains("chart demo 1.0.0"),
        "{}",
        cv[0].message
    );
    assert_eq!(at(cv[1]), ("apps/hr.yaml", 15, 9));
    assert!(cv[1].help.starts_with("did you mean `exposedPort`?"));
    let good = Tree::from_files([
        ("apps/oci.yaml", OCI.to_owned()),
        (
            "apps/hr.yaml",
            hr("    replicas: 2\n    ports:\n      web:\n        exposedPort: 80\n"),
        ),
    ]);
    assert!(of(&lint(&good, &config(dir.path())), "schema/chart-values").is_empty());
    // A version with no stored schema is not validated.
    let other = Tree::from_files([
        ("apps/oci.yaml", OCI.replace("tag: 1.0.0", "tag: 3.0.0")),
        ("apps/hr.yaml", hr("    replicas: two\n")),
    ]);
    assert!(of(&lint(&other, &config(dir.path())), "schema/chart-values").is_empty());
}

#[test]
fn helmchartconfig_values_content_maps_back_into_the_file() {
    let dir = schemas();
    let hcc = |content: &str| {
        format!(
            "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: demo\n  namespace: kube-system\nspec:\n  valuesContent: |\n{content}"
        )
    };
    // Version unknown: both stored schemas are tried; only what both reject is reported
    // (`expose: true`), not what only 1.0.0 rejects (`extra`).
    let bad = Tree::from_files([(
        "hcc.yaml",
        hcc("    extra: 1\n    ports:\n      web:\n        expose: true\n"),
    )]);
    let f = lint(&bad, &config(dir.path()));
    let cv = of(&f, "schema/chart-values");
    assert_eq!(cv.len(), 1, "{f:#?}");
    assert_eq!(at(cv[0]), ("hcc.yaml", 11, 17));
    assert!(
        cv[0].message.contains("every stored version"),
        "{}",
        cv[0].message
    );
    let good = Tree::from_files([(
        "hcc.yaml",
        hcc("    ports:\n      web:\n        expose:\n          default: true\n"),
    )]);
    assert!(of(&lint(&good, &config(dir.path())), "schema/chart-values").is_empty());
    let broken = Tree::from_files([("hcc.yaml", hcc("    ports: [\n"))]);
    let f = lint(&broken, &config(dir.path()));
    assert_eq!(of(&f, "schema/chart-values").len(), 1, "{f:#?}");
}

#[test]
fn reference_tree_validates_against_shared_schemas() {
    let Some(shared) = shared() else { return };
    let tree = Tree::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gitops")).unwrap();
    let f = lint(&tree, &shared_config(&shared));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn shared_traefik_schema_refuses_expose_true() {
    let Some(shared) = shared() else { return };
    let tree = Tree::from_files([(
        "infrastructure/traefik/helmchartconfig.yaml",
        "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  namespace: kube-system\nspec:\n  valuesContent: |\n    ports:\n      postgresql:\n        port: 5432\n        expose: true\n        exposedPort: 5432\n",
    )]);
    let f = lint(&tree, &shared_config(&shared));
    let cv = of(&f, "schema/chart-values");
    assert_eq!(cv.len(), 1, "{f:#?}");
    assert_eq!(
        at(cv[0]),
        ("infrastructure/traefik/helmchartconfig.yaml", 11, 17)
    );
}

#[test]
fn chart_of_a_patch_and_of_a_k3s_helmchart() {
    let dir = schemas();
    let base = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: apps\nspec:\n  interval: 1h\n  chart:\n    spec:\n      chart: demo\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: demo\n";
    let patch = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: apps\nspec:\n  values:\n    replicas: many\n";
    let tree = Tree::from_files([
        (
            "apps/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [hr.yaml]\npatches:\n  - path: values.yaml\n",
        ),
        ("apps/hr.yaml", base),
        ("apps/values.yaml", patch),
    ]);
    let f = lint(&tree, &config(dir.path()));
    // Patch files are left out of the index (partial objects are not judged alone), so a
    // wrong value in a patch is only seen once the overlay is built.
    assert!(of(&f, "schema/chart-values").is_empty(), "{f:#?}");
    let helmchart = |values: &str| {
        Tree::from_files([(
            "hc.yaml",
            format!(
                "apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata:\n  name: demo\n  namespace: kube-system\nspec:\n  chart: demo\n  version: 2.0.0\n  valuesContent: |-\n{values}"
            ),
        )])
    };
    let f = lint(&helmchart("    replicas: \"3\"\n"), &config(dir.path()));
    let cv = of(&f, "schema/chart-values");
    assert_eq!(cv.len(), 1, "{f:#?}");
    assert_eq!(at(cv[0]), ("hc.yaml", 10, 15));
    assert!(
        cv[0].message.contains("chart demo 2.0.0"),
        "{}",
        cv[0].message
    );
    let f = lint(&helmchart("    replicas: 3\n"), &config(dir.path()));
    assert!(of(&f, "schema/chart-values").is_empty(), "{f:#?}");
}
