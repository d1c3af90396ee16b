//! `psd connect` without servers: what it prints, what it hides, what `--exec` passes on, and
//! each error a user can hit, with its exit code. (Against real servers: `connect_live.rs`.)

mod common;
mod pty;

use std::collections::BTreeMap;

use common::{Repo, fixture_key};
use psd_sops::api::{DecryptOptions, decrypt_tree};
use psd_sops::flatten::scalar_to_string;
use psd_sops::keysource::Identities;
use psd_sops::tree::{Key, Value};

/// `stringData` of the rendered Secret file `path` (relative to the repository).
fn secret_values(repo: &Repo, path: &str) -> BTreeMap<String, String> {
    let bytes = std::fs::read(repo.root().join(path)).unwrap();
    let ids = Identities::parse_key_file(&fixture_key()).unwrap();
    let d = decrypt_tree(
        &bytes,
        psd_sops::Format::Yaml,
        &ids,
        &DecryptOptions::default(),
    )
    .unwrap();
    let top = &d.tree.branches[0];
    let string_data = top
        .iter()
        .find(|i| matches!(&i.key, Key::Name(k) if k == "stringData"))
        .unwrap();
    let Value::Map(items) = &string_data.value else {
        panic!("stringData is not a map")
    };
    items
        .iter()
        .map(|i| {
            let Key::Name(k) = &i.key else { panic!() };
            (k.clone(), scalar_to_string(&i.value))
        })
        .collect()
}

const APP: &str = "gitops/databases/postgresql/app-credentials.enc.yaml";
const REDIS: &str = "gitops/databases/redis/secret.enc.yaml";
const AUTHENTIK: &str = "gitops/apps/authentik/secret.enc.yaml";

#[test]
fn prints_the_details_with_secrets_hidden_unless_asked() {
    let repo = Repo::rendered("", None);
    let pw = &secret_values(&repo, APP)["password"];
    let ran = repo.run(&["connect", "postgres"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    for want in [
        "psql 'host=auth.example.org port=5432 user=app dbname=app sslmode=require'",
        "postgresql://app:<hidden>@auth.example.org:5432/app?sslmode=require",
        "PGHOST=auth.example.org\nPGPORT=5432\nPGUSER=app\nPGDATABASE=app\nPGSSLMODE=require\n\
         PGPASSWORD=<hidden>\nDATABASE_URL=<hidden>\n",
        "secrets from gitops/databases/postgresql/app-credentials.enc.yaml",
    ] {
        assert!(ran.stdout.contains(want), "{want}\n{}", ran.stdout);
    }
    assert!(!ran.stdout.contains(pw.as_str()) && !ran.stderr.contains(pw.as_str()));
    assert!(ran.stderr.contains("--show-secrets prints them"), "{ran:?}");

    let ran = repo.run(&["connect", "postgres", "--show-secrets"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout.contains(&format!("PGPASSWORD={pw}\n")),
        "{ran:?}"
    );
    assert!(
        ran.stdout.contains(&format!(
            "postgresql://app:{pw}@auth.example.org:5432/app?sslmode=require"
        )),
        "{ran:?}"
    );
    assert!(!ran.stdout.contains("<hidden>"), "{ran:?}");
    assert_eq!(ran.stderr, "");
}

#[test]
fn each_service_and_user_reads_its_own_secret() {
    let repo = Repo::rendered("", None);
    let ak_role = secret_values(
        &repo,
        "gitops/databases/postgresql/authentik-credentials.enc.yaml",
    );
    let redis = secret_values(&repo, REDIS);
    let ak = secret_values(&repo, AUTHENTIK);
    let show = |args: &[&str]| {
        let mut all = vec!["connect"];
        all.extend_from_slice(args);
        all.push("--show-secrets");
        let ran = repo.run(&all);
        assert_eq!(ran.code, Some(0), "{ran:?}");
        ran.stdout
    };
    let out = show(&["postgres", "--user", "authentik"]);
    assert!(out.contains(&format!("PGPASSWORD={}\n", ak_role["password"])));
    assert!(
        out.contains("PGUSER=authentik\nPGDATABASE=authentik\n"),
        "{out}"
    );
    assert_eq!(ak_role["password"], ak["AUTHENTIK_POSTGRESQL__PASSWORD"]);
    let out = show(&["redis", "--host", "k3s.tail1234.ts.net"]);
    assert!(out.contains(&format!(
        "redis://default:{}@k3s.tail1234.ts.net:6379/0",
        redis["redis-password"]
    )));
    assert!(
        out.contains("redis-cli -h k3s.tail1234.ts.net -p 6379 --user default\n"),
        "{out}"
    );
    let out = show(&["authentik"]);
    assert!(
        out.contains("https://auth.example.org/if/admin/\n"),
        "{out}"
    );
    assert!(out.contains("AUTHENTIK_USER=akadmin\n"), "{out}");
    assert!(out.contains(&format!(
        "AUTHENTIK_PASSWORD={}\n",
        ak["AUTHENTIK_BOOTSTRAP_PASSWORD"]
    )));
    assert!(out.contains(&format!(
        "AUTHENTIK_TOKEN={}\n",
        ak["AUTHENTIK_BOOTSTRAP_TOKEN"]
    )));
}

#[test]
fn exec_gives_the_command_the_variables_and_takes_its_exit_code() {
    let repo = Repo::rendered("", None);
    let pw = &secret_values(&repo, APP)["password"];
    let ran = repo.run(&[
        "connect",
        "postgres",
        "--port",
        "15432",
        "--exec",
        "printf '%s|%s|%s|%s' \"$PGPASSWORD\" \"$PGPORT\" \"$PGSSLMODE\" \"$DATABASE_URL\"",
    ]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        ran.stdout,
        format!(
            "{pw}|15432|require|postgresql://app:{pw}@auth.example.org:15432/app?sslmode=require"
        )
    );
    assert_eq!(ran.stderr, "");
    // Inherited variables of the same name are replaced, others kept.
    let ran = Repo::run_with(
        &repo,
        &[
            "connect",
            "redis",
            "--exec",
            "echo \"$REDISCLI_AUTH $KEEP\"",
        ],
        &[("REDISCLI_AUTH", "stale"), ("KEEP", "kept")],
    );
    assert_eq!(
        ran.stdout,
        format!("{} kept\n", secret_values(&repo, REDIS)["redis-password"])
    );
    // The command's failure is psd's exit code; nothing secret is said about it.
    let ran = repo.run(&["connect", "postgres", "--exec", "exit 7"]);
    assert_eq!(ran.code, Some(7), "{ran:?}");
    assert_eq!(
        ran.stderr,
        "psd connect: the command failed (exit status 7)\n"
    );
}

#[test]
fn errors_say_what_to_do_and_exit_2() {
    let repo = Repo::rendered("", None);
    let cases: &[(&[&str], &str)] = &[
        (
            &["connect", "postgres", "--user", "root"],
            "postgresql has no user `root` in this tree; its users: app (the application owner, \
             database app), authentik (authentik's role, database authentik)",
        ),
        (
            &["connect", "redis", "--user", "admin"],
            "redis has no user `admin`",
        ),
        (
            &["connect", "redis", "--database", "x"],
            "Redis databases are numbered",
        ),
        (
            &["connect", "authentik", "--database", "x"],
            "--database does not apply to authentik",
        ),
        (
            &["connect", "redis", "--ca-file", "ca.crt"],
            "--ca-file does not apply to redis",
        ),
        (&["connect", "mysql"], "unknown service `mysql`"),
        (&["connect", "postgres", "--host", ""], "must not be empty"),
        (&["connect", "postgres", "--port", "0"], "--port"),
        (
            &["connect", "postgres", "--show-secrets", "--exec", "true"],
            "cannot be used with",
        ),
    ];
    for (args, want) in cases {
        let ran = repo.run(args);
        assert_eq!(ran.code, Some(2), "{args:?}: {ran:?}");
        assert!(ran.stderr.contains(want), "{args:?}: {ran:?}");
        assert_eq!(ran.stdout, "", "{args:?}");
    }

    // Another key than the cluster's: which file, to whom it is encrypted, what to set.
    let other = repo.dir.path().join("other.txt");
    let made = repo.run(&["keygen", "-o", other.to_str().unwrap()]);
    assert_eq!(made.code, Some(0), "{made:?}");
    let ran = repo
        .psd(&["connect", "postgres"])
        .env("SOPS_AGE_KEY_FILE", &other)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "no age private key opens {APP} (it is encrypted to {})",
            common::recipient()
        )),
        "{err}"
    );
    assert!(err.contains("set SOPS_AGE_KEY_FILE"), "{err}");
    // A key file that does not exist is named.
    let ran = repo
        .psd(&["connect", "redis"])
        .env("SOPS_AGE_KEY_FILE", repo.dir.path().join("missing.txt"))
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ran.stderr).contains("missing.txt"));

    // Not rendered yet.
    std::fs::remove_dir_all(repo.root().join("gitops")).unwrap();
    let ran = repo.run(&["connect", "redis"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr
            .contains(&format!("{REDIS} does not exist: run `psd render` first")),
        "{ran:?}"
    );
}

#[test]
fn disabled_services_and_the_host_without_authentik() {
    let repo = Repo::rendered(
        "services:\n  authentik: {enabled: false}\n  redis: {enabled: false}\n",
        None,
    );
    let ran = repo.run(&["connect", "redis", "--host", "h"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr.contains("services.redis.enabled: false"),
        "{ran:?}"
    );
    let ran = repo.run(&["connect", "postgres"]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("pass --host"), "{ran:?}");
    let ran = repo.run(&["connect", "postgres", "--host", "k3s.tail1234.ts.net"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout.contains("PGHOST=k3s.tail1234.ts.net\n"),
        "{ran:?}"
    );
    assert!(
        ran.stdout
            .contains("connecting to k3s.tail1234.ts.net as asked"),
        "{ran:?}"
    );
}

#[test]
fn finds_the_repository_from_a_subfolder_and_takes_root_and_config() {
    let repo = Repo::rendered("", None);
    let ran = repo
        .psd(&["connect", "postgres"])
        .current_dir(repo.root().join("gitops/apps"))
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(0));
    let elsewhere = repo
        .psd(&["connect", "postgres", "--root"])
        .arg(repo.root())
        .current_dir(repo.home())
        .output()
        .unwrap();
    assert_eq!(elsewhere.status.code(), Some(0));
    assert_eq!(elsewhere.stdout, ran.stdout);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let repo = Repo::rendered("", None);
    let ran = repo.run(&["connect", "--help"]);
    assert_eq!(ran.code, Some(0));
    for want in [
        "Examples:",
        "psd connect postgres --exec psql",
        "Exit codes: 0 ok; 2 usage or input error",
        "sslmode=require",
        "--show-secrets",
    ] {
        assert!(ran.stdout.contains(want), "{want}: {}", ran.stdout);
    }
}

#[test]
fn quiet_keeps_the_details_and_drops_the_hint() {
    let repo = Repo::rendered("", None);
    for service in ["postgres", "redis", "authentik"] {
        let normal = repo.run(&["connect", service]);
        assert_eq!(normal.code, Some(0), "{normal:?}");
        assert!(
            normal.stderr.contains("--show-secrets prints them"),
            "{normal:?}"
        );
        for args in [
            &["-q", "connect", service][..],
            &["connect", service, "--quiet"],
        ] {
            let quiet = repo.run(args);
            assert_eq!(quiet.code, Some(0), "{args:?}: {quiet:?}");
            assert_eq!(quiet.stdout, normal.stdout, "{args:?}: the results stay");
            assert_eq!(quiet.stderr, "", "{args:?}: no note");
        }
    }
    // Errors are still said.
    let ran = repo.run(&["-q", "connect", "redis", "--user", "admin"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("redis has no user `admin`"), "{ran:?}");
}

#[test]
fn colour_marks_the_heading_only_when_it_is_on() {
    let repo = Repo::rendered("", None);
    let plain = repo.run(&["connect", "redis"]);
    assert_eq!(plain.code, Some(0), "{plain:?}");
    assert!(
        !plain.stdout.contains('\x1b'),
        "no colour in a pipe: {plain:?}"
    );
    let heading = plain.stdout.lines().next().unwrap().to_owned();
    assert!(heading.starts_with("Valkey "), "{heading}");
    let painted = plain
        .stdout
        .replacen(&heading, &format!("\x1b[1m{heading}\x1b[0m"), 1);
    for (args, env, coloured) in [
        (
            &["--color", "always", "connect", "redis"][..],
            &[][..],
            true,
        ),
        (
            &["connect", "redis", "--color=always"],
            &[("NO_COLOR", "1")],
            true,
        ),
        (&["connect", "redis"], &[("CLICOLOR_FORCE", "1")], true),
        (
            &["connect", "redis"],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
            false,
        ),
        (
            &["connect", "redis", "--color", "never"],
            &[("CLICOLOR_FORCE", "1")],
            false,
        ),
        (
            &["--no-color", "connect", "redis"],
            &[("CLICOLOR_FORCE", "1")],
            false,
        ),
    ] {
        let ran = repo.run_with(args, env);
        assert_eq!(ran.code, Some(0), "{args:?} {env:?}: {ran:?}");
        let want = if coloured { &painted } else { &plain.stdout };
        assert_eq!(&ran.stdout, want, "{args:?} {env:?}");
        assert!(!ran.stderr.contains('\x1b'), "{args:?} {env:?}: {ran:?}");
    }
    // --color auto on a real terminal: coloured, unless NO_COLOR.
    let t = pty::Pty::spawn(repo.psd(&["connect", "redis"]));
    let (status, shown) = t.finish();
    assert!(status.success(), "{shown}");
    assert!(
        shown.starts_with(&format!("\x1b[1m{heading}\x1b[0m\n")),
        "{shown:?}"
    );
    let mut cmd = repo.psd(&["connect", "redis"]);
    cmd.env("NO_COLOR", "1");
    let (status, shown) = pty::Pty::spawn(cmd).finish();
    assert!(status.success(), "{shown}");
    assert!(shown.starts_with(&format!("{heading}\n")), "{shown:?}");
    assert!(!shown.contains('\x1b'), "{shown:?}");
}
