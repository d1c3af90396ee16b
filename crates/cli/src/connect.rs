//! `psd connect postgres|redis|authentik`: the connection details of a service the rendered
//! tree deploys, from its decrypted Secrets ([`psd_render::connect`]); or, with `--exec`, a
//! command run with them in its environment only (as `psd exec-env`, through
//! [`crate::child`]). Secrets reach stdout only with `--show-secrets`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_model::secrecy::ExposeSecret as _;
use psd_render::connect::{self, ConnectRequest, Connection, HIDDEN, Service};
use psd_render::{Mode, RenderOptions};

use crate::child::{self, Guard};
use crate::sops_cmd::{Failure, finish};
use crate::sops_exec::command_result;
use crate::ui::{self, Style};

/// Exit code of every error of psd itself (usage, description, keys, tree).
const INPUT_ERROR: i32 = 2;

/// Arguments of `psd connect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Hosts: the data ports are published by Traefik on the node, open to exposure.source_ranges \
(the tailnet by default). The default host is Authentik's name (<authentik.host>.<domain>), \
which must already resolve to the node's tailnet address for Authentik to work; with Authentik \
disabled, --host is required. Use --host 127.0.0.1 --port P with `kubectl port-forward`.

PostgreSQL: the default user is the application owner (services.postgresql.username) in its \
database; --user <authentik's role> logs in as Authentik does, in its database. TLS is \
sslmode=require: CloudNativePG's server certificate comes from its own private CA and names \
only in-cluster Services, so it is encrypted but not verified (the tailnet authenticates the \
node). --ca-file verifies it (verify-ca); get the CA with
  kubectl -n database get secret postgresql-ca -o jsonpath='{.data.ca\\.crt}' | base64 -d > pg-ca.crt
Redis: the ACL user `default`, no TLS (the tailnet encrypts). Authentik: the admin akadmin with \
the bootstrap password and API token (valid until changed in Authentik).

Output: the details on standard output (the first line bold when colour is on: --color, \
NO_COLOR); the hint about hidden secrets on standard error, left out with -q/--quiet.

Secrets: shown as <hidden> unless --show-secrets; --exec gives them to the command's \
environment only (PGPASSWORD, DATABASE_URL; REDISCLI_AUTH, VALKEYCLI_AUTH, REDIS_PASSWORD, \
REDIS_URL; AUTHENTIK_PASSWORD, AUTHENTIK_TOKEN with AUTHENTIK_API_URL), never to its arguments.

Keys are found as sops finds them (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, \
$XDG_CONFIG_HOME/sops/age/keys.txt).

Examples:
  psd connect postgres                            # psql command, PG* variables, URL
  psd connect postgres --exec psql                # an interactive psql, password in its environment
  psd connect postgres --user authentik --exec 'psql -c \"select current_user\"'
  psd connect postgres --host 127.0.0.1 --port 15432 --exec 'pg_dump -Fc > app.dump'
  psd connect redis --exec 'redis-cli -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" --user default ping'
  psd connect authentik --show-secrets            # admin URL, user and password

Exit codes: 0 ok; 2 usage or input error (no tree, no key opens a Secret, service disabled, \
unknown user); with --exec the command's exit code (255 if a signal ended it).")]
pub struct Args {
    /// The service: postgres (or postgresql), redis (or valkey), authentik.
    #[arg(value_parser = parse_service)]
    service: Service,
    /// Connect to this host instead of Authentik's name (e.g. 127.0.0.1 for a port-forward,
    /// or the node's MagicDNS name).
    #[arg(long, value_name = "HOST", value_parser = non_empty)]
    host: Option<String>,
    /// Connect to this port instead of the service's (5432, 6379; Authentik: HTTPS's).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    port: Option<u16>,
    /// PostgreSQL role to log in as [default: the application owner]; Redis: `default`.
    #[arg(long, value_name = "USER", value_parser = non_empty)]
    user: Option<String>,
    /// PostgreSQL database [default: the one the role owns]; Redis: database number [default: 0].
    #[arg(long, value_name = "DB", value_parser = non_empty)]
    database: Option<String>,
    /// PostgreSQL: CloudNativePG's CA certificate (ca.crt of Secret postgresql-ca); TLS then
    /// verifies the server (sslmode=verify-ca).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Print passwords, tokens and URLs with passwords (else shown as `<hidden>`).
    #[arg(long, conflicts_with = "exec")]
    show_secrets: bool,
    /// Run this command (with /bin/sh -c) with the connection in its environment; nothing is
    /// printed, and the exit code is the command's.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// The cluster description [default: psd.yaml in the repository root].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Repository root [default: the nearest folder from here up that holds psd.yaml,
    /// .sops.yaml or .git].
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

fn parse_service(s: &str) -> Result<Service, String> {
    s.parse()
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_owned())
    }
}

/// Runs `psd connect`.
pub fn run(args: Args) -> ExitCode {
    finish(run_connect(args))
}

fn run_connect(args: Args) -> Result<(), Failure> {
    let root = match args.root {
        Some(r) => r,
        None => {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            match psd_render::find_repo_root(Path::new("."), home.as_deref()) {
                Some(found) => found.path,
                None => PathBuf::from("."),
            }
        }
    };
    let mut opts = RenderOptions::new(root, Mode::Check);
    opts.config_path = args.config;
    let req = ConnectRequest {
        host: args.host,
        port: args.port,
        user: args.user,
        database: args.database,
        ca_file: args.ca_file,
    };
    let conn = connect::connect(&opts, args.service, &req)
        .map_err(|e| Failure::new(INPUT_ERROR, format!("psd connect: error: {e}")))?;
    match args.exec {
        Some(command) => exec(&conn, &command),
        None => {
            print!("{}", describe(&conn, args.show_secrets));
            if !args.show_secrets {
                crate::note!(
                    "psd connect: secrets are shown as {HIDDEN}: --show-secrets prints them, \
                     --exec CMD gives them to CMD's environment only (e.g. psd connect {} \
                     --exec {})",
                    args.service,
                    match args.service {
                        Service::Postgresql => "psql",
                        Service::Redis =>
                            "'redis-cli -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" --user default'",
                        Service::Authentik => {
                            "'curl -H \"Authorization: Bearer $AUTHENTIK_TOKEN\" \
                             \"${AUTHENTIK_API_URL}core/users/me/\"'"
                        }
                    }
                );
            }
            Ok(())
        }
    }
}

/// The text `psd connect` prints: the notes, the client command, the URL, the variables.
fn describe(conn: &Connection, reveal: bool) -> String {
    let mut out = String::new();
    let mut notes = conn.notes.iter();
    if let Some(first) = notes.next() {
        out.push_str(&ui::paint(first, Style::Heading));
        out.push('\n');
    }
    for n in notes {
        out.push_str("  ");
        out.push_str(n);
        out.push('\n');
    }
    out.push_str("  secrets from ");
    out.push_str(&conn.secret_file);
    out.push_str("\n\n");
    if let Some(argv) = conn.client_command() {
        out.push_str(&shell_join(&argv));
        out.push('\n');
    }
    out.push_str(&conn.url(reveal));
    out.push_str("\n\n");
    for v in conn.variables() {
        let value = if v.secret && !reveal {
            HIDDEN.to_owned()
        } else {
            shell_quote(v.value.expose_secret())
        };
        out.push_str(v.name);
        out.push('=');
        out.push_str(&value);
        out.push('\n');
    }
    out
}

fn shell_quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| s.to_owned(), std::borrow::Cow::into_owned)
}

fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with psd's environment plus the connection's variables.
fn exec(conn: &Connection, command: &str) -> Result<(), Failure> {
    let mut env = child::current_env();
    for v in conn.variables() {
        let name = OsString::from(v.name);
        env.retain(|(k, _)| *k != name);
        env.push((name, OsString::from(v.value.expose_secret())));
    }
    let guard = Guard::new().map_err(|m| Failure::new(INPUT_ERROR, m))?;
    let ended = guard
        .run_shell(command, &env)
        .map_err(|m| Failure::new(INPUT_ERROR, format!("psd connect: {m}")))?;
    drop(env);
    command_result(ended).map_err(|f| {
        Failure::new(
            f.code,
            format!("psd connect: the command failed ({})", f.message),
        )
    })
}
