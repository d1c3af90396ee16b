//! The YAML store (spec section 9.2): go-yaml v3 semantics as sops uses them.
//!
//! Reading: every document is one branch; each root must be a mapping; duplicate keys in the
//! first document are rejected; anchors/aliases are expanded; the merge key `<<` is kept as an
//! ordinary key; scalars are typed with go-yaml v3's rules (`resolve`); comments become
//! comment items where sops puts them. A key that is not a string (`1:`, `true:`) or an
//! integer beyond `int64` fails at load time with the error sops gives when encrypting
//! ([`Error::NonStringKey`], [`Error::UnsupportedValue`]); the tree cannot hold them.
//!
//! Writing: go-yaml v3's encoder layout (`emit`).
//!
//! The parser is our own (`parse`); `docs/decisions/0001-yaml-parser.md` says why.

mod emit;
pub mod parse;
mod resolve;

pub use resolve::Style;

/// go-yaml v3's type for a scalar as written (its text, quoting and explicit tag), for readers
/// of [`parse`] nodes outside the store, such as the linter's YAML-to-JSON conversion.
/// `None`: the scalar is a string (also when go-yaml could not decode it into a tree value,
/// such as an integer beyond `int64` or `!!int x`).
pub fn resolve_scalar_type(text: &str, style: Style, tag: Option<&str>) -> Option<Value> {
    if tag.is_none() {
        if style != Style::Plain {
            return None;
        }
        return resolve::resolve_plain_typed(text, false).ok().flatten();
    }
    match resolve_scalar(text, style, tag) {
        Ok(Value::Str(_)) | Err(_) => None,
        Ok(v) => Some(v),
    }
}

use std::collections::HashMap;

use crate::error::Error;
use crate::store::{Store, StoreOptions};
use crate::tree::{Branch, Item, Key, Tree, Value};
use parse::{Kind, MapEntry, Node, ParseError, SeqEntry};
use resolve::{ResolveError, resolve_scalar};

/// Reads and writes YAML files like sops (go-yaml v3).
#[derive(Clone, Debug)]
pub struct YamlStore {
    options: StoreOptions,
}

impl YamlStore {
    /// A store with these output options.
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }

    /// Parses a stream into one branch per document.
    fn load(&self, input: &[u8]) -> Result<Vec<Branch>, Error> {
        let text = std::str::from_utf8(input).map_err(|e| {
            let (line, column) = position_of(input, e.valid_up_to());
            parse_error("invalid UTF-8 in the input", Some(line), Some(column))
        })?;
        let docs = parse::parse_stream(text)
            .map_err(|e: ParseError| parse_error(e.message, Some(e.line), Some(e.column)))?;
        let mut branches = Vec::with_capacity(docs.len());
        for (i, doc) in docs.into_iter().enumerate() {
            let Some(root) = doc else {
                branches.push(Branch::new());
                continue;
            };
            if i == 0 {
                check_duplicates(&root)?;
            }
            match root.kind {
                Kind::Map(entries) => branches.push(convert_map(entries)?),
                Kind::Scalar { ref text, .. } if text.is_empty() => branches.push(Branch::new()),
                Kind::Seq(_) => {
                    return Err(parse_error(
                        "YAML documents that are sequences are not supported",
                        Some(root.line),
                        Some(root.column),
                    ));
                }
                Kind::Scalar { .. } => {
                    return Err(parse_error(
                        "cannot unmarshal a scalar document into a mapping: YAML documents must be mappings",
                        Some(root.line),
                        Some(root.column),
                    ));
                }
            }
        }
        Ok(branches)
    }
}

fn parse_error(message: impl Into<String>, line: Option<usize>, column: Option<usize>) -> Error {
    Error::Parse {
        format: "yaml",
        message: message.into(),
        line,
        column,
    }
}

fn position_of(input: &[u8], offset: usize) -> (usize, usize) {
    let before = &input[..offset];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// sops decodes the first document into a Go map first, which rejects duplicate keys
/// (go-yaml compares the keys' kind and raw text) at any depth.
fn check_duplicates(node: &Node) -> Result<(), Error> {
    match &node.kind {
        Kind::Scalar { .. } => Ok(()),
        Kind::Seq(items) => items.iter().try_for_each(|e| match e {
            SeqEntry::Item(n) => check_duplicates(n),
            SeqEntry::Comment(_) => Ok(()),
        }),
        Kind::Map(entries) => {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for e in entries {
                let MapEntry::Pair(k, v) = e else { continue };
                if let Kind::Scalar { text, .. } = &k.kind {
                    if let Some(first) = seen.get(text.as_str()) {
                        return Err(parse_error(
                            format!("mapping key {text:?} already defined at line {first}"),
                            Some(k.line),
                            Some(k.column),
                        ));
                    }
                    seen.insert(text, k.line);
                }
                check_duplicates(v)?;
            }
            Ok(())
        }
    }
}

fn convert_map(entries: Vec<MapEntry>) -> Result<Branch, Error> {
    let mut out = Branch::with_capacity(entries.len());
    for e in entries {
        match e {
            MapEntry::Comment(c) => out.push(Item {
                key: Key::Comment(c),
                value: Value::Null,
            }),
            MapEntry::Pair(k, v) => {
                let key = convert_key(&k)?;
                out.push(Item::new(key, convert_node(v)?));
            }
        }
    }
    Ok(out)
}

fn convert_key(k: &Node) -> Result<String, Error> {
    let kind = match &k.kind {
        Kind::Scalar { text, style, tag } => match resolve_scalar(text, *style, tag.as_deref()) {
            Ok(Value::Str(s)) => return Ok(s),
            Ok(Value::Bytes(_)) => "[]uint8",
            Ok(Value::Null) => "<nil>",
            Ok(Value::Bool(_)) => "bool",
            Ok(Value::Int(_)) => "int",
            Ok(Value::Float(_)) => "float64",
            Ok(Value::Time(_)) => "time.Time",
            Ok(_) => "unknown",
            Err(ResolveError::Uint64) => "uint64",
            Err(e) => return Err(resolve_error(e, k)),
        },
        Kind::Map(_) => "map[string]interface {}",
        Kind::Seq(_) => "[]interface {}",
    };
    Err(Error::NonStringKey { kind, line: k.line })
}

fn resolve_error(e: ResolveError, n: &Node) -> Error {
    let message = match e {
        ResolveError::Uint64 => {
            return Error::UnsupportedValue {
                kind: "uint64",
                line: n.line,
            };
        }
        ResolveError::TagMismatch(got, want) => {
            format!("cannot decode {got} scalar as a !!{want}")
        }
        ResolveError::BadBinary => "!!binary value contains invalid base64 data".into(),
    };
    parse_error(message, Some(n.line), Some(n.column))
}

fn convert_node(n: Node) -> Result<Value, Error> {
    match n.kind {
        Kind::Scalar {
            ref text,
            style,
            ref tag,
        } => resolve_scalar(text, style, tag.as_deref()).map_err(|e| resolve_error(e, &n)),
        Kind::Map(entries) => Ok(Value::Map(convert_map(entries)?)),
        Kind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(match i {
                    SeqEntry::Comment(c) => Value::Comment(c),
                    SeqEntry::Item(n) => convert_node(n)?,
                });
            }
            Ok(Value::List(out))
        }
    }
}

fn is_sops_key(item: &Item) -> bool {
    item.key.name() == Some("sops")
}

impl Store for YamlStore {
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error> {
        let branches = self.load(input)?;
        if branches.is_empty() {
            return Err(Error::EmptyFile);
        }
        if branches[0].iter().any(is_sops_key) {
            return Err(Error::AlreadyEncrypted);
        }
        Ok(Tree { branches })
    }

    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error> {
        let mut branches = self.load(input)?;
        let Some(first) = branches.first() else {
            return Err(Error::MetadataNotFound);
        };
        let mut found = first.iter().filter(|i| is_sops_key(i));
        let metadata = match (found.next(), found.next()) {
            (None, _) => return Err(Error::MetadataNotFound),
            (Some(_), Some(_)) => {
                return Err(parse_error("Found duplicate sops entry", None, None));
            }
            (Some(item), None) => match &item.value {
                Value::Map(_) => item.value.clone(),
                _ => {
                    return Err(parse_error(
                        "Found sops entry that is not a mapping",
                        None,
                        None,
                    ));
                }
            },
        };
        for b in &mut branches {
            b.retain(|i| !is_sops_key(i));
        }
        Ok((Tree { branches }, metadata))
    }

    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        Ok(emit::emit_documents(&tree.branches, None, self.options.yaml_indent)?.into_bytes())
    }

    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error> {
        let branches: &[Branch] = if tree.branches.is_empty() {
            &[Vec::new()]
        } else {
            &tree.branches
        };
        Ok(emit::emit_documents(branches, Some(metadata), self.options.yaml_indent)?.into_bytes())
    }
}

#[cfg(test)]
mod tests;
