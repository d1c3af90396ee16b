//! Connection details of the services a rendered tree deploys, from its decrypted Secrets: what
//! `psd connect` prints (or hands to a command's environment).
//!
//! The data services are published on the node by Traefik's TCP entry points (PostgreSQL on
//! 5432, Redis on 6379), which accept only `exposure.source_ranges` (the tailnet by default).
//! Authentik's HTTPS router and the data ports share that Traefik Service, so the name
//! `<authentik.host>.<domain>` that Authentik already needs (a DNS record to the node's tailnet
//! address) reaches the data ports too: it is the default host. With Authentik disabled there
//! is no name psd knows, and [`ConnectRequest::host`] must say it (the node's MagicDNS name,
//! its tailnet address, or `127.0.0.1` for a `kubectl port-forward`).
//!
//! PostgreSQL is CloudNativePG's primary: TLS with a server certificate from the cluster's own
//! private CA (Secret `postgresql-ca`, key `ca.crt`) whose names are the in-cluster Service
//! names only. `sslmode=require` (encrypted, server not verified; the tailnet's WireGuard
//! already authenticates the node) is therefore the default; given the CA file
//! ([`ConnectRequest::ca_file`]) it is `verify-ca`. `verify-full` would need the external name
//! in the Cluster's `certificates.serverAltDNSNames`, which psd does not set. Valkey speaks no
//! TLS; its traffic is protected by the tailnet only.
//!
//! [`connection`] is the pure part (description + a way to read Secrets); [`connect`] finds the
//! description and the age keys as `psd render` does and decrypts the Secret files.
//!
//! ```no_run
//! use psd_render::connect::{ConnectRequest, Service, connect};
//! use psd_render::{Mode, RenderOptions};
//!
//! let opts = RenderOptions::new(".", Mode::Check);
//! let c = connect(&opts, Service::Postgresql, &ConnectRequest::default())?;
//! println!("{}", c.url(false)); // postgresql://app:<hidden>@auth.example.com:5432/app?…
//! # Ok::<(), psd_render::connect::ConnectError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::{ExposeSecret as _, SecretString};
use psd_model::{AuthentikCredentials, PostgresRoleCredentials, RedisCredentials};

use crate::codec::{self, DecryptError};
use crate::components::{self, authentik, postgresql, redis};
use crate::error::RenderError;
use crate::kept::FileSecret;
use crate::output::{RenderOptions, load_config};
use crate::{keys, layout};

/// What stands in for a secret value that is not shown.
pub const HIDDEN: &str = "<hidden>";

/// The user Authentik creates at its first start, whose password is the bootstrap password.
pub const AUTHENTIK_ADMIN: &str = "akadmin";

/// The only ACL user the Valkey release psd renders has.
pub const REDIS_USER: &str = "default";

/// The services `psd connect` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The CloudNativePG cluster's primary.
    Postgresql,
    /// Valkey (Redis protocol).
    Redis,
    /// Authentik's web interface and API.
    Authentik,
}

impl Service {
    /// Its key under `services:` in `psd.yaml`.
    #[must_use]
    pub fn config_key(self) -> &'static str {
        match self {
            Service::Postgresql => "postgresql",
            Service::Redis => "redis",
            Service::Authentik => "authentik",
        }
    }

    fn enabled(self, cfg: &ClusterConfig) -> bool {
        match self {
            Service::Postgresql => cfg.services.postgresql.enabled,
            Service::Redis => cfg.services.redis.enabled,
            Service::Authentik => cfg.services.authentik.enabled,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_key())
    }
}

impl FromStr for Service {
    type Err = String;

    /// `postgres`/`postgresql`/`pg`, `redis`/`valkey`, `authentik`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "postgres" | "postgresql" | "pg" => Ok(Service::Postgresql),
            "redis" | "valkey" => Ok(Service::Redis),
            "authentik" => Ok(Service::Authentik),
            _ => Err(format!(
                "unknown service `{s}`: one of postgres, redis, authentik"
            )),
        }
    }
}

/// What the user chose on top of the description; every field is optional.
#[derive(Clone, Debug, Default)]
pub struct ConnectRequest {
    /// Host to connect to instead of `<authentik.host>.<domain>` (e.g. `127.0.0.1` with a
    /// `kubectl port-forward`, or the node's MagicDNS name).
    pub host: Option<String>,
    /// Port instead of the service's (5432, 6379; none for Authentik's HTTPS).
    pub port: Option<u16>,
    /// PostgreSQL: the role to log in as (default: the application owner,
    /// `services.postgresql.username`); Redis: the ACL user (only `default`).
    pub user: Option<String>,
    /// PostgreSQL: the database (default: the one the role owns); Redis: the database number.
    pub database: Option<String>,
    /// PostgreSQL: the cluster's CA certificate (`ca.crt` of Secret `postgresql-ca`); makes
    /// the TLS mode `verify-ca`.
    pub ca_file: Option<PathBuf>,
}

/// One environment variable of a connection. Secret ones (`secret`) hold a password or token,
/// or a URL with one.
pub struct Variable {
    /// The name, e.g. `PGPASSWORD`.
    pub name: &'static str,
    /// The value.
    pub value: SecretString,
    /// Whether the value is (or holds) a secret.
    pub secret: bool,
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = if self.secret {
            HIDDEN
        } else {
            self.value.expose_secret()
        };
        write!(f, "{}={shown}", self.name)
    }
}

/// How to reach one service as one user. `Debug` never shows the secrets.
pub struct Connection {
    /// The service.
    pub service: Service,
    /// Host name or address.
    pub host: String,
    /// Port; `None` for Authentik's default HTTPS port.
    pub port: Option<u16>,
    /// The user (PostgreSQL role, Valkey ACL user, Authentik admin).
    pub user: String,
    /// PostgreSQL's database, Valkey's database number.
    pub database: Option<String>,
    /// PostgreSQL's `sslmode`.
    pub sslmode: Option<&'static str>,
    /// PostgreSQL's CA file (absolute), with `verify-ca`.
    pub ca_file: Option<PathBuf>,
    /// The Secret file the password was read from, relative to the repository root.
    pub secret_file: String,
    /// Facts a user needs (what the user is, who can reach the port, what TLS does), one
    /// sentence each, without secrets.
    pub notes: Vec<String>,
    password: SecretString,
    /// Authentik's bootstrap API token.
    token: Option<SecretString>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("service", &self.service)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .field("sslmode", &self.sslmode)
            .field("secret_file", &self.secret_file)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The password (PostgreSQL role, Valkey user, Authentik admin's bootstrap password).
    #[must_use]
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The URL: `postgresql://user:pw@host:port/db?sslmode=…`, `redis://user:pw@host:port/n`,
    /// or Authentik's admin interface `https://host/if/admin/`. Without `reveal` the password
    /// is [`HIDDEN`]. User, password and database are percent-encoded.
    #[must_use]
    pub fn url(&self, reveal: bool) -> String {
        let password = if reveal {
            percent_encode(self.password.expose_secret())
        } else {
            HIDDEN.to_owned()
        };
        let host = url_host(&self.host);
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let user = percent_encode(&self.user);
        match self.service {
            Service::Postgresql => {
                let mut url = format!(
                    "postgresql://{user}:{password}@{host}{port}/{}?sslmode={}",
                    percent_encode(self.database.as_deref().unwrap_or_default()),
                    self.sslmode.unwrap_or("require")
                );
                if let Some(ca) = &self.ca_file {
                    url.push_str("&sslrootcert=");
                    url.push_str(&percent_encode(&ca.to_string_lossy()));
                }
                url
            }
            Service::Redis => format!(
                "redis://{user}:{password}@{host}{port}/{}",
                self.database.as_deref().unwrap_or("0")
            ),
            Service::Authentik => format!("https://{host}{port}/if/admin/"),
        }
    }

    /// The environment a client gets: `PG*` and `DATABASE_URL`; `REDISCLI_AUTH`,
    /// `VALKEYCLI_AUTH` and `REDIS_*`/`REDIS_URL`; `AUTHENTIK_URL`, `AUTHENTIK_API_URL`
    /// (`…/api/v3/`), `AUTHENTIK_USER`,
    /// `AUTHENTIK_PASSWORD`, `AUTHENTIK_TOKEN`.
    #[must_use]
    pub fn variables(&self) -> Vec<Variable> {
        let plain = |name, value: &str| Variable {
            name,
            value: SecretString::from(value.to_owned()),
            secret: false,
        };
        let secret = |name, value: &SecretString| Variable {
            name,
            value: value.clone(),
            secret: true,
        };
        let url = SecretString::from(self.url(true));
        let port = self.port.map(|p| p.to_string()).unwrap_or_default();
        let mut out = Vec::new();
        match self.service {
            Service::Postgresql => {
                out.push(plain("PGHOST", &self.host));
                out.push(plain("PGPORT", &port));
                out.push(plain("PGUSER", &self.user));
                out.push(plain("PGDATABASE", self.database.as_deref().unwrap_or("")));
                out.push(plain("PGSSLMODE", self.sslmode.unwrap_or("require")));
                if let Some(ca) = &self.ca_file {
                    out.push(plain("PGSSLROOTCERT", &ca.to_string_lossy()));
                }
                out.push(secret("PGPASSWORD", &self.password));
                out.push(secret("DATABASE_URL", &url));
            }
            Service::Redis => {
                out.push(plain("REDIS_HOST", &self.host));
                out.push(plain("REDIS_PORT", &port));
                out.push(plain("REDIS_USERNAME", &self.user));
                out.push(secret("REDIS_PASSWORD", &self.password));
                out.push(secret("REDISCLI_AUTH", &self.password));
                out.push(secret("VALKEYCLI_AUTH", &self.password));
                out.push(secret("REDIS_URL", &url));
            }
            Service::Authentik => {
                out.push(plain("AUTHENTIK_URL", &self.url(false)));
                out.push(plain(
                    "AUTHENTIK_API_URL",
                    &self.url(false).replace("/if/admin/", "/api/v3/"),
                ));
                out.push(plain("AUTHENTIK_USER", &self.user));
                out.push(secret("AUTHENTIK_PASSWORD", &self.password));
                if let Some(t) = &self.token {
                    out.push(secret("AUTHENTIK_TOKEN", t));
                }
            }
        }
        out
    }

    /// The client command line, without any secret (the client reads the password from the
    /// environment of [`Connection::variables`]): `psql 'host=… sslmode=…'` or `redis-cli -h …
    /// --user default`; `None` for Authentik (a browser).
    #[must_use]
    pub fn client_command(&self) -> Option<Vec<String>> {
        let port = self.port.map(|p| p.to_string()).unwrap_or_default();
        match self.service {
            Service::Postgresql => {
                let mut conninfo = vec![
                    format!("host={}", conninfo_value(&self.host)),
                    format!("port={port}"),
                    format!("user={}", conninfo_value(&self.user)),
                    format!(
                        "dbname={}",
                        conninfo_value(self.database.as_deref().unwrap_or(""))
                    ),
                    format!("sslmode={}", self.sslmode.unwrap_or("require")),
                ];
                if let Some(ca) = &self.ca_file {
                    conninfo.push(format!(
                        "sslrootcert={}",
                        conninfo_value(&ca.to_string_lossy())
                    ));
                }
                Some(vec!["psql".to_owned(), conninfo.join(" ")])
            }
            Service::Redis => {
                let mut argv = vec![
                    "redis-cli".to_owned(),
                    "-h".to_owned(),
                    self.host.clone(),
                    "-p".to_owned(),
                    port,
                    "--user".to_owned(),
                    self.user.clone(),
                ];
                if let Some(n) = self.database.as_deref().filter(|n| *n != "0") {
                    argv.extend(["-n".to_owned(), n.to_owned()]);
                }
                Some(argv)
            }
            Service::Authentik => None,
        }
    }
}

/// Why no connection details could be given. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The description or the keys could not be loaded (as for `psd render`).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The service is disabled in the description.
    #[error(
        "{service} is not enabled in the cluster description (services.{service}.enabled: \
         false), so the tree deploys nothing to connect to"
    )]
    Disabled {
        /// The service.
        service: Service,
    },
    /// No host name is known for the node (Authentik, whose name is the default, is disabled).
    #[error(
        "no host name is known for the node: the default is Authentik's host, and Authentik \
         is disabled; pass --host (the node's Tailscale MagicDNS name or tailnet address, or \
         127.0.0.1 with `kubectl port-forward`)"
    )]
    NoHost,
    /// The user asked for is not one the tree creates.
    #[error("{service} has no user `{user}` in this tree; its users: {}", valid.join(", "))]
    UnknownUser {
        /// The service.
        service: Service,
        /// What was asked for.
        user: String,
        /// The users there are, each with what it is for.
        valid: Vec<String>,
    },
    /// An option that means nothing for the service.
    #[error("{option} does not apply to {service}")]
    NotApplicable {
        /// The option, e.g. `--database`.
        option: &'static str,
        /// The service.
        service: Service,
    },
    /// A Valkey database that is not a number.
    #[error("Redis databases are numbered: `{0}` is not a number (e.g. --database 0)")]
    RedisDatabase(String),
    /// The Secret file is not in the tree.
    #[error("{path} does not exist: run `psd render` first (or pass --root to the repository)")]
    MissingFile {
        /// Path relative to the repository root.
        path: String,
    },
    /// No private key at hand opens the Secret file.
    #[error(
        "no age private key opens {path} (it is encrypted to {}); set SOPS_AGE_KEY_FILE to the \
         cluster's key file, or put the key where sops looks for it \
         ($XDG_CONFIG_HOME/sops/age/keys.txt, ~/.config/sops/age/keys.txt)",
        if recipients.is_empty() { "no age recipient".to_owned() } else { recipients.join(", ") }
    )]
    NoKey {
        /// Path relative to the repository root.
        path: String,
        /// The file's age recipients.
        recipients: Vec<String>,
    },
    /// The file cannot be read, decrypted or understood as a Secret.
    #[error("cannot use {path}: {reason}")]
    Unreadable {
        /// Path relative to the repository root.
        path: String,
        /// Why (never a value).
        reason: String,
    },
    /// The Secret lacks a key psd writes.
    #[error("{path} has no `{key}`: run `psd render` to restore it")]
    MissingValue {
        /// Path relative to the repository root.
        path: String,
        /// The key.
        key: String,
    },
}

/// The values of the Secret file at a repository-relative path.
pub type SecretValues = Vec<(String, SecretString)>;

/// Path (relative to the repository root) of the Secret file of slot `slot`, if the
/// description renders it.
fn secret_path(cfg: &ClusterConfig, slot: &str) -> Result<Option<String>, ConnectError> {
    Ok(components::all(cfg)?.iter().find_map(|c| {
        c.slots()
            .find(|(_, s)| s.id == slot)
            .map(|(name, _)| layout::path_of(cfg, c, name))
    }))
}

fn value(
    values: &[(String, SecretString)],
    path: &str,
    key: &str,
) -> Result<SecretString, ConnectError> {
    values
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ConnectError::MissingValue {
            path: path.to_owned(),
            key: key.to_owned(),
        })
}

/// The connection to `service` the description `cfg` and the request `req` describe, with the
/// passwords of the Secrets `read` returns (called with each Secret file's path relative to
/// the repository root, only for the files needed).
///
/// PostgreSQL users are the application owner (`services.postgresql.username`, default, in
/// `services.postgresql.database`) and each application's role (Authentik's
/// `services.authentik.username`, in `services.authentik.database`); the database defaults to
/// the one the role owns. Redis has the ACL user `default`; Authentik the admin `akadmin`.
///
/// # Errors
/// Any [`ConnectError`] but [`ConnectError::Render`] from this function itself; `read`'s
/// errors are passed on.
pub fn connection(
    cfg: &ClusterConfig,
    service: Service,
    req: &ConnectRequest,
    read: &mut dyn FnMut(&str) -> Result<SecretValues, ConnectError>,
) -> Result<Connection, ConnectError> {
    if !service.enabled(cfg) {
        return Err(ConnectError::Disabled { service });
    }
    let not_for = |option| ConnectError::NotApplicable { option, service };
    if req.ca_file.is_some() && service != Service::Postgresql {
        return Err(not_for("--ca-file"));
    }
    let host = match &req.host {
        Some(h) => h.clone(),
        None if cfg.services.authentik.enabled => cfg.authentik_host(),
        None => return Err(ConnectError::NoHost),
    };
    let ranges = cfg.exposure.source_ranges.join(", ");
    let reach = if req.host.is_some() {
        format!("connecting to {host} as asked (--host)")
    } else {
        format!(
            "{host} is Authentik's name; Traefik publishes the data ports on the same node \
             addresses, open to {ranges} (exposure.source_ranges)"
        )
    };
    match service {
        Service::Postgresql => postgres(cfg, req, host, reach, read),
        Service::Redis => {
            let user = req.user.clone().unwrap_or_else(|| REDIS_USER.to_owned());
            if user != REDIS_USER {
                return Err(ConnectError::UnknownUser {
                    service,
                    user,
                    valid: vec![format!("{REDIS_USER} (the only ACL user psd renders)")],
                });
            }
            let database = match &req.database {
                Some(d) if d.parse::<u32>().is_err() => {
                    return Err(ConnectError::RedisDatabase(d.clone()));
                }
                Some(d) => d.clone(),
                None => "0".to_owned(),
            };
            let path = secret_path(cfg, redis::SLOT)?.unwrap_or_default();
            let values = read(&path)?;
            let password = value(&values, &path, RedisCredentials::PASSWORD_KEY)?;
            Ok(Connection {
                service,
                host,
                port: Some(req.port.unwrap_or(redis::PORT)),
                user,
                database: Some(database),
                sslmode: None,
                ca_file: None,
                notes: vec![
                    format!(
                        "Valkey {}, release {}/{}, ACL user `{REDIS_USER}` (all commands)",
                        cfg.versions.valkey_image,
                        redis::NAMESPACE,
                        redis::RELEASE
                    ),
                    reach,
                    "no TLS: Valkey's traffic is protected by the tailnet (WireGuard) only".into(),
                ],
                secret_file: path,
                password,
                token: None,
            })
        }
        Service::Authentik => {
            if req.user.is_some() {
                return Err(not_for("--user"));
            }
            if req.database.is_some() {
                return Err(not_for("--database"));
            }
            let path = secret_path(cfg, authentik::SLOT)?.unwrap_or_default();
            let values = read(&path)?;
            let password = value(&values, &path, AuthentikCredentials::BOOTSTRAP_PASSWORD_KEY)?;
            let token = value(&values, &path, AuthentikCredentials::BOOTSTRAP_TOKEN_KEY)?;
            Ok(Connection {
                service,
                host,
                port: req.port,
                user: AUTHENTIK_ADMIN.to_owned(),
                database: None,
                sslmode: None,
                ca_file: None,
                notes: vec![
                    format!(
                        "Authentik's admin `{AUTHENTIK_ADMIN}` ({}); the password and API token \
                         are the bootstrap ones, read at Authentik's very first start only: if \
                         they were changed in Authentik since, these no longer work",
                        cfg.authentik_bootstrap_email()
                    ),
                    format!(
                        "served by Traefik over HTTPS, open to {ranges} (exposure.source_ranges)"
                    ),
                ],
                secret_file: path,
                password,
                token: Some(token),
            })
        }
    }
}

fn postgres(
    cfg: &ClusterConfig,
    req: &ConnectRequest,
    host: String,
    reach: String,
    read: &mut dyn FnMut(&str) -> Result<SecretValues, ConnectError>,
) -> Result<Connection, ConnectError> {
    let pg = &cfg.services.postgresql;
    // (role, its database, its Secret's slot, what it is)
    let mut roles = vec![(
        pg.username.clone(),
        pg.database.clone(),
        postgresql::APP_SLOT.to_owned(),
        "the application owner".to_owned(),
    )];
    for claim in components::database_claims(cfg) {
        roles.push((
            claim.role.clone(),
            claim.database.clone(),
            format!("{}-{}", postgresql::CLUSTER, claim.client),
            format!("{}'s role", claim.client),
        ));
    }
    let (role, own_db, slot, what) =
        match &req.user {
            None => roles[0].clone(),
            Some(u) => roles.iter().find(|r| &r.0 == u).cloned().ok_or_else(|| {
                ConnectError::UnknownUser {
                    service: Service::Postgresql,
                    user: u.clone(),
                    valid: roles
                        .iter()
                        .map(|(r, db, _, what)| format!("{r} ({what}, database {db})"))
                        .collect(),
                }
            })?,
        };
    let path = secret_path(cfg, &slot)?.unwrap_or_default();
    let values = read(&path)?;
    let password = value(&values, &path, PostgresRoleCredentials::PASSWORD_KEY)?;
    let ca_file = match &req.ca_file {
        Some(p) => Some(
            std::path::absolute(p).map_err(|e| ConnectError::Unreadable {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?,
        ),
        None => None,
    };
    let (sslmode, tls) = if ca_file.is_some() {
        (
            "verify-ca",
            "TLS verify-ca: the server's certificate must be signed by the CA file given",
        )
    } else {
        (
            "require",
            "TLS sslmode=require: encrypted, the server not verified (CloudNativePG's CA is \
             private; --ca-file with its ca.crt from Secret postgresql-ca verifies it)",
        )
    };
    Ok(Connection {
        service: Service::Postgresql,
        host,
        port: Some(req.port.unwrap_or(postgresql::PORT)),
        notes: vec![
            format!(
                "PostgreSQL role `{role}` ({what}; owns database `{own_db}`), primary of \
                 CloudNativePG Cluster {}/{}",
                postgresql::NAMESPACE,
                postgresql::CLUSTER
            ),
            reach,
            tls.to_owned(),
        ],
        user: role,
        database: Some(req.database.clone().unwrap_or(own_db)),
        sslmode: Some(sslmode),
        ca_file,
        secret_file: path,
        password,
        token: None,
    })
}

/// [`connection`] for the repository of `opts` (its `repo_root`, `config_path` and keys, found
/// as `psd render` finds them): the Secret files are read from the tree and decrypted with
/// their MAC verified.
///
/// # Errors
/// [`ConnectError::Render`] for the description or a configured but unusable key source,
/// [`ConnectError::MissingFile`], [`ConnectError::NoKey`], [`ConnectError::Unreadable`], and
/// those of [`connection`].
pub fn connect(
    opts: &RenderOptions,
    service: Service,
    req: &ConnectRequest,
) -> Result<Connection, ConnectError> {
    let cfg = load_config(opts)?;
    if !service.enabled(&cfg) {
        return Err(ConnectError::Disabled { service });
    }
    let identities = keys::identities(opts, &cfg)?;
    let root = opts.repo_root.clone();
    let mut read = |path: &str| read_secret(&root, path, &identities);
    connection(&cfg, service, req, &mut read)
}

/// Reads and decrypts the Secret file `path` of the repository at `root`.
fn read_secret(
    root: &Path,
    path: &str,
    identities: &psd_sops::Identities,
) -> Result<SecretValues, ConnectError> {
    let file = root.join(path);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConnectError::MissingFile {
                path: path.to_owned(),
            });
        }
        Err(e) => {
            return Err(ConnectError::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    let no_key = || ConnectError::NoKey {
        path: path.to_owned(),
        recipients: codec::file_recipients(&bytes),
    };
    if identities.is_empty() {
        return Err(no_key());
    }
    let mut tree = match codec::decrypt(&bytes, identities) {
        Ok(t) => t,
        Err(DecryptError::NoMatchingKey) => return Err(no_key()),
        Err(DecryptError::Invalid(reason)) => {
            return Err(ConnectError::Unreadable {
                path: path.to_owned(),
                reason,
            });
        }
    };
    let values = FileSecret::parse(&tree, path)
        .map(|f| f.values())
        .map_err(|reason| ConnectError::Unreadable {
            path: path.to_owned(),
            reason,
        });
    codec::wipe(&mut tree);
    values
}

/// A host for a URL: IPv6 addresses in brackets.
fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A libpq keyword/value connection-string value: bare when it is a plain word, else
/// single-quoted with `\` and `'` escaped.
fn conninfo_value(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/' | b':'))
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests;
