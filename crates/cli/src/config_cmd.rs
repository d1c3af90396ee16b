//! `psd config`: the JSON Schema and the default of the cluster description.

use std::process::ExitCode;

use psd_model::cluster::{ClusterConfig, json_schema};

/// Arguments of `psd config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the JSON Schema of psd.yaml (for editor completion and validation).
    Schema,
    /// Print the default cluster description as YAML (a starting psd.yaml).
    Default,
}

/// Runs `psd config`.
pub fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Schema => {
            // `{:#}` is serde_json's pretty printer.
            println!("{:#}", json_schema());
            ExitCode::SUCCESS
        }
        Command::Default => {
            print!("{}", ClusterConfig::default_yaml());
            ExitCode::SUCCESS
        }
    }
}
