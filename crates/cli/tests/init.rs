//! `psd init`: the files it writes, the key it creates (or finds), and what it refuses.

mod pty;
mod setup_support;

use std::os::unix::fs::PermissionsExt as _;

use pty::Pty;
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
    let out = sb.psd(&[
        "init",
        "--domain",
        "example.org",
        "--services",
        "none,redis",
    ]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("`none` cannot be listed with other services"),
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

const DOMAIN_Q: &str = "Domain the cluster serves (e.g. example.org): ";
const SERVICES_Q: &str =
    "Services (postgresql,redis,authentik or none) [postgresql,redis,authentik]: ";

#[test]
fn init_on_a_terminal_asks_again_after_a_bad_answer() {
    let sb = Sandbox::new();
    let mut t = Pty::spawn(sb.command(&["init"]));
    // Each question shows; a bad answer is explained and the same question comes back.
    t.expect(DOMAIN_Q);
    t.answer("not a domain");
    let said = t.expect(DOMAIN_Q);
    assert!(
        said.contains("psd init: invalid value for `domain`") && said.contains("try again"),
        "{said}"
    );
    t.answer("");
    let said = t.expect(DOMAIN_Q);
    assert!(
        said.contains("`domain`"),
        "an empty domain is asked again: {said}"
    );
    t.answer("example.net");
    let email_q = "Let's Encrypt e-mail [admin@example.net]: ";
    t.expect(email_q);
    t.answer("ops@localhost");
    let said = t.expect(email_q);
    assert!(said.contains("`acme.email`"), "{said}");
    t.answer("ops@example.net");
    t.expect("Cluster name [k3s]: ");
    t.answer("Home_Cluster");
    let said = t.expect("Cluster name [k3s]: ");
    assert!(said.contains("`flux.cluster_name`"), "{said}");
    t.answer("home");
    t.expect(SERVICES_Q);
    t.answer("postgres");
    let said = t.expect(SERVICES_Q);
    assert!(said.contains("unknown service `postgres`"), "{said}");
    // Authentik without PostgreSQL is refused by the description's own rule.
    t.answer("authentik");
    let said = t.expect(SERVICES_Q);
    assert!(said.contains("enable services.postgresql too"), "{said}");
    t.answer("postgresql,authentik");
    let (status, rest) = t.finish();
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(rest.contains("Next steps:"), "{rest}");
    // Nothing was written before the answers were right, and then the answers were.
    let yaml = std::fs::read_to_string(sb.repo().join("psd.yaml")).unwrap();
    assert!(yaml.contains("domain: \"example.net\""), "{yaml}");
    assert!(yaml.contains("email: \"ops@example.net\""), "{yaml}");
    assert!(yaml.contains("cluster_name: \"home\""), "{yaml}");
    assert!(yaml.contains("postgresql:\n    enabled: true"), "{yaml}");
    assert!(yaml.contains("redis:\n    enabled: false"), "{yaml}");
    assert!(yaml.contains("authentik:\n    enabled: true"), "{yaml}");
    assert_eq!(
        std::fs::read_to_string(sb.key_file())
            .unwrap()
            .matches("AGE-SECRET-KEY-1")
            .count(),
        1
    );
}

#[test]
fn init_on_a_terminal_takes_defaults_and_flags_and_refuses_a_bad_flag() {
    let sb = Sandbox::new();
    // Flags are not asked; Enter takes a default.
    let mut t =
        Pty::spawn(sb.command(&["init", "--domain", "example.org", "--cluster-name", "c1"]));
    t.expect("Let's Encrypt e-mail [admin@example.org]: ");
    t.answer("");
    t.expect(SERVICES_Q);
    t.answer("");
    let (status, rest) = t.finish();
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(!rest.contains("Cluster name"), "{rest}");
    let yaml = std::fs::read_to_string(sb.repo().join("psd.yaml")).unwrap();
    assert!(yaml.contains("cluster_name: \"c1\""), "{yaml}");
    assert!(yaml.contains("redis:\n    enabled: true"), "{yaml}");

    // A bad flag is an error before any question, as without a terminal.
    let sb = Sandbox::new();
    let t = Pty::spawn(sb.command(&["init", "--email", "nope"]));
    let (status, shown) = t.finish();
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("`acme.email`") && shown.contains("(--email)"),
        "{shown}"
    );
    assert!(!shown.contains("Domain the cluster serves"), "{shown}");
    assert!(!sb.repo().join("psd.yaml").exists());

    // End of input (Ctrl-D) at a question stops with nothing written.
    let sb = Sandbox::new();
    let mut t = Pty::spawn(sb.command(&["init"]));
    t.expect(DOMAIN_Q);
    t.send(b"\x04");
    let (status, shown) = t.finish();
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("cannot read the answer") && shown.contains("nothing was written"),
        "{shown}"
    );
    assert!(!sb.repo().join("psd.yaml").exists());
    assert!(!sb.key_file().exists());
}
