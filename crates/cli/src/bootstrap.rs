//! `psd bootstrap`: what a cluster needs before Flux can decrypt, in order — the
//! `flux-system` namespace, the `flux-system/sops-age` Secret from the repository's age key,
//! the `flux bootstrap` command for the repository and path, then `git pull`. Printed, or the
//! first two applied with `--apply` through `kubectl`.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use psd_model::secrecy::ExposeSecret as _;
use psd_render::bootstrap::{
    self, FluxBootstrap, FluxRepository, HeldKey, NAMESPACE_MANIFEST, SetupError,
};
use psd_render::{KeyEnv, Mode, RenderOptions};

/// Arguments of `psd bootstrap`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --apply, psd bootstrap prints the steps as shell commands \
and changes nothing. With --apply it checks that kubectl and flux are installed, creates the \
flux-system namespace and the Secret flux-system/sops-age (key age.agekey: this repository's \
age private key, the one whose recipient .sops.yaml lists) through `kubectl apply \
--server-side` on its standard input, then prints the remaining steps: `flux bootstrap` (which \
pushes <flux.root>/clusters/<cluster_name>/flux-system/ to the repository) and `git pull`. \
The private key goes only to the cluster, or to standard output with --print-secret when that \
is not a terminal; never to a file. It is found where sops finds age keys, in sops' order: \
SOPS_AGE_KEY, the file SOPS_AGE_KEY_FILE names, the output of the command SOPS_AGE_KEY_CMD \
names (e.g. `pass show cluster/age-key`), then ~/.config/sops/age/keys.txt; the key of a \
recipient .sops.yaml lists goes into the Secret.

The repository Flux pulls is the URL of the git remote (--remote, default origin) unless --url \
is given; an scp-like `git@host:owner/repo` becomes `ssh://git@host/owner/repo`, and a password \
in an HTTPS URL is dropped (flux reads it from GIT_PASSWORD). --github prints `flux bootstrap \
github` (GitHub API, deploy key made for you; needs GITHUB_TOKEN) instead of `flux bootstrap git`.

Examples:
  psd bootstrap
  psd bootstrap --apply
  psd bootstrap --print-secret | kubectl apply --server-side --field-manager=psd -f -
  psd bootstrap --github --personal --branch main

Exit codes: 0 ok, 1 kubectl failed (cluster unreachable, apply refused), 2 usage or input error \
(no .sops.yaml, no key or the wrong key, a failing SOPS_AGE_KEY_CMD, kubectl or flux not \
installed, a remote Flux cannot clone)."
)]
pub struct Args {
    /// Repository root [default: the nearest folder from here up that holds psd.yaml,
    /// .sops.yaml or .git].
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The cluster description [default: psd.yaml in the repository root, else the default].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Create the namespace and the sops-age Secret in the cluster of kubectl's current
    /// context.
    #[arg(long, conflicts_with = "print_secret")]
    apply: bool,
    /// Print the namespace and the sops-age Secret (with the private key) as YAML to standard
    /// output, for a pipe into `kubectl apply -f -`. Refused when standard output is a
    /// terminal.
    #[arg(long)]
    print_secret: bool,
    /// The repository URL Flux pulls [default: the URL of the git remote].
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The git remote whose URL Flux pulls.
    #[arg(long, value_name = "NAME", default_value = "origin")]
    remote: String,
    /// The branch Flux follows [default: the current branch, else main].
    #[arg(long, value_name = "BRANCH")]
    branch: Option<String>,
    /// Print `flux bootstrap github --owner … --repository …` (a github.com repository).
    #[arg(long)]
    github: bool,
    /// With --github: the owner is a user account, not an organisation.
    #[arg(long, requires = "github")]
    personal: bool,
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("psd bootstrap: error: {message}");
    ExitCode::from(code)
}

/// The repository root as render finds it.
pub(crate) fn repo_root(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        psd_render::find_repo_root(Path::new("."), home.as_deref())
            .map_or_else(|| PathBuf::from("."), |r| r.path)
    })
}

/// `git -C root args…`'s trimmed standard output, if it succeeds.
pub(crate) fn git_output(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Whether `program` is an executable file in a `PATH` folder.
pub(crate) fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// How to install kubectl or flux.
pub(crate) fn install_hint(program: &str) -> &'static str {
    match program {
        "kubectl" => {
            "install kubectl (https://kubernetes.io/docs/tasks/tools/; on the K3s node itself \
             `k3s kubectl` works, or copy /etc/rancher/k3s/k3s.yaml to ~/.kube/config)"
        }
        _ => {
            "install the flux CLI (https://fluxcd.io/flux/installation/: `curl -s \
             https://fluxcd.io/install.sh | sudo bash`, or `brew install fluxcd/tap/flux`)"
        }
    }
}

/// Whether kubectl's error output says it could not reach the API server.
pub(crate) fn unreachable(stderr: &str) -> bool {
    [
        "Unable to connect to the server",
        "connection refused",
        "was refused",
        "no such host",
        "i/o timeout",
        "dial tcp",
        "couldn't get current server API group list",
        "context deadline exceeded",
        "the server could not be reached",
        "TLS handshake timeout",
        "no configuration has been provided",
    ]
    .iter()
    .any(|p| stderr.contains(p))
}

/// What to say when kubectl could not reach the cluster.
pub(crate) fn unreachable_fix() -> String {
    let context = Command::new("kubectl")
        .args(["config", "current-context"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let context = context.map_or_else(
        || "no current context".to_owned(),
        |c| format!("current context `{c}`"),
    );
    format!(
        "kubectl cannot reach the cluster ({context}). Check that KUBECONFIG (or \
         ~/.kube/config) points at the cluster, that `kubectl get nodes` works, and that the \
         Tailscale connection to the node is up (`tailscale status`)"
    )
}

/// `s` with every age private key (`AGE-SECRET-KEY-1…`, any case) replaced.
pub(crate) fn redact_keys(s: &str) -> String {
    let upper = s.to_ascii_uppercase();
    let mut out = String::with_capacity(s.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(i) = upper[from..].find("AGE-SECRET-KEY-1") {
        let start = from + i;
        let end = upper[start..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .map_or(upper.len(), |n| start + n);
        out.push_str(&s[rest..start]);
        out.push_str("[redacted]");
        rest = end;
        from = end;
    }
    out.push_str(&s[rest..]);
    out
}

/// Runs `kubectl args…` with `stdin` on its standard input; `Err` holds its error output,
/// with `secret` (if any) replaced.
fn kubectl(args: &[&str], stdin: &[u8], secret: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("kubectl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        // A kubectl that exits early closes the pipe; its exit status says why.
        let _ = input.write_all(stdin);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("kubectl: {e}"))?;
    let redact = |s: &[u8]| {
        let mut s = String::from_utf8_lossy(s).into_owned();
        if let Some(k) = secret.filter(|k| !k.is_empty()) {
            s = s.replace(k, "[redacted]");
        }
        redact_keys(&s)
    };
    if out.status.success() {
        Ok(redact(&out.stdout))
    } else {
        Err(redact(&out.stderr).trim().to_owned())
    }
}

/// Runs `psd bootstrap`.
pub fn run(args: Args) -> ExitCode {
    let root = repo_root(args.root.clone());
    let mut ropts = RenderOptions::new(root.clone(), Mode::DryRun);
    ropts.config_path.clone_from(&args.config);
    let cfg = match psd_render::load_config(&ropts) {
        Ok(c) => c,
        Err(e) => return fail(2, e),
    };
    let recipients = match bootstrap::sops_recipients(&root, &cfg.flux.root) {
        Ok(r) => r,
        Err(e) => return fail(2, e),
    };
    let key = match bootstrap::cluster_key(&recipients, &KeyEnv::process()) {
        Ok(k) => k,
        Err(e) => return fail(2, e),
    };
    if args.print_secret {
        return print_secret(&key);
    }
    let path = bootstrap::flux_path(&cfg);
    let branch = args
        .branch
        .clone()
        .or_else(|| git_output(&root, &["symbolic-ref", "--short", "HEAD"]))
        .unwrap_or_else(|| "main".into());
    let remote = args
        .url
        .clone()
        // The URL as configured, not as this machine's `url.*.insteadOf` rewrites it: the
        // cluster clones with none of the user's git configuration.
        .or_else(|| {
            git_output(
                &root,
                &["config", "--get", &format!("remote.{}.url", args.remote)],
            )
        });
    let flux = match &remote {
        Some(url) if args.github => {
            FluxBootstrap::github(url, &branch, &path, args.personal).map_err(|e| (e, true))
        }
        Some(url) => FluxBootstrap::from_remote(url, &branch, &path).map_err(|e| (e, true)),
        None => Err((
            SetupError::Remote {
                url: String::new(),
                reason: String::new(),
            },
            false,
        )),
    };
    let flux = match flux {
        Ok(f) => f,
        Err((e, true)) => return fail(2, e),
        Err((_, false)) => {
            eprintln!(
                "psd bootstrap: warning: the repository has no git remote `{}`, so the URL \
                 below is a placeholder: push the repository where the cluster can pull it, \
                 then `git remote add {} <URL>` (or pass --url)",
                args.remote, args.remote
            );
            FluxBootstrap {
                repository: FluxRepository::Git {
                    url: "<URL>".into(),
                },
                branch,
                path: path.clone(),
            }
        }
    };
    if args.apply {
        for program in ["kubectl", "flux"] {
            if !on_path(program) {
                return fail(
                    2,
                    format!(
                        "{program} is not installed (not on PATH), and bootstrap needs it: {}; \
                         nothing was applied",
                        install_hint(program)
                    ),
                );
            }
        }
        if let Err(code) = apply(&key) {
            return code;
        }
    }
    print_plan(&args, &key, &flux, &path);
    ExitCode::SUCCESS
}

fn print_secret(key: &HeldKey) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        return fail(
            2,
            "--print-secret writes the private key, and standard output is a terminal (it \
             would stay in the scrollback): pipe it, e.g. `psd bootstrap --print-secret | \
             kubectl apply --server-side --field-manager=psd -f -`",
        );
    }
    let text = bootstrap::flux_key_manifests(&key.pair);
    if let Err(e) = stdout
        .write_all(text.expose_secret().as_bytes())
        .and_then(|()| stdout.flush())
    {
        return fail(2, format!("cannot write to standard output: {e}"));
    }
    eprintln!(
        "psd bootstrap: printed the flux-system namespace and the Secret \
         flux-system/sops-age (the key of {} from {}) on standard output; nothing was applied",
        key.pair.recipient(),
        key.source
    );
    ExitCode::SUCCESS
}

/// Applies the namespace, then the Secret.
fn apply(key: &HeldKey) -> Result<(), ExitCode> {
    let args = [
        "apply",
        "--server-side",
        "--field-manager=psd",
        "--request-timeout=30s",
        "-f",
        "-",
    ];
    let report = |what: &str, stderr: &str| {
        if unreachable(stderr) {
            fail(
                1,
                format!(
                    "{}; nothing was applied ({what}). kubectl said: {}",
                    unreachable_fix(),
                    first_lines(stderr)
                ),
            )
        } else {
            fail(
                1,
                format!("kubectl could not apply {what}: {}", first_lines(stderr)),
            )
        }
    };
    let secret = zeroize::Zeroizing::new(key.pair.identity().secret().expose_secret().to_owned());
    match kubectl(&args, NAMESPACE_MANIFEST.as_bytes(), Some(&secret)) {
        Ok(out) => print!("{out}"),
        Err(e) => return Err(report("the flux-system namespace", &e)),
    }
    let manifests = bootstrap::flux_key_manifests(&key.pair);
    match kubectl(&args, manifests.expose_secret().as_bytes(), Some(&secret)) {
        Ok(out) => print!("{out}"),
        Err(e) => return Err(report("the Secret flux-system/sops-age", &e)),
    }
    eprintln!(
        "psd bootstrap: the cluster has the namespace flux-system and the Secret \
         flux-system/sops-age (the key of {} from {})",
        key.pair.recipient(),
        key.source
    );
    Ok(())
}

fn first_lines(s: &str) -> String {
    s.lines().take(3).collect::<Vec<_>>().join(" / ")
}

fn print_plan(args: &Args, key: &HeldKey, flux: &FluxBootstrap, path: &str) {
    let mut root_arg = String::new();
    if let Some(r) = &args.root {
        root_arg = format!(
            " --root {}",
            shlex::try_quote(&r.display().to_string()).unwrap_or_default()
        );
    }
    println!("# psd bootstrap: what the cluster needs before Flux can decrypt, in order.");
    println!(
        "# Needs Flux 2.6 or later and K3s 1.34 or later (see psd's docs/GETTING_STARTED.md); `flux check --pre` checks the cluster."
    );
    let mut n = 0;
    let mut step = |comment: &str, lines: &[String]| {
        n += 1;
        println!();
        println!("# {n}. {comment}");
        for l in lines {
            println!("{l}");
        }
    };
    if args.apply {
        step(
            "done: the namespace flux-system and the Secret flux-system/sops-age (key \
             age.agekey) are in the cluster.",
            &[],
        );
    } else {
        step(
            "The namespace Flux runs in (the key Secret goes into it):",
            &["kubectl create namespace flux-system --dry-run=client -o yaml | kubectl apply -f -"
                .into()],
        );
        step(
            &format!(
                "The age key Flux decrypts with: Secret flux-system/sops-age, key age.agekey, \
                 the key of {} from {}.\n#    It goes from psd to the cluster through the \
                 pipe, never to a file (or run `psd bootstrap --apply` for 1 and 2):",
                key.pair.recipient(),
                key.source
            ),
            &[format!(
                "psd bootstrap{root_arg} --print-secret | kubectl apply --server-side \
                 --field-manager=psd -f -"
            )],
        );
    }
    let mut flux_lines = vec!["flux check --pre".to_owned(), flux.shell_line()];
    if let FluxRepository::Git { url } = &flux.repository {
        if url.starts_with("https://") || url.starts_with("http://") {
            flux_lines.insert(
                1,
                "# HTTPS: flux reads the password or token from GIT_PASSWORD (read -rs \
                 GIT_PASSWORD && export GIT_PASSWORD)"
                    .into(),
            );
        }
    } else {
        flux_lines.insert(
            1,
            "# needs a GitHub token with repository admin rights in GITHUB_TOKEN".into(),
        );
    }
    step(
        &format!(
            "Install Flux and point it at this repository; it commits {path}/flux-system/ \
             and pushes it:"
        ),
        &flux_lines,
    );
    step(
        &format!(
            "Fetch what flux bootstrap pushed, then render so {path}/kustomization.yaml lists \
             flux-system, and push that:"
        ),
        &[
            "git pull".into(),
            format!("psd render{root_arg}"),
            "git add -A && git commit -m \"cluster: list flux-system\" && git push".into(),
        ],
    );
    step(
        "Check the repository and the cluster:",
        &[format!("psd doctor{root_arg} --cluster")],
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_redacted() {
        assert_eq!(
            super::redact_keys("x AGE-SECRET-KEY-1ABC-def, age-secret-key-1zz\nend"),
            "x [redacted], [redacted]\nend"
        );
        assert_eq!(super::redact_keys("nothing"), "nothing");
    }
}
