use super::*;
use crate::flatten::testutil::{read, run_sops, sops, sops_decrypt, sops_reemit, vectors};
use crate::tree::Comment;
use proptest::prelude::*;

fn store() -> JsonStore {
    JsonStore::new(StoreOptions::default())
}

fn esc(s: &str) -> String {
    let mut out = String::new();
    go_json_string(s.as_bytes(), &mut out);
    out
}

#[test]
fn go_escaping() {
    assert_eq!(
        esc("<a href=\"x\">&amp;</a>"),
        r#""\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e""#
    );
    assert_eq!(esc("tab\there\nnl\r"), r#""tab\there\nnl\r""#);
    assert_eq!(
        esc("\u{8}\u{c}\u{0}\u{1f}\u{7f}"),
        "\"\\b\\f\\u0000\\u001f\u{7f}\""
    );
    assert_eq!(esc("a\u{2028}b\u{2029}"), r#""a\u2028b\u2029""#);
    assert_eq!(esc("Grüße ✓ 😀"), "\"Grüße ✓ 😀\"");
    assert_eq!(esc("back\\slash/"), r#""back\\slash/""#);
    let mut out = String::new();
    go_json_string(b"a\xffb\xe2\x82", &mut out);
    assert_eq!(out, r#""a\ufffdb\ufffd\ufffd""#);
}

#[test]
fn layout_like_go_indent() {
    let tree = Tree {
        branches: vec![vec![
            Item::comment(" dropped"),
            Item::new("a", Value::Int(1)),
            Item::new("e", Value::Map(vec![])),
            Item::new("l", Value::List(vec![])),
            Item::new(
                "n",
                Value::List(vec![
                    Value::Float(1.5),
                    Value::Comment(Comment::new("x")),
                    Value::Map(vec![Item::new("b", Value::Null)]),
                ]),
            ),
        ]],
    };
    let tab = String::from_utf8(store().emit_plain(&tree).unwrap()).unwrap();
    assert_eq!(
        tab,
        "{\n\t\"a\": 1,\n\t\"e\": {},\n\t\"l\": [],\n\t\"n\": [\n\t\t1.5,\n\t\t{\n\t\t\t\"b\": null\n\t\t}\n\t]\n}\n"
    );
    let two = JsonStore::new(StoreOptions {
        json_indent: Some(2),
        ..StoreOptions::default()
    });
    let out = String::from_utf8(two.emit_plain(&tree).unwrap()).unwrap();
    assert!(out.starts_with("{\n  \"a\": 1,\n  \"e\": {},"), "{out}");
    let zero = JsonStore::new(StoreOptions {
        json_indent: Some(0),
        ..StoreOptions::default()
    });
    let out = String::from_utf8(zero.emit_plain(&tree).unwrap()).unwrap();
    assert!(out.starts_with("{\n\"a\": 1,\n\"e\": {},"), "{out}");
    assert_eq!(
        String::from_utf8(store().emit_plain(&Tree::default()).unwrap()).unwrap(),
        "{}\n"
    );
}

#[test]
fn metadata_last_with_flux_marker() {
    let meta = Value::Map(vec![
        Item::new("lastmodified", Value::Str("2026-01-01T00:00:00Z".into())),
        Item::new(
            "mac",
            Value::Str("ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into()),
        ),
    ]);
    let tree = Tree {
        branches: vec![vec![Item::new("k", Value::Str("v".into()))]],
    };
    let out = String::from_utf8(store().emit_encrypted(&tree, &meta).unwrap()).unwrap();
    assert!(out.contains("\"mac\": \"ENC["), "{out}");
    assert!(out.ends_with("\t\"sops\": {\n\t\t\"lastmodified\": \"2026-01-01T00:00:00Z\",\n\t\t\"mac\": \"ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\"\n\t}\n}\n"));
    let (t2, m2) = store().load_encrypted(out.as_bytes()).unwrap();
    assert_eq!(t2, tree);
    assert_eq!(m2, meta);
    // A data key `sops` is reserved.
    let bad = Tree {
        branches: vec![vec![Item::new("sops", Value::Null)]],
    };
    assert!(matches!(
        store().emit_encrypted(&bad, &meta),
        Err(Error::Emit { .. })
    ));
}

#[test]
fn reading_rules() {
    let t = store()
        .load_plain(br#"{"a": 1, "a": 2.5, "b": 9223372036854775807, "c": 9223372036854775808, "d": -0, "e": 1e2, "s": "\u00e9\ud83d\ude00\ud800x"}"#)
        .unwrap();
    let b = &t.branches[0];
    assert_eq!(b.len(), 7, "duplicates kept");
    assert_eq!(b[0].value, Value::Int(1));
    assert_eq!(b[1].value, Value::Float(2.5));
    assert_eq!(b[2].value, Value::Int(i64::MAX));
    assert_eq!(b[3].value, Value::Float(9223372036854775808.0));
    assert_eq!(b[4].value, Value::Int(0));
    assert_eq!(b[5].value, Value::Float(100.0));
    assert_eq!(b[6].value, Value::Str("é😀\u{FFFD}x".into()));
    for bad in [
        &b"[1]"[..],
        b"\"x\"",
        b"",
        b"{\"a\": }",
        b"{\"a\": 1",
        b"{\"a\": 1e999}",
        b"{\"a\": \"\x01\"}",
        b"{'a': 1}",
    ] {
        let e = store().load_plain(bad).unwrap_err();
        assert!(matches!(e, Error::Parse { .. }), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
    let e = store().load_plain(b"[1]").unwrap_err();
    assert!(e.to_string().contains("top-level object"), "{e}");
    assert!(matches!(
        store().load_plain(b"{\"sops\": {}}"),
        Err(Error::AlreadyEncrypted)
    ));
    assert!(matches!(
        store().load_encrypted(b"{\"a\": 1}"),
        Err(Error::MetadataNotFound)
    ));
    let e = store()
        .load_encrypted(b"{\"sops\": {}, \"sops\": {}}")
        .unwrap_err();
    assert!(e.to_string().contains("duplicate sops"), "{e}");
    let e = store().load_encrypted(b"{\"sops\": 1}").unwrap_err();
    assert!(e.to_string().contains("not a mapping"), "{e}");
    // Deep nesting is an error, not a stack overflow.
    let deep = |n: usize| format!("{{\"a\": {}{}}}", "[".repeat(n), "]".repeat(n));
    assert!(store().load_plain(deep(100_000).as_bytes()).is_err());
    assert!(store().load_plain(deep(MAX_DEPTH).as_bytes()).is_err());
    let ok = store().load_plain(deep(MAX_DEPTH - 1).as_bytes()).unwrap();
    let again = store()
        .load_plain(&store().emit_plain(&ok).unwrap())
        .unwrap();
    assert_eq!(again, ok);
}

#[test]
fn vectors_load_encrypted() {
    let cases = [
        ("generated-sops-3.11.0", "mixed.enc.json", 17),
        ("generated-sops-3.11.0", "encrypted-suffix.enc.json", 0),
        (
            "generated-sops-3.11.0",
            "indent2-two-recipients.enc.json",
            0,
        ),
        ("humphd-sops-age", "secret.enc.json", 0),
        ("spec-roundtrip", "mixed.enc.json", 17),
    ];
    for (folder, file, n) in cases {
        let Some(dir) = vectors(folder) else { return };
        let bytes = read(&dir, file);
        let (tree, meta) = store().load_encrypted(&bytes).unwrap();
        assert_eq!(tree.branches.len(), 1);
        if n > 0 {
            assert_eq!(tree.branches[0].len(), n, "{file}");
        }
        let Value::Map(m) = &meta else {
            panic!("{file}: metadata not a map")
        };
        for key in ["lastmodified", "mac", "version", "age"] {
            assert!(m.iter().any(|i| i.key.name() == Some(key)), "{file}: {key}");
        }
        // Re-emitting what we read gives back sops' bytes (same indent, same order).
        let indent = if file.starts_with("indent2") || folder == "humphd-sops-age" {
            Some(2)
        } else {
            None
        };
        let s = JsonStore::new(StoreOptions {
            json_indent: indent,
            ..StoreOptions::default()
        });
        let out = s.emit_encrypted(&tree, &meta).unwrap();
        let mut expected = bytes.clone();
        if folder == "humphd-sops-age" && !expected.ends_with(b"\n") {
            // sops < 3.10 wrote no trailing newline.
            expected.push(b'\n');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(expected).unwrap(),
            "{folder}/{file}"
        );
    }
}

#[test]
fn vectors_plain_twins_match_sops_decrypt() {
    let Some(dir) = vectors("generated-sops-3.11.0") else {
        return;
    };
    let Some(sops) = sops() else { return };
    let key = dir.join("key_a.txt");
    for (enc, plain) in [
        ("mixed.enc.json", "mixed.plain.json"),
        ("encrypted-suffix.enc.json", "encrypted-suffix.plain.json"),
    ] {
        let decrypted = sops_decrypt(&sops, &key, &dir.join(enc), &[]);
        // Our emission of the plain twin equals sops' decrypted output byte for byte.
        let tree = store().load_plain(&read(&dir, plain)).unwrap();
        let ours = String::from_utf8(store().emit_plain(&tree).unwrap()).unwrap();
        // The 3.11 binary read 9007199254740993 as a float64 (9007199254740992) when it
        // encrypted the file; we keep the integer exactly (3.13.2 behaviour).
        let ours = ours.replace("9007199254740993", "9007199254740992");
        assert_eq!(ours, String::from_utf8_lossy(&decrypted), "{plain}");
        // And sops' output goes through load_plain → emit_plain unchanged.
        let again = store()
            .emit_plain(&store().load_plain(&decrypted).unwrap())
            .unwrap();
        assert_eq!(again, decrypted, "{enc}");
    }
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Non-integral finite floats (integral ones re-read as Int, by design).
        (any::<f64>().prop_filter("finite non-integral", |f| f.is_finite() && f.fract() != 0.0))
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
        "[<>&\"\\\\\u{2028}\u{0}-\u{1f}a-z é✓]{0,12}".prop_map(Value::Str),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop::collection::vec((any::<String>(), inner), 0..5)
                .prop_map(|v| Value::Map(v.into_iter().map(|(k, v)| Item::new(k, v)).collect())),
        ]
    })
}

pub(crate) fn arb_json_tree() -> impl Strategy<Value = Tree> {
    prop::collection::vec(
        (
            "[a-zA-Z_<&][a-zA-Z0-9_ ]{0,10}".prop_filter("sops", |k| k != "sops"),
            arb_value(),
        ),
        0..8,
    )
    .prop_map(|items| Tree {
        branches: vec![items.into_iter().map(|(k, v)| Item::new(k, v)).collect()],
    })
}

proptest! {
    /// load ∘ emit is the identity on trees without comments and with integral numbers as Int.
    #[test]
    fn emit_load_roundtrip(tree in arb_json_tree(), indent in prop::option::of(0usize..5)) {
        let s = JsonStore::new(StoreOptions { json_indent: indent, ..StoreOptions::default() });
        let bytes = s.emit_plain(&tree).unwrap();
        prop_assert_eq!(s.load_plain(&bytes).unwrap(), tree);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// The real sops re-emits our output unchanged (it reads it and writes it back the same).
    #[test]
    fn sops_reemits_our_output(tree in arb_json_tree()) {
        let Some(dir) = vectors("generated-sops-3.11.0") else { return Ok(()) };
        let Some(sops) = sops() else { return Ok(()) };
        // sops ≤ 3.13.1 reads numbers as float64, so keep numbers out of the comparison
        // where that changes them (|i| > 2^53).
        let tree = Tree { branches: vec![tree.branches[0].iter().map(|i| Item { key: i.key.clone(), value: small_ints(&i.value) }).collect()] };
        let ours = store().emit_plain(&tree).unwrap();
        let theirs = sops_reemit(&sops, &dir, "json", &ours);
        prop_assert_eq!(String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours));
    }
}

fn small_ints(v: &Value) -> Value {
    match v {
        Value::Int(i) => Value::Int(i % (1 << 50)),
        Value::List(l) => Value::List(l.iter().map(small_ints).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|i| Item {
                    key: i.key.clone(),
                    value: small_ints(&i.value),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn sops_reads_our_encrypted_layout() {
    // sops decrypts a JSON file whose metadata we re-emitted (3.13 sorted order from the
    // spec-roundtrip vector) — the layout we write is accepted.
    let Some(dir) = vectors("spec-roundtrip") else {
        return;
    };
    let Some(sops) = sops() else { return };
    let (tree, meta) = store()
        .load_encrypted(&read(&dir, "mixed.enc.json"))
        .unwrap();
    let ours = store().emit_encrypted(&tree, &meta).unwrap();
    let plain = run_sops(
        &sops,
        &dir.join("key_a.txt"),
        &[
            "decrypt",
            "--input-type",
            "json",
            "--output-type",
            "json",
            "/dev/stdin",
        ],
        &ours,
    );
    let expected = store()
        .emit_plain(&store().load_plain(&read(&dir, "mixed.plain.json")).unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&plain),
        String::from_utf8_lossy(&expected)
    );
}

/// JSON text in the forms people write: odd number spellings, escapes, whitespace, duplicates.
fn arb_json_text() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("1e2".to_owned()),
        // (`-0` is left out: the 3.11 judge reads it as float -0 and writes `-0`; 3.13.2 and
        // we read the integer 0.)
        Just("-0.0".to_owned()),
        Just("1.50".to_owned()),
        Just("0.000001".to_owned()),
        Just("1E-7".to_owned()),
        Just("123456789012".to_owned()),
        Just("2.5e+300".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just(r#""\u00e9\/\ud83d\ude00\b\f\u0001<>&""#.to_owned()),
        Just(r#""\u2028 \ud800 x""#.to_owned()),
        "[a-z ✓é]{0,6}".prop_map(|s| format!("\"{s}\"")),
    ];
    let ws = prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t"), Just("\r\n")];
    let key = prop_oneof![Just("a"), Just("b"), Just("<k>"), Just("é")];
    scalar
        .prop_recursive(3, 20, 4, move |inner| {
            let ws = ws.clone();
            prop_oneof![
                prop::collection::vec((inner.clone(), ws.clone()), 0..4).prop_map(|v| {
                    let items: Vec<String> =
                        v.into_iter().map(|(x, w)| format!("{w}{x}{w}")).collect();
                    format!("[{}]", items.join(","))
                }),
                prop::collection::vec((key.clone(), inner, ws), 0..4).prop_map(|v| {
                    let items: Vec<String> = v
                        .into_iter()
                        .map(|(k, x, w)| format!("{w}\"{k}\"{w}:{w}{x}"))
                        .collect();
                    format!("{{{}}}", items.join(","))
                }),
            ]
        })
        .prop_map(|v| format!("{{\"root\": {v}, \"k\" :1}}\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Our JSON reader and writer agree with sops' for hand-written JSON text.
    #[test]
    fn parser_agrees_with_sops(text in arb_json_text()) {
        let Some(dir) = vectors("generated-sops-3.11.0") else { return Ok(()) };
        let Some(sops) = sops() else { return Ok(()) };
        let ours = store().emit_plain(&store().load_plain(text.as_bytes()).unwrap()).unwrap();
        let theirs = sops_reemit(&sops, &dir, "json", text.as_bytes());
        prop_assert_eq!(String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours), "input {:?}", text);
    }
}

/// The escaping rules of Go's `encoding/json`, written out char by char (the reference the
/// fast escaper is checked against).
fn reference_escape(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest! {
    #[test]
    fn fast_escape_matches_reference(s in prop_oneof![any::<String>(), "[\u{0}-\u{7f}\u{2027}-\u{202a}é✓<>&]{0,30}"]) {
        prop_assert_eq!(esc(&s), reference_escape(&s));
    }
}
