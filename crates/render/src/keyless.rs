//! What a render can verify in an encrypted Secret that no available private key opens.
//!
//! sops encrypts only the values under `data` and `stringData` (the rule psd writes), so much of
//! a Secret is readable without its key: the sops metadata (recipients, MAC, `lastmodified`),
//! `apiVersion`, `kind`, `metadata`, `type`, and the names of the keys. [`problems`] compares
//! those with what a render would write; only the values and the MAC itself stay unchecked.
//!
//! Messages name fields and keys, never values (values are ciphertext here anyway).

use std::collections::BTreeSet;

use psd_model::SecretManifest;
use psd_sops::Format;
use psd_sops::cipher::is_enc;
use serde_json::Value;

/// What a render without the private key cannot check in an encrypted Secret.
pub(crate) const NOT_CHECKED: &str = "the values and the MAC itself";

/// What it does check, for reports.
pub(crate) const CHECKED: &str = "sops metadata with a MAC, recipients against .sops.yaml, \
     apiVersion, kind, name, namespace, type and labels, key names, every value encrypted";

/// The differences between an encrypted Secret file and what a render would write, as far as
/// they can be seen without its private key. `expected` is the Secret a render would write at
/// this path (its values are not looked at); `recipients` the ones `.sops.yaml` asks for. Empty
/// when nothing visible differs.
pub(crate) fn problems(
    bytes: &[u8],
    expected: Option<&SecretManifest>,
    recipients: Option<&[String]>,
) -> Vec<String> {
    let mut out = Vec::new();
    let meta = match psd_sops::api::metadata(bytes, Format::Yaml) {
        Ok(m) => m,
        Err(psd_sops::Error::MetadataNotFound) => {
            return vec!["it has no sops metadata: it is not an encrypted file".into()];
        }
        Err(e) => return vec![format!("its sops metadata cannot be read: {e}")],
    };
    if meta.mac.is_empty() {
        out.push("its sops metadata has no MAC: sops and Flux refuse to decrypt it".into());
    } else if !is_enc(&meta.mac) {
        out.push("its MAC is not an ENC[...] value: sops and Flux refuse to decrypt it".into());
    }
    if let Some(want) = recipients {
        let have: Vec<String> = meta
            .recipients()
            .map(str::to_owned)
            .chain(
                meta.key_groups
                    .iter()
                    .flat_map(|g| g.other.iter().map(|k| k.describe())),
            )
            .collect();
        out.extend(recipient_problems(&have, want));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.push("it is not UTF-8 text".into());
        return out;
    };
    let doc = match serde_saphyr::from_str::<Value>(text) {
        Ok(d) => d,
        Err(_) => {
            out.push("it is not a single YAML document".into());
            return out;
        }
    };
    let field = |name: &str, got: &Value, want: &str| -> Option<String> {
        match got.as_str() {
            Some(g) if g == want => None,
            Some(g) if is_enc(g) => Some(format!("its {name} is encrypted (want `{want}`)")),
            Some(g) => Some(format!("its {name} is `{}` (want `{want}`)", shown(g))),
            None => Some(format!("it has no {name} (want `{want}`)")),
        }
    };
    if let Some(e) = expected {
        let checks = [
            (
                "apiVersion",
                &doc["apiVersion"],
                SecretManifest::API_VERSION,
            ),
            ("kind", &doc["kind"], SecretManifest::KIND),
            ("metadata.name", &doc["metadata"]["name"], e.name()),
            (
                "metadata.namespace",
                &doc["metadata"]["namespace"],
                e.namespace(),
            ),
            ("type", &doc["type"], e.secret_type()),
        ];
        out.extend(checks.iter().filter_map(|(n, g, w)| field(n, g, w)));
        for (k, v) in e.labels() {
            if let Some(p) = field(&format!("label `{k}`"), &doc["metadata"]["labels"][k], v) {
                out.push(p);
            }
        }
        let names: BTreeSet<&str> = doc["stringData"]
            .as_object()
            .into_iter()
            .chain(doc["data"].as_object())
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        let missing: Vec<&str> = e.keys().filter(|k| !names.contains(k)).collect();
        if !missing.is_empty() {
            out.push(format!("it lacks the key(s) {}", missing.join(", ")));
        }
    }
    for section in ["stringData", "data"] {
        match &doc[section] {
            Value::Null => {}
            Value::Object(m) => {
                let plain: Vec<&str> = m
                    .iter()
                    .filter(|(_, v)| !v.as_str().is_some_and(is_enc))
                    .map(|(k, _)| k.as_str())
                    .collect();
                if !plain.is_empty() {
                    out.push(format!(
                        "the value(s) of {section}.{} are not encrypted",
                        plain.join(&format!(", {section}."))
                    ));
                }
            }
            _ => out.push(format!("its {section} is not a mapping of keys to values")),
        }
    }
    out
}

/// How the recipients a file is encrypted to (`have`) differ from those `.sops.yaml` asks for
/// (`want`), order aside. Empty when they match.
pub(crate) fn recipient_problems(have: &[String], want: &[String]) -> Vec<String> {
    let have: BTreeSet<&str> = have.iter().map(String::as_str).collect();
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    let extra: Vec<&str> = have.difference(&want).copied().collect();
    let missing: Vec<&str> = want.difference(&have).copied().collect();
    let mut out = Vec::new();
    if !extra.is_empty() {
        out.push(format!(
            "it is still encrypted to {}, which .sops.yaml no longer lists",
            extra.join(", ")
        ));
    }
    if !missing.is_empty() {
        out.push(format!(
            "it is not encrypted to {}, which .sops.yaml lists",
            missing.join(", ")
        ));
    }
    out
}

/// A field value for a message: long ones are cut, so a 10 MB value is not echoed back.
fn shown(value: &str) -> String {
    const MAX: usize = 60;
    let n = value.chars().count();
    if n <= MAX {
        return value.to_owned();
    }
    let head: String = value.chars().take(MAX).collect();
    format!("{head}… ({n} characters)")
}

#[cfg(test)]
mod tests;
