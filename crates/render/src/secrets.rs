//! Where each Secret's values come from: an existing encrypted file (decrypted and reused, so
//! credentials are never regenerated), the file of the earlier stack it replaces, freshly
//! generated values, another Secret it shares a value with, or the user (Cloudflare token).
//!
//! The rules are the same for every [`SecretSlot`]; what a Secret holds is its component's
//! business (its `build` function).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use psd_model::SecretManifest;
use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::SecretString;
use psd_sops::keysource::Identities;
use psd_sops::tree::Tree;

use crate::codec::{self, DecryptError};
use crate::component::{Built, Component, SecretInputs, SecretSlot};
use crate::error::RenderError;
use crate::layout::{SecretContent, path_of};

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
    /// Every slot's content, by slot id.
    pub contents: BTreeMap<String, SecretContent>,
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
    /// The Secrets by slot id.
    pub contents: BTreeMap<String, SecretContent>,
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
        let components = crate::components::all(cfg)?;
        let mut decided = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for (path, slot) in ordered_slots(cfg, &components)? {
            let inputs = SecretInputs {
                cfg,
                existing: None,
                cloudflare_token,
                decided: &decided,
                path: &path,
            };
            let content = match (slot.build)(&inputs)? {
                Built::Secret(s) => {
                    decided.insert(slot.id.clone(), s.clone());
                    SecretContent::Manifest(s)
                }
                Built::Missing(_) => SecretContent::Missing,
            };
            contents.insert(slot.id.clone(), content);
        }
        Ok(Self { contents })
    }
}

/// Every slot with its path, each after the slots it copies values from.
fn ordered_slots<'c>(
    cfg: &ClusterConfig,
    components: &'c [Component],
) -> Result<Vec<(String, &'c SecretSlot)>, RenderError> {
    let mut pending: Vec<(String, &SecretSlot)> = components
        .iter()
        .flat_map(|c| {
            c.slots()
                .map(move |(name, slot)| (path_of(cfg, c, name), slot))
        })
        .collect();
    let known: BTreeSet<&str> = pending.iter().map(|(_, s)| s.id.as_str()).collect();
    if let Some((_, s)) = pending
        .iter()
        .find(|(_, s)| s.after.iter().any(|a| !known.contains(a.as_str())))
    {
        return Err(RenderError::Credential(format!(
            "the `{}` Secret copies a Secret that is not rendered",
            s.id
        )));
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(_, s)| s.after.iter().all(|a| done.contains(a)));
        if ready.is_empty() {
            return Err(RenderError::Credential(
                "Secrets copy values from each other in a cycle".into(),
            ));
        }
        done.extend(ready.iter().map(|(_, s)| s.id.clone()));
        out.extend(ready);
        pending = rest;
    }
    Ok(out)
}

/// Reads and (when a key opens it) decrypts an encrypted file; `None` if it does not exist.
fn read_existing(
    repo_root: &Path,
    path: &str,
    identities: &Identities,
) -> Result<Option<Existing>, RenderError> {
    let file = repo_root.join(path);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RenderError::io("cannot read", file, e)),
    };
    let recipients = codec::file_recipients(&bytes);
    let decrypted = if identities.is_empty() {
        None
    } else {
        match codec::decrypt(&bytes, identities) {
            Ok(t) => Some(t),
            Err(DecryptError::NoMatchingKey) => None,
            Err(DecryptError::Invalid(reason)) => {
                return Err(RenderError::ExistingSecret {
                    path: path.into(),
                    reason,
                });
            }
        }
    };
    Ok(Some(Existing {
        bytes,
        decrypted,
        recipients,
    }))
}

/// The `stringData` of a decrypted file, or an error naming the file.
fn data_of(e: &Existing, path: &str) -> Result<Option<Vec<(String, SecretString)>>, RenderError> {
    match &e.decrypted {
        None => Ok(None),
        Some(tree) => {
            codec::string_data(tree)
                .map(Some)
                .ok_or_else(|| RenderError::ExistingSecret {
                    path: path.into(),
                    reason: "it is not a single Secret with stringData".into(),
                })
        }
    }
}

/// Decides every Secret's content for a render of `components` into `repo_root`.
pub(crate) fn resolve(
    cfg: &ClusterConfig,
    components: &[Component],
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
    let mut decided: BTreeMap<String, SecretManifest> = BTreeMap::new();
    for (path, slot) in ordered_slots(cfg, components)? {
        let own = read_existing(repo_root, &path, identities)?;
        let mut data = match &own {
            Some(e) => data_of(e, &path)?,
            None => None,
        };
        if own.is_none() {
            for legacy in &slot.legacy_paths {
                let legacy = format!("{}/{legacy}", cfg.flux.root);
                let Some(e) = read_existing(repo_root, &legacy, identities)? else {
                    continue;
                };
                data = data_of(&e, &legacy)?;
                if data.is_none() {
                    r.warnings.push(format!(
                        "no age private key opened {legacy}, so {path} gets new values instead \
                         of its (set SOPS_AGE_KEY_FILE and render again to keep them)"
                    ));
                }
                break;
            }
        }
        let own_exists = own.is_some();
        let own_unreadable = own_exists && own.as_ref().is_some_and(|e| e.decrypted.is_none());
        let user_supplies_it = slot.user_supplied && cloudflare_token.is_some();
        let sources_decided = slot.after.iter().all(|a| decided.contains_key(a));

        let content = if own_unreadable && !user_supplies_it {
            r.unchecked.push(path.clone());
            SecretContent::KeepExisting
        } else if !sources_decided {
            if own_exists {
                SecretContent::KeepExisting
            } else {
                r.warnings.push(format!(
                    "{path} cannot be created without reading the existing credentials it shares \
                     a value with ({}): make the age private key available (SOPS_AGE_KEY_FILE) \
                     and render again",
                    slot.after.join(", ")
                ));
                SecretContent::Missing
            }
        } else {
            let inputs = SecretInputs {
                cfg,
                existing: data.as_deref(),
                cloudflare_token,
                decided: &decided,
                path: &path,
            };
            match (slot.build)(&inputs)? {
                Built::Secret(s) => {
                    decided.insert(slot.id.clone(), s.clone());
                    SecretContent::Manifest(s)
                }
                Built::Missing(warning) => {
                    r.warnings.push(warning);
                    SecretContent::Missing
                }
            }
        };
        r.contents.insert(slot.id.clone(), content);
        if let Some(e) = own {
            r.existing.insert(path, e);
        }
    }
    r.unchecked.sort();
    Ok(r)
}
