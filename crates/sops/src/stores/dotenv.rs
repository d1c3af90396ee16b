//! The dotenv store (format spec 9.4), compatible with sops' `stores/dotenv`.
//!
//! Reading: the input is split on `\n` only (a `\r` stays in the value), empty lines are
//! skipped, a line starting with `#` is a comment (its text is what follows the `#`), and every
//! other line is `KEY=value` split at the **first** `=`, with the two characters `\n` in the
//! value turned into a newline. There is no trimming, no quote handling and no `export`: sops
//! does none of that, and the MAC covers the exact value. A line without `=` is an error.
//!
//! Metadata lives in top-level keys with the `sops_` prefix, flattened ([`crate::flatten`]);
//! they are recognised wherever they appear and in any order (random ≤ 3.7, sorted 3.8–3.12,
//! structural 3.13). We write the 3.13 structural order of the map we are given.

use crate::error::Error;
use crate::flatten::{flatten, scalar_to_string, unflatten};
use crate::store::{Store, StoreOptions};
use crate::tree::{Branch, Item, Key, Tree, Value};

/// The prefix of flattened metadata keys.
const PREFIX: &str = "sops_";

/// Reads and writes dotenv files.
#[derive(Clone, Debug)]
pub struct DotenvStore {
    #[allow(dead_code)]
    options: StoreOptions,
}

impl DotenvStore {
    /// A store with these output options (dotenv has none).
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }
}

fn parse(input: &[u8]) -> Result<Branch, Error> {
    let mut branch = Vec::new();
    for (n, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if line[0] == b'#' {
            branch.push(Item::comment(crate::stores::json::go_lossy(
                line[1..].to_vec(),
            )));
            continue;
        }
        let Some(pos) = line.iter().position(|&b| b == b'=') else {
            return Err(Error::Parse {
                format: "dotenv",
                message: "invalid dotenv input line: a line that is not a comment has no '='"
                    .into(),
                line: Some(n + 1),
                column: None,
            });
        };
        let key = crate::stores::json::go_lossy(line[..pos].to_vec());
        let value = replace_bytes(&line[pos + 1..], b"\\n", b"\n");
        // Go strings hold any bytes; keep a value that is not UTF-8 exactly (it is encrypted
        // as `type:str` with these very bytes, as sops does).
        let value = match String::from_utf8(value) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        };
        branch.push(Item::new(key, value));
    }
    Ok(branch)
}

impl Store for DotenvStore {
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error> {
        let branch = parse(input)?;
        if branch
            .iter()
            .any(|i| i.key.name().is_some_and(|k| k.starts_with(PREFIX)))
        {
            return Err(Error::AlreadyEncrypted);
        }
        Ok(Tree {
            branches: vec![branch],
        })
    }

    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error> {
        let mut data = Vec::new();
        let mut meta = Vec::new();
        for item in parse(input)? {
            match (&item.key, item.value) {
                (Key::Name(k), v) if k.starts_with(PREFIX) => {
                    meta.push((k[PREFIX.len()..].to_owned(), scalar_to_string(&v)));
                }
                (_, value) => data.push(Item {
                    key: item.key,
                    value,
                }),
            }
        }
        if meta.is_empty() {
            return Err(Error::MetadataNotFound);
        }
        let metadata = unflatten(meta, "dotenv")?;
        Ok((
            Tree {
                branches: vec![data],
            },
            metadata,
        ))
    }

    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        let branch = tree.branches.first().map(Vec::as_slice).unwrap_or(&[]);
        let mut out = Vec::new();
        write_items(branch, &mut out)?;
        Ok(out)
    }

    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error> {
        let branch = tree.branches.first().map(Vec::as_slice).unwrap_or(&[]);
        if let Some(k) = branch
            .iter()
            .filter_map(|i| i.key.name())
            .find(|k| k.starts_with(PREFIX))
        {
            return Err(Error::Emit {
                format: "dotenv",
                message: format!(
                    "Found key {k:?} in encrypted data, which starts with the reserved key prefix \"sops_\" for SOPS metadata"
                ),
            });
        }
        let mut out = Vec::new();
        write_items(branch, &mut out)?;
        for (k, v) in flatten(metadata, PREFIX)? {
            write_pair(&k, v.as_bytes(), &mut out);
        }
        Ok(out)
    }
}

fn replace_bytes(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn write_pair(key: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(&replace_bytes(value, b"\n", b"\\n"));
    out.push(b'\n');
}

fn write_items(branch: &[Item], out: &mut Vec<u8>) -> Result<(), Error> {
    for item in branch {
        match (&item.key, &item.value) {
            (Key::Name(k), Value::Map(_) | Value::List(_)) => {
                return Err(Error::Emit {
                    format: "dotenv",
                    message: format!("cannot use complex value in dotenv file; offending key {k}"),
                });
            }
            (Key::Comment(c), _) => {
                out.push(b'#');
                out.extend_from_slice(c.text.as_bytes());
                out.push(b'\n');
            }
            (Key::Name(k), Value::Str(v)) => write_pair(k, v.as_bytes(), out),
            (Key::Name(k), Value::Bytes(v)) => write_pair(k, v, out),
            // sops ≥ 3.11 writes non-string values with ValToString (no newline escaping).
            (Key::Name(k), v) => {
                out.extend_from_slice(k.as_bytes());
                out.push(b'=');
                out.extend_from_slice(scalar_to_string(v).as_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
