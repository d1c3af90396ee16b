//! Shared by tests/init.rs, tests/bootstrap.rs and tests/doctor.rs: a sandbox (its own HOME,
//! XDG_CONFIG_HOME, no SOPS_* variables), a repository in it, and fake `kubectl`/`flux`
//! programs that record their arguments and standard input and answer like the real ones.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The test key of the repository (never for production).
pub const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// `PATH` for psd: the fake-tools folder first (when there are fakes), then the system's.
    pub path: String,
    pub extra_env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "repo", "bin", "log"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let path = std::env::var("PATH").unwrap_or_default();
        Self {
            dir,
            path,
            extra_env: Vec::new(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// sops' user key file in the sandbox.
    pub fn key_file(&self) -> PathBuf {
        self.home().join(".config/sops/age/keys.txt")
    }

    pub fn env(&mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.extra_env
            .push((k.to_owned(), v.as_ref().to_string_lossy().into_owned()));
        self
    }

    /// `psd args…` in the repository, with the sandbox's environment only.
    pub fn psd(&self, args: &[&str]) -> Output {
        self.psd_stdin(args, b"")
    }

    pub fn psd_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write as _;
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// The command `psd args…` in the repository, with the sandbox's environment only (for
    /// tests that choose its standard streams, e.g. a pseudo-terminal).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_psd"));
        cmd.args(args)
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("KUBECONFIG", self.dir.path().join("no-kubeconfig"));
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `git args…` in the repository.
    pub fn git(&self, args: &[&str]) {
        let st = Command::new("git")
            .args(args)
            .current_dir(self.repo())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}: {}", text(&st.stderr));
    }

    /// Writes an executable script `bin/<name>` and puts `bin` first on psd's PATH.
    pub fn fake(&mut self, name: &str, script: &str) {
        let bin = self.dir.path().join("bin");
        let p = bin.join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = bin.display().to_string();
        if !self.path.starts_with(&bin) {
            self.path = format!("{bin}:{}", self.path);
        }
    }

    /// A PATH holding only git (no kubectl, no flux): `bin` (with fakes) and a folder of links.
    pub fn path_without_kubectl(&mut self) {
        let only = self.dir.path().join("only-git");
        std::fs::create_dir_all(&only).unwrap();
        let _ = std::os::unix::fs::symlink(which("git").unwrap(), only.join("git"));
        self.path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            only.display()
        );
    }

    /// The fake kubectl: logs every call (one argv line in log/kubectl.argv, standard input
    /// in log/kubectl.stdin.<n>), passes `kustomize` to the real kubectl, and answers the
    /// calls psd makes as a cluster in the state the FAKE_* variables describe.
    pub fn fake_kubectl(&mut self) {
        let real = which("kubectl").unwrap();
        let log = self.log().display().to_string();
        let script = format!(
            r#"#!/bin/bash
log={log}
n=$(ls "$log" | grep -c '^kubectl.stdin' || true)
echo "$*" >> "$log/kubectl.argv"
case "$1" in
  kustomize) exec {real} "$@" ;;
  apply)
    cat > "$log/kubectl.stdin.$n"
    if [ -n "$FAKE_APPLY_FAIL" ]; then echo "$FAKE_APPLY_FAIL" >&2; exit 1; fi
    grep -q '^kind: Namespace' "$log/kubectl.stdin.$n" && echo "namespace/flux-system serverside-applied"
    grep -q '^kind: Secret' "$log/kubectl.stdin.$n" && echo "secret/sops-age serverside-applied"
    exit 0 ;;
  config) echo "fake-context"; exit 0 ;;
  version)
    echo '{{"clientVersion":{{"gitVersion":"v1.33.0"}},"kustomizeVersion":"v5.6.0","serverVersion":{{"major":"1","minor":"33","gitVersion":"v1.33.5+k3s1","platform":"linux/amd64"}}}}'
    exit 0 ;;
  get)
    case "$2" in
      crd)
        if [ -n "$FAKE_FLUX" ]; then echo "customresourcedefinition.apiextensions.k8s.io/$3"; exit 0; fi
        echo "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"$3\" not found" >&2; exit 1 ;;
      secret)
        if [ -n "$FAKE_SECRET_B64" ]; then printf '%s' "$FAKE_SECRET_B64"; exit 0; fi
        echo 'Error from server (NotFound): secrets "sops-age" not found' >&2; exit 1 ;;
      kustomizations.kustomize.toolkit.fluxcd.io)
        cat "$FAKE_KS_JSON"; exit 0 ;;
    esac ;;
esac
echo "fake kubectl: unexpected call: $*" >&2
exit 3
"#,
            real = real.display()
        );
        self.fake("kubectl", &script);
    }

    /// A fake flux that records its arguments.
    pub fn fake_flux(&mut self) {
        let log = self.log().display().to_string();
        self.fake(
            "flux",
            &format!("#!/bin/bash\necho \"$*\" >> {log}/flux.argv\necho 'flux: v2.7.0'\n"),
        );
    }

    pub fn logged(&self, name: &str) -> String {
        std::fs::read_to_string(self.log().join(name)).unwrap_or_default()
    }

    /// `psd init` for example.org without a terminal; panics if it fails.
    pub fn init(&self, extra: &[&str]) -> Output {
        let mut args = vec!["init", "--domain", "example.org"];
        args.extend_from_slice(extra);
        let out = self.psd(&args);
        assert_ok(&out);
        out
    }

    /// `psd render` with a Cloudflare token.
    pub fn render(&self) {
        let out = self.psd_stdin(
            &["render", "--cloudflare-token-file", "-"],
            b"cf-token-for-tests-0123456789\n",
        );
        assert_ok(&out);
    }
}

pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout and stderr together, for messages.
pub fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status.code(),
        all(out)
    );
}

pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", all(out));
}

/// No private key in `s`: neither the key format nor any key of `files`.
pub fn assert_no_secret(s: &str, files: &[&Path]) {
    assert!(
        !s.contains("AGE-SECRET-KEY-1"),
        "a private key was printed:\n{s}"
    );
    for f in files {
        if let Ok(t) = std::fs::read_to_string(f) {
            for l in t.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-1")) {
                assert!(
                    !s.contains(l),
                    "the private key of {} was printed",
                    f.display()
                );
            }
        }
    }
}

/// The recipient of the first key in a key file.
pub fn recipient_of(key_file: &Path) -> String {
    let t = std::fs::read_to_string(key_file).unwrap();
    t.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

/// A kubeconfig whose server nothing listens on.
pub fn unreachable_kubeconfig(dir: &Path) -> PathBuf {
    let p = dir.join("unreachable.kubeconfig");
    std::fs::write(
        &p,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\ncontexts:\n- name: unreachable\n  context:\n    cluster: c\n    user: u\ncurrent-context: unreachable\nusers:\n- name: u\n  user:\n    token: not-a-real-token\n",
    )
    .unwrap();
    p
}
