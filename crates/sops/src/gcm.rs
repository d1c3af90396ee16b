//! AES-256-GCM with sops' 32-byte nonce, run over a value in pieces.
//!
//! `aes-gcm` works on a whole buffer in one call, so the MAC's SHA-512 of a large value could
//! only start once GCM had finished with all of it. This is the same construction (NIST SP
//! 800-38D, built exactly as `aes-gcm` 0.10 builds it from the `aes`, `ctr` and `ghash`
//! crates) fed piece by piece, so each finished piece can go to another thread while the next
//! is processed, and a large ciphertext never needs a second buffer. The property test below
//! checks it against `aes-gcm` itself for every length and split.

// The `aes` crate directly, built with `zeroize`: the key schedule is wiped on drop.
use aes::Aes256;
use aes::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use subtle::ConstantTimeEq;

use crate::cipher::{IV_LEN, TAG_LEN};

type Block = ghash::Block;

/// A data key's AES-256 key schedule and GHASH key, ready to start any number of messages.
pub(crate) struct Gcm {
    cipher: Aes256,
    ghash: GHash,
}

impl Gcm {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let cipher = Aes256::new(key.into());
        let mut h = Block::default();
        cipher.encrypt_block(&mut h);
        Self {
            cipher,
            ghash: GHash::new(&h),
        }
    }

    /// Starts one message under a 32-byte nonce, with its additional authenticated data.
    pub(crate) fn start(&self, iv: &[u8; IV_LEN], aad: &[u8]) -> Pieces<'_> {
        // J0 for a nonce that is not 96 bits long: GHASH(IV ‖ pad ‖ 0^64 ‖ [len(IV) in bits]).
        let mut g = self.ghash.clone();
        g.update_padded(iv);
        let mut lengths = Block::default();
        lengths[8..].copy_from_slice(&((IV_LEN as u64) * 8).to_be_bytes());
        g.update(&[lengths]);
        let j0 = g.finalize();
        let mut ctr = ctr::Ctr32BE::from_core(ctr::CtrCore::inner_iv_init(&self.cipher, &j0));
        // E(K, J0) masks the tag; the data is processed from inc32(J0) on.
        let mut mask = Block::default();
        ctr.apply_keystream(&mut mask);
        let mut ghash = self.ghash.clone();
        ghash.update_padded(aad);
        Pieces {
            ctr,
            ghash,
            mask,
            aad_len: aad.len() as u64,
            len: 0,
        }
    }
}

/// One message being encrypted or decrypted. Every piece but the last must be a whole number
/// of 16-byte blocks (GHASH pads each call to a block boundary).
pub(crate) struct Pieces<'a> {
    ctr: ctr::Ctr32BE<&'a Aes256>,
    ghash: GHash,
    mask: Block,
    aad_len: u64,
    len: u64,
}

impl Pieces<'_> {
    fn account(&mut self, piece: &[u8]) {
        debug_assert!(
            self.len.is_multiple_of(16),
            "only the last piece may end inside a block"
        );
        self.len += piece.len() as u64;
    }

    /// Encrypts the next piece of plaintext in place.
    pub(crate) fn encrypt(&mut self, piece: &mut [u8]) {
        self.account(piece);
        self.ctr.apply_keystream(piece);
        self.ghash.update_padded(piece);
    }

    /// Decrypts the next piece of ciphertext in place. The plaintext is not authentic until
    /// [`verify`](Self::verify) says so.
    pub(crate) fn decrypt(&mut self, piece: &mut [u8]) {
        self.account(piece);
        self.ghash.update_padded(piece);
        self.ctr.apply_keystream(piece);
    }

    /// The 16-byte tag of everything processed.
    pub(crate) fn tag(mut self) -> [u8; TAG_LEN] {
        let mut lengths = Block::default();
        lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.ghash.update(&[lengths]);
        let mut tag = [0u8; TAG_LEN];
        for ((t, g), m) in tag.iter_mut().zip(self.ghash.finalize()).zip(self.mask) {
            *t = g ^ m;
        }
        tag
    }

    /// Whether `tag` is the tag of everything processed (compared in constant time).
    pub(crate) fn verify(self, tag: &[u8]) -> bool {
        self.tag().ct_eq(tag).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::AesGcm;
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::aead::consts::U32;
    use aes_gcm::aead::generic_array::GenericArray;
    use proptest::prelude::*;

    /// Issue 9: the expanded data key (AES-256 key schedule) is wiped when a `Gcm` is dropped.
    /// This only compiles when `aes` is built with its `zeroize` feature; and the type is the
    /// one aes-gcm uses, so both paths (`cipher.rs`, this module) wipe it.
    #[test]
    fn key_schedule_is_wiped_on_drop() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        wiped_on_drop::<Aes256>();
        fn same<T>(_: std::marker::PhantomData<T>, _: std::marker::PhantomData<T>) {}
        same(
            std::marker::PhantomData::<Aes256>,
            std::marker::PhantomData::<aes_gcm::aes::Aes256>,
        );
    }

    /// Splits `len` into pieces of whole blocks (sizes from `cuts`), the last one any size.
    fn pieces(len: usize, cuts: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts {
            let end = (at + c * 16).min(len / 16 * 16);
            if end > at {
                out.push(at..end);
                at = end;
            }
        }
        out.push(at..len);
        out
    }

    proptest! {
        #[test]
        fn same_as_aes_gcm(
            key in any::<[u8; 32]>(),
            iv in any::<[u8; 32]>(),
            aad in proptest::collection::vec(any::<u8>(), 0..40),
            plain in proptest::collection::vec(any::<u8>(), 0..700),
            cuts in proptest::collection::vec(0usize..12, 0..6),
            flip in any::<prop::sample::Index>(),
        ) {
            let judge = AesGcm::<Aes256, U32>::new(GenericArray::from_slice(&key));
            let mut want = plain.clone();
            let want_tag = judge
                .encrypt_in_place_detached(GenericArray::from_slice(&iv), &aad, &mut want)
                .unwrap();

            let gcm = Gcm::new(&key);
            let mut got = plain.clone();
            let mut enc = gcm.start(&iv, &aad);
            for r in pieces(got.len(), &cuts) {
                enc.encrypt(&mut got[r]);
            }
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(&enc.tag()[..], &want_tag[..]);

            let mut back = got.clone();
            let mut dec = gcm.start(&iv, &aad);
            for r in pieces(back.len(), &cuts) {
                dec.decrypt(&mut back[r]);
            }
            prop_assert!(dec.verify(&want_tag));
            prop_assert_eq!(&back, &plain);

            // One flipped bit anywhere in the ciphertext or the tag is rejected.
            let mut bad = got.clone();
            let mut bad_tag = want_tag.to_vec();
            let i = flip.index(bad.len() + TAG_LEN);
            if i < bad.len() { bad[i] ^= 1 } else { bad_tag[i - bad.len()] ^= 1 }
            let mut dec = gcm.start(&iv, &aad);
            dec.decrypt(&mut bad);
            prop_assert!(!dec.verify(&bad_tag));
        }
    }
}
