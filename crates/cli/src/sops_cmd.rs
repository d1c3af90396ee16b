//! `psd encrypt`, `psd decrypt`, `psd filestatus`: the sops-compatible subset.

use std::process::ExitCode;

/// Arguments of `psd encrypt`.
#[derive(Debug, clap::Args)]
pub struct EncryptArgs {}

/// Arguments of `psd decrypt`.
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {}

/// Arguments of `psd filestatus`.
#[derive(Debug, clap::Args)]
pub struct FilestatusArgs {}

/// Runs `psd encrypt`.
pub fn encrypt(_args: EncryptArgs) -> ExitCode {
    eprintln!("psd encrypt: not implemented yet");
    ExitCode::from(2)
}

/// Runs `psd decrypt`.
pub fn decrypt(_args: DecryptArgs) -> ExitCode {
    eprintln!("psd decrypt: not implemented yet");
    ExitCode::from(2)
}

/// Runs `psd filestatus`.
pub fn filestatus(_args: FilestatusArgs) -> ExitCode {
    eprintln!("psd filestatus: not implemented yet");
    ExitCode::from(2)
}
