//! The value cipher of sops (`aes/cipher.go`, spec section 3): AES-256-GCM with a **32-byte**
//! nonce, the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` string form, and the per-type
//! plaintext serialisation of section 3.4.
//!
//! Errors here ([`CipherError`]) never contain a plaintext: they are wrapped by the tree walk
//! into [`crate::Error`] variants that add the key path.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::generic_array::{ArrayLength, GenericArray};
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

/// Standard padded base64 as Go's `base64.StdEncoding` reads it: non-zero bits after the last
/// byte are ignored (`PB==` and `PA==` are the same byte), as sops accepts them.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);
use secrecy::{ExposeSecret, SecretBox};
use std::sync::LazyLock;
use zeroize::{Zeroize, Zeroizing};

use crate::gcm::Gcm;
use crate::gofmt::format_float_f;
use crate::tree::{Comment, Timestamp, Value};

/// Length of the nonce sops writes (256 bits).
pub const IV_LEN: usize = 32;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;

/// The 32-byte data key of a sops file. Kept in a [`SecretBox`], wiped on drop, never printed.
pub struct DataKey(SecretBox<[u8; 32]>);

impl DataKey {
    /// A fresh random data key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut key = Box::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        Self(SecretBox::new(key))
    }

    /// Wraps key bytes (e.g. the plaintext of an age `enc` stanza or a Shamir combination).
    /// Returns `None` unless `bytes` is exactly 32 bytes long. The caller's buffer is not wiped.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(SecretBox::new(Box::new(arr))))
    }

    /// The key bytes. Do not copy them anywhere that is not wiped.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl Clone for DataKey {
    fn clone(&self) -> Self {
        Self(SecretBox::new(Box::new(*self.0.expose_secret())))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// Why a value could not be decrypted (the text after `Could not decrypt value: ` in sops).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// GCM authentication failed: wrong key, ciphertext/IV/tag changed, or a different AAD
    /// (the value was moved or its key renamed).
    #[error("Could not decrypt with AES_GCM: cipher: message authentication failed")]
    AuthenticationFailed,
    /// The string is not of the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` form. `shown` is the
    /// input when it starts with `ENC[` (so it cannot be a clear secret), else a placeholder.
    #[error("Input string {shown} does not match sops' data format")]
    Format {
        /// What to show of the input (never a value that could be a clear secret).
        shown: String,
    },
    /// One of the base64 fields is not valid standard padded base64.
    #[error("Error base64-decoding {field}: {reason}")]
    Base64 {
        /// `data`, `iv` or `tag`.
        field: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The IV length is one this implementation cannot use (sops writes 32 bytes).
    #[error("Could not decrypt with AES_GCM: unsupported IV length {0} (sops writes 32-byte IVs)")]
    IvLength(usize),
    /// The `type:` field names no known type.
    #[error("Unknown datatype: {0}")]
    UnknownType(String),
    /// The decrypted bytes do not parse as the recorded type (e.g. `type:int` with `abc`).
    #[error("Error decoding the decrypted value as type {0}")]
    BadPlaintext(&'static str),
}

/// The parsed fields of an `ENC[...]` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    /// Ciphertext without the tag.
    pub data: Vec<u8>,
    /// The nonce.
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The `type:` field (`str`, `int`, `float`, `bool`, `time`, `comment`, `bytes`).
    pub datatype: String,
}

static ENC_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    // sops' exact pattern: anchored at the start only, greedy groups (Go RE2 leftmost-first,
    // which the regex crate shares).
    #[allow(clippy::expect_used)]
    regex::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
        .expect("constant regex")
});

/// Whether `s` looks like an encrypted value (matches sops' `ENC[...]` pattern).
pub fn is_enc(s: &str) -> bool {
    ENC_RE.is_match(s)
}

fn shown(s: &str) -> String {
    if s.starts_with("ENC[") {
        let mut end = s.len().min(120);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut out = s[..end].to_owned();
        if end < s.len() {
            out.push('…');
        }
        out
    } else {
        "(a value that is not ENC[...], not shown)".to_owned()
    }
}

/// The four groups of sops' pattern for the common case of one occurrence of each separator
/// on the first line (every value sops writes): then the greedy match is the only match. `None`
/// means "not this simple shape"; the caller falls back to the regex.
fn split_simple(s: &str) -> Option<[&str; 4]> {
    // The strict shape `ENC[AES256_GCM,data:B,iv:B,tag:B,type:t]` and nothing after, where B
    // is standard base64 (no comma) and t lower-case letters: each separator then occurs once,
    // so the greedy regex has exactly this match. One pass over the bytes, no substring search
    // (the data of a 10 MB binary file is 13 MB of base64).
    let rest = s.strip_prefix("ENC[AES256_GCM,data:")?;
    let b64_run = |t: &str| crate::scan::run_until(t.as_bytes(), crate::scan::not_base64);
    let (data, r) = rest.split_at(b64_run(rest));
    let r = r.strip_prefix(",iv:")?;
    let (iv, r) = r.split_at(b64_run(r));
    let r = r.strip_prefix(",tag:")?;
    let (tag, r) = r.split_at(b64_run(r));
    let r = r.strip_prefix(",type:")?;
    let n = r
        .bytes()
        .position(|c| !c.is_ascii_lowercase())
        .unwrap_or(r.len());
    let (datatype, r) = r.split_at(n);
    let groups = [data, iv, tag, datatype];
    (r == "]" && groups.iter().all(|g| !g.is_empty())).then_some(groups)
}

/// The four groups of a value of the strict form sops writes, found from the end: the
/// separators are looked for in the short tail, and the data group (13 MB of base64 for a 10 MB
/// binary file) is not scanned here, because the base64 decoder rejects any byte outside the
/// alphabet (every separator included). Whenever the data group then decodes, these are the
/// groups [`split_simple`] and sops' pattern give; when it does not, the caller must get its
/// error from [`EncValue::parse`].
fn split_from_end(s: &str) -> Option<[&str; 4]> {
    let body = s.strip_prefix("ENC[AES256_GCM,data:")?.strip_suffix(']')?;
    let (body, datatype) = body.rsplit_once(",type:")?;
    let (body, tag) = body.rsplit_once(",tag:")?;
    let (data, iv) = body.rsplit_once(",iv:")?;
    let base64 = |g: &str| !g.is_empty() && !g.bytes().any(crate::scan::not_base64);
    let lower = !datatype.is_empty() && datatype.bytes().all(|c| c.is_ascii_lowercase());
    (lower && base64(iv) && base64(tag) && !data.is_empty()).then_some([data, iv, tag, datatype])
}

impl EncValue {
    /// Parses an `ENC[...]` string with sops' regular expression and base64 rules.
    pub fn parse(s: &str) -> Result<Self, CipherError> {
        let groups = match split_simple(s) {
            Some(g) => g,
            None => {
                let caps = ENC_RE
                    .captures(s)
                    .ok_or_else(|| CipherError::Format { shown: shown(s) })?;
                let g = |i: usize| caps.get(i).map_or("", |m| m.as_str());
                [g(1), g(2), g(3), g(4)]
            }
        };
        let field = |text: &str, name: &'static str| {
            B64.decode(text).map_err(|e| CipherError::Base64 {
                field: name,
                reason: e.to_string(),
            })
        };
        Ok(Self {
            data: field(groups[0], "data")?,
            iv: field(groups[1], "iv")?,
            tag: field(groups[2], "tag")?,
            datatype: groups[3].to_owned(),
        })
    }
}

/// The raw plaintext of a value (wiped on drop) and its `type:` field.
pub type PlainBytes = (Zeroizing<Vec<u8>>, String);

/// Plaintext is processed in pieces of this many bytes: a whole number of base64 quanta (3
/// bytes) and of GCM blocks (16 bytes), small enough to stay in cache.
const PIECE: usize = 3 * 16 * 4096;

/// A data key prepared for many values: the AES key schedule is expanded once and IVs come
/// from a buffer refilled from the OS CSPRNG, which keeps the walk over large files cheap.
pub struct ValueCipher {
    key: DataKey,
    gcm: Gcm,
    pool: Zeroizing<Vec<u8>>,
    used: usize,
}

impl ValueCipher {
    /// Prepares `key` for encrypting/decrypting many values.
    pub fn new(key: &DataKey) -> Self {
        Self {
            key: key.clone(),
            gcm: Gcm::new(key.expose()),
            // Filled on the first encryption: a cipher used only to decrypt needs no IVs.
            pool: Zeroizing::new(Vec::new()),
            used: 0,
        }
    }

    fn next_iv(&mut self) -> [u8; IV_LEN] {
        if self.used >= self.pool.len() {
            self.pool.resize(IV_LEN * 128, 0);
            OsRng.fill_bytes(&mut self.pool);
            self.used = 0;
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&self.pool[self.used..self.used + IV_LEN]);
        self.used += IV_LEN;
        iv
    }

    /// Encrypts raw bytes with a fresh random IV and returns the `ENC[...]` string.
    pub fn encrypt(&mut self, plaintext: &[u8], aad: &[u8], datatype: &str) -> String {
        let iv = self.next_iv();
        seal(&self.gcm, plaintext, aad, &iv, datatype)
    }

    /// Decrypts an `ENC[...]` string into raw plaintext bytes and its `type:` field.
    pub fn decrypt(&self, enc: &str, aad: &[u8]) -> Result<PlainBytes, CipherError> {
        let v = EncValue::parse(enc)?;
        let mut buf = Zeroizing::new(v.data);
        match v.iv.len() {
            IV_LEN => {
                let mut iv = [0u8; IV_LEN];
                iv.copy_from_slice(&v.iv);
                let mut msg = self.gcm.start(&iv, aad);
                msg.decrypt(&mut buf);
                if !msg.verify(&v.tag) {
                    return Err(CipherError::AuthenticationFailed);
                }
            }
            16 => open::<U16>(&self.key, &v.iv, aad, &mut buf, &v.tag)?,
            12 => open::<U12>(&self.key, &v.iv, aad, &mut buf, &v.tag)?,
            n => return Err(CipherError::IvLength(n)),
        }
        Ok((buf, v.datatype))
    }

    /// Decrypts a `type:str` or `type:bytes` value as [`decrypt`](Self::decrypt) does, and
    /// hands its plaintext to `consume` in order, a piece at a time, on a second thread while
    /// the next piece is decrypted. For a large value this overlaps whatever `consume` does
    /// (the MAC's SHA-512) with base64 decoding and AES-GCM instead of running it after them.
    ///
    /// `None` (and nothing consumed) for a value of another type or not in the exact form
    /// sops writes (32-byte IV): the caller then uses [`decrypt`](Self::decrypt), which also
    /// gives the precise error for a malformed value. `consume` sees plaintext before the tag
    /// is checked; when the tag then fails this returns the error, so `consume` must not make
    /// what it saw visible unless this returns `Ok`.
    pub fn decrypt_streaming(
        &self,
        enc: &str,
        aad: &[u8],
        consume: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Option<Result<PlainBytes, CipherError>> {
        let [data, iv, tag, datatype] = split_from_end(enc)?;
        if !matches!(datatype, "str" | "bytes") || data.len() % 4 != 0 {
            return None;
        }
        let iv: [u8; IV_LEN] = B64.decode(iv).ok()?.try_into().ok()?;
        let tag = B64.decode(tag).ok()?;
        let mut out = Zeroizing::new(vec![0u8; data.len() / 4 * 3]);
        let mut msg = self.gcm.start(&iv, aad);
        let mut len = 0;
        let mut well_formed = true;
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<&[u8]>(8);
            s.spawn(move || rx.into_iter().for_each(consume));
            let mut rest: &mut [u8] = &mut out;
            let mut texts = data.as_bytes().chunks(PIECE / 3 * 4).peekable();
            while let Some(text) = texts.next() {
                let room = std::mem::take(&mut rest);
                let n = match B64.decode_slice(text, &mut *room) {
                    // Padding (fewer bytes than the quanta) only at the very end.
                    Ok(n) if n == text.len() / 4 * 3 || texts.peek().is_none() => n,
                    _ => {
                        well_formed = false;
                        break;
                    }
                };
                let (piece, r) = room.split_at_mut(n);
                rest = r;
                len += n;
                msg.decrypt(piece);
                let piece: &[u8] = piece;
                if tx.send(piece).is_err() {
                    break;
                }
            }
        });
        if !well_formed {
            // The whole-value path names the problem exactly as it does for a small value.
            let e = self.decrypt(enc, aad).err();
            return Some(Err(e.unwrap_or(CipherError::Format { shown: shown(enc) })));
        }
        if !msg.verify(&tag) {
            return Some(Err(CipherError::AuthenticationFailed));
        }
        out.truncate(len);
        Some(Ok((out, datatype.to_owned())))
    }

    /// Decrypts an `ENC[...]` string into a typed value (empty string → empty string).
    pub fn decrypt_value(&self, enc: &str, aad: &str) -> Result<Value, CipherError> {
        if enc.is_empty() {
            return Ok(Value::Str(String::new()));
        }
        let (bytes, datatype) = self.decrypt(enc, aad.as_bytes())?;
        from_bytes(&datatype, bytes)
    }
}

/// Encrypts `plaintext` a piece at a time and writes the `ENC[...]` string, base64-encoding
/// each piece as it is done (no second buffer the size of the value).
fn seal(gcm: &Gcm, plaintext: &[u8], aad: &[u8], iv: &[u8; IV_LEN], datatype: &str) -> String {
    let mut out = String::with_capacity(128 + plaintext.len().div_ceil(3) * 4 + datatype.len());
    out.push_str("ENC[AES256_GCM,data:");
    let mut msg = gcm.start(iv, aad);
    // GCM works in place on a copy: on the stack for the usual short value.
    let mut small = [0u8; 256];
    let mut large = Zeroizing::new(Vec::new());
    let scratch: &mut [u8] = if plaintext.len() <= small.len() {
        &mut small
    } else {
        large.resize(plaintext.len().min(PIECE), 0);
        &mut large
    };
    for chunk in plaintext.chunks(PIECE) {
        let buf = &mut scratch[..chunk.len()];
        buf.copy_from_slice(chunk);
        msg.encrypt(buf);
        // A whole number of 3-byte quanta per piece: the pieces' base64 joins with no padding.
        B64.encode_string(&*buf, &mut out);
    }
    // (Ciphertext by now, but wiped all the same.)
    small.as_mut_slice().zeroize();
    crate::wipe::bytes(&mut large);
    out.push_str(",iv:");
    B64.encode_string(iv, &mut out);
    out.push_str(",tag:");
    B64.encode_string(msg.tag(), &mut out);
    out.push_str(",type:");
    out.push_str(datatype);
    out.push(']');
    out
}

impl std::fmt::Display for EncValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            B64.encode(&self.data),
            B64.encode(&self.iv),
            B64.encode(&self.tag),
            self.datatype
        )
    }
}

fn open<N: ArrayLength<u8>>(
    key: &DataKey,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<(), CipherError> {
    if tag.len() != TAG_LEN {
        return Err(CipherError::AuthenticationFailed);
    }
    let cipher = AesGcm::<Aes256, N>::new(GenericArray::from_slice(key.expose()));
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(iv),
            aad,
            buf,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| CipherError::AuthenticationFailed)
}

/// Encrypts raw plaintext bytes with a given IV (32 bytes) and returns the `ENC[...]` string.
/// This is the deterministic core used by [`encrypt_value`]; tests feed it known IVs.
pub fn encrypt_bytes_with_iv(
    key: &DataKey,
    plaintext: &[u8],
    aad: &[u8],
    iv: &[u8; IV_LEN],
    datatype: &str,
) -> String {
    seal(&Gcm::new(key.expose()), plaintext, aad, iv, datatype)
}

/// Encrypts raw bytes with a fresh random 32-byte IV.
pub fn encrypt_bytes(key: &DataKey, plaintext: &[u8], aad: &[u8], datatype: &str) -> String {
    let mut iv = [0u8; IV_LEN];
    OsRng.fill_bytes(&mut iv);
    encrypt_bytes_with_iv(key, plaintext, aad, &iv, datatype)
}

/// Decrypts an `ENC[...]` string into its raw plaintext bytes and its `type:` field.
pub fn decrypt_bytes(key: &DataKey, enc: &str, aad: &[u8]) -> Result<PlainBytes, CipherError> {
    ValueCipher::new(key).decrypt(enc, aad)
}

/// The clear byte form of a leaf: borrowed from a string or bytes value (a large value is
/// not copied), owned and zeroized on drop for the forms that must be formatted first.
pub enum LeafBytes<'a> {
    /// The bytes of a string or bytes value.
    Borrowed(&'a [u8]),
    /// A formatted number, boolean, time or comment text.
    Owned(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for LeafBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Borrowed(b) => b,
            Self::Owned(b) => b,
        }
    }
}

/// The `type:` name and the GCM plaintext bytes of a leaf (spec 3.4). `None` for values that
/// are never encrypted (null, maps, lists). The same bytes feed the MAC (spec 5.1).
pub fn to_bytes(value: &Value) -> Option<(&'static str, LeafBytes<'_>)> {
    let owned = |t, b: Vec<u8>| Some((t, LeafBytes::Owned(Zeroizing::new(b))));
    match value {
        Value::Str(s) => Some(("str", LeafBytes::Borrowed(s.as_bytes()))),
        Value::Bytes(b) => Some(("str", LeafBytes::Borrowed(b))),
        Value::Int(i) => owned("int", i.to_string().into_bytes()),
        Value::Float(f) => owned("float", format_float_f(*f).into_bytes()),
        Value::Bool(true) => owned("bool", b"True".to_vec()),
        Value::Bool(false) => owned("bool", b"False".to_vec()),
        Value::Time(t) => owned("time", t.to_string().into_bytes()),
        Value::Comment(c) => owned("comment", c.text.as_bytes().to_vec()),
        Value::Null | Value::Map(_) | Value::List(_) => None,
    }
}

/// Go `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go `strconv.ParseFloat(s, 64)` for the forms sops can meet: decimal and exponent forms,
/// `Inf`/`Infinity`/`NaN` in any case with an optional sign, and `_` only between digits is
/// not accepted (Go accepts underscores only with a base prefix).
fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Turns decrypted plaintext bytes into a tree value according to the `type:` field. The
/// buffer of a string or bytes value moves into the tree without a copy; every other buffer
/// is zeroized when dropped.
pub fn from_bytes(datatype: &str, mut buf: Zeroizing<Vec<u8>>) -> Result<Value, CipherError> {
    if matches!(datatype, "str" | "bytes") {
        let bytes = std::mem::take(&mut *buf);
        return Ok(match String::from_utf8(bytes) {
            Ok(s) if datatype == "str" => Value::Str(s),
            Ok(s) => Value::Bytes(s.into_bytes()),
            Err(e) => Value::Bytes(e.into_bytes()),
        });
    }
    let bytes: &[u8] = &buf;
    let text = || std::str::from_utf8(bytes).ok();
    Ok(match datatype {
        "int" => Value::Int(
            text()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(CipherError::BadPlaintext("int"))?,
        ),
        "float" => Value::Float(
            text()
                .and_then(parse_float)
                .ok_or(CipherError::BadPlaintext("float"))?,
        ),
        "bool" => Value::Bool(
            text()
                .and_then(parse_bool)
                .ok_or(CipherError::BadPlaintext("bool"))?,
        ),
        "time" => Value::Time(
            text()
                .and_then(Timestamp::parse_rfc3339)
                .ok_or(CipherError::BadPlaintext("time"))?,
        ),
        "comment" => Value::Comment(Comment::new(
            text().ok_or(CipherError::BadPlaintext("comment"))?,
        )),
        other => return Err(CipherError::UnknownType(other.to_owned())),
    })
}

/// Encrypts a leaf value with `aad` and a fresh IV (spec 3). An empty string or empty comment
/// is never encrypted: `Ok(None)` tells the caller to keep it as it is. Null, maps and lists
/// are not leaves and also give `None`.
pub fn encrypt_value(key: &DataKey, value: &Value, aad: &str) -> Option<String> {
    let (t, bytes) = to_bytes(value)?;
    if bytes.is_empty() {
        return None;
    }
    Some(encrypt_bytes(key, &bytes, aad.as_bytes(), t))
}

/// Decrypts an `ENC[...]` string into a typed value. An empty string decrypts to an empty
/// string, as in sops.
pub fn decrypt_value(key: &DataKey, enc: &str, aad: &str) -> Result<Value, CipherError> {
    ValueCipher::new(key).decrypt_value(enc, aad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> DataKey {
        DataKey::from_slice(&[7u8; 32]).unwrap()
    }

    #[test]
    fn regex_is_sops_regex() {
        let v =
            EncValue::parse("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]trailing").unwrap();
        assert_eq!(v.data, b"a");
        assert_eq!(v.datatype, "str");
        // Greedy groups: the last `,iv:` wins, so the data group swallows the first one and the
        // base64 decode of data fails, as in sops.
        let e = EncValue::parse("ENC[AES256_GCM,data:YQ==,iv:Yg==,iv:Yg==,tag:Yw==,type:str]");
        assert!(matches!(e, Err(CipherError::Base64 { field: "data", .. })));
        let e = EncValue::parse("ENC[AES256_GCM,data:abc]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Input string ENC[AES256_GCM,data:abc] does not match sops' data format"
        );
        let e = EncValue::parse("hunter2").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert!(!is_enc(
            " ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]"
        ));
    }

    #[test]
    fn base64_with_non_zero_trailing_bits_reads_as_go_reads_it() {
        // `YQ==` and `YR==` both hold the byte `a`; Go's StdEncoding (sops) accepts both.
        let v = EncValue::parse("ENC[AES256_GCM,data:YR==,iv:Yg==,tag:Yw==,type:str]").unwrap();
        assert_eq!(v.data, b"a");
        // Padding is still required, and a character outside the alphabet still refused.
        assert!(EncValue::parse("ENC[AES256_GCM,data:YQ,iv:Yg==,tag:Yw==,type:str]").is_err());
        assert!(EncValue::parse("ENC[AES256_GCM,data:Y!==,iv:Yg==,tag:Yw==,type:str]").is_err());
        // And a value written with such a last symbol decrypts to the same plaintext.
        let mut c = ValueCipher::new(&key());
        let enc = c.encrypt(b"hunter2", b"k:", "str");
        let (data, rest) = enc["ENC[AES256_GCM,data:".len()..].split_once(',').unwrap();
        let last = data.trim_end_matches('=').chars().last().unwrap();
        let pos = B64_ALPHABET.find(last).unwrap();
        let bits = match data.matches('=').count() {
            1 => 2,
            2 => 4,
            _ => 0,
        };
        if bits > 0 {
            let other = B64_ALPHABET.as_bytes()[pos ^ 1] as char;
            let stem = &data[..data.trim_end_matches('=').len() - 1];
            let pad = &data[data.trim_end_matches('=').len()..];
            let changed = format!("ENC[AES256_GCM,data:{stem}{other}{pad},{rest}");
            let (plain, _) = c.decrypt(&changed, b"k:").unwrap();
            assert_eq!(plain.as_slice(), b"hunter2");
        }
    }

    const B64_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    #[test]
    fn empty_is_never_encrypted() {
        assert_eq!(
            encrypt_value(&key(), &Value::Str(String::new()), "a:"),
            None
        );
        assert_eq!(
            decrypt_value(&key(), "", "a:").unwrap(),
            Value::Str(String::new())
        );
    }

    #[test]
    fn types_parse_like_go() {
        assert_eq!(
            from_bytes("bool", Zeroizing::new(b"T".to_vec())).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            from_bytes("int", Zeroizing::new(b"+7".to_vec())).unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            from_bytes("int", Zeroizing::new(b"007".to_vec())).unwrap(),
            Value::Int(7)
        );
        assert!(from_bytes("int", Zeroizing::new(b"1_0".to_vec())).is_err());
        assert_eq!(
            from_bytes("float", Zeroizing::new(b"1e3".to_vec())).unwrap(),
            Value::Float(1000.0)
        );
        assert!(
            matches!(from_bytes("float", Zeroizing::new(b"+Inf".to_vec())).unwrap(), Value::Float(f) if f.is_infinite())
        );
        assert_eq!(
            from_bytes("nope", Zeroizing::new(b"x".to_vec()))
                .unwrap_err()
                .to_string(),
            "Unknown datatype: nope"
        );
        assert_eq!(
            from_bytes("str", Zeroizing::new(vec![0xff])).unwrap(),
            Value::Bytes(vec![0xff])
        );
    }

    fn streamed(c: &ValueCipher, enc: &str, aad: &[u8]) -> Option<Result<Vec<u8>, CipherError>> {
        let mut seen = Vec::new();
        let r = c.decrypt_streaming(enc, aad, &mut |p| seen.extend_from_slice(p))?;
        Some(r.map(|(buf, datatype)| {
            assert_eq!(datatype, "str");
            assert_eq!(
                seen, *buf,
                "the consumer sees exactly the plaintext, in order"
            );
            buf.to_vec()
        }))
    }

    #[test]
    fn piecewise_paths_agree_with_the_whole_value_path() {
        let mut c = ValueCipher::new(&key());
        for len in [
            1,
            2,
            3,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            2 * PIECE + 2,
            (1 << 20) + 5,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let enc = c.encrypt(&plain, b"k:", "str");
            assert_eq!(*c.decrypt(&enc, b"k:").unwrap().0, plain, "len {len}");
            assert_eq!(streamed(&c, &enc, b"k:").unwrap().unwrap(), plain);
            assert_eq!(
                streamed(&c, &enc, b"x:").unwrap(),
                Err(CipherError::AuthenticationFailed)
            );
        }
    }

    #[test]
    fn streaming_fails_as_the_whole_value_path_does() {
        let mut c = ValueCipher::new(&key());
        let plain = vec![0x5au8; 3 * PIECE + 10];
        let enc = c.encrypt(&plain, b"k:", "str");
        let data_at = "ENC[AES256_GCM,data:".len();
        let piece_text = PIECE / 3 * 4;
        let with = |at: usize, b: u8| {
            let mut e = enc.clone().into_bytes();
            e[at] = b;
            String::from_utf8(e).unwrap()
        };
        let flipped = |at: usize| {
            with(
                at,
                if enc.as_bytes()[at] == b'A' {
                    b'B'
                } else {
                    b'A'
                },
            )
        };
        for bad in [
            flipped(data_at + piece_text + 5), // ciphertext in the second piece
            flipped(enc.len() - 30),           // the tag
            with(data_at + piece_text - 1, b'='), // padding at the end of a middle piece
            with(data_at + piece_text - 2, b'='),
            with(data_at + 2 * piece_text + 7, b'!'), // not base64
            with(data_at + 2 * piece_text + 7, b','), // a separator inside the data
            with(data_at + 2 * piece_text + 7, b'\n'),
        ] {
            let want = c.decrypt(&bad, b"k:").unwrap_err();
            assert_eq!(streamed(&c, &bad, b"k:").unwrap().unwrap_err(), want);
        }
        // Other types and legacy IV lengths are left to the whole-value path.
        assert!(streamed(&c, &enc.replace("type:str", "type:int"), b"k:").is_none());
        let short_iv = EncValue {
            iv: vec![1; 16],
            ..EncValue::parse(&enc).unwrap()
        }
        .to_string();
        assert!(streamed(&c, &short_iv, b"k:").is_none());
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", key()), "DataKey([REDACTED])");
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>().prop_map(Value::Str),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN != NaN", |f| !f.is_nan())
                .prop_map(Value::Float),
            any::<bool>().prop_map(Value::Bool),
            "[ -~]{0,20}".prop_map(|t| Value::Comment(Comment::new(t))),
        ]
    }

    /// Mostly base64, sometimes with a separator of the `ENC[...]` form inside.
    fn group() -> impl Strategy<Value = String> {
        let sep = prop::sample::select(vec![",", ":", "]", "\n", ",iv:", ",tag:", ",type:"]);
        proptest::collection::vec(
            prop_oneof![6 => "[A-Za-z0-9+/=]{1,6}", 1 => sep.prop_map(String::from)],
            1..3,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn round_trip(v in leaf(), aad in "[a-z:]{0,12}") {
            match encrypt_value(&key(), &v, &aad) {
                None => prop_assert!(to_bytes(&v).unwrap().1.is_empty()),
                Some(enc) => {
                    prop_assert!(is_enc(&enc));
                    let back = decrypt_value(&key(), &enc, &aad).unwrap();
                    // -0.0 and 0.0 compare equal; check the bytes instead.
                    prop_assert_eq!(&*to_bytes(&back).unwrap().1, &*to_bytes(&v).unwrap().1);
                    let other = format!("{aad}x:");
                    prop_assert_eq!(decrypt_value(&key(), &enc, &other), Err(CipherError::AuthenticationFailed));
                }
            }
        }

        #[test]
        fn fast_splits_agree_with_sops_regex(
            groups in proptest::collection::vec(group(), 3),
            datatype in "[a-z]{0,3}|[a-z]\\][a-z]|[a-z],",
            tail in "|\\]|x",
        ) {
            let s = format!(
                "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{datatype}]{tail}",
                groups[0], groups[1], groups[2]
            );
            // The fast split is sops' greedy pattern wherever it answers.
            if let Some(g) = split_simple(&s) {
                let caps = ENC_RE.captures(&s).expect("fast path implies a regex match");
                for (i, group) in g.iter().enumerate() {
                    prop_assert_eq!(caps.get(i + 1).map(|m| m.as_str()), Some(*group));
                }
            }
            // Splitting from the end gives the same groups wherever the data group is base64
            // (only then does the decoder accept it).
            if let Some(g) = split_from_end(&s)
                && !g[0].bytes().any(crate::scan::not_base64)
            {
                prop_assert_eq!(split_simple(&s), Some(g));
            }
            if let Some(g) = split_simple(&s) {
                prop_assert_eq!(split_from_end(&s), Some(g));
            }
        }

        #[test]
        fn any_byte_flip_is_rejected(s in "[ -~]{1,30}", pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let enc = encrypt_value(&key(), &Value::Str(s), "k:").unwrap();
            let mut v = EncValue::parse(&enc).unwrap();
            let total = v.data.len() + v.iv.len() + v.tag.len();
            let i = pos.index(total);
            let flip = 1u8 << bit;
            if i < v.data.len() { v.data[i] ^= flip }
            else if i < v.data.len() + v.iv.len() { v.iv[i - v.data.len()] ^= flip }
            else { v.tag[i - v.data.len() - v.iv.len()] ^= flip }
            prop_assert_eq!(decrypt_value(&key(), &v.to_string(), "k:"), Err(CipherError::AuthenticationFailed));
        }
    }
}
