//! Self-tests of the live judges in `tests/support/live.rs`: a real PostgreSQL lets a role set
//! up the way CloudNativePG sets it up log in with its password and nothing else, and a real
//! Valkey/Redis with the ACL file that the Valkey chart writes does the same for its users.
//!
//! When the server binaries are missing, each test prints `SKIPPED: …` and passes, except with
//! `CI=true`, where it fails.

mod support;

use serde_json::{Value, json};
use support::live::{Postgres, Redis, valkey_acl_lines};

/// Like a password psd generates: 32 alphanumerics.
const GENERATED: &str = "q7RZt2mWc9XkLb4VnF8sHd3JpA6yGe1U";
/// A password a user might supply: quotes, `$`, spaces, `;`, `#`, non-ASCII.
const HANDWRITTEN: &str = "it's a \"quoted\" $HOME; pass #1 ü";

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn secret(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

#[test]
fn postgres_roles_set_up_like_cloudnativepg_log_in_with_their_password_only() {
    let Some(pg) = Postgres::start() else { return };
    let version: u32 = pg
        .superuser_sql("show server_version_num")
        .unwrap()
        .parse()
        .unwrap();

    // bootstrap.initdb {database: app, owner: app, secret: postgresql-app-credentials}
    pg.cnpg_initdb("app", "app", GENERATED).unwrap();
    // managed.roles[] {name: authentik, login: true, passwordSecret: …} + Database {authentik, authentik}
    pg.cnpg_managed_role("authentik", HANDWRITTEN).unwrap();
    pg.cnpg_database("authentik", "authentik").unwrap();

    // The stored verifiers are SCRAM, never the cleartext.
    let stored = pg
        .superuser_sql("select rolname || ' ' || split_part(rolpassword, '$', 1) from pg_authid where rolname in ('app', 'authentik') order by 1")
        .unwrap();
    assert_eq!(stored, "app SCRAM-SHA-256\nauthentik SCRAM-SHA-256");

    for (role, password) in [("app", GENERATED), ("authentik", HANDWRITTEN)] {
        let out = pg
            .login(
                role,
                password,
                role,
                "select current_user, current_database();\n\
                 create table judge (x int);\ninsert into judge values (42);\n\
                 select x from judge;\n",
            )
            .unwrap_or_else(|e| panic!("{role} cannot log in: {e}"));
        assert_eq!(out, format!("{role}|{role}\n42"));

        let wrong = format!("{password}x");
        let err = pg.login(role, &wrong, role, "select 1").unwrap_err();
        assert!(
            err.contains("password authentication failed"),
            "{role} with a wrong password: {err}"
        );
        assert!(!err.contains(&wrong), "the password leaked into: {err}");
        let err = pg.login(role, "", role, "select 1").unwrap_err();
        assert!(err.contains("password"), "{role} without password: {err}");
    }

    // Each owner can reach the other's database but not create in it (PostgreSQL ≥ 15 no longer
    // grants CREATE on `public` to everyone; CloudNativePG's images are 18).
    if version >= 150_000 {
        let err = pg
            .login(
                "authentik",
                HANDWRITTEN,
                "app",
                "create table intruder (x int)",
            )
            .unwrap_err();
        assert!(err.contains("permission denied"), "{err}");
    }

    // enableSuperuserAccess: false — the superuser has no password, so no TCP login.
    assert!(
        pg.login(Postgres::SUPERUSER, "", "postgres", "select 1")
            .is_err()
    );

    // A "password" shaped like an MD5 hash is stored as that hash, by CloudNativePG and by
    // PostgreSQL alike: nobody can log in with the text.
    let md5_shaped = "md5a3556571e93b0d20722ba62be61e8c2d";
    pg.cnpg_managed_role("hashed", md5_shaped).unwrap();
    assert!(
        pg.login("hashed", md5_shaped, "postgres", "select 1")
            .is_err()
    );

    // Statements that carry a password keep it out of their errors.
    let err = pg.cnpg_managed_role("authentik", HANDWRITTEN).unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    assert!(!err.contains("quoted"), "the password leaked into: {err}");
}

// ---------------------------------------------------------------------------------------------
// Valkey / Redis
// ---------------------------------------------------------------------------------------------

/// The `auth` part of §4.2 V6.
const V6_VALUES: &str = r#"
image: {registry: docker.io, repository: valkey/valkey, tag: "9.1.1"}
deploymentStrategy: Recreate
auth:
  enabled: true
  usersExistingSecret: redis-credentials
  aclUsers:
    default:
      permissions: "~* &* +@all"
      passwordKey: redis-password
valkeyConfig: "appendonly yes"
"#;

#[test]
fn valkey_v6_values_give_one_hashed_default_user() {
    // Known answer: SHA-256("abc").
    let lines = valkey_acl_lines(&yaml(V6_VALUES), &secret(&[("redis-password", "abc")])).unwrap();
    assert_eq!(
        lines,
        [
            "user default on #ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ~* &* +@all"
        ]
    );
    // `$(cat file)` drops trailing newlines: `echo abc > file` gives the same line.
    let again =
        valkey_acl_lines(&yaml(V6_VALUES), &secret(&[("redis-password", "abc\n\n")])).unwrap();
    assert_eq!(again, lines);
}

#[test]
fn valkey_v6_credentials_work_against_a_live_server() {
    let lines = valkey_acl_lines(
        &yaml(V6_VALUES),
        &secret(&[("redis-password", GENERATED), ("unrelated", "x")]),
    )
    .unwrap();
    let Some(redis) = Redis::start(&lines) else {
        return;
    };

    assert_eq!(
        redis.command("default", GENERATED, &["PING"]).unwrap(),
        "PONG"
    );
    assert_eq!(
        redis
            .command("default", GENERATED, &["SET", "judge", "a value"])
            .unwrap(),
        "OK"
    );
    assert_eq!(
        redis
            .command("default", GENERATED, &["GET", "judge"])
            .unwrap(),
        "\"a value\""
    );

    let wrong = format!("{GENERATED}x");
    let err = redis.command("default", &wrong, &["PING"]).unwrap_err();
    assert!(err.contains("WRONGPASS") || err.contains("NOAUTH"), "{err}");
    assert!(!err.contains(&wrong), "the password leaked into: {err}");
    let err = redis.command_anonymous(&["PING"]).unwrap_err();
    assert!(err.contains("NOAUTH"), "{err}");
    let err = redis.command_anonymous(&["GET", "judge"]).unwrap_err();
    assert!(err.contains("NOAUTH"), "{err}");
}

#[test]
fn valkey_handwritten_passwords_and_more_users_work_against_a_live_server() {
    let values = json!({"auth": {
        "enabled": true,
        "usersExistingSecret": "redis-credentials",
        "aclUsers": {
            "reader": {"permissions": "~* -@all +get +ping"},
            "default": {"permissions": "~* &* +@all", "passwordKey": "redis-password"},
        },
    }});
    let lines = valkey_acl_lines(
        &values,
        // Written the way `kubectl create secret --from-file` of an `echo`ed file would be.
        &secret(&[
            ("redis-password", &format!("{HANDWRITTEN}\n")),
            ("reader", "  spaced  out  "),
        ]),
    )
    .unwrap();
    // Users come in sorted order, whatever the order of the values.
    assert!(lines[0].starts_with("user default on #"), "{lines:?}");
    assert!(lines[1].starts_with("user reader on #"), "{lines:?}");
    let Some(redis) = Redis::start(&lines) else {
        return;
    };

    assert_eq!(
        redis.command("default", HANDWRITTEN, &["PING"]).unwrap(),
        "PONG"
    );
    assert_eq!(
        redis
            .command("default", HANDWRITTEN, &["SET", "k", "it's $x"])
            .unwrap(),
        "OK"
    );
    assert!(
        redis
            .command("default", &format!("{HANDWRITTEN}\n"), &["PING"])
            .is_err()
    );

    assert_eq!(
        redis
            .command("reader", "  spaced  out  ", &["GET", "k"])
            .unwrap(),
        "\"it's $x\""
    );
    let err = redis
        .command("reader", "  spaced  out  ", &["SET", "k", "v"])
        .unwrap_err();
    assert!(err.contains("NOPERM"), "{err}");
    assert!(redis.command("reader", "spaced  out", &["PING"]).is_err());
    assert!(redis.command("reader", HANDWRITTEN, &["PING"]).is_err());
}

#[test]
fn valkey_acl_lines_fail_where_the_chart_fails() {
    let s = secret(&[("redis-password", GENERATED)]);
    let cases = [
        // auth.enabled without users or aclConfig
        (json!({"auth": {"enabled": true}}), "neither auth.aclUsers"),
        // no `default` user
        (
            json!({"auth": {"enabled": true, "usersExistingSecret": "s",
                "aclUsers": {"app": {"permissions": "~* +@all"}}}}),
            "'default' user must be defined",
        ),
        // a user without permissions
        (
            json!({"auth": {"enabled": true, "usersExistingSecret": "s",
                "aclUsers": {"default": {"passwordKey": "redis-password"}}}}),
            "must have a 'permissions' field",
        ),
        // passwordKey without usersExistingSecret
        (
            json!({"auth": {"enabled": true, "aclUsers": {"default": {
                "permissions": "~* +@all", "password": "p", "passwordKey": "redis-password"}}}}),
            "has passwordKey but auth.usersExistingSecret is not set",
        ),
        // neither password nor usersExistingSecret
        (
            json!({"auth": {"enabled": true,
                "aclUsers": {"default": {"permissions": "~* +@all"}}}}),
            "either 'password' field or auth.usersExistingSecret",
        ),
        // the init container finds no password: key missing from the Secret
        (
            json!({"auth": {"enabled": true, "usersExistingSecret": "s",
                "aclUsers": {"default": {"permissions": "~* +@all", "passwordKey": "nope"}}}}),
            "no password for Valkey user \"default\"",
        ),
        // valkeyConfig overriding the ACL file
        (
            json!({"auth": {"enabled": true, "usersExistingSecret": "s",
                "aclUsers": {"default": {"permissions": "~* +@all", "passwordKey": "redis-password"}}},
                "valkeyConfig": "appendonly yes\nrequirepass other\n"}),
            "requirepass",
        ),
    ];
    for (values, expected) in cases {
        let err = valkey_acl_lines(&values, &s).unwrap_err();
        assert!(err.contains(expected), "{values}: {err}");
    }
}

#[test]
fn valkey_acl_lines_follow_the_chart_elsewhere() {
    let hash_of_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    // auth disabled (or absent): no ACL file.
    assert!(valkey_acl_lines(&json!({}), &[]).unwrap().is_empty());
    assert!(
        valkey_acl_lines(&yaml("auth: {enabled: false, aclUsers: {x: {}}}"), &[])
            .unwrap()
            .is_empty()
    );
    // Inline password: used without usersExistingSecret, and as the fallback with it.
    let inline = json!({"auth": {"enabled": true,
        "aclUsers": {"default": {"permissions": "+@all", "password": "abc"}}}});
    assert_eq!(
        valkey_acl_lines(&inline, &[]).unwrap(),
        [format!("user default on #{hash_of_abc} +@all")]
    );
    let mut fallback = inline.clone();
    fallback["auth"]["usersExistingSecret"] = json!("s");
    assert_eq!(
        valkey_acl_lines(&fallback, &secret(&[("other", "x")])).unwrap(),
        [format!("user default on #{hash_of_abc} +@all")]
    );
    // The Secret wins over the inline password; passwordKey defaults to the user name.
    assert_eq!(
        valkey_acl_lines(&fallback, &secret(&[("default", "abc")])).unwrap(),
        valkey_acl_lines(&inline, &[]).unwrap()
    );
    // aclConfig alone is enough for the chart, and comes after generated users.
    let config = json!({"auth": {"enabled": true, "aclConfig": "user default on >pw ~* +@all\n"}});
    assert_eq!(
        valkey_acl_lines(&config, &[]).unwrap(),
        ["user default on >pw ~* +@all"]
    );
    // Passwords the init script would hash as something else are refused.
    for bad in ["back\\slash", "-n", "nul\0byte"] {
        let err =
            valkey_acl_lines(&yaml(V6_VALUES), &secret(&[("redis-password", bad)])).unwrap_err();
        assert!(err.contains("default"), "{bad:?}: {err}");
    }
}
