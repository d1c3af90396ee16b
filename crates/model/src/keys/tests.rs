use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;

use proptest::prelude::*;

use super::*;
use crate::bech32::{encode, encode_values};

/// age's own known-answer pair (age/src/native/x25519.rs tests).
const TEST_SK: &str = "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33";
const TEST_PK: &str = "age1t7rxyev2z3rw82stdlrrepyc39nvn86l5078zqkf5uasdy86jp6svpy7pa";

fn encrypt_to(recipient: &Recipient, plaintext: &[u8]) -> Vec<u8> {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient.as_age() as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out).unwrap();
    w.write_all(plaintext).unwrap();
    w.finish().unwrap();
    out
}

fn decrypt_with(identity: &Identity, ciphertext: &[u8]) -> Result<Vec<u8>, age::DecryptError> {
    let decryptor = age::Decryptor::new(ciphertext)?;
    let mut r = decryptor.decrypt(std::iter::once(identity.as_age() as &dyn age::Identity))?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    Ok(out)
}

/// The `bech32` crate as an independent judge: BIP 173 (not bech32m) checksum, HRP, and the
/// decoded payload length.
fn judge_bech32(s: &str) -> (String, usize) {
    let checked = ::bech32::primitives::decode::CheckedHrpstring::new::<::bech32::Bech32>(s)
        .unwrap_or_else(|e| panic!("bech32 crate rejects the key: {e}"));
    let hrp = checked.hrp().to_lowercase();
    let len = checked.byte_iter().count();
    (hrp, len)
}

#[test]
fn known_answer_pair() {
    let id = Identity::parse(TEST_SK).unwrap();
    assert_eq!(id.recipient().as_str(), TEST_PK);
    assert_eq!(id.secret().expose_secret(), TEST_SK);
    let r: Recipient = TEST_PK.parse().unwrap();
    assert_eq!(&r, id.recipient());
    assert_eq!(r.to_string(), TEST_PK);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Property 1: generated pairs have the right prefixes, decode as valid bech32 of 32 bytes
    /// (judged by the `bech32` crate), re-parse to themselves, and encrypt/decrypt round-trips
    /// through the `age` crate.
    #[test]
    fn generated_pairs_are_valid(plaintext in proptest::collection::vec(any::<u8>(), 0..512)) {
        let pair = AgeKeyPair::generate();
        let sk = pair.identity().secret().expose_secret().to_owned();
        let pk = pair.recipient().as_str().to_owned();

        prop_assert!(sk.starts_with("AGE-SECRET-KEY-1"));
        prop_assert!(pk.starts_with("age1"));
        prop_assert_eq!(sk.len(), 74);
        prop_assert_eq!(pk.len(), 62);
        prop_assert!(!sk.bytes().any(|b| b.is_ascii_lowercase()));
        prop_assert!(!pk.bytes().any(|b| b.is_ascii_uppercase()));

        prop_assert_eq!(judge_bech32(&sk), ("age-secret-key-".to_owned(), 32));
        prop_assert_eq!(judge_bech32(&pk), ("age".to_owned(), 32));

        // Our parser accepts both halves and derives the same recipient.
        let reparsed = Identity::parse(&sk).unwrap();
        prop_assert_eq!(reparsed.recipient(), pair.recipient());
        prop_assert_eq!(Recipient::parse(&pk).unwrap(), pair.recipient().clone());

        // Round trip through the age crate, and a different key cannot decrypt.
        let ct = encrypt_to(pair.recipient(), &plaintext);
        prop_assert_eq!(decrypt_with(pair.identity(), &ct).unwrap(), plaintext);
        let other = Identity::generate();
        prop_assert!(decrypt_with(&other, &ct).is_err());
    }

    /// Any single-character substitution in a valid key is rejected (bech32 detects every
    /// single error), and never accepted as a different key.
    #[test]
    fn single_substitution_is_rejected(pos in 0usize..58, sym in 0usize..32) {
        let pk = AgeKeyPair::generate().recipient().as_str().to_owned();
        let idx = 4 + pos;
        let new = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"[sym];
        prop_assume!(pk.as_bytes()[idx] != new);
        let mut bytes = pk.into_bytes();
        bytes[idx] = new;
        let bad = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(
            Recipient::parse(&bad),
            Err(KeyError::BadChecksum { kind: KeyKind::Recipient })
        );
    }
}

#[track_caller]
fn err_recipient(s: &str) -> KeyError {
    Recipient::parse(s).unwrap_err()
}

#[track_caller]
fn err_identity(s: &str) -> KeyError {
    Identity::parse(s).unwrap_err()
}

#[test]
fn malformed_recipients() {
    use KeyKind::Recipient as R;
    assert_eq!(err_recipient(""), KeyError::Empty { kind: R });
    assert_eq!(err_recipient("   "), KeyError::Empty { kind: R });
    assert_eq!(err_recipient("age"), KeyError::WrongPrefix { kind: R });
    assert_eq!(err_recipient(TEST_SK), KeyError::WrongPrefix { kind: R });
    assert_eq!(
        err_recipient(&format!("ssh{}", &TEST_PK[3..])),
        KeyError::WrongPrefix { kind: R }
    );
    let mut mixed = TEST_PK.to_owned();
    mixed.replace_range(10..11, &TEST_PK[10..11].to_uppercase());
    assert_eq!(err_recipient(&mixed), KeyError::MixedCase { kind: R });
    assert_eq!(
        err_recipient(&TEST_PK.to_uppercase()),
        KeyError::WrongCase {
            kind: R,
            found: "upper",
            expected: "lower"
        }
    );
    // `b` is not in the bech32 alphabet.
    let mut badchar = TEST_PK.to_owned();
    badchar.replace_range(20..21, "b");
    assert_eq!(
        err_recipient(&badchar),
        KeyError::InvalidCharacter {
            kind: R,
            position: 20
        }
    );
    assert_eq!(
        err_recipient(&format!("{TEST_PK} ")),
        KeyError::InvalidCharacter {
            kind: R,
            position: 62
        }
    );
    // Truncated: checksum fails.
    assert_eq!(
        err_recipient(&TEST_PK[..61]),
        KeyError::BadChecksum { kind: R }
    );
    assert_eq!(err_recipient("age1"), KeyError::BadChecksum { kind: R });
    // Valid checksum, wrong payload length.
    assert_eq!(
        err_recipient(&encode("age", &[7u8; 31])),
        KeyError::WrongLength { kind: R, found: 31 }
    );
    assert_eq!(
        err_recipient(&encode("age", &[7u8; 33])),
        KeyError::WrongLength { kind: R, found: 33 }
    );
    // Valid checksum, 32 bytes, but non-zero padding bits.
    let mut values: Vec<u8> = TEST_PK[4..TEST_PK.len() - 6]
        .bytes()
        .map(|c| {
            u8::try_from(
                b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"
                    .iter()
                    .position(|&s| s == c)
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    *values.last_mut().unwrap() |= 1;
    assert_eq!(
        err_recipient(&encode_values("age", &values)),
        KeyError::InvalidPadding { kind: R }
    );
    // The same payload with a bech32m checksum (BIP 350) is not bech32.
    if let Some(v) = values.last_mut() {
        *v &= !1;
    }
    let bech32m = crate::bech32::encode_values_with_constant("age", &values, 0x2bc8_30a3);
    assert_eq!(err_recipient(&bech32m), KeyError::BadChecksum { kind: R });
    assert!(
        ::bech32::primitives::decode::CheckedHrpstring::new::<::bech32::Bech32m>(&bech32m).is_ok()
    );
}

#[test]
fn malformed_identities() {
    use KeyKind::Identity as I;
    assert_eq!(err_identity(""), KeyError::Empty { kind: I });
    assert_eq!(err_identity(TEST_PK), KeyError::WrongPrefix { kind: I });
    assert_eq!(
        err_identity(&TEST_SK.replace("AGE-SECRET-KEY-1", "AGE-PLUGIN-KEY-1")),
        KeyError::WrongPrefix { kind: I }
    );
    let mut mixed = TEST_SK.to_owned();
    // Index 17 is the letter `Q` (index 20 would be a digit, which has no case).
    mixed.replace_range(17..18, &TEST_SK[17..18].to_lowercase());
    assert_eq!(err_identity(&mixed), KeyError::MixedCase { kind: I });
    assert_eq!(
        err_identity(&TEST_SK.to_lowercase()),
        KeyError::WrongCase {
            kind: I,
            found: "lower",
            expected: "upper"
        }
    );
    let mut badchar = TEST_SK.to_owned();
    badchar.replace_range(30..31, "O");
    assert_eq!(
        err_identity(&badchar),
        KeyError::InvalidCharacter {
            kind: I,
            position: 30
        }
    );
    let mut flipped = TEST_SK.to_owned();
    let c = if &TEST_SK[40..41] == "Q" { "P" } else { "Q" };
    flipped.replace_range(40..41, c);
    assert_eq!(err_identity(&flipped), KeyError::BadChecksum { kind: I });
    assert_eq!(
        err_identity(&encode("age-secret-key-", &[1u8; 16]).to_uppercase()),
        KeyError::WrongLength { kind: I, found: 16 }
    );
}

#[test]
fn errors_never_echo_the_secret() {
    let mut flipped = TEST_SK.to_owned();
    flipped.replace_range(40..41, if &TEST_SK[40..41] == "Q" { "P" } else { "Q" });
    let payload = &TEST_SK[16..];
    for bad in [
        flipped.clone(),
        TEST_SK.to_lowercase(),
        format!("{TEST_SK}!"),
        TEST_SK[..60].to_owned(),
    ] {
        let e = Identity::parse(&bad).unwrap_err();
        let msg = format!("{e} {e:?}");
        assert!(!msg.contains(&payload[..20]), "{msg}");
        assert!(!msg.to_uppercase().contains(&payload[..20]), "{msg}");
        let file = format!("# comment\n{bad}\n");
        let e = parse_key_file(&file, "keys.txt").unwrap_err();
        let msg = format!("{e} {e:?}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.to_uppercase().contains(&payload[..20]), "{msg}");
    }
}

#[test]
fn debug_redacts_identity() {
    let pair = AgeKeyPair::generate();
    let sk = pair.identity().secret().expose_secret().to_owned();
    let payload = &sk[16..];
    for dbg in [
        format!("{pair:?}"),
        format!("{pair:#?}"),
        format!("{:?}", pair.identity()),
        format!("{:?}", pair.to_kubernetes_secret()),
        format!("{:?}", pair.to_key_file_text()),
    ] {
        assert!(!dbg.contains(payload), "{dbg}");
        assert!(
            !dbg.to_lowercase().contains(&payload.to_lowercase()),
            "{dbg}"
        );
    }
    assert!(format!("{pair:?}").contains(pair.recipient().as_str()));
}

#[test]
fn key_file_format_matches_age_keygen() {
    let pair = AgeKeyPair::generate();
    let text = pair.to_key_file_text();
    let lines: Vec<&str> = text.expose_secret().lines().collect();
    assert_eq!(lines.len(), 3);
    let created = lines[0].strip_prefix("# created: ").unwrap();
    // RFC 3339, seconds precision, numeric offset or Z: 2026-11-27T12:00:00+01:00.
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert!(created.len() == 20 || created.len() == 25, "{created}");
    assert_eq!(lines[1], format!("# public key: {}", pair.recipient()));
    assert_eq!(lines[2], pair.identity().secret().expose_secret());
    assert!(text.expose_secret().ends_with('\n'));
}

#[test]
fn parse_several_identities_crlf_and_comments() {
    let a = AgeKeyPair::generate();
    let b = AgeKeyPair::generate();
    let text = format!(
        "\u{20}\r\n# created: 2026-01-01T00:00:00Z\r\n# public key: {}\r\n{}\r\n\r\n# other\n{}",
        a.recipient(),
        a.identity().secret().expose_secret(),
        b.identity().secret().expose_secret(),
    );
    let pairs = parse_key_file(&text, "keys.txt").unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].recipient(), a.recipient());
    assert_eq!(pairs[0].created(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(pairs[1].recipient(), b.recipient());
    assert_eq!(pairs[1].created(), None);

    // Written back, the text parses to the same pairs.
    let again = parse_key_file(key_file_text(&pairs).expose_secret(), "x").unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].recipient(), a.recipient());
    assert_eq!(again[1].recipient(), b.recipient());
}

#[test]
fn parse_errors() {
    // Non-ASCII text (a multi-byte character across byte 11) is an invalid line, not a panic.
    assert!(matches!(
        parse_key_file("AGE-PLUGINé-X\n", "k"),
        Err(KeyFileError::InvalidLine {
            line: 1,
            source: KeyError::WrongPrefix { .. },
            ..
        })
    ));
    assert!(matches!(
        parse_key_file("# only a comment\n\n", "keys.txt"),
        Err(KeyFileError::NoIdentity { .. })
    ));
    assert!(matches!(
        parse_key_file("", "standard input"),
        Err(KeyFileError::NoIdentity { origin }) if origin == "standard input"
    ));
    assert!(matches!(
        parse_key_file(&format!("{TEST_SK}\nAGE-PLUGIN-YUBIKEY-1QQQ\n"), "k"),
        Err(KeyFileError::PluginIdentity { line: 2, .. })
    ));
    assert!(matches!(
        parse_key_file(&format!("\n\n{TEST_PK}\n"), "k"),
        Err(KeyFileError::InvalidLine {
            line: 3,
            source: KeyError::WrongPrefix {
                kind: KeyKind::Identity
            },
            ..
        })
    ));
}

#[test]
fn write_is_0600_atomic_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.txt");
    let pair = AgeKeyPair::generate();
    pair.write_new(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, pair.to_key_file_text().expose_secret());
    let read = read_key_file(&path).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].recipient(), pair.recipient());
    assert_eq!(read[0].created(), pair.created());

    // A second write is refused and leaves the file alone.
    let other = AgeKeyPair::generate();
    assert!(matches!(
        other.write_new(&path),
        Err(KeyFileError::AlreadyExists { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    // No temporary files are left behind.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);

    // A dangling symlink counts as existing too.
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
    assert!(matches!(
        other.write_new(&link),
        Err(KeyFileError::AlreadyExists { .. })
    ));
    assert!(!dir.path().join("nowhere").exists());

    // Missing directory: a write error naming the path.
    let missing = dir.path().join("no/such/dir/keys.txt");
    assert!(matches!(
        other.write_new(&missing),
        Err(KeyFileError::Write { .. })
    ));

    // Recipients file: 0644, one per line.
    let rpath = dir.path().join("recipients.txt");
    write_recipients_file(
        &rpath,
        &[pair.recipient().clone(), other.recipient().clone()],
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&rpath).unwrap(),
        format!("{}\n{}\n", pair.recipient(), other.recipient())
    );
    assert_eq!(
        std::fs::metadata(&rpath).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn read_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    assert!(matches!(
        read_key_file(&missing),
        Err(KeyFileError::Read { .. })
    ));
    let binary = dir.path().join("bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    assert!(matches!(
        read_key_file(&binary),
        Err(KeyFileError::Read { .. })
    ));
}

#[test]
fn kubernetes_secret_for_flux() {
    let pair = Identity::parse(TEST_SK)
        .map(AgeKeyPair::from_identity)
        .unwrap();
    let s = pair.to_kubernetes_secret();
    assert_eq!(s.name(), "sops-age");
    assert_eq!(s.namespace(), "flux-system");
    assert_eq!(s.secret_type(), "Opaque");
    let entries: Vec<_> = s.string_data().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "age.agekey");
    assert!(entries[0].0.ends_with(".agekey"));
    assert_eq!(entries[0].1.expose_secret(), TEST_SK);
    // The constants pass the validators the checked constructors use.
    assert!(SecretManifest::new(SOPS_AGE_SECRET_NAME, SOPS_AGE_SECRET_NAMESPACE).is_ok());
    assert!(crate::names::validate_secret_key(SOPS_AGE_SECRET_KEY).is_ok());
}

/// `text` with every private key hidden, for failure messages.
fn redacted(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("AGE-SECRET-KEY-") {
                "AGE-SECRET-KEY-1… (hidden)"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn append_creates_or_extends_and_never_loses_a_key() {
    let dir = tempfile::tempdir().unwrap();
    // Missing folders are created (0700), the file 0600.
    let path = dir.path().join("config/sops/age/keys.txt");
    let first = AgeKeyPair::generate();
    let done = append_key_file(&path, &["psd: cluster key for /r".to_owned()], &first).unwrap();
    assert_eq!(
        done,
        Appended {
            path: path.clone(),
            created: true,
            keys_before: 0
        }
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("config/sops")), 0o700);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# psd: cluster key for /r\n# created: "),
        "{}",
        redacted(&text)
    );

    // An existing file written by someone else (no final newline, wider mode) keeps every byte.
    let theirs = format!("# my key\n{TEST_SK}");
    std::fs::write(&path, &theirs).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let second = AgeKeyPair::generate();
    let done = append_key_file(&path, &["a\nb".to_owned()], &second).unwrap();
    assert!(!done.created);
    assert_eq!(done.keys_before, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(&format!("{theirs}\n\n# a b\n")),
        "{}",
        redacted(&text)
    );
    assert_eq!(mode(&path), 0o600, "group and other bits are dropped");
    let pairs = read_key_file(&path).unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[1].recipient(), second.recipient());

    // A symbolic link is followed; the link stays a link.
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let done = append_key_file(&link, &[], &first).unwrap();
    assert_eq!(done.path, std::fs::canonicalize(&path).unwrap());
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(read_key_file(&path).unwrap().len(), 3);
    // No temporaries are left.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["keys.txt"]);
}

#[test]
fn stale_temporaries_are_removed_and_held_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    // What a killed run leaves: a complete key in `.psd-new-XXXXXX`, nobody holding it.
    let stale = dir.path().join(".psd-new-AbC123");
    std::fs::write(&stale, TEST_SK).unwrap();
    // One another process is writing right now (it holds the lock).
    let held = dir.path().join(".psd-new-XyZ789");
    std::fs::write(&held, "").unwrap();
    let holder = std::fs::File::open(&held).unwrap();
    holder.lock().unwrap();
    // A user's file that only looks similar stays.
    std::fs::write(dir.path().join("psd-new-notes"), "x").unwrap();

    // `psd keygen -o` cleans up before it writes.
    AgeKeyPair::generate()
        .write_new(&dir.path().join("k.txt"))
        .unwrap();
    assert!(!stale.exists());
    assert!(held.exists());
    drop(holder);
    let removed = remove_stale_key_temporaries(dir.path()).unwrap();
    assert_eq!(removed, std::slice::from_ref(&held));
    assert!(
        remove_stale_key_temporaries(&dir.path().join("missing"))
            .unwrap()
            .is_empty()
    );
    // A file where the folder should be holds no temporaries either.
    let file = dir.path().join("psd-new-notes");
    assert!(remove_stale_key_temporaries(&file).unwrap().is_empty());
}
