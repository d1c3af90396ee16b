//! YAML documents with positions, and the Kubernetes identity of each (apiVersion, kind,
//! namespace, name). YAML is read by the same parser the sops YAML store uses
//! ([`psd_sops::stores::yaml::parse`]), so a file lints exactly as sops and psd read it.

use psd_sops::stores::yaml::Style;
use psd_sops::stores::yaml::parse::{self, Kind, MapEntry, Node, SeqEntry};

use crate::finding::Span;
use crate::tree::File;

/// One YAML document of a file.
#[derive(Debug)]
pub struct Document {
    /// Index of the file in [`crate::Tree::files`].
    pub file: usize,
    /// 0-based index of the document in its file.
    pub index: usize,
    /// The root node (aliases expanded).
    pub root: Node,
    /// `apiVersion`, if a string.
    pub api_version: Option<String>,
    /// `kind`, if a string.
    pub kind: Option<String>,
    /// `metadata.name`, if a string.
    pub name: Option<String>,
    /// `metadata.namespace` as written, if a string.
    pub namespace: Option<String>,
    /// Whether the document carries sops metadata (a top-level `sops:` mapping with `mac`).
    pub encrypted: bool,
}

impl Document {
    /// The API group of `apiVersion` (`""` for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.as_deref() {
            Some(v) => v.rsplit_once('/').map_or("", |(g, _)| g),
            None => "",
        }
    }

    /// Whether this is `kind` in API group `group` (any version).
    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind) && self.group() == group
    }

    /// The node at a path of mapping keys from the root.
    pub fn get(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(&self.root, |n, k| n.get(k))
    }

    /// The string at a path of mapping keys from the root.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.get(path).and_then(NodeExt::as_str)
    }

    /// `kind/name` or `kind/namespace/name`, for messages.
    pub fn describe(&self) -> String {
        let kind = self.kind.as_deref().unwrap_or("?");
        let name = self.name.as_deref().unwrap_or("?");
        match &self.namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        }
    }
}

/// Read-only helpers on parsed YAML nodes.
pub trait NodeExt {
    /// The value of `key` if this is a mapping holding it (first occurrence).
    fn get(&self, key: &str) -> Option<&Node>;
    /// The key node of `key` if this is a mapping holding it.
    fn key_node(&self, key: &str) -> Option<&Node>;
    /// The text of a scalar that is not `null`/`~`/empty.
    fn as_str(&self) -> Option<&str>;
    /// Whether this is a plain `true`.
    fn is_true(&self) -> bool;
    /// Whether this is a plain `false`.
    fn is_false(&self) -> bool;
    /// The pairs of a mapping (key text, key node, value node), comments skipped. Empty for
    /// anything else; a key that is not a scalar is skipped.
    fn pairs(&self) -> Vec<(&str, &Node, &Node)>;
    /// The items of a sequence, comments skipped. Empty for anything else.
    fn items(&self) -> Vec<&Node>;
    /// Whether this is a mapping.
    fn is_map(&self) -> bool;
    /// Whether this is a sequence.
    fn is_seq(&self) -> bool;
}

impl NodeExt for Node {
    fn get(&self, key: &str) -> Option<&Node> {
        self.pairs()
            .into_iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| v)
    }

    fn key_node(&self, key: &str) -> Option<&Node> {
        self.pairs()
            .into_iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, _)| k)
    }

    fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, style, tag } => {
                let null = *style == Style::Plain
                    && tag.is_none()
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
                (!null).then_some(text.as_str())
            }
            _ => None,
        }
    }

    fn is_true(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, style: Style::Plain, .. } if matches!(text.as_str(), "true" | "True" | "TRUE"))
    }

    fn is_false(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, style: Style::Plain, .. } if matches!(text.as_str(), "false" | "False" | "FALSE"))
    }

    fn pairs(&self) -> Vec<(&str, &Node, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|e| match e {
                    MapEntry::Pair(k, v) => match &k.kind {
                        Kind::Scalar { text, .. } => Some((text.as_str(), k, v)),
                        _ => None,
                    },
                    MapEntry::Comment(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn items(&self) -> Vec<&Node> {
        match &self.kind {
            Kind::Seq(entries) => entries
                .iter()
                .filter_map(|e| match e {
                    SeqEntry::Item(n) => Some(n),
                    SeqEntry::Comment(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }

    fn is_seq(&self) -> bool {
        matches!(self.kind, Kind::Seq(_))
    }
}

/// Parses every document of a YAML file. On a syntax error, the error's message and span.
pub fn parse_file(file_index: usize, file: &File) -> Result<Vec<Document>, (String, Span)> {
    let Some(text) = file.text() else {
        return Err(("the file is not UTF-8".to_owned(), Span::on_line(1, 1, 1)));
    };
    let roots =
        parse::parse_stream(text).map_err(|e| (e.message, Span::on_line(e.line, e.column, 1)))?;
    Ok(roots
        .into_iter()
        .enumerate()
        .filter_map(|(index, root)| {
            let root = root?;
            if matches!(&root.kind, Kind::Scalar { text, .. } if text.is_empty()) {
                return None;
            }
            let s = |path: &[&str]| {
                path.iter()
                    .try_fold(&root, |n, k| n.get(k))
                    .and_then(NodeExt::as_str)
                    .map(str::to_owned)
            };
            let encrypted = root.get("sops").is_some_and(|m| m.get("mac").is_some());
            Some(Document {
                file: file_index,
                index,
                api_version: s(&["apiVersion"]),
                kind: s(&["kind"]),
                name: s(&["metadata", "name"]),
                namespace: s(&["metadata", "namespace"]),
                encrypted,
                root,
            })
        })
        .collect())
}

/// Parses YAML held in a string scalar of a document (a `HelmChartConfig`'s
/// `spec.valuesContent`) with positions in the file `text`: a literal block scalar (`|`) keeps
/// its lines, so each node moves to its own line and column; any other style puts every node
/// at the scalar. `None` if the scalar is empty or not YAML (its first document is used).
pub fn parse_embedded(text: &str, node: &Node) -> Option<Node> {
    let content = node.as_str()?;
    let root = parse::parse_stream(content).ok()?.into_iter().next()??;
    let at: String = text
        .lines()
        .nth(node.line.checked_sub(1)?)?
        .chars()
        .skip(node.column.saturating_sub(1))
        .collect();
    if at.starts_with('|') {
        // The content starts on the line after the indicator, every line indented alike.
        let indent = text
            .lines()
            .skip(node.line)
            .find(|l| !l.trim().is_empty())?
            .chars()
            .take_while(|&c| c == ' ')
            .count();
        Some(relocate(root, &|l, c| (node.line + l, indent + c)))
    } else {
        Some(relocate(root, &|_, _| (node.line, node.column)))
    }
}

fn relocate(mut n: Node, to: &dyn Fn(usize, usize) -> (usize, usize)) -> Node {
    (n.line, n.column) = to(n.line, n.column);
    n.kind = match n.kind {
        Kind::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|e| match e {
                    MapEntry::Pair(k, v) => MapEntry::Pair(relocate(k, to), relocate(v, to)),
                    c => c,
                })
                .collect(),
        ),
        Kind::Seq(entries) => Kind::Seq(
            entries
                .into_iter()
                .map(|e| match e {
                    SeqEntry::Item(v) => SeqEntry::Item(relocate(v, to)),
                    c => c,
                })
                .collect(),
        ),
        k => k,
    };
    n
}

/// The span of a node in `text`: from its first character to the end of its token on that
/// line (a quoted scalar to its closing quote, a plain one to a comment or the end of the
/// line; a collection to the end of its first line).
pub fn span_of(text: &str, node: &Node) -> Span {
    let Some(line) = text.lines().nth(node.line.saturating_sub(1)) else {
        return Span::on_line(node.line, node.column, 1);
    };
    let rest: String = line.chars().skip(node.column.saturating_sub(1)).collect();
    let len = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut n = 1;
            let mut prev = '\0';
            for c in rest.chars().skip(1) {
                n += 1;
                if c == q && !(q == '"' && prev == '\\') {
                    break;
                }
                prev = if prev == '\\' && c == '\\' { '\0' } else { c };
            }
            n
        }
        _ => {
            // A plain scalar ends at a comment, or (a mapping key) at `: ` or a final `:`.
            let mut cut = rest.find(" #").unwrap_or(rest.len());
            if let Some(colon) = rest[..cut].find(": ") {
                cut = colon;
            } else if rest[..cut].trim_end().ends_with(':') {
                cut = rest[..cut].trim_end().len() - 1;
            }
            rest[..cut].trim_end().chars().count()
        }
    };
    Span::on_line(node.line, node.column, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> File {
        File {
            path: "a.yaml".into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn identity_and_positions() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s # c\n  namespace: \"ns\"\n---\n---\nkind: X\n";
        let docs = parse_file(0, &file(text)).unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        assert_eq!(d.describe(), "Secret ns/s");
        assert_eq!(d.group(), "");
        let name = d.get(&["metadata", "name"]).unwrap();
        assert_eq!(span_of(text, name), Span::on_line(4, 9, 1));
        let ns = d.get(&["metadata", "namespace"]).unwrap();
        assert_eq!(span_of(text, ns), Span::on_line(5, 14, 4));
        assert_eq!(docs[1].index, 2);
        // A key's span is the key.
        let key = d.root.key_node("metadata").unwrap();
        assert_eq!(span_of(text, key), Span::on_line(3, 1, 8));
        let key = d.get(&["metadata"]).unwrap().key_node("name").unwrap();
        assert_eq!(span_of(text, key), Span::on_line(4, 3, 4));
    }

    #[test]
    fn embedded_yaml_keeps_file_positions() {
        let text = "kind: HelmChartConfig\nspec:\n  valuesContent: |\n    ports:\n      db:\n        port: 5432\n";
        let docs = parse_file(0, &file(text)).unwrap();
        let vc = docs[0].get(&["spec", "valuesContent"]).unwrap();
        let inner = parse_embedded(text, vc).unwrap();
        let db = inner.get("ports").unwrap().key_node("db").unwrap();
        assert_eq!((db.line, db.column), (5, 7));
        let port = inner
            .get("ports")
            .unwrap()
            .get("db")
            .unwrap()
            .get("port")
            .unwrap();
        assert_eq!(span_of(text, port), Span::on_line(6, 15, 4));
        let text = "spec:\n  valuesContent: \"a: 1\"\n";
        let docs = parse_file(0, &file(text)).unwrap();
        let vc = docs[0].get(&["spec", "valuesContent"]).unwrap();
        let a = parse_embedded(text, vc).unwrap();
        assert_eq!(
            (a.get("a").unwrap().line, a.get("a").unwrap().column),
            (2, 18)
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let (msg, span) = parse_file(0, &file("a: [\n")).unwrap_err();
        assert!(!msg.is_empty());
        assert!(span.line >= 1);
    }
}
