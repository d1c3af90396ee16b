//! age master keys (spec section 6): wrapping the data key (or a Shamir share) for each
//! recipient in its own armored single-recipient age file, unwrapping it with identities, and
//! the per-group/per-key failure report sops prints when no key works.

use std::io::{Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keysource::Identities;

/// An age recipient (public key) the data key can be encrypted to.
#[derive(Clone)]
pub struct Recipient {
    text: String,
    kind: RecipientKind,
}

#[derive(Clone)]
enum RecipientKind {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether a recipient string is a post-quantum hybrid recipient (`age1pq1…`, sops ≥ 3.12).
pub fn is_post_quantum(recipient: &str) -> bool {
    recipient.trim().starts_with("age1pq1")
}

impl FromStr for Recipient {
    type Err = Error;

    /// Parses a recipient as sops 3.13 does (`age/keysource.go` parseRecipient), after trimming
    /// surrounding whitespace: `age1…` (X25519), `ssh-ed25519 …`/`ssh-rsa …` (SSH). Post-quantum
    /// (`age1pq1…`) and plugin (`age1<name>1…`) recipients are recognised and refused.
    fn from_str(s: &str) -> Result<Self, Error> {
        let text = s.trim().to_owned();
        let invalid = |reason: &str| Error::InvalidRecipient {
            recipient: text.clone(),
            reason: reason.to_owned(),
        };
        let kind = if is_post_quantum(&text) {
            return Err(invalid(
                "post-quantum hybrid recipients (age1pq1…) are not supported by psd; use an X25519 recipient (age1…)",
            ));
        } else if text.starts_with("age1") && text[4..].contains('1') {
            return Err(invalid(
                "age plugin recipients are not supported by psd; use an X25519 recipient (age1…)",
            ));
        } else if text.starts_with("age1") {
            RecipientKind::X25519(age::x25519::Recipient::from_str(&text).map_err(|e| {
                invalid(&format!(
                    "failed to parse input as Bech32-encoded age public key: {e}"
                ))
            })?)
        } else if text.starts_with("ssh-") {
            RecipientKind::Ssh(
                age::ssh::Recipient::from_str(&text)
                    .map_err(|e| invalid(&format!("failed to parse SSH public key: {e:?}")))?,
            )
        } else {
            return Err(invalid(
                "unknown recipient type: expected an age public key (age1…) or an SSH public key (ssh-ed25519 …, ssh-rsa …)",
            ));
        };
        Ok(Self { text, kind })
    }
}

impl Recipient {
    /// The recipient string as stored in the metadata (trimmed, SSH comment included).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parses a comma-separated recipient list (`--age`, `SOPS_AGE_RECIPIENTS`); empty entries
    /// are skipped.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, Error> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::from_str)
            .collect()
    }

    /// Encrypts `secret` (the data key or a Shamir share) to this recipient alone and returns
    /// the armored age file sops stores as `enc`.
    pub fn wrap(&self, secret: &[u8]) -> Result<String, Error> {
        let err = |e: String| Error::WrapDataKey {
            recipient: self.text.clone(),
            reason: e,
        };
        let r: &dyn age::Recipient = match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::Ssh(r) => r,
        };
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(r)).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::with_capacity(400);
        let armored = ArmoredWriter::wrap_output(&mut out, ArmorFormat::AsciiArmor)
            .map_err(|e| err(e.to_string()))?;
        let mut writer = encryptor
            .wrap_output(armored)
            .map_err(|e| err(e.to_string()))?;
        writer.write_all(secret).map_err(|e| err(e.to_string()))?;
        writer
            .finish()
            .and_then(|a| a.finish())
            .map_err(|e| err(e.to_string()))?;
        String::from_utf8(out).map_err(|_| err("armor is not UTF-8".to_owned()))
    }
}

/// Decrypts one `enc` armored age file with all identities. The error is the text sops puts
/// in its per-key report.
pub fn unwrap(enc: &str, identities: &Identities) -> Result<Zeroizing<Vec<u8>>, String> {
    const CTX: &str = "failed to create reader for decrypting sops data key with age";
    if identities.is_empty() {
        return Err(format!("{CTX}: no age identities were loaded"));
    }
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
        .map_err(|e| format!("{CTX}: {e}"))?;
    if decryptor.is_scrypt() {
        return Err(format!(
            "{CTX}: the data key is passphrase-encrypted, which sops never writes"
        ));
    }
    let mut reader = decryptor
        .decrypt(identities.iter())
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => format!(
                "{CTX}: identity did not match any of the recipients: incorrect identity for recipient block"
            ),
            other => format!("{CTX}: {other}"),
        })?;
    let mut out = Zeroizing::new(Vec::with_capacity(33));
    reader
        .read_to_end(&mut out)
        .map_err(|e| format!("failed to read sops data key from age: {e}"))?;
    Ok(out)
}

/// The result of trying one master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttempt {
    /// The key as sops names it in its report (the age recipient, `pgp <fingerprint>`, ...).
    pub key: String,
    /// `None` on success, else why it failed (never key material).
    pub error: Option<String>,
}

/// The attempts for one key group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupAttempt {
    /// Every key tried, in order, until one succeeded.
    pub keys: Vec<KeyAttempt>,
    /// Whether a key of this group recovered its part.
    pub succeeded: bool,
}

/// sops' report when the data key cannot be recovered (`Failed to get the data key required
/// to decrypt the SOPS file.` …). Contains recipients and error texts, never key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataKeyReport {
    /// One entry per key group.
    pub groups: Vec<GroupAttempt>,
    /// The file's Shamir threshold (0 or 1 for a single group).
    pub threshold: usize,
    /// How many groups recovered their part.
    pub recovered: usize,
    /// Where identities were looked for without finding any (`Did not find keys in locations`).
    pub unused_locations: Vec<String>,
    /// Problems met while loading identities (unreadable key files, unsupported key types).
    pub source_errors: Vec<String>,
}

impl std::fmt::Display for DataKeyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Failed to get the data key required to decrypt the SOPS file."
        )?;
        for (i, g) in self.groups.iter().enumerate() {
            writeln!(f)?;
            writeln!(
                f,
                "Group {i}: {}",
                if g.succeeded { "SUCCESS" } else { "FAILED" }
            )?;
            for k in &g.keys {
                match &k.error {
                    None => writeln!(f, "  {}: SUCCESS", k.key)?,
                    Some(e) => {
                        writeln!(f, "  {}: FAILED", k.key)?;
                        let mut text = e.clone();
                        if !self.unused_locations.is_empty() {
                            text.push_str(&format!(
                                ". Did not find keys in locations {}",
                                self.unused_locations.join(", ")
                            ));
                        }
                        writeln!(f, "    - | {text}")?;
                    }
                }
            }
        }
        for e in &self.source_errors {
            writeln!(f, "\n  identity source problem: {e}")?;
        }
        writeln!(f)?;
        if self.groups.len() > 1 {
            write!(
                f,
                "Recovery failed because the file was encrypted with a Shamir threshold of {}, but only {} part(s) were successfully recovered, one for each successful key group. In order for SOPS to recover the file, at least {} groups have to be successful. In order for a group to be successful, decryption has to succeed with any of the keys in that key group.",
                self.threshold, self.recovered, self.threshold
            )
        } else {
            write!(
                f,
                "Recovery failed because no master key was able to decrypt the file. In order for SOPS to recover the file, at least one key has to be successful, but none were. Check that an identity for one of the file's recipients is available (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD or the default keys.txt)."
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn wrap_unwrap_x25519() {
        let id = age::x25519::Identity::generate();
        let r: Recipient = id.to_public().to_string().parse().unwrap();
        let enc = r.wrap(&[9u8; 32]).unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        let ids = Identities::parse_key_file(id.to_string().expose_secret()).unwrap();
        assert_eq!(unwrap(&enc, &ids).unwrap().as_slice(), &[9u8; 32]);
        let other = Identities::parse_key_file(
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret(),
        )
        .unwrap();
        assert!(unwrap(&enc, &other).unwrap_err().contains("did not match"));
    }

    #[test]
    fn recipient_kinds() {
        assert!(matches!(
            " age1pq1abc ".parse::<Recipient>(),
            Err(Error::InvalidRecipient { reason, .. }) if reason.contains("post-quantum")
        ));
        assert!(matches!(
            "age1yubikey1qwerty".parse::<Recipient>(),
            Err(Error::InvalidRecipient { reason, .. }) if reason.contains("plugin")
        ));
        assert!("gpg:1234".parse::<Recipient>().is_err());
        let pubkey = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/sops-vectors/generated-sops-3.11.0/ssh_ed25519.pub"
        ));
        if let Ok(pubkey) = pubkey {
            let r: Recipient = pubkey.parse().unwrap();
            assert_eq!(r.as_str(), pubkey.trim());
        }
    }
}
