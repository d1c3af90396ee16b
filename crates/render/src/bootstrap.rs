//! What a cluster needs before Flux can decrypt the tree, and the repository's age key: the
//! library side of `psd bootstrap` and `psd doctor`.
//!
//! - [`flux_path`]: the folder `flux bootstrap --path` takes, `<flux.root>/clusters/<name>`.
//! - [`sops_recipients`]: the age recipients of the `.sops.yaml` rule for the tree's Secrets.
//! - [`held_keys`] and [`cluster_key`]: the private keys found where sops finds them, and the
//!   one of them that is this repository's (its recipient is in `.sops.yaml`).
//! - [`flux_key_manifests`]: the `flux-system` Namespace and the `flux-system/sops-age` Secret
//!   (data key `age.agekey`) Flux decrypts with, for `kubectl apply -f -`.
//! - [`FluxBootstrap`]: the exact `flux bootstrap git|github …` command for a repository.
//!
//! ```
//! use psd_render::bootstrap::{FluxBootstrap, flux_path};
//!
//! let cfg = psd_model::cluster::ClusterConfig::default();
//! let flux = FluxBootstrap::from_remote(
//!     "git@github.com:me/cluster.git",
//!     "main",
//!     &flux_path(&cfg),
//! )?;
//! assert_eq!(
//!     flux.command().join(" "),
//!     "flux bootstrap git --url=ssh://git@github.com/me/cluster.git --branch=main \
//!      --path=gitops/clusters/k3s"
//! );
//! # Ok::<(), psd_render::bootstrap::SetupError>(())
//! ```

use std::path::{Path, PathBuf};

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::{ExposeSecret as _, SecretString};
use psd_model::{AgeKeyPair, SOPS_AGE_SECRET_KEY, SOPS_AGE_SECRET_NAME, SOPS_AGE_SECRET_NAMESPACE};

use psd_sops::keysource::{AGE_KEY_CMD_SOURCE, age_key_cmd_text};

use crate::keys::{self, KeyEnv};

/// The Cloudflare API token's Secret, relative to `flux.root` (see `docs/LAYOUT.md`).
pub const CLOUDFLARE_SECRET_FILE: &str = "infrastructure/cert-manager/cloudflare-secret.enc.yaml";

/// Everything the set-up commands can fail with. Each message says what failed, where, and
/// how to fix it; none carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The repository has no `.sops.yaml`.
    #[error(
        "{path} does not exist: psd does not know who may decrypt this repository's Secrets. \
         Run `psd init` in a new repository, or `psd render` (it creates a key and .sops.yaml)"
    )]
    MissingSopsYaml {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// `.sops.yaml` exists but has no usable rule for the tree's Secrets.
    #[error("cannot use {path}: {reason}")]
    SopsYaml {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to change.
        reason: String,
    },
    /// No age private key was found anywhere sops looks.
    #[error(
        "no age private key found (looked in: {}). The key for {} is needed: set \
         SOPS_AGE_KEY_FILE to the file that holds it, or SOPS_AGE_KEY_CMD to a command that \
         prints it (psd init and psd render create keys in ~/.config/sops/age/keys.txt)",
        looked.join(", "),
        wanted.join(", ")
    )]
    NoKey {
        /// The places looked at.
        looked: Vec<String>,
        /// The recipients of `.sops.yaml`.
        wanted: Vec<String>,
    },
    /// Private keys were found, but none belongs to a recipient of `.sops.yaml`.
    #[error(
        "wrong key: the age keys found ({}) are for {}, but .sops.yaml encrypts to {}. Set \
         SOPS_AGE_KEY_FILE to the file holding the key of one of those recipients (`psd keygen \
         -y FILE` prints a file's recipients), or, if this key should be able to decrypt, add its \
         recipient to .sops.yaml and run `psd render` with a key that opens the Secrets",
        sources.join(", "),
        found.join(", "),
        wanted.join(", ")
    )]
    WrongKey {
        /// Where keys were found.
        sources: Vec<String>,
        /// Their recipients.
        found: Vec<String>,
        /// The recipients of `.sops.yaml`.
        wanted: Vec<String>,
    },
    /// A key source is set but cannot be used (missing file, malformed key, a failing
    /// `SOPS_AGE_KEY_CMD`).
    #[error("cannot use the age key in {source_name}: {reason}")]
    KeySource {
        /// `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE=/path`, `SOPS_AGE_KEY_CMD`, or a path.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The Git remote cannot be given to Flux.
    #[error("cannot bootstrap Flux from the repository `{url}`: {reason}")]
    Remote {
        /// The remote URL (credentials removed).
        url: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// The folder `flux bootstrap --path` takes: `<flux.root>/clusters/<flux.cluster_name>`.
#[must_use]
pub fn flux_path(cfg: &ClusterConfig) -> String {
    format!(
        "{}/clusters/{}",
        cfg.flux.root.trim_end_matches('/'),
        cfg.flux.cluster_name
    )
}

/// The age recipients of `<root>/.sops.yaml`'s creation rule for the Secrets in `flux_root`.
///
/// # Errors
/// [`SetupError::MissingSopsYaml`], or [`SetupError::SopsYaml`] for a file that cannot be read
/// or has no age rule for `<flux_root>/*.enc.yaml`.
pub fn sops_recipients(root: &Path, flux_root: &str) -> Result<Vec<String>, SetupError> {
    let path = root.join(".sops.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SetupError::MissingSopsYaml { path });
        }
        Err(e) => {
            return Err(SetupError::SopsYaml {
                path,
                reason: e.to_string(),
            });
        }
    };
    keys::from_sops_yaml_for(&path, &text, flux_root).map_err(|e| SetupError::SopsYaml {
        path: path.clone(),
        reason: e
            .to_string()
            .replace(&format!("cannot use {}: ", path.display()), ""),
    })
}

/// A private key found where sops looks for keys.
#[derive(Debug)]
pub struct HeldKey {
    /// The key pair (its `Debug` never shows the private key).
    pub pair: AgeKeyPair,
    /// Where it was found: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_CMD`, or the file's path.
    pub source: String,
    /// The file it is in (`None` for `SOPS_AGE_KEY` and `SOPS_AGE_KEY_CMD`).
    pub file: Option<PathBuf>,
}

/// The private keys found as sops finds age keys, in sops' order: `SOPS_AGE_KEY`, the file
/// `SOPS_AGE_KEY_FILE` names, the output of the command `SOPS_AGE_KEY_CMD` names (run as sops
/// runs it, through [`psd_sops::keysource::age_key_cmd_text`]), and sops' user key file
/// (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`). Returns the
/// keys, the places looked at, and the sources that are set but unusable (a failing command
/// among them). SSH keys are not read: Flux needs an age key it can be given.
#[must_use]
pub fn held_keys(env: &KeyEnv) -> (Vec<HeldKey>, Vec<String>, Vec<SetupError>) {
    let mut keys = Vec::new();
    let mut looked = Vec::new();
    let mut errors = Vec::new();
    looked.push("SOPS_AGE_KEY".to_owned());
    if let Some(text) = env.var("SOPS_AGE_KEY") {
        match text.into_string() {
            Ok(text) => {
                let text = zeroize::Zeroizing::new(text);
                held_text(&text, "SOPS_AGE_KEY", &mut keys, &mut errors);
            }
            Err(_) => errors.push(SetupError::KeySource {
                source_name: "SOPS_AGE_KEY".into(),
                reason: "not valid UTF-8".into(),
            }),
        }
    }
    let configured = env.var("SOPS_AGE_KEY_FILE").map(PathBuf::from);
    if let Some(path) = &configured {
        let name = format!("SOPS_AGE_KEY_FILE={}", path.display());
        looked.push(name.clone());
        read_held_file(path, name, &mut keys, &mut errors);
    }
    looked.push(AGE_KEY_CMD_SOURCE.to_owned());
    if let Some(cmd) = env.var(AGE_KEY_CMD_SOURCE) {
        match age_key_cmd_text(&cmd) {
            Ok(text) => held_text(&text, AGE_KEY_CMD_SOURCE, &mut keys, &mut errors),
            Err(e) => errors.push(SetupError::KeySource {
                source_name: e.source_name,
                reason: format!(
                    "{}. Run the command yourself to see why; it must print an age key file \
                     (as age-keygen writes one) and exit 0",
                    e.reason
                ),
            }),
        }
    }
    if let Some(path) = psd_sops::keysource::default_key_file_path(|n| env.var(n))
        && configured.as_ref() != Some(&path)
    {
        let name = path.display().to_string();
        looked.push(name.clone());
        if path.exists() {
            read_held_file(&path, name, &mut keys, &mut errors);
        }
    }
    (keys, looked, errors)
}

/// The keys of key-file `text` from `source` (an environment variable, a command), into
/// `keys` or `errors`.
fn held_text(text: &str, source: &str, keys: &mut Vec<HeldKey>, errors: &mut Vec<SetupError>) {
    match psd_model::parse_key_file(text, source) {
        Ok(pairs) => keys.extend(pairs.into_iter().map(|pair| HeldKey {
            pair,
            source: source.to_owned(),
            file: None,
        })),
        Err(e) => errors.push(SetupError::KeySource {
            source_name: source.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// The keys of the key file `path` (named `name` in errors), into `keys` or `errors`.
fn read_held_file(
    path: &Path,
    name: String,
    keys: &mut Vec<HeldKey>,
    errors: &mut Vec<SetupError>,
) {
    match psd_model::read_key_file(path) {
        Ok(pairs) => keys.extend(pairs.into_iter().map(|pair| HeldKey {
            pair,
            source: path.display().to_string(),
            file: Some(path.to_owned()),
        })),
        Err(e) => errors.push(SetupError::KeySource {
            source_name: name,
            reason: e.to_string(),
        }),
    }
}

/// This repository's private key: the first recipient of `recipients` (in their order) whose
/// key [`held_keys`] finds.
///
/// # Errors
/// [`SetupError::KeySource`] for a source that is set but unusable and no matching key
/// elsewhere, [`SetupError::NoKey`] when no key at all is found, [`SetupError::WrongKey`] when
/// the keys found belong to other recipients.
pub fn cluster_key(recipients: &[String], env: &KeyEnv) -> Result<HeldKey, SetupError> {
    let (mut held, looked, mut errors) = held_keys(env);
    for wanted in recipients {
        if let Some(i) = held
            .iter()
            .position(|k| k.pair.recipient().as_str() == wanted)
        {
            return Ok(held.swap_remove(i));
        }
    }
    if !errors.is_empty() {
        return Err(errors.swap_remove(0));
    }
    if held.is_empty() {
        return Err(SetupError::NoKey {
            looked,
            wanted: recipients.to_vec(),
        });
    }
    let mut sources: Vec<String> = held.iter().map(|k| k.source.clone()).collect();
    sources.dedup();
    Err(SetupError::WrongKey {
        sources,
        found: held
            .iter()
            .map(|k| k.pair.recipient().to_string())
            .collect(),
        wanted: recipients.to_vec(),
    })
}

/// The `flux-system` Namespace, as YAML.
pub const NAMESPACE_MANIFEST: &str =
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n";

/// The `flux-system` Namespace, then the Secret `flux-system/sops-age` holding `pair` under the
/// data key `age.agekey` (as `keys.txt` text), as two YAML documents for `kubectl apply -f -`.
/// The private key is in the result: write it to a pipe, never to a file.
#[must_use]
pub fn flux_key_manifests(pair: &AgeKeyPair) -> SecretString {
    let key_text = psd_model::key_file_text(std::slice::from_ref(pair));
    let mut out = zeroize::Zeroizing::new(String::new());
    out.push_str(NAMESPACE_MANIFEST);
    out.push_str("---\napiVersion: v1\nkind: Secret\nmetadata:\n");
    out.push_str(&format!(
        "  name: {SOPS_AGE_SECRET_NAME}\n  namespace: {SOPS_AGE_SECRET_NAMESPACE}\n"
    ));
    out.push_str("  labels:\n    app.kubernetes.io/managed-by: psd\ntype: Opaque\nstringData:\n");
    out.push_str(&format!("  {SOPS_AGE_SECRET_KEY}: |\n"));
    for line in key_text.expose_secret().lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    SecretString::from(out.as_str())
}

/// The recipients of the keys in the value of the cluster's `sops-age` Secret (`data`, so
/// base64 of `keys.txt` text).
///
/// # Errors
/// [`SetupError::KeySource`] when it is not base64 of an age key file.
pub fn recipients_of_secret_data(base64_value: &str) -> Result<Vec<String>, SetupError> {
    use base64::Engine as _;
    let bad = |reason: String| SetupError::KeySource {
        source_name: format!("Secret {SOPS_AGE_SECRET_NAMESPACE}/{SOPS_AGE_SECRET_NAME}"),
        reason,
    };
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(base64_value.trim())
            .map_err(|_| bad(format!("`{SOPS_AGE_SECRET_KEY}` is not base64")))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| bad(format!("`{SOPS_AGE_SECRET_KEY}` is not text")))?;
    let pairs =
        psd_model::parse_key_file(text, SOPS_AGE_SECRET_KEY).map_err(|e| bad(e.to_string()))?;
    Ok(pairs.iter().map(|p| p.recipient().to_string()).collect())
}

/// How Flux reaches the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FluxRepository {
    /// Any Git server: `flux bootstrap git --url=…` (SSH or HTTPS URL).
    Git {
        /// `ssh://…` or `https://…`, without credentials.
        url: String,
    },
    /// GitHub through its API: `flux bootstrap github --owner=… --repository=…`.
    Github {
        /// The user or organisation.
        owner: String,
        /// The repository name.
        repository: String,
        /// The owner is a user, not an organisation (`--personal`).
        personal: bool,
    },
}

/// The `flux bootstrap` command for a repository, branch and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FluxBootstrap {
    /// The repository.
    pub repository: FluxRepository,
    /// The branch Flux follows.
    pub branch: String,
    /// The folder in the repository ([`flux_path`]).
    pub path: String,
}

impl FluxBootstrap {
    /// `flux bootstrap git` for a Git remote URL as `git remote get-url` prints it. An
    /// scp-like `git@host:owner/repo.git` becomes `ssh://git@host/owner/repo.git` (Flux takes
    /// only URLs); a password or token in an HTTPS URL is dropped (Flux reads it from
    /// `GIT_PASSWORD`, and it must not be printed).
    ///
    /// # Errors
    /// [`SetupError::Remote`] for a local path or a URL Flux cannot clone.
    pub fn from_remote(remote: &str, branch: &str, path: &str) -> Result<Self, SetupError> {
        Ok(Self {
            repository: FluxRepository::Git {
                url: normalize_remote(remote)?,
            },
            branch: branch.to_owned(),
            path: path.to_owned(),
        })
    }

    /// `flux bootstrap github` for the same GitHub remote: `--owner` and `--repository` from
    /// the URL.
    ///
    /// # Errors
    /// [`SetupError::Remote`] when `remote` is not a `github.com` repository.
    pub fn github(
        remote: &str,
        branch: &str,
        path: &str,
        personal: bool,
    ) -> Result<Self, SetupError> {
        let url = normalize_remote(remote)?;
        let rest = url
            .strip_prefix("ssh://git@github.com/")
            .or_else(|| url.strip_prefix("https://github.com/"))
            .ok_or_else(|| SetupError::Remote {
                url: url.clone(),
                reason: "not a github.com repository: drop --github to use `flux bootstrap git`"
                    .into(),
            })?;
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix(".git").unwrap_or(rest);
        let (owner, repository) = rest.split_once('/').ok_or_else(|| SetupError::Remote {
            url: url.clone(),
            reason: "expected github.com/<owner>/<repository>".into(),
        })?;
        Ok(Self {
            repository: FluxRepository::Github {
                owner: owner.to_owned(),
                repository: repository.to_owned(),
                personal,
            },
            branch: branch.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The command, one argument per element (`flux`, `bootstrap`, …).
    #[must_use]
    pub fn command(&self) -> Vec<String> {
        let mut argv: Vec<String> = vec!["flux".into(), "bootstrap".into()];
        match &self.repository {
            FluxRepository::Git { url } => {
                argv.push("git".into());
                argv.push(format!("--url={url}"));
            }
            FluxRepository::Github {
                owner,
                repository,
                personal,
            } => {
                argv.push("github".into());
                argv.push(format!("--owner={owner}"));
                argv.push(format!("--repository={repository}"));
                if *personal {
                    argv.push("--personal".into());
                }
            }
        }
        argv.push(format!("--branch={}", self.branch));
        argv.push(format!("--path={}", self.path));
        argv
    }

    /// [`FluxBootstrap::command`] as one line for a POSIX shell.
    #[must_use]
    pub fn shell_line(&self) -> String {
        self.command()
            .iter()
            .map(|a| keys::shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `remote` as a URL Flux can clone: `ssh://` or `https://`/`http://`, without a password.
fn normalize_remote(remote: &str) -> Result<String, SetupError> {
    let remote = remote.trim();
    let bad = |url: &str, reason: &str| SetupError::Remote {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some((scheme, rest)) = remote.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let authority = match authority.rsplit_once('@') {
            // Keep the user name, drop a password or token.
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{user}@{host}")
            }
            None => authority.to_owned(),
        };
        let url = format!("{scheme}://{authority}/{path}");
        return match scheme {
            "ssh" | "https" | "http" if !path.is_empty() => Ok(url),
            "ssh" | "https" | "http" => Err(bad(&url, "the URL names no repository")),
            "file" => Err(bad(
                &url,
                "a local repository: Flux in the cluster cannot read it. Push the repository \
                 to a Git server Flux can reach and pass --url (or set it as the remote)",
            )),
            _ => Err(bad(
                &url,
                "Flux clones only ssh:// and https:// URLs: pass --url with one of those",
            )),
        };
    }
    // scp-like syntax: [user@]host:path (no slash before the colon).
    if let Some((host, path)) = remote.split_once(':')
        && !host.contains('/')
        && !host.is_empty()
        && !path.is_empty()
    {
        let path = path.trim_start_matches('/');
        return Ok(format!("ssh://{host}/{path}"));
    }
    Err(bad(
        remote,
        "a local path: Flux in the cluster cannot read it. Push the repository to a Git server \
         Flux can reach and pass --url (or set it as the remote)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_become_urls_flux_takes() {
        let n = |s| normalize_remote(s).map_err(|e| e.to_string());
        assert_eq!(
            n("git@github.com:me/cluster.git").unwrap(),
            "ssh://git@github.com/me/cluster.git"
        );
        assert_eq!(
            n("https://me:ghp_secret@github.com/me/c.git").unwrap(),
            "https://me@github.com/me/c.git"
        );
        assert_eq!(
            n("ssh://git@host:2222/x/y.git").unwrap(),
            "ssh://git@host:2222/x/y.git"
        );
        let e = n("/srv/git/cluster.git").unwrap_err();
        assert!(e.contains("local path"), "{e}");
        let e = n("file:///srv/git/c.git").unwrap_err();
        assert!(e.contains("local repository"), "{e}");
        assert!(
            n("git://host/x")
                .unwrap_err()
                .contains("ssh:// and https://")
        );
    }

    #[test]
    fn github_command() {
        let f = FluxBootstrap::github(
            "https://github.com/me/cluster",
            "main",
            "gitops/clusters/a",
            true,
        )
        .unwrap();
        assert_eq!(
            f.command().join(" "),
            "flux bootstrap github --owner=me --repository=cluster --personal --branch=main \
             --path=gitops/clusters/a"
        );
        assert!(FluxBootstrap::github("ssh://git@gitlab.com/a/b", "main", "p", false).is_err());
    }

    #[test]
    fn keys_are_found_in_sops_order_including_the_key_command() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b, c] = [(); 3].map(|()| AgeKeyPair::generate());
        let write = |name: &str, pair: &AgeKeyPair| {
            let path = dir.path().join(name);
            let text = psd_model::key_file_text(std::slice::from_ref(pair));
            std::fs::write(&path, text.expose_secret()).unwrap();
            path
        };
        let file_a = write("a.txt", &a);
        let file_b = write("b.txt", &b);
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("sops/age")).unwrap();
        std::fs::rename(write("c.txt", &c), xdg.join("sops/age/keys.txt")).unwrap();
        let env = KeyEnv::fixed([
            ("XDG_CONFIG_HOME", xdg.clone().into_os_string()),
            ("SOPS_AGE_KEY_FILE", file_a.clone().into_os_string()),
            (
                "SOPS_AGE_KEY_CMD",
                format!("cat {}", file_b.display()).into(),
            ),
        ]);
        let (held, looked, errors) = held_keys(&env);
        assert!(errors.is_empty(), "{errors:?}");
        let found: Vec<(String, &str)> = held
            .iter()
            .map(|k| (k.pair.recipient().to_string(), k.source.as_str()))
            .collect();
        let default = xdg.join("sops/age/keys.txt").display().to_string();
        assert_eq!(
            found,
            [
                (a.recipient().to_string(), file_a.to_str().unwrap()),
                (b.recipient().to_string(), "SOPS_AGE_KEY_CMD"),
                (c.recipient().to_string(), default.as_str()),
            ]
        );
        assert_eq!(held[1].file, None);
        assert_eq!(looked[2], "SOPS_AGE_KEY_CMD");
        // The key command alone is enough for the cluster key.
        let only_cmd = KeyEnv::fixed([("SOPS_AGE_KEY_CMD", format!("cat {}", file_b.display()))]);
        let key = cluster_key(&[b.recipient().to_string()], &only_cmd).unwrap();
        assert_eq!(key.source, "SOPS_AGE_KEY_CMD");
        // A failing command is a key-source error naming the variable, without the key.
        let failing = KeyEnv::fixed([(
            "SOPS_AGE_KEY_CMD",
            format!("sh -c 'cat {}; echo locked >&2; exit 5'", file_b.display()),
        )]);
        let e = cluster_key(&[b.recipient().to_string()], &failing)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot use the age key in SOPS_AGE_KEY_CMD: "),
            "{e}"
        );
        assert!(
            e.contains("exit status: 5") && e.contains("(locked)"),
            "{e}"
        );
        assert!(!e.contains("AGE-SECRET-KEY"), "{e}");
    }

    #[test]
    fn the_secret_holds_the_key_under_age_agekey() {
        let pair = AgeKeyPair::generate();
        let text = flux_key_manifests(&pair);
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(text.expose_secret()).unwrap();
        assert_eq!(docs[0]["kind"], "Namespace");
        assert_eq!(docs[1]["metadata"]["name"], "sops-age");
        assert_eq!(docs[1]["metadata"]["namespace"], "flux-system");
        let value = docs[1]["stringData"]["age.agekey"].as_str().unwrap();
        let back = psd_model::parse_key_file(value, "test").unwrap();
        assert_eq!(back[0].recipient(), pair.recipient());
    }
}
