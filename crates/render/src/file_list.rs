//! The record of a render inside the tree (`.psd-files`): which description the tree was
//! rendered from, and every file psd wrote with the SHA-256 of the bytes it wrote, so that psd
//! only ever overwrites or removes files it owns.
//!
//! Format (greppable, diff-friendly, `sha256sum -c`-compatible file lines):
//!
//! ```text
//! # Files written by `psd render` …
//! # description: domain=example.org cluster=k3s root=gitops
//! 3b1f…e0  gitops/apps/authentik/helmrelease.yaml
//! ```
//!
//! The list of psd before this record (one path a line, no identity) is still read: its paths
//! are owned with an unknown hash, the identity is unknown.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::RenderError;

/// The record of files psd wrote, inside the rendered tree (`<root>/.psd-files`). Only files on
/// this list (and unchanged since) are ever overwritten or removed.
pub const FILE_LIST: &str = ".psd-files";

const HEADER: &str = "# Files written by `psd render` and the SHA-256 of the bytes it wrote. psd \
                      only overwrites or removes a file listed here whose bytes are unchanged \
                      (psd render --force takes over others). Do not edit.\n";
const IDENTITY_PREFIX: &str = "# description: ";

/// Which description a tree was rendered from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `domain` of psd.yaml.
    pub domain: String,
    /// `flux.cluster_name`.
    pub cluster: String,
    /// `flux.root`.
    pub root: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "domain={} cluster={} root={}",
            self.domain, self.cluster, self.root
        )
    }
}

/// A parsed `.psd-files`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// `None` for a list written before psd recorded it.
    pub identity: Option<Identity>,
    /// Path (relative to the repository root) → SHA-256 hex of the bytes psd wrote (`None`:
    /// unknown, old list).
    pub files: BTreeMap<String, Option<String>>,
}

impl Record {
    /// Whether psd may overwrite or remove `path` whose current bytes are `on_disk`: listed, and
    /// unchanged since psd wrote it (or listed by an old list that has no hash).
    pub fn owns(&self, path: &str, on_disk: &[u8]) -> Ownership {
        match self.files.get(path) {
            None => Ownership::NotListed,
            Some(None) => Ownership::Owned,
            Some(Some(h)) if *h == sha256_hex(on_disk) => Ownership::Owned,
            Some(Some(_)) => Ownership::Edited,
        }
    }
}

/// The answer of [`Record::owns`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// psd wrote it and nobody changed it.
    Owned,
    /// psd never wrote it.
    NotListed,
    /// psd wrote it and it was edited since.
    Edited,
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a record; `source` names the file in errors.
pub(crate) fn parse(text: &str, source: &Path) -> Result<Record, RenderError> {
    let mut record = Record::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let bad = |reason: &str| RenderError::FileList {
            path: source.to_owned(),
            line: i + 1,
            reason: reason.to_owned(),
        };
        if let Some(rest) = line.strip_prefix(IDENTITY_PREFIX) {
            if record.identity.is_some() {
                return Err(bad("a second `# description:` line"));
            }
            let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
            for part in rest.split_whitespace() {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| bad("expected `key=value` fields after `# description:`"))?;
                fields.insert(k, v);
            }
            let get = |k: &str| {
                fields
                    .get(k)
                    .map(|v| (*v).to_owned())
                    .ok_or_else(|| bad(&format!("`# description:` lacks `{k}=`")))
            };
            record.identity = Some(Identity {
                domain: get("domain")?,
                cluster: get("cluster")?,
                root: get("root")?,
            });
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (hash, path) = match line.split_once("  ") {
            Some((h, p)) => {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(
                        "expected `<sha256 hex>  <path>` (64 hex digits, two spaces, a path)",
                    ));
                }
                (Some(h.to_ascii_lowercase()), p)
            }
            // psd's earlier list: one path a line.
            None => (None, line.trim()),
        };
        if path.is_empty() || path.chars().any(char::is_whitespace) {
            return Err(bad(
                "expected `<sha256 hex>  <path>` (or a bare path); paths psd writes have no spaces",
            ));
        }
        record.files.insert(path.to_owned(), hash);
    }
    Ok(record)
}

/// The text of a record for `identity` and `files` (path → SHA-256 hex of the bytes written).
pub(crate) fn format<'a>(
    identity: &Identity,
    files: impl IntoIterator<Item = (&'a String, String)>,
) -> String {
    let mut out = String::from(HEADER);
    out.push_str(IDENTITY_PREFIX);
    out.push_str(&identity.to_string());
    out.push('\n');
    for (path, hash) in files {
        out.push_str(&hash);
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out
}

/// The record at `list_path` (relative to `root`); `None` if there is none.
pub(crate) fn read_record(root: &Path, list_path: &str) -> Result<Option<Record>, RenderError> {
    let path = root.join(list_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RenderError::io("cannot read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            domain: "example.org".into(),
            cluster: "k3s".into(),
            root: "gitops".into(),
        }
    }

    #[test]
    fn round_trip() {
        let a = (String::from("gitops/a.yaml"), b"a\n".to_vec());
        let b = (String::from("gitops/b/c.enc.yaml"), b"c\n".to_vec());
        let text = format(&id(), [(&a.0, sha256_hex(&a.1)), (&b.0, sha256_hex(&b.1))]);
        assert!(text.contains("# description: domain=example.org cluster=k3s root=gitops\n"));
        let r = parse(&text, Path::new("x")).unwrap();
        assert_eq!(r.identity, Some(id()));
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.owns("gitops/a.yaml", b"a\n"), Ownership::Owned);
        assert_eq!(r.owns("gitops/a.yaml", b"edited\n"), Ownership::Edited);
        assert_eq!(r.owns("gitops/other.yaml", b"a\n"), Ownership::NotListed);
        assert!(text.contains(&format!("{}  gitops/a.yaml\n", sha256_hex(b"a\n"))));
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn old_list_is_owned_with_unknown_hash() {
        let text =
            "# Files written by `psd render`; psd removes …\ngitops/a.yaml\n\ngitops/b.yaml\n";
        let r = parse(text, Path::new("x")).unwrap();
        assert_eq!(r.identity, None);
        assert_eq!(r.files.get("gitops/a.yaml"), Some(&None));
        assert_eq!(r.owns("gitops/b.yaml", b"anything"), Ownership::Owned);
    }

    #[test]
    fn garbage_names_the_line() {
        for (text, line) in [
            ("# c\nnot a hash  gitops/a.yaml\n", 2),
            ("gitops/a.yaml\nsome words here\n", 2),
            ("# description: domain=a.b cluster=k3s\n", 1),
            ("# description: nonsense\n", 1),
        ] {
            let e = parse(text, Path::new("gitops/.psd-files")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("gitops/.psd-files line {line}")),
                "{msg}"
            );
        }
    }
}
