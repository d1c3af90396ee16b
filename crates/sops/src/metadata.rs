//! The `sops` metadata block (spec section 8): typed [`Metadata`] ⇄ the generic
//! [`Value::Map`] the stores read and write.
//!
//! Reading accepts every layout sops 3.7 … 3.13 wrote: any field order, empty key lists or JSON
//! `null`s (≤ 3.9), top-level key lists or `key_groups`, `enc` before or after `recipient`, and
//! weakly typed values as 3.13 reads them (`"2"` for `shamir_threshold`, `"true"` for
//! `mac_only_encrypted`). Unknown fields are ignored.
//!
//! Writing uses the 3.13 layout: every mapping level sorted by key, empty key lists omitted
//! (except `age` and `hc_vault` inside `key_groups`), and `version` set to
//! [`SOPS_COMPAT_VERSION`].

use crate::error::Error;
use crate::rules::{RULE_NAMES, RuleContext, SelectionRule};
use crate::tree::{Item, Key, Value};

/// The `version` psd writes: the sops release whose behaviour (metadata layout, MAC rules,
/// JSON integer typing) psd emulates. sops only requires a non-empty 3.x version string.
pub const SOPS_COMPAT_VERSION: &str = "3.13.2";

/// Master key types other than age, as named in the metadata.
pub const OTHER_KEY_TYPES: [&str; 6] = ["pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"];

/// An age master key entry: the recipient and the armored age file holding the data key
/// (or this group's Shamir share).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeKey {
    /// The recipient (`age1…` or an SSH public key).
    pub recipient: String,
    /// The armored age file (`-----BEGIN AGE ENCRYPTED FILE-----` …).
    pub enc: String,
}

/// A master key psd cannot use (PGP, KMS, Vault, …), kept as written so it survives a
/// metadata round trip and can be named in reports.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherKey {
    /// The metadata list it came from (`pgp`, `kms`, `gcp_kms`, `hckms`, `azure_kv`, `hc_vault`).
    pub kind: String,
    /// The entry as read.
    pub value: Value,
}

impl OtherKey {
    /// A short name for reports: the kind and its main identifier (`pgp 85D7…`, `kms arn:…`).
    pub fn describe(&self) -> String {
        let id = [
            "fp",
            "arn",
            "resource_id",
            "key_id",
            "vault_url",
            "vault_address",
        ]
        .iter()
        .find_map(|f| map_get(&self.value, f).and_then(value_as_string));
        match id {
            Some(id) => format!("{} {id}", self.kind),
            None => self.kind.clone(),
        }
    }
}

/// One key group: any of its keys can recover the group's part.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    /// age keys, tried first.
    pub age: Vec<AgeKey>,
    /// Other key types (not usable by psd).
    pub other: Vec<OtherKey>,
}

impl KeyGroup {
    /// Whether the group has no key at all.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.other.is_empty()
    }
}

/// The typed metadata of an encrypted file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// The key groups (one in the normal case; several with Shamir).
    pub key_groups: Vec<KeyGroup>,
    /// Shares needed when there are several groups (0 = not set).
    pub shamir_threshold: usize,
    /// `lastmodified` exactly as stored (the MAC's AAD is derived from it).
    pub lastmodified: String,
    /// The encrypted MAC (`ENC[...]`), or empty when missing.
    pub mac: String,
    /// The selection rule. `None` only for binary files written by sops ≥ 3.11 (no rule is
    /// written); [`Metadata::effective_rule`] applies sops' default when reading.
    pub rule: Option<SelectionRule>,
    /// Whether only encrypted values are hashed into the MAC.
    pub mac_only_encrypted: bool,
    /// The writing tool's version (may be empty in hand-edited files).
    pub version: String,
}

impl Metadata {
    /// The rule used for walking: the stored one, or sops' default `unencrypted_suffix:
    /// _unencrypted` when the metadata names none.
    pub fn effective_rule(&self) -> SelectionRule {
        self.rule.clone().unwrap_or_default()
    }

    /// All age recipients of all groups, in order.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.key_groups
            .iter()
            .flat_map(|g| g.age.iter().map(|k| k.recipient.as_str()))
    }

    /// Reads the generic metadata map a store produced.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        let Value::Map(items) = v else {
            return Err(Error::SopsEntryNotMapping);
        };
        let mut top_group = KeyGroup::default();
        let mut key_groups = Vec::new();
        let mut shamir_threshold = 0usize;
        let mut lastmodified = None;
        let mut mac = String::new();
        let mut rule_fields: Vec<(&'static str, String)> = Vec::new();
        let mut mac_only_encrypted = false;
        let mut version = String::new();

        for item in items {
            let Key::Name(name) = &item.key else { continue };
            let value = &item.value;
            match name.as_str() {
                "age" => top_group.age = read_age_list(value, "age")?,
                k if OTHER_KEY_TYPES.contains(&k) => {
                    top_group.other.extend(read_other_list(value, k)?);
                }
                "key_groups" => {
                    for (i, g) in list_items(value, "key_groups")?.iter().enumerate() {
                        key_groups.push(read_group(g, i)?);
                    }
                }
                "shamir_threshold" => shamir_threshold = weak_usize(value, "shamir_threshold")?,
                "lastmodified" => lastmodified = Some(weak_string(value, "lastmodified")?),
                "mac" => mac = weak_string(value, "mac")?,
                "mac_only_encrypted" => {
                    mac_only_encrypted = weak_bool(value, "mac_only_encrypted")?
                }
                "version" => version = weak_string(value, "version")?,
                k => {
                    if let Some(rule) = RULE_NAMES.iter().find(|r| **r == k) {
                        rule_fields.push((rule, weak_string(value, k)?));
                    }
                }
            }
        }
        // Top-level key lists win over key_groups (sops' ToInternal).
        let key_groups = if !top_group.is_empty() {
            vec![top_group]
        } else if !key_groups.is_empty() {
            key_groups
        } else {
            return Err(Error::NoKeysFound);
        };
        let lastmodified = lastmodified.unwrap_or_default();
        if crate::mac::mac_aad(&lastmodified).is_none() {
            return Err(Error::InvalidMetadata {
                field: "lastmodified".into(),
                reason: "not an RFC 3339 timestamp".into(),
            });
        }
        let rule = SelectionRule::from_fields(
            rule_fields.iter().map(|(n, v)| (*n, v.as_str())),
            RuleContext::File,
        )?;
        Ok(Self {
            key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            rule,
            mac_only_encrypted,
            version,
        })
    }

    /// Writes the metadata in sops 3.13's layout (all levels sorted by key).
    pub fn to_value(&self) -> Value {
        let mut top: Vec<Item> = Vec::new();
        if self.key_groups.len() == 1 {
            let g = &self.key_groups[0];
            if !g.age.is_empty() {
                top.push(Item::new("age", age_list(&g.age)));
            }
            for (kind, list) in other_lists(&g.other) {
                top.push(Item::new(kind, list));
            }
        } else {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut items = vec![
                        Item::new("age", age_list(&g.age)),
                        Item::new("hc_vault", Value::List(Vec::new())),
                    ];
                    for (kind, list) in other_lists(&g.other) {
                        if let Some(existing) = items
                            .iter_mut()
                            .find(|i| i.key.name() == Some(kind.as_str()))
                        {
                            existing.value = list;
                        } else {
                            items.push(Item::new(kind, list));
                        }
                    }
                    sort_items(&mut items);
                    Value::Map(items)
                })
                .collect();
            top.push(Item::new("key_groups", Value::List(groups)));
        }
        top.push(Item::new(
            "lastmodified",
            Value::Str(self.lastmodified.clone()),
        ));
        top.push(Item::new("mac", Value::Str(self.mac.clone())));
        if let Some(rule) = self.rule.as_ref().filter(|r| !r.pattern().is_empty()) {
            top.push(Item::new(
                rule.name(),
                Value::Str(rule.pattern().to_owned()),
            ));
        }
        if self.mac_only_encrypted {
            top.push(Item::new("mac_only_encrypted", Value::Bool(true)));
        }
        if self.shamir_threshold != 0 {
            top.push(Item::new(
                "shamir_threshold",
                Value::Int(self.shamir_threshold as i64),
            ));
        }
        top.push(Item::new("version", Value::Str(self.version.clone())));
        sort_items(&mut top);
        Value::Map(top)
    }
}

fn sort_items(items: &mut [Item]) {
    items.sort_by(|a, b| a.key.name().unwrap_or("").cmp(b.key.name().unwrap_or("")));
}

fn sorted_value(v: &Value) -> Value {
    match v {
        Value::Map(items) => {
            let mut items: Vec<Item> = items
                .iter()
                .map(|i| Item {
                    key: i.key.clone(),
                    value: sorted_value(&i.value),
                })
                .collect();
            sort_items(&mut items);
            Value::Map(items)
        }
        Value::List(l) => Value::List(l.iter().map(sorted_value).collect()),
        other => other.clone(),
    }
}

fn age_list(keys: &[AgeKey]) -> Value {
    Value::List(
        keys.iter()
            .map(|k| {
                Value::Map(vec![
                    Item::new("enc", Value::Str(k.enc.clone())),
                    Item::new("recipient", Value::Str(k.recipient.clone())),
                ])
            })
            .collect(),
    )
}

fn other_lists(other: &[OtherKey]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for k in other {
        let entry = sorted_value(&k.value);
        match out.iter_mut().find(|(kind, _)| *kind == k.kind) {
            Some((_, Value::List(l))) => l.push(entry),
            _ => out.push((k.kind.clone(), Value::List(vec![entry]))),
        }
    }
    out
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(items) => items
            .iter()
            .find(|i| i.key.name() == Some(key))
            .map(|i| &i.value),
        _ => None,
    }
}

fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(crate::gofmt::format_float_f(*f)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Time(t) => Some(t.to_string()),
        _ => None,
    }
}

fn invalid(field: &str, reason: &str) -> Error {
    Error::InvalidMetadata {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn weak_string(v: &Value, field: &str) -> Result<String, Error> {
    match v {
        Value::Null => Ok(String::new()),
        other => value_as_string(other).ok_or_else(|| invalid(field, "expected a string")),
    }
}

fn weak_usize(v: &Value, field: &str) -> Result<usize, Error> {
    match v {
        Value::Null => Ok(0),
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Float(f) if *f >= 0.0 && f.fract() == 0.0 && *f < 1e9 => Ok(*f as usize),
        Value::Bool(b) => Ok(usize::from(*b)),
        Value::Str(s) if s.is_empty() => Ok(0),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| invalid(field, "expected a non-negative integer")),
        _ => Err(invalid(field, "expected a non-negative integer")),
    }
}

fn weak_bool(v: &Value, field: &str) -> Result<bool, Error> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(f) => Ok(*f != 0.0),
        Value::Str(s) => match s.as_str() {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(invalid(field, "expected a boolean")),
        },
        _ => Err(invalid(field, "expected a boolean")),
    }
}

fn list_items<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], Error> {
    match v {
        Value::Null => Ok(&[]),
        Value::List(l) => Ok(l),
        _ => Err(invalid(field, "expected a list")),
    }
}

fn read_age_list(v: &Value, field: &str) -> Result<Vec<AgeKey>, Error> {
    let mut out = Vec::new();
    for (i, entry) in list_items(v, field)?.iter().enumerate() {
        let name = format!("{field}[{i}]");
        if !matches!(entry, Value::Map(_)) {
            return Err(invalid(&name, "expected a mapping with recipient and enc"));
        }
        let get = |k: &str| -> Result<String, Error> {
            map_get(entry, k)
                .map(|v| weak_string(v, &format!("{name}.{k}")))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        out.push(AgeKey {
            recipient: get("recipient")?,
            enc: get("enc")?,
        });
    }
    Ok(out)
}

fn read_other_list(v: &Value, kind: &str) -> Result<Vec<OtherKey>, Error> {
    Ok(list_items(v, kind)?
        .iter()
        .map(|value| OtherKey {
            kind: kind.to_owned(),
            value: value.clone(),
        })
        .collect())
}

fn read_group(v: &Value, index: usize) -> Result<KeyGroup, Error> {
    let Value::Map(items) = v else {
        return Err(invalid(
            &format!("key_groups[{index}]"),
            "expected a mapping",
        ));
    };
    let mut g = KeyGroup::default();
    for item in items {
        let Key::Name(name) = &item.key else { continue };
        match name.as_str() {
            "age" => g.age = read_age_list(&item.value, &format!("key_groups[{index}].age"))?,
            k if OTHER_KEY_TYPES.contains(&k) => g.other.extend(read_other_list(&item.value, k)?),
            _ => {}
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn age_entry(recipient_first: bool) -> Value {
        let r = Item::new("recipient", s("age1abc"));
        let e = Item::new("enc", s("-----BEGIN AGE ENCRYPTED FILE-----\nx\n"));
        Value::Map(if recipient_first {
            vec![r, e]
        } else {
            vec![e, r]
        })
    }

    #[test]
    fn reads_3_7_layout_with_empty_lists_and_nulls() {
        let v = Value::Map(vec![
            Item::new("kms", Value::List(vec![])),
            Item::new("gcp_kms", Value::Null),
            Item::new("age", Value::List(vec![age_entry(true)])),
            Item::new("lastmodified", s("2021-11-05T00:56:57Z")),
            Item::new("mac", s("ENC[...]")),
            Item::new("pgp", Value::List(vec![])),
            Item::new("unencrypted_suffix", s("_unencrypted")),
            Item::new("version", s("3.7.1")),
        ]);
        let m = Metadata::from_value(&v).unwrap();
        assert_eq!(m.key_groups.len(), 1);
        assert_eq!(m.key_groups[0].age[0].recipient, "age1abc");
        assert_eq!(m.version, "3.7.1");
        assert_eq!(m.rule.as_ref().unwrap().name(), "unencrypted_suffix");
    }

    #[test]
    fn reads_3_13_sorted_and_weak_types_and_writes_sorted() {
        let v = Value::Map(vec![
            Item::new(
                "key_groups",
                Value::List(vec![
                    Value::Map(vec![
                        Item::new("age", Value::List(vec![age_entry(false)])),
                        Item::new("hc_vault", Value::List(vec![])),
                    ]),
                    Value::Map(vec![Item::new("age", Value::List(vec![age_entry(true)]))]),
                ]),
            ),
            Item::new("lastmodified", Value::Time(crate::Timestamp::from_unix(0))),
            Item::new("mac", s("ENC[...]")),
            Item::new("mac_only_encrypted", s("true")),
            Item::new("shamir_threshold", s("2")),
            Item::new("version", Value::Float(3.9)),
        ]);
        let m = Metadata::from_value(&v).unwrap();
        assert_eq!(m.key_groups.len(), 2);
        assert_eq!(m.shamir_threshold, 2);
        assert!(m.mac_only_encrypted);
        assert!(m.rule.is_none());
        assert_eq!(m.lastmodified, "1970-01-01T00:00:00Z");
        let out = m.to_value();
        let Value::Map(items) = &out else { panic!() };
        let names: Vec<_> = items.iter().filter_map(|i| i.key.name()).collect();
        assert_eq!(
            names,
            [
                "key_groups",
                "lastmodified",
                "mac",
                "mac_only_encrypted",
                "shamir_threshold",
                "version"
            ]
        );
        assert_eq!(Metadata::from_value(&out).unwrap(), m);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            Metadata::from_value(&s("x")),
            Err(Error::SopsEntryNotMapping)
        ));
        let no_keys = Value::Map(vec![Item::new("lastmodified", s("2021-11-05T00:56:57Z"))]);
        assert!(matches!(
            Metadata::from_value(&no_keys),
            Err(Error::NoKeysFound)
        ));
        let bad_time = Value::Map(vec![
            Item::new("age", Value::List(vec![age_entry(true)])),
            Item::new("lastmodified", s("yesterday")),
        ]);
        assert!(matches!(
            Metadata::from_value(&bad_time),
            Err(Error::InvalidMetadata { .. })
        ));
        let two_rules = Value::Map(vec![
            Item::new("age", Value::List(vec![age_entry(true)])),
            Item::new("lastmodified", s("2021-11-05T00:56:57Z")),
            Item::new("encrypted_regex", s("a")),
            Item::new("unencrypted_suffix", s("b")),
        ]);
        assert!(matches!(
            Metadata::from_value(&two_rules),
            Err(Error::ConflictingRules {
                context: RuleContext::File
            })
        ));
    }
}
