use proptest::prelude::*;

use super::*;

fn doc(yaml: &str) -> Tree {
    if yaml.is_empty() {
        return Tree::default();
    }
    crate::store_for(crate::Format::Yaml, crate::StoreOptions::default())
        .load_plain(yaml.as_bytes())
        .unwrap()
}

fn yaml(t: &Tree) -> String {
    let out = crate::store_for(crate::Format::Yaml, crate::StoreOptions::default())
        .emit_plain(t)
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn merged(b: &str, o: &str, t: &str) -> Result<String, Vec<String>> {
    three_way(&doc(b), &doc(o), &doc(t))
        .map(|t| yaml(&t))
        .map_err(|cs| cs.iter().map(ToString::to_string).collect())
}

#[test]
fn different_values_merge_the_same_value_conflicts() {
    let base = "a: 1\nb: 2\nc:\n    d: 3\n    e: 4\n";
    assert_eq!(
        merged(
            base,
            "a: 10\nb: 2\nc:\n    d: 3\n    e: 4\n",
            "a: 1\nb: 20\nc:\n    d: 3\n    e: 40\n"
        )
        .unwrap(),
        "a: 10\nb: 20\nc:\n    d: 3\n    e: 40\n"
    );
    // Added and removed keys on either side.
    assert_eq!(
        merged(
            base,
            "a: 1\nc:\n    d: 3\n    e: 4\nnew: x\n",
            "a: 1\nb: 2\nc:\n    d: 3\n    e: 4\nmore: z\n"
        )
        .unwrap(),
        "a: 1\nc:\n    d: 3\n    e: 4\nnew: x\nmore: z\n"
    );
    // The same change on both sides is no conflict.
    assert_eq!(merged(base, "a: 5\n", "a: 5\n").unwrap(), "a: 5\n");
    // Conflicts name the path and never a value.
    let e = merged(
        base,
        "a: 10\nb: 2\nc:\n    d: 30\n",
        "a: 11\nb: 2\nc:\n    d: 31\n    e: 40\n",
    )
    .unwrap_err();
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].starts_with(r#"["a"]: both sides changed it"#), "{e:?}");
    assert!(e.iter().any(|c| c.starts_with(r#"["c"]["d"]"#)), "{e:?}");
    assert!(
        e.iter()
            .any(|c| c.contains(r#"["c"]["e"]: this side removed it"#)),
        "{e:?}"
    );
    assert!(
        e.iter()
            .all(|c| !c.contains("10") && !c.contains("31") && !c.contains("40")),
        "{e:?}"
    );
    // Added on both sides with different values (a file new on both branches).
    let e = merged("", "k: a\n", "k: b\n").unwrap_err();
    assert!(e[0].contains("both sides added it"), "{e:?}");
}

#[test]
fn lists_are_whole_and_comments_are_not_dropped() {
    let base = "# top\nl:\n    - 1\n    - 2\nk: v\n";
    // A list changed on one side is taken whole.
    assert_eq!(
        merged(
            base,
            "# top\nl:\n    - 1\n    - 2\n    - 3\nk: v\n",
            "# top\nl:\n    - 1\n    - 2\nk: w\n"
        )
        .unwrap(),
        "# top\nl:\n    - 1\n    - 2\n    - 3\nk: w\n"
    );
    let e = merged(
        base,
        "# top\nl:\n    - 1\nk: v\n",
        "# top\nl:\n    - 2\nk: v\n",
    )
    .unwrap_err();
    assert!(e[0].starts_with(r#"["l"]"#), "{e:?}");
    // Our comments stay; a comment only the other side changed is reported, not lost.
    assert_eq!(
        merged(base, "# mine\nl:\n    - 1\n    - 2\nk: v\n", base).unwrap(),
        "# mine\nl:\n    - 1\n    - 2\nk: v\n"
    );
    let e = merged(base, base, "# theirs\nl:\n    - 1\n    - 2\nk: v\n").unwrap_err();
    assert!(e[0].contains("comments"), "{e:?}");
}

fn small_map() -> impl Strategy<Value = Vec<(String, u8)>> {
    proptest::collection::btree_map("[a-e]", 0u8..4, 0..5).prop_map(|m| m.into_iter().collect())
}

fn as_doc(items: &[(String, u8)]) -> Tree {
    Tree {
        branches: vec![
            items
                .iter()
                .map(|(k, v)| Item::new(k.clone(), Value::Int(i64::from(*v))))
                .collect(),
        ],
    }
}

proptest! {
    /// The rules of a three-way merge, on random flat documents: a side that did not change a
    /// key never decides it; a merge of a side with the base is that side; no conflict is
    /// reported unless both sides changed a key differently.
    #[test]
    fn merge_laws(b in small_map(), o in small_map(), t in small_map()) {
        let (bt, ot, tt) = (as_doc(&b), as_doc(&o), as_doc(&t));
        prop_assert_eq!(three_way(&bt, &ot, &bt).unwrap(), ot.clone());
        prop_assert_eq!(&three_way(&bt, &bt, &tt).unwrap().branches[0].iter().map(|i| i.key.name().unwrap().to_owned()).collect::<std::collections::BTreeSet<_>>(),
            &t.iter().map(|(k, _)| k.clone()).collect::<std::collections::BTreeSet<_>>());
        let get = |m: &[(String, u8)], k: &str| m.iter().find(|(x, _)| x == k).map(|(_, v)| *v);
        let keys: std::collections::BTreeSet<&str> = b.iter().chain(&o).chain(&t).map(|(k, _)| k.as_str()).collect();
        let both_changed = keys.iter().any(|k| {
            let (bv, ov, tv) = (get(&b, k), get(&o, k), get(&t, k));
            ov != bv && tv != bv && ov != tv
        });
        match three_way(&bt, &ot, &tt) {
            Ok(m) => {
                prop_assert!(!both_changed);
                for k in &keys {
                    let (bv, ov, tv) = (get(&b, k), get(&o, k), get(&t, k));
                    let want = if ov != bv { ov } else { tv };
                    let got = get_int(&m, k);
                    prop_assert_eq!(got, want.map(i64::from), "key {}", k);
                }
            }
            Err(cs) => {
                prop_assert!(both_changed);
                prop_assert!(!cs.is_empty());
            }
        }
    }
}

fn get_int(t: &Tree, k: &str) -> Option<i64> {
    t.branches[0]
        .iter()
        .find(|i| i.key.name() == Some(k))
        .map(|i| match i.value {
            Value::Int(v) => v,
            _ => panic!("not an int"),
        })
}

#[test]
fn a_conflict_keeps_ours_there_and_takes_everything_else() {
    let (b, o, t) = (
        doc("a: 1\nb: 2\nc: 3\n"),
        doc("a: 10\nb: 2\nc: 3\n"),
        doc("a: 11\nb: 22\nc: 3\nd: 4\n"),
    );
    let (tree, conflicts) = three_way_keeping_ours(&b, &o, &t);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, r#"["a"]"#);
    assert_eq!(yaml(&tree), "a: 10\nb: 22\nc: 3\nd: 4\n");
}
