//! `psd lint --decrypt`: lint encrypted files by what they hold.
//!
//! [`decrypt`] takes a tree and the private keys (found as sops finds them:
//! [`Identities::from_env`]) and returns a copy in which every SOPS-encrypted YAML file is
//! decrypted in memory, its MAC verified. The copy keeps the file's layout line for line: each
//! `ENC[…]` value is replaced, on its own line, by its clear value written as a one-line YAML
//! scalar tagged [`DECRYPTED_TAG`] (strings double-quoted with escapes), and the `sops:`
//! metadata stays. So a finding in a decrypted file points at the line of the file on disk,
//! rules see the references the encrypted values hold, a document still counts as encrypted
//! ([`crate::Document::encrypted`]), and a rule can tell a decrypted value from one that was
//! left in the clear ([`was_decrypted`]).
//!
//! A file that does not decrypt (no key opens it, damaged, MAC mismatch) is a [`DECRYPT`]
//! finding with sops' reason, and is linted as it is on disk.
//!
//! Never showing a decrypted value: [`Decrypted::lint`] replaces every decrypted value that a
//! finding's message or help might quote with `[redacted]`; the decrypted bytes (and the parsed
//! copy of them) are wiped when done; and a caller that prints source lines takes them from the
//! tree on disk, never from [`Decrypted::tree`].

use psd_sops::stores::yaml::parse::{Kind, MapEntry, Node, SeqEntry};
use psd_sops::{Format, Identities, Metadata, StoreOptions, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::config::Config;
use crate::finding::{Finding, RuleInfo, Severity};
use crate::tree::Tree;

/// An encrypted file that does not decrypt.
pub static DECRYPT: RuleInfo = RuleInfo {
    id: "sops/decrypt",
    severity: Severity::Error,
    summary: "an encrypted file does not decrypt with the keys given to --decrypt, or its MAC does not match",
    help: "check that the age private key of one of the file's recipients is in SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or sops' keys.txt; a MAC mismatch means the file was changed without sops: restore it, or re-encrypt it from the clear values",
};

/// The tag on every value [`decrypt`] put in the clear.
pub const DECRYPTED_TAG: &str = "!psd-lint/decrypted";

/// Whether `node` is a value that [`decrypt`] decrypted (and so must never be quoted).
pub fn was_decrypted(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar { tag: Some(t), .. } if t == DECRYPTED_TAG)
}

/// A tree with its encrypted files decrypted in memory (see the module docs). Wipes the
/// decrypted bytes when dropped.
pub struct Decrypted {
    tree: Tree,
    /// Files (indexes into the tree) that were decrypted.
    pub decrypted: Vec<usize>,
    /// Files that did not decrypt, and why (sops' message, on one line).
    pub failures: Vec<(usize, String)>,
    secrets: Vec<Zeroizing<String>>,
    /// Per decrypted file (by path), where its text was replaced.
    subs: std::collections::HashMap<String, Vec<Sub>>,
}

/// One `ENC[…]` token replaced: on `line`, from column `start` (1-based, in characters of the
/// decrypted text), `new_len` characters stand for `old_len` on disk.
#[derive(Clone, Copy, Debug)]
struct Sub {
    line: usize,
    start: usize,
    new_len: usize,
    old_len: usize,
}

/// The column on disk of column `c` of the decrypted `line`; `end`: an exclusive end column
/// (inside a replaced value it maps to the end of the token, else to its start).
fn column_on_disk(subs: &[Sub], line: usize, c: usize, end: bool) -> usize {
    let mut delta: isize = 0;
    for s in subs.iter().filter(|s| s.line == line) {
        let inside = if end {
            c > s.start && c <= s.start + s.new_len
        } else {
            c >= s.start && c < s.start + s.new_len
        };
        let start_on_disk = s.start.saturating_add_signed(-delta);
        if inside {
            return if end {
                start_on_disk + s.old_len
            } else {
                start_on_disk
            };
        }
        if c < s.start || (end && c == s.start) {
            break;
        }
        delta += s.new_len as isize - s.old_len as isize;
    }
    c.saturating_add_signed(-delta).max(1)
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("decrypted", &self.decrypted)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl Drop for Decrypted {
    fn drop(&mut self) {
        for &i in &self.decrypted {
            self.tree.files[i].bytes.zeroize();
        }
    }
}

impl Decrypted {
    /// The decrypted tree (to lint, never to print).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Lints the decrypted tree: every rule, plus a [`DECRYPT`] finding for each file that
    /// did not decrypt; decrypted values are redacted from the messages.
    pub fn lint(&self, config: &Config) -> Vec<Finding> {
        let mut index = crate::index(&self.tree);
        let extra = self
            .failures
            .iter()
            .map(|(file, why)| Finding {
                rule: DECRYPT.id,
                severity: DECRYPT.severity,
                file: self.tree.files[*file].path.clone(),
                span: None,
                message: format!("{} does not decrypt: {why}", self.tree.files[*file].path),
                help: DECRYPT.help.to_owned(),
            })
            .collect();
        let mut findings = crate::lint_indexed_with(&self.tree, &index, config, extra);
        for d in &mut index.docs {
            wipe_node(&mut d.root);
        }
        for f in &mut findings {
            f.message = self.redact(&f.message);
            f.help = self.redact(&f.help);
            if let (Some(subs), Some(span)) = (self.subs.get(&f.file), f.span.as_mut()) {
                span.column = column_on_disk(subs, span.line, span.column, false);
                span.end_column = column_on_disk(subs, span.end_line, span.end_column, true);
            }
        }
        findings
    }

    /// `text` with every decrypted value replaced by `[redacted]`: values of four characters
    /// or more wherever they occur, shorter ones where they stand as a word.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if s.is_empty() || !out.contains(s.as_str()) {
                continue;
            }
            if s.chars().count() >= 4 {
                out = out.replace(s.as_str(), "[redacted]");
            } else {
                out = replace_words(&out, s);
            }
        }
        out
    }
}

fn replace_words(text: &str, word: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find(word) {
        let before = rest[..pos].chars().next_back();
        let after = rest[pos + word.len()..].chars().next();
        out.push_str(&rest[..pos]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(word);
        } else {
            out.push_str("[redacted]");
        }
        rest = &rest[pos + word.len()..];
    }
    out.push_str(rest);
    out
}

fn wipe_node(node: &mut Node) {
    match &mut node.kind {
        Kind::Scalar { text, .. } => text.zeroize(),
        Kind::Map(entries) => {
            for e in entries {
                if let MapEntry::Pair(k, v) = e {
                    wipe_node(k);
                    wipe_node(v);
                }
            }
        }
        Kind::Seq(entries) => {
            for e in entries {
                if let SeqEntry::Item(n) = e {
                    wipe_node(n);
                }
            }
        }
    }
}

/// Decrypts every SOPS-encrypted YAML file of `tree` with `identities` (see the module docs).
pub fn decrypt(tree: &Tree, identities: &Identities) -> Decrypted {
    let mut out = Decrypted {
        tree: tree.clone(),
        decrypted: Vec::new(),
        failures: Vec::new(),
        secrets: Vec::new(),
        subs: std::collections::HashMap::new(),
    };
    for (i, f) in tree.files.iter().enumerate() {
        if !f.is_yaml() || !psd_sops::api::is_encrypted(&f.bytes, Format::Yaml) {
            continue;
        }
        let Some(text) = f.text() else { continue };
        let mut subs = Vec::new();
        match decrypt_file(text, identities, &mut out.secrets, &mut subs) {
            Ok(clear) => {
                out.tree.files[i].bytes = clear.as_bytes().to_vec();
                out.subs.insert(f.path.clone(), subs);
                out.decrypted.push(i);
            }
            Err(why) => out.failures.push((i, why)),
        }
    }
    // Longest first, so a value that holds a shorter one is redacted whole.
    out.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// The file's text with each `ENC[…]` value replaced by its clear value (see the module
/// docs), or sops' reason why it does not decrypt.
fn decrypt_file(
    text: &str,
    identities: &Identities,
    secrets: &mut Vec<Zeroizing<String>>,
    subs: &mut Vec<Sub>,
) -> Result<Zeroizing<String>, String> {
    let one_line = |e: psd_sops::Error| e.to_string().replace('\n', "; ");
    let store = psd_sops::store_for(Format::Yaml, StoreOptions::default());
    let (encrypted, meta) = store.load_encrypted(text.as_bytes()).map_err(one_line)?;
    let metadata = Metadata::from_value(&meta).map_err(one_line)?;
    let clear = psd_sops::api::decrypt_parts(encrypted.clone(), metadata, identities, false, false)
        .map_err(one_line)?;
    let mut pairs: Vec<(String, Zeroizing<String>)> = Vec::new();
    for (e, c) in encrypted.branches.iter().zip(clear.tree.branches.iter()) {
        pair_branch(e, c, &mut pairs, secrets);
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut rest = text;
    while let Some(pos) = rest.find("ENC[") {
        let end = rest[pos..].find(']').map_or(rest.len(), |e| pos + e + 1);
        let token = &rest[pos..end];
        out.push_str(&rest[..pos]);
        match pairs.binary_search_by(|(k, _)| k.as_str().cmp(token)) {
            Ok(k) => {
                let line_start = out.rfind('\n').map_or(0, |p| p + 1);
                subs.push(Sub {
                    line: out.matches('\n').count() + 1,
                    start: out[line_start..].chars().count() + 1,
                    new_len: pairs[k].1.chars().count(),
                    old_len: token.chars().count(),
                });
                out.push_str(&pairs[k].1);
            }
            Err(_) => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

type Pairs = Vec<(String, Zeroizing<String>)>;

/// Pairs each `ENC[…]` string of `enc` with the clear value at the same place of `clear` (the
/// same tree decrypted), and keeps each clear value in `secrets` for redaction.
fn pair_branch(
    enc: &psd_sops::Branch,
    clear: &psd_sops::Branch,
    out: &mut Pairs,
    secrets: &mut Vec<Zeroizing<String>>,
) {
    for (e, c) in enc.iter().zip(clear.iter()) {
        pair_value(&e.value, &c.value, out, secrets);
    }
}

fn pair_value(enc: &Value, clear: &Value, out: &mut Pairs, secrets: &mut Vec<Zeroizing<String>>) {
    match (enc, clear) {
        (Value::Str(token), c) if token.starts_with("ENC[") => {
            if let Some(scalar) = scalar(c) {
                out.push((token.clone(), scalar));
            }
            match c {
                Value::Str(s) => secrets.push(Zeroizing::new(s.clone())),
                Value::Bytes(b) => {
                    secrets.push(Zeroizing::new(String::from_utf8_lossy(b).into_owned()));
                }
                Value::Int(n) => secrets.push(Zeroizing::new(n.to_string())),
                Value::Float(x) => secrets.push(Zeroizing::new(x.to_string())),
                // Booleans and timestamps are no secrets, and `true` is in many messages.
                _ => {}
            }
        }
        (Value::Map(e), Value::Map(c)) => pair_branch(e, c, out, secrets),
        (Value::List(e), Value::List(c)) => {
            for (e, c) in e.iter().zip(c.iter()) {
                pair_value(e, c, out, secrets);
            }
        }
        _ => {}
    }
}

/// A clear value as a one-line YAML scalar tagged [`DECRYPTED_TAG`].
fn scalar(v: &Value) -> Option<Zeroizing<String>> {
    let body = match v {
        Value::Str(s) => quote(s),
        Value::Bytes(b) => quote(&String::from_utf8_lossy(b)),
        Value::Int(n) => Zeroizing::new(n.to_string()),
        Value::Float(x) => Zeroizing::new(x.to_string()),
        Value::Bool(b) => Zeroizing::new(b.to_string()),
        _ => return None,
    };
    Some(Zeroizing::new(format!("{DECRYPTED_TAG} {}", body.as_str())))
}

/// A YAML double-quoted scalar on one line.
fn quote(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len() + 2));
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{85}' | '\u{a0}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::NodeExt;
    use psd_sops::api::{EncryptOptions, encrypt};
    use psd_sops::rules::SelectionRule;

    const KEY_FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
    );
    const RECIPIENT: &str = "age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736";

    fn identities() -> Identities {
        let text = std::fs::read_to_string(KEY_FILE).unwrap();
        let secret = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .unwrap();
        let mut ids = Identities::new();
        ids.add_x25519(secret).unwrap();
        ids
    }

    fn enc(plain: &str, regex: Option<&str>) -> String {
        let mut opts = EncryptOptions::new(vec![RECIPIENT.parse().unwrap()]);
        opts.rule = regex.map(|r| SelectionRule::from_name("encrypted_regex", r).unwrap());
        String::from_utf8(encrypt(plain.as_bytes(), Format::Yaml, &opts).unwrap()).unwrap()
    }

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: \"hunter2 \\\"x\\\"\\n2\"\n  port: 5432\n  empty: \"\"\n  list:\n    - a\n    - AGE-SECRET-KEY-1QQQQ\n";

    #[test]
    fn decrypted_in_place_line_for_line() {
        // Everything encrypted: without a key not even the kind is known.
        let text = enc(SECRET, None);
        let tree = Tree::from_files([("apps/db.enc.yaml", text.clone())]);
        let ix = crate::index(&tree);
        assert_ne!(ix.docs[0].kind.as_deref(), Some("Secret"));
        let dec = decrypt(&tree, &identities());
        assert_eq!(dec.decrypted, vec![0]);
        assert!(dec.failures.is_empty(), "{:?}", dec.failures);
        let clear = dec.tree().files[0].text().unwrap();
        assert_eq!(clear.lines().count(), text.lines().count());
        let docs = crate::document::parse_file(0, &dec.tree().files[0]).unwrap();
        let d = &docs[0];
        assert_eq!(d.describe(), "Secret apps/db");
        assert!(d.encrypted);
        let pw = d.get(&["stringData", "password"]).unwrap();
        assert!(was_decrypted(pw));
        assert_eq!(pw.as_str(), Some("hunter2 \"x\"\n2"));
        assert_eq!(d.str_at(&["stringData", "port"]), Some("5432"));
        // Same line as on disk; columns map back to the file on disk.
        let disk = crate::document::parse_file(0, &tree.files[0]).unwrap();
        let disk_pw = disk[0].get(&["stringData", "password"]).unwrap();
        assert_eq!(pw.line, disk_pw.line);
        let subs = &dec.subs["apps/db.enc.yaml"];
        assert_eq!(
            column_on_disk(subs, pw.line, pw.column, false),
            disk_pw.column
        );
        // Decrypted values are not "in the clear", and the key in a decrypted value is fine.
        let findings = dec.lint(&Config::default());
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(
            dec.redact("pw hunter2 \"x\"\n2 at 5432"),
            "pw [redacted] at [redacted]"
        );
    }

    #[test]
    fn clear_values_of_an_encrypted_file_still_count() {
        // Only `data` is encrypted; `stringData` was left in the clear by a wrong regex.
        let text = enc(SECRET, Some("^data$"));
        let tree = Tree::from_files([("db.enc.yaml", text)]);
        let dec = decrypt(&tree, &identities());
        let findings = dec.lint(&Config::default());
        assert!(
            findings.iter().any(|f| f.rule == "secrets/plaintext"),
            "{findings:#?}"
        );
        assert!(findings.iter().any(|f| f.rule == "secrets/age-private-key"));
    }

    #[test]
    fn a_file_that_does_not_decrypt_is_a_finding() {
        let text = enc(SECRET, Some("^(data|stringData)$"));
        // No key.
        let tree = Tree::from_files([("a/db.enc.yaml", text.clone())]);
        let dec = decrypt(&tree, &Identities::new());
        assert!(dec.decrypted.is_empty());
        let findings = dec.lint(&Config::default());
        let f = findings.iter().find(|f| f.rule == DECRYPT.id).unwrap();
        assert_eq!(f.file, "a/db.enc.yaml");
        assert!(f.message.contains("does not decrypt"), "{}", f.message);
        assert!(!f.message.contains('\n'));
        // Changed without sops: the MAC does not match.
        let tampered = text.replace("namespace: apps", "namespace: other");
        let tree = Tree::from_files([("db.enc.yaml", tampered)]);
        let dec = decrypt(&tree, &identities());
        assert_eq!(dec.failures.len(), 1);
        assert!(
            dec.failures[0].1.to_lowercase().contains("mac"),
            "{}",
            dec.failures[0].1
        );
        // Turned off by configuration like any rule.
        let mut cfg = Config::default();
        cfg.rules.insert(DECRYPT.id.into(), crate::RuleSetting::Off);
        assert!(dec.lint(&cfg).iter().all(|f| f.rule != DECRYPT.id));
    }

    #[test]
    fn quoting_round_trips() {
        for s in [
            "",
            "a",
            "x\"y\\z",
            "tab\there\r\n",
            "\u{1}\u{85}\u{2028}é😀",
            "# not a comment",
            "- [a]: {b}",
        ] {
            let yaml = format!("k: {DECRYPTED_TAG} {}\n", quote(s).as_str());
            let roots = psd_sops::stores::yaml::parse::parse_stream(&yaml).unwrap();
            let root = roots[0].as_ref().unwrap();

            let v = root.get("k").unwrap();
            assert!(was_decrypted(v));
            match &v.kind {
                Kind::Scalar { text, .. } => assert_eq!(text, s),
                _ => panic!(),
            }
            assert_eq!(yaml.lines().count(), 1);
        }
        let subs = [
            Sub {
                line: 1,
                start: 3,
                new_len: 10,
                old_len: 4,
            },
            Sub {
                line: 1,
                start: 20,
                new_len: 2,
                old_len: 5,
            },
        ];
        // Before, inside, after the first; inside and after the second; other lines.
        assert_eq!(column_on_disk(&subs, 1, 2, false), 2);
        assert_eq!(column_on_disk(&subs, 1, 5, false), 3);
        assert_eq!(column_on_disk(&subs, 1, 5, true), 7);
        assert_eq!(column_on_disk(&subs, 1, 13, true), 7);
        assert_eq!(column_on_disk(&subs, 1, 13, false), 7);
        assert_eq!(column_on_disk(&subs, 1, 21, false), 14);
        assert_eq!(column_on_disk(&subs, 1, 25, false), 22);
        assert_eq!(column_on_disk(&subs, 2, 25, false), 25);
        assert_eq!(
            replace_words("a 12 b x12 12-3 12", "12"),
            "a [redacted] b x12 12-3 [redacted]"
        );
    }
}
