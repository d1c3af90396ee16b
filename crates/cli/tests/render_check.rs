//! `psd render --check` as a process: its exit code and words without a private key, with
//! `--require-key`, and after a recipient was removed from `.sops.yaml`.

use std::path::Path;
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);
/// A recipient whose private key nobody here has.
const OTHER: &str = "age1s283pahn2yhszjxvx7qzl0aflq8zygm58rw0d87q6yjv7yrdl3zsc0ht2j";

/// `psd render <args>` in `repo` with a scratch HOME, with or without the fixture key.
fn psd_render(repo: &Path, home: &Path, with_key: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(PSD);
    cmd.arg("render")
        .args(args)
        .current_dir(repo)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("CLOUDFLARE_API_TOKEN");
    if with_key {
        cmd.env("SOPS_AGE_KEY_FILE", FIXTURE_KEY);
    }
    cmd.output().unwrap()
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

fn rule(recipients: &[&str]) -> String {
    format!(
        "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {}\n",
        recipients.join(",")
    )
}

#[test]
fn check_exit_codes_without_a_key_with_require_key_and_after_a_recipient_is_removed() {
    let repo = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let me = fixture_recipient();
    std::fs::write(repo.path().join(".sops.yaml"), rule(&[&me, OTHER])).unwrap();
    std::fs::write(repo.path().join("psd.yaml"), "domain: example.org\n").unwrap();
    let out = psd_render(repo.path(), home.path(), true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Without a key: exit 0, and it says what it did not check.
    let out = psd_render(repo.path(), home.path(), false, &["--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("no drift in what could be checked"), "{t}");
    assert!(t.contains("Not checked: the values and the MAC"), "{t}");
    // --require-key makes that a failure, naming the files.
    let out = psd_render(
        repo.path(),
        home.path(),
        false,
        &["--check", "--require-key"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("gitops/databases/redis/secret.enc.yaml"),
        "{}",
        text(&out)
    );
    // With the key, --require-key passes.
    let out = psd_render(
        repo.path(),
        home.path(),
        true,
        &["--check", "--require-key"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // --require-key means nothing without --check: a usage error.
    let out = psd_render(repo.path(), home.path(), true, &["--require-key"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // A recipient removed from the rule: drift, with or without the key, naming it.
    std::fs::write(repo.path().join(".sops.yaml"), rule(&[&me])).unwrap();
    for with_key in [false, true] {
        let out = psd_render(repo.path(), home.path(), with_key, &["--check"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(OTHER), "{stdout}");
        assert!(stdout.contains("no longer lists"), "{stdout}");
        if !with_key {
            assert!(stdout.contains("with the age private key"), "{stdout}");
        }
    }
    // A render with the key re-encrypts; then --check is clean with or without it.
    let out = psd_render(repo.path(), home.path(), true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for with_key in [false, true] {
        let out = psd_render(repo.path(), home.path(), with_key, &["--check"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
}
