//! Who can open a file: `sops updatekeys` (make the key groups those of a creation rule; data
//! key, values, MAC and `lastmodified` unchanged) and `sops rotate` (a new data key, every value
//! encrypted again, recipients added or removed).

use crate::age::Recipient;
use crate::api::{self, DecryptOptions};
use crate::error::Error;
use crate::keysource::Identities;
use crate::metadata::{AgeKey, KeyGroup, Metadata};
use crate::store::{Format, StoreOptions, store_for};

/// How one key group changes (sops's `DiffKeyGroups`): recipients kept, added, removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDiff {
    /// In the file and wanted.
    pub common: Vec<String>,
    /// Wanted, not in the file.
    pub added: Vec<String>,
    /// In the file (age recipients, or other keys by [`crate::metadata::OtherKey::describe`]),
    /// not wanted.
    pub removed: Vec<String>,
}

impl GroupDiff {
    /// Whether the group changes.
    pub fn changes(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }
}

/// The change from the file's key groups to `wanted`, group by group (as many as the longer).
pub fn diff_groups(current: &Metadata, wanted: &[Vec<String>]) -> Vec<GroupDiff> {
    let n = current.key_groups.len().max(wanted.len());
    (0..n)
        .map(|i| {
            let have: Vec<String> = current
                .key_groups
                .get(i)
                .map(|g| {
                    g.age
                        .iter()
                        .map(|k| k.recipient.clone())
                        .chain(g.other.iter().map(|k| k.describe()))
                        .collect()
                })
                .unwrap_or_default();
            let want = wanted.get(i).cloned().unwrap_or_default();
            GroupDiff {
                common: want.iter().filter(|w| have.contains(w)).cloned().collect(),
                added: want.iter().filter(|w| !have.contains(w)).cloned().collect(),
                removed: have.into_iter().filter(|h| !want.contains(h)).collect(),
            }
        })
        .collect()
}

/// The Shamir threshold `updatekeys` writes: the file's, or `requested` when not 0, at most the
/// number of groups; 0 for one group.
pub fn updated_threshold(current: &Metadata, requested: usize, groups: usize) -> usize {
    let t = if requested != 0 {
        requested
    } else {
        current.shamir_threshold
    };
    let t = t.min(groups);
    if groups > 1 { t } else { 0 }
}

/// `sops updatekeys`: the file with its data key wrapped for `groups` (and `threshold` when
/// there are several). The values, the MAC and `lastmodified` are not touched; with one group
/// before and after, a recipient kept keeps its wrapped key too, so only added and removed
/// recipients change lines.
pub fn update_keys(
    encrypted: &[u8],
    format: Format,
    store: StoreOptions,
    identities: &Identities,
    groups: &[Vec<Recipient>],
    threshold: usize,
) -> Result<Vec<u8>, Error> {
    let (tree, meta) = store_for(format, store).load_encrypted(encrypted)?;
    let metadata = Metadata::from_value(&meta)?;
    update_keys_loaded(
        &tree, metadata, format, store, identities, groups, threshold,
    )
}

/// [`update_keys`] for a file already parsed (`Store::load_encrypted`, then
/// [`Metadata::from_value`]), so a caller that read the metadata first parses once.
pub fn update_keys_loaded(
    tree: &crate::tree::Tree,
    mut metadata: Metadata,
    format: Format,
    store: StoreOptions,
    identities: &Identities,
    groups: &[Vec<Recipient>],
    threshold: usize,
) -> Result<Vec<u8>, Error> {
    if groups.is_empty() {
        return Err(Error::NoKeyGroups);
    }
    let key = api::recover_data_key(&metadata, identities)?;
    let single = groups.len() == 1 && metadata.key_groups.len() == 1 && threshold == 0;
    metadata.key_groups = if single {
        let old = &metadata.key_groups[0].age;
        let age = groups[0]
            .iter()
            .map(|r| match old.iter().find(|k| k.recipient == r.as_str()) {
                Some(kept) => Ok(kept.clone()),
                None => Ok(AgeKey {
                    recipient: r.as_str().to_owned(),
                    enc: r.wrap(key.expose())?,
                }),
            })
            .collect::<Result<Vec<_>, Error>>()?;
        vec![KeyGroup {
            age,
            other: Vec::new(),
        }]
    } else {
        api::wrap_data_key(&key, groups, threshold)?
    };
    metadata.shamir_threshold = threshold;
    store_for(format, store).emit_encrypted(tree, &metadata.to_value())
}

/// `sops rotate`: the file encrypted again under a new data key, with `add` appended to the
/// first key group and `remove` (recipients as written) taken out of every group. Every value
/// gets a new ciphertext; the MAC and `lastmodified` are new.
pub fn rotate(
    encrypted: &[u8],
    format: Format,
    store: StoreOptions,
    identities: &Identities,
    opts: &DecryptOptions,
    add: &[Recipient],
    remove: &[String],
) -> Result<Vec<u8>, Error> {
    let opened = api::open(encrypted, format, identities, opts)?;
    rotate_opened(opened, format, store, add, remove)
}

/// [`rotate`] for a file already opened (its output `format` may differ from its input's).
pub fn rotate_opened(
    opened: api::Opened,
    format: Format,
    store: StoreOptions,
    add: &[Recipient],
    remove: &[String],
) -> Result<Vec<u8>, Error> {
    let mut groups: Vec<Vec<String>> = opened
        .metadata
        .key_groups
        .iter()
        .map(|g| g.age.iter().map(|k| k.recipient.clone()).collect())
        .collect();
    if opened
        .metadata
        .key_groups
        .iter()
        .any(|g| !g.other.is_empty())
    {
        return Err(Error::WrapDataKey {
            recipient: opened
                .metadata
                .key_groups
                .iter()
                .flat_map(|g| g.other.iter().map(|k| k.describe()))
                .collect::<Vec<_>>()
                .join(", "),
            reason: "psd can wrap a new data key only for age recipients; remove the other \
                     keys with sops, or rotate with sops"
                .into(),
        });
    }
    if let Some(first) = groups.first_mut() {
        first.extend(add.iter().map(|r| r.as_str().to_owned()));
    }
    for g in &mut groups {
        g.retain(|r| !remove.contains(r));
    }
    let recipients = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|r| r.parse())
                .collect::<Result<Vec<Recipient>, _>>()
        })
        .collect::<Result<Vec<_>, Error>>()?;
    opened.seal_with_new_key(format, store, &recipients)
}

#[cfg(test)]
mod tests;
