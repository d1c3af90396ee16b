//! age X25519 key pairs: [`Recipient`] (public, `age1…`), [`Identity`] (secret,
//! `AGE-SECRET-KEY-1…`), [`AgeKeyPair`], and the `keys.txt` format written by `age-keygen`.

use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::bech32;
use crate::error::{KeyError, KeyFileError, KeyKind};
use crate::secret::SecretManifest;

/// Name of the Secret Flux's kustomize-controller reads age identities from
/// (`spec.decryption.secretRef.name`).
pub const SOPS_AGE_SECRET_NAME: &str = "sops-age";
/// Namespace of the Flux Kustomizations, and so of [`SOPS_AGE_SECRET_NAME`].
pub const SOPS_AGE_SECRET_NAMESPACE: &str = "flux-system";
/// Data key of the identity in the `sops-age` Secret; Flux only reads keys ending in `.agekey`.
pub const SOPS_AGE_SECRET_KEY: &str = "age.agekey";

/// File mode of key files: readable and writable by the owner only.
pub const KEY_FILE_MODE: u32 = 0o600;

/// The public half of an age X25519 key pair (`age1…`, lower-case bech32 of 32 bytes).
///
/// Parsing checks the prefix, case, alphabet, checksum, length and padding, then lets the
/// `age` crate parse it too.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    text: String,
    inner: age::x25519::Recipient,
}

impl Recipient {
    /// Parses and validates a recipient.
    ///
    /// # Errors
    /// The [`KeyError`] variant that names what is wrong.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        bech32::check(KeyKind::Recipient, s)?;
        let inner = age::x25519::Recipient::from_str(s).map_err(|reason| KeyError::Rejected {
            kind: KeyKind::Recipient,
            reason,
        })?;
        Ok(Self {
            text: s.to_owned(),
            inner,
        })
    }

    /// The recipient text, `age1…`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `age` crate's recipient, for encrypting.
    #[must_use]
    pub fn as_age(&self) -> &age::x25519::Recipient {
        &self.inner
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Recipient").field(&self.text).finish()
    }
}

impl FromStr for Recipient {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The secret half of an age X25519 key pair (`AGE-SECRET-KEY-1…`, upper-case bech32 of 32
/// bytes), with its [`Recipient`].
///
/// The text is held in a [`SecretString`]; `Debug` shows only the recipient.
#[derive(Clone)]
pub struct Identity {
    secret: SecretString,
    inner: age::x25519::Identity,
    recipient: Recipient,
}

impl Identity {
    /// Parses and validates an identity. Error messages never contain the key text.
    ///
    /// # Errors
    /// The [`KeyError`] variant that names what is wrong.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        bech32::check(KeyKind::Identity, s)?;
        let inner = age::x25519::Identity::from_str(s).map_err(|reason| KeyError::Rejected {
            kind: KeyKind::Identity,
            reason,
        })?;
        Self::from_age(inner, SecretString::from(s))
    }

    /// Parses an identity that is already in a [`SecretString`].
    ///
    /// # Errors
    /// As [`Identity::parse`].
    pub fn from_secret(secret: &SecretString) -> Result<Self, KeyError> {
        Self::parse(secret.expose_secret())
    }

    fn from_age(inner: age::x25519::Identity, secret: SecretString) -> Result<Self, KeyError> {
        let recipient = Recipient::parse(&inner.to_public().to_string())?;
        Ok(Self {
            secret,
            inner,
            recipient,
        })
    }

    /// A new identity from the operating system's CSPRNG (through `age`).
    #[must_use]
    pub fn generate() -> Self {
        let inner = age::x25519::Identity::generate();
        let secret = inner.to_string();
        let recipient_text = inner.to_public().to_string();
        Self {
            secret,
            recipient: Recipient {
                text: recipient_text,
                inner: inner.to_public(),
            },
            inner,
        }
    }

    /// The identity text, `AGE-SECRET-KEY-1…`. Expose it only where it is written out.
    #[must_use]
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The matching recipient.
    #[must_use]
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The `age` crate's identity, for decrypting.
    #[must_use]
    pub fn as_age(&self) -> &age::x25519::Identity {
        &self.inner
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("recipient", &self.recipient.text)
            .field("secret", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// An age X25519 key pair as stored in a `keys.txt` file: the identity, its recipient and the
/// optional `# created:` time stamp.
#[derive(Clone, Debug)]
pub struct AgeKeyPair {
    identity: Identity,
    created: Option<String>,
}

impl AgeKeyPair {
    /// A new key pair from the OS CSPRNG, stamped with the current local time in RFC 3339
    /// (seconds precision, `Z` for UTC), as `age-keygen` does.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            identity: Identity::generate(),
            created: Some(chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }

    /// A key pair for an existing identity, without a time stamp.
    #[must_use]
    pub fn from_identity(identity: Identity) -> Self {
        Self {
            identity,
            created: None,
        }
    }

    /// The secret half.
    #[must_use]
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The public half.
    #[must_use]
    pub fn recipient(&self) -> &Recipient {
        self.identity.recipient()
    }

    /// The `# created:` time stamp, if the pair was generated or read with one.
    #[must_use]
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// This pair in the `age-keygen` format:
    ///
    /// ```text
    /// # created: 2026-11-27T12:00:00+01:00
    /// # public key: age1…
    /// AGE-SECRET-KEY-1…
    /// ```
    ///
    /// (the `# created:` line only when a time stamp is known).
    #[must_use]
    pub fn to_key_file_text(&self) -> SecretString {
        key_file_text(std::slice::from_ref(self))
    }

    /// The Secret Flux decrypts with: `flux-system/sops-age`, holding the identity under
    /// `age.agekey`.
    ///
    /// This Secret holds the private key in plaintext: create it in the cluster at bootstrap
    /// (`kubectl apply`), never commit it.
    #[must_use]
    pub fn to_kubernetes_secret(&self) -> SecretManifest {
        let mut secret =
            SecretManifest::new_unchecked(SOPS_AGE_SECRET_NAME, SOPS_AGE_SECRET_NAMESPACE);
        secret.push_unchecked(SOPS_AGE_SECRET_KEY, self.identity.secret.clone());
        secret
    }

    /// Writes this pair to a new key file (mode 0600, atomically; never overwrites).
    ///
    /// # Errors
    /// [`KeyFileError::AlreadyExists`] if `path` exists, [`KeyFileError::Write`] on I/O errors.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyFileError> {
        write_key_file(path, std::slice::from_ref(self))
    }
}

/// Several key pairs in the `age-keygen` format, one block per pair, in order.
#[must_use]
pub fn key_file_text(pairs: &[AgeKeyPair]) -> SecretString {
    let mut out = Zeroizing::new(String::new());
    for pair in pairs {
        if let Some(created) = &pair.created {
            out.push_str("# created: ");
            out.push_str(created);
            out.push('\n');
        }
        out.push_str("# public key: ");
        out.push_str(pair.recipient().as_str());
        out.push('\n');
        out.push_str(pair.identity.secret.expose_secret());
        out.push('\n');
    }
    SecretString::from(out.as_str())
}

/// Parses a key file: every line that is not blank and does not start with `#` must be an
/// X25519 identity. Line ends may be LF or CRLF; leading and trailing whitespace is ignored.
/// A `# created:` comment is kept with the identity that follows it. `origin` names the source
/// in error messages (a path, or `standard input`).
///
/// # Errors
/// [`KeyFileError::InvalidLine`] (with the line number) for a line that is not a valid
/// identity, [`KeyFileError::PluginIdentity`] for `AGE-PLUGIN-…` lines, and
/// [`KeyFileError::NoIdentity`] when there is no identity at all.
pub fn parse_key_file(text: &str, origin: &str) -> Result<Vec<AgeKeyPair>, KeyFileError> {
    let mut pairs = Vec::new();
    let mut created = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(stamp) = comment.trim_start().strip_prefix("created:") {
                created = Some(stamp.trim().to_owned());
            }
            continue;
        }
        if line.len() >= 11 && line.as_bytes()[..11].eq_ignore_ascii_case(b"AGE-PLUGIN-") {
            return Err(KeyFileError::PluginIdentity {
                origin: origin.to_owned(),
                line: index + 1,
            });
        }
        let identity = Identity::parse(line).map_err(|source| KeyFileError::InvalidLine {
            origin: origin.to_owned(),
            line: index + 1,
            source,
        })?;
        pairs.push(AgeKeyPair {
            identity,
            created: created.take(),
        });
    }
    if pairs.is_empty() {
        return Err(KeyFileError::NoIdentity {
            origin: origin.to_owned(),
        });
    }
    Ok(pairs)
}

/// Reads and parses a key file (see [`parse_key_file`]).
///
/// # Errors
/// [`KeyFileError::Read`] if the file cannot be read as UTF-8, otherwise as [`parse_key_file`].
pub fn read_key_file(path: &Path) -> Result<Vec<AgeKeyPair>, KeyFileError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyFileError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ),
    })?;
    parse_key_file(text, &path.display().to_string())
}

/// Writes `pairs` to a new key file: mode 0600, written to a temporary file in the same
/// directory, synced, then linked into place only if `path` does not exist yet (so an existing
/// file is never replaced, even in a race), and the directory synced.
///
/// # Errors
/// [`KeyFileError::AlreadyExists`] if `path` exists, [`KeyFileError::Write`] on I/O errors.
pub fn write_key_file(path: &Path, pairs: &[AgeKeyPair]) -> Result<(), KeyFileError> {
    let text = key_file_text(pairs);
    write_new_file(path, text.expose_secret().as_bytes(), KEY_FILE_MODE)
}

/// Writes one recipient per line to a new file (mode 0644, same atomic no-overwrite rules as
/// [`write_key_file`]).
///
/// # Errors
/// As [`write_key_file`].
pub fn write_recipients_file(path: &Path, recipients: &[Recipient]) -> Result<(), KeyFileError> {
    let mut text = String::new();
    for r in recipients {
        text.push_str(r.as_str());
        text.push('\n');
    }
    write_new_file(path, text.as_bytes(), 0o644)
}

fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;

    let write_err = |source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    };
    if path.symlink_metadata().is_ok() {
        return Err(KeyFileError::AlreadyExists {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600 (O_EXCL), so the key is never readable by
    // others, not even briefly.
    let mut tmp = tempfile::Builder::new()
        .prefix(".psd-new-")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(write_err)?;
    tmp.write_all(contents).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            write_err(e.error)
        }
    })?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests;
