//! YAML writer in the layout of go-yaml v3's encoder as sops configures it: indentation from
//! the options (default 4), sequences indented inside their parent mapping, a mapping inside a
//! sequence item two columns after the dash, go-yaml's quoting choices, `|`/`|-`/`|+` for
//! multi-line strings, no line folding, comments as `#text` lines (inline ones at the end of
//! the line they were on, as sops 3.13 does).

use super::resolve::{is_base60_float, is_old_bool, resolve_plain_typed};
use crate::error::Error;
use crate::gofmt::format_float_yaml;
use crate::tree::{Branch, Comment, Item, Key, Value};

/// Writes documents; `metadata`, when given, is appended as the last key `sops` of each.
pub(crate) fn emit_documents(
    branches: &[Branch],
    metadata: Option<&Value>,
    indent: usize,
) -> Result<String, Error> {
    let k = indent.clamp(1, 9);
    let mut e = Emitter {
        out: String::new(),
        k,
    };
    for (i, b) in branches.iter().enumerate() {
        if i > 0 {
            e.out.push_str("---\n");
        }
        let mut items: Vec<&Item> = b.iter().collect();
        let sops_item;
        if let Some(m) = metadata {
            sops_item = Item::new("sops", m.clone());
            items.push(&sops_item);
        }
        if items.iter().all(|i| matches!(i.key, Key::Comment(_))) {
            for it in &items {
                if let Key::Comment(c) = &it.key {
                    e.comment_line(0, c);
                }
            }
            e.out.push_str("{}\n");
            continue;
        }
        e.map_body(&items, 0, None)?;
    }
    Ok(e.out)
}

struct Emitter {
    out: String,
    k: usize,
}

/// How a scalar is written.
enum Repr {
    /// On the same line as its key or dash.
    Inline(String),
    /// A literal block with this text.
    Literal(String),
}

impl Emitter {
    fn pad(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn comment_line(&mut self, indent: usize, c: &Comment) {
        // A comment cannot span lines: each line of a multi-line text becomes its own comment.
        for line in c.text.split('\n') {
            self.pad(indent);
            self.out.push('#');
            self.out.push_str(line.strip_suffix('\r').unwrap_or(line));
            self.out.push('\n');
        }
    }

    fn end_line(&mut self, inline: Option<&Comment>) {
        if let Some(c) = inline {
            self.out.push_str(" #");
            self.out.push_str(&c.text);
        }
        self.out.push('\n');
    }

    /// Indentation of a block nested under a mapping whose keys are at `indent` (go-yaml:
    /// the next multiple of the indent step).
    fn child(&self, indent: usize) -> usize {
        self.k * ((indent + self.k) / self.k)
    }

    /// Entries of a mapping at `indent`. When `first_prefix` is set, the first entry goes on
    /// the current line (after a `- `) and comments before it have already been written.
    fn map_body(
        &mut self,
        items: &[&Item],
        indent: usize,
        mut first_prefix: Option<()>,
    ) -> Result<(), Error> {
        let mut i = 0;
        while i < items.len() {
            let item = items[i];
            match &item.key {
                Key::Comment(c) => {
                    // An end-of-line comment stays at the end of the next key's line, except
                    // after `{}`/`[]`, where it would read back as the collection's comment.
                    let next = items.get(i + 1);
                    let fits = next.is_some_and(|n| {
                        matches!(n.key, Key::Name(_))
                            && !matches!(&n.value, Value::Map(m) if m.is_empty())
                            && !matches!(&n.value, Value::List(l) if l.is_empty())
                    });
                    if c.inline && fits {
                        i += 1;
                        self.pair(items[i], indent, first_prefix.take(), Some(c))?;
                    } else {
                        self.comment_line(indent, c);
                    }
                }
                Key::Name(_) => self.pair(item, indent, first_prefix.take(), None)?,
            }
            i += 1;
        }
        Ok(())
    }

    fn pair(
        &mut self,
        item: &Item,
        indent: usize,
        on_current_line: Option<()>,
        inline: Option<&Comment>,
    ) -> Result<(), Error> {
        let Key::Name(name) = &item.key else {
            return Ok(());
        };
        if on_current_line.is_none() {
            self.pad(indent);
        }
        if name == "<<" && !matches!(item.value, Value::Map(_)) {
            // go-yaml writes `!!merge <<:` for every `<<` key, then refuses to read it back
            // unless the value is a mapping ("map merge requires map ..."); a quoted key is an
            // ordinary string key for every reader.
            self.out.push_str("\"<<\"");
        } else {
            self.out.push_str(&key_repr(name));
        }
        self.out.push(':');
        self.value_after_indicator(&item.value, indent, self.child(indent), inline)
    }

    /// Writes a value after `key:` or `-`; `parent` is the column of the key or dash (for a
    /// block scalar's indentation indicator), `child` the column of nested content.
    fn value_after_indicator(
        &mut self,
        v: &Value,
        parent: usize,
        child: usize,
        inline: Option<&Comment>,
    ) -> Result<(), Error> {
        match v {
            Value::Map(m) if m.iter().any(|i| matches!(i.key, Key::Name(_))) => {
                self.end_line(inline);
                let items: Vec<&Item> = m.iter().collect();
                self.map_body(&items, child, None)
            }
            Value::List(l) if !l.is_empty() => {
                self.end_line(inline);
                self.seq_body(l, child)
            }
            Value::Map(m) if !m.is_empty() => {
                // Only comments: keep them inside an explicit empty flow mapping.
                self.end_line(inline);
                for it in m {
                    if let Key::Comment(c) = &it.key {
                        self.comment_line(child, c);
                    }
                }
                self.pad(child);
                self.out.push_str("{}\n");
                Ok(())
            }
            _ => {
                match scalar_repr(v)? {
                    Repr::Inline(s) => {
                        self.out.push(' ');
                        self.out.push_str(&s);
                        self.end_line(inline);
                    }
                    Repr::Literal(text) => {
                        self.literal(&text, parent, child, inline);
                    }
                }
                Ok(())
            }
        }
    }

    fn literal(&mut self, text: &str, parent: usize, child: usize, inline: Option<&Comment>) {
        self.out.push_str(" |");
        if text.starts_with([' ', '\n']) {
            let ind = child.saturating_sub(parent).clamp(1, 9);
            self.out.push(char::from(b'0' + ind as u8));
        }
        let body = if let Some(b) = text.strip_suffix('\n') {
            if b.is_empty() || b.ends_with('\n') {
                self.out.push('+');
            }
            b
        } else {
            self.out.push('-');
            text
        };
        self.end_line(inline);
        for line in body.split('\n') {
            if !line.is_empty() {
                self.pad(child);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }

    /// Elements of a sequence whose dashes are at `indent`.
    fn seq_body(&mut self, items: &[Value], indent: usize) -> Result<(), Error> {
        let mut i = 0;
        while i < items.len() {
            let v = &items[i];
            if let Value::Comment(c) = v {
                let next_is_item = items
                    .get(i + 1)
                    .is_some_and(|n| !matches!(n, Value::Comment(_)));
                if c.inline && next_is_item && is_scalar(&items[i + 1]) {
                    i += 1;
                    self.seq_item(&items[i], indent, Some(c))?;
                } else {
                    self.comment_line(indent, c);
                }
            } else {
                self.seq_item(v, indent, None)?;
            }
            i += 1;
        }
        Ok(())
    }

    fn seq_item(
        &mut self,
        v: &Value,
        indent: usize,
        inline: Option<&Comment>,
    ) -> Result<(), Error> {
        match v {
            Value::Map(m) if m.iter().any(|i| matches!(i.key, Key::Name(_))) => {
                let items: Vec<&Item> = m.iter().collect();
                let first = m
                    .iter()
                    .position(|i| matches!(i.key, Key::Name(_)))
                    .unwrap_or(0);
                // An inline comment directly before the first key stays at the end of its line
                // (not after `{}`/`[]`, see `map_body`).
                let fits = !matches!(&m[first].value, Value::Map(x) if x.is_empty())
                    && !matches!(&m[first].value, Value::List(x) if x.is_empty());
                let lead_end = match first.checked_sub(1).map(|p| &m[p].key) {
                    Some(Key::Comment(c)) if c.inline && fits => first - 1,
                    _ => first,
                };
                self.pad(indent);
                self.out.push('-');
                if let Some(c) = inline {
                    self.out.push_str(" #");
                    self.out.push_str(&c.text);
                    self.out.push('\n');
                    return self.map_body(&items, indent + 2, None);
                }
                if lead_end > 0 {
                    // Comments before the first key: a bare dash, then the comments on their own
                    // lines at the mapping's indentation. go-yaml reads them as head comments of
                    // the first key, so sops keeps them inside the mapping. (go-yaml's own writer
                    // puts them before the dash, where its reader takes them as comments of the
                    // sequence: sops cannot read back its own output in that case.)
                    self.out.push('\n');
                    return self.map_body(&items, indent + 2, None);
                }
                self.out.push(' ');
                self.map_body(&items, indent + 2, Some(()))
            }
            Value::List(l) if l.iter().any(|v| !matches!(v, Value::Comment(_))) => {
                self.pad(indent);
                self.out.push('-');
                if let Some(c) = inline {
                    self.out.push_str(" #");
                    self.out.push_str(&c.text);
                    self.out.push('\n');
                    return self.seq_body(l, indent + 2);
                }
                if matches!(l.first(), Some(Value::Comment(_))) {
                    // Comments before the first element: a bare dash, then the comments and
                    // elements on their own lines (as for a mapping above), so that they stay in
                    // the nested sequence.
                    self.out.push('\n');
                    return self.seq_body(l, indent + 2);
                }
                self.out.push(' ');
                // First element on the dash's line, the rest aligned under it.
                self.seq_item_inline(&l[0], indent + 2)?;
                self.seq_body(&l[1..], indent + 2)
            }
            Value::List(l) if !l.is_empty() => {
                // Only comments.
                self.pad(indent);
                self.out.push_str("-\n");
                for c in l {
                    if let Value::Comment(c) = c {
                        self.comment_line(indent + 2, c);
                    }
                }
                self.pad(indent + 2);
                self.out.push_str("[]\n");
                Ok(())
            }
            _ => {
                self.pad(indent);
                self.out.push('-');
                self.value_after_indicator(v, indent, indent + 2, inline)
            }
        }
    }

    /// The first element of a nested sequence, written right after `- `.
    fn seq_item_inline(&mut self, v: &Value, indent: usize) -> Result<(), Error> {
        // Reuse `seq_item` by writing into a scratch buffer and dropping its padding.
        let mut sub = Emitter {
            out: String::new(),
            k: self.k,
        };
        sub.seq_item(v, indent, None)?;
        let s = sub.out;
        self.out
            .push_str(s.strip_prefix(&" ".repeat(indent)).unwrap_or(&s));
        Ok(())
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Map(_) | Value::List(_) | Value::Comment(_))
}

/// A mapping key as go-yaml writes it.
fn key_repr(name: &str) -> String {
    if name == "<<" {
        return "!!merge <<".into();
    }
    match string_style(name, true) {
        StrStyle::Plain => name.to_string(),
        StrStyle::Single => single_quote(name),
        StrStyle::Double | StrStyle::Literal => double_quote(name),
    }
}

fn scalar_repr(v: &Value) -> Result<Repr, Error> {
    Ok(Repr::Inline(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float_yaml(*f),
        Value::Time(t) => t.to_string(),
        Value::Str(s) => return Ok(string_repr(s)),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => return Ok(string_repr(s)),
            Err(_) => {
                use base64::Engine as _;
                format!(
                    "!!binary {}",
                    base64::engine::general_purpose::STANDARD.encode(b)
                )
            }
        },
        Value::Map(_) => "{}".into(),
        Value::List(_) => "[]".into(),
        Value::Comment(_) => {
            return Err(Error::Emit {
                format: "yaml",
                message: "a comment stands where a mapping value is expected".into(),
            });
        }
    }))
}

fn string_repr(s: &str) -> Repr {
    if s == "<<" {
        return Repr::Inline("!!merge <<".into());
    }
    match string_style(s, false) {
        StrStyle::Plain => Repr::Inline(s.to_string()),
        StrStyle::Single => Repr::Inline(single_quote(s)),
        StrStyle::Double => Repr::Inline(double_quote(s)),
        StrStyle::Literal => Repr::Literal(s.to_string()),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum StrStyle {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml v3: `encoder.stringv` picks plain/literal/double, then the emitter's
/// `analyze_scalar` + `select_scalar_style` may fall back to single or double quotes.
fn string_style(s: &str, simple_key: bool) -> StrStyle {
    let can_plain =
        matches!(resolve_plain_typed(s, false), Ok(None)) && !is_base60_float(s) && !is_old_bool(s);
    let requested = if s.contains('\n') {
        StrStyle::Literal
    } else if can_plain {
        StrStyle::Plain
    } else {
        StrStyle::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if style == StrStyle::Plain
        && (!a.block_plain_allowed || (s.is_empty() && simple_key) || (a.multiline && simple_key))
    {
        style = StrStyle::Single;
    }
    // A line break other than `\n` (`\r`, NEL, U+2028/9) inside single quotes would be folded
    // by a reader: such strings are double-quoted with escapes.
    if style == StrStyle::Single && (!a.single_quoted_allowed || a.multiline) {
        style = StrStyle::Double;
    }
    if style == StrStyle::Literal && (!a.block_allowed || simple_key) {
        style = StrStyle::Double;
    }
    style
}

#[derive(Debug, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `yaml_emitter_analyze_scalar` (block context, unicode on).
fn analyze(s: &str) -> Analysis {
    analyze_simple(s).unwrap_or_else(|| analyze_scan(s))
}

/// The common case without a character-by-character scan: an ASCII word that starts with a
/// letter or digit and has no spaces, breaks, `#` or `: ` (keys, names, base64, `ENC[...]`).
/// [`analyze_scan`] gives every flag `true` (and `multiline` false) for such text; `None` means
/// "not this shape".
fn analyze_simple(s: &str) -> Option<Analysis> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphanumeric() {
        return None;
    }
    // Word bytes and `:` only, checked 32 at a time. With no space or tab allowed, a `:` can
    // only be followed by another word byte, which is fine, or by the end, which is not.
    let simple = crate::scan::run_until(b, |c| !(word_byte(c) | (c == b':'))) == b.len()
        && b.last() != Some(&b':');
    simple.then_some(Analysis {
        multiline: false,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    })
}

/// Bytes that never change go-yaml's analysis after the first position (branch-free, so
/// [`crate::scan::run_until`] can test 32 at a time).
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        | (b == b'_')
        | (b == b'.')
        | (b == b'/')
        | (b == b'+')
        | (b == b'=')
        | (b == b'-')
        | (b == b',')
        | (b == b'[')
        | (b == b']')
}

/// go-yaml's `yaml_emitter_analyze_scalar`.
fn analyze_scan(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let mut preceded_by_ws = true;
    let mut it = s.chars().peekable();
    let mut i = 0usize;
    while let Some(c) = it.next() {
        let next = it.peek().copied();
        let last = next.is_none();
        let followed_by_ws = matches!(next, None | Some(' ' | '\t'));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' | '-' if followed_by_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_ind = true,
                '#' if preceded_by_ws => block_ind = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c);
        i += 1;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_ind {
        a.block_plain_allowed = false;
    }
    a
}

fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// go-yaml's double-quoted writer (no line folding).
fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let esc = !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\';
        if !esc {
            out.push(c);
            continue;
        }
        out.push('\\');
        match c {
            '\0' => out.push('0'),
            '\u{7}' => out.push('a'),
            '\u{8}' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\u{b}' => out.push('v'),
            '\u{c}' => out.push('f'),
            '\r' => out.push('r'),
            '\u{1b}' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{a0}' => out.push('_'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            _ => {
                let v = c as u32;
                if v <= 0xFF {
                    out.push_str(&format!("x{v:02X}"));
                } else if v <= 0xFFFF {
                    out.push_str(&format!("u{v:04X}"));
                } else {
                    out.push_str(&format!("U{v:08X}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut agrees with go-yaml's scan wherever it answers.
        #[test]
        fn simple_analysis_equals_scan(s in "[A-Za-z0-9_./+=,:#\\[\\] \t-]{0,12}|[A-Za-z0-9,:=\\[\\]]{30,90}[ :#]?") {
            if let Some(a) = analyze_simple(&s) {
                prop_assert_eq!(a, analyze_scan(&s));
            }
        }
    }

    #[test]
    fn simple_analysis_answers_common_words() {
        for s in [
            "hunter2",
            "ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]",
            "a:b",
        ] {
            assert!(analyze_simple(s).is_some(), "{s}");
        }
        for s in ["", "a: b", "a:", "-x", "a b", "a#b"] {
            assert!(analyze_simple(s).is_none(), "{s}");
        }
    }

    #[test]
    fn quoting_matches_go_yaml() {
        let cases = [
            ("hello", "hello"),
            ("", "\"\""),
            ("yes", "\"yes\""),
            ("y", "\"y\""),
            ("123", "\"123\""),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            (" x", "' x'"),
            ("*x", "'*x'"),
            ("12:30:00", "\"12:30:00\""),
            ("2019-12-10", "\"2019-12-10\""),
            ("1e3", "\"1e3\""),
            ("0755", "\"0755\""),
            ("~", "\"~\""),
            ("-", "'-'"),
            ("@x", "'@x'"),
            ("x ", "'x '"),
            ("a\tb", "\"a\\tb\""),
            ("café", "café"),
            ("\u{1}", "\"\\x01\""),
            ("1_000", "\"1_000\""),
            (".5", "\".5\""),
            ("- a", "'- a'"),
            ("a, b", "a, b"),
            ("#a", "'#a'"),
            ("a:b", "a:b"),
            ("'", "''''"),
            ("\"", "'\"'"),
            ("a\\b", "a\\b"),
            ("\u{a0}x", "\u{a0}x"),
            ("😀", "\"\\U0001F600\""),
            (
                "ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]",
                "ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]",
            ),
        ];
        for (input, want) in cases {
            match string_repr(input) {
                Repr::Inline(got) => assert_eq!(got, want, "{input:?}"),
                Repr::Literal(..) => panic!("{input:?} became a block"),
            }
        }
        assert!(matches!(string_repr("a\nb"), Repr::Literal(..)));
        assert!(matches!(string_repr("a \nb"), Repr::Inline(s) if s == "\"a \\nb\""));
        assert_eq!(key_repr("y"), "\"y\"");
        assert_eq!(key_repr("key:with:colons"), "key:with:colons");
        assert_eq!(key_repr(""), "\"\"");
        assert_eq!(key_repr("<<"), "!!merge <<");
    }
}
