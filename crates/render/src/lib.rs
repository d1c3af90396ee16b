//! Renders the complete Flux GitOps tree for a cluster description (`gitops/`): cert-manager and
//! its ClusterIssuers, the Cloudflare token, PostgreSQL, Redis, Authentik, Traefik TCP entry
//! points and IngressRouteTCPs, Flux Kustomizations with SOPS decryption and `.sops.yaml`, with
//! every Secret encrypted in memory by `psd-sops` before it touches disk.
//!
//! The whole tree is built in memory first ([`layout::plan`]), every Secret encrypted, and only
//! then are files written, each atomically; a failed render leaves the previous tree as it was.
//! Re-rendering is byte-stable: plain files are deterministic, and an existing `*.enc.yaml` is
//! kept byte for byte when its decrypted content (and recipients) would not change. Generated
//! credentials are never regenerated: existing files are decrypted and their values reused.
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
mod error;
pub mod layout;
pub mod manifests;
mod output;
mod secrets;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use error::RenderError;
pub use output::{
    Change, ChangeKind, FILE_LIST, Mode, RenderOptions, Report, load_config, render, sops_yaml,
};
pub use secrets::SecretValues;
