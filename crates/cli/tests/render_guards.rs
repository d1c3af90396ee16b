//! `psd render` as processes: concurrent renders of one repository take turns, a refusal exits
//! 2 and names the file, `--force` takes a file over.

use std::path::Path;
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

/// `psd render <args>` in `repo`, with the fixture key and a scratch HOME (the user's keys and
/// configuration are never read).
fn psd_render(repo: &Path, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(PSD);
    cmd.arg("render")
        .args(args)
        .current_dir(repo)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("CLOUDFLARE_API_TOKEN");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn fixture_recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {}\n",
            fixture_recipient()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("psd.yaml"), "domain: example.org\n").unwrap();
    dir
}

#[test]
fn four_renders_at_once_take_turns_and_leave_no_drift() {
    let home = tempfile::tempdir().unwrap();
    for _ in 0..10 {
        let repo = new_repo();
        let children: Vec<_> = (0..4)
            .map(|_| {
                psd_render(repo.path(), home.path(), &[])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", text(&out));
        }
        // The last three found the tree the first wrote: every Secret agrees with every other.
        let out = psd_render(repo.path(), home.path(), &["--check"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let leftovers: Vec<_> = walk(repo.path())
            .into_iter()
            .filter(|p| p.contains(".psd-tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn a_refusal_exits_2_and_force_takes_the_file_over() {
    let home = tempfile::tempdir().unwrap();
    let repo = new_repo();
    let out = psd_render(repo.path(), home.path(), &[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let hr = repo.path().join("gitops/apps/authentik/helmrelease.yaml");
    std::fs::write(&hr, "# my own release\n").unwrap();

    let out = psd_render(repo.path(), home.path(), &[]).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("gitops/apps/authentik/helmrelease.yaml (edited since psd wrote it)")
            && all.contains("--force"),
        "{all}"
    );
    assert_eq!(std::fs::read_to_string(&hr).unwrap(), "# my own release\n");

    let out = psd_render(repo.path(), home.path(), &["--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(std::fs::read_to_string(&hr).unwrap(), "# my own release\n");

    // Without psd.yaml the embedded default would overwrite example.org's tree: refused.
    std::fs::remove_file(repo.path().join("psd.yaml")).unwrap();
    let out = psd_render(repo.path(), home.path(), &["--allow-destructive"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("domain=example.org"), "{all}");
}

#[test]
fn help_documents_force() {
    let out = Command::new(PSD)
        .args(["render", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--force") && help.contains(".psd-files"),
        "{help}"
    );
}

#[test]
fn rotate_names_one_credential_and_an_unknown_name_exits_2_listing_the_valid_ones() {
    let home = tempfile::tempdir().unwrap();
    let repo = new_repo();
    let out = psd_render(repo.path(), home.path(), &[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let before = std::fs::read(repo.path().join("gitops/databases/redis/secret.enc.yaml")).unwrap();

    let out = psd_render(repo.path(), home.path(), &["--rotate", "valkey.password"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("`valkey.password`")
            && all.contains("postgresql.password")
            && all.contains("redis.password")
            && all.contains("authentik.secret-key"),
        "{all}"
    );

    // With --check: refused by the argument parser, also exit 2.
    let out = psd_render(
        repo.path(),
        home.path(),
        &["--check", "--rotate", "redis.password"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        std::fs::read(repo.path().join("gitops/databases/redis/secret.enc.yaml")).unwrap(),
        before
    );

    let out = psd_render(repo.path(), home.path(), &["--rotate", "redis.password"])
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("rotated redis.password") && all.contains("rollout restart"),
        "{all}"
    );
    assert!(
        all.contains("updated   gitops/databases/redis/secret.enc.yaml"),
        "{all}"
    );
    assert_ne!(
        std::fs::read(repo.path().join("gitops/databases/redis/secret.enc.yaml")).unwrap(),
        before
    );
}
