//! Where each Secret's values come from: an existing encrypted file (decrypted and reused, so
//! credentials are never regenerated), freshly generated values, or the user (Cloudflare token).

use std::collections::BTreeMap;
use std::path::Path;

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::{ExposeSecret, SecretString};
use psd_model::{
    AuthentikCredentials, CloudflareConfig, PostgreSQLCredentials, RedisCredentials, SecretManifest,
};
use psd_sops::keysource::Identities;
use psd_sops::tree::Tree;

use crate::codec::{self, DecryptError};
use crate::error::RenderError;
use crate::layout::{SecretContent, SecretKind, secret_slots};
use crate::manifests as m;

/// An encrypted file found on disk.
pub(crate) struct Existing {
    /// Its bytes, kept as they are when nothing changes.
    pub bytes: Vec<u8>,
    /// Its decrypted tree, when a private key could open it.
    pub decrypted: Option<Tree>,
    /// The age recipients it is encrypted to.
    pub recipients: Vec<String>,
}

impl Drop for Existing {
    fn drop(&mut self) {
        if let Some(t) = &mut self.decrypted {
            codec::wipe(t);
        }
    }
}

/// What [`resolve`] found out.
pub(crate) struct Resolved {
    pub contents: BTreeMap<SecretKind, SecretContent>,
    /// Existing encrypted files by path.
    pub existing: BTreeMap<String, Existing>,
    /// Encrypted files kept without being checked (no private key could open them).
    pub unchecked: Vec<String>,
    /// Things the user must know (missing Cloudflare token, …).
    pub warnings: Vec<String>,
}

/// Values for every Secret, supplied directly (tests, or callers that manage secrets
/// themselves). [`SecretValues::generate`] makes fresh ones.
#[derive(Clone, Debug)]
pub struct SecretValues {
    /// The Secrets by kind.
    pub contents: BTreeMap<SecretKind, SecretContent>,
}

impl SecretValues {
    /// Fresh credentials for every enabled service; the Cloudflare Secret only when a token is
    /// given.
    ///
    /// # Errors
    /// [`RenderError::Credential`] if generation or validation fails.
    pub fn generate(
        cfg: &ClusterConfig,
        cloudflare_token: Option<&SecretString>,
    ) -> Result<Self, RenderError> {
        let mut contents = BTreeMap::new();
        for (_, kind) in order(secret_slots(cfg)) {
            let c = match kind {
                SecretKind::Cloudflare => match cloudflare_token {
                    Some(t) => SecretContent::Manifest(cloudflare(t.clone())?),
                    None => SecretContent::Missing,
                },
                SecretKind::Postgresql => SecretContent::Manifest(postgresql(cfg, None)?),
                SecretKind::Redis => SecretContent::Manifest(redis(None)?),
                SecretKind::Authentik => {
                    SecretContent::Manifest(authentik(cfg, None)?.to_secret_manifest())
                }
                SecretKind::PostgresqlInitdb => initdb_from(cfg, &contents)?,
            };
            contents.insert(kind, c);
        }
        Ok(Self { contents })
    }
}

/// Slots in dependency order: the initdb script is derived from Authentik's credentials.
fn order(mut slots: Vec<(String, SecretKind)>) -> Vec<(String, SecretKind)> {
    slots.sort_by_key(|(_, k)| matches!(k, SecretKind::PostgresqlInitdb));
    slots
}

fn cred_err(e: impl std::fmt::Display) -> RenderError {
    RenderError::Credential(e.to_string())
}

fn cloudflare(token: SecretString) -> Result<SecretManifest, RenderError> {
    Ok(CloudflareConfig::new(token)
        .map_err(cred_err)?
        .to_secret_manifest())
}

type Data = [(String, SecretString)];

fn need<'a>(data: &'a Data, key: &str, path: &str) -> Result<&'a SecretString, RenderError> {
    codec::get(data, key).ok_or_else(|| RenderError::ExistingSecret {
        path: path.into(),
        reason: format!("it has no `{key}` entry (delete the file to generate new values)"),
    })
}

fn postgresql(
    cfg: &ClusterConfig,
    existing: Option<(&Data, &str)>,
) -> Result<SecretManifest, RenderError> {
    let pg = &cfg.services.postgresql;
    let creds = match existing {
        Some((d, path)) => PostgreSQLCredentials::from_existing(
            &pg.username,
            &pg.database,
            need(d, PostgreSQLCredentials::ADMIN_PASSWORD_KEY, path)?.clone(),
            need(d, PostgreSQLCredentials::USER_PASSWORD_KEY, path)?.clone(),
        )
        .map_err(cred_err)?,
        None => PostgreSQLCredentials::generate(&pg.username, &pg.database).map_err(cred_err)?,
    };
    Ok(creds.to_secret_manifest())
}

fn redis(existing: Option<(&Data, &str)>) -> Result<SecretManifest, RenderError> {
    let creds = match existing {
        Some((d, path)) => {
            RedisCredentials::from_existing(need(d, RedisCredentials::PASSWORD_KEY, path)?.clone())
                .map_err(cred_err)?
        }
        None => RedisCredentials::generate().map_err(cred_err)?,
    };
    Ok(creds.to_secret_manifest())
}

fn authentik(
    cfg: &ClusterConfig,
    existing: Option<(&Data, &str)>,
) -> Result<AuthentikCredentials, RenderError> {
    let email = cfg.authentik_bootstrap_email();
    match existing {
        Some((d, path)) => AuthentikCredentials::from_existing(
            need(d, AuthentikCredentials::SECRET_KEY_KEY, path)?.clone(),
            need(d, AuthentikCredentials::POSTGRESQL_PASSWORD_KEY, path)?.clone(),
            need(d, AuthentikCredentials::BOOTSTRAP_PASSWORD_KEY, path)?.clone(),
            need(d, AuthentikCredentials::BOOTSTRAP_TOKEN_KEY, path)?.clone(),
            email,
        )
        .map_err(cred_err),
        None => {
            // Authentik's own PostgreSQL role gets its own generated password (the model's
            // generator: 32 alphanumerics from the OS CSPRNG).
            let ak = &cfg.services.authentik;
            let db =
                PostgreSQLCredentials::generate(&ak.username, &ak.database).map_err(cred_err)?;
            AuthentikCredentials::generate(db.user_password(), email).map_err(cred_err)
        }
    }
}

/// The `postgresql-initdb` Secret: an SQL script creating Authentik's role (with the password
/// Authentik connects with) and database.
fn initdb(cfg: &ClusterConfig, password: &SecretString) -> Result<SecretManifest, RenderError> {
    let sql = SecretString::from(m::authentik_initdb_sql(cfg, password.expose_secret()));
    SecretManifest::new(m::POSTGRESQL_INITDB_SECRET, m::POSTGRESQL_NAMESPACE)
        .and_then(|s| s.with_entry(m::POSTGRESQL_INITDB_KEY, sql))
        .map_err(cred_err)
}

fn initdb_from(
    cfg: &ClusterConfig,
    contents: &BTreeMap<SecretKind, SecretContent>,
) -> Result<SecretContent, RenderError> {
    match contents.get(&SecretKind::Authentik) {
        Some(SecretContent::Manifest(ak)) => {
            let pw = ak
                .get(AuthentikCredentials::POSTGRESQL_PASSWORD_KEY)
                .ok_or_else(|| cred_err("Authentik Secret without a PostgreSQL password"))?;
            Ok(SecretContent::Manifest(initdb(cfg, pw)?))
        }
        _ => Ok(SecretContent::Missing),
    }
}

/// Decides every Secret's content for a render of `cfg` into `repo_root`.
pub(crate) fn resolve(
    cfg: &ClusterConfig,
    repo_root: &Path,
    identities: &Identities,
    cloudflare_token: Option<&SecretString>,
) -> Result<Resolved, RenderError> {
    let mut r = Resolved {
        contents: BTreeMap::new(),
        existing: BTreeMap::new(),
        unchecked: Vec::new(),
        warnings: Vec::new(),
    };
    for (path, kind) in order(secret_slots(cfg)) {
        let file = repo_root.join(&path);
        let existing = match std::fs::read(&file) {
            Ok(bytes) => {
                let recipients = codec::file_recipients(&bytes);
                let decrypted = if identities.is_empty() {
                    None
                } else {
                    match codec::decrypt(&bytes, identities) {
                        Ok(t) => Some(t),
                        Err(DecryptError::NoMatchingKey) => None,
                        Err(DecryptError::Invalid(reason)) => {
                            return Err(RenderError::ExistingSecret {
                                path: path.clone().into(),
                                reason,
                            });
                        }
                    }
                };
                Some(Existing {
                    bytes,
                    decrypted,
                    recipients,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(RenderError::io("cannot read", file, e)),
        };
        let data = match existing.as_ref().and_then(|e| e.decrypted.as_ref()) {
            Some(tree) => {
                Some(
                    codec::string_data(tree).ok_or_else(|| RenderError::ExistingSecret {
                        path: path.clone().into(),
                        reason: "it is not a single Secret with stringData".into(),
                    })?,
                )
            }
            None => None,
        };
        let exists_unreadable = existing.is_some() && data.is_none();
        let ex = data.as_deref().map(|d| (d, path.as_str()));
        let content = if exists_unreadable
            && !(kind == SecretKind::Cloudflare && cloudflare_token.is_some())
        {
            r.unchecked.push(path.clone());
            SecretContent::KeepExisting
        } else {
            match kind {
                SecretKind::Cloudflare => match (cloudflare_token, ex) {
                    (Some(t), _) => SecretContent::Manifest(cloudflare(t.clone())?),
                    (None, Some((d, p))) => SecretContent::Manifest(cloudflare(
                        need(d, CloudflareConfig::API_TOKEN_KEY, p)?.clone(),
                    )?),
                    (None, None) => {
                        r.warnings.push(format!(
                            "no Cloudflare API token: {path} was not written, so the ClusterIssuers \
                             cannot solve DNS-01 yet. Supply the token (Zone-DNS-Edit + Zone-Zone-Read) \
                             with CLOUDFLARE_API_TOKEN=… or --cloudflare-token-file FILE and render again."
                        ));
                        SecretContent::Missing
                    }
                },
                SecretKind::Postgresql => SecretContent::Manifest(postgresql(cfg, ex)?),
                SecretKind::Redis => SecretContent::Manifest(redis(ex)?),
                SecretKind::Authentik => {
                    SecretContent::Manifest(authentik(cfg, ex)?.to_secret_manifest())
                }
                SecretKind::PostgresqlInitdb => {
                    let c = initdb_from(cfg, &r.contents)?;
                    if matches!(c, SecretContent::Missing) {
                        r.warnings.push(format!(
                            "{path} cannot be created without reading Authentik's existing \
                             credentials: make the age private key available (SOPS_AGE_KEY_FILE) \
                             and render again"
                        ));
                    }
                    c
                }
            }
        };
        r.contents.insert(kind, content);
        if let Some(e) = existing {
            r.existing.insert(path, e);
        }
    }
    r.unchecked.sort();
    Ok(r)
}
