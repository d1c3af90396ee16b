//! The merge rules on YAML written by hand (as a user's `sops edit` leaves it), and a property:
//! whatever a user adds survives a merge exactly, and merging is idempotent.

use proptest::prelude::*;
use psd_model::SecretManifest;
use psd_model::secrecy::SecretString;
use psd_sops::tree::{Item, Tree, Value};
use psd_sops::{Format, StoreOptions, store_for};

use super::{FileSecret, merge};
use crate::codec;

const PATH: &str = "gitops/x/secret.enc.yaml";

fn psd_secret() -> SecretManifest {
    SecretManifest::new("db-credentials", "database")
        .unwrap()
        .with_label("cnpg.io/reload", "true")
        .unwrap()
        .with_type(SecretManifest::TYPE_BASIC_AUTH)
        .unwrap()
        .with_entry("username", SecretString::from("app"))
        .unwrap()
        .with_entry("password", SecretString::from("generated-0123456789"))
        .unwrap()
}

fn tree(yaml: &str) -> Tree {
    store_for(Format::Yaml, StoreOptions::default())
        .load_plain(yaml.as_bytes())
        .unwrap()
}

fn text(tree: &Tree) -> String {
    String::from_utf8(
        store_for(Format::Yaml, StoreOptions::default())
            .emit_plain(tree)
            .unwrap(),
    )
    .unwrap()
}

/// psd's Secret rendered over `yaml`.
fn merged(secret: &SecretManifest, yaml: &str) -> String {
    let t = tree(yaml);
    let f = FileSecret::parse(&t, PATH).unwrap();
    text(&merge(secret, Some(&f)))
}

const CANONICAL: &str = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
    labels:
        app.kubernetes.io/managed-by: psd
        cnpg.io/reload: \"true\"
type: kubernetes.io/basic-auth
stringData:
    username: app
    password: generated-0123456789
";

#[test]
fn without_a_file_it_is_psds_secret() {
    let s = psd_secret();
    assert_eq!(merge(&s, None), codec::secret_to_tree(&s));
}

#[test]
fn psds_own_file_comes_out_as_it_went_in() {
    let s = psd_secret();
    assert_eq!(text(&codec::secret_to_tree(&s)), CANONICAL);
    assert_eq!(merged(&s, CANONICAL), CANONICAL);
}

#[test]
fn user_keys_labels_annotations_and_comments_are_kept_in_order() {
    // As a user's `sops edit` may leave it: psd's keys out of order, keys before and after
    // psd's, a comment above a key, a label psd sets changed, a user label and annotation.
    let file = "\
apiVersion: v1
kind: Secret
metadata:
    annotations:
        backup.example.org/owner: ops
    name: db-credentials
    namespace: database
    labels:
        team: data
        cnpg.io/reload: \"false\"
        app.kubernetes.io/managed-by: psd
type: kubernetes.io/basic-auth
immutable: false
stringData:
    AAA-first: a
    # the replica's password
    replication-password: r
    password: mine
    username: app
    zzz-last: z
";
    let want = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
    labels:
        app.kubernetes.io/managed-by: psd
        cnpg.io/reload: \"true\"
        team: data
    annotations:
        backup.example.org/owner: ops
type: kubernetes.io/basic-auth
stringData:
    username: app
    password: generated-0123456789
    AAA-first: a
    # the replica's password
    replication-password: r
    zzz-last: z
immutable: false
";
    // The builders keep the file's `password` (secrets.rs); this module only merges, so the
    // Secret it gets already holds the value psd decided.
    assert_eq!(merged(&psd_secret(), file), want);
    // Rendering again changes nothing.
    assert_eq!(merged(&psd_secret(), want), want);
}

#[test]
fn a_managed_key_only_in_data_stays_there_while_its_value_is_the_same() {
    // "app" and "generated-0123456789", base64.
    let file = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
type: kubernetes.io/basic-auth
data:
    username: YXBw
    password: Z2VuZXJhdGVkLTAxMjM0NTY3ODk=
    keystore: AAEC/w==
";
    let out = merged(&psd_secret(), file);
    assert!(!out.contains("stringData"), "{out}");
    assert!(
        out.contains("data:\n    username: YXBw\n    password: Z2VuZXJhdGVkLTAxMjM0NTY3ODk=\n    keystore: AAEC/w==\n"),
        "{out}"
    );
    let t = tree(file);
    let f = FileSecret::parse(&t, PATH).unwrap();
    let values = f.values();
    let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    // Binary `data` is not text: kept, but not offered as a value.
    assert_eq!(keys, ["username", "password"]);
}

#[test]
fn a_changed_managed_value_moves_from_data_to_string_data() {
    let file = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
type: kubernetes.io/basic-auth
data:
    password: b2xk
";
    let out = merged(&psd_secret(), file);
    assert!(
        out.contains("stringData:\n    username: app\n    password: generated-0123456789\n"),
        "{out}"
    );
    // The old value would only confuse: the entry goes, and with it the empty `data`.
    assert!(!out.contains("data:\n    password"), "{out}");
    assert!(!out.contains("b2xk"), "{out}");
}

#[test]
fn a_data_entry_psd_cannot_read_is_never_removed() {
    // `username` in `data` as base64 of bytes that are not UTF-8.
    let file = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
type: kubernetes.io/basic-auth
data:
    username: //79
";
    let t = tree(file);
    let f = FileSecret::parse(&t, PATH).unwrap();
    assert!(f.unreadable_data("username"));
    assert!(!f.unreadable_data("password"));
    let out = merged(&psd_secret(), file);
    assert!(out.contains("data:\n    username: //79\n"), "{out}");
    assert!(out.contains("stringData:\n    username: app\n"), "{out}");
}

#[test]
fn string_data_wins_over_data_as_in_kubernetes() {
    let file = "\
apiVersion: v1
kind: Secret
metadata:
    name: db-credentials
    namespace: database
    labels:
        app.kubernetes.io/managed-by: psd
        cnpg.io/reload: \"true\"
type: kubernetes.io/basic-auth
stringData:
    username: app
    password: generated-0123456789
    extra: from-string-data
data:
    password: Z2VuZXJhdGVkLTAxMjM0NTY3ODk=
    extra: b3RoZXI=
";
    let t = tree(file);
    let f = FileSecret::parse(&t, PATH).unwrap();
    assert_eq!(f.conflicting_keys(), ["extra"]);
    use psd_model::secrecy::ExposeSecret as _;
    assert_eq!(
        f.value("extra").unwrap().expose_secret(),
        "from-string-data"
    );
    // Nothing psd changes: the file stays as it is.
    assert_eq!(merged(&psd_secret(), file), file);
}

#[test]
fn shapes_psd_cannot_render_again_are_refused_with_the_reason() {
    let cases = [
        (
            "apiVersion: v1\nkind: Secret\n---\napiVersion: v1\nkind: Secret\n",
            "2 YAML documents",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\n",
            "its kind is `ConfigMap`",
        ),
        ("apiVersion: v2\nkind: Secret\n", "its apiVersion is `v2`"),
        (
            "apiVersion: v1\nkind: Secret\nstringData:\n    port: 5432\n",
            "stringData.port is a number",
        ),
        (
            "apiVersion: v1\nkind: Secret\nstringData: [a]\n",
            "its stringData is a list",
        ),
        (
            "apiVersion: v1\nkind: Secret\ndata:\n    x: true\n",
            "data.x is a boolean",
        ),
    ];
    let huge = format!("apiVersion: {}\nkind: Secret\n", "v".repeat(70));
    let err = FileSecret::parse(&tree(&huge), PATH)
        .err()
        .unwrap_or_default();
    assert!(
        err.contains("`vvvv") && err.contains("(70 characters)") && err.len() < 200,
        "{err}"
    );
    for (yaml, want) in cases {
        let t = tree(yaml);
        let err = FileSecret::parse(&t, PATH).err().unwrap_or_default();
        assert!(err.contains(want), "{yaml}: {err}");
    }
    // A number's advice names the file and the way to fix it.
    let t = tree(cases[3].0);
    let err = FileSecret::parse(&t, PATH).err().unwrap();
    assert!(err.contains(&format!("sops set {PATH}")), "{err}");
    assert!(!err.contains("5432"), "values never appear: {err}");
}

#[test]
fn a_changed_name_namespace_or_type_is_refused() {
    let s = psd_secret();
    let with = |name: &str, ns: &str, ty: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n{ty}stringData: {{}}\n"
        )
    };
    let problem = |yaml: String| {
        let t = tree(&yaml);
        FileSecret::parse(&t, PATH)
            .unwrap()
            .identity_problem(&s, PATH)
    };
    assert_eq!(
        problem(with(
            "db-credentials",
            "database",
            "type: kubernetes.io/basic-auth\n"
        )),
        None
    );
    let p = problem(with(
        "renamed",
        "database",
        "type: kubernetes.io/basic-auth\n",
    ))
    .unwrap();
    assert!(p.contains("metadata.name is `renamed`"), "{p}");
    let p = problem(with(
        "db-credentials",
        "other",
        "type: kubernetes.io/basic-auth\n",
    ))
    .unwrap();
    assert!(p.contains("metadata.namespace `other`"), "{p}");
    // A huge value is cut, not echoed back.
    let huge = "n".repeat(100_000);
    let p = problem(with(&huge, "database", "type: kubernetes.io/basic-auth\n")).unwrap();
    assert!(
        p.contains("(100000 characters)") && p.len() < 1000,
        "{}",
        p.len()
    );
    // No `type` means Opaque.
    let p = problem(with("db-credentials", "database", "")).unwrap();
    assert!(p.contains("its type is `Opaque`"), "{p}");
    let opaque = SecretManifest::new("db-credentials", "database").unwrap();
    let t = tree(&with("db-credentials", "database", ""));
    assert_eq!(
        FileSecret::parse(&t, PATH)
            .unwrap()
            .identity_problem(&opaque, PATH),
        None
    );
}

/// Secret keys as Kubernetes allows them (`[-._a-zA-Z0-9]+`, not `.` or `..`), none of psd's.
fn arb_key() -> impl Strategy<Value = String> {
    "[-._a-zA-Z0-9]{1,24}".prop_filter("a key Kubernetes accepts, not psd's", |k| {
        !k.starts_with("..") && k != "." && k != "username" && k != "password"
    })
}

/// Values at the edges: empty, YAML look-alikes, whitespace and line breaks, multi-byte,
/// right-to-left, emoji, long.
fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        prop::sample::select(vec![
            "yes",
            "no",
            "on",
            "~",
            "null",
            "true",
            "0x1",
            "0o17",
            "1e3",
            "-.inf",
            ".nan",
            "2024-01-01",
            "12:30:00",
            " leading",
            "trailing ",
            "a: b",
            "- x",
            "# c",
            "&a",
            "*a",
            "!tag",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "{}",
            "[]",
            "a\nb",
            "a\n",
            "\n",
            "\t",
            "x\r\ny",
            "\u{feff}bom",
            "\u{200f}\u{05e9}\u{05dc}\u{05d5}\u{05dd}",
            "\u{0645}\u{0631}\u{062d}\u{0628}\u{0627}",
            "\u{1f510}\u{1f9ea}",
            "e\u{301}",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,40}",
        (
            prop::char::range('\u{20}', '\u{10ffff}'),
            16_384_usize..17_000
        )
            .prop_map(|(c, n)| {
                // At least 64 KiB for a 4-byte char; a 1-byte char is repeated to 64 KiB too.
                let reps = if c.len_utf8() >= 4 {
                    n
                } else {
                    65_536 / c.len_utf8() + n
                };
                std::iter::repeat_n(c, reps).collect()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn user_values_survive_and_merging_is_idempotent(
        extra in prop::collection::btree_map(arb_key(), arb_value(), 0..6),
        label in prop::option::of(arb_value()),
    ) {
        use psd_model::secrecy::ExposeSecret as _;
        let s = psd_secret();
        let mut file = codec::secret_to_tree(&s);
        let top = &mut file.branches[0];
        for item in top.iter_mut() {
            if item.key.name() == Some("stringData")
                && let Value::Map(m) = &mut item.value
            {
                for (k, v) in &extra {
                    m.push(Item::new(k.clone(), Value::Str(v.clone())));
                }
            }
            if let (Some("metadata"), Some(l), Value::Map(m)) =
                (item.key.name(), &label, &mut item.value)
            {
                m.push(Item::new(
                    "annotations",
                    Value::Map(vec![Item::new("note.example.org/x", Value::Str(l.clone()))]),
                ));
            }
        }
        let f = FileSecret::parse(&file, PATH).unwrap();
        let once = merge(&s, Some(&f));
        let f1 = FileSecret::parse(&once, PATH).unwrap();
        for (k, v) in &extra {
            prop_assert_eq!(f1.value(k).map(|x| x.expose_secret().to_owned()), Some(v.clone()));
        }
        let twice = merge(&s, Some(&f1));
        prop_assert_eq!(&twice, &once);
        prop_assert_eq!(&once, &file);
    }
}
