//! Authentik, from its chart's OCI source, on the shared PostgreSQL:
//!
//! - its secrets come from Secret `authentik-credentials` through `global.envFrom`; the
//!   database password in it is also the password of its PostgreSQL role (one generated value,
//!   two Secrets: see [`database_claim`]);
//! - the chart's bundled PostgreSQL is off and `authentik.postgresql.host` points at the
//!   CloudNativePG primary, with `sslmode: require` (the operator's CA is private, so
//!   `verify-ca`, Authentik's default, cannot verify it);
//! - the ingress is served on `websecure` only, with its certificate from the cert-manager
//!   annotation (no separate `Certificate` for the same Secret).

use psd_model::AuthentikCredentials;
use psd_model::PostgresRoleCredentials;
use psd_model::cluster::ClusterConfig;
use serde_json::{Value, json};

use super::{issuers, postgresql, traefik};
use crate::component::{
    Built, Component, DatabaseClaim, File, SecretInputs, SecretSlot, Stage, Tier, cred_err,
    helm_chart, need,
};
use crate::error::RenderError;
use crate::manifests::{self as m, Prune};

/// Namespace of Authentik.
pub const NAMESPACE: &str = AuthentikCredentials::NAMESPACE;
/// The Flux Kustomization.
pub const STAGE: &str = "apps-authentik";
/// Slot id of `authentik-credentials`.
pub const SLOT: &str = "authentik";
/// The TLS Secret of the ingress (owned by cert-manager's ingress-shim only).
pub const TLS_SECRET: &str = "authentik-tls";
/// The chart.
pub const CHART_URL: &str = "oci://ghcr.io/goauthentik/helm-charts/authentik";

/// Authentik's database in the shared PostgreSQL (when Authentik is enabled).
pub fn database_claim(cfg: &ClusterConfig) -> Option<DatabaseClaim> {
    let ak = &cfg.services.authentik;
    ak.enabled.then(|| DatabaseClaim {
        client: "authentik",
        role: ak.username.clone(),
        database: ak.database.clone(),
        password_from: (SLOT, AuthentikCredentials::POSTGRESQL_PASSWORD_KEY),
    })
}

/// Authentik's chart values.
pub fn values(cfg: &ClusterConfig) -> Value {
    let ak = &cfg.services.authentik;
    let host = cfg.authentik_host();
    json!({
        "global": {
            "envFrom": [{"secretRef": {"name": AuthentikCredentials::SECRET_NAME}}],
        },
        "authentik": {
            "postgresql": {
                "host": postgresql::host(),
                "port": postgresql::PORT,
                "name": ak.database,
                "user": ak.username,
                "sslmode": "require",
            },
        },
        "postgresql": {"enabled": false},
        "server": {
            "ingress": {
                "enabled": true,
                "ingressClassName": "traefik",
                "annotations": {
                    "cert-manager.io/cluster-issuer": cfg.acme.issuer.issuer_name(),
                    "traefik.ingress.kubernetes.io/router.entrypoints": traefik::WEBSECURE,
                },
                "hosts": [host],
                "pathType": "Prefix",
                "tls": [{"secretName": TLS_SECRET, "hosts": [host]}],
                "https": false,
            },
        },
    })
}

/// The component.
pub fn component(cfg: &ClusterConfig) -> Component {
    Component {
        dir: "apps/authentik",
        stage: Stage {
            name: STAGE,
            tier: Tier::Apps,
            depends_on: vec![postgresql::STAGE, issuers::STAGE],
            health_check_exprs: vec![],
        },
        files: [
            File::plain("namespace.yaml", m::namespace(NAMESPACE, Prune::Allowed)),
            File::Secret {
                name: "secret.enc.yaml".into(),
                slot: slot(),
            },
        ]
        .into_iter()
        .chain(helm_chart(
            "authentik",
            NAMESPACE,
            CHART_URL,
            &cfg.versions.authentik,
            values(cfg),
        ))
        .collect(),
    }
}

/// How to restart Authentik so that it reads its Secret again.
pub const RESTART: &str =
    "kubectl -n auth rollout restart deployment/authentik-server deployment/authentik-worker";

/// `authentik-credentials` and what `--rotate` may do with each value.
fn slot() -> SecretSlot {
    SecretSlot::new(SLOT, credentials)
        .rotatable(
            "authentik.secret-key",
            AuthentikCredentials::SECRET_KEY_KEY,
            format!(
                "Authentik reads it when it starts: once Flux has applied the Secret, restart it \
                 ({RESTART}). It signs sessions, so everyone logs in again"
            ),
        )
        .rotatable(
            "authentik.postgresql-password",
            AuthentikCredentials::POSTGRESQL_PASSWORD_KEY,
            format!(
                "once Flux has applied the Secrets, CloudNativePG sets the new password on the \
                 PostgreSQL role (its Secret is labelled cnpg.io/reload), while Authentik keeps \
                 the old one until it restarts and cannot open new database connections in \
                 between: restart it right away ({RESTART})"
            ),
        )
        .not_rotatable(
            "authentik.bootstrap-password",
            AuthentikCredentials::BOOTSTRAP_PASSWORD_KEY,
            "Authentik reads it only at its very first start, so a new value would change \
             nothing: change akadmin's password in Authentik instead (Admin interface, \
             Directory, Users, akadmin, Set password)",
        )
        .not_rotatable(
            "authentik.bootstrap-token",
            AuthentikCredentials::BOOTSTRAP_TOKEN_KEY,
            "Authentik reads it only at its very first start, so a new value would change \
             nothing: delete the token in Authentik instead (Admin interface, Directory, \
             Tokens and App passwords) and create a new one there",
        )
}

fn credentials(i: &SecretInputs<'_>) -> Result<Built, RenderError> {
    let email = &i.cfg.authentik_bootstrap_email();
    let creds = match i.existing {
        Some(d) => AuthentikCredentials::from_existing(
            need(d, AuthentikCredentials::SECRET_KEY_KEY, i.path)?.clone(),
            need(d, AuthentikCredentials::POSTGRESQL_PASSWORD_KEY, i.path)?.clone(),
            need(d, AuthentikCredentials::BOOTSTRAP_PASSWORD_KEY, i.path)?.clone(),
            need(d, AuthentikCredentials::BOOTSTRAP_TOKEN_KEY, i.path)?.clone(),
            email,
        )
        .map_err(cred_err)?,
        None => {
            // The database password is a generated role password (32 alphanumerics from the
            // OS CSPRNG); the role's Secret copies it from here.
            let role = PostgresRoleCredentials::generate(&i.cfg.services.authentik.username)
                .map_err(cred_err)?;
            AuthentikCredentials::generate(role.password(), email).map_err(cred_err)?
        }
    };
    Ok(Built::Secret(creds.to_secret_manifest()))
}
