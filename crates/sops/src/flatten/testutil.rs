//! Test helpers shared by the flat-format and JSON store tests: the shared test vectors and
//! the real `sops` binary as an independent judge, with the project's skip rule (a missing
//! judge or missing shared data skips loudly, and fails when `CI=true`).

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `false` (after a loud `SKIPPED` line) when `what` is unavailable outside CI; panics in CI.
pub(crate) fn judge(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but {what} is missing");
    }
    eprintln!("SKIPPED: {what} is missing");
    false
}

/// `shared/sops-vectors/<folder>`, or `None` (skip) when the shared data is absent.
pub(crate) fn vectors(folder: &str) -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/sops-vectors"
    ))
    .join(folder);
    judge(
        dir.is_dir(),
        &format!("shared test vectors ({})", dir.display()),
    )
    .then_some(dir)
}

/// Reads a vector file.
pub(crate) fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The real sops binary (`PSD_SOPS`, else `sops` on `PATH`), or `None` (skip).
pub(crate) fn sops() -> Option<PathBuf> {
    let found = std::env::var_os("PSD_SOPS").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("sops"))
                .find(|p| p.is_file())
        })
    });
    judge(
        found.is_some(),
        "the sops binary (PSD_SOPS or sops on PATH)",
    )
    .then_some(found?)
}

/// Runs sops with `args`, the age key file and `stdin`; returns stdout, panicking with stderr
/// on failure.
pub(crate) fn run_sops(sops: &Path, key_file: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    try_run_sops(sops, key_file, args, stdin).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs sops; `Err` with its stderr when it fails.
pub(crate) fn try_run_sops(
    sops: &Path,
    key_file: &Path,
    args: &[&str],
    stdin: &[u8],
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    // `--config /dev/null`: no `.sops.yaml` above the working directory can change sops'
    // output layout (stores.*.indent) under the test's feet.
    let mut child = Command::new(sops)
        .args(["--config", "/dev/null"])
        .args(args)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("SOPS_AGE_KEY_FILE", key_file)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sops");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("sops output");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "sops {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `sops decrypt` of a file.
pub(crate) fn sops_decrypt(sops: &Path, key_file: &Path, file: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["decrypt"];
    args.extend_from_slice(extra);
    let f = file.to_str().expect("utf-8 path");
    args.push(f);
    run_sops(sops, key_file, &args, b"")
}

/// The public key of `generated-sops-3.11.0/key_a.txt`.
pub(crate) const KEY_A_RECIPIENT: &str =
    "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406";

/// sops encrypts `plain` (a `format` file) for key A and decrypts it again: its canonical
/// rendering of our plain output.
pub(crate) fn sops_reemit(sops: &Path, key_dir: &Path, format: &str, plain: &[u8]) -> Vec<u8> {
    try_sops_reemit(sops, key_dir, format, plain).unwrap_or_else(|e| panic!("{e}"))
}

/// [`sops_reemit`], with sops' failure as `Err`.
pub(crate) fn try_sops_reemit(
    sops: &Path,
    key_dir: &Path,
    format: &str,
    plain: &[u8],
) -> Result<Vec<u8>, String> {
    let key = key_dir.join("key_a.txt");
    let enc = try_run_sops(
        sops,
        &key,
        &[
            "encrypt",
            "--age",
            KEY_A_RECIPIENT,
            "--input-type",
            format,
            "--output-type",
            format,
            "/dev/stdin",
        ],
        plain,
    )?;
    try_run_sops(
        sops,
        &key,
        &[
            "decrypt",
            "--input-type",
            format,
            "--output-type",
            format,
            "/dev/stdin",
        ],
        &enc,
    )
}

#[cfg(test)]
mod judge_tests {
    use super::*;
    use crate::store::{Format, StoreOptions, store_for};

    /// For every non-YAML vector: what the real sops decrypts it to goes through our
    /// `load_plain` → `emit_plain` byte for byte, and our `load_encrypted` reads the file.
    #[test]
    fn sops_decrypted_vectors_pass_through_unchanged() {
        let cases: &[(&str, &str, &str, Format)] = &[
            (
                "fluxcd-kustomize-controller",
                "envs-env.env",
                "age.txt",
                Format::Dotenv,
            ),
            (
                "fluxcd-kustomize-controller",
                "component-env.env",
                "age.txt",
                Format::Dotenv,
            ),
            (
                "fluxcd-kustomize-controller",
                "files-file.txt",
                "age.txt",
                Format::Binary,
            ),
            (
                "fluxcd-kustomize-controller",
                "inside-secret-data-key.json",
                "age.txt",
                Format::Binary,
            ),
            (
                "humphd-sops-age",
                "secret.enc.env",
                "key.txt",
                Format::Dotenv,
            ),
            (
                "humphd-sops-age",
                "secret.enc.json",
                "key.txt",
                Format::Json,
            ),
            (
                "generated-sops-3.11.0",
                "indent2-two-recipients.enc.json",
                "key_b.txt",
                Format::Json,
            ),
            ("spec-roundtrip", "app.enc.env", "key_a.txt", Format::Dotenv),
            (
                "spec-roundtrip",
                "mixed.enc.json",
                "key_a.txt",
                Format::Json,
            ),
        ];
        for (folder, file, key, format) in cases {
            let Some(dir) = vectors(folder) else { return };
            let Some(sops) = sops() else { return };
            let name = format.name();
            let path = dir.join(file);
            let decrypted = sops_decrypt(
                &sops,
                &dir.join(key),
                &path,
                &[
                    "--input-type",
                    if *format == Format::Binary {
                        "json"
                    } else {
                        name
                    },
                    "--output-type",
                    name,
                ],
            );
            // sops' JSON output here uses its default tab indent (no .sops.yaml in the cwd).
            let store = store_for(*format, StoreOptions::default());
            let tree = store
                .load_plain(&decrypted)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let again = store.emit_plain(&tree).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&again),
                String::from_utf8_lossy(&decrypted),
                "{folder}/{file}"
            );
            store
                .load_encrypted(&read(&dir, file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }

    /// psd encrypts every plain twin (our stores' metadata layouts: JSON object, flattened
    /// dotenv keys, INI `[sops]` section, binary envelope), with and without
    /// `mac_only_encrypted`, and the real sops decrypts it to what we emit ourselves.
    #[test]
    fn sops_decrypts_what_we_encrypt() {
        let Some(dir) = vectors("generated-sops-3.11.0") else {
            return;
        };
        let Some(sops) = sops() else { return };
        let recipients = crate::age::Recipient::parse_list(KEY_A_RECIPIENT).expect("recipient");
        for (plain, format) in [
            ("mixed.plain.json", Format::Json),
            ("encrypted-suffix.plain.json", Format::Json),
            ("app.plain.env", Format::Dotenv),
            ("config.plain.ini", Format::Ini),
            ("default-section.plain.ini", Format::Ini),
            ("blob.plain.bin", Format::Binary),
            ("note.plain.txt", Format::Binary),
        ] {
            for mac_only in [false, true] {
                let mut opts = crate::api::EncryptOptions::new(recipients.clone());
                opts.mac_only_encrypted = mac_only;
                let input = read(&dir, plain);
                let enc = crate::api::encrypt(&input, format, &opts)
                    .unwrap_or_else(|e| panic!("{plain}: {e}"));
                let name = format.name();
                let theirs = run_sops(
                    &sops,
                    &dir.join("key_a.txt"),
                    &[
                        "decrypt",
                        "--input-type",
                        if format == Format::Binary {
                            "json"
                        } else {
                            name
                        },
                        "--output-type",
                        name,
                        "/dev/stdin",
                    ],
                    &enc,
                );
                let store = store_for(format, StoreOptions::default());
                let ours = store
                    .emit_plain(&store.load_plain(&input).unwrap())
                    .unwrap();
                // We encrypt integers as `type:int`, so the big integer survives exactly.
                let ours = String::from_utf8_lossy(&ours);
                assert_eq!(
                    String::from_utf8_lossy(&theirs),
                    ours,
                    "{plain} mac_only={mac_only}"
                );
            }
        }
    }

    /// Three key groups with a Shamir threshold of 2: the flattened `key_groups__list_N__...`
    /// and `shamir_threshold` entries we write for dotenv and INI (and the JSON object) are read
    /// by the real sops, which decrypts with two of the three keys.
    #[test]
    fn sops_decrypts_our_key_groups() {
        let Some(dir) = vectors("generated-sops-3.11.0") else {
            return;
        };
        let Some(sops) = sops() else { return };
        let groups: Vec<Vec<crate::age::Recipient>> = [
            KEY_A_RECIPIENT,
            "age1s283pahn2yhszjxvx7qzl0aflq8zygm58rw0d87q6yjv7yrdl3zsc0ht2j",
            "age1036dz43v0zftg2auk9vt4p09p9l2s5d2jsr596g74gscjulq2psshyxnzx",
        ]
        .iter()
        .map(|r| crate::age::Recipient::parse_list(r).expect("recipient"))
        .collect();
        for (plain, format) in [
            ("app.plain.env", Format::Dotenv),
            ("config.plain.ini", Format::Ini),
            ("mixed.plain.json", Format::Json),
        ] {
            let opts = crate::api::EncryptOptions {
                key_groups: groups.clone(),
                shamir_threshold: Some(2),
                ..crate::api::EncryptOptions::default()
            };
            let input = read(&dir, plain);
            let enc = crate::api::encrypt(&input, format, &opts)
                .unwrap_or_else(|e| panic!("{plain}: {e}"));
            let text = String::from_utf8_lossy(&enc);
            if format == Format::Dotenv {
                assert!(text.contains("sops_key_groups__list_2__map_age__list_0__map_recipient="));
                assert!(text.contains("sops_shamir_threshold=2\n"));
            }
            let name = format.name();
            // key_a.txt alone is one share: below the threshold, sops must refuse.
            assert!(
                try_run_sops(
                    &sops,
                    &dir.join("key_a.txt"),
                    &[
                        "decrypt",
                        "--input-type",
                        name,
                        "--output-type",
                        name,
                        "/dev/stdin"
                    ],
                    &enc,
                )
                .is_err()
            );
            let theirs = run_sops(
                &sops,
                &dir.join("keys-multi.txt"),
                &[
                    "decrypt",
                    "--input-type",
                    name,
                    "--output-type",
                    name,
                    "/dev/stdin",
                ],
                &enc,
            );
            let store = store_for(format, StoreOptions::default());
            let ours = store
                .emit_plain(&store.load_plain(&input).unwrap())
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&ours),
                "{plain}"
            );
        }
    }
}

#[cfg(test)]
mod no_panic {
    use crate::store::{Format, StoreOptions, store_for};
    use proptest::prelude::*;

    /// Bytes that look a little like each format, so the parsers get past their first checks.
    fn near_syntax() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"{"[..]),
            Just(&b"}"[..]),
            Just(&b"["[..]),
            Just(&b"]"[..]),
            Just(&b"\""[..]),
            Just(&b"\\"[..]),
            Just(&b"\\u"[..]),
            Just(&b"\\ud800"[..]),
            Just(&b":"[..]),
            Just(&b","[..]),
            Just(&b"="[..]),
            Just(&b"\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"#"[..]),
            Just(&b";"[..]),
            Just(&b"`"[..]),
            Just(&b"\"\"\""[..]),
            Just(&b"sops"[..]),
            Just(&b"sops_"[..]),
            Just(&b"__map_"[..]),
            Just(&b"__list_"[..]),
            Just(&b"-1e999"[..]),
            Just(&b"0"[..]),
            Just(&b"9"[..]),
            Just(&b"a"[..]),
            Just(&b" "[..]),
            Just(&b"\xff"[..]),
            Just(&b"\xe2\x82"[..]),
            Just(&b"\xef\xbb\xbf"[..]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// No input makes a parser (or the emitter on what it parsed) panic.
        #[test]
        fn parsers_never_panic(input in prop_oneof![near_syntax(), any::<Vec<u8>>()]) {
            for format in [Format::Json, Format::Dotenv, Format::Ini, Format::Binary] {
                let store = store_for(format, StoreOptions::default());
                if let Ok(tree) = store.load_plain(&input) {
                    let _ = store.emit_plain(&tree);
                }
                if let Ok((tree, meta)) = store.load_encrypted(&input) {
                    let _ = store.emit_encrypted(&tree, &meta);
                }
                let _ = crate::config::SopsConfig::parse(std::path::Path::new("/x/.sops.yaml"), &input)
                    .map(|c| c.rule_for(std::path::Path::new("/x/y")).map(|_| ()));
            }
        }
    }
}
