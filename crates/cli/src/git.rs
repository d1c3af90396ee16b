//! Git integration: `psd merge-driver` merges two branches' changes to one encrypted file value
//! by value (sops files otherwise always conflict on their MAC and `lastmodified` lines),
//! `psd diff-textconv` lets `git diff` show decrypted changes, and `psd git setup` writes the
//! `.gitattributes` lines and local `git config` entries that use them.
//!
//! The merge driver never writes plaintext: the merged document is encrypted again with the
//! data key of `ours` (values unchanged on both sides keep their ciphertext) before it replaces
//! git's `%A` file. A real conflict (one value changed differently on both sides, recipients
//! that differ, a file no key opens) is named on stderr by its key path and the driver exits 1,
//! leaving `ours` encrypted as it was, so git marks the file conflicted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use psd_sops::api::{self, DecryptOptions};
use psd_sops::config::SopsConfig;
use psd_sops::tree::Tree;
use psd_sops::{Format, Identities, merge};

/// Arguments of `psd merge-driver` (git passes `%O %A %B %P`).
#[derive(Debug, clap::Args)]
pub struct MergeDriverArgs {
    /// The common ancestor's version (`%O`; empty when the file is new on both sides).
    base: PathBuf,
    /// This branch's version (`%A`); the merged file is written here.
    ours: PathBuf,
    /// The other branch's version (`%B`).
    theirs: PathBuf,
    /// The file's path in the repository (`%P`), for its format and messages.
    path: Option<String>,
}

/// Arguments of `psd diff-textconv`.
#[derive(Debug, clap::Args)]
pub struct TextconvArgs {
    /// The file git shows.
    file: PathBuf,
}

/// Arguments of `psd git`.
#[derive(Debug, clap::Args)]
pub struct GitArgs {
    #[command(subcommand)]
    command: GitCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GitCommand {
    /// Use psd for merging and diffing encrypted files in this repository: `.gitattributes`
    /// lines and `git config --local` entries (run again: nothing changes).
    Setup {
        /// File patterns (gitattributes syntax) of encrypted files [default: *.enc.yaml].
        patterns: Vec<String>,
    },
}

/// Runs `psd merge-driver`.
pub fn merge_driver(args: MergeDriverArgs) -> ExitCode {
    let name = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.display().to_string());
    match run_merge(&args, &name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(lines) => {
            for l in lines {
                eprintln!("psd merge-driver: {name}: {l}");
            }
            eprintln!(
                "psd merge-driver: {name}: left conflicted; fix the places named above with \
                 `psd edit {name}`, then `git add {name}`"
            );
            ExitCode::from(1)
        }
    }
}

fn run_merge(args: &MergeDriverArgs, name: &str) -> Result<(), Vec<String>> {
    let one = |s: String| vec![s];
    let format = Format::from_path(Path::new(name));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let store = psd_sops::config::locate(None, &cwd)
        .ok()
        .flatten()
        .and_then(|c| SopsConfig::store_options(&c).ok())
        .unwrap_or_default();
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("merge-driver", &identities);
    let opts = DecryptOptions {
        store,
        ..DecryptOptions::default()
    };
    let read = |p: &Path, which: &str| {
        std::fs::read(p).map_err(|e| format!("cannot read {which} ({}): {e}", p.display()))
    };
    let open = |bytes: &[u8], which: &str| {
        api::open(bytes, format, &identities, &opts)
            .map_err(|e| format!("cannot decrypt {which}: {e}"))
    };
    let mut ours = open(
        &read(&args.ours, "this branch's version").map_err(one)?,
        "this branch's version",
    )
    .map_err(one)?;
    let theirs = open(
        &read(&args.theirs, "the other branch's version").map_err(one)?,
        "the other branch's version",
    )
    .map_err(one)?;
    let base_bytes = read(&args.base, "the common ancestor").map_err(one)?;
    let base = if base_bytes.iter().all(u8::is_ascii_whitespace) {
        Tree::default()
    } else {
        let b = open(&base_bytes, "the common ancestor").map_err(one)?;
        (*b.tree).clone()
    };
    let recipients = |o: &api::Opened| {
        let mut groups: Vec<Vec<String>> = o
            .metadata
            .key_groups
            .iter()
            .map(|g| {
                let mut r: Vec<String> = g.age.iter().map(|k| k.recipient.clone()).collect();
                r.extend(g.other.iter().map(|k| k.describe()));
                r.sort();
                r
            })
            .collect();
        groups.sort();
        groups
    };
    if recipients(&ours) != recipients(&theirs) {
        return Err(one(
            "the two branches encrypt it to different recipients, so nothing was merged (this \
             branch's version is kept): bring the other side's changes in with `psd edit`, \
             then make the recipients right with `psd updatekeys`"
                .into(),
        ));
    }
    // Every change that does not conflict goes in, from both sides; at a conflict this
    // branch's value stays, for the person who resolves it.
    let (merged, conflicts) = merge::three_way_keeping_ours(&base, &ours.tree, &theirs.tree);
    ours.reuse_ciphertexts_of(theirs);
    *ours.tree = merged;
    let bytes = ours
        .seal(format, store)
        .map_err(|e| one(format!("cannot encrypt the merge: {e}")))?;
    std::fs::write(&args.ours, bytes)
        .map_err(|e| one(format!("cannot write {}: {e}", args.ours.display())))?;
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict at {c}: this branch's value kept"))
        .collect();
    lines.push(format!(
        "the other branch's changes everywhere else are merged in (still encrypted); see its \
         side with `git diff MERGE_HEAD -- {name}`"
    ));
    Err(lines)
}

/// Runs `psd diff-textconv`: the decrypted file, or the file as it is when no key opens it.
pub fn textconv(args: TextconvArgs) -> ExitCode {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "psd diff-textconv: cannot read {}: {e}",
                args.file.display()
            );
            return ExitCode::from(2);
        }
    };
    let format = Format::from_path(&args.file);
    let (identities, _problems) = Identities::from_env();
    crate::ui::keys_tried("diff-textconv", &identities);
    let out = match api::decrypt(&bytes, format, &identities, &DecryptOptions::default()) {
        Ok(d) => {
            let mut shown = d.plain.clone();
            if let Ok(metadata) = api::metadata(&bytes, format) {
                shown.extend_from_slice(access_trailer(&metadata).as_bytes());
            }
            let written = std::io::stdout().write_all(&shown);
            zeroize::Zeroize::zeroize(&mut shown);
            written
        }
        Err(_) => std::io::stdout().write_all(&bytes),
    };
    match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// Who can open the file, one key a line, after its decrypted content: the decrypted text
/// alone would hide a change of recipients (`updatekeys`, `rotate --rm-age`) from `git diff`.
fn access_trailer(metadata: &psd_sops::Metadata) -> String {
    let mut out = String::from(
        "\n# psd diff-textconv: the keys that can decrypt this file (its sops metadata, not \
         part of the decrypted content)\n",
    );
    for (i, group) in metadata.key_groups.iter().enumerate() {
        for k in &group.age {
            out.push_str(&format!("# key group {}: age {}\n", i + 1, k.recipient));
        }
        for k in &group.other {
            out.push_str(&format!("# key group {}: {}\n", i + 1, k.describe()));
        }
    }
    out
}

/// Runs `psd git`.
pub fn git(args: GitArgs) -> ExitCode {
    match args.command {
        GitCommand::Setup { patterns } => match setup(&patterns) {
            Ok(lines) => {
                for l in lines {
                    eprintln!("psd git setup: {l}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("psd git setup: error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn git_cmd(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// How git should call this psd: `psd` when that is what `PATH` finds, else its full path.
fn psd_command() -> String {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("psd"))
            .find(|c| c.is_file())
            .and_then(|c| c.canonicalize().ok())
    });
    match (me, on_path) {
        (Some(me), Some(found)) if me == found => "psd".into(),
        (Some(me), _) => shlex::try_quote(&me.to_string_lossy())
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| me.display().to_string()),
        (None, _) => "psd".into(),
    }
}

fn setup(patterns: &[String]) -> Result<Vec<String>, String> {
    let top = PathBuf::from(git_cmd(&["rev-parse", "--show-toplevel"]).map_err(|e| {
        format!("{e}\nrun psd git setup inside the git repository that holds the encrypted files")
    })?);
    let patterns: Vec<&str> = if patterns.is_empty() {
        vec!["*.enc.yaml"]
    } else {
        patterns.iter().map(String::as_str).collect()
    };
    let mut done = Vec::new();
    let attributes = top.join(".gitattributes");
    let mut text = match std::fs::read_to_string(&attributes) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", attributes.display())),
    };
    let before = text.clone();
    for p in &patterns {
        let line = format!("{p} merge=psd diff=psd");
        if text.lines().any(|l| l.trim() == line) {
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        done.push(format!("added `{line}` to .gitattributes (commit it)"));
    }
    if text != before {
        std::fs::write(&attributes, text)
            .map_err(|e| format!("cannot write {}: {e}", attributes.display()))?;
    }
    let psd = psd_command();
    let entries = [
        (
            "merge.psd.name",
            "psd: merge SOPS-encrypted files value by value".to_owned(),
        ),
        (
            "merge.psd.driver",
            format!("{psd} merge-driver %O %A %B %P"),
        ),
        ("diff.psd.textconv", format!("{psd} diff-textconv")),
        // A cached textconv would keep decrypted text in .git (refs/notes/textconv).
        ("diff.psd.cachetextconv", "false".to_owned()),
    ];
    for (key, value) in entries {
        let current = git_cmd(&["config", "--local", "--get", key]).unwrap_or_default();
        if current != value {
            git_cmd(&["config", "--local", key, &value])?;
            done.push(format!("git config --local {key} {value:?}"));
        }
    }
    if done.is_empty() {
        done.push("already set up".into());
    }
    Ok(done)
}
