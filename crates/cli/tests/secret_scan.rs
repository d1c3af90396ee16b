//! No psd command prints a secret unless printing it is its job and the user asked.
//!
//! A repository is rendered with the fixture key and a known Cloudflare token; every value of
//! every rendered Secret (passwords, keys, tokens) and the age private key are the secrets.
//! Each command of [`CASES`] runs there (successes and error paths: wrong key, tampered file,
//! bad arguments, failing editor or command, …) and all it writes to stdout and stderr is
//! scanned for them. Only cases marked [`Shows::Asked`] may show them (`decrypt`,
//! `connect --show-secrets`, a command of `exec-env` that prints its environment); those must
//! show one, which proves the scan sees what it looks for.
//!
//! Adding a command is one line in [`CASES`]. In arguments and variables, `{app}`, `{redis}`,
//! `{authentik}` are the rendered Secret files, `{tampered}` a copy of `{app}` whose MAC no
//! longer matches, `{flat}` an encrypted file of one top-level key `password` holding a
//! known secret (for `exec-env`), `{other_key}` a key file of another key, `{plain}` a folder holding a
//! plaintext Secret with the known values (a user's mistake for `lint` to find), `{home}` the
//! private home.

mod common;

use std::collections::BTreeSet;

use common::{Repo, fixture_key};

/// Whether a case may print the secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shows {
    /// Never: any secret in its output is a failure.
    Never,
    /// Printing them is its job and the user asked: it must print at least one.
    Asked,
}
use Shows::{Asked, Never};

/// One command: its arguments, extra environment, and whether it may show secrets.
struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    shows: Shows,
}

const fn case(args: &'static [&'static str], shows: Shows) -> Case {
    Case {
        args,
        env: &[],
        shows,
    }
}

const fn with_env(
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    shows: Shows,
) -> Case {
    Case { args, env, shows }
}

const WRONG_KEY: &[(&str, &str)] = &[("SOPS_AGE_KEY_FILE", "{other_key}")];
const NO_KEY: &[(&str, &str)] = &[("SOPS_AGE_KEY_FILE", "{home}/none.txt")];

/// Every command that handles secrets, with its error paths.
const CASES: &[Case] = &[
    // render
    case(&["render"], Never),
    case(&["render", "--check"], Never),
    case(&["render", "--check", "--require-key"], Never),
    case(&["render", "--dry-run"], Never),
    case(
        &["render", "--dry-run", "--rotate", "redis.password"],
        Never,
    ),
    case(&["render", "--rotate", "nope.password"], Never),
    with_env(&["render", "--check", "--require-key"], WRONG_KEY, Never),
    with_env(&["render"], NO_KEY, Never),
    // init, bootstrap, doctor
    case(&["init", "--domain", "example.org"], Never),
    case(
        &["bootstrap", "--url", "ssh://git@example.org/me/cluster.git"],
        Never,
    ),
    case(
        &[
            "bootstrap",
            "--url",
            "ssh://git@example.org/me/cluster.git",
            "--apply",
        ],
        Never,
    ),
    with_env(
        &["bootstrap", "--url", "ssh://git@example.org/me/cluster.git"],
        WRONG_KEY,
        Never,
    ),
    case(&["bootstrap", "--print-secret"], Asked),
    case(&["doctor"], Never),
    case(&["doctor", "--cluster"], Never),
    with_env(&["doctor"], WRONG_KEY, Never),
    with_env(&["doctor"], NO_KEY, Never),
    // connect
    case(&["connect", "postgres"], Never),
    case(&["connect", "postgres", "--user", "authentik"], Never),
    case(&["connect", "redis"], Never),
    case(&["connect", "authentik"], Never),
    case(&["connect", "postgres", "--user", "nobody"], Never),
    case(&["connect", "postgres", "--exec", "exit 3"], Never),
    case(
        &["connect", "postgres", "--exec", "no-such-command-psd"],
        Never,
    ),
    with_env(&["connect", "redis"], WRONG_KEY, Never),
    with_env(&["connect", "authentik"], NO_KEY, Never),
    case(&["connect", "postgres", "--show-secrets"], Asked),
    case(&["connect", "redis", "--exec", "env"], Asked),
    case(&["connect", "authentik", "--show-secrets"], Asked),
    // decrypt and friends
    case(&["decrypt", "{app}"], Asked),
    case(
        &[
            "decrypt",
            "--extract",
            "[\"stringData\"][\"password\"]",
            "{app}",
        ],
        Asked,
    ),
    with_env(&["decrypt", "{app}"], WRONG_KEY, Never),
    with_env(&["decrypt", "{app}"], NO_KEY, Never),
    case(&["decrypt", "{tampered}"], Never),
    case(
        &[
            "decrypt",
            "--extract",
            "[\"stringData\"][\"nope\"]",
            "{app}",
        ],
        Never,
    ),
    case(&["filestatus", "{app}"], Never),
    case(&["diff-textconv", "{app}"], Asked),
    with_env(&["diff-textconv", "{app}"], WRONG_KEY, Never),
    // set, unset, edit
    case(
        &["set", "{app}", "[\"stringData\"][\"password\"]", "not-json"],
        Never,
    ),
    case(&["set", "{app}", "[\"nope\"", "\"x\""], Never),
    with_env(
        &["set", "{redis}", "[\"stringData\"][\"x\"]", "\"y\""],
        WRONG_KEY,
        Never,
    ),
    case(
        &["set", "{tampered}", "[\"stringData\"][\"x\"]", "\"y\""],
        Never,
    ),
    case(&["unset", "{app}", "[\"stringData\"][\"nope\"]"], Never),
    with_env(&["edit", "{app}"], &[("EDITOR", "false")], Never),
    with_env(
        &["edit", "{authentik}"],
        &[("EDITOR", "sh -c 'printf \"\\nbroken: [\\n\" >> \"$1\"' sh")],
        Never,
    ),
    with_env(&["edit", "{redis}"], WRONG_KEY, Never),
    // exec-env, exec-file
    case(&["exec-env", "{flat}", "exit 4"], Never),
    case(
        &["exec-env", "{flat}", "printf %s \"$password\" | wc -c"],
        Never,
    ),
    case(&["exec-env", "{flat}", "env"], Asked),
    case(&["exec-env", "{app}", "env"], Never),
    with_env(&["exec-env", "{app}", "true"], WRONG_KEY, Never),
    case(&["exec-env", "{tampered}", "true"], Never),
    case(&["exec-file", "{app}", "wc -c < {}"], Never),
    case(&["exec-file", "--no-fifo", "{app}", "cat {}"], Asked),
    with_env(&["exec-file", "{app}", "true"], WRONG_KEY, Never),
    // keys
    case(&["updatekeys", "-y", "{app}"], Never),
    with_env(&["rotate", "-i", "{redis}"], WRONG_KEY, Never),
    case(
        &["groups", "add", "--file", "{app}", "--age", "age1nope"],
        Never,
    ),
    case(&["keygen"], Never),
    // lint
    case(&["lint", "gitops"], Never),
    case(&["lint", "--decrypt", "gitops"], Never),
    case(&["lint", "--decrypt", "--format", "json", "gitops"], Never),
    case(&["lint", "{plain}"], Never),
    case(&["lint", "--format", "sarif", "{plain}"], Never),
    with_env(&["lint", "--decrypt", "gitops"], WRONG_KEY, Never),
];

/// `stringData` values of every rendered Secret but user names and e-mail addresses: the known
/// secrets.
fn known_secrets(repo: &Repo) -> BTreeSet<String> {
    let ids = psd_sops::keysource::Identities::parse_key_file(&fixture_key()).unwrap();
    let mut out = BTreeSet::new();
    for entry in walkdir::WalkDir::new(repo.root().join("gitops")) {
        let entry = entry.unwrap();
        if !entry.path().to_string_lossy().ends_with(".enc.yaml") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let d = psd_sops::api::decrypt(
            &bytes,
            psd_sops::Format::Yaml,
            &ids,
            &psd_sops::api::DecryptOptions::default(),
        )
        .unwrap();
        let doc: serde_json::Value =
            serde_saphyr::from_str(std::str::from_utf8(&d.plain).unwrap()).unwrap();
        for (k, v) in doc["stringData"].as_object().unwrap() {
            // Not secrets: role names, and the admin's e-mail address.
            if k == "username" || k.ends_with("_EMAIL") {
                continue;
            }
            let v = v.as_str().unwrap();
            assert!(v.len() >= 16, "{k} is short for a secret: {}", v.len());
            out.insert(v.to_owned());
        }
    }
    out
}

const CLOUDFLARE_TOKEN: &str = "cf-token-KNOWN-0123456789abcdef";

#[test]
fn no_command_prints_a_secret_unless_asked() {
    let repo = Repo::rendered("", Some(CLOUDFLARE_TOKEN));
    let root = repo.root();
    let mut secrets = known_secrets(&repo);
    assert!(secrets.contains(CLOUDFLARE_TOKEN));
    assert!(secrets.len() >= 6, "{}", secrets.len());
    let private_key = fixture_key()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    secrets.insert(private_key);

    // The fixtures the cases name.
    let app = "gitops/databases/postgresql/app-credentials.enc.yaml";
    let tampered = "tampered.enc.yaml";
    let text = std::fs::read_to_string(root.join(app)).unwrap();
    let stamp = text
        .lines()
        .find(|l| l.trim_start().starts_with("lastmodified:"))
        .unwrap();
    std::fs::write(
        root.join(tampered),
        text.replace(stamp, "    lastmodified: \"2001-01-01T00:00:00Z\""),
    )
    .unwrap();
    let other_key = repo.dir.path().join("other-key.txt");
    assert_eq!(
        repo.run(&["keygen", "-o", other_key.to_str().unwrap()])
            .code,
        Some(0)
    );
    let plain = repo.dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let leak: Vec<String> = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| format!("  key{i}: \"{s}\"\n"))
        .collect();
    std::fs::write(
        plain.join("secret.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: default\n\
             stringData:\n{}",
            leak.concat()
        ),
    )
    .unwrap();
    // Outside the repository, where no .sops.yaml applies.
    let flat = repo.dir.path().join("flat.enc.yaml");
    std::fs::write(
        repo.dir.path().join("flat.yaml"),
        format!("password: {}\n", secrets.first().unwrap()),
    )
    .unwrap();
    let made = repo
        .psd(&["encrypt", "--age", &common::recipient(), "--output"])
        .arg(&flat)
        .arg("flat.yaml")
        .current_dir(repo.dir.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    std::fs::remove_file(repo.dir.path().join("flat.yaml")).unwrap();
    let fill = |s: &str| {
        s.replace("{app}", app)
            .replace("{flat}", flat.to_str().unwrap())
            .replace("{redis}", "gitops/databases/redis/secret.enc.yaml")
            .replace("{authentik}", "gitops/apps/authentik/secret.enc.yaml")
            .replace("{tampered}", tampered)
            .replace("{other_key}", other_key.to_str().unwrap())
            .replace("{plain}", plain.to_str().unwrap())
            .replace("{home}", repo.home().to_str().unwrap())
    };

    let mut leaks = Vec::new();
    for c in CASES {
        let args: Vec<String> = c.args.iter().map(|a| fill(a)).collect();
        let mut cmd = repo.psd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for (k, v) in c.env {
            cmd.env(k, fill(v));
        }
        let out = cmd.output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = secrets.iter().filter(|s| said.contains(s.as_str())).count();
        match c.shows {
            Never if shown > 0 => leaks.push(format!(
                "psd {args:?} (env {:?}) printed {shown} secret(s); exit {:?}",
                c.env,
                out.status.code()
            )),
            Asked if shown == 0 => leaks.push(format!(
                "psd {args:?} should print a secret but printed: {said}"
            )),
            _ => {}
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
