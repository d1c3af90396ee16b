//! A rendered repository for the tests of `psd connect` and the secret scan: a temporary folder
//! with `psd.yaml`, `.sops.yaml` for the fixture key and the tree `psd render` wrote, and a
//! way to run `psd` there with a private environment (its own `HOME`, `XDG_CONFIG_HOME`, and
//! `SOPS_AGE_KEY_FILE` naming the fixture key), so nothing touches the real home.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The never-for-production fixture key.
pub const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

/// The psd binary under test.
pub const PSD: &str = env!("CARGO_BIN_EXE_psd");

/// A repository rendered with the fixture key.
pub struct Repo {
    /// The temporary folder: `repo/` (the repository) and `home/`.
    pub dir: tempfile::TempDir,
    /// Extra folders put first on `PATH` of every psd run.
    pub path_prefix: Vec<PathBuf>,
}

impl Repo {
    /// `psd.yaml` (`domain: example.org`, the fixture key's recipient, then `extra_config`),
    /// rendered by `psd render` with `CLOUDFLARE_API_TOKEN=cloudflare_token` (if given).
    pub fn rendered(extra_config: &str, cloudflare_token: Option<&str>) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("home/.config")).unwrap();
        let repo = Repo {
            dir,
            path_prefix: Vec::new(),
        };
        std::fs::write(
            repo.root().join("psd.yaml"),
            format!(
                "domain: example.org\nsops:\n  age_recipients: [{}]\n{extra_config}",
                recipient()
            ),
        )
        .unwrap();
        let mut render = repo.psd(&["render"]);
        if let Some(t) = cloudflare_token {
            render.env("CLOUDFLARE_API_TOKEN", t);
        }
        let out = render.output().unwrap();
        assert!(
            out.status.success(),
            "psd render failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        repo
    }

    /// The repository root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The private home.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `psd args…` in the repository, with only `PATH`, `LC_ALL`, the private home and the
    /// fixture key in its environment; stdin is empty.
    pub fn psd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(PSD);
        let mut path: Vec<PathBuf> = self.path_prefix.clone();
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        cmd.env_clear()
            .env("PATH", std::env::join_paths(path).unwrap_or_default())
            .env("LC_ALL", "C")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("SOPS_AGE_KEY_FILE", FIXTURE_KEY)
            .env("PGCONNECT_TIMEOUT", "10")
            .current_dir(self.root())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `psd args…` with more variables (see [`Repo::psd`]).
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let mut cmd = self.psd(args);
        cmd.envs(env.iter().copied());
        Ran::from(cmd.output().unwrap())
    }

    /// Runs `psd args…` (see [`Repo::psd`]).
    pub fn run(&self, args: &[&str]) -> Ran {
        Ran::from(self.psd(args).output().unwrap())
    }
}

/// What a command printed, as text.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (`None`: a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Self {
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The fixture key's text.
pub fn fixture_key() -> String {
    std::fs::read_to_string(FIXTURE_KEY).unwrap()
}

/// The fixture key's recipient (`age1…`).
pub fn recipient() -> String {
    fixture_key()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

/// `path` as an `OsString`, for `Command::env`.
pub fn os(path: &Path) -> OsString {
    path.as_os_str().to_owned()
}
