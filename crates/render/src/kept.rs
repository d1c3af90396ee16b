//! What psd keeps of an existing Secret file when it renders the file again: everything it does
//! not decide itself.
//!
//! psd decides a Secret's `apiVersion`, `kind`, `metadata.name`, `metadata.namespace`, `type`,
//! the labels it sets, and the values under its own `stringData` keys (which it reads from the
//! file in the first place, see [`crate::secrets`]). Everything else stays as the file has it:
//!
//! - at every level psd writes (the document, `metadata`, `metadata.labels`, `stringData`),
//!   psd's keys come first, in psd's order, then the file's other keys in the file's order; a
//!   comment stays with the key below it;
//! - labels psd does not set, annotations and every other `metadata` field are kept; for a label
//!   psd sets, psd's value wins;
//! - `data` (base64) entries are kept. A key psd manages that the file holds only in `data`
//!   stays there while psd's value is the same; when psd changes that value (a rotation, a value
//!   that follows `psd.yaml`), the new value goes to `stringData` and the `data` entry goes, so
//!   the file never holds two values for one key;
//!   A `data` entry that is not base64 of UTF-8 text is never removed (psd cannot tell what it
//!   holds); psd's value goes to `stringData`, which wins, and the caller warns;
//! - a key in both `stringData` and `data`: `stringData` wins, as it does when Kubernetes
//!   applies the Secret; the `data` entry is left alone.
//!
//! A file in psd's canonical order (the order this module writes) comes out exactly as it went
//! in, so a render without changes keeps the file byte for byte.

use std::collections::BTreeSet;

use base64::Engine as _;
use psd_model::SecretManifest;
use psd_model::secrecy::{ExposeSecret, SecretString};
use psd_sops::tree::{Branch, Item, Tree, Value};
use zeroize::Zeroizing;

use crate::codec;

/// A decrypted Secret file whose shape psd can render again (see [`FileSecret::parse`]).
pub(crate) struct FileSecret<'t> {
    top: &'t Branch,
}

/// The value of `key` in a mapping.
fn get<'b>(branch: &'b Branch, key: &str) -> Option<&'b Value> {
    branch
        .iter()
        .find(|i| i.key.name() == Some(key))
        .map(|i| &i.value)
}

fn map_of(v: Option<&Value>) -> Option<&Branch> {
    match v {
        Some(Value::Map(m)) => Some(m),
        _ => None,
    }
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

/// What a YAML value is, in words (never the value itself).
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Bytes(_) => "binary",
        Value::Time(_) => "a timestamp",
        Value::Comment(_) => "a comment",
        Value::Map(_) => "a mapping",
        Value::List(_) => "a list",
    }
}

/// A value read from the file (never a secret one), in backquotes, cut to its first 40
/// characters when it is longer than 60, so that an error never echoes a huge value back.
fn quoted(v: &str) -> String {
    let n = v.chars().count();
    if n <= 60 {
        format!("`{v}`")
    } else {
        let head: String = v.chars().take(40).collect();
        format!("`{head}…` ({n} characters)")
    }
}

/// A `data` value decoded (standard base64, UTF-8), or `None` if it is not text.
fn decode(v: &str) -> Option<SecretString> {
    let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(v).ok()?);
    std::str::from_utf8(&bytes)
        .ok()
        .map(|s| SecretString::from(s.to_owned()))
}

impl<'t> FileSecret<'t> {
    /// Checks that the file is one document, `apiVersion: v1`, `kind: Secret`, with
    /// `stringData` and `data` mappings of strings (either may be absent). The error is the
    /// reason, in words, without any value; `path` is only used in the advice it gives.
    pub fn parse(tree: &'t Tree, path: &str) -> Result<Self, String> {
        let top = match tree.branches.as_slice() {
            [b] => b,
            bs => {
                return Err(format!(
                    "it holds {} YAML documents; psd writes one Secret per file",
                    bs.len()
                ));
            }
        };
        let this = Self { top };
        for (field, want) in [
            ("apiVersion", SecretManifest::API_VERSION),
            ("kind", SecretManifest::KIND),
        ] {
            match get(top, field) {
                Some(Value::Str(s)) if s == want => {}
                Some(Value::Str(s)) => {
                    return Err(format!("its {field} is {}, not `{want}`", quoted(s)));
                }
                Some(v) => return Err(format!("its {field} is {}, not `{want}`", kind_of(v))),
                None => return Err(format!("it has no {field} (a Secret has `{want}`)")),
            }
        }
        for section in ["stringData", "data"] {
            match get(top, section) {
                None | Some(Value::Null) => {}
                Some(Value::Map(items)) => {
                    for item in items {
                        let Some(key) = item.key.name() else { continue };
                        if !matches!(item.value, Value::Str(_)) {
                            return Err(format!(
                                "{section}.{key} is {}, but Kubernetes takes only strings there: \
                                 quote it (sops set {path} '[\"{section}\"][\"{key}\"]' \
                                 '\"VALUE\"')",
                                kind_of(&item.value)
                            ));
                        }
                    }
                }
                Some(v) => return Err(format!("its {section} is {}, not a mapping", kind_of(v))),
            }
        }
        Ok(this)
    }

    /// Why psd cannot render `secret` over this file, if it cannot: psd would change the
    /// Secret's name, namespace or type (Flux would then replace the object, or, for the type,
    /// fail to apply it).
    pub fn identity_problem(&self, secret: &SecretManifest, path: &str) -> Option<String> {
        let meta = map_of(get(self.top, "metadata"));
        let field = |key: &str| meta.and_then(|m| str_of(get(m, key)));
        let shown = |v: Option<&str>| v.map_or_else(|| "missing".to_owned(), quoted);
        let name = field("name");
        let namespace = field("namespace");
        if name != Some(secret.name()) || namespace != Some(secret.namespace()) {
            return Some(format!(
                "its metadata.name is {} and metadata.namespace {}, but psd renders this file as \
                 Secret `{}` in namespace `{}`: writing it would make Flux delete the Secret the \
                 cluster has and create another. Put the name and namespace back (sops set {path} \
                 '[\"metadata\"][\"name\"]' '\"{}\"'), or keep your Secret in a file of your own",
                shown(name),
                shown(namespace),
                secret.name(),
                secret.namespace(),
                secret.name(),
            ));
        }
        // A Secret without `type` is Opaque.
        let ty = match get(self.top, "type") {
            None | Some(Value::Null) => Some(SecretManifest::TYPE_OPAQUE),
            v => str_of(v),
        };
        if ty != Some(secret.secret_type()) {
            return Some(format!(
                "its type is {}, but psd renders it as `{}`. A Secret's type cannot change in a \
                 cluster, so Flux could not apply it: put the type back (sops set {path} \
                 '[\"type\"]' '\"{}\"'), or keep your Secret in a file of your own",
                shown(ty),
                secret.secret_type(),
                secret.secret_type(),
            ));
        }
        None
    }

    fn section(&self, name: &str) -> Option<&'t Branch> {
        map_of(get(self.top, name))
    }

    /// The value under `key` as Kubernetes would apply it: `stringData`'s, else `data`'s
    /// decoded (`None` if absent, or if the `data` entry is not base64 of UTF-8 text).
    pub fn value(&self, key: &str) -> Option<SecretString> {
        if let Some(v) = self.section("stringData").and_then(|m| str_of(get(m, key))) {
            return Some(SecretString::from(v.to_owned()));
        }
        self.section("data")
            .and_then(|m| str_of(get(m, key)))
            .and_then(decode)
    }

    /// Every value, as [`FileSecret::value`] reads it, in file order: `stringData` first, then
    /// the `data` keys `stringData` does not have.
    pub fn values(&self) -> Vec<(String, SecretString)> {
        let mut out: Vec<(String, SecretString)> = Vec::new();
        for (section, decoded) in [("stringData", false), ("data", true)] {
            for item in self.section(section).into_iter().flatten() {
                let (Some(k), Value::Str(v)) = (item.key.name(), &item.value) else {
                    continue;
                };
                if out.iter().any(|(have, _)| have == k) {
                    continue;
                }
                let v = if decoded {
                    match decode(v) {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    SecretString::from(v.clone())
                };
                out.push((k.to_owned(), v));
            }
        }
        out
    }

    /// Keys that are in both `stringData` and `data` with different values.
    pub fn conflicting_keys(&self) -> Vec<String> {
        let (Some(sd), Some(data)) = (self.section("stringData"), self.section("data")) else {
            return Vec::new();
        };
        sd.iter()
            .filter_map(|i| {
                let (Some(k), Value::Str(v)) = (i.key.name(), &i.value) else {
                    return None;
                };
                let d = str_of(get(data, k))?;
                let same = decode(d).is_some_and(|d| d.expose_secret() == v);
                (!same).then(|| k.to_owned())
            })
            .collect()
    }

    /// Whether `key` is in `data` only, as something other than base64 of UTF-8 text.
    pub fn unreadable_data(&self, key: &str) -> bool {
        self.section("stringData")
            .is_none_or(|m| get(m, key).is_none())
            && self
                .section("data")
                .and_then(|m| str_of(get(m, key)))
                .is_some_and(|d| decode(d).is_none())
    }

    /// The value of label `key`, if the file has it as a string.
    pub fn label(&self, key: &str) -> Option<&'t str> {
        map_of(get(self.top, "metadata"))
            .and_then(|m| map_of(get(m, "labels")))
            .and_then(|l| str_of(get(l, key)))
    }
}

/// One named item of a mapping with the comment items above it.
struct Chunk<'b> {
    comments: Vec<&'b Item>,
    item: &'b Item,
}

/// A mapping as chunks, plus the comments after its last key.
fn chunks(branch: &Branch) -> (Vec<Chunk<'_>>, Vec<&Item>) {
    let mut out = Vec::new();
    let mut comments = Vec::new();
    for item in branch {
        if item.key.name().is_some() {
            out.push(Chunk {
                comments: std::mem::take(&mut comments),
                item,
            });
        } else {
            comments.push(item);
        }
    }
    (out, comments)
}

/// psd's items (in psd's order, each with the comments the file has above that key), then the
/// file's other items in file order with their comments, then the file's trailing comments.
/// `keep_other` may change or drop (`None`) an item psd does not write.
fn overlay(
    psd: Branch,
    file: Option<&Branch>,
    mut keep_other: impl FnMut(&Item) -> Option<Item>,
) -> Branch {
    let Some(file) = file else { return psd };
    let (file_chunks, trailing) = chunks(file);
    let psd_keys: BTreeSet<String> = psd
        .iter()
        .filter_map(|i| i.key.name().map(str::to_owned))
        .collect();
    let mut out = Branch::new();
    for item in psd {
        if let Some(c) = file_chunks
            .iter()
            .find(|c| c.item.key.name() == item.key.name())
        {
            out.extend(c.comments.iter().map(|&i| i.clone()));
        }
        out.push(item);
    }
    for c in &file_chunks {
        if c.item.key.name().is_some_and(|k| psd_keys.contains(k)) {
            continue;
        }
        if let Some(kept) = keep_other(c.item) {
            out.extend(c.comments.iter().map(|&i| i.clone()));
            out.push(kept);
        }
    }
    out.extend(trailing.into_iter().cloned());
    out
}

/// The tree psd writes for `secret` over `file` (module docs). Without a file it is psd's
/// Secret alone. Call [`codec::wipe`] when done with it.
pub(crate) fn merge(secret: &SecretManifest, file: Option<&FileSecret<'_>>) -> Tree {
    let Some(f) = file else {
        return codec::secret_to_tree(secret);
    };
    let file_meta = map_of(get(f.top, "metadata"));

    let labels: Branch = secret
        .labels()
        .iter()
        .map(|(k, v)| Item::new(k.clone(), Value::Str(v.clone())))
        .collect();
    let labels = overlay(
        labels,
        file_meta.and_then(|m| map_of(get(m, "labels"))),
        |i| Some(i.clone()),
    );
    let mut meta: Branch = vec![
        Item::new("name", Value::Str(secret.name().to_owned())),
        Item::new("namespace", Value::Str(secret.namespace().to_owned())),
    ];
    if !labels.is_empty() {
        meta.push(Item::new("labels", Value::Map(labels)));
    }
    let meta = overlay(meta, file_meta, |i| Some(i.clone()));

    let file_data = f.section("data");
    let mut string_data = Branch::new();
    // Managed keys whose value moves from `data` to `stringData`.
    let mut leaves_data: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in secret.string_data() {
        let v = v.expose_secret();
        let in_string_data = f.section("stringData").and_then(|m| str_of(get(m, k)));
        let in_data = file_data.and_then(|m| str_of(get(m, k)));
        match (in_string_data, in_data) {
            (Some(old), Some(_)) if old != v => {
                leaves_data.insert(k);
            }
            (None, Some(d)) => match decode(d) {
                Some(d) if d.expose_secret() == v => continue, // stays in `data`
                Some(_) => {
                    leaves_data.insert(k);
                }
                // Not text psd can read: it stays (stringData wins; the caller warns).
                None => {}
            },
            _ => {}
        }
        string_data.push(Item::new(k, Value::Str(v.to_owned())));
    }
    let had_string_data = get(f.top, "stringData").is_some();
    let string_data = overlay(string_data, f.section("stringData"), |i| Some(i.clone()));

    let mut top: Branch = vec![
        Item::new("apiVersion", Value::Str(SecretManifest::API_VERSION.into())),
        Item::new("kind", Value::Str(SecretManifest::KIND.into())),
        Item::new("metadata", Value::Map(meta)),
        Item::new("type", Value::Str(secret.secret_type().to_owned())),
    ];
    if !string_data.is_empty() || had_string_data {
        top.push(Item::new("stringData", Value::Map(string_data)));
    }
    let top = overlay(top, Some(f.top), |i| {
        if i.key.name() != Some("data") || leaves_data.is_empty() {
            return Some(i.clone());
        }
        let Value::Map(entries) = &i.value else {
            return Some(i.clone());
        };
        let (entries, trailing) = chunks(entries);
        let mut kept = Branch::new();
        for c in entries {
            if c.item.key.name().is_some_and(|k| leaves_data.contains(k)) {
                continue;
            }
            kept.extend(c.comments.into_iter().cloned());
            kept.push(c.item.clone());
        }
        if kept.is_empty() {
            return None;
        }
        kept.extend(trailing.into_iter().cloned());
        Some(Item::new("data", Value::Map(kept)))
    });
    Tree {
        branches: vec![top],
    }
}

#[cfg(test)]
mod tests;
