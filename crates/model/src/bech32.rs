//! Strict BIP 173 bech32 checks for age X25519 keys.
//!
//! Written here rather than taken from a crate so that every way a key can be wrong maps to
//! its own [`KeyError`] variant, and so that secret key text is never copied into a buffer
//! that is not wiped. The `bech32` crate is used as an independent judge in the tests.

use zeroize::Zeroizing;

use crate::error::{KeyError, KeyKind};

/// The bech32 alphabet; a symbol's value is its index.
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
/// Number of checksum symbols at the end.
const CHECKSUM_LEN: usize = 6;
/// Length in bytes of an X25519 key.
pub(crate) const KEY_BYTES: usize = 32;

fn symbol_value(c: u8) -> Option<u8> {
    let lower = c.to_ascii_lowercase();
    CHARSET
        .iter()
        .position(|&s| s == lower)
        .and_then(|p| u8::try_from(p).ok())
}

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// HRP expansion of BIP 173 over the lower-case HRP.
fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    let lower = |b: u8| b.to_ascii_lowercase();
    hrp.bytes()
        .map(move |b| lower(b) >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.bytes().map(move |b| lower(b) & 31))
}

/// Validates `s` as a bech32 string of `kind` (HRP `age` lower-case, or `AGE-SECRET-KEY-`
/// upper-case) carrying exactly 32 bytes.
pub(crate) fn check(kind: KeyKind, s: &str) -> Result<(), KeyError> {
    let prefix = kind.prefix();
    if s.trim().is_empty() {
        return Err(KeyError::Empty { kind });
    }
    let bytes = s.as_bytes();
    if bytes.len() < prefix.len() || !bytes[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    {
        return Err(KeyError::WrongPrefix { kind });
    }
    let has_upper = bytes.iter().any(u8::is_ascii_uppercase);
    let has_lower = bytes.iter().any(u8::is_ascii_lowercase);
    if has_upper && has_lower {
        return Err(KeyError::MixedCase { kind });
    }
    let (expected, found) = match kind {
        KeyKind::Recipient => ("lower", has_upper.then_some("upper")),
        KeyKind::Identity => ("upper", has_lower.then_some("lower")),
    };
    if let Some(found) = found {
        return Err(KeyError::WrongCase {
            kind,
            found,
            expected,
        });
    }
    let data = &bytes[prefix.len()..];
    let mut values = Zeroizing::new(Vec::with_capacity(data.len()));
    for (i, &c) in data.iter().enumerate() {
        match symbol_value(c) {
            Some(v) => values.push(v),
            None => {
                return Err(KeyError::InvalidCharacter {
                    kind,
                    position: prefix.len() + i,
                });
            }
        }
    }
    // The HRP is the prefix without its trailing separator `1`.
    let hrp = &prefix[..prefix.len() - 1];
    if values.len() < CHECKSUM_LEN || polymod(hrp_expand(hrp).chain(values.iter().copied())) != 1 {
        return Err(KeyError::BadChecksum { kind });
    }
    let payload = &values[..values.len() - CHECKSUM_LEN];
    let bits = payload.len() * 5;
    let found = bits / 8;
    if found != KEY_BYTES {
        return Err(KeyError::WrongLength { kind, found });
    }
    // 52 symbols carry 260 bits: 256 key bits and 4 padding bits, which must be zero.
    let pad_bits = bits % 8;
    let last = payload.last().copied().unwrap_or(0);
    if pad_bits >= 5 || last & ((1u8 << pad_bits) - 1) != 0 {
        return Err(KeyError::InvalidPadding { kind });
    }
    Ok(())
}

/// Encodes `data` as bech32 with `hrp` (lower-case output). Test helper for building
/// deliberately malformed keys with a valid checksum.
#[cfg(test)]
pub(crate) fn encode(hrp: &str, data: &[u8]) -> String {
    let mut values = Vec::new();
    let mut acc: u32 = 0;
    let mut nbits = 0;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            values.push(u8::try_from((acc >> nbits) & 31).unwrap());
        }
    }
    if nbits > 0 {
        values.push(u8::try_from((acc << (5 - nbits)) & 31).unwrap());
    }
    encode_values(hrp, &values)
}

/// Encodes raw 5-bit `values` (adds the checksum).
#[cfg(test)]
pub(crate) fn encode_values(hrp: &str, values: &[u8]) -> String {
    encode_values_with_constant(hrp, values, 1)
}

/// Encodes raw 5-bit `values` with the checksum constant `constant` (1 for bech32,
/// 0x2bc830a3 for bech32m).
#[cfg(test)]
pub(crate) fn encode_values_with_constant(hrp: &str, values: &[u8], constant: u32) -> String {
    let hrp = hrp.to_ascii_lowercase();
    let pm = polymod(
        hrp_expand(&hrp)
            .chain(values.iter().copied())
            .chain([0u8; 6]),
    ) ^ constant;
    let mut out = format!("{hrp}1");
    for &v in values {
        out.push(char::from(CHARSET[usize::from(v)]));
    }
    for i in 0..6 {
        out.push(char::from(CHARSET[((pm >> (5 * (5 - i))) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bip173_vectors() {
        // Valid bech32 strings from BIP 173 (checksum only; HRP differs from ours).
        for s in [
            "a12uel5l",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        ] {
            let (hrp, data) = s.rsplit_once('1').unwrap();
            let values: Vec<u8> = data.bytes().map(|c| symbol_value(c).unwrap()).collect();
            assert_eq!(
                polymod(hrp_expand(hrp).chain(values.iter().copied())),
                1,
                "{s}"
            );
            let payload = &values[..values.len() - 6];
            assert_eq!(encode_values(hrp, payload), s);
        }
    }

    #[test]
    fn encode_matches_known_age_key() {
        // age's own test vector (age/src/native/x25519.rs, TEST_PK with its raw bytes).
        let pk = "age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa";
        let (hrp, data) = pk.rsplit_once('1').unwrap();
        let values: Vec<u8> = data.bytes().map(|c| symbol_value(c).unwrap()).collect();
        let payload = &values[..values.len() - 6];
        assert_eq!(encode_values(hrp, payload), pk);
        assert!(check(KeyKind::Recipient, pk).is_ok());
    }
}
