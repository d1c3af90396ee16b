//! What a component is: one folder of the tree holding everything one piece of the stack needs —
//! its documents, its Secrets, its chart source — and its place in the Flux order.
//!
//! Each module under [`crate::components`] returns one [`Component`]; [`crate::layout`] turns
//! the list into files, one Flux `Kustomization` per component, and the render decides every
//! Secret's values from the [`SecretSlot`]s by one rule (reuse, take over, generate, copy). Adding or replacing a piece of the stack
//! touches one module.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use psd_model::SecretManifest;
use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::SecretString;
use serde_json::Value;

use crate::error::RenderError;

/// Which `clusters/<cluster>/*.yaml` file lists a component's Flux `Kustomization`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Controllers and cluster-wide settings (`infrastructure.yaml`).
    Infrastructure,
    /// Data services (`databases.yaml`).
    Databases,
    /// Applications (`apps.yaml`).
    Apps,
}

impl Tier {
    /// The file in the cluster entry folder that holds this tier's Kustomizations.
    pub fn file_name(self) -> &'static str {
        match self {
            Tier::Infrastructure => "infrastructure.yaml",
            Tier::Databases => "databases.yaml",
            Tier::Apps => "apps.yaml",
        }
    }
}

/// A component's Flux `Kustomization`: its name, what it waits for, and how Flux judges the
/// health of kinds kstatus cannot judge.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Name of the Flux `Kustomization` (namespace `flux-system`).
    pub name: &'static str,
    /// The entry file it is listed in.
    pub tier: Tier,
    /// Stages that must be ready first (names of other components' stages).
    pub depends_on: Vec<&'static str>,
    /// `spec.healthCheckExprs` entries (CEL), for custom resources without kstatus conditions.
    pub health_check_exprs: Vec<Value>,
}

/// Values an existing (decrypted) Secret file holds: `stringData` in file order, then the
/// `data` entries (base64-decoded) under keys `stringData` does not have.
pub type Data = [(String, SecretString)];

/// What a Secret's builder gets.
pub struct SecretInputs<'a> {
    /// The cluster description.
    pub cfg: &'a ClusterConfig,
    /// The values of the existing file (or of the earlier stack's file it replaces), when a
    /// private key could read it: reuse them, never regenerate.
    pub existing: Option<&'a Data>,
    /// The Cloudflare token the user supplied for this render, if any.
    pub cloudflare_token: Option<&'a SecretString>,
    /// Secrets already decided, by slot id (the slots named in [`SecretSlot::after`]).
    pub decided: &'a BTreeMap<String, SecretManifest>,
    /// Path of the file, for error messages.
    pub path: &'a str,
}

/// A builder's answer.
pub enum Built {
    /// The Secret to write.
    Secret(SecretManifest),
    /// Nothing can be written (e.g. the Cloudflare token was never given); the message tells
    /// the user what to do. The folder's `kustomization.yaml` leaves the file out.
    Missing(String),
}

/// Builds one Secret from its inputs.
pub type BuildSecret = Arc<dyn Fn(&SecretInputs<'_>) -> Result<Built, RenderError> + Send + Sync>;

/// A value of a Secret that psd generates or the user supplies, by the name `psd render
/// --rotate` knows it under.
#[derive(Clone, Debug)]
pub struct Credential {
    /// `<service>.<name>`, e.g. `postgresql.password`.
    pub name: String,
    /// Its key in the Secret's `stringData`.
    pub key: String,
    /// Whether psd can give it a new value.
    pub rotation: Rotation,
}

/// What rotating a [`Credential`] means.
#[derive(Clone, Debug)]
pub enum Rotation {
    /// psd generates a new value; `then` tells the user what the running service needs
    /// afterwards (one or two sentences).
    Generate {
        /// What to do once the new value is committed.
        then: String,
    },
    /// psd cannot (or should not) pick a new value; the message says what to do instead.
    Refused(String),
}

/// A value a Secret copies from another Secret (the two must always be equal).
#[derive(Clone, Debug)]
pub struct CopiedValue {
    /// Its key in this Secret.
    pub key: String,
    /// The slot it is copied from.
    pub from_slot: String,
    /// The key in that slot's Secret.
    pub from_key: String,
}

/// One encrypted Secret file of a component.
///
/// Every `stringData` key the Secret holds is exactly one of: a [`Credential`] (generated or
/// supplied, kept from the existing file), a [`CopiedValue`], or a value derived from the
/// cluster description (`username`, e-mail addresses), which follows `psd.yaml`.
#[derive(Clone)]
pub struct SecretSlot {
    /// Stable id, unique in the tree (other slots name it in [`SecretSlot::after`]).
    pub id: String,
    /// Slots whose values this one copies (e.g. a password two Secrets share).
    pub after: Vec<String>,
    /// The generated or user-supplied values, by their rotation names.
    pub credentials: Vec<Credential>,
    /// The values copied from other slots' Secrets.
    pub copies: Vec<CopiedValue>,
    /// Paths, relative to the tree root, of files of an earlier stack whose values this Secret
    /// takes over when its own file does not exist yet (same keys).
    pub legacy_paths: Vec<String>,
    /// The user supplies this Secret's value for a render (the Cloudflare token): when given,
    /// the Secret is rebuilt even if no private key opens the existing file.
    pub user_supplied: bool,
    /// Makes the Secret.
    pub build: BuildSecret,
}

impl SecretSlot {
    /// A slot with no dependencies and no earlier file.
    pub fn new(
        id: impl Into<String>,
        build: impl Fn(&SecretInputs<'_>) -> Result<Built, RenderError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            id: id.into(),
            after: Vec::new(),
            credentials: Vec::new(),
            copies: Vec::new(),
            legacy_paths: Vec::new(),
            user_supplied: false,
            build: Arc::new(build),
        }
    }

    /// Values of `path` (an earlier stack's file, relative to the tree root) are taken over
    /// while this slot's own file does not exist.
    #[must_use]
    pub fn taking_over(mut self, path: impl Into<String>) -> Self {
        self.legacy_paths.push(path.into());
        self
    }

    /// The user supplies the value (see [`SecretSlot::user_supplied`]).
    #[must_use]
    pub fn supplied_by_user(mut self) -> Self {
        self.user_supplied = true;
        self
    }

    /// This slot copies values of slot `id`, which is decided first.
    #[must_use]
    pub fn after(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if !self.after.contains(&id) {
            self.after.push(id);
        }
        self
    }

    /// `key` is generated; `psd render --rotate <name>` gives it a new value, after which
    /// the running service needs what `then` says.
    #[must_use]
    pub fn rotatable(
        mut self,
        name: impl Into<String>,
        key: impl Into<String>,
        then: impl Into<String>,
    ) -> Self {
        self.credentials.push(Credential {
            name: name.into(),
            key: key.into(),
            rotation: Rotation::Generate { then: then.into() },
        });
        self
    }

    /// `key` is a credential psd does not rotate; `why` says what to do instead.
    #[must_use]
    pub fn not_rotatable(
        mut self,
        name: impl Into<String>,
        key: impl Into<String>,
        why: impl Into<String>,
    ) -> Self {
        self.credentials.push(Credential {
            name: name.into(),
            key: key.into(),
            rotation: Rotation::Refused(why.into()),
        });
        self
    }

    /// `key` always holds the value of `from_key` in slot `from_slot`'s Secret (decided
    /// first, see [`SecretSlot::after`]). The builder does the copying; this declares it, so a
    /// rotation of the source reaches the copy and a copy that disagrees is reported.
    #[must_use]
    pub fn copying(
        mut self,
        key: impl Into<String>,
        from_slot: impl Into<String>,
        from_key: impl Into<String>,
    ) -> Self {
        let from_slot = from_slot.into();
        self = self.after(from_slot.clone());
        self.copies.push(CopiedValue {
            key: key.into(),
            from_slot,
            from_key: from_key.into(),
        });
        self
    }

    /// The credential stored under `key`, if `key` is one.
    pub fn credential(&self, key: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.key == key)
    }
}

impl fmt::Debug for SecretSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSlot")
            .field("id", &self.id)
            .field("after", &self.after)
            .field("credentials", &self.credentials)
            .field("copies", &self.copies)
            .field("legacy_paths", &self.legacy_paths)
            .field("user_supplied", &self.user_supplied)
            .finish_non_exhaustive()
    }
}

/// One file of a component's folder.
#[derive(Clone, Debug)]
pub enum File {
    /// Plain manifests (one or more YAML documents).
    Plain {
        /// File name inside the folder.
        name: String,
        /// Its documents.
        docs: Vec<Value>,
    },
    /// An encrypted Secret (`*.enc.yaml`).
    Secret {
        /// File name inside the folder.
        name: String,
        /// What goes in it.
        slot: SecretSlot,
    },
}

impl File {
    /// A file with one document.
    pub fn plain(name: impl Into<String>, doc: Value) -> Self {
        File::Plain {
            name: name.into(),
            docs: vec![doc],
        }
    }

    /// The file name inside the folder.
    pub fn name(&self) -> &str {
        match self {
            File::Plain { name, .. } | File::Secret { name, .. } => name,
        }
    }
}

/// A Helm chart from an OCI registry: the `OCIRepository` (`ocirepository.yaml`) and the
/// `HelmRelease` of the same name beside it (`helmrelease.yaml`), in `namespace`.
pub fn helm_chart(
    release: &str,
    namespace: &str,
    url: &str,
    tag: &str,
    values: Value,
) -> [File; 2] {
    [
        File::plain(
            "ocirepository.yaml",
            crate::manifests::oci_repository(release, namespace, url, tag),
        ),
        File::plain(
            "helmrelease.yaml",
            crate::manifests::helm_release(release, namespace, values),
        ),
    ]
}

/// One folder of the tree and its Flux `Kustomization`.
#[derive(Clone, Debug)]
pub struct Component {
    /// Folder relative to the tree root, `/`-separated (e.g. `infrastructure/cert-manager`).
    pub dir: &'static str,
    /// Its place in the Flux order.
    pub stage: Stage,
    /// Its files, in the order its `kustomization.yaml` lists them.
    pub files: Vec<File>,
}

impl Component {
    /// Every Secret slot of the component.
    pub fn slots(&self) -> impl Iterator<Item = (&str, &SecretSlot)> {
        self.files.iter().filter_map(|f| match f {
            File::Secret { name, slot } => Some((name.as_str(), slot)),
            File::Plain { .. } => None,
        })
    }
}

/// A database an application needs in the shared PostgreSQL: its own role (login) and a
/// database it owns. The PostgreSQL component turns each claim into a managed role, a
/// basic-auth Secret and a `Database`.
#[derive(Clone, Debug)]
pub struct DatabaseClaim {
    /// The application (a DNS-1123 label); names the role Secret
    /// `postgresql-<client>-credentials` and the `Database` `postgresql-<client>`.
    pub client: &'static str,
    /// The PostgreSQL role the application logs in as.
    pub role: String,
    /// The database it owns.
    pub database: String,
    /// Where the password comes from: (slot id, key) of the application's own Secret, so both
    /// Secrets always hold the same value.
    pub password_from: (&'static str, &'static str),
}

impl DatabaseClaim {
    /// The name of the client's role Secret in the database namespace.
    pub fn secret_name(&self) -> String {
        psd_model::PostgresRoleCredentials::secret_name_for(self.client)
    }
}

/// A credential builder's error as a [`RenderError::Credential`] (messages never hold values).
pub fn cred_err(e: impl std::fmt::Display) -> RenderError {
    RenderError::Credential(e.to_string())
}

/// The value of `key` in an existing file, or an error telling the user how to recover.
pub fn need<'a>(data: &'a Data, key: &str, path: &str) -> Result<&'a SecretString, RenderError> {
    data.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| RenderError::ExistingSecret {
            path: path.into(),
            reason: format!(
                "it has no `{key}` entry in stringData or data. Put the value back (sops set \
                 {path} '[\"stringData\"][\"{key}\"]' '\"VALUE\"'), or, if it is one psd \
                 generates, render with --rotate to give it a new one"
            ),
        })
}
