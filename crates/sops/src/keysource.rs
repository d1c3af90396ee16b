//! Finding age identities (private keys), exactly as sops 3.11+ does (spec section 7), plus an
//! explicit in-memory API for library users.
//!
//! [`Identities::from_env`] collects identities from **all** sources, in this order:
//! `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `SOPS_AGE_SSH_PRIVATE_KEY_CMD`, `~/.ssh/id_ed25519`,
//! `~/.ssh/id_rsa`, `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`, and the default
//! `<user config dir>/sops/age/keys.txt`. A source that fails does not stop the others; its
//! [`SourceError`] is returned and reported only if decryption then fails.
//!
//! Not supported (each gives a clear [`SourceError`] rather than silently doing nothing):
//! passphrase-protected age identity files and SSH keys, age plugin identities
//! (`AGE-PLUGIN-…`) and post-quantum identities (`AGE-SECRET-KEY-PQ-1…`).
//! `SOPS_AGE_KEY_CMD` is run once, without the per-recipient `SOPS_AGE_RECIPIENT` variable
//! that sops 3.12 sets.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::Error;

/// A source of identities that could not be used. Names the source (an environment variable,
/// a path), never key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {reason}")]
pub struct SourceError {
    /// The source: `SOPS_AGE_KEY_FILE=/path`, `SOPS_AGE_KEY`, `/home/u/.ssh/id_ed25519`, ...
    pub source_name: String,
    /// What went wrong and what to do.
    pub reason: String,
}

impl SourceError {
    fn new(source_name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            source_name: source_name.into(),
            reason: reason.into(),
        }
    }
}

const PASSPHRASE_REFUSED: &str = "passphrase-protected (age-encrypted) identity files are not supported by psd: decrypt it once with `age -d` into a file only you can read and point SOPS_AGE_KEY_FILE at it, or use SOPS_AGE_KEY_CMD";

/// A set of age identities (private keys) to decrypt data keys with. Debug output shows only
/// counts; the keys themselves are held by the `age` crate, which wipes them on drop.
#[derive(Default)]
pub struct Identities {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// Sources that were configured and looked at.
    locations: Vec<String>,
    /// Locations that were checked and held nothing (sops' "Did not find keys in locations").
    unused_locations: Vec<String>,
    /// Unsupported identity kinds that were found (post-quantum, plugin), by source.
    unsupported: Vec<SourceError>,
    /// Sources that failed while loading (kept for the data-key failure report).
    source_errors: Vec<SourceError>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("keys", &self.keys.len())
            .field("locations", &self.locations)
            .finish()
    }
}

impl Identities {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of usable identities.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no usable identity was loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The identities in the form the `age` crate's decryptor takes.
    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)
    }

    /// Sources that were consulted (for reports).
    pub fn locations(&self) -> &[String] {
        &self.locations
    }

    /// Locations that were checked but held no key.
    pub fn unused_locations(&self) -> &[String] {
        &self.unused_locations
    }

    /// Identities found but not supported by psd (post-quantum, plugins), with their source.
    pub fn unsupported(&self) -> &[SourceError] {
        &self.unsupported
    }

    /// Sources that failed to load (unreadable files, refused key types), for reports.
    pub fn source_errors(&self) -> &[SourceError] {
        &self.source_errors
    }

    /// Adds all identities of `other`.
    pub fn extend(&mut self, other: Identities) {
        self.keys.extend(other.keys);
        self.locations.extend(other.locations);
        self.unused_locations.extend(other.unused_locations);
        self.unsupported.extend(other.unsupported);
        self.source_errors.extend(other.source_errors);
    }

    /// Adds one X25519 identity given as `AGE-SECRET-KEY-1…`.
    pub fn add_x25519(&mut self, secret: &str) -> Result<(), Error> {
        let id = age::x25519::Identity::from_str(secret).map_err(|_| {
            Error::Identity(SourceError::new(
                "age identity",
                "malformed X25519 secret key (expected AGE-SECRET-KEY-1…)",
            ))
        })?;
        self.keys.push(Box::new(id));
        Ok(())
    }

    /// Parses a key file (`keys.txt`, `SOPS_AGE_KEY_FILE`, command output) as sops does: one
    /// identity per line, empty lines and `#` lines ignored, a trailing `\r` dropped. A
    /// passphrase-protected (age-encrypted) file is refused with a clear message.
    pub fn parse_key_file(text: &str) -> Result<Self, Error> {
        let mut ids = Self::new();
        ids.add_key_text(text, "age key file", false)
            .map_err(Error::Identity)?;
        Ok(ids)
    }

    /// Adds the identities of key-file text from `source` (named in errors). With
    /// `split_whitespace` (the `SOPS_AGE_KEY` rule of sops 3.13) a line may hold several keys.
    pub fn add_key_text(
        &mut self,
        text: &str,
        source: &str,
        split_whitespace: bool,
    ) -> Result<(), SourceError> {
        if text.starts_with("age-encryption") || text.starts_with("-----BEGIN AGE") {
            return Err(SourceError::new(source, PASSPHRASE_REFUSED));
        }
        let mut found = Vec::new();
        let mut unsupported = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = if split_whitespace {
                line.split_whitespace().collect()
            } else {
                vec![line]
            };
            for word in words {
                if word.starts_with("AGE-SECRET-KEY-PQ-1") {
                    unsupported.push(SourceError::new(
                        source,
                        format!("line {}: post-quantum identities (AGE-SECRET-KEY-PQ-1…) are not supported by psd", n + 1),
                    ));
                } else if word.starts_with("AGE-PLUGIN-") {
                    unsupported.push(SourceError::new(
                        source,
                        format!(
                            "line {}: age plugin identities are not supported by psd",
                            n + 1
                        ),
                    ));
                } else if word.starts_with("AGE-SECRET-KEY-1") {
                    let id = age::x25519::Identity::from_str(word).map_err(|_| {
                        SourceError::new(
                            source,
                            format!("error at line {}: malformed secret key", n + 1),
                        )
                    })?;
                    found.push(id);
                } else {
                    return Err(SourceError::new(
                        source,
                        format!("error at line {}: unknown identity type", n + 1),
                    ));
                }
            }
        }
        if found.is_empty() && unsupported.is_empty() {
            self.unused_locations.push(source.to_owned());
        }
        self.locations.push(source.to_owned());
        self.keys.extend(
            found
                .into_iter()
                .map(|k| Box::new(k) as Box<dyn age::Identity + Send + Sync>),
        );
        self.unsupported.extend(unsupported);
        Ok(())
    }

    /// Adds an OpenSSH private key (ed25519 or RSA). Passphrase-protected keys are refused.
    pub fn add_ssh_private_key(&mut self, pem: &[u8], source: &str) -> Result<(), SourceError> {
        let id = age::ssh::Identity::from_buffer(pem, Some(source.to_owned())).map_err(|e| {
            SourceError::new(source, format!("failed to parse SSH private key: {e}"))
        })?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.locations.push(source.to_owned());
                self.keys.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => Err(SourceError::new(
                source,
                "passphrase-protected SSH keys are not supported by psd: use an unencrypted key or an age identity",
            )),
            age::ssh::Identity::Unsupported(_) => Err(SourceError::new(
                source,
                "unsupported SSH key type: only ssh-ed25519 and ssh-rsa keys can be used with age",
            )),
        }
    }

    /// Loads identities from the process environment and default locations (spec section 7).
    pub fn from_env() -> (Self, Vec<SourceError>) {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`Identities::from_env`] with an injected environment lookup (for tests and for
    /// callers that sandbox the environment).
    pub fn from_lookup(env: impl Fn(&str) -> Option<OsString>) -> (Self, Vec<SourceError>) {
        let mut ids = Self::new();
        let mut errors = Vec::new();
        let get = |name: &str| env(name).filter(|v| !v.is_empty());

        // 1–2: SSH keys from the environment.
        if let Some(path) = get("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            let source = format!("SOPS_AGE_SSH_PRIVATE_KEY_FILE={}", path.to_string_lossy());
            match read_secret_file(Path::new(&path), &source) {
                Ok(pem) => push_err(&mut errors, ids.add_ssh_private_key(&pem, &source)),
                Err(e) => errors.push(e),
            }
        } else {
            ids.unused_locations
                .push("SOPS_AGE_SSH_PRIVATE_KEY_FILE".into());
        }
        if let Some(cmd) = get("SOPS_AGE_SSH_PRIVATE_KEY_CMD") {
            let source = "SOPS_AGE_SSH_PRIVATE_KEY_CMD".to_owned();
            match run_command(&cmd, &source) {
                Ok(out) => push_err(&mut errors, ids.add_ssh_private_key(&out, &source)),
                Err(e) => errors.push(e),
            }
        }
        // 3: the user's default SSH keys, if present.
        if let Some(home) = home_dir(&get) {
            for name in ["id_ed25519", "id_rsa"] {
                let path = home.join(".ssh").join(name);
                let source = path.display().to_string();
                if path.is_file() {
                    match read_secret_file(&path, &source) {
                        Ok(pem) => push_err(&mut errors, ids.add_ssh_private_key(&pem, &source)),
                        Err(e) => errors.push(e),
                    }
                } else {
                    ids.unused_locations.push(source);
                }
            }
        }
        // 4: SOPS_AGE_KEY (several identities per line since 3.13).
        if let Some(keys) = get("SOPS_AGE_KEY") {
            match keys.into_string() {
                Ok(text) => {
                    let text = Zeroizing::new(text);
                    push_err(&mut errors, ids.add_key_text(&text, "SOPS_AGE_KEY", true));
                }
                Err(_) => errors.push(SourceError::new("SOPS_AGE_KEY", "not valid UTF-8")),
            }
        } else {
            ids.unused_locations.push("SOPS_AGE_KEY".into());
        }
        // 5: SOPS_AGE_KEY_FILE.
        if let Some(path) = get("SOPS_AGE_KEY_FILE") {
            let source = format!("SOPS_AGE_KEY_FILE={}", path.to_string_lossy());
            load_key_file(&mut ids, &mut errors, Path::new(&path), &source);
        } else {
            ids.unused_locations.push("SOPS_AGE_KEY_FILE".into());
        }
        // 6: SOPS_AGE_KEY_CMD.
        if let Some(cmd) = get("SOPS_AGE_KEY_CMD") {
            match age_key_cmd_text(&cmd) {
                Ok(text) => push_err(
                    &mut errors,
                    ids.add_key_text(&text, AGE_KEY_CMD_SOURCE, false),
                ),
                Err(e) => errors.push(e),
            }
        } else {
            ids.unused_locations.push("SOPS_AGE_KEY_CMD".into());
        }
        // 7: the default keys.txt.
        match default_key_file(&get) {
            Some(path) if path.is_file() => {
                let source = path.display().to_string();
                load_key_file(&mut ids, &mut errors, &path, &source);
            }
            Some(path) => ids.unused_locations.push(path.display().to_string()),
            None => errors.push(SourceError::new(
                "default keys.txt",
                "could not determine the user config directory (HOME / XDG_CONFIG_HOME / AppData unset)",
            )),
        }
        ids.source_errors = errors.clone();
        (ids, errors)
    }
}

fn push_err(errors: &mut Vec<SourceError>, r: Result<(), SourceError>) {
    if let Err(e) = r {
        errors.push(e);
    }
}

fn read_secret_file(path: &Path, source: &str) -> Result<Zeroizing<Vec<u8>>, SourceError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| SourceError::new(source, format!("failed to open file: {e}")))
}

fn load_key_file(ids: &mut Identities, errors: &mut Vec<SourceError>, path: &Path, source: &str) {
    match read_secret_file(path, source) {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            Ok(text) => push_err(errors, ids.add_key_text(text, source, false)),
            Err(_) => errors.push(SourceError::new(source, "not valid UTF-8")),
        },
        Err(e) => errors.push(e),
    }
}

/// The source name of `SOPS_AGE_KEY_CMD` in [`SourceError`]s and [`Identities::locations`].
pub const AGE_KEY_CMD_SOURCE: &str = "SOPS_AGE_KEY_CMD";

/// The identity text a `SOPS_AGE_KEY_CMD` command prints, run exactly as
/// [`Identities::from_env`] runs it (and sops does): split with shell-like quoting, without a
/// shell, standard input inherited, standard error captured. The text is what sops parses as a
/// key file (one identity per line); this function does not parse it. It is wiped on drop.
///
/// For callers that need the key text itself rather than the [`Identities`] built from it,
/// e.g. to hand the key to a cluster.
///
/// # Errors
/// A [`SourceError`] named [`AGE_KEY_CMD_SOURCE`] when the command cannot be split or started,
/// exits unsuccessfully (its exit status and the first line of its standard error are quoted,
/// unless that line holds key material), or prints something that is not UTF-8. No error
/// carries the command's standard output.
pub fn age_key_cmd_text(cmd: &std::ffi::OsStr) -> Result<Zeroizing<String>, SourceError> {
    let out = run_command(cmd, AGE_KEY_CMD_SOURCE)?;
    match std::str::from_utf8(&out) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(SourceError::new(
            AGE_KEY_CMD_SOURCE,
            "output is not valid UTF-8",
        )),
    }
}

/// Runs a key command split with shell-like quoting, without a shell (as sops does).
fn run_command(cmd: &std::ffi::OsStr, source: &str) -> Result<Zeroizing<Vec<u8>>, SourceError> {
    let text = cmd.to_string_lossy();
    let argv = shlex::split(&text)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            SourceError::new(
                source,
                "failed to parse command: unbalanced quotes or empty",
            )
        })?;
    // Standard error is captured, as sops does (Go's `cmd.Output()`), to quote its first line
    // when the command fails.
    let output = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| {
            SourceError::new(
                source,
                format!("failed to execute command {}: {e}", argv[0]),
            )
        })?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        let stderr = Zeroizing::new(output.stderr);
        let said = first_line_of(&stderr)
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        return Err(SourceError::new(
            source,
            format!("command {} failed: {}{said}", argv[0], output.status),
        ));
    }
    Ok(stdout)
}

/// The first non-blank line of a command's standard error, cut to 200 characters; never a line
/// that holds key material.
fn first_line_of(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    // bech32 keys may be written in lower case too.
    let upper = line.to_ascii_uppercase();
    if upper.contains("AGE-SECRET-KEY-") || upper.contains("PRIVATE KEY") {
        return Some("its error output holds key material; not shown".to_owned());
    }
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    Some(cut)
}

fn home_dir(get: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if cfg!(windows) {
        get("USERPROFILE").map(PathBuf::from)
    } else {
        get("HOME").map(PathBuf::from)
    }
}

/// The default key file `<user config dir>/sops/age/keys.txt` (spec section 7): Linux/BSD
/// `$XDG_CONFIG_HOME` or `~/.config`; macOS `$XDG_CONFIG_HOME` if set, else
/// `~/Library/Application Support`; Windows `%AppData%`.
pub fn default_key_file_path(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    default_key_file(&get)
}

fn default_key_file(get: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let config = if cfg!(windows) {
        get("AppData")
            .or_else(|| get("APPDATA"))
            .map(PathBuf::from)?
    } else if let Some(xdg) = get("XDG_CONFIG_HOME") {
        PathBuf::from(xdg)
    } else if cfg!(target_os = "macos") {
        home_dir(get)?.join("Library").join("Application Support")
    } else {
        home_dir(get)?.join(".config")
    };
    Some(config.join("sops").join("age").join("keys.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn env<'a>(map: &'a HashMap<&str, String>) -> impl Fn(&str) -> Option<OsString> + 'a {
        |k| map.get(k).map(OsString::from)
    }

    #[test]
    fn key_file_rules() {
        let a = age::x25519::Identity::generate();
        let text = format!(
            "# created: now\r\n# public key: {}\r\n\r\n{}\r\n",
            a.to_public(),
            a.to_string().expose_secret()
        );
        assert_eq!(Identities::parse_key_file(&text).unwrap().len(), 1);
        let bad = Identities::parse_key_file("garbage-line\n").unwrap_err();
        assert!(bad.to_string().contains("unknown identity type"));
        assert!(!bad.to_string().contains("garbage"));
        let enc = Identities::parse_key_file("age-encryption.org/v1\n-> scrypt x y\n").unwrap_err();
        assert!(enc.to_string().contains("passphrase-protected"));
        // Lines are not trimmed: a leading space makes the line unknown, as in sops.
        let spaced = format!(" {}", a.to_string().expose_secret());
        assert!(Identities::parse_key_file(&spaced).is_err());
        let pq = Identities::parse_key_file("AGE-SECRET-KEY-PQ-1XYZ\n").unwrap();
        assert!(pq.is_empty());
        assert_eq!(pq.unsupported().len(), 1);
    }

    #[test]
    fn env_sources_and_default_location() {
        let dir = tempfile::tempdir().unwrap();
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let c = age::x25519::Identity::generate();
        let keyfile = dir.path().join("k.txt");
        std::fs::write(&keyfile, a.to_string().expose_secret()).unwrap();
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("sops/age")).unwrap();
        std::fs::write(xdg.join("sops/age/keys.txt"), c.to_string().expose_secret()).unwrap();
        let mut m = HashMap::new();
        m.insert("HOME", dir.path().join("home").display().to_string());
        m.insert("XDG_CONFIG_HOME", xdg.display().to_string());
        m.insert("SOPS_AGE_KEY_FILE", keyfile.display().to_string());
        m.insert(
            "SOPS_AGE_KEY",
            format!(
                "{} {}",
                b.to_string().expose_secret(),
                c.to_string().expose_secret()
            ),
        );
        let (ids, errors) = Identities::from_lookup(env(&m));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            ids.len(),
            4,
            "a from the file, b+c from SOPS_AGE_KEY, c from keys.txt"
        );
        assert!(!format!("{ids:?}").contains("AGE-SECRET"));

        m.insert(
            "SOPS_AGE_KEY_FILE",
            dir.path().join("missing").display().to_string(),
        );
        m.remove("SOPS_AGE_KEY");
        let (ids, errors) = Identities::from_lookup(env(&m));
        assert_eq!(ids.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].source_name.starts_with("SOPS_AGE_KEY_FILE="));
    }

    #[test]
    fn key_cmd_is_run_without_shell() {
        let a = age::x25519::Identity::generate();
        let mut m = HashMap::new();
        m.insert("HOME", "/nonexistent-home".to_owned());
        m.insert(
            "SOPS_AGE_KEY_CMD",
            format!("printf '%s\\n' '{}'", a.to_string().expose_secret()),
        );
        let (ids, errors) = Identities::from_lookup(env(&m));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn failing_key_cmd_names_status_and_first_stderr_line() {
        let a = age::x25519::Identity::generate();
        let mut m = HashMap::new();
        m.insert("HOME", "/nonexistent-home".to_owned());
        m.insert(
            "SOPS_AGE_KEY_CMD",
            format!(
                "sh -c 'echo {} ; echo \"vault: permission denied\" >&2; echo more >&2; exit 3'",
                a.to_string().expose_secret()
            ),
        );
        let (ids, errors) = Identities::from_lookup(env(&m));
        assert!(ids.is_empty());
        let e = errors[0].to_string();
        assert_eq!(errors[0].source_name, "SOPS_AGE_KEY_CMD");
        assert!(e.contains("exit status: 3"), "{e}");
        assert!(e.contains("(vault: permission denied)"), "{e}");
        assert!(!e.contains("AGE-SECRET-KEY") && !e.contains("more"), "{e}");
        // A key on standard error is never quoted.
        m.insert(
            "SOPS_AGE_KEY_CMD",
            format!("sh -c 'echo {} >&2; exit 1'", a.to_string().expose_secret()),
        );
        let (_, errors) = Identities::from_lookup(env(&m));
        let e = errors[0].to_string();
        assert!(!e.contains("AGE-SECRET-KEY"), "{e}");
        // Nor one in lower case.
        let lower = a.to_string().expose_secret().to_ascii_lowercase();
        m.insert(
            "SOPS_AGE_KEY_CMD",
            format!("sh -c 'echo {lower} >&2; exit 1'"),
        );
        let (_, errors) = Identities::from_lookup(env(&m));
        let e = errors[0].to_string();
        assert!(!e.to_ascii_uppercase().contains("AGE-SECRET-KEY"), "{e}");
        assert!(e.contains("not shown"), "{e}");
    }

    #[test]
    fn key_cmd_text_is_the_commands_output() {
        let a = age::x25519::Identity::generate();
        let key_text = format!(
            "# public key: {}\n{}\n",
            a.to_public(),
            a.to_string().expose_secret()
        );
        let cmd = format!("printf %s '{key_text}'");
        let text = age_key_cmd_text(std::ffi::OsStr::new(&cmd)).unwrap();
        assert_eq!(text.as_str(), key_text);
        // The same text from_lookup turns into an identity.
        assert_eq!(Identities::parse_key_file(&text).unwrap().len(), 1);
        // Failures name the source and the status, never the output.
        let cmd = format!("sh -c 'echo {}; exit 4'", a.to_string().expose_secret());
        let e = age_key_cmd_text(std::ffi::OsStr::new(&cmd)).unwrap_err();
        assert_eq!(e.source_name, AGE_KEY_CMD_SOURCE);
        assert!(e.reason.contains("exit status: 4"), "{e}");
        assert!(!e.to_string().contains("AGE-SECRET-KEY"), "{e}");
        let e = age_key_cmd_text(std::ffi::OsStr::new("/nonexistent/psd-key-tool x")).unwrap_err();
        assert!(
            e.reason
                .contains("failed to execute command /nonexistent/psd-key-tool"),
            "{e}"
        );
        let e = age_key_cmd_text(std::ffi::OsStr::new("printf 'unbalanced")).unwrap_err();
        assert!(e.reason.contains("unbalanced quotes"), "{e}");
        let e = age_key_cmd_text(std::ffi::OsStr::new(r"printf '\377'")).unwrap_err();
        assert!(e.reason.contains("not valid UTF-8"), "{e}");
    }

    #[test]
    fn default_paths() {
        let mut m = HashMap::new();
        m.insert("HOME", "/home/u".to_owned());
        if cfg!(target_os = "linux") {
            assert_eq!(
                default_key_file_path(env(&m)).unwrap(),
                PathBuf::from("/home/u/.config/sops/age/keys.txt")
            );
            m.insert("XDG_CONFIG_HOME", "/x".to_owned());
            assert_eq!(
                default_key_file_path(env(&m)).unwrap(),
                PathBuf::from("/x/sops/age/keys.txt")
            );
        }
    }
}
