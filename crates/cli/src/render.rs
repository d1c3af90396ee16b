//! `psd render`.

use std::process::ExitCode;

/// Arguments of `psd render`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `psd render`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("psd render: not implemented yet");
    ExitCode::from(2)
}
