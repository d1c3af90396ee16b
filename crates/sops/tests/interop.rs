//! Interoperability with the real `sops` binary, as property tests.
//!
//! Generated documents (nested maps, lists, every scalar type, unicode, empty values, comments,
//! multi-document YAML, dotenv, INI, JSON, binary) and rule sets go both ways:
//! sops encrypts → this library decrypts, and this library encrypts → sops decrypts. The
//! result is parsed with a parser independent of this crate (serde_json, serde-saphyr, a
//! line parser for dotenv/INI, raw bytes for binary) and compared as data with the generated
//! document. Property 3 checks Kubernetes Secrets under `encrypted_regex: ^(data|stringData)$`.
//!
//! sops is found via `PSD_SOPS`, then `PATH`, then the workspace's sibling `venv/bin/sops`.
//! Missing: a loud `SKIPPED:` line, or a failure under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;
use psd_sops::age::Recipient;
use psd_sops::api::{self, DecryptOptions, EncryptOptions};
use psd_sops::{Format, Identities, SelectionRule};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value as Json};

// ---------------------------------------------------------------------------------------
// The judge and a shared key.

/// The skip rule of common.md: loud skip locally, failure under `CI=true`.
fn judge(found: Option<PathBuf>, why: &str) -> Option<PathBuf> {
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and the judge is missing: {why}"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED: {why}");
        }
    }
    found
}

fn sops_path() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("sops"))
            .find(|p| p.is_file())
    });
    std::env::var_os("PSD_SOPS")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or(on_path)
        .or_else(|| {
            Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../venv/bin/sops"
            )))
            .filter(|p| p.is_file())
        })
}

struct Ctx {
    sops: PathBuf,
    dir: tempfile::TempDir,
    key_file: PathBuf,
    recipient: Recipient,
    identities: Identities,
}

fn ctx() -> Option<&'static Ctx> {
    static CTX: OnceLock<Option<Ctx>> = OnceLock::new();
    CTX.get_or_init(|| {
        let sops = judge(
            sops_path(),
            "real `sops` not found (PSD_SOPS, PATH, ../venv/bin/sops)",
        )?;
        let dir = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        let secret = id.to_string();
        let key_file = dir.path().join("key.txt");
        std::fs::write(&key_file, format!("{}\n", secret.expose_secret())).unwrap();
        Some(Ctx {
            sops,
            key_file,
            recipient: id.to_public().to_string().parse().unwrap(),
            identities: Identities::parse_key_file(secret.expose_secret()).unwrap(),
            dir,
        })
    })
    .as_ref()
}

impl Ctx {
    fn sops(&self, args: &[&str], file: &Path) -> Vec<u8> {
        match self.try_sops(args, file) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs sops; its output, or why it failed (exit code, stderr, input).
    fn try_sops(&self, args: &[&str], file: &Path) -> Result<Vec<u8>, String> {
        let out = Command::new(&self.sops)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("SOPS_AGE_KEY_FILE", &self.key_file)
            .current_dir(self.dir.path())
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!(
                "sops {args:?} failed ({:?}): {}\ninput:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()),
            ));
        }
        Ok(out.stdout)
    }

    fn file(&self, ext: &str, data: &[u8]) -> tempfile::TempPath {
        let f = tempfile::Builder::new()
            .suffix(&format!(".{ext}"))
            .tempfile_in(self.dir.path())
            .unwrap();
        std::fs::write(f.path(), data).unwrap();
        f.into_temp_path()
    }
}

// ---------------------------------------------------------------------------------------
// Rule sets.

#[derive(Clone, Debug)]
struct Rules {
    /// (sops flag, metadata name, value).
    rule: Option<(&'static str, &'static str, &'static str)>,
    mac_only_encrypted: bool,
}

impl Rules {
    fn flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some((flag, _, value)) = self.rule {
            v.push(flag.to_owned());
            v.push(value.to_owned());
        }
        v
    }

    fn is_comment_rule(&self) -> bool {
        self.rule
            .is_some_and(|(_, name, _)| name.ends_with("comment_regex"))
    }

    fn options(&self, recipient: &Recipient) -> EncryptOptions {
        let mut o = EncryptOptions::new(vec![recipient.clone()]);
        o.rule = self
            .rule
            .map(|(_, name, value)| SelectionRule::from_name(name, value).unwrap());
        o.mac_only_encrypted = self.mac_only_encrypted;
        o
    }
}

fn rules(comment_rules: bool) -> impl Strategy<Value = Rules> {
    let mut choices = vec![
        None,
        Some(("--encrypted-regex", "encrypted_regex", "^(k|s)")),
        Some(("--unencrypted-regex", "unencrypted_regex", "a$")),
        Some(("--encrypted-suffix", "encrypted_suffix", "x")),
        Some(("--unencrypted-suffix", "unencrypted_suffix", "_u")),
    ];
    if comment_rules {
        choices.push(Some((
            "--encrypted-comment-regex",
            "encrypted_comment_regex",
            "sops:enc",
        )));
        choices.push(Some((
            "--unencrypted-comment-regex",
            "unencrypted_comment_regex",
            "sops:clear",
        )));
    }
    // sops 3.11 takes --mac-only-encrypted only as a global flag; the library side is covered by
    // vectors, so only the selection rules vary here.
    proptest::sample::select(choices).prop_map(|rule| Rules {
        rule,
        mac_only_encrypted: false,
    })
}

// ---------------------------------------------------------------------------------------
// Documents.

fn key() -> impl Strategy<Value = String> {
    // Lowercase keys; `sops` itself is reserved.
    "[a-z][a-z0-9_]{0,7}".prop_filter("reserved", |k| k != "sops")
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.,/+-]{0,16}",
        "[a-zA-Zżółwéß🐢€ -]{1,10}",
        proptest::sample::select(vec![
            "",
            "true",
            "yes",
            "no",
            "null",
            "~",
            "1",
            "0x1F",
            "1e3",
            "2024-01-02",
            "- x",
            ": y",
            "a # b",
            "#c",
            "'q'",
            "\"dq\"",
            "  lead",
            "trail  ",
        ])
        .prop_map(str::to_owned),
    ]
}

fn scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-1_000_000_000_000i64..1_000_000_000_000).prop_map(Json::from),
        // Quarters: exact in binary, short in decimal, some integral.
        (-40_000i64..40_000).prop_map(|n| Json::from(n as f64 / 4.0)),
        text().prop_map(Json::String),
    ]
}

fn value() -> impl Strategy<Value = Json> {
    scalar().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A document: a non-empty mapping.
fn document() -> impl Strategy<Value = Map<String, Json>> {
    proptest::collection::vec((key(), value()), 1..6)
        .prop_map(|kv| kv.into_iter().collect::<Map<_, _>>())
}

/// Numbers compared as f64 (sops writes integral floats like ints and reads JSON ints as
/// floats before 3.13.2); everything else exactly.
fn normalize(v: &Json) -> Json {
    match v {
        Json::Number(n) => Json::from(n.as_f64().unwrap()),
        Json::Array(a) => Json::Array(a.iter().map(normalize).collect()),
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

// --- YAML: block style, quoted strings, comments, several documents.

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn yaml_scalar(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap();
            if f.fract() == 0.0 {
                format!("{f:.1}")
            } else {
                format!("{f}")
            }
        }
        Json::Number(n) => n.to_string(),
        Json::String(s) => yaml_quote(s),
        Json::Array(a) if a.is_empty() => "[]".into(),
        Json::Object(o) if o.is_empty() => "{}".into(),
        _ => unreachable!(),
    }
}

fn is_leaf(v: &Json) -> bool {
    match v {
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        _ => true,
    }
}

/// Writes a mapping; `comments` yields comment texts to put before some keys.
fn yaml_map(
    out: &mut String,
    m: &Map<String, Json>,
    indent: usize,
    comments: &mut dyn Iterator<Item = Option<String>>,
) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        if let Some(Some(c)) = comments.next() {
            out.push_str(&format!("{pad}# {c}\n"));
        }
        if is_leaf(v) {
            out.push_str(&format!("{pad}{k}: {}\n", yaml_scalar(v)));
        } else {
            out.push_str(&format!("{pad}{k}:\n"));
            yaml_value(out, v, indent + 4, comments);
        }
    }
}

fn yaml_value(
    out: &mut String,
    v: &Json,
    indent: usize,
    comments: &mut dyn Iterator<Item = Option<String>>,
) {
    let pad = " ".repeat(indent);
    match v {
        Json::Object(m) => yaml_map(out, m, indent, comments),
        Json::Array(a) => {
            for item in a {
                if is_leaf(item) {
                    out.push_str(&format!("{pad}- {}\n", yaml_scalar(item)));
                } else {
                    out.push_str(&format!("{pad}-\n"));
                    yaml_value(out, item, indent + 4, comments);
                }
            }
        }
        _ => unreachable!(),
    }
}

/// A literal or folded block scalar written as the last value of a document, so that it ends
/// where the document ends: before `---`, or at the very end of the input, with or without a
/// final line break (go-yaml then has no break to keep or clip, issue 9). Its value is not
/// modelled here: the judge is what sops reads from the same plain file.
#[derive(Clone, Debug)]
struct BlockTail {
    /// The key; none of them can be generated by [`key`].
    key: &'static str,
    /// Where the scalar sits: the value of `key`, the last value of a mapping under `key`, or
    /// the last item of a sequence under `key`.
    place: Place,
    /// `|` or `>`.
    style: char,
    /// `""` (clip), `"-"` (strip) or `"+"` (keep).
    chomp: &'static str,
    /// An indentation indicator (`|2`): then the first line may start with spaces.
    explicit: bool,
    /// Body lines, `""` an empty line; with no indicator the first non-empty one does not start
    /// with a space (it would set the indentation).
    lines: Vec<String>,
    /// Blank lines after the body: `true` written with the indentation's spaces, `false` empty.
    trailing: Vec<bool>,
    /// How the input ends, when this is the last document.
    end: End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Value,
    Nested,
    Sequence,
}

#[derive(Clone, Copy, Debug)]
enum End {
    /// A final line break.
    Newline,
    /// No final line break after the last line.
    Bare,
    /// A line break and then this many spaces, with no line break after them.
    Spaces(usize),
}

impl BlockTail {
    fn write(&self, out: &mut String, last: bool) {
        let parent = match self.place {
            Place::Value => {
                out.push_str(&format!("{}: ", self.key));
                0
            }
            Place::Nested => {
                out.push_str(&format!("{}:\n    v: ", self.key));
                4
            }
            Place::Sequence => {
                out.push_str(&format!("{}:\n    - ", self.key));
                4
            }
        };
        // go-yaml adds an indentation indicator to the indentation of the enclosing block.
        let indent = if self.explicit {
            parent + 2
        } else {
            parent + 4
        };
        out.push(self.style);
        if self.explicit {
            out.push('2');
        }
        out.push_str(self.chomp);
        out.push('\n');
        let pad = " ".repeat(indent);
        let mut lines: Vec<String> = Vec::new();
        for l in &self.lines {
            lines.push(if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            });
        }
        for &spaces in &self.trailing {
            lines.push(if spaces { pad.clone() } else { String::new() });
        }
        let end = if last { self.end } else { End::Newline };
        let n = lines.len();
        for (i, l) in lines.into_iter().enumerate() {
            out.push_str(&l);
            if i + 1 < n || !matches!(end, End::Bare) {
                out.push('\n');
            }
        }
        if let End::Spaces(k) = end {
            out.push_str(&" ".repeat(k));
        }
    }
}

fn block_tail() -> impl Strategy<Value = BlockTail> {
    let line = prop_oneof![
        2 => "[a-zA-Z0-9żó🐢#:'\"-][a-zA-Z0-9 żó🐢#:'\"-]{0,10}",
        1 => Just(String::new()),
        1 => "  [a-z ]{0,4}",
    ];
    (
        proptest::sample::select(vec!["zz-block", "k-block", "blk-x_u", "blk-x"]),
        proptest::sample::select(vec![Place::Value, Place::Nested, Place::Sequence]),
        proptest::sample::select(vec!['|', '>']),
        proptest::sample::select(vec!["", "-", "+"]),
        any::<bool>(),
        proptest::collection::vec(line, 0..5),
        proptest::collection::vec(any::<bool>(), 0..3),
        prop_oneof![
            Just(End::Newline),
            Just(End::Bare),
            (1usize..12).prop_map(End::Spaces)
        ],
    )
        .prop_map(
            |(key, place, style, chomp, explicit, mut lines, trailing, end)| {
                // go-yaml's writer gives a value that starts with a space or a line break the
                // indicator `|4` (its indentation step) even inside a sequence, where go-yaml
                // then reads the lines as wrongly indented: sops cannot read its own decrypted
                // output. Such values stay out of sequences (regression.rs has one, judged as
                // JSON).
                let explicit = explicit && place != Place::Sequence;
                if place == Place::Sequence {
                    while lines.first().is_some_and(String::is_empty) {
                        lines.remove(0);
                    }
                    if lines.is_empty() {
                        lines.push("x".to_owned());
                    }
                }
                if !explicit && let Some(first) = lines.iter_mut().find(|l| !l.is_empty()) {
                    *first = first.trim_start().to_owned();
                    if first.is_empty() {
                        first.push('x');
                    }
                }
                // Trailing spaces of the last line are kept; blank lines at the end of the
                // body are what `trailing` is for.
                BlockTail {
                    key,
                    place,
                    style,
                    chomp,
                    explicit,
                    lines,
                    trailing,
                    end,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct YamlCase {
    docs: Vec<Map<String, Json>>,
    /// Per document, a block scalar written after its keys.
    tails: Vec<Option<BlockTail>>,
    comments: Vec<Option<String>>,
    rules: Rules,
}

impl YamlCase {
    fn text(&self) -> String {
        let mut out = String::new();
        let mut comments = self.comments.iter().cloned().cycle();
        for (i, d) in self.docs.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            yaml_map(&mut out, d, 0, &mut comments);
            if let Some(Some(t)) = self.tails.get(i) {
                t.write(&mut out, i + 1 == self.docs.len());
            }
        }
        out
    }

    fn has_tail(&self) -> bool {
        self.tails.iter().any(Option::is_some)
    }

    fn comment_texts(&self) -> Vec<String> {
        // Only comments actually written (one slot per key, cycling).
        let text = self.text();
        self.comments
            .iter()
            .flatten()
            .filter(|c| text.contains(&format!("# {c}\n")))
            .cloned()
            .collect()
    }

    /// Checks decrypted output against the generated documents, and, when there are block
    /// tails, against `reference`: what sops itself decrypts from its encryption of the plain
    /// file.
    fn check(&self, decrypted: &[u8], reference: Option<&[Json]>) -> Result<(), TestCaseError> {
        let text = std::str::from_utf8(decrypted).unwrap();
        let got: Vec<Json> = serde_saphyr::from_multiple(text)
            .map_err(|e| TestCaseError::fail(format!("output is not YAML: {e}\n{text}")))?;
        if let Some(reference) = reference {
            prop_assert_eq!(
                got.iter().map(normalize).collect::<Vec<_>>(),
                reference.iter().map(normalize).collect::<Vec<_>>(),
                "decrypted YAML differs from what sops reads from the plain file:\n{}\nplain:\n{:?}",
                text,
                self.text()
            );
        }
        // The generated keys; the block tails were judged above.
        let got: Vec<Json> = got
            .into_iter()
            .enumerate()
            .map(|(i, mut d)| {
                if let (Some(Some(t)), Json::Object(m)) = (self.tails.get(i), &mut d) {
                    m.remove(t.key);
                }
                d
            })
            .collect();
        let want: Vec<Json> = self.docs.iter().map(|d| Json::Object(d.clone())).collect();
        prop_assert_eq!(
            got.iter().map(normalize).collect::<Vec<_>>(),
            want.iter().map(normalize).collect::<Vec<_>>(),
            "decrypted YAML differs:\n{}",
            text
        );
        for c in self.comment_texts() {
            prop_assert!(
                text.contains(&format!("# {c}")),
                "comment {:?} lost:\n{}",
                c,
                text
            );
        }
        Ok(())
    }
}

fn yaml_case() -> impl Strategy<Value = YamlCase> {
    (
        proptest::collection::vec(
            (document(), proptest::option::weighted(0.6, block_tail())),
            1..4,
        ),
        proptest::collection::vec(
            proptest::option::of(prop_oneof![
                "[a-zA-Z0-9 żó]{1,12}"
                    .prop_map(|s| s.trim().to_owned())
                    .prop_filter("empty", |s| !s.is_empty()),
                Just("sops:enc".to_owned()),
                Just("sops:clear".to_owned()),
            ]),
            1..6,
        ),
        rules(true),
    )
        .prop_map(|(docs, comments, rules)| {
            let (docs, tails) = docs.into_iter().unzip();
            YamlCase {
                docs,
                tails,
                comments,
                rules,
            }
        })
}

// --- JSON.

#[derive(Clone, Debug)]
struct JsonCase {
    doc: Map<String, Json>,
    rules: Rules,
}

impl JsonCase {
    fn text(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&Json::Object(self.doc.clone())).unwrap()
    }

    fn check(&self, decrypted: &[u8]) -> Result<(), TestCaseError> {
        let got: Json = serde_json::from_slice(decrypted).map_err(|e| {
            TestCaseError::fail(format!(
                "not JSON: {e}\n{}",
                String::from_utf8_lossy(decrypted)
            ))
        })?;
        prop_assert_eq!(normalize(&got), normalize(&Json::Object(self.doc.clone())));
        Ok(())
    }
}

fn json_case() -> impl Strategy<Value = JsonCase> {
    (document(), rules(false)).prop_map(|(doc, rules)| JsonCase { doc, rules })
}

// --- dotenv and INI: flat string pairs.

#[derive(Clone, Debug)]
struct FlatCase {
    /// dotenv: one section named ""; INI: named sections.
    sections: Vec<(String, Vec<(String, String)>)>,
    comments: Vec<String>,
    rules: Rules,
}

fn pairs(key: &'static str, value: &'static str) -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((key, value), 1..6).prop_map(|kv| {
        let mut seen = std::collections::HashSet::new();
        kv.into_iter()
            .filter(|(k, _)| seen.insert(k.to_lowercase()) && !k.to_lowercase().starts_with("sops"))
            .collect()
    })
}

fn dotenv_case() -> impl Strategy<Value = FlatCase> {
    (
        pairs("[A-Z][A-Z0-9_]{0,7}", "[a-zA-Z0-9 _.:/=#'\"żó-]{0,16}"),
        proptest::collection::vec("[a-z ]{0,10}", 0..3),
        rules(false),
    )
        .prop_filter("no keys", |(p, _, _)| !p.is_empty())
        .prop_map(|(p, comments, rules)| FlatCase {
            sections: vec![(String::new(), p)],
            comments,
            rules,
        })
}

impl FlatCase {
    fn dotenv_text(&self) -> String {
        let mut out = String::new();
        for c in &self.comments {
            out.push_str(&format!("#{c}\n"));
        }
        for (k, v) in &self.sections[0].1 {
            out.push_str(&format!("{k}={v}\n"));
        }
        out
    }

    fn ini_text(&self) -> String {
        let mut out = String::new();
        for (s, kv) in &self.sections {
            out.push_str(&format!("[{s}]\n"));
            for (k, v) in kv {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push('\n');
        }
        out
    }

    fn check_dotenv(&self, decrypted: &[u8]) -> Result<(), TestCaseError> {
        let text = std::str::from_utf8(decrypted).unwrap();
        let got: Vec<(String, String)> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        prop_assert_eq!(&got, &self.sections[0].1, "dotenv differs:\n{}", text);
        for c in &self.comments {
            prop_assert!(
                text.lines().any(|l| l == format!("#{c}")),
                "comment {:?} lost:\n{}",
                c,
                text
            );
        }
        Ok(())
    }

    fn check_ini(&self, decrypted: &[u8]) -> Result<(), TestCaseError> {
        let text = std::str::from_utf8(decrypted).unwrap();
        let mut got: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                got.push((s.to_owned(), Vec::new()));
            } else if let Some((k, v)) = line.split_once('=') {
                let Some(last) = got.last_mut() else {
                    return Err(TestCaseError::fail(format!(
                        "key outside a section:\n{text}"
                    )));
                };
                last.1.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        prop_assert_eq!(&got, &self.sections, "INI differs:\n{}", text);
        Ok(())
    }
}

fn ini_case() -> impl Strategy<Value = FlatCase> {
    (
        proptest::collection::vec(
            (
                "[a-z][a-z0-9]{0,6}",
                pairs("[a-z][a-z0-9_]{0,7}", "[a-zA-Z0-9_./-]{0,12}"),
            ),
            1..4,
        ),
        rules(false),
    )
        .prop_map(|(sections, rules)| {
            let mut seen = std::collections::HashSet::new();
            FlatCase {
                sections: sections
                    .into_iter()
                    .filter(|(s, kv)| s != "sops" && !kv.is_empty() && seen.insert(s.clone()))
                    .collect(),
                comments: Vec::new(),
                rules,
            }
        })
        .prop_filter("no sections", |c| !c.sections.is_empty())
}

// ---------------------------------------------------------------------------------------
// The two directions.

/// sops encrypts `plain` (as a file with extension `ext`), the library decrypts it. `None`
/// when neither the library nor sops itself can decrypt sops's file (see below).
fn sops_to_psd(c: &Ctx, ext: &str, format: Format, plain: &[u8], rules: &Rules) -> Option<Vec<u8>> {
    let f = c.file(ext, plain);
    // sops 3.11's `encrypt` subcommand has no comment-regex flags, and as global flags before
    // it they are silently ignored; the old `--encrypt` form takes them.
    let flags = rules.flags();
    let mut args = Vec::new();
    if rules.is_comment_rule() {
        args.push("--encrypt".to_owned());
    } else {
        args.push("encrypt".to_owned());
    }
    args.extend(["--age".to_owned(), c.recipient.to_string()]);
    args.extend(flags);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let enc = c.sops(&args, &f);
    let opts = DecryptOptions {
        require_version: true,
        ..DecryptOptions::default()
    };
    match api::decrypt(&enc, format, &c.identities, &opts) {
        Ok(d) => Some(d.plain.to_vec()),
        Err(e) => {
            // With a comment rule sops can write a file it cannot decrypt itself: go-yaml's
            // writer puts the comments that open a mapping inside a sequence before the `-`,
            // where go-yaml's reader attaches them to the sequence instead, so the rule selects
            // other values on decryption than on encryption (sops 3.11 panics, "interface {}
            // is int, not string"). We read such a file as sops does and fail too.
            let ef = c.file(ext, &enc);
            if rules.is_comment_rule() && c.try_sops(&["decrypt"], &ef).is_err() {
                return None;
            }
            panic!(
                "psd cannot decrypt sops' file: {e}\n{}",
                String::from_utf8_lossy(&enc)
            )
        }
    }
}

/// The library encrypts `plain`, sops decrypts it.
fn psd_to_sops(c: &Ctx, ext: &str, format: Format, plain: &[u8], rules: &Rules) -> Vec<u8> {
    let enc = match api::encrypt(plain, format, &rules.options(&c.recipient)) {
        Ok(e) => e,
        Err(e) => panic!(
            "psd cannot encrypt: {e}\n{}",
            String::from_utf8_lossy(plain)
        ),
    };
    let f = c.file(ext, &enc);
    c.sops(&["decrypt"], &f)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

/// What sops itself reads from a plain YAML file: sops encrypts it (no rule) and decrypts its
/// own file.
fn sops_reads_plain_yaml(c: &Ctx, plain: &[u8]) -> Vec<Json> {
    let f = c.file("yaml", plain);
    let enc = c.sops(&["encrypt", "--age", &c.recipient.to_string()], &f);
    let ef = c.file("yaml", &enc);
    let dec = c.sops(&["decrypt"], &ef);
    let text = String::from_utf8(dec).unwrap();
    serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|e| panic!("sops's output is not YAML: {e}\n{text}"))
}

proptest! {
    // At least 256 cases (issue 9): the block scalars at the end of a document have many
    // combinations (style, chomping, indicator, blank lines, final line break, place).
    #![proptest_config(config(256))]

    #[test]
    fn yaml_both_directions(case in yaml_case()) {
        let Some(c) = ctx() else { return Ok(()) };
        let plain = case.text();
        let reference = case.has_tail().then(|| sops_reads_plain_yaml(c, plain.as_bytes()));
        let reference = reference.as_deref();
        if let Some(d) = sops_to_psd(c, "yaml", Format::Yaml, plain.as_bytes(), &case.rules) {
            case.check(&d, reference)?;
        }
        case.check(&psd_to_sops(c, "yaml", Format::Yaml, plain.as_bytes(), &case.rules), reference)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn json_both_directions(case in json_case()) {
        let Some(c) = ctx() else { return Ok(()) };
        let plain = case.text();
        case.check(&sops_to_psd(c, "json", Format::Json, &plain, &case.rules).unwrap())?;
        case.check(&psd_to_sops(c, "json", Format::Json, &plain, &case.rules))?;
    }

    #[test]
    fn dotenv_both_directions(case in dotenv_case()) {
        let Some(c) = ctx() else { return Ok(()) };
        let plain = case.dotenv_text();
        case.check_dotenv(&sops_to_psd(c, "env", Format::Dotenv, plain.as_bytes(), &case.rules).unwrap())?;
        case.check_dotenv(&psd_to_sops(c, "env", Format::Dotenv, plain.as_bytes(), &case.rules))?;
    }

    #[test]
    fn ini_both_directions(case in ini_case()) {
        let Some(c) = ctx() else { return Ok(()) };
        let plain = case.ini_text();
        case.check_ini(&sops_to_psd(c, "ini", Format::Ini, plain.as_bytes(), &case.rules).unwrap())?;
        case.check_ini(&psd_to_sops(c, "ini", Format::Ini, plain.as_bytes(), &case.rules))?;
    }

    #[test]
    fn binary_both_directions(data in proptest::collection::vec(any::<u8>(), 1..300)) {
        let Some(c) = ctx() else { return Ok(()) };
        let rules = Rules { rule: None, mac_only_encrypted: false };
        prop_assert_eq!(&sops_to_psd(c, "bin", Format::Binary, &data, &rules).unwrap(), &data);
        prop_assert_eq!(&psd_to_sops(c, "bin", Format::Binary, &data, &rules), &data);
    }
}

// ---------------------------------------------------------------------------------------
// Property 3: Kubernetes Secrets under encrypted_regex ^(data|stringData)$.

#[derive(Clone, Debug)]
struct Secret {
    name: String,
    namespace: String,
    data: Vec<(String, String)>,
    string_data: Vec<(String, String)>,
}

fn secret() -> impl Strategy<Value = Secret> {
    let entries = || {
        proptest::collection::btree_map("[a-zA-Z0-9._-]{1,20}", "[ -~żółw🐢]{0,40}", 0..6)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
    };
    (
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
        entries(),
        entries(),
    )
        .prop_filter("no data at all", |(_, _, d, s)| {
            !d.is_empty() || !s.is_empty()
        })
        .prop_map(|(name, namespace, data, string_data)| Secret {
            name,
            namespace,
            data: data
                .into_iter()
                .map(|(k, v)| (k, base64_std(v.as_bytes())))
                .collect(),
            string_data,
        })
}

fn base64_std(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in b.chunks(3) {
        let n = u32::from(chunk[0]) << 16
            | u32::from(*chunk.get(1).unwrap_or(&0)) << 8
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

impl Secret {
    fn yaml(&self) -> String {
        let mut out = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {}\n    namespace: {}\ntype: Opaque\n",
            yaml_quote(&self.name),
            yaml_quote(&self.namespace)
        );
        for (field, entries) in [("data", &self.data), ("stringData", &self.string_data)] {
            if entries.is_empty() {
                continue;
            }
            out.push_str(&format!("{field}:\n"));
            for (k, v) in entries {
                out.push_str(&format!("    {}: {}\n", yaml_quote(k), yaml_quote(v)));
            }
        }
        out
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn property_3_kubernetes_secrets(s in secret()) {
        // Library only (no judge needed): a fresh key per run.
        let id = age::x25519::Identity::generate();
        let recipient: Recipient = id.to_public().to_string().parse().unwrap();
        let ids = Identities::parse_key_file(id.to_string().expose_secret()).unwrap();
        let mut opts = EncryptOptions::new(vec![recipient]);
        opts.rule = Some(SelectionRule::from_name("encrypted_regex", "^(data|stringData)$").unwrap());
        let plain = s.yaml();
        let enc = api::encrypt(plain.as_bytes(), Format::Yaml, &opts).unwrap();
        let text = String::from_utf8(enc.clone()).unwrap();

        // Read with an independent YAML parser.
        let doc: Json = serde_saphyr::from_str(&text).unwrap();
        prop_assert_eq!(&doc["apiVersion"], "v1");
        prop_assert_eq!(&doc["kind"], "Secret");
        prop_assert_eq!(&doc["metadata"]["name"], s.name.as_str());
        prop_assert_eq!(&doc["metadata"]["namespace"], s.namespace.as_str());
        prop_assert_eq!(&doc["type"], "Opaque");
        for (field, entries) in [("data", &s.data), ("stringData", &s.string_data)] {
            for (k, v) in entries {
                let got = doc[field][k.as_str()].as_str().unwrap_or_default();
                if v.is_empty() {
                    // sops never encrypts empty strings.
                    prop_assert_eq!(got, "");
                } else {
                    prop_assert!(
                        got.starts_with("ENC[AES256_GCM,data:") && got.ends_with(",type:str]"),
                        "{}.{} not encrypted: {}", field, k, got
                    );
                }
            }
        }
        prop_assert_eq!(&doc["sops"]["encrypted_regex"], "^(data|stringData)$");

        let dec = api::decrypt(&enc, Format::Yaml, &ids, &DecryptOptions::default()).unwrap();
        let back: Json = serde_saphyr::from_str(std::str::from_utf8(&dec.plain).unwrap()).unwrap();
        let orig: Json = serde_saphyr::from_str(&plain).unwrap();
        prop_assert_eq!(back, orig);
    }
}

/// Property 3 also holds through the real sops on a few cases: sops decrypts what the library
/// wrote, and the library decrypts what sops wrote with the same rule.
#[test]
fn property_3_through_sops() {
    let Some(c) = ctx() else { return };
    let mut runner = proptest::test_runner::TestRunner::new(config(8));
    runner
        .run(&secret(), |s| {
            let plain = s.yaml();
            let rules = Rules {
                rule: Some((
                    "--encrypted-regex",
                    "encrypted_regex",
                    "^(data|stringData)$",
                )),
                mac_only_encrypted: false,
            };
            let want: Json = serde_saphyr::from_str(&plain).unwrap();
            for out in [
                psd_to_sops(c, "yaml", Format::Yaml, plain.as_bytes(), &rules),
                sops_to_psd(c, "yaml", Format::Yaml, plain.as_bytes(), &rules).unwrap(),
            ] {
                let got: Json = serde_saphyr::from_str(std::str::from_utf8(&out).unwrap()).unwrap();
                prop_assert_eq!(&got, &want);
            }
            Ok(())
        })
        .unwrap();
}

/// Values of a megabyte and more are encrypted piece by piece, and decrypted with the MAC
/// hashed on a second thread as each piece comes out: both directions through sops, for binary
/// files and for a large YAML string beside small values, with every base64 padding length and
/// a last piece of any size.
#[test]
fn large_values_both_directions() {
    let Some(c) = ctx() else { return };
    let mut runner = proptest::test_runner::TestRunner::new(config(4));
    runner
        .run(&((1usize << 20)..(3 << 20), any::<u64>()), |(len, seed)| {
            // xorshift: megabytes of varied bytes without a megabyte-sized strategy.
            let mut x = seed | 1;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            let rules = Rules {
                rule: None,
                mac_only_encrypted: false,
            };
            prop_assert!(sops_to_psd(c, "bin", Format::Binary, &data, &rules).unwrap() == data);
            prop_assert!(psd_to_sops(c, "bin", Format::Binary, &data, &rules) == data);

            let text = base64_std(&data);
            let plain = format!("small: one\nbig: {text}\nafter: 3\n");
            let want: Json = serde_saphyr::from_str(&plain).unwrap();
            for out in [
                sops_to_psd(c, "yaml", Format::Yaml, plain.as_bytes(), &rules).unwrap(),
                psd_to_sops(c, "yaml", Format::Yaml, plain.as_bytes(), &rules),
            ] {
                let got: Json = serde_saphyr::from_str(std::str::from_utf8(&out).unwrap()).unwrap();
                prop_assert!(got == want);
            }
            Ok(())
        })
        .unwrap();
}
