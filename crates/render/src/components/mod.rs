//! The components of the stack, one module each, and the order they are listed in.
//!
//! | module | folder | Flux Kustomization | waits for |
//! |---|---|---|---|
//! | [`cert_manager`] | `infrastructure/cert-manager` | `infra-cert-manager` | — |
//! | [`issuers`] | `infrastructure/issuers` | `infra-issuers` | `infra-cert-manager` |
//! | [`traefik`] | `infrastructure/traefik` | `infra-traefik` | — |
//! | [`cloudnative_pg`] | `infrastructure/cloudnative-pg` | `infra-cloudnative-pg` | — |
//! | [`postgresql`] | `databases/postgresql` | `databases-postgresql` | `infra-cloudnative-pg` |
//! | [`redis`] | `databases/redis` | `databases-redis` | — |
//! | [`authentik`] | `apps/authentik` | `apps-authentik` | `databases-postgresql`, `infra-issuers` |
//!
//! Every component has its own chart source and its own Kustomization, so one failing chart
//! pull or one unhealthy release holds up only what really needs it.

pub mod authentik;
pub mod cert_manager;
pub mod cloudnative_pg;
pub mod issuers;
pub mod postgresql;
pub mod redis;
pub mod traefik;

use psd_model::cluster::ClusterConfig;

use crate::component::{Component, DatabaseClaim};
use crate::error::RenderError;

/// The databases applications ask the shared PostgreSQL for.
pub fn database_claims(cfg: &ClusterConfig) -> Vec<DatabaseClaim> {
    authentik::database_claim(cfg).into_iter().collect()
}

/// Every component the description enables, in Flux order.
///
/// # Errors
/// [`RenderError::Yaml`] if a component's embedded values cannot be emitted.
pub fn all(cfg: &ClusterConfig) -> Result<Vec<Component>, RenderError> {
    let s = &cfg.services;
    let mut out = vec![
        cert_manager::component(cfg),
        issuers::component(cfg),
        traefik::component(cfg)?,
    ];
    if s.postgresql.enabled {
        out.push(cloudnative_pg::component(cfg));
        out.push(postgresql::component(cfg, &database_claims(cfg)));
    }
    if s.redis.enabled {
        out.push(redis::component(cfg));
    }
    if s.authentik.enabled {
        out.push(authentik::component(cfg));
    }
    Ok(out)
}

/// The data services' TCP entry points on Traefik: (entry point name, port).
pub fn tcp_entry_points(cfg: &ClusterConfig) -> Vec<(&'static str, u16)> {
    let mut out = Vec::new();
    if cfg.services.postgresql.enabled {
        out.push(postgresql::ENTRY_POINT);
    }
    if cfg.services.redis.enabled {
        out.push(redis::ENTRY_POINT);
    }
    out
}
