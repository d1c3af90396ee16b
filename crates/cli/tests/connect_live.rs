//! `psd connect --exec` against real servers configured exactly as the rendered tree configures
//! them: `psd render` with the fixture key, the Secrets decrypted, PostgreSQL set up as
//! CloudNativePG sets it up from the `Cluster` and `Database`s (with TLS from a private CA, as
//! CloudNativePG serves it), Valkey/Redis with the ACL the chart writes. Then the real `psql`
//! and `redis-cli`/`valkey-cli`, run by `psd connect --exec` with nothing but psd's variables,
//! log in — and fail with the server's error once the server's password is changed.
//!
//! The servers and their helpers are those of `psd-render`'s live tests
//! (`crates/render/tests/support/live.rs`). Missing server binaries print `SKIPPED: …` and
//! pass, except under `CI=true`, where they fail.

mod common;
#[allow(dead_code)]
#[path = "../../render/tests/support/live.rs"]
mod live;

use common::{Ran, Repo, fixture_key};
use live::{Postgres, Redis, apply_cloudnative_pg, find, s, secret, tree_documents};

/// `psd connect <service> <args> --exec <command>`.
fn connect_exec(repo: &Repo, service: &str, args: &[&str], command: &str) -> Ran {
    let mut all = vec!["connect", service];
    all.extend_from_slice(args);
    all.extend(["--exec", command]);
    repo.run(&all)
}

/// A psql command that prints `user@database ssl=<t|f>` of its own connection. Every setting
/// comes from psd's variables (`PG*`); `-X` skips any psqlrc, `-w` never prompts.
const WHO: &str = "psql -X -w -q -A -t -v ON_ERROR_STOP=1 -c \"select current_user || '@' || \
                   current_database() || ' ssl=' || ssl from pg_stat_ssl where pid = \
                   pg_backend_pid()\"";

#[test]
fn psql_logs_in_with_the_rendered_roles_and_fails_once_the_password_changes() {
    let mut repo = Repo::rendered("", None);
    let docs = tree_documents(&repo.root(), &fixture_key());
    let Some(pg) = Postgres::start_tls() else {
        return;
    };
    repo.path_prefix.push(pg.bin_dir().to_owned());
    let logins = apply_cloudnative_pg(&pg, &docs);
    let port = pg.port().to_string();
    let at = ["--host", "127.0.0.1", "--port", port.as_str()];

    // The application owner, in its database, over TLS (sslmode=require).
    let ran = connect_exec(&repo, "postgres", &at, WHO);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.stdout.trim(), "app@app ssl=true", "{ran:?}");

    // The URL works as well as the variables (psql given DATABASE_URL only).
    let ran = connect_exec(
        &repo,
        "postgres",
        &at,
        "env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGSSLMODE -u PGPASSWORD \
         psql -X -w -A -t -c 'select current_user' \"$DATABASE_URL\"",
    );
    assert_eq!((ran.code, ran.stdout.trim()), (Some(0), "app"), "{ran:?}");

    // Authentik's role, in its own database, which it owns (it may create a table there).
    let mut ak = at.to_vec();
    ak.extend(["--user", "authentik"]);
    let ran = connect_exec(&repo, "postgres", &ak, WHO);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.stdout.trim(), "authentik@authentik ssl=true", "{ran:?}");
    let ran = connect_exec(
        &repo,
        "postgres",
        &ak,
        "psql -X -w -q -v ON_ERROR_STOP=1 -c 'create table psd_probe (id int); drop table psd_probe'",
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    // ... and its password is the one Authentik itself is given.
    let ak_env = secret(&docs, "auth", "authentik-credentials");
    assert_eq!(
        logins["authentik"],
        ak_env["AUTHENTIK_POSTGRESQL__PASSWORD"]
    );

    // With the cluster's CA the server is verified (verify-ca).
    let ca = pg.ca_cert().unwrap().to_str().unwrap().to_owned();
    let mut verified = at.to_vec();
    verified.extend(["--ca-file", ca.as_str()]);
    let ran = connect_exec(
        &repo,
        "postgres",
        &verified,
        &format!("test \"$PGSSLMODE\" = verify-ca && {WHO}"),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.stdout.trim(), "app@app ssl=true", "{ran:?}");
    // A CA that did not sign the server's certificate is refused by psql.
    let other_ca = repo.dir.path().join("other-ca.crt");
    let made = std::process::Command::new("openssl")
        .env("OPENSSL_CONF", "/dev/null")
        .args([
            "req",
            "-x509",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .args([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-days", "2", "-subj", "/CN=other-ca", "-keyout"])
        .arg(repo.dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let mut wrong_ca = at.to_vec();
    let other_ca = other_ca.to_str().unwrap().to_owned();
    wrong_ca.extend(["--ca-file", other_ca.as_str()]);
    let ran = connect_exec(&repo, "postgres", &wrong_ca, WHO);
    assert_ne!(ran.code, Some(0), "{ran:?}");
    assert!(ran.stderr.contains("certificate verify failed"), "{ran:?}");

    // The server's password changes (as after a rotation CloudNativePG applied): psd's is
    // now wrong, and the command fails with the server's own error, its exit code psd's.
    pg.set_password("app", "changed-on-the-server-only")
        .unwrap();
    let ran = connect_exec(&repo, "postgres", &at, WHO);
    assert_eq!(
        ran.code,
        Some(2),
        "psql's exit code for a failed connection: {ran:?}"
    );
    assert!(
        ran.stderr
            .contains("password authentication failed for user \"app\""),
        "{ran:?}"
    );
    assert!(
        ran.stderr.contains("psd connect: the command failed"),
        "{ran:?}"
    );
    assert!(!ran.stderr.contains(logins["app"].as_str()), "{ran:?}");
    // Authentik's role is untouched.
    assert_eq!(connect_exec(&repo, "postgres", &ak, WHO).code, Some(0));
}

#[test]
fn sslmode_require_refuses_a_server_without_tls() {
    let mut repo = Repo::rendered("", None);
    let docs = tree_documents(&repo.root(), &fixture_key());
    let Some(pg) = Postgres::start() else { return };
    repo.path_prefix.push(pg.bin_dir().to_owned());
    apply_cloudnative_pg(&pg, &docs);
    let port = pg.port().to_string();
    let ran = connect_exec(
        &repo,
        "postgres",
        &["--host", "127.0.0.1", "--port", &port],
        WHO,
    );
    assert_ne!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stderr.contains("server does not support SSL"),
        "{ran:?}"
    );
}

#[test]
fn redis_cli_authenticates_with_the_rendered_password_and_fails_once_it_changes() {
    let repo = Repo::rendered("", None);
    let docs = tree_documents(&repo.root(), &fixture_key());
    let values = &find(&docs, "HelmRelease", "redis", "valkey")["spec"]["values"];
    let secret_name = s(
        &values["auth"]["usersExistingSecret"],
        "usersExistingSecret",
    );
    let data: Vec<(String, String)> = secret(&docs, "redis", secret_name).into_iter().collect();
    let lines = live::valkey_acl_lines(values, &data).unwrap();
    let Some(server) = Redis::start(&lines) else {
        return;
    };
    let cli = server.cli().to_str().unwrap().to_owned();
    let port = server.port().to_string();
    let at = ["--host", "127.0.0.1", "--port", port.as_str()];

    // redis-cli reads the password from REDISCLI_AUTH (valkey-cli also VALKEYCLI_AUTH).
    let by_env = format!(
        "{cli} -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" --user \"$REDIS_USERNAME\" --no-raw ping"
    );
    let ran = connect_exec(&repo, "redis", &at, &by_env);
    assert_eq!((ran.code, ran.stdout.trim()), (Some(0), "PONG"), "{ran:?}");
    // The URL alone works too, and the server really holds the value written.
    let by_url = format!("{cli} -u \"$REDIS_URL\" --no-raw set psd:probe 1");
    let ran = connect_exec(&repo, "redis", &at, &by_url);
    assert_eq!((ran.code, ran.stdout.trim()), (Some(0), "OK"), "{ran:?}");
    let password = &data[0].1;
    assert_eq!(
        server
            .command("default", password, &["GET", "psd:probe"])
            .unwrap(),
        "\"1\""
    );

    // The server's password changes: psd's no longer opens it.
    server
        .command(
            "default",
            password,
            &[
                "ACL",
                "SETUSER",
                "default",
                "resetpass",
                ">changed-on-the-server-only",
            ],
        )
        .unwrap();
    let ran = connect_exec(&repo, "redis", &at, &by_env);
    let said = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        said.contains("WRONGPASS") || said.contains("AUTH failed") || said.contains("NOAUTH"),
        "{ran:?}"
    );
    assert!(!said.contains("PONG"), "{ran:?}");
    assert!(!said.contains(password.as_str()), "{ran:?}");
}
