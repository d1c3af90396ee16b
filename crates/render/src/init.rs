//! Starting a cluster repository (`psd init`): a commented `psd.yaml` with a
//! `# yaml-language-server: $schema=./psd.schema.json` line and that schema beside it, the
//! cluster's age key where sops looks for it, `.sops.yaml` for its recipient, and `.gitignore`
//! entries that keep private keys and decrypted files out of git.
//!
//! Order, so that every prefix is safe to interrupt: (1) the key is appended to the key file
//! (marked `# psd: cluster key for <root>`, as a first `psd render` marks it, so a render or a
//! second `init` after an interruption finds it instead of making another); (2) `.sops.yaml`;
//! (3) `psd.yaml` and `psd.schema.json`; (4) `.gitignore`. Each file is written atomically.
//!
//! ```no_run
//! use psd_render::init::{InitOptions, init};
//!
//! let mut opts = InitOptions::new("cluster", "example.org");
//! opts.email = "ops@example.org".into();
//! let report = init(&opts)?;
//! println!("{:?}", report.written);
//! # Ok::<(), psd_render::init::InitError>(())
//! ```

use std::path::{Path, PathBuf};

use psd_model::AgeKeyPair;
use psd_model::cluster::{ClusterConfig, ClusterError, json_schema};

use crate::keys::{self, KeyEnv};
use crate::write::write_atomic;

/// The schema file `init` writes beside `psd.yaml`, named by its `$schema` line.
pub const SCHEMA_FILE: &str = "psd.schema.json";

/// The lines `init` makes sure `.gitignore` has.
pub const GITIGNORE_LINES: [&str; 6] = [
    "/age.key",
    "*.agekey",
    "keys.txt",
    "*.dec.yaml",
    ".psd-new-*",
    ".psd-tmp-*",
];

/// Settings of [`init`].
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The repository root (created if missing).
    pub root: PathBuf,
    /// The DNS zone (`domain`).
    pub domain: String,
    /// The ACME e-mail; empty: `admin@<domain>`.
    pub email: String,
    /// `flux.cluster_name`.
    pub cluster_name: String,
    /// Render PostgreSQL.
    pub postgresql: bool,
    /// Render Redis (Valkey).
    pub redis: bool,
    /// Render Authentik (needs PostgreSQL).
    pub authentik: bool,
    /// Encrypt to these age recipients (`age1…`) and create no key; empty: this repository's
    /// key (found, or created in the key file).
    pub recipients: Vec<String>,
    /// Replace an existing `psd.yaml`, `psd.schema.json` and `.sops.yaml`.
    pub force: bool,
    /// Where keys are found and created.
    pub key_env: KeyEnv,
}

impl InitOptions {
    /// Defaults: cluster `k3s`, every service, a key of its own, the process environment.
    pub fn new(root: impl Into<PathBuf>, domain: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            domain: domain.into(),
            email: String::new(),
            cluster_name: "k3s".into(),
            postgresql: true,
            redis: true,
            authentik: true,
            recipients: Vec::new(),
            force: false,
            key_env: KeyEnv::process(),
        }
    }

    /// The cluster description these options write, validated as [`init`] validates it
    /// (recipients and files are not checked). `psd init` asks again for a value this refuses.
    ///
    /// # Errors
    /// [`ClusterError::Invalid`] naming the field (`domain`, `acme.email`,
    /// `flux.cluster_name`, `services.…`) whose value cannot work.
    pub fn config(&self) -> Result<ClusterConfig, ClusterError> {
        let mut cfg = ClusterConfig::default();
        cfg.domain.clone_from(&self.domain);
        cfg.acme.email.clone_from(&self.email);
        cfg.flux.cluster_name.clone_from(&self.cluster_name);
        cfg.services.postgresql.enabled = self.postgresql;
        cfg.services.redis.enabled = self.redis;
        cfg.services.authentik.enabled = self.authentik;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Where the repository's key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The recipients were given ([`InitOptions::recipients`]); no key was touched.
    Given,
    /// A key already there was used: one marked for this repository, or the only key of the
    /// file `SOPS_AGE_KEY_FILE` names.
    Reused {
        /// The key file.
        path: PathBuf,
    },
    /// A new key was appended to (or created as) the key file.
    Created {
        /// The key file.
        path: PathBuf,
        /// The file did not exist before.
        new_file: bool,
        /// The `# psd: cluster key for …` comment above it.
        marker: String,
    },
}

/// What [`init`] did.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// Files written, relative to the root, in order.
    pub written: Vec<String>,
    /// Lines added to `.gitignore`.
    pub gitignore_added: Vec<String>,
    /// The key.
    pub key: KeyOutcome,
    /// The recipients in `.sops.yaml`.
    pub recipients: Vec<String>,
    /// The cluster description written.
    pub config: ClusterConfig,
}

/// Everything [`init`] can fail with; nothing is left half-written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// Files `init` writes exist already.
    #[error(
        "{} already exist(s) in {}: psd init does not overwrite them. Keep them (`psd render` \
         works with them as they are), or pass --force to replace them",
        files.join(", "),
        root.display()
    )]
    Exists {
        /// The root.
        root: PathBuf,
        /// The files, relative to the root.
        files: Vec<String>,
    },
    /// A value cannot work.
    #[error("{0}")]
    Invalid(#[from] ClusterError),
    /// A given recipient is not an age recipient.
    #[error("`{recipient}` is not an age recipient (age1…): {reason}")]
    Recipient {
        /// The value given.
        recipient: String,
        /// Why.
        reason: String,
    },
    /// There is nowhere to put a key.
    #[error(
        "cannot tell where to create the age key: neither SOPS_AGE_KEY_FILE nor HOME (or \
         XDG_CONFIG_HOME) is set. Set SOPS_AGE_KEY_FILE to the key file to use"
    )]
    NoKeyLocation,
    /// The key file could not be read or written.
    #[error("age key file: {0}")]
    Key(#[from] psd_model::KeyFileError),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] crate::RenderError),
}

/// Starts a cluster repository: see the module documentation.
///
/// # Errors
/// [`InitError`]: existing files without `force`, invalid values, key file or I/O errors.
pub fn init(opts: &InitOptions) -> Result<InitReport, InitError> {
    let root = &opts.root;
    let cfg = opts.config()?;
    for r in &opts.recipients {
        r.parse::<psd_model::Recipient>()
            .map_err(|e| InitError::Recipient {
                recipient: r.clone(),
                reason: e.to_string(),
            })?;
    }
    let ours = ["psd.yaml", SCHEMA_FILE, ".sops.yaml"];
    let existing: Vec<String> = ours
        .iter()
        .filter(|f| root.join(f).exists())
        .map(|f| (*f).to_owned())
        .collect();
    if !existing.is_empty() && !opts.force {
        return Err(InitError::Exists {
            root: root.clone(),
            files: existing,
        });
    }
    std::fs::create_dir_all(root).map_err(|e| crate::RenderError::io("cannot create", root, e))?;

    // (1) The key.
    let (recipients, key) = if opts.recipients.is_empty() {
        let (r, k) = repository_key(root, &opts.key_env)?;
        (vec![r], k)
    } else {
        (opts.recipients.clone(), KeyOutcome::Given)
    };
    // (2) .sops.yaml, (3) psd.yaml and its schema.
    write_atomic(
        &root.join(".sops.yaml"),
        keys::sops_yaml(&recipients)?.as_bytes(),
    )?;
    write_atomic(&root.join("psd.yaml"), psd_yaml(&cfg).as_bytes())?;
    let schema = format!("{:#}\n", json_schema());
    write_atomic(&root.join(SCHEMA_FILE), schema.as_bytes())?;
    // (4) .gitignore.
    let gitignore_added = update_gitignore(root)?;
    Ok(InitReport {
        written: ours.iter().map(|f| (*f).to_owned()).collect(),
        gitignore_added,
        key,
        recipients,
        config: cfg,
    })
}

/// This repository's recipient: a key marked for it in the key file(s), else the only key of
/// the file `SOPS_AGE_KEY_FILE` names, else a new key appended to the key file.
fn repository_key(root: &Path, env: &KeyEnv) -> Result<(String, KeyOutcome), InitError> {
    let canonical = keys::canonical_root(root);
    let key_file = env.key_file().ok_or(InitError::NoKeyLocation)?;
    let default = psd_sops::keysource::default_key_file_path(|n| env.var(n));
    for file in std::iter::once(&key_file).chain(default.as_ref()) {
        if let Some(r) = keys::marked_recipient(file, &canonical) {
            return Ok((r, KeyOutcome::Reused { path: file.clone() }));
        }
    }
    if env.var("SOPS_AGE_KEY_FILE").is_some() && key_file.exists() {
        let pairs = psd_model::read_key_file(&key_file)?;
        if let [only] = pairs.as_slice() {
            return Ok((
                only.recipient().to_string(),
                KeyOutcome::Reused { path: key_file },
            ));
        }
    }
    let marker = keys::marker(&canonical);
    let pair = AgeKeyPair::generate();
    let appended = psd_model::append_key_file(&key_file, std::slice::from_ref(&marker), &pair)?;
    Ok((
        pair.recipient().to_string(),
        KeyOutcome::Created {
            path: appended.path,
            new_file: appended.created,
            marker: format!("# {marker}"),
        },
    ))
}

/// Adds the missing [`GITIGNORE_LINES`] to `<root>/.gitignore`; returns them.
fn update_gitignore(root: &Path) -> Result<Vec<String>, InitError> {
    let path = root.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(crate::RenderError::io("cannot read", &path, e).into()),
    };
    let have: Vec<&str> = text.lines().map(str::trim).collect();
    let missing: Vec<String> = GITIGNORE_LINES
        .iter()
        .filter(|l| !have.contains(l))
        .map(|l| (*l).to_owned())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut new = text.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# psd: private keys and decrypted files never belong in git\n");
    for l in &missing {
        new.push_str(l);
        new.push('\n');
    }
    write_atomic(&path, new.as_bytes())?;
    Ok(missing)
}

/// A YAML scalar for `s` (double-quoted: a JSON string is a YAML string).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The commented `psd.yaml` for `cfg` (only the keys `init` asks about; every other key keeps
/// its default, which `psd config default` prints).
#[must_use]
pub fn psd_yaml(cfg: &ClusterConfig) -> String {
    let email_line = if cfg.acme.email.is_empty() {
        format!(
            "  # email: {}   (default: admin@<domain>)\n",
            q(&cfg.acme_email())
        )
    } else {
        format!("  email: {}\n", q(&cfg.acme.email))
    };
    format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}
# The cluster description `psd render` renders the Flux tree from. Every key is optional:
# `psd config default` prints them all with their defaults, and {SCHEMA_FILE} (from
# `psd config schema`) lets editors complete and check this file.

# The DNS zone the cluster serves: Authentik is at <authentik host>.<domain>, and the
# certificates (Let's Encrypt, DNS-01 through Cloudflare) are for names in it.
domain: {domain}

acme:
  # The Let's Encrypt account e-mail: certificate expiry notices go there.
{email_line}  # `staging` while trying things out (untrusted certificates, generous rate limits).
  issuer: production

flux:
  # The entry folder is <root>/clusters/<cluster_name>/: the --path of `flux bootstrap`
  # (`psd bootstrap` prints the whole command). Renaming it after bootstrap needs care.
  cluster_name: {cluster}
  root: {root}

# Who may decrypt the Secrets is .sops.yaml's business (psd init wrote it for this
# repository's age key); `sops.age_recipients` here must agree with it when set.

services:
  # PostgreSQL on the CloudNativePG operator, published on the tailnet (port 5432).
  postgresql:
    enabled: {pg}
  # Redis, served by Valkey, published on the tailnet (port 6379).
  redis:
    enabled: {redis}
  # Authentik at <host>.<domain> (its database lives in the PostgreSQL above).
  authentik:
    enabled: {ak}

exposure:
  # Who may reach Traefik's entry points (web and data ports): the tailnet's IPv4 range.
  source_ranges:
{ranges}",
        domain = q(&cfg.domain),
        cluster = q(&cfg.flux.cluster_name),
        root = q(&cfg.flux.root),
        pg = cfg.services.postgresql.enabled,
        redis = cfg.services.redis.enabled,
        ak = cfg.services.authentik.enabled,
        ranges = cfg
            .exposure
            .source_ranges
            .iter()
            .map(|r| format!("    - {}\n", q(r)))
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_description_reads_back() {
        let mut cfg = ClusterConfig {
            domain: "example.org".into(),
            ..ClusterConfig::default()
        };
        cfg.acme.email = "ops+acme@example.org".into();
        cfg.flux.cluster_name = "home".into();
        cfg.services.redis.enabled = false;
        let text = psd_yaml(&cfg);
        assert!(text.starts_with("# yaml-language-server: $schema=./psd.schema.json\n"));
        assert_eq!(ClusterConfig::from_yaml(&text).unwrap(), cfg);
        cfg.acme.email = String::new();
        assert_eq!(ClusterConfig::from_yaml(&psd_yaml(&cfg)).unwrap(), cfg);
    }
}
