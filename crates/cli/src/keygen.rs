//! `psd keygen`.

use std::process::ExitCode;

/// Arguments of `psd keygen`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `psd keygen`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("psd keygen: not implemented yet");
    ExitCode::from(2)
}
