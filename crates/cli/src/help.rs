//! The full command definition: the derived [`Cli`](crate::Cli) plus the version line, and the
//! "Examples" and "Exit codes" sections of every subcommand's `--help` (also in the man
//! pages and used by the completions).
//!
//! A subcommand's module may write both sections into its own `after_help`; whatever it leaves
//! out is appended from [`SECTIONS`], keyed by the command's path (`"groups add"`). A test
//! walks every subcommand and fails when one has no "Examples" or no "Exit codes", so a new
//! subcommand cannot ship without them.

use clap::CommandFactory as _;

/// The version line: psd's version and the sops format version it writes into `sops.version`.
pub fn version() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        format!(
            "{} (writes sops format {})",
            env!("CARGO_PKG_VERSION"),
            psd_sops::metadata::SOPS_COMPAT_VERSION
        )
    })
}

/// The exit codes of the sops-compatible subcommands (sops' `cmd/sops/codes/codes.go`).
const SOPS_EXIT: &str = "Exit codes (those of sops, so scripts can swap sops for psd):
  0    ok
  1    other error
  2    the input file could not be read or parsed
  3    the output file could not be written
  5    .sops.yaml could not be read
  51   the MAC does not match (the file was changed without its key)
  61   no .sops.yaml creation rule matches the file
  100  no file given, or it does not exist
  128  no key opens the file's data key";

/// (command path, examples, exit codes) of each subcommand.
const SECTIONS: &[(&str, &str, &str)] = &[
    (
        "render",
        "  psd render                         # write gitops/ from psd.yaml
  psd render --check                 # CI: exit 1 if the committed tree differs
  psd render --dry-run               # list what would change
  psd render --rotate postgresql.password
  psd -q render --cloudflare-token-file ~/.cf-token",
        "",
    ),
    (
        "config",
        "  psd config default > psd.yaml
  psd config schema > psd.schema.json",
        "Exit codes:
  0  ok
  2  usage error",
    ),
    (
        "config schema",
        "  psd config schema > psd.schema.json",
        "Exit codes:
  0  ok
  2  usage error",
    ),
    (
        "config default",
        "  psd config default > psd.yaml",
        "Exit codes:
  0  ok
  2  usage error",
    ),
    (
        "lint",
        "  psd lint                           # the repository's gitops/
  psd lint gitops/apps --fail-on warning
  psd lint --format sarif > lint.sarif
  psd lint --decrypt                 # also what the encrypted Secrets hold
  psd lint --list-rules",
        "",
    ),
    (
        "encrypt",
        "  psd encrypt -i secret.enc.yaml     # in place, to the .sops.yaml rule's recipients
  psd encrypt --age age1… plain.yaml > secret.enc.yaml",
        SOPS_EXIT,
    ),
    (
        "decrypt",
        "  psd decrypt secret.enc.yaml
  psd decrypt --extract '[\"stringData\"][\"password\"]' secret.enc.yaml",
        SOPS_EXIT,
    ),
    (
        "filestatus",
        "  psd filestatus secret.enc.yaml     # {\"encrypted\":true}",
        SOPS_EXIT,
    ),
    (
        "set",
        "  psd set secret.enc.yaml '[\"stringData\"][\"password\"]' '\"s3cret\"'
  printf '\"%s\"' \"$TOKEN\" | psd set --value-stdin secret.enc.yaml '[\"stringData\"][\"token\"]'",
        SOPS_EXIT,
    ),
    (
        "unset",
        "  psd unset secret.enc.yaml '[\"stringData\"][\"old\"]'",
        SOPS_EXIT,
    ),
    (
        "updatekeys",
        "  psd updatekeys -y gitops/**/*.enc.yaml   # after changing .sops.yaml",
        SOPS_EXIT,
    ),
    (
        "rotate",
        "  psd rotate -i secret.enc.yaml      # a new data key
  psd rotate -i --add-age age1… secret.enc.yaml",
        SOPS_EXIT,
    ),
    (
        "groups",
        "  psd groups add -f secret.enc.yaml --age age1… --age age1…
  psd groups delete -f secret.enc.yaml 1",
        SOPS_EXIT,
    ),
    (
        "groups add",
        "  psd groups add -i -f secret.enc.yaml --age age1… --age age1…",
        SOPS_EXIT,
    ),
    (
        "groups delete",
        "  psd groups delete -i -f secret.enc.yaml 1",
        SOPS_EXIT,
    ),
    (
        "merge-driver",
        "  git config merge.psd.driver 'psd merge-driver %O %A %B %P'   # psd git setup does this",
        "Exit codes:
  0  merged
  1  left conflicted (the conflicting places are named)",
    ),
    (
        "diff-textconv",
        "  git config diff.psd.textconv 'psd diff-textconv'   # psd git setup does this
  psd diff-textconv secret.enc.yaml",
        "Exit codes:
  0  printed (decrypted, or as it is without a key)
  1  cannot write to standard output
  2  the file cannot be read",
    ),
    (
        "git",
        "  psd git setup
  psd git setup '*.enc.yaml' '*.enc.json'",
        "Exit codes:
  0  set up (or already was)
  2  not in a git repository, or git failed",
    ),
    (
        "git setup",
        "  psd git setup
  psd git setup '*.enc.yaml' '*.enc.json'",
        "Exit codes:
  0  set up (or already was)
  2  not in a git repository, or git failed",
    ),
    (
        "edit",
        "  psd edit secret.enc.yaml
  EDITOR='code --wait' psd edit secret.enc.yaml",
        SOPS_EXIT,
    ),
    (
        "exec-env",
        "  psd exec-env secret.enc.yaml 'psql \"$DATABASE_URL\"'
  psd exec-env --pristine secret.enc.yaml env",
        "Exit codes: the command's own; otherwise those of sops (see psd decrypt --help).",
    ),
    (
        "exec-file",
        "  psd exec-file secret.enc.yaml 'kubectl apply -f {}'
  psd exec-file --no-fifo secret.enc.yaml 'cat {}'",
        "Exit codes: the command's own; otherwise those of sops (see psd decrypt --help).",
    ),
    (
        "completions",
        "  psd completions bash > ~/.local/share/bash-completion/completions/psd
  psd completions zsh > ~/.zfunc/_psd        # with fpath+=(~/.zfunc) in ~/.zshrc
  psd completions fish > ~/.config/fish/completions/psd.fish",
        "Exit codes:
  0  ok
  2  usage error",
    ),
    (
        "man",
        "  psd man | man -l -
  psd man render | man -l -
  psd man --dir ~/.local/share/man/man1      # psd.1 and psd-<command>.1",
        "Exit codes:
  0  ok
  2  usage error, or the folder cannot be written",
    ),
];

/// The command definition with the version line and the help sections (module docs).
pub fn command() -> clap::Command {
    let cmd = crate::Cli::command().version(version());
    with_sections(cmd, "")
}

fn with_sections(mut cmd: clap::Command, path: &str) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |sub| with_sections(sub, &sub_path));
    }
    if path.is_empty() {
        return cmd;
    }
    let existing = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    let Some((_, examples, exit)) = SECTIONS.iter().find(|(p, _, _)| *p == path) else {
        return cmd;
    };
    let mut text = existing;
    if !text.contains("Examples:") && !examples.is_empty() {
        // Before the module's own exit codes, if it has them; else at the end.
        let at = text.find("Exit codes").unwrap_or(text.len());
        let mut section = format!("Examples:\n{examples}");
        if at < text.len() {
            section.push_str("\n\n");
        } else if !text.is_empty() {
            section.insert_str(0, "\n\n");
        }
        text.insert_str(at, &section);
    }
    if !text.contains("Exit codes") && !exit.is_empty() {
        text.push_str("\n\n");
        text.push_str(exit);
    }
    cmd.after_long_help(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand, nested ones too, with its path.
    fn all(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let p = format!("{path} {}", sub.get_name()).trim().to_owned();
            out.push((p.clone(), sub.clone()));
            all(sub, &p, out);
        }
    }

    #[test]
    fn every_subcommand_has_examples_and_exit_codes() {
        let mut cmd = command();
        cmd.build();
        let mut subs = Vec::new();
        all(&cmd, "", &mut subs);
        assert!(subs.len() > 20, "{}", subs.len());
        let mut missing = Vec::new();
        for (path, mut sub) in subs {
            let help = sub.render_long_help().to_string();
            for section in ["Examples:", "Exit codes"] {
                if !help.contains(section) {
                    missing.push(format!("psd {path}: no {section:?} in --help"));
                }
            }
            // Each example names psd or the git command that runs it.
            if let Some(ex) = help.split("Examples:\n").nth(1) {
                let first = ex.lines().next().unwrap_or_default();
                assert!(
                    first.contains("psd") || first.contains("git"),
                    "psd {path}: {first}"
                );
            }
        }
        assert!(
            missing.is_empty(),
            "add the sections to the subcommand's after_help or to help::SECTIONS:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_section_names_a_real_subcommand() {
        let mut cmd = command();
        cmd.build();
        let mut subs = Vec::new();
        all(&cmd, "", &mut subs);
        for (path, _, _) in SECTIONS {
            assert!(
                subs.iter().any(|(p, _)| p == path),
                "help::SECTIONS has {path:?}, which is no subcommand"
            );
        }
    }

    #[test]
    fn version_names_the_sops_format() {
        assert_eq!(
            version(),
            format!(
                "{} (writes sops format {})",
                env!("CARGO_PKG_VERSION"),
                psd_sops::metadata::SOPS_COMPAT_VERSION
            )
        );
        assert!(version().contains("writes sops format 3."));
    }
}
