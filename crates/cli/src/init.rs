//! `psd init`: ask for (or take from flags) what a new cluster repository needs, call
//! [`psd_render::init::init`], and print the next steps.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use psd_model::cluster::ClusterError;
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

On a terminal, psd init asks for each value not given as a flag, and asks again after an \
answer it cannot use (saying why); a bad flag value is an error. Otherwise (a script, CI) it \
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

/// The enabled services of a services list (`--services`, or the answer to its question).
fn parse_services(list: &str) -> Result<[bool; 3], String> {
    let mut on = [false; 3];
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.contains(&"none") && names.len() > 1 {
        return Err(format!(
            "`none` cannot be listed with other services (`{}`): give `none` alone, or only \
             the services to enable",
            names.join(",")
        ));
    }
    for name in names {
        if name == "none" {
            continue;
        }
        match SERVICES.iter().position(|s| *s == name) {
            Some(i) => on[i] = true,
            None => {
                return Err(format!(
                    "unknown service `{name}`: the services are {} (or `none`), \
                     comma-separated",
                    SERVICES.join(", ")
                ));
            }
        }
    }
    Ok(on)
}

/// The values `psd init` asks for, in the order it asks; each is either a flag or an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Question {
    Domain,
    Email,
    Cluster,
    Services,
}

impl Question {
    /// The question whose value a field of the cluster description comes from.
    fn of_field(field: &str) -> Option<Self> {
        match field {
            // Authentik's host name is made from the domain.
            "domain" | "services.authentik.host" => Some(Self::Domain),
            "acme.email" => Some(Self::Email),
            "flux.cluster_name" => Some(Self::Cluster),
            f if f.starts_with("services.") => Some(Self::Services),
            _ => None,
        }
    }

    /// The flag that gives this value.
    fn flag(self) -> &'static str {
        match self {
            Self::Domain => "--domain",
            Self::Email => "--email",
            Self::Cluster => "--cluster-name",
            Self::Services => "--services",
        }
    }
}

/// The values so far: given as flags or answered; `None` is not given (its default).
#[derive(Debug, Default)]
struct Values {
    domain: Option<String>,
    email: Option<String>,
    cluster: Option<String>,
    services: Option<String>,
}

impl Values {
    /// The value of question `q`.
    fn slot(&mut self, q: Question) -> &mut Option<String> {
        match q {
            Question::Domain => &mut self.domain,
            Question::Email => &mut self.email,
            Question::Cluster => &mut self.cluster,
            Question::Services => &mut self.services,
        }
    }

    /// [`InitOptions`] for these values (`domain` standing in for a domain not given yet),
    /// checked as `init` checks them; an error names the question whose value is refused.
    fn options(
        &self,
        args: &Args,
        domain: &str,
    ) -> Result<InitOptions, (Option<Question>, String)> {
        let on = parse_services(
            self.services
                .as_deref()
                .unwrap_or("postgresql,redis,authentik"),
        )
        .map_err(|e| (Some(Question::Services), e))?;
        let domain = self.domain.as_deref().unwrap_or(domain);
        let mut opts = InitOptions::new(args.root.clone(), domain.trim());
        opts.email = self.email.clone().unwrap_or_default().trim().to_owned();
        if opts.email == format!("admin@{}", opts.domain) {
            // The default: leave it to psd.yaml's default so a new domain carries it along.
            opts.email.clear();
        }
        if let Some(c) = &self.cluster {
            opts.cluster_name = c.trim().to_owned();
        }
        [opts.postgresql, opts.redis, opts.authentik] = on;
        opts.recipients.clone_from(&args.age_recipient);
        opts.force = args.force;
        match opts.config() {
            Ok(_) => Ok(opts),
            Err(e) => {
                let q = match &e {
                    ClusterError::Invalid { field, .. } => Question::of_field(field),
                    _ => None,
                };
                Err((q, e.to_string()))
            }
        }
    }
}

/// Asks the questions whose flags are not given, each again until its answer can be used.
fn ask_all(args: &Args, values: &mut Values) -> Result<(), String> {
    // A bad flag is an error before anything is asked (the flags are not questions).
    if let Err((q, e)) = values.options(args, "example.org") {
        let hint = q.map(|q| format!(" ({})", q.flag())).unwrap_or_default();
        return Err(format!("{e}{hint}"));
    }
    let unanswered: Vec<Question> = [
        Question::Domain,
        Question::Email,
        Question::Cluster,
        Question::Services,
    ]
    .into_iter()
    .filter(|&q| values.slot(q).is_none())
    .collect();
    for q in unanswered {
        loop {
            let d = values.domain.clone().unwrap_or_default();
            let answer = match q {
                Question::Domain => ask("Domain the cluster serves (e.g. example.org)", None),
                Question::Email => ask("Let's Encrypt e-mail", Some(&format!("admin@{d}"))),
                Question::Cluster => ask("Cluster name", Some("k3s")),
                Question::Services => ask(
                    "Services (postgresql,redis,authentik or none)",
                    Some("postgresql,redis,authentik"),
                ),
            }
            .map_err(|e| format!("cannot read the answer: {e}"))?;
            *values.slot(q) = Some(answer);
            match values.options(args, "example.org") {
                Err((Some(bad), e)) if bad == q => {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "psd init: {e}; try again");
                }
                _ => break,
            }
        }
    }
    Ok(())
}

/// Runs `psd init`.
pub fn run(args: Args) -> ExitCode {
    let mut values = Values {
        domain: args.domain.clone(),
        email: args.email.clone(),
        cluster: args.cluster_name.clone(),
        services: args.services.clone(),
    };
    if std::io::stdin().is_terminal() {
        // An empty --domain on a terminal is asked for, as if not given.
        values.domain = values.domain.filter(|d| !d.trim().is_empty());
        if let Err(e) = ask_all(&args, &mut values) {
            return fail(format!("{e}; nothing was written"));
        }
    } else if values.domain.is_none() {
        return fail(
            "--domain is required when standard input is not a terminal (e.g. psd init \
             --domain example.org); nothing was written",
        );
    }
    let opts = match values.options(&args, "") {
        Ok(o) => o,
        Err((q, e)) => {
            let hint = q.map(|q| format!(" ({})", q.flag())).unwrap_or_default();
            return fail(format!("{e}{hint}; nothing was written"));
        }
    };

    let report = match psd_render::init::init(&opts) {
        Ok(r) => r,
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
