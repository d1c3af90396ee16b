use proptest::prelude::*;

use super::*;
use crate::random::ALPHANUMERIC;

const SECRET_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/schemas/v1.35.0-standalone-strict/secret-v1.json"
);

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

/// Strategy: printable-ASCII passwords (spaces allowed), 1..64 characters.
fn password() -> impl Strategy<Value = String> {
    "[ -~]{1,64}"
}

/// Strategy: PostgreSQL identifiers.
fn pg_ident() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,62}"
}

/// Strategy: e-mail addresses of the accepted shape.
fn email() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]@[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\\.[a-z]{2,10}"
        .prop_filter("no doubled dots", |s| !s.contains(".."))
}

/// Strategy: Cloudflare-like tokens (printable ASCII without spaces).
fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,80}"
}

/// Every manifest the credentials produce, built from arbitrary valid inputs.
fn manifests(
    user: &str,
    db: &str,
    pw: [&str; 6],
    email: &str,
    tok: &str,
) -> Vec<(SecretManifest, Vec<SecretString>)> {
    let pg = PostgresRoleCredentials::from_existing(user, secret(pw[0])).unwrap();
    let owner = PostgresRoleCredentials::from_existing(db, secret(pw[1])).unwrap();
    let redis = RedisCredentials::from_existing(secret(pw[2])).unwrap();
    let key = format!("{}{}", pw[3], "k".repeat(50));
    let ak = AuthentikCredentials::from_existing(
        secret(&key),
        secret(pw[1]),
        secret(pw[4]),
        secret(pw[5]),
        email,
    )
    .unwrap();
    let cf = CloudflareConfig::new(secret(tok)).unwrap();
    let generated_pg = PostgresRoleCredentials::generate(user).unwrap();
    let generated_ak = AuthentikCredentials::generate(generated_pg.password(), email).unwrap();
    let role_secret = |c: &PostgresRoleCredentials, name: &str| c.to_secret_manifest(name).unwrap();
    vec![
        (
            role_secret(&pg, PostgresRoleCredentials::APP_SECRET_NAME),
            vec![pg.password().clone()],
        ),
        (
            role_secret(
                &owner,
                &PostgresRoleCredentials::secret_name_for("authentik"),
            ),
            vec![owner.password().clone()],
        ),
        (redis.to_secret_manifest(), vec![redis.password().clone()]),
        (
            ak.to_secret_manifest(),
            vec![
                ak.secret_key().clone(),
                ak.postgresql_password().clone(),
                ak.bootstrap_password().clone(),
                ak.bootstrap_token().clone(),
            ],
        ),
        (cf.to_secret_manifest(), vec![cf.api_token().clone()]),
        (
            role_secret(&generated_pg, "postgresql-x-credentials"),
            vec![generated_pg.password().clone()],
        ),
        (
            RedisCredentials::generate().unwrap().to_secret_manifest(),
            vec![],
        ),
        (
            generated_ak.to_secret_manifest(),
            vec![
                generated_ak.secret_key().clone(),
                generated_ak.bootstrap_password().clone(),
                generated_ak.bootstrap_token().clone(),
            ],
        ),
    ]
}

fn secret_validator() -> Option<jsonschema::Validator> {
    crate::test_support::kubernetes_validator(SECRET_SCHEMA)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Property 2: every Secret manifest of any valid credentials has apiVersion, kind,
    /// metadata.name/namespace, type and stringData, validates against the strict Kubernetes
    /// Secret schema, and its Debug output contains none of the secret values.
    #[test]
    fn every_secret_manifest_is_a_valid_secret(
        user in pg_ident(),
        db in pg_ident(),
        pw in proptest::array::uniform6(password()),
        email in email(),
        tok in token(),
    ) {
        let validator = secret_validator();
        let pw = [&*pw[0], &*pw[1], &*pw[2], &*pw[3], &*pw[4], &*pw[5]];
        for (manifest, secrets) in manifests(&user, &db, pw, &email, &tok) {
            let json = manifest.to_plain_json();
            prop_assert_eq!(&json["apiVersion"], "v1");
            prop_assert_eq!(&json["kind"], "Secret");
            // A role login is basic-auth with the two keys Kubernetes and CloudNativePG
            // expect; every other Secret is Opaque.
            if manifest.namespace() == PostgresRoleCredentials::NAMESPACE {
                prop_assert_eq!(&json["type"], "kubernetes.io/basic-auth");
                prop_assert_eq!(manifest.keys().collect::<Vec<_>>(), ["username", "password"]);
            } else {
                prop_assert_eq!(&json["type"], "Opaque");
            }
            prop_assert!(json["metadata"]["name"].as_str().is_some_and(|s| !s.is_empty()));
            prop_assert!(json["metadata"]["namespace"].as_str().is_some_and(|s| !s.is_empty()));
            let data = json["stringData"].as_object().unwrap();
            prop_assert!(!data.is_empty());
            prop_assert_eq!(data.len(), manifest.string_data().len());
            prop_assert!(crate::names::validate_dns_subdomain("n", manifest.name()).is_ok());
            prop_assert!(crate::names::validate_dns_label("n", manifest.namespace()).is_ok());
            for key in manifest.keys() {
                prop_assert!(crate::names::validate_secret_key(key).is_ok());
            }
            if let Some(v) = &validator {
                let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
                prop_assert!(errors.is_empty(), "{}: {:?}", manifest.name(), errors);
            }
            let dbg = format!("{manifest:?}");
            for s in &secrets {
                let s = s.expose_secret();
                // Very short values may occur by chance in key names; judge only real ones.
                if s.len() >= 8 {
                    prop_assert!(!dbg.contains(s), "Debug of {} leaks a value", manifest.name());
                }
            }
        }
    }
}

#[test]
fn schema_judge_is_not_vacuous() {
    let Some(v) = secret_validator() else { return };
    let good = RedisCredentials::generate()
        .unwrap()
        .to_secret_manifest()
        .to_plain_json();
    assert!(v.is_valid(&good));
    for (path, value) in [
        ("kind", serde_json::json!("ConfigMap")),
        ("apiVersion", serde_json::json!("v2")),
        ("extra", serde_json::json!(1)),
        ("stringData", serde_json::json!({"k": 1})),
    ] {
        let mut bad = good.clone();
        bad[path] = value;
        assert!(!v.is_valid(&bad), "{path}");
    }
    let mut bad = good.clone();
    bad["metadata"]["nme"] = serde_json::json!("x");
    assert!(!v.is_valid(&bad));
}

#[test]
fn names_and_keys_match_the_charts() {
    // CloudNativePG reads exactly `username` and `password` of a basic-auth Secret, and
    // re-applies it on change only with the reload label (gitops-apis.md §4.3).
    let pg = PostgresRoleCredentials::generate("authentik").unwrap();
    let s = pg
        .to_secret_manifest(&PostgresRoleCredentials::secret_name_for("authentik"))
        .unwrap();
    assert_eq!(
        (s.namespace(), s.name(), s.secret_type()),
        (
            "database",
            "postgresql-authentik-credentials",
            "kubernetes.io/basic-auth"
        )
    );
    assert_eq!(s.keys().collect::<Vec<_>>(), ["username", "password"]);
    assert_eq!(s.get("username").unwrap().expose_secret(), "authentik");
    assert_eq!(
        s.get("password").unwrap().expose_secret(),
        pg.password().expose_secret()
    );
    assert!(
        s.labels()
            .contains(&("cnpg.io/reload".to_owned(), "true".to_owned()))
    );
    assert_eq!(pg.role(), "authentik");
    // The names CloudNativePG reserves for cluster `postgresql` are never used.
    for reserved in ["app", "superuser", "ca", "server", "replication"] {
        let reserved = format!("postgresql-{reserved}");
        assert_ne!(PostgresRoleCredentials::APP_SECRET_NAME, reserved);
        assert_ne!(
            PostgresRoleCredentials::secret_name_for("authentik"),
            reserved
        );
    }
    assert!(pg.to_secret_manifest("Not A Name").is_err());

    let r = RedisCredentials::generate().unwrap();
    let s = r.to_secret_manifest();
    assert_eq!((s.namespace(), s.name()), ("redis", "redis-credentials"));
    assert_eq!(s.keys().collect::<Vec<_>>(), ["redis-password"]);

    let ak = AuthentikCredentials::generate(pg.password(), "admin@almckay.io").unwrap();
    let s = ak.to_secret_manifest();
    assert_eq!((s.namespace(), s.name()), ("auth", "authentik-credentials"));
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        [
            "AUTHENTIK_SECRET_KEY",
            "AUTHENTIK_POSTGRESQL__PASSWORD",
            "AUTHENTIK_BOOTSTRAP_PASSWORD",
            "AUTHENTIK_BOOTSTRAP_TOKEN",
            "AUTHENTIK_BOOTSTRAP_EMAIL"
        ]
    );
    assert_eq!(
        s.get("AUTHENTIK_POSTGRESQL__PASSWORD")
            .unwrap()
            .expose_secret(),
        pg.password().expose_secret()
    );
    assert_eq!(
        s.get("AUTHENTIK_BOOTSTRAP_EMAIL").unwrap().expose_secret(),
        "admin@almckay.io"
    );

    let cf = CloudflareConfig::new(secret("abc_DEF-123")).unwrap();
    let s = cf.to_secret_manifest();
    assert_eq!(
        (s.namespace(), s.name()),
        ("cert-manager", "cloudflare-api-token")
    );
    assert_eq!(s.keys().collect::<Vec<_>>(), ["api-token"]);

    // The constant names pass the validators the checked constructor uses.
    for (name, ns) in [
        (
            PostgresRoleCredentials::APP_SECRET_NAME,
            PostgresRoleCredentials::NAMESPACE,
        ),
        (RedisCredentials::SECRET_NAME, RedisCredentials::NAMESPACE),
        (
            AuthentikCredentials::SECRET_NAME,
            AuthentikCredentials::NAMESPACE,
        ),
        (CloudflareConfig::SECRET_NAME, CloudflareConfig::NAMESPACE),
    ] {
        assert!(SecretManifest::new(name, ns).is_ok(), "{ns}/{name}");
    }
}

#[test]
fn generated_lengths_and_alphabet() {
    let pg = PostgresRoleCredentials::generate("u").unwrap();
    let pg2 = PostgresRoleCredentials::generate("d").unwrap();
    let ak = AuthentikCredentials::generate(pg.password(), "a@b.io").unwrap();
    let r = RedisCredentials::generate().unwrap();
    for (s, len) in [
        (pg.password(), PASSWORD_LENGTH),
        (pg2.password(), PASSWORD_LENGTH),
        (r.password(), PASSWORD_LENGTH),
        (ak.secret_key(), AUTHENTIK_SECRET_KEY_LENGTH),
        (ak.bootstrap_password(), PASSWORD_LENGTH),
        (ak.bootstrap_token(), AUTHENTIK_TOKEN_LENGTH),
    ] {
        assert_eq!(s.expose_secret().len(), len);
        assert!(s.expose_secret().bytes().all(|b| ALPHANUMERIC.contains(&b)));
    }
    const { assert!(AUTHENTIK_SECRET_KEY_LENGTH >= AUTHENTIK_SECRET_KEY_MIN_LENGTH) };
    assert_ne!(
        pg.password().expose_secret(),
        pg2.password().expose_secret()
    );
    // Entropy figures stated in the docs.
    assert_eq!(
        crate::random::alphanumeric_entropy_bits(PASSWORD_LENGTH),
        190
    );
    assert_eq!(
        crate::random::alphanumeric_entropy_bits(AUTHENTIK_SECRET_KEY_LENGTH),
        381
    );
    // A generated secret key is accepted back by from_existing.
    assert!(
        AuthentikCredentials::from_existing(
            ak.secret_key().clone(),
            ak.postgresql_password().clone(),
            ak.bootstrap_password().clone(),
            ak.bootstrap_token().clone(),
            ak.bootstrap_email().as_str(),
        )
        .is_ok()
    );
}

#[test]
fn cloudflare_token_errors() {
    let e = |t: &str| CloudflareConfig::new(secret(t)).unwrap_err();
    assert!(matches!(e(""), ValidationError::EmptyToken { .. }));
    assert_eq!(
        e("abc\n"),
        ValidationError::TokenWhitespace {
            what: "Cloudflare API token",
            position: 4,
            length: 4
        }
    );
    assert!(matches!(
        e(" abc"),
        ValidationError::TokenWhitespace { position: 1, .. }
    ));
    assert!(matches!(
        e("a b"),
        ValidationError::TokenWhitespace { position: 2, .. }
    ));
    assert!(matches!(
        e("ab\tc"),
        ValidationError::TokenWhitespace { position: 3, .. }
    ));
    assert!(matches!(e("   "), ValidationError::TokenWhitespace { .. }));
    assert!(matches!(
        e("ab\u{7}c"),
        ValidationError::TokenNotPrintable { position: 3, .. }
    ));
    assert!(matches!(
        e("tökén"),
        ValidationError::TokenNotPrintable { position: 2, .. }
    ));
    assert!(CloudflareConfig::from_existing(secret("Zx9-_abc.DEF~!")).is_ok());
    // The messages never contain the token.
    for bad in [
        "supersecrettoken\n",
        "supersecret token",
        "supersecret\u{1}token",
    ] {
        let msg = e(bad).to_string();
        assert!(!msg.contains("supersecret"), "{msg}");
    }
}

#[test]
fn credential_validation_errors() {
    assert!(matches!(
        PostgresRoleCredentials::generate("Auth"),
        Err(CredentialError::Invalid(
            ValidationError::InvalidPostgresIdentifier {
                what: "PostgreSQL role name",
                ..
            }
        ))
    ));
    assert!(matches!(
        PostgresRoleCredentials::from_existing("1u", secret("x")),
        Err(ValidationError::InvalidPostgresIdentifier {
            what: "PostgreSQL role name",
            ..
        })
    ));
    assert!(matches!(
        PostgresRoleCredentials::from_existing("u", secret("")),
        Err(ValidationError::EmptyPassword {
            what: "PostgreSQL role password"
        })
    ));
    assert!(matches!(
        PostgresRoleCredentials::from_existing("u", secret("a\nb")),
        Err(ValidationError::PasswordNotPrintable {
            what: "PostgreSQL role password",
            position: 2
        })
    ));
    assert!(matches!(
        RedisCredentials::from_existing(secret("")),
        Err(ValidationError::EmptyPassword {
            what: "Redis password"
        })
    ));
    assert!(matches!(
        AuthentikCredentials::generate(&secret("pw"), "not-an-email"),
        Err(CredentialError::Invalid(ValidationError::InvalidEmail {
            what: "Authentik bootstrap e-mail",
            ..
        }))
    ));
    assert!(matches!(
        AuthentikCredentials::generate(&secret(""), "a@b.io"),
        Err(CredentialError::Invalid(
            ValidationError::EmptyPassword { .. }
        ))
    ));
    let long = "k".repeat(50);
    assert!(matches!(
        AuthentikCredentials::from_existing(
            secret(&long[..49]),
            secret("p"),
            secret("p"),
            secret("t"),
            "a@b.io"
        ),
        Err(ValidationError::SecretTooShort {
            found: 49,
            minimum: 50,
            ..
        })
    ));
    assert!(matches!(
        AuthentikCredentials::from_existing(
            secret(&long),
            secret("p"),
            secret("p"),
            secret(""),
            "a@b.io"
        ),
        Err(ValidationError::EmptyPassword {
            what: "Authentik bootstrap token"
        })
    ));
    assert!(matches!(
        AuthentikCredentials::from_existing(
            secret(&long),
            secret("p"),
            secret("p"),
            secret("t"),
            "a@b"
        ),
        Err(ValidationError::InvalidEmail { .. })
    ));
}

#[test]
fn debug_redacts_every_credential() {
    let pg =
        PostgresRoleCredentials::from_existing("authentik", secret("USER-secret-4712")).unwrap();
    let r = RedisCredentials::from_existing(secret("REDIS-secret-4713")).unwrap();
    let ak = AuthentikCredentials::from_existing(
        secret(&format!("KEY-secret-4714{}", "x".repeat(50))),
        secret("PG-secret-4715"),
        secret("BOOT-secret-4716"),
        secret("TOKEN-secret-4717"),
        "admin@almckay.io",
    )
    .unwrap();
    let cf = CloudflareConfig::new(secret("CF-secret-4718")).unwrap();
    let all = format!(
        "{pg:?}{pg:#?}{r:?}{r:#?}{ak:?}{ak:#?}{cf:?}{cf:#?}{:?}{:?}{:?}{:?}",
        pg.to_secret_manifest("postgresql-authentik-credentials")
            .unwrap(),
        r.to_secret_manifest(),
        ak.to_secret_manifest(),
        cf.to_secret_manifest()
    );
    assert!(!all.contains("secret-47"), "{all}");
    assert!(all.contains("authentik") && all.contains("admin@almckay.io"));
    assert!(all.contains("[REDACTED]"));
}
