//! The six selection rules of sops (spec section 4): which values get encrypted.
//!
//! At most one rule is ever active; without one, sops uses `unencrypted_suffix: _unencrypted`.
//! Regexes use RE2 syntax (the `regex` crate is RE2-compatible) and match unanchored.

use regex::Regex;

use crate::error::Error;

/// The suffix sops uses when no selection rule is given.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The six rule names, in the order sops lists them in its error message.
pub const RULE_NAMES: [&str; 6] = [
    "encrypted_suffix",
    "unencrypted_suffix",
    "encrypted_regex",
    "unencrypted_regex",
    "encrypted_comment_regex",
    "unencrypted_comment_regex",
];

/// Which rule a selection uses, and its suffix or (compiled) regex.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SelectionRule {
    /// Leave a value clear if any key on its path ends with the suffix.
    UnencryptedSuffix(String),
    /// Encrypt a value only if any key on its path ends with the suffix.
    EncryptedSuffix(String),
    /// Leave a value clear if any key on its path matches.
    UnencryptedRegex(Regex),
    /// Encrypt a value only if any key on its path matches.
    EncryptedRegex(Regex),
    /// Leave a value (or comment) clear if an active comment matches (spec 4.3).
    UnencryptedCommentRegex(Regex),
    /// Encrypt a value only if an active comment matches; the marker comment itself stays clear.
    EncryptedCommentRegex(Regex),
}

impl PartialEq for SelectionRule {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.pattern() == other.pattern()
    }
}

impl Default for SelectionRule {
    /// `unencrypted_suffix: _unencrypted`, sops' default.
    fn default() -> Self {
        SelectionRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned())
    }
}

/// Where a rule conflict was found; selects sops' wording of the "more than one" error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleContext {
    /// In a file's metadata.
    File,
    /// In a `.sops.yaml` creation rule.
    ConfigRule,
    /// In the effective encryption config (CLI flags plus `.sops.yaml`).
    Cli,
}

impl SelectionRule {
    /// Builds a rule from its metadata/config name and value. An empty value means "not set".
    pub fn from_name(name: &str, value: &str) -> Result<Self, Error> {
        let re = |v: &str| {
            Regex::new(v).map_err(|e| Error::InvalidRegex {
                field: name.to_owned(),
                reason: e.to_string(),
            })
        };
        Ok(match name {
            "unencrypted_suffix" => SelectionRule::UnencryptedSuffix(value.to_owned()),
            "encrypted_suffix" => SelectionRule::EncryptedSuffix(value.to_owned()),
            "unencrypted_regex" => SelectionRule::UnencryptedRegex(re(value)?),
            "encrypted_regex" => SelectionRule::EncryptedRegex(re(value)?),
            "unencrypted_comment_regex" => SelectionRule::UnencryptedCommentRegex(re(value)?),
            "encrypted_comment_regex" => SelectionRule::EncryptedCommentRegex(re(value)?),
            other => {
                return Err(Error::InvalidRegex {
                    field: other.to_owned(),
                    reason: "not a selection rule".to_owned(),
                });
            }
        })
    }

    /// Picks the one rule among `(name, value)` pairs (empty values count as unset). More than
    /// one set: [`Error::ConflictingRules`]. None set: `Ok(None)` (callers apply the default).
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        context: RuleContext,
    ) -> Result<Option<Self>, Error> {
        let mut found: Option<Self> = None;
        for (name, value) in fields {
            if value.is_empty() {
                continue;
            }
            if found.is_some() {
                return Err(Error::ConflictingRules { context });
            }
            found = Some(Self::from_name(name, value)?);
        }
        Ok(found)
    }

    /// The metadata key of this rule (`encrypted_regex`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            SelectionRule::UnencryptedSuffix(_) => "unencrypted_suffix",
            SelectionRule::EncryptedSuffix(_) => "encrypted_suffix",
            SelectionRule::UnencryptedRegex(_) => "unencrypted_regex",
            SelectionRule::EncryptedRegex(_) => "encrypted_regex",
            SelectionRule::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            SelectionRule::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The suffix or regex source as written in metadata.
    pub fn pattern(&self) -> &str {
        match self {
            SelectionRule::UnencryptedSuffix(s) | SelectionRule::EncryptedSuffix(s) => s,
            SelectionRule::UnencryptedRegex(r)
            | SelectionRule::EncryptedRegex(r)
            | SelectionRule::UnencryptedCommentRegex(r)
            | SelectionRule::EncryptedCommentRegex(r) => r.as_str(),
        }
    }

    /// Whether a value at `path` (mapping keys from the root, no list indices) with the active
    /// comment stack `comments` (one list per nesting level, spec 4.3) is encrypted.
    /// `is_comment` marks a comment item, whose own text (the last entry of the innermost
    /// level) does not count for `encrypted_comment_regex`.
    pub fn should_encrypt(
        &self,
        path: &[String],
        comments: &[Vec<String>],
        is_comment: bool,
    ) -> bool {
        match self {
            SelectionRule::UnencryptedSuffix(s) => {
                s.is_empty() || !path.iter().any(|k| k.ends_with(s.as_str()))
            }
            SelectionRule::EncryptedSuffix(s) => {
                s.is_empty() || path.iter().any(|k| k.ends_with(s.as_str()))
            }
            SelectionRule::UnencryptedRegex(r) => !path.iter().any(|k| r.is_match(k)),
            SelectionRule::EncryptedRegex(r) => path.iter().any(|k| r.is_match(k)),
            SelectionRule::UnencryptedCommentRegex(r) => {
                !comments.iter().flatten().any(|c| r.is_match(c))
            }
            SelectionRule::EncryptedCommentRegex(r) => {
                let last_level = comments.len().wrapping_sub(1);
                comments.iter().enumerate().any(|(i, level)| {
                    level.iter().enumerate().any(|(j, c)| {
                        let own = is_comment && i == last_level && j + 1 == level.len();
                        !own && r.is_match(c)
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suffix_on_any_ancestor() {
        let r = SelectionRule::default();
        assert!(r.should_encrypt(&p(&["a", "b"]), &[], false));
        assert!(!r.should_encrypt(&p(&["secret_unencrypted", "a", "b"]), &[], false));
        let r = SelectionRule::EncryptedSuffix("_secret".into());
        assert!(!r.should_encrypt(&p(&["a"]), &[], false));
        assert!(r.should_encrypt(&p(&["db_secret", "x"]), &[], false));
    }

    #[test]
    fn regex_unanchored_per_key() {
        let r = SelectionRule::from_name("encrypted_regex", "^(data|stringData)").unwrap();
        assert!(r.should_encrypt(&p(&["database"]), &[], false));
        let r = SelectionRule::from_name("encrypted_regex", "^(data|stringData)$").unwrap();
        assert!(!r.should_encrypt(&p(&["database"]), &[], false));
        assert!(r.should_encrypt(&p(&["data", "x"]), &[], false));
        // Matching is per key, never on the joined path.
        let r = SelectionRule::from_name("encrypted_regex", "a:b").unwrap();
        assert!(!r.should_encrypt(&p(&["a", "b"]), &[], false));
    }

    #[test]
    fn comment_rules_skip_own_marker() {
        let r = SelectionRule::from_name("encrypted_comment_regex", "sops:enc").unwrap();
        let stack = vec![vec![" sops:enc".to_owned()]];
        assert!(
            !r.should_encrypt(&[], &stack, true),
            "the marker itself stays clear"
        );
        assert!(r.should_encrypt(&p(&["k"]), &stack, false));
        let stack2 = vec![vec![" sops:enc".to_owned(), " later".to_owned()]];
        assert!(
            r.should_encrypt(&[], &stack2, true),
            "later comments are encrypted"
        );
        let u = SelectionRule::from_name("unencrypted_comment_regex", "sops:enc").unwrap();
        assert!(!u.should_encrypt(&[], &stack, true));
        assert!(u.should_encrypt(&p(&["k"]), &[vec![]], false));
    }

    #[test]
    fn at_most_one() {
        let e = SelectionRule::from_fields(
            [("encrypted_regex", "a"), ("unencrypted_suffix", "b")],
            RuleContext::Cli,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::CONFLICTING_PARAMETERS);
        assert!(
            SelectionRule::from_fields(
                [("encrypted_regex", ""), ("unencrypted_suffix", "")],
                RuleContext::File
            )
            .unwrap()
            .is_none()
        );
    }
}
