//! sops's top-level forms (`-d`, `-e -i`, `--set`, `-r --add-age`, `--extract`, edit by file
//! name) with psd and with the real `sops`: the same results and exit codes.

// A skipped judge must be reported loudly on stderr.
#![allow(clippy::print_stderr)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PSD: &str = env!("CARGO_BIN_EXE_psd");
const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn sops() -> Option<PathBuf> {
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin"));
    let found = std::env::var_os("PSD_SOPS").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([venv])
            .map(|d| d.join("sops"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and the real sops is missing"
        );
        eprintln!("SKIPPED: real `sops` not found (PSD_SOPS, PATH, .venv/bin/sops)");
    }
    found
}

fn run(tool: &Path, dir: &Path, key: &Path, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", key)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("EDITOR", dir.join("editor.sh"))
        .env_remove("SOPS_EDITOR")
        .output()
        .unwrap()
}

#[test]
fn legacy_forms_behave_as_with_sops() {
    let Some(sops) = sops() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = Path::new(FIXTURE_KEY);
    let recipient = std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    std::fs::write(
        d.join(".sops.yaml"),
        format!("creation_rules:\n  - age: {recipient}\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("editor.sh"),
        "#!/bin/sh\nsed -i 's/^b: two$/b: edited/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(d.join("editor.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let plain = "a: 1\nb: two\nc:\n    d: x\n";
    for (tool, name) in [
        (Path::new(PSD), "mine.yaml"),
        (sops.as_path(), "theirs.yaml"),
    ] {
        std::fs::write(d.join(name), plain).unwrap();
        for args in [
            vec!["-e", "-i", name],
            vec!["--set", r#"["c"]["d"] {"e": true}"#, name],
            vec![name],
        ] {
            let out = run(tool, d, key, &args);
            assert!(
                out.status.success(),
                "{tool:?} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let dec = |tool: &Path, args: &[&str]| {
        let out = run(tool, d, key, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(
        dec(&sops, &["-d", "mine.yaml"]),
        dec(&sops, &["-d", "theirs.yaml"])
    );
    assert_eq!(
        dec(Path::new(PSD), &["-d", "theirs.yaml"]),
        dec(&sops, &["-d", "mine.yaml"])
    );
    assert!(dec(&sops, &["-d", "mine.yaml"]).1.contains("b: edited"));
    for args in [
        &["-d", "--extract", r#"["c"]["d"]"#, "mine.yaml"][..],
        &["--decrypt", "--output-type", "json", "mine.yaml"],
        &["-d", "missing.yaml"],
        &["--set", "nonsense", "mine.yaml"],
        &["--set", r#"["a"] not-json"#, "mine.yaml"],
    ] {
        assert_eq!(dec(Path::new(PSD), args), dec(&sops, args), "{args:?}");
    }
    // -r -i --add-age: a second key opens both files afterwards.
    let second = d.join("second.txt");
    assert!(
        Command::new(PSD)
            .args(["keygen", "-o"])
            .arg(&second)
            .status()
            .unwrap()
            .success()
    );
    let r2 = std::fs::read_to_string(&second)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    for (tool, name) in [
        (Path::new(PSD), "mine.yaml"),
        (sops.as_path(), "theirs.yaml"),
    ] {
        let out = run(tool, d, key, &["-r", "-i", "--add-age", &r2, name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(&sops, d, &second, &["-d", name]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
