//! Error types of the model crate.
//!
//! Every variant names one failure the caller can act on. No message ever contains secret
//! material: identity strings, passwords and tokens are described (length, position of the bad
//! character) but never echoed.

use std::path::PathBuf;

/// Which half of an age key pair a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// The public half, `age1…`.
    Recipient,
    /// The private half, `AGE-SECRET-KEY-1…`.
    Identity,
}

impl KeyKind {
    /// The human-readable prefix (including the bech32 separator `1`) a key of this kind starts with.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Recipient => "age1",
            KeyKind::Identity => "AGE-SECRET-KEY-1",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            KeyKind::Recipient => "age recipient (public key)",
            KeyKind::Identity => "age identity (secret key)",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.noun())
    }
}

/// A string is not a valid age X25519 recipient or identity.
///
/// The messages never repeat the key text, so they are safe to print for identities too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input is empty (or only whitespace).
    #[error("the {kind} is empty; paste the whole key, which starts with `{}`", kind.prefix())]
    Empty {
        /// Which half was expected.
        kind: KeyKind,
    },
    /// The key does not start with the expected prefix.
    #[error(
        "the {kind} does not start with `{}`; check that you used the right half of the key pair \
         (public keys start with `age1`, secret keys with `AGE-SECRET-KEY-1`)",
        kind.prefix()
    )]
    WrongPrefix {
        /// Which half was expected.
        kind: KeyKind,
    },
    /// The key mixes upper- and lower-case letters, which bech32 forbids.
    #[error(
        "the {kind} mixes upper- and lower-case letters; bech32 keys are all one case, so the key \
         was altered: copy it again from the key file"
    )]
    MixedCase {
        /// Which half was expected.
        kind: KeyKind,
    },
    /// The key is in one case but not the one age writes (recipients are lower-case, identities
    /// upper-case).
    #[error(
        "the {kind} is {found}-case but age writes it {expected}-case; copy it again from the key \
         file (or change its case)"
    )]
    WrongCase {
        /// Which half was expected.
        kind: KeyKind,
        /// `"upper"` or `"lower"`: the case that was found.
        found: &'static str,
        /// `"upper"` or `"lower"`: the case age uses for this kind.
        expected: &'static str,
    },
    /// A character outside the bech32 alphabet was found after the prefix.
    #[error(
        "the {kind} contains a character that is not in the bech32 alphabet at position {position} \
         (bech32 never uses `1`, `b`, `i`, `o` or whitespace after the prefix); copy the key again"
    )]
    InvalidCharacter {
        /// Which half was expected.
        kind: KeyKind,
        /// 0-based character offset of the first bad character.
        position: usize,
    },
    /// The bech32 checksum does not match: the key was mistyped or truncated.
    #[error(
        "the {kind} has a bad bech32 checksum, so at least one character was changed; copy the key \
         again from the key file"
    )]
    BadChecksum {
        /// Which half was expected.
        kind: KeyKind,
    },
    /// The checksum is fine but the payload is not 32 bytes.
    #[error(
        "the {kind} carries {found} bytes but an X25519 key is 32 bytes; this is not an age \
         X25519 key (plugin and SSH keys are not supported here)"
    )]
    WrongLength {
        /// Which half was expected.
        kind: KeyKind,
        /// Number of whole bytes decoded from the payload.
        found: usize,
    },
    /// The payload has non-zero padding bits (not produced by any bech32 encoder).
    #[error("the {kind} has invalid bech32 padding; copy the key again from the key file")]
    InvalidPadding {
        /// Which half was expected.
        kind: KeyKind,
    },
    /// Our own bech32 check passed but the `age` crate refused the key.
    #[error("the {kind} passed the bech32 checks but the age library rejected it: {reason}")]
    Rejected {
        /// Which half was expected.
        kind: KeyKind,
        /// The age library's reason (it never contains key material).
        reason: &'static str,
    },
}

/// A key file (`keys.txt`) could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading the file failed.
    #[error(
        "cannot read the age key file {}: {source}; check the path and that you may read it",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file (or stream) contains no identity line.
    #[error(
        "{origin} contains no age identity (a line starting with `AGE-SECRET-KEY-1`); \
         generate one with `psd keygen -o FILE`"
    )]
    NoIdentity {
        /// Where the text came from (a path or `standard input`).
        origin: String,
    },
    /// A non-comment line is not a valid identity.
    #[error("{origin}, line {line}: {source}")]
    InvalidLine {
        /// Where the text came from (a path or `standard input`).
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        #[source]
        source: KeyError,
    },
    /// A line holds an age plugin identity, which this tool cannot use.
    #[error(
        "{origin}, line {line}: age plugin identities (`AGE-PLUGIN-…`) are not supported; \
         use an X25519 identity made by `psd keygen` or `age-keygen`"
    )]
    PluginIdentity {
        /// Where the text came from.
        origin: String,
        /// 1-based line number.
        line: usize,
    },
    /// The target file already exists; key files are never overwritten.
    #[error(
        "{} already exists; psd never overwrites a key file. Choose another path or move the old \
         file away first",
        path.display()
    )]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// Writing the file failed.
    #[error(
        "cannot write {}: {source}; check that the directory exists and that you may write to it",
        path.display()
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A value given to a model constructor is invalid.
///
/// Secret values (tokens, passwords) are never part of the message; only names, e-mail
/// addresses and positions are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A DNS-1123 label (namespace, label-like name) is invalid.
    #[error(
        "{what} `{value}` is not a valid DNS-1123 label: {reason}. Use 1–63 lower-case letters, \
         digits and `-`, starting and ending with a letter or digit"
    )]
    InvalidDnsLabel {
        /// What the value is used as (e.g. "namespace").
        what: &'static str,
        /// The rejected value.
        value: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A DNS-1123 subdomain (object name, DNS name) is invalid.
    #[error(
        "{what} `{value}` is not a valid DNS-1123 subdomain: {reason}. Use at most 253 characters \
         of lower-case letters, digits, `-` and `.`, each dot-separated part starting and ending \
         with a letter or digit"
    )]
    InvalidDnsSubdomain {
        /// What the value is used as (e.g. "Secret name").
        what: &'static str,
        /// The rejected value.
        value: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// An e-mail address is malformed.
    #[error("{what} `{value}` is not a valid e-mail address: {reason}")]
    InvalidEmail {
        /// What the address is used for (e.g. "ACME e-mail").
        what: &'static str,
        /// The rejected value.
        value: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A token is empty.
    #[error("the {what} is empty; paste the token{hint}")]
    EmptyToken {
        /// Which token.
        what: &'static str,
        /// Where to get one.
        hint: &'static str,
    },
    /// A token contains whitespace (often a trailing newline from copy and paste).
    #[error(
        "the {what} contains whitespace at character {position} (of {length}); tokens never \
         contain spaces or newlines, so remove them (a trailing newline from copy and paste is \
         the usual cause)"
    )]
    TokenWhitespace {
        /// Which token.
        what: &'static str,
        /// 1-based position of the first whitespace character.
        position: usize,
        /// Length of the token in characters.
        length: usize,
    },
    /// A token contains a character that is not printable ASCII.
    #[error(
        "the {what} contains a character that is not printable ASCII at character {position} \
         (of {length}); copy the token again"
    )]
    TokenNotPrintable {
        /// Which token.
        what: &'static str,
        /// 1-based position of the first bad character.
        position: usize,
        /// Length of the token in characters.
        length: usize,
    },
    /// A re-used password is empty.
    #[error("the {what} is empty; leave it out to generate a new one, or supply the old value")]
    EmptyPassword {
        /// Which password.
        what: &'static str,
    },
    /// A re-used password contains a character that is not printable ASCII or a space.
    #[error(
        "the {what} contains a control or non-ASCII character at character {position}; \
         passwords must be printable ASCII"
    )]
    PasswordNotPrintable {
        /// Which password.
        what: &'static str,
        /// 1-based position of the first bad character.
        position: usize,
    },
    /// A re-used secret is shorter than the minimum the service needs.
    #[error("the {what} has {found} characters but at least {minimum} are required")]
    SecretTooShort {
        /// Which secret.
        what: &'static str,
        /// Its length.
        found: usize,
        /// The required minimum.
        minimum: usize,
    },
    /// A PostgreSQL role or database name is not a plain identifier.
    #[error(
        "{what} `{value}` is not a plain PostgreSQL identifier: {reason}. Use 1–63 lower-case \
         letters, digits and `_`, starting with a letter or `_`"
    )]
    InvalidPostgresIdentifier {
        /// Which name.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A Secret data key is not made of alphanumerics, `-`, `_` and `.`.
    #[error(
        "`{key}` is not a valid Secret key: {reason}. Use at most 253 letters, digits, `-`, `_` \
         and `.`"
    )]
    InvalidSecretKey {
        /// The rejected key (key names are not secret).
        key: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A Secret `type` is empty or has whitespace or control characters.
    #[error(
        "`{value}` is not a Secret type: use `Opaque`, `kubernetes.io/basic-auth` or another \
         type without spaces"
    )]
    InvalidSecretType {
        /// The rejected type (types are not secret).
        value: String,
    },
    /// The same Secret data key was added twice.
    #[error("the Secret key `{key}` is set twice; each key may appear once")]
    DuplicateSecretKey {
        /// The repeated key.
        key: String,
    },
    /// A Kubernetes label key or value is invalid.
    #[error("label `{key}: {value}` is invalid: {reason}")]
    InvalidLabel {
        /// The label key.
        key: String,
        /// The label value.
        value: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// The same label key was added twice.
    #[error("the label `{key}` is set twice; each label key may appear once")]
    DuplicateLabel {
        /// The repeated key.
        key: String,
    },
    /// A certificate lists no DNS names.
    #[error("certificate `{name}` lists no DNS names; add at least one (e.g. auth.example.com)")]
    NoDnsNames {
        /// The certificate name.
        name: String,
    },
    /// A certificate lists the same DNS name twice.
    #[error("certificate `{name}` lists the DNS name `{dns_name}` twice")]
    DuplicateDnsName {
        /// The certificate name.
        name: String,
        /// The repeated DNS name.
        dns_name: String,
    },
}

/// Generating or assembling credentials failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// An input value is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Entropy(#[source] rand::Error),
}
