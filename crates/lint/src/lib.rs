//! Lints over any Flux GitOps tree (not only the ones psd renders): deprecated API versions,
//! plaintext Secrets, HelmRelease ↔ Secret key references, SOPS decryption wiring, chart values
//! against the charts' own schemas, and the policy rules of the design.
