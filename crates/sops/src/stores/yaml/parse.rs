//! A YAML parser for the subset real configuration files use (block and flow collections, all
//! scalar styles, anchors/aliases, tags, several documents, comments) that keeps what sops
//! needs and a serde value type loses: the raw text, style and tag of every scalar, and every
//! comment, already placed where go-yaml v3 + sops place it (see `docs/decisions/0001`).
//!
//! Aliases are expanded while parsing (sops copies the aliased node). Errors carry 1-based
//! line/column and never quote a scalar of the file.
//!
//! Public so that other tools (`psd-lint`) read YAML exactly as the stores do, with the
//! position of every node: [`parse_stream`] gives one optional root [`Node`] per document.

use std::collections::HashMap;

use super::resolve::Style;
use crate::tree::Comment;

/// A parsed node (aliases already expanded).
#[derive(Clone, Debug)]
pub struct Node {
    /// What the node is.
    pub kind: Kind,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Node kinds.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A scalar with its text (escapes and folding applied), style and explicit tag.
    Scalar {
        /// The value's text, escapes and folding applied.
        text: String,
        /// How it was written.
        style: Style,
        /// The explicit tag (`!!str`, `!custom`), if any.
        tag: Option<String>,
    },
    /// A mapping: pairs and comments in file order.
    Map(Vec<MapEntry>),
    /// A sequence: items and comments in file order.
    Seq(Vec<SeqEntry>),
}

/// One entry of a mapping.
#[derive(Clone, Debug)]
pub enum MapEntry {
    /// A comment placed in this mapping.
    Comment(Comment),
    /// `key: value`.
    Pair(Node, Node),
}

/// One entry of a sequence.
#[derive(Clone, Debug)]
pub enum SeqEntry {
    /// A comment placed in this sequence.
    Comment(Comment),
    /// An element.
    Item(Node),
}

/// A parse error: message (no file content) and 1-based position.
#[derive(Debug)]
pub struct ParseError {
    /// What is wrong, without quoting the file.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

type Result<T> = std::result::Result<T, ParseError>;

/// Alias expansion is budgeted by size, after go-yaml v3's rule in `decode.go`: the share of
/// the document that comes from alias expansion may be 99% up to a size of
/// [`ALIAS_RATIO_LOW`], then less and less, down to 10% from [`ALIAS_RATIO_HIGH`] on (go-yaml
/// counts decoded nodes; we count bytes, see [`node_cost`], so that a long scalar copied many
/// times counts for its length). Expansions below [`ALIAS_CHECK_MIN`] are always allowed.
/// Copying stops before the limit is crossed, so memory stays bounded by a small multiple of the
/// input size plus about [`ALIAS_RATIO_LOW`].
const ALIAS_RATIO_LOW: usize = 16 << 20;
/// See [`ALIAS_RATIO_LOW`].
const ALIAS_RATIO_HIGH: usize = 160 << 20;
/// See [`ALIAS_RATIO_LOW`].
const ALIAS_CHECK_MIN: usize = 1 << 20;
/// Characters are counted from these byte offsets on (see [`Parser::chars_before`]).
const CHAR_MARK_STEP: usize = 256;
/// Maximum nesting depth of collections. Real configuration files stay far below; the limit
/// keeps the recursive descent within a 2 MiB thread stack even in debug builds.
const MAX_DEPTH: usize = 64;

/// Parses a whole stream into its documents; `None` is an empty document.
pub fn parse_stream(src: &str) -> Result<Vec<Option<Node>>> {
    let mut text = src.strip_prefix('\u{feff}').unwrap_or(src).to_string();
    if text.contains('\r') {
        text = text.replace("\r\n", "\n").replace('\r', "\n");
    }
    // go-yaml's reader refuses control characters anywhere in the stream.
    // Printable ASCII needs no decoding; anything else is checked as a char.
    let ascii_ok = |c: u8| matches!(c, 0x9 | 0xA | 0xD | 0x20..=0x7E);
    let bad = if text.bytes().all(ascii_ok) {
        None
    } else {
        text.char_indices().find(|&(_, c)| {
            !matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
        })
    };
    if let Some((i, _)) = bad {
        let p = Parser::new(&text);
        return Err(p.err_at(i, "control characters are not allowed"));
    }
    let mut p = Parser::new(&text);
    p.stream()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// After `key:`.
    MapValue,
    /// After `- `.
    SeqItem,
    /// After `---` or at the start of a document.
    Root,
    /// After `? `.
    ExplicitKey,
}

struct Pending {
    comment: Comment,
    col: usize,
    /// Stack depth of the block this comment was assigned to as a foot comment.
    depth: Option<usize>,
}

struct Block {
    indent: usize,
    seq: bool,
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    line_starts: Vec<usize>,
    /// The line [`Parser::line_idx`] found last.
    line_hint: std::cell::Cell<usize>,
    pending: Vec<Pending>,
    /// Anchored nodes with their [`node_cost`].
    anchors: HashMap<String, (Node, usize)>,
    /// Total [`node_cost`] of the nodes read from the input (not copied by an alias).
    read_cost: std::cell::Cell<usize>,
    /// Total [`node_cost`] of the nodes copied by aliases.
    alias_cost: usize,
    /// For non-ASCII input: the number of characters before every [`CHAR_MARK_STEP`]-th byte,
    /// so that a column is found in constant time even on a very long line.
    char_marks: Option<Vec<usize>>,
    stack: Vec<Block>,
    depth: usize,
    /// Foot comments were already assigned for the current dedent.
    assigned: bool,
    /// The comment after the header of the block scalar just read.
    header_comment: Option<Comment>,
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_flow_ind(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let s = src.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        loop {
            i += crate::scan::run_until(&s[i..], |c| c == b'\n') + 1;
            if i > s.len() {
                break;
            }
            line_starts.push(i);
        }
        Parser {
            s,
            src,
            pos: 0,
            line_starts,
            line_hint: std::cell::Cell::new(0),
            pending: Vec::new(),
            anchors: HashMap::new(),
            read_cost: std::cell::Cell::new(0),
            alias_cost: 0,
            char_marks: (!s.is_ascii()).then(|| {
                let mut marks = Vec::with_capacity(s.len() / CHAR_MARK_STEP + 1);
                let mut n = 0;
                for chunk in s.chunks(CHAR_MARK_STEP) {
                    marks.push(n);
                    n += chunk.iter().filter(|&&b| !is_utf8_continuation(b)).count();
                }
                marks.push(n);
                marks
            }),
            stack: Vec::new(),
            depth: 0,
            assigned: false,
            header_comment: None,
        }
    }

    // ---- positions and errors ----

    fn line_idx(&self, pos: usize) -> usize {
        // Positions asked for mostly move forward line by line: try the last answer and the
        // line after it before searching.
        let hint = self.line_hint.get();
        let within = |i: usize| {
            self.line_starts.get(i).is_some_and(|&s| s <= pos)
                && self.line_starts.get(i + 1).is_none_or(|&next| pos < next)
        };
        let i = if within(hint) {
            hint
        } else if within(hint + 1) {
            hint + 1
        } else {
            match self.line_starts.binary_search(&pos) {
                Ok(i) => i,
                Err(i) => i - 1,
            }
        };
        self.line_hint.set(i);
        i
    }

    fn col_of(&self, pos: usize) -> usize {
        pos - self.line_starts[self.line_idx(pos)]
    }

    fn col(&self) -> usize {
        self.col_of(self.pos)
    }

    /// The number of characters before byte `pos` (which is at most the input's length).
    fn chars_before(&self, pos: usize) -> usize {
        match &self.char_marks {
            None => pos,
            Some(marks) => {
                let block = pos / CHAR_MARK_STEP;
                let from = block * CHAR_MARK_STEP;
                marks[block]
                    + self.s[from..pos]
                        .iter()
                        .filter(|&&b| !is_utf8_continuation(b))
                        .count()
            }
        }
    }

    fn err_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        let li = self.line_idx(pos.min(self.s.len()));
        let start = self.line_starts[li];
        let end = pos.min(self.s.len());
        // In constant time: counting from the line's start for every node made parsing a long
        // line quadratic.
        let column = self.chars_before(end) - self.chars_before(start) + 1;
        ParseError {
            message: message.into(),
            line: li + 1,
            column,
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        self.err_at(self.pos, message)
    }

    /// A node read from the input at `pos`.
    fn node(&self, pos: usize, kind: Kind) -> Node {
        self.read_cost
            .set(self.read_cost.get().saturating_add(own_cost(&kind)));
        let e = self.err_at(pos, "");
        Node {
            kind,
            line: e.line,
            column: e.column,
        }
    }

    // ---- low-level scanning ----

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.s.get(self.pos + off).copied()
    }

    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Whether the byte after `off` is blank, a line break or the end.
    fn blank_after(&self, off: usize) -> bool {
        matches!(self.peek_at(off), None | Some(b' ' | b'\t' | b'\n'))
    }

    fn skip_inline_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// At a `#` that starts a comment (preceded by whitespace or at line start).
    fn at_comment(&self) -> bool {
        self.peek() == Some(b'#')
            && (self.pos == 0 || matches!(self.s[self.pos - 1], b' ' | b'\t' | b'\n'))
    }

    /// Reads a comment at `#` up to the end of the line; returns its text and column.
    fn read_comment(&mut self) -> (String, usize) {
        let col = self.col();
        let start = self.pos + 1;
        while !self.at_eol() {
            self.pos += 1;
        }
        (self.src[start..self.pos].to_string(), col)
    }

    fn consume_newline(&mut self) {
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
    }

    /// Skips blank lines and whole-line comments (collecting the comments as pending), from
    /// the start of a line or the end of a content line. Stops at the first content
    /// character and returns its column, or `None` at the end of input.
    fn skip_lines(&mut self) -> Result<Option<usize>> {
        loop {
            let line_start = self.col() == 0;
            let before = self.pos;
            self.skip_inline_ws();
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => self.pos += 1,
                Some(b'#') if self.at_comment() => {
                    let (text, col) = self.read_comment();
                    self.pending.push(Pending {
                        comment: Comment::new(text),
                        col,
                        depth: None,
                    });
                }
                Some(_) => {
                    if line_start && self.s[before..self.pos].contains(&b'\t') {
                        return Err(self.err("found a tab character that violates indentation"));
                    }
                    return Ok(Some(self.col()));
                }
            }
        }
    }

    /// At a `---` or `...` marker at the start of a line.
    fn at_doc_marker(&self) -> Option<u8> {
        if self.col() != 0 {
            return None;
        }
        let c = self.peek()?;
        if (c == b'-' || c == b'.')
            && self.peek_at(1) == Some(c)
            && self.peek_at(2) == Some(c)
            && self.blank_after(3)
        {
            Some(c)
        } else {
            None
        }
    }

    fn at_seq_entry(&self) -> bool {
        self.peek() == Some(b'-') && self.blank_after(1) && self.at_doc_marker().is_none()
    }

    // ---- stream and documents ----

    fn stream(&mut self) -> Result<Vec<Option<Node>>> {
        let mut docs = Vec::new();
        let mut seen_directive = false;
        while self.skip_lines()?.is_some() {
            if self.col() == 0 && self.peek() == Some(b'%') {
                self.directive()?;
                seen_directive = true;
                continue;
            }
            match self.at_doc_marker() {
                Some(b'.') => {
                    self.pos += 3;
                    self.rest_of_marker_line()?;
                    continue;
                }
                Some(_) => {
                    self.pos += 3;
                }
                None => {
                    if seen_directive {
                        return Err(self.err("did not find expected <document start>"));
                    }
                }
            }
            seen_directive = false;
            let root = self.document()?;
            docs.push(root);
        }
        Ok(docs)
    }

    fn directive(&mut self) -> Result<()> {
        let start = self.pos;
        while !self.at_eol() && !self.at_comment() {
            self.pos += 1;
        }
        let line = self.src[start..self.pos].trim_end();
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("%YAML") if parts.next() != Some("1.1") => {
                return Err(self.err_at(start, "found incompatible YAML document"));
            }
            Some("%TAG") => {
                return Err(self.err_at(start, "%TAG directives are not supported"));
            }
            _ => {}
        }
        while !self.at_eol() {
            self.pos += 1;
        }
        Ok(())
    }

    fn rest_of_marker_line(&mut self) -> Result<()> {
        self.skip_inline_ws();
        if self.at_comment() {
            let (text, col) = self.read_comment();
            self.pending.push(Pending {
                comment: Comment::new(text),
                col,
                depth: None,
            });
        }
        if !self.at_eol() {
            return Err(self.err("did not find expected <document start>"));
        }
        Ok(())
    }

    /// One document, the cursor after `---` or at its first content.
    fn document(&mut self) -> Result<Option<Node>> {
        self.stack.clear();
        self.assigned = false;
        let root = self.block_node(-1, Ctx::Root)?;
        let mut root = root.node;
        // Whatever follows must be a document marker or the end.
        let next = self.skip_lines()?;
        if next.is_some() && self.at_doc_marker().is_none() {
            return Err(self.err("did not find expected <document start>"));
        }
        // Comments left at the end of the document go to its root mapping.
        if !self.pending.is_empty() {
            match root.as_mut().map(|n| &mut n.kind) {
                Some(Kind::Map(entries)) => {
                    for p in self.pending.drain(..) {
                        entries.push(MapEntry::Comment(p.comment));
                    }
                }
                None if next.is_none() => {
                    // A document of comments only: keep them as an empty mapping's comments.
                    let entries = self
                        .pending
                        .drain(..)
                        .map(|p| MapEntry::Comment(p.comment))
                        .collect();
                    root = Some(Node {
                        kind: Kind::Map(entries),
                        line: 1,
                        column: 1,
                    });
                }
                _ => {}
            }
        }
        Ok(root)
    }

    // ---- comment placement ----

    /// Decides, when blocks close because the next content is at column `next_col` (or the
    /// end), which of the pending comments become foot comments of which closing block.
    /// Observed go-yaml v3 behaviour: the first comment goes to the innermost closing block
    /// if it is indented deeper than the next content; a later comment stays with the
    /// previous one unless it is less indented, then it goes to the innermost closing block
    /// whose indentation is at most its column (or to the next item when none is).
    fn assign_pending(&mut self, next_col: Option<usize>, next_is_seq_entry: bool) {
        if self.assigned || self.pending.is_empty() {
            return;
        }
        self.assigned = true;
        if next_col.is_none() && self.eof() {
            self.assign_pending_at_end();
            return;
        }
        let d = next_col.unwrap_or(0);
        let closing: Vec<usize> = (0..self.stack.len())
            .rev()
            .take_while(|&i| {
                let b = &self.stack[i];
                b.indent > d
                    || (next_col.is_none() && i > 0)
                    || (b.seq && b.indent == d && !next_is_seq_entry)
            })
            .collect();
        if closing.is_empty() {
            return;
        }
        let mut prev: Option<(usize, usize)> = None; // (col, depth)
        let mut to_target = false;
        for p in &mut self.pending {
            if to_target {
                break;
            }
            let assigned = match prev {
                None => {
                    if p.col > d || (next_col.is_none() && p.col > 0) {
                        Some(closing[0])
                    } else {
                        None
                    }
                }
                Some((pc, pd)) if p.col >= pc => Some(pd),
                Some((_, pd)) => closing
                    .iter()
                    .copied()
                    .filter(|&i| i <= pd)
                    .find(|&i| self.stack[i].indent <= p.col && p.col > d),
            };
            match assigned {
                Some(depth) => {
                    p.depth = Some(depth);
                    prev = Some((p.col, depth));
                }
                None => to_target = true,
            }
        }
    }

    /// Places the comments at the end of the stream, when every block closes. Observed go-yaml
    /// v3 + sops 3.11 behaviour (go-yaml makes them foot comments; a dedented one is attached
    /// where the scanner puts the end of the block whose indentation equals its column):
    /// * a comment at least as indented as the innermost block stays in it, after its last
    ///   entry (in a sequence of scalars it is an element of the sequence);
    /// * a less indented one goes to the innermost block whose indentation equals its column;
    ///   if that block is a sequence, to the mapping that contains the sequence (go-yaml's
    ///   sequence end carries no comments, the enclosing mapping's end takes them); if no block
    ///   has that indentation, or the target is the root, it goes to the end of the root
    ///   mapping;
    /// * a following comment joins the previous one unless it is less indented than the
    ///   innermost block and at another column (go-yaml starts a new comment block there);
    ///   once one reaches the root, the rest do too.
    fn assign_pending_at_end(&mut self) {
        let Some(inner) = self.stack.len().checked_sub(1) else {
            return;
        };
        let inner_indent = self.stack[inner].indent;
        let target_for = |stack: &[Block], col: usize| -> Option<usize> {
            if col >= inner_indent {
                return Some(inner);
            }
            let i = (0..=inner).rev().find(|&i| stack[i].indent == col)?;
            (0..=i).rev().find(|&j| !stack[j].seq)
        };
        let mut group: Option<(usize, Option<usize>)> = None; // (start column, target)
        for p in &mut self.pending {
            let target = match group {
                Some((start, t)) if !(p.col < inner_indent && p.col != start) => t,
                _ => {
                    let mut t = target_for(&self.stack, p.col);
                    // Blocks close innermost first: never go back inward.
                    if let (Some((_, prev)), Some(x)) = (group, t) {
                        t = prev.map(|pd| x.min(pd));
                    }
                    group = Some((p.col, t));
                    t
                }
            };
            // The root's end (depth 0) is where `document` puts what is left.
            match target {
                Some(d) if d > 0 => p.depth = Some(d),
                _ => break,
            }
        }
    }

    /// Takes the pending comments assigned to the closing block at `depth`.
    fn take_foot(&mut self, depth: usize) -> Vec<Comment> {
        let n = self
            .pending
            .iter()
            .take_while(|p| p.depth == Some(depth))
            .count();
        self.pending.drain(..n).map(|p| p.comment).collect()
    }

    /// Takes every pending comment (they precede the next item).
    fn take_all(&mut self) -> Vec<Comment> {
        self.assigned = false;
        self.pending.drain(..).map(|p| p.comment).collect()
    }

    /// Called by a block collection that ends: computes placement and takes its foot.
    fn close_block(&mut self, next_col: Option<usize>) -> Vec<Comment> {
        let next_is_seq = next_col.is_some() && self.at_seq_entry();
        self.assign_pending(next_col, next_is_seq);
        let depth = self.stack.len() - 1;
        self.take_foot(depth)
    }

    // ---- nodes ----

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("exceeded max depth of nesting"));
        }
        Ok(())
    }

    /// A node after an indicator (`key:`, `- `, `? `, `---`), cursor on the same line.
    /// `n` is the indentation of the parent block (-1 at the root).
    fn block_node(&mut self, n: isize, ctx: Ctx) -> Result<BlockValue> {
        self.enter()?;
        let r = self.block_node_inner(n, ctx);
        self.depth -= 1;
        r
    }

    fn block_node_inner(&mut self, n: isize, ctx: Ctx) -> Result<BlockValue> {
        self.skip_inline_ws();
        let start = self.pos;
        let (anchor, tag) = self.props()?;
        self.skip_inline_ws();
        let mut line_comment = None;
        if self.at_comment() {
            let (text, _) = self.read_comment();
            line_comment = Some(Comment { text, inline: true });
        }
        if self.at_eol() {
            // The value (if any) is on the following lines.
            if ctx != Ctx::MapValue
                && let Some(mut c) = line_comment.take()
            {
                // `- # c` / `--- # c`: the comment leads the following node. go-yaml gives a
                // lone `-` no line comment: it is a head comment of what follows.
                if ctx == Ctx::SeqItem {
                    c.inline = false;
                }
                let col = self.col();
                self.pending.push(Pending {
                    comment: c,
                    col,
                    depth: None,
                });
            }
            let next = self.skip_lines()?;
            let nested = match next {
                Some(c) if self.at_doc_marker().is_none() => {
                    let c = c as isize;
                    c > n || (c == n && ctx == Ctx::MapValue && self.at_seq_entry())
                }
                _ => false,
            };
            if !nested {
                let node = self.empty_scalar(start, tag);
                self.register(anchor, &node);
                return Ok(BlockValue {
                    node: node_opt(node),
                    line_comment,
                    leading: Vec::new(),
                });
            }
            let col = self.col();
            let node = if self.at_seq_entry() {
                self.block_seq(col)?
            } else if self.at_implicit_key() || self.at_explicit_key() {
                self.block_map(col)?
            } else {
                // A scalar or flow node on its own line: its leading comments go before the
                // item in the parent.
                let mut leading = self.take_all();
                let mut node = self.inline_node(n, ctx)?;
                // Comments before a flow collection on its own line belong to it.
                match &mut node.kind {
                    Kind::Map(es) => {
                        es.splice(0..0, leading.drain(..).map(MapEntry::Comment));
                    }
                    Kind::Seq(es) => {
                        es.splice(0..0, leading.drain(..).map(SeqEntry::Comment));
                    }
                    Kind::Scalar { .. } => {}
                }
                let node = apply_tag(node, tag);
                self.register(anchor, &node);
                return Ok(BlockValue {
                    node: Some(node),
                    line_comment,
                    leading,
                });
            };
            let node = apply_tag(node, tag);
            self.register(anchor, &node);
            return Ok(BlockValue {
                node: Some(node),
                line_comment,
                leading: Vec::new(),
            });
        }
        if line_comment.is_some() {
            return Err(self.err("unexpected content after a comment"));
        }
        // Content on the same line.
        let mut col = self.col();
        if matches!(self.peek(), Some(b'|' | b'>')) {
            let node = self.block_scalar(n, self.peek() == Some(b'|'))?;
            let node = apply_tag(node, tag);
            self.register(anchor, &node);
            return Ok(BlockValue {
                node: Some(node),
                line_comment: self.header_comment.take(),
                leading: Vec::new(),
            });
        }
        let node =
            if matches!(ctx, Ctx::SeqItem | Ctx::ExplicitKey | Ctx::Root) && self.at_seq_entry() {
                self.block_seq(col)?
            } else if matches!(ctx, Ctx::SeqItem | Ctx::Root | Ctx::ExplicitKey)
                && (self.at_implicit_key() || self.at_explicit_key())
            {
                if anchor.is_some() || tag.is_some() {
                    // `- &a key: v`: the properties belong to the key, re-read them there.
                    self.pos = start;
                    col = self.col();
                }
                let m = self.block_map(col)?;
                return Ok(BlockValue {
                    node: Some(m),
                    line_comment: None,
                    leading: Vec::new(),
                });
            } else {
                let node = self.inline_node(n, ctx)?;
                // Trailing comment on the value's last line.
                self.skip_inline_ws();
                if self.at_comment() {
                    let (text, _) = self.read_comment();
                    line_comment = Some(Comment { text, inline: true });
                }
                if !self.at_eol() {
                    if self.peek() == Some(b':') {
                        return Err(self.err("mapping values are not allowed in this context"));
                    }
                    return Err(self.err("did not find expected key"));
                }
                node
            };
        let node = apply_tag(node, tag);
        self.register(anchor, &node);
        // A line comment after a flow collection belongs to the collection (go-yaml makes it
        // the collection's line comment, sops puts it first in the collection).
        let node = match (line_comment, node) {
            (
                Some(c),
                Node {
                    kind: Kind::Seq(mut items),
                    line,
                    column,
                },
            ) => {
                items.insert(0, SeqEntry::Comment(c));
                line_comment = None;
                Node {
                    kind: Kind::Seq(items),
                    line,
                    column,
                }
            }
            (
                Some(c),
                Node {
                    kind: Kind::Map(mut items),
                    line,
                    column,
                },
            ) => {
                items.insert(0, MapEntry::Comment(c));
                line_comment = None;
                Node {
                    kind: Kind::Map(items),
                    line,
                    column,
                }
            }
            (c, node) => {
                line_comment = c;
                node
            }
        };
        Ok(BlockValue {
            node: node_opt(node),
            line_comment,
            leading: Vec::new(),
        })
    }

    fn empty_scalar(&self, pos: usize, tag: Option<String>) -> Node {
        self.node(
            pos,
            Kind::Scalar {
                text: String::new(),
                style: Style::Plain,
                tag,
            },
        )
    }

    fn register(&mut self, anchor: Option<String>, node: &Node) {
        if let Some(a) = anchor {
            self.anchors.insert(a, (node.clone(), node_cost(node)));
        }
    }

    /// Reads `&anchor` and `!tag` properties in any order.
    fn props(&mut self) -> Result<(Option<String>, Option<String>)> {
        let mut anchor = None;
        let mut tag = None;
        loop {
            match self.peek() {
                Some(b'&') if anchor.is_none() => {
                    self.pos += 1;
                    let name = self.anchor_name();
                    if name.is_empty() {
                        return Err(
                            self.err("did not find expected alphabetic or numeric character")
                        );
                    }
                    anchor = Some(name);
                }
                Some(b'!') if tag.is_none() => {
                    let start = self.pos;
                    if self.peek_at(1) == Some(b'<') {
                        while !self.at_eol() && self.peek() != Some(b'>') {
                            self.pos += 1;
                        }
                        if self.peek() != Some(b'>') {
                            return Err(self.err("did not find the expected '>'"));
                        }
                        self.pos += 1;
                    } else {
                        while let Some(c) = self.peek() {
                            if c == b' ' || c == b'\t' || c == b'\n' || is_flow_ind(c) {
                                break;
                            }
                            self.pos += 1;
                        }
                    }
                    tag = Some(self.src[start..self.pos].to_string());
                }
                _ => break,
            }
            if !self.blank_after(0) && !matches!(self.peek(), Some(b',' | b']' | b'}')) {
                return Err(self.err("did not find expected whitespace after a node property"));
            }
            self.skip_inline_ws();
        }
        Ok((anchor, tag))
    }

    fn anchor_name(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' || c == b'\n' || is_flow_ind(c) || c == b':' {
                break;
            }
            self.pos += 1;
        }
        self.src[start..self.pos].to_string()
    }

    fn alias(&mut self) -> Result<Node> {
        let pos = self.pos;
        self.pos += 1;
        let name = self.anchor_name();
        if name.is_empty() {
            return Err(self.err("did not find expected alphabetic or numeric character"));
        }
        let Some((node, cost)) = self.anchors.get(&name) else {
            return Err(self.err_at(pos, format!("unknown anchor '{name}' referenced")));
        };
        // Checked before copying: the copy is what would exhaust memory.
        let copied = self.alias_cost.saturating_add(*cost);
        let total = copied.saturating_add(self.read_cost.get());
        #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
        let share = copied as f64 / total as f64;
        let allowed = allowed_alias_share(total);
        if copied > ALIAS_CHECK_MIN && share > allowed {
            return Err(self.err_at(
                pos,
                format!(
                    "document contains excessive aliasing: expanding aliases would copy {} KiB, \
                     {:.1}% of the document (at most {:.1}% allowed at this size)",
                    copied >> 10,
                    share * 100.0,
                    allowed * 100.0
                ),
            ));
        }
        let mut node = node.clone();
        self.alias_cost = copied;
        let e = self.err_at(pos, "");
        node.line = e.line;
        node.column = e.column;
        Ok(node)
    }

    fn at_explicit_key(&self) -> bool {
        self.peek() == Some(b'?') && self.blank_after(1)
    }

    /// Whether an implicit `key:` starts at the cursor (looking ahead on this line only).
    fn at_implicit_key(&self) -> bool {
        let mut i = self.pos;
        let s = self.s;
        // Skip properties.
        while let Some(b'&' | b'!') = s.get(i) {
            while i < s.len() && !matches!(s[i], b' ' | b'\t' | b'\n') {
                i += 1;
            }
            while i < s.len() && is_ws(s[i]) {
                i += 1;
            }
        }
        let colon_ok = |j: usize| {
            s.get(j) == Some(&b':') && matches!(s.get(j + 1), None | Some(b' ' | b'\t' | b'\n'))
        };
        let skip_ws = |mut j: usize| {
            while j < s.len() && is_ws(s[j]) {
                j += 1;
            }
            j
        };
        match s.get(i) {
            None | Some(b'\n' | b'#') => false,
            Some(&q @ (b'"' | b'\'')) => {
                let mut j = i + 1;
                while j < s.len() && s[j] != b'\n' {
                    if q == b'\'' && s[j] == b'\'' {
                        if s.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    if q == b'"' && s[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if q == b'"' && s[j] == b'"' {
                        break;
                    }
                    j += 1;
                }
                if j >= s.len() || s[j] == b'\n' {
                    return false;
                }
                colon_ok(skip_ws(j + 1))
            }
            Some(b'*') => {
                let mut j = i + 1;
                while j < s.len()
                    && !matches!(s[j], b' ' | b'\t' | b'\n' | b':')
                    && !is_flow_ind(s[j])
                {
                    j += 1;
                }
                colon_ok(skip_ws(j))
            }
            Some(b'[' | b'{') => false,
            Some(&c) => {
                if matches!(c, b'-' | b'?' | b':')
                    && matches!(s.get(i + 1), None | Some(b' ' | b'\t' | b'\n'))
                {
                    return false;
                }
                if matches!(c, b',' | b']' | b'}' | b'|' | b'>' | b'%' | b'@' | b'`') {
                    return false;
                }
                let mut j = i;
                while j < s.len() && s[j] != b'\n' {
                    if colon_ok(j) {
                        return true;
                    }
                    if s[j] == b'#' && j > i && is_ws(s[j - 1]) {
                        return false;
                    }
                    j += 1;
                }
                false
            }
        }
    }

    /// A block mapping whose first key is at the cursor, at column `m`.
    fn block_map(&mut self, m: usize) -> Result<Node> {
        let start = self.pos;
        self.stack.push(Block {
            indent: m,
            seq: false,
        });
        let mut entries: Vec<MapEntry> = Vec::new();
        let end_col = loop {
            for c in self.take_all() {
                entries.push(MapEntry::Comment(c));
            }
            // Key.
            let explicit = self.at_explicit_key();
            let key = if explicit {
                self.pos += 1;
                let kv = self.block_node(m as isize, Ctx::ExplicitKey)?;
                for c in kv.leading {
                    entries.push(MapEntry::Comment(c));
                }
                if let Some(c) = kv.line_comment {
                    entries.push(MapEntry::Comment(c));
                }
                let key = kv.node.unwrap_or_else(|| self.empty_scalar(self.pos, None));
                match self.skip_lines()? {
                    Some(c) if c == m && self.peek() == Some(b':') && self.blank_after(1) => {}
                    _ => {
                        // `? key` without a value.
                        entries.push(MapEntry::Pair(key, self.empty_scalar(self.pos, None)));
                        match self.skip_lines()? {
                            Some(c) if c == m && self.at_doc_marker().is_none() => continue,
                            other => break other,
                        }
                    }
                }
                for c in self.take_all() {
                    entries.push(MapEntry::Comment(c));
                }
                key
            } else {
                let kpos = self.pos;
                let (anchor, tag) = self.props()?;
                let key = match self.peek() {
                    Some(b'*') => self.alias()?,
                    Some(b'"') => self.double_quoted(-1)?,
                    Some(b'\'') => self.single_quoted(-1)?,
                    _ => self.plain_key()?,
                };
                let key = apply_tag(key, tag);
                self.register(anchor, &key);
                self.skip_inline_ws();
                if !(self.peek() == Some(b':') && self.blank_after(1)) {
                    return Err(self.err_at(kpos, "could not find expected ':'"));
                }
                key
            };
            self.pos += 1; // ':'
            // After `? key`, the value may be a block collection starting on the `:` line
            // (go-yaml writes multi-line keys as `? |-` ... `:   c: 1`).
            let vctx = if explicit {
                Ctx::ExplicitKey
            } else {
                Ctx::MapValue
            };
            let v = self.block_node(m as isize, vctx)?;
            if let Some(c) = v.line_comment {
                entries.push(MapEntry::Comment(c));
            }
            for c in v.leading {
                entries.push(MapEntry::Comment(c));
            }
            let value = v.node.unwrap_or_else(|| self.empty_scalar(self.pos, None));
            entries.push(MapEntry::Pair(key, value));
            // Next entry?
            let next = self.skip_lines()?;
            match next {
                Some(c) if c == m && self.at_doc_marker().is_none() => {
                    if self.at_seq_entry() {
                        return Err(self.err("did not find expected key"));
                    }
                }
                Some(c) if c > m && self.at_doc_marker().is_none() => {
                    return Err(self.err("mapping values are not allowed in this context"));
                }
                other => break other,
            }
        };
        let foot = self.close_block(if self.at_doc_marker().is_some() {
            None
        } else {
            end_col
        });
        entries.extend(foot.into_iter().map(MapEntry::Comment));
        self.stack.pop();
        Ok(self.node(start, Kind::Map(entries)))
    }

    /// A block sequence whose first `-` is at the cursor, at column `m`.
    fn block_seq(&mut self, m: usize) -> Result<Node> {
        let start = self.pos;
        self.stack.push(Block {
            indent: m,
            seq: true,
        });
        let mut items: Vec<SeqEntry> = Vec::new();
        let end_col = loop {
            for c in self.take_all() {
                items.push(SeqEntry::Comment(c));
            }
            self.pos += 1; // '-'
            let v = self.block_node(m as isize, Ctx::SeqItem)?;
            for c in v.leading {
                items.push(SeqEntry::Comment(c));
            }
            if let Some(c) = v.line_comment {
                items.push(SeqEntry::Comment(c));
            }
            let node = v.node.unwrap_or_else(|| self.empty_scalar(self.pos, None));
            items.push(SeqEntry::Item(node));
            let next = self.skip_lines()?;
            match next {
                Some(c) if c == m && self.at_seq_entry() => {}
                Some(c) if c > m && self.at_doc_marker().is_none() => {
                    return Err(self.err("did not find expected '-' indicator"));
                }
                other => break other,
            }
        };
        let foot = self.close_block(if self.at_doc_marker().is_some() {
            None
        } else {
            end_col
        });
        items.extend(foot.into_iter().map(SeqEntry::Comment));
        self.stack.pop();
        Ok(self.node(start, Kind::Seq(items)))
    }

    /// A node that starts at the cursor and is not a block collection: block scalar, flow
    /// collection, quoted or plain scalar, alias.
    fn inline_node(&mut self, n: isize, ctx: Ctx) -> Result<Node> {
        match self.peek() {
            Some(b'|') => self.block_scalar(n, true),
            Some(b'>') => self.block_scalar(n, false),
            Some(b'[' | b'{') => self.flow_node(n),
            Some(b'"') => self.double_quoted(n),
            Some(b'\'') => self.single_quoted(n),
            Some(b'*') => self.alias(),
            Some(c) => {
                if matches!(c, b'%' | b'@' | b'`') {
                    return Err(self.err("found character that cannot start any token"));
                }
                if c == b'-' && self.blank_after(1) {
                    return Err(self.err("block sequence entries are not allowed in this context"));
                }
                let _ = ctx;
                self.plain_multiline(n)
            }
            None => Ok(self.empty_scalar(self.pos, None)),
        }
    }

    /// A plain implicit key (one line, ends at `: `).
    fn plain_key(&mut self) -> Result<Node> {
        let start = self.pos;
        while !self.at_eol() {
            if self.peek() == Some(b':') && self.blank_after(1) {
                break;
            }
            if self.at_comment() {
                break;
            }
            self.pos += 1;
        }
        let text = self.src[start..self.pos]
            .trim_end_matches([' ', '\t'])
            .to_string();
        Ok(self.node(
            start,
            Kind::Scalar {
                text,
                style: Style::Plain,
                tag: None,
            },
        ))
    }

    /// A plain scalar in block context, possibly continued on more-indented lines.
    fn plain_multiline(&mut self, n: isize) -> Result<Node> {
        let start = self.pos;
        let mut text = String::new();
        let mut line_end = self.plain_line_end();
        text.push_str(self.src[self.pos..line_end].trim_end_matches([' ', '\t']));
        self.pos = line_end;
        // Continuation lines.
        loop {
            if !self.at_eol() {
                break;
            }
            let save = self.pos;
            let mut breaks = 0;
            let mut cont = false;
            while self.peek() == Some(b'\n') {
                self.pos += 1;
                breaks += 1;
                let ls = self.pos;
                self.skip_inline_ws();
                if self.at_eol() {
                    continue;
                }
                if self.s[ls..self.pos].contains(&b'\t') && !self.at_comment() {
                    return Err(self.err("found a tab character that violates indentation"));
                }
                let c = self.col() as isize;
                if c > n && !self.at_comment() && self.at_doc_marker().is_none() {
                    // A `key:` on a continuation line is not a continuation.
                    let le = self.plain_line_end();
                    if le > self.pos {
                        cont = true;
                    }
                }
                break;
            }
            if !cont {
                self.pos = save;
                break;
            }
            if breaks > 1 {
                for _ in 1..breaks {
                    text.push('\n');
                }
            } else {
                text.push(' ');
            }
            line_end = self.plain_line_end();
            text.push_str(self.src[self.pos..line_end].trim_end_matches([' ', '\t']));
            self.pos = line_end;
        }
        Ok(self.node(
            start,
            Kind::Scalar {
                text,
                style: Style::Plain,
                tag: None,
            },
        ))
    }

    /// End of the plain scalar text on the current line (before `: `, ` #` or the newline).
    fn plain_line_end(&self) -> usize {
        let mut i = self.pos;
        while i < self.s.len() && self.s[i] != b'\n' {
            let c = self.s[i];
            if c == b':' && matches!(self.s.get(i + 1), None | Some(b' ' | b'\t' | b'\n')) {
                break;
            }
            if c == b'#' && i > self.pos && is_ws(self.s[i - 1]) {
                break;
            }
            i += 1;
        }
        // Do not include trailing blanks before a comment.
        while i > self.pos && is_ws(self.s[i - 1]) {
            i -= 1;
        }
        i
    }

    /// `"..."`, possibly over several lines.
    fn double_quoted(&mut self, _n: isize) -> Result<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(start, "found unexpected end of stream"));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let e = self
                        .peek_at(1)
                        .ok_or_else(|| self.err("found unexpected end of stream"))?;
                    self.pos += 2;
                    let simple = match e {
                        b'0' => Some('\0'),
                        b'a' => Some('\u{7}'),
                        b'b' => Some('\u{8}'),
                        b't' | b'\t' => Some('\t'),
                        b'n' => Some('\n'),
                        b'v' => Some('\u{b}'),
                        b'f' => Some('\u{c}'),
                        b'r' => Some('\r'),
                        b'e' => Some('\u{1b}'),
                        b' ' => Some(' '),
                        b'"' => Some('"'),
                        b'/' => Some('/'),
                        b'\\' => Some('\\'),
                        b'N' => Some('\u{85}'),
                        b'_' => Some('\u{a0}'),
                        b'L' => Some('\u{2028}'),
                        b'P' => Some('\u{2029}'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        out.push(ch);
                        continue;
                    }
                    let len = match e {
                        b'x' => 2,
                        b'u' => 4,
                        b'U' => 8,
                        b'\n' => {
                            // Escaped line break: join without a space.
                            self.skip_inline_ws();
                            while self.peek() == Some(b'\n') {
                                out.push('\n');
                                self.pos += 1;
                                self.skip_inline_ws();
                            }
                            continue;
                        }
                        _ => {
                            return Err(self.err_at(
                                self.pos - 2,
                                "found unknown escape character while parsing a quoted scalar",
                            ));
                        }
                    };
                    let hex = self
                        .src
                        .get(self.pos..self.pos + len)
                        .ok_or_else(|| self.err("did not find expected hexdecimal number"))?;
                    let v = u32::from_str_radix(hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| self.err("found invalid Unicode character escape code"))?;
                    out.push(v);
                    self.pos += len;
                }
                b'\n' => self.fold_quoted(&mut out, start)?,
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        Ok(self.node(
            start,
            Kind::Scalar {
                text: out,
                style: Style::DoubleQuoted,
                tag: None,
            },
        ))
    }

    /// Line folding inside a quoted scalar, at a line break.
    fn fold_quoted(&mut self, out: &mut String, start: usize) -> Result<()> {
        // Trailing blanks of the previous line are not content.
        while out.ends_with([' ', '\t']) {
            out.pop();
        }
        let mut breaks = 0;
        while self.peek() == Some(b'\n') {
            self.pos += 1;
            breaks += 1;
            self.skip_inline_ws();
            if self.at_doc_marker().is_some() {
                return Err(self.err("found unexpected document indicator"));
            }
        }
        if self.eof() {
            return Err(self.err_at(start, "found unexpected end of stream"));
        }
        if breaks == 1 {
            out.push(' ');
        } else {
            for _ in 1..breaks {
                out.push('\n');
            }
        }
        Ok(())
    }

    /// `'...'`, possibly over several lines.
    fn single_quoted(&mut self, _n: isize) -> Result<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(start, "found unexpected end of stream"));
            };
            match c {
                b'\'' => {
                    if self.peek_at(1) == Some(b'\'') {
                        out.push('\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        break;
                    }
                }
                b'\n' => self.fold_quoted(&mut out, start)?,
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        Ok(self.node(
            start,
            Kind::Scalar {
                text: out,
                style: Style::SingleQuoted,
                tag: None,
            },
        ))
    }

    /// `|` or `>` block scalar; `n` is the parent block's indentation.
    fn block_scalar(&mut self, n: isize, literal: bool) -> Result<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') if chomp == 0 => {
                    chomp = -1;
                    self.pos += 1;
                }
                Some(b'+') if chomp == 0 => {
                    chomp = 1;
                    self.pos += 1;
                }
                Some(d @ b'1'..=b'9') if explicit.is_none() => {
                    explicit = Some(usize::from(d - b'0'));
                    self.pos += 1;
                }
                Some(b'0') => {
                    return Err(self.err(
                        "found an indentation indicator equal to 0 while scanning a block scalar",
                    ));
                }
                _ => break,
            }
        }
        self.skip_inline_ws();
        let mut header_comment = None;
        if self.at_comment() {
            let (text, col) = self.read_comment();
            header_comment = Some((text, col));
        }
        if !self.at_eol() {
            return Err(self.err("did not find expected comment or line break"));
        }
        let base = if n < 0 { 0 } else { n as usize };
        let mut indent = explicit.map(|e| base + e);
        self.consume_newline();
        // Collect lines.
        let mut lines: Vec<&str> = Vec::new();
        let mut max_leading_blank = 0;
        // Whether the last content line ends with a line break. At the end of the input it
        // may not, and then (as in go-yaml) clip and keep have no break to keep.
        let mut final_break = true;
        loop {
            if self.eof() {
                break;
            }
            let ls = self.pos;
            let mut sp = 0;
            while self.peek() == Some(b' ') {
                self.pos += 1;
                sp += 1;
            }
            let blank = self.at_eol();
            if ls == self.line_starts[self.line_idx(ls)]
                && sp == 0
                && self.at_doc_marker().is_some()
            {
                self.pos = ls;
                break;
            }
            match indent {
                // Spaces at the end of the input, without a line break: no line at all.
                None if blank && self.eof() => break,
                None if blank => {
                    max_leading_blank = max_leading_blank.max(sp);
                    lines.push("");
                    self.consume_newline();
                    continue;
                }
                None => {
                    let min = if n < 0 { 0 } else { base + 1 };
                    if sp < min || sp == 0 && n >= 0 {
                        self.pos = ls;
                        break;
                    }
                    if max_leading_blank > sp {
                        return Err(self.err_at(
                            ls,
                            "found a leading empty line with more spaces than the first non-empty line",
                        ));
                    }
                    indent = Some(sp);
                }
                Some(_) => {}
            }
            let ind = indent.unwrap_or(0);
            if blank {
                let content = if sp > ind {
                    &self.src[ls + ind..self.pos]
                } else {
                    ""
                };
                if self.eof() {
                    // Spaces without a line break at the end of the input: a content line of
                    // the spaces beyond the indentation, or nothing.
                    if !content.is_empty() {
                        lines.push(content);
                        final_break = false;
                    }
                    break;
                }
                lines.push(content);
                self.consume_newline();
                continue;
            }
            if sp < ind {
                self.pos = ls;
                break;
            }
            let line_start = ls + ind;
            while !self.at_eol() {
                self.pos += 1;
            }
            if self.s[ls..line_start].contains(&b'\t') {
                return Err(self.err_at(ls, "found a tab character that violates indentation"));
            }
            lines.push(&self.src[line_start..self.pos]);
            if self.eof() {
                final_break = false;
                break;
            }
            self.consume_newline();
        }
        // Trailing empty lines.
        let mut content_end = lines.len();
        while content_end > 0 && lines[content_end - 1].is_empty() {
            content_end -= 1;
        }
        let trailing = lines.len() - content_end;
        let body = &lines[..content_end];
        let mut text = String::new();
        if literal {
            for (i, l) in body.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str(l);
            }
        } else {
            let mut prev_more = false;
            let mut empties = 0;
            let mut first = true;
            for l in body {
                if l.is_empty() {
                    empties += 1;
                    continue;
                }
                let more = l.starts_with([' ', '\t']);
                if first {
                    for _ in 0..empties {
                        text.push('\n');
                    }
                } else if !more && !prev_more {
                    if empties == 0 {
                        text.push(' ');
                    } else {
                        for _ in 0..empties {
                            text.push('\n');
                        }
                    }
                } else {
                    for _ in 0..=empties {
                        text.push('\n');
                    }
                }
                text.push_str(l);
                prev_more = more;
                empties = 0;
                first = false;
            }
        }
        match chomp {
            -1 => {}
            0 => {
                if !body.is_empty() && final_break {
                    text.push('\n');
                }
            }
            _ => {
                if !body.is_empty() && final_break {
                    text.push('\n');
                }
                for _ in 0..trailing {
                    text.push('\n');
                }
            }
        }
        // The comment after a block scalar header precedes the item.
        self.header_comment = header_comment.map(|(text, _)| Comment { text, inline: true });
        // The cursor is at the start of the line after the scalar.
        Ok(self.node(
            start,
            Kind::Scalar {
                text,
                style: if literal {
                    Style::Literal
                } else {
                    Style::Folded
                },
                tag: None,
            },
        ))
    }

    // ---- flow collections ----

    /// Skips whitespace, line breaks and comments inside a flow collection; comments are
    /// returned to be placed in the collection.
    fn flow_ws(&mut self, comments: &mut Vec<Comment>) -> Result<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.pos += 1,
                Some(b'#') if self.at_comment() => {
                    let (text, _) = self.read_comment();
                    comments.push(Comment {
                        text,
                        inline: false,
                    });
                }
                None => return Err(self.err("did not find expected ',' or ']'")),
                _ => {
                    if self.at_doc_marker().is_some() {
                        return Err(self.err("found unexpected document indicator"));
                    }
                    return Ok(());
                }
            }
        }
    }

    fn flow_node(&mut self, n: isize) -> Result<Node> {
        self.enter()?;
        let r = self.flow_node_inner(n);
        self.depth -= 1;
        r
    }

    fn flow_node_inner(&mut self, n: isize) -> Result<Node> {
        let start = self.pos;
        let open = self.peek();
        self.pos += 1;
        let mut comments = Vec::new();
        if open == Some(b'[') {
            let mut items = Vec::new();
            loop {
                self.flow_ws(&mut comments)?;
                items.extend(comments.drain(..).map(SeqEntry::Comment));
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    break;
                }
                let (k, v) = self.flow_entry(n, false)?;
                let item = match v {
                    // `[a: b]` is a sequence of single-pair mappings.
                    Some(v) => self.node(start, Kind::Map(vec![MapEntry::Pair(k, v)])),
                    None => k,
                };
                items.push(SeqEntry::Item(item));
                self.flow_ws(&mut comments)?;
                items.extend(comments.drain(..).map(SeqEntry::Comment));
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("did not find expected ',' or ']'")),
                }
            }
            Ok(self.node(start, Kind::Seq(items)))
        } else {
            let mut entries = Vec::new();
            loop {
                self.flow_ws(&mut comments)?;
                entries.extend(comments.drain(..).map(MapEntry::Comment));
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    break;
                }
                let (k, v) = self.flow_entry(n, true)?;
                let v = v.unwrap_or_else(|| self.empty_scalar(self.pos, None));
                entries.push(MapEntry::Pair(k, v));
                self.flow_ws(&mut comments)?;
                entries.extend(comments.drain(..).map(MapEntry::Comment));
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("did not find expected ',' or '}'")),
                }
            }
            Ok(self.node(start, Kind::Map(entries)))
        }
    }

    /// One flow entry: a node, optionally followed by `: value`.
    fn flow_entry(&mut self, n: isize, in_map: bool) -> Result<(Node, Option<Node>)> {
        let mut ignored = Vec::new();
        if self.peek() == Some(b'?') && self.blank_after(1) {
            self.pos += 1;
            self.flow_ws(&mut ignored)?;
        }
        let key_pos = self.pos;
        let key = if self.peek() == Some(b':')
            && matches!(
                self.peek_at(1),
                None | Some(b' ' | b'\t' | b'\n' | b',' | b']' | b'}')
            ) {
            self.empty_scalar(key_pos, None)
        } else {
            self.flow_value(n)?
        };
        let quoted = matches!(
            key.kind,
            Kind::Scalar {
                style: Style::SingleQuoted | Style::DoubleQuoted,
                ..
            }
        ) || matches!(key.kind, Kind::Map(_) | Kind::Seq(_));
        let save = self.pos;
        self.flow_ws(&mut ignored)?;
        if self.peek() == Some(b':')
            && (quoted
                || matches!(
                    self.peek_at(1),
                    None | Some(b' ' | b'\t' | b'\n' | b',' | b']' | b'}')
                ))
        {
            self.pos += 1;
            self.flow_ws(&mut ignored)?;
            if matches!(self.peek(), Some(b',' | b']' | b'}')) {
                let v = self.empty_scalar(self.pos, None);
                return Ok((key, Some(v)));
            }
            let v = self.flow_value(n)?;
            return Ok((key, Some(v)));
        }
        self.pos = save;
        let _ = in_map;
        Ok((key, None))
    }

    fn flow_value(&mut self, n: isize) -> Result<Node> {
        let (anchor, tag) = self.props()?;
        let node = match self.peek() {
            Some(b'[' | b'{') => self.flow_node(n)?,
            Some(b'"') => self.double_quoted(n)?,
            Some(b'\'') => self.single_quoted(n)?,
            Some(b'*') => self.alias()?,
            Some(b',' | b']' | b'}') => self.empty_scalar(self.pos, None),
            Some(_) => self.flow_plain()?,
            None => return Err(self.err("found unexpected end of stream")),
        };
        let node = apply_tag(node, tag);
        self.register(anchor, &node);
        Ok(node)
    }

    /// A plain scalar inside a flow collection (may span lines).
    fn flow_plain(&mut self) -> Result<Node> {
        let start = self.pos;
        let mut text = String::new();
        loop {
            let ls = self.pos;
            while let Some(c) = self.peek() {
                if c == b'\n' || is_flow_ind(c) {
                    break;
                }
                if c == b':'
                    && matches!(
                        self.peek_at(1),
                        None | Some(b' ' | b'\t' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')
                    )
                {
                    break;
                }
                if c == b'#' && self.pos > ls && is_ws(self.s[self.pos - 1]) {
                    break;
                }
                self.pos += 1;
            }
            let piece = self.src[ls..self.pos].trim_matches([' ', '\t']);
            text.push_str(piece);
            if self.peek() != Some(b'\n') {
                break;
            }
            // Continue on the next line unless it starts with a terminator or a comment.
            let save = self.pos;
            let mut breaks = 0;
            while self.peek() == Some(b'\n') {
                self.pos += 1;
                breaks += 1;
                self.skip_inline_ws();
            }
            let stop = match self.peek() {
                None => true,
                Some(c) => is_flow_ind(c) || c == b'#' || (c == b':' && self.blank_after(1)),
            };
            if stop {
                self.pos = save;
                break;
            }
            if breaks == 1 {
                text.push(' ');
            } else {
                for _ in 1..breaks {
                    text.push('\n');
                }
            }
        }
        // Trim trailing blanks consumed before a comment or terminator.
        while self.pos > start && is_ws(self.s[self.pos - 1]) {
            self.pos -= 1;
        }
        Ok(self.node(
            start,
            Kind::Scalar {
                text,
                style: Style::Plain,
                tag: None,
            },
        ))
    }
}

/// What [`Parser::block_node`] returns: the node (`None` when absent), the comment at the end
/// of the indicator's line (placed before the item), and comments between the indicator and
/// a scalar on a following line (also before the item).
struct BlockValue {
    node: Option<Node>,
    line_comment: Option<Comment>,
    leading: Vec<Comment>,
}

fn node_opt(node: Node) -> Option<Node> {
    Some(node)
}

fn apply_tag(mut node: Node, tag: Option<String>) -> Node {
    if let Some(t) = tag
        && let Kind::Scalar { tag, .. } = &mut node.kind
    {
        *tag = Some(t);
    }
    node
}

fn is_utf8_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The share of a document of `total` bytes (read plus copied) that alias expansion may make
/// up: go-yaml v3's `allowedAliasRatio`, over sizes instead of node counts.
fn allowed_alias_share(total: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
    match total {
        t if t <= ALIAS_RATIO_LOW => 0.99,
        t if t >= ALIAS_RATIO_HIGH => 0.10,
        t => {
            0.99 - 0.89
                * ((t - ALIAS_RATIO_LOW) as f64 / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW) as f64)
        }
    }
}

/// What one node costs without its children: its size in memory plus its text.
fn own_cost(kind: &Kind) -> usize {
    std::mem::size_of::<Node>()
        + match kind {
            Kind::Scalar { text, tag, .. } => text.len() + tag.as_ref().map_or(0, String::len),
            Kind::Map(_) | Kind::Seq(_) => 0,
        }
}

/// What copying a node costs: [`own_cost`] of it and of everything in it, comments included.
fn node_cost(node: &Node) -> usize {
    let comment = |c: &Comment| std::mem::size_of::<Node>() + c.text.len();
    own_cost(&node.kind)
        + match &node.kind {
            Kind::Scalar { .. } => 0,
            Kind::Map(es) => es
                .iter()
                .map(|e| match e {
                    MapEntry::Pair(k, v) => node_cost(k) + node_cost(v),
                    MapEntry::Comment(c) => comment(c),
                })
                .sum(),
            Kind::Seq(es) => es
                .iter()
                .map(|e| match e {
                    SeqEntry::Item(v) => node_cost(v),
                    SeqEntry::Comment(c) => comment(c),
                })
                .sum(),
        }
}
