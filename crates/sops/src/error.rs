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
        "File cannot be completely empty, it must contain at least one document: add some content before encrypting"
    )]
    EmptyFile,
    /// The plain file already carries sops metadata.
    #[error(
        "The file you have provided contains a top-level entry called 'sops', or for flat file formats top-level entries starting with 'sops_'. This is generally due to the file already being encrypted. If you are sure you want to encrypt a file that contains a top-level entry called 'sops', rename it first"
    )]
    AlreadyEncrypted,
    /// The encrypted file has no metadata.
    #[error("sops metadata not found: this file is not encrypted with sops")]
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
    #[error("error emitting binary store: {reason}: decrypt this file with its own format (--output-type)")]
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
    /// No creation rule of `.sops.yaml` matches the file.
    #[error("error loading config: no matching creation rules found (config {}, file {}): add a rule whose path_regex matches, or a rule without path_regex", config.display(), file.display())]
    NoMatchingCreationRule {
        /// The config file.
        config: std::path::PathBuf,
        /// The file the rule was looked up for.
        file: std::path::PathBuf,
    },
    /// A creation rule sets more than one of the six selection rules.
    #[error("error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule (config {})", config.display())]
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
    #[error("Error encrypting tree: Error walking tree: Tree contains a non-string key (type {kind}) at line {line}. Only string keys are supported: quote the key")]
    NonStringKey {
        /// The Go type sops reports (`int`, `bool`, `float64`, `<nil>`, `time.Time`, ...).
        kind: &'static str,
        /// 1-based line of the key.
        line: usize,
    },
    /// A value of a type sops cannot walk: a YAML integer above the int64 range (Go `uint64`).
    #[error("Error encrypting tree: Error walking tree: Cannot walk value, unknown type: {kind} (line {line}): quote the value")]
    UnsupportedValue {
        /// The Go type sops reports (`uint64`).
        kind: &'static str,
        /// 1-based line of the value.
        line: usize,
    },
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
            Error::Emit { .. } | Error::NoBinaryData { .. } => exit::ERROR_DUMPING_TREE,
            Error::ConfigRead { .. }
            | Error::NoMatchingCreationRule { .. }
            | Error::ConflictingRuleSelection { .. }
            | Error::ConfigRegex { .. }
            | Error::OnlyAgeSupported { .. } => exit::GENERIC,
        }
    }
}
