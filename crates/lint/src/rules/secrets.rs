//! Secrets in the clear: a `Secret` with unencrypted `data`/`stringData` (the pre-commit
//! case), and an age private key in any file.

use psd_sops::stores::yaml::parse::Node;

use crate::document::NodeExt;
use crate::finding::{RuleInfo, Severity, Span};
use crate::{Context, Sink};

/// A Secret whose values are not encrypted.
pub static PLAINTEXT: RuleInfo = RuleInfo {
    id: "secrets/plaintext",
    severity: Severity::Error,
    summary: "a Secret has data or stringData values in the clear",
    help: "encrypt the file with `psd encrypt -i FILE` (or `sops -e -i FILE`) and commit it as *.enc.yaml; rotate any value that was already pushed",
};

/// An age private key in a file.
pub static PRIVATE_KEY: RuleInfo = RuleInfo {
    id: "secrets/age-private-key",
    severity: Severity::Error,
    summary: "a file holds an age private key (AGE-SECRET-KEY-1…)",
    help: "remove the key from the repository (and from its history), keep it in ~/.config/sops/age/keys.txt, and give the cluster a new key if it was pushed",
};

fn clear_values(values: &Node) -> Vec<&Node> {
    values
        .pairs()
        .into_iter()
        // `--decrypt` put encrypted values in the clear, tagged: they were encrypted on disk.
        .filter(|(_, _, v)| {
            // sops never encrypts an empty string, and an empty value leaks nothing.
            v.as_str()
                .is_some_and(|s| !s.is_empty() && !s.starts_with("ENC["))
                && !crate::decrypt::was_decrypted(v)
        })
        .map(|(_, k, _)| k)
        .collect()
}

/// Checks both rules.
pub fn check(cx: &Context, out: &mut Sink) {
    for (i, d) in cx.index.of_kind("", "Secret") {
        for field in ["data", "stringData"] {
            let Some(values) = d.root.get(field) else {
                continue;
            };
            if let Some(first) = clear_values(values).first() {
                let n = clear_values(values).len();
                out.at(
                    cx,
                    &PLAINTEXT,
                    i,
                    Some(first),
                    format!(
                        "{} has {n} value(s) in the clear under `{field}`",
                        d.describe()
                    ),
                    "",
                );
            }
        }
    }
    for (fi, f) in cx.tree.files.iter().enumerate() {
        // The first key that is not in a value `--decrypt` decrypted (on the same line, after
        // the tag): such a key is encrypted on disk, which is where it belongs if anywhere.
        let mut from = 0;
        let pos = loop {
            let Some(p) = find(&f.bytes[from..], b"AGE-SECRET-KEY-1").map(|p| p + from) else {
                break None;
            };
            let start = f.bytes[..p]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |q| q + 1);
            if find(&f.bytes[start..p], crate::decrypt::DECRYPTED_TAG.as_bytes()).is_none() {
                break Some(p);
            }
            from = p + 1;
        };
        let Some(pos) = pos else { continue };
        let before = &f.bytes[..pos];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        out.file(
            cx,
            &PRIVATE_KEY,
            fi,
            Some(Span::on_line(line, column, 16)),
            "an age private key is in this file",
            "",
        );
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
