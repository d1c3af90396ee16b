//! The value cipher of sops (`aes/cipher.go`, spec section 3): AES-256-GCM with a **32-byte**
//! nonce, the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` string form, and the per-type
//! plaintext serialisation of section 3.4.
//!
//! Errors here ([`CipherError`]) never contain a plaintext: they are wrapped by the tree walk
//! into [`crate::Error`] variants that add the key path.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::generic_array::{ArrayLength, GenericArray};
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretBox};
use std::sync::LazyLock;
use zeroize::Zeroizing;

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

/// A data key prepared for many values: the AES key schedule is expanded once and IVs come
/// from a buffer refilled from the OS CSPRNG, which keeps the walk over large files cheap.
pub struct ValueCipher {
    key: DataKey,
    gcm: AesGcm<Aes256, U32>,
    pool: Zeroizing<Vec<u8>>,
    used: usize,
}

impl ValueCipher {
    /// Prepares `key` for encrypting/decrypting many values.
    pub fn new(key: &DataKey) -> Self {
        Self {
            key: key.clone(),
            gcm: AesGcm::<Aes256, U32>::new(GenericArray::from_slice(key.expose())),
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
        let mut buf = Zeroizing::new(plaintext.to_vec());
        // Cannot fail below GCM's 64 GiB limit; an empty tag would then fail to decrypt.
        let tag = self
            .gcm
            .encrypt_in_place_detached(GenericArray::from_slice(&iv), aad, &mut buf)
            .map(|t| t.to_vec())
            .unwrap_or_default();
        let mut out = String::with_capacity(128 + plaintext.len() * 4 / 3 + datatype.len());
        out.push_str("ENC[AES256_GCM,data:");
        B64.encode_string(buf.as_slice(), &mut out);
        out.push_str(",iv:");
        B64.encode_string(iv, &mut out);
        out.push_str(",tag:");
        B64.encode_string(&tag, &mut out);
        out.push_str(",type:");
        out.push_str(datatype);
        out.push(']');
        out
    }

    /// Decrypts an `ENC[...]` string into raw plaintext bytes and its `type:` field.
    pub fn decrypt(
        &self,
        enc: &str,
        aad: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, String), CipherError> {
        let v = EncValue::parse(enc)?;
        let mut buf = Zeroizing::new(v.data);
        match v.iv.len() {
            IV_LEN => {
                if v.tag.len() != TAG_LEN {
                    return Err(CipherError::AuthenticationFailed);
                }
                self.gcm
                    .decrypt_in_place_detached(
                        GenericArray::from_slice(&v.iv),
                        aad,
                        &mut buf,
                        GenericArray::from_slice(&v.tag),
                    )
                    .map_err(|_| CipherError::AuthenticationFailed)?;
            }
            16 => open::<U16>(&self.key, &v.iv, aad, &mut buf, &v.tag)?,
            12 => open::<U12>(&self.key, &v.iv, aad, &mut buf, &v.tag)?,
            n => return Err(CipherError::IvLength(n)),
        }
        Ok((buf, v.datatype))
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

fn seal<N: ArrayLength<u8>>(
    key: &DataKey,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Option<Vec<u8>> {
    let cipher = AesGcm::<Aes256, N>::new(GenericArray::from_slice(key.expose()));
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(iv), aad, buf)
        .ok()?;
    Some(tag.to_vec())
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
    let mut buf = Zeroizing::new(plaintext.to_vec());
    // AES-GCM with a 32-byte nonce cannot fail for inputs below 64 GiB; an empty tag would
    // only result from that documented limit.
    let tag = seal::<U32>(key, iv, aad, &mut buf).unwrap_or_default();
    let out = EncValue {
        data: buf.to_vec(),
        iv: iv.to_vec(),
        tag,
        datatype: datatype.to_owned(),
    };
    out.to_string()
}

/// Encrypts raw bytes with a fresh random 32-byte IV.
pub fn encrypt_bytes(key: &DataKey, plaintext: &[u8], aad: &[u8], datatype: &str) -> String {
    let mut iv = [0u8; IV_LEN];
    OsRng.fill_bytes(&mut iv);
    encrypt_bytes_with_iv(key, plaintext, aad, &iv, datatype)
}

/// Decrypts an `ENC[...]` string into its raw plaintext bytes and its `type:` field.
pub fn decrypt_bytes(
    key: &DataKey,
    enc: &str,
    aad: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, String), CipherError> {
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
        fn fast_split_agrees_with_sops_regex(s in "(ENC\\[AES256_GCM,data:)?([a-z0-9+/=\\],:\\[\\n]|,iv:|,tag:|,type:){0,12}") {
            if let Some(g) = split_simple(&s) {
                let caps = ENC_RE.captures(&s).expect("fast path implies a regex match");
                for (i, group) in g.iter().enumerate() {
                    prop_assert_eq!(caps.get(i + 1).map(|m| m.as_str()), Some(*group));
                }
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
