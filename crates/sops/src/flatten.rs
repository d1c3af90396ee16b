//! Flattening of the `sops` metadata map for the flat formats (sops' `stores/flatten.go`).
//!
//! dotenv and INI cannot nest, so sops writes its metadata as flat `key = value` pairs: each map
//! level adds `__map_<key>` and each list index `__list_<n>` to the key of the top-level field
//! (`age__list_0__map_enc`); dotenv also prefixes every key with `sops_`. Values become strings.
//!
//! [`flatten`] walks the map in its own order (sops 3.13 sorts the metadata map first, so its
//! output is a structural walk of the sorted map); [`unflatten`] accepts the keys in any order
//! (≤ 3.7 wrote Go's random map order, 3.8–3.12 sorted the flat keys as strings), sorts every
//! map level by key, and requires lists to be complete from index 0. Unflattened leaves are
//! strings: the metadata reader is weakly typed, as sops' (`"2"` for `shamir_threshold`).

use crate::error::Error;
use crate::gofmt::format_float_f;
use crate::tree::{Branch, Item, Key, Value};
use std::collections::BTreeMap;

const MAP_SEPARATOR: &str = "__map_";
const LIST_SEPARATOR: &str = "__list_";

/// Flattens a metadata [`Value::Map`] into `(prefix + path, value)` pairs, in walk order.
/// Comments are skipped (list comments do not take an index); a path produced twice is an error
/// (`Found key collision`), as in sops.
pub fn flatten(metadata: &Value, prefix: &str) -> Result<Vec<(String, String)>, Error> {
    let Value::Map(branch) = metadata else {
        return Err(flatten_error("the sops metadata is not a mapping".into()));
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    flatten_map(branch, prefix, &mut out, &mut seen)?;
    Ok(out)
}

fn flatten_error(message: String) -> Error {
    Error::Emit {
        format: "metadata",
        message: format!("Error while flattening metadata: {message}"),
    }
}

fn flatten_value(
    value: &Value,
    key: String,
    out: &mut Vec<(String, String)>,
    seen: &mut std::collections::HashSet<String>,
) -> Result<(), Error> {
    match value {
        Value::Map(branch) => flatten_map(branch, &(key + MAP_SEPARATOR), out, seen),
        Value::List(values) => {
            let prefix = key + LIST_SEPARATOR;
            let mut i = 0usize;
            for v in values {
                if matches!(v, Value::Comment(_)) {
                    continue;
                }
                flatten_value(v, format!("{prefix}{i}"), out, seen)?;
                i += 1;
            }
            Ok(())
        }
        leaf => {
            if !seen.insert(key.clone()) {
                return Err(flatten_error(format!(
                    "Found key collision {key:?} while flattening"
                )));
            }
            out.push((key, scalar_to_string(leaf)));
            Ok(())
        }
    }
}

fn flatten_map(
    branch: &[Item],
    prefix: &str,
    out: &mut Vec<(String, String)>,
    seen: &mut std::collections::HashSet<String>,
) -> Result<(), Error> {
    for item in branch {
        if let Key::Name(k) = &item.key {
            flatten_value(&item.value, format!("{prefix}{k}"), out, seen)?;
        }
    }
    Ok(())
}

/// A scalar as sops' `ValToString` writes it into dotenv and INI files: strings as they are,
/// integers in decimal, booleans `true`/`false`, floats in Go `%G` form with at least one
/// decimal (`2.0`, `1E+21`), timestamps RFC 3339 without fraction, null as Go prints `nil`.
pub fn scalar_to_string(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => crate::stores::json::go_lossy(b.clone()),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => go_float_g_upper(*f),
        Value::Time(t) => {
            let mut t = *t;
            t.nanosecond = 0;
            t.to_string()
        }
        Value::Comment(c) => c.text.clone(),
        Value::Null => "<nil>".into(),
        // Complex values are refused by the callers before they get here.
        Value::Map(_) | Value::List(_) => String::new(),
    }
}

/// Go `strconv.FormatFloat(v, 'G', -1, 64)`, then `FormatFloat(v, 'f', 1, 64)` when that has
/// neither `.` nor `E` (sops' `ValToString`).
fn go_float_g_upper(v: f64) -> String {
    let g = crate::gofmt::format_float_yaml(v);
    let g = match g.as_str() {
        ".inf" => "+Inf".to_owned(),
        "-.inf" => "-Inf".to_owned(),
        ".nan" => "NaN".to_owned(),
        _ => g.replace('e', "E"),
    };
    if g.contains('.') || g.contains('E') {
        g
    } else if v.is_finite() {
        format!("{}.0", format_float_f(v))
    } else {
        g
    }
}

enum Token {
    Map(String),
    List(i64),
}

/// Splits a flat key into its path (sops' `tokenize`): the text before the first separator is
/// a map key, then each `__map_` starts a map key and each `__list_` a list index (a bad index
/// counts as 0, as Go's ignored `Atoi` error does).
fn tokenize(path: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut state = 0u8; // 0 normal, 1 map, 2 list
    let mut last = 0usize;
    let mut i = 0usize;
    let finish = |state: u8, last: usize, i: usize, tokens: &mut Vec<Token>| match state {
        0 => tokens.push(Token::Map(path[last..i].to_owned())),
        1 => tokens.push(Token::Map(path[last + MAP_SEPARATOR.len()..i].to_owned())),
        _ => tokens.push(Token::List(
            path[last + LIST_SEPARATOR.len()..i].parse().unwrap_or(0),
        )),
    };
    while i < path.len() {
        if path[i..].starts_with(MAP_SEPARATOR) {
            finish(state, last, i, &mut tokens);
            last = i;
            state = 1;
            i += MAP_SEPARATOR.len();
        } else if path[i..].starts_with(LIST_SEPARATOR) {
            finish(state, last, i, &mut tokens);
            last = i;
            state = 2;
            i += LIST_SEPARATOR.len();
        } else {
            // Separators are ASCII, so stepping by whole characters never skips one.
            i += path[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    finish(state, last, i, &mut tokens);
    tokens
}

#[derive(Default)]
struct Node {
    value: Option<String>,
    subkeys: BTreeMap<String, Node>,
    indices: BTreeMap<i64, Node>,
}

/// Rebuilds the metadata map from flat `(key, value)` pairs (prefix already removed).
/// Errors (`Duplicate value`, `Type mismatch`, `Incomplete list`) are [`Error::Parse`] of
/// `format`, as sops reports them while loading the file.
pub fn unflatten(
    pairs: impl IntoIterator<Item = (String, String)>,
    format: &'static str,
) -> Result<Value, Error> {
    let err = |message: String| Error::Parse {
        format,
        message,
        line: None,
        column: None,
    };
    let mut root = Node::default();
    for (key, value) in pairs {
        let mut node = &mut root;
        for token in tokenize(&key) {
            node = match token {
                Token::Map(k) => node.subkeys.entry(k).or_default(),
                Token::List(i) => node.indices.entry(i).or_default(),
            };
        }
        if node.value.is_some() {
            return Err(err(format!(
                "Error while unflattening {key:?}: Duplicate value"
            )));
        }
        node.value = Some(value);
    }
    let converted = convert(root).map_err(|m| err(format!("Error while unflattening: {m}")))?;
    match converted {
        Value::Map(_) => Ok(converted),
        _ => Err(err("Internal error: cannot find root".into())),
    }
}

fn convert(node: Node) -> Result<Value, &'static str> {
    let has_value = node.value.is_some();
    let has_sub = !node.subkeys.is_empty();
    let has_idx = !node.indices.is_empty();
    if u8::from(has_value) + u8::from(has_sub) + u8::from(has_idx) > 1 {
        return Err("Type mismatch");
    }
    if let Some(v) = node.value {
        return Ok(Value::Str(v));
    }
    if has_idx {
        let n = node.indices.len();
        let complete = node.indices.keys().next() == Some(&0)
            && node.indices.keys().next_back() == Some(&(n as i64 - 1));
        if !complete {
            return Err("Incomplete list");
        }
        return node
            .indices
            .into_values()
            .map(convert)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List);
    }
    // A map (possibly empty); BTreeMap iterates in byte order, as Go's sort.Strings.
    let mut branch: Branch = Vec::with_capacity(node.subkeys.len());
    for (k, sub) in node.subkeys {
        branch.push(Item::new(k, convert(sub)?));
    }
    Ok(Value::Map(branch))
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(items: Vec<(&str, Value)>) -> Value {
        Value::Map(items.into_iter().map(|(k, v)| Item::new(k, v)).collect())
    }
    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn sample() -> Value {
        map(vec![
            (
                "age",
                Value::List(vec![
                    map(vec![
                        ("enc", s("-----BEGIN\nx\n")),
                        ("recipient", s("age1a")),
                    ]),
                    map(vec![("enc", s("e2")), ("recipient", s("age1b"))]),
                ]),
            ),
            ("lastmodified", s("2026-01-01T00:00:00Z")),
            ("mac_only_encrypted", Value::Bool(true)),
            ("shamir_threshold", Value::Int(2)),
            ("version", s("3.13.2")),
        ])
    }

    #[test]
    fn flattens_like_sops() {
        let flat = flatten(&sample(), "sops_").unwrap();
        let keys: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sops_age__list_0__map_enc",
                "sops_age__list_0__map_recipient",
                "sops_age__list_1__map_enc",
                "sops_age__list_1__map_recipient",
                "sops_lastmodified",
                "sops_mac_only_encrypted",
                "sops_shamir_threshold",
                "sops_version",
            ]
        );
        assert_eq!(flat[0].1, "-----BEGIN\nx\n");
        assert_eq!(flat[5].1, "true");
        assert_eq!(flat[6].1, "2");
    }

    #[test]
    fn unflatten_is_order_insensitive_and_stringly() {
        let mut flat = flatten(&sample(), "").unwrap();
        flat.reverse();
        let back = unflatten(flat, "dotenv").unwrap();
        let expected = map(vec![
            (
                "age",
                Value::List(vec![
                    map(vec![
                        ("enc", s("-----BEGIN\nx\n")),
                        ("recipient", s("age1a")),
                    ]),
                    map(vec![("enc", s("e2")), ("recipient", s("age1b"))]),
                ]),
            ),
            ("lastmodified", s("2026-01-01T00:00:00Z")),
            ("mac_only_encrypted", s("true")),
            ("shamir_threshold", s("2")),
            ("version", s("3.13.2")),
        ]);
        assert_eq!(back, expected);
    }

    #[test]
    fn unflatten_errors() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let e = unflatten(pairs(&[("age__list_1__map_enc", "x")]), "dotenv").unwrap_err();
        assert!(e.to_string().contains("Incomplete list"), "{e}");
        let e = unflatten(pairs(&[("a", "x"), ("a__map_b", "y")]), "ini").unwrap_err();
        assert!(e.to_string().contains("Type mismatch"), "{e}");
        let e = unflatten(pairs(&[("a", "x"), ("a", "y")]), "ini").unwrap_err();
        assert!(e.to_string().contains("Duplicate value"), "{e}");
        assert!(matches!(e, Error::Parse { .. }));
    }

    #[test]
    fn list_ten_after_nine_when_flattening() {
        let list = Value::List((0..11).map(|i| s(&i.to_string())).collect());
        let flat = flatten(&map(vec![("l", list.clone())]), "").unwrap();
        assert_eq!(flat[9].0, "l__list_9");
        assert_eq!(flat[10].0, "l__list_10");
        // Sorted as strings (3.8–3.12 order) it still unflattens to the same list.
        let mut sorted = flat.clone();
        sorted.sort();
        assert_eq!(unflatten(sorted, "dotenv").unwrap(), map(vec![("l", list)]));
    }

    #[test]
    fn scalar_strings() {
        assert_eq!(scalar_to_string(&Value::Float(2.0)), "2.0");
        assert_eq!(scalar_to_string(&Value::Float(1.5)), "1.5");
        assert_eq!(scalar_to_string(&Value::Float(1e21)), "1E+21");
        assert_eq!(scalar_to_string(&Value::Float(1e-7)), "1E-07");
        assert_eq!(scalar_to_string(&Value::Float(f64::INFINITY)), "+Inf");
        assert_eq!(scalar_to_string(&Value::Int(-3)), "-3");
        assert_eq!(scalar_to_string(&Value::Bool(false)), "false");
    }

    fn arb_meta() -> impl Strategy<Value = Value> {
        let key = "[a-z][a-z_]{0,8}"
            .prop_filter("no separators", |k| !k.contains("__") && !k.ends_with('_'));
        let leaf = "[ -~\n]{0,12}".prop_map(Value::Str);
        let tree = leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Value::List),
                prop::collection::btree_map(
                    "[a-z][a-z_]{0,8}"
                        .prop_filter("sep", |k| !k.contains("__") && !k.ends_with('_')),
                    inner,
                    1..4
                )
                .prop_map(|m| Value::Map(m.into_iter().map(|(k, v)| Item::new(k, v)).collect())),
            ]
        });
        prop::collection::btree_map(key, tree, 1..5)
            .prop_map(|m| Value::Map(m.into_iter().map(|(k, v)| Item::new(k, v)).collect()))
    }

    proptest! {
        /// Sorted string-valued metadata survives flatten → shuffle → unflatten.
        #[test]
        fn flatten_roundtrip(meta in arb_meta(), seed in any::<u64>()) {
            let mut flat = flatten(&meta, "").unwrap();
            // deterministic shuffle
            let n = flat.len();
            let mut x = seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                flat.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(unflatten(flat, "dotenv").unwrap(), meta);
        }
    }
}
