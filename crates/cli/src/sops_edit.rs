//! `psd edit FILE`: edit an encrypted file in `$SOPS_EDITOR`, `$EDITOR`, or the first of vim,
//! nano and vi, as `sops edit` does.
//!
//! The plaintext goes to a file named like the original (so the editor knows its syntax), mode
//! 0600, in a fresh 0700 folder that is removed on every way out: success, error, an editor
//! that fails, Ctrl-C or `kill` (see [`crate::child::Guard`]). A file that does not parse
//! after editing is not lost: psd says why and, on Enter, opens the editor again. An editor
//! closed without a change leaves the file byte-identical (exit 200, as sops). A changed
//! file keeps the ciphertext of every value that did not change (a one-value edit is a
//! three-line diff). A file that does not exist is created from a template and encrypted to
//! the `.sops.yaml` rule (or `--age`).

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_sops::age::Recipient;
use psd_sops::api::{self, DecryptOptions};
use psd_sops::config::{self, SopsConfig};
use psd_sops::error::exit;
use psd_sops::tree::Tree;
use psd_sops::{Format, Identities, StoreOptions, store_for};
use zeroize::Zeroizing;

use crate::child::{self, Guard};
use crate::sops_cmd::{FORMATS, Failure, dump_error, encrypted_load_error, finish};

/// sops's exit code for an editor closed without a change.
const FILE_HAS_NOT_BEEN_MODIFIED: i32 = 200;
/// sops's exit code when no editor can be run.
const NO_EDITOR_FOUND: i32 = 201;

/// Arguments of `psd edit`.
#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The encrypted file (created if it does not exist).
    file: Option<PathBuf>,
    /// Comma-separated age recipients for a new file (instead of the `.sops.yaml` rule).
    #[arg(
        short = 'a',
        long,
        value_name = "RECIPIENTS",
        env = "SOPS_AGE_RECIPIENTS"
    )]
    age: Option<String>,
    /// Input format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Output format (yaml, json, dotenv, ini, binary); default from the file name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    output_type: Option<String>,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// The `.sops.yaml` to use (no upward search).
    #[arg(long, value_name = "FILE", env = "SOPS_CONFIG")]
    config: Option<PathBuf>,
}

/// Runs `psd edit`.
pub fn edit(args: EditArgs) -> ExitCode {
    finish(run_edit(&args))
}

fn generic(message: impl Into<String>) -> Failure {
    Failure::new(exit::GENERIC, message)
}

fn run_edit(args: &EditArgs) -> Result<(), Failure> {
    let Some(file) = &args.file else {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified",
        ));
    };
    let path = std::path::absolute(file).unwrap_or_else(|_| file.clone());
    let pick = |t: &Option<String>| {
        t.as_deref()
            .and_then(Format::from_name)
            .unwrap_or_else(|| Format::from_path(&path))
    };
    let (in_fmt, out_fmt) = (pick(&args.input_type), pick(&args.output_type));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let cfg = config::locate(args.config.as_deref(), &cwd)?;
    let store = cfg
        .as_ref()
        .map_or(Ok(StoreOptions::default()), SopsConfig::store_options)
        .map_err(dump_error("Error dumping file"))?;

    let guard = Guard::new().map_err(generic)?;
    if path.exists() {
        let _lock = crate::output::lock_for_update(&path)
            .map_err(|e| generic(format!("cannot lock {} for the edit: {e}", path.display())))?;
        let bytes = std::fs::read(&path).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_READ_INPUT_FILE,
                format!("Error reading file: {e}"),
            )
        })?;
        let (identities, _problems) = Identities::from_env();
        crate::ui::keys_tried("edit", &identities);
        let opts = DecryptOptions {
            ignore_mac: args.ignore_mac,
            require_version: true,
            store,
            ..DecryptOptions::default()
        };
        let mut opened =
            api::open(&bytes, in_fmt, &identities, &opts).map_err(encrypted_load_error)?;
        let plain = Zeroizing::new(store_for(out_fmt, store).emit_plain(&opened.tree)?);
        let edited = edit_until_valid(&guard, &path, &plain, out_fmt, store)?;
        *opened.tree = edited;
        let out = opened
            .seal(out_fmt, store)
            .map_err(dump_error("Could not marshal tree"))?;
        write(&path, &out)
    } else {
        let flags = config::EncryptFlags {
            age: args.age.as_deref().map(Recipient::parse_list).transpose()?,
            ..config::EncryptFlags::default()
        };
        let mut opts = config::encrypt_options(cfg.as_ref(), &path, &flags)
            .map_err(dump_error("Could not marshal tree"))?;
        opts.store = store;
        let template = Zeroizing::new(template(out_fmt).into_bytes());
        let edited = edit_until_valid(&guard, &path, &template, out_fmt, store)?;
        let enc = api::encrypt_tree_parts(edited, out_fmt, &opts)?;
        let out = store_for(out_fmt, store).emit_encrypted(&enc.tree, &enc.metadata.to_value())?;
        write(&path, &out)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    crate::output::write_file(path, bytes).map_err(|e| {
        Failure::new(
            exit::COULD_NOT_WRITE_OUTPUT_FILE,
            format!("Could not write output file: {e}"),
        )
    })
}

/// What a new file starts with.
fn template(format: Format) -> String {
    match format {
        Format::Json => "{\n\t\"example_key\": \"example_value\",\n\t\"example_number\": 1234\n}\n".into(),
        Format::Dotenv => "# Edit this file; it is encrypted when you save and quit.\nexample_key=example_value\n".into(),
        Format::Ini => "; Edit this file; it is encrypted when you save and quit.\n[example_section]\nexample_key = example_value\n".into(),
        Format::Binary => "Edit this file; it is encrypted when you save and quit.\n".into(),
        _ => "# Edit this file; it is encrypted when you save and quit.\nexample_key: example_value\nexample_list:\n    - one\n    - two\n".into(),
    }
}

/// Writes `plain` to the private file, runs the editor until the file parses, and returns its
/// tree. An unchanged file is [`FILE_HAS_NOT_BEEN_MODIFIED`].
fn edit_until_valid(
    guard: &Guard,
    original: &Path,
    plain: &[u8],
    format: Format,
    store: StoreOptions,
) -> Result<Tree, Failure> {
    let dir = tempfile::Builder::new()
        .prefix(".psd-edit")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            Failure::new(
                exit::COULD_NOT_WRITE_OUTPUT_FILE,
                format!("Could not create temporary directory: {e}"),
            )
        })?;
    guard.protect(dir.path().to_owned());
    let name = original.file_name().unwrap_or(original.as_os_str());
    let tmp = dir.path().join(name);
    let result = (|| {
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .and_then(|mut f| f.write_all(plain).map(|()| f))
                .map_err(|e| {
                    Failure::new(
                        exit::COULD_NOT_WRITE_OUTPUT_FILE,
                        format!("Could not create temporary file: {e}"),
                    )
                })?;
            let _ = f.flush();
        }
        loop {
            run_editor(guard, &tmp)?;
            let edited = Zeroizing::new(std::fs::read(&tmp).map_err(|e| {
                Failure::new(
                    exit::COULD_NOT_READ_INPUT_FILE,
                    format!("Could not read edited file: {e}"),
                )
            })?);
            if edited.as_slice() == plain {
                return Err(Failure::new(
                    FILE_HAS_NOT_BEEN_MODIFIED,
                    "File has not changed, exiting.",
                ));
            }
            match store_for(format, store).load_plain(&edited) {
                Ok(tree)
                    if tree
                        .branches
                        .iter()
                        .any(|b| b.iter().any(|i| i.key.name() == Some("sops"))) =>
                {
                    tree_problem("the file holds a top-level `sops` key, which sops reserves")?;
                }
                Ok(tree) => return Ok(tree),
                Err(e) => tree_problem(&format!(
                    "Could not load tree, probably due to invalid syntax: {e}"
                ))?,
            }
        }
    })();
    // Removed on every way out of here; a signal meanwhile is the guard's.
    let _ = dir.close();
    result
}

/// Says what is wrong with the edited file and waits for Enter before the editor opens again.
/// Without a terminal to answer (end of input) the edit is given up.
fn tree_problem(what: &str) -> Result<(), Failure> {
    eprintln!("{what}. Press enter to return to the editor, or Ctrl+C to exit.");
    let mut byte = [0u8; 1];
    match std::io::stdin().read(&mut byte) {
        Ok(1) => Ok(()),
        _ => Err(generic(
            "no answer on standard input: the edit was not saved (the file is unchanged)",
        )),
    }
}

/// Runs the editor on `path`: `$SOPS_EDITOR`, `$EDITOR` (split as a shell would), or the first
/// of vim, nano and vi on `PATH`.
fn run_editor(guard: &Guard, path: &Path) -> Result<(), Failure> {
    let configured = ["SOPS_EDITOR", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()));
    let mut argv: Vec<OsString> = match configured {
        Some(editor) => shlex::split(&editor)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Failure::new(
                    NO_EDITOR_FOUND,
                    format!("Could not run editor: invalid editor command {editor:?}"),
                )
            })?
            .into_iter()
            .map(OsString::from)
            .collect(),
        None => {
            let found = ["vim", "nano", "vi"].iter().find_map(|name| {
                std::env::var_os("PATH").and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join(name))
                        .find(|c| c.is_file())
                })
            });
            let editor = found.ok_or_else(|| {
                Failure::new(
                    NO_EDITOR_FOUND,
                    "Could not run editor: no editor available: psd uses the editor in \
                     SOPS_EDITOR or EDITOR, else vim, nano or vi, and none was found",
                )
            })?;
            vec![editor.into_os_string()]
        }
    };
    argv.push(path.as_os_str().to_owned());
    match guard.run(&argv, &child::current_env()) {
        Ok(child::Ended::Code(0)) => Ok(()),
        Ok(ended) => Err(Failure::new(
            NO_EDITOR_FOUND,
            format!("Could not run editor: exit status {}", ended.sops_code()),
        )),
        Err(e) => Err(Failure::new(
            NO_EDITOR_FOUND,
            format!("Could not run editor: {e}"),
        )),
    }
}
