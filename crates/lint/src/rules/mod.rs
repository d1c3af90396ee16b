//! The rules, one module per family. [`ALL`] lists every rule with its checking function; a
//! family's function may report several rule ids, each listed.

use crate::finding::RuleInfo;
use crate::{Context, Sink};

pub mod schema;
pub mod secrets;
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
