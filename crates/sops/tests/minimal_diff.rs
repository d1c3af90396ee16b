//! [`api::open`] and [`api::Opened::seal`]: a document changed after decryption is encrypted
//! again with its data key, every unchanged value (and comment) keeping its exact ciphertext,
//! so a change of one value changes one line besides the MAC and `lastmodified`.

use proptest::prelude::*;
use psd_sops::age::Recipient;
use psd_sops::api::{self, DecryptOptions, EncryptOptions};
use psd_sops::tree::{Item, Value};
use psd_sops::{Format, Identities, StoreOptions, set};

const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn identities() -> Identities {
    Identities::parse_key_file(&std::fs::read_to_string(KEY).unwrap()).unwrap()
}

fn recipient() -> Recipient {
    std::fs::read_to_string(KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .parse()
        .unwrap()
}

/// The lines of `new` that differ from `old`, which must have as many lines.
fn changed(old: &[u8], new: &[u8]) -> Vec<String> {
    let (old, new) = (
        String::from_utf8_lossy(old).into_owned(),
        String::from_utf8_lossy(new).into_owned(),
    );
    assert_eq!(
        old.lines().count(),
        new.lines().count(),
        "{old}\n---\n{new}"
    );
    old.lines()
        .zip(new.lines())
        .filter(|(a, b)| a != b)
        .map(|(_, b)| b.trim_start().split(':').next().unwrap_or("").to_owned())
        .collect()
}

fn reopen(bytes: &[u8]) -> api::Opened {
    api::open(
        bytes,
        Format::Yaml,
        &identities(),
        &DecryptOptions::default(),
    )
    .unwrap()
}

/// Keys and values with the edges: empty, unicode, YAML-special, long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,8}",
        "\\PC{0,12}",
        Just("true".to_owned()),
        Just("- x: [y]".to_owned()),
        "x{300,600}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn only_the_changed_value_mac_and_lastmodified_change(
        values in proptest::collection::vec(text(), 1..8),
        which in any::<prop::sample::Index>(),
        new in text(),
    ) {
        let mut doc = String::from("# header comment\n");
        for (i, v) in values.iter().enumerate() {
            doc.push_str(&format!("k{i}: {}\n", serde_json::to_string(v).unwrap()));
        }
        let enc = api::encrypt(doc.as_bytes(), Format::Yaml, &EncryptOptions::new(vec![recipient()]))
            .unwrap();

        // Sealed unchanged: only the MAC (and lastmodified, when the second has turned).
        let same = reopen(&enc).seal(Format::Yaml, StoreOptions::default()).unwrap();
        let diff = changed(&enc, &same);
        prop_assert!(diff.iter().all(|k| k == "mac" || k == "lastmodified"), "{:?}", diff);

        // One value changed: its line, the MAC, lastmodified.
        let i = which.index(values.len());
        let mut opened = reopen(&enc);
        let path = api::parse_tree_path(&format!("[\"k{i}\"]")).unwrap();
        let did = set::set(&mut opened.tree, &path, Value::Str(new.clone())).unwrap();
        prop_assert_eq!(did, new != values[i]);
        let out = opened.seal(Format::Yaml, StoreOptions::default()).unwrap();
        let diff = changed(&enc, &out);
        let key = format!("k{i}");
        let allowed = |k: &String| k == "mac" || k == "lastmodified" || (did && *k == key);
        prop_assert!(diff.iter().all(allowed), "{:?}", diff);
        prop_assert!(diff.iter().any(|k| k == "mac"));
        // An empty string is never encrypted: a change to or from it is still that line.
        prop_assert_eq!(diff.contains(&key), did);

        // And it decrypts to the changed document.
        let back = reopen(&out);
        let item = back.tree.branches[0]
            .iter()
            .find(|it| it.key.name() == Some(key.as_str()))
            .unwrap();
        prop_assert_eq!(&item.value, &Value::Str(new));
        let comment = back.tree.branches[0].first().unwrap();
        prop_assert_eq!(comment, &Item::comment(" header comment"));
    }
}

#[test]
fn a_value_of_another_type_or_place_gets_a_new_ciphertext() {
    let enc = api::encrypt(
        b"a: '1'\nb: x\n",
        Format::Yaml,
        &EncryptOptions::new(vec![recipient()]),
    )
    .unwrap();
    // The same text as a number, and the same value moved under another key: both are new
    // ciphertexts (the AAD names the key, the type is part of what is encrypted).
    let mut opened = reopen(&enc);
    set::set(
        &mut opened.tree,
        &api::parse_tree_path(r#"["a"]"#).unwrap(),
        Value::Int(1),
    )
    .unwrap();
    set::set(
        &mut opened.tree,
        &api::parse_tree_path(r#"["c"]"#).unwrap(),
        Value::Str("x".into()),
    )
    .unwrap();
    let out =
        String::from_utf8(opened.seal(Format::Yaml, StoreOptions::default()).unwrap()).unwrap();
    let old = String::from_utf8(enc).unwrap();
    let enc_of = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key}: ")))
            .unwrap()
            .to_owned()
    };
    assert_ne!(enc_of(&out, "a"), enc_of(&old, "a"));
    assert_eq!(enc_of(&out, "b"), enc_of(&old, "b"));
    let (b, c) = (enc_of(&out, "b"), enc_of(&out, "c"));
    assert_ne!(
        b[3..],
        c[3..],
        "another key's value must not reuse b's ciphertext"
    );
}

/// From a few hundred values on, decryption runs on two threads: the MAC (fed in document
/// order), the stash (every value keeps its ciphertext) and the error for a value that does
/// not decrypt (the first one in document order) must not depend on which thread did what.
#[test]
fn many_values_decrypted_on_two_threads_keep_order_mac_and_ciphertexts() {
    let mut doc = String::from("# header\nlist:\n");
    let samples = [
        "0",
        "-7",
        "1.5",
        "true",
        "false",
        "\"\"",
        "\"héllo ☃\"",
        "\"a: b\"",
        "\"#x\"",
    ];
    for i in 0..700 {
        if i % 97 == 0 {
            doc.push_str(&format!("    # comment {i}\n"));
        }
        // Equal values under one path share one ciphertext (as with sops's stash): make the
        // list's values distinct, but for the empty string, which is never encrypted.
        let item = match i % 5 {
            0 => format!("{i}"),
            1 => format!("-{i}.5"),
            2 => format!("\"héllo ☃ {i}\""),
            3 => format!("\"a: {i}\""),
            _ => "\"\"".to_owned(),
        };
        doc.push_str(&format!("    - {item}\n"));
    }
    doc.push_str("map:\n");
    for i in 0..700 {
        doc.push_str(&format!("    k{i}: {}\n", samples[(i * 7) % samples.len()]));
    }
    doc.push_str(&format!("    long: \"{}\"\n", "y".repeat(5000)));
    let enc = api::encrypt(
        doc.as_bytes(),
        Format::Yaml,
        &EncryptOptions::new(vec![recipient()]),
    )
    .unwrap();

    // Opening verifies the MAC; sealing the same document reuses every ciphertext.
    let opened = reopen(&enc);
    let items = |name: &str| -> usize {
        match &opened.tree.branches[0]
            .iter()
            .find(|it| it.key.name() == Some(name))
            .unwrap()
            .value
        {
            Value::List(l) => l.iter().filter(|v| !matches!(v, Value::Comment(_))).count(),
            Value::Map(m) => m.iter().filter(|i| i.key.name().is_some()).count(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((items("list"), items("map")), (700, 701));
    let same = opened.seal(Format::Yaml, StoreOptions::default()).unwrap();
    let diff = changed(&enc, &same);
    assert!(
        diff.iter().all(|k| k == "mac" || k == "lastmodified"),
        "{diff:?}"
    );

    // Two values that do not decrypt (each swapped with its neighbour: the AAD no longer
    // matches), one early and one late: the early one is named.
    let text = String::from_utf8(enc).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = |lines: &[String], key: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{key}: ")))
            .unwrap()
    };
    for (a, b) in [("k600", "k601"), ("k100", "k102")] {
        let (i, j) = (at(&lines, a), at(&lines, b));
        let vi = lines[i].split_once(": ").unwrap().1.to_owned();
        let vj = lines[j].split_once(": ").unwrap().1.to_owned();
        lines[i] = format!("    {a}: {vj}");
        lines[j] = format!("    {b}: {vi}");
    }
    let tampered = lines.join("\n") + "\n";
    let err = api::open(
        tampered.as_bytes(),
        Format::Yaml,
        &identities(),
        &DecryptOptions::default(),
    )
    .expect_err("a swapped value must not decrypt");
    assert!(
        matches!(&err, psd_sops::Error::DecryptValue { path, .. } if path == "map:k100"),
        "{err:?}"
    );
}
