//! `psd encrypt`, `psd decrypt`, `psd filestatus`: the sops-compatible subset.
//!
//! Flag names, stdin handling, `.sops.yaml` lookup and exit codes follow sops 3.11, so a
//! script that calls `sops encrypt|decrypt|filestatus` with these flags works unchanged with
//! `psd`. Each command is: arguments → settings → one `psd_sops` call → output and exit code.
//!
//! The differences from sops that are kept on purpose are listed in the README (section
//! "Differences from sops").

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_sops::age::Recipient;
use psd_sops::api::{self, DecryptOptions};
use psd_sops::config::{self, SopsConfig};
use psd_sops::error::exit;
use psd_sops::{Error, Format, Identities, StoreOptions};
use zeroize::Zeroizing;

/// The `--input-type`/`--output-type` names sops knows.
pub(crate) const FORMATS: [&str; 5] = ["yaml", "json", "dotenv", "ini", "binary"];

/// Input, output and config flags shared by `encrypt` and `decrypt`.
#[derive(Debug, clap::Args)]
pub struct IoArgs {
    /// The file to read; `-` or nothing reads stdin.
    pub(crate) file: Option<PathBuf>,
    /// Write the result back to the file (atomically; never with stdin).
    #[arg(short = 'i', long)]
    pub(crate) in_place: bool,
    /// Save the result to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    pub(crate) input_type: Option<String>,
    /// Output format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    pub(crate) output_type: Option<String>,
    /// Use this name instead of the file's for format detection and `.sops.yaml` matching.
    #[arg(long, value_name = "NAME")]
    pub(crate) filename_override: Option<PathBuf>,
    /// The `.sops.yaml` to use (no upward search).
    #[arg(long, value_name = "FILE", env = "SOPS_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Spaces of indentation for YAML and JSON output (overrides `stores:` of `.sops.yaml`).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) indent: Option<i64>,
}

/// Arguments of `psd encrypt`.
#[derive(Debug, clap::Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    io: IoArgs,
    /// Comma-separated age recipients (replace the keys of `.sops.yaml`).
    #[arg(
        short = 'a',
        long,
        value_name = "RECIPIENTS",
        env = "SOPS_AGE_RECIPIENTS"
    )]
    age: Option<String>,
    /// Leave values clear whose key (or a parent key) ends with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    unencrypted_suffix: Option<String>,
    /// Encrypt only values whose key (or a parent key) ends with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    encrypted_suffix: Option<String>,
    /// Leave values clear whose key (or a parent key) matches this regex.
    #[arg(long, value_name = "REGEX")]
    unencrypted_regex: Option<String>,
    /// Encrypt only values whose key (or a parent key) matches this regex.
    #[arg(long, value_name = "REGEX")]
    encrypted_regex: Option<String>,
    /// Leave values clear that follow a comment matching this regex.
    #[arg(long, value_name = "REGEX")]
    unencrypted_comment_regex: Option<String>,
    /// Encrypt only values that follow a comment matching this regex.
    #[arg(long, value_name = "REGEX")]
    encrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    mac_only_encrypted: bool,
    /// Key groups needed to recover the data key (Shamir).
    #[arg(long, value_name = "N", default_value_t = 0)]
    shamir_secret_sharing_threshold: usize,
}

/// Arguments of `psd decrypt`.
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    #[command(flatten)]
    io: IoArgs,
    /// Output only this part of the document, e.g. `'["data"]["password"]'`.
    #[arg(long, value_name = "PATH")]
    extract: Option<String>,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
}

/// Arguments of `psd filestatus`.
#[derive(Debug, clap::Args)]
pub struct FilestatusArgs {
    /// The file to check; `-` reads stdin.
    file: Option<PathBuf>,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
}

/// A failure of a command: sops' message (plus what to do) and its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: i32,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            message: e.to_string(),
            code: e.exit_code(),
        }
    }
}

impl Failure {
    pub(crate) fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }
}

pub(crate) fn finish(r: Result<(), Failure>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // A command run by exec-env/exec-file has said what it had to say.
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            ExitCode::from(u8::try_from(f.code & 0xff).unwrap_or(1))
        }
    }
}

/// Runs `psd encrypt`.
pub fn encrypt(args: EncryptArgs) -> ExitCode {
    finish(run_encrypt(args))
}

/// Runs `psd decrypt`.
pub fn decrypt(args: DecryptArgs) -> ExitCode {
    finish(run_decrypt(args))
}

/// Runs `psd filestatus`.
pub fn filestatus(args: FilestatusArgs) -> ExitCode {
    finish(run_filestatus(args))
}

/// The input file, or `None` for stdin.
pub(crate) fn input_path(file: &Option<PathBuf>) -> Option<&Path> {
    file.as_deref().filter(|p| p.as_os_str() != "-")
}

/// Reads the whole input (the caller wraps plaintext in `Zeroizing`; ciphertext needs no wipe).
pub(crate) fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        Some(p) => {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            if std::fs::symlink_metadata(p).is_err() {
                return Err(Failure::new(
                    exit::NO_FILE_SPECIFIED,
                    format!(
                        "Error: cannot operate on non-existent file {:?}\ncheck the path",
                        abs.display().to_string()
                    ),
                ));
            }
            std::fs::File::open(p)
                .and_then(|mut f| f.read_to_end(&mut buf))
                .map_err(|e| {
                    Failure::new(
                        exit::COULD_NOT_READ_INPUT_FILE,
                        format!("Error reading file: read {}: {e}", abs.display()),
                    )
                })?;
            crate::verbose!("psd: read {} ({} bytes)", abs.display(), buf.len());
        }
        None => {
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                Failure::new(
                    exit::COULD_NOT_READ_INPUT_FILE,
                    format!("Error reading stdin: {e}"),
                )
            })?;
        }
    }
    Ok(buf)
}

/// The name used for format detection and rule matching: `--filename-override` or the file.
pub(crate) fn name_for(io: &IoArgs) -> Option<PathBuf> {
    io.filename_override
        .clone()
        .or_else(|| input_path(&io.file).map(Path::to_path_buf))
}

pub(crate) fn formats(io: &IoArgs, name: Option<&Path>) -> (Format, Format) {
    let by_name = name.map(Format::from_path).unwrap_or(Format::Binary);
    let pick = |t: &Option<String>| t.as_deref().and_then(Format::from_name);
    let input = pick(&io.input_type).unwrap_or(by_name);
    let output = pick(&io.output_type).unwrap_or(by_name);
    (input, output)
}

/// `--config` / `SOPS_CONFIG`, else `.sops.yaml` from the working directory upward.
pub(crate) fn load_config(io: &IoArgs) -> Result<Option<SopsConfig>, Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if io.config.is_none()
        && let Some(w) = config::find(&cwd).warning
    {
        eprintln!("{w}");
    }
    Ok(config::locate(io.config.as_deref(), &cwd)?)
}

/// sops' checks of `-i`, `--output` and stdin, made before anything is read (exit 8).
pub(crate) fn check_io(io: &IoArgs) -> Result<(), Failure> {
    if io.in_place && input_path(&io.file).is_none() {
        return Err(Failure::new(
            exit::CONFLICTING_PARAMETERS,
            "Error: cannot use --in-place when reading from stdin",
        ));
    }
    if io.in_place && io.output.is_some() {
        return Err(Failure::new(
            exit::CONFLICTING_PARAMETERS,
            "Error: cannot operate on both --output and --in-place",
        ));
    }
    Ok(())
}

/// A `stores:` indentation sops refuses: reported the way sops reports it when it writes the
/// output (`prefix`: `Could not marshal tree` for encrypt, `Error dumping file` for decrypt).
pub(crate) fn dump_error(prefix: &'static str) -> impl Fn(Error) -> Failure {
    move |e| match e {
        Error::InvalidIndent { .. } => Failure::new(e.exit_code(), format!("{prefix}: {e}")),
        e => e.into(),
    }
}

/// `--indent` on top of the config's store options, for YAML and JSON (as sops).
pub(crate) fn with_indent(
    mut opts: StoreOptions,
    indent: Option<i64>,
) -> Result<StoreOptions, Failure> {
    if let Some(n) = indent {
        let bad = || {
            Failure::new(
                exit::GENERIC,
                format!("invalid --indent {n}: use a number of spaces (0 or more)"),
            )
        };
        let n = usize::try_from(n).map_err(|_| bad())?;
        opts.yaml_indent = if n == 0 { 4 } else { n };
        opts.json_indent = Some(n);
        opts.json_binary_indent = Some(n);
    }
    Ok(opts)
}

/// Writes the result: back to the input (`-i`), to `--output`, or to stdout. Files are
/// written as sops writes them (through links, keeping the target's mode), but atomically;
/// see [`crate::output`].
pub(crate) fn write_output(io: &IoArgs, data: &[u8]) -> Result<(), Failure> {
    let (target, what) = if io.in_place {
        let p = input_path(&io.file).ok_or_else(|| {
            Failure::new(
                exit::CONFLICTING_PARAMETERS,
                "Error: cannot use --in-place when reading from stdin",
            )
        })?;
        (Some(p), "in-place")
    } else {
        (io.output.as_deref(), "output")
    };
    match target {
        Some(p) => crate::output::write_file(p, data).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_WRITE_OUTPUT_FILE,
                format!(
                    "Could not open {what} file for writing: open {}: {e}",
                    p.display()
                ),
            )
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(data)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::new(exit::GENERIC, format!("write /dev/stdout: {e}")))
        }
    }
}

/// sops' encrypt flags as the library takes them.
fn encrypt_flags(args: &EncryptArgs) -> Result<config::EncryptFlags, Failure> {
    Ok(config::EncryptFlags {
        age: args.age.as_deref().map(Recipient::parse_list).transpose()?,
        selection: [
            ("encrypted_suffix", &args.encrypted_suffix),
            ("unencrypted_suffix", &args.unencrypted_suffix),
            ("encrypted_regex", &args.encrypted_regex),
            ("unencrypted_regex", &args.unencrypted_regex),
            ("encrypted_comment_regex", &args.encrypted_comment_regex),
            ("unencrypted_comment_regex", &args.unencrypted_comment_regex),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.clone().map(|v| (name, v)))
        .collect(),
        mac_only_encrypted: args.mac_only_encrypted,
        shamir_threshold: Some(args.shamir_secret_sharing_threshold).filter(|t| *t != 0),
    })
}

fn run_encrypt(args: EncryptArgs) -> Result<(), Failure> {
    let io = &args.io;
    check_io(io)?;
    let path = input_path(&io.file);
    if path.is_none() && io.filename_override.is_none() && io.input_type.is_none() {
        return Err(Failure::new(
            exit::CONFLICTING_PARAMETERS,
            "Error: must specify --filename-override (or --input-type) when reading from stdin",
        ));
    }
    let name = name_for(io);
    let (in_fmt, out_fmt) = formats(io, name.as_deref());
    let plain = Zeroizing::new(read_input(path)?);

    let cfg = load_config(io)?;
    // sops matches path_regex against the absolute path of the file, or the override as given.
    let match_path = match (&io.filename_override, path) {
        (Some(o), _) => o.clone(),
        (None, Some(p)) => std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
        (None, None) => PathBuf::new(),
    };
    let flags = encrypt_flags(&args)?;
    let mut opts = config::encrypt_options(cfg.as_ref(), &match_path, &flags)
        .map_err(dump_error("Could not marshal tree"))?;
    opts.store = with_indent(opts.store, io.indent)?;

    let tree = psd_sops::store_for(in_fmt, opts.store).load_plain_owned(plain)?;
    // Encrypted in place: each value is wiped as it is encrypted, the whole tree on an error.
    let enc = api::encrypt_tree_parts(tree, out_fmt, &opts)?;
    for w in &enc.warnings {
        eprintln!("[psd] WARN {w}");
    }
    let bytes = psd_sops::store_for(out_fmt, opts.store)
        .emit_encrypted(&enc.tree, &enc.metadata.to_value())?;
    write_output(io, &bytes)
}

fn run_decrypt(args: DecryptArgs) -> Result<(), Failure> {
    let io = &args.io;
    check_io(io)?;
    let path = input_path(&io.file);
    let name = name_for(io);
    let (in_fmt, out_fmt) = formats(io, name.as_deref());
    let extract = args
        .extract
        .as_deref()
        .map(api::parse_tree_path)
        .transpose()?;
    let encrypted = read_input(path)?;
    let cfg = load_config(io)?;
    let opts = DecryptOptions {
        ignore_mac: args.ignore_mac,
        require_version: true,
        extract,
        output_format: Some(out_fmt),
        store: with_indent(
            cfg.as_ref()
                .map_or(Ok(StoreOptions::default()), SopsConfig::store_options)
                .map_err(dump_error("Error dumping file"))?,
            io.indent,
        )?,
    };
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("decrypt", &identities);
    let (tree, meta) = psd_sops::store_for(in_fmt, opts.store)
        .load_encrypted(&encrypted)
        .map_err(encrypted_load_error)?;
    drop(encrypted);
    let dec = api::decrypt_loaded(tree, &meta, in_fmt, &identities, &opts)?;
    for w in &dec.warnings {
        eprintln!("[psd] WARN {w}");
    }
    write_output(io, &dec.plain)
}

/// An encrypted file that does not parse: sops says `Error unmarshalling input <format>: …`
/// and exits 1 (it has no exit code for it), unlike a plain file that does not parse (2).
pub(crate) fn encrypted_load_error(e: Error) -> Failure {
    match e {
        Error::Parse {
            format,
            message,
            line,
            column,
        } => {
            let at = match (line, column) {
                (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                (Some(l), None) => format!(" (line {l})"),
                _ => String::new(),
            };
            Failure::new(
                exit::GENERIC,
                format!("Error unmarshalling input {format}: {message}{at}"),
            )
        }
        e => e.into(),
    }
}

fn run_filestatus(args: FilestatusArgs) -> Result<(), Failure> {
    // sops needs a file name here; `-` is psd's name for stdin.
    if args.file.is_none() {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified",
        ));
    }
    let path = input_path(&args.file);
    let format = args
        .input_type
        .as_deref()
        .and_then(Format::from_name)
        .unwrap_or_else(|| path.map(Format::from_path).unwrap_or(Format::Binary));
    // sops ends every failure here with a fatal log line: exit 1, whatever went wrong.
    let fail = |message: String| {
        Failure::new(
            exit::GENERIC,
            format!("cannot check file status: cannot load encrypted file: {message}"),
        )
    };
    let bytes = match path {
        Some(p) => std::fs::read(p)
            .map_err(|e| fail(format!("Error reading file: open {}: {e}", p.display())))?,
        None => read_input(None).map_err(|f| fail(f.message))?,
    };
    let encrypted =
        api::file_status(&bytes, format).map_err(|e| fail(encrypted_load_error(e).message))?;
    println!("{{\"encrypted\":{encrypted}}}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Enc {
        #[command(flatten)]
        a: EncryptArgs,
    }

    fn enc(argv: &[&str]) -> EncryptArgs {
        Enc::try_parse_from(std::iter::once("x").chain(argv.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn stdin_and_formats() {
        let a = enc(&["-"]);
        assert_eq!(input_path(&a.io.file), None);
        let a = enc(&["--input-type", "json", "x.yaml"]);
        assert_eq!(
            formats(&a.io, name_for(&a.io).as_deref()),
            (Format::Json, Format::Yaml)
        );
        let a = enc(&["--filename-override", "s.env", "x.yaml"]);
        assert_eq!(
            formats(&a.io, name_for(&a.io).as_deref()),
            (Format::Dotenv, Format::Dotenv)
        );
        assert!(Enc::try_parse_from(["x", "--input-type", "toml", "f"]).is_err());
    }

    #[test]
    fn rule_flags_reach_the_library() {
        let f = encrypt_flags(&enc(&[
            "--encrypted-regex",
            "^b$",
            "--mac-only-encrypted",
            "f",
        ]))
        .unwrap();
        assert_eq!(f.selection, vec![("encrypted_regex", "^b$".to_owned())]);
        assert!(f.mac_only_encrypted && f.age.is_none() && f.shamir_threshold.is_none());
        let f = encrypt_flags(&enc(&["--shamir-secret-sharing-threshold", "2", "f"])).unwrap();
        assert_eq!(f.shamir_threshold, Some(2));
        // Per-field override and conflicts are the library's (config::encrypt_options tests).
        let cfg = SopsConfig::parse(
            Path::new("/tmp/.sops.yaml"),
            b"creation_rules:\n  - age: age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406\n    encrypted_regex: ^a$\n",
        )
        .unwrap();
        let f = encrypt_flags(&enc(&["--unencrypted-regex", "^b$", "f"])).unwrap();
        let e = config::encrypt_options(Some(&cfg), Path::new("/tmp/f.yaml"), &f).unwrap_err();
        assert_eq!(Failure::from(e).code, exit::CONFLICTING_PARAMETERS);
    }

    #[test]
    fn indent_flag() {
        let o = with_indent(StoreOptions::default(), Some(2)).unwrap();
        assert_eq!((o.yaml_indent, o.json_indent), (2, Some(2)));
        let o = with_indent(StoreOptions::default(), Some(0)).unwrap();
        assert_eq!((o.yaml_indent, o.json_indent), (4, Some(0)));
        assert!(with_indent(StoreOptions::default(), Some(-3)).is_err());
    }
}
