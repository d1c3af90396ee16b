//! `psd init`: ask for (or take from flags) what a new cluster repository needs, call
//! [`psd_render::init::init`], and print the next steps.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_render::init::{InitOptions, KeyOutcome};

/// Arguments of `psd init`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes, in the repository root: psd.yaml (commented, with a \
`# yaml-language-server: $schema=./psd.schema.json` line), psd.schema.json (the JSON Schema of \
psd.yaml, as `psd config schema` prints it), .sops.yaml (encrypting the Secrets to this \
repository's age key), and .gitignore entries that keep private keys and decrypted files out \
of git. The age key is created where sops looks for it ($SOPS_AGE_KEY_FILE, else \
$XDG_CONFIG_HOME/sops/age/keys.txt, else ~/.config/sops/age/keys.txt), appended to a file \
that exists, never overwriting one, never in the repository, marked \
`# psd: cluster key for <root>`. A key already marked for this repository (or the only key of \
the file SOPS_AGE_KEY_FILE names) is used instead of making another; --age-recipient uses \
existing keys and creates none.

On a terminal, psd init asks for each value not given as a flag; otherwise (a script, CI) it \
takes the flags and needs at least --domain.

Examples:
  psd init
  psd init --domain example.org --email ops@example.org
  psd init --domain example.org --cluster-name home --services postgresql,authentik
  psd init --root ../cluster --domain example.org --age-recipient age1…

Exit codes: 0 ok, 2 usage or input error (an invalid value, files that exist without --force, \
a key file that cannot be written)."
)]
pub struct Args {
    /// The repository root [default: the current folder].
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// The DNS zone the cluster serves (e.g. example.org).
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// The Let's Encrypt account e-mail (default: admin@ followed by the domain).
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// The Flux cluster name: the entry folder is gitops/clusters/NAME [default: k3s].
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// The services to run, comma-separated: postgresql, redis, authentik, or `none`
    /// [default: all three].
    #[arg(long, value_name = "LIST")]
    services: Option<String>,
    /// Encrypt to this existing age recipient (age1…) instead of a key of the repository's
    /// own (repeatable); no key is created.
    #[arg(long, value_name = "AGE1…")]
    age_recipient: Vec<String>,
    /// Replace an existing psd.yaml, psd.schema.json and .sops.yaml.
    #[arg(long)]
    force: bool,
}

const SERVICES: [&str; 3] = ["postgresql", "redis", "authentik"];

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("psd init: error: {message}");
    ExitCode::from(2)
}

/// Asks `question` on the terminal; an empty answer is `default`.
fn ask(question: &str, default: Option<&str>) -> std::io::Result<String> {
    let mut err = std::io::stderr().lock();
    match default {
        Some(d) => write!(err, "{question} [{d}]: ")?,
        None => write!(err, "{question}: ")?,
    }
    err.flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no answer (end of input)",
        ));
    }
    let line = line.trim();
    Ok(if line.is_empty() {
        default.unwrap_or("").to_owned()
    } else {
        line.to_owned()
    })
}

/// The enabled services of a `--services` list.
fn parse_services(list: &str) -> Result<[bool; 3], String> {
    let mut on = [false; 3];
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name == "none" {
            continue;
        }
        match SERVICES.iter().position(|s| *s == name) {
            Some(i) => on[i] = true,
            None => {
                return Err(format!(
                    "unknown service `{name}` in --services: the services are {} (or `none`)",
                    SERVICES.join(", ")
                ));
            }
        }
    }
    Ok(on)
}

/// Runs `psd init`.
pub fn run(args: Args) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let mut domain = args.domain.clone();
    let mut email = args.email.clone();
    let mut cluster = args.cluster_name.clone();
    let mut services = args.services.clone();
    if interactive {
        let answers = (|| -> std::io::Result<()> {
            while domain.as_deref().is_none_or(str::is_empty) {
                domain = Some(ask("Domain the cluster serves (e.g. example.org)", None)?);
            }
            let d = domain.clone().unwrap_or_default();
            if email.is_none() {
                email = Some(ask("Let's Encrypt e-mail", Some(&format!("admin@{d}")))?);
            }
            if cluster.is_none() {
                cluster = Some(ask("Cluster name", Some("k3s"))?);
            }
            if services.is_none() {
                services = Some(ask(
                    "Services (postgresql,redis,authentik or none)",
                    Some("postgresql,redis,authentik"),
                )?);
            }
            Ok(())
        })();
        if let Err(e) = answers {
            return fail(format!("cannot read the answer: {e}; nothing was written"));
        }
    }
    let Some(domain) = domain else {
        return fail(
            "--domain is required when standard input is not a terminal (e.g. psd init \
             --domain example.org); nothing was written",
        );
    };
    let on = match parse_services(services.as_deref().unwrap_or("postgresql,redis,authentik")) {
        Ok(on) => on,
        Err(e) => return fail(e),
    };
    let mut opts = InitOptions::new(args.root.clone(), domain.trim());
    opts.email = email.unwrap_or_default().trim().to_owned();
    if opts.email == format!("admin@{}", opts.domain) {
        // The default: leave it to psd.yaml's default so a new domain carries it along.
        opts.email.clear();
    }
    if let Some(c) = cluster {
        opts.cluster_name = c.trim().to_owned();
    }
    [opts.postgresql, opts.redis, opts.authentik] = on;
    opts.recipients.clone_from(&args.age_recipient);
    opts.force = args.force;

    let report = match psd_render::init::init(&opts) {
        Ok(r) => r,
        Err(psd_render::init::InitError::Invalid(e)) => {
            let hint = flag_for(&e.to_string());
            return fail(format!("{e}{hint}; nothing was written"));
        }
        Err(e) => return fail(e),
    };
    let root = args.root.display();
    for f in &report.written {
        println!("wrote     {f}");
    }
    if !report.gitignore_added.is_empty() {
        println!(
            "updated   .gitignore (added {})",
            report.gitignore_added.join(" ")
        );
    }
    let key_file = match &report.key {
        KeyOutcome::Given => {
            println!(
                "the Secrets are encrypted to {}",
                report.recipients.join(", ")
            );
            None
        }
        KeyOutcome::Reused { path } => {
            println!(
                "using the age key in {} (recipient {})",
                path.display(),
                report.recipients.join(", ")
            );
            Some(path.clone())
        }
        KeyOutcome::Created {
            path,
            new_file,
            marker,
        } => {
            let how = if *new_file {
                "a new file, mode 0600"
            } else {
                "appended; the keys it held are unchanged"
            };
            println!(
                "created   an age key in {} ({how}), marked `{marker}`; recipient {}",
                path.display(),
                report.recipients.join(", ")
            );
            Some(path.clone())
        }
    };
    let in_git = args.root.join(".git").exists()
        || std::process::Command::new("git")
            .arg("-C")
            .arg(&args.root)
            .args(["rev-parse", "--is-inside-work-tree"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    println!();
    println!("Next steps:");
    let mut n = 0;
    let mut step = |text: String| {
        n += 1;
        println!("  {n}. {text}");
    };
    if let Some(k) = key_file {
        step(format!(
            "Back up the age key in {} (a password manager, an offline copy): it is the only \
             key that decrypts this repository's Secrets.",
            k.display()
        ));
    }
    let cd = if args.root == Path::new(".") {
        String::new()
    } else {
        format!("cd {root} && ")
    };
    step(format!(
        "Render the tree with your Cloudflare API token (Zone DNS Edit + Zone Read):\n       \
         {cd}psd render --cloudflare-token-file -   (paste the token, then Ctrl-D)"
    ));
    if !in_git {
        step(
            "Make it a git repository and push it where the cluster can pull it:\n       \
              git init -b main && git remote add origin <URL>"
                .into(),
        );
    }
    step(
        "Commit and push: git add -A && git commit -m \"cluster: initial tree\" && git push".into(),
    );
    step(
        "Give the cluster the key and install Flux: psd bootstrap (prints each step; \
         --apply applies the key Secret with kubectl)"
            .into(),
    );
    step("Check everything: psd doctor (and psd doctor --cluster once Flux runs)".into());
    ExitCode::SUCCESS
}

/// The flag that sets the field an error names, as a hint.
fn flag_for(message: &str) -> &'static str {
    if message.contains("`domain`") {
        " (--domain)"
    } else if message.contains("`acme.email`") {
        " (--email)"
    } else if message.contains("`flux.cluster_name`") {
        " (--cluster-name)"
    } else if message.contains("services.") {
        " (--services)"
    } else {
        ""
    }
}
