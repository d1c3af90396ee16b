//! Validated names: DNS-1123 labels and subdomains, e-mail addresses, Kubernetes label and
//! Secret keys, PostgreSQL identifiers.
//!
//! The rules follow Kubernetes' `IsDNS1123Label` / `IsDNS1123Subdomain` / `IsQualifiedName` /
//! `IsConfigMapKey` (k8s.io/apimachinery `pkg/util/validation`).

use std::fmt;

use crate::error::ValidationError;

/// Maximum length of a DNS-1123 label.
pub const DNS1123_LABEL_MAX: usize = 63;
/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;

fn label_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("it is empty");
    }
    if s.len() > DNS1123_LABEL_MAX {
        return Some("it is longer than 63 characters");
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some("it contains upper-case letters");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("it contains a character other than a-z, 0-9 and `-`");
    }
    if s.starts_with('-') {
        return Some("it starts with `-`");
    }
    if s.ends_with('-') {
        return Some("it ends with `-`");
    }
    None
}

fn subdomain_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("it is empty");
    }
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        return Some("it is longer than 253 characters");
    }
    for part in s.split('.') {
        if part.is_empty() {
            return Some("it has an empty part (leading, trailing or doubled `.`)");
        }
        if let Some(problem) = label_problem(part) {
            // Reword the label-specific message for a dot-separated part.
            return Some(match problem {
                "it is longer than 63 characters" => {
                    "a dot-separated part is longer than 63 characters"
                }
                "it contains a character other than a-z, 0-9 and `-`" => {
                    "it contains a character other than a-z, 0-9, `-` and `.`"
                }
                "it starts with `-`" => "a dot-separated part starts with `-`",
                "it ends with `-`" => "a dot-separated part ends with `-`",
                other => other,
            });
        }
    }
    None
}

/// Checks a DNS-1123 label (namespaces, Service names): 1–63 characters of `a-z`, `0-9`, `-`,
/// starting and ending with a letter or digit.
///
/// # Errors
/// [`ValidationError::InvalidDnsLabel`] naming `what` and the broken rule.
pub fn validate_dns_label(what: &'static str, value: &str) -> Result<(), ValidationError> {
    match label_problem(value) {
        None => Ok(()),
        Some(reason) => Err(ValidationError::InvalidDnsLabel {
            what,
            value: value.to_owned(),
            reason,
        }),
    }
}

/// Checks a DNS-1123 subdomain (most object names, host names): at most 253 characters,
/// dot-separated DNS-1123 labels.
///
/// # Errors
/// [`ValidationError::InvalidDnsSubdomain`] naming `what` and the broken rule.
pub fn validate_dns_subdomain(what: &'static str, value: &str) -> Result<(), ValidationError> {
    match subdomain_problem(value) {
        None => Ok(()),
        Some(reason) => Err(ValidationError::InvalidDnsSubdomain {
            what,
            value: value.to_owned(),
            reason,
        }),
    }
}

/// A validated DNS-1123 label, e.g. a namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsLabel(String);

impl DnsLabel {
    /// Validates `value` as a DNS-1123 label; `what` names its use in the error message.
    ///
    /// # Errors
    /// [`ValidationError::InvalidDnsLabel`].
    pub fn new(what: &'static str, value: &str) -> Result<Self, ValidationError> {
        validate_dns_label(what, value)?;
        Ok(Self(value.to_owned()))
    }

    /// The label.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DnsLabel {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new("name", s)
    }
}

/// A validated DNS-1123 subdomain, e.g. an object name or a host name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsSubdomain(String);

impl DnsSubdomain {
    /// Validates `value` as a DNS-1123 subdomain; `what` names its use in the error message.
    ///
    /// # Errors
    /// [`ValidationError::InvalidDnsSubdomain`].
    pub fn new(what: &'static str, value: &str) -> Result<Self, ValidationError> {
        validate_dns_subdomain(what, value)?;
        Ok(Self(value.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsSubdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DnsSubdomain {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new("name", s)
    }
}

/// Characters allowed unquoted in the local part of an address (RFC 5322 `atext`).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

fn email_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("it is empty");
    }
    if s.chars().any(char::is_whitespace) {
        return Some("it contains whitespace");
    }
    if !s.is_ascii() {
        return Some("it contains non-ASCII characters");
    }
    if s.len() > 254 {
        return Some("it is longer than 254 characters");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Some("it has no `@`");
    };
    if domain.contains('@') {
        return Some("it has more than one `@`");
    }
    if local.is_empty() {
        return Some("nothing comes before the `@`");
    }
    if local.len() > 64 {
        return Some("the part before the `@` is longer than 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("the part before the `@` has a leading, trailing or doubled `.`");
    }
    if !local.bytes().all(|b| b == b'.' || is_atext(b)) {
        return Some("the part before the `@` contains a character e-mail does not allow unquoted");
    }
    if domain.is_empty() {
        return Some("nothing comes after the `@`");
    }
    if !domain.contains('.') {
        return Some("the domain has no `.` (a public address needs one, e.g. example.com)");
    }
    let lower = domain.to_ascii_lowercase();
    if subdomain_problem(&lower).is_some() {
        return Some("the domain is not a valid host name");
    }
    None
}

/// Checks an e-mail address (ACME account, Authentik bootstrap admin): one `@`, a dot-atom
/// local part and a host-name domain with at least one dot. Quoted local parts and IP-literal
/// domains are rejected: neither Let's Encrypt nor Authentik needs them.
///
/// # Errors
/// [`ValidationError::InvalidEmail`] naming `what` and the broken rule.
pub fn validate_email(what: &'static str, value: &str) -> Result<(), ValidationError> {
    match email_problem(value) {
        None => Ok(()),
        Some(reason) => Err(ValidationError::InvalidEmail {
            what,
            value: value.to_owned(),
            reason,
        }),
    }
}

/// A validated e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates `value`; `what` names its use in the error message.
    ///
    /// # Errors
    /// [`ValidationError::InvalidEmail`].
    pub fn new(what: &'static str, value: &str) -> Result<Self, ValidationError> {
        validate_email(what, value)?;
        Ok(Self(value.to_owned()))
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new("e-mail address", s)
    }
}

/// Checks a Secret `data`/`stringData` key: 1–253 characters of `A-Z a-z 0-9 - _ .`, and not
/// `.` or `..` (Kubernetes `IsConfigMapKey`).
///
/// # Errors
/// [`ValidationError::InvalidSecretKey`].
pub fn validate_secret_key(key: &str) -> Result<(), ValidationError> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key.len() > DNS1123_SUBDOMAIN_MAX {
        Some("it is longer than 253 characters")
    } else if key == "." || key == ".." {
        Some("it may not be `.` or `..`")
    } else if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Some("it contains a character other than letters, digits, `-`, `_` and `.`")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(ValidationError::InvalidSecretKey {
            key: key.to_owned(),
            reason,
        }),
    }
}

/// A label name or value body: up to 63 characters of `[A-Za-z0-9_.-]`, starting and ending
/// alphanumeric (`qualifiedNameFmt`).
fn qualified_name_problem(s: &str) -> Option<&'static str> {
    if s.len() > DNS1123_LABEL_MAX {
        return Some("longer than 63 characters");
    }
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("only letters, digits, `-`, `_` and `.` are allowed");
    }
    match (bytes.first(), bytes.last()) {
        (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() => None,
        (None, _) | (_, None) => Some("it is empty"),
        _ => Some("it must start and end with a letter or digit"),
    }
}

/// Checks a Kubernetes label: key `[prefix/]name` (prefix a DNS-1123 subdomain, name a
/// qualified name) and value empty or a qualified name.
///
/// # Errors
/// [`ValidationError::InvalidLabel`].
pub fn validate_label(key: &str, value: &str) -> Result<(), ValidationError> {
    let err = |reason| ValidationError::InvalidLabel {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    };
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if subdomain_problem(prefix).is_some() {
                return Err(err("the key prefix is not a DNS-1123 subdomain"));
            }
            name
        }
        None => key,
    };
    if qualified_name_problem(name).is_some() {
        return Err(err(
            "the key name must be 1–63 letters, digits, `-`, `_` or `.`, starting and ending \
             with a letter or digit",
        ));
    }
    if !value.is_empty() && qualified_name_problem(value).is_some() {
        return Err(err(
            "the value must be empty or 1–63 letters, digits, `-`, `_` or `.`, starting and \
             ending with a letter or digit",
        ));
    }
    Ok(())
}

/// Checks a PostgreSQL role or database name that is used without quoting: 1–63 characters of
/// `a-z 0-9 _`, not starting with a digit.
///
/// # Errors
/// [`ValidationError::InvalidPostgresIdentifier`].
pub fn validate_postgres_identifier(
    what: &'static str,
    value: &str,
) -> Result<(), ValidationError> {
    let reason = if value.is_empty() {
        Some("it is empty")
    } else if value.len() > 63 {
        Some("it is longer than 63 bytes")
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Some("it contains a character other than a-z, 0-9 and `_`")
    } else if value.as_bytes()[0].is_ascii_digit() {
        Some("it starts with a digit")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(ValidationError::InvalidPostgresIdentifier {
            what,
            value: value.to_owned(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "cert-manager", "flux-system", "0", &"a".repeat(63)] {
            assert!(validate_dns_label("namespace", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "it is empty"),
            (&"a".repeat(64), "it is longer than 63 characters"),
            ("Database", "it contains upper-case letters"),
            (
                "data_base",
                "it contains a character other than a-z, 0-9 and `-`",
            ),
            ("a.b", "it contains a character other than a-z, 0-9 and `-`"),
            ("-db", "it starts with `-`"),
            ("db-", "it ends with `-`"),
        ] {
            match validate_dns_label("namespace", bad) {
                Err(ValidationError::InvalidDnsLabel {
                    what,
                    value,
                    reason,
                }) => {
                    assert_eq!(what, "namespace");
                    assert_eq!(value, bad);
                    assert_eq!(reason, why, "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn dns_subdomains() {
        let long_ok = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long_ok.len(), 253);
        for ok in [
            "a",
            "auth.almckay.io",
            "postgresql-credentials",
            "a-1.b-2",
            &long_ok,
        ] {
            assert!(validate_dns_subdomain("name", ok).is_ok(), "{ok}");
        }
        let too_long = format!("{long_ok}x");
        for (bad, why) in [
            ("", "it is empty"),
            (too_long.as_str(), "it is longer than 253 characters"),
            (
                ".a",
                "it has an empty part (leading, trailing or doubled `.`)",
            ),
            (
                "a..b",
                "it has an empty part (leading, trailing or doubled `.`)",
            ),
            (
                "a.",
                "it has an empty part (leading, trailing or doubled `.`)",
            ),
            ("Auth.example.com", "it contains upper-case letters"),
            (
                "a_b",
                "it contains a character other than a-z, 0-9, `-` and `.`",
            ),
            ("a.-b", "a dot-separated part starts with `-`"),
            ("a-.b", "a dot-separated part ends with `-`"),
        ] {
            match validate_dns_subdomain("name", bad) {
                Err(ValidationError::InvalidDnsSubdomain { reason, .. }) => {
                    assert_eq!(reason, why, "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let part_too_long = format!("{}.io", "a".repeat(64));
        assert!(matches!(
            validate_dns_subdomain("name", &part_too_long),
            Err(ValidationError::InvalidDnsSubdomain {
                reason: "a dot-separated part is longer than 63 characters",
                ..
            })
        ));
    }

    #[test]
    fn emails() {
        for ok in [
            "admin@almckay.io",
            "a.b+c@mail.example.com",
            "x@EXAMPLE.org",
        ] {
            assert!(validate_email("ACME e-mail", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "admin",
            "admin@",
            "@almckay.io",
            "a@b@c.io",
            "admin@localhost",
            "ad min@almckay.io",
            "admin@almckay.io\n",
            ".admin@almckay.io",
            "ad..min@almckay.io",
            "admin@-almckay.io",
            "admin@almckay..io",
            "a\"b@almckay.io",
            "adm\u{e9}n@almckay.io",
        ] {
            assert!(
                matches!(
                    validate_email("ACME e-mail", bad),
                    Err(ValidationError::InvalidEmail {
                        what: "ACME e-mail",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secret_keys_labels_identifiers() {
        for ok in [
            "age.agekey",
            "AUTHENTIK_SECRET_KEY",
            "postgres-password",
            "api-token",
        ] {
            assert!(validate_secret_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ä"] {
            assert!(
                matches!(
                    validate_secret_key(bad),
                    Err(ValidationError::InvalidSecretKey { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(validate_label("app.kubernetes.io/managed-by", "psd").is_ok());
        assert!(validate_label("tier", "").is_ok());
        for (k, v) in [
            ("", "x"),
            ("-a", "x"),
            ("A_/b", "x"),
            ("a", "-x"),
            ("a", "x y"),
        ] {
            assert!(
                matches!(
                    validate_label(k, v),
                    Err(ValidationError::InvalidLabel { .. })
                ),
                "{k}: {v}"
            );
        }
        assert!(validate_postgres_identifier("role", "authentik").is_ok());
        assert!(validate_postgres_identifier("role", "_x1").is_ok());
        for bad in ["", "1abc", "Auth", "a-b", &"a".repeat(64)] {
            assert!(
                matches!(
                    validate_postgres_identifier("role", bad),
                    Err(ValidationError::InvalidPostgresIdentifier { .. })
                ),
                "{bad}"
            );
        }
    }
}
