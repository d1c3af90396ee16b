//! The JSON store (format spec 9.3), byte-compatible with sops' `stores/json`.
//!
//! Reading keeps key order and duplicate keys (sops does not check them), decodes integers that
//! fit `i64` as [`Value::Int`] and every other number as [`Value::Float`] (sops 3.13.2), and
//! refuses a top level that is not an object. Like Go's `json.Decoder` as sops drives it,
//! anything after the closing `}` of the top-level object is not looked at.
//!
//! Writing reproduces sops exactly: the tree is serialised compactly with Go's `json.Marshal`
//! escaping and then re-indented the way Go's `json.Indent` does it (one element per line, a tab
//! or N spaces per level, `"key": value` with one space, `{}`/`[]` for empty containers), with a
//! trailing newline. Comment items are skipped. The `sops` metadata object comes last, so Flux
//! finds `"mac": "ENC[` with exactly one space.

use crate::error::Error;
use crate::gofmt::format_float_json;
use crate::store::{Store, StoreOptions};
use crate::tree::{Branch, Item, Key, Tree, Value};

/// Nesting deeper than this is refused while parsing (Go's decoder allows 10 000; we keep the
/// recursive parser, emitter and drop well inside a default 2 MiB thread stack, even in
/// unoptimised builds).
pub(crate) const MAX_DEPTH: usize = 256;

/// The metadata key at the top level of JSON (and YAML) documents.
const SOPS_KEY: &str = "sops";

/// Reads and writes JSON files.
#[derive(Clone, Debug)]
pub struct JsonStore {
    options: StoreOptions,
}

impl JsonStore {
    /// A store with these output options (`json_indent`).
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }
}

impl Store for JsonStore {
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error> {
        let branch = parse_object(input)?;
        if branch.iter().any(|i| i.key.name() == Some(SOPS_KEY)) {
            return Err(Error::AlreadyEncrypted);
        }
        Ok(Tree {
            branches: vec![branch],
        })
    }

    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error> {
        let branch = parse_object(input)?;
        let (branch, metadata) = extract_metadata(branch, "json")?;
        Ok((
            Tree {
                branches: vec![branch],
            },
            metadata,
        ))
    }

    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        let branch = tree.branches.first().map(Vec::as_slice).unwrap_or(&[]);
        write_document(branch, None, self.options.json_indent)
    }

    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error> {
        let branch = tree.branches.first().map(Vec::as_slice).unwrap_or(&[]);
        write_document(branch, Some(metadata), self.options.json_indent)
    }
}

/// Removes the top-level `sops` entry and returns it (sops' `ExtractMetadata` for unflattened
/// formats): a second one is an error, and so is one that is not a mapping.
pub(crate) fn extract_metadata(
    branch: Branch,
    format: &'static str,
) -> Result<(Branch, Value), Error> {
    let mut metadata = None;
    let mut rest = Vec::with_capacity(branch.len());
    for item in branch {
        if item.key.name() == Some(SOPS_KEY) {
            if metadata.is_some() {
                return Err(parse_error(format, "Found duplicate sops entry"));
            }
            match item.value {
                Value::Map(_) => metadata = Some(item.value),
                _ => {
                    return Err(parse_error(
                        format,
                        "Found sops entry that is not a mapping",
                    ));
                }
            }
        } else {
            rest.push(item);
        }
    }
    match metadata {
        Some(m) => Ok((rest, m)),
        None => Err(Error::MetadataNotFound),
    }
}

fn parse_error(format: &'static str, message: &str) -> Error {
    Error::Parse {
        format,
        message: message.to_owned(),
        line: None,
        column: None,
    }
}

/// Writes a whole JSON document: the branch, then `sops` (if any), indented, newline-terminated.
pub(crate) fn write_document(
    branch: &[Item],
    metadata: Option<&Value>,
    indent: Option<usize>,
) -> Result<Vec<u8>, Error> {
    if metadata.is_some() && branch.iter().any(|i| i.key.name() == Some(SOPS_KEY)) {
        return Err(Error::Emit {
            format: "json",
            message: "Found key \"sops\" in encrypted data, which is a reserved key used for SOPS metadata".into(),
        });
    }
    let mut w = Writer {
        out: String::new(),
        indent: match indent {
            None => "\t".to_owned(),
            Some(n) => " ".repeat(n),
        },
    };
    let sops_item;
    let mut items: Vec<&Item> = branch.iter().collect();
    if let Some(m) = metadata {
        sops_item = Item::new(SOPS_KEY, m.clone());
        items.push(&sops_item);
    }
    w.object(items.into_iter(), 0)?;
    w.out.push('\n');
    Ok(w.out.into_bytes())
}

struct Writer {
    out: String,
    indent: String,
}

impl Writer {
    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str(&self.indent);
        }
    }

    fn object<'a>(
        &mut self,
        items: impl Iterator<Item = &'a Item>,
        depth: usize,
    ) -> Result<(), Error> {
        self.out.push('{');
        let mut empty = true;
        for item in items {
            let Key::Name(name) = &item.key else { continue };
            if !empty {
                self.out.push(',');
            }
            self.newline(depth + 1);
            go_json_string(name.as_bytes(), &mut self.out);
            self.out.push_str(": ");
            self.value(&item.value, depth + 1)?;
            empty = false;
        }
        if !empty {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), Error> {
        match value {
            Value::Null | Value::Comment(_) => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(Error::Emit {
                        format: "json",
                        message: "json: unsupported value: a float that is infinite or NaN".into(),
                    });
                }
                self.out.push_str(&format_float_json(*f));
            }
            Value::Str(s) => go_json_string(s.as_bytes(), &mut self.out),
            Value::Bytes(b) => go_json_string(b, &mut self.out),
            Value::Time(t) => go_json_string(t.to_string().as_bytes(), &mut self.out),
            Value::Map(items) => self.object(items.iter(), depth)?,
            Value::List(values) => {
                self.out.push('[');
                let mut empty = true;
                for v in values {
                    if matches!(v, Value::Comment(_)) {
                        continue;
                    }
                    if !empty {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.value(v, depth + 1)?;
                    empty = false;
                }
                if !empty {
                    self.newline(depth);
                }
                self.out.push(']');
            }
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string exactly as Go's `json.Marshal` (HTML escaping on) writes it:
/// `"`, `\` and control characters escaped (`\b \f \n \r \t`, others `\u00XX`), `<`, `>`, `&`
/// as `\u003c`, `\u003e`, `\u0026`, U+2028/U+2029 as `\u2028`/`\u2029`, each invalid UTF-8
/// byte as `\ufffd`, all other non-ASCII text raw.
pub fn go_json_string(s: &[u8], out: &mut String) {
    out.push('"');
    let mut rest = s;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(v) => (v, 0),
            Err(e) => {
                let (v, _) = rest.split_at(e.valid_up_to());
                // SAFETY of the unwrap-free path: `valid_up_to` bytes are valid UTF-8.
                let v = std::str::from_utf8(v).unwrap_or_default();
                (v, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        escape_valid(valid, out);
        // Go replaces each byte of an invalid sequence by one U+FFFD (DecodeRune size 1).
        for _ in 0..bad {
            out.push_str("\\ufffd");
        }
        rest = &rest[valid.len() + bad..];
    }
    out.push('"');
}

/// The escaping of [`go_json_string`] for valid UTF-8: runs of bytes that need no escape are
/// copied in one go (this is the hot path for the multi-megabyte `data` of binary files).
fn escape_valid(valid: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = valid.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        // Skip ordinary bytes 16 at a time: a `match` per byte compiles to an indirect jump
        // that mispredicts on base64 text.
        i += crate::scan::run_until(&b[i..], |c| {
            (c < 0x20)
                | (c == b'"')
                | (c == b'\\')
                | (c == b'<')
                | (c == b'>')
                | (c == b'&')
                | (c == 0xe2)
        });
        if i >= b.len() {
            break;
        }
        let c = b[i];
        let escape: Option<&str> = match c {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            b'<' | b'>' | b'&' | 0..=0x1f => Some(""),
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
            0xe2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) => {
                Some(if b[i + 2] == 0xa8 {
                    "\\u2028"
                } else {
                    "\\u2029"
                })
            }
            _ => None,
        };
        let Some(esc) = escape else {
            i += 1;
            continue;
        };
        out.push_str(&valid[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 0xf) as usize] as char);
            i += 1;
        } else {
            out.push_str(esc);
            i += if c == 0xe2 { 3 } else { 1 };
        }
        start = i;
    }
    out.push_str(&valid[start..]);
}

/// Turns bytes into a string the way Go does when it decodes text: every byte of an invalid
/// UTF-8 sequence becomes one U+FFFD.
pub(crate) fn go_lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut out = String::with_capacity(bytes.len() + 8);
            let mut rest = &bytes[..];
            loop {
                match std::str::from_utf8(rest) {
                    Ok(v) => {
                        out.push_str(v);
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                        let bad = e.error_len().unwrap_or(rest.len() - good);
                        for _ in 0..bad {
                            out.push('\u{FFFD}');
                        }
                        rest = &rest[good + bad..];
                    }
                }
            }
            out
        }
    }
}

/// Parses a JSON document whose top level must be an object, keeping order and duplicates.
pub(crate) fn parse_object(input: &[u8]) -> Result<Branch, Error> {
    let mut p = Parser {
        s: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    match p.peek() {
        Some(b'{') => {
            p.pos += 1;
            p.object_body()
        }
        None => Err(p.error("unexpected end of JSON input")),
        Some(b'[') => Err(p.error(
            "SOPS only supports JSON files with a top-level object (starting with '{'), not arrays or other types. Got delimiter [ instead. To encrypt this file, wrap it in an object, e.g., {\"data\": [...]}",
        )),
        Some(_) => {
            // Validate the scalar first so syntax errors are reported as such.
            p.value()?;
            Err(p.error(
                "SOPS only supports JSON files with a top-level object (starting with '{'), not other JSON types",
            ))
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn error(&self, message: &str) -> Error {
        let upto = &self.s[..self.pos.min(self.s.len())];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&upto[line_start..]).chars().count() + 1;
        Error::Parse {
            format: "json",
            message: message.to_owned(),
            line: Some(line),
            column: Some(column),
        }
    }

    fn unexpected(&self) -> Error {
        match self.peek() {
            None => self.error("unexpected end of JSON input"),
            Some(_) => self.error("invalid character"),
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("exceeded max depth"));
        }
        Ok(())
    }

    /// After the opening `{`.
    fn object_body(&mut self) -> Result<Branch, Error> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(items);
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            items.push(Item::new(key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected()),
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Map(self.object_body()?))
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let mut values = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        values.push(self.value()?);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.unexpected()),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::List(values))
            }
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, Error> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            let matched = word
                .iter()
                .zip(&self.s[self.pos..])
                .take_while(|(a, b)| a == b)
                .count();
            self.pos += matched;
            Err(self.unexpected())
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected()),
        }
        let mut integral = true;
        if self.peek() == Some(b'.') {
            integral = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected());
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected());
            }
        }
        // The bytes matched above are ASCII.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default();
        if integral && let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(self.error("number out of range for a 64-bit float")),
        }
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.error("invalid character in \\u escape")),
            };
            v = v * 16 + u16::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// At the opening quote. Invalid UTF-8 and lone surrogates become U+FFFD, as in Go.
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1;
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unexpected end of JSON input"));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.error("unexpected end of JSON input"));
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) {
                                // A high surrogate needs a following low one.
                                let save = self.pos;
                                if self.s[self.pos..].starts_with(b"\\u") {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        let cp = 0x10000
                                            + ((u32::from(hi) - 0xD800) << 10)
                                            + (u32::from(lo) - 0xDC00);
                                        char::from_u32(cp).unwrap_or('\u{FFFD}')
                                    } else {
                                        self.pos = save;
                                        '\u{FFFD}'
                                    }
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(u32::from(hi)).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("invalid character in string escape code"));
                        }
                    };
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                0..=0x1f => return Err(self.error("invalid character in string literal")),
                _ => {
                    // Copy a run of ordinary bytes.
                    let start = self.pos;
                    let run = crate::scan::run_until(&self.s[start..], |b| {
                        (b == b'"') | (b == b'\\') | (b < 0x20)
                    });
                    self.pos += run;
                    buf.extend_from_slice(&self.s[start..self.pos]);
                }
            }
        }
        Ok(go_lossy(buf))
    }
}

#[cfg(test)]
mod tests;
