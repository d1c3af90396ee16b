//! `psd render`: parse the arguments, call [`psd_render::render`], print the report, map the
//! result to an exit code.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_model::secrecy::SecretString;
use psd_render::{ChangeKind, Mode, RenderOptions};

/// Arguments of `psd render`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "psd writes only files it owns: those listed in <root>/.psd-files and unchanged \
since it wrote them, or new ones (encrypted Secrets are merged, never a conflict: what you add \
to them with sops set is kept, a credential you change there keeps your value, and --rotate \
makes a new one). It refuses, \
unless --allow-destructive, changes that make Flux delete things: renaming flux.cluster_name, \
moving flux.root, disabling a service. Renders of one repository take turns (a lock on the \
repository folder).

Keys: the Secrets are encrypted to the recipients in .sops.yaml (the source of truth once it \
exists; sops.age_recipients in psd.yaml must then agree). Without either, the first render \
creates a key in $SOPS_AGE_KEY_FILE, else sops' keys.txt ($XDG_CONFIG_HOME/sops/age/keys.txt, \
~/.config/sops/age/keys.txt), appended, never overwritten, never in the repository; it says \
where and writes .sops.yaml for it. Private keys \
are read as sops reads them; a key source that is set but unusable is an error.

Exit codes: 0 ok (also when only the Cloudflare token is missing), \
1 drift found by --check (or, with --require-key, an encrypted file no key opens), 2 usage or input error, or a refused render."
)]
pub struct Args {
    /// The cluster description [default: psd.yaml in the repository root if present, else the
    /// embedded default].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Repository root: where psd.yaml, .sops.yaml and the tree are [default: the nearest
    /// folder from here up that holds psd.yaml, .sops.yaml or .git (as sops finds .sops.yaml);
    /// else the current folder].
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Read the Cloudflare API token from this file, `-` for standard input (else from
    /// CLOUDFLARE_API_TOKEN). Keep the file outside the repository.
    #[arg(long, value_name = "FILE")]
    cloudflare_token_file: Option<PathBuf>,
    /// Write nothing; exit 1 with a summary if the tree on disk differs (for CI).
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
    /// With --check: exit 1 when an encrypted file could not be opened (no age private key),
    /// instead of checking only what can be seen without the key.
    #[arg(long, requires = "check")]
    require_key: bool,
    /// Write nothing; print the files a render would write.
    #[arg(long)]
    dry_run: bool,
    /// Render even where Flux would then delete things: after renaming a bootstrapped
    /// cluster, into a new flux.root, without a service the tree had, over psd's first
    /// (Bitnami) stack (move the data first: docs/MIGRATION-stack-v2.md).
    #[arg(long)]
    allow_destructive: bool,
    /// Take over files psd did not write, or that were edited since it wrote them: they are
    /// overwritten (or removed) and listed in .psd-files.
    #[arg(long)]
    force: bool,
    /// Generate a new value for one credential, e.g. postgresql.password, redis.password,
    /// authentik.secret-key (repeatable; an unknown name lists the valid ones). Every other
    /// value stays; Secrets that copy it get the new value too. Needs the private key.
    #[arg(long, value_name = "SERVICE.KEY", conflicts_with = "check")]
    rotate: Vec<String>,
}

/// Runs `psd render`.
pub fn run(args: Args) -> ExitCode {
    let token = match &args.cloudflare_token_file {
        Some(path) => {
            let mut text = String::new();
            let read = if path.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)
            } else {
                std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
            };
            if let Err(e) = read {
                let what = if path.as_os_str() == "-" {
                    "standard input".to_owned()
                } else {
                    path.display().to_string()
                };
                eprintln!("psd render: cannot read the Cloudflare token from {what}: {e}");
                return ExitCode::from(2);
            }
            let token = text.trim().to_owned();
            if token.is_empty() {
                eprintln!(
                    "psd render: --cloudflare-token-file {} is empty; put the API token there \
                     (Cloudflare dashboard, My Profile, API Tokens, Zone DNS edit)",
                    path.display()
                );
                return ExitCode::from(2);
            }
            Some(SecretString::from(token))
        }
        None => std::env::var("CLOUDFLARE_API_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| SecretString::from(t.trim().to_owned())),
    };
    let mode = if args.check {
        Mode::Check
    } else if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let root = match args.root {
        Some(r) => r,
        None => {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            match psd_render::find_repo_root(Path::new("."), home.as_deref()) {
                Some(found) => {
                    if std::env::current_dir().is_ok_and(|cwd| cwd != found.path) {
                        crate::note!(
                            "psd render: rendering the repository at {} (it holds {}); pass \
                             --root DIR to choose another",
                            found.path.display(),
                            found.marker
                        );
                    }
                    found.path
                }
                None => PathBuf::from("."),
            }
        }
    };
    let mut opts = RenderOptions::new(root, mode);
    opts.config_path = args.config;
    opts.cloudflare_token = token;
    opts.allow_destructive = args.allow_destructive;
    opts.force = args.force;
    opts.rotate = args.rotate;
    opts.on_wait = Some(|root| {
        crate::note!(
            "psd render: waiting for another psd render in {} to finish",
            root.display()
        );
    });

    crate::verbose!(
        "psd render: repository {}, cluster description {}",
        opts.repo_root.display(),
        opts.config_path.as_ref().map_or_else(
            || match opts.repo_root.join("psd.yaml") {
                p if p.is_file() => p.display().to_string(),
                _ => "the embedded default".to_owned(),
            },
            |p| p.display().to_string()
        )
    );
    crate::ui::label_next("psd render");
    opts.on_progress = Some(crate::ui::report);
    let rendered = psd_render::render(&opts);
    crate::ui::finish_report();
    let report = match rendered {
        Ok(r) => r,
        Err(e) => {
            eprintln!("psd render: error: {e}");
            return ExitCode::from(2);
        }
    };
    // The render's notes are about what it did to keys and files (a key created, to back up;
    // .sops.yaml written; a credential rotated): shown even with --quiet.
    for note in &report.notes {
        eprintln!("psd render: {note}");
    }
    for c in &report.changes {
        crate::verbose!("psd render: {:<9} {}", c.kind, c.path);
    }
    for warning in &report.warnings {
        eprintln!("psd render: warning: {warning}");
    }
    match mode {
        Mode::DryRun => {
            for c in &report.changes {
                println!("{:<9} {}", c.kind, c.path);
            }
            ExitCode::SUCCESS
        }
        Mode::Check => check_outcome(&report, args.require_key),
        Mode::Write => {
            let mut written = 0;
            for c in &report.changes {
                if !matches!(
                    c.kind,
                    ChangeKind::Unchanged | ChangeKind::Unchecked | ChangeKind::Outdated
                ) {
                    println!("{:<9} {}", c.kind, c.path);
                    for reason in report.reasons.get(&c.path).into_iter().flatten() {
                        println!("          {reason}");
                    }
                    written += 1;
                }
            }
            crate::note!(
                "psd render: {written} file(s) changed, {} unchanged",
                report.changes.len() - written
            );
            ExitCode::SUCCESS
        }
    }
}

/// The summary and exit code of `--check`.
fn check_outcome(report: &psd_render::Report, require_key: bool) -> ExitCode {
    let unopened: Vec<&str> = report.unchecked().collect();
    let drift: Vec<_> = report
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ChangeKind::Created
                    | ChangeKind::Updated
                    | ChangeKind::Removed
                    | ChangeKind::Outdated
            )
        })
        .collect();
    if !drift.is_empty() {
        println!(
            "psd render --check: {} file(s) differ from the rendered tree:",
            drift.len()
        );
        for c in &drift {
            let what = match c.kind {
                ChangeKind::Created => "missing",
                ChangeKind::Removed => "no longer configured",
                ChangeKind::Outdated => "differs (no key)",
                _ => "differs",
            };
            println!("  {what:<20} {}", c.path);
            for reason in report.reasons.get(&c.path).into_iter().flatten() {
                println!("  {:<20}   {reason}", "");
            }
        }
        if drift.iter().any(|c| c.kind == ChangeKind::Outdated) {
            println!("run `psd render` with the age private key (SOPS_AGE_KEY_FILE) to update it");
        } else {
            println!("run `psd render` to update it");
        }
        return ExitCode::from(1);
    }
    if unopened.is_empty() {
        crate::note!(
            "psd render --check: no drift ({} files)",
            report.changes.len()
        );
        return ExitCode::SUCCESS;
    }
    if require_key {
        println!(
            "psd render --check --require-key: no age private key opened {} encrypted file(s), \
             so their values and MACs were not checked: {}",
            unopened.len(),
            unopened.join(", ")
        );
        println!("set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) to the cluster's key file");
        return ExitCode::from(1);
    }
    eprintln!(
        "psd render --check: no drift in what could be checked ({} files); the values and MACs \
         of {} encrypted file(s) were not checked (no age private key; --require-key makes \
         that a failure)",
        report.changes.len(),
        unopened.len()
    );
    ExitCode::SUCCESS
}
