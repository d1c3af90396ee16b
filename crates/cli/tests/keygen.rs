//! `psd keygen` as a process, judged by Debian's `age` and `age-keygen`.

// A skipped judge must be reported loudly on stderr.
#![allow(clippy::print_stderr)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PSD: &str = env!("CARGO_BIN_EXE_psd");

/// Finds an external judge on PATH. Missing: fails under `CI=true`, otherwise prints a loud
/// `SKIPPED:` line and returns `None`.
fn judge(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "judge `{tool}` is not installed; CI=true requires it (Debian package `age`)"
        );
        eprintln!("SKIPPED: `{tool}` is not installed (Debian package `age`)");
    }
    found
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("command starts")
}

fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn psd_keygen_o(path: &Path) -> String {
    let out = run(Command::new(PSD).args(["keygen", "-o"]).arg(path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let recipient = stderr
        .strip_prefix("Public key: ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected stderr {stderr:?}"));
    assert!(
        recipient.starts_with("age1") && recipient.len() == 62,
        "{recipient}"
    );
    recipient.to_owned()
}

#[test]
fn keygen_o_writes_0600_file_and_refuses_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.txt");
    let recipient = psd_keygen_o(&path);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let content = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    assert_eq!(lines.len(), 3, "{content}");
    assert!(lines[0].starts_with("# created: "));
    assert_eq!(lines[1], format!("# public key: {recipient}"));
    assert!(lines[2].starts_with("AGE-SECRET-KEY-1"));

    let again = run(Command::new(PSD).args(["keygen", "-o"]).arg(&path));
    assert_eq!(again.status.code(), Some(2));
    let msg = text(&again.stderr);
    assert!(
        msg.contains("already exists") && msg.contains("keys.txt"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn keygen_to_stdout_prints_key_file_and_public_key() {
    let out = run(Command::new(PSD).arg("keygen"));
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    // stdout is a pipe here, so the public key is also announced on stderr (as age-keygen does).
    let recipient = lines[1].strip_prefix("# public key: ").unwrap();
    assert_eq!(stderr, format!("Public key: {recipient}\n"));
}

#[test]
fn y_prints_the_recipient_age_keygen_prints() {
    let Some(age_keygen) = judge("age-keygen") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.txt");
    let recipient = psd_keygen_o(&ours);

    let judged = run(Command::new(&age_keygen).arg("-y").arg(&ours));
    assert!(judged.status.success(), "{}", text(&judged.stderr));
    assert_eq!(text(&judged.stdout), format!("{recipient}\n"));

    let psd = run(Command::new(PSD).args(["keygen", "-y"]).arg(&ours));
    assert!(psd.status.success(), "{}", text(&psd.stderr));
    assert_eq!(psd.stdout, judged.stdout);

    // Standard input, with `-` and without INPUT.
    let content = std::fs::read(&ours).unwrap();
    for args in [&["keygen", "-y", "-"][..], &["keygen", "-y"][..]] {
        let out = run_stdin(Command::new(PSD).args(args), &content);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(out.stdout, judged.stdout);
    }
}

#[test]
fn age_encrypts_to_our_recipient_and_decrypts_with_our_file() {
    let Some(age) = judge("age") else { return };
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    let recipient = psd_keygen_o(&keys);
    let plaintext = b"stringData:\n  password: s3cr3t\n";
    for armor in [false, true] {
        let ct = dir.path().join(if armor { "ct.age.asc" } else { "ct.age" });
        let mut enc = Command::new(&age);
        enc.args(["-e", "-r", &recipient, "-o"]).arg(&ct);
        if armor {
            enc.arg("-a");
        }
        let out = run_stdin(&mut enc, plaintext);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = run(Command::new(&age).args(["-d", "-i"]).arg(&keys).arg(&ct));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(out.stdout, plaintext);
    }
    // And a key from a second `psd keygen` cannot decrypt it.
    let other = dir.path().join("other.txt");
    psd_keygen_o(&other);
    let out = run(Command::new(&age)
        .args(["-d", "-i"])
        .arg(&other)
        .arg(dir.path().join("ct.age")));
    assert!(!out.status.success());
}

#[test]
fn y_reads_files_written_by_age_keygen() {
    let Some(age_keygen) = judge("age-keygen") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.txt");
    let out = run(Command::new(&age_keygen).arg("-o").arg(&theirs));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let judged = run(Command::new(&age_keygen).arg("-y").arg(&theirs));
    assert!(judged.status.success());
    let psd = run(Command::new(PSD).args(["keygen", "-y"]).arg(&theirs));
    assert!(psd.status.success(), "{}", text(&psd.stderr));
    assert_eq!(text(&psd.stdout), text(&judged.stdout));

    // A file holding several identities (theirs, ours), with CRLF line ends.
    let ours = dir.path().join("ours.txt");
    psd_keygen_o(&ours);
    let both = dir.path().join("both.txt");
    let joined = format!(
        "{}{}",
        std::fs::read_to_string(&theirs).unwrap(),
        std::fs::read_to_string(&ours).unwrap()
    );
    std::fs::write(&both, &joined).unwrap();
    let judged = run(Command::new(&age_keygen).arg("-y").arg(&both));
    assert!(judged.status.success());
    assert_eq!(text(&judged.stdout).lines().count(), 2);
    let psd = run(Command::new(PSD).args(["keygen", "-y"]).arg(&both));
    assert_eq!(text(&psd.stdout), text(&judged.stdout));
    let crlf = dir.path().join("crlf.txt");
    std::fs::write(&crlf, joined.replace('\n', "\r\n")).unwrap();
    let psd = run(Command::new(PSD).args(["keygen", "-y"]).arg(&crlf));
    assert!(psd.status.success(), "{}", text(&psd.stderr));
    assert_eq!(text(&psd.stdout), text(&judged.stdout));
}

#[test]
fn y_errors_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let out = run(Command::new(PSD).args(["keygen", "-y"]).arg(&missing));
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out.stderr);
    assert!(
        msg.contains("missing.txt") && msg.contains("cannot read"),
        "{msg}"
    );

    // A damaged key: message names the line, never the key.
    let keys = dir.path().join("keys.txt");
    psd_keygen_o(&keys);
    let content = std::fs::read_to_string(&keys).unwrap();
    let sk = content.lines().nth(2).unwrap().to_owned();
    let mut damaged = sk.clone().into_bytes();
    damaged[30] = if damaged[30] == b'Q' { b'P' } else { b'Q' };
    let damaged = String::from_utf8(damaged).unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, content.replace(&sk, &damaged)).unwrap();
    let out = run(Command::new(PSD).args(["keygen", "-y"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out.stderr);
    assert!(msg.contains("line 3") && msg.contains("checksum"), "{msg}");
    assert!(
        !msg.contains(&sk[16..40]) && !msg.contains(&damaged[16..40]),
        "{msg}"
    );

    // A public key where an identity belongs.
    let out = run_stdin(Command::new(PSD).args(["keygen", "-y"]), b"age1qqqq\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("standard input, line 1"));

    // INPUT without -y is a usage error.
    let out = run(Command::new(PSD).args(["keygen"]).arg(&keys));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn y_with_o_writes_a_recipients_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    let recipient = psd_keygen_o(&keys);
    let out_path = dir.path().join("recipients.txt");
    let out = run(Command::new(PSD)
        .args(["keygen", "-y", "-o"])
        .arg(&out_path)
        .arg(&keys));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        format!("{recipient}\n")
    );
    let again = run(Command::new(PSD)
        .args(["keygen", "-y", "-o"])
        .arg(&out_path)
        .arg(&keys));
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn help_documents_exit_codes() {
    let out = run(Command::new(PSD).args(["keygen", "--help"]));
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("-y") && help.contains("--output"),
        "{help}"
    );
}
