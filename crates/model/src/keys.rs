//! age X25519 key pairs: [`Recipient`] (public, `age1…`), [`Identity`] (secret,
//! `AGE-SECRET-KEY-1…`), [`AgeKeyPair`], and the `keys.txt` format written by `age-keygen`.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
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
/// directory (`.psd-new-XXXXXX`, see [`KEY_TEMP_PREFIX`]), synced, then linked into place only
/// if `path` does not exist yet (so an existing file is never replaced, even in a race), and
/// the directory synced. Temporaries that interrupted runs left in the directory are removed
/// first, so no copy of a key outlives the next run.
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

/// Prefix of the temporaries key files are written through (`<dir>/.psd-new-XXXXXX`, mode
/// 0600). While a temporary is being written its writer holds an exclusive `flock` on it; a
/// temporary nobody holds was left by an interrupted run, and
/// [`remove_stale_key_temporaries`] removes it (every writer of key files calls it first).
pub const KEY_TEMP_PREFIX: &str = ".psd-new-";

/// Removes the key-file temporaries (`.psd-new-*`, see [`KEY_TEMP_PREFIX`]) that interrupted
/// runs left in `dir`: only regular files no running process holds a lock on. A missing `dir`
/// (or one that is not a folder) is not an error. Returns the files removed.
///
/// # Errors
/// Listing `dir` or removing a stale temporary failed.
pub fn remove_stale_key_temporaries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(KEY_TEMP_PREFIX));
        if !is_ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        // A file we cannot open, or that another process holds, is left alone.
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

/// A new temporary in `dir` (mode 0600, created with `O_EXCL` by `tempfile`), locked with an
/// exclusive `flock` for as long as it is open, so that [`remove_stale_key_temporaries`] in
/// another process leaves it alone.
fn locked_temporary(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::MetadataExt as _;
    for _ in 0..8 {
        let tmp = tempfile::Builder::new()
            .prefix(KEY_TEMP_PREFIX)
            .tempfile_in(dir)?;
        match tmp.as_file().try_lock() {
            Ok(()) => {}
            // Another process's cleanup opened it before we locked it: start again.
            Err(std::fs::TryLockError::WouldBlock) => continue,
            // A file system without locks: nobody else can lock it either, so cleanup skips it.
            Err(std::fs::TryLockError::Error(_)) => return Ok(tmp),
        }
        // A cleanup may have removed the name between its creation and our lock.
        let on_disk = std::fs::symlink_metadata(tmp.path());
        let ours = tmp.as_file().metadata()?;
        if on_disk.is_ok_and(|m| m.ino() == ours.ino() && m.dev() == ours.dev()) {
            return Ok(tmp);
        }
    }
    Err(std::io::Error::other(
        "could not create a temporary file (removed by another process each time)",
    ))
}

/// Writes `contents` to a locked temporary in `dir` with `mode`, fsynced.
fn filled_temporary(
    dir: &Path,
    contents: &[u8],
    mode: u32,
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut tmp = locked_temporary(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyFileError> {
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
    // Temporaries of interrupted runs may hold a complete key: remove them first.
    remove_stale_key_temporaries(dir).map_err(write_err)?;
    let tmp = filled_temporary(dir, contents, mode).map_err(write_err)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            write_err(e.error)
        }
    })?;
    sync_dir(dir).map_err(write_err)?;
    Ok(())
}

/// What [`append_key_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The file written: the path given, or the file a symbolic link there points to.
    pub path: PathBuf,
    /// Whether the file was created (it did not exist).
    pub created: bool,
    /// The number of identities (non-comment lines) the file held before.
    pub keys_before: usize,
}

/// Appends `pair` to the key file at `path` (`keys.txt` format), after the comment lines
/// `comments` (each written as `# <comment>`), without ever losing what the file held.
///
/// The whole new content is written to a temporary in the same folder (mode 0600, fsynced) and
/// renamed over the file, so a reader sees the old file or the new one, never a part. A missing
/// file is created (never over one that appears meanwhile), with missing parent folders
/// (mode 0700). An existing file keeps its owner permission bits; group and other bits are
/// dropped. A symbolic link is followed: the file it points to is updated, the link stays.
/// Concurrent appenders take turns (an `flock` on the file). Temporaries of interrupted runs
/// are removed first ([`remove_stale_key_temporaries`]).
///
/// # Errors
/// [`KeyFileError::Read`] if the existing file cannot be read, [`KeyFileError::Write`] on any
/// other I/O error; the file is then unchanged.
pub fn append_key_file(
    path: &Path,
    comments: &[String],
    pair: &AgeKeyPair,
) -> Result<Appended, KeyFileError> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};

    let write_err = |path: &Path, source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    };
    let target = match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| write_err(path, e))?
        }
        _ => path.to_owned(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| write_err(&dir, e))?;
    remove_stale_key_temporaries(&dir).map_err(|e| write_err(&dir, e))?;

    let mut block = Zeroizing::new(String::new());
    for c in comments {
        block.push_str("# ");
        block.push_str(&c.replace(['\n', '\r'], " "));
        block.push('\n');
    }
    block.push_str(pair.to_key_file_text().expose_secret());

    for _ in 0..16 {
        let file = match std::fs::File::open(&target) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let tmp = filled_temporary(&dir, block.as_bytes(), KEY_FILE_MODE)
                    .map_err(|e| write_err(&target, e))?;
                match tmp.persist_noclobber(&target) {
                    Ok(_) => {}
                    // Another process created it meanwhile: append to that one.
                    Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(write_err(&target, e.error)),
                }
                sync_dir(&dir).map_err(|e| write_err(&target, e))?;
                return Ok(Appended {
                    path: target,
                    created: true,
                    keys_before: 0,
                });
            }
            Err(source) => {
                return Err(KeyFileError::Read {
                    path: target,
                    source,
                });
            }
        };
        file.lock().map_err(|e| write_err(&target, e))?;
        // Another appender may have replaced the file while we waited: read the new one.
        let meta = file.metadata().map_err(|e| write_err(&target, e))?;
        let current = std::fs::symlink_metadata(&target);
        if !current.is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev()) {
            continue;
        }
        let mut old = Zeroizing::new(Vec::new());
        (&file)
            .read_to_end(&mut old)
            .map_err(|source| KeyFileError::Read {
                path: target.clone(),
                source,
            })?;
        let keys_before = old
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
            .count();
        let mut text = Zeroizing::new(Vec::with_capacity(old.len() + block.len() + 2));
        text.extend_from_slice(&old);
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        if !text.is_empty() {
            text.push(b'\n');
        }
        text.extend_from_slice(block.as_bytes());
        let mode = meta.permissions().mode() & 0o700;
        let tmp = filled_temporary(&dir, &text, mode).map_err(|e| write_err(&target, e))?;
        tmp.persist(&target)
            .map_err(|e| write_err(&target, e.error))?;
        sync_dir(&dir).map_err(|e| write_err(&target, e))?;
        drop(file);
        return Ok(Appended {
            path: target,
            created: false,
            keys_before,
        });
    }
    Err(write_err(
        &target,
        std::io::Error::other("the file kept being replaced by another process"),
    ))
}

#[cfg(test)]
mod tests;
