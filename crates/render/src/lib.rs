//! Renders the complete Flux GitOps tree for a cluster description (`gitops/`): cert-manager and
//! its ClusterIssuers, the Cloudflare token, PostgreSQL, Redis, Authentik, Traefik TCP entry
//! points and IngressRouteTCPs, Flux Kustomizations with SOPS decryption and `.sops.yaml`, with
//! every Secret encrypted in memory by `psd-sops` before it touches disk.
