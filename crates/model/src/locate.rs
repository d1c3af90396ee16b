//! Where a field is in a YAML text: the line and column of the key a dotted path names, so an
//! error about a value can point at it (`psd.yaml:4:3`) as parse errors do.

/// The 1-based line and column (in characters) of the field `path` in `text`: dotted keys of
/// block mappings (`services.postgresql.size`), a `[i]` suffix naming the i-th item of a block
/// list (`sops.age_recipients[1]`) or, for a flow list (`[a, b]`), its key. `None` when the
/// field is not written in the text (a default) or is written in a way this reader does not
/// follow (flow mappings, anchors, several documents); callers then name the file alone.
#[must_use]
pub fn field_position(text: &str, path: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0; // first line of the current block
    let mut parent_indent: Option<usize> = None;
    let mut in_item = false; // the block starts on a list item's line, after its `- `
    let mut found = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, Some(rest.strip_suffix(']')?.parse::<usize>().ok()?)),
            None => (segment, None),
        };
        let (line, indent) = find_key(&lines, from, parent_indent, in_item, name)?;
        found = Some((line + 1, indent + 1));
        parent_indent = Some(indent);
        from = line + 1;
        in_item = false;
        if let Some(i) = index {
            match find_item(&lines, line, indent, i) {
                Some((item_line, content)) => {
                    found = Some((item_line + 1, content + 1));
                    // A mapping inside the item starts after its `- `, at column `content`.
                    parent_indent = Some(content.saturating_sub(1));
                    from = item_line;
                    in_item = true;
                }
                // A flow list on the key's line: its key is the place.
                None if lines[line]
                    .split_once(':')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('[')) => {}
                None => return None,
            }
        }
    }
    found
}

/// The width in characters of the indentation (spaces only; tabs are not YAML indentation).
fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The line and indentation of `name:` among the direct children of the block that starts at
/// `from`, deeper than `parent` (any indentation at top level). With `in_item`, the block's
/// first line is a list item whose mapping starts after its `- `.
fn find_key(
    lines: &[&str],
    from: usize,
    parent: Option<usize>,
    in_item: bool,
    name: &str,
) -> Option<(usize, usize)> {
    let mut child_indent = None;
    for (n, line) in lines.iter().enumerate().skip(from) {
        if is_blank_or_comment(line) || line.trim() == "---" {
            continue;
        }
        // The first line of a list item's mapping starts after `- `.
        let (indent, body) = match line.trim_start().strip_prefix('-') {
            Some(b) if n == from && in_item => {
                let body = b.trim_start();
                (line[..line.len() - body.len()].chars().count(), body)
            }
            _ => (indent_of(line), line.trim_start()),
        };
        if parent.is_some_and(|p| indent <= p) {
            return None;
        }
        let child = *child_indent.get_or_insert(indent);
        if indent < child {
            return None;
        }
        if indent == child && is_key(body, name) {
            return Some((n, indent));
        }
    }
    None
}

/// Whether `body` (a line without its indentation) is the key `name`, plain or quoted.
fn is_key(body: &str, name: &str) -> bool {
    [name.to_owned(), format!("\"{name}\""), format!("'{name}'")]
        .iter()
        .any(|k| {
            body.strip_prefix(k.as_str())
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        })
}

/// The line and content indentation of the `i`-th item of the block list under the key at
/// `key_line` (indented `key_indent`).
fn find_item(
    lines: &[&str],
    key_line: usize,
    key_indent: usize,
    i: usize,
) -> Option<(usize, usize)> {
    let mut seen = 0;
    let mut item_indent = None;
    for (n, line) in lines.iter().enumerate().skip(key_line + 1) {
        if is_blank_or_comment(line) {
            continue;
        }
        let indent = indent_of(line);
        let is_item = line.trim_start().starts_with("- ") || line.trim() == "-";
        // Block lists may sit at the key's own indentation (`key:\n- a`).
        if indent < key_indent || (indent == key_indent && !is_item) {
            return None;
        }
        if !is_item || item_indent.is_some_and(|w| w != indent) {
            continue;
        }
        item_indent = Some(indent);
        if seen == i {
            let content = line[indent..].strip_prefix('-')?;
            let pad = content.len() - content.trim_start().len();
            return Some((n, line[..indent].chars().count() + 1 + pad));
        }
        seen += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::field_position as at;

    const DOC: &str = "\
# a comment
domain: example.org
acme:
  email: ops@example.org   # trailing comment
  \"server\": x
flux:

  cluster_name: Prod
services:
  postgresql:
    size: 5Gi
  redis:
    size: 1Gi
sops:
  age_recipients:
    - age1aaa
    -   age1bbb
exposure:
  allowed: [a, b]
ünï:
  kéy: 1
";

    #[test]
    fn finds_nested_keys_list_items_and_quoted_keys() {
        assert_eq!(at(DOC, "domain"), Some((2, 1)));
        assert_eq!(at(DOC, "acme.email"), Some((4, 3)));
        assert_eq!(at(DOC, "acme.server"), Some((5, 3)));
        assert_eq!(at(DOC, "flux.cluster_name"), Some((8, 3)));
        assert_eq!(at(DOC, "services.redis.size"), Some((13, 5)));
        assert_eq!(at(DOC, "services.postgresql.size"), Some((11, 5)));
        assert_eq!(at(DOC, "sops.age_recipients[0]"), Some((16, 7)));
        assert_eq!(at(DOC, "sops.age_recipients[1]"), Some((17, 9)));
        assert_eq!(at(DOC, "exposure.allowed[1]"), Some((19, 3)));
        assert_eq!(at(DOC, "ünï.kéy"), Some((21, 3)));
    }

    #[test]
    fn absent_or_unfollowed_fields_are_none() {
        // Defaults, a key of another block, an index past the end, flow mappings, empty text.
        assert_eq!(at(DOC, "storage_class"), None);
        assert_eq!(at(DOC, "acme.size"), None);
        assert_eq!(at(DOC, "services.size"), None);
        assert_eq!(at(DOC, "sops.age_recipients[2]"), None);
        assert_eq!(at("acme: {email: x}\n", "acme.email"), None);
        assert_eq!(at("", "domain"), None);
        assert_eq!(at("domain", "domain"), None);
        assert_eq!(at(DOC, "sops.age_recipients[x]"), None);
        // A key that only starts like the one asked for.
        assert_eq!(at("domains: a\ndomain: b\n", "domain"), Some((2, 1)));
        // A key deeper in an earlier block is not a child of the later one.
        assert_eq!(at("a:\n  b:\n    c: 1\nc: 2\n", "a.c"), None);
    }

    #[test]
    fn mappings_inside_list_items() {
        let text = "items:\n  - name: a\n    size: 1\n  - name: b\n    size: 2\n";
        assert_eq!(at(text, "items[1]"), Some((4, 5)));
        assert_eq!(at(text, "items[1].size"), Some((5, 5)));
        assert_eq!(at(text, "items[0].name"), Some((2, 5)));
        let flush = "items:\n- a\n- b\n";
        assert_eq!(at(flush, "items[1]"), Some((3, 3)));
    }

    /// A random document: nested block mappings and lists with any indentation width, blank
    /// lines and comments between entries, unicode keys.
    fn emit(
        map: &[(String, Node)],
        indent: usize,
        width: usize,
        noise: &mut impl Iterator<Item = u8>,
        out: &mut String,
        paths: &mut Vec<(String, usize, usize)>,
        prefix: &str,
    ) {
        for (k, node) in map {
            match noise.next().unwrap_or(0) % 4 {
                0 => out.push('\n'),
                1 => out.push_str(&format!("{}# {k}: not this one\n", " ".repeat(indent))),
                _ => {}
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            let line = out.lines().count() + 1;
            paths.push((path.clone(), line, indent + 1));
            match node {
                Node::Leaf => out.push_str(&format!("{}{k}: v\n", " ".repeat(indent))),
                Node::List(n) => {
                    out.push_str(&format!("{}{k}:\n", " ".repeat(indent)));
                    for i in 0..*n {
                        let line = out.lines().count() + 1;
                        paths.push((format!("{path}[{i}]"), line, indent + width + 3));
                        out.push_str(&format!("{}- item{i}\n", " ".repeat(indent + width)));
                    }
                }
                Node::Map(m) => {
                    out.push_str(&format!("{}{k}:\n", " ".repeat(indent)));
                    emit(m, indent + width, width, noise, out, paths, &path);
                }
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Node {
        Leaf,
        List(usize),
        Map(Vec<(String, Node)>),
    }

    fn node() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        let leaf = prop_oneof![Just(Node::Leaf), (0usize..4).prop_map(Node::List)];
        leaf.prop_recursive(3, 24, 4, |inner| {
            proptest::collection::btree_map("[a-zé_][a-z0-9é_ü]{0,6}", inner, 1..4)
                .prop_map(|m| Node::Map(m.into_iter().collect()))
        })
    }

    proptest::proptest! {
        #[test]
        fn every_written_field_is_found_where_it_is(
            top in proptest::collection::btree_map("[a-zé_][a-z0-9é_ü]{0,6}", node(), 1..5),
            width in 1usize..5,
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
        ) {
            let top: Vec<(String, Node)> = top.into_iter().collect();
            let mut text = String::new();
            let mut paths = Vec::new();
            emit(&top, 0, width, &mut noise.into_iter().cycle(), &mut text, &mut paths, "");
            for (path, line, col) in paths {
                proptest::prop_assert_eq!(at(&text, &path), Some((line, col)), "{}\n{}", path, text);
            }
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "\u{feff}domain: a\n",
            "-\n",
            "- \n",
            "a:\n-",
            "a:\n  - ",
            "\t\tdomain: a",
            "é: [\n",
            "a:\n  b: [x\n",
        ] {
            for path in ["domain", "a.b", "a[0]", "a[0].b", "é[3]", ""] {
                let _ = at(text, path);
            }
        }
    }
}
