//! `images/*`: container images and Helm charts pulled from registries that are frozen or no
//! longer free, and images pinned to nothing (`latest` or no tag). Facts from
//! `shared/docs/gitops-apis.md` (row 17, §4): on 2025-08-28 Bitnami moved its versioned
//! images from `docker.io/bitnami` to the frozen `docker.io/bitnamilegacy` (what stays in
//! `docker.io/bitnami` is `latest`-only), and stopped pushing the `bitnamicharts` OCI charts
//! in October 2025 (`charts.bitnami.com` is the legacy index); `k8s.gcr.io` is frozen since
//! April 2023 in favour of `registry.k8s.io`.
//!
//! Images are looked for in pod specs (`containers`, `initContainers`, `ephemeralContainers`
//! of core workloads), in Helm values (`HelmRelease.spec.values` and K3s `valuesContent`:
//! every `image`/`*Image` key holding a reference or a `{registry, repository, tag, digest}`
//! map), in CloudNativePG `Cluster.spec.imageName` and image catalogs, and chart sources in
//! `OCIRepository`/`HelmRepository` URLs. In Helm values a missing tag means the chart's own
//! default (its appVersion), so only an explicit `latest` is reported there. References with
//! Flux or Helm substitutions (`${…}`, `{{…}}`) are judged only on the parts written out.

use psd_sops::stores::yaml::parse::{Kind, Node};

use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity};
use crate::rules::chart_values::values_of;
use crate::{Context, Sink};

/// An image or chart from a frozen or unmaintained registry.
pub static FROZEN: RuleInfo = RuleInfo {
    id: "images/frozen-registry",
    severity: Severity::Warning,
    summary: "an image or chart comes from a frozen or unmaintained registry",
    help: "move to the maintained location named in the message (or a mirror you control); a frozen registry gets no security fixes",
};

/// A versioned image from `docker.io/bitnami`.
pub static BITNAMI: RuleInfo = RuleInfo {
    id: "images/bitnami-versioned",
    severity: Severity::Error,
    summary: "a versioned docker.io/bitnami image (moved to the frozen bitnamilegacy on 2025-08-28)",
    help: "pull from a maintained upstream image instead (e.g. CloudNativePG, docker.io/valkey/valkey); as a stop-gap, docker.io/bitnamilegacy/<name> with the same tag (frozen, no fixes; Bitnami charts then need global.security.allowInsecureImages: true)",
};

/// An image tagged `latest` or not tagged.
pub static LATEST: RuleInfo = RuleInfo {
    id: "images/latest-tag",
    severity: Severity::Warning,
    summary: "an image is tagged latest or not tagged at all",
    help: "pin a version tag (and ideally a digest): `latest` changes under a running cluster and makes rollbacks impossible",
};

/// An image reference, split.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (`docker.io` when none is written).
    pub registry: String,
    /// The repository path (`library/nginx` for a bare Docker Hub name).
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// Whether a digest is given.
    pub digest: bool,
}

/// Splits an image reference (`[registry/]path[:tag][@digest]`). Docker Hub aliases are
/// folded to `docker.io`.
pub fn parse_image(reference: &str) -> Option<ImageRef> {
    let reference = reference.trim();
    if reference.is_empty() {
        return None;
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((r, _)) => (r, true),
        None => (reference, false),
    };
    let last_slash = rest.rfind('/').map_or(0, |p| p + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(p) => (
            &rest[..last_slash + p],
            Some(rest[last_slash + p + 1..].to_owned()),
        ),
        None => (rest, None),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), path.to_owned())
        }
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => registry,
    };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    Some(ImageRef {
        registry,
        repository,
        tag: tag.filter(|t| !t.is_empty()),
        digest,
    })
}

fn templated(s: &str) -> bool {
    s.contains("${") || s.contains("{{")
}

/// Where an image was found: whether a missing tag means `latest` (pod specs) or the chart's
/// default (Helm values).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    PodSpec,
    Values,
}

/// The frozen-registry verdict for a registry and repository, with the replacement.
fn frozen(registry: &str, repository: &str) -> Option<&'static str> {
    if registry == "k8s.gcr.io"
        || (registry.ends_with("gcr.io")
            && (repository.starts_with("google_containers/")
                || repository.starts_with("google-containers/")))
    {
        return Some("k8s.gcr.io is frozen since April 2023: use registry.k8s.io");
    }
    if registry == "docker.io" && repository.starts_with("bitnamilegacy/") {
        return Some(
            "docker.io/bitnamilegacy is frozen since 2025-08-28 (no updates, known CVEs): move to a maintained image",
        );
    }
    if registry == "docker.io" && repository.starts_with("bitnamicharts/") {
        return Some(
            "Bitnami stopped publishing OCI charts to docker.io/bitnamicharts in October 2025: move to a maintained chart",
        );
    }
    None
}

fn check_image(
    cx: &Context,
    out: &mut Sink,
    doc: usize,
    place: Place,
    image: &ImageRef,
    at: &Node,
    tag_node: Option<&Node>,
) {
    let d = &cx.index.docs[doc];
    let shown = format!(
        "{}/{}{}",
        image.registry,
        image.repository,
        image
            .tag
            .as_deref()
            .map(|t| format!(":{t}"))
            .unwrap_or_default()
    );
    if templated(&image.registry) || templated(&image.repository) {
        return;
    }
    if let Some(why) = frozen(&image.registry, &image.repository) {
        out.at(
            cx,
            &FROZEN,
            doc,
            Some(at),
            format!("{} uses image {shown}: {why}", d.describe()),
            "",
        );
        return;
    }
    let tag = image.tag.as_deref();
    let latest =
        tag == Some("latest") || (tag.is_none() && !image.digest && place == Place::PodSpec);
    if image.registry == "docker.io"
        && image.repository.starts_with("bitnami/")
        && !latest
        && !tag.is_some_and(templated)
        && (tag.is_some() || image.digest)
    {
        out.at(
            cx,
            &BITNAMI,
            doc,
            Some(at),
            format!(
                "{} uses image {shown}: Bitnami moved versioned images to the frozen docker.io/bitnamilegacy on 2025-08-28, so this tag no longer pulls from docker.io/bitnami",
                d.describe()
            ),
            "",
        );
    }
    if latest && !image.digest {
        let what = if tag.is_some() {
            "is tagged latest"
        } else {
            "has no tag (pulls latest)"
        };
        out.at(
            cx,
            &LATEST,
            doc,
            Some(tag_node.unwrap_or(at)),
            format!("{}: image {shown} {what}", d.describe()),
            "",
        );
    }
}

fn check_reference(cx: &Context, out: &mut Sink, doc: usize, place: Place, node: &Node) {
    if let Some(image) = node.as_str().and_then(parse_image) {
        check_image(cx, out, doc, place, &image, node, None);
    }
}

/// Walks Helm values for `image`/`*Image` keys.
fn walk_values(cx: &Context, out: &mut Sink, doc: usize, node: &Node) {
    for (key, _, value) in node.pairs() {
        if key == "image" || key.ends_with("Image") {
            if matches!(value.kind, Kind::Scalar { .. }) {
                check_reference(cx, out, doc, Place::Values, value);
            } else if let Some(repo_node) = value.get("repository")
                && let Some(repo) = repo_node.as_str()
            {
                {
                    let registry = value.get("registry").and_then(NodeExt::as_str);
                    let tag_node = value.get("tag");
                    let tag = tag_node.and_then(NodeExt::as_str);
                    let digest = value.get("digest").and_then(NodeExt::as_str).is_some();
                    let reference = match registry {
                        Some(r) if !r.is_empty() => format!("{r}/{repo}"),
                        _ => repo.to_owned(),
                    };
                    if let Some(mut image) = parse_image(&reference) {
                        if tag.is_some() {
                            image.tag = tag.map(str::to_owned);
                        }
                        image.digest |= digest;
                        check_image(
                            cx,
                            out,
                            doc,
                            Place::Values,
                            &image,
                            repo_node,
                            tag_node.filter(|_| tag.is_some()),
                        );
                    }
                }
            }
        }
        walk_values(cx, out, doc, value);
    }
    for item in node.items() {
        walk_values(cx, out, doc, item);
    }
}

/// Walks a workload's spec for container lists.
fn walk_pod_specs(cx: &Context, out: &mut Sink, doc: usize, node: &Node) {
    for (key, _, value) in node.pairs() {
        if matches!(key, "containers" | "initContainers" | "ephemeralContainers") {
            for c in value.items() {
                if let Some(image) = c.get("image") {
                    check_reference(cx, out, doc, Place::PodSpec, image);
                }
            }
        } else {
            walk_pod_specs(cx, out, doc, value);
        }
    }
}

const WORKLOADS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
];

/// Checks every `images/*` rule.
pub fn check(cx: &Context, out: &mut Sink) {
    for (i, d) in cx.index.docs.iter().enumerate() {
        if WORKLOADS.iter().any(|(g, k)| d.is(g, k)) {
            if let Some(spec) = d.get(&["spec"]) {
                walk_pod_specs(cx, out, i, spec);
            }
        } else if d.is("helm.toolkit.fluxcd.io", "HelmRelease") || d.group() == "helm.cattle.io" {
            if let Some(values) = values_of(cx, i) {
                walk_values(cx, out, i, &values);
            }
        } else if d.is("postgresql.cnpg.io", "Cluster") {
            if let Some(n) = d.get(&["spec", "imageName"]) {
                check_reference(cx, out, i, Place::PodSpec, n);
            }
        } else if d.is("postgresql.cnpg.io", "ImageCatalog")
            || d.is("postgresql.cnpg.io", "ClusterImageCatalog")
        {
            for entry in d
                .get(&["spec", "images"])
                .map(NodeExt::items)
                .unwrap_or_default()
            {
                if let Some(n) = entry.get("image") {
                    check_reference(cx, out, i, Place::PodSpec, n);
                }
            }
        } else if d.is("source.toolkit.fluxcd.io", "OCIRepository")
            || d.is("source.toolkit.fluxcd.io", "HelmRepository")
        {
            let Some(node) = d.get(&["spec", "url"]) else {
                continue;
            };
            let Some(url) = node.as_str() else { continue };
            let why = if let Some(oci) = url.strip_prefix("oci://") {
                let (host, path) = oci.split_once('/').unwrap_or((oci, ""));
                let host = match host {
                    "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
                        "docker.io"
                    }
                    h => h,
                };
                frozen(host, &format!("{}/", path.trim_end_matches('/')))
            } else {
                let host = url
                    .split("://")
                    .nth(1)
                    .unwrap_or(url)
                    .split('/')
                    .next()
                    .unwrap_or("");
                (host == "charts.bitnami.com").then_some(
                    "charts.bitnami.com is Bitnami's legacy index (stale image references, no new releases): move to a maintained chart",
                )
            };
            if let Some(why) = why {
                out.at(
                    cx,
                    &FROZEN,
                    i,
                    Some(node),
                    format!("{} pulls charts from {url}: {why}", d.describe()),
                    "",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split() {
        let r = parse_image("bitnami/postgresql:16.4.0").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "bitnami/postgresql");
        assert_eq!(r.tag.as_deref(), Some("16.4.0"));
        let r = parse_image("nginx").unwrap();
        assert_eq!(r.repository, "library/nginx");
        assert_eq!(r.tag, None);
        let r = parse_image("localhost:5000/a/b@sha256:00").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "a/b");
        assert!(r.digest);
        assert_eq!(r.tag, None);
        let r = parse_image("registry-1.docker.io/bitnamicharts/redis").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "bitnamicharts/redis");
    }
}
