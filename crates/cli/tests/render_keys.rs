//! `psd render` as a process, issue 11 (keys): a first render puts the key where sops and
//! `psd decrypt` find it and says so; key problems exit 2 naming their source. Each run gets a
//! scratch HOME: the user's keys are never read or written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

/// `psd <args>` in `repo` with HOME = `home` and none of sops' key variables set.
fn psd(repo: &Path, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(PSD);
    cmd.args(args)
        .current_dir(repo)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_CMD")
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

fn scratch() -> (tempfile::TempDir, tempfile::TempDir) {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("psd.yaml"), "domain: example.org\n").unwrap();
    (repo, tempfile::tempdir().unwrap())
}

fn keys_txt(home: &Path) -> PathBuf {
    home.join(".config/sops/age/keys.txt")
}

#[test]
fn first_render_key_is_found_by_psd_decrypt_and_announced() {
    let (repo, home) = scratch();
    let out = psd(repo.path(), home.path(), &["render"]).output().unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let keys = keys_txt(home.path());
    assert!(keys.is_file());
    assert!(!repo.path().join("age.key").exists());
    assert!(
        !all.contains("AGE-SECRET-KEY"),
        "the key is never printed: {all}"
    );
    assert!(
        all.contains(&format!(
            "created a new age key for this repository in {}",
            keys.display()
        )),
        "{all}"
    );
    assert!(all.contains("Back the key up now"), "{all}");
    assert!(
        all.contains(&format!(
            "kubectl create secret generic sops-age --namespace=flux-system \
             --from-file=age.agekey={}",
            keys.display()
        )),
        "{all}"
    );
    // `psd decrypt` in the same folder finds the key (it exited 128 when the key was age.key).
    let out = psd(
        repo.path(),
        home.path(),
        &["decrypt", "gitops/databases/redis/secret.enc.yaml"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("redis-password"));
    // And the next check has nothing to say.
    let out = psd(repo.path(), home.path(), &["render", "--check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("unchecked"));
}

#[test]
fn key_problems_exit_2_naming_their_source() {
    let (repo, home) = scratch();
    let recipient = std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    std::fs::write(
        repo.path().join(".sops.yaml"),
        psd_render::sops_yaml(std::slice::from_ref(&recipient)).unwrap(),
    )
    .unwrap();
    let missing = home.path().join("keys-typo.txt");
    let out = psd(repo.path(), home.path(), &["render"])
        .env("SOPS_AGE_KEY_FILE", &missing)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!("SOPS_AGE_KEY_FILE={}", missing.display())),
        "{all}"
    );
    assert!(!repo.path().join("gitops").exists());

    let out = psd(repo.path(), home.path(), &["render", "--check"])
        .env(
            "SOPS_AGE_KEY_CMD",
            "sh -c 'echo \"op: not signed in\" >&2; exit 1'",
        )
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("SOPS_AGE_KEY_CMD") && all.contains("op: not signed in"),
        "{all}"
    );

    // psd.yaml's recipients disagree with .sops.yaml: refused, both named.
    std::fs::write(
        repo.path().join("psd.yaml"),
        "domain: example.org\nsops:\n  age_recipients: [age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa]\n",
    )
    .unwrap();
    let out = psd(repo.path(), home.path(), &["render"])
        .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&recipient) && all.contains("sops updatekeys"),
        "{all}"
    );
}

/// A deleted `.sops.yaml` is not silently rebuilt for the render's own key when the tree's
/// encrypted files are also encrypted to others (a teammate, Flux's key): that would cut them
/// off. With only psd's own key in the files, nobody loses access and the render goes on.
#[test]
fn a_missing_sops_yaml_never_drops_a_recipient_the_files_have() {
    let (repo, home) = scratch();
    let out = psd(repo.path(), home.path(), &["render"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let sops_yaml = repo.path().join(".sops.yaml");
    let mine = std::fs::read_to_string(&sops_yaml).unwrap();

    // Only the repository's own key: deleting .sops.yaml and rendering restores the same rule.
    std::fs::remove_file(&sops_yaml).unwrap();
    let out = psd(repo.path(), home.path(), &["render"]).output().unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("found the age key psd created for this repository"),
        "{all}"
    );
    assert_eq!(std::fs::read_to_string(&sops_yaml).unwrap(), mine);

    // A teammate added: every file is encrypted to both.
    let teammate = "age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa";
    let own = mine
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("age1"))
        .unwrap()
        .to_owned();
    std::fs::write(
        &sops_yaml,
        psd_render::sops_yaml(&[own.clone(), teammate.to_owned()]).unwrap(),
    )
    .unwrap();
    let out = psd(
        repo.path(),
        home.path(),
        &["updatekeys", "-y", "gitops/databases/redis/secret.enc.yaml"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let secret = repo.path().join("gitops/databases/redis/secret.enc.yaml");
    let before = std::fs::read(&secret).unwrap();
    assert!(String::from_utf8_lossy(&before).contains(teammate));

    // .sops.yaml deleted: refused, exit 2, the teammate named, nothing written.
    std::fs::remove_file(&sops_yaml).unwrap();
    let out = psd(repo.path(), home.path(), &["render"]).output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains(".sops.yaml is missing"), "{all}");
    assert!(all.contains(teammate), "{all}");
    assert!(all.contains("git checkout -- .sops.yaml"), "{all}");
    assert!(!sops_yaml.exists());
    assert_eq!(std::fs::read(&secret).unwrap(), before);

    // Naming both in psd.yaml is the documented way out.
    std::fs::write(
        repo.path().join("psd.yaml"),
        format!("domain: example.org\nsops:\n  age_recipients: [{own}, {teammate}]\n"),
    )
    .unwrap();
    let out = psd(repo.path(), home.path(), &["render"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&sops_yaml)
            .unwrap()
            .contains(teammate)
    );
}
