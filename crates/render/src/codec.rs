//! The bridge to `psd-sops`: Secret manifests become sops trees, trees are encrypted in memory,
//! existing `*.enc.yaml` files are decrypted to reuse their values.
//!
//! Plaintext only ever lives in memory here: the tree built from a Secret is wiped after
//! encryption, and nothing in this module writes files.

use psd_model::SecretManifest;
use psd_model::secrecy::ExposeSecret;
use psd_sops::Format;
use psd_sops::api::{self, DecryptOptions, EncryptOptions};
use psd_sops::keysource::Identities;
use psd_sops::rules::SelectionRule;
use psd_sops::tree::{Branch, Item, Tree, Value};
use zeroize::Zeroize;

/// The Secret as a sops document tree (`apiVersion`, `kind`, `metadata`, `type`,
/// `stringData`), values in plaintext. Call [`wipe`] when done with it.
pub fn secret_to_tree(secret: &SecretManifest) -> Tree {
    let mut metadata: Branch = vec![
        Item::new("name", Value::Str(secret.name().to_owned())),
        Item::new("namespace", Value::Str(secret.namespace().to_owned())),
    ];
    if !secret.labels().is_empty() {
        let labels = secret
            .labels()
            .iter()
            .map(|(k, v)| Item::new(k.clone(), Value::Str(v.clone())))
            .collect();
        metadata.push(Item::new("labels", Value::Map(labels)));
    }
    let data = secret
        .string_data()
        .map(|(k, v)| Item::new(k, Value::Str(v.expose_secret().to_owned())))
        .collect();
    Tree {
        branches: vec![vec![
            Item::new("apiVersion", Value::Str(SecretManifest::API_VERSION.into())),
            Item::new("kind", Value::Str(SecretManifest::KIND.into())),
            Item::new("metadata", Value::Map(metadata)),
            Item::new("type", Value::Str(secret.secret_type().to_owned())),
            Item::new("stringData", Value::Map(data)),
        ]],
    }
}

/// Overwrites every string in the tree with zeros before it is dropped.
pub fn wipe(tree: &mut Tree) {
    fn wipe_value(v: &mut Value) {
        match v {
            Value::Str(s) => s.zeroize(),
            Value::Bytes(b) => b.zeroize(),
            Value::Map(items) => items.iter_mut().for_each(|i| wipe_value(&mut i.value)),
            Value::List(items) => items.iter_mut().for_each(wipe_value),
            _ => {}
        }
    }
    for branch in &mut tree.branches {
        for item in branch {
            wipe_value(&mut item.value);
        }
    }
}

/// Why an existing file could not be decrypted.
#[derive(Debug)]
pub enum DecryptError {
    /// None of the available private keys is a recipient of the file.
    NoMatchingKey,
    /// The file is damaged or not a sops file (message without secrets).
    Invalid(String),
}

/// The selection rule of every file psd writes (same as the `.sops.yaml` it writes).
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// Decrypts an existing `*.enc.yaml` (MAC verified) to its tree.
pub fn decrypt(bytes: &[u8], identities: &Identities) -> Result<Tree, DecryptError> {
    match api::decrypt_tree(bytes, Format::Yaml, identities, &DecryptOptions::default()) {
        Ok(mut d) => Ok(std::mem::take(&mut *d.tree)),
        Err(psd_sops::Error::DataKey { .. } | psd_sops::Error::PostQuantumUnsupported { .. }) => {
            Err(DecryptError::NoMatchingKey)
        }
        Err(e) => Err(DecryptError::Invalid(e.to_string())),
    }
}

/// Encrypts a Secret tree to `recipients` with `encrypted_regex: ^(data|stringData)$`.
pub fn encrypt(tree: &Tree, recipients: &[String]) -> Result<Vec<u8>, String> {
    if recipients.is_empty() {
        return Err("no age recipients".into());
    }
    let rs = recipients
        .iter()
        .map(|r| r.parse::<psd_sops::age::Recipient>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let rule = regex::Regex::new(ENCRYPTED_REGEX).map_err(|e| e.to_string())?;
    let mut opts = EncryptOptions::new(rs);
    opts.rule = Some(SelectionRule::EncryptedRegex(rule));
    api::encrypt_tree(tree, Format::Yaml, &opts).map_err(|e| e.to_string())
}

/// Encrypts a Secret tree over the file it replaces as `sops set` would: same data key, every
/// unchanged value keeping its ciphertext, so a changed credential is a one-line diff (plus
/// the MAC and `lastmodified`). `None` when that is not right: the file does not open with
/// `identities`, or its recipients, key groups or rule are not the ones psd writes (then the
/// file is encrypted afresh, with a new data key, as for a recipient removed).
pub fn reseal(
    existing: &[u8],
    identities: &Identities,
    tree: &Tree,
    recipients: &[String],
) -> Option<Result<Vec<u8>, String>> {
    let mut opened = api::open(
        existing,
        Format::Yaml,
        identities,
        &DecryptOptions::default(),
    )
    .ok()?;
    let meta = &opened.metadata;
    let mut have: Vec<&str> = meta.recipients().collect();
    let mut want: Vec<&str> = recipients.iter().map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    let psd_rule = matches!(
        meta.rule.as_ref(),
        Some(SelectionRule::EncryptedRegex(re)) if re.as_str() == ENCRYPTED_REGEX
    );
    let one_group = meta.key_groups.len() == 1 && meta.key_groups[0].other.is_empty();
    if have != want || !psd_rule || !one_group || meta.mac_only_encrypted {
        return None;
    }
    *opened.tree = tree.clone();
    Some(
        opened
            .seal(Format::Yaml, psd_sops::StoreOptions::default())
            .map_err(|e| e.to_string()),
    )
}

/// The age recipients an encrypted file is wrapped to, read without any key (empty if the
/// file has no readable sops metadata).
pub fn file_recipients(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(doc) = serde_saphyr::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out: Vec<String> = doc["sops"]["age"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k["recipient"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
