use std::collections::BTreeMap;

use psd_model::cluster::ClusterConfig;
use psd_model::secrecy::{ExposeSecret as _, SecretString};

use super::*;

const APP: &str = "gitops/databases/postgresql/app-credentials.enc.yaml";
const AK_ROLE: &str = "gitops/databases/postgresql/authentik-credentials.enc.yaml";
const REDIS: &str = "gitops/databases/redis/secret.enc.yaml";
const AK: &str = "gitops/apps/authentik/secret.enc.yaml";

fn cfg(yaml: &str) -> ClusterConfig {
    let c = ClusterConfig::from_yaml(&format!("domain: example.org\n{yaml}")).unwrap();
    c.validate().unwrap();
    c
}

/// A reader over fixed files; records which files were read.
struct Files {
    files: BTreeMap<&'static str, Vec<(&'static str, &'static str)>>,
    read: Vec<String>,
}

impl Files {
    fn new() -> Self {
        let mut files = BTreeMap::new();
        files.insert(APP, vec![("username", "app"), ("password", "app-pw")]);
        files.insert(
            AK_ROLE,
            vec![("username", "authentik"), ("password", "ak-db-pw")],
        );
        files.insert(REDIS, vec![("redis-password", "p@ss:/w%rd é")]);
        files.insert(
            AK,
            vec![
                ("AUTHENTIK_SECRET_KEY", "sk"),
                ("AUTHENTIK_POSTGRESQL__PASSWORD", "ak-db-pw"),
                ("AUTHENTIK_BOOTSTRAP_PASSWORD", "boot-pw"),
                ("AUTHENTIK_BOOTSTRAP_TOKEN", "boot-token"),
            ],
        );
        Self {
            files,
            read: Vec::new(),
        }
    }

    fn get(
        &mut self,
        cfg: &ClusterConfig,
        service: Service,
        req: &ConnectRequest,
    ) -> Result<Connection, ConnectError> {
        let files = self.files.clone();
        let read = &mut self.read;
        connection(cfg, service, req, &mut |path: &str| {
            read.push(path.to_owned());
            files
                .get(path)
                .map(|kv| {
                    kv.iter()
                        .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
                        .collect()
                })
                .ok_or_else(|| ConnectError::MissingFile {
                    path: path.to_owned(),
                })
        })
    }
}

fn vars(c: &Connection) -> Vec<(String, String, bool)> {
    c.variables()
        .into_iter()
        .map(|v| {
            (
                v.name.to_owned(),
                v.value.expose_secret().to_owned(),
                v.secret,
            )
        })
        .collect()
}

#[test]
fn postgres_defaults_to_the_owner_through_authentiks_name() {
    let mut f = Files::new();
    let c = f
        .get(&cfg(""), Service::Postgresql, &ConnectRequest::default())
        .unwrap();
    assert_eq!(f.read, [APP]);
    assert_eq!(c.secret_file, APP);
    assert_eq!(
        (
            c.host.as_str(),
            c.port,
            c.user.as_str(),
            c.database.as_deref()
        ),
        ("auth.example.org", Some(5432), "app", Some("app"))
    );
    assert_eq!(c.sslmode, Some("require"));
    assert_eq!(c.password().expose_secret(), "app-pw");
    assert_eq!(
        c.url(false),
        "postgresql://app:<hidden>@auth.example.org:5432/app?sslmode=require"
    );
    assert_eq!(
        c.url(true),
        "postgresql://app:app-pw@auth.example.org:5432/app?sslmode=require"
    );
    assert_eq!(
        c.client_command().unwrap(),
        [
            "psql",
            "host=auth.example.org port=5432 user=app dbname=app sslmode=require"
        ]
    );
    let v = vars(&c);
    let names: Vec<&str> = v.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGSSLMODE",
            "PGPASSWORD",
            "DATABASE_URL"
        ]
    );
    for (name, value, secret) in &v {
        assert_eq!(*secret, value.contains("app-pw"), "{name}");
    }
    assert!(!format!("{c:?}").contains("app-pw"));
    assert!(!format!("{:?}", c.variables()).contains("app-pw"));
    assert!(c.notes.iter().any(|n| n.contains("100.64.0.0/10")));
}

#[test]
fn postgres_authentik_role_gets_its_own_secret_and_database() {
    let mut f = Files::new();
    let req = ConnectRequest {
        user: Some("authentik".into()),
        host: Some("127.0.0.1".into()),
        port: Some(15432),
        ..ConnectRequest::default()
    };
    let c = f.get(&cfg(""), Service::Postgresql, &req).unwrap();
    assert_eq!(f.read, [AK_ROLE]);
    assert_eq!(
        c.url(true),
        "postgresql://authentik:ak-db-pw@127.0.0.1:15432/authentik?sslmode=require"
    );
    // Another database may be asked for; the role stays.
    let req = ConnectRequest {
        user: Some("authentik".into()),
        database: Some("my db".into()),
        ..ConnectRequest::default()
    };
    let c = f.get(&cfg(""), Service::Postgresql, &req).unwrap();
    assert_eq!(c.database.as_deref(), Some("my db"));
    assert!(c.url(false).contains("/my%20db?"));
    assert!(c.client_command().unwrap()[1].contains("dbname='my db'"));
}

#[test]
fn postgres_custom_names_follow_the_description() {
    let mut f = Files::new();
    let c = cfg(
        "services:\n  postgresql: {username: shop_owner, database: shop}\n  \
         authentik: {username: ak_role, database: ak_data, host: login}\n",
    );
    let conn = f
        .get(&c, Service::Postgresql, &ConnectRequest::default())
        .unwrap();
    assert_eq!(
        (
            conn.user.as_str(),
            conn.database.as_deref(),
            conn.host.as_str()
        ),
        ("shop_owner", Some("shop"), "login.example.org")
    );
    let err = f
        .get(
            &c,
            Service::Postgresql,
            &ConnectRequest {
                user: Some("authentik".into()),
                ..ConnectRequest::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("no user `authentik`"), "{err}");
    assert!(
        err.contains("shop_owner (the application owner, database shop)"),
        "{err}"
    );
    assert!(
        err.contains("ak_role (authentik's role, database ak_data)"),
        "{err}"
    );
    let ak = f
        .get(
            &c,
            Service::Postgresql,
            &ConnectRequest {
                user: Some("ak_role".into()),
                ..ConnectRequest::default()
            },
        )
        .unwrap();
    assert_eq!(ak.database.as_deref(), Some("ak_data"));
    assert_eq!(ak.password().expose_secret(), "ak-db-pw");
}

#[test]
fn without_authentik_the_host_must_be_given() {
    let mut f = Files::new();
    let c = cfg("services:\n  authentik: {enabled: false}\n");
    let err = f
        .get(&c, Service::Postgresql, &ConnectRequest::default())
        .unwrap_err();
    assert!(matches!(err, ConnectError::NoHost), "{err}");
    assert!(err.to_string().contains("--host"));
    assert!(f.read.is_empty());
    let req = ConnectRequest {
        host: Some("k3s.tail1234.ts.net".into()),
        ..ConnectRequest::default()
    };
    let conn = f.get(&c, Service::Postgresql, &req).unwrap();
    assert_eq!(conn.host, "k3s.tail1234.ts.net");
    // Authentik's role does not exist then.
    let req = ConnectRequest {
        user: Some("authentik".into()),
        ..req
    };
    assert!(matches!(
        f.get(&c, Service::Postgresql, &req),
        Err(ConnectError::UnknownUser { .. })
    ));
    assert!(matches!(
        f.get(&c, Service::Authentik, &ConnectRequest::default()),
        Err(ConnectError::Disabled {
            service: Service::Authentik
        })
    ));
}

#[test]
fn redis_default_user_with_encoded_password() {
    let mut f = Files::new();
    let c = f
        .get(&cfg(""), Service::Redis, &ConnectRequest::default())
        .unwrap();
    assert_eq!(f.read, [REDIS]);
    assert_eq!(
        c.url(true),
        "redis://default:p%40ss%3A%2Fw%25rd%20%C3%A9@auth.example.org:6379/0"
    );
    assert_eq!(
        c.url(false),
        "redis://default:<hidden>@auth.example.org:6379/0"
    );
    assert_eq!(
        c.client_command().unwrap(),
        [
            "redis-cli",
            "-h",
            "auth.example.org",
            "-p",
            "6379",
            "--user",
            "default"
        ]
    );
    let v = vars(&c);
    let auth: Vec<&str> = v
        .iter()
        .filter(|(_, _, s)| *s)
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert_eq!(
        auth,
        [
            "REDIS_PASSWORD",
            "REDISCLI_AUTH",
            "VALKEYCLI_AUTH",
            "REDIS_URL"
        ]
    );
    assert!(
        v.iter()
            .any(|(n, val, _)| n == "REDISCLI_AUTH" && val == "p@ss:/w%rd é")
    );

    let req = ConnectRequest {
        database: Some("3".into()),
        ..ConnectRequest::default()
    };
    let c = f.get(&cfg(""), Service::Redis, &req).unwrap();
    assert!(c.url(false).ends_with(":6379/3"));
    assert_eq!(c.client_command().unwrap()[7..], ["-n", "3"]);
    for (req, want) in [
        (
            ConnectRequest {
                database: Some("zero".into()),
                ..ConnectRequest::default()
            },
            "numbered",
        ),
        (
            ConnectRequest {
                user: Some("admin".into()),
                ..ConnectRequest::default()
            },
            "no user `admin`",
        ),
        (
            ConnectRequest {
                ca_file: Some("ca.crt".into()),
                ..ConnectRequest::default()
            },
            "--ca-file does not apply to redis",
        ),
    ] {
        let err = f
            .get(&cfg(""), Service::Redis, &req)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn authentik_admin_url_user_password_and_token() {
    let mut f = Files::new();
    let c = f
        .get(&cfg(""), Service::Authentik, &ConnectRequest::default())
        .unwrap();
    assert_eq!(f.read, [AK]);
    assert_eq!(c.url(true), "https://auth.example.org/if/admin/");
    assert_eq!(c.user, "akadmin");
    assert!(c.client_command().is_none());
    let v = vars(&c);
    assert_eq!(
        v,
        [
            (
                "AUTHENTIK_URL".into(),
                "https://auth.example.org/if/admin/".into(),
                false
            ),
            (
                "AUTHENTIK_API_URL".into(),
                "https://auth.example.org/api/v3/".into(),
                false
            ),
            ("AUTHENTIK_USER".into(), "akadmin".into(), false),
            ("AUTHENTIK_PASSWORD".into(), "boot-pw".into(), true),
            ("AUTHENTIK_TOKEN".into(), "boot-token".into(), true),
        ]
    );
    let req = ConnectRequest {
        host: Some("127.0.0.1".into()),
        port: Some(9443),
        ..ConnectRequest::default()
    };
    assert_eq!(
        f.get(&cfg(""), Service::Authentik, &req)
            .unwrap()
            .url(false),
        "https://127.0.0.1:9443/if/admin/"
    );
    let req = ConnectRequest {
        database: Some("x".into()),
        ..ConnectRequest::default()
    };
    assert!(matches!(
        f.get(&cfg(""), Service::Authentik, &req),
        Err(ConnectError::NotApplicable {
            option: "--database",
            ..
        })
    ));
}

#[test]
fn disabled_services_and_missing_values_are_errors() {
    let mut f = Files::new();
    let c = cfg("services:\n  redis: {enabled: false}\n");
    let err = f
        .get(&c, Service::Redis, &ConnectRequest::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("services.redis.enabled: false"), "{err}");
    f.files.insert(APP, vec![("username", "app")]);
    let err = f
        .get(&cfg(""), Service::Postgresql, &ConnectRequest::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("{APP} has no `password`: run `psd render` to restore it")
    );
    f.files.remove(APP);
    let err = f
        .get(&cfg(""), Service::Postgresql, &ConnectRequest::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("run `psd render` first"), "{err}");
}

#[test]
fn ca_file_means_verify_ca() {
    let mut f = Files::new();
    let req = ConnectRequest {
        ca_file: Some("/etc/pg ca.crt".into()),
        ..ConnectRequest::default()
    };
    let c = f.get(&cfg(""), Service::Postgresql, &req).unwrap();
    assert_eq!(c.sslmode, Some("verify-ca"));
    assert!(
        c.url(false)
            .ends_with("?sslmode=verify-ca&sslrootcert=%2Fetc%2Fpg%20ca.crt")
    );
    assert!(c.client_command().unwrap()[1].ends_with("sslrootcert='/etc/pg ca.crt'"));
    assert!(
        vars(&c)
            .iter()
            .any(|(n, v, s)| n == "PGSSLROOTCERT" && v == "/etc/pg ca.crt" && !s)
    );
}

#[test]
fn services_parse_by_their_usual_names() {
    for (s, want) in [
        ("postgres", Service::Postgresql),
        ("postgresql", Service::Postgresql),
        ("redis", Service::Redis),
        ("valkey", Service::Redis),
        ("authentik", Service::Authentik),
    ] {
        assert_eq!(s.parse::<Service>().unwrap(), want);
    }
    assert!(
        "mysql"
            .parse::<Service>()
            .unwrap_err()
            .contains("postgres, redis, authentik")
    );
}

#[test]
fn quoting_helpers() {
    assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
    assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    assert_eq!(conninfo_value("app"), "app");
    assert_eq!(conninfo_value(""), "''");
    assert_eq!(conninfo_value("it's\\"), "'it\\'s\\\\'");
    assert_eq!(url_host("::1"), "[::1]");
    assert_eq!(url_host("host"), "host");
}
