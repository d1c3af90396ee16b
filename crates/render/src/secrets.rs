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
use psd_model::secrecy::{ExposeSecret, SecretString};
use psd_sops::keysource::Identities;
use psd_sops::tree::Tree;

use crate::codec::{self, DecryptError};
use crate::component::{Built, Component, Credential, Rotation, SecretInputs, SecretSlot};
use crate::error::{RenderError, RotateError};
use crate::kept::{self, FileSecret};
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
    /// Values psd changed in existing files besides rotations (they follow `psd.yaml`).
    pub notes: Vec<String>,
    /// The values `--rotate` asked for, in the order they were decided.
    pub rotated: Vec<Rotated>,
}

/// A credential `--rotate` asked for.
pub(crate) struct RotateRequest<'c> {
    /// The credential.
    pub credential: &'c Credential,
    /// What the running service needs afterwards.
    pub then: &'c str,
}

/// A value rotated by a render.
pub(crate) struct Rotated {
    /// Its `--rotate` name.
    pub name: String,
    /// The Secret file holding it.
    pub path: String,
    /// The Secret files holding copies of it (they got the new value too).
    pub copies: Vec<String>,
    /// What the running service needs now.
    pub then: String,
    /// The file did not exist before: its values are all new anyway.
    pub new: bool,
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

/// The credentials `names` ask `--rotate` for, by slot id.
///
/// # Errors
/// [`RotateError::Unknown`] (with every name that can be rotated) or
/// [`RotateError::NotRotatable`].
pub(crate) fn plan_rotation<'c>(
    components: &'c [Component],
    names: &[String],
) -> Result<BTreeMap<String, Vec<RotateRequest<'c>>>, RotateError> {
    let all: Vec<(&SecretSlot, &Credential)> = components
        .iter()
        .flat_map(Component::slots)
        .flat_map(|(_, slot)| slot.credentials.iter().map(move |c| (slot, c)))
        .collect();
    let mut out: BTreeMap<String, Vec<RotateRequest<'c>>> = BTreeMap::new();
    for name in names {
        let Some(&(slot, credential)) = all.iter().find(|(_, c)| &c.name == name) else {
            let mut valid: Vec<String> = all
                .iter()
                .filter(|(_, c)| matches!(c.rotation, Rotation::Generate { .. }))
                .map(|(_, c)| c.name.clone())
                .collect();
            valid.sort();
            return Err(RotateError::Unknown {
                name: name.clone(),
                valid,
            });
        };
        let then = match &credential.rotation {
            Rotation::Generate { then } => then.as_str(),
            Rotation::Refused(reason) => {
                return Err(RotateError::NotRotatable {
                    name: name.clone(),
                    reason: reason.clone(),
                });
            }
        };
        let requests = out.entry(slot.id.clone()).or_default();
        if !requests.iter().any(|r| r.credential.name == *name) {
            requests.push(RotateRequest { credential, then });
        }
    }
    Ok(out)
}

/// The tree to write for `secret` at `path`: psd's Secret over what the existing file holds
/// (see [`crate::kept`]). Call [`codec::wipe`] when done with it.
pub(crate) fn tree_for(secret: &SecretManifest, existing: Option<&Existing>, path: &str) -> Tree {
    let file = existing
        .and_then(|e| e.decrypted.as_ref())
        .and_then(|t| FileSecret::parse(t, path).ok());
    kept::merge(secret, file.as_ref())
}

/// The values of a decrypted file, or an error naming the file if psd cannot render it again.
fn values_of(e: &Existing, path: &str) -> Result<Option<Vec<(String, SecretString)>>, RenderError> {
    match &e.decrypted {
        None => Ok(None),
        Some(tree) => FileSecret::parse(tree, path)
            .map(|f| Some(f.values()))
            .map_err(|reason| RenderError::ExistingSecret {
                path: path.into(),
                reason,
            }),
    }
}

/// Whether `data` holds `key`.
fn has(data: &[(String, SecretString)], key: &str) -> bool {
    data.iter().any(|(k, _)| k == key)
}

/// Sets `key` in `data`, appending it if it is not there.
fn set(data: &mut Vec<(String, SecretString)>, key: &str, value: SecretString) {
    match data.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => data.push((key.to_owned(), value)),
    }
}

/// Decides every Secret's content for a render of `components` into `repo_root`; `rotate`
/// (from [`plan_rotation`]) names the values to generate anew.
#[allow(clippy::too_many_lines)] // one pass over the slots, in order; split, it reads worse
pub(crate) fn resolve(
    cfg: &ClusterConfig,
    components: &[Component],
    repo_root: &Path,
    identities: &Identities,
    cloudflare_token: Option<&SecretString>,
    rotate: &BTreeMap<String, Vec<RotateRequest<'_>>>,
) -> Result<Resolved, RenderError> {
    let mut r = Resolved {
        contents: BTreeMap::new(),
        existing: BTreeMap::new(),
        unchecked: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        rotated: Vec::new(),
    };
    let slots = ordered_slots(cfg, components)?;
    let paths: BTreeMap<&str, &str> = slots
        .iter()
        .map(|(path, slot)| (slot.id.as_str(), path.as_str()))
        .collect();
    let by_id: BTreeMap<&str, &SecretSlot> =
        slots.iter().map(|(_, s)| (s.id.as_str(), *s)).collect();
    let mut decided: BTreeMap<String, SecretManifest> = BTreeMap::new();
    // Slots whose values came from an existing file (their own or an earlier stack's).
    let mut from_file: BTreeSet<String> = BTreeSet::new();
    for (path, slot) in &slots {
        let (path, slot) = (path.clone(), *slot);
        let rotating: &[RotateRequest<'_>] =
            rotate.get(&slot.id).map(Vec::as_slice).unwrap_or_default();
        // The rotations (by name) of values this slot copies.
        let copied_rotations: Vec<(&crate::component::CopiedValue, &str)> = slot
            .copies
            .iter()
            .filter_map(|c| {
                rotate.get(&c.from_slot).and_then(|rs| {
                    rs.iter()
                        .find(|q| q.credential.key == c.from_key)
                        .map(|q| (c, q.credential.name.as_str()))
                })
            })
            .collect();

        let own = read_existing(repo_root, &path, identities)?;
        let own_unreadable = own.as_ref().is_some_and(|e| e.decrypted.is_none());
        if own_unreadable {
            let name = rotating
                .first()
                .map(|q| q.credential.name.as_str())
                .or(copied_rotations.first().map(|(_, n)| *n));
            if let Some(name) = name {
                return Err(RotateError::NoKey {
                    name: name.to_owned(),
                    path: path.clone().into(),
                }
                .into());
            }
        }
        let own_file = match own.as_ref().and_then(|e| e.decrypted.as_ref()) {
            Some(tree) => Some(FileSecret::parse(tree, &path).map_err(|reason| {
                RenderError::ExistingSecret {
                    path: path.clone().into(),
                    reason,
                }
            })?),
            None => None,
        };
        let mut data = own_file.as_ref().map(FileSecret::values);
        if own.is_none() {
            for legacy in &slot.legacy_paths {
                let legacy = format!("{}/{legacy}", cfg.flux.root);
                let Some(e) = read_existing(repo_root, &legacy, identities)? else {
                    continue;
                };
                data = values_of(&e, &legacy)?;
                if data.is_none() {
                    r.warnings.push(format!(
                        "no age private key opened {legacy}, so {path} gets new values instead \
                         of its (set SOPS_AGE_KEY_FILE and render again to keep them)"
                    ));
                }
                break;
            }
        }
        if data.is_some() {
            from_file.insert(slot.id.clone());
        }
        let own_exists = own.is_some();
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
            if let Some(d) = &data {
                // A generated value missing from the file is never silently made anew.
                for c in &slot.credentials {
                    let asked = rotating.iter().any(|q| q.credential.key == c.key);
                    if matches!(c.rotation, Rotation::Generate { .. }) && !asked && !has(d, &c.key)
                    {
                        return Err(RenderError::ExistingSecret {
                            path: path.clone().into(),
                            reason: format!(
                                "it has no `{}` entry in stringData or data. Put the value back \
                                 (sops set {path} '[\"stringData\"][\"{}\"]' '\"VALUE\"'), or \
                                 render with --rotate {} to generate a new one",
                                c.key, c.key, c.name
                            ),
                        });
                    }
                }
            }
            if !rotating.is_empty() {
                let new = data.is_none();
                if let Some(d) = data.as_mut() {
                    // The slot's own generator makes the new values, by its own rules.
                    let inputs = SecretInputs {
                        cfg,
                        existing: None,
                        cloudflare_token,
                        decided: &decided,
                        path: &path,
                    };
                    let Built::Secret(fresh) = (slot.build)(&inputs)? else {
                        return Err(RenderError::Credential(format!(
                            "{path}: no new value could be generated"
                        )));
                    };
                    for q in rotating {
                        let value = fresh.get(&q.credential.key).cloned().ok_or_else(|| {
                            RenderError::Credential(format!(
                                "{path}: the generated Secret has no `{}`",
                                q.credential.key
                            ))
                        })?;
                        set(d, &q.credential.key, value);
                    }
                }
                r.rotated.extend(rotating.iter().map(|q| Rotated {
                    name: q.credential.name.clone(),
                    path: path.clone(),
                    copies: Vec::new(),
                    then: q.then.to_owned(),
                    new,
                }));
            }
            let inputs = SecretInputs {
                cfg,
                existing: data.as_deref(),
                cloudflare_token,
                decided: &decided,
                path: &path,
            };
            match (slot.build)(&inputs)? {
                Built::Secret(s) => {
                    if let Some(f) = &own_file {
                        compare_with_file(
                            &mut r, f, &s, slot, &path, rotating, &paths, &by_id, &from_file,
                        )?;
                    }
                    for (_, name) in &copied_rotations {
                        if let Some(rot) = r.rotated.iter_mut().find(|x| x.name == *name) {
                            rot.copies.push(path.clone());
                        }
                    }
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

/// Checks psd's Secret `s` against the file it replaces and says what changes: refuses a
/// changed name, namespace or type and a copy that disagrees with its source; notes values
/// and labels that follow `psd.yaml`; warns about keys in both `stringData` and `data`.
#[allow(clippy::too_many_arguments)]
fn compare_with_file(
    r: &mut Resolved,
    f: &FileSecret<'_>,
    s: &SecretManifest,
    slot: &SecretSlot,
    path: &str,
    rotating: &[RotateRequest<'_>],
    paths: &BTreeMap<&str, &str>,
    by_id: &BTreeMap<&str, &SecretSlot>,
    from_file: &BTreeSet<String>,
) -> Result<(), RenderError> {
    if let Some(reason) = f.identity_problem(s, path) {
        return Err(RenderError::ExistingSecret {
            path: path.into(),
            reason,
        });
    }
    for key in f.conflicting_keys() {
        r.warnings.push(format!(
            "{path}: `{key}` is in both stringData and data, with different values. Kubernetes \
             applies the one in stringData, and psd keeps that one too; remove the other (sops \
             unset {path} '[\"data\"][\"{key}\"]')"
        ));
    }
    for (key, value) in s.string_data() {
        if f.unreadable_data(key) {
            r.warnings.push(format!(
                "{path}: data.{key} is not base64 of UTF-8 text, so psd wrote its own `{key}` \
                 to stringData, which Kubernetes applies instead. Check the value there and \
                 remove the data entry (sops unset {path} '[\"data\"][\"{key}\"]')"
            ));
            continue;
        }
        let Some(old) = f.value(key) else { continue };
        if old.expose_secret() == value.expose_secret() {
            continue;
        }
        if rotating.iter().any(|q| q.credential.key == key) {
            continue;
        }
        if slot.credential(key).is_some() {
            // Only a user-supplied value (the Cloudflare token given for this render) changes.
            r.notes.push(format!(
                "{path}: `{key}` now holds the value given for this render"
            ));
            continue;
        }
        if let Some(c) = slot.copies.iter().find(|c| c.key == key) {
            let source_path = paths.get(c.from_slot.as_str()).copied().unwrap_or_default();
            let source_rotation = by_id.get(c.from_slot.as_str()).and_then(|src| {
                src.credential(&c.from_key)
                    .filter(|cr| matches!(cr.rotation, Rotation::Generate { .. }))
                    .map(|cr| cr.name.clone())
            });
            let source_rotated = source_rotation
                .as_ref()
                .is_some_and(|name| r.rotated.iter().any(|x| &x.name == name));
            if source_rotated {
                continue;
            }
            if from_file.contains(&c.from_slot) {
                return Err(RenderError::CopyMismatch {
                    path: path.into(),
                    key: key.to_owned(),
                    source_path: source_path.into(),
                    source_key: c.from_key.clone(),
                    rotate: source_rotation,
                });
            }
            r.warnings.push(format!(
                "{path}: `{key}` now holds the new value of `{}` in {source_path}, which was \
                 generated because that file did not exist. The running service and its database \
                 role get the new password once Flux applies both (see docs/SECRETS_MANAGEMENT.md, \
                 Rotating a credential)",
                c.from_key
            ));
            continue;
        }
        r.notes.push(format!(
            "{path}: `{key}` follows psd.yaml (the file held another value; to keep one, set it \
             in psd.yaml)"
        ));
    }
    for (key, value) in s.labels() {
        if f.label(key).is_some_and(|old| old != value) {
            r.notes.push(format!(
                "{path}: label `{key}` set back to `{value}` (psd sets this label)"
            ));
        }
    }
    Ok(())
}
