//! The rules, one module per family. [`ALL`] lists every rule with its checking function; a
//! family's function may report several rule ids, each listed.

use crate::finding::RuleInfo;
use crate::{Context, Sink};

pub mod api_versions;
pub mod chart_values;
pub mod cluster_issuers;
pub mod entry_points;
pub mod first_sync;
pub mod images;
pub mod ingress;
pub mod persistence;
pub mod prune;
pub mod references;
pub mod schema;
pub mod secrets;
pub mod sops_files;
pub mod syntax;

/// A rule: its facts and the function that checks it.
pub struct Rule {
    /// Id, severity, summary, help.
    pub info: &'static RuleInfo,
    /// Reports this rule's findings (a family function listed under several rules runs once,
    /// under its first; the others have a no-op).
    pub check: fn(&Context, &mut Sink),
}

fn none(_: &Context, _: &mut Sink) {}

/// Every rule, in a stable order.
pub static ALL: &[Rule] = &[
    Rule {
        info: &syntax::SYNTAX,
        check: syntax::check,
    },
    Rule {
        info: &secrets::PLAINTEXT,
        check: secrets::check,
    },
    Rule {
        info: &secrets::PRIVATE_KEY,
        check: none,
    },
    Rule {
        info: &sops_files::NOT_ENCRYPTED,
        check: sops_files::check,
    },
    Rule {
        info: &sops_files::IDENTITY_ENCRYPTED,
        check: none,
    },
    Rule {
        info: &sops_files::NO_CREATION_RULE,
        check: none,
    },
    Rule {
        info: &sops_files::RECIPIENTS,
        check: none,
    },
    Rule {
        info: &sops_files::MISSING_DECRYPTION,
        check: none,
    },
    Rule {
        info: &api_versions::REMOVED,
        check: api_versions::check,
    },
    Rule {
        info: &api_versions::HELMREPOSITORY_OCI,
        check: none,
    },
    Rule {
        info: &chart_values::CERT_MANAGER_INSTALL_CRDS,
        check: chart_values::check,
    },
    Rule {
        info: &chart_values::TRAEFIK_EXPOSE_BOOL,
        check: none,
    },
    Rule {
        info: &cluster_issuers::UNKNOWN,
        check: cluster_issuers::check,
    },
    Rule {
        info: &images::FROZEN,
        check: images::check,
    },
    Rule {
        info: &images::BITNAMI,
        check: none,
    },
    Rule {
        info: &images::LATEST,
        check: none,
    },
    Rule {
        info: &persistence::SIZE,
        check: persistence::check,
    },
    Rule {
        info: &persistence::ENABLED,
        check: none,
    },
    Rule {
        info: &ingress::TLS,
        check: ingress::check,
    },
    Rule {
        info: &ingress::TLS_SECRET,
        check: none,
    },
    Rule {
        info: &ingress::CERTIFICATE_CONFLICT,
        check: none,
    },
    Rule {
        info: &ingress::HOST_DOMAIN,
        check: none,
    },
    Rule {
        info: &ingress::DUPLICATE_HOST,
        check: none,
    },
    Rule {
        info: &ingress::ISSUER,
        check: none,
    },
    Rule {
        info: &entry_points::UNKNOWN,
        check: entry_points::check,
    },
    Rule {
        info: &entry_points::UNVERIFIED,
        check: none,
    },
    Rule {
        info: &entry_points::HTTP_CONFLICT,
        check: none,
    },
    Rule {
        info: &prune::NAMESPACE,
        check: prune::check,
    },
    Rule {
        info: &prune::DATA_OBJECT,
        check: none,
    },
    // Reported by `crate::decrypt` (psd lint --decrypt), not by a check.
    Rule {
        info: &crate::decrypt::DECRYPT,
        check: none,
    },
    Rule {
        info: &references::MISSING_OBJECT,
        check: references::check,
    },
    Rule {
        info: &references::MISSING_KEY,
        check: none,
    },
    Rule {
        info: &references::WRONG_NAMESPACE,
        check: none,
    },
    Rule {
        info: &first_sync::CYCLE,
        check: first_sync::check,
    },
    Rule {
        info: &first_sync::DEPENDS_ON_MISSING,
        check: none,
    },
    Rule {
        info: &first_sync::CRD_NOT_READY,
        check: none,
    },
    Rule {
        info: &first_sync::CHART_CRD_NEVER,
        check: none,
    },
    Rule {
        info: &first_sync::CHART_CRD_NOT_READY,
        check: none,
    },
    Rule {
        info: &first_sync::NAMESPACE_NOT_ORDERED,
        check: none,
    },
    Rule {
        info: &first_sync::NOT_ORDERED,
        check: none,
    },
    Rule {
        info: &first_sync::HEALTH_CHECK_EXPR,
        check: none,
    },
    Rule {
        info: &first_sync::DEADLOCK,
        check: none,
    },
    Rule {
        info: &schema::INVALID,
        check: schema::check,
    },
    Rule {
        info: &schema::MISSING,
        check: none,
    },
    Rule {
        info: &schema::UNUSABLE,
        check: none,
    },
    Rule {
        info: &schema::CHART_VALUES,
        check: none,
    },
];

/// The facts of the rule with this id.
pub fn info(id: &str) -> Option<&'static RuleInfo> {
    ALL.iter().map(|r| r.info).find(|i| i.id == id).or_else(|| {
        (id == crate::config::IGNORE_WITHOUT_REASON.id)
            .then_some(&crate::config::IGNORE_WITHOUT_REASON)
    })
}

/// Every rule's facts (including the annotation rule), for `--list-rules` and configuration.
pub fn infos() -> Vec<&'static RuleInfo> {
    let mut v: Vec<&'static RuleInfo> = ALL.iter().map(|r| r.info).collect();
    v.push(&crate::config::IGNORE_WITHOUT_REASON);
    v
}
