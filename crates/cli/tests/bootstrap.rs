//! `psd bootstrap`: the steps in order, the key going only to kubectl or a pipe, and a clear
//! error for each mistake (no .sops.yaml, no key, wrong key, no rule, kubectl or flux missing,
//! cluster unreachable).

mod pty;
mod setup_support;

use pty::Pty;
use setup_support::{
    FIXTURE_KEY, Sandbox, all, assert_exit, assert_no_secret, assert_ok, recipient_of, text,
    unreachable_kubeconfig,
};

/// A repository after `psd init`, with a GitHub remote.
fn initialised() -> Sandbox {
    let sb = Sandbox::new();
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["remote", "add", "origin", "git@github.com:me/cluster.git"]);
    sb.init(&["--cluster-name", "home"]);
    sb
}

#[test]
fn prints_the_steps_in_order_without_the_key() {
    let sb = initialised();
    let out = sb.psd(&["bootstrap"]);
    assert_ok(&out);
    let s = text(&out.stdout);
    let at = |needle: &str| {
        s.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing:\n{s}"))
    };
    let ns = at("kubectl create namespace flux-system");
    let secret = at("psd bootstrap --print-secret | kubectl apply --server-side");
    let flux = at(
        "flux bootstrap git --url=ssh://git@github.com/me/cluster.git --branch=main \
         --path=gitops/clusters/home",
    );
    let pull = at("git pull");
    assert!(ns < secret && secret < flux && flux < pull, "{s}");
    assert!(s.contains(&recipient_of(&sb.key_file())), "{s}");
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn github_command_and_a_url_with_a_token() {
    let sb = initialised();
    let out = sb.psd(&["bootstrap", "--github", "--personal", "--branch", "prod"]);
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains(
            "flux bootstrap github --owner=me --repository=cluster --personal --branch=prod \
             --path=gitops/clusters/home"
        ),
        "{}",
        all(&out)
    );
    let out = sb.psd(&[
        "bootstrap",
        "--url",
        "https://me:ghp_tokenvalue123@git.example.org/me/cluster.git",
    ]);
    assert_ok(&out);
    let s = all(&out);
    assert!(!s.contains("ghp_tokenvalue123"), "{s}");
    assert!(
        s.contains("--url=https://me@git.example.org/me/cluster.git"),
        "{s}"
    );
    assert!(s.contains("GIT_PASSWORD"), "{s}");
    let out = sb.psd(&["bootstrap", "--url", "/srv/git/cluster.git"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("cannot read it"),
        "{}",
        all(&out)
    );
}

#[test]
fn print_secret_writes_the_namespace_and_the_secret_to_a_pipe() {
    let sb = initialised();
    let out = sb.psd(&["bootstrap", "--print-secret"]);
    assert_ok(&out);
    // It says it printed, not that it applied anything.
    assert!(
        text(&out.stderr).contains("nothing was applied"),
        "{}",
        text(&out.stderr)
    );
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert_eq!(docs[0]["kind"], "Namespace");
    assert_eq!(docs[0]["metadata"]["name"], "flux-system");
    assert_eq!(docs[1]["kind"], "Secret");
    assert_eq!(docs[1]["metadata"]["namespace"], "flux-system");
    assert_eq!(docs[1]["metadata"]["name"], "sops-age");
    let value = docs[1]["stringData"]["age.agekey"].as_str().unwrap();
    let keys = std::fs::read_to_string(sb.key_file()).unwrap();
    let secret = keys
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    assert!(value.contains(secret));
    // Only the Secret carries it: not the messages.
    assert_no_secret(&text(&out.stderr), &[&sb.key_file()]);
}

#[test]
fn apply_creates_the_namespace_then_the_secret_through_kubectl() {
    let mut sb = initialised();
    sb.fake_kubectl();
    sb.fake_flux();
    let out = sb.psd(&["bootstrap", "--apply"]);
    assert_ok(&out);
    let argv = sb.logged("kubectl.argv");
    let calls: Vec<&str> = argv.lines().collect();
    assert_eq!(calls.len(), 2, "{argv}");
    for c in &calls {
        assert!(
            c.starts_with("apply --server-side --field-manager=psd") && c.ends_with("-f -"),
            "{c}"
        );
    }
    let first = sb.logged("kubectl.stdin.0");
    assert!(
        first.contains("kind: Namespace") && !first.contains("kind: Secret"),
        "{first}"
    );
    let second = sb.logged("kubectl.stdin.1");
    assert!(
        second.contains("name: sops-age") && second.contains("age.agekey: |"),
        "{second}"
    );
    assert!(second.contains("AGE-SECRET-KEY-1"));
    let s = text(&out.stdout);
    assert!(s.contains("secret/sops-age serverside-applied"), "{s}");
    assert!(
        s.contains("flux bootstrap git --url=ssh://git@github.com/me/cluster.git"),
        "{s}"
    );
    assert!(s.contains("git pull"), "{s}");
    assert!(!s.contains("--print-secret"), "{s}");
    assert_no_secret(&all(&out), &[&sb.key_file()]);
    // flux is not run: bootstrap pushes to the repository, the user runs it.
    assert_eq!(sb.logged("flux.argv"), "");
    // Nothing of the key landed in the repository.
    let walk = walkdir::WalkDir::new(sb.repo());
    for e in walk
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        let t = std::fs::read(e.path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&t).contains("AGE-SECRET-KEY-1"),
            "{}",
            e.path().display()
        );
    }
}

#[test]
fn apply_without_kubectl_or_flux_says_how_to_install_them() {
    let mut sb = initialised();
    sb.fake_flux();
    sb.path_without_kubectl();
    let out = sb.psd(&["bootstrap", "--apply"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains("kubectl is not installed") && e.contains("install kubectl"),
        "{e}"
    );
    assert!(e.contains("nothing was applied"), "{e}");

    let mut sb = initialised();
    sb.fake_kubectl();
    sb.path_without_kubectl();
    let out = sb.psd(&["bootstrap", "--apply"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains("flux is not installed") && e.contains("fluxcd.io"),
        "{e}"
    );
    assert_eq!(sb.logged("kubectl.argv"), "", "nothing may be applied");
}

#[test]
fn apply_to_an_unreachable_cluster_sends_no_key() {
    let mut sb = initialised();
    sb.fake_flux();
    let kc = unreachable_kubeconfig(sb.dir.path());
    sb.env("KUBECONFIG", &kc);
    let out = sb.psd(&["bootstrap", "--apply"]);
    assert_exit(&out, 1);
    let e = text(&out.stderr);
    assert!(e.contains("kubectl cannot reach the cluster"), "{e}");
    assert!(e.contains("current context `unreachable`"), "{e}");
    assert!(e.contains("tailscale status"), "{e}");
    assert!(
        e.contains("nothing was applied (the flux-system namespace)"),
        "{e}"
    );
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn a_refused_apply_is_reported_without_the_key() {
    let mut sb = initialised();
    sb.fake_kubectl();
    sb.fake_flux();
    let keys = std::fs::read_to_string(sb.key_file()).unwrap();
    let secret = keys
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    // A kubectl that echoes the key in its error: psd must not pass it on.
    sb.env(
        "FAKE_APPLY_FAIL",
        format!("Error from server (Forbidden): secrets is forbidden: {secret}"),
    );
    let out = sb.psd(&["bootstrap", "--apply"]);
    assert_exit(&out, 1);
    let e = text(&out.stderr);
    assert!(e.contains("kubectl could not apply"), "{e}");
    assert_no_secret(&all(&out), &[&sb.key_file()]);
}

#[test]
fn missing_sops_yaml() {
    let sb = initialised();
    std::fs::remove_file(sb.repo().join(".sops.yaml")).unwrap();
    let out = sb.psd(&["bootstrap"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains(".sops.yaml does not exist") && e.contains("psd init"),
        "{e}"
    );
}

#[test]
fn missing_key() {
    let sb = initialised();
    std::fs::remove_file(sb.key_file()).unwrap();
    let out = sb.psd(&["bootstrap"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(e.contains("no age private key found"), "{e}");
    assert!(e.contains("SOPS_AGE_KEY_FILE"), "{e}");
}

#[test]
fn wrong_key() {
    let mut sb = initialised();
    std::fs::remove_file(sb.key_file()).unwrap();
    sb.env("SOPS_AGE_KEY_FILE", FIXTURE_KEY);
    let out = sb.psd(&["bootstrap", "--print-secret"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(e.contains("wrong key"), "{e}");
    assert!(
        e.contains(&recipient_of(std::path::Path::new(FIXTURE_KEY))),
        "{e}"
    );
    assert_eq!(text(&out.stdout), "", "no Secret for a wrong key");
}

#[test]
fn a_missing_key_file_named_by_sops_age_key_file() {
    let mut sb = initialised();
    std::fs::remove_file(sb.key_file()).unwrap();
    let missing = sb.dir.path().join("nowhere/keys.txt");
    sb.env("SOPS_AGE_KEY_FILE", &missing);
    let out = sb.psd(&["bootstrap"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains("SOPS_AGE_KEY_FILE=") && e.contains("nowhere/keys.txt"),
        "{e}"
    );
}

#[test]
fn no_rule_for_the_secrets() {
    let sb = initialised();
    let r = recipient_of(&sb.key_file());
    std::fs::write(
        sb.repo().join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: ^apps/\n    age: {r}\n"),
    )
    .unwrap();
    let out = sb.psd(&["bootstrap"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains(".sops.yaml") && e.contains("no matching creation rules"),
        "{e}"
    );
}

/// Moves the sandbox's key out of sops' default places into `vault/key.txt` and returns it.
fn key_only_through_a_command(sb: &mut Sandbox) -> std::path::PathBuf {
    let vault = sb.dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    let moved = vault.join("key.txt");
    std::fs::rename(sb.key_file(), &moved).unwrap();
    sb.env("SOPS_AGE_KEY_CMD", format!("cat {}", moved.display()));
    moved
}

#[test]
fn the_key_from_sops_age_key_cmd_goes_into_the_secret() {
    let mut sb = initialised();
    let key = key_only_through_a_command(&mut sb);
    let out = sb.psd(&["bootstrap", "--print-secret"]);
    assert_ok(&out);
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    let value = docs[1]["stringData"]["age.agekey"].as_str().unwrap();
    let secret = std::fs::read_to_string(&key).unwrap();
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    assert!(value.contains(secret), "the command's key is the Secret's");
    assert!(
        text(&out.stderr).contains("from SOPS_AGE_KEY_CMD"),
        "{}",
        text(&out.stderr)
    );
    assert_no_secret(&text(&out.stderr), &[&key]);
    // The plan names the source, never the key.
    let out = sb.psd(&["bootstrap"]);
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains(&format!(
            "the key of {} from SOPS_AGE_KEY_CMD",
            recipient_of(&key)
        )),
        "{}",
        all(&out)
    );
    assert_no_secret(&all(&out), &[&key]);
}

#[test]
fn a_failing_sops_age_key_cmd_is_a_clear_error() {
    let mut sb = initialised();
    let key = key_only_through_a_command(&mut sb);
    // The command prints the key, then fails: its output must not be shown.
    sb.env(
        "SOPS_AGE_KEY_CMD",
        format!(
            "sh -c 'cat {}; echo \"vault: sealed\" >&2; exit 3'",
            key.display()
        ),
    );
    let out = sb.psd(&["bootstrap", "--print-secret"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains("cannot use the age key in SOPS_AGE_KEY_CMD: command sh failed: exit status: 3 (vault: sealed)"),
        "{e}"
    );
    assert!(e.contains("Run the command yourself"), "{e}");
    assert_eq!(text(&out.stdout), "", "no Secret without a key");
    assert_no_secret(&all(&out), &[&key]);
    // A command that does not exist.
    let mut sb = initialised();
    key_only_through_a_command(&mut sb);
    sb.env("SOPS_AGE_KEY_CMD", "psd-no-such-key-tool --get age");
    let out = sb.psd(&["bootstrap"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(
        e.contains("SOPS_AGE_KEY_CMD: failed to execute command psd-no-such-key-tool"),
        "{e}"
    );
}

#[test]
fn print_secret_refuses_a_terminal() {
    let sb = initialised();
    let t = Pty::spawn(sb.command(&["bootstrap", "--print-secret"]));
    let (status, shown) = t.finish();
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("--print-secret writes the private key, and standard output is a terminal"),
        "{shown}"
    );
    assert!(
        shown.contains("psd bootstrap --print-secret | kubectl apply"),
        "{shown}"
    );
    assert_no_secret(&shown, &[&sb.key_file()]);
    // Without --print-secret, the plan (no key in it) is shown on the terminal.
    let t = Pty::spawn(sb.command(&["bootstrap"]));
    let (status, shown) = t.finish();
    assert!(status.success(), "{shown}");
    assert!(shown.contains("flux bootstrap git"), "{shown}");
    assert_no_secret(&shown, &[&sb.key_file()]);
}
