//! Three-way merge of decrypted documents, value by value: what git cannot do with sops files
//! (every change touches the MAC and `lastmodified` lines, so two branches that changed
//! different values always conflict in text).
//!
//! For each key of a mapping, with the values of the common ancestor (`base`), `ours` and
//! `theirs`: the same on both sides is kept; changed (or added, or removed) on one side only,
//! that side's wins; mappings changed on both sides are merged key by key; anything else
//! changed on both sides differently is a [`Conflict`]. Lists and scalars are merged whole.
//! Comments are kept where `ours` has them; comments changed on `theirs` (and on `ours`
//! differently) are a conflict rather than dropped. Keys only `theirs` added come after
//! `ours`'s keys, in `theirs`'s order.

use crate::tree::{Branch, Item, Key, Tree, Value};

/// A place where both sides changed the document differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The path as sops writes it (`["a"]["b"]`), after `(document N) ` in a file of several
    /// documents; empty for the document list itself.
    pub path: String,
    /// What differs (never a value).
    pub what: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.trim().is_empty() {
            "the document"
        } else {
            &self.path
        };
        write!(f, "{at}: {}", self.what)
    }
}

/// Merges `ours` and `theirs` with their common ancestor `base` (an empty tree when the file
/// is new on both sides). `Err` lists every conflict; nothing is decided for them.
pub fn three_way(base: &Tree, ours: &Tree, theirs: &Tree) -> Result<Tree, Vec<Conflict>> {
    let (tree, conflicts) = three_way_keeping_ours(base, ours, theirs);
    if conflicts.is_empty() {
        Ok(tree)
    } else {
        Err(conflicts)
    }
}

/// [`three_way`], and where it conflicts, `ours`'s value (and comments) in the tree: every
/// change that does not conflict is in it, from either side. For a merge left to a person to
/// finish at the conflicting places only.
pub fn three_way_keeping_ours(base: &Tree, ours: &Tree, theirs: &Tree) -> (Tree, Vec<Conflict>) {
    let mut conflicts = Vec::new();
    let n = ours.branches.len().max(theirs.branches.len());
    if ours.branches.len() != theirs.branches.len()
        && base.branches.len() != ours.branches.len()
        && base.branches.len() != theirs.branches.len()
    {
        return (
            ours.clone(),
            vec![Conflict {
                path: String::new(),
                what: "both sides changed the number of documents".into(),
            }],
        );
    }
    let empty = Branch::new();
    let mut branches = Vec::new();
    for i in 0..n {
        fn pick(t: &Tree, i: usize) -> Option<&Branch> {
            t.branches.get(i)
        }
        let pick = |t| pick(t, i);
        let merged = match (pick(ours), pick(theirs)) {
            (Some(o), Some(t)) => Some(merge_branch(
                pick(base).unwrap_or(&empty),
                o,
                t,
                &if n > 1 {
                    format!("(document {}) ", i + 1)
                } else {
                    String::new()
                },
                &mut conflicts,
            )),
            // A document only one side has: removed or added by the other.
            (Some(o), None) => (pick(base).is_none() || pick(base) != Some(o)).then(|| o.clone()),
            (None, Some(t)) => (pick(base).is_none() || pick(base) != Some(t)).then(|| t.clone()),
            (None, None) => None,
        };
        branches.extend(merged);
    }
    (Tree { branches }, conflicts)
}

fn names(b: &Branch) -> impl Iterator<Item = &str> {
    b.iter().filter_map(|i| i.key.name())
}

fn get<'b>(b: &'b Branch, key: &str) -> Option<&'b Value> {
    b.iter()
        .find(|i| i.key.name() == Some(key))
        .map(|i| &i.value)
}

fn comments(b: &Branch) -> Vec<&str> {
    b.iter()
        .filter_map(|i| match &i.key {
            Key::Comment(c) => Some(c.text.as_str()),
            Key::Name(_) => None,
        })
        .collect()
}

fn merge_branch(
    base: &Branch,
    ours: &Branch,
    theirs: &Branch,
    path: &str,
    conflicts: &mut Vec<Conflict>,
) -> Branch {
    let (cb, co, ct) = (comments(base), comments(ours), comments(theirs));
    if ct != cb && co != ct {
        conflicts.push(Conflict {
            path: path.to_owned(),
            what: if co == cb {
                "the other side changed comments here (psd keeps comments where this side has \
                 them): merge this file by hand"
                    .into()
            } else {
                "both sides changed comments here".into()
            },
        });
    }
    let mut out = Branch::new();
    // Ours's order, comments where ours has them; then keys theirs alone has.
    for item in ours {
        let Key::Name(k) = &item.key else {
            out.push(item.clone());
            continue;
        };
        if let Some(v) = merge_value(
            get(base, k),
            Some(&item.value),
            get(theirs, k),
            &format!("{path}[{k:?}]"),
            conflicts,
        ) {
            out.push(Item::new(k.clone(), v));
        }
    }
    for k in names(theirs) {
        if get(ours, k).is_some() || out.iter().any(|i| i.key.name() == Some(k)) {
            continue;
        }
        if let Some(v) = merge_value(
            get(base, k),
            None,
            get(theirs, k),
            &format!("{path}[{k:?}]"),
            conflicts,
        ) {
            out.push(Item::new(k, v));
        }
    }
    out
}

/// The merged value of one key; `None`: the key is gone.
fn merge_value(
    base: Option<&Value>,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    path: &str,
    conflicts: &mut Vec<Conflict>,
) -> Option<Value> {
    if ours == theirs {
        return ours.cloned();
    }
    if ours == base {
        return theirs.cloned();
    }
    if theirs == base {
        return ours.cloned();
    }
    match (base, ours, theirs) {
        (b, Some(Value::Map(o)), Some(Value::Map(t))) => {
            let empty = Branch::new();
            let b = match b {
                Some(Value::Map(b)) => b,
                _ => &empty,
            };
            Some(Value::Map(merge_branch(b, o, t, path, conflicts)))
        }
        _ => {
            let what = match (ours, theirs) {
                (None, _) => "this side removed it, the other changed it",
                (_, None) => "this side changed it, the other removed it",
                _ if base.is_none() => "both sides added it with different values",
                _ => "both sides changed it differently",
            };
            conflicts.push(Conflict {
                path: path.to_owned(),
                what: what.into(),
            });
            ours.cloned()
        }
    }
}

#[cfg(test)]
mod tests;
