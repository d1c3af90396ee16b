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

/// The fake cluster and Git host of [`Sandbox::fake_cluster`]: a stateful `kubectl`, a `flux`
/// whose `bootstrap git` pushes `flux-system/` like the real one, and an `ssh` that serves
/// `git@github.com:<owner>/<repo>.git` from bare repositories in the sandbox.
impl Sandbox {
    /// The cluster's state: `cluster/ns/<namespace>`, `cluster/sops-age` (the Secret's
    /// `age.agekey`, base64), `cluster/flux` (Flux installed).
    pub fn cluster_state(&self) -> PathBuf {
        self.dir.path().join("cluster")
    }

    /// The folder the fake `ssh` serves repositories from: `git@<any host>:you/x.git` is
    /// `githost/you/x.git`.
    pub fn githost(&self) -> PathBuf {
        self.dir.path().join("githost")
    }

    /// A bare repository on the fake Git host (`git@github.com:<path>`), branch main.
    pub fn host_repository(&self, path: &str) -> PathBuf {
        let p = self.githost().join(path);
        std::fs::create_dir_all(&p).unwrap();
        let out = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&p)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert_ok(&out);
        p
    }

    /// `~/.gitconfig` of `home`: a user name and e-mail and `main` as the first branch, as
    /// anyone who commits has.
    pub fn git_user(&self, home: &Path) {
        std::fs::create_dir_all(home).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Doc Reader\n\temail = reader@example.org\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
    }

    /// Puts the built psd on the sandbox's PATH as `psd`, before everything else.
    pub fn psd_on_path(&mut self) {
        let bin = self.dir.path().join("bin");
        let _ = std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_psd"), bin.join("psd"));
        let bin = bin.display().to_string();
        if !self.path.starts_with(&bin) {
            self.path = format!("{bin}:{}", self.path);
        }
    }

    /// A fake cluster behind `kubectl` (state in [`Self::cluster_state`]), a fake `flux` and a
    /// fake Git host behind `ssh` ([`Self::fake_flux_bootstrap`]).
    ///
    /// kubectl: `kustomize` goes to the real kubectl; `create namespace`, `create secret
    /// generic … --from-file=age.agekey=FILE` (the namespace must exist, FILE must hold an age
    /// key), `apply -f -` of a Namespace and the `sops-age` Secret (stringData, as psd writes
    /// it), `get crd|secret|kustomizations`, `config current-context` and `version` answer as
    /// a cluster in that state; anything else fails loudly.
    pub fn fake_cluster(&mut self) {
        let state = self.cluster_state();
        std::fs::create_dir_all(state.join("ns")).unwrap();
        for ns in ["default", "kube-system"] {
            std::fs::create_dir_all(state.join("ns").join(ns)).unwrap();
        }
        let real = which("kubectl")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let log = self.log().display().to_string();
        let state = state.display().to_string();
        let script = format!(
            r#"#!/bin/bash
state={state}
real='{real}'
echo "$*" >> {log}/kubectl.argv
fail() {{ echo "$*" >&2; exit 1; }}
has_ns() {{ [ -d "$state/ns/$1" ]; }}
case "$1" in
  kustomize)
    [ -n "$real" ] || fail "fake kubectl: kustomize needs the real kubectl, which is not installed"
    exec "$real" "$@" ;;
  config) echo "fake-context"; exit 0 ;;
  version)
    echo '{{"clientVersion":{{"gitVersion":"v1.34.0"}},"kustomizeVersion":"v5.7.1","serverVersion":{{"major":"1","minor":"34","gitVersion":"v1.34.2+k3s1","platform":"linux/amd64"}}}}'
    exit 0 ;;
  create)
    case "$2" in
      namespace)
        if [[ " $* " == *" --dry-run=client "* ]]; then
          printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$3"; exit 0
        fi
        has_ns "$3" && fail "Error from server (AlreadyExists): namespaces \"$3\" already exists"
        mkdir -p "$state/ns/$3"; echo "namespace/$3 created"; exit 0 ;;
      secret)
        [ "$3" = generic ] || fail "fake kubectl: create secret $3 is not faked"
        name=$4; ns=default; file=
        for a in "${{@:5}}"; do
          case "$a" in
            --namespace=*) ns=${{a#--namespace=}} ;;
            --from-file=age.agekey=*) file=${{a#--from-file=age.agekey=}} ;;
            *) fail "fake kubectl: create secret: $a is not faked" ;;
          esac
        done
        [ -n "$file" ] || fail "error: --from-file=age.agekey=FILE is missing"
        has_ns "$ns" || fail "error: failed to create secret namespaces \"$ns\" not found"
        content=$(cat -- "$file") || fail "error: error reading $file"
        grep -q '^AGE-SECRET-KEY-1' <<< "$content" || fail "fake kubectl: $file holds no age private key"
        [ -e "$state/secrets/$ns/$name" ] && fail "error: failed to create secret secrets \"$name\" already exists"
        mkdir -p "$state/secrets/$ns"; touch "$state/secrets/$ns/$name"
        [ "$ns/$name" = flux-system/sops-age ] && printf '%s\n' "$content" | base64 -w0 > "$state/sops-age"
        echo "secret/$name created"; exit 0 ;;
    esac ;;
  apply)
    in=$(cat)
    if grep -q '^kind: Namespace' <<< "$in"; then
      mkdir -p "$state/ns/flux-system"; echo "namespace/flux-system serverside-applied"
    fi
    if grep -q '^kind: Secret' <<< "$in"; then
      has_ns flux-system || fail 'Error from server (NotFound): namespaces "flux-system" not found'
      key=$(sed -n '/^  age.agekey: |$/,/^[^ ]/{{/^    /s/^    //p}}' <<< "$in")
      grep -q '^AGE-SECRET-KEY-1' <<< "$key" || fail "fake kubectl: the Secret holds no age private key under age.agekey"
      mkdir -p "$state/secrets/flux-system"; touch "$state/secrets/flux-system/sops-age"
      printf '%s\n' "$key" | base64 -w0 > "$state/sops-age"
      echo "secret/sops-age serverside-applied"
    fi
    exit 0 ;;
  get)
    case "$2" in
      crd)
        [ -e "$state/flux" ] && {{ echo "customresourcedefinition.apiextensions.k8s.io/$3"; exit 0; }}
        fail "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"$3\" not found" ;;
      secret)
        [ -e "$state/sops-age" ] && {{ cat "$state/sops-age"; exit 0; }}
        fail 'Error from server (NotFound): secrets "sops-age" not found' ;;
      kustomizations.kustomize.toolkit.fluxcd.io)
        if [ -e "$state/flux" ]; then
          echo '{{"items":[{{"metadata":{{"namespace":"flux-system","name":"flux-system"}},"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"ReconciliationSucceeded","message":"Applied revision: main"}}]}}}}]}}'
        else
          echo '{{"items":[]}}'
        fi
        exit 0 ;;
    esac ;;
esac
echo "fake kubectl: unexpected call: $*" >&2
exit 3
"#
        );
        self.fake("kubectl", &script);
        self.fake_flux_bootstrap();
    }

    /// A fake `flux` (`bootstrap git --url=… --branch=… --path=…` clones the repository,
    /// commits `<path>/flux-system/` as the real one does, pushes it and marks Flux installed
    /// in the fake cluster; `get`, `reconcile`, `logs`, `version` answer) and a fake `ssh` that
    /// serves `git@<host>:<path>` and `ssh://git@<host>/<path>` from [`Self::githost`].
    pub fn fake_flux_bootstrap(&mut self) {
        let state = self.cluster_state().display().to_string();
        let log = self.log().display().to_string();
        let githost = self.githost().display().to_string();
        std::fs::create_dir_all(self.githost()).unwrap();
        let flux = format!(
            r#"#!/bin/bash
state={state}
echo "$*" >> {log}/flux.argv
fail() {{ echo "✗ $*" >&2; exit 1; }}
case "$1" in
  --version|version) echo "flux version 2.7.0"; exit 0 ;;
  bootstrap)
    [ "$2" = git ] || fail "fake flux: only bootstrap git is faked"
    url= branch=main path=
    for a in "${{@:3}}"; do
      case "$a" in
        --url=*) url=${{a#--url=}} ;;
        --branch=*) branch=${{a#--branch=}} ;;
        --path=*) path=${{a#--path=}} ;;
        *) fail "fake flux: $a is not faked" ;;
      esac
    done
    [ -n "$url" ] && [ -n "$path" ] || fail "--url and --path are required"
    case "$url" in ssh://*|https://*|http://*) ;; *) fail "invalid URL scheme in $url" ;; esac
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    git clone -q --branch "$branch" "$url" "$tmp/r" || fail "cannot clone $url"
    d="$tmp/r/$path/flux-system"
    mkdir -p "$d"
    printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n' > "$d/gotk-components.yaml"
    cat > "$d/gotk-sync.yaml" <<SYNC
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: $branch
  secretRef:
    name: flux-system
  url: $url
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./$path
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
SYNC
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n' > "$d/kustomization.yaml"
    git -C "$tmp/r" add -A && git -C "$tmp/r" commit -qm "Add Flux sync manifests" \
      && git -C "$tmp/r" push -q origin "$branch" || fail "cannot push to $url"
    mkdir -p "$state/ns/flux-system"; touch "$state/flux"
    echo "✔ bootstrap finished"; exit 0 ;;
  get)
    [ -e "$state/flux" ] || fail "unable to list Kustomizations: Flux is not installed"
    echo "NAME        REVISION     SUSPENDED  READY  MESSAGE"
    echo "flux-system main@sha1:0  False      True   Applied revision: main@sha1:0"; exit 0 ;;
  reconcile)
    [ -e "$state/flux" ] || fail "Flux is not installed"
    echo "✔ applied revision main@sha1:0"; exit 0 ;;
  logs) exit 0 ;;
esac
echo "fake flux: unexpected call: $*" >&2
exit 3
"#
        );
        self.fake("flux", &flux);
        let ssh = format!(
            r#"#!/bin/bash
# git over ssh to a folder: ssh [options] [user@]host 'git-upload-pack '\''path'\'''
while [ $# -gt 0 ]; do
  case "$1" in
    -o|-p|-i|-l|-F) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift
cmd="$*"
prog=${{cmd%% *}}
path=${{cmd#* }}
path=${{path//\'/}}
case "$prog" in
  git-upload-pack|git-receive-pack|git-upload-archive) ;;
  *) echo "fake ssh: only git is served, not: $cmd" >&2; exit 255 ;;
esac
repo="{githost}/${{path#/}}"
[ -d "$repo" ] || {{ echo "ERROR: Repository not found: $path" >&2; exit 128; }}
exec "$prog" "$repo"
"#
        );
        self.fake("ssh", &ssh);
    }

    /// Runs `script` with bash in `cwd`, HOME `home`, the sandbox's PATH and nothing else of
    /// the test's environment (plus `env`); `stdin` on its standard input.
    pub fn sh(&self, script: &str, home: &Path, cwd: &Path, env: &[(&str, String)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("KUBECONFIG", self.dir.path().join("no-kubeconfig"))
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("EDITOR", "false")
            .env("TMPDIR", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}
