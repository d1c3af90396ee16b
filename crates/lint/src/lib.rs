//! Lints over any Flux GitOps tree, not only the ones psd renders: references that do not
//! resolve, plaintext Secrets and private keys, SOPS decryption wiring, API versions no longer
//! served, Flux ordering that cannot converge on a first sync, and more. Each rule has a
//! stable id, a severity, a message and a help text ([`RuleInfo`]); `psd lint` and psd's own
//! render run the same rules.
//!
//! ```
//! use psd_lint::{lint, Config, Tree};
//!
//! let tree = Tree::from_files([(
//!     "apps/secret.yaml",
//!     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n",
//! )]);
//! let findings = lint(&tree, &Config::default());
//! assert!(findings.iter().any(|f| f.rule == "secrets/plaintext" && f.span.unwrap().line == 7));
//! ```
//!
//! The pieces: [`Tree`] (the files), [`document`] (YAML with positions, read by the same
//! parser as the sops store), [`mod@index`] (objects, namespaces, kustomize folders and Flux
//! Kustomizations), [`rules`] (one module per rule family), [`Config`] (per-rule settings and
//! the `psd-lint/ignore` annotation), [`schema`] (kubeconform-style schema locations and chart
//! values schemas, [`SchemaOptions`] in [`Config::schema`]; off by default) and [`Finding`].

pub mod config;
pub mod decrypt;
pub mod document;
pub mod finding;
pub mod index;
pub mod report;
pub mod rules;
pub mod schema;
pub mod tree;

use std::collections::HashMap;

pub use config::{Config, RuleSetting};
pub use document::{Document, NodeExt};
pub use finding::{Finding, RuleInfo, Severity, Span};
pub use index::Index;
pub use schema::SchemaOptions;
pub use tree::Tree;

use psd_sops::stores::yaml::parse::Node;

/// Everything a rule may look at.
pub struct Context<'a> {
    /// The files.
    pub tree: &'a Tree,
    /// The parsed and indexed tree.
    pub index: &'a Index,
    /// The configuration.
    pub config: &'a Config,
}

impl Context<'_> {
    /// The text of the file holding document `doc`.
    pub fn text_of(&self, doc: usize) -> &str {
        self.tree.files[self.index.docs[doc].file]
            .text()
            .unwrap_or("")
    }

    /// The span of `node`, a node of document `doc`.
    pub fn span(&self, doc: usize, node: &Node) -> Span {
        document::span_of(self.text_of(doc), node)
    }
}

/// Collects the findings of rules.
#[derive(Default)]
pub struct Sink {
    raw: Vec<(Option<usize>, Finding)>,
}

impl Sink {
    /// Reports a finding about `node` of document `doc` (the node decides the span; `None`:
    /// the document's root). The rule's general help follows `help` when that is empty.
    pub fn at(
        &mut self,
        cx: &Context,
        rule: &'static RuleInfo,
        doc: usize,
        node: Option<&Node>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = &cx.index.docs[doc];
        let node = node.unwrap_or(&d.root);
        let mut help = help.into();
        if help.is_empty() {
            help = rule.help.to_owned();
        }
        self.raw.push((
            Some(doc),
            Finding {
                rule: rule.id,
                severity: rule.severity,
                file: cx.tree.files[d.file].path.clone(),
                span: Some(cx.span(doc, node)),
                message: message.into(),
                help,
            },
        ));
    }

    /// Reports a finding about document `doc` at `span` (for positions no node of the
    /// document has, such as inside a YAML string that holds YAML).
    pub fn at_span(
        &mut self,
        cx: &Context,
        rule: &'static RuleInfo,
        doc: usize,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let mut help = help.into();
        if help.is_empty() {
            help = rule.help.to_owned();
        }
        self.raw.push((
            Some(doc),
            Finding {
                rule: rule.id,
                severity: rule.severity,
                file: cx.tree.files[cx.index.docs[doc].file].path.clone(),
                span: Some(span),
                message: message.into(),
                help,
            },
        ));
    }

    /// Reports a finding about a file (no document), at `span` if known.
    pub fn file(
        &mut self,
        cx: &Context,
        rule: &'static RuleInfo,
        file: usize,
        span: Option<Span>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let mut help = help.into();
        if help.is_empty() {
            help = rule.help.to_owned();
        }
        self.raw.push((
            None,
            Finding {
                rule: rule.id,
                severity: rule.severity,
                file: cx.tree.files[file].path.clone(),
                span,
                message: message.into(),
                help,
            },
        ));
    }
}

/// Parses every YAML file of `tree` (on every core) and indexes the result.
pub fn index(tree: &Tree) -> Index {
    let yaml: Vec<usize> = (0..tree.files.len())
        .filter(|&i| tree.files[i].is_yaml())
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(yaml.len().max(1));
    let chunk = yaml.len().div_ceil(threads.max(1)).max(1);
    let parsed: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = yaml
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&i| (i, document::parse_file(i, &tree.files[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parser thread panicked"))
            .collect()
    });
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in parsed {
        match r {
            Ok(d) => docs.extend(d),
            Err((msg, span)) => errors.push((i, msg, span)),
        }
    }
    Index::build(tree, docs, errors)
}

/// Runs every rule over `tree` with `config`; findings sorted by file and position.
pub fn lint(tree: &Tree, config: &Config) -> Vec<Finding> {
    let index = index(tree);
    lint_indexed(tree, &index, config)
}

/// [`lint`] over a tree already indexed with [`index()`].
pub fn lint_indexed(tree: &Tree, index: &Index, config: &Config) -> Vec<Finding> {
    lint_indexed_with(tree, index, config, Vec::new())
}

/// [`lint_indexed`] plus findings made outside the rules (such as [`decrypt::DECRYPT`]'s),
/// which go through the same configuration (rule turned off, severity) and sorting. Their
/// rule must be one of [`rules::infos`].
pub fn lint_indexed_with(
    tree: &Tree,
    index: &Index,
    config: &Config,
    extra: Vec<Finding>,
) -> Vec<Finding> {
    let cx = Context {
        tree,
        index,
        config,
    };
    let mut sink = Sink::default();
    sink.raw.extend(extra.into_iter().map(|f| (None, f)));
    for rule in rules::ALL {
        (rule.check)(&cx, &mut sink);
    }
    // Silencing annotations, per document.
    let mut silenced: HashMap<usize, Vec<String>> = HashMap::new();
    for (i, d) in index.docs.iter().enumerate() {
        let Some(node) = d.get(&["metadata", "annotations", config::IGNORE_ANNOTATION]) else {
            continue;
        };
        let value = node.as_str().unwrap_or("");
        match config::parse_ignore(value) {
            Ok(ids) => {
                if let Some(bad) = ids
                    .iter()
                    .find(|id| !rules::ALL.iter().any(|r| r.info.id == id.as_str()))
                {
                    sink.at(
                        &cx,
                        &config::IGNORE_WITHOUT_REASON,
                        i,
                        Some(node),
                        format!("unknown rule `{bad}` in {}", config::IGNORE_ANNOTATION),
                        "",
                    );
                }
                silenced.insert(i, ids);
            }
            Err(why) => sink.at(
                &cx,
                &config::IGNORE_WITHOUT_REASON,
                i,
                Some(node),
                format!("{} is ignored: {why}", config::IGNORE_ANNOTATION),
                "",
            ),
        }
    }
    let mut out: Vec<Finding> = sink
        .raw
        .into_iter()
        .filter(|(doc, f)| {
            !doc.and_then(|d| silenced.get(&d))
                .is_some_and(|ids| ids.iter().any(|id| id == f.rule))
        })
        .filter_map(|(_, mut f)| {
            let info = rules::info(f.rule)?;
            match config.setting(info) {
                RuleSetting::Off => None,
                RuleSetting::Severity(s) => {
                    f.severity = s;
                    Some(f)
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.dedup();
    out
}
