//! `psd set` and `psd unset`: change one value of an encrypted file in place, as `sops set` and
//! `sops unset` do (same arguments, messages and exit codes), with sops's minimal diff: values
//! that did not change keep their ciphertext, so only the changed value, the MAC and
//! `lastmodified` change. The file is replaced atomically.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_sops::api::{self, DecryptOptions};
use psd_sops::config::SopsConfig;
use psd_sops::error::exit;
use psd_sops::{Error, Format, Identities, StoreOptions, set};
use zeroize::Zeroizing;

use crate::sops_cmd::{FORMATS, Failure, dump_error, encrypted_load_error, finish};

/// Arguments of `psd set`.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The encrypted file.
    file: Option<PathBuf>,
    /// Where: a tree path such as `'["data"]["password"]'` or `'["list"][0]'`.
    index: Option<String>,
    /// The value, JSON-encoded (`'"text"'`, `5`, `'{"a": true}'`); with --value-file the file
    /// holding it; none with --value-stdin.
    value: Option<String>,
    /// Read the value from the file named by VALUE (keeps it out of process listings).
    #[arg(long)]
    value_file: bool,
    /// Read the value from standard input (keeps it out of process listings).
    #[arg(long)]
    value_stdin: bool,
    /// Write nothing (and exit 0) when the value is already there.
    #[arg(long)]
    idempotent: bool,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Output format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    output_type: Option<String>,
}

/// Arguments of `psd unset`.
#[derive(Debug, clap::Args)]
pub struct UnsetArgs {
    /// The encrypted file.
    file: Option<PathBuf>,
    /// What to remove: a tree path such as `'["data"]["password"]'`.
    index: Option<String>,
    /// Write nothing (and exit 0) when the path is not there.
    #[arg(long)]
    idempotent: bool,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Output format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    output_type: Option<String>,
}

/// Runs `psd set`.
pub fn set(args: SetArgs) -> ExitCode {
    finish(run_set(args))
}

/// Runs `psd unset`.
pub fn unset(args: UnsetArgs) -> ExitCode {
    finish(run_unset(args))
}

/// What the two commands share: the file, its formats, its store options.
struct Target {
    path: PathBuf,
    input: Format,
    output: Format,
    store: StoreOptions,
    /// Held from the read to the write: another psd changing the file waits.
    lock: Option<std::fs::File>,
}

impl Target {
    fn new(
        file: &Path,
        input_type: Option<&str>,
        output_type: Option<&str>,
    ) -> Result<Self, Failure> {
        let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let by_name = Format::from_path(&path);
        let pick = |t: Option<&str>| t.and_then(Format::from_name).unwrap_or(by_name);
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let store = psd_sops::config::locate(None, &cwd)?
            .as_ref()
            .map_or(Ok(StoreOptions::default()), SopsConfig::store_options)
            .map_err(dump_error("Error dumping file"))?;
        Ok(Self {
            path,
            input: pick(input_type),
            output: pick(output_type),
            store,
            lock: None,
        })
    }

    /// Reads and decrypts the file, keeping its data key and ciphertexts.
    fn open(&mut self, ignore_mac: bool) -> Result<api::Opened, Failure> {
        if self.path.exists() {
            self.lock = Some(crate::output::lock_for_update(&self.path).map_err(|e| {
                Failure::new(
                    exit::COULD_NOT_READ_INPUT_FILE,
                    format!("cannot lock {} for the change: {e}", self.path.display()),
                )
            })?);
        }
        let bytes = std::fs::read(&self.path).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_READ_INPUT_FILE,
                format!("Error reading file: open {}: {e}", self.path.display()),
            )
        })?;
        let (identities, _problems) = Identities::from_env();
        crate::ui::keys_tried("set", &identities);
        let opts = DecryptOptions {
            ignore_mac,
            require_version: true,
            store: self.store,
            ..DecryptOptions::default()
        };
        // Parse errors read as sops's; the others are the library's own.
        api::open(&bytes, self.input, &identities, &opts).map_err(encrypted_load_error)
    }

    /// Encrypts the changed document again and replaces the file.
    fn write(&self, opened: api::Opened) -> Result<(), Failure> {
        let bytes = opened
            .seal(self.output, self.store)
            .map_err(dump_error("Could not marshal tree"))?;
        crate::output::write_file(&self.path, &bytes).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_WRITE_OUTPUT_FILE,
                format!(
                    "Could not open in-place file for writing: open {}: {e}",
                    self.path.display()
                ),
            )
        })
    }
}

fn run_set(args: SetArgs) -> Result<(), Failure> {
    if args.value_file && args.value_stdin {
        return Err(Failure::new(
            exit::GENERIC,
            "Error: cannot use both --value-file and --value-stdin",
        ));
    }
    let given = [
        &args.file.is_some(),
        &args.index.is_some(),
        &args.value.is_some(),
    ];
    let count = given.iter().filter(|g| ***g).count();
    if args.value_stdin && (count != 2 || args.value.is_some()) {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: file specified, or index and value are missing. Need precisely 2 positional \
             arguments since --value-stdin is used.",
        ));
    }
    if !args.value_stdin && count != 3 {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified, or index and value are missing. Need precisely 3 \
             positional arguments.",
        ));
    }
    let (Some(file), Some(index)) = (&args.file, &args.index) else {
        unreachable!("counted above")
    };
    let mut target = Target::new(
        file,
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    )?;
    let path = api::parse_tree_path(index)
        .map_err(|_| Failure::new(exit::INVALID_SET_FORMAT, "Invalid set index format"))?;
    let text = Zeroizing::new(if args.value_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::new(exit::GENERIC, format!("reading standard input: {e}")))?;
        s
    } else if args.value_file {
        let name = args.value.as_deref().unwrap_or_default();
        std::fs::read_to_string(name)
            .map_err(|e| Failure::new(exit::GENERIC, format!("open {name}: {e}")))?
    } else {
        args.value.clone().unwrap_or_default()
    });
    let value = set::value_from_json(&text)?;
    drop(text);
    let mut opened = target.open(args.ignore_mac)?;
    let changed = set::set(&mut opened.tree, &path, value)?;
    if !changed && args.idempotent {
        return Ok(());
    }
    target.write(opened)
}

fn run_unset(args: UnsetArgs) -> Result<(), Failure> {
    let (Some(file), Some(index)) = (&args.file, &args.index) else {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified, or index is missing",
        ));
    };
    let mut target = Target::new(
        file,
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    )?;
    let path = api::parse_tree_path(index)
        .map_err(|_| Failure::new(exit::INVALID_SET_FORMAT, "Invalid unset index format"))?;
    let mut opened = target.open(args.ignore_mac)?;
    match set::unset(&mut opened.tree, &path) {
        Ok(()) => target.write(opened),
        Err(Error::KeyNotFound { .. }) if args.idempotent => Ok(()),
        Err(e) => Err(e.into()),
    }
}
