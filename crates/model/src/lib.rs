//! Typed data for psd: age key pairs, service credentials that become Kubernetes Secrets,
//! certificate settings and the cluster description. Everything is correct by construction:
//! constructors validate, secrets live in `secrecy` types and `Debug` never prints them.
//!
//! # Main types
//!
//! - [`AgeKeyPair`], [`Identity`], [`Recipient`]: age X25519 keys. Generate with
//!   [`AgeKeyPair::generate`], read and write `keys.txt` files in the format of `age-keygen`
//!   ([`read_key_file`], [`write_key_file`]), and build the `flux-system/sops-age` Secret Flux
//!   decrypts with ([`AgeKeyPair::to_kubernetes_secret`]). Parsing is strict: wrong prefix,
//!   case, checksum or length each give their own [`KeyError`].
//! - [`PostgresRoleCredentials`], [`RedisCredentials`], [`AuthentikCredentials`],
//!   [`CloudflareConfig`]: service credentials with the Secret names, types, namespaces and
//!   keys the operator and the Helm charts read. Passwords are generated from the OS CSPRNG (`generate`) or re-used from
//!   a decrypted Secret (`from_existing`).
//! - [`SecretManifest`]: an ordered `v1` Secret whose values are [`secrecy::SecretString`]s.
//!   It has no `Serialize`; a renderer walks [`SecretManifest::string_data`] and exposes each
//!   value only to encrypt it.
//! - [`CertificateConfig`] → [`Certificate`]: a typed cert-manager `Certificate`.
//! - [`DnsLabel`], [`DnsSubdomain`], [`EmailAddress`]: validated names.
//!
//! # Example
//!
//! ```
//! use psd_model::{AgeKeyPair, PostgresRoleCredentials, Recipient};
//! use psd_model::secrecy::ExposeSecret;
//!
//! // A fresh key pair, and its public half parsed back from text.
//! let pair = AgeKeyPair::generate();
//! let recipient: Recipient = pair.recipient().to_string().parse()?;
//! assert_eq!(&recipient, pair.recipient());
//! assert!(recipient.as_str().starts_with("age1"));
//!
//! // The Secret Flux decrypts with.
//! let flux = pair.to_kubernetes_secret();
//! assert_eq!((flux.namespace(), flux.name()), ("flux-system", "sops-age"));
//! assert_eq!(flux.keys().collect::<Vec<_>>(), ["age.agekey"]);
//!
//! // A generated PostgreSQL login as a basic-auth Secret; values stay secret until exposed.
//! let db = PostgresRoleCredentials::generate("authentik")?;
//! let secret = db.to_secret_manifest(&PostgresRoleCredentials::secret_name_for("authentik"))?;
//! assert_eq!(secret.secret_type(), "kubernetes.io/basic-auth");
//! assert_eq!(secret.keys().collect::<Vec<_>>(), ["username", "password"]);
//! assert_eq!(secret.get("username").unwrap().expose_secret(), "authentik");
//! assert_eq!(db.password().expose_secret().len(), 32);
//! assert!(!format!("{secret:?}").contains(db.password().expose_secret()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod bech32;
mod certificate;
pub mod cluster;
mod credentials;
mod error;
mod keys;
mod locate;
mod names;
mod random;
mod secret;

pub use certificate::{Certificate, CertificateConfig, CertificateSpec, IssuerRef, ObjectMeta};
pub use credentials::{
    AUTHENTIK_SECRET_KEY_LENGTH, AUTHENTIK_SECRET_KEY_MIN_LENGTH, AUTHENTIK_TOKEN_LENGTH,
    AuthentikCredentials, CloudflareConfig, PASSWORD_LENGTH, PostgresRoleCredentials,
    RedisCredentials,
};
pub use error::{CredentialError, KeyError, KeyFileError, KeyKind, ValidationError};
pub use keys::{
    AgeKeyPair, Appended, Identity, KEY_FILE_MODE, KEY_TEMP_PREFIX, Recipient, SOPS_AGE_SECRET_KEY,
    SOPS_AGE_SECRET_NAME, SOPS_AGE_SECRET_NAMESPACE, append_key_file, key_file_text,
    parse_key_file, read_key_file, remove_stale_key_temporaries, write_key_file,
    write_recipients_file,
};
pub use locate::field_position;
pub use names::{
    DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN_MAX, DnsLabel, DnsSubdomain, EmailAddress,
    validate_dns_label, validate_dns_subdomain, validate_email, validate_label,
    validate_postgres_identifier, validate_secret_key,
};
/// Re-exported so callers use the same `secrecy` version as this crate.
pub use secrecy;
pub use secret::{MANAGED_BY_LABEL, SecretManifest};

#[cfg(test)]
mod test_support;
