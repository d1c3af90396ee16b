//! Loading JSON Schemas the way kubeconform finds them, and turning YAML nodes into the JSON
//! that a validator checks, with a way back from a JSON pointer to the YAML node.
//!
//! Schema locations use kubeconform's template syntax (`-schema-location`), local folders
//! only: `{{ .NormalizedKubernetesVersion }}`, `{{ .StrictSuffix }}`, `{{ .ResourceKind }}`,
//! `{{ .ResourceAPIVersion }}`, `{{ .Group }}` and `{{ .KindSuffix }}`, with kubeconform's
//! values (yannh/kubeconform `pkg/registry/registry.go`, `schemaPath`):
//!
//! | variable | `v1` Secret | `networking.k8s.io/v1` Ingress |
//! |---|---|---|
//! | `NormalizedKubernetesVersion` | `v1.35.0` (`master` stays `master`) | same |
//! | `StrictSuffix` | `-strict` when strict, else empty | same |
//! | `ResourceKind` | `secret` (lower-cased) | `ingress` |
//! | `ResourceAPIVersion` | `v1` | `v1` |
//! | `Group` | `v1` (as kubeconform: the part before `/`, or the whole) | `networking.k8s.io` |
//! | `KindSuffix` | `-v1` | `-networking-v1` |
//!
//! A location that does not end in `json` is a folder in yannh/kubernetes-json-schema's
//! layout: kubeconform appends
//! `/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
//! and so do we. Locations are tried in order; the first file that exists is the schema.
//!
//! Chart values schemas (`--chart-schemas DIR`) are `DIR/<chart>/<version>/values.schema.json`
//! (the layout of `shared/chart-schemas/`) or `DIR/<chart>/values.schema.json` (one schema
//! for every version).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use psd_sops::stores::yaml::Style;
use psd_sops::stores::yaml::parse::{Kind, MapEntry, Node, SeqEntry};
use psd_sops::tree::Value as SopsValue;
use serde_json::{Map, Number, Value};

use crate::document::NodeExt;

/// Where schemas come from. The default has no location: no schema validation.
#[derive(Clone, Debug, Default)]
pub struct SchemaOptions {
    /// kubeconform-style schema locations (local paths, templates allowed), tried in order.
    /// Empty: Kubernetes objects are not validated.
    pub locations: Vec<String>,
    /// A folder of charts' `values.schema.json` files. `None`: chart values are not validated.
    pub chart_schemas: Option<PathBuf>,
    /// The Kubernetes version for `{{ .NormalizedKubernetesVersion }}`, without the `v`
    /// (`1.35.0`); `None`: `master`, kubeconform's default.
    pub kubernetes_version: Option<String>,
    /// kubeconform's `-strict`: `{{ .StrictSuffix }}` is `-strict`, which picks schemas that
    /// refuse unknown fields.
    pub strict: bool,
}

/// The template variables kubeconform documents.
const VARIABLES: &[&str] = &[
    "NormalizedKubernetesVersion",
    "StrictSuffix",
    "ResourceKind",
    "ResourceAPIVersion",
    "Group",
    "KindSuffix",
];

/// kubeconform's path inside a yannh/kubernetes-json-schema folder.
const YANNH_LAYOUT: &str = "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";

impl SchemaOptions {
    /// Whether Kubernetes objects are validated.
    pub fn enabled(&self) -> bool {
        !self.locations.is_empty()
    }

    /// Checks every location: local, and a template that uses only known variables. The
    /// message says what is wrong with the first bad one.
    pub fn check(&self) -> Result<(), String> {
        for loc in &self.locations {
            let tpl = full_template(loc)?;
            render(&tpl, &Vars::new("Deployment", "apps/v1", "master", true))
                .map_err(|e| format!("schema location `{loc}`: {e}"))?;
        }
        if let Some(v) = &self.kubernetes_version {
            let numbers = v.strip_prefix('v').unwrap_or(v);
            let parts: Vec<&str> = numbers.split('.').collect();
            let semver = parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if v != "master" && !semver {
                return Err(format!(
                    "Kubernetes version `{v}`: expected a version such as 1.35.0, or master"
                ));
            }
        }
        if let Some(dir) = &self.chart_schemas
            && !dir.is_dir()
        {
            return Err(format!(
                "chart schemas folder `{}` is not a folder",
                dir.display()
            ));
        }
        Ok(())
    }

    /// Makes relative locations and the chart schemas folder relative to `base` (the folder of
    /// the configuration file that named them). `default` and URLs are left as written
    /// ([`SchemaOptions::check`] refuses them).
    pub fn relative_to(&mut self, base: &Path) {
        for loc in &mut self.locations {
            let remote =
                loc == "default" || loc.starts_with("http://") || loc.starts_with("https://");
            if !remote && Path::new(loc.as_str()).is_relative() {
                *loc = base.join(loc.as_str()).to_string_lossy().into_owned();
            }
        }
        if let Some(dir) = &mut self.chart_schemas
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
    }

    /// The paths tried for `kind` in `api_version`, in order.
    pub fn candidates(&self, kind: &str, api_version: &str) -> Vec<PathBuf> {
        let version = self.kubernetes_version.as_deref().unwrap_or("master");
        let vars = Vars::new(kind, api_version, version, self.strict);
        self.locations
            .iter()
            .filter_map(|loc| full_template(loc).ok())
            .filter_map(|tpl| render(&tpl, &vars).ok())
            .map(PathBuf::from)
            .collect()
    }
}

/// A location as kubeconform completes it: `default` and URLs are refused (no network
/// here), a location not ending in `json` gets the yannh layout appended.
fn full_template(loc: &str) -> Result<String, String> {
    if loc == "default" || loc.starts_with("http://") || loc.starts_with("https://") {
        return Err(format!(
            "schema location `{loc}`: only local folders are read; download the schemas (e.g. yannh/kubernetes-json-schema, datreeio/CRDs-catalog) and give their folder"
        ));
    }
    Ok(if loc.ends_with("json") {
        loc.to_owned()
    } else {
        format!("{}{YANNH_LAYOUT}", loc.trim_end_matches('/'))
    })
}

/// kubeconform's template values for one object.
struct Vars {
    values: [String; 6],
}

impl Vars {
    fn new(kind: &str, api_version: &str, k8s_version: &str, strict: bool) -> Self {
        let normalized = if k8s_version == "master" {
            "master".to_owned()
        } else {
            format!("v{}", k8s_version.trim_start_matches('v'))
        };
        let group_parts: Vec<&str> = api_version.split('/').collect();
        let first = group_parts[0];
        let mut kind_suffix = format!("-{}", first.split('.').next().unwrap_or("").to_lowercase());
        if group_parts.len() > 1 {
            kind_suffix.push('-');
            kind_suffix.push_str(&group_parts[1].to_lowercase());
        }
        Vars {
            values: [
                normalized,
                if strict {
                    "-strict".into()
                } else {
                    String::new()
                },
                kind.to_lowercase(),
                group_parts[group_parts.len() - 1].to_owned(),
                first.to_owned(),
                kind_suffix,
            ],
        }
    }
}

/// Expands `{{ .Var }}` (spaces inside the braces optional) with `vars`.
fn render(tpl: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(tpl.len() + 32);
    let mut rest = tpl;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "`{{` without `}}`".to_owned())?;
        let name = after[..close].trim();
        let var = name
            .strip_prefix('.')
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                format!("`{{{{{name}}}}}` is not a variable (write `{{{{ .Group }}}}`)")
            })?;
        let i = VARIABLES.iter().position(|v| *v == var).ok_or_else(|| {
            format!(
                "unknown variable `.{var}`; kubeconform's are {}",
                VARIABLES
                    .iter()
                    .map(|v| format!(".{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        out.push_str(&vars.values[i]);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A compiled schema and the file it came from.
pub struct Loaded {
    /// The schema file.
    pub path: PathBuf,
    /// The schema as read (for property-name suggestions).
    pub schema: Value,
    /// The compiled validator.
    pub validator: jsonschema::Validator,
}

/// A schema file that exists but cannot be used.
#[derive(Clone, Debug)]
pub struct Unusable {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub message: String,
}

/// Reads and compiles a schema file. `$schema` picks the draft; files that name no draft
/// (yannh's and Bitnami's `http://json-schema.org/schema#`, or none) are read as draft 7, the
/// draft kubeconform's generator and Helm's older validator assume. Formats are not checked
/// (sops' `ENC[...]` values are not the base64 that `format: byte` asks for). `$ref`s to other
/// local files are read from disk, relative to the schema's own file; nothing is fetched from
/// the network.
pub fn load(path: &Path) -> Result<Loaded, Unusable> {
    let unusable = |message: String| Unusable {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unusable(e.to_string()))?;
    let mut schema: Value =
        serde_json::from_str(&text).map_err(|e| unusable(format!("not JSON: {e}")))?;
    let mut options = jsonschema::options()
        .should_validate_formats(false)
        .with_retriever(LocalFiles);
    let known = schema
        .get("$schema")
        .and_then(Value::as_str)
        .and_then(draft_of);
    match known {
        Some(d) => options = options.with_draft(d),
        None => {
            if let Some(m) = schema.as_object_mut() {
                m.remove("$schema");
            }
            options = options.with_draft(jsonschema::Draft::Draft7);
        }
    }
    if let Ok(abs) = std::path::absolute(path) {
        options = options.with_base_uri(file_uri(&abs));
    }
    let validator = options
        .build(&schema)
        .map_err(|e| unusable(format!("not a usable JSON schema: {e}")))?;
    Ok(Loaded {
        path: path.to_owned(),
        schema,
        validator,
    })
}

fn draft_of(uri: &str) -> Option<jsonschema::Draft> {
    use jsonschema::Draft;
    let u = uri.trim_end_matches('#').trim_end_matches('/');
    let u = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))?;
    Some(match u {
        "json-schema.org/draft-04/schema" => Draft::Draft4,
        "json-schema.org/draft-06/schema" => Draft::Draft6,
        "json-schema.org/draft-07/schema" => Draft::Draft7,
        "json-schema.org/draft/2019-09/schema" => Draft::Draft201909,
        "json-schema.org/draft/2020-12/schema" => Draft::Draft202012,
        _ => return None,
    })
}

fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves `$ref`s to local files; refuses every other scheme.
struct LocalFiles;

impl jsonschema::Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err(format!("`{}`: only local schema files are read", uri.as_str()).into());
        }
        let path = percent_decode(uri.path().as_str());
        let text = std::fs::read_to_string(&path)?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Schemas by file, each read and compiled once.
#[derive(Default)]
pub struct Cache {
    by_path: HashMap<PathBuf, Result<Arc<Loaded>, Unusable>>,
}

impl Cache {
    /// The schema at `path` (read and compiled on first use).
    pub fn get(&mut self, path: &Path) -> Result<Arc<Loaded>, Unusable> {
        self.by_path
            .entry(path.to_owned())
            .or_insert_with(|| load(path).map(Arc::new))
            .clone()
    }
}

/// A YAML node as JSON, as the API server (or Helm) sees it, and the JSON pointers of values
/// that cannot be known from the file: sops `ENC[...]` values (the decrypted value is not
/// here) and strings holding a Flux `${VAR}` substitution (replaced before Flux applies).
#[derive(Debug, Default)]
pub struct Converted {
    /// The value.
    pub value: Value,
    /// JSON pointers of values whose real content is unknown.
    pub opaque: Vec<String>,
}

/// How to convert.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvertOptions {
    /// Drop the top-level `sops` key (the metadata kustomize-controller strips on decryption).
    pub strip_sops: bool,
    /// Drop mapping entries whose value is `null` (Helm deletes such keys when it merges
    /// values, so they never reach its schema check).
    pub strip_nulls: bool,
}

/// Converts a YAML node to JSON with go-yaml v3's scalar typing (as Flux's kustomize reads
/// manifests): plain `true`/`false` booleans, integers, floats and `null` typed, quoted
/// scalars strings, timestamps kept as strings (as go-yaml gives them to an untyped target),
/// merge keys (`<<`) merged.
pub fn to_json(node: &Node, options: ConvertOptions) -> Converted {
    let mut c = Converter {
        options,
        opaque: Vec::new(),
        pointer: String::new(),
    };
    let value = c.convert(node, options.strip_sops);
    Converted {
        value,
        opaque: c.opaque,
    }
}

struct Converter {
    options: ConvertOptions,
    opaque: Vec<String>,
    pointer: String,
}

impl Converter {
    fn convert(&mut self, node: &Node, strip_sops: bool) -> Value {
        match &node.kind {
            Kind::Scalar { text, style, tag } => self.scalar(text, *style, tag.as_deref()),
            Kind::Seq(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    if let SeqEntry::Item(n) = e {
                        let len = self.pointer.len();
                        self.pointer.push('/');
                        self.pointer.push_str(&out.len().to_string());
                        let v = self.convert(n, false);
                        self.pointer.truncate(len);
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            Kind::Map(entries) => {
                let mut out = Map::new();
                let mut merges: Vec<&Node> = Vec::new();
                for e in entries {
                    let MapEntry::Pair(k, v) = e else { continue };
                    let Kind::Scalar {
                        text: key, style, ..
                    } = &k.kind
                    else {
                        continue;
                    };
                    if key == "<<" && *style == Style::Plain {
                        merges.push(v);
                        continue;
                    }
                    if strip_sops && key == "sops" {
                        continue;
                    }
                    if self.options.strip_nulls && is_null(v) {
                        continue;
                    }
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    push_escaped(&mut self.pointer, key);
                    let value = self.convert(v, false);
                    self.pointer.truncate(len);
                    out.insert(key.clone(), value);
                }
                // Merge keys: explicit keys win, then the merged mappings in order.
                for m in merges {
                    let sources: Vec<&Node> = if m.is_seq() { m.items() } else { vec![m] };
                    for src in sources {
                        for (key, _, v) in src.pairs() {
                            if out.contains_key(key) || (self.options.strip_nulls && is_null(v)) {
                                continue;
                            }
                            let len = self.pointer.len();
                            self.pointer.push('/');
                            push_escaped(&mut self.pointer, key);
                            let value = self.convert(v, false);
                            self.pointer.truncate(len);
                            out.insert(key.to_owned(), value);
                        }
                    }
                }
                Value::Object(out)
            }
        }
    }

    fn scalar(&mut self, text: &str, style: Style, tag: Option<&str>) -> Value {
        let typed = psd_sops::stores::yaml::resolve_scalar_type(text, style, tag);
        let value = match typed {
            None => {
                // go-yaml reads an integer beyond int64 as uint64.
                if style == Style::Plain
                    && tag.is_none()
                    && let Ok(u) = text.parse::<u64>()
                {
                    return Value::Number(u.into());
                }
                if text.starts_with("ENC[") && text.ends_with(']') {
                    self.opaque.push(self.pointer.clone());
                    return enc_placeholder(text);
                }
                if text.contains("${") {
                    self.opaque.push(self.pointer.clone());
                }
                return Value::String(text.to_owned());
            }
            Some(v) => v,
        };
        match value {
            SopsValue::Null => Value::Null,
            SopsValue::Bool(b) => Value::Bool(b),
            SopsValue::Int(i) => Value::Number(i.into()),
            SopsValue::Float(f) => {
                Number::from_f64(f).map_or_else(|| Value::String(text.to_owned()), Value::Number)
            }
            SopsValue::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
            _ => Value::String(text.to_owned()),
        }
    }
}

/// The type a sops `ENC[...,type:T]` value decrypts to, as a stand-in value of that type.
fn enc_placeholder(text: &str) -> Value {
    let ty = text
        .rsplit(",type:")
        .next()
        .map(|t| t.trim_end_matches(']'))
        .unwrap_or("str");
    match ty {
        "int" => Value::Number(0.into()),
        "float" => Value::Number(Number::from_f64(0.0).unwrap_or(0.into())),
        "bool" => Value::Bool(false),
        _ => Value::String(text.to_owned()),
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar { text, style: Style::Plain, tag: None }
        if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

fn push_escaped(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// The segments of a JSON pointer, unescaped.
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The deepest node of `root` that the JSON pointer reaches (merged keys that are not
/// written in this mapping stop the walk at the mapping), and how many segments it reached.
pub fn node_at<'a>(root: &'a Node, segments: &[String]) -> (&'a Node, usize) {
    let mut node = root;
    for (i, seg) in segments.iter().enumerate() {
        let next = if node.is_seq() {
            seg.parse::<usize>()
                .ok()
                .and_then(|n| node.items().get(n).copied())
        } else {
            // Later duplicates win in JSON; go-yaml refuses duplicates anyway.
            node.pairs()
                .into_iter()
                .rev()
                .find(|(k, _, _)| k == seg)
                .map(|(_, _, v)| v)
        };
        match next {
            Some(n) => node = n,
            None => return (node, i),
        }
    }
    (node, segments.len())
}

/// The key node of `key` in mapping `map`, if written there.
pub fn key_at<'a>(map: &'a Node, key: &str) -> Option<&'a Node> {
    map.pairs()
        .into_iter()
        .rev()
        .find(|(k, _, _)| *k == key)
        .map(|(_, k, _)| k)
}

/// A JSON pointer as a dotted path for messages: `/spec/ports/0/port` → `spec.ports[0].port`.
pub fn dotted(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{s}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            if s.contains('.') || s.is_empty() {
                out.push_str(&format!("\"{s}\""));
            } else {
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push_str("(root)");
    }
    out
}

/// The property names a schema allows where `schema_path` (of an `additionalProperties`
/// error) points, when the path can be followed literally (no `$ref` on the way).
pub fn allowed_properties(schema: &Value, schema_path: &str) -> Vec<String> {
    let mut segs = pointer_segments(schema_path);
    if segs.last().map(String::as_str) != Some("additionalProperties") {
        return Vec::new();
    }
    segs.pop();
    let mut node = schema;
    for s in &segs {
        let next = match node {
            Value::Object(m) => m.get(s),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The allowed name closest to a misspelt one (same letters ignoring case, or at most two
/// edits away), if any.
pub fn suggest<'a>(wrong: &str, allowed: &'a [String]) -> Option<&'a str> {
    let lower = wrong.to_lowercase();
    if let Some(a) = allowed.iter().find(|a| a.to_lowercase() == lower) {
        return Some(a);
    }
    allowed
        .iter()
        .map(|a| (edit_distance(&lower, &a.to_lowercase()), a))
        .filter(|(d, a)| *d <= 2 && *d < a.len().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use psd_sops::stores::yaml::parse::parse_stream;

    fn paths(kind: &str, api: &str, loc: &str) -> String {
        let o = SchemaOptions {
            locations: vec![loc.into()],
            kubernetes_version: Some("1.35.0".into()),
            strict: true,
            ..Default::default()
        };
        o.candidates(kind, api)[0].display().to_string()
    }

    #[test]
    fn relative_paths_and_versions() {
        let mut o = SchemaOptions {
            locations: vec![
                "schemas".into(),
                "/abs/{{ .Group }}.json".into(),
                "https://x/{{ .Group }}.json".into(),
            ],
            chart_schemas: Some("charts".into()),
            ..SchemaOptions::default()
        };
        o.relative_to(Path::new("/repo/conf"));
        assert_eq!(
            o.locations,
            [
                "/repo/conf/schemas",
                "/abs/{{ .Group }}.json",
                "https://x/{{ .Group }}.json"
            ]
        );
        assert_eq!(
            o.chart_schemas.as_deref(),
            Some(Path::new("/repo/conf/charts"))
        );
        for (v, ok) in [
            ("1.35.0", true),
            ("v1.35.0", true),
            ("master", true),
            ("1.35", false),
            ("latest", false),
        ] {
            let o = SchemaOptions {
                kubernetes_version: Some(v.into()),
                ..SchemaOptions::default()
            };
            assert_eq!(o.check().is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn kubeconform_templates() {
        let yannh = "s/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json";
        assert_eq!(
            paths("Secret", "v1", yannh),
            "s/v1.35.0-standalone-strict/secret-v1.json"
        );
        assert_eq!(
            paths("Ingress", "networking.k8s.io/v1", yannh),
            "s/v1.35.0-standalone-strict/ingress-networking-v1.json"
        );
        let datree = "s/{{.Group}}/{{.ResourceKind}}_{{ .ResourceAPIVersion }}.json";
        assert_eq!(
            paths("HelmRelease", "helm.toolkit.fluxcd.io/v2", datree),
            "s/helm.toolkit.fluxcd.io/helmrelease_v2.json"
        );
        assert_eq!(paths("Secret", "v1", datree), "s/v1/secret_v1.json");
        // A folder gets the yannh layout.
        assert_eq!(
            paths("Secret", "v1", "s/"),
            "s/v1.35.0-standalone-strict/secret-v1.json"
        );
        let bad = SchemaOptions {
            locations: vec!["s/{{ .Kind }}.json".into()],
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains(".ResourceKind"));
        let http = SchemaOptions {
            locations: vec!["default".into()],
            ..Default::default()
        };
        assert!(http.check().is_err());
    }

    #[test]
    fn yaml_becomes_json_with_go_yaml_types() {
        let text = "a: 1\nb: \"1\"\nc: true\nd: yes\ne: 1.5\nf: ~\ng: 2024-01-02\nh: [x, 0x10]\nbase: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\nsops: {mac: x}\nenc: ENC[AES256_GCM,data:x,iv:y,tag:z,type:int]\nsub: ${PORT}\n";
        let root = parse_stream(text).unwrap().remove(0).unwrap();
        let c = to_json(
            &root,
            ConvertOptions {
                strip_sops: true,
                strip_nulls: false,
            },
        );
        let v = &c.value;
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "1");
        assert_eq!(v["c"], true);
        assert_eq!(v["d"], "yes");
        assert_eq!(v["e"], 1.5);
        assert!(v["f"].is_null());
        assert_eq!(v["g"], "2024-01-02");
        assert_eq!(v["h"][1], 16);
        assert_eq!(v["m"]["p"], 1);
        assert_eq!(v["m"]["q"], 3);
        assert!(v.get("sops").is_none());
        assert_eq!(v["enc"], 0);
        assert_eq!(c.opaque, vec!["/enc", "/sub"]);
        let segs = pointer_segments("/h/1");
        let (n, reached) = node_at(&root, &segs);
        assert_eq!((reached, n.line, n.column), (2, 8, 8));
        assert_eq!(
            dotted(&pointer_segments("/spec/ports/0/a.b")),
            "spec.ports[0].\"a.b\""
        );
    }

    #[test]
    fn suggestions() {
        let allowed = vec!["exposedPort".to_owned(), "port".to_owned()];
        assert_eq!(suggest("exposedport", &allowed), Some("exposedPort"));
        assert_eq!(suggest("prot", &allowed), Some("port"));
        assert_eq!(suggest("zzzzzz", &allowed), None);
    }
}
