//! `psd edit` with scripted editors, against the real `sops edit` given the same editor: the
//! result, the minimal diff, the exit codes, the parse-error loop, new files, and that no
//! plaintext is left when the editor is interrupted.

// A skipped judge must be reported loudly on stderr.
#![allow(clippy::print_stderr)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn sops() -> Option<PathBuf> {
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin"));
    let found = std::env::var_os("PSD_SOPS").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([venv])
            .map(|d| d.join("sops"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and the real sops is missing"
        );
        eprintln!("SKIPPED: real `sops` not found (PSD_SOPS, PATH, .venv/bin/sops)");
    }
    found
}

fn recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

struct Scratch {
    dir: tempfile::TempDir,
    tmp: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        Scratch { dir, tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An executable editor script.
    fn editor(&self, name: &str, body: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn command(&self, tool: &Path, editor: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(tool);
        c.args(args)
            .current_dir(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("TMPDIR", &self.tmp)
            .env("EDITOR", editor)
            .env_remove("SOPS_EDITOR");
        c
    }

    fn run(&self, tool: &Path, editor: &Path, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(tool, editor, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `name` encrypted by the real sops.
    fn encrypted(&self, sops: &Path, name: &str, plain: &str) {
        std::fs::write(self.path(name), plain).unwrap();
        let out = Command::new(sops)
            .args(["encrypt", "--age", &recipient(), "-i", name])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn decrypt(&self, sops: &Path, name: &str) -> String {
        let out = Command::new(sops)
            .args(["decrypt", name])
            .current_dir(self.dir.path())
            .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn tmp_is_empty(&self) -> bool {
        std::fs::read_dir(&self.tmp).unwrap().count() == 0
    }
}

const DOC: &str = "user: admin\npassword: old\nport: 5432\n";

#[test]
fn an_edit_decrypts_as_with_sops_edit_and_is_a_three_line_diff() {
    let Some(sops) = sops() else { return };
    let s = Scratch::new();
    let editor = s.editor(
        "ed.sh",
        r#"sed -i 's/^password: old$/password: "n3w é"/' "$1""#,
    );
    s.encrypted(&sops, "mine.yaml", DOC);
    std::fs::copy(s.path("mine.yaml"), s.path("theirs.yaml")).unwrap();
    let before = std::fs::read_to_string(s.path("mine.yaml")).unwrap();

    let out = s.run(Path::new(PSD), &editor, &["edit", "mine.yaml"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = s.run(&sops, &editor, &["edit", "theirs.yaml"], b"");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        s.decrypt(&sops, "mine.yaml"),
        s.decrypt(&sops, "theirs.yaml")
    );
    assert!(s.decrypt(&sops, "mine.yaml").contains("password: n3w é"));

    let after = std::fs::read_to_string(s.path("mine.yaml")).unwrap();
    let changed: Vec<&str> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .map(|(_, b)| b.trim_start().split(':').next().unwrap())
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(
        changed.contains(&"password")
            && changed
                .iter()
                .all(|k| ["password", "mac", "lastmodified"].contains(k)),
        "{changed:?}"
    );
    assert!(s.tmp_is_empty());
}

#[test]
fn no_change_a_failing_editor_and_no_editor_exit_as_sops() {
    let Some(sops) = sops() else { return };
    let s = Scratch::new();
    s.encrypted(&sops, "f.yaml", DOC);
    let before = std::fs::read(s.path("f.yaml")).unwrap();
    for (editor, code) in [
        (s.editor("same.sh", "true"), 200),
        (s.editor("fail.sh", "exit 3"), 201),
        (s.path("does-not-exist"), 201),
    ] {
        let mine = s.run(Path::new(PSD), &editor, &["edit", "f.yaml"], b"");
        let theirs = s.run(&sops, &editor, &["edit", "f.yaml"], b"");
        assert_eq!(
            mine.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&mine.stderr)
        );
        assert_eq!(theirs.status.code(), Some(code), "sops with {editor:?}");
        assert_eq!(
            std::fs::read(s.path("f.yaml")).unwrap(),
            before,
            "{editor:?}"
        );
        assert!(s.tmp_is_empty(), "{editor:?}");
    }
}

#[test]
fn a_file_that_does_not_parse_is_given_back_to_the_editor() {
    let Some(sops) = sops() else { return };
    let s = Scratch::new();
    s.encrypted(&sops, "f.yaml", DOC);
    let before = std::fs::read(s.path("f.yaml")).unwrap();
    // First run: break the YAML and keep the user's other change; second run: fix it.
    let count = s.path("count");
    let editor = s.editor(
        "two.sh",
        &format!(
            r#"n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}
if [ "$n" = 0 ]; then sed -i 's/^port: 5432$/port: 6543/' "$1"; echo 'bad: [' >> "$1";
else sed -i '/^bad: \[$/d' "$1"; fi"#,
            c = count.display()
        ),
    );
    let out = s.run(Path::new(PSD), &editor, &["edit", "f.yaml"], b"\n");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Press enter to return to the editor"), "{err}");
    assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2");
    assert!(
        s.decrypt(&sops, "f.yaml").contains("port: 6543"),
        "the first edit was kept"
    );

    // Without anyone to press Enter, the edit is given up and the file stays as it was.
    assert_ne!(std::fs::read(s.path("f.yaml")).unwrap(), before);
    let edited = std::fs::read(s.path("f.yaml")).unwrap();
    let broken = s.editor("broken.sh", r#"echo 'bad: [' >> "$1""#);
    let out = s.run(Path::new(PSD), &broken, &["edit", "f.yaml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(s.path("f.yaml")).unwrap(), edited);
    assert!(s.decrypt(&sops, "f.yaml").contains("port: 6543"));
    assert!(s.tmp_is_empty());
}

#[test]
fn a_new_file_starts_from_a_template_and_is_encrypted_to_the_rule() {
    let Some(sops) = sops() else { return };
    let s = Scratch::new();
    std::fs::write(
        s.path(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^secret$\n    age: {}\n",
            recipient()
        ),
    )
    .unwrap();
    let editor = s.editor("new.sh", r#"printf 'secret: s\nplain: p\n' > "$1""#);
    let out = s.run(Path::new(PSD), &editor, &["edit", "new.yaml"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.decrypt(&sops, "new.yaml"), "secret: s\nplain: p\n");
    let text = std::fs::read_to_string(s.path("new.yaml")).unwrap();
    assert!(
        text.contains("plain: p") && !text.contains("secret: s"),
        "{text}"
    );
    // Closed without a change: no file.
    let same = s.editor("same.sh", "true");
    let out = s.run(Path::new(PSD), &same, &["edit", "other.yaml"], b"");
    assert_eq!(out.status.code(), Some(200));
    assert!(!s.path("other.yaml").exists());
    assert!(s.tmp_is_empty());
}

#[test]
fn an_interrupted_editor_leaves_no_plaintext_and_the_file_as_it_was() {
    let Some(sops) = sops() else { return };
    let s = Scratch::new();
    s.encrypted(&sops, "f.yaml", DOC);
    let before = std::fs::read(s.path("f.yaml")).unwrap();
    let mark = s.path("mark");
    let editor = s.editor(
        "slow.sh",
        &format!(r#"echo "$1" > {}; exec sleep 30"#, mark.display()),
    );
    for (sig, group) in [("INT", true), ("TERM", false), ("HUP", false)] {
        let _ = std::fs::remove_file(&mark);
        let mut child = s
            .command(Path::new(PSD), &editor, &["edit", "f.yaml"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !mark.exists() || std::fs::read_to_string(&mark).unwrap().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the editor never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let plain = std::fs::read_to_string(&mark).unwrap().trim().to_owned();
        assert!(
            std::fs::read_to_string(&plain)
                .unwrap()
                .contains("password: old")
        );
        let target = if group {
            format!("-{}", child.id())
        } else {
            child.id().to_string()
        };
        let k = Command::new("kill")
            .args([&format!("-{sig}"), "--", &target])
            .output()
            .unwrap();
        assert!(k.status.success());
        let start = Instant::now();
        let status = child.wait().unwrap();
        assert!(start.elapsed() < Duration::from_secs(10), "{sig}");
        assert!(!status.success(), "{sig}");
        assert!(
            !Path::new(&plain).exists(),
            "{sig}: plaintext left at {plain}"
        );
        assert!(s.tmp_is_empty(), "{sig}");
        assert_eq!(std::fs::read(s.path("f.yaml")).unwrap(), before, "{sig}");
    }
}
