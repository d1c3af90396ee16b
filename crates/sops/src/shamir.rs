//! Shamir secret sharing over GF(2^8) as sops uses it for key groups (`shamir/shamir.go`, a
//! copy of HashiCorp Vault's implementation; spec 6.3).
//!
//! A share is the y-values of every secret byte followed by **one byte x-coordinate** (so a
//! 32-byte data key gives 33-byte shares). sops ≥ 3.10 uses x = 1, 2, 3, …; older versions used
//! random x-coordinates, so [`combine`] accepts any distinct non-zero x.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use zeroize::Zeroizing;

/// Why shares could not be split or combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// `threshold` must be between 2 and the number of parts (at most 255).
    #[error(
        "invalid Shamir parameters: threshold {threshold} with {parts} parts (need 2 ≤ threshold ≤ parts ≤ 255)"
    )]
    Parameters {
        /// Requested threshold.
        threshold: usize,
        /// Requested number of parts.
        parts: usize,
    },
    /// Fewer than two shares were given.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// The shares differ in length or are shorter than two bytes.
    #[error("all parts must be the same length and at least two bytes")]
    BadLength,
    /// Two shares have the same x-coordinate.
    #[error("duplicate part detected")]
    DuplicatePart,
}

/// Multiplication in GF(2^8) with the AES polynomial x⁸+x⁴+x³+x+1, without data-dependent
/// branches.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    for _ in 0..8 {
        r ^= a & 0u8.wrapping_sub(b & 1);
        let hi = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & hi);
        b >>= 1;
    }
    r
}

/// a⁻¹ = a²⁵⁴ (0 maps to 0).
fn inv(a: u8) -> u8 {
    let mut r = a;
    for _ in 0..6 {
        r = mul(r, r);
        r = mul(r, a);
    }
    mul(r, r)
}

fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

/// Splits `secret` into `parts` shares of which any `threshold` recover it, with
/// x-coordinates 1..=parts (sops ≥ 3.10).
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if threshold < 2 || parts < threshold || parts > 255 || secret.is_empty() {
        return Err(ShamirError::Parameters { threshold, parts });
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (1..=parts)
        .map(|x| {
            let mut s = Zeroizing::new(vec![0u8; secret.len() + 1]);
            s[secret.len()] = x as u8;
            s
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold]);
    for (i, &byte) in secret.iter().enumerate() {
        coeffs[0] = byte;
        OsRng.fill_bytes(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner evaluation of the polynomial at x.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share[i] = y;
        }
    }
    Ok(shares)
}

/// Recovers the secret from at least two shares (Lagrange interpolation at x = 0). Extra
/// shares beyond the threshold are harmless.
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts);
    }
    let len = parts[0].len();
    if len < 2 || parts.iter().any(|p| p.len() != len) {
        return Err(ShamirError::BadLength);
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    for (i, a) in xs.iter().enumerate() {
        if xs[i + 1..].contains(a) {
            return Err(ShamirError::DuplicatePart);
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (i, &xi) in xs.iter().enumerate() {
        // Lagrange basis polynomial for share i evaluated at 0.
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = mul(basis, div(xj, xi ^ xj));
            }
        }
        for (k, out) in secret.iter_mut().enumerate() {
            *out ^= mul(parts[i][k], basis);
        }
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_arithmetic() {
        assert_eq!(mul(0x57, 0x83), 0xc1); // FIPS-197 example
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(combine(&[&[1, 2]]), Err(ShamirError::TooFewParts));
        assert_eq!(
            combine(&[&[1, 2], &[3, 2]]),
            Err(ShamirError::DuplicatePart)
        );
        assert!(split(b"x", 3, 1).is_err());
    }

    proptest! {
        #[test]
        fn any_threshold_subset_recovers(secret in prop::collection::vec(any::<u8>(), 1..40),
                                         parts in 2usize..7, t in 2usize..7, seed in any::<u64>()) {
            prop_assume!(t <= parts);
            let shares = split(&secret, parts, t).unwrap();
            // Pick a subset of size t (rotated by the seed) and also remap x-coordinates to
            // arbitrary distinct values to exercise pre-3.10 shares: re-splitting is not
            // possible, so check subsets only.
            let start = (seed as usize) % parts;
            let subset: Vec<&[u8]> = (0..t).map(|k| shares[(start + k) % parts].as_slice()).collect();
            let got = combine(&subset).unwrap();
            prop_assert_eq!(got.as_slice(), secret.as_slice());
            // t-1 shares give a random value; equal by chance with probability 2^-64 at 8 bytes.
            if t > 2 && secret.len() >= 8 {
                let fewer: Vec<&[u8]> = subset[..t - 1].to_vec();
                let got = combine(&fewer).unwrap();
                prop_assert_ne!(got.as_slice(), secret.as_slice());
            }
        }

        #[test]
        fn arbitrary_x_coordinates(secret in any::<u8>(), a in 1u8..=255, b in 1u8..=255, c in any::<u8>()) {
            prop_assume!(a != b);
            // Line through (0, secret) with slope c.
            let sa = [mul(c, a) ^ secret, a];
            let sb = [mul(c, b) ^ secret, b];
            let got = combine(&[&sa, &sb]).unwrap();
            prop_assert_eq!(got.as_slice(), &[secret]);
        }
    }
}
