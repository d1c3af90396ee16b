//! Errors, one variant per failure a caller can act on, each with the exit code the real `sops`
//! CLI uses for it (`cmd/sops/codes/codes.go`), so `psd` is a drop-in in scripts.
//!
//! Messages never contain plaintext values or key material: only file names, key paths,
//! recipients, MAC digests (which sops prints too) and what to do next.

/// Exit codes of the sops CLI (`cmd/sops/codes/codes.go`).
pub mod exit {
    /// Generic error (metadata missing, empty version, ...).
    pub const GENERIC: i32 = 1;
    /// The input file could not be read or parsed.
    pub const COULD_NOT_READ_INPUT_FILE: i32 = 2;
    /// The output file could not be written.
    pub const COULD_NOT_WRITE_OUTPUT_FILE: i32 = 3;
    /// The tree could not be serialised.
    pub const ERROR_DUMPING_TREE: i32 = 4;
    /// `.sops.yaml` could not be read.
    pub const ERROR_READING_CONFIG: i32 = 5;
    /// A `set` value or index that cannot be used.
    pub const INVALID_SET_FORMAT: i32 = 7;
    /// Conflicting parameters (e.g. two selection rules).
    pub const CONFLICTING_PARAMETERS: i32 = 8;
    /// The MAC could not be encrypted.
    pub const ERROR_ENCRYPTING_MAC: i32 = 21;
    /// The tree could not be encrypted (non-string key, unsupported value).
    pub const ERROR_ENCRYPTING_TREE: i32 = 23;
    /// The MAC could not be decrypted.
    pub const ERROR_DECRYPTING_MAC: i32 = 24;
    /// A value could not be decrypted.
    pub const ERROR_DECRYPTING_TREE: i32 = 25;
    /// The MAC does not match (also: the MAC could not be decrypted, as sops reports it).
    pub const MAC_MISMATCH: i32 = 51;
    /// No creation rule / config file.
    pub const CONFIG_FILE_NOT_FOUND: i32 = 61;
    /// No file was named (or a named file does not exist).
    pub const NO_FILE_SPECIFIED: i32 = 100;
    /// Invalid `--extract` path.
    pub const INVALID_TREE_PATH_FORMAT: i32 = 91;
    /// The file has no document at all.
    pub const NEED_AT_LEAST_ONE_DOCUMENT: i32 = 92;
    /// No encryption key was given.
    pub const NO_ENCRYPTION_KEY_FOUND: i32 = 111;
    /// The data key could not be recovered from any master key.
    pub const COULD_NOT_RETRIEVE_KEY: i32 = 128;
    /// The file is already encrypted.
    pub const FILE_ALREADY_ENCRYPTED: i32 = 203;
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input could not be parsed in its format.
    #[error("Error unmarshalling file: {format} input could not be parsed{}: {message}", location(*line, *column))]
    Parse {
        /// Format name (`yaml`, `json`, ...).
        format: &'static str,
        /// What the parser said (never contains a value of the file).
        message: String,
        /// 1-based line, if known.
        line: Option<usize>,
        /// 1-based column, if known.
        column: Option<usize>,
    },
    /// The file has no document (`File cannot be completely empty`).
    #[error(
        "File cannot be completely empty, it must contain at least one document\nadd some content before encrypting"
    )]
    EmptyFile,
    /// The plain file already carries sops metadata.
    #[error(
        "The file you have provided contains a top-level entry called 'sops', or for flat file formats top-level entries starting with 'sops_'. This is generally due to the file already being encrypted. If you are sure you want to encrypt a file that contains a top-level entry called 'sops', rename it first"
    )]
    AlreadyEncrypted,
    /// The encrypted file has no metadata.
    #[error("sops metadata not found\nthis file is not encrypted with sops")]
    MetadataNotFound,
    /// A tree cannot be written in the output format (a nested value in dotenv, a section that
    /// is not a mapping in INI, a reserved `sops` key, NaN in JSON, ...).
    #[error("Error dumping file: {format} output could not be written: {message}")]
    Emit {
        /// Format name (`json`, `dotenv`, ...).
        format: &'static str,
        /// What is wrong (key names at most, never a value).
        message: String,
    },
    /// The binary store was asked to write a tree without a string `data` value.
    #[error(
        "Error dumping file: error emitting binary store: {reason}\ndecrypt this file with its own format (--output-type)"
    )]
    NoBinaryData {
        /// `no binary data found in tree` or `'data' key in tree does not have a string value`.
        reason: &'static str,
    },
    /// `.sops.yaml` could not be read or parsed.
    #[error("error loading config: could not read config file {}: {message}", path.display())]
    ConfigRead {
        /// The config file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// `stores:` of `.sops.yaml` asks for an indentation sops refuses (negative YAML, JSON
    /// below -1); sops reports it when writing the output, with exit code 4.
    #[error("{message}")]
    InvalidIndent {
        /// sops' sentence, e.g. `YAML Negative indentation not accepted`.
        message: &'static str,
    },
    /// No creation rule of `.sops.yaml` matches the file.
    #[error("error loading config: no matching creation rules found\nno rule of {} matches {}: add a rule whose path_regex matches, or a rule without path_regex", config.display(), file.display())]
    NoMatchingCreationRule {
        /// The config file.
        config: std::path::PathBuf,
        /// The file the rule was looked up for.
        file: std::path::PathBuf,
    },
    /// A creation rule sets more than one of the six selection rules.
    #[error("error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule\nin {}", config.display())]
    ConflictingRuleSelection {
        /// The config file.
        config: std::path::PathBuf,
    },
    /// A `path_regex` (or other regex) of `.sops.yaml` does not compile.
    #[error("can not compile regexp {regex:?} in {}: {message}", config.display())]
    ConfigRegex {
        /// The config file.
        config: std::path::PathBuf,
        /// The regex as written.
        regex: String,
        /// The regex compiler's message.
        message: String,
    },
    /// Encrypting with no recipients: no `--age` and no `.sops.yaml` creation rule.
    #[error(
        "config file not found, or has no creation rules, and no keys provided through command line options\npass --age age1... (or set SOPS_AGE_RECIPIENTS), or add a creation rule with age recipients to .sops.yaml"
    )]
    NoKeysProvided,
    /// The matching creation rule names only non-age keys (PGP, KMS, Vault, ...).
    #[error("the creation rule of {} that matches this file has no age recipients ({kinds}): psd supports only age recipients; add an `age` key to the rule or pass --age", config.display())]
    OnlyAgeSupported {
        /// The config file.
        config: std::path::PathBuf,
        /// The key types the rule does name, e.g. `pgp, kms`.
        kinds: String,
    },
    /// A mapping key is not a string (YAML `1:`, `true:`, `~:`, a date); sops only supports
    /// string keys.
    #[error(
        "Error encrypting tree: Error walking tree: Tree contains a non-string key (type {kind}) at line {line}. Only string keys are supported: quote the key"
    )]
    NonStringKey {
        /// The Go type sops reports (`int`, `bool`, `float64`, `<nil>`, `time.Time`, ...).
        kind: &'static str,
        /// 1-based line of the key.
        line: usize,
    },
    /// A value of a type sops cannot walk: a YAML integer above the int64 range (Go `uint64`).
    #[error(
        "Error encrypting tree: Error walking tree: Cannot walk value, unknown type: {kind} (line {line}): quote the value"
    )]
    UnsupportedValue {
        /// The Go type sops reports (`uint64`).
        kind: &'static str,
        /// 1-based line of the value.
        line: usize,
    },
    /// The first document has two top-level `sops` entries.
    #[error("Found duplicate sops entry: the file's metadata is ambiguous; remove one of them")]
    DuplicateSopsEntry,
    /// The top-level `sops` entry is not a mapping.
    #[error("Found sops entry that is not a mapping: the file's metadata is damaged")]
    SopsEntryNotMapping,
    /// A metadata field has a value of the wrong shape or cannot be parsed.
    #[error("Error unmarshalling metadata: field `{field}`: {reason}")]
    InvalidMetadata {
        /// The metadata field (`lastmodified`, `shamir_threshold`, `age[0].enc`, ...).
        field: String,
        /// What is wrong (never a secret).
        reason: String,
    },
    /// The metadata lists no master key at all.
    #[error(
        "No keys found in file: the metadata has no age (or other) keys, so it cannot be decrypted"
    )]
    NoKeysFound,
    /// The metadata has no (or an empty) `version`; the sops CLI refuses such files.
    #[error(
        "Version string empty\nthe file's sops metadata has no `version` field (sops refuses such files; add e.g. `version: 3.8.1` to the metadata)"
    )]
    VersionEmpty,
    /// More than one of the six selection rules was given.
    #[error("{}", conflict_message(*context))]
    ConflictingRules {
        /// Where the conflict was found (file metadata, `.sops.yaml` rule, command line).
        context: crate::rules::RuleContext,
    },
    /// A selection-rule regex does not compile.
    #[error("invalid regular expression for {field}: {reason}")]
    InvalidRegex {
        /// The rule name (`encrypted_regex`, ...).
        field: String,
        /// The regex compiler's message.
        reason: String,
    },
    /// A value could not be decrypted (tampered, moved, renamed key, malformed `ENC[...]`,
    /// unknown type).
    #[error(
        "Error decrypting tree: Error walking tree: Could not decrypt value: {source}\nkey path `{path}`: the value or its key was changed, moved or renamed after encryption, or it was not encrypted by sops"
    )]
    DecryptValue {
        /// The key path joined with `:` (the AAD without the trailing colon).
        path: String,
        /// What went wrong.
        source: crate::cipher::CipherError,
    },
    /// A value could not be encrypted (e.g. an encrypted comment matching
    /// `unencrypted_comment_regex`).
    #[error("Error encrypting tree: Error walking tree: {reason} (key path `{path}`)")]
    EncryptTree {
        /// The key path joined with `:`.
        path: String,
        /// What went wrong (never a value).
        reason: String,
    },
    /// The stored MAC differs from the one computed over the decrypted values.
    #[error(
        "MAC mismatch. File has {stored}, computed {computed}\nthe file was modified after encryption (use --ignore-mac only if you trust the change)"
    )]
    MacMismatch {
        /// The decrypted stored digest.
        stored: String,
        /// The digest computed over the file.
        computed: String,
    },
    /// The file has no MAC, or an empty one.
    #[error(
        "MAC mismatch. File has no MAC, computed {computed}\nthe metadata's `mac` is missing or empty (use --ignore-mac only if you trust the file)"
    )]
    MacMissing {
        /// The digest computed over the file.
        computed: String,
    },
    /// The stored MAC does not decrypt (typically `lastmodified` was edited).
    #[error(
        "Cannot decrypt MAC: {source}\nthe `mac` or `lastmodified` metadata was changed after encryption"
    )]
    MacUndecryptable {
        /// Why the MAC did not decrypt.
        source: crate::cipher::CipherError,
    },
    /// No master key could recover the data key; carries sops' per-group/per-key report.
    #[error("{report}")]
    DataKey {
        /// The per-group, per-key report (no key material).
        report: crate::age::DataKeyReport,
    },
    /// The file's data key is only encrypted to post-quantum hybrid age recipients
    /// (`age1pq1…`), which psd does not implement (the `age` crate has no ML-KEM-768 hybrid).
    #[error(
        "The file's data key is encrypted only to post-quantum age recipients (age1pq1…), which psd does not support: decrypt it with sops ≥ 3.12, or add an X25519 (age1…) recipient to the file with sops\n\n{report}"
    )]
    PostQuantumUnsupported {
        /// The per-group report of the failed recovery.
        report: crate::age::DataKeyReport,
    },
    /// The recovered data key (or Shamir combination) is unusable.
    #[error("Error getting data key: {reason}")]
    InvalidDataKey {
        /// What was wrong (never key bytes).
        reason: String,
    },
    /// An age recipient string cannot be used for encryption.
    #[error("invalid age recipient `{recipient}`: {reason}")]
    InvalidRecipient {
        /// The recipient string as given (public, not secret).
        recipient: String,
        /// Why.
        reason: String,
    },
    /// The data key could not be encrypted to a recipient.
    #[error("could not encrypt the data key to {recipient}: {reason}")]
    WrapDataKey {
        /// The recipient.
        recipient: String,
        /// The age error.
        reason: String,
    },
    /// An identity (private key) source cannot be used.
    #[error("{0}")]
    Identity(crate::keysource::SourceError),
    /// No key group was given for encryption (sops' wording and exit code 1).
    #[error(
        "Could not generate data key: [no key groups provided]\ngive at least one age recipient (--age or .sops.yaml)"
    )]
    NoKeyGroups,
    /// A key group has no keys (sops' wording and exit code 1: a creation rule without keys,
    /// `key_groups: []` or an empty group).
    #[error(
        "Could not generate data key: [empty key group provided]\nevery key group needs at least one recipient: add an age recipient to the creation rule, or pass --age"
    )]
    EmptyKeyGroup,
    /// The Shamir threshold cannot be used with the number of key groups (sops' wording and
    /// exit code 1).
    #[error(
        "Could not generate data key: [could not split data key into parts for Shamir: {}]\nthe Shamir threshold ({threshold}) must be between 2 and the number of key groups ({groups})",
        shamir_reason(*threshold, *groups)
    )]
    InvalidShamirThreshold {
        /// The requested threshold.
        threshold: usize,
        /// The number of key groups.
        groups: usize,
    },
    /// An `--extract` path is not of the form `["key"][0]...`.
    #[error(
        "error parsing --extract path: {reason}\nuse e.g. '[\"data\"][\"password\"]' or '[\"list\"][0]'"
    )]
    InvalidTreePath {
        /// What is wrong.
        reason: String,
    },
    /// `unset` of a path that is not in the document (sops's message: `Key not found: b`,
    /// `Index 3 out of bounds`).
    #[error("{message}")]
    KeyNotFound {
        /// sops's message.
        message: String,
    },
    /// The value given to `set` is not JSON, or JSON sops cannot insert (a top-level array),
    /// or its path cannot name a place in the document (a mapping indexed by position).
    #[error("{reason}")]
    InvalidSetValue {
        /// sops's message.
        reason: String,
    },
    /// An `--extract` path does not exist in the document.
    #[error("Error walking tree: component {component} not found in the document")]
    TreePathNotFound {
        /// The missing component as written in the path (`["b"]`, `[3]`).
        component: String,
    },
    /// The extracted value cannot be written in the output format.
    #[error("Error dumping file: the extracted value cannot be written as {format}: {reason}")]
    ExtractUnsupported {
        /// Output format name.
        format: &'static str,
        /// Why.
        reason: String,
    },
}

fn conflict_message(context: crate::rules::RuleContext) -> String {
    const LIST: &str = "encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex";
    match context {
        crate::rules::RuleContext::File => {
            format!("Cannot use more than one of {LIST} in the same file")
        }
        crate::rules::RuleContext::ConfigRule => {
            format!("error loading config: cannot use more than one of {LIST} for the same rule")
        }
        crate::rules::RuleContext::Cli => {
            format!("Error: cannot use more than one of {LIST} in the same file")
        }
    }
}

/// The reason sops' Shamir split gives for a threshold it refuses.
fn shamir_reason(threshold: usize, groups: usize) -> &'static str {
    if groups < threshold {
        "parts cannot be less than threshold"
    } else if groups > 255 {
        "parts cannot exceed 255"
    } else {
        "threshold must be at least 2"
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl Error {
    /// The exit code the sops CLI uses for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Parse { .. } => exit::COULD_NOT_READ_INPUT_FILE,
            Error::EmptyFile => exit::NEED_AT_LEAST_ONE_DOCUMENT,
            Error::AlreadyEncrypted => exit::FILE_ALREADY_ENCRYPTED,
            Error::MetadataNotFound => exit::GENERIC,
            Error::NonStringKey { .. } | Error::UnsupportedValue { .. } => {
                exit::ERROR_ENCRYPTING_TREE
            }
            Error::Emit { .. } | Error::NoBinaryData { .. } | Error::InvalidIndent { .. } => {
                exit::ERROR_DUMPING_TREE
            }
            Error::ConfigRead { .. }
            | Error::NoMatchingCreationRule { .. }
            | Error::ConflictingRuleSelection { .. }
            | Error::ConfigRegex { .. }
            | Error::NoKeysProvided
            | Error::OnlyAgeSupported { .. } => exit::GENERIC,
            Error::DuplicateSopsEntry
            | Error::SopsEntryNotMapping
            | Error::InvalidMetadata { .. }
            | Error::NoKeysFound
            | Error::VersionEmpty
            | Error::InvalidRecipient { .. }
            | Error::Identity(_)
            | Error::TreePathNotFound { .. }
            | Error::KeyNotFound { .. } => exit::GENERIC,
            Error::InvalidSetValue { .. } => exit::INVALID_SET_FORMAT,
            Error::ConflictingRules { context } => match context {
                crate::rules::RuleContext::ConfigRule => exit::GENERIC,
                _ => exit::CONFLICTING_PARAMETERS,
            },
            Error::InvalidRegex { .. } => exit::CONFLICTING_PARAMETERS,
            Error::InvalidShamirThreshold { .. } => exit::GENERIC,
            Error::DecryptValue { .. } => exit::ERROR_DECRYPTING_TREE,
            Error::EncryptTree { .. } | Error::WrapDataKey { .. } => exit::ERROR_ENCRYPTING_TREE,
            Error::MacMismatch { .. }
            | Error::MacMissing { .. }
            | Error::MacUndecryptable { .. } => exit::MAC_MISMATCH,
            Error::DataKey { .. }
            | Error::PostQuantumUnsupported { .. }
            | Error::InvalidDataKey { .. } => exit::COULD_NOT_RETRIEVE_KEY,
            // sops returns these from GenerateDataKey as plain errors: exit 1, not 111.
            Error::NoKeyGroups | Error::EmptyKeyGroup => exit::GENERIC,
            Error::InvalidTreePath { .. } => exit::INVALID_TREE_PATH_FORMAT,
            Error::ExtractUnsupported { .. } => exit::ERROR_DUMPING_TREE,
        }
    }
}
