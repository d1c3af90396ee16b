//! The document tree every store reads into and writes from.
//!
//! This mirrors sops' own model (`sops.go`): a document is a list of *branches* (one per YAML
//! document; every other format has exactly one), a branch is an ordered list of items, and an
//! item's key is either a string or a comment. Order is always preserved; nothing is sorted.

/// A whole file: one [`Branch`] per document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    /// The documents, in file order. YAML may have several; JSON, dotenv, INI and binary one.
    pub branches: Vec<Branch>,
}

/// An ordered mapping. Duplicate keys are representable (JSON keeps them, as sops does).
pub type Branch = Vec<Item>;

/// One entry of a [`Branch`].
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The key, or a comment standing in the mapping.
    pub key: Key,
    /// The value. For a comment item this is [`Value::Null`].
    pub value: Value,
}

impl Item {
    /// A `key: value` item.
    pub fn new(key: impl Into<String>, value: Value) -> Self {
        Self {
            key: Key::Name(key.into()),
            value,
        }
    }

    /// A comment item (its text without the `#`/`;` marker).
    pub fn comment(text: impl Into<String>) -> Self {
        Self {
            key: Key::Comment(Comment::new(text)),
            value: Value::Null,
        }
    }
}

/// The key of an [`Item`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// An ordinary mapping key.
    Name(String),
    /// A comment standing between items of a mapping.
    Comment(Comment),
}

impl Key {
    /// The key's name, or `None` for a comment.
    pub fn name(&self) -> Option<&str> {
        match self {
            Key::Name(n) => Some(n),
            Key::Comment(_) => None,
        }
    }
}

/// A comment: the text after the marker (`#` in YAML/dotenv, `;`/`#` in INI), leading space kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Comment text without the marker. After encryption this is the `ENC[...]` string.
    pub text: String,
    /// An end-of-line comment (`key: value # text`). sops 3.13 writes these back at the end of
    /// the line; older versions moved them to their own line above. Purely presentational.
    pub inline: bool,
}

impl Comment {
    /// A comment on its own line.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            inline: false,
        }
    }
}

/// A value in the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or empty. Never encrypted, never hashed.
    Null,
    /// Boolean; encrypted/hashed as `True`/`False`.
    Bool(bool),
    /// 64-bit integer; encrypted/hashed as decimal.
    Int(i64),
    /// Float; encrypted/hashed in Go's `FormatFloat(v, 'f', -1, 64)` form.
    Float(f64),
    /// A string. Encrypted as `type:str`.
    Str(String),
    /// Raw bytes that need not be UTF-8 (binary store, `!!binary`). Encrypted as `type:str`.
    Bytes(Vec<u8>),
    /// A timestamp (YAML only, sops ≥ 3.10). Encrypted as `type:time`.
    Time(Timestamp),
    /// A comment that is an element of a list.
    Comment(Comment),
    /// A nested mapping.
    Map(Branch),
    /// A sequence.
    List(Vec<Value>),
}

/// A timestamp as go-yaml v3 resolves it, kept in its own components so it can be written back
/// in Go's `time.MarshalText` (RFC 3339 with nanoseconds, trailing zeros dropped) form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–60.
    pub second: u8,
    /// Nanoseconds 0–999 999 999.
    pub nanosecond: u32,
    /// Offset from UTC in seconds; `0` is written as `Z`. A timestamp without a zone is UTC.
    pub offset_seconds: i32,
}
