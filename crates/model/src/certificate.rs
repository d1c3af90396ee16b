//! [`CertificateConfig`]: a cert-manager `Certificate` issued by a `ClusterIssuer`.

use serde::Serialize;

use crate::error::ValidationError;
use crate::names::{validate_dns_label, validate_dns_subdomain};

/// Settings of one cert-manager `Certificate` (`cert-manager.io/v1`), validated on
/// construction.
///
/// Use either an explicit Certificate or the Ingress annotation
/// `cert-manager.io/cluster-issuer` for a TLS Secret, never both (see
/// `shared/docs/gitops-apis.md` row 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateConfig {
    name: String,
    namespace: String,
    secret_name: String,
    dns_names: Vec<String>,
    issuer: String,
}

impl CertificateConfig {
    /// A Certificate `namespace/name` that stores its key pair in the Secret `secret_name` and
    /// covers `dns_names` (host names, optionally with a leading `*.` wildcard), issued by the
    /// ClusterIssuer `issuer`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidDnsSubdomain`] for a bad name, Secret name, issuer or DNS name,
    /// [`ValidationError::InvalidDnsLabel`] for a bad namespace,
    /// [`ValidationError::NoDnsNames`] / [`ValidationError::DuplicateDnsName`].
    pub fn new<S: AsRef<str>>(
        name: &str,
        namespace: &str,
        secret_name: &str,
        dns_names: &[S],
        issuer: &str,
    ) -> Result<Self, ValidationError> {
        validate_dns_subdomain("Certificate name", name)?;
        validate_dns_label("namespace", namespace)?;
        validate_dns_subdomain("Certificate Secret name", secret_name)?;
        validate_dns_subdomain("ClusterIssuer name", issuer)?;
        if dns_names.is_empty() {
            return Err(ValidationError::NoDnsNames {
                name: name.to_owned(),
            });
        }
        let mut names: Vec<String> = Vec::with_capacity(dns_names.len());
        for dns_name in dns_names {
            let dns_name = dns_name.as_ref();
            let host = dns_name.strip_prefix("*.").unwrap_or(dns_name);
            validate_dns_subdomain("DNS name", host).map_err(|e| match e {
                ValidationError::InvalidDnsSubdomain { what, reason, .. } => {
                    ValidationError::InvalidDnsSubdomain {
                        what,
                        value: dns_name.to_owned(),
                        reason,
                    }
                }
                other => other,
            })?;
            if names.iter().any(|n| n == dns_name) {
                return Err(ValidationError::DuplicateDnsName {
                    name: name.to_owned(),
                    dns_name: dns_name.to_owned(),
                });
            }
            names.push(dns_name.to_owned());
        }
        Ok(Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            secret_name: secret_name.to_owned(),
            dns_names: names,
            issuer: issuer.to_owned(),
        })
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

    /// `spec.secretName`.
    #[must_use]
    pub fn secret_name(&self) -> &str {
        &self.secret_name
    }

    /// `spec.dnsNames`.
    #[must_use]
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// `spec.issuerRef.name` (a ClusterIssuer).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The typed manifest.
    #[must_use]
    pub fn to_manifest(&self) -> Certificate {
        Certificate {
            api_version: Certificate::API_VERSION,
            kind: Certificate::KIND,
            metadata: ObjectMeta {
                name: self.name.clone(),
                namespace: self.namespace.clone(),
            },
            spec: CertificateSpec {
                secret_name: self.secret_name.clone(),
                dns_names: self.dns_names.clone(),
                issuer_ref: IssuerRef {
                    name: self.issuer.clone(),
                    kind: "ClusterIssuer",
                    group: "cert-manager.io",
                },
            },
        }
    }
}

/// A cert-manager `Certificate` manifest, serialised in Kubernetes field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// `cert-manager.io/v1`.
    pub api_version: &'static str,
    /// `Certificate`.
    pub kind: &'static str,
    /// Name and namespace.
    pub metadata: ObjectMeta,
    /// The desired certificate.
    pub spec: CertificateSpec,
}

impl Certificate {
    /// `apiVersion` of cert-manager Certificates.
    pub const API_VERSION: &'static str = "cert-manager.io/v1";
    /// `kind`.
    pub const KIND: &'static str = "Certificate";
}

/// `metadata` of a namespaced object (name and namespace only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
}

/// `spec` of a Certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// Secret the signed key pair is stored in.
    pub secret_name: String,
    /// Subject alternative names.
    pub dns_names: Vec<String>,
    /// The issuer.
    pub issuer_ref: IssuerRef,
}

/// `spec.issuerRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    /// Issuer name.
    pub name: String,
    /// `ClusterIssuer`.
    pub kind: &'static str,
    /// `cert-manager.io`.
    pub group: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> Option<jsonschema::Validator> {
        crate::test_support::kubernetes_validator(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/schemas/cert-manager.io/certificate_v1.json"
        ))
    }

    #[test]
    fn manifest_shape_and_schema() {
        let c = CertificateConfig::new(
            "authentik-tls",
            "auth",
            "authentik-tls",
            &["auth.almckay.io"],
            "letsencrypt-prod",
        )
        .unwrap();
        let json = serde_json::to_value(c.to_manifest()).unwrap();
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"authentik-tls","namespace":"auth"},"spec":{"secretName":"authentik-tls","dnsNames":["auth.almckay.io"],"issuerRef":{"name":"letsencrypt-prod","kind":"ClusterIssuer","group":"cert-manager.io"}}}"#
        );
        if let Some(validator) = validator() {
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}");
            // The judge is not vacuous: a Certificate without secretName fails it.
            let mut broken = json.clone();
            broken["spec"].as_object_mut().unwrap().remove("secretName");
            assert!(!validator.is_valid(&broken));
        }
    }

    #[test]
    fn wildcard_and_errors() {
        assert!(
            CertificateConfig::new("w", "auth", "w", &["*.almckay.io", "almckay.io"], "le").is_ok()
        );
        let none: [&str; 0] = [];
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c", &none, "le"),
            Err(ValidationError::NoDnsNames { .. })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c", &["a.io", "a.io"], "le"),
            Err(ValidationError::DuplicateDnsName { .. })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c", &["A.io"], "le"),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "DNS name",
                ..
            })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c", &["a.*.io"], "le"),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "DNS name",
                ..
            })
        ));
        assert!(matches!(
            CertificateConfig::new("C", "auth", "c", &["a.io"], "le"),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "Certificate name",
                ..
            })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth-", "c", &["a.io"], "le"),
            Err(ValidationError::InvalidDnsLabel {
                what: "namespace",
                ..
            })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c_tls", &["a.io"], "le"),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "Certificate Secret name",
                ..
            })
        ));
        assert!(matches!(
            CertificateConfig::new("c", "auth", "c", &["a.io"], ""),
            Err(ValidationError::InvalidDnsSubdomain {
                what: "ClusterIssuer name",
                ..
            })
        ));
    }
}
