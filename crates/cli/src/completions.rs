//! `psd completions SHELL` and `psd man`: shell completion scripts and roff manual pages, both
//! generated from the command definition ([`crate::help::command`]), so they cannot drift
//! from the real flags.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The shells completions are generated for.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Shell {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// Arguments of `psd completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    shell: Shell,
}

/// Arguments of `psd man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (psd-SUBCOMMAND(1)) [default: psd(1)].
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    command: Option<String>,
    /// Write every page (psd.1 and psd-SUBCOMMAND.1) into this folder instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `psd completions`.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut cmd = crate::help::command();
    let mut out = Vec::new();
    match args.shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "psd", &mut out)
        }
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "psd", &mut out),
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "psd", &mut out)
        }
    }
    write_stdout(&out, "completions")
}

/// Runs `psd man`.
pub fn man(args: ManArgs) -> ExitCode {
    let mut cmd = crate::help::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = &args.dir {
        let written =
            std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
        return match written {
            Ok(()) => {
                crate::note!("psd man: wrote the manual pages to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("psd man: error: cannot write to {}: {e}", dir.display());
                ExitCode::from(2)
            }
        };
    }
    let page = match &args.command {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name).cloned() else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                eprintln!(
                    "psd man: error: no subcommand {name:?}; one of: {}",
                    names.join(", ")
                );
                return ExitCode::from(2);
            };
            sub
        }
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        eprintln!("psd man: error: {e}");
        return ExitCode::from(2);
    }
    write_stdout(&out, "man")
}

fn write_stdout(bytes: &[u8], what: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // `psd man | head`: a closed pipe is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("psd {what}: error: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
    }
}
