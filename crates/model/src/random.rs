//! Random secrets from the operating system's CSPRNG.

use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::CredentialError;

/// The 62 symbols generated passwords use: no punctuation, so values survive YAML, shells,
/// URLs and connection strings without escaping.
pub(crate) const ALPHANUMERIC: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Largest multiple of 62 that fits in a byte; bytes at or above it are rejected so every
/// symbol is equally likely (no modulo bias).
const REJECT_FROM: u8 = 248;

/// `len` symbols drawn uniformly from [`ALPHANUMERIC`] with the OS CSPRNG: log2(62) ≈ 5.954
/// bits of entropy per symbol.
pub(crate) fn alphanumeric(len: usize) -> Result<SecretString, CredentialError> {
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        OsRng
            .try_fill_bytes(buf.as_mut_slice())
            .map_err(CredentialError::Entropy)?;
        for &b in buf.iter() {
            if out.len() == len {
                break;
            }
            if b < REJECT_FROM {
                out.push(ALPHANUMERIC[usize::from(b % 62)]);
            }
        }
    }
    // Invariant: every byte comes from ALPHANUMERIC, which is ASCII.
    let text = std::str::from_utf8(&out).map_err(|_| unreachable_ascii())?;
    Ok(SecretString::from(text))
}

#[cold]
fn unreachable_ascii() -> CredentialError {
    // Cannot happen (see the invariant above); mapped to an entropy error rather than a panic.
    CredentialError::Entropy(rand::Error::new(std::io::Error::other(
        "generated password was not ASCII",
    )))
}

/// Entropy in bits of `len` symbols from a 62-symbol alphabet, rounded down (checks the
/// figures stated in the docs).
#[cfg(test)]
pub(crate) fn alphanumeric_entropy_bits(len: usize) -> u32 {
    // log2(62) = 5.954196310386876
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let bits = (len as f64 * 62f64.log2()).floor() as u32;
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn length_and_alphabet() {
        for len in [0, 1, 32, 50, 64, 200] {
            let s = alphanumeric(len).unwrap();
            assert_eq!(s.expose_secret().len(), len);
            assert!(s.expose_secret().bytes().all(|b| ALPHANUMERIC.contains(&b)));
        }
    }

    #[test]
    fn not_constant() {
        let a = alphanumeric(32).unwrap();
        let b = alphanumeric(32).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn roughly_uniform() {
        // 62 * 1000 symbols; each symbol expected 1000 times. A biased generator (e.g. plain
        // `b % 62` over 0..=255) over-represents the first 8 symbols by ~3%; this checks the
        // counts stay in a wide band so the test cannot flake (sd ≈ 31).
        let s = alphanumeric(62_000).unwrap();
        let mut counts = [0u32; 62];
        for b in s.expose_secret().bytes() {
            let i = ALPHANUMERIC.iter().position(|&c| c == b).unwrap();
            counts[i] += 1;
        }
        for (i, c) in counts.iter().enumerate() {
            assert!((800..1200).contains(c), "symbol {i}: {c}");
        }
    }

    #[test]
    fn entropy_figures() {
        assert_eq!(alphanumeric_entropy_bits(32), 190);
        assert_eq!(alphanumeric_entropy_bits(64), 381);
    }
}
