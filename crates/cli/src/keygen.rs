//! `psd keygen`: generate an age X25519 key file like `age-keygen`, or print the recipients of
//! an identity file like `age-keygen -y`.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use psd_model::secrecy::{ExposeSecret as _, SecretSlice};
use psd_model::{AgeKeyPair, KeyFileError, Recipient};

/// Arguments of `psd keygen`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without -o the key file (`# created: …`, `# public key: age1…`, \
`AGE-SECRET-KEY-1…`, as age-keygen writes it) goes to standard output. With -o FILE it is \
written with mode 0600, atomically, never over an existing file, and the public key is printed \
on standard error as `Public key: age1…`; a temporary `.psd-new-XXXXXX` that an interrupted \
run left beside FILE is removed first. With -y, the identity file INPUT (or standard input \
for `-` or no INPUT) is read and the recipient of every identity in it printed, one per line.

Examples:
  psd keygen -o keys.txt
  psd keygen -y keys.txt
  psd keygen -y - < keys.txt

Exit codes: 0 ok, 2 usage or input error (bad key file, file exists, I/O error)."
)]
pub struct Args {
    /// Write to FILE instead of standard output (never overwrites an existing file).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Convert an identity file to its recipients instead of generating a key.
    #[arg(short = 'y')]
    pub convert: bool,
    /// Identity file for -y (`-` or absent: standard input).
    #[arg(value_name = "INPUT", requires = "convert")]
    pub input: Option<PathBuf>,
}

/// Everything `psd keygen` can fail with; each message says what failed, where, and what to do.
#[derive(Debug, thiserror::Error)]
enum KeygenError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("cannot read the identity file from standard input: {0}")]
    Stdin(#[source] io::Error),
    #[error(
        "standard input is not UTF-8 text; pipe an age key file (lines starting with \
         `AGE-SECRET-KEY-1`)"
    )]
    StdinNotUtf8,
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] io::Error),
}

/// Runs `psd keygen`.
pub fn run(args: Args) -> ExitCode {
    let result = if args.convert {
        convert(&args)
    } else {
        generate(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("psd keygen: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn generate(args: &Args) -> Result<(), KeygenError> {
    let pair = AgeKeyPair::generate();
    match &args.output {
        Some(path) => {
            pair.write_new(path)?;
            eprintln!("Public key: {}", pair.recipient());
        }
        None => {
            let mut stdout = io::stdout().lock();
            // Like age-keygen: when the key file is not shown on a terminal, say the public key.
            if !stdout.is_terminal() {
                eprintln!("Public key: {}", pair.recipient());
            }
            let text = pair.to_key_file_text();
            stdout
                .write_all(text.expose_secret().as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(KeygenError::Stdout)?;
        }
    }
    Ok(())
}

fn convert(args: &Args) -> Result<(), KeygenError> {
    let pairs = match args.input.as_deref() {
        Some(path) if path.as_os_str() != "-" => psd_model::read_key_file(path)?,
        _ => {
            let mut buf = Vec::new();
            let read = io::stdin().lock().read_to_end(&mut buf);
            // Wiped on drop, whether or not reading succeeded.
            let bytes = SecretSlice::from(buf);
            read.map_err(KeygenError::Stdin)?;
            let text = std::str::from_utf8(bytes.expose_secret())
                .map_err(|_| KeygenError::StdinNotUtf8)?;
            psd_model::parse_key_file(text, "standard input")?
        }
    };
    let recipients: Vec<Recipient> = pairs.iter().map(|p| p.recipient().clone()).collect();
    match &args.output {
        Some(path) => psd_model::write_recipients_file(path, &recipients)?,
        None => {
            let mut stdout = io::stdout().lock();
            for r in &recipients {
                writeln!(stdout, "{r}").map_err(KeygenError::Stdout)?;
            }
            stdout.flush().map_err(KeygenError::Stdout)?;
        }
    }
    Ok(())
}
