//! `psd init`: the files it writes, the key it creates (or finds), and what it refuses.

mod setup_support;

use std::os::unix::fs::PermissionsExt as _;

use setup_support::{Sandbox, all, assert_exit, assert_no_secret, assert_ok, recipient_of, text};

#[test]
fn init_writes_a_repository_whose_key_sops_finds() {
    let sb = Sandbox::new();
    let out = sb.init(&["--email", "ops@example.org", "--cluster-name", "home"]);
    let repo = sb.repo();
    // psd.yaml: the schema line, the values, and it reads back as a valid description.
    let yaml = std::fs::read_to_string(repo.join("psd.yaml")).unwrap();
    assert!(yaml.starts_with("# yaml-language-server: $schema=./psd.schema.json\n"));
    assert!(yaml.contains("domain: \"example.org\""), "{yaml}");
    assert!(yaml.contains("email: \"ops@example.org\""), "{yaml}");
    assert!(yaml.contains("cluster_name: \"home\""), "{yaml}");
    // The schema beside it is what `psd config schema` prints.
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("psd.schema.json")).unwrap()).unwrap();
    let printed = sb.psd(&["config", "schema"]);
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(schema, printed);
    // The key: in sops' user key file, mode 0600, marked for this repository, not in the repo.
    let key_file = sb.key_file();
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let keys = std::fs::read_to_string(&key_file).unwrap();
    let root = std::fs::canonicalize(&repo).unwrap();
    assert!(
        keys.contains(&format!("# psd: cluster key for {}", root.display())),
        "{keys}"
    );
    // .sops.yaml encrypts to it.
    let sops = std::fs::read_to_string(repo.join(".sops.yaml")).unwrap();
    assert!(sops.contains(&recipient_of(&key_file)), "{sops}");
    // .gitignore keeps keys out.
    let ignore = std::fs::read_to_string(repo.join(".gitignore")).unwrap();
    for l in ["/age.key", "*.agekey", "keys.txt"] {
        assert!(ignore.lines().any(|x| x == l), "{ignore}");
    }
    // Next steps, and never the private key.
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Next steps:"), "{stdout}");
    assert!(
        stdout.contains("psd render --cloudflare-token-file -"),
        "{stdout}"
    );
    assert!(stdout.contains("psd bootstrap"), "{stdout}");
    assert_no_secret(&all(&out), &[&key_file]);
    // A render then uses that key: Secrets encrypted to it, no second key.
    sb.render();
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        keys,
        "render must not add a key"
    );
    let walk = walkdir::WalkDir::new(&repo);
    for e in walk.into_iter().flatten() {
        if e.file_type().is_file() && !e.path().starts_with(repo.join(".git")) {
            let t = std::fs::read_to_string(e.path()).unwrap_or_default();
            assert!(!t.contains("AGE-SECRET-KEY-1"), "{}", e.path().display());
        }
    }
}

#[test]
fn init_refuses_to_clobber_and_force_keeps_the_key() {
    let sb = Sandbox::new();
    sb.init(&[]);
    let before = std::fs::read_to_string(sb.repo().join("psd.yaml")).unwrap();
    let keys = std::fs::read_to_string(sb.key_file()).unwrap();
    let out = sb.psd(&["init", "--domain", "other.org"]);
    assert_exit(&out, 2);
    let e = text(&out.stderr);
    assert!(e.contains("psd.yaml") && e.contains(".sops.yaml"), "{e}");
    assert!(e.contains("--force"), "{e}");
    assert_eq!(
        std::fs::read_to_string(sb.repo().join("psd.yaml")).unwrap(),
        before
    );
    // --force replaces the files but finds the repository's key instead of making another.
    let out = sb.psd(&["init", "--domain", "other.org", "--force"]);
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("using the age key in"),
        "{}",
        all(&out)
    );
    assert_eq!(std::fs::read_to_string(sb.key_file()).unwrap(), keys);
    assert!(
        std::fs::read_to_string(sb.repo().join("psd.yaml"))
            .unwrap()
            .contains("other.org")
    );
}

#[test]
fn init_appends_to_an_existing_key_file_and_keeps_gitignore() {
    let sb = Sandbox::new();
    let key_file = sb.key_file();
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let mine = std::fs::read_to_string(setup_support::FIXTURE_KEY).unwrap();
    std::fs::write(&key_file, &mine).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(sb.repo().join(".gitignore"), "/target\n*.agekey").unwrap();
    let out = sb.init(&[]);
    assert!(text(&out.stdout).contains("appended"), "{}", all(&out));
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert!(after.starts_with(&mine), "the key that was there must stay");
    assert_eq!(after.matches("AGE-SECRET-KEY-1").count(), 2);
    // The personal key is not the cluster's: .sops.yaml names the new one.
    let sops = std::fs::read_to_string(sb.repo().join(".sops.yaml")).unwrap();
    assert!(!sops.contains(&recipient_of(&key_file)));
    let ignore = std::fs::read_to_string(sb.repo().join(".gitignore")).unwrap();
    assert!(ignore.starts_with("/target\n*.agekey\n"), "{ignore}");
    assert_eq!(ignore.matches("*.agekey").count(), 1, "{ignore}");
    assert_no_secret(&all(&out), &[&key_file]);
}

#[test]
fn init_without_a_terminal_needs_a_domain() {
    let sb = Sandbox::new();
    let out = sb.psd(&["init"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("--domain is required"),
        "{}",
        all(&out)
    );
    assert!(!sb.repo().join("psd.yaml").exists());
    assert!(
        !sb.key_file().exists(),
        "no key before the values are known"
    );
}

#[test]
fn init_names_the_flag_of_a_bad_value() {
    let sb = Sandbox::new();
    let out = sb.psd(&["init", "--domain", "not a domain"]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("(--domain)"), "{}", all(&out));
    let out = sb.psd(&["init", "--domain", "example.org", "--services", "postgres"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("unknown service `postgres`"),
        "{}",
        all(&out)
    );
    let out = sb.psd(&["init", "--domain", "example.org", "--services", "authentik"]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("postgresql"), "{}", all(&out));
    let out = sb.psd(&[
        "init",
        "--domain",
        "example.org",
        "--age-recipient",
        "age1nope",
    ]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("age1nope"), "{}", all(&out));
    assert!(!sb.repo().join("psd.yaml").exists());
    assert!(!sb.key_file().exists());
}

#[test]
fn init_with_a_recipient_creates_no_key() {
    let sb = Sandbox::new();
    let r = recipient_of(std::path::Path::new(setup_support::FIXTURE_KEY));
    let out = sb.init(&["--age-recipient", &r, "--services", "redis"]);
    assert!(!sb.key_file().exists());
    assert!(
        std::fs::read_to_string(sb.repo().join(".sops.yaml"))
            .unwrap()
            .contains(&r)
    );
    let yaml = std::fs::read_to_string(sb.repo().join("psd.yaml")).unwrap();
    assert!(yaml.contains("postgresql:\n    enabled: false"), "{yaml}");
    assert!(yaml.contains("redis:\n    enabled: true"), "{yaml}");
    assert!(!text(&out.stdout).contains("Back up"), "{}", all(&out));
}
