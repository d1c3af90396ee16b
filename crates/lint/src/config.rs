//! Per-rule configuration: turn a rule off or change its severity, from `.psd-lint.yaml` or
//! the `lint:` section of `psd.yaml`; and the annotation that silences rules on one object.
//!
//! ```yaml
//! # .psd-lint.yaml (or under `lint:` in psd.yaml)
//! domain: example.org          # hosts of Ingresses must be under it (optional)
//! fail_on: error               # error | warning | info
//! rules:
//!   images/frozen-registry: off
//!   services/persistence: warning
//! schema:                      # schema validation (off without locations)
//!   locations:                 # kubeconform's -schema-location, tried in order
//!     - ../shared/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json
//!   chart_schemas: ../shared/chart-schemas
//!   kubernetes_version: 1.35.0
//!   strict: true
//! ```
//!
//! Relative paths under `schema:` are relative to the folder of the configuration file
//! ([`crate::SchemaOptions::relative_to`]; the reader of the file calls it).
//!
//! On an object: `metadata.annotations["psd-lint/ignore"]: "<rule-id>: <reason>"`, several
//! separated by `;`. The reason is required; without one nothing is silenced and
//! [`IGNORE_WITHOUT_REASON`] fires.

use std::collections::BTreeMap;

use crate::finding::{RuleInfo, Severity};

/// The annotation that silences rules on one object.
pub const IGNORE_ANNOTATION: &str = "psd-lint/ignore";

/// Fires for an ignore annotation without a reason, or naming an unknown rule.
pub static IGNORE_WITHOUT_REASON: RuleInfo = RuleInfo {
    id: "lint/ignore-annotation",
    severity: Severity::Error,
    summary: "a psd-lint/ignore annotation names an unknown rule or gives no reason",
    help: "write `psd-lint/ignore: \"<rule-id>: <why this object is an exception>\"`; `psd lint --list-rules` lists the ids",
};

/// What to do with one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSetting {
    /// Never report it.
    Off,
    /// Report it with this severity.
    Severity(Severity),
}

/// Lint configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Settings by rule id (or by id prefix ending in `/`, such as `images/`).
    pub rules: BTreeMap<String, RuleSetting>,
    /// The cluster's domain: external hosts must be under it. `None`: not checked.
    pub domain: Option<String>,
    /// The lowest severity that fails a run.
    pub fail_on: Severity,
    /// Schema locations and chart schemas; none by default (no schema validation).
    pub schema: crate::schema::SchemaOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: BTreeMap::new(),
            domain: None,
            fail_on: Severity::Error,
            schema: crate::schema::SchemaOptions::default(),
        }
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Config {
    /// The setting for a rule: the rule's own entry, else the longest matching prefix entry,
    /// else its default severity.
    pub fn setting(&self, rule: &RuleInfo) -> RuleSetting {
        if let Some(s) = self.rules.get(rule.id) {
            return *s;
        }
        self.rules
            .iter()
            .filter(|(k, _)| k.ends_with('/') && rule.id.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map_or(RuleSetting::Severity(rule.severity), |(_, s)| *s)
    }

    /// Reads a configuration from YAML text: a `.psd-lint.yaml`, or a `psd.yaml` whose
    /// `lint:` mapping holds it (then `domain` defaults to psd.yaml's `domain`).
    /// `known` is the list of rule ids, to refuse a misspelt one.
    pub fn from_yaml(
        file: &str,
        text: &str,
        psd_yaml: bool,
        known: &[&RuleInfo],
    ) -> Result<Self, ConfigError> {
        use crate::document::NodeExt;
        use psd_sops::stores::yaml::parse;
        let err = |line: usize, column: usize, message: String| ConfigError {
            file: file.to_owned(),
            line,
            column,
            message,
        };
        let roots = parse::parse_stream(text).map_err(|e| err(e.line, e.column, e.message))?;
        let mut cfg = Config::default();
        let Some(Some(root)) = roots.into_iter().next() else {
            return Ok(cfg);
        };
        let section = if psd_yaml {
            cfg.domain = root
                .get("domain")
                .and_then(NodeExt::as_str)
                .map(str::to_owned);
            match root.get("lint") {
                Some(s) => s.clone(),
                None => return Ok(cfg),
            }
        } else {
            root
        };
        if !section.is_map() {
            return Err(err(
                section.line,
                section.column,
                "the lint configuration must be a mapping (keys: domain, fail_on, rules, schema)"
                    .into(),
            ));
        }
        for (key, k, v) in section.pairs() {
            match key {
                "domain" => cfg.domain = v.as_str().map(str::to_owned),
                "fail_on" => {
                    cfg.fail_on = v.as_str().and_then(Severity::parse).ok_or_else(|| {
                        err(
                            v.line,
                            v.column,
                            "fail_on must be one of error, warning, info".into(),
                        )
                    })?;
                }
                "rules" => {
                    for (id, idn, val) in v.pairs() {
                        let exists = known
                            .iter()
                            .any(|r| r.id == id || (id.ends_with('/') && r.id.starts_with(id)));
                        if !exists {
                            return Err(err(
                                idn.line,
                                idn.column,
                                format!("unknown rule `{id}`; `psd lint --list-rules` lists them"),
                            ));
                        }
                        let setting = match val.as_str() {
                            Some("off") => RuleSetting::Off,
                            Some(s) => {
                                RuleSetting::Severity(Severity::parse(s).ok_or_else(|| {
                                    err(
                                        val.line,
                                        val.column,
                                        format!(
                                            "rule `{id}`: expected off, error, warning or info"
                                        ),
                                    )
                                })?)
                            }
                            None if val.is_false() => RuleSetting::Off,
                            None => {
                                return Err(err(
                                    val.line,
                                    val.column,
                                    format!("rule `{id}`: expected off, error, warning or info"),
                                ));
                            }
                        };
                        cfg.rules.insert(id.to_owned(), setting);
                    }
                }
                "schema" => cfg.schema = schema_section(v, &err)?,
                other => {
                    return Err(err(
                        k.line,
                        k.column,
                        format!("unknown key `{other}`; expected domain, fail_on, rules or schema"),
                    ));
                }
            }
        }
        Ok(cfg)
    }
}

/// The `schema:` mapping of a configuration.
fn schema_section(
    v: &psd_sops::stores::yaml::parse::Node,
    err: &dyn Fn(usize, usize, String) -> ConfigError,
) -> Result<crate::schema::SchemaOptions, ConfigError> {
    use crate::document::NodeExt;
    let mut o = crate::schema::SchemaOptions::default();
    if !v.is_map() {
        return Err(err(
            v.line,
            v.column,
            "schema must be a mapping (keys: locations, chart_schemas, kubernetes_version, strict)"
                .into(),
        ));
    }
    let text = |n: &psd_sops::stores::yaml::parse::Node, what: &str| {
        n.as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| err(n.line, n.column, format!("schema.{what} must be a string")))
    };
    for (key, k, val) in v.pairs() {
        match key {
            "locations" => {
                let items = if val.is_seq() { val.items() } else { vec![val] };
                for item in items {
                    o.locations.push(text(item, "locations")?);
                }
            }
            "chart_schemas" => o.chart_schemas = Some(text(val, "chart_schemas")?.into()),
            "kubernetes_version" => o.kubernetes_version = Some(text(val, "kubernetes_version")?),
            "strict" => {
                o.strict = if val.is_true() {
                    true
                } else if val.is_false() {
                    false
                } else {
                    return Err(err(
                        val.line,
                        val.column,
                        "schema.strict must be true or false".into(),
                    ));
                };
            }
            other => {
                return Err(err(
                    k.line,
                    k.column,
                    format!(
                        "unknown key `schema.{other}`; expected locations, chart_schemas, kubernetes_version or strict"
                    ),
                ));
            }
        }
    }
    // The templates now; the chart folder once relative paths are resolved.
    let templates = crate::schema::SchemaOptions {
        locations: o.locations.clone(),
        ..crate::schema::SchemaOptions::default()
    };
    templates.check().map_err(|m| err(v.line, v.column, m))?;
    Ok(o)
}

/// The rules an object's ignore annotation silences, or why it is invalid.
pub fn parse_ignore(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((id, reason)) = part.split_once(':') else {
            return Err(format!("`{part}` gives no reason"));
        };
        if reason.trim().is_empty() {
            return Err(format!("`{}` gives no reason", id.trim()));
        }
        out.push(id.trim().to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    static R: RuleInfo = RuleInfo {
        id: "images/frozen-registry",
        severity: Severity::Warning,
        summary: "",
        help: "",
    };

    #[test]
    fn settings_by_id_and_prefix() {
        let c = Config::from_yaml("x", "rules:\n  images/: off\n", false, &[&R]).unwrap();
        assert_eq!(c.setting(&R), RuleSetting::Off);
        let c = Config::from_yaml(
            "x",
            "rules:\n  images/: off\n  images/frozen-registry: error\n",
            false,
            &[&R],
        )
        .unwrap();
        assert_eq!(c.setting(&R), RuleSetting::Severity(Severity::Error));
        let e = Config::from_yaml("x", "rules:\n  nope: off\n", false, &[&R]).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let c = Config::from_yaml(
            "psd.yaml",
            "domain: a.io\nlint:\n  fail_on: warning\n",
            true,
            &[&R],
        )
        .unwrap();
        assert_eq!(c.domain.as_deref(), Some("a.io"));
        assert_eq!(c.fail_on, Severity::Warning);
    }

    #[test]
    fn ignore_needs_a_reason() {
        assert_eq!(
            parse_ignore("a/b: known; c/d: ok").unwrap(),
            vec!["a/b", "c/d"]
        );
        assert!(parse_ignore("a/b").is_err());
        assert!(parse_ignore("a/b:  ").is_err());
    }
}
