use super::*;
use crate::flatten::testutil::{read, vectors};

const A: &str = "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406";
const B: &str = "age1s283pahn2yhszjxvx7qzl0aflq8zygm58rw0d87q6yjv7yrdl3zsc0ht2j";

fn cfg(text: &str) -> SopsConfig {
    SopsConfig::parse(Path::new("/repo/.sops.yaml"), text.as_bytes()).unwrap()
}

#[test]
fn first_matching_rule_relative_to_config_dir() {
    let c = cfg(&format!(
        "# comment\nstores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - path_regex: ^k8s/.*\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    age: {A}, {B} ,\n  - path_regex: secret\n    age: [\"{B}\"]\n    unknown_key: tolerated\n  - age: {A}\n"
    ));
    let r = c.rule_for(Path::new("/repo/k8s/app/secret.yaml")).unwrap();
    assert_eq!(r.age_recipients(), vec![vec![A.to_owned(), B.to_owned()]]);
    assert_eq!(r.encrypted_regex.as_deref(), Some("^(data|stringData)$"));
    assert_eq!(
        r.selection_fields(),
        vec![("encrypted_regex", "^(data|stringData)$")]
    );
    // Anchored `^k8s` fails on a path outside the config dir; unanchored `secret` matches.
    let r = c.rule_for(Path::new("/elsewhere/k8s/secret.yaml")).unwrap();
    assert_eq!(r.age_recipients(), vec![vec![B.to_owned()]]);
    // A relative name (filename override) is matched as given.
    let r = c.rule_for(Path::new("k8s/x.yml")).unwrap();
    assert_eq!(r.path_regex.as_deref(), Some("^k8s/.*\\.ya?ml$"));
    // Fallback rule without path_regex.
    let r = c.rule_for(Path::new("/repo/other.json")).unwrap();
    assert_eq!(r.path_regex, None);
    let o = c.store_options().unwrap();
    assert_eq!(
        (o.yaml_indent, o.json_indent, o.json_binary_indent),
        (2, None, None)
    );
}

#[test]
fn errors_like_sops() {
    let c = cfg(&format!(
        "creation_rules:\n  - path_regex: only\\.yaml$\n    age: {A}\n"
    ));
    let e = c.rule_for(Path::new("/repo/x.json")).unwrap_err();
    assert!(matches!(e, Error::NoMatchingCreationRule { .. }));
    assert!(
        e.to_string()
            .starts_with("error loading config: no matching creation rules found")
    );
    assert_eq!(e.exit_code(), 1);

    let c = cfg(&format!(
        "creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: _u\n    age: {A}\n"
    ));
    let e = c.rule_for(Path::new("/repo/x")).unwrap_err();
    assert!(matches!(e, Error::ConflictingRuleSelection { .. }));
    assert!(e.to_string().contains("cannot use more than one of"));

    let c = cfg(
        "creation_rules:\n  - pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n    kms:\n      - arn: x\n",
    );
    let e = c.rule_for(Path::new("/repo/x")).unwrap_err();
    assert!(matches!(e, Error::OnlyAgeSupported { .. }), "{e}");
    assert!(e.to_string().contains("psd supports only age recipients"));
    assert!(e.to_string().contains("pgp, kms"));

    // Mixed age + pgp is fine: psd uses the age recipients.
    let c = cfg(&format!("creation_rules:\n  - pgp: FBC7\n    age: {A}\n"));
    assert_eq!(
        c.rule_for(Path::new("x")).unwrap().age_recipients(),
        vec![vec![A.to_owned()]]
    );

    let c = cfg("creation_rules:\n  - path_regex: '('\n    age: x\n");
    assert!(matches!(
        c.rule_for(Path::new("x")),
        Err(Error::ConfigRegex { .. })
    ));

    // No creation_rules at all.
    let c = cfg("stores:\n  json:\n    indent: 4\n");
    assert!(!c.has_creation_rules());
    assert!(c.rule_for(Path::new("x")).is_err());
    assert_eq!(c.store_options().unwrap().json_indent, Some(4));
    assert!(
        cfg("stores:\n  json:\n    indent: -2\n")
            .store_options()
            .is_err()
    );
    let e = cfg("stores:\n  yaml:\n    indent: -1\n")
        .store_options()
        .unwrap_err();
    // sops refuses it when writing the output: "... YAML Negative indentation not accepted", 4.
    assert_eq!(
        (e.to_string().as_str(), e.exit_code()),
        ("YAML Negative indentation not accepted", 4)
    );
    assert!(cfg("").creation_rules().is_empty());

    let e = SopsConfig::parse(Path::new(".sops.yaml"), b"creation_rules: [\n").unwrap_err();
    assert!(matches!(e, Error::ConfigRead { .. }));
    let e = SopsConfig::parse(
        Path::new(".sops.yaml"),
        b"creation_rules:\n  - shamir_threshold: -1\n",
    )
    .unwrap_err();
    assert!(matches!(e, Error::ConfigRead { .. }));
}

#[test]
fn key_groups_merge_and_dedup() {
    let c = cfg(&format!(
        "creation_rules:\n  - shamir_threshold: 2\n    mac_only_encrypted: true\n    age: ignored-when-groups\n    key_groups:\n      - age: [{A}, {A}]\n      - age:\n          - {B}\n        merge:\n          - age: [{A}]\n      - pgp: [x]\n        age: [\"{A},{B}\"]\n"
    ));
    let r = c.rule_for(Path::new("f")).unwrap();
    assert_eq!(r.shamir_threshold, 2);
    assert!(r.mac_only_encrypted);
    assert_eq!(
        r.age_recipients(),
        vec![
            vec![A.to_owned()],
            vec![A.to_owned(), B.to_owned()],
            vec![A.to_owned(), B.to_owned()],
        ]
    );
    // A group with only PGP keys cannot be satisfied by psd.
    let c = cfg(&format!(
        "creation_rules:\n  - key_groups:\n      - age: [{A}]\n      - pgp: [x]\n"
    ));
    assert!(matches!(
        c.rule_for(Path::new("f")),
        Err(Error::OnlyAgeSupported { .. })
    ));
}

#[test]
fn walks_up_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let deep = root.join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    assert_eq!(find(&deep).path.filter(|p| p.starts_with(root)), None);
    std::fs::write(root.join("a/.sops.yml"), "ignored").unwrap();
    std::fs::write(
        root.join(".sops.yaml"),
        format!("creation_rules:\n  - age: {A}\n"),
    )
    .unwrap();
    let l = find(&deep);
    assert_eq!(l.path.as_deref(), Some(root.join(".sops.yaml").as_path()));
    assert!(l.warning.unwrap().contains(".sops.yml"));
    std::fs::write(
        root.join("a/b/.sops.yaml"),
        format!("creation_rules:\n  - path_regex: ^c/\n    age: {B}\n"),
    )
    .unwrap();
    let c = locate(None, &deep).unwrap().unwrap();
    assert_eq!(c.path(), root.join("a/b/.sops.yaml"));
    // path_regex is relative to the directory of the config found.
    let r = c.rule_for(&deep.join("x.yaml")).unwrap();
    assert_eq!(r.age_recipients(), vec![vec![B.to_owned()]]);
    // An explicit path wins; a missing explicit file is an error.
    let c = locate(Some(&root.join(".sops.yaml")), &deep)
        .unwrap()
        .unwrap();
    assert_eq!(
        c.rule_for(&deep.join("x")).unwrap().age_recipients(),
        vec![vec![A.to_owned()]]
    );
    assert!(matches!(
        locate(Some(&root.join("nope.yaml")), &deep),
        Err(Error::ConfigRead { .. })
    ));
    // The search covers MAX_DEPTH directories: `root` (with a config) is one too far.
    let mut far = root.to_path_buf();
    for i in 0..MAX_DEPTH {
        far.push(format!("{}", i % 10));
    }
    std::fs::create_dir_all(&far).unwrap();
    assert_eq!(find(&far).path, None);
    std::fs::write(root.join("0/.sops.yaml"), "creation_rules: []\n").unwrap();
    assert_eq!(find(&far).path, Some(root.join("0/.sops.yaml")));
}

#[test]
fn vector_configs_parse() {
    for folder in [
        "generated-sops-3.11.0",
        "fluxcd-kustomize-controller",
        "sops-age-key-workshop",
    ] {
        let Some(dir) = vectors(folder) else { return };
        let text = read(&dir, "dot-sops.yaml");
        let c = SopsConfig::parse(&dir.join(".sops.yaml"), &text).unwrap();
        assert!(c.has_creation_rules(), "{folder}");
        for rule in c.creation_rules() {
            assert!(rule.selection_rule_count() <= 1, "{folder}");
        }
    }
}

fn flags(age: Option<&str>, selection: &[(&'static str, &str)]) -> EncryptFlags {
    EncryptFlags {
        age: age.map(|a| Recipient::parse_list(a).unwrap()),
        selection: selection
            .iter()
            .map(|(n, v)| (*n, (*v).to_owned()))
            .collect(),
        ..EncryptFlags::default()
    }
}

#[test]
fn encrypt_options_merge_rule_and_flags_like_sops() {
    let c = cfg(&format!(
        "stores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - path_regex: ^k8s/\n    encrypted_regex: ^data$\n    mac_only_encrypted: true\n    shamir_threshold: 1\n    key_groups:\n      - age: [{A}]\n      - age: [{B}]\n"
    ));
    let file = Path::new("/repo/k8s/s.yaml");

    // The rule alone: its groups, threshold, rule, MAC mode and store layout.
    let o = encrypt_options(Some(&c), file, &EncryptFlags::default()).unwrap();
    assert_eq!(o.key_groups.len(), 2);
    assert_eq!(o.key_groups[1][0].to_string(), B);
    assert_eq!(o.shamir_threshold, Some(1));
    assert_eq!(o.rule.as_ref().map(|r| r.name()), Some("encrypted_regex"));
    assert!(o.mac_only_encrypted);
    assert_eq!(o.store.yaml_indent, 2);

    // --age replaces every group; a flag replaces the rule's field of the same name.
    let o = encrypt_options(
        Some(&c),
        file,
        &flags(Some(A), &[("encrypted_regex", "^x$")]),
    )
    .unwrap();
    assert_eq!(o.key_groups.len(), 1);
    assert_eq!(o.rule.unwrap().pattern(), "^x$");

    // A flag naming another selection rule conflicts with the rule's (sops exit 8).
    let e = encrypt_options(
        Some(&c),
        file,
        &flags(None, &[("unencrypted_regex", "^y$")]),
    );
    assert_eq!(e.unwrap_err().exit_code(), 8);

    // No matching rule is an error even with --age (sops: exit 1).
    let e = encrypt_options(
        Some(&c),
        Path::new("/repo/other.yaml"),
        &flags(Some(A), &[]),
    );
    assert!(
        matches!(e, Err(Error::NoMatchingCreationRule { .. })),
        "{e:?}"
    );

    // No config and no keys; a config without creation_rules counts as none.
    let e = encrypt_options(None, file, &EncryptFlags::default()).unwrap_err();
    assert!(matches!(e, Error::NoKeysProvided));
    assert_eq!(e.exit_code(), 1);
    let bare = cfg("stores:\n  json:\n    indent: 2\n");
    let o = encrypt_options(Some(&bare), Path::new("/x"), &flags(Some(A), &[])).unwrap();
    assert_eq!(o.store.json_indent, Some(2));
    assert!(o.rule.is_none());
}
