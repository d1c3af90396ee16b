//! Live judges: throw-away PostgreSQL and Valkey/Redis servers on 127.0.0.1, for checking that
//! rendered credentials really let the right client in (and keep a wrong one out).
//!
//! - [`Postgres`] runs the Debian package binaries (`initdb`, `postgres`, `pg_ctl`, `psql`) in a
//!   temporary directory, as an unprivileged user when the tests run as root. TCP logins use
//!   SCRAM-SHA-256, as CloudNativePG's `host all all all scram-sha-256`. The `cnpg_*` methods
//!   issue the statements CloudNativePG 1.30 issues for `bootstrap.initdb`, `managed.roles[]`
//!   and a `Database` resource.
//! - [`Redis`] runs `valkey-server` (else `redis-server`) with an ACL file, and talks to it with
//!   `valkey-cli`/`redis-cli`. [`valkey_acl_lines`] computes the ACL file that the Valkey chart
//!   0.11.0 writes for given HelmRelease values and Secret data.
//!
//! Both servers follow the judge rule of the other tests: when the binaries are missing,
//! `start` prints `SKIPPED: …` and returns `None`, except with `CI=true`, where it panics. Once
//! the binaries are there, any failure to start is a panic with the server log. Passwords go to
//! the clients through the environment (`PGPASSWORD`, `REDISCLI_AUTH`), never through argv, and
//! are redacted from error texts.

// The SKIPPED line of the judge rule goes to stderr.
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long a server may take to accept connections (CI machines are small and busy).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one client command (or `initdb`, or a shutdown) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Start attempts: a free port found by binding port 0 can be taken by someone else before the
/// server binds it.
const START_ATTEMPTS: usize = 3;

// ---------------------------------------------------------------------------------------------
// The judge rule and tool lookup
// ---------------------------------------------------------------------------------------------

/// Whether the tests run in CI (`CI=true`), where a missing judge fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The judge rule: `Some` when available; otherwise `SKIPPED: …` on stderr and `None`, or a
/// panic under `CI=true`.
pub fn judge<T>(what: &str, found: Option<T>) -> Option<T> {
    if found.is_none() {
        assert!(!in_ci(), "{what} is required in CI but missing");
        eprintln!("SKIPPED: {what} not available");
    }
    found
}

/// The first of `names` found as a file on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// `$env` if set (and a file), else the first of `names` on `PATH`.
fn tool(env: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(env) {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => on_path(names),
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

// ---------------------------------------------------------------------------------------------
// Running commands with a time limit
// ---------------------------------------------------------------------------------------------

/// What a finished command printed.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` with `input` on stdin, killing it after `timeout`. The error names the program
/// only (arguments are never secret here, but stay out of messages all the same).
fn run(cmd: &mut Command, input: &str, timeout: Duration) -> Result<Ran, String> {
    let program = Path::new(cmd.get_program())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut stdin = child.stdin.take();
    let input = input.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            // A client that exits early (wrong password) closes the pipe: not an error here.
            let _ = s.write_all(&input);
        }
    });
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    let _ = writer.join();
    Ok(Ran {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `text` with every occurrence of a non-empty `secret` replaced by `<redacted>`.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<redacted>");
    }
    out
}

/// The last lines of a server log, for start-up failures.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// Dropping root for PostgreSQL
// ---------------------------------------------------------------------------------------------

/// A user and group id to run a child as.
#[derive(Clone, Copy, Debug)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// The effective user id of this process (`/proc/self/status`, Linux).
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The uid and gid of `name` in `/etc/passwd`.
fn passwd_ids(name: &str) -> Option<RunAs> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || f[0] != name {
            return None;
        }
        Some(RunAs {
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
        })
    })
}

/// `initdb` and `postgres` refuse to run as root: as root, run them as `postgres` (created by
/// the Debian `postgresql` package), else `nobody`. `None` when not root.
fn pg_run_as() -> Option<RunAs> {
    if euid() != Some(0) {
        return None;
    }
    Some(
        passwd_ids("postgres")
            .or_else(|| passwd_ids("nobody"))
            .expect("running as root, and neither user `postgres` nor `nobody` exists to run PostgreSQL as"),
    )
}

fn as_user(mut cmd: Command, run_as: Option<RunAs>) -> Command {
    if let Some(r) = run_as {
        // std drops supplementary groups when it changes the uid of a child of root.
        cmd.uid(r.uid).gid(r.gid);
    }
    cmd
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

/// SQL identifier quoting (`"…"`, quotes doubled), as CloudNativePG's `pgx.Identifier.Sanitize`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('\0', "").replace('"', "\"\""))
}

/// SQL string literal quoting for `standard_conforming_strings = on` (quotes doubled); `E'…'`
/// with backslashes doubled when the text has a backslash, as `lib/pq`'s `QuoteLiteral`.
pub fn quote_literal(text: &str) -> String {
    let body = text.replace('\'', "''");
    if body.contains('\\') {
        format!(" E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// The `bin` directory of the newest PostgreSQL: `$PSD_PG_BIN`, else the highest
/// `/usr/lib/postgresql/<major>/bin` with `initdb`, else the directory of `initdb` on `PATH`.
fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PSD_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let initdb = on_path(&["initdb"])?;
    let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    initdb.parent().map(Path::to_path_buf)
}

/// The PostgreSQL programs the harness uses, all from one installation.
struct PgBin {
    initdb: PathBuf,
    postgres: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
}

fn pg_bin() -> Option<PgBin> {
    let dir = pg_bin_dir()?;
    let bin = PgBin {
        initdb: dir.join("initdb"),
        postgres: dir.join("postgres"),
        pg_ctl: dir.join("pg_ctl"),
        // Debian's /usr/bin/psql is a wrapper script; the versioned one sits beside initdb.
        psql: Some(dir.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| on_path(&["psql"]))?,
    };
    [&bin.initdb, &bin.postgres, &bin.pg_ctl]
        .iter()
        .all(|p| p.is_file())
        .then_some(bin)
}

/// A throw-away PostgreSQL server on 127.0.0.1, stopped (fast shutdown) and deleted on drop.
///
/// `pg_hba.conf` has two lines: `local all postgres trust` for the bootstrap superuser over the
/// socket in the temporary directory, and `host all all 127.0.0.1/32 scram-sha-256` (the
/// loopback form of CloudNativePG's `host all all all scram-sha-256`); `password_encryption`
/// is `scram-sha-256`, so every password set here is stored as a SCRAM verifier.
pub struct Postgres {
    server: Child,
    port: u16,
    // Dropped after `Drop::drop` stopped the server: removes the data directory.
    setup: PgSetup,
}

/// An initialised data directory and the programs to run it.
struct PgSetup {
    bin: PgBin,
    run_as: Option<RunAs>,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    /// With TLS: the CA certificate that signed the server's.
    ca_cert: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl PgSetup {
    /// `initdb` into a new temporary directory, then our `pg_hba.conf` and settings.
    fn init(bin: PgBin, openssl: Option<&Path>) -> Result<PgSetup, String> {
        let run_as = pg_run_as();
        // The unprivileged user must be able to reach the directory: /tmp, not $TMPDIR, as root.
        let dir = if run_as.is_some() {
            tempfile::Builder::new()
                .prefix("psd-pg-")
                .tempdir_in("/tmp")
        } else {
            tempfile::Builder::new().prefix("psd-pg-").tempdir()
        }
        .map_err(|e| format!("temporary directory: {e}"))?;
        let socket_dir = dir.path().join("socket");
        std::fs::create_dir(&socket_dir).map_err(|e| format!("{}: {e}", socket_dir.display()))?;
        if let Some(r) = run_as {
            for p in [dir.path(), &socket_dir] {
                std::os::unix::fs::chown(p, Some(r.uid), Some(r.gid))
                    .map_err(|e| format!("chown {}: {e}", p.display()))?;
            }
        }
        let data = dir.path().join("data");
        let ran = run(
            as_user(Command::new(&bin.initdb), run_as)
                .current_dir(dir.path())
                .env("LC_ALL", "C")
                .args(["--no-sync", "--encoding=UTF8", "--locale=C", "--username"])
                .arg(Postgres::SUPERUSER)
                .arg("--pgdata")
                .arg(&data),
            "",
            COMMAND_TIMEOUT,
        )?;
        if !ran.status.success() {
            return Err(format!("initdb failed ({}):\n{}", ran.status, ran.stderr));
        }
        let hba = format!(
            "# psd live judge\nlocal all {} trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
            Postgres::SUPERUSER
        );
        std::fs::write(data.join("pg_hba.conf"), hba).map_err(|e| format!("pg_hba.conf: {e}"))?;
        let conf = format!(
            "\n# psd live judge\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nmax_connections = 20\nshared_buffers = 16MB\n",
            socket_dir.display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(|e| format!("postgresql.conf: {e}"))?;
        let ca_cert = match openssl {
            Some(openssl) => Some(pg_tls(openssl, dir.path(), &data, run_as)?),
            None => None,
        };
        Ok(PgSetup {
            bin,
            run_as,
            data,
            socket_dir,
            log: dir.path().join("server.log"),
            ca_cert,
            _dir: dir,
        })
    }

    fn spawn(&self, port: u16) -> Result<Child, String> {
        let log = std::fs::File::create(&self.log).map_err(|e| format!("server log: {e}"))?;
        as_user(Command::new(&self.bin.postgres), self.run_as)
            .current_dir(&self.data)
            .env("LC_ALL", "C")
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| format!("server log: {e}"))?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run postgres: {e}"))
    }

    fn wait_ready(&self, server: &mut Child, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.try_wait() {
                return Err(format!(
                    "postgres exited ({status}) while starting:\n{}",
                    log_tail(&self.log)
                ));
            }
            if self.superuser_sql(port, "select 1").as_deref() == Ok("1") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "postgres did not accept connections within {START_TIMEOUT:?}:\n{}",
                    log_tail(&self.log)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn psql(&self) -> Command {
        let mut cmd = Command::new(&self.bin.psql);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .env("PGCLIENTENCODING", "UTF8")
            .env("PGPASSFILE", "/dev/null")
            .env("PGCONNECT_TIMEOUT", "10")
            // No ~/.psqlrc, quiet, unaligned tuples only, stop at the first error, never prompt.
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-w",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ]);
        cmd
    }

    fn superuser_sql(&self, port: u16, sql: &str) -> Result<String, String> {
        let mut cmd = self.psql();
        cmd.arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(port.to_string())
            .args(["-U", Postgres::SUPERUSER, "-d", "postgres"]);
        let ran = run(&mut cmd, sql, COMMAND_TIMEOUT)?;
        if ran.status.success() {
            Ok(ran.stdout.trim_end_matches('\n').to_owned())
        } else {
            Err(format!("psql as superuser: {}", ran.stderr.trim_end()))
        }
    }

    /// Fast shutdown with `pg_ctl`, then a kill if the server is still there.
    fn stop(&self, server: &mut Child) {
        if let Ok(None) = server.try_wait() {
            let _ = run(
                as_user(Command::new(&self.bin.pg_ctl), self.run_as)
                    .current_dir(&self.data)
                    .arg("stop")
                    .arg("-D")
                    .arg(&self.data)
                    .args(["-m", "fast", "-w", "-t", "30"]),
                "",
                COMMAND_TIMEOUT,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(None) = server.try_wait() {
            if Instant::now() >= deadline {
                let _ = server.kill();
                let _ = server.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Postgres {
    /// The bootstrap superuser (socket only, trust).
    pub const SUPERUSER: &'static str = "postgres";

    /// Starts a server, or `None` under the judge rule when the PostgreSQL binaries are
    /// missing. Panics (with the server log) when they are there but the server does not come
    /// up within a minute.
    pub fn start() -> Option<Postgres> {
        let bin = judge(
            "PostgreSQL (initdb, postgres, pg_ctl, psql; Debian package `postgresql`)",
            pg_bin(),
        )?;
        Some(Self::start_with(bin, None).unwrap_or_else(|e| panic!("PostgreSQL judge: {e}")))
    }

    /// [`Postgres::start`] with TLS on, as CloudNativePG runs it: a server certificate signed
    /// by a private CA ([`Postgres::ca_cert`]) for the in-cluster names, and `pg_hba`'s `host`
    /// line admitting TLS and plain connections alike. Also judges `openssl`.
    pub fn start_tls() -> Option<Postgres> {
        let bin = judge(
            "PostgreSQL (initdb, postgres, pg_ctl, psql; Debian package `postgresql`)",
            pg_bin(),
        )?;
        let openssl = judge("openssl (Debian package `openssl`)", on_path(&["openssl"]))?;
        Some(
            Self::start_with(bin, Some(&openssl))
                .unwrap_or_else(|e| panic!("PostgreSQL judge: {e}")),
        )
    }

    /// The folder of the `psql` the harness uses (put it first on a client's `PATH`).
    pub fn bin_dir(&self) -> &Path {
        self.setup.bin.psql.parent().unwrap_or(Path::new("/"))
    }

    /// With TLS ([`Postgres::start_tls`]): the CA certificate that signed the server's.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.setup.ca_cert.as_deref()
    }

    /// Sets `role`'s password (as CloudNativePG does on a changed Secret), kept out of the
    /// server log and of errors.
    pub fn set_password(&self, role: &str, password: &str) -> Result<(), String> {
        self.secret_sql(
            &format!(
                "ALTER ROLE {} WITH PASSWORD {}",
                quote_ident(role),
                quote_literal(password)
            ),
            password,
        )
    }

    fn start_with(bin: PgBin, openssl: Option<&Path>) -> Result<Postgres, String> {
        let setup = PgSetup::init(bin, openssl)?;
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let mut server = setup.spawn(port)?;
            match setup.wait_ready(&mut server, port) {
                Ok(()) => {
                    return Ok(Postgres {
                        server,
                        port,
                        setup,
                    });
                }
                Err(e) => last = e,
            }
            setup.stop(&mut server);
            // Someone took the port between our probe and the server's bind: try another.
            if !last.contains("could not bind") && !last.contains("already in use") {
                break;
            }
        }
        Err(last)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` (statements separated by `;`, each in its own transaction, so `CREATE
    /// DATABASE` works) as the bootstrap superuser over the socket; psql's output, trailing
    /// newlines removed. The error carries psql's message, which can quote the failing
    /// statement: put no secret in `sql` unless the caller redacts it (as `cnpg_*` do).
    pub fn superuser_sql(&self, sql: &str) -> Result<String, String> {
        self.setup.superuser_sql(self.port, sql)
    }

    /// Connects over TCP to 127.0.0.1 as `user` with `password` to `db` (`sslmode=disable`)
    /// and runs `sql`; psql's output, trailing newlines removed, or psql's error with the
    /// password redacted. The password reaches psql as `PGPASSWORD` in its environment only.
    pub fn login(&self, user: &str, password: &str, db: &str, sql: &str) -> Result<String, String> {
        let conninfo = format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=disable connect_timeout=10",
            self.port,
            conninfo_value(user),
            conninfo_value(db)
        );
        let mut cmd = self.setup.psql();
        cmd.env("PGPASSWORD", password).arg("-d").arg(conninfo);
        let ran = run(&mut cmd, sql, COMMAND_TIMEOUT).map_err(|e| redact(&e, &[password]))?;
        if ran.status.success() {
            Ok(ran.stdout.trim_end_matches('\n').to_owned())
        } else {
            Err(redact(ran.stderr.trim_end(), &[password]))
        }
    }

    /// Runs a statement that carries `password`, with the password redacted from errors and
    /// kept out of the server log (as CloudNativePG's `ExecWithSuppressedLogging`).
    fn secret_sql(&self, sql: &str, password: &str) -> Result<(), String> {
        let script = format!(
            "BEGIN;\nSET LOCAL log_statement = 'none';\n\
             SET LOCAL log_min_error_statement = 'PANIC';\n{sql};\nCOMMIT;\n"
        );
        self.superuser_sql(&script)
            .map(|_| ())
            .map_err(|e| redact(&e, &[&quote_literal(password), password]))
    }

    /// What CloudNativePG 1.30 does for `bootstrap.initdb.{owner, database, secret}`
    /// (`pkg/management/postgres/initdb.go` `ConfigureNewInstance`, then
    /// `pkg/management/postgres/utils/roles.go` `SetUserPassword` with the Secret's
    /// `password`): `CREATE ROLE <owner> LOGIN`, `CREATE DATABASE <database> OWNER <owner>`,
    /// `ALTER ROLE <owner> WITH PASSWORD …`.
    ///
    /// CloudNativePG SCRAM-encodes the password itself before the `ALTER ROLE`; here the server
    /// does it (`password_encryption = scram-sha-256`), which stores the same kind of verifier
    /// for the same password. Both keep a value that already looks like a hash (`md5` + 32 hex
    /// digits, or `SCRAM-SHA-256$…`) as it is, so such a "password" never logs in — as on the
    /// cluster. Not modelled: CloudNativePG refuses a password that fails SASLprep (some
    /// non-ASCII text), where the server would store it.
    pub fn cnpg_initdb(&self, owner: &str, database: &str, password: &str) -> Result<(), String> {
        self.superuser_sql(&format!(
            "CREATE ROLE {o} LOGIN;\nCREATE DATABASE {d} OWNER {o};\n",
            o = quote_ident(owner),
            d = quote_ident(database)
        ))?;
        self.secret_sql(
            &format!(
                "ALTER ROLE {} WITH PASSWORD {}",
                quote_ident(owner),
                quote_literal(password)
            ),
            password,
        )
    }

    /// What CloudNativePG 1.30 does for a `managed.roles[]` entry `{name, ensure: present,
    /// login: true, passwordSecret}` with the other fields at their defaults
    /// (`internal/management/controller/roles/postgres.go` `Create`: `appendRoleOptions`,
    /// then `appendPasswordOption`); see [`Postgres::cnpg_initdb`] on how the password is set.
    pub fn cnpg_managed_role(&self, name: &str, password: &str) -> Result<(), String> {
        self.secret_sql(
            &format!(
                "CREATE ROLE {} NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT LOGIN NOREPLICATION \
                 NOSUPERUSER CONNECTION LIMIT -1 PASSWORD {}",
                quote_ident(name),
                quote_literal(password)
            ),
            password,
        )
    }

    /// What CloudNativePG 1.30 does for a `Database` `{name, owner}`
    /// (`internal/management/controller/database_controller_sql.go` `createDatabase`).
    pub fn cnpg_database(&self, name: &str, owner: &str) -> Result<(), String> {
        self.superuser_sql(&format!(
            "CREATE DATABASE {} OWNER {}",
            quote_ident(name),
            quote_ident(owner)
        ))
        .map(|_| ())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.setup.stop(&mut self.server);
    }
}

/// A CA and a server certificate signed by it (EC P-256, two days) in `dir`, as CloudNativePG
/// makes them (`<cluster>-ca`, `<cluster>-server` with the Service names), and `ssl = on` with
/// them in `data`'s `postgresql.conf`. The key is 0600 and owned by `run_as` (PostgreSQL
/// refuses others). Returns the CA certificate's path.
fn pg_tls(
    openssl: &Path,
    dir: &Path,
    data: &Path,
    run_as: Option<RunAs>,
) -> Result<PathBuf, String> {
    let ca_key = dir.join("ca.key");
    let ca_crt = dir.join("ca.crt");
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let crt = dir.join("server.crt");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:postgresql-rw,DNS:postgresql-rw.database,\
         DNS:postgresql-rw.database.svc,DNS:postgresql-rw.database.svc.cluster.local\n",
    )
    .map_err(|e| format!("{}: {e}", ext.display()))?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&std::ffi::OsStr>; 3] = [
        [
            &[
                "req",
                "-x509",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ][..],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"][..],
            &ec[..],
            &["-days", "2", "-subj", "/CN=postgresql-ca", "-keyout"][..],
        ]
        .concat()
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([ca_key.as_os_str(), "-out".as_ref(), ca_crt.as_os_str()])
        .collect(),
        [
            &["req"][..],
            &ec[..],
            &["-subj", "/CN=postgresql-rw", "-keyout"],
        ]
        .concat()
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([key.as_os_str(), "-out".as_ref(), csr.as_os_str()])
        .collect(),
        ["x509", "-req", "-days", "2", "-set_serial", "2", "-in"]
            .into_iter()
            .map(std::ffi::OsStr::new)
            .chain([
                csr.as_os_str(),
                "-CA".as_ref(),
                ca_crt.as_os_str(),
                "-CAkey".as_ref(),
                ca_key.as_os_str(),
                "-extfile".as_ref(),
                ext.as_os_str(),
                "-out".as_ref(),
                crt.as_os_str(),
            ])
            .collect(),
    ];
    for args in steps {
        let ran = run(
            Command::new(openssl)
                .env("OPENSSL_CONF", "/dev/null")
                .args(&args),
            "",
            COMMAND_TIMEOUT,
        )?;
        if !ran.status.success() {
            return Err(format!("openssl {:?} failed: {}", args[0], ran.stderr));
        }
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("{}: {e}", key.display()))?;
    if let Some(r) = run_as {
        std::os::unix::fs::chown(&key, Some(r.uid), Some(r.gid))
            .map_err(|e| format!("chown {}: {e}", key.display()))?;
    }
    let conf = format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        crt.display(),
        key.display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("postgresql.conf: {e}"))?;
    Ok(ca_crt)
}

/// A libpq connection-string value: single-quoted, `\` and `'` escaped.
fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

// ---------------------------------------------------------------------------------------------
// Valkey / Redis
// ---------------------------------------------------------------------------------------------

/// A throw-away `valkey-server` (else `redis-server`) on 127.0.0.1 with no persistence and the
/// given ACL file; killed and deleted on drop.
pub struct Redis {
    server_name: String,
    cli: PathBuf,
    port: u16,
    server: Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts a server whose ACL file holds `acl_user_lines` (`user <name> on #<sha256> …`, as
    /// from [`valkey_acl_lines`]; no lines leave the `default` user without a password), or
    /// `None` under the judge rule when neither `valkey-server`/`valkey-cli` nor
    /// `redis-server`/`redis-cli` is there. Panics (with the server log) when the server does
    /// not come up, for instance on an ACL line it rejects.
    pub fn start(acl_user_lines: &[String]) -> Option<Redis> {
        let server = judge(
            "valkey-server or redis-server (Debian package `redis-server`)",
            tool("PSD_VALKEY_SERVER", &["valkey-server", "redis-server"]),
        )?;
        let cli = judge(
            "valkey-cli or redis-cli (Debian package `redis-tools`)",
            tool("PSD_VALKEY_CLI", &["valkey-cli", "redis-cli"]),
        )?;
        Some(
            Self::start_with(&server, cli, acl_user_lines)
                .unwrap_or_else(|e| panic!("Valkey/Redis judge: {e}")),
        )
    }

    fn start_with(server: &Path, cli: PathBuf, acl: &[String]) -> Result<Redis, String> {
        let dir = tempfile::Builder::new()
            .prefix("psd-valkey-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let path = dir.path().to_str().ok_or("temporary path is not UTF-8")?;
        if path.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            return Err(format!(
                "temporary path {path:?} cannot go into a config file"
            ));
        }
        let acl_file = dir.path().join("users.acl");
        let mut acl_text = acl.join("\n");
        acl_text.push('\n');
        std::fs::write(&acl_file, acl_text).map_err(|e| format!("ACL file: {e}"))?;
        std::fs::set_permissions(&acl_file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("ACL file: {e}"))?;
        let log = dir.path().join("server.log");
        let server_name = server
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let conf = dir.path().join("server.conf");
            std::fs::write(
                &conf,
                format!(
                    "bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\n\
                     save \"\"\nappendonly no\ndir \"{path}\"\n\
                     aclfile \"{path}/users.acl\"\nlogfile \"{path}/server.log\"\n"
                ),
            )
            .map_err(|e| format!("config file: {e}"))?;
            let _ = std::fs::remove_file(&log);
            let mut child = Command::new(server)
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {server_name}: {e}"))?;
            match redis_wait_ready(&mut child, port, &log, &server_name) {
                Ok(()) => {
                    return Ok(Redis {
                        server_name,
                        cli,
                        port,
                        server: child,
                        _dir: dir,
                    });
                }
                Err(e) => last = e,
            }
            let _ = child.kill();
            let _ = child.wait();
            // Someone took the port between our probe and the server's bind: try another.
            if !last.contains("already in use") {
                break;
            }
        }
        Err(last)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `valkey-cli` or `redis-cli` the harness uses.
    pub fn cli(&self) -> &Path {
        &self.cli
    }

    /// `valkey-server` or `redis-server`, whichever runs.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    fn cli_command(&self) -> Command {
        let mut cmd = Command::new(&self.cli);
        cmd.env_remove("REDISCLI_AUTH")
            .env_remove("VALKEYCLI_AUTH")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            // Terminal-style replies: errors as `(error) …`, strings quoted.
            .arg("--no-raw");
        cmd
    }

    fn finish(&self, cmd: &mut Command, password: &str) -> Result<String, String> {
        let ran = run(cmd, "", COMMAND_TIMEOUT).map_err(|e| redact(&e, &[password]))?;
        let out = ran.stdout.trim_end_matches('\n');
        // redis-cli exits 0 on error replies and on a failed AUTH (it only warns on stderr).
        if !ran.status.success() || out.starts_with("(error)") || ran.stderr.contains("AUTH failed")
        {
            let mut msg = String::new();
            let _ = write!(msg, "{} ({}): {out}", self.server_name, ran.status);
            if !ran.stderr.trim().is_empty() {
                let _ = write!(msg, " [{}]", ran.stderr.trim());
            }
            return Err(redact(&msg, &[password]));
        }
        Ok(out.to_owned())
    }

    /// Runs one command (`args`, e.g. `["SET", "k", "v"]`) authenticated as `user` with
    /// `password` (passed as `REDISCLI_AUTH`/`VALKEYCLI_AUTH`, not argv). The reply as the CLI
    /// prints it to a terminal (`PONG`, `OK`, `"value"`, `(nil)`, `(integer) 1`); an error
    /// reply, a failed AUTH or a failed CLI is an `Err` with the password redacted.
    pub fn command(&self, user: &str, password: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.cli_command();
        cmd.env("REDISCLI_AUTH", password)
            .env("VALKEYCLI_AUTH", password)
            .arg("--user")
            .arg(user)
            .args(args);
        self.finish(&mut cmd, password)
    }

    /// Runs one command without authenticating (as the `default` user, if it needs no
    /// password); as [`Redis::command`] otherwise.
    pub fn command_anonymous(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.cli_command();
        cmd.args(args);
        self.finish(&mut cmd, "")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Waits until the server answers a PING with PONG (no ACL for `default`) or NOAUTH (ACL in
/// force), or fails with the log when it exits or takes too long.
fn redis_wait_ready(server: &mut Child, port: u16, log: &Path, name: &str) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(format!(
                "{name} exited ({status}) while starting:\n{}",
                log_tail(log)
            ));
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut reply = [0u8; 5];
            if s.write_all(b"PING\r\n").is_ok()
                && s.read_exact(&mut reply).is_ok()
                && (&reply == b"+PONG" || &reply == b"-NOAU")
            {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{name} did not answer PING within {START_TIMEOUT:?}:\n{}",
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// What the Valkey chart makes of `auth`
// ---------------------------------------------------------------------------------------------

/// Go template truthiness (`if`, `not`, `default`): false, 0, "", empty map or list, and nil are
/// false.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// What the chart's init script (`/bin/sh`, which is dash in the Debian-based
/// `valkey/valkey:<version>` image) does to a password file before hashing it:
/// `password=$(cat file)` drops trailing newlines; `echo "$password"` in `get_user_password`
/// and `echo -n "$PASSWORD" | sha256sum` then pass it through dash's `echo` twice. dash's
/// `echo` interprets backslash escapes and takes an argument that is exactly `-n` as its
/// option, so such passwords are hashed as something else than what a client sends: errors,
/// since the server would then refuse the right password.
fn init_script_password(raw: &str, user: &str) -> Result<String, String> {
    if raw.contains('\0') {
        return Err(format!(
            "password of Valkey user {user:?} contains a NUL byte, which the chart's shell drops"
        ));
    }
    let password = raw.trim_end_matches('\n');
    if password.contains('\\') {
        return Err(format!(
            "password of Valkey user {user:?} contains a backslash: the chart's init script \
             hashes it after dash's `echo`, which interprets backslash escapes, so the right \
             password would be refused"
        ));
    }
    if password == "-n" {
        return Err(format!(
            "password of Valkey user {user:?} is `-n`: the chart's `echo` takes it as an option \
             and hashes the empty string"
        ));
    }
    Ok(password.to_owned())
}

/// The ACL file (one entry per line) that the `valkey` chart 0.11.0 (valkey-io/valkey-helm,
/// tag `valkey-0.11.0`) writes for the HelmRelease `spec.values` `values`, given the decrypted
/// data of the Secret named by `auth.usersExistingSecret` as `(key, value)` pairs. An empty
/// list means no ACL file: the `default` user needs no password. `Err` where the chart's
/// template `fail`s, where its init container exits with an error, and where the server would
/// not accept the right password (see `init_script_password`), with the reason.
///
/// Mirrors (facts read from the chart; no chart code copied):
/// - `valkey/templates/_helpers.tpl` `valkey.validateAuthConfig` (lines 134–160, included by
///   `deploy_valkey.yaml` line 5 and `statefulset.yaml` line 2): with `auth.enabled`, one of
///   `auth.aclUsers` / `auth.aclConfig` must be set; with `aclUsers`, the user `default` must be
///   in it, every user needs `permissions`, and either an inline `password` or
///   `auth.usersExistingSecret`, and `passwordKey` needs `usersExistingSecret`.
/// - `valkey/templates/deploy_valkey.yaml` lines 79–92 and 255–268: the Secret
///   `usersExistingSecret` is mounted at `/valkey-users-secret` (every key a file), the chart's
///   own `<fullname>-auth` Secret (`templates/secret.yaml`: `<user>-password` from inline
///   `password`, and `aclConfig`) at `/valkey-auth-secret`; the ACL file lives in an in-memory
///   `emptyDir` at `/etc/valkey`, and the server runs `valkey-server /data/conf/valkey.conf`.
/// - `valkey/templates/init_config.yaml` lines 23–57 (`get_user_password`): with
///   `usersExistingSecret`, the password is the Secret key `passwordKey` (default: the user
///   name), falling back to the inline password; without it, the inline password only; neither
///   → the init container exits 1.
/// - `valkey/templates/init_config.yaml` lines 97–144: `aclfile /etc/valkey/users.acl` goes
///   into valkey.conf (no `requirepass` anywhere); one line per `aclUsers` entry, in sorted
///   name order (Go template `range` over a map), `user <name> on #<sha256 hex of the password>
///   <permissions>`, then `aclConfig` appended verbatim.
/// - `valkey/templates/init_config.yaml` lines 222–230 append `valkeyConfig` after all that, so
///   a `requirepass`, `aclfile` or `user` directive there would change the outcome: an error
///   here.
pub fn valkey_acl_lines(
    values: &Value,
    secret: &[(String, String)],
) -> Result<Vec<String>, String> {
    let auth = values.get("auth");
    let field = |k: &str| auth.and_then(|a| a.get(k));
    if !truthy(field("enabled")) {
        return Ok(Vec::new());
    }
    if let Some(config) = values.get("valkeyConfig").and_then(Value::as_str) {
        for line in config.lines() {
            let directive = line.split_whitespace().next().unwrap_or("");
            if ["requirepass", "aclfile", "user"]
                .iter()
                .any(|d| directive.eq_ignore_ascii_case(d))
            {
                return Err(format!(
                    "valkeyConfig sets `{directive}`, which overrides the chart's ACL file"
                ));
            }
        }
    }
    let acl_users = field("aclUsers");
    let acl_config = field("aclConfig");
    let users_secret = truthy(field("usersExistingSecret"));
    if !truthy(acl_users) && !truthy(acl_config) {
        return Err(
            "chart fails: auth.enabled is true but neither auth.aclUsers nor \
                    auth.aclConfig is set"
                .to_owned(),
        );
    }
    let mut lines = Vec::new();
    if truthy(acl_users) {
        let users = acl_users
            .and_then(Value::as_object)
            .ok_or("chart fails: auth.aclUsers is not a map")?;
        if !users.contains_key("default") {
            return Err(
                "chart fails: the 'default' user must be defined in auth.aclUsers".to_owned(),
            );
        }
        // Go's `range` over a map visits keys in sorted order.
        let mut names: Vec<&String> = users.keys().collect();
        names.sort();
        let user_field = |name: &str, key: &str| users[name].get(key);
        // The template validates every user before anything is rendered.
        for name in &names {
            if !users[*name].is_object() {
                return Err(format!("chart fails: auth.aclUsers.{name} is not a map"));
            }
            if !truthy(user_field(name, "permissions")) {
                return Err(format!(
                    "chart fails: user '{name}' in auth.aclUsers must have a 'permissions' field"
                ));
            }
            if !truthy(user_field(name, "password")) && !users_secret {
                return Err(format!(
                    "chart fails: user '{name}' must have either 'password' field or \
                     auth.usersExistingSecret must be set"
                ));
            }
            if truthy(user_field(name, "passwordKey")) && !users_secret {
                return Err(format!(
                    "chart fails: user '{name}' has passwordKey but auth.usersExistingSecret \
                     is not set"
                ));
            }
        }
        for name in names {
            let permissions = user_field(name, "permissions")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("auth.aclUsers.{name}.permissions is not a string (not modelled)")
                })?;
            let key = match user_field(name, "passwordKey") {
                Some(k) if truthy(Some(k)) => k
                    .as_str()
                    .ok_or_else(|| format!("auth.aclUsers.{name}.passwordKey is not a string"))?,
                _ => name.as_str(),
            };
            let inline = match user_field(name, "password") {
                Some(p) if truthy(Some(p)) => Some(p.as_str().ok_or_else(|| {
                    format!("chart fails: auth.aclUsers.{name}.password is not a string (b64enc)")
                })?),
                _ => None,
            };
            let from_secret = users_secret
                .then(|| {
                    secret
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str())
                })
                .flatten();
            let raw = from_secret.or(inline).ok_or_else(|| {
                format!(
                    "init container fails: no password for Valkey user {name:?} (key {key:?} \
                     not in the usersExistingSecret Secret, no inline password)"
                )
            })?;
            let password = init_script_password(raw, name)?;
            let hash: String = Sha256::digest(password.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            lines.push(format!("user {name} on #{hash} {permissions}"));
        }
    }
    if truthy(acl_config) {
        let config = acl_config
            .and_then(Value::as_str)
            .ok_or("auth.aclConfig is not a string")?;
        lines.extend(config.lines().map(str::to_owned));
    }
    Ok(lines)
}

// ---------------------------------------------------------------------------------------------
// A rendered tree, decrypted, and what CloudNativePG makes of it
// ---------------------------------------------------------------------------------------------

/// Every YAML document under `<root>/gitops` (path, document), `*.enc.yaml` files decrypted
/// (MAC verified) with the keys of the key file text `key`.
pub fn tree_documents(root: &Path, key: &str) -> Vec<(String, Value)> {
    let ids = psd_sops::keysource::Identities::parse_key_file(key).unwrap();
    let mut docs = Vec::new();
    for entry in walkdir::WalkDir::new(root.join("gitops")) {
        let entry = entry.unwrap();
        let name = entry.path().to_string_lossy().to_string();
        if !name.ends_with(".yaml") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let text = if name.ends_with(".enc.yaml") {
            let d = psd_sops::api::decrypt(
                &bytes,
                psd_sops::Format::Yaml,
                &ids,
                &psd_sops::api::DecryptOptions::default(),
            )
            .unwrap();
            String::from_utf8(d.plain.to_vec()).unwrap()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        for doc in serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text).unwrap() {
            docs.push((name.clone(), doc));
        }
    }
    docs
}

/// The document of `kind` `ns/name`; panics naming it when it is not rendered.
pub fn find<'a>(docs: &'a [(String, Value)], kind: &str, ns: &str, name: &str) -> &'a Value {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| {
            d["kind"] == kind && d["metadata"]["namespace"] == ns && d["metadata"]["name"] == name
        })
        .unwrap_or_else(|| panic!("{kind} {ns}/{name} is not rendered"))
}

/// Every document of `kind`.
pub fn of_kind<'a>(docs: &'a [(String, Value)], kind: &'a str) -> impl Iterator<Item = &'a Value> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(move |d| d["kind"] == kind)
}

/// `stringData` of Secret `ns/name`.
pub fn secret(docs: &[(String, Value)], ns: &str, name: &str) -> BTreeMap<String, String> {
    find(docs, "Secret", ns, name)["stringData"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// `v` as a string; panics naming `what` otherwise.
pub fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

/// Applies the Clusters and Databases to `pg` as CloudNativePG would; returns the logins the
/// operator set up: role → (password, database it owns).
pub fn apply_cloudnative_pg(pg: &Postgres, docs: &[(String, Value)]) -> BTreeMap<String, String> {
    let mut logins = BTreeMap::new();
    let clusters: Vec<&Value> = of_kind(docs, "Cluster").collect();
    assert_eq!(clusters.len(), 1);
    let cluster = clusters[0];
    let ns = s(&cluster["metadata"]["namespace"], "namespace");
    let initdb = &cluster["spec"]["bootstrap"]["initdb"];
    let owner = s(&initdb["owner"], "initdb.owner");
    let creds = secret(docs, ns, s(&initdb["secret"]["name"], "initdb.secret"));
    // The operator takes the owner's password from the Secret; its username must be the owner.
    assert_eq!(creds["username"], owner);
    pg.cnpg_initdb(
        owner,
        s(&initdb["database"], "initdb.database"),
        &creds["password"],
    )
    .unwrap();
    logins.insert(owner.to_owned(), creds["password"].clone());
    for role in cluster["spec"]["managed"]["roles"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = s(&role["name"], "role name");
        let creds = secret(
            docs,
            ns,
            s(&role["passwordSecret"]["name"], "passwordSecret"),
        );
        assert_eq!(creds["username"], name);
        pg.cnpg_managed_role(name, &creds["password"]).unwrap();
        logins.insert(name.to_owned(), creds["password"].clone());
    }
    for db in of_kind(docs, "Database") {
        assert_eq!(db["spec"]["cluster"]["name"], cluster["metadata"]["name"]);
        pg.cnpg_database(
            s(&db["spec"]["name"], "database"),
            s(&db["spec"]["owner"], "owner"),
        )
        .unwrap();
    }
    logins
}
