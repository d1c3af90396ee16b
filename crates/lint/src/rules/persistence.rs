//! `persistence/*`: stateful services keep their data on a volume of a valid size.
//!
//! Looked at: CloudNativePG `Cluster` storage (`spec.storage`, `spec.walStorage`, tablespaces),
//! `PersistentVolumeClaim`s, `StatefulSet` `volumeClaimTemplates`, and the persistence blocks
//! of HelmRelease values (`persistence`, `primary.persistence`, `master.persistence`,
//! `dataStorage` of valkey-io's chart, `volumeClaimTemplate` of operator charts, and the named
//! `persistence.<name>` entries of bjw-s's app-template).
//!
//! What is assumed: a chart is known only by its name (`spec.chart.spec.chart`, or the last
//! segment of the URL of the `OCIRepository` a `chartRef` names) and, for Valkey, by its
//! source URL; a release whose chart cannot be identified is only checked for sizes. Values
//! from `valuesFrom` are not seen, so a missing key is never reported for a release that has
//! them. A string with a Flux substitution (`${VAR}`) is not checked.

use std::collections::BTreeSet;

use psd_sops::stores::yaml::parse::Node;

use crate::document::{Document, NodeExt};
use crate::finding::{RuleInfo, Severity};
use crate::index::is_kustomization_file;
use crate::tree::normalize;
use crate::{Context, Sink};

/// A database's volume is turned off.
pub static ENABLED: RuleInfo = RuleInfo {
    id: "persistence/enabled",
    severity: Severity::Warning,
    summary: "a database chart's values turn its persistent volume off, or never turn it on",
    help: "enable the chart's persistence (`persistence.enabled: true`, `primary.persistence.enabled: true`, valkey-io's `dataStorage.enabled: true` with `requestedSize`), or silence the rule on a pure cache with `psd-lint/ignore: \"persistence/enabled: cache only\"`",
};

/// A volume size is missing or invalid.
pub static SIZE: RuleInfo = RuleInfo {
    id: "persistence/size",
    severity: Severity::Error,
    summary: "a volume size is missing, zero, below a byte, or not a Kubernetes quantity",
    help: "write the size as a Kubernetes quantity with a binary suffix, such as `10Gi` (`Mi`, `Gi`, `Ti`; `G` means 10^9 bytes; `GB`, `gb` and `10 Gi` are not quantities)",
};

/// Charts whose whole purpose is to keep data: turning their volume off loses it on every
/// restart.
const DATA_CHARTS: &[&str] = &[
    "postgresql",
    "postgresql-ha",
    "redis",
    "redis-cluster",
    "valkey",
    "valkey-cluster",
    "mariadb",
    "mariadb-galera",
    "mysql",
    "mongodb",
    "mongodb-sharded",
    "cassandra",
    "elasticsearch",
    "etcd",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "minio",
    "clickhouse",
    "influxdb",
    "influxdb2",
    "couchdb",
    "neo4j",
];

/// The chart a HelmRelease installs, as far as the tree tells.
#[derive(Debug, Default)]
pub(crate) struct Chart {
    /// The chart's name (`postgresql`), if known.
    pub name: Option<String>,
    /// The URL of its source (HelmRepository or OCIRepository), if in the tree.
    pub url: Option<String>,
}

/// What the tree tells about the chart of HelmRelease document `doc`.
pub(crate) fn chart_of(cx: &Context, doc: usize) -> Chart {
    let d = &cx.index.docs[doc];
    let ns = cx.index.ns(doc);
    let source_url = |kind: &str, r: &Node| -> Option<String> {
        let name = r.get("name")?.as_str()?;
        let rns = r.get("namespace").and_then(NodeExt::as_str).unwrap_or(ns);
        let &i = cx.index.find(kind, rns, name).first()?;
        cx.index.docs[i].str_at(&["spec", "url"]).map(str::to_owned)
    };
    if let Some(spec) = d.get(&["spec", "chart", "spec"]) {
        let name = spec
            .get("chart")
            .and_then(NodeExt::as_str)
            .map(|c| c.rsplit('/').next().unwrap_or(c).to_owned());
        let url = spec.get("sourceRef").and_then(|r| {
            let kind = r.get("kind").and_then(NodeExt::as_str)?;
            source_url(kind, r)
        });
        return Chart { name, url };
    }
    let Some(r) = d.get(&["spec", "chartRef"]) else {
        return Chart::default();
    };
    match r.get("kind").and_then(NodeExt::as_str) {
        Some("OCIRepository") => {
            let url = source_url("OCIRepository", r);
            let name = url.as_deref().map(|u| {
                let last = u.trim_end_matches('/').rsplit('/').next().unwrap_or(u);
                last.split([':', '@']).next().unwrap_or(last).to_owned()
            });
            Chart { name, url }
        }
        Some("HelmChart") => {
            let name = r.get("name").and_then(NodeExt::as_str);
            let rns = r.get("namespace").and_then(NodeExt::as_str).unwrap_or(ns);
            let chart = name
                .and_then(|n| cx.index.find("HelmChart", rns, n).first())
                .and_then(|&i| cx.index.docs[i].str_at(&["spec", "chart"]))
                .map(str::to_owned);
            Chart {
                name: chart,
                url: None,
            }
        }
        _ => Chart::default(),
    }
}

/// Files that kustomizations use as patches (`patches[].path`, `patchesStrategicMerge`): their
/// documents are partial, so a field they lack is not missing.
pub(crate) fn patch_files(cx: &Context) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for d in &cx.index.docs {
        let path = &cx.tree.files[d.file].path;
        if !is_kustomization_file(path) {
            continue;
        }
        let dir = cx.tree.files[d.file].dir();
        let mut names: Vec<&str> = d
            .get(&["patches"])
            .map(NodeExt::items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.get("path").and_then(NodeExt::as_str))
            .collect();
        names.extend(
            d.get(&["patchesStrategicMerge"])
                .map(NodeExt::items)
                .unwrap_or_default()
                .into_iter()
                .filter_map(NodeExt::as_str),
        );
        for n in names {
            let joined = if dir.is_empty() {
                n.to_owned()
            } else {
                format!("{dir}/{n}")
            };
            if let Some(i) = normalize(&joined).and_then(|p| cx.tree.position(&p)) {
                out.insert(i);
            }
        }
    }
    out
}

/// A persistence block of HelmRelease values: where it is (`values.primary.persistence`),
/// the block, and whether it holds one volume (`enabled`, `size` directly) or named ones.
pub(crate) struct Block<'a> {
    /// Dotted path from `spec`, for messages.
    pub path: String,
    /// The block.
    pub node: &'a Node,
    /// The block's kind (its key).
    pub key: &'a str,
}

const BLOCK_KEYS: &[&str] = &[
    "persistence",
    "dataStorage",
    "persistentVolume",
    "volumeClaimTemplate",
];

const VOLUME_KEYS: &[&str] = &[
    "enabled",
    "size",
    "requestedSize",
    "existingClaim",
    "storageClass",
    "className",
    "accessModes",
    "accessMode",
    "spec",
];

/// The persistence blocks of a HelmRelease's `spec.values` (not below another block; at most
/// five mappings deep).
pub(crate) fn blocks(d: &Document) -> Vec<Block<'_>> {
    fn walk<'a>(n: &'a Node, path: String, depth: usize, out: &mut Vec<Block<'a>>) {
        if depth > 5 {
            return;
        }
        for (k, _, v) in n.pairs() {
            if !v.is_map() {
                continue;
            }
            let p = format!("{path}.{k}");
            if BLOCK_KEYS.contains(&k) {
                out.push(Block {
                    path: p,
                    node: v,
                    key: k,
                });
            } else {
                walk(v, p, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(values) = d.get(&["spec", "values"]) {
        walk(values, "values".into(), 0, &mut out);
    }
    out
}

/// Whether a block describes one volume (rather than a mapping of named volumes).
pub(crate) fn is_single(b: &Block) -> bool {
    b.key != "persistence"
        || b.node
            .pairs()
            .iter()
            .any(|(k, _, _)| VOLUME_KEYS.contains(k))
}

/// Whether document `doc` keeps data in a volume, and what it is (for messages): a CNPG
/// Cluster, a PVC, a StatefulSet with volume claim templates, a HelmRelease whose values turn
/// a volume on (or a database chart whose volume is not turned off).
pub(crate) fn holds_data(cx: &Context, doc: usize) -> Option<String> {
    let d = &cx.index.docs[doc];
    if d.is("postgresql.cnpg.io", "Cluster") {
        return Some(format!("the CloudNativePG {}", d.describe()));
    }
    if d.is("", "PersistentVolumeClaim") {
        return Some(d.describe());
    }
    if d.is("apps", "StatefulSet")
        && d.get(&["spec", "volumeClaimTemplates"])
            .is_some_and(|n| !n.items().is_empty())
    {
        return Some(format!("{} (volumeClaimTemplates)", d.describe()));
    }
    if !d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
        return None;
    }
    let blocks = blocks(d);
    for b in &blocks {
        if is_single(b) {
            let on = match b.node.get("enabled") {
                Some(e) => e.is_true(),
                None => b.key == "volumeClaimTemplate" || b.node.get("existingClaim").is_some(),
            };
            if on {
                return Some(format!("{} ({})", d.describe(), b.path));
            }
        } else {
            for (name, _, v) in b.node.pairs() {
                if named_volume_is_claim(v) {
                    return Some(format!("{} ({}.{name})", d.describe(), b.path));
                }
            }
        }
    }
    let chart = chart_of(cx, doc);
    let is_data_chart = chart
        .name
        .as_deref()
        .is_some_and(|n| DATA_CHARTS.contains(&n));
    // valkey-io's chart keeps nothing unless `dataStorage.enabled`; the others default on.
    if is_data_chart
        && !valkey_io(&chart)
        && !blocks
            .iter()
            .any(|b| b.node.get("enabled").is_some_and(NodeExt::is_false))
    {
        return Some(format!(
            "{} (chart {})",
            d.describe(),
            chart.name.unwrap_or_default()
        ));
    }
    None
}

/// An app-template style named volume that is a claim: `existingClaim`, `type:
/// persistentVolumeClaim`, or no type and claim settings; not turned off.
fn named_volume_is_claim(v: &Node) -> bool {
    if !v.is_map() || v.get("enabled").is_some_and(NodeExt::is_false) {
        return false;
    }
    match v.get("type").and_then(NodeExt::as_str) {
        Some(t) => t == "persistentVolumeClaim",
        None => ["existingClaim", "size", "accessMode", "storageClass"]
            .iter()
            .any(|k| v.get(k).is_some()),
    }
}

fn valkey_io(chart: &Chart) -> bool {
    chart.name.as_deref() == Some("valkey")
        && chart
            .url
            .as_deref()
            .is_some_and(|u| u.contains("valkey-io") || u.contains("valkey.io"))
}

/// Why `text` is not a usable storage size, if it is not: not a Kubernetes quantity, zero or
/// negative, or less than one byte.
pub(crate) fn bad_size(text: &str) -> Option<String> {
    let t = text;
    let (num_end, _) = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '+' || c == '-'))))
        .unwrap_or((t.len(), ' '));
    let (num, suffix) = t.split_at(num_end);
    let digits = num.trim_start_matches(['+', '-']);
    let number_ok = !digits.is_empty()
        && digits.matches('.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    let factor: Option<f64> = match suffix {
        "" => Some(1.0),
        "Ki" => Some(1024f64),
        "Mi" => Some(1024f64.powi(2)),
        "Gi" => Some(1024f64.powi(3)),
        "Ti" => Some(1024f64.powi(4)),
        "Pi" => Some(1024f64.powi(5)),
        "Ei" => Some(1024f64.powi(6)),
        "n" => Some(1e-9),
        "u" => Some(1e-6),
        "m" => Some(1e-3),
        "k" => Some(1e3),
        "M" => Some(1e6),
        "G" => Some(1e9),
        "T" => Some(1e12),
        "P" => Some(1e15),
        "E" => Some(1e18),
        s if s.len() > 1 && s.starts_with(['e', 'E']) => s[1..]
            .parse::<i32>()
            .ok()
            .filter(|_| {
                let r = &s[1..];
                let r = r.strip_prefix(['+', '-']).unwrap_or(r);
                !r.is_empty() && r.chars().all(|c| c.is_ascii_digit())
            })
            .map(|e| 10f64.powi(e)),
        _ => None,
    };
    let (true, Some(factor)) = (number_ok, factor) else {
        let hint = suggestion(digits, suffix)
            .map(|s| format!("; write `{s}`"))
            .unwrap_or_default();
        return Some(format!("`{text}` is not a Kubernetes quantity{hint}"));
    };
    let value = num.parse::<f64>().unwrap_or(0.0) * factor;
    if value <= 0.0 {
        return Some(format!("`{text}` is not a positive size"));
    }
    if value < 1.0 {
        return Some(format!(
            "`{text}` is less than one byte (`{suffix}` is a fraction: `m` means milli); write `{digits}{}i`",
            suffix.to_uppercase()
        ));
    }
    if suffix.is_empty() && value < 1024.0 * 1024.0 {
        return Some(format!(
            "`{text}` is {text} bytes (a quantity without a suffix counts bytes); write `{text}Gi` or `{text}Mi`"
        ));
    }
    None
}

/// `10GB` → `10Gi`, `10 Gi` → `10Gi`, `10gi` → `10Gi`.
fn suggestion(digits: &str, suffix: &str) -> Option<String> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let s = suffix
        .trim()
        .trim_end_matches(['B', 'b'])
        .trim_end_matches('i');
    let unit = match s.to_ascii_uppercase().as_str() {
        "K" => "Ki",
        "M" => "Mi",
        "G" => "Gi",
        "T" => "Ti",
        "P" => "Pi",
        _ => return None,
    };
    Some(format!("{digits}{unit}"))
}

fn checkable(n: &Node) -> Option<&str> {
    n.as_str()
        .filter(|s| !s.contains("${") && !s.starts_with("ENC["))
}

/// Reports a size node that is not a usable size.
fn check_size(cx: &Context, out: &mut Sink, doc: usize, node: &Node, what: &str) {
    let Some(text) = checkable(node) else {
        if node.is_map() || node.is_seq() {
            out.at(
                cx,
                &SIZE,
                doc,
                Some(node),
                format!(
                    "{what} of {} is not a quantity",
                    cx.index.docs[doc].describe()
                ),
                "",
            );
        }
        return;
    };
    if let Some(why) = bad_size(text) {
        out.at(
            cx,
            &SIZE,
            doc,
            Some(node),
            format!("{what} of {}: {why}", cx.index.docs[doc].describe()),
            "",
        );
    }
}

/// Checks a PVC spec (`resources.requests.storage` required) at `spec`; `what` names it.
fn check_claim_spec(
    cx: &Context,
    out: &mut Sink,
    doc: usize,
    spec: &Node,
    what: &str,
    patch: bool,
) {
    match spec.get("resources").and_then(|r| r.get("requests")) {
        Some(req) => match req.get("storage") {
            Some(s) => check_size(cx, out, doc, s, &format!("{what}.resources.requests.storage")),
            None if patch => {}
            None => out.at(
                cx,
                &SIZE,
                doc,
                Some(req),
                format!(
                    "{what} of {} requests no storage",
                    cx.index.docs[doc].describe()
                ),
                "add `resources.requests.storage: 10Gi` (the API server refuses a claim without it)",
            ),
        },
        None if patch => {}
        None => out.at(
            cx,
            &SIZE,
            doc,
            Some(spec),
            format!(
                "{what} of {} has no resources.requests.storage",
                cx.index.docs[doc].describe()
            ),
            "add `resources: {requests: {storage: 10Gi}}` (the API server refuses a claim without it)",
        ),
    }
}

/// Checks both rules. In patch files only the values written are judged, never a missing one.
pub fn check(cx: &Context, out: &mut Sink) {
    let patches = patch_files(cx);
    for (i, d) in cx.index.docs.iter().enumerate() {
        let patch = patches.contains(&d.file);
        if d.is("postgresql.cnpg.io", "Cluster") {
            check_cnpg(cx, out, i, d, patch);
        } else if d.is("", "PersistentVolumeClaim") {
            if let Some(spec) = d.get(&["spec"]) {
                check_claim_spec(cx, out, i, spec, "spec", patch);
            }
        } else if d.is("apps", "StatefulSet") {
            let templates = d
                .get(&["spec", "volumeClaimTemplates"])
                .map(NodeExt::items)
                .unwrap_or_default();
            for (n, t) in templates.into_iter().enumerate() {
                if let Some(spec) = t.get("spec") {
                    check_claim_spec(
                        cx,
                        out,
                        i,
                        spec,
                        &format!("spec.volumeClaimTemplates[{n}].spec"),
                        patch,
                    );
                }
            }
        } else if d.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            check_release(cx, out, i, d, patch);
        }
    }
}

fn check_cnpg(cx: &Context, out: &mut Sink, i: usize, d: &Document, patch: bool) {
    match d.get(&["spec", "storage"]) {
        Some(storage) => match storage.get("size") {
            Some(s) => check_size(cx, out, i, s, "spec.storage.size"),
            None => match storage.get("pvcTemplate") {
                Some(t) => {
                    if let Some(s) = t
                        .get("resources")
                        .and_then(|r| r.get("requests"))
                        .and_then(|r| r.get("storage"))
                    {
                        check_size(
                            cx,
                            out,
                            i,
                            s,
                            "spec.storage.pvcTemplate.resources.requests.storage",
                        );
                    }
                }
                None if patch => {}
                None => out.at(
                    cx,
                    &SIZE,
                    i,
                    Some(storage),
                    format!("{} has no spec.storage.size", d.describe()),
                    "set `spec.storage.size` (such as `20Gi`); CloudNativePG refuses a Cluster without a size or a pvcTemplate",
                ),
            },
        },
        None => {
            if let Some(spec) = d.get(&["spec"]).filter(|_| !patch) {
                out.at(
                    cx,
                    &SIZE,
                    i,
                    Some(spec),
                    format!("{} has no spec.storage", d.describe()),
                    "add `storage: {size: 20Gi}` under spec; CloudNativePG refuses a Cluster without a size",
                );
            }
        }
    }
    if let Some(s) = d.get(&["spec", "walStorage", "size"]) {
        check_size(cx, out, i, s, "spec.walStorage.size");
    }
    let tablespaces = d
        .get(&["spec", "tablespaces"])
        .map(NodeExt::items)
        .unwrap_or_default();
    for (n, t) in tablespaces.into_iter().enumerate() {
        if let Some(s) = t.get("storage").and_then(|s| s.get("size")) {
            check_size(
                cx,
                out,
                i,
                s,
                &format!("spec.tablespaces[{n}].storage.size"),
            );
        }
    }
}

fn check_release(cx: &Context, out: &mut Sink, i: usize, d: &Document, patch: bool) {
    let blocks = blocks(d);
    for b in &blocks {
        if is_single(b) {
            check_volume(cx, out, i, b.node, &b.path);
        } else {
            for (name, _, v) in b.node.pairs() {
                if v.is_map() && !v.get("enabled").is_some_and(NodeExt::is_false) {
                    check_volume(cx, out, i, v, &format!("{}.{name}", b.path));
                }
            }
        }
    }
    let chart = chart_of(cx, i);
    let Some(name) = chart.name.as_deref().filter(|n| DATA_CHARTS.contains(n)) else {
        return;
    };
    // Only the volume of the data itself: replicas and side volumes may be off by design.
    let main = [
        "values.persistence",
        "values.primary.persistence",
        "values.master.persistence",
        "values.dataStorage",
    ];
    for b in blocks.iter().filter(|b| main.contains(&b.path.as_str())) {
        if let Some(off) = b.node.get("enabled").filter(|e| e.is_false()) {
            out.at(
                cx,
                &ENABLED,
                i,
                Some(off),
                format!(
                    "{} (chart {name}) turns its volume off at {}.enabled: its data is lost whenever the pod restarts",
                    d.describe(),
                    b.path
                ),
                "",
            );
        }
    }
    if valkey_io(&chart) && !patch && d.get(&["spec", "valuesFrom"]).is_none() {
        let ds = d.get(&["spec", "values", "dataStorage"]);
        let enabled = ds.and_then(|n| n.get("enabled"));
        if !enabled.is_some_and(NodeExt::is_true) && !enabled.is_some_and(NodeExt::is_false) {
            let at = ds
                .or_else(|| d.get(&["spec", "values"]))
                .or_else(|| d.get(&["spec"]));
            out.at(
                cx,
                &ENABLED,
                i,
                at,
                format!(
                    "{} (valkey-io's chart valkey) keeps no data: `dataStorage.enabled` defaults to false",
                    d.describe()
                ),
                "set `dataStorage: {enabled: true, requestedSize: 8Gi, keepPvc: true}` in the values",
            );
        }
    }
}

/// One volume of HelmRelease values: its size keys, and `spec.resources.requests.storage`
/// for a claim template.
fn check_volume(cx: &Context, out: &mut Sink, i: usize, v: &Node, path: &str) {
    if v.get("enabled").is_some_and(NodeExt::is_false) {
        return;
    }
    for key in ["size", "requestedSize"] {
        if let Some(s) = v.get(key) {
            check_size(cx, out, i, s, &format!("{path}.{key}"));
        }
    }
    if let Some(s) = v
        .get("spec")
        .and_then(|s| s.get("resources"))
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"))
    {
        check_size(
            cx,
            out,
            i,
            s,
            &format!("{path}.spec.resources.requests.storage"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::bad_size;

    #[test]
    fn quantities() {
        for ok in [
            "10Gi", "1Ti", "500Mi", "20G", "1e9", "1.5Gi", "+2Gi", "1048576",
        ] {
            assert_eq!(bad_size(ok), None, "{ok}");
        }
        assert!(bad_size("10GB").unwrap().contains("`10Gi`"));
        assert!(bad_size("10 Gi").unwrap().contains("`10Gi`"));
        assert!(
            bad_size("ten")
                .unwrap()
                .contains("not a Kubernetes quantity")
        );
        assert!(bad_size("0").unwrap().contains("positive"));
        assert!(bad_size("0Gi").unwrap().contains("positive"));
        assert!(bad_size("-1Gi").unwrap().contains("positive"));
        assert!(bad_size("10m").unwrap().contains("less than one byte"));
        assert!(bad_size("10").unwrap().contains("10 bytes"));
        assert!(bad_size("1.2.3Gi").is_some());
        assert!(bad_size("Gi").is_some());
        assert!(bad_size("").is_some());
        assert!(bad_size("1e").is_some());
    }
}
