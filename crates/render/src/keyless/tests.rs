use psd_model::AgeKeyPair;
use psd_model::secrecy::SecretString;

use super::*;
use crate::codec;

fn secret() -> SecretManifest {
    SecretManifest::new("app-db", "databases")
        .unwrap()
        .with_type("kubernetes.io/basic-auth")
        .unwrap()
        .with_label("cnpg.io/reload", "true")
        .unwrap()
        .with_entry("username", SecretString::from("app".to_owned()))
        .unwrap()
        .with_entry("password", SecretString::from("s3cr3t-ü".to_owned()))
        .unwrap()
}

fn recipient() -> String {
    AgeKeyPair::generate().recipient().to_string()
}

fn encrypted(s: &SecretManifest, rs: &[String]) -> String {
    let mut tree = codec::secret_to_tree(s);
    let out = codec::encrypt(&tree, rs).unwrap();
    codec::wipe(&mut tree);
    String::from_utf8(out).unwrap()
}

fn check(text: &str, rs: &[String]) -> Vec<String> {
    problems(text.as_bytes(), Some(&secret()), Some(rs))
}

#[test]
fn a_file_a_render_would_keep_has_no_problems() {
    let rs = vec![recipient(), recipient()];
    let text = encrypted(&secret(), &rs);
    assert_eq!(check(&text, &rs), Vec::<String>::new());
    // Recipient order does not matter; neither do what users add (a key, a label, data).
    let reversed: Vec<String> = rs.iter().rev().cloned().collect();
    assert!(check(&text, &reversed).is_empty());
    let added = secret()
        .with_label("team", "db")
        .unwrap()
        .with_entry("replication-password", SecretString::from("x".to_owned()))
        .unwrap();
    assert!(check(&encrypted(&added, &rs), &rs).is_empty());
    // Nothing to compare with: the generic checks still run.
    assert!(problems(text.as_bytes(), None, None).is_empty());
}

#[test]
fn recipients_removed_or_added_in_the_rule_are_reported_by_name() {
    let (a, b) = (recipient(), recipient());
    let text = encrypted(&secret(), &[a.clone(), b.clone()]);
    let p = check(&text, std::slice::from_ref(&a));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains(&b) && p[0].contains("no longer lists"),
        "{p:?}"
    );
    let c = recipient();
    let p = check(&text, &[a.clone(), b.clone(), c.clone()]);
    assert!(
        p[0].contains(&c) && p[0].contains("not encrypted to"),
        "{p:?}"
    );
    // Without a rule to compare with, recipients are not judged.
    assert!(problems(text.as_bytes(), Some(&secret()), None).is_empty());
}

#[test]
fn metadata_type_labels_and_key_names_are_compared() {
    let rs = vec![recipient()];
    let text = encrypted(&secret(), &rs);
    let cases = [
        ("name: app-db", "name: other", "metadata.name is `other`"),
        (
            "namespace: databases",
            "namespace: db",
            "metadata.namespace is `db`",
        ),
        ("kubernetes.io/basic-auth", "Opaque", "type is `Opaque`"),
        (
            "cnpg.io/reload: \"true\"",
            "cnpg.io/reload: \"no\"",
            "label `cnpg.io/reload`",
        ),
        ("apiVersion: v1", "apiVersion: v2", "apiVersion is `v2`"),
        ("kind: Secret", "kind: ConfigMap", "kind is `ConfigMap`"),
        (
            "    password:",
            "    passwort:",
            "lacks the key(s) password",
        ),
    ];
    for (from, to, want) in cases {
        assert!(text.contains(from), "{from} not in\n{text}");
        let p = check(&text.replacen(from, to, 1), &rs);
        assert!(p.iter().any(|m| m.contains(want)), "{from} → {to}: {p:?}");
    }
    // A field removed altogether.
    let p = check(
        &text.replacen("type: kubernetes.io/basic-auth\n", "", 1),
        &rs,
    );
    assert!(p.iter().any(|m| m.contains("has no type")), "{p:?}");
}

#[test]
fn plaintext_values_missing_mac_and_unencrypted_files_are_found() {
    let rs = vec![recipient()];
    let text = encrypted(&secret(), &rs);
    // A value replaced by plaintext (a hand edit without sops): named by key, value not shown.
    let start = text.find("    username: ENC[").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let edited = format!("{}    username: hunter2{}", &text[..start], &text[end..]);
    let p = check(&edited, &rs);
    assert!(
        p.iter()
            .any(|m| m.contains("stringData.username are not encrypted")),
        "{p:?}"
    );
    assert!(p.iter().all(|m| !m.contains("hunter2")), "{p:?}");
    // A data section with a plaintext value.
    let with_data = text.replacen("stringData:", "data:\n    extra: aGk=\nstringData:", 1);
    let p = check(&with_data, &rs);
    assert!(p.iter().any(|m| m.contains("data.extra")), "{p:?}");
    // The MAC removed or emptied.
    let mac_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("mac:"))
        .unwrap();
    let p = check(&text.replacen(mac_line, "    mac: \"\"", 1), &rs);
    assert!(p.iter().any(|m| m.contains("no MAC")), "{p:?}");
    let p = check(&text.replacen(mac_line, "    mac: plain", 1), &rs);
    assert!(p.iter().any(|m| m.contains("MAC is not an ENC")), "{p:?}");
    // No sops metadata at all; not YAML; empty; not UTF-8.
    let plain =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-db\nstringData:\n  password: x\n";
    assert!(check(plain, &rs)[0].contains("not an encrypted file"));
    assert_eq!(check("", &rs).len(), 1);
    assert_eq!(check(": [", &rs).len(), 1);
    let p = problems(&[0xff, 0xfe, b'\n'], Some(&secret()), Some(&rs));
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn a_file_encrypted_without_psds_rule_is_seen_as_different() {
    // `sops -e` without `encrypted_regex` encrypts metadata too: the name no longer reads.
    let rs = vec![recipient()];
    let text = encrypted(&secret(), &rs);
    let name_enc = text.replacen(
        "name: app-db",
        "name: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
        1,
    );
    let p = check(&name_enc, &rs);
    assert!(
        p.iter().any(|m| m.contains("metadata.name is encrypted")),
        "{p:?}"
    );
}

#[test]
fn huge_field_values_are_not_echoed_back() {
    let rs = vec![recipient()];
    let text = encrypted(&secret(), &rs);
    let huge = "n".repeat(1_000_000);
    let p = check(
        &text.replacen("name: app-db", &format!("name: {huge}"), 1),
        &rs,
    );
    let total: usize = p.iter().map(String::len).sum();
    assert!(total < 1_000, "{total} bytes");
    assert!(p.iter().any(|m| m.contains("1000000 characters")), "{p:?}");
}
