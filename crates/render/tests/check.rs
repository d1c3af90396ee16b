//! `--check` tells the truth: without a private key it verifies what can be seen in an
//! encrypted Secret (recipients against `.sops.yaml`, metadata, key names, a MAC, encrypted
//! values) and says what it could not check; a recipient removed from the rule is drift with or
//! without a key. The real `sops` is the judge of what a re-encryption must look like.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use psd_model::AgeKeyPair;
use psd_render::{ChangeKind, Mode, RenderOptions, Report, render};
use support::live::judge;

const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

const SECRETS: [&str; 4] = [
    "gitops/apps/authentik/secret.enc.yaml",
    "gitops/databases/postgresql/app-credentials.enc.yaml",
    "gitops/databases/postgresql/authentik-credentials.enc.yaml",
    "gitops/databases/redis/secret.enc.yaml",
];

fn fixture_recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

fn set_rule(root: &Path, recipients: &[String]) {
    std::fs::write(
        root.join(".sops.yaml"),
        psd_render::sops_yaml(recipients).unwrap(),
    )
    .unwrap();
}

/// A repository rendered with the fixture key, its Secrets encrypted to `recipients`.
fn rendered(recipients: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    set_rule(dir.path(), recipients);
    std::fs::write(dir.path().join("psd.yaml"), "domain: example.org\n").unwrap();
    let report = run(dir.path(), Mode::Write, true);
    for s in SECRETS {
        assert!(
            report.changes.iter().any(|c| c.path == s),
            "{s} not rendered"
        );
    }
    dir
}

/// A render that reads no key from the environment, with or without the fixture key.
fn run(root: &Path, mode: Mode, with_key: bool) -> Report {
    let mut o = RenderOptions::new(root, mode);
    o.keys_from_env = false;
    if with_key {
        o.identity_files = vec![PathBuf::from(FIXTURE_KEY)];
    }
    render(&o).unwrap()
}

fn kinds(report: &Report) -> Vec<(String, ChangeKind)> {
    report
        .changes
        .iter()
        .filter(|c| SECRETS.contains(&c.path.as_str()))
        .map(|c| (c.path.clone(), c.kind))
        .collect()
}

fn all(kind: ChangeKind) -> Vec<(String, ChangeKind)> {
    SECRETS.iter().map(|s| ((*s).to_owned(), kind)).collect()
}

fn file_recipients(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut rs: Vec<String> = psd_sops::api::metadata(&bytes, psd_sops::Format::Yaml)
        .unwrap()
        .recipients()
        .map(str::to_owned)
        .collect();
    rs.sort();
    rs
}

fn tree_bytes(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn without_a_key_check_verifies_what_it_can_and_says_what_it_could_not() {
    let dir = rendered(&[fixture_recipient()]);
    let report = run(dir.path(), Mode::Check, false);
    assert!(!report.has_drift(), "{:?}", report.reasons);
    assert_eq!(kinds(&report), all(ChangeKind::Unchecked));
    assert_eq!(report.unchecked().count(), SECRETS.len());
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("no age private key"))
        .expect("a warning names the files that were not opened");
    assert!(
        warning.contains("recipients against .sops.yaml"),
        "{warning}"
    );
    assert!(
        warning.contains("Not checked: the values and the MAC"),
        "{warning}"
    );
    // With the key the same tree is fully checked.
    let report = run(dir.path(), Mode::Check, true);
    assert!(!report.has_drift());
    assert_eq!(report.unchecked().count(), 0);
    assert_eq!(kinds(&report), all(ChangeKind::Unchanged));
}

#[test]
fn a_recipient_removed_from_the_rule_is_drift_with_or_without_a_key() {
    let gone = AgeKeyPair::generate().recipient().to_string();
    let dir = rendered(&[fixture_recipient(), gone.clone()]);
    set_rule(dir.path(), &[fixture_recipient()]);

    for with_key in [false, true] {
        let report = run(dir.path(), Mode::Check, with_key);
        assert!(report.has_drift(), "with key: {with_key}");
        let want = if with_key {
            ChangeKind::Updated
        } else {
            ChangeKind::Outdated
        };
        assert_eq!(kinds(&report), all(want), "with key: {with_key}");
        for s in SECRETS {
            let reasons = report.reasons[s].join("; ");
            assert!(
                reasons.contains(&gone) && reasons.contains("no longer lists"),
                "{s}: {reasons}"
            );
        }
    }

    // A render without the key cannot fix it: nothing changes on disk, and it says so.
    let before = tree_bytes(dir.path());
    let report = run(dir.path(), Mode::Write, false);
    assert_eq!(tree_bytes(dir.path()), before);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("only a render with the age private key") && w.contains(&gone)),
        "{:?}",
        report.warnings
    );

    // With the key it re-encrypts to the rule's recipients, and then all is clean.
    let report = run(dir.path(), Mode::Write, true);
    assert_eq!(kinds(&report), all(ChangeKind::Updated));
    for s in SECRETS {
        assert_eq!(file_recipients(&dir.path().join(s)), [fixture_recipient()]);
    }
    assert!(!run(dir.path(), Mode::Check, false).has_drift());
    assert!(!run(dir.path(), Mode::Check, true).has_drift());
}

#[test]
fn a_recipient_added_to_the_rule_is_drift_until_real_sops_updatekeys() {
    let dir = rendered(&[fixture_recipient()]);
    let added = AgeKeyPair::generate().recipient().to_string();
    set_rule(dir.path(), &[fixture_recipient(), added.clone()]);
    let report = run(dir.path(), Mode::Check, false);
    assert_eq!(kinds(&report), all(ChangeKind::Outdated));
    for s in SECRETS {
        let reasons = report.reasons[s].join("; ");
        assert!(
            reasons.contains(&added) && reasons.contains("not encrypted to"),
            "{reasons}"
        );
    }
    // The real sops, told to apply the rule, produces what the keyless check asks for.
    let Some(sops) = judge("sops", support::sops()) else {
        return;
    };
    for s in SECRETS {
        let out = Command::new(&sops)
            .args(["updatekeys", "--yes", s])
            .current_dir(dir.path())
            .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = run(dir.path(), Mode::Check, false);
    assert!(!report.has_drift(), "{:?}", report.reasons);
    assert_eq!(kinds(&report), all(ChangeKind::Unchecked));
    // And with the key nothing is re-encrypted: the files sops wrote are kept.
    assert!(!run(dir.path(), Mode::Check, true).has_drift());
}

/// A change to a file's text.
type Edit = dyn Fn(&str) -> String;

#[test]
fn edits_seen_without_a_key_are_drift_and_name_the_field() {
    let dir = rendered(&[fixture_recipient()]);
    let path = dir.path().join(SECRETS[3]);
    let original = std::fs::read_to_string(&path).unwrap();
    let edits: [(&str, &Edit, &str); 4] = [
        (
            "renamed",
            &|t| t.replacen("namespace: redis", "namespace: default", 1),
            "metadata.namespace is `default`",
        ),
        (
            "MAC removed",
            &|t| {
                let mac = t
                    .lines()
                    .find(|l| l.trim_start().starts_with("mac:"))
                    .unwrap();
                t.replacen(mac, "", 1)
            },
            "no MAC",
        ),
        (
            "type changed",
            &|t| {
                let ty = t.lines().find(|l| l.starts_with("type:")).unwrap();
                t.replacen(ty, "type: kubernetes.io/tls", 1)
            },
            "type is `kubernetes.io/tls`",
        ),
        (
            "plaintext value",
            &|t| {
                let i = t.find("stringData:\n").unwrap() + "stringData:\n".len();
                format!("{}    pasted: plain-value-here\n{}", &t[..i], &t[i..])
            },
            "stringData.pasted are not encrypted",
        ),
    ];
    for (what, edit, want) in edits {
        let edited = edit(&original);
        assert_ne!(edited, original, "{what}");
        std::fs::write(&path, &edited).unwrap();
        let report = run(dir.path(), Mode::Check, false);
        let change = report
            .changes
            .iter()
            .find(|c| c.path == SECRETS[3])
            .unwrap();
        assert_eq!(change.kind, ChangeKind::Outdated, "{what}");
        let reasons = report.reasons[SECRETS[3]].join("; ");
        assert!(reasons.contains(want), "{what}: {reasons}");
        assert!(!reasons.contains("plain-value-here"), "{what}: {reasons}");
        assert!(report.has_drift(), "{what}");
    }
    std::fs::write(&path, &original).unwrap();
    assert!(!run(dir.path(), Mode::Check, false).has_drift());
}

#[test]
fn a_key_added_with_real_sops_set_is_not_drift_without_a_key() {
    let Some(sops) = judge("sops", support::sops()) else {
        return;
    };
    let dir = rendered(&[fixture_recipient()]);
    let out = Command::new(&sops)
        .args([
            "set",
            SECRETS[1],
            r#"["stringData"]["replication-password"]"#,
            r#""added-by-hand""#,
        ])
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = run(dir.path(), Mode::Check, false);
    assert_eq!(
        kinds(&report),
        all(ChangeKind::Unchecked),
        "{:?}",
        report.reasons
    );
    // With the key the added value is kept, so nothing differs either.
    let report = run(dir.path(), Mode::Check, true);
    assert!(!report.has_drift(), "{:?}", report.changes);
}
