//! The cluster description (`psd.yaml`): domain, ACME email, enabled services, sizes.
