//! The tree walk of sops (spec 1.2, 4, 5): encrypt or decrypt every selected leaf in document
//! order while feeding clear values into the MAC.
//!
//! * `path` holds the mapping keys from the document root; list indices are not part of it.
//! * The AAD of a value is `path.join(":") + ":"`; a comment uses the path of the mapping or
//!   list containing it (`:` at top level).
//! * Nulls are skipped (not encrypted, not hashed); empty strings and empty comments are never
//!   encrypted; comments are never hashed.
//! * The comment stack has one level per mapping/list nesting level; a level is cleared after
//!   each non-comment item (spec 4.3).

use crate::cipher::{self, CipherError, DataKey};
use crate::error::Error;
use crate::mac::Mac;
use crate::rules::SelectionRule;
use crate::tree::{Branch, Comment, Key, Tree, Value};

/// From this many bytes on, a value's MAC is computed on a second thread while it is
/// encrypted or decrypted (below it, starting a thread costs more than it saves).
const PARALLEL_MAC_MIN: usize = 1 << 20;

/// Something worth telling the user that did not stop the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A comment that should be encrypted did not decrypt and was kept as it is (normal for
    /// files written by sops versions that did not encrypt comments).
    CommentNotDecrypted {
        /// The key path of the mapping/list holding the comment, joined with `:`.
        path: String,
    },
    /// The binary store ignores selection rules and `mac_only_encrypted` (sops ≥ 3.11).
    BinaryIgnoresRules,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::CommentNotDecrypted { path } => write!(
                f,
                "Found possibly unencrypted comment in file (at `{path}`). This is to be expected if the file being decrypted was created with an older version of SOPS."
            ),
            Warning::BinaryIgnoresRules => f.write_str(
                "the binary store always encrypts its single value: selection rules and mac_only_encrypted are ignored",
            ),
        }
    }
}

/// The ciphertext of every value of a decrypted file, by its AAD, type and plaintext, so that
/// encrypting the file again with the same data key gives each unchanged value its old
/// `ENC[...]` string (sops keeps the IV for the same purpose): a change of one value is a
/// change of one line, the MAC and `lastmodified`.
///
/// Plaintexts are compared byte for byte (never by a hash, so a value can only ever get the
/// ciphertext of an equal value); they are wiped when the stash is dropped. Values of 1 MiB or
/// more are not stashed (they get a new ciphertext).
#[derive(Default)]
pub struct Stash {
    /// One entry per value: a lookup is one hash, so a list of 10,000 values under one key
    /// (one AAD) is not quadratic. foldhash, not SipHash: the map holds every value of the
    /// file, and SipHash was 5% of a `set` on a 10,000-key file.
    values: std::collections::HashMap<Stashed, String, foldhash::fast::RandomState>,
}

/// What a ciphertext is looked up by: AAD, type and plaintext (wiped on drop).
struct Stashed {
    aad: String,
    datatype: &'static str,
    plain: zeroize::Zeroizing<Vec<u8>>,
}

/// The borrowed form of [`Stashed`], so that a lookup needs no allocation.
trait StashKey {
    fn parts(&self) -> (&str, &str, &[u8]);
}

impl StashKey for Stashed {
    fn parts(&self) -> (&str, &str, &[u8]) {
        (&self.aad, self.datatype, &self.plain)
    }
}

impl StashKey for (&str, &str, &[u8]) {
    fn parts(&self) -> (&str, &str, &[u8]) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn StashKey + 'a> for Stashed {
    fn borrow(&self) -> &(dyn StashKey + 'a) {
        self
    }
}

impl std::hash::Hash for dyn StashKey + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn StashKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn StashKey + '_ {}

impl std::hash::Hash for Stashed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self as &dyn StashKey).hash(state);
    }
}

impl PartialEq for Stashed {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for Stashed {}

impl std::fmt::Debug for Stash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stash({} values)", self.len())
    }
}

impl Stash {
    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds the ciphertexts of `other`, which must have been made with the same data key (a
    /// value both hold keeps the ciphertext it has here).
    pub(crate) fn absorb(&mut self, other: Stash) {
        for (k, enc) in other.values {
            self.values.entry(k).or_insert(enc);
        }
    }

    fn get(&self, aad: &str, datatype: &str, plain: &[u8]) -> Option<String> {
        self.values
            .get(&(aad, datatype, plain) as &dyn StashKey)
            .cloned()
    }

    fn put(&mut self, aad: String, datatype: &'static str, plain: &[u8], enc: String) {
        // A value already there gets the new ciphertext (the key it had is kept).
        let k = Stashed {
            aad,
            datatype,
            plain: zeroize::Zeroizing::new(plain.to_vec()),
        };
        self.values.insert(k, enc);
    }

    /// Room for `n` more values.
    fn reserve(&mut self, n: usize) {
        self.values.reserve(n);
    }
}

struct Walker<'a> {
    key: cipher::ValueCipher,
    rule: &'a SelectionRule,
    /// Decryption records into it; encryption reuses what it holds.
    stash: Option<&'a mut Stash>,
    mac: Mac,
    mac_only_encrypted: bool,
    path: Vec<String>,
    stack: Vec<Vec<String>>,
    warnings: Vec<Warning>,
}

impl<'a> Walker<'a> {
    fn new(
        key: &DataKey,
        rule: &'a SelectionRule,
        mac_only_encrypted: bool,
        stash: Option<&'a mut Stash>,
    ) -> Self {
        Self {
            key: cipher::ValueCipher::new(key),
            rule,
            stash,
            mac: Mac::new(mac_only_encrypted),
            mac_only_encrypted,
            path: Vec::new(),
            stack: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn aad(&self) -> String {
        let mut s = self.path.join(":");
        s.push(':');
        s
    }

    fn path_string(&self) -> String {
        self.path.join(":")
    }

    fn selected(&self, is_comment: bool) -> bool {
        self.rule
            .should_encrypt(&self.path, &self.stack, is_comment)
    }

    fn push_comment(&mut self, text: &str) {
        if let Some(level) = self.stack.last_mut() {
            level.push(text.to_owned());
        }
    }

    fn clear_level(&mut self) {
        if let Some(level) = self.stack.last_mut() {
            level.clear();
        }
    }

    /// The old ciphertext of this value, if the stash has it.
    fn stashed(&self, aad: &str, datatype: &str, plain: &[u8]) -> Option<String> {
        self.stash.as_deref()?.get(aad, datatype, plain)
    }

    fn stash_value(&mut self, aad: String, datatype: &'static str, plain: &[u8], enc: String) {
        if let Some(stash) = self.stash.as_deref_mut() {
            stash.put(aad, datatype, plain, enc);
        }
    }

    // ---- encryption ----

    fn enc_branch(&mut self, branch: &mut Branch) -> Result<(), Error> {
        self.stack.push(Vec::new());
        for item in branch.iter_mut() {
            match &mut item.key {
                Key::Comment(c) => {
                    self.push_comment(&c.text);
                    self.enc_comment(c)?;
                }
                Key::Name(name) => {
                    self.path.push(name.clone());
                    self.enc_value(&mut item.value)?;
                    self.path.pop();
                    self.clear_level();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn enc_list(&mut self, list: &mut [Value]) -> Result<(), Error> {
        self.stack.push(Vec::new());
        for v in list.iter_mut() {
            if let Value::Comment(c) = v {
                self.push_comment(&c.text);
                self.enc_comment(c)?;
            } else {
                self.enc_value(v)?;
                self.clear_level();
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn enc_comment(&mut self, c: &mut Comment) -> Result<(), Error> {
        if c.text.is_empty() || !self.selected(true) {
            return Ok(());
        }
        let aad = self.aad();
        let enc = match self.stashed(&aad, "comment", c.text.as_bytes()) {
            Some(old) => old,
            None => self
                .key
                .encrypt(c.text.as_bytes(), aad.as_bytes(), "comment"),
        };
        if let SelectionRule::UnencryptedCommentRegex(re) = self.rule
            && re.is_match(&enc)
        {
            return Err(Error::EncryptTree {
                path: self.path_string(),
                reason: "Encrypted comment matches UnencryptedCommentRegex! Make sure the regex cannot match ENC[...] text".into(),
            });
        }
        crate::wipe::string(&mut c.text);
        c.text = enc;
        Ok(())
    }

    fn enc_value(&mut self, v: &mut Value) -> Result<(), Error> {
        match v {
            Value::Null => Ok(()),
            Value::Map(b) => self.enc_branch(b),
            Value::List(l) => self.enc_list(l),
            Value::Comment(c) => {
                self.push_comment(&c.text);
                self.enc_comment(c)
            }
            leaf => {
                let selected = self.selected(false);
                let hashed = !self.mac_only_encrypted || selected;
                let Some((datatype, bytes)) = cipher::to_bytes(leaf) else {
                    return Ok(());
                };
                if !selected || bytes.is_empty() {
                    if hashed {
                        self.mac.update(&bytes);
                    }
                    return Ok(());
                }
                let aad = self.aad();
                let old = self.stashed(&aad, datatype, &bytes);
                let (key, mac) = (&mut self.key, &mut self.mac);
                let enc = if let Some(old) = old {
                    if hashed {
                        mac.update(&bytes);
                    }
                    old
                } else if hashed && bytes.len() >= PARALLEL_MAC_MIN {
                    // SHA-512 and AES-GCM over a large value take about as long each: hash on
                    // a second thread while this one encrypts (both only read `bytes`).
                    std::thread::scope(|s| {
                        s.spawn(|| mac.update(&bytes));
                        key.encrypt(&bytes, aad.as_bytes(), datatype)
                    })
                } else {
                    if hashed {
                        mac.update(&bytes);
                    }
                    key.encrypt(&bytes, aad.as_bytes(), datatype)
                };
                drop(bytes);
                zeroize_value(leaf);
                *leaf = Value::Str(enc);
                Ok(())
            }
        }
    }

    // ---- decryption ----
    //
    // In three passes: the walk (comment stack, selection, AAD) lists every leaf in document
    // order; the selected leaves are decrypted, on two threads when there are many; then,
    // again in document order, errors are reported, the stash is filled and the MAC fed.

    fn dec_branch<'t>(&mut self, branch: &'t mut Branch, leaves: &mut Vec<Leaf<'t>>) {
        self.stack.push(Vec::new());
        for item in branch.iter_mut() {
            match &mut item.key {
                Key::Comment(c) => {
                    self.push_comment(&c.text);
                    self.dec_comment(c);
                }
                Key::Name(name) => {
                    self.path.push(name.clone());
                    self.dec_value(&mut item.value, leaves);
                    self.path.pop();
                    self.clear_level();
                }
            }
        }
        self.stack.pop();
    }

    fn dec_list<'t>(&mut self, list: &'t mut [Value], leaves: &mut Vec<Leaf<'t>>) {
        self.stack.push(Vec::new());
        for v in list.iter_mut() {
            if let Value::Comment(c) = v {
                self.push_comment(&c.text);
                self.dec_comment(c);
            } else {
                self.dec_value(v, leaves);
                self.clear_level();
            }
        }
        self.stack.pop();
    }

    /// Decrypts a comment in place; on failure keeps it and records a warning (as sops does).
    fn dec_comment(&mut self, c: &mut Comment) {
        if c.text.is_empty() || !self.selected(true) {
            return;
        }
        let aad = self.aad();
        match self.key.decrypt_value(&c.text, &aad) {
            Ok(decrypted) => {
                let plain = match decrypted {
                    Value::Comment(plain) => plain.text,
                    other => cipher::to_bytes(&other)
                        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                };
                let enc = std::mem::replace(&mut c.text, plain);
                self.stash_value(aad, "comment", c.text.as_bytes(), enc);
            }
            Err(_) => self.warnings.push(Warning::CommentNotDecrypted {
                path: self.path_string(),
            }),
        }
    }

    /// The first pass: lists the leaves under `v` (comments are decrypted here, they are never
    /// hashed so their order does not matter).
    fn dec_value<'t>(&mut self, v: &'t mut Value, leaves: &mut Vec<Leaf<'t>>) {
        match v {
            Value::Null => {}
            Value::Map(b) => self.dec_branch(b, leaves),
            Value::List(l) => self.dec_list(l, leaves),
            Value::Comment(c) => {
                self.push_comment(&c.text);
                self.dec_comment(c);
            }
            leaf => {
                let selected = self.selected(false);
                if selected || !self.mac_only_encrypted {
                    leaves.push(Leaf {
                        aad: if selected { self.aad() } else { String::new() },
                        selected,
                        value: leaf,
                        outcome: None,
                    });
                }
            }
        }
    }

    /// The third pass, for one leaf: the error of a value that did not decrypt, else the stash
    /// and the MAC. A large string is decrypted here, its MAC computed on a second thread as
    /// each piece comes out.
    fn dec_finish(&mut self, leaf: Leaf<'_>) -> Result<(), Error> {
        let Leaf {
            aad,
            selected,
            value,
            outcome,
        } = leaf;
        let path = || aad.strip_suffix(':').unwrap_or(&aad).to_owned();
        let enc = match outcome {
            Some(Ok(enc)) => enc,
            Some(Err(source)) => {
                return Err(Error::DecryptValue {
                    path: path(),
                    source,
                });
            }
            None if !selected => String::new(),
            None => {
                if let Value::Str(s) = &*value {
                    let mac = &mut self.mac;
                    let mut consume = |piece: &[u8]| mac.update(piece);
                    if let Some(result) =
                        self.key.decrypt_streaming(s, aad.as_bytes(), &mut consume)
                    {
                        *value = result
                            .and_then(|(buf, datatype)| cipher::from_bytes(&datatype, buf))
                            .map_err(|source| Error::DecryptValue {
                                path: path(),
                                source,
                            })?;
                        return Ok(());
                    }
                }
                decrypt_leaf(&self.key, value, &aad).map_err(|source| Error::DecryptValue {
                    path: path(),
                    source,
                })?
            }
        };
        let Some((datatype, bytes)) = cipher::to_bytes(value) else {
            return Ok(());
        };
        if !enc.is_empty()
            && let Some(stash) = self.stash.as_deref_mut()
        {
            stash.put(aad, datatype, &bytes, enc);
        }
        // A value that decrypted to a comment (a list comment stored as a string by sops) is
        // never hashed (spec 5.2).
        if datatype != "comment" {
            self.mac.update(&bytes);
        }
        Ok(())
    }
}

/// From this many selected values on, they are decrypted on two threads (below it, starting
/// a thread costs more than it saves).
const PARALLEL_DECRYPT_MIN: usize = 256;

/// A leaf of the tree being decrypted, between the passes.
struct Leaf<'t> {
    /// Empty for a leaf that is not selected (hashed only).
    aad: String,
    selected: bool,
    value: &'t mut Value,
    /// After the second pass: the ciphertext the value had (now replaced by its plaintext), or
    /// why it did not decrypt. `None` for a large string (decrypted in the third pass) and for
    /// a leaf that is not selected.
    outcome: Option<Result<String, CipherError>>,
}

/// Replaces an `ENC[...]` leaf by its plaintext and returns the ciphertext it had.
fn decrypt_leaf(
    key: &cipher::ValueCipher,
    value: &mut Value,
    aad: &str,
) -> Result<String, CipherError> {
    let plain = match &*value {
        Value::Str(s) => key.decrypt_value(s, aad),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => key.decrypt_value(s, aad),
            Err(_) => Err(not_enc()),
        },
        _ => Err(not_enc()),
    }?;
    Ok(match std::mem::replace(value, plain) {
        Value::Str(s) => s,
        _ => String::new(),
    })
}

/// The second pass: decrypts every selected leaf but large strings, in place.
fn decrypt_leaves(key: &DataKey, cipher: &cipher::ValueCipher, leaves: &mut [Leaf<'_>]) {
    fn run(cipher: &cipher::ValueCipher, leaves: &mut [Leaf<'_>]) {
        for leaf in leaves.iter_mut().filter(|l| l.selected) {
            if matches!(&*leaf.value, Value::Str(s) if s.len() >= PARALLEL_MAC_MIN) {
                continue;
            }
            leaf.outcome = Some(decrypt_leaf(cipher, leaf.value, &leaf.aad));
        }
    }
    let selected = leaves.iter().filter(|l| l.selected).count();
    if selected < PARALLEL_DECRYPT_MIN
        || std::thread::available_parallelism().map_or(1, usize::from) < 2
    {
        return run(cipher, leaves);
    }
    let (first, second) = leaves.split_at_mut(leaves.len() / 2);
    std::thread::scope(|s| {
        s.spawn(|| run(&cipher::ValueCipher::new(key), second));
        run(cipher, first);
    });
}

fn not_enc() -> CipherError {
    CipherError::Format {
        shown: "(a value that is not an ENC[...] string, not shown)".into(),
    }
}

fn zeroize_value(v: &mut Value) {
    match v {
        Value::Str(s) => crate::wipe::string(s),
        Value::Bytes(b) => crate::wipe::bytes(b),
        Value::Comment(c) => crate::wipe::string(&mut c.text),
        _ => {}
    }
}

/// Wipes every string and byte buffer in a tree (used on plaintext trees before drop).
pub fn zeroize_tree(tree: &mut Tree) {
    fn value(v: &mut Value) {
        match v {
            Value::Map(b) => branch(b),
            Value::List(l) => l.iter_mut().for_each(value),
            other => zeroize_value(other),
        }
    }
    fn branch(b: &mut Branch) {
        for item in b.iter_mut() {
            if let Key::Comment(c) = &mut item.key {
                crate::wipe::string(&mut c.text);
            }
            value(&mut item.value);
        }
    }
    tree.branches.iter_mut().for_each(branch);
}

/// Encrypts every selected leaf of `tree` in place and returns the MAC digest (upper-case
/// hex) over the clear values. All documents share one MAC.
pub fn encrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: &SelectionRule,
    mac_only_encrypted: bool,
) -> Result<String, Error> {
    encrypt_tree_reusing(tree, key, rule, mac_only_encrypted, None)
}

/// [`encrypt_tree`], giving every value the stash holds (same AAD, type and plaintext) its
/// old ciphertext instead of a new one.
pub fn encrypt_tree_reusing(
    tree: &mut Tree,
    key: &DataKey,
    rule: &SelectionRule,
    mac_only_encrypted: bool,
    stash: Option<&mut Stash>,
) -> Result<String, Error> {
    let mut w = Walker::new(key, rule, mac_only_encrypted, stash);
    for b in tree.branches.iter_mut() {
        w.stack.clear();
        w.enc_branch(b)?;
    }
    Ok(w.mac.finish())
}

/// Decrypts every selected leaf of `tree` in place and returns the computed MAC digest and
/// the warnings (comments that did not decrypt).
pub fn decrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: &SelectionRule,
    mac_only_encrypted: bool,
) -> Result<(String, Vec<Warning>), Error> {
    decrypt_tree_stashing(tree, key, rule, mac_only_encrypted, None)
}

/// [`decrypt_tree`], recording every value's ciphertext in `stash` (see [`Stash`]).
pub fn decrypt_tree_stashing(
    tree: &mut Tree,
    key: &DataKey,
    rule: &SelectionRule,
    mac_only_encrypted: bool,
    stash: Option<&mut Stash>,
) -> Result<(String, Vec<Warning>), Error> {
    let mut w = Walker::new(key, rule, mac_only_encrypted, stash);
    let mut leaves = Vec::new();
    for b in tree.branches.iter_mut() {
        w.stack.clear();
        w.dec_branch(b, &mut leaves);
    }
    decrypt_leaves(key, &w.key, &mut leaves);
    if let Some(stash) = w.stash.as_deref_mut() {
        stash.reserve(leaves.len());
    }
    for leaf in leaves {
        w.dec_finish(leaf)?;
    }
    let warnings = std::mem::take(&mut w.warnings);
    Ok((w.mac.finish(), warnings))
}
