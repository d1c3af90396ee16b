//! `.sops.yaml`: creation rules and store options (format spec 11, sops' `config/config.go`).
//!
//! Lookup ([`find`]): `--config` / `SOPS_CONFIG` name the file explicitly (the caller passes it
//! to [`locate`]); otherwise `.sops.yaml` is looked for in a start directory (sops uses the
//! working directory) and then in each parent, up to 100 levels. A `.sops.yml` is never used;
//! [`Lookup::warning`] carries sops' warning about it.
//!
//! Rule choice ([`SopsConfig::rule_for`]): the rules are tried in order and the first whose
//! `path_regex` is empty or matches (unanchored, RE2 syntax) wins. The regex is matched against
//! the file path with the config file's directory and a separator removed from its front —
//! i.e. the path relative to the `.sops.yaml` directory when the file is below it — exactly as
//! sops does it with the absolute path of the file (a `--filename-override` is used as given).
//!
//! psd encrypts for age recipients only. Key fields of other types (`pgp`, `kms`, `gcp_kms`,
//! `hckms`, `azure_keyvault`, `hc_vault_transit_uri`, `hc_vault`) are accepted in the file, like
//! any unknown key, but a matching rule whose key groups end up without an age recipient is
//! refused with [`Error::OnlyAgeSupported`]. Recipients are kept as strings here.

use crate::age::Recipient;
use crate::api::EncryptOptions;
use crate::error::Error;
use crate::rules::{RuleContext, SelectionRule};
use crate::store::StoreOptions;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::path::{Path, PathBuf};

/// The config file name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";
const ALTERNATE_NAME: &str = ".sops.yml";
/// How many directories (the start directory and its parents) are searched.
pub const MAX_DEPTH: usize = 100;

/// The result of searching for `.sops.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The config file found, if any.
    pub path: Option<PathBuf>,
    /// sops' warning when a `.sops.yml` was seen on the way (it is never used).
    pub warning: Option<String>,
}

/// Searches `.sops.yaml` in `start_dir` and its parents (at most [`MAX_DEPTH`] directories).
pub fn find(start_dir: &Path) -> Lookup {
    let mut dir = std::path::absolute(start_dir).unwrap_or_else(|_| start_dir.to_path_buf());
    let mut alternate: Option<PathBuf> = None;
    for _ in 0..MAX_DEPTH {
        let candidate = dir.join(CONFIG_FILE_NAME);
        if std::fs::metadata(&candidate).is_ok() {
            let warning = alternate.map(|a| {
                format!(
                    "ignoring {:?} when searching for config file; the config file must be called {CONFIG_FILE_NAME:?}; using {:?} instead",
                    a.display().to_string(),
                    candidate.display().to_string()
                )
            });
            return Lookup {
                path: Some(candidate),
                warning,
            };
        }
        if alternate.is_none() {
            let alt = dir.join(ALTERNATE_NAME);
            if std::fs::metadata(&alt).is_ok() {
                alternate = Some(alt);
            }
        }
        match dir.parent() {
            Some(p) => dir = p.to_path_buf(),
            None => break,
        }
    }
    Lookup {
        path: None,
        warning: alternate.map(|a| {
            format!(
                "ignoring {:?} when searching for config file; the config file must be called {CONFIG_FILE_NAME:?}",
                a.display().to_string()
            )
        }),
    }
}

/// Loads the config named explicitly (`--config`, `SOPS_CONFIG`), or else the one [`find`]
/// finds from `start_dir`. `Ok(None)`: no explicit file and none found (not an error in sops).
pub fn locate(explicit: Option<&Path>, start_dir: &Path) -> Result<Option<SopsConfig>, Error> {
    match explicit {
        Some(p) => SopsConfig::load(p).map(Some),
        None => match find(start_dir).path {
            Some(p) => SopsConfig::load(&p).map(Some),
            None => Ok(None),
        },
    }
}

/// A parsed `.sops.yaml`.
#[derive(Clone, Debug)]
pub struct SopsConfig {
    path: PathBuf,
    dir: PathBuf,
    creation_rules: Option<Vec<CreationRule>>,
    stores: StoresConfig,
}

/// `stores:` of `.sops.yaml` (indentation of the YAML, JSON and binary-envelope output).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoresConfig {
    /// `stores.yaml.indent` (sops: 0 or absent means the default 4; negative is an error).
    pub yaml_indent: Option<i64>,
    /// `stores.json.indent` (absent or -1: tab; below -1 is an error).
    pub json_indent: Option<i64>,
    /// `stores.json_binary.indent`, like `json_indent`.
    pub json_binary_indent: Option<i64>,
}

/// One entry of `creation_rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreationRule {
    /// `path_regex` (`None` or empty: matches every file).
    pub path_regex: Option<String>,
    /// `shamir_threshold` (0: not set).
    pub shamir_threshold: usize,
    /// `unencrypted_suffix`.
    pub unencrypted_suffix: Option<String>,
    /// `encrypted_suffix`.
    pub encrypted_suffix: Option<String>,
    /// `unencrypted_regex`.
    pub unencrypted_regex: Option<String>,
    /// `encrypted_regex`.
    pub encrypted_regex: Option<String>,
    /// `unencrypted_comment_regex`.
    pub unencrypted_comment_regex: Option<String>,
    /// `encrypted_comment_regex`.
    pub encrypted_comment_regex: Option<String>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    groups: Vec<Vec<String>>,
    other_kinds: Vec<&'static str>,
}

impl CreationRule {
    /// The age recipients of the rule, one list per key group. Without `key_groups` this is
    /// one group: the `age` field split at commas (or its YAML list). With `key_groups`, each
    /// group's `merge`d groups come first, then its own `age` entries; duplicates within a
    /// group are dropped, as sops does.
    pub fn age_recipients(&self) -> Vec<Vec<String>> {
        self.groups.clone()
    }

    /// The selection rules that are set, as `(metadata name, value)` pairs in sops' order —
    /// the input of [`crate::rules::SelectionRule::from_fields`].
    pub fn selection_fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("unencrypted_suffix", &self.unencrypted_suffix),
            ("encrypted_suffix", &self.encrypted_suffix),
            ("unencrypted_regex", &self.unencrypted_regex),
            ("encrypted_regex", &self.encrypted_regex),
            ("unencrypted_comment_regex", &self.unencrypted_comment_regex),
            ("encrypted_comment_regex", &self.encrypted_comment_regex),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v)))
        .collect()
    }

    /// How many of the six selection rules are set (sops allows at most one).
    pub fn selection_rule_count(&self) -> usize {
        [
            &self.unencrypted_suffix,
            &self.encrypted_suffix,
            &self.unencrypted_regex,
            &self.encrypted_regex,
            &self.unencrypted_comment_regex,
            &self.encrypted_comment_regex,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count()
    }
}

/// What the command line adds to `.sops.yaml` for one encryption (sops' flags). Everything
/// left at its default defers to the creation rule.
#[derive(Clone, Debug, Default)]
pub struct EncryptFlags {
    /// `--age` / `SOPS_AGE_RECIPIENTS`: one key group that replaces the rule's keys entirely.
    pub age: Option<Vec<Recipient>>,
    /// The selection-rule flags given, as `(metadata name, value)` pairs such as
    /// `("encrypted_regex", "^data$")`; each replaces the rule's field of that name.
    pub selection: Vec<(&'static str, String)>,
    /// `--mac-only-encrypted` (adds to the rule's `mac_only_encrypted`).
    pub mac_only_encrypted: bool,
    /// `--shamir-secret-sharing-threshold` (replaces the rule's `shamir_threshold`).
    pub shamir_threshold: Option<usize>,
}

/// The options `sops encrypt` would use for `file` (spec 11): the creation rule of `config`
/// that matches `file` (pass the file's absolute path, or a `--filename-override` as given),
/// overridden by `flags`, and the config's `stores:` layout.
///
/// As in sops, a config with creation rules but none matching `file` is an error even when
/// `flags.age` names recipients; a config without `creation_rules` counts as no config. With
/// neither flags nor a rule naming recipients the result is [`Error::NoKeysProvided`]. More
/// than one selection rule (flags and rule fields merged per field) is
/// [`Error::ConflictingRules`].
pub fn encrypt_options(
    config: Option<&SopsConfig>,
    file: &Path,
    flags: &EncryptFlags,
) -> Result<EncryptOptions, Error> {
    let rule = match config {
        Some(c) if c.has_creation_rules() => Some(c.rule_for(file)?),
        _ => None,
    };
    let key_groups: Vec<Vec<Recipient>> = match (&flags.age, rule) {
        (Some(recipients), _) => vec![recipients.clone()],
        (None, Some(r)) => r
            .age_recipients()
            .iter()
            .map(|g| g.iter().map(|s| s.parse()).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, Error>>()?,
        (None, None) => return Err(Error::NoKeysProvided),
    };
    let shamir_threshold = flags
        .shamir_threshold
        .filter(|t| *t != 0)
        .or_else(|| rule.map(|r| r.shamir_threshold).filter(|t| *t != 0));
    let mut fields: Vec<(&'static str, String)> = rule
        .map(|r| {
            r.selection_fields()
                .into_iter()
                .map(|(n, v)| (n, v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    for (name, value) in &flags.selection {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value.clone()));
    }
    let selection = SelectionRule::from_fields(
        fields.iter().map(|(n, v)| (*n, v.as_str())),
        RuleContext::Cli,
    )?;
    Ok(EncryptOptions {
        key_groups,
        shamir_threshold,
        rule: selection,
        mac_only_encrypted: flags.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted),
        store: match config {
            Some(c) => c.store_options()?,
            None => StoreOptions::default(),
        },
    })
}

impl SopsConfig {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(|e| Error::ConfigRead {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses config text as if read from `path` (whose directory anchors `path_regex`).
    pub fn parse(path: &Path, text: &[u8]) -> Result<Self, Error> {
        let read_err = |message: String| Error::ConfigRead {
            path: path.to_path_buf(),
            message,
        };
        let text = std::str::from_utf8(text).map_err(|_| read_err("not valid UTF-8".into()))?;
        // An empty file (or only comments) is an empty config, as go-yaml reads it.
        let raw: RawConfig = if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text)
                .map_err(|e| read_err(format!("Could not unmarshal config file: {e}")))?
        };
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let creation_rules = match raw.creation_rules {
            None => None,
            Some(rules) => Some(
                rules
                    .into_iter()
                    .map(|r| r.into_rule().map_err(&read_err))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            creation_rules,
            stores: StoresConfig {
                yaml_indent: raw.stores.yaml.indent,
                json_indent: raw.stores.json.indent,
                json_binary_indent: raw.stores.json_binary.indent,
            },
        })
    }

    /// The config file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file has a `creation_rules` key at all (sops treats a config without one
    /// as no config when it looks for keys).
    pub fn has_creation_rules(&self) -> bool {
        self.creation_rules.is_some()
    }

    /// All creation rules, in file order.
    pub fn creation_rules(&self) -> &[CreationRule] {
        self.creation_rules.as_deref().unwrap_or(&[])
    }

    /// The `stores:` section as written.
    pub fn stores(&self) -> StoresConfig {
        self.stores
    }

    /// The output options from `stores:`, applying sops' defaults (YAML 4 when 0 or absent,
    /// JSON tab when absent or -1) and its refusals (negative YAML, JSON below -1:
    /// [`Error::InvalidIndent`], which sops reports when it writes the output, exit 4).
    pub fn store_options(&self) -> Result<StoreOptions, Error> {
        let err = |message: &'static str| Error::InvalidIndent { message };
        let yaml_indent = match self.stores.yaml_indent {
            None | Some(0) => 4,
            Some(n) if n > 0 => {
                usize::try_from(n).map_err(|_| err("YAML indentation too large"))?
            }
            Some(_) => return Err(err("YAML Negative indentation not accepted")),
        };
        let json = |v: Option<i64>| -> Result<Option<usize>, Error> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) if n >= 0 => Ok(Some(
                    usize::try_from(n).map_err(|_| err("JSON indentation too large"))?,
                )),
                Some(_) => Err(err(
                    "JSON Indentation parameter smaller than -1 is not accepted",
                )),
            }
        };
        Ok(StoreOptions {
            yaml_indent,
            json_indent: json(self.stores.json_indent)?,
            json_binary_indent: json(self.stores.json_binary_indent)?,
        })
    }

    /// The creation rule for `file`: pass the absolute path of the file (or the
    /// `--filename-override` as given). Errors: no rule matches (also when the config has no
    /// `creation_rules`), a `path_regex` before the match does not compile, the matched rule
    /// sets more than one selection rule, or it has a key group without age recipients while
    /// naming keys of other types.
    pub fn rule_for(&self, file: &Path) -> Result<&CreationRule, Error> {
        let file_str = file.to_string_lossy();
        let prefix = format!(
            "{}{}",
            self.dir.to_string_lossy(),
            std::path::MAIN_SEPARATOR
        );
        let relative = file_str.strip_prefix(prefix.as_str()).unwrap_or(&file_str);
        let mut chosen = None;
        for rule in self.creation_rules() {
            match rule.path_regex.as_deref() {
                None | Some("") => {
                    chosen = Some(rule);
                    break;
                }
                Some(re) => {
                    let compiled = regex::Regex::new(re).map_err(|e| Error::ConfigRegex {
                        config: self.path.clone(),
                        regex: re.to_owned(),
                        message: e.to_string(),
                    })?;
                    if compiled.is_match(relative) {
                        chosen = Some(rule);
                        break;
                    }
                }
            }
        }
        let rule = chosen.ok_or_else(|| Error::NoMatchingCreationRule {
            config: self.path.clone(),
            file: file.to_path_buf(),
        })?;
        if rule.selection_rule_count() > 1 {
            return Err(Error::ConflictingRuleSelection {
                config: self.path.clone(),
            });
        }
        if !rule.other_kinds.is_empty() && rule.groups.iter().any(Vec::is_empty) {
            return Err(Error::OnlyAgeSupported {
                config: self.path.clone(),
                kinds: rule.other_kinds.join(", "),
            });
        }
        Ok(rule)
    }
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    creation_rules: Option<Vec<RawRule>>,
    #[serde(default)]
    stores: RawStores,
}

#[derive(Deserialize, Default)]
struct RawStores {
    #[serde(default)]
    yaml: RawIndent,
    #[serde(default)]
    json: RawIndent,
    #[serde(default)]
    json_binary: RawIndent,
}

#[derive(Deserialize, Default)]
struct RawIndent {
    #[serde(default)]
    indent: Option<i64>,
}

/// A key field: a comma-separated string or (sops 3.11+) a YAML list.
#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrList {
    Str(String),
    List(Vec<String>),
}

/// Any value; only whether it is non-empty matters (keys of types psd does not support).
#[derive(Deserialize)]
#[serde(untagged)]
enum AnyKeys {
    Str(String),
    List(Vec<IgnoredAny>),
    Other(IgnoredAny),
}

impl AnyKeys {
    fn is_set(o: &Option<Self>) -> bool {
        match o {
            None => false,
            Some(AnyKeys::Str(s)) => !s.trim().is_empty(),
            Some(AnyKeys::List(l)) => !l.is_empty(),
            Some(AnyKeys::Other(_)) => true,
        }
    }
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(default)]
    path_regex: Option<String>,
    #[serde(default)]
    age: Option<StrOrList>,
    #[serde(default)]
    pgp: Option<AnyKeys>,
    #[serde(default)]
    kms: Option<AnyKeys>,
    #[serde(default)]
    gcp_kms: Option<AnyKeys>,
    #[serde(default)]
    hckms: Option<AnyKeys>,
    #[serde(default)]
    azure_keyvault: Option<AnyKeys>,
    #[serde(default)]
    hc_vault_transit_uri: Option<AnyKeys>,
    #[serde(default)]
    key_groups: Option<Vec<RawGroup>>,
    #[serde(default)]
    shamir_threshold: Option<i64>,
    #[serde(default)]
    unencrypted_suffix: Option<String>,
    #[serde(default)]
    encrypted_suffix: Option<String>,
    #[serde(default)]
    unencrypted_regex: Option<String>,
    #[serde(default)]
    encrypted_regex: Option<String>,
    #[serde(default)]
    unencrypted_comment_regex: Option<String>,
    #[serde(default)]
    encrypted_comment_regex: Option<String>,
    #[serde(default)]
    mac_only_encrypted: Option<bool>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default)]
    merge: Option<Vec<RawGroup>>,
    #[serde(default)]
    age: Option<Vec<String>>,
    #[serde(default)]
    pgp: Option<AnyKeys>,
    #[serde(default)]
    kms: Option<AnyKeys>,
    #[serde(default)]
    gcp_kms: Option<AnyKeys>,
    #[serde(default)]
    hckms: Option<AnyKeys>,
    #[serde(default)]
    azure_keyvault: Option<AnyKeys>,
    #[serde(default)]
    hc_vault: Option<AnyKeys>,
}

/// Splits comma-separated recipients, trimming each and skipping empty ones.
fn split_recipients(s: &str, out: &mut Vec<String>) {
    out.extend(
        s.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
    );
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

impl RawGroup {
    fn collect(&self, out: &mut Vec<String>, kinds: &mut Vec<&'static str>) {
        for m in self.merge.iter().flatten() {
            m.collect(out, kinds);
        }
        for a in self.age.iter().flatten() {
            split_recipients(a, out);
        }
        for (name, field) in [
            ("pgp", &self.pgp),
            ("kms", &self.kms),
            ("gcp_kms", &self.gcp_kms),
            ("hckms", &self.hckms),
            ("azure_keyvault", &self.azure_keyvault),
            ("hc_vault", &self.hc_vault),
        ] {
            if AnyKeys::is_set(field) && !kinds.contains(&name) {
                kinds.push(name);
            }
        }
    }
}

impl RawRule {
    fn into_rule(self) -> Result<CreationRule, String> {
        let mut other_kinds = Vec::new();
        let groups = match self.key_groups.as_deref() {
            Some(groups) if !groups.is_empty() => groups
                .iter()
                .map(|g| {
                    let mut keys = Vec::new();
                    g.collect(&mut keys, &mut other_kinds);
                    let mut seen = std::collections::HashSet::new();
                    keys.retain(|k| seen.insert(k.clone()));
                    keys
                })
                .collect(),
            _ => {
                let mut keys = Vec::new();
                match &self.age {
                    None => {}
                    Some(StrOrList::Str(s)) => split_recipients(s, &mut keys),
                    // sops joins the list with commas and splits again.
                    Some(StrOrList::List(l)) => split_recipients(&l.join(","), &mut keys),
                }
                for (name, field) in [
                    ("pgp", &self.pgp),
                    ("kms", &self.kms),
                    ("gcp_kms", &self.gcp_kms),
                    ("hckms", &self.hckms),
                    ("azure_keyvault", &self.azure_keyvault),
                    ("hc_vault_transit_uri", &self.hc_vault_transit_uri),
                ] {
                    if AnyKeys::is_set(field) {
                        other_kinds.push(name);
                    }
                }
                vec![keys]
            }
        };
        let shamir_threshold = match self.shamir_threshold {
            None => 0,
            Some(n) => usize::try_from(n)
                .map_err(|_| format!("shamir_threshold must not be negative (got {n})"))?,
        };
        Ok(CreationRule {
            path_regex: self.path_regex,
            shamir_threshold,
            unencrypted_suffix: non_empty(self.unencrypted_suffix),
            encrypted_suffix: non_empty(self.encrypted_suffix),
            unencrypted_regex: non_empty(self.unencrypted_regex),
            encrypted_regex: non_empty(self.encrypted_regex),
            unencrypted_comment_regex: non_empty(self.unencrypted_comment_regex),
            encrypted_comment_regex: non_empty(self.encrypted_comment_regex),
            mac_only_encrypted: self.mac_only_encrypted.unwrap_or(false),
            groups,
            other_kinds,
        })
    }
}

#[cfg(test)]
mod tests;
