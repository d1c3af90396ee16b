//! The INI store (format spec 9.5), compatible with sops' `stores/ini`, which uses go-ini v1
//! (`gopkg.in/ini.v1`) with `AllowNonUniqueSections` and otherwise default options.
//!
//! The tree has one item per section, starting with go-ini's implicit `DEFAULT` section (keys
//! before the first header; empty if there are none), each a map of the section's keys in
//! order. All values are strings. A section's comment becomes a comment item first in the
//! section; a key's comment (the comment lines above it, plus an inline `; ...` after an
//! unquoted value) becomes a comment item right **after** the key. Leading `;`/`#` and spaces
//! are stripped from comment text.
//!
//! go-ini's reading rules are reproduced, lossy parts included: `=` and `:` both separate key and
//! value, keys and unquoted values are trimmed, an unquoted value is cut at the first `#` or `;`
//! (the rest becomes the key's comment), one pair of surrounding `"` or `'` is removed, values in
//! `` ` `` or `"""` are taken verbatim (`"""` may span lines), a trailing `\` continues the value
//! on the next line, a repeated key in a section overwrites the value in place, and a repeated
//! section header starts another section of the same name.
//!
//! Writing is go-ini's `WriteTo`: no header for a leading `DEFAULT` section (omitted when empty),
//! `=` aligned within a section, values quoted when go-ini would (`"""` for newlines or
//! backticks, `` ` `` for `#`/`;`, `"` for surrounding spaces), comments written as `; text`
//! above their key, and a blank line between sections.
//!
//! The metadata is a `[sops]` section, flattened without prefix; newlines in its values are
//! written as the two characters `\n` (3.13.2 and ≤ 3.12) and both that form and the `"""`
//! multi-line form of 3.13.0/3.13.1 are read.

use crate::error::Error;
use crate::flatten::{flatten, scalar_to_string, unflatten};
use crate::store::{Store, StoreOptions};
use crate::tree::{Branch, Item, Key, Tree, Value};

const DEFAULT_SECTION: &str = "DEFAULT";
const SOPS_SECTION: &str = "sops";

/// Reads and writes INI files.
#[derive(Clone, Debug)]
pub struct IniStore {
    #[allow(dead_code)]
    options: StoreOptions,
}

impl IniStore {
    /// A store with these output options (INI has none).
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }
}

impl Store for IniStore {
    fn load_plain(&self, input: &[u8]) -> Result<Tree, Error> {
        let branch = tree_from_sections(parse(input)?);
        if branch.iter().any(|i| i.key.name() == Some(SOPS_SECTION)) {
            return Err(Error::AlreadyEncrypted);
        }
        Ok(Tree {
            branches: vec![branch],
        })
    }

    fn load_encrypted(&self, input: &[u8]) -> Result<(Tree, Value), Error> {
        let branch = tree_from_sections(parse(input)?);
        let (branch, metadata) = crate::stores::json::extract_metadata(branch, "ini")?;
        let Value::Map(items) = metadata else {
            return Err(Error::MetadataNotFound);
        };
        let pairs = items.into_iter().filter_map(|item| match item.key {
            Key::Name(k) => Some((k, scalar_to_string(&item.value).replace("\\n", "\n"))),
            Key::Comment(_) => None,
        });
        let metadata = unflatten(pairs, "ini")?;
        Ok((
            Tree {
                branches: vec![branch],
            },
            metadata,
        ))
    }

    /// The sections of every branch, in order (sops' `encodeTree` walks all branches, so a
    /// multi-document YAML tree becomes one INI file).
    fn emit_plain(&self, tree: &Tree) -> Result<Vec<u8>, Error> {
        let items = tree.branches.iter().flatten();
        Ok(write(&sections_from_tree(items)?).into_bytes())
    }

    /// Like [`Store::emit_plain`], then one `[sops]` section. (sops would append it after every
    /// branch and then fail to read its own output; one section keeps the file readable.)
    fn emit_encrypted(&self, tree: &Tree, metadata: &Value) -> Result<Vec<u8>, Error> {
        let branch: Vec<&Item> = tree.branches.iter().flatten().collect();
        if branch.iter().any(|i| i.key.name() == Some(SOPS_SECTION)) {
            return Err(emit_error(
                "Found key \"sops\" in encrypted data, which is a reserved key used for SOPS metadata".into(),
            ));
        }
        let meta: Branch = flatten(metadata, "")?
            .into_iter()
            .map(|(k, v)| Item::new(k, Value::Str(v.replace('\n', "\\n"))))
            .collect();
        let sops_item = Item::new(SOPS_SECTION, Value::Map(meta));
        let sections = sections_from_tree(branch.into_iter().chain(std::iter::once(&sops_item)))?;
        Ok(write(&sections).into_bytes())
    }
}

fn emit_error(message: String) -> Error {
    Error::Emit {
        format: "ini",
        message,
    }
}

/// One go-ini section.
#[derive(Debug, Default)]
struct Section {
    name: String,
    comment: String,
    keys: Vec<IniKey>,
}

#[derive(Debug)]
struct IniKey {
    name: String,
    value: String,
    comment: String,
}

impl Section {
    fn new(name: String) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    /// go-ini `NewKey` without shadows: a repeated name keeps its place and takes the new value.
    fn new_key(&mut self, name: String, value: String) -> &mut IniKey {
        let idx = match self.keys.iter().position(|k| k.name == name) {
            Some(i) => {
                self.keys[i].value = value;
                i
            }
            None => {
                self.keys.push(IniKey {
                    name,
                    value,
                    comment: String::new(),
                });
                self.keys.len() - 1
            }
        };
        &mut self.keys[idx]
    }
}

fn strip_comment_char(comment: &str) -> String {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' ']).to_owned()
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' ']).to_owned()
    } else {
        comment.to_owned()
    }
}

fn tree_from_sections(sections: Vec<Section>) -> Branch {
    sections
        .into_iter()
        .map(|s| {
            let mut items = Vec::with_capacity(s.keys.len() + 1);
            if !s.comment.is_empty() {
                items.push(Item::comment(strip_comment_char(&s.comment)));
            }
            for k in s.keys {
                items.push(Item::new(k.name, Value::Str(k.value)));
                if !k.comment.is_empty() {
                    items.push(Item::comment(strip_comment_char(&k.comment)));
                }
            }
            Item::new(s.name, Value::Map(items))
        })
        .collect()
}

/// sops' `encodeTree`: sections in tree order, a leading comment item is the section comment,
/// a later comment item is the comment of the key before it (the last one wins).
fn sections_from_tree<'a>(items: impl Iterator<Item = &'a Item>) -> Result<Vec<Section>, Error> {
    let mut sections = Vec::new();
    for item in items {
        let Key::Name(name) = &item.key else { continue };
        if name.is_empty() {
            return Err(emit_error(
                "Error encoding section : empty section name".into(),
            ));
        }
        let Value::Map(entries) = &item.value else {
            return Err(emit_error(format!(
                "Error encoding section {name}: Section values should always be TreeBranches"
            )));
        };
        let mut section = Section::new(name.clone());
        let mut rest = &entries[..];
        if let Some(Item {
            key: Key::Comment(c),
            ..
        }) = entries.first()
        {
            section.comment = c.text.clone();
            rest = &entries[1..];
        }
        let mut last: Option<usize> = None;
        for entry in rest {
            match &entry.key {
                Key::Comment(c) => {
                    if let Some(i) = last {
                        section.keys[i].comment = c.text.clone();
                    }
                }
                Key::Name(k) => {
                    if k.is_empty() {
                        return Err(emit_error(
                            "Error encoding key: error creating new key: empty key name".into(),
                        ));
                    }
                    if matches!(entry.value, Value::Map(_) | Value::List(_)) {
                        return Err(emit_error(format!(
                            "cannot use a nested value in an INI file; offending key {name}.{k}"
                        )));
                    }
                    let value = scalar_to_string(&entry.value);
                    section.new_key(k.clone(), value);
                    last = section.keys.iter().position(|x| &x.name == k);
                }
            }
        }
        sections.push(section);
    }
    Ok(sections)
}

fn write_comment(out: &mut String, comment: &str, trim: bool) {
    for line in comment.split('\n') {
        match line.as_bytes().first() {
            Some(b'#' | b';') => {
                out.push_str(&line[..1]);
                out.push(' ');
                out.push_str(line[1..].trim());
            }
            _ => {
                out.push_str("; ");
                out.push_str(if trim { line.trim() } else { line });
            }
        }
        out.push('\n');
    }
}

/// go-ini `File.WriteTo` with its default (pretty) settings.
fn write(sections: &[Section]) -> String {
    let mut out = String::new();
    let last = sections.len().saturating_sub(1);
    for (i, sec) in sections.iter().enumerate() {
        if !sec.comment.is_empty() {
            write_comment(&mut out, &sec.comment, false);
        }
        if i > 0 || sec.name.to_uppercase() != DEFAULT_SECTION {
            out.push('[');
            out.push_str(&sec.name);
            out.push_str("]\n");
        } else if sec.keys.is_empty() {
            continue;
        }
        let quoted_name = |n: &str| -> String {
            if n.contains('"') || n.contains(['=', ':']) {
                format!("`{n}`")
            } else if n.contains('`') {
                format!("\"\"\"{n}\"\"\"")
            } else {
                n.to_owned()
            }
        };
        let align = sec
            .keys
            .iter()
            .map(|k| quoted_name(&k.name).len())
            .max()
            .unwrap_or(0);
        for key in &sec.keys {
            if !key.comment.is_empty() {
                write_comment(&mut out, &key.comment, true);
            }
            let name = quoted_name(&key.name);
            out.push_str(&name);
            out.extend(std::iter::repeat_n(' ', align - name.len()));
            out.push_str(" = ");
            let v = &key.value;
            if v.contains(['\n', '`']) {
                out.push_str("\"\"\"");
                out.push_str(v);
                out.push_str("\"\"\"");
            } else if v.contains(['#', ';']) {
                out.push('`');
                out.push_str(v);
                out.push('`');
            } else if v.trim().len() != v.len() {
                out.push('"');
                out.push_str(v);
                out.push('"');
            } else {
                out.push_str(v);
            }
            out.push('\n');
        }
        if i != last {
            out.push('\n');
        }
    }
    out
}

/// go-ini's line reader over the whole input.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
    eof: bool,
    line: usize,
    comment: String,
}

impl<'a> Reader<'a> {
    /// The next line with its `\n`; at the end, the rest (possibly empty) and `eof` set.
    fn read_line(&mut self) -> &'a str {
        let rest = &self.s[self.pos..];
        self.line += 1;
        match rest.find('\n') {
            Some(i) => {
                self.pos += i + 1;
                &rest[..=i]
            }
            None => {
                self.pos = self.s.len();
                self.eof = true;
                rest
            }
        }
    }

    fn error(&self, message: &str) -> Error {
        Error::Parse {
            format: "ini",
            message: message.to_owned(),
            line: Some(self.line),
            column: None,
        }
    }

    /// `readValue` of go-ini with sops' options.
    fn read_value(&mut self, input: &'a str) -> Result<String, Error> {
        let line = input.trim_start();
        if line.is_empty() {
            return Ok(String::new());
        }
        let quote = if line.len() > 3 && line.starts_with("\"\"\"") {
            Some("\"\"\"")
        } else if line.starts_with('`') {
            Some("`")
        } else {
            None
        };
        if let Some(q) = quote {
            let body = &line[q.len()..];
            return match body.rfind(q) {
                Some(pos) => Ok(body[..pos].to_owned()),
                None => self.read_multilines(body.to_owned(), q),
            };
        }
        let line = line.trim();
        if let Some(stripped) = line.strip_suffix('\\') {
            return self.read_continuation(stripped.to_owned());
        }
        let mut line = line;
        if let Some(i) = line.find(['#', ';']) {
            self.comment.push_str(&line[i..]);
            line = line[..i].trim();
        }
        let b = line.as_bytes();
        let surrounded = |q: u8| {
            b.len() >= 2
                && b[0] == q
                && b[b.len() - 1] == q
                && line[1..].find(q as char) == Some(b.len() - 2)
        };
        if surrounded(b'\'') || surrounded(b'"') {
            line = &line[1..line.len() - 1];
        }
        Ok(line.to_owned())
    }

    fn read_multilines(&mut self, mut val: String, quote: &str) -> Result<String, Error> {
        loop {
            let next = self.read_line();
            if let Some(pos) = next.rfind(quote) {
                val.push_str(&next[..pos]);
                if let Some(c) = clean_comment(&next[pos..]) {
                    self.comment.push_str(c.trim());
                }
                return Ok(val);
            }
            val.push_str(next);
            if self.eof {
                return Err(self.error("missing closing quote of a multi-line value"));
            }
        }
    }

    fn read_continuation(&mut self, mut val: String) -> Result<String, Error> {
        loop {
            let next = self.read_line().trim();
            if next.is_empty() {
                break;
            }
            val.push_str(next);
            if !val.ends_with('\\') {
                break;
            }
            val.pop();
        }
        Ok(val)
    }
}

fn clean_comment(s: &str) -> Option<&str> {
    s.find(['#', ';']).map(|i| &s[i..])
}

/// go-ini `readKeyName` with delimiters `=` and `:`: the key (trimmed, quotes removed) and the
/// offset of the value.
fn read_key_name(r: &Reader<'_>, line: &str) -> Result<(String, usize), Error> {
    let quote = if line.starts_with('"') {
        if line.len() > 6 && line.starts_with("\"\"\"") {
            Some("\"\"\"")
        } else {
            Some("\"")
        }
    } else if line.starts_with('`') {
        Some("`")
    } else {
        None
    };
    if let Some(q) = quote {
        let start = q.len();
        let Some(pos) = line[start..].find(q) else {
            return Err(r.error("missing closing key quote"));
        };
        let pos = pos + start;
        let Some(i) = line.get(pos + start..).and_then(|s| s.find(['=', ':'])) else {
            return Err(r.error("key-value delimiter not found"));
        };
        let end = pos + i;
        return Ok((line[start..pos].trim().to_owned(), end + start + 1));
    }
    match line.find(['=', ':']) {
        None => Err(r.error(
            "key-value delimiter not found: every line must be a [section], a comment or key = value",
        )),
        Some(0) => Err(r.error("empty key name")),
        Some(end) => Ok((line[..end].trim().to_owned(), end + 1)),
    }
}

/// Parses INI text as go-ini does for sops.
fn parse(input: &[u8]) -> Result<Vec<Section>, Error> {
    let input = match input {
        [0xEF, 0xBB, 0xBF, rest @ ..] => rest,
        [0xFE, 0xFF, rest @ ..] | [0xFF, 0xFE, rest @ ..] => rest,
        other => other,
    };
    let text = std::str::from_utf8(input).map_err(|e| Error::Parse {
        format: "ini",
        message: "the file is not valid UTF-8".into(),
        line: Some(
            input[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
        ),
        column: None,
    })?;
    let mut r = Reader {
        s: text,
        pos: 0,
        eof: false,
        line: 0,
        comment: String::new(),
    };
    let mut sections = vec![Section::new(DEFAULT_SECTION.to_owned())];
    let mut count = 1usize;
    while !r.eof {
        let line = r.read_line().trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(['#', ';']) {
            r.comment.push_str(line);
            continue;
        }
        if line.starts_with('[') {
            let Some(close) = line.rfind(']') else {
                return Err(r.error("unclosed section header"));
            };
            let name = &line[1..close];
            if name.is_empty() {
                return Err(r.error("empty section name"));
            }
            if let Some(c) = clean_comment(&line[close + 1..]) {
                r.comment.push_str(c);
            }
            let mut section = Section::new(name.to_owned());
            section.comment = r.comment.trim().to_owned();
            r.comment.clear();
            count = 1;
            sections.push(section);
            continue;
        }
        let (mut name, offset) = read_key_name(&r, line)?;
        if name == "-" {
            name = format!("#{count}");
            count += 1;
        }
        let value = r.read_value(&line[offset..])?;
        if name.is_empty() {
            return Err(r.error("error creating new key: empty key name"));
        }
        let comment = r.comment.trim().to_owned();
        r.comment.clear();
        let section = sections.last_mut().ok_or_else(|| r.error("no section"))?;
        section.new_key(name, value).comment = comment;
    }
    Ok(sections)
}

#[cfg(test)]
mod tests;
