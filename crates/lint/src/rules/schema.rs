//! Schema validation: every object against its JSON Schema from kubeconform-style schema
//! locations ([`crate::schema::SchemaOptions::locations`]), and chart values (HelmRelease
//! `spec.values`, K3s `HelmChartConfig`/`HelmChart` `spec.valuesContent`) against the chart's
//! own `values.schema.json` ([`crate::schema::SchemaOptions::chart_schemas`]). Off unless
//! configured.
//!
//! What is assumed, so that a valid tree gets no finding:
//! - The top-level `sops` key is dropped (kustomize-controller strips it when it decrypts), and
//!   an `ENC[...]` value stands for a value of its `type:`; errors about the value itself are
//!   not reported (its decrypted content is unknown).
//! - A string holding `${VAR}` may be replaced by Flux's `postBuild` substitution with a value
//!   of any type: errors about it are not reported.
//! - A file that a `kustomization.yaml` uses as a patch holds partial objects: missing required
//!   fields and `$patch`-style directive keys are not reported there.
//! - Chart values are validated alone, not merged with the chart's defaults: `required`
//!   errors are not reported (the defaults may supply the field), and `null` values are
//!   dropped first (Helm deletes such keys). A chart whose version cannot be known (a semver
//!   range, a K3s `HelmChartConfig`) is validated against every stored version of its schema
//!   and only what all of them reject is reported; a pinned version with no stored schema is
//!   not validated.
//! - `kind: List` objects, documents without `apiVersion`/`kind`, and Helm chart templates
//!   (files under `templates/` beside a `Chart.yaml`) are not validated.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use psd_sops::stores::yaml::Style;
use psd_sops::stores::yaml::parse::{self, Kind, Node};

use crate::document::{Document, NodeExt, span_of};
use crate::finding::{RuleInfo, Severity, Span};
use crate::index::is_kustomization_file;
use crate::schema::{self, Cache, ConvertOptions, Loaded, Unusable};
use crate::{Context, Sink};

/// An object does not validate against its schema.
pub static INVALID: RuleInfo = RuleInfo {
    id: "schema/invalid",
    severity: Severity::Error,
    summary: "an object does not validate against the JSON Schema of its kind",
    help: "fix the field as the message says (a misspelt key, a value of the wrong type, a value the schema does not allow); the API server or Flux refuses the object as written",
};

/// No schema location has a schema for a kind.
pub static MISSING: RuleInfo = RuleInfo {
    id: "schema/missing",
    severity: Severity::Info,
    summary: "no schema location has a schema for this kind (reported once per kind)",
    help: "add a schema location that has it (e.g. a folder of datreeio/CRDs-catalog files for custom resources: `--schema-location 'DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'`), or turn this rule off",
};

/// A schema file exists but cannot be read or compiled.
pub static UNUSABLE: RuleInfo = RuleInfo {
    id: "schema/unusable",
    severity: Severity::Warning,
    summary: "a schema file exists but is not a usable JSON Schema (reported once per file)",
    help: "replace the file with a valid JSON Schema (kubeconform/openapi2jsonschema output); objects of this kind are not validated meanwhile",
};

/// Chart values do not validate against the chart's `values.schema.json`.
pub static CHART_VALUES: RuleInfo = RuleInfo {
    id: "schema/chart-values",
    severity: Severity::Error,
    summary: "HelmRelease values or HelmChartConfig valuesContent do not validate against the chart's values.schema.json",
    help: "fix the value as the chart's values.schema.json requires (see the chart's values.yaml); Helm refuses to install or upgrade with values that fail it",
};

/// A finding computed off the main thread.
struct Pending {
    rule: &'static RuleInfo,
    doc: usize,
    span: Span,
    message: String,
    help: String,
}

/// The values a chart job checks.
enum Values<'a> {
    /// A mapping in the document (`spec.values`).
    Node(&'a Node),
    /// A string holding YAML (`spec.valuesContent`).
    Content(&'a Node),
}

enum Job<'a> {
    Object {
        doc: usize,
        schema: Arc<Loaded>,
        patch: bool,
    },
    Chart {
        doc: usize,
        values: Values<'a>,
        chart: String,
        schemas: Vec<(String, Arc<Loaded>)>,
    },
}

/// Checks every schema rule.
pub fn check(cx: &Context, out: &mut Sink) {
    let opts = &cx.config.schema;
    if !opts.enabled() && opts.chart_schemas.is_none() {
        return;
    }
    let mut cache = Cache::default();
    let mut reported_unusable: HashSet<PathBuf> = HashSet::new();
    let mut jobs: Vec<Job> = Vec::new();
    if opts.enabled() {
        let patches = patch_files(cx);
        // Helm chart templates (`<chart>/templates/`, beside a Chart.yaml) are Go templates,
        // not manifests: what they render is unknown here.
        let templates: Vec<String> = cx
            .tree
            .files
            .iter()
            .filter(|f| f.path == "Chart.yaml" || f.path.ends_with("/Chart.yaml"))
            .map(|f| {
                let dir = f.dir();
                if dir.is_empty() {
                    "templates/".to_owned()
                } else {
                    format!("{dir}/templates/")
                }
            })
            .collect();
        let mut by_kind: HashMap<(&str, &str), Option<Arc<Loaded>>> = HashMap::new();
        for (i, d) in cx.index.docs.iter().enumerate() {
            let (Some(api), Some(kind)) = (d.api_version.as_deref(), d.kind.as_deref()) else {
                continue;
            };
            if kind == "List" || !d.root.is_map() {
                continue;
            }
            let path = &cx.tree.files[d.file].path;
            if templates.iter().any(|t| path.starts_with(t.as_str())) {
                continue;
            }
            let schema = match by_kind.get(&(api, kind)) {
                Some(s) => s.clone(),
                None => {
                    let candidates = opts.candidates(kind, api);
                    let found = candidates.iter().find(|p| p.is_file());
                    let s = match found {
                        Some(p) => match cache.get(p) {
                            Ok(l) => Some(l),
                            Err(u) => {
                                report_unusable(cx, out, &mut reported_unusable, i, d, &u);
                                None
                            }
                        },
                        None => {
                            let node = d.root.get("kind");
                            let tried = candidates
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ");
                            out.at(
                                cx,
                                &MISSING,
                                i,
                                node,
                                format!(
                                    "no schema for {kind} ({api}); tried {tried}; objects of this kind are not validated"
                                ),
                                "",
                            );
                            None
                        }
                    };
                    by_kind.insert((api, kind), s.clone());
                    s
                }
            };
            if let Some(schema) = schema {
                jobs.push(Job::Object {
                    doc: i,
                    schema,
                    patch: patches.contains(&d.file),
                });
            }
        }
    }
    if let Some(dir) = &opts.chart_schemas {
        let mut listing: HashMap<String, Vec<(String, PathBuf)>> = HashMap::new();
        for (i, d) in cx.index.docs.iter().enumerate() {
            let Some((values, chart)) = chart_values(cx, i, d) else {
                continue;
            };
            let stored = listing
                .entry(chart.name.clone())
                .or_insert_with(|| stored_schemas(dir, &chart.name));
            let picked: Vec<&(String, PathBuf)> = match &chart.version {
                _ if stored.len() == 1 && stored[0].0.is_empty() => stored.iter().collect(),
                Some(v) => stored
                    .iter()
                    .filter(|(sv, _)| sv.trim_start_matches('v') == v.trim_start_matches('v'))
                    .collect(),
                None => stored.iter().collect(),
            };
            let mut schemas = Vec::new();
            for (version, path) in picked {
                match cache.get(path) {
                    Ok(l) => schemas.push((version.clone(), l)),
                    Err(u) => report_unusable(cx, out, &mut reported_unusable, i, d, &u),
                }
            }
            if schemas.is_empty() {
                continue;
            }
            jobs.push(Job::Chart {
                doc: i,
                values,
                chart: chart.name,
                schemas,
            });
        }
    }
    for p in run_parallel(cx, &jobs) {
        out.at_span(cx, p.rule, p.doc, p.span, p.message, p.help);
    }
}

fn report_unusable(
    cx: &Context,
    out: &mut Sink,
    reported: &mut HashSet<PathBuf>,
    doc: usize,
    d: &Document,
    u: &Unusable,
) {
    if reported.insert(u.path.clone()) {
        out.at(
            cx,
            &UNUSABLE,
            doc,
            d.root.get("kind"),
            format!(
                "the schema {} for {} cannot be used: {}",
                u.path.display(),
                d.kind.as_deref().unwrap_or("?"),
                u.message
            ),
            "",
        );
    }
}

/// Runs the jobs on every core; findings in job order.
fn run_parallel(cx: &Context, jobs: &[Job]) -> Vec<Pending> {
    if jobs.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for job in part {
                        run(cx, job, &mut out);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("schema thread panicked"))
            .collect()
    })
}

/// One validation error, reduced to what a finding needs.
struct Failure {
    /// Instance path segments.
    path: Vec<String>,
    /// For an unknown key: the key.
    unexpected: Option<String>,
    /// What is wrong.
    message: String,
    /// A better spelling of an unknown key.
    suggestion: Option<String>,
    /// Identity across schema versions: path, error kind, key.
    key: String,
}

/// The failures of `value` against `schema`, without those that cannot be trusted here.
fn failures(
    loaded: &Loaded,
    value: &serde_json::Value,
    opaque: &[String],
    skip_required: bool,
    skip_directives: bool,
) -> Vec<Failure> {
    let mut out = Vec::new();
    for e in loaded.validator.iter_errors(value) {
        let ptr = e.instance_path.as_str();
        if opaque
            .iter()
            .any(|o| ptr == o || (ptr.starts_with(o.as_str()) && ptr[o.len()..].starts_with('/')))
        {
            continue;
        }
        let path = schema::pointer_segments(ptr);
        let kind_name = kind_name(&e.kind);
        match &e.kind {
            ValidationErrorKind::Required { .. } if skip_required => continue,
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let allowed = schema::allowed_properties(&loaded.schema, e.schema_path.as_str());
                for key in unexpected {
                    if skip_directives && key.starts_with('$') {
                        continue;
                    }
                    let mut full = path.clone();
                    full.push(key.clone());
                    out.push(Failure {
                        key: format!("{ptr}\u{0}{kind_name}\u{0}{key}"),
                        message: format!(
                            "unknown field `{}`: the schema allows no other keys here",
                            schema::dotted(&full)
                        ),
                        suggestion: schema::suggest(key, &allowed).map(str::to_owned),
                        path: path.clone(),
                        unexpected: Some(key.clone()),
                    });
                }
            }
            _ => {
                let mut text = e.to_string();
                if text.chars().count() > 240 {
                    text = text.chars().take(240).collect::<String>() + "…";
                }
                out.push(Failure {
                    key: format!("{ptr}\u{0}{kind_name}"),
                    message: format!("`{}`: {text}", schema::dotted(&path)),
                    suggestion: None,
                    path,
                    unexpected: None,
                });
            }
        }
    }
    out
}

fn kind_name(k: &ValidationErrorKind) -> String {
    let dbg = format!("{k:?}");
    dbg.split([' ', '{', '(']).next().unwrap_or("").to_owned()
}

fn run(cx: &Context, job: &Job, out: &mut Vec<Pending>) {
    match job {
        Job::Object {
            doc,
            schema: loaded,
            patch,
        } => {
            let d = &cx.index.docs[*doc];
            let converted = schema::to_json(
                &d.root,
                ConvertOptions {
                    strip_sops: true,
                    strip_nulls: false,
                },
            );
            let text = cx.text_of(*doc);
            for f in failures(loaded, &converted.value, &converted.opaque, *patch, *patch) {
                let span = failure_span(text, &d.root, &f);
                let mut help = format!("{} (schema: {})", INVALID.help, loaded.path.display());
                if let Some(s) = &f.suggestion {
                    help = format!("did you mean `{s}`? {help}");
                }
                out.push(Pending {
                    rule: &INVALID,
                    doc: *doc,
                    span,
                    message: format!("{}: {}", d.describe(), f.message),
                    help,
                });
            }
        }
        Job::Chart {
            doc,
            values,
            chart,
            schemas,
        } => run_chart(cx, *doc, values, chart, schemas, out),
    }
}

fn failure_span(text: &str, root: &Node, f: &Failure) -> Span {
    let (node, reached) = schema::node_at(root, &f.path);
    if reached == f.path.len()
        && let Some(key) = &f.unexpected
        && let Some(k) = schema::key_at(node, key)
    {
        return span_of(text, k);
    }
    span_of(text, node)
}

fn run_chart(
    cx: &Context,
    doc: usize,
    values: &Values,
    chart: &str,
    schemas: &[(String, Arc<Loaded>)],
    out: &mut Vec<Pending>,
) {
    let d = &cx.index.docs[doc];
    let text = cx.text_of(doc);
    let parsed_content;
    let (root, content) = match values {
        Values::Node(n) => (*n, None),
        Values::Content(n) => {
            let Some(inner) = n.as_str() else { return };
            match parse::parse_stream(inner) {
                Ok(docs) => {
                    parsed_content = docs.into_iter().next().flatten();
                    match &parsed_content {
                        Some(r) => (r, Some((*n, inner))),
                        None => return,
                    }
                }
                Err(e) => {
                    let span = content_span(text, n, inner, e.line, e.column, 1)
                        .unwrap_or_else(|| span_of(text, n));
                    out.push(Pending {
                        rule: &CHART_VALUES,
                        doc,
                        span,
                        message: format!(
                            "the valuesContent of {} is not valid YAML: {}",
                            d.describe(),
                            e.message
                        ),
                        help: "fix the YAML inside valuesContent; the chart cannot be installed with values it cannot read".into(),
                    });
                    return;
                }
            }
        }
    };
    if !root.is_map() {
        return;
    }
    let converted = schema::to_json(
        root,
        ConvertOptions {
            strip_sops: false,
            strip_nulls: true,
        },
    );
    let mut all: Vec<Vec<Failure>> = schemas
        .iter()
        .map(|(_, l)| failures(l, &converted.value, &converted.opaque, true, false))
        .collect();
    let first = all.remove(0);
    let others: Vec<HashSet<String>> = all
        .into_iter()
        .map(|fs| fs.into_iter().map(|f| f.key).collect())
        .collect();
    let versions: Vec<&str> = schemas.iter().map(|(v, _)| v.as_str()).collect();
    let which = match versions.as_slice() {
        [""] => format!("chart {chart}"),
        [v] => format!("chart {chart} {v}"),
        vs => format!("every stored version of chart {chart} ({})", vs.join(", ")),
    };
    let field = if content.is_some() {
        "valuesContent"
    } else {
        "values"
    };
    for f in first {
        if !others.iter().all(|o| o.contains(&f.key)) {
            continue;
        }
        let inner_text = content.map_or(text, |(_, t)| t);
        let mut span = failure_span(inner_text, root, &f);
        if let Some((n, inner)) = content {
            span = content_span(
                text,
                n,
                inner,
                span.line,
                span.column,
                span.end_column - span.column,
            )
            .unwrap_or_else(|| span_of(text, n));
        }
        let mut help = format!(
            "{} (schema: {})",
            CHART_VALUES.help,
            schemas[0].1.path.display()
        );
        if let Some(s) = &f.suggestion {
            help = format!("did you mean `{s}`? {help}");
        }
        out.push(Pending {
            rule: &CHART_VALUES,
            doc,
            span,
            message: format!(
                "{} {field}, rejected by {which}: {}",
                d.describe(),
                f.message
            ),
            help,
        });
    }
}

/// Maps a position inside a literal block scalar's text back into the file: content line `k`
/// is file line `header + k`, shifted right by the block's indentation. `None` when the
/// scalar is not a literal block or the lines do not match (then the caller points at the
/// scalar itself).
fn content_span(
    file_text: &str,
    scalar: &Node,
    inner: &str,
    line: usize,
    column: usize,
    len: usize,
) -> Option<Span> {
    if !matches!(
        &scalar.kind,
        Kind::Scalar {
            style: Style::Literal,
            ..
        }
    ) {
        return None;
    }
    let inner_line = inner.lines().nth(line.checked_sub(1)?)?;
    let file_line_no = scalar.line + line;
    let file_line = file_text.lines().nth(file_line_no - 1)?;
    let indent = file_line
        .chars()
        .count()
        .checked_sub(inner_line.chars().count())?;
    let (pad, rest) = file_line.split_at(
        file_line
            .char_indices()
            .nth(indent)
            .map_or(file_line.len(), |(b, _)| b),
    );
    if rest != inner_line || !pad.chars().all(|c| c == ' ') {
        return None;
    }
    Some(Span::on_line(file_line_no, column + indent, len))
}

/// A chart and, when it can be known exactly, its version.
struct ChartId {
    name: String,
    version: Option<String>,
}

/// The values of a chart-installing object and the chart they go to.
fn chart_values<'a>(cx: &Context, i: usize, d: &'a Document) -> Option<(Values<'a>, ChartId)> {
    if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
        let values = d.get(&["spec", "values"]).filter(|n| n.is_map())?;
        return Some((Values::Node(values), helmrelease_chart(cx, i, d)?));
    }
    if d.is("helm.cattle.io", "HelmChartConfig") {
        let content = d.get(&["spec", "valuesContent"])?;
        // K3s applies a HelmChartConfig to the HelmChart of the same name; the version is
        // whatever the node ships.
        let name = d.name.clone()?;
        return Some((
            Values::Content(content),
            ChartId {
                name,
                version: None,
            },
        ));
    }
    if d.is("helm.cattle.io", "HelmChart") {
        let content = d.get(&["spec", "valuesContent"])?;
        let chart = d.str_at(&["spec", "chart"])?;
        if chart.ends_with(".tgz") || (chart.contains("://") && !chart.starts_with("oci://")) {
            return None;
        }
        return Some((
            Values::Content(content),
            ChartId {
                name: last_segment(chart)?,
                version: exact_version(d.str_at(&["spec", "version"])),
            },
        ));
    }
    None
}

fn last_segment(s: &str) -> Option<String> {
    let seg = s.trim_end_matches('/').rsplit('/').next()?;
    (!seg.is_empty() && seg != "." && seg != "..").then(|| seg.to_owned())
}

/// `Some` for a pinned version (`1.2.3`, `v1.21.1`, `0.29.0-rc.1`), `None` for a semver range,
/// a wildcard or nothing (the newest version is picked, unknown here).
fn exact_version(v: Option<&str>) -> Option<String> {
    let v = v?.trim();
    let body = v.strip_prefix('v').unwrap_or(v);
    let ok = body.starts_with(|c: char| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && !body.split(['.', '-', '+']).any(|p| matches!(p, "x" | "X"));
    ok.then(|| v.to_owned())
}

fn helmrelease_chart(cx: &Context, i: usize, d: &Document) -> Option<ChartId> {
    if let Some(c) = helmrelease_chart_here(cx, i, d) {
        return Some(c);
    }
    // A patch (or a partial copy) of a HelmRelease defined elsewhere in the tree: the chart of
    // that one, with this document's version if it sets one.
    let name = d.name.as_deref()?;
    let version = d.get(&["spec", "chart", "spec", "version"]);
    let mut namespaces = vec![cx.index.ns(i).to_owned()];
    if let Some(ns) = &d.namespace {
        namespaces.push(ns.clone());
    }
    for ns in namespaces {
        for &j in cx.index.find("HelmRelease", &ns, name) {
            if j == i {
                continue;
            }
            if let Some(mut c) = helmrelease_chart_here(cx, j, &cx.index.docs[j]) {
                if version.is_some() {
                    c.version = exact_version(version.and_then(NodeExt::as_str));
                }
                return Some(c);
            }
        }
    }
    None
}

fn helmrelease_chart_here(cx: &Context, i: usize, d: &Document) -> Option<ChartId> {
    if let Some(spec) = d.get(&["spec", "chart", "spec"])
        && let Some(chart) = spec.get("chart").and_then(NodeExt::as_str)
    {
        return Some(ChartId {
            name: last_segment(chart)?,
            version: exact_version(spec.get("version").and_then(NodeExt::as_str)),
        });
    }
    let r = d.get(&["spec", "chartRef"])?;
    let kind = r.get("kind")?.as_str()?;
    let name = r.get("name")?.as_str()?;
    let ns = r
        .get("namespace")
        .and_then(NodeExt::as_str)
        .unwrap_or(cx.index.ns(i));
    let source = cx
        .index
        .find(kind, ns, name)
        .iter()
        .map(|&j| &cx.index.docs[j])
        .find(|s| s.group() == "source.toolkit.fluxcd.io")?;
    match kind {
        "OCIRepository" => {
            let url = source.str_at(&["spec", "url"])?;
            let r = source.get(&["spec", "ref"]);
            // `tag` is exact unless `semver` or `digest` (which win) is set.
            let pinned = r.is_some_and(|r| r.get("semver").is_none() && r.get("digest").is_none());
            Some(ChartId {
                name: last_segment(url)?,
                version: if pinned {
                    exact_version(r.and_then(|r| r.get("tag")).and_then(NodeExt::as_str))
                } else {
                    None
                },
            })
        }
        "HelmChart" => Some(ChartId {
            name: last_segment(source.str_at(&["spec", "chart"])?)?,
            version: exact_version(source.str_at(&["spec", "version"])),
        }),
        _ => None,
    }
}

/// The stored schemas of a chart: `("", DIR/chart/values.schema.json)` if present, else
/// `(version, DIR/chart/version/values.schema.json)` for every version folder.
fn stored_schemas(dir: &Path, chart: &str) -> Vec<(String, PathBuf)> {
    let base = dir.join(chart);
    let single = base.join("values.schema.json");
    if single.is_file() {
        return vec![(String::new(), single)];
    }
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let p = e.path().join("values.schema.json");
            p.is_file()
                .then(|| (e.file_name().to_string_lossy().into_owned(), p))
        })
        .collect();
    // Newest first (by numeric components), so messages name the newest schema.
    out.sort_by_key(|b| std::cmp::Reverse(version_key(&b.0)));
    out
}

fn version_key(v: &str) -> Vec<u64> {
    v.trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Files that a `kustomization.yaml` uses as patches (`patches[].path`,
/// `patchesStrategicMerge`, `patchesJson6902[].path`).
fn patch_files(cx: &Context) -> HashSet<usize> {
    let mut out = HashSet::new();
    for d in &cx.index.docs {
        let file = &cx.tree.files[d.file];
        if !is_kustomization_file(&file.path) {
            continue;
        }
        let dir = file.dir();
        let mut paths: Vec<&str> = Vec::new();
        for key in ["patches", "patchesJson6902"] {
            for p in d.root.get(key).map(|n| n.items()).unwrap_or_default() {
                if let Some(s) = p.get("path").and_then(NodeExt::as_str) {
                    paths.push(s);
                }
            }
        }
        for p in d
            .root
            .get("patchesStrategicMerge")
            .map(|n| n.items())
            .unwrap_or_default()
        {
            if let Some(s) = p.as_str().filter(|s| !s.contains('\n')) {
                paths.push(s);
            }
        }
        for p in paths {
            let joined = if dir.is_empty() {
                p.to_owned()
            } else {
                format!("{dir}/{p}")
            };
            if let Some(i) = crate::tree::normalize(&joined).and_then(|n| cx.tree.position(&n)) {
                out.insert(i);
            }
        }
    }
    out
}
