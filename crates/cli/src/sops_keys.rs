//! `psd updatekeys` and `psd rotate`: who can open a file, as `sops updatekeys` and
//! `sops rotate` (same arguments, output and exit codes).
//!
//! `updatekeys` makes each file's key groups those of its `.sops.yaml` creation rule, keeping
//! the data key, the values, the MAC and `lastmodified` (and the wrapped key of a recipient that
//! stays). With `-y` and several files they are done on every core; the report is printed in
//! the order the files were given.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use psd_sops::age::Recipient;
use psd_sops::api::{self, DecryptOptions};
use psd_sops::config::SopsConfig;
use psd_sops::error::exit;
use psd_sops::rekey::{self, GroupDiff};
use psd_sops::{Error, Format, Identities, StoreOptions};

use crate::sops_cmd::{
    FORMATS, Failure, IoArgs, check_io, dump_error, finish, formats, input_path, load_config,
    name_for, read_input, write_output,
};

/// Arguments of `psd updatekeys`.
#[derive(Debug, clap::Args)]
pub struct UpdatekeysArgs {
    /// The encrypted files.
    files: Vec<PathBuf>,
    /// Apply the changes without asking.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Input format (yaml, json, dotenv, ini, binary); default from each file's name.
    #[arg(long, value_name = "TYPE", value_parser = FORMATS)]
    input_type: Option<String>,
    /// Key groups needed to recover the data key (Shamir); default: the file's.
    #[arg(long, value_name = "N", default_value_t = 0)]
    shamir_secret_sharing_threshold: usize,
    /// The `.sops.yaml` to use (no upward search).
    #[arg(long, value_name = "FILE", env = "SOPS_CONFIG")]
    config: Option<PathBuf>,
}

/// Arguments of `psd rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    io: IoArgs,
    /// Comma-separated age recipients to add (to the first key group).
    #[arg(long, value_name = "RECIPIENTS")]
    add_age: Option<String>,
    /// Comma-separated age recipients to remove (from every key group).
    #[arg(long, value_name = "RECIPIENTS")]
    rm_age: Option<String>,
    /// Do not verify the MAC.
    #[arg(long)]
    ignore_mac: bool,
}

/// Arguments of `psd groups`.
#[derive(Debug, clap::Args)]
pub struct GroupsArgs {
    #[command(subcommand)]
    command: GroupsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GroupsCommand {
    /// Add a key group (Shamir secret sharing: each group holds a share of the data key).
    Add {
        /// The encrypted file.
        #[arg(short = 'f', long)]
        file: PathBuf,
        /// An age recipient of the new group (repeat for several).
        #[arg(long = "age", value_name = "RECIPIENT")]
        age: Vec<String>,
        /// Write the result back to the file instead of stdout.
        #[arg(short = 'i', long)]
        in_place: bool,
        /// Groups needed to recover the data key.
        #[arg(long, value_name = "N", default_value_t = 0)]
        shamir_secret_sharing_threshold: usize,
    },
    /// Delete the key group at INDEX (counting from 0).
    Delete {
        /// The encrypted file.
        #[arg(short = 'f', long)]
        file: PathBuf,
        /// Write the result back to the file instead of stdout.
        #[arg(short = 'i', long)]
        in_place: bool,
        /// Groups needed to recover the data key.
        #[arg(long, value_name = "N", default_value_t = 0)]
        shamir_secret_sharing_threshold: usize,
        /// The group's index.
        index: Option<String>,
    },
}

/// Runs `psd groups add|delete`: the key groups change, the data key and values stay (as
/// `sops groups`).
pub fn groups(args: GroupsArgs) -> ExitCode {
    finish(run_groups(args.command))
}

fn run_groups(command: GroupsCommand) -> Result<(), Failure> {
    let (file, in_place, requested) = match &command {
        GroupsCommand::Add {
            file,
            in_place,
            shamir_secret_sharing_threshold,
            ..
        }
        | GroupsCommand::Delete {
            file,
            in_place,
            shamir_secret_sharing_threshold,
            ..
        } => (file.clone(), *in_place, *shamir_secret_sharing_threshold),
    };
    let format = Format::from_path(&file);
    let _lock = if in_place && file.exists() {
        Some(crate::output::lock_for_update(&file).map_err(|e| {
            Failure::new(
                exit::GENERIC,
                format!("cannot lock {}: {e}", file.display()),
            )
        })?)
    } else {
        None
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        Failure::new(
            exit::GENERIC,
            format!("Error reading file: open {}: {e}", file.display()),
        )
    })?;
    let meta = api::metadata(&bytes, format)?;
    if meta.key_groups.iter().any(|g| !g.other.is_empty()) {
        return Err(Failure::new(
            exit::GENERIC,
            "the file also has keys other than age (PGP, KMS, Vault): psd writes age keys only;              change its groups with sops",
        ));
    }
    let mut groups: Vec<Vec<Recipient>> = meta
        .key_groups
        .iter()
        .map(|g| {
            g.age
                .iter()
                .map(|k| k.recipient.parse())
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, Error>>()?;
    let mut threshold = meta.shamir_threshold;
    match command {
        GroupsCommand::Add { age, .. } => {
            let group = age
                .iter()
                .map(|r| r.parse())
                .collect::<Result<Vec<Recipient>, Error>>()?;
            if group.is_empty() {
                return Err(Failure::new(
                    exit::GENERIC,
                    "the new group has no keys: give --age RECIPIENT (repeat for several)",
                ));
            }
            groups.push(group);
        }
        GroupsCommand::Delete { index, .. } => {
            let Some(index) = index else {
                return Err(Failure::new(
                    exit::GENERIC,
                    "error: exactly one positional argument (index) required",
                ));
            };
            let i: usize = index.parse().map_err(|e| {
                Failure::new(
                    exit::GENERIC,
                    format!("failed to parse [index] argument: {e}"),
                )
            })?;
            if i >= groups.len() {
                return Err(Failure::new(
                    exit::GENERIC,
                    format!("there is no key group {i}: the file has {}", groups.len()),
                ));
            }
            groups.remove(i);
        }
    }
    if requested != 0 {
        threshold = requested;
    }
    if groups.len() < threshold {
        return Err(Failure::new(
            exit::GENERIC,
            format!(
                "removing this key group will make the Shamir threshold impossible to satisfy: \
                 Shamir threshold is {threshold}, but we only have {} key groups",
                groups.len()
            ),
        ));
    }
    let threshold = match groups.len() {
        1 => 0,
        n if threshold == 0 => n,
        _ => threshold,
    };
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("groups", &identities);
    let out = rekey::update_keys(
        &bytes,
        format,
        StoreOptions::default(),
        &identities,
        &groups,
        threshold,
    )?;
    if in_place {
        crate::output::write_file(&file, &out).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_WRITE_OUTPUT_FILE,
                format!("{}: {e}", file.display()),
            )
        })
    } else {
        std::io::stdout()
            .write_all(&out)
            .map_err(|e| Failure::new(exit::GENERIC, e.to_string()))
    }
}

/// Runs `psd updatekeys`.
pub fn updatekeys(args: UpdatekeysArgs) -> ExitCode {
    finish(run_updatekeys(&args))
}

/// Runs `psd rotate`.
pub fn rotate(args: RotateArgs) -> ExitCode {
    finish(run_rotate(&args))
}

/// What updatekeys found out about one file before changing it.
struct Plan {
    path: PathBuf,
    format: Format,
    store: StoreOptions,
    tree: psd_sops::tree::Tree,
    metadata: psd_sops::Metadata,
    groups: Vec<Vec<Recipient>>,
    threshold: usize,
    /// What sops prints before asking; `None` when the file is up to date.
    changes: Option<String>,
    /// Held until the file is written.
    _lock: std::fs::File,
}

/// The report of one file: stdout and stderr text, and the result.
struct Outcome {
    out: String,
    err: String,
    result: Result<(), Failure>,
    /// With `-y`: the new file, written beside the old one, put in its place with all the
    /// others at the end (and the file's lock, held until then).
    pending: Option<(
        PathBuf,
        std::io::Result<Option<crate::output::Staged>>,
        std::fs::File,
    )>,
}

fn run_updatekeys(args: &UpdatekeysArgs) -> Result<(), Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = psd_sops::config::locate(args.config.as_deref(), &cwd)?
        .filter(SopsConfig::has_creation_rules)
        .ok_or_else(|| {
            Failure::new(
                exit::GENERIC,
                "config file not found, or has no creation rules: updatekeys needs the \
                 .sops.yaml whose rules name the keys (or --config FILE)",
            )
        })?;
    if args.files.is_empty() {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified",
        ));
    }
    // Temporaries that killed runs left beside the files, written or not (each folder is
    // read once).
    let paths: Vec<PathBuf> = args.files.iter().map(|f| absolute(&cwd, f)).collect();
    let beside: Vec<PathBuf> = paths
        .iter()
        .cloned()
        .chain(
            paths
                .iter()
                .filter_map(|p| crate::output::target_of(p).filter(|t| t != p)),
        )
        .collect();
    crate::output::remove_dead_temporaries(
        &beside.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("updatekeys", &identities);
    let outcomes: Vec<Outcome> = if args.yes {
        // A file named twice (or through a link) is done once: the second lock on it would
        // wait for the first forever. Its later names report what sops reports when it comes
        // to a file it has just updated.
        let (unique, same_as) = first_names(&paths);
        let progress = crate::ui::Progress::new("psd updatekeys", unique.len());
        let mut outcomes = in_parallel(&unique, |file| {
            crate::verbose!("psd updatekeys: reading {}", file.display());
            let mut o = Outcome {
                out: String::new(),
                err: String::new(),
                result: Ok(()),
                pending: None,
            };
            o.result = plan(args, &config, file, &mut o.err).and_then(|p| {
                if let Some(text) = &p.changes {
                    o.out.push_str(text);
                    let bytes = rekeyed(&p, &identities)?;
                    // Written here, on the worker's thread; flushed and renamed with the
                    // others below.
                    let staged = crate::output::stage(&p.path, &bytes);
                    o.pending = Some((p.path, staged, p._lock));
                }
                Ok(())
            });
            progress.inc();
            o
        });
        drop(progress);
        // Every file at once: one flush to disk instead of two per file.
        let mut written = Vec::new();
        let mut staged = Vec::new();
        let mut locks = Vec::new();
        for (i, o) in outcomes.iter_mut().enumerate() {
            if let Some((path, s, lock)) = o.pending.take() {
                written.push((i, path));
                staged.push(s);
                locks.push(lock);
            }
        }
        let results = crate::output::commit(staged);
        release(locks);
        for ((i, path), result) in written.into_iter().zip(results) {
            let o = &mut outcomes[i];
            match result {
                Ok(()) => {
                    o.err
                        .push_str(&format!("File {} synced with new keys\n", path.display()));
                }
                Err(e) => {
                    o.result = Err(Failure::new(
                        exit::GENERIC,
                        format!("could not open file for writing: {e}"),
                    ));
                }
            }
        }
        let mut done: Vec<Option<Outcome>> = outcomes.into_iter().map(Some).collect();
        let mut ordered = Vec::with_capacity(paths.len());
        for (path, first) in paths.iter().zip(same_as) {
            match first {
                Index::Unique(i) => ordered.push(done[i].take().unwrap_or_else(|| Outcome {
                    out: String::new(),
                    err: String::new(),
                    result: Ok(()),
                    pending: None,
                })),
                Index::Again(i) => {
                    let failed = ordered[i]
                        .result
                        .as_ref()
                        .err()
                        .map(|f: &Failure| Failure::new(f.code, f.message.clone()));
                    ordered.push(Outcome {
                        out: String::new(),
                        err: if failed.is_none() {
                            format!("File {} already up to date\n", path.display())
                        } else {
                            String::new()
                        },
                        result: failed.map_or(Ok(()), Err),
                        pending: None,
                    });
                }
            }
        }
        ordered
    } else {
        let mut all = Vec::new();
        for file in &paths {
            let mut err = String::new();
            let result = plan(args, &config, file, &mut err).and_then(|p| {
                eprint!("{}", std::mem::take(&mut err));
                let Some(text) = &p.changes else {
                    return Ok(());
                };
                print!("{text}");
                if ask()? {
                    apply(&p, &identities, &mut err)
                } else {
                    err.push_str(&format!("File {} left unchanged\n", p.path.display()));
                    Ok(())
                }
            });
            all.push(Outcome {
                out: String::new(),
                err,
                result,
                pending: None,
            });
        }
        all
    };
    let single = args.files.len() == 1;
    let mut failed = 0;
    for o in outcomes {
        print!("{}", o.out);
        eprint!("{}", o.err);
        if let Err(f) = o.result {
            if single {
                return Err(f);
            }
            eprintln!("{}", f.message);
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Failure::new(
            exit::GENERIC,
            format!("failed updating {failed} key(s)"),
        ));
    }
    Ok(())
}

/// `file` made absolute as [`std::path::absolute`] does, against `cwd` (read once for all
/// the files) when that is known.
fn absolute(cwd: &Path, file: &Path) -> PathBuf {
    let joined;
    let file = if cwd.is_absolute() && !file.as_os_str().is_empty() {
        joined = cwd.join(file);
        joined.as_path()
    } else {
        file
    };
    std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf())
}

/// Closes the locked files, several at once. Each is the old file, replaced: its last close
/// frees it, which on some file systems waits for the disk (ext4 without a journal and with
/// `discard` trims its blocks then), so the waits overlap instead of adding up.
fn release(locks: Vec<std::fs::File>) {
    // Waits, not work: more threads than cores (8 measured as good as 32, 4× faster than 1
    // on a busy disk).
    let threads = 8;
    if locks.len() < 2 {
        drop(locks);
        return;
    }
    let per = locks.len().div_ceil(threads);
    let mut locks = locks;
    std::thread::scope(|s| {
        while !locks.is_empty() {
            let chunk = locks.split_off(locks.len().saturating_sub(per));
            s.spawn(move || drop(chunk));
        }
    });
}

/// Where each of `paths` is done: the `Unique(i)`th of the files done, or `Again(j)`, the
/// same file as `paths[j]` (same device and inode, whatever the names).
enum Index {
    Unique(usize),
    Again(usize),
}

/// The files of `paths` without repeats, and where each path is done ([`Index`]). A path
/// that cannot be read is its own file (its error is reported when it is done).
fn first_names(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Index>) {
    use std::os::unix::fs::MetadataExt as _;
    let mut seen: HashMap<(u64, u64), usize> = HashMap::new();
    let mut unique = Vec::new();
    let mut index = Vec::with_capacity(paths.len());
    for (j, p) in paths.iter().enumerate() {
        let id = std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        if let Some(first) = id.and_then(|id| seen.get(&id)) {
            index.push(Index::Again(*first));
            continue;
        }
        if let Some(id) = id {
            seen.insert(id, j);
        }
        index.push(Index::Unique(unique.len()));
        unique.push(p.clone());
    }
    (unique, index)
}

/// `f` over `files` on every core, results in the order of `files`.
fn in_parallel<F>(files: &[PathBuf], f: F) -> Vec<Outcome>
where
    F: Fn(&Path) -> Outcome + Sync,
{
    // Twice the cores: while one file waits for its fsync another one's keys are computed.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get() * 2)
        .min(files.len());
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Outcome>> = (0..files.len()).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let o = f(file);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(o);
                    }
                }
            });
        }
    });
    slots.into_iter().flatten().collect()
}

fn plan(
    args: &UpdatekeysArgs,
    config: &SopsConfig,
    file: &Path,
    log: &mut String,
) -> Result<Plan, Failure> {
    let path = file.to_path_buf();
    let meta = std::fs::metadata(&path)
        .map_err(|e| Failure::new(exit::GENERIC, format!("stat {}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(Failure::new(exit::GENERIC, "can't operate on a directory"));
    }
    let format = args
        .input_type
        .as_deref()
        .and_then(Format::from_name)
        .unwrap_or_else(|| Format::from_path(&path));
    log.push_str(&format!("Syncing keys for file {}\n", path.display()));
    let lock = crate::output::lock_for_update(&path).map_err(|e| {
        Failure::new(
            exit::COULD_NOT_READ_INPUT_FILE,
            format!("cannot lock {}: {e}", path.display()),
        )
    })?;
    // The locked file is the one the path names: read it rather than open it again.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    std::io::Read::read_to_end(&mut &lock, &mut bytes).map_err(|e| {
        Failure::new(
            exit::COULD_NOT_READ_INPUT_FILE,
            format!("Error reading file: {e}"),
        )
    })?;
    let store = config
        .store_options()
        .map_err(dump_error("Could not marshal tree"))?;
    let (tree, meta) = psd_sops::store_for(format, store).load_encrypted(&bytes)?;
    let current = psd_sops::Metadata::from_value(&meta)?;
    let rule = config.rule_for(&path)?;
    let wanted = rule.age_recipients();
    let groups = wanted
        .iter()
        .map(|g| {
            g.iter()
                .map(|r| r.parse())
                .collect::<Result<Vec<Recipient>, _>>()
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let diffs = rekey::diff_groups(&current, &wanted);
    let threshold =
        rekey::updated_threshold(&current, args.shamir_secret_sharing_threshold, groups.len());
    let changes = if diffs.iter().any(GroupDiff::changes) || threshold != current.shamir_threshold {
        Some(describe(current.shamir_threshold, threshold, &diffs))
    } else {
        log.push_str(&format!("File {} already up to date\n", path.display()));
        None
    };
    Ok(Plan {
        path,
        format,
        store,
        tree,
        metadata: current,
        groups,
        threshold,
        changes,
        _lock: lock,
    })
}

/// sops's listing of the changes: the threshold, then each group's kept, added (`+++`) and
/// removed (`---`) keys.
fn describe(old: usize, new: usize, diffs: &[GroupDiff]) -> String {
    let mut s = String::from("The following changes will be made to the file's groups:\n");
    if old > 0 && old == new {
        s.push_str(&format!("shamir_threshold: {new}\n"));
    } else {
        if new > 0 {
            s.push_str(&format!("+++ shamir_threshold: {new}\n"));
        }
        if old > 0 {
            s.push_str(&format!("--- shamir_threshold: {old}\n"));
        }
    }
    for (i, d) in diffs.iter().enumerate() {
        s.push_str(&format!("Group {}\n", i + 1));
        for k in &d.common {
            s.push_str(&format!("    {k}\n"));
        }
        for k in &d.added {
            s.push_str(&format!("+++ {k}\n"));
        }
        for k in &d.removed {
            s.push_str(&format!("--- {k}\n"));
        }
    }
    s
}

/// sops's question, asked until the answer is `y` or `n`.
fn ask() -> Result<bool, Failure> {
    let stdin = std::io::stdin();
    loop {
        print!("Is this okay? (y/n):");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let n = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::new(exit::GENERIC, e.to_string()))?;
        if n == 0 {
            return Err(Failure::new(
                exit::GENERIC,
                "EOF\nno answer on standard input: the file is left unchanged; pass -y to apply \
                 the changes without asking",
            ));
        }
        match line.trim() {
            "y" => return Ok(true),
            "n" => return Ok(false),
            _ => {}
        }
    }
}

/// The file with its keys updated.
fn rekeyed(p: &Plan, identities: &Identities) -> Result<Vec<u8>, Failure> {
    rekey::update_keys_loaded(
        &p.tree,
        p.metadata.clone(),
        p.format,
        p.store,
        identities,
        &p.groups,
        p.threshold,
    )
    .map_err(dump_error("Could not marshal tree"))
}

fn apply(p: &Plan, identities: &Identities, log: &mut String) -> Result<(), Failure> {
    let bytes = rekeyed(p, identities)?;
    crate::output::write_file(&p.path, &bytes).map_err(|e| {
        Failure::new(
            exit::GENERIC,
            format!("could not open file for writing: {e}"),
        )
    })?;
    log.push_str(&format!("File {} synced with new keys\n", p.path.display()));
    Ok(())
}

fn run_rotate(args: &RotateArgs) -> Result<(), Failure> {
    let io = &args.io;
    let Some(file) = input_path(&io.file) else {
        return Err(Failure::new(
            exit::NO_FILE_SPECIFIED,
            "Error: no file specified",
        ));
    };
    check_io(io)?;
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    if !abs.exists() && (args.add_age.is_some() || args.rm_age.is_some()) {
        return Err(Failure::new(
            49,
            format!(
                "Error: cannot add or remove keys on non-existent file {:?}, use the `edit` \
                 subcommand instead.",
                abs.display().to_string()
            ),
        ));
    }
    let name = name_for(io);
    let (in_fmt, out_fmt) = formats(io, name.as_deref());
    let add = args
        .add_age
        .as_deref()
        .map(Recipient::parse_list)
        .transpose()?
        .unwrap_or_default();
    let remove: Vec<String> = args
        .rm_age
        .as_deref()
        .map(|s| s.split(',').map(|r| r.trim().to_owned()).collect())
        .unwrap_or_default();
    let _lock = if io.in_place && file.exists() {
        Some(crate::output::lock_for_update(file).map_err(|e| {
            Failure::new(
                exit::COULD_NOT_READ_INPUT_FILE,
                format!("cannot lock {}: {e}", file.display()),
            )
        })?)
    } else {
        None
    };
    let encrypted = read_input(Some(file))?;
    let store = load_config(io)?
        .as_ref()
        .map_or(Ok(StoreOptions::default()), SopsConfig::store_options)
        .map_err(dump_error("Error dumping file"))?;
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("rotate", &identities);
    let opts = DecryptOptions {
        ignore_mac: args.ignore_mac,
        require_version: true,
        store,
        ..DecryptOptions::default()
    };
    let opened = api::open(&encrypted, in_fmt, &identities, &opts)?;
    let bytes = rekey::rotate_opened(opened, out_fmt, store, &add, &remove)
        .map_err(dump_error("Could not marshal tree"))?;
    write_output(io, &bytes)
}
