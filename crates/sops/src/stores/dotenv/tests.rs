use super::*;
use crate::flatten::testutil::{read, sops, sops_decrypt, sops_reemit, vectors};
use proptest::prelude::*;

fn store() -> DotenvStore {
    DotenvStore::new(StoreOptions::default())
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn parsing_rules() {
    let input = b"# c1\nA=1\n\nB= spaced \"q\" \nC=x=y\\nz\r\nexport D=1\n#\n";
    let t = store().load_plain(input).unwrap();
    assert_eq!(
        t.branches[0],
        vec![
            Item::comment(" c1"),
            Item::new("A", s("1")),
            Item::new("B", s(" spaced \"q\" ")),
            Item::new("C", s("x=y\nz\r")),
            Item::new("export D", s("1")),
            Item::comment(""),
        ]
    );
    let e = store().load_plain(b"A=1\nno equals here\n").unwrap_err();
    assert!(matches!(e, Error::Parse { line: Some(2), .. }), "{e}");
    assert!(
        !e.to_string().contains("no equals here"),
        "no file content in errors"
    );
    assert!(matches!(
        store().load_plain(b"A=1\nsops_mac=x\n"),
        Err(Error::AlreadyEncrypted)
    ));
    assert!(matches!(
        store().load_encrypted(b"A=1\n"),
        Err(Error::MetadataNotFound)
    ));
    // Not UTF-8: the exact bytes are kept.
    let t = store().load_plain(b"K=\xff\\n\n").unwrap();
    assert_eq!(t.branches[0][0].value, Value::Bytes(b"\xff\n".to_vec()));
    assert_eq!(store().emit_plain(&t).unwrap(), b"K=\xff\\n\n");
}

#[test]
fn emission() {
    let tree = Tree {
        branches: vec![vec![
            Item::comment("x"),
            Item::new("A", s("multi\nline")),
            Item::new("I", Value::Int(3)),
            Item::new("F", Value::Float(2.0)),
            Item::new("B", Value::Bool(true)),
        ]],
    };
    assert_eq!(
        String::from_utf8(store().emit_plain(&tree).unwrap()).unwrap(),
        "#x\nA=multi\\nline\nI=3\nF=2.0\nB=true\n"
    );
    let nested = Tree {
        branches: vec![vec![Item::new("N", Value::Map(vec![]))]],
    };
    assert!(matches!(
        store().emit_plain(&nested),
        Err(Error::Emit { .. })
    ));
    let meta = Value::Map(vec![
        Item::new(
            "age",
            Value::List(vec![Value::Map(vec![
                Item::new("enc", s("-----BEGIN\nabc\n")),
                Item::new("recipient", s("age1x")),
            ])]),
        ),
        Item::new("mac", s("ENC[x]")),
        Item::new("shamir_threshold", Value::Int(2)),
    ]);
    let out = store().emit_encrypted(&tree, &meta).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with(
        "sops_age__list_0__map_enc=-----BEGIN\\nabc\\n\nsops_age__list_0__map_recipient=age1x\nsops_mac=ENC[x]\nsops_shamir_threshold=2\n"
    ));
    assert!(text.contains("sops_mac=ENC["), "Flux marker");
    let (t2, m2) = store().load_encrypted(&out).unwrap();
    assert_eq!(
        m2.clone(),
        Value::Map(vec![
            Item::new(
                "age",
                Value::List(vec![Value::Map(vec![
                    Item::new("enc", s("-----BEGIN\nabc\n")),
                    Item::new("recipient", s("age1x")),
                ])]),
            ),
            Item::new("mac", s("ENC[x]")),
            Item::new("shamir_threshold", s("2")),
        ])
    );
    assert_eq!(t2.branches[0].len(), 5);
    let bad = Tree {
        branches: vec![vec![Item::new("sops_x", s("1"))]],
    };
    assert!(matches!(
        store().emit_encrypted(&bad, &meta),
        Err(Error::Emit { .. })
    ));
}

#[test]
fn vectors_load_encrypted() {
    let cases = [
        ("generated-sops-3.11.0", "app.enc.env", true),
        ("spec-roundtrip", "app.enc.env", true),
        ("humphd-sops-age", "secret.enc.env", false),
        ("fluxcd-kustomize-controller", "envs-env.env", false),
        ("fluxcd-kustomize-controller", "component-env.env", false),
    ];
    for (folder, file, has_plain_twin) in cases {
        let Some(dir) = vectors(folder) else { return };
        let bytes = read(&dir, file);
        let (tree, meta) = store().load_encrypted(&bytes).unwrap();
        let Value::Map(m) = &meta else { panic!() };
        for key in ["lastmodified", "mac", "version"] {
            assert!(m.iter().any(|i| i.key.name() == Some(key)), "{file}: {key}");
        }
        let Some(Value::List(age)) = m
            .iter()
            .find(|i| i.key.name() == Some("age"))
            .map(|i| &i.value)
        else {
            panic!("{file}: no age list")
        };
        for entry in age {
            let Value::Map(e) = entry else { panic!() };
            let enc = e.iter().find(|i| i.key.name() == Some("enc")).unwrap();
            let Value::Str(enc) = &enc.value else {
                panic!()
            };
            assert!(
                enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
                "{file}"
            );
            assert!(
                enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"),
                "{file}"
            );
        }
        assert!(
            tree.branches[0]
                .iter()
                .all(|i| !i.key.name().is_some_and(|k| k.starts_with("sops_")))
        );
        if has_plain_twin {
            let plain = store().load_plain(&read(&dir, "app.plain.env")).unwrap();
            let names = |t: &Tree| -> Vec<Option<String>> {
                t.branches[0]
                    .iter()
                    .map(|i| i.key.name().map(str::to_owned))
                    .collect()
            };
            assert_eq!(names(&tree), names(&plain), "{folder}/{file}");
        }
        // Our 3.13 writer: data lines unchanged; metadata is the structural walk of the
        // (sorted) map. For a 3.11 file (sorted flat keys) with one recipient, that is the
        // same byte order, so the whole file comes back identical.
        let out = store().emit_encrypted(&tree, &meta).unwrap();
        let (t3, m3) = store().load_encrypted(&out).unwrap();
        assert_eq!((t3, m3), (tree, meta.clone()));
        if folder == "generated-sops-3.11.0" {
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(bytes).unwrap()
            );
        }
    }
}

#[test]
fn plain_twin_matches_sops_decrypt() {
    let Some(dir) = vectors("generated-sops-3.11.0") else {
        return;
    };
    let Some(sops) = sops() else { return };
    let decrypted = sops_decrypt(&sops, &dir.join("key_a.txt"), &dir.join("app.enc.env"), &[]);
    let ours = store()
        .emit_plain(&store().load_plain(&read(&dir, "app.plain.env")).unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&decrypted)
    );
    let again = store()
        .emit_plain(&store().load_plain(&decrypted).unwrap())
        .unwrap();
    assert_eq!(again, decrypted);
}

fn arb_tree() -> impl Strategy<Value = Tree> {
    let key =
        "[A-Za-z_][A-Za-z0-9_. -]{0,12}".prop_filter("no sops_/#", |k| !k.starts_with("sops_"));
    let value = "[^\\\\]{0,20}".prop_map(|v: String| v); // any text without backslashes
    let item = prop_oneof![
        4 => (key, value).prop_map(|(k, v)| Item::new(k, Value::Str(v))),
        1 => "[^\n]{0,20}".prop_map(Item::comment),
    ];
    prop::collection::vec(item, 0..10).prop_map(|items| Tree {
        branches: vec![items],
    })
}

proptest! {
    /// load ∘ emit is the identity (values may contain newlines, `=`, quotes, `\r`).
    #[test]
    fn emit_load_roundtrip(tree in arb_tree()) {
        let bytes = store().emit_plain(&tree).unwrap();
        prop_assert_eq!(store().load_plain(&bytes).unwrap(), tree);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// The real sops reads our dotenv output and writes it back byte for byte.
    #[test]
    fn sops_reemits_our_output(tree in arb_tree()) {
        let Some(dir) = vectors("generated-sops-3.11.0") else { return Ok(()) };
        let Some(sops) = sops() else { return Ok(()) };
        let ours = store().emit_plain(&tree).unwrap();
        prop_assume!(!ours.is_empty());
        let theirs = sops_reemit(&sops, &dir, "dotenv", &ours);
        prop_assert_eq!(String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours));
    }
}

/// dotenv lines as people write them: quotes, `export`, spaces, `\n`, CR, comments, blanks.
fn arb_dotenv_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        ("[A-Z_]{1,6}", "[A-Za-z0-9 =\"'#:/.]{0,14}").prop_map(|(k, v)| format!("{k}={v}")),
        ("[A-Z_]{1,6}", "[a-z]{0,5}").prop_map(|(k, v)| format!("export {k}=\"{v}\"")),
        ("[A-Z_]{1,6}", "[a-z]{0,5}").prop_map(|(k, v)| format!(" {k} = {v} ")),
        ("[A-Z_]{1,6}", "[a-z]{0,5}", "[a-z]{0,5}").prop_map(|(k, a, b)| format!("{k}={a}\\n{b}")),
        ("[A-Z_]{1,6}", "[a-z]{0,5}").prop_map(|(k, v)| format!("{k}={v}\r")),
        "[ -~]{0,12}".prop_map(|c| format!("#{c}")),
        Just(String::new()),
    ];
    prop::collection::vec(line, 1..10).prop_map(|l| l.join("\n") + "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Our dotenv reader agrees with sops' for hand-written text.
    #[test]
    fn parser_agrees_with_sops(text in arb_dotenv_text()) {
        let Some(dir) = vectors("generated-sops-3.11.0") else { return Ok(()) };
        let Some(sops) = sops() else { return Ok(()) };
        let ours = store().emit_plain(&store().load_plain(text.as_bytes()).unwrap()).unwrap();
        prop_assume!(!ours.is_empty());
        let theirs = sops_reemit(&sops, &dir, "dotenv", text.as_bytes());
        prop_assert_eq!(String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours), "input {:?}", text);
    }
}
