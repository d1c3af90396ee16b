//! Stores: the five file formats sops reads and writes (section 9 of the format spec).
//!
//! A store only does syntax: bytes ⇄ [`Tree`]. It knows where the `sops` metadata lives in its
//! format and hands it over as a generic [`Value::Map`]; turning that map into typed metadata is
//! [`crate::metadata`](mod@crate::metadata)'s job, so every format shares one metadata reader.

use crate::error::Error;
use crate::tree::{Tree, Value};
use zeroize::Zeroizing;

/// The file formats sops supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`): go-yaml v3 semantics, comments kept, several documents.
    Yaml,
    /// JSON (`.json`): key order kept, Go's escaping and indentation on output.
    Json,
    /// dotenv (`.env`): `KEY=value` lines, metadata flattened into `sops_*` keys.
    Dotenv,
    /// INI (`.ini`): sections, metadata in a `[sops]` section.
    Ini,
    /// Anything else: the whole file is one value, the encrypted file is JSON.
    Binary,
}

impl Format {
    /// The format sops picks for a file name (by suffix; anything unknown is binary).
    pub fn from_path(path: &std::path::Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// Parses a `--input-type`/`--output-type` name (`yaml`, `json`, `dotenv`, `ini`, `binary`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    /// The name used by `--input-type`/`--output-type`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// Output layout options (`stores:` in `.sops.yaml`, `--indent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// YAML indentation in spaces (sops default 4).
    pub yaml_indent: usize,
    /// JSON indentation: `None` for a tab (sops default), `Some(n)` for n spaces.
    pub json_indent: Option<usize>,
    /// Indentation of the JSON envelope of the binary store.
    pub json_binary_indent: Option<usize>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            yaml_indent: 4,
            json_indent: None,
            json_binary_indent: None,
        }
    }
}

/// One file format: parse and emit, plain and encrypted.
pub trait Store {
    /// Parses a plain (not yet encrypted) file. Refuses a file that already carries sops metadata
    /// ([`Error::AlreadyEncrypted`]) and an empty one where sops does ([`Error::EmptyFile`]).
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error>;

    /// [`load_plain`](Self::load_plain) for plaintext the caller is done with: wiped once
    /// parsed (the binary store moves it into the tree instead of copying it).
    fn load_plain_owned(&self, mut input: Zeroizing<Vec<u8>>) -> Result<Tree, Error> {
        let tree = self.load_plain(&input);
        crate::wipe::bytes(&mut input);
        tree
    }

    /// Parses an encrypted file into its tree (without metadata) and its `sops` metadata as a
    /// generic [`Value::Map`]. No metadata: [`Error::MetadataNotFound`].
    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error>;

    /// Writes a plain tree (the result of decryption).
    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error>;

    /// Writes an encrypted tree with its metadata map (YAML: appended to every document).
    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error>;
}

/// The store for a format.
pub fn store_for(format: Format, options: StoreOptions) -> Box<dyn Store + Send + Sync> {
    match format {
        Format::Yaml => Box::new(crate::stores::yaml::YamlStore::new(options)),
        Format::Json => Box::new(crate::stores::json::JsonStore::new(options)),
        Format::Dotenv => Box::new(crate::stores::dotenv::DotenvStore::new(options)),
        Format::Ini => Box::new(crate::stores::ini::IniStore::new(options)),
        Format::Binary => Box::new(crate::stores::binary::BinaryStore::new(options)),
    }
}
