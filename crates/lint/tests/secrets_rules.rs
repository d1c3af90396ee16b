//! `secrets/plaintext` and `secrets/age-private-key` on minimal trees.

mod support;

fn rules_at(files: &[(&str, &str)]) -> Vec<(String, String, usize)> {
    support::run(files)
        .into_iter()
        .map(|f| (f.rule.to_owned(), f.file, f.span.map_or(0, |s| s.line)))
        .collect()
}

const HEAD: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\n";

#[test]
fn a_clear_value_is_found_at_its_line() {
    let bad = format!(
        "{HEAD}type: Opaque\nstringData:\n  user: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  password: hunter2\n"
    );
    assert_eq!(
        rules_at(&[("a/s.yaml", &bad)]),
        [("secrets/plaintext".to_owned(), "a/s.yaml".to_owned(), 9)]
    );
    let data = format!("{HEAD}data:\n  password: aHVudGVyMg==\n");
    assert_eq!(rules_at(&[("s.yaml", &data)]).len(), 1);
}

#[test]
fn encrypted_and_empty_values_are_not_plaintext() {
    // sops never encrypts an empty string; nothing secret is in it.
    let good = format!(
        "{HEAD}stringData:\n  password: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  empty: ''\n  none:\n"
    );
    assert!(rules_at(&[("s.yaml", &good)]).is_empty());
    // Not a Secret: a ConfigMap's data is not secret.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n";
    assert!(rules_at(&[("c.yaml", cm)]).is_empty());
}

#[test]
fn an_age_private_key_is_found_in_any_file() {
    let key = "# created: 2026-01-01\n# public key: age1xyz\nAGE-SECRET-KEY-1QQQQ\n";
    assert_eq!(
        rules_at(&[("notes/keys.txt", key)]),
        [(
            "secrets/age-private-key".to_owned(),
            "notes/keys.txt".to_owned(),
            3
        )]
    );
    assert!(rules_at(&[("notes/readme.md", "age1xyz is our public key\n")]).is_empty());
}

#[test]
fn a_broken_yaml_file_is_one_finding_not_a_crash() {
    let f = rules_at(&[("a.yaml", "a: [1, 2\nb: c\n"), ("b.yaml", "ok: 1\n")]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "yaml/syntax");
    assert_eq!(f[0].1, "a.yaml");
}
