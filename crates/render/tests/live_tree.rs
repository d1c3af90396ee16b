//! The rendered credentials work on real servers: a tree is rendered, its Secrets decrypted, and
//! what the CloudNativePG `Cluster` and `Database`s describe is applied to a real PostgreSQL the
//! way the operator applies it (the application owner from `bootstrap.initdb`, each managed role
//! with its `passwordSecret`, each `Database` with its owner). Then every role logs in with the
//! password its consumer is given — the owner with its Secret's, Authentik with the one in
//! `authentik-credentials` — and works in its own database. The same for Valkey: the ACL the
//! chart writes from the rendered values and Secret, on a real Valkey/Redis server.
//!
//! Missing server binaries print `SKIPPED: …` and pass, except with `CI=true`, where they fail.

mod support;

use std::path::PathBuf;

use psd_model::secrecy::SecretString;
use psd_render::{Mode, RenderOptions, render};
use serde_json::Value;
use support::live::{
    Postgres, Redis, apply_cloudnative_pg, find, of_kind, s, secret, tree_documents,
    valkey_acl_lines,
};

const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

/// Every document of the rendered tree, Secrets decrypted (path, document).
fn rendered(config: &str) -> (tempfile::TempDir, Vec<(String, Value)>) {
    let dir = tempfile::tempdir().unwrap();
    let key = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    let recipient = key
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        psd_render::sops_yaml(&[recipient]).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("psd.yaml"), config).unwrap();
    let mut o = RenderOptions::new(dir.path(), Mode::Write);
    o.keys_from_env = false;
    o.key_env = psd_render::KeyEnv::empty();
    o.identity_files = vec![PathBuf::from(FIXTURE_KEY)];
    o.cloudflare_token = Some(SecretString::from("fixture-token".to_owned()));
    render(&o).unwrap();

    let docs = tree_documents(dir.path(), &key);
    (dir, docs)
}

/// Logs in as `user` into `db` and creates a table there (only an owner may).
fn works_in(pg: &Postgres, user: &str, password: &str, db: &str) {
    let out = pg
        .login(
            user,
            password,
            db,
            "select current_user || '@' || current_database();\n\
             create table psd_probe (id int); drop table psd_probe;",
        )
        .unwrap_or_else(|e| panic!("{user} cannot work in {db}: {e}"));
    assert!(out.contains(&format!("{user}@{db}")), "{out}");
}

fn check_postgres(config: &str) {
    let (_dir, docs) = rendered(config);
    let Some(pg) = Postgres::start() else { return };
    let logins = apply_cloudnative_pg(&pg, &docs);

    // The application owner, with the password of its Secret, in the application database.
    let cluster = of_kind(&docs, "Cluster").next().unwrap();
    let initdb = &cluster["spec"]["bootstrap"]["initdb"];
    let owner = s(&initdb["owner"], "owner");
    let app_db = s(&initdb["database"], "database");
    works_in(&pg, owner, &logins[owner], app_db);

    // Authentik, configured the way its chart is: user and database from the values, password
    // from its own Secret (AUTHENTIK_POSTGRESQL__PASSWORD), not from the role's.
    let ak = &find(&docs, "HelmRelease", "auth", "authentik")["spec"]["values"];
    let env_secret = s(&ak["global"]["envFrom"][0]["secretRef"]["name"], "envFrom");
    let ak_pw = secret(&docs, "auth", env_secret)["AUTHENTIK_POSTGRESQL__PASSWORD"].clone();
    let ak_user = s(&ak["authentik"]["postgresql"]["user"], "user");
    let ak_db = s(&ak["authentik"]["postgresql"]["name"], "name");
    works_in(&pg, ak_user, &ak_pw, ak_db);

    // And nothing more: wrong passwords are refused, the roles are not superusers, and one
    // role cannot create tables in the other's database.
    assert!(
        pg.login(ak_user, &logins[owner], ak_db, "select 1")
            .is_err()
    );
    assert!(pg.login(owner, &ak_pw, app_db, "select 1").is_err());
    let supers = pg
        .superuser_sql(&format!(
            "select count(*) from pg_roles where rolsuper and rolname in ('{owner}', '{ak_user}')"
        ))
        .unwrap();
    assert_eq!(supers.trim(), "0");
    assert!(
        pg.login(
            owner,
            &logins[owner],
            ak_db,
            "create table intruder (id int)"
        )
        .is_err()
    );
}

#[test]
fn rendered_postgresql_roles_log_in_on_a_real_server() {
    check_postgres("");
}

#[test]
fn rendered_postgresql_roles_with_custom_names_log_in() {
    check_postgres(
        "services:\n  postgresql:\n    username: shop_owner\n    database: shop\n    instances: 3\n  \
         authentik:\n    username: ak_role\n    database: ak_data\n",
    );
}

#[test]
fn rendered_valkey_password_opens_a_real_server() {
    let (_dir, docs) = rendered("");
    let release = find(&docs, "HelmRelease", "redis", "valkey");
    let values = &release["spec"]["values"];
    let secret_name = s(
        &values["auth"]["usersExistingSecret"],
        "usersExistingSecret",
    );
    let data: Vec<(String, String)> = secret(&docs, "redis", secret_name).into_iter().collect();
    let lines = valkey_acl_lines(values, &data).unwrap();
    let Some(server) = Redis::start(&lines) else {
        return;
    };
    let password = &data
        .iter()
        .find(|(k, _)| k == s(&values["auth"]["aclUsers"]["default"]["passwordKey"], "key"))
        .unwrap()
        .1;
    assert_eq!(
        server.command("default", password, &["PING"]).unwrap(),
        "PONG"
    );
    assert_eq!(
        server
            .command("default", password, &["SET", "psd:probe", "1"])
            .unwrap(),
        "OK"
    );
    assert_eq!(
        server
            .command("default", password, &["GET", "psd:probe"])
            .unwrap(),
        "\"1\""
    );
    assert!(server.command("default", "wrong", &["PING"]).is_err());
    assert!(server.command_anonymous(&["GET", "psd:probe"]).is_err());
    // The chart's `valkeyConfig` does not undo the ACL (no requirepass, aclfile or user lines).
    let extra = s(&values["valkeyConfig"], "valkeyConfig");
    assert!(extra.lines().all(|l| !l.starts_with("user ")));
}
