//! A pure-Rust implementation of the SOPS v3 file format with age recipients.
//!
//! psd encrypts every Kubernetes Secret it renders with this crate, and users decrypt the
//! result with the real Go `sops` and with Flux's kustomize-controller, so everything here is
//! interoperable in meaning with sops 3.7 … 3.13: the per-value AES-256-GCM encryption with a
//! 32-byte nonce, the path-based AAD, the SHA-512 MAC, the age-wrapped data key (and Shamir key
//! groups), the six selection rules, `.sops.yaml` creation rules, and the YAML, JSON, dotenv,
//! INI and binary stores. The specification followed is `shared/docs/sops-format.md`.
//!
//! Main pieces:
//! - [`tree`]: the ordered document tree every store reads into.
//! - [`store`]: the [`store::Store`] trait and [`store::Format`] detection.
//! - [`error`]: [`Error`], one variant per failure, with sops' exit codes.
//! - [`api`]: the in-memory library API ([`encrypt`], [`decrypt`], [`encrypt_tree`],
//!   [`decrypt_tree`], [`metadata()`](fn@metadata), [`is_encrypted`]).
//! - [`cipher`], [`mac`], [`walk`]: per-value AES-256-GCM, the MAC and the tree walk.
//! - [`metadata`](mod@metadata): the `sops` block, read in every layout sops 3.7–3.13 wrote.
//! - [`age`], [`keysource`], [`shamir`]: data-key wrapping, identity discovery, key groups.
//! - [`rules`]: the six selection rules.
//!
//! Encrypting a YAML document to an age recipient and opening it again, as another Rust tool
//! would (the key pair here comes from the `age` crate; a real one is read from a key file
//! with [`Identities::from_env`] or [`Identities::parse_key_file`]):
//!
//! ```
//! use psd_sops::{DecryptOptions, EncryptOptions, Format, Identities, age::Recipient};
//! use age::secrecy::ExposeSecret as _;
//!
//! let key = age::x25519::Identity::generate();
//! let recipient: Recipient = key.to_public().to_string().parse()?;
//! let plain = b"user: admin\npassword: s3cr3t\n";
//!
//! let encrypted = psd_sops::encrypt(plain, Format::Yaml, &EncryptOptions::new(vec![recipient]))?;
//! let text = String::from_utf8_lossy(&encrypted);
//! assert!(text.contains("password: ENC[AES256_GCM,data:") && !text.contains("s3cr3t"));
//!
//! let mut identities = Identities::new();
//! identities.add_x25519(key.to_string().expose_secret())?;
//! let opened = psd_sops::decrypt(&encrypted, Format::Yaml, &identities, &DecryptOptions::default())?;
//! assert_eq!(&opened.plain[..], plain);
//! # Ok::<(), psd_sops::Error>(())
//! ```

#![deny(missing_docs)]

pub mod age;
pub mod api;
pub mod cipher;
pub mod config;
pub mod error;
pub mod flatten;
mod gcm;
pub mod gofmt;
pub mod keysource;
pub mod mac;
pub mod merge;
pub mod metadata;
pub mod rekey;
pub mod rules;
mod scan;
pub mod set;
pub mod shamir;
pub mod store;
pub mod stores;
pub mod tree;
pub mod walk;
pub mod wipe;

pub use api::{
    DecryptOptions, Decrypted, DecryptedTree, EncryptOptions, decrypt, decrypt_tree, encrypt,
    encrypt_tree, file_status, is_encrypted, metadata,
};
pub use error::Error;
pub use keysource::Identities;
pub use metadata::Metadata;
pub use rules::SelectionRule;
pub use store::{Format, Store, StoreOptions, store_for};
pub use tree::{Branch, Comment, Item, Key, Timestamp, Tree, Value};
