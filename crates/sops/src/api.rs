//! The public in-memory API: encrypt and decrypt documents (bytes or trees), read metadata and
//! check "is this encrypted" without a key.
//!
//! ```no_run
//! use psd_sops::api::{self, DecryptOptions, EncryptOptions};
//! use psd_sops::{Format, age::Recipient, keysource::Identities};
//!
//! let recipient: Recipient = "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406".parse()?;
//! let enc = api::encrypt(b"password: hunter2\n", Format::Yaml, &EncryptOptions::new(vec![recipient]))?;
//! let (identities, _problems) = Identities::from_env();
//! let plain = api::decrypt(&enc, Format::Yaml, &identities, &DecryptOptions::default())?;
//! assert!(api::is_encrypted(&enc, Format::Yaml));
//! # Ok::<(), psd_sops::Error>(())
//! ```

use zeroize::{Zeroize, Zeroizing};

use crate::age::{self, DataKeyReport, GroupAttempt, KeyAttempt, Recipient};
use crate::cipher::DataKey;
use crate::error::Error;
use crate::keysource::Identities;
use crate::metadata::{AgeKey, KeyGroup, Metadata, SOPS_COMPAT_VERSION};
use crate::rules::SelectionRule;
use crate::store::{Format, StoreOptions, store_for};
use crate::tree::{Key, Tree, Value};
use crate::walk::{self, Warning};
use crate::{mac, shamir};

/// How to encrypt a document.
#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    /// Key groups: one group (the normal case) means every recipient can decrypt alone;
    /// several groups split the data key with Shamir secret sharing.
    pub key_groups: Vec<Vec<Recipient>>,
    /// Groups needed to decrypt when there are several (default: all of them).
    pub shamir_threshold: Option<usize>,
    /// The selection rule (default: `unencrypted_suffix: _unencrypted`). Ignored for binary.
    pub rule: Option<SelectionRule>,
    /// Hash only encrypted values into the MAC (sops ≥ 3.9). Ignored for binary.
    pub mac_only_encrypted: bool,
    /// Output layout (indentation).
    pub store: StoreOptions,
}

impl EncryptOptions {
    /// One key group with these recipients and sops' defaults for everything else.
    pub fn new(recipients: Vec<Recipient>) -> Self {
        Self {
            key_groups: vec![recipients],
            ..Self::default()
        }
    }
}

/// How to decrypt a document.
#[derive(Clone, Debug, Default)]
pub struct DecryptOptions {
    /// Skip MAC verification (`--ignore-mac`).
    pub ignore_mac: bool,
    /// Refuse metadata without `version` like the sops CLI (`Version string empty`). The
    /// library default accepts such files, as Flux and the sops Go library do.
    pub require_version: bool,
    /// Output only this part of the first document (`--extract '["a"]["b"]'`).
    pub extract: Option<Vec<PathComponent>>,
    /// Emit in this format instead of the input format (`--output-type`).
    pub output_format: Option<Format>,
    /// Output layout (indentation).
    pub store: StoreOptions,
}

/// A decrypted document as bytes.
pub struct Decrypted {
    /// The plaintext output, wiped on drop.
    pub plain: Zeroizing<Vec<u8>>,
    /// The file's metadata.
    pub metadata: Metadata,
    /// Non-fatal problems (comments that did not decrypt), for the caller to show.
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field(
                "plain",
                &format_args!("[{} bytes REDACTED]", self.plain.len()),
            )
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// A decrypted document as a tree.
pub struct DecryptedTree {
    /// The clear tree, wiped on drop.
    pub tree: Zeroizing<Tree>,
    /// The file's metadata.
    pub metadata: Metadata,
    /// Non-fatal problems (comments that did not decrypt).
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for DecryptedTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptedTree")
            .field("tree", &"[REDACTED]")
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// An encrypted tree with its metadata, before a store writes it.
#[derive(Clone, Debug)]
pub struct EncryptedTree {
    /// The tree with selected values replaced by `ENC[...]` strings.
    pub tree: Tree,
    /// The metadata (key groups, MAC, rule, `lastmodified`, `version`).
    pub metadata: Metadata,
    /// Non-fatal notes (selection rules ignored for binary).
    pub warnings: Vec<Warning>,
}

impl Zeroize for Tree {
    fn zeroize(&mut self) {
        walk::zeroize_tree(self);
        self.branches.clear();
    }
}

/// Parses a plain document with `format`'s store, encrypts it and writes it in the same
/// format.
pub fn encrypt(plain: &[u8], format: Format, opts: &EncryptOptions) -> Result<Vec<u8>, Error> {
    let store = store_for(format, opts.store);
    let tree = Zeroizing::new(store.load_plain(plain)?);
    encrypt_tree(&tree, format, opts)
}

/// Encrypts an in-memory tree (e.g. built by a renderer) and writes it with `format`'s store.
pub fn encrypt_tree(tree: &Tree, format: Format, opts: &EncryptOptions) -> Result<Vec<u8>, Error> {
    let enc = encrypt_tree_parts(tree, format, opts)?;
    store_for(format, opts.store).emit_encrypted(&enc.tree, &enc.metadata.to_value())
}

/// Refuses trees that already carry sops metadata (spec section 10).
fn check_plain_tree(tree: &Tree, format: Format) -> Result<(), Error> {
    let Some(first) = tree.branches.first() else {
        return Err(Error::EmptyFile);
    };
    let reserved = first.iter().any(|item| match &item.key {
        Key::Name(n) => n == "sops" || (format == Format::Dotenv && n.starts_with("sops_")),
        Key::Comment(_) => false,
    });
    if reserved {
        return Err(Error::AlreadyEncrypted);
    }
    Ok(())
}

/// Encrypts an in-memory tree and returns the encrypted tree and metadata without writing
/// them (for callers that emit themselves or inspect the result).
pub fn encrypt_tree_parts(
    tree: &Tree,
    format: Format,
    opts: &EncryptOptions,
) -> Result<EncryptedTree, Error> {
    check_plain_tree(tree, format)?;
    if opts.key_groups.is_empty() {
        return Err(Error::NoKeyGroups);
    }
    if opts.key_groups.iter().any(Vec::is_empty) {
        return Err(Error::EmptyKeyGroup);
    }
    let groups = opts.key_groups.len();
    let threshold = if groups > 1 {
        let t = opts.shamir_threshold.filter(|t| *t != 0).unwrap_or(groups);
        if t < 2 || t > groups {
            return Err(Error::InvalidShamirThreshold {
                threshold: t,
                groups,
            });
        }
        t
    } else {
        0
    };

    let mut warnings = Vec::new();
    let (rule, mac_only) = if format == Format::Binary {
        if opts.rule.is_some() || opts.mac_only_encrypted {
            warnings.push(Warning::BinaryIgnoresRules);
        }
        (None, false)
    } else {
        (
            Some(opts.rule.clone().unwrap_or_default()),
            opts.mac_only_encrypted,
        )
    };

    let data_key = DataKey::generate();
    let key_groups = wrap_data_key(&data_key, &opts.key_groups, threshold)?;

    let mut out = tree.clone();
    let walk_rule = rule.clone().unwrap_or_default();
    let digest = match walk::encrypt_tree(&mut out, &data_key, &walk_rule, mac_only) {
        Ok(d) => d,
        Err(e) => {
            walk::zeroize_tree(&mut out);
            return Err(e);
        }
    };
    let lastmodified = crate::Timestamp::now_utc().to_string();
    let mac = mac::encrypt_mac(&data_key, &digest, &lastmodified);
    Ok(EncryptedTree {
        tree: out,
        metadata: Metadata {
            key_groups,
            shamir_threshold: threshold,
            lastmodified,
            mac,
            rule,
            mac_only_encrypted: mac_only,
            version: SOPS_COMPAT_VERSION.to_owned(),
        },
        warnings,
    })
}

/// Encrypts the data key (or one Shamir share per group) to every recipient.
fn wrap_data_key(
    key: &DataKey,
    groups: &[Vec<Recipient>],
    threshold: usize,
) -> Result<Vec<KeyGroup>, Error> {
    let shares = if groups.len() > 1 {
        shamir::split(key.expose(), groups.len(), threshold).map_err(|e| Error::InvalidDataKey {
            reason: e.to_string(),
        })?
    } else {
        vec![Zeroizing::new(key.expose().to_vec())]
    };
    groups
        .iter()
        .zip(shares.iter())
        .map(|(recipients, secret)| {
            let age = recipients
                .iter()
                .map(|r| {
                    Ok(AgeKey {
                        recipient: r.as_str().to_owned(),
                        enc: r.wrap(secret)?,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(KeyGroup {
                age,
                other: Vec::new(),
            })
        })
        .collect()
}

/// Recovers the data key from the metadata's key groups with `identities` (spec 6.2). On
/// failure the error carries sops' per-group, per-key report.
pub fn recover_data_key(metadata: &Metadata, identities: &Identities) -> Result<DataKey, Error> {
    let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let mut report_groups = Vec::new();
    let mut saw_pq = false;
    let mut saw_usable = false;
    for group in &metadata.key_groups {
        let mut attempts = Vec::new();
        let mut part = None;
        for k in &group.age {
            if age::is_post_quantum(&k.recipient) {
                saw_pq = true;
                attempts.push(KeyAttempt {
                    key: k.recipient.clone(),
                    error: Some(
                        "post-quantum hybrid age recipients (age1pq1…) are not supported by psd"
                            .into(),
                    ),
                });
                continue;
            }
            saw_usable = true;
            match age::unwrap(&k.enc, identities) {
                Ok(p) => {
                    attempts.push(KeyAttempt {
                        key: k.recipient.clone(),
                        error: None,
                    });
                    part = Some(p);
                    break;
                }
                Err(e) => attempts.push(KeyAttempt {
                    key: k.recipient.clone(),
                    error: Some(e),
                }),
            }
        }
        if part.is_none() {
            for o in &group.other {
                attempts.push(KeyAttempt {
                    key: o.describe(),
                    error: Some(format!(
                        "{} master keys are not supported by psd (age only)",
                        o.kind
                    )),
                });
            }
        }
        report_groups.push(GroupAttempt {
            keys: attempts,
            succeeded: part.is_some(),
        });
        if let Some(p) = part {
            parts.push(p);
        }
    }
    let groups = metadata.key_groups.len();
    let enough = if groups == 1 {
        parts.len() == 1
    } else {
        !parts.is_empty() && parts.len() >= metadata.shamir_threshold.max(1)
    };
    if !enough {
        let report = DataKeyReport {
            groups: report_groups,
            threshold: metadata.shamir_threshold,
            recovered: parts.len(),
            unused_locations: identities.unused_locations().to_vec(),
            source_errors: identities
                .source_errors()
                .iter()
                .chain(identities.unsupported())
                .map(|e| e.to_string())
                .collect(),
        };
        return Err(if saw_pq && !saw_usable {
            Error::PostQuantumUnsupported { report }
        } else {
            Error::DataKey { report }
        });
    }
    let key_bytes = if groups == 1 {
        parts.pop().unwrap_or_default()
    } else {
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        shamir::combine(&refs).map_err(|e| Error::InvalidDataKey {
            reason: e.to_string(),
        })?
    };
    DataKey::from_slice(&key_bytes).ok_or_else(|| Error::InvalidDataKey {
        reason: format!(
            "the recovered data key is {} bytes long, expected 32",
            key_bytes.len()
        ),
    })
}

/// Reads the metadata of an encrypted document without any key.
pub fn metadata(encrypted: &[u8], format: Format) -> Result<Metadata, Error> {
    let (_, meta) = store_for(format, StoreOptions::default()).load_encrypted(encrypted)?;
    Metadata::from_value(&meta)
}

/// `sops filestatus`: `Ok(true)` if the document has sops metadata with a non-empty `version`
/// and `mac`, `Ok(false)` if it has none (or lacks those), an error if it cannot be parsed.
pub fn file_status(bytes: &[u8], format: Format) -> Result<bool, Error> {
    match metadata(bytes, format) {
        Ok(m) => Ok(!m.version.is_empty() && !m.mac.is_empty()),
        Err(Error::MetadataNotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether a document is sops-encrypted (as [`file_status`], with errors counted as "no").
pub fn is_encrypted(bytes: &[u8], format: Format) -> bool {
    file_status(bytes, format).unwrap_or(false)
}

/// Decrypts a parsed encrypted tree with its metadata (no store involved): recovers the data
/// key, decrypts every selected value, and verifies the MAC unless `ignore_mac`.
pub fn decrypt_parts(
    mut tree: Tree,
    metadata: Metadata,
    identities: &Identities,
    ignore_mac: bool,
    require_version: bool,
) -> Result<DecryptedTree, Error> {
    if require_version && metadata.version.is_empty() {
        return Err(Error::VersionEmpty);
    }
    let key = recover_data_key(&metadata, identities)?;
    let warnings = match decrypt_with_key(&mut tree, &metadata, &key, ignore_mac) {
        Ok(w) => w,
        Err(e) => {
            walk::zeroize_tree(&mut tree);
            return Err(e);
        }
    };
    Ok(DecryptedTree {
        tree: Zeroizing::new(tree),
        metadata,
        warnings,
    })
}

/// Decrypts `tree` in place with a known data key and verifies the MAC unless `ignore_mac`.
/// Returns the warnings (comments kept because they did not decrypt).
pub fn decrypt_with_key(
    tree: &mut Tree,
    metadata: &Metadata,
    key: &DataKey,
    ignore_mac: bool,
) -> Result<Vec<Warning>, Error> {
    let rule = metadata.effective_rule();
    let (computed, warnings) = walk::decrypt_tree(tree, key, &rule, metadata.mac_only_encrypted)?;
    if !ignore_mac {
        verify_mac(metadata, key, &computed)?;
    }
    Ok(warnings)
}

/// Checks the stored MAC against a computed digest (spec 5.4).
pub fn verify_mac(metadata: &Metadata, key: &DataKey, computed: &str) -> Result<(), Error> {
    if metadata.mac.is_empty() {
        return Err(Error::MacMissing {
            computed: computed.to_owned(),
        });
    }
    let aad = mac::mac_aad(&metadata.lastmodified).ok_or_else(|| Error::InvalidMetadata {
        field: "lastmodified".into(),
        reason: "not an RFC 3339 timestamp".into(),
    })?;
    let stored = mac::decrypt_mac(key, &metadata.mac, &aad)
        .map_err(|source| Error::MacUndecryptable { source })?;
    if stored != computed {
        return Err(Error::MacMismatch {
            stored,
            computed: computed.to_owned(),
        });
    }
    Ok(())
}

/// Parses an encrypted document and decrypts it to a tree (MAC verified unless
/// `opts.ignore_mac`). `opts.extract` and `opts.output_format` are not used here.
pub fn decrypt_tree(
    encrypted: &[u8],
    format: Format,
    identities: &Identities,
    opts: &DecryptOptions,
) -> Result<DecryptedTree, Error> {
    let store = store_for(format, opts.store);
    let (tree, meta) = store.load_encrypted(encrypted)?;
    let metadata = Metadata::from_value(&meta)?;
    decrypt_parts(
        tree,
        metadata,
        identities,
        opts.ignore_mac,
        opts.require_version,
    )
}

/// Parses, decrypts and writes a document: the whole document in `opts.output_format` (or
/// the input format), or only the `opts.extract` part.
pub fn decrypt(
    encrypted: &[u8],
    format: Format,
    identities: &Identities,
    opts: &DecryptOptions,
) -> Result<Decrypted, Error> {
    let mut dec = decrypt_tree(encrypted, format, identities, opts)?;
    let out_format = opts.output_format.unwrap_or(format);
    let store = store_for(out_format, opts.store);
    let plain = match &opts.extract {
        None => Zeroizing::new(store.emit_plain(&dec.tree)?),
        Some(path) => extract(&mut dec.tree, path, out_format, store.as_ref())?,
    };
    Ok(Decrypted {
        plain,
        metadata: dec.metadata,
        warnings: dec.warnings,
    })
}

/// One component of an `--extract` path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathComponent {
    /// A mapping key (`["name"]`).
    Key(String),
    /// A list index (`[0]`).
    Index(usize),
}

impl std::fmt::Display for PathComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathComponent::Key(k) => write!(f, "[{k:?}]"),
            PathComponent::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Parses a sops tree path such as `["data"]["password"]` or `["list"][0]` the way sops
/// does: split on `[`, every component must end with `]`, quoted (`"` or `'`) components are
/// keys and the rest must be integers.
pub fn parse_tree_path(s: &str) -> Result<Vec<PathComponent>, Error> {
    let mut out = Vec::new();
    for component in s.split('[') {
        if component.is_empty() {
            continue;
        }
        let Some(inner) = component.strip_suffix(']') else {
            return Err(Error::InvalidTreePath {
                reason: format!("component {component} doesn't end with ]"),
            });
        };
        if inner.starts_with('"') || inner.starts_with('\'') {
            if inner.len() < 2 {
                return Err(Error::InvalidTreePath {
                    reason: format!("unterminated quoted component {component}"),
                });
            }
            out.push(PathComponent::Key(inner[1..inner.len() - 1].to_owned()));
        } else {
            let i = inner.parse::<usize>().map_err(|_| Error::InvalidTreePath {
                reason: format!("component {inner} is neither a quoted key nor a list index"),
            })?;
            out.push(PathComponent::Index(i));
        }
    }
    Ok(out)
}

/// sops `--extract`: truncates the first document to `path`. A string is returned raw; a
/// mapping replaces the first document and the whole tree is emitted (so later YAML documents
/// are still written, as sops does); other scalars are written in the output format's scalar
/// syntax.
fn extract(
    tree: &mut Tree,
    path: &[PathComponent],
    format: Format,
    store: &(dyn crate::Store + Send + Sync),
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let first = tree.branches.first().ok_or(Error::TreePathNotFound {
        component: path.first().map(|c| c.to_string()).unwrap_or_default(),
    })?;
    let mut current = Value::Map(first.clone());
    for component in path {
        let not_found = || Error::TreePathNotFound {
            component: component.to_string(),
        };
        current = match (current, component) {
            (Value::Map(items), PathComponent::Key(k)) => items
                .into_iter()
                .find(|i| i.key.name() == Some(k.as_str()))
                .map(|i| i.value)
                .ok_or_else(not_found)?,
            (Value::List(list), PathComponent::Index(i)) => {
                let values: Vec<Value> = list
                    .into_iter()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .collect();
                values.into_iter().nth(*i).ok_or_else(not_found)?
            }
            _ => return Err(not_found()),
        };
    }
    let unsupported = |reason: &str| Error::ExtractUnsupported {
        format: format.name(),
        reason: reason.to_owned(),
    };
    let scalar = |text: String| -> Result<Zeroizing<Vec<u8>>, Error> {
        match format {
            Format::Yaml => Ok(Zeroizing::new(format!("{text}\n").into_bytes())),
            Format::Json | Format::Binary => Ok(Zeroizing::new(text.into_bytes())),
            _ => Err(unsupported("this format cannot hold a single value")),
        }
    };
    match current {
        Value::Str(s) => Ok(Zeroizing::new(s.into_bytes())),
        Value::Bytes(b) => Ok(Zeroizing::new(b)),
        Value::Map(items) => {
            tree.branches[0] = items;
            Ok(Zeroizing::new(store.emit_plain(tree)?))
        }
        Value::Int(i) => scalar(i.to_string()),
        Value::Float(f) => scalar(match format {
            Format::Yaml => crate::gofmt::format_float_yaml(f),
            _ => crate::gofmt::format_float_json(f),
        }),
        Value::Bool(b) => scalar(b.to_string()),
        Value::Time(t) => scalar(match format {
            Format::Yaml => t.to_string(),
            _ => format!("\"{t}\""),
        }),
        Value::Null => scalar("null".to_owned()),
        Value::List(_) | Value::Comment(_) => {
            Err(unsupported("extracting a list is not supported"))
        }
    }
}
