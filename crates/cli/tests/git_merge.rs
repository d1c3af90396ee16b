//! `psd git setup` and the merge driver with the real `git`: two branches that changed
//! different values of one encrypted file merge cleanly (and the real `sops` decrypts the
//! result); the same value changed on both sides stays a conflict with no plaintext anywhere
//! in the work tree; `git diff` shows decrypted changes.

// A skipped judge must be reported loudly on stderr.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn tool(name: &str) -> Option<PathBuf> {
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin"));
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([venv])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and `{name}` is missing"
        );
        eprintln!("SKIPPED: `{name}` not found");
    }
    found
}

struct Repo {
    dir: tempfile::TempDir,
    sops: PathBuf,
}

impl Repo {
    fn run(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path().join(".home"))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap()
    }

    fn ok(&self, program: &Path, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program:?} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn git(&self, args: &[&str]) -> String {
        self.ok(Path::new("git"), args)
    }

    fn psd(&self, args: &[&str]) -> String {
        self.ok(Path::new(PSD), args)
    }

    fn sops(&self, args: &[&str]) -> String {
        let sops = self.sops.clone();
        self.ok(&sops, args)
    }

    /// Every file's text in the work tree (outside .git).
    fn work_tree_text(&self) -> String {
        walkdir::WalkDir::new(self.dir.path())
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".home")
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned())
            .collect()
    }
}

/// A repository with `s.enc.yaml` committed on `main`, set up for psd.
fn repo() -> Option<Repo> {
    tool("git")?;
    let sops = tool("sops")?;
    let r = Repo {
        dir: tempfile::tempdir().unwrap(),
        sops,
    };
    std::fs::create_dir(r.dir.path().join(".home")).unwrap();
    r.git(&["init", "-q", "-b", "main"]);
    let recipient = std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    std::fs::write(
        r.dir.path().join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {recipient}\n"),
    )
    .unwrap();
    std::fs::write(
        r.dir.path().join("s.enc.yaml"),
        "db:\n    user: app\n    password: base-pw\napi_token: base-token\nport: 5432\n",
    )
    .unwrap();
    r.sops(&["encrypt", "-i", "s.enc.yaml"]);
    let said = r.psd(&["git", "setup"]);
    let _ = said;
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "base"]);
    Some(r)
}

#[test]
fn setup_is_idempotent_and_never_caches_plaintext() {
    let Some(r) = repo() else { return };
    let attrs = std::fs::read_to_string(r.dir.path().join(".gitattributes")).unwrap();
    assert_eq!(attrs, "*.enc.yaml merge=psd diff=psd\n");
    let again = r.run(Path::new(PSD), &["git", "setup"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already set up"));
    assert_eq!(
        std::fs::read_to_string(r.dir.path().join(".gitattributes")).unwrap(),
        attrs
    );
    assert_eq!(
        r.git(&["config", "--local", "diff.psd.cachetextconv"])
            .trim(),
        "false"
    );
    assert!(
        r.git(&["config", "--local", "merge.psd.driver"])
            .contains("merge-driver %O %A %B %P")
    );
}

#[test]
fn different_values_on_two_branches_merge_cleanly_and_sops_reads_the_result() {
    let Some(r) = repo() else { return };
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.psd(&[
        "set",
        "s.enc.yaml",
        r#"["db"]["password"]"#,
        r#""feature-pw""#,
    ]);
    r.git(&["commit", "-q", "-am", "feature: rotate db password"]);
    r.git(&["checkout", "-q", "main"]);
    // The other side with the real sops, adding a key too.
    r.sops(&["set", "s.enc.yaml", r#"["api_token"]"#, r#""main-token""#]);
    r.sops(&["set", "s.enc.yaml", r#"["added"]"#, r#""on main""#]);
    r.git(&["commit", "-q", "-am", "main: new token"]);

    r.git(&["merge", "-q", "--no-edit", "feature"]);
    let plain = r.sops(&["decrypt", "s.enc.yaml"]);
    assert_eq!(
        plain,
        "db:\n    user: app\n    password: feature-pw\napi_token: main-token\nport: 5432\nadded: on main\n"
    );
    // Values neither side changed keep main's ciphertext.
    let merged = std::fs::read_to_string(r.dir.path().join("s.enc.yaml")).unwrap();
    let port = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("port:"))
            .unwrap()
            .to_owned()
    };
    let before = r.git(&["show", "HEAD~1:s.enc.yaml"]);
    assert_eq!(port(&merged), port(&before));
    // git diff shows the decrypted change.
    let diff = r.git(&["diff", "HEAD~1", "--", "s.enc.yaml"]);
    assert!(
        diff.contains("+    password: feature-pw") && diff.contains("-    password: base-pw"),
        "{diff}"
    );
}

/// A change of who can decrypt (`updatekeys` after a teammate joined) is visible in `git diff`
/// although the decrypted content did not change.
#[test]
fn git_diff_shows_a_change_of_recipients() {
    let Some(r) = repo() else { return };
    let teammate = "age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa";
    let rules = std::fs::read_to_string(r.dir.path().join(".sops.yaml")).unwrap();
    std::fs::write(
        r.dir.path().join(".sops.yaml"),
        rules.replace("age: ", &format!("age: {teammate},")),
    )
    .unwrap();
    r.psd(&["updatekeys", "-y", "s.enc.yaml"]);
    let diff = r.git(&["diff", "--", "s.enc.yaml"]);
    assert!(
        diff.contains(&format!("+# key group 1: age {teammate}")),
        "{diff}"
    );
    assert!(!diff.contains("password"), "content unchanged: {diff}");
}

#[test]
fn the_same_value_changed_on_both_branches_stays_a_conflict_without_plaintext() {
    let Some(r) = repo() else { return };
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.psd(&[
        "set",
        "s.enc.yaml",
        r#"["db"]["password"]"#,
        r#""feature-secret-pw""#,
    ]);
    r.psd(&[
        "set",
        "s.enc.yaml",
        r#"["api_token"]"#,
        r#""feature-token""#,
    ]);
    r.git(&["commit", "-q", "-am", "feature"]);
    r.git(&["checkout", "-q", "main"]);
    r.psd(&[
        "set",
        "s.enc.yaml",
        r#"["db"]["password"]"#,
        r#""main-secret-pw""#,
    ]);
    r.git(&["commit", "-q", "-am", "main"]);

    let out = r.run(Path::new("git"), &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(r#"conflict at ["db"]["password"]"#), "{said}");
    assert!(!said.contains("secret-pw"), "{said}");
    let status = r.git(&["status", "--porcelain"]);
    assert!(status.contains("UU s.enc.yaml"), "{status}");
    // Nothing decrypted anywhere in the work tree; ours is kept, still encrypted.
    let text = r.work_tree_text();
    assert!(
        !text.contains("secret-pw") && !text.contains("base-pw"),
        "plaintext in the work tree"
    );
    assert_eq!(
        r.sops(&[
            "decrypt",
            "--extract",
            r#"["db"]["password"]"#,
            "s.enc.yaml"
        ]),
        "main-secret-pw"
    );
    // The other side's change elsewhere is merged in, so resolving the conflict loses nothing.
    assert_eq!(
        r.sops(&["decrypt", "--extract", r#"["api_token"]"#, "s.enc.yaml"]),
        "feature-token"
    );
    assert!(said.contains("git diff MERGE_HEAD"), "{said}");
}
