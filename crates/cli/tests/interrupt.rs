//! Issue 11: every prefix of a first render is safe and resumable. The `psd` binary renders a
//! fresh repository (a git work tree when git is installed) with its key file in a scratch
//! HOME, and is killed (SIGINT or SIGKILL, alternately) after a random 0.5–12 ms. Then a normal
//! render must succeed, `--check` must find no drift, no private key and no temporary may be
//! left in the work tree or beside the key file, the key file must hold exactly one key for
//! the repository, and every encrypted file must decrypt with it.
//!
//! `cargo test -p cli --test interrupt -- --nocapture` prints where the kills landed.

// The outcome counts go to stderr.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const TRIES: usize = 60;

/// A small xorshift generator: the delays need no cryptographic randomness, and the seed is
/// printed so a failing run can be repeated (`PSD_INTERRUPT_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A delay between 0.5 and 12 ms.
    fn delay(&mut self) -> Duration {
        Duration::from_micros(500 + self.next() % 11_500)
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn psd(repo: &Path, key_file: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(PSD);
    cmd.arg("render")
        .current_dir(repo)
        .env("HOME", home)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_CMD")
        .env_remove("CLOUDFLARE_API_TOKEN");
    cmd
}

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every file under `dir` (`.git` included: nothing of psd's may land there either).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Whether `path` looks like a temporary of psd or of the atomic-write-file crate
/// (`.<sibling>.XXXXXX`).
fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    if name.starts_with(".psd-tmp-") || name.starts_with(".psd-new-") {
        return true;
    }
    name.strip_prefix('.')
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(base, suffix)| {
            suffix.len() == 6
                && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
                && path.with_file_name(base).exists()
        })
}

/// The key blocks in `key_file` marked for `repo`: (public key, private key line).
fn marked_keys(key_file: &Path, repo: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(key_file) else {
        return Vec::new();
    };
    let marker = format!(
        "# psd: cluster key for {}",
        std::fs::canonicalize(repo).unwrap().display()
    );
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == marker)
        .map(|(i, _)| {
            (
                lines[i + 2]
                    .strip_prefix("# public key: ")
                    .unwrap()
                    .to_owned(),
                lines[i + 3].to_owned(),
            )
        })
        .collect()
}

#[derive(Debug, Default)]
struct Counts {
    before_key: usize,
    key_without_sops_yaml: usize,
    before_tree: usize,
    during_tree: usize,
    completed: usize,
    /// Kills that left a temporary (in the work tree or beside the key file) for the next
    /// render to clean up.
    left_temporaries: usize,
    sigint: usize,
    sigkill: usize,
}

#[test]
fn a_first_render_killed_anywhere_resumes_cleanly() {
    let seed = std::env::var("PSD_INTERRUPT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("interrupt test: seed {seed} (PSD_INTERRUPT_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let git = git_available();
    let started = Instant::now();
    let mut counts = Counts::default();

    for attempt in 0..TRIES {
        let repo = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let key_file = home.path().join("keys/keys.txt");
        std::fs::write(repo.path().join("psd.yaml"), "domain: example.org\n").unwrap();
        if git {
            let st = Command::new("git")
                .args(["init", "-q"])
                .current_dir(repo.path())
                .status()
                .unwrap();
            assert!(st.success());
        }

        // The first render, killed after a random delay.
        let delay = rng.delay();
        let mut child = psd(repo.path(), &key_file, home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let sigint = attempt % 2 == 0;
        if sigint {
            counts.sigint += 1;
            // `kill` exits 1 if the process is gone already; either way is fine.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
        } else {
            counts.sigkill += 1;
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        let key_stored = !marked_keys(&key_file, repo.path()).is_empty();
        let sops_yaml = repo.path().join(".sops.yaml").exists();
        let tree_started = repo.path().join("gitops").exists();
        match (status.success(), key_stored, sops_yaml, tree_started) {
            (true, ..) => counts.completed += 1,
            (false, false, ..) => counts.before_key += 1,
            (false, true, false, _) => counts.key_without_sops_yaml += 1,
            (false, true, true, false) => counts.before_tree += 1,
            (false, true, true, true) => counts.during_tree += 1,
        }
        let key_dir = key_file.parent().unwrap();
        if files(repo.path())
            .iter()
            .chain(&if key_dir.exists() {
                files(key_dir)
            } else {
                Vec::new()
            })
            .any(|f| is_temporary(f))
        {
            counts.left_temporaries += 1;
        }
        let context = format!(
            "attempt {attempt}, seed {seed}, delay {delay:?}, {} ({status})",
            if sigint { "SIGINT" } else { "SIGKILL" }
        );

        // A normal render succeeds, and the check after it finds no drift.
        let out = psd(repo.path(), &key_file, home.path()).output().unwrap();
        assert!(out.status.success(), "{context}: {}", text(&out));
        let out = psd(repo.path(), &key_file, home.path())
            .arg("--check")
            .output()
            .unwrap();
        assert!(out.status.success(), "{context}: {}", text(&out));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("unchecked"),
            "{context}: {}",
            text(&out)
        );

        // No private key and no temporary in the work tree; none beside the key file.
        for f in files(repo.path()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(15).any(|w| w == b"AGE-SECRET-KEY-"),
                "{context}: a private key in {}",
                f.display()
            );
            assert!(!is_temporary(&f), "{context}: left {}", f.display());
        }
        let beside: Vec<_> = std::fs::read_dir(key_file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(beside, ["keys.txt"], "{context}");

        // Exactly one key for this repository, and every encrypted file opens with it.
        let keys = marked_keys(&key_file, repo.path());
        // Only the public halves go into a failure message.
        let public_keys: Vec<&str> = keys.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(keys.len(), 1, "{context}: {public_keys:?}");
        let (public, private) = &keys[0];
        let sops_yaml = std::fs::read_to_string(repo.path().join(".sops.yaml")).unwrap();
        assert!(sops_yaml.contains(public.as_str()), "{context}");
        let ids = psd_sops::Identities::parse_key_file(private).unwrap();
        let mut encrypted = 0;
        for f in files(&repo.path().join("gitops")) {
            if !f.to_string_lossy().ends_with(".enc.yaml") {
                continue;
            }
            encrypted += 1;
            let bytes = std::fs::read(&f).unwrap();
            psd_sops::api::decrypt(
                &bytes,
                psd_sops::Format::Yaml,
                &ids,
                &psd_sops::api::DecryptOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{context}: {} does not decrypt: {e}", f.display()));
        }
        assert!(encrypted >= 4, "{context}: {encrypted} encrypted files");
    }
    eprintln!(
        "interrupt test: {TRIES} first renders ({} SIGINT, {} SIGKILL) in {:.1} s: killed \
         before the key was stored {}, between storing the key and writing .sops.yaml {}, \
         after .sops.yaml before the tree was written {}, while writing the tree {}, completed \
         before the signal {}; {} left temporaries that the next render removed",
        counts.sigint,
        counts.sigkill,
        started.elapsed().as_secs_f64(),
        counts.before_key,
        counts.key_without_sops_yaml,
        counts.before_tree,
        counts.during_tree,
        counts.completed,
        counts.left_temporaries,
    );
}
