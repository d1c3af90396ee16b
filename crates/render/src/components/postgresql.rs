//! PostgreSQL as a CloudNativePG `Cluster` named `postgresql` in namespace `database`:
//!
//! - a pinned, maintained image (`versions.postgresql_image`), storage, no superuser login;
//! - the application database and its owner from `bootstrap.initdb`, the owner's password in
//!   the basic-auth Secret `postgresql-app-credentials`;
//! - for each application that claims a database (see [`crate::components::database_claims`]):
//!   a managed role with its own basic-auth Secret `postgresql-<client>-credentials`, whose
//!   password is the one the application's own Secret holds, and a `Database` it owns;
//! - one instance: PodDisruptionBudgets off (a node drain would otherwise wait forever);
//!   more: required pod anti-affinity, switchover on updates, the operator's PDBs;
//! - the namespace and the `Cluster` are never pruned by Flux, so disabling the service or
//!   moving files cannot delete the data;
//! - Traefik entry point `postgresql` → Service `postgresql-rw` (the primary).
//!
//! Flux judges the `Cluster` by its `Ready` condition and a `Database` by `status.applied`
//! (kstatus cannot judge either).

use psd_model::PostgresRoleCredentials;
use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::SecretString;
use serde_json::{Value, json};

use crate::component::{
    Built, Component, DatabaseClaim, File, SecretInputs, SecretSlot, Stage, Tier, cred_err, need,
};
use crate::error::RenderError;
use crate::manifests::{self as m, Prune};

/// Namespace of the cluster, its Secrets and `Database`s.
pub const NAMESPACE: &str = PostgresRoleCredentials::NAMESPACE;
/// Name of the CloudNativePG `Cluster`.
pub const CLUSTER: &str = "postgresql";
/// The read-write Service the operator creates for the primary.
pub const SERVICE_RW: &str = "postgresql-rw";
/// PostgreSQL's port.
pub const PORT: u16 = 5432;
/// Traefik's entry point for PostgreSQL: (name, port).
pub const ENTRY_POINT: (&str, u16) = ("postgresql", PORT);
/// The Flux Kustomization.
pub const STAGE: &str = "databases-postgresql";
/// Slot id of the application owner's Secret.
pub const APP_SLOT: &str = "postgresql-app";
/// The CloudNativePG API version.
pub const API_VERSION: &str = "postgresql.cnpg.io/v1";
/// The in-cluster host name of the primary.
pub fn host() -> String {
    format!("{SERVICE_RW}.{NAMESPACE}.svc.cluster.local")
}

/// The `Cluster`.
pub fn cluster(cfg: &ClusterConfig, claims: &[DatabaseClaim]) -> Value {
    let pg = &cfg.services.postgresql;
    let mut spec = serde_json::Map::new();
    spec.insert("instances".into(), json!(pg.instances));
    spec.insert("imageName".into(), json!(cfg.versions.postgresql_image));
    spec.insert("enableSuperuserAccess".into(), json!(false));
    if pg.instances == 1 {
        spec.insert("enablePDB".into(), json!(false));
    } else {
        spec.insert("primaryUpdateMethod".into(), json!("switchover"));
        spec.insert(
            "affinity".into(),
            json!({"podAntiAffinityType": "required"}),
        );
    }
    spec.insert(
        "storage".into(),
        json!({"size": pg.size, "storageClass": cfg.postgresql_storage_class()}),
    );
    spec.insert(
        "bootstrap".into(),
        json!({"initdb": {
            "database": pg.database,
            "owner": pg.username,
            "secret": {"name": PostgresRoleCredentials::APP_SECRET_NAME},
        }}),
    );
    if !claims.is_empty() {
        let roles: Vec<Value> = claims
            .iter()
            .map(|c| {
                json!({
                    "name": c.role,
                    "ensure": "present",
                    "login": true,
                    "passwordSecret": {"name": c.secret_name()},
                })
            })
            .collect();
        spec.insert("managed".into(), json!({"roles": roles}));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": CLUSTER, "namespace": NAMESPACE, "labels": m::labels(Prune::Never)},
        "spec": Value::Object(spec),
    })
}

/// The `Database` of one claim, owned by its role; kept in PostgreSQL if the object goes.
pub fn database(claim: &DatabaseClaim) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Database",
        "metadata": {"name": format!("{CLUSTER}-{}", claim.client), "namespace": NAMESPACE},
        "spec": {
            "cluster": {"name": CLUSTER},
            "name": claim.database,
            "owner": claim.role,
            "ensure": "present",
            "databaseReclaimPolicy": "retain",
        },
    })
}

/// The component.
pub fn component(cfg: &ClusterConfig, claims: &[DatabaseClaim]) -> Component {
    let owner = cfg.services.postgresql.username.clone();
    let then = format!(
        "once Flux has applied the Secret, CloudNativePG sets the new password on role \
         `{owner}` (the Secret is labelled cnpg.io/reload); give it to every client that logs in \
         as `{owner}` (kubectl -n {NAMESPACE} get secret {} -o jsonpath='{{.data.password}}' | \
         base64 -d)",
        PostgresRoleCredentials::APP_SECRET_NAME
    );
    let mut files = vec![
        File::plain("namespace.yaml", m::namespace(NAMESPACE, Prune::Never)),
        File::Secret {
            name: "app-credentials.enc.yaml".into(),
            slot: SecretSlot::new(APP_SLOT, move |i| app_secret(i, &owner))
                // The Bitnami stack's Secret held the application user's password under the
                // same key: keep it, so clients work again after pg_restore.
                .taking_over("apps/postgresql/secret.enc.yaml")
                .rotatable(
                    "postgresql.password",
                    PostgresRoleCredentials::PASSWORD_KEY,
                    then,
                ),
        },
    ];
    for claim in claims {
        let c = claim.clone();
        files.push(File::Secret {
            name: format!("{}-credentials.enc.yaml", claim.client),
            slot: SecretSlot::new(format!("{CLUSTER}-{}", claim.client), move |i| {
                role_secret(i, &c)
            })
            .copying(
                PostgresRoleCredentials::PASSWORD_KEY,
                claim.password_from.0,
                claim.password_from.1,
            ),
        });
    }
    files.push(File::plain("cluster.yaml", cluster(cfg, claims)));
    for claim in claims {
        files.push(File::plain(
            format!("database-{}.yaml", claim.client),
            database(claim),
        ));
    }
    files.push(File::plain(
        "ingressroutetcp.yaml",
        m::ingress_route_tcp(ENTRY_POINT.0, NAMESPACE, ENTRY_POINT.0, SERVICE_RW, PORT),
    ));
    let mut health = vec![m::ready_condition_expr(API_VERSION, "Cluster")];
    if !claims.is_empty() {
        health.push(json!({
            "apiVersion": API_VERSION,
            "kind": "Database",
            "current": "has(status.applied) && status.applied",
        }));
    }
    Component {
        dir: "databases/postgresql",
        stage: Stage {
            name: STAGE,
            tier: Tier::Databases,
            depends_on: vec![super::cloudnative_pg::STAGE],
            health_check_exprs: health,
        },
        files,
    }
}

fn app_secret(i: &SecretInputs<'_>, owner: &str) -> Result<Built, RenderError> {
    let creds = match i.existing {
        Some(d) => PostgresRoleCredentials::from_existing(
            owner,
            need(d, PostgresRoleCredentials::PASSWORD_KEY, i.path)?.clone(),
        )
        .map_err(cred_err)?,
        None => PostgresRoleCredentials::generate(owner).map_err(cred_err)?,
    };
    role_manifest(&creds, PostgresRoleCredentials::APP_SECRET_NAME)
}

/// A claim's role Secret always carries the password of the application's own Secret.
fn role_secret(i: &SecretInputs<'_>, claim: &DatabaseClaim) -> Result<Built, RenderError> {
    let (slot, key) = claim.password_from;
    let password: SecretString = i
        .decided
        .get(slot)
        .and_then(|s| s.get(key))
        .cloned()
        .ok_or_else(|| cred_err(format!("the `{slot}` Secret has no `{key}` to share")))?;
    let creds = PostgresRoleCredentials::from_existing(&claim.role, password).map_err(cred_err)?;
    role_manifest(&creds, &claim.secret_name())
}

fn role_manifest(creds: &PostgresRoleCredentials, name: &str) -> Result<Built, RenderError> {
    Ok(Built::Secret(
        creds.to_secret_manifest(name).map_err(cred_err)?,
    ))
}
