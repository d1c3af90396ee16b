//! `psd`: render, encrypt and check SOPS-encrypted Flux GitOps trees.
//!
//! This binary is plumbing: it parses arguments, calls one library function per subcommand and
//! maps the result to an exit code. Exit codes: 0 ok, 1 findings (of `lint`, or drift for
//! `render --check`), 2 usage or input error; the sops-compatible subcommands (`encrypt`,
//! `decrypt`, `filestatus`) use sops' own exit codes so scripts can swap `sops` for `psd`.

// The CLI is the one crate that writes to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bootstrap;
mod child;
mod completions;
mod config_cmd;
mod connect;
mod doctor;
mod git;
mod help;
mod init;
mod keygen;
mod legacy;
mod lint_cmd;
mod output;
mod render;
mod sops_cmd;
mod sops_edit;
mod sops_exec;
mod sops_keys;
mod sops_set;
mod ui;

use std::process::ExitCode;

use clap::{FromArgMatches as _, Parser, Subcommand};

// mimalloc instead of glibc malloc: the stores build trees of many small strings, and the
// allocator was a sixth of decrypting a 1 MB YAML file (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// psd: render, encrypt and check SOPS-encrypted Flux GitOps trees for K3s clusters.
#[derive(Debug, Parser)]
// The version line (with the sops format psd writes) is set in `help::command`.
#[command(name = "psd", about, long_about = None)]
#[command(after_help = "Examples:
  psd render && psd lint
  psd -v decrypt gitops/apps/db.enc.yaml
  psd completions bash > ~/.local/share/bash-completion/completions/psd

Exit codes: 0 ok, 1 findings or drift, 2 usage or input error; \
the sops commands (encrypt, decrypt, filestatus, set, unset, edit, updatekeys, rotate, groups, exec-env, exec-file) use the exit codes of sops. \
Every command's --help has its examples and exit codes.")]
struct Cli {
    #[command(flatten)]
    global: ui::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a cluster repository: psd.yaml, the age key, .sops.yaml, .gitignore entries.
    Init(init::Args),
    /// What the cluster needs before Flux can decrypt: print it, or apply it with --apply.
    Bootstrap(bootstrap::Args),
    /// Check the repository (and with --cluster the cluster): each check passed or failed.
    Doctor(doctor::Args),
    /// Generate an age key pair in the keys.txt format (like age-keygen).
    Keygen(keygen::Args),
    /// Render the GitOps tree (gitops/) for the cluster description.
    Render(render::Args),
    /// The cluster description (psd.yaml): JSON Schema and default.
    Config(config_cmd::Args),
    /// Lint a Flux GitOps tree: broken references, plaintext Secrets, SOPS wiring, and more.
    Lint(lint_cmd::Args),
    /// Encrypt a file with SOPS (sops-compatible flags).
    Encrypt(sops_cmd::EncryptArgs),
    /// Decrypt a SOPS file (sops-compatible flags).
    Decrypt(sops_cmd::DecryptArgs),
    /// Print whether a file is SOPS-encrypted, as JSON (like sops filestatus).
    Filestatus(sops_cmd::FilestatusArgs),
    /// Set one value of an encrypted file in place (like sops set).
    Set(sops_set::SetArgs),
    /// Remove one value of an encrypted file in place (like sops unset).
    Unset(sops_set::UnsetArgs),
    /// Make files' recipients those of their .sops.yaml rule (like sops updatekeys).
    Updatekeys(sops_keys::UpdatekeysArgs),
    /// A new data key, recipients added or removed (like sops rotate).
    Rotate(sops_keys::RotateArgs),
    /// Add or delete key groups (Shamir), data key and values unchanged (like sops groups).
    Groups(sops_keys::GroupsArgs),
    /// Merge two branches' changes to an encrypted file value by value (git merge driver).
    MergeDriver(git::MergeDriverArgs),
    /// Print an encrypted file decrypted, for `git diff` (textconv); as it is without a key.
    DiffTextconv(git::TextconvArgs),
    /// Git integration: `psd git setup` uses the two commands above in this repository.
    Git(git::GitArgs),
    /// Edit an encrypted file in your editor (like sops edit).
    Edit(sops_edit::EditArgs),
    /// Run a command with a file's values in its environment (like sops exec-env).
    ExecEnv(sops_exec::ExecEnvArgs),
    /// Run a command with the decrypted file as a FIFO or private file (like sops exec-file).
    ExecFile(sops_exec::ExecFileArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write all of them with --dir.
    Man(completions::ManArgs),
    /// Connection details of postgres, redis or authentik from the decrypted Secrets, or
    /// `--exec CMD` with them in CMD's environment.
    Connect(connect::Args),
}

fn main() -> ExitCode {
    let command = help::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let argv = match legacy::translate(std::env::args_os().collect(), &names) {
        Ok(a) => a,
        Err(refused) => {
            let (message, code) = refused.report();
            eprintln!("{message}");
            return ExitCode::from(code);
        }
    };
    let matches = command.get_matches_from(argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    ui::init(&cli.global);
    quiet_on_closed_pipe(move || run(cli.command))
}

/// Rust ignores SIGPIPE, so a reader that goes away (`psd decrypt f | head -1`,
/// `psd config schema | head`) makes the next `println!`/`eprintln!` panic with a backtrace
/// and exit 101. Such a panic unwinds as any other (destructors run: a temporary plaintext
/// file of `psd edit` is still removed), is not reported, and psd ends with 141, the status
/// a shell shows for a filter killed by SIGPIPE. Every other panic is reported as before.
fn quiet_on_closed_pipe(f: impl FnOnce() -> ExitCode + std::panic::UnwindSafe) -> ExitCode {
    fn is_closed_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        msg.starts_with("failed printing to std") && msg.contains("(os error 32)")
    }
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_pipe(info.payload()) {
            report(info);
        }
    }));
    match std::panic::catch_unwind(f) {
        Ok(code) => code,
        Err(payload) if is_closed_pipe(payload.as_ref()) => ExitCode::from(141),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Init(args) => init::run(args),
        Command::Bootstrap(args) => bootstrap::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Render(args) => render::run(args),
        Command::Config(args) => config_cmd::run(args),
        Command::Lint(args) => lint_cmd::run(args),
        Command::Encrypt(args) => sops_cmd::encrypt(args),
        Command::Decrypt(args) => sops_cmd::decrypt(args),
        Command::Filestatus(args) => sops_cmd::filestatus(args),
        Command::Set(args) => sops_set::set(args),
        Command::Unset(args) => sops_set::unset(args),
        Command::Updatekeys(args) => sops_keys::updatekeys(args),
        Command::Rotate(args) => sops_keys::rotate(args),
        Command::Groups(args) => sops_keys::groups(args),
        Command::MergeDriver(args) => git::merge_driver(args),
        Command::DiffTextconv(args) => git::textconv(args),
        Command::Git(args) => git::git(args),
        Command::Edit(args) => sops_edit::edit(args),
        Command::ExecEnv(args) => sops_exec::exec_env(args),
        Command::ExecFile(args) => sops_exec::exec_file(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Connect(args) => connect::run(args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        super::help::command().debug_assert();
    }
}
