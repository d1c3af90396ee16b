//! Renders the complete Flux GitOps tree for a cluster description (`gitops/`): cert-manager and
//! its ClusterIssuers, the Cloudflare token, Traefik's entry points limited to the tailnet,
//! PostgreSQL on the CloudNativePG operator, Redis as Valkey, Authentik, one Flux
//! Kustomization per component with SOPS decryption, and `.sops.yaml`, with every Secret
//! encrypted in memory by `psd-sops` before it touches disk.
//!
//! Each piece of the stack is one module of [`components`], returning one [`component::Component`]:
//! its folder's documents and Secrets, its chart source, its place in the Flux order.
//!
//! The whole tree is built in memory first ([`layout::plan`]), every Secret encrypted, and only
//! then are files written: all as temporaries first, then renamed into place, under a lock on
//! the repository. psd writes only files it owns (recorded with their SHA-256 in
//! [`FILE_LIST`]) and refuses changes that would make Flux delete things unless
//! [`RenderOptions::allow_destructive`] is set (see `docs/LAYOUT.md`).
//! Re-rendering is byte-stable: plain files are deterministic, and an existing `*.enc.yaml` is
//! kept byte for byte when its decrypted content (and recipients) would not change. Generated
//! credentials are never regenerated: existing files are decrypted and their values reused, and
//! whatever a user added to a Secret (keys, labels, annotations, `data:` entries) or changed in
//! it is kept. Only [`RenderOptions::rotate`] gives a credential a new value.
//!
//! [`connect`] gives the connection details of the services a rendered tree deploys (what
//! `psd connect` prints), from its decrypted Secrets.
//!
//! ```no_run
//! use psd_render::{Mode, RenderOptions, render};
//!
//! let report = render(&RenderOptions::new(".", Mode::DryRun))?;
//! for change in &report.changes {
//!     println!("{} {}", change.kind, change.path);
//! }
//! # Ok::<(), psd_render::RenderError>(())
//! ```

mod codec;
pub mod component;
pub mod components;
pub mod connect;
mod error;
mod file_list;
mod guard;
mod kept;
mod keyless;
mod keys;
pub mod layout;
mod lint_gate;
pub mod manifests;
mod output;
mod repo_root;
mod secrets;
mod write;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use error::{RenderError, RotateError};
pub use file_list::FILE_LIST;
pub use keys::KeyEnv;
pub use output::{Change, ChangeKind, Mode, RenderOptions, Report, load_config, render, sops_yaml};
pub use repo_root::{ROOT_MARKERS, RepoRoot, find_repo_root};
pub use secrets::SecretValues;
