//! `psd doctor`: a healthy repository passes every check; each broken thing fails its check
//! with a fix and exit 1; `--cluster` checks through kubectl (a fake one answering like a
//! cluster, and the real one pointed at a server nothing listens on).

mod setup_support;

use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use setup_support::{
    FIXTURE_KEY, Sandbox, all, assert_exit, assert_no_secret, assert_ok, recipient_of, text,
    unreachable_kubeconfig,
};

/// An initialised, rendered repository (with a Cloudflare token).
fn rendered() -> Sandbox {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "-b", "main"]);
    sb.init(&[]);
    sb.render();
    sb
}

/// The report line of `check`.
fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            l.get(6..)
                .is_some_and(|r| r.starts_with(&format!("{check}:")))
        })
        .unwrap_or_else(|| panic!("no line for `{check}`:\n{stdout}"))
}

fn assert_failed(out: &std::process::Output, check: &str, said: &str) {
    assert_exit(out, 1);
    let s = text(&out.stdout);
    let l = line(&s, check);
    assert!(l.starts_with("FAIL"), "{check} should fail:\n{s}");
    assert!(l.contains(said), "`{said}` not in: {l}\n{s}");
    // The fix is on the next line.
    let next = s.lines().skip_while(|x| *x != l).nth(1).unwrap_or("");
    assert!(next.trim_start().starts_with("fix: "), "{s}");
}

#[test]
fn a_healthy_repository_passes_every_check() {
    let sb = rendered();
    let out = sb.psd(&["doctor"]);
    assert_ok(&out);
    let s = text(&out.stdout);
    for check in [
        ".sops.yaml",
        "key found",
        "key private",
        "key not in git",
        "recipient in .sops.yaml",
        ".sops.yaml and psd.yaml agree",
        "Secrets decrypt",
        "render --check",
        "lint",
        "kubectl kustomize",
        "Cloudflare token",
    ] {
        assert!(line(&s, check).starts_with("ok"), "{check}:\n{s}");
    }
    assert!(line(&s, "Secrets decrypt").contains("MACs verified"), "{s}");
    assert!(
        line(&s, "kubectl kustomize").contains("Flux path(s) build"),
        "{s}"
    );
    assert!(line(&s, "flux-system").starts_with("skip"), "{s}");
    assert!(line(&s, "flux-system").contains("psd bootstrap"), "{s}");
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn missing_sops_yaml() {
    let sb = rendered();
    std::fs::remove_file(sb.repo().join(".sops.yaml")).unwrap();
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, ".sops.yaml", "does not exist");
    assert!(text(&out.stdout).contains("psd init"), "{}", all(&out));
}

/// A folder without psd.yaml renders psd's embedded default (another person's domain): doctor
/// says so as a failure with the fix, and render says it in a note.
#[test]
fn missing_psd_yaml() {
    let sb = rendered();
    std::fs::remove_file(sb.repo().join("psd.yaml")).unwrap();
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "psd.yaml", "no psd.yaml in");
    assert!(
        text(&out.stdout).contains("psd init --domain"),
        "{}",
        all(&out)
    );
    // (render refuses there: the tree was rendered for another description.) In a fresh
    // folder it renders the default, and says so.
    let fresh = Sandbox::new();
    let out = fresh.psd(&["render", "--dry-run"]);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("rendered the embedded default cluster"),
        "{}",
        all(&out)
    );
}

#[test]
fn missing_key() {
    let sb = rendered();
    std::fs::remove_file(sb.key_file()).unwrap();
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "key found", "no age private key");
    let s = text(&out.stdout);
    assert!(line(&s, "Secrets decrypt").starts_with("skip"), "{s}");
}

#[test]
fn wrong_key() {
    let mut sb = rendered();
    std::fs::remove_file(sb.key_file()).unwrap();
    sb.env("SOPS_AGE_KEY_FILE", FIXTURE_KEY);
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "recipient in .sops.yaml", "wrong key");
    assert_failed(&out, "Secrets decrypt", "do not");
    assert_no_secret(&all(&out), &[std::path::Path::new(FIXTURE_KEY)]);
}

#[test]
fn a_recipient_not_in_the_rules() {
    let sb = rendered();
    let other = recipient_of(std::path::Path::new(FIXTURE_KEY));
    let path = sb.repo().join("psd.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(&format!("\nsops:\n  age_recipients:\n    - {other}\n"));
    std::fs::write(&path, yaml).unwrap();
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, ".sops.yaml and psd.yaml agree", &other);
}

#[test]
fn a_key_others_can_read_and_a_key_in_git() {
    let mut sb = rendered();
    // The key moved into the repository, world-readable, and committed.
    let inside = sb.repo().join("age.key");
    std::fs::copy(sb.key_file(), &inside).unwrap();
    std::fs::remove_file(sb.key_file()).unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.env("SOPS_AGE_KEY_FILE", &inside);
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "key private", "can be read by others (mode 644)");
    assert!(text(&out.stdout).contains("chmod 600"), "{}", all(&out));
    // Ignored by init's .gitignore: not a git problem yet.
    assert!(line(&text(&out.stdout), "key not in git").starts_with("ok"));
    sb.git(&["add", "-f", "age.key"]);
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "key not in git", "tracked by git");
    assert!(
        text(&out.stdout).contains("git rm --cached age.key"),
        "{}",
        all(&out)
    );
    assert_no_secret(&all(&out), &[&inside]);
}

#[test]
fn a_tampered_secret_drift_and_a_broken_kustomization() {
    let sb = rendered();
    let gitops = sb.repo().join("gitops");
    // An encrypted value edited by hand: the MAC no longer matches.
    let f = gitops.join("databases/redis/secret.enc.yaml");
    let t = std::fs::read_to_string(&f).unwrap();
    let mac_at = t.find("mac: ENC[AES256_GCM,data:").unwrap() + 26;
    let mut b = t.clone().into_bytes();
    b[mac_at] = if b[mac_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&f, b).unwrap();
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "Secrets decrypt", "databases/redis/secret.enc.yaml");
    assert_failed(&out, "render --check", "databases/redis/secret.enc.yaml");
    std::fs::write(&f, t).unwrap();
    // A rendered file changed, and a file a kustomization lists removed.
    std::fs::write(
        gitops.join("apps/authentik/namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: elsewhere\n",
    )
    .unwrap();
    std::fs::remove_file(gitops.join("databases/redis/helmrelease.yaml")).unwrap();
    let out = sb.psd(&["doctor"]);
    assert!(line(&text(&out.stdout), "Secrets decrypt").starts_with("ok"));
    assert_failed(&out, "render --check", "apps/authentik/namespace.yaml");
    assert_failed(&out, "kubectl kustomize", "gitops/databases/redis");
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn kubectl_missing() {
    let mut sb = rendered();
    sb.path_without_kubectl();
    let out = sb.psd(&["doctor", "--cluster"]);
    assert_failed(&out, "kubectl kustomize", "kubectl is not installed");
    assert_failed(&out, "cluster", "kubectl is not installed");
    assert!(
        text(&out.stdout).contains("install kubectl"),
        "{}",
        all(&out)
    );
}

#[test]
fn cluster_unreachable() {
    let mut sb = rendered();
    let kc = unreachable_kubeconfig(sb.dir.path());
    sb.env("KUBECONFIG", &kc);
    let out = sb.psd(&["doctor", "--cluster"]);
    assert_failed(&out, "cluster", "kubectl cannot reach the cluster");
    let s = text(&out.stdout);
    assert!(
        line(&s, "cluster").contains("current context `unreachable`"),
        "{s}"
    );
    for c in ["Flux installed", "sops-age Secret", "Kustomizations Ready"] {
        assert!(line(&s, c).starts_with("skip"), "{c}:\n{s}");
    }
}

/// A `kubectl get kustomizations -A -o json` answer.
fn kustomizations(sb: &Sandbox, ready: bool) -> std::path::PathBuf {
    let (status, reason, message) = if ready {
        (
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:abc",
        )
    } else {
        (
            "False",
            "BuildFailed",
            "decryption failed for 'redis-credentials': error decrypting sops tree",
        )
    };
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "flux-system", "namespace": "flux-system"},
             "status": {"conditions": [{"type": "Ready", "status": "True",
                "reason": "ReconciliationSucceeded", "message": "Applied revision: main@sha1:abc"}]}},
            {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "databases-redis", "namespace": "flux-system"},
             "status": {"conditions": [{"type": "Ready", "status": status,
                "reason": reason, "message": message}]}}
        ]
    });
    let p = sb.dir.path().join(format!("ks-{ready}.json"));
    std::fs::write(&p, serde_json::to_string(&doc).unwrap()).unwrap();
    p
}

#[test]
fn cluster_checks_through_kubectl() {
    let mut sb = rendered();
    sb.fake_kubectl();
    // Bootstrapped: Flux pushed flux-system/.
    std::fs::create_dir_all(sb.repo().join("gitops/clusters/k3s/flux-system")).unwrap();
    let key_b64 =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(sb.key_file()).unwrap());
    let ks = kustomizations(&sb, true);
    sb.env("FAKE_FLUX", "1")
        .env("FAKE_SECRET_B64", &key_b64)
        .env("FAKE_KS_JSON", &ks);
    let out = sb.psd(&["doctor", "--cluster"]);
    // flux-system/ is not in kustomization.yaml until psd render: that is drift.
    let s = text(&out.stdout);
    assert!(
        line(&s, "cluster").contains("Kubernetes v1.33.5+k3s1"),
        "{s}"
    );
    assert!(line(&s, "Flux installed").starts_with("ok"), "{s}");
    assert!(line(&s, "sops-age Secret").starts_with("ok"), "{s}");
    assert!(line(&s, "Kustomizations Ready").contains("2 Ready"), "{s}");
    assert!(line(&s, "flux-system").starts_with("ok"), "{s}");
    let argv = sb.logged("kubectl.argv");
    assert!(
        argv.contains("get secret sops-age --namespace=flux-system"),
        "{argv}"
    );
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn cluster_failures_name_the_failing_kustomization() {
    let mut sb = rendered();
    sb.fake_kubectl();
    // The cluster holds another key than .sops.yaml's, and a Kustomization fails.
    let other =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(FIXTURE_KEY).unwrap());
    let ks = kustomizations(&sb, false);
    sb.env("FAKE_FLUX", "1")
        .env("FAKE_SECRET_B64", &other)
        .env("FAKE_KS_JSON", &ks);
    let out = sb.psd(&["doctor", "--cluster"]);
    assert_failed(&out, "sops-age Secret", "Flux cannot decrypt");
    assert_failed(
        &out,
        "Kustomizations Ready",
        "flux-system/databases-redis: decryption failed for 'redis-credentials'",
    );
    // Flux runs but this checkout has no flux-system/: pull.
    assert_failed(&out, "flux-system", "not in this checkout");
    assert_no_secret(&all(&out), &[std::path::Path::new(FIXTURE_KEY)]);

    // No Flux, no Secret.
    let mut sb = rendered();
    sb.fake_kubectl();
    let out = sb.psd(&["doctor", "--cluster"]);
    assert_failed(&out, "Flux installed", "not installed");
    assert_failed(&out, "sops-age Secret", "not in the cluster");
    assert!(
        line(&text(&out.stdout), "Kustomizations Ready").starts_with("skip"),
        "{}",
        all(&out)
    );
}

#[test]
fn the_key_from_sops_age_key_cmd_is_found_and_opens_the_secrets() {
    let mut sb = rendered();
    let vault = sb.dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    let key = vault.join("key.txt");
    std::fs::rename(sb.key_file(), &key).unwrap();
    sb.env("SOPS_AGE_KEY_CMD", format!("cat {}", key.display()));
    let out = sb.psd(&["doctor"]);
    assert_ok(&out);
    let s = text(&out.stdout);
    assert!(line(&s, "key found").contains("in SOPS_AGE_KEY_CMD"), "{s}");
    assert!(
        line(&s, "recipient in .sops.yaml").contains("(key from SOPS_AGE_KEY_CMD)"),
        "{s}"
    );
    assert!(line(&s, "Secrets decrypt").starts_with("ok"), "{s}");
    assert!(line(&s, "key private").starts_with("skip"), "{s}");
    assert_no_secret(&all(&out), &[&key]);

    // A failing command: its check fails with the exit status, and no key is shown.
    sb.env(
        "SOPS_AGE_KEY_CMD",
        format!("sh -c 'cat {}; exit 9'", key.display()),
    );
    let out = sb.psd(&["doctor"]);
    assert_failed(&out, "key source", "SOPS_AGE_KEY_CMD");
    let s = text(&out.stdout);
    assert!(line(&s, "key source").contains("exit status: 9"), "{s}");
    assert!(line(&s, "key found").starts_with("FAIL"), "{s}");
    assert_no_secret(&all(&out), &[&key]);
}
