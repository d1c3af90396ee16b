//! The binary store (format spec 9.6), as sops' `BinaryStore`.
//!
//! A plain file of any content becomes one [`Value::Bytes`] under the key `data` (the bytes need
//! not be UTF-8). The encrypted file is a JSON document written by the JSON store with the
//! `json_binary_indent` option: `{"data": "ENC[...]", "sops": {...}}`. Emitting the plain file
//! writes exactly the `data` bytes.

use crate::error::Error;
use crate::store::{Store, StoreOptions};
use crate::stores::json::JsonStore;
use crate::tree::{Item, Tree, Value};
use zeroize::Zeroizing;

/// The single key of a binary tree.
pub const DATA_KEY: &str = "data";

/// Reads and writes binary files.
#[derive(Clone, Debug)]
pub struct BinaryStore {
    json: JsonStore,
}

impl BinaryStore {
    /// A store with these output options (`json_binary_indent` for the encrypted envelope).
    pub fn new(options: StoreOptions) -> Self {
        Self {
            json: JsonStore::new(StoreOptions {
                json_indent: options.json_binary_indent,
                ..options
            }),
        }
    }
}

/// What [`BinaryStore::emit_plain`] writes, moved out of the tree instead of copied (the
/// `data` string of a one-branch tree); `None`, with the tree unchanged, for any other tree.
pub(crate) fn take_data(tree: &mut Tree) -> Option<Zeroizing<Vec<u8>>> {
    let [branch] = tree.branches.as_mut_slice() else {
        return None;
    };
    let item = branch.iter_mut().find(|i| i.key.name() == Some(DATA_KEY))?;
    match std::mem::replace(&mut item.value, Value::Null) {
        Value::Bytes(b) => Some(Zeroizing::new(b)),
        Value::Str(s) => Some(Zeroizing::new(s.into_bytes())),
        other => {
            item.value = other;
            None
        }
    }
}

impl Store for BinaryStore {
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error> {
        Ok(Tree {
            branches: vec![vec![Item::new(DATA_KEY, Value::Bytes(input.to_vec()))]],
        })
    }

    fn load_plain_owned(&self, mut input: Zeroizing<Vec<u8>>) -> Result<Tree, Error> {
        let data = std::mem::take(&mut *input);
        Ok(Tree {
            branches: vec![vec![Item::new(DATA_KEY, Value::Bytes(data))]],
        })
    }

    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error> {
        self.json.load_encrypted(input)
    }

    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        let [branch] = tree.branches.as_slice() else {
            return Err(Error::NoBinaryData {
                reason: "there must be exactly one tree branch",
            });
        };
        match branch.iter().find(|i| i.key.name() == Some(DATA_KEY)) {
            Some(Item {
                value: Value::Bytes(b),
                ..
            }) => Ok(b.clone()),
            Some(Item {
                value: Value::Str(s),
                ..
            }) => Ok(s.as_bytes().to_vec()),
            Some(_) => Err(Error::NoBinaryData {
                reason: "'data' key in tree does not have a string value",
            }),
            None => Err(Error::NoBinaryData {
                reason: "no binary data found in tree",
            }),
        }
    }

    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error> {
        self.json.emit_encrypted(tree, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::testutil::{read, sops, sops_decrypt, vectors};

    fn store() -> BinaryStore {
        BinaryStore::new(StoreOptions::default())
    }

    #[test]
    fn plain_is_the_whole_file() {
        let bytes = b"\x00\xff\xfe text\n\r\n".to_vec();
        let tree = store().load_plain(&bytes).unwrap();
        assert_eq!(
            tree.branches[0],
            vec![Item::new("data", Value::Bytes(bytes.clone()))]
        );
        assert_eq!(store().emit_plain(&tree).unwrap(), bytes);
        // Handing over the buffer moves it into the same tree.
        let owned = store()
            .load_plain_owned(Zeroizing::new(bytes.clone()))
            .unwrap();
        assert_eq!(owned.branches, tree.branches);
        // Empty input is an empty value, not an error.
        assert_eq!(
            store()
                .emit_plain(&store().load_plain(b"").unwrap())
                .unwrap(),
            b""
        );
    }

    #[test]
    fn missing_data() {
        let no_data = Tree {
            branches: vec![vec![Item::new("other", Value::Str("x".into()))]],
        };
        let e = store().emit_plain(&no_data).unwrap_err();
        // sops' first line (`Error dumping file: ` is how its decrypt command reports it).
        assert_eq!(
            e.to_string().lines().next().unwrap(),
            "Error dumping file: error emitting binary store: no binary data found in tree"
        );
        assert_eq!(e.exit_code(), 4);
        let wrong = Tree {
            branches: vec![vec![Item::new("data", Value::Int(1))]],
        };
        assert!(
            store()
                .emit_plain(&wrong)
                .unwrap_err()
                .to_string()
                .contains("does not have a string value")
        );
    }

    #[test]
    fn envelope_indent_option() {
        let s = BinaryStore::new(StoreOptions {
            json_indent: None,
            json_binary_indent: Some(4),
            ..StoreOptions::default()
        });
        let tree = Tree {
            branches: vec![vec![Item::new("data", Value::Str("ENC[x]".into()))]],
        };
        let meta = Value::Map(vec![Item::new("mac", Value::Str("ENC[y]".into()))]);
        let out = String::from_utf8(s.emit_encrypted(&tree, &meta).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\n    \"data\": \"ENC[x]\",\n    \"sops\": {\n        \"mac\": \"ENC[y]\"\n    }\n}\n"
        );
        assert_eq!(s.load_encrypted(out.as_bytes()).unwrap(), (tree, meta));
    }

    #[test]
    fn vector_files() {
        for (folder, file) in [
            ("generated-sops-3.11.0", "blob.enc.bin"),
            ("generated-sops-3.11.0", "note.enc.txt"),
            ("fluxcd-kustomize-controller", "files-file.txt"),
        ] {
            let Some(dir) = vectors(folder) else {
                return;
            };
            let bytes = read(&dir, file);
            let (tree, meta) = store().load_encrypted(&bytes).unwrap();
            assert_eq!(tree.branches[0].len(), 1, "{file}");
            assert_eq!(tree.branches[0][0].key.name(), Some("data"));
            let Value::Str(enc) = &tree.branches[0][0].value else {
                panic!("{file}")
            };
            assert!(enc.starts_with("ENC[AES256_GCM,data:"), "{file}");
            let Value::Map(m) = &meta else { panic!() };
            assert!(m.iter().any(|i| i.key.name() == Some("mac")));
            if folder == "fluxcd-kustomize-controller" {
                // sops 3.9 wrote `null` for empty key lists in JSON.
                assert!(
                    m.iter()
                        .any(|i| i.key.name() == Some("kms") && i.value == Value::Null)
                );
            }
        }
    }

    #[test]
    fn sops_decrypt_equals_plain_twin() {
        let Some(dir) = vectors("generated-sops-3.11.0") else {
            return;
        };
        let Some(sops) = sops() else { return };
        for (enc, plain) in [
            ("blob.enc.bin", "blob.plain.bin"),
            ("note.enc.txt", "note.plain.txt"),
        ] {
            let decrypted = sops_decrypt(&sops, &dir.join("key_a.txt"), &dir.join(enc), &[]);
            let ours = store()
                .emit_plain(&store().load_plain(&read(&dir, plain)).unwrap())
                .unwrap();
            assert_eq!(ours, decrypted, "{plain}");
        }
    }
}
