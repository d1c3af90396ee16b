//! `sops set` and `sops unset` on a decrypted tree: put a value at a tree path (creating the
//! mappings and lists on the way) or remove one, in the first document, with sops's rules.
//!
//! * A missing key is appended to its mapping; an index past the end of a list appends.
//! * A scalar in the way is replaced by the mapping or list the path needs; a mapping indexed
//!   by position, or a list by key, is refused (replacing it would lose every entry).
//! * List indexes count values, not comments (as `--extract` does).
//! * `set` reports whether anything changed (for `--idempotent`); `unset` of a path that is not
//!   there is [`Error::KeyNotFound`] (which `--idempotent` accepts).

use crate::api::PathComponent;
use crate::error::Error;
use crate::tree::{Branch, Item, Tree, Value};

/// Sets `value` at `path` in the first document of `tree`; `Ok(true)` if the tree changed.
pub fn set(tree: &mut Tree, path: &[PathComponent], value: Value) -> Result<bool, Error> {
    if let Some(problem) = wrong_container(tree, path) {
        return Err(problem);
    }
    let Some(first) = path.first() else {
        return Err(Error::InvalidSetValue {
            reason: "the path is empty: name a key, e.g. [\"key\"]".into(),
        });
    };
    if !matches!(first, PathComponent::Key(_)) {
        return Err(Error::InvalidSetValue {
            reason: format!("a document is a mapping: {first} cannot index it"),
        });
    }
    if tree.branches.is_empty() {
        tree.branches.push(Branch::new());
    }
    let mut root = Value::Map(std::mem::take(&mut tree.branches[0]));
    let changed = set_in(&mut root, path, value);
    let Value::Map(branch) = root else {
        unreachable!("a key path keeps the document a mapping")
    };
    tree.branches[0] = branch;
    Ok(changed)
}

/// A path that indexes a mapping by position or a list by key: refused before anything
/// changes. (sops leaves the file as it was for the first and crashes on the second; replacing
/// the mapping or list with the value, as a scalar is replaced, would throw away every entry.)
fn wrong_container(tree: &Tree, path: &[PathComponent]) -> Option<Error> {
    enum Node<'t> {
        Map(&'t [Item]),
        List(&'t [Value]),
        Other,
    }
    let mut node = Node::Map(tree.branches.first()?.as_slice());
    let mut walked = String::new();
    for c in path {
        let next: Option<&Value> = match (&node, c) {
            (Node::Map(items), PathComponent::Key(k)) => items
                .iter()
                .find(|i| i.key.name() == Some(k.as_str()))
                .map(|i| &i.value),
            (Node::List(list), PathComponent::Index(i)) => {
                value_index(list, *i).map(|at| &list[at])
            }
            (Node::Map(_), PathComponent::Index(_)) => {
                return Some(Error::InvalidSetValue {
                    reason: format!(
                        "{} is a mapping, so {c} (a list index) cannot name a place in it; \
                         name a key instead, e.g. {walked}[\"name\"]",
                        shown(&walked),
                    ),
                });
            }
            (Node::List(_), PathComponent::Key(_)) => {
                return Some(Error::InvalidSetValue {
                    reason: format!(
                        "{} is a list, so {c} (a key) cannot name a place in it; name an \
                         index instead, e.g. {walked}[0]",
                        shown(&walked),
                    ),
                });
            }
            // A scalar: the rest of the path replaces it.
            (Node::Other, _) => None,
        };
        let next = next?;
        walked.push_str(&c.to_string());
        node = match next {
            Value::Map(items) => Node::Map(items),
            Value::List(list) => Node::List(list),
            _ => Node::Other,
        };
    }
    None
}

fn shown(walked: &str) -> &str {
    if walked.is_empty() {
        "the document"
    } else {
        walked
    }
}

fn set_in(node: &mut Value, path: &[PathComponent], value: Value) -> bool {
    let (head, rest) = match path.split_first() {
        Some(p) => p,
        None => {
            let changed = *node != value;
            *node = value;
            return changed;
        }
    };
    match (node, head) {
        (Value::Map(items), PathComponent::Key(k)) => {
            match items.iter_mut().find(|i| i.key.name() == Some(k.as_str())) {
                Some(item) => set_in(&mut item.value, rest, value),
                None => {
                    items.push(Item::new(k.clone(), built(rest, value)));
                    true
                }
            }
        }
        (Value::List(list), PathComponent::Index(i)) => match value_index(list, *i) {
            Some(at) => set_in(&mut list[at], rest, value),
            None => {
                list.push(built(rest, value));
                true
            }
        },
        (node, _) => {
            let new = built(path, value);
            let changed = *node != new;
            *node = new;
            changed
        }
    }
}

/// The value a path that does not exist yet makes: mappings and one-item lists around `leaf`.
fn built(path: &[PathComponent], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |inner, c| match c {
        PathComponent::Key(k) => Value::Map(vec![Item::new(k.clone(), inner)]),
        PathComponent::Index(_) => Value::List(vec![inner]),
    })
}

/// The position in `list` of its `i`-th value (comments are not counted).
fn value_index(list: &[Value], i: usize) -> Option<usize> {
    list.iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v, Value::Comment(_)))
        .nth(i)
        .map(|(at, _)| at)
}

/// Removes the value at `path` from the first document of `tree`.
pub fn unset(tree: &mut Tree, path: &[PathComponent]) -> Result<(), Error> {
    let Some(branch) = tree.branches.first_mut() else {
        return Err(not_found(path.first()));
    };
    let mut root = Value::Map(std::mem::take(branch));
    let result = unset_in(&mut root, path);
    if let Value::Map(b) = root {
        *branch = b;
    }
    result
}

fn not_found(c: Option<&PathComponent>) -> Error {
    Error::KeyNotFound {
        message: match c {
            Some(PathComponent::Key(k)) => format!("Key not found: {k}"),
            Some(PathComponent::Index(i)) => format!("Index {i} out of bounds"),
            None => "Key not found: (empty path)".into(),
        },
    }
}

fn unset_in(node: &mut Value, path: &[PathComponent]) -> Result<(), Error> {
    let Some((head, rest)) = path.split_first() else {
        return Err(not_found(None));
    };
    match (node, head) {
        (Value::Map(items), PathComponent::Key(k)) => {
            let at = items
                .iter()
                .position(|i| i.key.name() == Some(k.as_str()))
                .ok_or_else(|| not_found(Some(head)))?;
            if rest.is_empty() {
                items.remove(at);
                Ok(())
            } else {
                unset_in(&mut items[at].value, rest)
            }
        }
        (Value::List(list), PathComponent::Index(i)) => {
            let at = value_index(list, *i).ok_or_else(|| not_found(Some(head)))?;
            if rest.is_empty() {
                list.remove(at);
                Ok(())
            } else {
                unset_in(&mut list[at], rest)
            }
        }
        (Value::Map(_), PathComponent::Index(_)) | (Value::List(_), PathComponent::Key(_)) => {
            Err(not_found(Some(head)))
        }
        (_, _) => Err(Error::KeyNotFound {
            message: format!(
                "Unsupported type: a value that is not a mapping or list for item '{head}'"
            ),
        }),
    }
}

/// The value of `sops set`'s JSON argument: an object becomes a mapping (key order kept), a
/// number a float (as Go's `encoding/json` decodes it), a string, boolean or `null` itself.
/// Arrays and anything that is not JSON are [`Error::InvalidSetValue`].
pub fn value_from_json(text: &str) -> Result<Value, Error> {
    let parsed: serde_json::Value =
        serde_json::from_str(text).map_err(|_| Error::InvalidSetValue {
            reason: "Value for --set is not valid JSON".into(),
        })?;
    Ok(match parsed {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            Value::Float(n.as_f64().ok_or_else(|| Error::InvalidSetValue {
                reason: "Value for --set is not valid JSON".into(),
            })?)
        }
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Object(_) => {
            let store = crate::store_for(crate::Format::Json, crate::StoreOptions::default());
            let mut tree =
                store
                    .load_plain(text.as_bytes())
                    .map_err(|_| Error::InvalidSetValue {
                        reason: "Invalid --set value format".into(),
                    })?;
            Value::Map(tree.branches.pop().unwrap_or_default())
        }
        serde_json::Value::Array(_) => {
            return Err(Error::InvalidSetValue {
                reason: "Invalid --set value format".into(),
            });
        }
    })
}

#[cfg(test)]
mod tests;
