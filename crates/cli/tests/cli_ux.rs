//! The command line as a user meets it, run as a process from a folder outside the
//! repository: `--version`, completions, man pages, `-q`/`-v`/`--color`, and the progress bar
//! (absent when stderr is not a terminal; drawn in a pseudo-terminal made by `script`).
//!
//! The man pages are judged by `groff` (warnings are errors) and `man -l` when installed,
//! else by their roff structure; the completion scripts by `bash -n`, `zsh -n` and
//! `fish -n` where those shells exist.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");

/// The Cloudflare token of the scratch user: a secret psd must never print.
const TOKEN: &str = "cf-token-never-printed-0123456789";

/// A scratch user: HOME and XDG_CONFIG_HOME in a temporary folder, keys in its keys.txt, and a
/// repository folder beside it (no `.git`, nothing of psd's checkout).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home/.config")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo")).unwrap();
        Self { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn key_file(&self) -> PathBuf {
        self.home().join("keys.txt")
    }

    /// `psd <args>` in the repository folder, in the scratch user's environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(PSD);
        cmd.args(args)
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("SOPS_AGE_KEY_FILE", self.key_file())
            .env("CLOUDFLARE_API_TOKEN", TOKEN);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("psd starts")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[test]
fn version_names_the_sops_format_it_writes() {
    let s = Scratch::new();
    let out = ok(&s.run(&["--version"]));
    assert_eq!(
        out,
        format!(
            "psd {} (writes sops format {})\n",
            env!("CARGO_PKG_VERSION"),
            psd_sops::metadata::SOPS_COMPAT_VERSION
        )
    );
    // And that is the version a file psd encrypts carries.
    std::fs::write(s.repo().join("plain.yaml"), "a: b\n").unwrap();
    let key = ok(&s.run(&["keygen", "-o", s.key_file().to_str().unwrap()]));
    assert!(key.is_empty());
    let recipient = std::fs::read_to_string(s.key_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    let enc = ok(&s.run(&["encrypt", "--age", &recipient, "plain.yaml"]));
    assert!(
        enc.contains(&format!(
            "version: {}",
            psd_sops::metadata::SOPS_COMPAT_VERSION
        )),
        "{enc}"
    );
}

#[test]
fn completions_for_each_shell() {
    let s = Scratch::new();
    for (shell, marker) in [
        ("bash", "complete -F _psd"),
        ("zsh", "#compdef psd"),
        ("fish", "complete -c psd"),
    ] {
        let script = ok(&s.run(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for sub in ["render", "lint", "updatekeys", "completions", "man"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        assert!(
            script.contains("verbose") && script.contains("color"),
            "{shell}"
        );
        // The shell itself parses it, where installed.
        if let Some(sh) = on_path(shell) {
            let f = s.dir.path().join(format!("psd.{shell}"));
            std::fs::write(&f, &script).unwrap();
            let check = Command::new(sh).arg("-n").arg(&f).output().unwrap();
            assert!(
                check.status.success(),
                "{shell} -n: {}",
                text(&check.stderr)
            );
        }
    }
    let bad = s.run(&["completions", "powershell-9000"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Judges a man page: roff structure always; `groff` with all warnings, and `man -l`, when
/// they are installed.
fn judge_man_page(page: &Path, title: &str) {
    let roff = std::fs::read_to_string(page).unwrap();
    assert!(
        roff.lines()
            .any(|l| l.starts_with(&format!(".TH {title} 1"))),
        "{}: no .TH {title} 1",
        page.display()
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(roff.contains(section), "{}: no {section}", page.display());
    }
    if let Some(groff) = on_path("groff") {
        // -k: UTF-8 input through preconv, as man does it; -ww: every warning.
        let out = Command::new(groff)
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(page)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff on {}: {}",
            page.display(),
            text(&out.stderr)
        );
    }
    if let Some(man) = on_path("man") {
        let out = Command::new(man)
            .arg("-l")
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let shown = text(&out.stdout);
        assert!(out.status.success(), "man -l: {}", text(&out.stderr));
        assert!(
            shown.contains("NAME") && shown.contains("SYNOPSIS"),
            "{shown}"
        );
    }
}

#[test]
fn man_pages_are_valid_roff() {
    let s = Scratch::new();
    let page = s.dir.path().join("psd.1");
    std::fs::write(&page, s.run(&["man"]).stdout).unwrap();
    judge_man_page(&page, "psd");
    let top = std::fs::read_to_string(&page).unwrap();
    assert!(top.contains("render") && top.contains("completions"));

    // One subcommand's page carries its examples and exit codes.
    let render = ok(&s.run(&["man", "render"]));
    assert!(render.contains(".TH psd-render 1"), "{render}");
    assert!(render.contains("Examples:") && render.contains("Exit codes"));

    // --dir writes every page, each valid.
    let dir = s.dir.path().join("man1");
    let out = s.run(&["man", "--dir", dir.to_str().unwrap()]);
    ok(&out);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for want in [
        "psd.1",
        "psd-render.1",
        "psd-lint.1",
        "psd-groups-add.1",
        "psd-man.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    for n in &names {
        judge_man_page(&dir.join(n), n.trim_end_matches(".1"));
    }
    // --quiet silences the note, not the pages.
    let quiet = s.run(&["-q", "man", "--dir", dir.to_str().unwrap()]);
    ok(&quiet);
    assert!(quiet.stderr.is_empty(), "{}", text(&quiet.stderr));

    let bad = s.run(&["man", "no-such-command"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("render"),
        "lists the subcommands"
    );
}

#[test]
fn every_subcommand_help_shows_examples_and_exit_codes() {
    // The unit test walks clap's definition; this checks what the binary really prints.
    let s = Scratch::new();
    let top = ok(&s.run(&["--help"]));
    let subs: Vec<String> = top
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| n != "help")
        .collect();
    assert!(subs.len() >= 20, "{subs:?}");
    for sub in subs {
        let help = ok(&s.run(&[&sub, "--help"]));
        assert!(help.contains("Examples:"), "psd {sub} --help: no examples");
        assert!(
            help.contains("Exit codes"),
            "psd {sub} --help: no exit codes"
        );
        assert!(help.contains("Global options:"), "psd {sub} --help");
    }
}

/// A rendered repository in the scratch user's folder (a key is created in their keys.txt).
fn rendered() -> Scratch {
    let s = Scratch::new();
    let out = s.run(&["render"]);
    ok(&out);
    assert!(s.repo().join("gitops").is_dir());
    assert!(s.repo().join(".sops.yaml").is_file());
    s
}

#[test]
fn works_from_a_folder_outside_the_checkout() {
    // The binary needs nothing of the repository it was built in: the default cluster
    // description is embedded, and render, check and lint run in a fresh folder.
    let s = rendered();
    ok(&s.run(&["render", "--check"]));
    ok(&s.run(&["lint"]));
    let default = ok(&s.run(&["config", "default"]));
    assert!(default.contains("flux"), "{default}");
    // The binary's folder is not the working directory's ancestor.
    assert!(!s.repo().starts_with(env!("CARGO_MANIFEST_DIR")));
}

#[test]
fn quiet_keeps_results_and_errors_only() {
    let s = rendered();
    let normal = s.run(&["render", "--check"]);
    ok(&normal);
    assert!(
        text(&normal.stderr).contains("no drift"),
        "{}",
        text(&normal.stderr)
    );

    // Before or after the subcommand.
    for args in [
        &["-q", "render", "--check"][..],
        &["render", "--check", "--quiet"],
    ] {
        let quiet = s.run(args);
        ok(&quiet);
        assert!(quiet.stderr.is_empty(), "{args:?}: {}", text(&quiet.stderr));
    }
    // Errors are still printed.
    let err = s.run(&["-q", "render", "--config", "/nonexistent/psd.yaml"]);
    assert_eq!(err.status.code(), Some(2));
    assert!(text(&err.stderr).contains("error"), "{}", text(&err.stderr));
    let missing = s.run(&["-q", "decrypt", "missing.enc.yaml"]);
    assert_eq!(missing.status.code(), Some(100));
    assert!(
        text(&missing.stderr).contains("non-existent"),
        "the error is shown"
    );
    // Results are: lint's summary is its result, on stdout.
    let lint = s.run(&["-q", "lint"]);
    assert!(ok(&lint).contains("no problems found"));
    assert!(lint.stderr.is_empty(), "{}", text(&lint.stderr));

    let both = s.run(&["-q", "-v", "render", "--check"]);
    assert_eq!(
        both.status.code(),
        Some(2),
        "--quiet and --verbose conflict"
    );
}

#[test]
fn verbose_says_what_was_read_never_key_material() {
    let s = rendered();
    let out = s.run(&["-v", "render", "--check"]);
    ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("psd render: repository"), "{err}");
    assert!(err.contains("unchanged"), "{err}");

    let secret = walkdir::WalkDir::new(s.repo().join("gitops"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.to_string_lossy().ends_with(".enc.yaml"))
        .expect("an encrypted Secret");
    let out = s.run(&["--verbose", "decrypt", secret.to_str().unwrap()]);
    let plain = ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("age keys read from"), "{err}");
    assert!(err.contains("usable age identity"), "{err}");
    assert!(err.contains("bytes)"), "{err}");
    let key = std::fs::read_to_string(s.key_file()).unwrap();
    let private = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    assert!(!err.contains(private) && !err.contains("AGE-SECRET-KEY"));
    assert!(!err.contains(TOKEN));
    // No decrypted value on stderr either.
    for line in plain.lines().filter(|l| l.contains(": ")) {
        let value = line.split_once(": ").unwrap().1.trim();
        if value.len() >= 16 {
            assert!(!err.contains(value), "stderr holds a value");
        }
    }
    // Without -v: none of that.
    let out = s.run(&["decrypt", secret.to_str().unwrap()]);
    ok(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// A tree with one lint error (a plaintext Secret).
fn bad_tree(s: &Scratch) {
    std::fs::create_dir_all(s.repo().join(".git")).unwrap();
    std::fs::write(
        s.repo().join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n",
    )
    .unwrap();
}

#[test]
fn color_flag_is_global_and_honours_the_environment() {
    let s = Scratch::new();
    bad_tree(&s);
    let esc = |out: &Output| out.stdout.contains(&0x1b);
    let lint = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = s.cmd(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        out
    };
    // Not a terminal: plain.
    assert!(!esc(&lint(&["lint"], &[])));
    // The flag before or after the subcommand.
    assert!(esc(&lint(&["--color", "always", "lint"], &[])));
    assert!(esc(&lint(&["lint", "--color=always"], &[])));
    // NO_COLOR does not stop an explicit --color always; --no-color wins over it.
    assert!(esc(&lint(
        &["lint", "--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!esc(&lint(
        &["--no-color", "lint", "--color", "always"],
        &[]
    )));
    // CLICOLOR_FORCE colours without a terminal, unless NO_COLOR is set.
    assert!(esc(&lint(&["lint"], &[("CLICOLOR_FORCE", "1")])));
    assert!(!esc(&lint(&["lint"], &[("CLICOLOR_FORCE", "0")])));
    assert!(!esc(&lint(
        &["lint"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    let bad = s.run(&["--color", "sometimes", "lint"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let s = Scratch::new();
    let out = s.run(&["render"]);
    ok(&out);
    let err = text(&out.stderr);
    assert!(!err.contains('\r') && !err.contains("\x1b["), "{err:?}");
    assert!(!err.contains("[---") && !err.contains("[###"), "{err:?}");
    let out = s.run(&["lint"]);
    ok(&out);
    assert!(!text(&out.stderr).contains('\r'));
}

#[test]
fn progress_bar_in_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal; without it, the drawing is
    // covered by the unit tests of ui.rs.
    let Some(script) = on_path("script") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true requires `script` (Debian package bsdutils)"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "SKIPPED: `script` not installed (util-linux); progress drawing unit-tested only"
            );
        }
        return;
    };
    let s = rendered();
    let pty = |args: &str| {
        let out = s
            .cmd(&[])
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            .arg0_script(&script, &format!("{PSD} {args}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stdout));
        text(&out.stdout)
    };
    let shown = pty("render");
    assert!(
        shown.contains("psd render [") && shown.contains("\r\x1b[2K"),
        "{shown:?}"
    );
    // The bar is cleared before the notes that follow it.
    assert!(shown.contains("\r\x1b[2Kpsd render: "), "{shown:?}");
    // --quiet: no bar, no notes.
    let quiet = pty("-q render");
    assert!(!quiet.contains("psd render ["), "{quiet:?}");
    assert!(
        !quiet.contains('\r') || !quiet.contains("\x1b[2K"),
        "{quiet:?}"
    );
}

/// `script -qec CMD /dev/null` in place of the command: runs CMD on a pseudo-terminal (its
/// output, stderr included, is script's stdout).
trait Script {
    fn arg0_script(&mut self, script: &Path, cmd: &str) -> Command;
}

impl Script for Command {
    fn arg0_script(&mut self, script: &Path, cmd: &str) -> Command {
        let mut c = Command::new(script);
        c.args(["-qec", cmd, "/dev/null"]);
        if let Some(dir) = self.get_current_dir() {
            c.current_dir(dir);
        }
        c.env_clear();
        for (k, v) in self.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c
    }
}

/// A reader that went away (`psd config schema | head -1`) ends psd quietly with 141, the
/// status of a filter killed by SIGPIPE, not with a panic, a backtrace and 101; the same when
/// it is standard error that nobody reads any more.
#[test]
fn a_closed_pipe_ends_psd_quietly() {
    // Read ends closed before psd starts: its first write fails, every time.
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    let out = Command::new(PSD)
        .args(["config", "schema"])
        .env("RUST_BACKTRACE", "1")
        .stdout(closed())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");

    let scratch = Scratch::new();
    let out = Command::new(PSD)
        .args(["decrypt", "no-such-file.enc.yaml"])
        .current_dir(scratch.dir.path())
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(closed())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");
}
