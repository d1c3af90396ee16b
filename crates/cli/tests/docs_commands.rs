//! Every `psd` command the documentation shows is one psd accepts, so the docs cannot rot:
//! each `psd …` in a shell block (```sh, ```bash, ```shell, ```console) or an inline code span of
//! `README.md` and `docs/**/*.md` names subcommands that exist, and each of its flags is one
//! that subcommand's `--help` lists. Synopsis lines (`psd render [--check|--dry-run]`) are read
//! the same way, brackets and alternatives taken apart.
//!
//! The judge is psd's own argument parser, through `psd <subcommand> --help`, not a list kept
//! here: a flag renamed in the code and not in the docs fails this test.

mod doc_files;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const PSD: &str = env!("CARGO_BIN_EXE_psd");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every Markdown file under docs/, by path relative to the checkout.
fn documents() -> Vec<(String, String)> {
    doc_files::documents(&repo())
}

/// The shell text of a document, with the line it starts on: each logical line of a shell
/// block (continuations joined), and each inline code span.
fn snippets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<bool> = None; // Some(is_shell) inside a fenced block
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(matches!(info.trim(), "sh" | "bash" | "shell" | "console")),
            };
            continue;
        }
        match fence {
            Some(true) => {
                let l = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
                let (start, mut acc) = pending.take().unwrap_or((n, String::new()));
                if let Some(head) = l.strip_suffix('\\') {
                    acc.push_str(head);
                    acc.push(' ');
                    pending = Some((start, acc));
                } else if l.trim_end().ends_with('|') || l.trim_end().ends_with("&&") {
                    acc.push_str(l);
                    acc.push(' ');
                    pending = Some((start, acc));
                } else {
                    acc.push_str(l);
                    out.push((start, acc));
                }
            }
            Some(false) => {}
            None => {
                // Inline code spans of prose and tables.
                let mut rest = line;
                while let Some(a) = rest.find('`') {
                    let after = &rest[a + 1..];
                    let Some(b) = after.find('`') else { break };
                    out.push((n, after[..b].to_owned()));
                    rest = &after[b + 1..];
                }
            }
        }
    }
    out
}

/// Each `psd` invocation of a shell snippet: the words after `psd`, comments dropped.
fn invocations(snippet: &str) -> Vec<Vec<String>> {
    // Comments: a `#` that starts a word.
    let mut code = String::new();
    for (i, c) in snippet.char_indices() {
        if c == '#' && (i == 0 || snippet[..i].ends_with(char::is_whitespace)) {
            break;
        }
        code.push(c);
    }
    // Simple commands: split at `|`, `;`, `&`, `(`, `)` and backticks outside quotes.
    let mut parts = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in code.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '|' | ';' | '&' | '(' | ')' | '`') => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    let mut out = Vec::new();
    for part in &parts {
        let words = shlex::split(part)
            .unwrap_or_else(|| part.split_whitespace().map(str::to_owned).collect());
        let mut words = words.into_iter().skip_while(|w| {
            w.contains('=') && !w.starts_with('-') || w == "do" || w == "then" || w == "$"
        });
        if words.next().as_deref() == Some("psd") {
            out.push(words.collect());
        }
    }
    out
}

/// What `psd [path…] --help` says: its subcommands and its flags.
#[derive(Default)]
struct Help {
    subcommands: BTreeSet<String>,
    flags: BTreeSet<String>,
}

fn help<'c>(path: &[String], cache: &'c mut BTreeMap<Vec<String>, Help>) -> &'c Help {
    cache.entry(path.to_vec()).or_insert_with(|| {
        let out = Command::new(PSD)
            .args(path)
            .arg("--help")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psd {} --help: {}",
            path.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut h = Help::default();
        let mut section = "";
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line;
                continue;
            }
            let t = line.trim_start();
            if section == "Commands:"
                && line.starts_with("  ")
                && !line.starts_with("      ")
                && let Some(name) = t.split_whitespace().next()
            {
                h.subcommands.insert(name.to_owned());
            }
            if t.starts_with('-') && line.starts_with("  ") && !line.starts_with("          ") {
                for word in t.split([' ', ',']) {
                    let word = word.split(['=', '[', '<']).next().unwrap_or("");
                    if word.starts_with('-') && word.len() > 1 {
                        h.flags.insert(word.to_owned());
                    }
                }
            }
        }
        h
    })
}

/// The flags a word of a synopsis or command names: `[--check|--dry-run]` gives both;
/// `--format=json` gives `--format`; a bundle of short flags (`-yi`) gives each.
fn flags_of(word: &str) -> Vec<String> {
    let word = word.trim_matches(|c| matches!(c, '[' | ']' | '{' | '}' | '"' | '\''));
    word.split('|')
        .map(|w| w.trim_matches(|c| matches!(c, '[' | ']')))
        .filter(|w| w.starts_with('-') && w.len() > 1 && *w != "--")
        .flat_map(|w| {
            let w = w.split('=').next().unwrap_or(w);
            if w.starts_with("--") {
                vec![w.to_owned()]
            } else {
                w[1..]
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .map(|c| format!("-{c}"))
                    .collect()
            }
        })
        .collect()
}

#[test]
fn every_psd_command_in_the_docs_is_accepted_by_psd() {
    let mut cache = BTreeMap::new();
    let top = help(&[], &mut cache).subcommands.clone();
    assert!(top.contains("render") && top.contains("lint"), "{top:?}");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (doc, text) in documents() {
        for (line, snippet) in snippets(&text) {
            for words in invocations(&snippet) {
                // The subcommand path: words naming subcommands, from the top.
                let mut path: Vec<String> = Vec::new();
                let mut rest = words.iter().peekable();
                while let Some(w) = rest.peek() {
                    let w = w.trim_matches(|c| matches!(c, '[' | ']'));
                    let subs = &help(&path, &mut cache).subcommands;
                    let Some(name) = w.split('|').find(|n| subs.contains(*n)) else {
                        break;
                    };
                    path.push(name.to_owned());
                    rest.next();
                }
                let first = words.first().map(String::as_str).unwrap_or("");
                if path.is_empty() && !first.starts_with('-') && !first.contains('.') {
                    // Not a flag and not a file: a subcommand psd does not have.
                    if !first.is_empty()
                        && first.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    {
                        problems.push(format!("{doc}:{line}: `psd {first}`: no such subcommand"));
                    }
                    continue;
                }
                if path.is_empty() {
                    // sops's legacy top-level forms (`psd -d FILE`): translated before
                    // parsing; crates/cli/tests/sops_legacy.rs runs them.
                    continue;
                }
                checked += 1;
                let known = &help(&path, &mut cache).flags;
                for word in rest {
                    for flag in flags_of(word) {
                        if !known.contains(&flag) {
                            problems.push(format!(
                                "{doc}:{line}: `psd {}`: `{flag}` is not a flag of `psd {}`",
                                words.join(" "),
                                path.join(" ")
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked >= 40,
        "only {checked} psd commands found in the docs"
    );
    assert!(
        problems.is_empty(),
        "the docs show psd commands psd does not accept:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_what_it_must() {
    // The pieces above, on text whose answers are known, so the test above cannot pass by
    // finding nothing.
    let doc = "x `psd lint --format json` y\n```sh\npsd render \\\n  --check # a comment --nope\nFOO=1 psd set a.yaml '[\"a\"]' 1 | psd -d a.yaml\npsd connect redis --exec 'redis-cli -c \"x (y)\"'; done\n```\n```text\npsd not-shell\n```\n";
    let s = snippets(doc);
    assert_eq!(
        s.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [1, 3, 5, 6],
        "{s:?}"
    );
    let all: Vec<Vec<String>> = s.iter().flat_map(|(_, t)| invocations(t)).collect();
    assert_eq!(
        all,
        [
            vec!["lint", "--format", "json"],
            vec!["render", "--check"],
            vec!["set", "a.yaml", "[\"a\"]", "1"],
            vec!["-d", "a.yaml"],
            vec!["connect", "redis", "--exec", "redis-cli -c \"x (y)\""],
        ]
    );
    assert_eq!(flags_of("[--check|--dry-run]"), ["--check", "--dry-run"]);
    assert_eq!(flags_of("-yi"), ["-y", "-i"]);
    assert_eq!(flags_of("--format=json"), ["--format"]);
    let mut cache = BTreeMap::new();
    let render = help(&["render".to_owned()], &mut cache);
    assert!(render.flags.contains("--check") && !render.flags.contains("--nope"));
}
