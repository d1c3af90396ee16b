//! The sops MAC (spec section 5): SHA-512 over the bare concatenation of the clear values in
//! walk order, upper-case hex, stored encrypted with `lastmodified` as AAD.

use sha2::{Digest, Sha512};

use crate::cipher::{self, CipherError, DataKey};
use crate::tree::Timestamp;

/// SHA-256 of the ASCII string `sops`: the prefix hashed first when `mac_only_encrypted` is set.
pub const MAC_ONLY_ENCRYPTED_PREFIX: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// A running MAC computation.
pub struct Mac {
    hash: Sha512,
}

impl Mac {
    /// Starts a MAC; with `mac_only_encrypted` the 32-byte prefix is absorbed first.
    pub fn new(mac_only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
        }
        Self { hash }
    }

    /// Absorbs the clear byte form of one value.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    /// The digest as 128 upper-case hex characters.
    pub fn finish(self) -> String {
        let digest = self.hash.finalize();
        let mut out = String::with_capacity(128);
        for b in digest {
            out.push_str(&format!("{b:02X}"));
        }
        out
    }
}

/// The AAD sops uses for the MAC: `lastmodified` parsed as RFC 3339 and formatted again with
/// second precision (so `…:05.000Z` becomes `…:05Z`). `None` if it does not parse.
pub fn mac_aad(lastmodified: &str) -> Option<String> {
    let mut t = Timestamp::parse_rfc3339(lastmodified)?;
    t.nanosecond = 0;
    Some(t.to_string())
}

/// Encrypts a MAC digest as sops stores it (`type:str`, AAD = `lastmodified`).
pub fn encrypt_mac(key: &DataKey, digest_hex: &str, lastmodified_aad: &str) -> String {
    cipher::encrypt_bytes(
        key,
        digest_hex.as_bytes(),
        lastmodified_aad.as_bytes(),
        "str",
    )
}

/// Decrypts a stored MAC. The digest is not secret, so it is returned as a plain string.
pub fn decrypt_mac(
    key: &DataKey,
    enc: &str,
    lastmodified_aad: &str,
) -> Result<String, CipherError> {
    let (bytes, _) = cipher::decrypt_bytes(key, enc, lastmodified_aad.as_bytes())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_sha256_of_sops() {
        use sha2::Sha256;
        assert_eq!(
            Sha256::digest(b"sops").as_slice(),
            &MAC_ONLY_ENCRYPTED_PREFIX
        );
    }

    #[test]
    fn aad_drops_fraction() {
        assert_eq!(
            mac_aad("2026-11-27T01:38:24.000Z").as_deref(),
            Some("2026-11-27T01:38:24Z")
        );
        assert_eq!(
            mac_aad("2026-11-27T01:38:24+02:00").as_deref(),
            Some("2026-11-27T01:38:24+02:00")
        );
        assert_eq!(mac_aad("yesterday"), None);
    }

    #[test]
    fn empty_digest_is_sha512_of_nothing() {
        assert!(Mac::new(false).finish().starts_with("CF83E1357EEFB8BD"));
    }
}
