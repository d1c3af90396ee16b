//! Issue 11, keys: where a first render creates the repository's key (the user's key file,
//! never the work tree), resuming an interrupted first render, legacy `age.key` repositories,
//! key sources reported as what they are, and `.sops.yaml` as the source of truth for
//! recipients. Every render here gets its own environment ([`KeyEnv::fixed`]): the user's keys
//! and the process environment are never read.

// The SKIPPED line of the judge rule goes to stderr.
#![allow(clippy::print_stderr)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use psd_render::{KeyEnv, Mode, RenderError, RenderOptions, Report, render};

const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn fixture_recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

/// A repository and a home folder outside it.
struct Scratch {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let s = Self {
            repo: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        std::fs::write(s.repo().join("psd.yaml"), "domain: example.org\n").unwrap();
        s
    }
    fn repo(&self) -> &Path {
        self.repo.path()
    }
    /// sops' user key file for this home (`~/.config/sops/age/keys.txt`).
    fn keys_txt(&self) -> PathBuf {
        self.home.path().join(".config/sops/age/keys.txt")
    }
    fn env(&self, extra: &[(&str, &str)]) -> KeyEnv {
        let mut vars = vec![("HOME".to_owned(), self.home.path().display().to_string())];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        KeyEnv::fixed(vars)
    }
    fn options(&self, mode: Mode, env: KeyEnv) -> RenderOptions {
        let mut o = RenderOptions::new(self.repo(), mode);
        o.key_env = env;
        o
    }
    fn render(&self, extra: &[(&str, &str)]) -> Result<Report, RenderError> {
        render(&self.options(Mode::Write, self.env(extra)))
    }
}

/// Recipients of `.sops.yaml`'s `age:` field.
fn sops_yaml_recipients(repo: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(repo.join(".sops.yaml")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("age: "))
        .unwrap();
    line.split(',').map(|r| r.trim().to_owned()).collect()
}

fn marker(repo: &Path) -> String {
    format!(
        "# psd: cluster key for {}",
        std::fs::canonicalize(repo).unwrap().display()
    )
}

/// Public keys in `keys_txt` marked for `repo`.
fn marked_keys(keys_txt: &Path, repo: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(keys_txt).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let m = marker(repo);
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == m)
        .map(|(i, _)| {
            lines[i + 2]
                .strip_prefix("# public key: ")
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Every file under `dir` that holds an age private key.
fn files_with_private_keys(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .unwrap()
                .windows(15)
                .any(|w| w == b"AGE-SECRET-KEY-")
        })
        .map(|e| e.path().to_owned())
        .collect()
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn sops_judge() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("sops"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sops is required in CI but missing"
        );
        eprintln!("SKIPPED: sops not available");
    }
    found
}

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn first_render_creates_the_key_in_sops_user_key_file() {
    let s = Scratch::new();
    let report = s.render(&[]).unwrap();
    let keys = s.keys_txt();
    // The key is where sops looks by default, 0600 in folders only the user can enter.
    assert_eq!(mode_of(&keys), 0o600);
    assert_eq!(mode_of(keys.parent().unwrap()), 0o700);
    let marked = marked_keys(&keys, s.repo());
    assert_eq!(marked.len(), 1);
    assert_eq!(sops_yaml_recipients(s.repo()), marked);
    // Nothing private in the work tree, and .gitignore is not touched.
    assert!(files_with_private_keys(s.repo()).is_empty());
    assert!(!s.repo().join("age.key").exists());
    assert!(!s.repo().join(".gitignore").exists());
    // The note says where, to back it up, and how Flux gets it; it never shows the key.
    let note = report
        .notes
        .iter()
        .find(|n| n.contains("created a new age key"))
        .unwrap();
    assert!(note.contains(&keys.display().to_string()), "{note}");
    assert!(note.contains("Back the key up"), "{note}");
    assert!(
        note.contains(&format!(
            "kubectl create secret generic sops-age --namespace=flux-system \
             --from-file=age.agekey={}",
            keys.display()
        )),
        "{note}"
    );
    assert!(!note.contains("AGE-SECRET-KEY"), "{note}");

    // The next render reads the key from there: every Secret checked, nothing changes.
    let again = s.render(&[]).unwrap();
    assert!(!again.has_drift(), "{:?}", again.changes);
    assert_eq!(again.unchecked().count(), 0);
    let check = render(&s.options(Mode::Check, s.env(&[]))).unwrap();
    assert!(!check.has_drift());

    // The real sops decrypts a Secret with nothing but its default key file.
    if let Some(sops) = sops_judge() {
        let out = Command::new(sops)
            .arg("decrypt")
            .arg("gitops/databases/redis/secret.enc.yaml")
            .current_dir(s.repo())
            .env_clear()
            .env("HOME", s.home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("redis-password"));
    }
}

#[test]
fn xdg_config_home_and_sops_age_key_file_choose_the_file() {
    let s = Scratch::new();
    let xdg = s.home.path().join("xdg");
    s.render(&[("XDG_CONFIG_HOME", xdg.to_str().unwrap())])
        .unwrap();
    assert_eq!(
        marked_keys(&xdg.join("sops/age/keys.txt"), s.repo()).len(),
        1
    );
    assert!(!s.keys_txt().exists());

    let t = Scratch::new();
    let file = t.home.path().join("cluster/keys.txt");
    t.render(&[("SOPS_AGE_KEY_FILE", file.to_str().unwrap())])
        .unwrap();
    assert_eq!(marked_keys(&file, t.repo()).len(), 1);
    assert!(!t.keys_txt().exists());
}

#[test]
fn an_existing_key_file_is_appended_to_never_overwritten() {
    let s = Scratch::new();
    let keys = s.keys_txt();
    std::fs::create_dir_all(keys.parent().unwrap()).unwrap();
    let theirs = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    std::fs::write(&keys, &theirs).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();

    let report = s.render(&[]).unwrap();
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(
        text.starts_with(&theirs),
        "the user's key stays first, byte for byte"
    );
    assert_eq!(marked_keys(&keys, s.repo()).len(), 1);
    assert_ne!(sops_yaml_recipients(s.repo()), [fixture_recipient()]);
    // Flux needs only the new key: the note says how to give it just that one.
    let note = report
        .notes
        .iter()
        .find(|n| n.contains("created a new age key"))
        .unwrap();
    assert!(note.contains("after the 1 key(s) it held"), "{note}");
    assert!(note.contains("holds other keys too"), "{note}");
    let cmd = note.split("Flux needs only this one: ").nth(1).unwrap();
    // The printed command extracts exactly the new key (run it, without kubectl).
    let extract = cmd.split(" | ").next().unwrap();
    let out = Command::new("sh").arg("-c").arg(extract).output().unwrap();
    let only = String::from_utf8(out.stdout).unwrap();
    // Only the comment lines go into a failure message.
    let comments: Vec<&str> = only.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(only.lines().count(), 4, "{comments:?}");
    assert_eq!(only.matches("AGE-SECRET-KEY-1").count(), 1);
    assert!(only.contains(&sops_yaml_recipients(s.repo())[0]));
}

#[test]
fn an_interrupted_first_render_resumes_with_the_stored_key() {
    let s = Scratch::new();
    // Step (a) of a first render done, then killed: the key is stored, no .sops.yaml yet.
    let pair = psd_model::AgeKeyPair::generate();
    let m = marker(s.repo());
    psd_model::append_key_file(
        &s.keys_txt(),
        &[m.trim_start_matches("# ").to_owned()],
        &pair,
    )
    .unwrap();
    // And the temporaries a run killed elsewhere leaves.
    let stale_key_tmp = s.keys_txt().with_file_name(".psd-new-Ab12Cd");
    std::fs::write(&stale_key_tmp, "AGE-SECRET-KEY-1…").unwrap();
    let stale_repo_tmp = s.repo().join(".psd-new-Zz99Yy");
    std::fs::write(&stale_repo_tmp, "AGE-SECRET-KEY-1…").unwrap();
    let stale_sops_tmp = s.repo().join("..sops.yaml.Qw3rTy");
    std::fs::write(&stale_sops_tmp, "creation_rules: []\n").unwrap();

    let report = s.render(&[]).unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("found the age key psd created for this repository")),
        "{:?}",
        report.notes
    );
    assert_eq!(
        marked_keys(&s.keys_txt(), s.repo()),
        [pair.recipient().to_string()],
        "no second key"
    );
    assert_eq!(
        sops_yaml_recipients(s.repo()),
        [pair.recipient().to_string()]
    );
    assert!(!stale_key_tmp.exists() && !stale_repo_tmp.exists() && !stale_sops_tmp.exists());
    assert!(files_with_private_keys(s.repo()).is_empty());
    assert!(!s.render(&[]).unwrap().has_drift());
}

#[test]
fn check_and_dry_run_of_a_fresh_repository_create_nothing() {
    let s = Scratch::new();
    for mode in [Mode::Check, Mode::DryRun] {
        let report = render(&s.options(mode, s.env(&[]))).unwrap();
        assert!(report.has_drift());
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("would create a new age key in")),
            "{:?}",
            report.notes
        );
    }
    assert!(!s.keys_txt().exists());
    assert!(!s.repo().join(".sops.yaml").exists());
}

#[test]
fn nowhere_to_put_a_key_is_an_error_that_says_so() {
    let s = Scratch::new();
    let err = render(&s.options(Mode::Write, KeyEnv::empty())).unwrap_err();
    assert!(matches!(err, RenderError::NoRecipients(_)), "{err}");
    assert!(err.to_string().contains("SOPS_AGE_KEY_FILE"), "{err}");
    assert!(!s.repo().join(".sops.yaml").exists());
}

#[test]
fn a_legacy_age_key_without_sops_yaml_is_resumed_not_a_dead_end() {
    let s = Scratch::new();
    let key = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    std::fs::write(s.repo().join("age.key"), &key).unwrap();
    let report = s.render(&[]).unwrap();
    assert_eq!(sops_yaml_recipients(s.repo()), [fixture_recipient()]);
    assert!(
        report.notes.iter().any(|n| n.contains("age.key")),
        "{:?}",
        report.notes
    );
    // No new key anywhere; the legacy key still opens the Secrets.
    assert!(!s.keys_txt().exists());
    let again = s.render(&[]).unwrap();
    assert!(!again.has_drift());
    assert_eq!(again.unchecked().count(), 0);
}

#[test]
fn a_legacy_age_key_is_warned_about_once_if_git_could_commit_it() {
    let s = Scratch::new();
    let key = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    std::fs::write(s.repo().join("age.key"), &key).unwrap();
    let warnings = |s: &Scratch| -> Vec<String> {
        s.render(&[])
            .unwrap()
            .warnings
            .into_iter()
            .filter(|w| w.contains("age.key"))
            .collect()
    };
    // Not a git work tree: nothing to say about git.
    assert!(warnings(&s).is_empty());
    if !git_available() {
        eprintln!("SKIPPED: git not available");
        return;
    }
    git(s.repo(), &["init", "-q"]);
    let w = warnings(&s);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("not ignored by git"), "{w:?}");
    assert!(w[0].contains(&s.keys_txt().display().to_string()), "{w:?}");
    std::fs::write(s.repo().join(".gitignore"), "/age.key\n").unwrap();
    assert!(warnings(&s).is_empty());
    git(s.repo(), &["add", "-f", "age.key"]);
    let w = warnings(&s);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("tracked by git"), "{w:?}");
    assert!(!w[0].contains("AGE-SECRET-KEY"));
}

/// A repository with `.sops.yaml` for the fixture key, rendered once with it.
fn rendered_with_fixture() -> Scratch {
    let s = Scratch::new();
    std::fs::write(
        s.repo().join(".sops.yaml"),
        psd_render::sops_yaml(&[fixture_recipient()]).unwrap(),
    )
    .unwrap();
    s.render(&[("SOPS_AGE_KEY_FILE", FIXTURE_KEY)]).unwrap();
    s
}

#[test]
fn key_sources_are_reported_as_what_they_are() {
    let s = rendered_with_fixture();
    let fails = |extra: &[(&str, &str)]| -> (String, String) {
        match s.render(extra).unwrap_err() {
            RenderError::KeySource {
                source_name,
                reason,
            } => (source_name, reason),
            other => panic!("{other}"),
        }
    };
    // SOPS_AGE_KEY_FILE naming a missing file.
    let missing = s.home.path().join("nope.txt");
    let (name, reason) = fails(&[("SOPS_AGE_KEY_FILE", missing.to_str().unwrap())]);
    assert_eq!(name, format!("SOPS_AGE_KEY_FILE={}", missing.display()));
    assert!(reason.contains("No such file"), "{reason}");
    // A malformed key, in the variable and in a file; the message never quotes it.
    let (name, reason) = fails(&[("SOPS_AGE_KEY", "AGE-SECRET-KEY-1NOTAKEY")]);
    assert_eq!(name, "SOPS_AGE_KEY");
    assert!(reason.contains("malformed"), "{reason}");
    assert!(!reason.contains("NOTAKEY"));
    let bad = s.home.path().join("bad.txt");
    std::fs::write(&bad, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
    let (name, _) = fails(&[("SOPS_AGE_KEY_FILE", bad.to_str().unwrap())]);
    assert!(name.starts_with("SOPS_AGE_KEY_FILE="), "{name}");
    // A failing SOPS_AGE_KEY_CMD: its exit status and first line of standard error.
    let (name, reason) = fails(&[(
        "SOPS_AGE_KEY_CMD",
        "sh -c 'echo \"vault is sealed\" >&2; exit 4'",
    )]);
    assert_eq!(name, "SOPS_AGE_KEY_CMD");
    assert!(reason.contains("exit status: 4"), "{reason}");
    assert!(reason.contains("vault is sealed"), "{reason}");
    // A malformed default keys.txt (psd would append to it).
    std::fs::create_dir_all(s.keys_txt().parent().unwrap()).unwrap();
    std::fs::write(s.keys_txt(), "not a key\n").unwrap();
    let (name, _) = fails(&[("SOPS_AGE_KEY_FILE", FIXTURE_KEY)]);
    assert_eq!(name, s.keys_txt().display().to_string());
    std::fs::remove_file(s.keys_txt()).unwrap();
    // The whole message names the source and what to do.
    let err = s.render(&[("SOPS_AGE_KEY", "garbage")]).unwrap_err();
    assert!(
        err.to_string().contains("fix this source or unset it"),
        "{err}"
    );

    // A missing default keys.txt is no error: the Secrets are kept unchecked.
    let report = s.render(&[]).unwrap();
    assert!(report.unchecked().count() >= 4, "{:?}", report.changes);
    // Neither is a passphrase-protected default SSH key (sops only tries those).
    std::fs::create_dir_all(s.home.path().join(".ssh")).unwrap();
    std::fs::write(s.home.path().join(".ssh/id_ed25519"), "not a key").unwrap();
    s.render(&[("SOPS_AGE_KEY_FILE", FIXTURE_KEY)]).unwrap();
}

#[test]
fn a_first_render_creates_the_missing_sops_age_key_file() {
    let s = Scratch::new();
    let file = s.home.path().join("new/keys.txt");
    s.render(&[("SOPS_AGE_KEY_FILE", file.to_str().unwrap())])
        .unwrap();
    assert_eq!(marked_keys(&file, s.repo()).len(), 1);
}

#[test]
fn sops_yaml_is_the_source_of_truth_for_recipients() {
    let s = rendered_with_fixture();
    let other = psd_model::AgeKeyPair::generate().recipient().to_string();
    let fixture = fixture_recipient();
    let with = |list: &[&str]| {
        std::fs::write(
            s.repo().join("psd.yaml"),
            format!(
                "domain: example.org\nsops:\n  age_recipients: [{}]\n",
                list.join(", ")
            ),
        )
        .unwrap();
    };
    // The same set (order and repeats do not matter) is fine.
    with(&[&fixture, &fixture]);
    s.render(&[("SOPS_AGE_KEY_FILE", FIXTURE_KEY)]).unwrap();
    // A different set is refused in every mode, naming both sets and how to fix it.
    with(&[&fixture, &other]);
    let before = std::fs::read(s.repo().join(".sops.yaml")).unwrap();
    for mode in [Mode::Write, Mode::Check] {
        let err =
            render(&s.options(mode, s.env(&[("SOPS_AGE_KEY_FILE", FIXTURE_KEY)]))).unwrap_err();
        let RenderError::RecipientsConflict {
            sops_yaml,
            psd_yaml,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(sops_yaml, std::slice::from_ref(&fixture));
        assert_eq!(psd_yaml.len(), 2);
        let text = err.to_string();
        assert!(
            text.contains(&other) && text.contains("sops updatekeys"),
            "{text}"
        );
        assert!(
            text.contains("remove sops.age_recipients from psd.yaml"),
            "{text}"
        );
    }
    assert_eq!(std::fs::read(s.repo().join(".sops.yaml")).unwrap(), before);
}

#[test]
fn key_env_debug_never_shows_values() {
    let env = KeyEnv::fixed([("SOPS_AGE_KEY", "AGE-SECRET-KEY-1XYZ")]);
    let text = format!("{env:?}");
    assert!(
        text.contains("SOPS_AGE_KEY") && !text.contains("XYZ"),
        "{text}"
    );
    assert_eq!(env.var("SOPS_AGE_KEY").unwrap(), "AGE-SECRET-KEY-1XYZ");
    assert_eq!(
        KeyEnv::fixed([("SOPS_AGE_KEY", "")]).var("SOPS_AGE_KEY"),
        None
    );
    assert_eq!(
        KeyEnv::fixed([("HOME", "/h")]).key_file(),
        Some(PathBuf::from("/h/.config/sops/age/keys.txt"))
    );
    assert_eq!(KeyEnv::empty().key_file(), None);
}

#[test]
fn a_key_file_that_cannot_be_written_stops_before_sops_yaml() {
    let s = Scratch::new();
    // Its folder is a file (a read-only folder would not stop root).
    let blocker = s.home.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let file = blocker.join("keys.txt");
    let err = s
        .render(&[("SOPS_AGE_KEY_FILE", file.to_str().unwrap())])
        .unwrap_err();
    assert!(matches!(err, RenderError::CreateKey { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&blocker.display().to_string()), "{text}");
    assert!(text.contains("Set SOPS_AGE_KEY_FILE"), "{text}");
    // Nothing names a key that does not exist.
    assert!(!s.repo().join(".sops.yaml").exists());
    assert!(!s.repo().join("gitops").exists());
}
