//! [`SecretManifest`]: a typed, ordered Kubernetes `v1` `Secret` whose values stay secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::ValidationError;
use crate::names::{
    validate_dns_label, validate_dns_subdomain, validate_label, validate_secret_key,
};

/// Label that marks every object psd renders.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "psd");

/// A Kubernetes `Secret` (`apiVersion: v1`, `kind: Secret`) with `stringData` values held as
/// [`SecretString`].
///
/// Keys, labels and values keep the order they were added in, so a renderer emits them the
/// same way every time. The type deliberately does not implement `serde::Serialize`: a secret
/// can only leave it through [`SecretManifest::string_data`] (one `expose_secret()` per value at
/// the point of use) or the explicitly named [`SecretManifest::to_plain_json`]. `Debug` prints
/// key names but redacts every value.
#[derive(Clone)]
pub struct SecretManifest {
    name: String,
    namespace: String,
    labels: Vec<(String, String)>,
    secret_type: String,
    string_data: Vec<(String, SecretString)>,
}

impl SecretManifest {
    /// `apiVersion` of every Secret.
    pub const API_VERSION: &'static str = "v1";
    /// `kind` of every Secret.
    pub const KIND: &'static str = "Secret";
    /// The `type` of a Secret with arbitrary keys.
    pub const TYPE_OPAQUE: &'static str = "Opaque";
    /// The `type` of a login (`username` and `password` keys), as CloudNativePG wants for
    /// every role and database owner Secret.
    pub const TYPE_BASIC_AUTH: &'static str = "kubernetes.io/basic-auth";

    /// An empty `Opaque` Secret named `name` (a DNS-1123 subdomain) in `namespace` (a DNS-1123
    /// label), labelled `app.kubernetes.io/managed-by: psd`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidDnsSubdomain`] or [`ValidationError::InvalidDnsLabel`].
    pub fn new(name: &str, namespace: &str) -> Result<Self, ValidationError> {
        validate_dns_subdomain("Secret name", name)?;
        validate_dns_label("namespace", namespace)?;
        Ok(Self::new_unchecked(name, namespace))
    }

    /// For names that are constants of this crate (their validity is unit-tested).
    pub(crate) fn new_unchecked(name: &str, namespace: &str) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            labels: vec![(MANAGED_BY_LABEL.0.to_owned(), MANAGED_BY_LABEL.1.to_owned())],
            secret_type: Self::TYPE_OPAQUE.to_owned(),
            string_data: Vec::new(),
        }
    }

    /// Adds a label (after `app.kubernetes.io/managed-by: psd`, which every Secret carries).
    ///
    /// # Errors
    /// [`ValidationError::InvalidLabel`], or [`ValidationError::DuplicateLabel`] if the key is
    /// already set.
    pub fn with_label(mut self, key: &str, value: &str) -> Result<Self, ValidationError> {
        validate_label(key, value)?;
        if self.labels.iter().any(|(k, _)| k == key) {
            return Err(ValidationError::DuplicateLabel {
                key: key.to_owned(),
            });
        }
        self.labels.push((key.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Sets the `type` ([`SecretManifest::TYPE_OPAQUE`] by default). The type of a Secret
    /// cannot change in a cluster once it exists, so a renderer must keep it stable.
    ///
    /// A `kubernetes.io/basic-auth` Secret must hold `username` or `password` (Kubernetes
    /// checks it when the Secret is applied); [`SecretManifest::insert`] the keys before or
    /// after, the check here is only on the type's spelling.
    ///
    /// # Errors
    /// [`ValidationError::InvalidSecretType`] for an empty type or one with whitespace or
    /// control characters.
    pub fn with_type(mut self, secret_type: &str) -> Result<Self, ValidationError> {
        if secret_type.is_empty()
            || secret_type.len() > 253
            || !secret_type.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ValidationError::InvalidSecretType {
                value: secret_type.escape_debug().to_string(),
            });
        }
        self.secret_type = secret_type.to_owned();
        Ok(self)
    }

    /// Appends a `stringData` entry.
    ///
    /// # Errors
    /// [`ValidationError::InvalidSecretKey`] for a bad key, [`ValidationError::DuplicateSecretKey`]
    /// if the key is already present.
    pub fn insert(&mut self, key: &str, value: SecretString) -> Result<(), ValidationError> {
        validate_secret_key(key)?;
        if self.string_data.iter().any(|(k, _)| k == key) {
            return Err(ValidationError::DuplicateSecretKey {
                key: key.to_owned(),
            });
        }
        self.string_data.push((key.to_owned(), value));
        Ok(())
    }

    /// Builder form of [`SecretManifest::insert`].
    ///
    /// # Errors
    /// As [`SecretManifest::insert`].
    pub fn with_entry(mut self, key: &str, value: SecretString) -> Result<Self, ValidationError> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// Appends an entry whose key is a constant of this crate (validity unit-tested).
    pub(crate) fn push_unchecked(&mut self, key: &str, value: SecretString) {
        debug_assert!(validate_secret_key(key).is_ok());
        debug_assert!(self.string_data.iter().all(|(k, _)| k != key));
        self.string_data.push((key.to_owned(), value));
    }

    /// `apiVersion`: always `v1`.
    #[must_use]
    pub fn api_version(&self) -> &'static str {
        Self::API_VERSION
    }

    /// `kind`: always `Secret`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        Self::KIND
    }

    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `metadata.labels`, in insertion order.
    #[must_use]
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// `type`: `Opaque` unless [`SecretManifest::with_type`] set another.
    #[must_use]
    pub fn secret_type(&self) -> &str {
        &self.secret_type
    }

    /// The `stringData` entries in insertion order. Call `expose_secret()` on a value only
    /// where the plaintext is needed (e.g. right before encrypting it).
    pub fn string_data(&self) -> impl ExactSizeIterator<Item = (&str, &SecretString)> + '_ {
        self.string_data.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The `stringData` keys in insertion order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.string_data.iter().map(|(k, _)| k.as_str())
    }

    /// The value stored under `key`, if any.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.string_data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The whole Secret as JSON **with every value in plaintext**, fields in Kubernetes order
    /// (`apiVersion`, `kind`, `metadata`, `type`, `stringData`).
    ///
    /// This exposes the secrets: use it only to hand the document to an encryptor or in tests,
    /// never to write it to disk or a log. `metadata.labels` is left out when there are none.
    #[must_use]
    pub fn to_plain_json(&self) -> serde_json::Value {
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), self.name.clone().into());
        metadata.insert("namespace".into(), self.namespace.clone().into());
        if !self.labels.is_empty() {
            let labels: serde_json::Map<String, serde_json::Value> = self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                .collect();
            metadata.insert("labels".into(), labels.into());
        }
        let string_data: serde_json::Map<String, serde_json::Value> = self
            .string_data
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.expose_secret())))
            .collect();
        let mut root = serde_json::Map::new();
        root.insert("apiVersion".into(), Self::API_VERSION.into());
        root.insert("kind".into(), Self::KIND.into());
        root.insert("metadata".into(), metadata.into());
        root.insert("type".into(), self.secret_type.clone().into());
        root.insert("stringData".into(), string_data.into());
        serde_json::Value::Object(root)
    }
}

impl fmt::Debug for SecretManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted<'a>(&'a [(String, SecretString)]);
        impl fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, _)| (k, format_args!("[REDACTED]"))))
                    .finish()
            }
        }
        f.debug_struct("SecretManifest")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("labels", &self.labels)
            .field("type", &self.secret_type)
            .field("string_data", &Redacted(&self.string_data))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ordered_json() {
        let s = SecretManifest::new("my-secret", "apps")
            .unwrap()
            .with_label("tier", "db")
            .unwrap()
            .with_entry("b", SecretString::from("2"))
            .unwrap()
            .with_entry("a", SecretString::from("1"))
            .unwrap();
        let json = s.to_plain_json();
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"my-secret","namespace":"apps","labels":{"app.kubernetes.io/managed-by":"psd","tier":"db"}},"type":"Opaque","stringData":{"b":"2","a":"1"}}"#
        );
        assert_eq!(s.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(s.get("a").unwrap().expose_secret(), "1");
        assert!(s.get("c").is_none());
    }

    #[test]
    fn rejects_bad_names_and_keys() {
        assert!(matches!(
            SecretManifest::new("My_Secret", "apps"),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "Secret name",
                ..
            })
        ));
        assert!(matches!(
            SecretManifest::new("ok", "apps.x"),
            Err(ValidationError::InvalidDnsLabel {
                what: "namespace",
                ..
            })
        ));
        let mut s = SecretManifest::new("ok", "apps").unwrap();
        assert!(matches!(
            s.insert("bad key", SecretString::from("x")),
            Err(ValidationError::InvalidSecretKey { .. })
        ));
        s.insert("k", SecretString::from("x")).unwrap();
        assert!(matches!(
            s.insert("k", SecretString::from("y")),
            Err(ValidationError::DuplicateSecretKey { .. })
        ));
        assert!(matches!(
            SecretManifest::new("ok", "apps")
                .unwrap()
                .with_label("a b", "c"),
            Err(ValidationError::InvalidLabel { .. })
        ));
        assert!(matches!(
            SecretManifest::new("ok", "apps")
                .unwrap()
                .with_label(MANAGED_BY_LABEL.0, "me"),
            Err(ValidationError::DuplicateLabel { .. })
        ));
    }

    #[test]
    fn debug_redacts_values() {
        let s = SecretManifest::new("ok", "apps")
            .unwrap()
            .with_entry("password", SecretString::from("hunter2-very-secret"))
            .unwrap();
        let dbg = format!("{s:?} {s:#?}");
        assert!(!dbg.contains("hunter2-very-secret"), "{dbg}");
        assert!(
            dbg.contains("password") && dbg.contains("[REDACTED]"),
            "{dbg}"
        );
    }
}
