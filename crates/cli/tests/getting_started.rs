//! docs/GETTING_STARTED.md, run: every shell block of steps 2 to 6, in order, in one shell, in
//! a sandbox (its own HOME, a bare repository standing in for the Git host), then the steps
//! `psd bootstrap` prints, as a user runs them. `kubectl` and `flux` are fakes that answer as a
//! cluster would and record what they were asked (the real kubectl still builds kustomize
//! folders); `flux bootstrap` pushes a `flux-system/` folder to the remote as the real one does.
//! `psql` and `redis-cli` are fakes that check the connection variables `psd connect` gives
//! them. The path must work as written: each command must succeed.
//!
//! Step 1 (installing psd with cargo) is the binary under test.

#![allow(clippy::print_stderr)]

mod setup_support;

use std::path::Path;
use std::process::Command;

use setup_support::{Sandbox, assert_no_secret, which};

const GUIDE: &str = include_str!("../../../docs/GETTING_STARTED.md");
const FLUX_SYSTEM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../lint/tests/fixtures/foreign/flux-example/clusters/production/flux-system"
);
const REMOTE_IN_GUIDE: &str = "git@github.com:you/my-cluster.git";

/// The shell blocks of the guide's steps 2 to 6 (`## 2.` … `## 6.`), in order.
fn steps() -> Vec<String> {
    let mut out = Vec::new();
    let mut step = 0;
    let mut block: Option<String> = None;
    for line in GUIDE.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            step = rest
                .split('.')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
        match (&mut block, line.trim()) {
            (None, "```sh") => block = Some(String::new()),
            (Some(b), "```") => {
                if (2..=6).contains(&step) {
                    out.push(std::mem::take(b));
                }
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn sh(sb: &Sandbox, cwd: &Path, script: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_psd")).parent().unwrap();
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", format!("{}:{}", bin.display(), sb.path))
        .env("HOME", sb.home())
        .env("XDG_CONFIG_HOME", sb.home().join(".config"))
        .env("GIT_CONFIG_GLOBAL", sb.home().join(".gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("KUBECONFIG", sb.dir.path().join("no-kubeconfig"))
        .envs(sb.extra_env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

#[test]
fn the_getting_started_path_works_as_written() {
    if which("kubectl").is_none() || which("git").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and kubectl or git is missing"
        );
        eprintln!("SKIPPED: kubectl or git not found");
        return;
    }
    let steps = steps();
    assert!(steps.len() >= 5, "{steps:?}");
    let mut sb = Sandbox::new();
    let home = sb.home();
    let remote = sb.dir.path().join("remote.git");
    let log = sb.log();
    std::fs::write(
        home.join("cloudflare-token.txt"),
        "cf-token-getting-started-42\n",
    )
    .unwrap();
    // The Git host: a bare repository that pushes to the guide's URL land in.
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {:?}", out);
    };
    git(&[
        "init",
        "-q",
        "--bare",
        "-b",
        "main",
        &remote.display().to_string(),
    ]);
    for (k, v) in [
        ("user.name", "Newcomer".to_owned()),
        ("user.email", "newcomer@example.org".to_owned()),
        ("init.defaultBranch", "main".to_owned()),
        (
            &format!("url.{}.insteadOf", remote.display()),
            REMOTE_IN_GUIDE.to_owned(),
        ),
    ] {
        git(&["config", "--global", k, &v]);
    }
    // A cluster: the fake kubectl answers with Flux installed, every Kustomization Ready and
    // the key Secret that `psd bootstrap --apply` sent (recorded in the log).
    sb.fake_kubectl();
    let ks = sb.dir.path().join("ks.json");
    std::fs::write(
        &ks,
        r#"{"items":[{"metadata":{"name":"flux-system","namespace":"flux-system"},"status":{"conditions":[{"type":"Ready","status":"True","message":"Applied revision: main"}]}}]}"#,
    )
    .unwrap();
    sb.env("FAKE_FLUX", "1").env("FAKE_KS_JSON", &ks);
    // flux: `bootstrap` commits flux-system/ to the remote at --path, as the real one does.
    let flux_system = Path::new(FLUX_SYSTEM);
    sb.fake(
        "flux",
        &format!(
            r#"#!/bin/bash
set -eu
echo "$*" >> {log}/flux.argv
[ "$1" = bootstrap ] || exit 0
path=$(printf '%s\n' "$@" | sed -n 's/^--path=//p')
work=$(mktemp -d)
git clone -q {remote} "$work/r"
mkdir -p "$work/r/$path/flux-system"
cp {fs}/gotk-components.yaml {fs}/kustomization.yaml "$work/r/$path/flux-system/"
sed "s#./clusters/production#./$path#; s#ssh://git@github.com/example/fleet#{remote}#" {fs}/gotk-sync.yaml > "$work/r/$path/flux-system/gotk-sync.yaml"
git -C "$work/r" add -A
git -C "$work/r" commit -q -m "Add Flux sync manifests"
git -C "$work/r" push -q origin HEAD
"#,
            log = log.display(),
            remote = remote.display(),
            fs = flux_system.display(),
        ),
    );
    // Clients: they must be given the connection in their environment.
    for (name, vars) in [
        (
            "psql",
            "PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE",
        ),
        ("redis-cli", "REDISCLI_AUTH"),
    ] {
        sb.fake(
            name,
            &format!(
                "#!/bin/bash\nfor v in {vars}; do [ -n \"${{!v:-}}\" ] || {{ echo \"{name}: $v not set\" >&2; exit 9; }}; done\necho \"{name} $*\" >> {log}/clients\n",
                log = log.display()
            ),
        );
    }

    let cluster = home.join("my-cluster");
    let mut transcript = String::new();
    for (i, block) in steps.iter().enumerate() {
        let cwd = if i == 0 {
            home.clone()
        } else {
            cluster.clone()
        };
        let out = sh(&sb, &cwd, block);
        transcript.push_str(&format!(
            "$ {block}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        assert!(
            out.status.success(),
            "step block {} of docs/GETTING_STARTED.md failed:\n{block}\n{transcript}",
            i + 1
        );
        if block.contains("psd bootstrap --apply") {
            // The rest of what `psd bootstrap` prints, run as the user runs it.
            let printed = sh(&sb, &cluster, "psd bootstrap");
            let text = String::from_utf8_lossy(&printed.stdout).into_owned();
            let rest: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("flux "))
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .collect();
            assert!(
                rest.iter().any(|l| l.starts_with("flux bootstrap")) && rest.contains(&"git pull"),
                "{text}"
            );
            // The cluster now holds the key Secret `--apply` sent (the fake answers with the key).
            let sent = std::fs::read_to_string(log.join("kubectl.stdin.1")).unwrap_or_default();
            assert!(sent.contains("age.agekey"), "{sent}");
            let key = std::fs::read(sb.key_file()).unwrap();
            use base64::Engine as _;
            sb.env(
                "FAKE_SECRET_B64",
                base64::engine::general_purpose::STANDARD.encode(key),
            );
            let out = sh(&sb, &cluster, &rest.join("\n"));
            transcript.push_str(&format!(
                "$ {}\n{}{}",
                rest.join("\n"),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
            assert!(out.status.success(), "psd bootstrap's steps:\n{transcript}");
        }
    }
    // Flux got the repository and the path psd renders to; the clients got their connection.
    let flux = std::fs::read_to_string(log.join("flux.argv")).unwrap();
    assert!(
        flux.contains("bootstrap git --url=ssh://git@github.com/you/my-cluster.git")
            && flux.contains("--path=gitops/clusters/k3s"),
        "{flux}"
    );
    let clients = std::fs::read_to_string(log.join("clients")).unwrap_or_default();
    assert!(
        clients.contains("psql") && clients.contains("redis-cli"),
        "{clients}\n{transcript}"
    );
    // The remote holds the rendered tree with flux-system listed, and no key.
    let listed = Command::new("git")
        .args(["show", "main:gitops/clusters/k3s/kustomization.yaml"])
        .current_dir(&remote)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("flux-system"),
        "{transcript}"
    );
    assert_no_secret(&transcript, &[&sb.key_file()]);
    assert!(!transcript.contains("cf-token-getting-started-42"));
}
