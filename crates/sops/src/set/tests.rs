use super::*;
use crate::api::parse_tree_path;

fn path(s: &str) -> Vec<PathComponent> {
    parse_tree_path(s).unwrap()
}

fn doc(items: Vec<Item>) -> Tree {
    Tree {
        branches: vec![items],
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn set_replaces_inserts_and_reports_change() {
    let mut t = doc(vec![Item::new("a", s("1")), Item::comment(" c")]);
    assert!(!set(&mut t, &path(r#"["a"]"#), s("1")).unwrap());
    assert!(set(&mut t, &path(r#"["a"]"#), s("2")).unwrap());
    assert_eq!(t.branches[0][0].value, s("2"));
    // Missing keys are appended, with the mappings and lists on the way.
    assert!(set(&mut t, &path(r#"["b"]["c"][0]["d"]"#), s("x")).unwrap());
    let want = Value::Map(vec![Item::new(
        "c",
        Value::List(vec![Value::Map(vec![Item::new("d", s("x"))])]),
    )]);
    assert_eq!(t.branches[0][2], Item::new("b", want));
    // An index past the end appends; inside the list it replaces.
    assert!(set(&mut t, &path(r#"["b"]["c"][7]"#), s("y")).unwrap());
    assert!(set(&mut t, &path(r#"["b"]["c"][1]"#), s("z")).unwrap());
    let Value::Map(b) = &t.branches[0][2].value else {
        panic!()
    };
    assert_eq!(
        b[0].value,
        Value::List(vec![Value::Map(vec![Item::new("d", s("x"))]), s("z")])
    );
    // A scalar in the way becomes the mapping the path needs.
    assert!(set(&mut t, &path(r#"["a"]["deep"]"#), s("v")).unwrap());
    assert_eq!(
        t.branches[0][0].value,
        Value::Map(vec![Item::new("deep", s("v"))])
    );
    // The comment stays where it was.
    assert_eq!(t.branches[0][1], Item::comment(" c"));
}

#[test]
fn list_indexes_skip_comments() {
    let mut t = doc(vec![Item::new(
        "l",
        Value::List(vec![
            Value::Comment(crate::tree::Comment::new("c")),
            s("a"),
            s("b"),
        ]),
    )]);
    assert!(set(&mut t, &path(r#"["l"][1]"#), s("B")).unwrap());
    unset(&mut t, &path(r#"["l"][0]"#)).unwrap();
    assert_eq!(
        t.branches[0][0].value,
        Value::List(vec![Value::Comment(crate::tree::Comment::new("c")), s("B")])
    );
}

#[test]
fn set_needs_a_key_first_and_creates_a_document() {
    let mut t = Tree::default();
    assert!(set(&mut t, &path(r#"["k"]"#), s("v")).unwrap());
    assert_eq!(t, doc(vec![Item::new("k", s("v"))]));
    assert!(set(&mut t, &path("[0]"), s("v")).is_err());
    assert!(set(&mut t, &[], s("v")).is_err());
}

#[test]
fn unset_removes_or_says_what_is_missing() {
    let mut t = doc(vec![
        Item::new(
            "a",
            Value::Map(vec![Item::new("b", s("1")), Item::new("c", s("2"))]),
        ),
        Item::new("l", Value::List(vec![s("x")])),
    ]);
    unset(&mut t, &path(r#"["a"]["b"]"#)).unwrap();
    assert_eq!(
        t.branches[0][0].value,
        Value::Map(vec![Item::new("c", s("2"))])
    );
    let msg = |p: &str, t: &mut Tree| unset(t, &path(p)).unwrap_err().to_string();
    assert_eq!(msg(r#"["a"]["b"]"#, &mut t), "Key not found: b");
    assert_eq!(msg(r#"["l"][3]"#, &mut t), "Index 3 out of bounds");
    assert_eq!(msg(r#"["nope"]"#, &mut t), "Key not found: nope");
    assert!(msg(r#"["a"]["c"]["x"]"#, &mut t).contains("Unsupported type"));
    let before = t.clone();
    assert!(unset(&mut t, &path(r#"["zz"]"#)).is_err());
    assert_eq!(t, before, "a failed unset changes nothing");
    unset(&mut t, &path(r#"["a"]"#)).unwrap();
    unset(&mut t, &path(r#"["l"]"#)).unwrap();
    assert_eq!(t, doc(vec![]));
}

#[test]
fn json_values_as_sops_reads_them() {
    assert_eq!(value_from_json(r#""x""#).unwrap(), s("x"));
    assert_eq!(value_from_json("5").unwrap(), Value::Float(5.0));
    assert_eq!(value_from_json(" true ").unwrap(), Value::Bool(true));
    assert_eq!(value_from_json("null").unwrap(), Value::Null);
    assert_eq!(value_from_json(r#""é\n\u0000""#).unwrap(), s("é\n\u{0}"));
    let m = value_from_json(r#"{"z": 1, "a": {"b": [1, "two"]}}"#).unwrap();
    let Value::Map(items) = m else { panic!() };
    assert_eq!(items[0].key.name(), Some("z"));
    assert_eq!(items[1].key.name(), Some("a"));
    for bad in ["", "x", "[1]", "{", "1 2", "1e999"] {
        let e = value_from_json(bad).unwrap_err();
        assert_eq!(
            e.exit_code(),
            crate::error::exit::INVALID_SET_FORMAT,
            "{bad}"
        );
    }
}

#[test]
fn a_mapping_indexed_by_position_or_a_list_by_key_is_refused_and_nothing_changes() {
    let mut t = doc(vec![
        Item::new(
            "creds",
            Value::Map(vec![
                Item::new("user", s("u-9f2")),
                Item::new("password", s("pw-7x1")),
            ]),
        ),
        Item::new("l", Value::List(vec![s("a")])),
    ]);
    let before = t.clone();
    for p in [
        r#"["creds"][0]"#,
        r#"["creds"][0]["x"]"#,
        r#"["l"]["k"]"#,
        r#"["l"][0]["k"]["m"]"#,
    ] {
        let e = set(&mut t, &path(p), s("x"));
        if p == r#"["l"][0]["k"]["m"]"# {
            // A scalar in the way (the list's item) is replaced, as sops does.
            assert!(e.unwrap());
            t = before.clone();
            continue;
        }
        let e = e.unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::INVALID_SET_FORMAT, "{p}");
        assert!(e.to_string().contains("cannot name a place"), "{p}: {e}");
        assert!(
            !e.to_string().contains("pw-7x1") && !e.to_string().contains("u-9f2"),
            "{e}"
        );
        assert_eq!(t, before, "{p}");
    }
}
