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
//! [`init`] starts a cluster repository (`psd init`), and [`bootstrap`] holds what a cluster
//! needs before Flux can decrypt (`psd bootstrap`, `psd doctor`).
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
//!
//! The same tree without touching the disk: [`components::all`] gives each piece of the
//! stack, [`layout::plan`] lays out their files in memory (here without the Secrets, which a
//! real render fills in and encrypts), and `psd_lint` can check the result before anything
//! is written, as [`render`] does:
//!
//! ```
//! use std::collections::BTreeMap;
//! use psd_model::cluster::ClusterConfig;
//! use psd_render::layout::{self, FileContent, FluxSystem};
//!
//! let cfg = ClusterConfig::from_yaml("domain: example.org\n").expect("a valid description");
//! let components = psd_render::components::all(&cfg)?;
//! let files = layout::plan(&cfg, &components, &BTreeMap::new(), FluxSystem::Absent)?;
//! let plain: Vec<(String, String)> = files
//!     .into_iter()
//!     .filter_map(|f| match f.content {
//!         FileContent::Plain(text) => Some((f.path, text)),
//!         _ => None,
//!     })
//!     .collect();
//! assert!(plain.iter().any(|(path, text)| path.ends_with("helmrelease.yaml")
//!     && text.contains("auth.example.org")));
//! let tree = psd_lint::Tree::from_files(plain);
//! let findings = psd_lint::lint(&tree, &psd_lint::Config::default());
//! // Without their Secrets, only references to those Secrets are left unresolved.
//! assert!(findings.iter().all(|f| f.rule.starts_with("refs/")), "{findings:?}");
//! # Ok::<(), psd_render::RenderError>(())
//! ```

pub mod bootstrap;
mod codec;
pub mod component;
pub mod components;
pub mod connect;
mod error;
mod file_list;
mod guard;
pub mod init;
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
