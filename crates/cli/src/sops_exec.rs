//! `psd exec-env` and `psd exec-file`: run a command with a file's secrets, as `sops exec-env`
//! and `sops exec-file` do. The secrets reach the command only through its environment, or
//! through a FIFO (default) or a private file (`--no-fifo`, mode 0600) in a fresh 0700 folder
//! that psd removes when the command ends, also when Ctrl-C or `kill` stops it (see
//! [`crate::child`]). The exit code is the command's.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use psd_sops::api::{self, DecryptOptions};
use psd_sops::error::exit;
use psd_sops::flatten::scalar_to_string;
use psd_sops::tree::{Key, Value};
use psd_sops::{Format, Identities};
use zeroize::Zeroizing;

use crate::child::{self, Ended, Guard};
use crate::sops_cmd::{FORMATS, Failure, encrypted_load_error, finish};

/// Arguments of `psd exec-env`.
#[derive(Debug, clap::Args)]
pub struct ExecEnvArgs {
    /// The encrypted file; its top-level keys become environment variables.
    file: Option<PathBuf>,
    /// The command, run with `/bin/sh -c`.
    command: Option<String>,
    /// Give the command only the decrypted variables, not psd's environment.
    #[arg(long)]
    pristine: bool,
    /// Replace psd with the command instead of running it as a child.
    #[arg(long)]
    same_process: bool,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Not supported by psd (sops switches user); run psd as that user instead.
    #[arg(long, value_name = "USER", hide = true)]
    user: Option<String>,
    /// Not supported by psd (deprecated in sops).
    #[arg(long, hide = true)]
    background: bool,
}

/// Arguments of `psd exec-file`.
#[derive(Debug, clap::Args)]
pub struct ExecFileArgs {
    /// The encrypted file.
    file: Option<PathBuf>,
    /// The command, run with `/bin/sh -c`; `{}` is replaced by the decrypted file's path.
    command: Option<String>,
    /// Use a private regular file instead of a FIFO.
    #[arg(long)]
    no_fifo: bool,
    /// Name of the decrypted file in its private folder [default: tmp-file].
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Output format of the decrypted file; default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    output_type: Option<String>,
    /// Not supported by psd (sops switches user); run psd as that user instead.
    #[arg(long, value_name = "USER", hide = true)]
    user: Option<String>,
    /// Not supported by psd (deprecated in sops).
    #[arg(long, hide = true)]
    background: bool,
}

/// Runs `psd exec-env`.
pub fn exec_env(args: ExecEnvArgs) -> ExitCode {
    finish(run_exec_env(&args))
}

/// Runs `psd exec-file`.
pub fn exec_file(args: ExecFileArgs) -> ExitCode {
    finish(run_exec_file(&args))
}

fn unsupported(user: Option<&String>, background: bool) -> Result<(), Failure> {
    if user.is_some() {
        return Err(Failure::new(
            exit::GENERIC,
            "psd does not switch users (--user): run psd as that user, e.g. sudo -u USER psd …",
        ));
    }
    if background {
        return Err(Failure::new(
            exit::GENERIC,
            "psd does not support --background (deprecated in sops): run the command in the \
             background with the shell instead",
        ));
    }
    Ok(())
}

fn missing_file() -> Failure {
    Failure::new(exit::GENERIC, "error: missing file to decrypt")
}

/// Reads and decrypts `file` (MAC verified unless `ignore_mac`).
fn decrypt_tree(
    file: &Path,
    format: Format,
    ignore_mac: bool,
) -> Result<api::DecryptedTree, Failure> {
    let bytes = std::fs::read(file).map_err(|e| {
        Failure::new(
            exit::COULD_NOT_READ_INPUT_FILE,
            format!("Error reading file: open {}: {e}", file.display()),
        )
    })?;
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("exec", &identities);
    let opts = DecryptOptions {
        ignore_mac,
        require_version: true,
        ..DecryptOptions::default()
    };
    api::decrypt_tree(&bytes, format, &identities, &opts).map_err(encrypted_load_error)
}

fn format_of(file: &Path, given: Option<&str>) -> Format {
    given
        .and_then(Format::from_name)
        .unwrap_or_else(|| Format::from_path(file))
}

fn run_exec_env(args: &ExecEnvArgs) -> Result<(), Failure> {
    let (Some(file), Some(command)) = (&args.file, &args.command) else {
        return Err(missing_file());
    };
    unsupported(args.user.as_ref(), args.background)?;
    let dec = decrypt_tree(
        file,
        format_of(file, args.input_type.as_deref()),
        args.ignore_mac,
    )?;
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    for item in dec.tree.branches.first().into_iter().flatten() {
        let Key::Name(key) = &item.key else { continue };
        if matches!(item.value, Value::Map(_) | Value::List(_)) {
            return Err(Failure::new(
                exit::GENERIC,
                format!("cannot use complex value in environment; offending key {key}"),
            ));
        }
        if key.contains('=') {
            return Err(Failure::new(
                exit::GENERIC,
                format!("cannot use keys with '=' in environment: {key}"),
            ));
        }
        vars.push((key.into(), scalar_to_string(&item.value).into()));
    }
    drop(dec);
    let mut env = if args.pristine {
        Vec::new()
    } else {
        child::current_env()
    };
    env.extend(vars);
    if args.same_process {
        use std::os::unix::process::CommandExt as _;
        let e = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .env_clear()
            .envs(env)
            .exec();
        return Err(Failure::new(
            exit::GENERIC,
            format!("cannot run /bin/sh: {e}"),
        ));
    }
    let guard = Guard::new().map_err(|m| Failure::new(exit::GENERIC, m))?;
    let ended = guard
        .run_shell(command, &env)
        .map_err(|m| Failure::new(exit::GENERIC, m))?;
    command_result(ended)
}

/// The command's exit code becomes psd's, with sops's (Go's) line for it.
pub(crate) fn command_result(ended: Ended) -> Result<(), Failure> {
    let message = match ended {
        Ended::Code(0) => return Ok(()),
        Ended::Code(c) => format!("exit status {c}"),
        Ended::Signal(s) => {
            let name = match s {
                1 => "hangup",
                2 => "interrupt",
                3 => "quit",
                6 => "aborted",
                9 => "killed",
                13 => "broken pipe",
                15 => "terminated",
                _ => "",
            };
            if name.is_empty() {
                format!("signal: signal {s}")
            } else {
                format!("signal: {name}")
            }
        }
    };
    Err(Failure::new(ended.sops_code(), message))
}

/// A `--filename` must stay in the private folder.
fn local_name(name: &str) -> Option<&str> {
    let p = Path::new(name);
    let mut parts = p.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Some(name),
        _ => None,
    }
}

fn run_exec_file(args: &ExecFileArgs) -> Result<(), Failure> {
    let (Some(file), Some(command)) = (&args.file, &args.command) else {
        return Err(missing_file());
    };
    unsupported(args.user.as_ref(), args.background)?;
    let in_fmt = format_of(file, args.input_type.as_deref());
    let out_fmt = format_of(file, args.output_type.as_deref());
    let name = match args.filename.as_deref() {
        None | Some("") => "tmp-file",
        Some(n) => local_name(n).ok_or_else(|| {
            Failure::new(exit::GENERIC, "The provided filename is not a local path.")
        })?,
    };
    let dec = decrypt_tree(file, in_fmt, args.ignore_mac)?;
    let plain =
        Zeroizing::new(psd_sops::store_for(out_fmt, Default::default()).emit_plain(&dec.tree)?);
    drop(dec);

    let guard = Guard::new().map_err(|m| Failure::new(exit::GENERIC, m))?;
    let dir = tempfile::Builder::new()
        .prefix(".sops")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            Failure::new(
                exit::GENERIC,
                format!("cannot create a private folder: {e}"),
            )
        })?;
    guard.protect(dir.path().to_owned());
    let path = dir.path().join(name);
    let fail = |e: std::io::Error| Failure::new(exit::GENERIC, format!("{}: {e}", path.display()));
    if args.no_fifo {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(fail)?;
        f.write_all(&plain).map_err(fail)?;
    } else {
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| fail(e.into()))?;
        // Opening a FIFO for writing waits for its reader: write on a thread; if the command
        // never reads it, the thread ends with psd.
        let fifo = path.clone();
        let data = plain.clone();
        std::thread::spawn(move || {
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                let _ = f.write_all(&data);
            }
            drop(data);
        });
    }
    drop(plain);
    let command = command.replace("{}", &path.to_string_lossy());
    let ended = guard.run_shell(&command, &child::current_env());
    // Removed whatever happened to the command (and before psd exits on a deferred signal).
    let removed = dir.close();
    let ended = ended.map_err(|m| Failure::new(exit::GENERIC, m))?;
    removed.map_err(|e| {
        Failure::new(
            exit::GENERIC,
            format!("cannot remove the private folder: {e}"),
        )
    })?;
    command_result(ended)
}
