//! Service credentials that become Kubernetes Secrets: PostgreSQL roles (CloudNativePG), the
//! Redis-protocol password (Valkey), Authentik and the Cloudflare API token for cert-manager.
//!
//! Secret names, namespaces and data keys are the ones the charts read (see
//! `shared/docs/gitops-apis.md` rows 14 and 21, and §4.3). Generated secrets come from the OS CSPRNG
//! as alphanumeric strings (62 symbols, ≈ 5.95 bits per character, no escaping ever needed).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{CredentialError, ValidationError};
use crate::names::{EmailAddress, validate_postgres_identifier};
use crate::random;
use crate::secret::SecretManifest;

/// Length of generated passwords: 32 characters from 62 symbols ≈ 190 bits.
pub const PASSWORD_LENGTH: usize = 32;
/// Length of the generated Authentik secret key: 64 characters from 62 symbols ≈ 381 bits
/// (authentik asks for at least 50 characters).
pub const AUTHENTIK_SECRET_KEY_LENGTH: usize = 64;
/// The shortest Authentik secret key accepted from an existing Secret.
pub const AUTHENTIK_SECRET_KEY_MIN_LENGTH: usize = 50;
/// Length of the generated Authentik bootstrap API token: 64 characters ≈ 381 bits.
pub const AUTHENTIK_TOKEN_LENGTH: usize = 64;

/// Checks a password re-used from an existing Secret: not empty, printable ASCII (spaces
/// allowed).
fn check_password(what: &'static str, value: &SecretString) -> Result<(), ValidationError> {
    let v = value.expose_secret();
    if v.is_empty() {
        return Err(ValidationError::EmptyPassword { what });
    }
    if let Some(i) = v.chars().position(|c| !(c.is_ascii_graphic() || c == ' ')) {
        return Err(ValidationError::PasswordNotPrintable {
            what,
            position: i + 1,
        });
    }
    Ok(())
}

fn debug_redacted(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    plain: &[(&str, &dyn fmt::Debug)],
    secret: &[&str],
) -> fmt::Result {
    let mut s = f.debug_struct(name);
    for (k, v) in plain {
        s.field(k, v);
    }
    for k in secret {
        s.field(k, &format_args!("[REDACTED]"));
    }
    s.finish()
}

/// The login of one PostgreSQL role of a CloudNativePG `Cluster`: the database owner made by
/// `bootstrap.initdb` or a role of `managed.roles[]`.
///
/// It becomes a `kubernetes.io/basic-auth` Secret in namespace `database` with exactly the keys
/// the operator reads, `username` (the role name) and `password`, labelled
/// `cnpg.io/reload: "true"` so that a changed password is applied to the running cluster. The
/// Secret's name is chosen by the caller ([`PostgresRoleCredentials::APP_SECRET_NAME`] for the
/// application owner, [`PostgresRoleCredentials::secret_name_for`] for a client's role); names
/// CloudNativePG reserves (`<cluster>-app`, `-superuser`, `-ca`, `-server`, `-replication`)
/// are never produced.
#[derive(Clone)]
pub struct PostgresRoleCredentials {
    role: String,
    password: SecretString,
}

impl PostgresRoleCredentials {
    /// Namespace of the PostgreSQL `Cluster` and of every role Secret.
    pub const NAMESPACE: &'static str = "database";
    /// The Secret of the application database's owner (`bootstrap.initdb.secret`).
    pub const APP_SECRET_NAME: &'static str = "postgresql-app-credentials";
    /// Key of the role name (read by the operator; must equal the role).
    pub const USERNAME_KEY: &'static str = "username";
    /// Key of the password.
    pub const PASSWORD_KEY: &'static str = "password";
    /// The label that makes CloudNativePG re-apply the Secret when it changes.
    pub const RELOAD_LABEL: (&'static str, &'static str) = ("cnpg.io/reload", "true");

    /// The name of the role Secret of a client service, e.g. `postgresql-authentik-credentials`
    /// for `authentik` (a DNS-1123 label).
    #[must_use]
    pub fn secret_name_for(client: &str) -> String {
        format!("postgresql-{client}-credentials")
    }

    /// A new login for `role` (a plain PostgreSQL identifier) with a generated 32-character
    /// password (≈ 190 bits).
    ///
    /// # Errors
    /// [`ValidationError::InvalidPostgresIdentifier`] (wrapped), or
    /// [`CredentialError::Entropy`].
    pub fn generate(role: &str) -> Result<Self, CredentialError> {
        validate_postgres_identifier("PostgreSQL role name", role)?;
        Ok(Self {
            role: role.to_owned(),
            password: random::alphanumeric(PASSWORD_LENGTH)?,
        })
    }

    /// A login re-using a password read from an existing Secret (or shared with another
    /// Secret, such as Authentik's `AUTHENTIK_POSTGRESQL__PASSWORD`).
    ///
    /// # Errors
    /// [`ValidationError::InvalidPostgresIdentifier`], [`ValidationError::EmptyPassword`] or
    /// [`ValidationError::PasswordNotPrintable`].
    pub fn from_existing(role: &str, password: SecretString) -> Result<Self, ValidationError> {
        validate_postgres_identifier("PostgreSQL role name", role)?;
        check_password("PostgreSQL role password", &password)?;
        Ok(Self {
            role: role.to_owned(),
            password,
        })
    }

    /// The role name (the Secret's `username`).
    #[must_use]
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The password.
    #[must_use]
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The basic-auth Secret `database/<secret_name>`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidDnsSubdomain`] if `secret_name` is not a valid Secret name.
    pub fn to_secret_manifest(&self, secret_name: &str) -> Result<SecretManifest, ValidationError> {
        let mut s = SecretManifest::new(secret_name, Self::NAMESPACE)?
            .with_label(Self::RELOAD_LABEL.0, Self::RELOAD_LABEL.1)?
            .with_type(SecretManifest::TYPE_BASIC_AUTH)?;
        s.push_unchecked(Self::USERNAME_KEY, SecretString::from(self.role.as_str()));
        s.push_unchecked(Self::PASSWORD_KEY, self.password.clone());
        Ok(s)
    }
}

impl fmt::Debug for PostgresRoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(
            f,
            "PostgresRoleCredentials",
            &[("role", &self.role)],
            &["password"],
        )
    }
}

/// The password of the Redis-protocol server (Valkey): Secret `redis/redis-credentials` with
/// `redis-password`, read by the Valkey chart through `auth.usersExistingSecret` and
/// `auth.aclUsers.default.passwordKey`.
#[derive(Clone)]
pub struct RedisCredentials {
    password: SecretString,
}

impl RedisCredentials {
    /// Secret name (`auth.usersExistingSecret`).
    pub const SECRET_NAME: &'static str = "redis-credentials";
    /// Namespace of the Valkey release.
    pub const NAMESPACE: &'static str = "redis";
    /// Key of the default user's password (`auth.aclUsers.default.passwordKey`).
    pub const PASSWORD_KEY: &'static str = "redis-password";

    /// A generated 32-character password (≈ 190 bits).
    ///
    /// # Errors
    /// [`CredentialError::Entropy`].
    pub fn generate() -> Result<Self, CredentialError> {
        Ok(Self {
            password: random::alphanumeric(PASSWORD_LENGTH)?,
        })
    }

    /// Re-uses a password read from an existing Secret.
    ///
    /// # Errors
    /// [`ValidationError::EmptyPassword`] or [`ValidationError::PasswordNotPrintable`].
    pub fn from_existing(password: SecretString) -> Result<Self, ValidationError> {
        check_password("Redis password", &password)?;
        Ok(Self { password })
    }

    /// The password.
    #[must_use]
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The Secret `redis/redis-credentials`.
    #[must_use]
    pub fn to_secret_manifest(&self) -> SecretManifest {
        let mut s = SecretManifest::new_unchecked(Self::SECRET_NAME, Self::NAMESPACE);
        s.push_unchecked(Self::PASSWORD_KEY, self.password.clone());
        s
    }
}

impl fmt::Debug for RedisCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(f, "RedisCredentials", &[], &["password"])
    }
}

/// Credentials of Authentik: Secret `auth/authentik-credentials`, loaded with
/// `global.envFrom: [{secretRef: {name: authentik-credentials}}]`, holding the `AUTHENTIK_*`
/// environment variables.
#[derive(Clone)]
pub struct AuthentikCredentials {
    secret_key: SecretString,
    postgresql_password: SecretString,
    bootstrap_password: SecretString,
    bootstrap_token: SecretString,
    bootstrap_email: EmailAddress,
}

impl AuthentikCredentials {
    /// Secret name.
    pub const SECRET_NAME: &'static str = "authentik-credentials";
    /// Namespace of the Authentik release.
    pub const NAMESPACE: &'static str = "auth";
    /// Cookie-signing and unique-ID key.
    pub const SECRET_KEY_KEY: &'static str = "AUTHENTIK_SECRET_KEY";
    /// Password of the PostgreSQL user Authentik connects as.
    pub const POSTGRESQL_PASSWORD_KEY: &'static str = "AUTHENTIK_POSTGRESQL__PASSWORD";
    /// Initial password of the `akadmin` user (read on first start).
    pub const BOOTSTRAP_PASSWORD_KEY: &'static str = "AUTHENTIK_BOOTSTRAP_PASSWORD";
    /// Initial API token of `akadmin` (read on first start).
    pub const BOOTSTRAP_TOKEN_KEY: &'static str = "AUTHENTIK_BOOTSTRAP_TOKEN";
    /// E-mail address of `akadmin` (read on first start).
    pub const BOOTSTRAP_EMAIL_KEY: &'static str = "AUTHENTIK_BOOTSTRAP_EMAIL";

    /// New credentials: a 64-character secret key (≈ 381 bits), a 32-character bootstrap
    /// password (≈ 190 bits) and a 64-character bootstrap token (≈ 381 bits).
    /// `postgresql_password` must be the password of the PostgreSQL user Authentik connects
    /// as; the same value goes into that role's [`PostgresRoleCredentials`] Secret.
    ///
    /// # Errors
    /// [`ValidationError::InvalidEmail`], [`ValidationError::EmptyPassword`] or
    /// [`ValidationError::PasswordNotPrintable`] (wrapped), or [`CredentialError::Entropy`].
    pub fn generate(
        postgresql_password: &SecretString,
        bootstrap_email: &str,
    ) -> Result<Self, CredentialError> {
        let bootstrap_email = EmailAddress::new("Authentik bootstrap e-mail", bootstrap_email)?;
        check_password("Authentik PostgreSQL password", postgresql_password)?;
        Ok(Self {
            secret_key: random::alphanumeric(AUTHENTIK_SECRET_KEY_LENGTH)?,
            postgresql_password: postgresql_password.clone(),
            bootstrap_password: random::alphanumeric(PASSWORD_LENGTH)?,
            bootstrap_token: random::alphanumeric(AUTHENTIK_TOKEN_LENGTH)?,
            bootstrap_email,
        })
    }

    /// Credentials re-using values read from an existing Secret.
    ///
    /// # Errors
    /// [`ValidationError::SecretTooShort`] for a secret key under 50 characters,
    /// [`ValidationError::EmptyPassword`] / [`ValidationError::PasswordNotPrintable`] for any
    /// empty or non-printable value, [`ValidationError::InvalidEmail`].
    pub fn from_existing(
        secret_key: SecretString,
        postgresql_password: SecretString,
        bootstrap_password: SecretString,
        bootstrap_token: SecretString,
        bootstrap_email: &str,
    ) -> Result<Self, ValidationError> {
        check_password("Authentik secret key", &secret_key)?;
        let found = secret_key.expose_secret().chars().count();
        if found < AUTHENTIK_SECRET_KEY_MIN_LENGTH {
            return Err(ValidationError::SecretTooShort {
                what: "Authentik secret key",
                found,
                minimum: AUTHENTIK_SECRET_KEY_MIN_LENGTH,
            });
        }
        check_password("Authentik PostgreSQL password", &postgresql_password)?;
        check_password("Authentik bootstrap password", &bootstrap_password)?;
        check_password("Authentik bootstrap token", &bootstrap_token)?;
        let bootstrap_email = EmailAddress::new("Authentik bootstrap e-mail", bootstrap_email)?;
        Ok(Self {
            secret_key,
            postgresql_password,
            bootstrap_password,
            bootstrap_token,
            bootstrap_email,
        })
    }

    /// `AUTHENTIK_SECRET_KEY`.
    #[must_use]
    pub fn secret_key(&self) -> &SecretString {
        &self.secret_key
    }

    /// `AUTHENTIK_POSTGRESQL__PASSWORD`.
    #[must_use]
    pub fn postgresql_password(&self) -> &SecretString {
        &self.postgresql_password
    }

    /// `AUTHENTIK_BOOTSTRAP_PASSWORD`.
    #[must_use]
    pub fn bootstrap_password(&self) -> &SecretString {
        &self.bootstrap_password
    }

    /// `AUTHENTIK_BOOTSTRAP_TOKEN`.
    #[must_use]
    pub fn bootstrap_token(&self) -> &SecretString {
        &self.bootstrap_token
    }

    /// `AUTHENTIK_BOOTSTRAP_EMAIL`.
    #[must_use]
    pub fn bootstrap_email(&self) -> &EmailAddress {
        &self.bootstrap_email
    }

    /// The Secret `auth/authentik-credentials`.
    #[must_use]
    pub fn to_secret_manifest(&self) -> SecretManifest {
        let mut s = SecretManifest::new_unchecked(Self::SECRET_NAME, Self::NAMESPACE);
        s.push_unchecked(Self::SECRET_KEY_KEY, self.secret_key.clone());
        s.push_unchecked(
            Self::POSTGRESQL_PASSWORD_KEY,
            self.postgresql_password.clone(),
        );
        s.push_unchecked(
            Self::BOOTSTRAP_PASSWORD_KEY,
            self.bootstrap_password.clone(),
        );
        s.push_unchecked(Self::BOOTSTRAP_TOKEN_KEY, self.bootstrap_token.clone());
        s.push_unchecked(
            Self::BOOTSTRAP_EMAIL_KEY,
            SecretString::from(self.bootstrap_email.as_str()),
        );
        s
    }
}

impl fmt::Debug for AuthentikCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(
            f,
            "AuthentikCredentials",
            &[("bootstrap_email", &self.bootstrap_email.as_str())],
            &[
                "secret_key",
                "postgresql_password",
                "bootstrap_password",
                "bootstrap_token",
            ],
        )
    }
}

/// The Cloudflare API token cert-manager's DNS-01 solver uses: Secret
/// `cert-manager/cloudflare-api-token`, key `api-token` (referenced by the ClusterIssuer's
/// `apiTokenSecretRef`). The Secret must live in cert-manager's cluster-resource namespace.
///
/// The token is supplied by the user (Cloudflare dashboard → API Tokens, permissions
/// Zone:DNS:Edit and Zone:Zone:Read); it cannot be generated.
#[derive(Clone)]
pub struct CloudflareConfig {
    api_token: SecretString,
}

impl CloudflareConfig {
    /// Secret name.
    pub const SECRET_NAME: &'static str = "cloudflare-api-token";
    /// cert-manager's namespace.
    pub const NAMESPACE: &'static str = "cert-manager";
    /// Key of the token.
    pub const API_TOKEN_KEY: &'static str = "api-token";

    /// Validates a user-supplied token: not empty, no whitespace anywhere (a pasted trailing
    /// newline is the usual mistake), printable ASCII only.
    ///
    /// # Errors
    /// [`ValidationError::EmptyToken`], [`ValidationError::TokenWhitespace`] or
    /// [`ValidationError::TokenNotPrintable`]; none of them contains the token.
    pub fn new(api_token: SecretString) -> Result<Self, ValidationError> {
        const WHAT: &str = "Cloudflare API token";
        let token = api_token.expose_secret();
        if token.is_empty() {
            return Err(ValidationError::EmptyToken {
                what: WHAT,
                hint: " (Cloudflare dashboard → My Profile → API Tokens; permissions \
                       Zone:DNS:Edit and Zone:Zone:Read)",
            });
        }
        let length = token.chars().count();
        if let Some(i) = token.chars().position(char::is_whitespace) {
            return Err(ValidationError::TokenWhitespace {
                what: WHAT,
                position: i + 1,
                length,
            });
        }
        if let Some(i) = token.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(ValidationError::TokenNotPrintable {
                what: WHAT,
                position: i + 1,
                length,
            });
        }
        Ok(Self { api_token })
    }

    /// Same as [`CloudflareConfig::new`], for a token read back from an existing Secret.
    ///
    /// # Errors
    /// As [`CloudflareConfig::new`].
    pub fn from_existing(api_token: SecretString) -> Result<Self, ValidationError> {
        Self::new(api_token)
    }

    /// The token.
    #[must_use]
    pub fn api_token(&self) -> &SecretString {
        &self.api_token
    }

    /// The Secret `cert-manager/cloudflare-api-token`.
    #[must_use]
    pub fn to_secret_manifest(&self) -> SecretManifest {
        let mut s = SecretManifest::new_unchecked(Self::SECRET_NAME, Self::NAMESPACE);
        s.push_unchecked(Self::API_TOKEN_KEY, self.api_token.clone());
        s
    }
}

impl fmt::Debug for CloudflareConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_redacted(f, "CloudflareConfig", &[], &["api_token"])
    }
}

#[cfg(test)]
mod tests;
