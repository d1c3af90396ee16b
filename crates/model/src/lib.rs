//! Typed data for psd: age key pairs, service credentials that become Kubernetes Secrets,
//! certificate settings and the cluster description. Everything is correct by construction:
//! constructors validate, secrets live in `secrecy` types and `Debug` never prints them.
#![deny(missing_docs)]

pub mod cluster;
