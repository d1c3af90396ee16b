//! sops's top-level forms, still accepted by sops 3.x and used by scripts and docs everywhere:
//! `psd -d FILE`, `psd -e -i FILE`, `psd FILE` and `psd -i FILE` (edit), `psd -r -i --add-age
//! R FILE`, `psd --set '["k"] "v"' FILE`, `psd -d --extract '["k"]' FILE`. Each is rewritten to
//! the subcommand that does the same (`decrypt`, `encrypt`, `edit`, `rotate`, `set`) before the
//! arguments are parsed, so both forms behave identically.

use std::ffi::OsString;

/// What the first argument must not be for the arguments to be a legacy form.
const NOT_LEGACY: [&str; 4] = ["-h", "--help", "-V", "--version"];

/// A command line refused before its arguments are parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// sops's message for a `--set` it cannot split (exit 7, as sops).
    BadSet,
    /// A word that is no file and looks like a misspelt subcommand (exit 2, a usage error).
    UnknownCommand(String),
}

impl Refused {
    /// The message and exit status.
    pub fn report(&self) -> (&str, u8) {
        match self {
            Self::BadSet => ("Invalid --set format", 7),
            Self::UnknownCommand(m) => (m, 2),
        }
    }
}

/// The flags that make a command line one of sops's legacy forms.
fn is_legacy_flag(arg: &OsString) -> bool {
    arg.to_str().is_some_and(|a| {
        matches!(
            a,
            "-d" | "--decrypt"
                | "-e"
                | "--encrypt"
                | "-r"
                | "--rotate"
                | "-i"
                | "--in-place"
                | "--set"
        ) || a.starts_with("--set=")
    })
}

/// Levenshtein distance of two short words.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// How many arguments a global option (`psd -q render`) takes, or `None` when `arg` is none.
fn global_option(arg: &str) -> Option<usize> {
    match arg {
        "-q" | "--quiet" | "-v" | "--verbose" | "--no-color" => Some(0),
        "--color" => Some(1),
        a if a.starts_with("--color=") => Some(0),
        // Bundled short flags: -qv is not valid (they conflict), -vv is.
        a if a.len() > 1 && a.starts_with('-') && !a.starts_with("--") => {
            a[1..].chars().all(|c| c == 'v' || c == 'q').then_some(0)
        }
        _ => None,
    }
}

/// Rewrites a legacy command line (`argv` with the program name first) into a subcommand form;
/// any other command line is returned as it is. `subcommands` are the names that make a
/// command line new-style. `Err` when the command line is refused before parsing.
pub fn translate(argv: Vec<OsString>, subcommands: &[String]) -> Result<Vec<OsString>, Refused> {
    // Global options may come first (`psd -v render`, `psd --verbose -d f.yaml`).
    let mut i = 1;
    while let Some(n) = argv.get(i).and_then(|a| a.to_str()).and_then(global_option) {
        i += 1 + n;
    }
    let Some(first) = argv.get(i).and_then(|a| a.to_str()) else {
        return Ok(argv);
    };
    if subcommands.iter().any(|s| s == first) || NOT_LEGACY.contains(&first) {
        return Ok(argv);
    }
    // `psd --versoin`: no legacy flag at all, so not a legacy form; clap reports the unknown
    // option against psd's own options, not `psd edit`'s.
    if first.starts_with('-') && !argv.iter().skip(i).any(is_legacy_flag) {
        return Ok(argv);
    }
    // `psd rendr`: sops would edit (create) a file named `rendr`; a word that is not a file and
    // is a typo of a subcommand is far more likely a typo.
    if !first.starts_with('-')
        && !first.contains(['.', '/'])
        && !std::path::Path::new(first).exists()
        && let Some(near) = subcommands
            .iter()
            .filter(|s| first.len() >= 3 && distance(first, s) <= 2)
            .min_by_key(|s| distance(first, s))
    {
        return Err(Refused::UnknownCommand(format!(
            "psd: unknown command `{first}`: did you mean `{near}`? (`psd --help` lists the \
             commands; to create an encrypted file named `{first}`, run `psd edit {first}`.)"
        )));
    }
    let mut mode: Option<&str> = None;
    let mut set: Option<String> = None;
    let mut in_place = false;
    let mut rest: Vec<OsString> = Vec::new();
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("-d" | "--decrypt") => mode = Some("decrypt"),
            Some("-e" | "--encrypt") => mode = Some("encrypt"),
            Some("-r" | "--rotate") => mode = Some("rotate"),
            Some("-i" | "--in-place") => in_place = true,
            Some("--set") => {
                set = Some(
                    args.next()
                        .and_then(|v| v.to_str())
                        .ok_or(Refused::BadSet)?
                        .to_owned(),
                );
            }
            Some(s) if s.starts_with("--set=") => set = Some(s["--set=".len()..].to_owned()),
            _ => rest.push(a.clone()),
        }
    }
    let mut out = vec![argv[0].clone()];
    if let Some(set) = set {
        // sops splits at the first "] ": the path, then the JSON value.
        let (path, value) = match set.split_once("] ") {
            Some((p, v)) => (format!("{}]", p.trim_end()), v.to_owned()),
            None => return Err(Refused::BadSet),
        };
        out.push("set".into());
        out.extend(
            rest.iter()
                .filter(|a| a.to_str().is_some_and(|s| s.starts_with('-')))
                .cloned(),
        );
        out.extend(
            rest.iter()
                .filter(|a| !a.to_str().is_some_and(|s| s.starts_with('-')))
                .cloned(),
        );
        out.push(path.into());
        out.push(value.into());
        return Ok(out);
    }
    match mode {
        Some(m) => {
            out.push(m.into());
            if in_place {
                out.push("--in-place".into());
            }
        }
        // No mode: sops edits the file (`-i` means nothing more there).
        None => out.push("edit".into()),
    }
    out.extend(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn t(args: &[&str]) -> Result<Vec<String>, String> {
        let subs = ["decrypt", "encrypt", "edit", "set", "render"].map(String::from);
        let argv = std::iter::once("psd")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        translate(argv, &subs)
            .map(|v| {
                v.into_iter()
                    .skip(1)
                    .map(|a| a.into_string().unwrap())
                    .collect()
            })
            .map_err(|r| r.report().0.to_owned())
    }

    #[test]
    fn a_misspelt_subcommand_is_not_a_file_to_edit() {
        let err = t(&["rendr"]).unwrap_err();
        assert!(
            err.contains("unknown command `rendr`: did you mean `render`?"),
            "{err}"
        );
        assert_eq!(
            super::Refused::UnknownCommand(String::new()).report().1,
            2,
            "a usage error"
        );
        let err = t(&["-v", "decyrpt", "x.yaml"]).unwrap_err();
        assert!(err.contains("did you mean `decrypt`?"), "{err}");
        // Names with a dot or a slash, far from every command, or short, are files, as in sops.
        assert_eq!(t(&["rendr.yaml"]).unwrap(), ["edit", "rendr.yaml"]);
        assert_eq!(t(&["./rendr"]).unwrap(), ["edit", "./rendr"]);
        assert_eq!(t(&["secrets"]).unwrap(), ["edit", "secrets"]);
        assert_eq!(t(&["st"]).unwrap(), ["edit", "st"]);
        // An unknown option without any legacy flag is left to clap (psd's own options).
        assert_eq!(t(&["--versoin"]).unwrap(), ["--versoin"]);
        assert_eq!(
            t(&["--extract", r#"["a"]"#, "-d", "f.yaml"]).unwrap(),
            ["decrypt", "--extract", r#"["a"]"#, "f.yaml"]
        );
    }

    #[test]
    fn legacy_forms_become_subcommands() {
        assert_eq!(t(&["-d", "f.yaml"]).unwrap(), ["decrypt", "f.yaml"]);
        assert_eq!(
            t(&["--decrypt", "--extract", r#"["a"]"#, "f.yaml"]).unwrap(),
            ["decrypt", "--extract", r#"["a"]"#, "f.yaml"]
        );
        assert_eq!(
            t(&["-e", "-i", "f.yaml"]).unwrap(),
            ["encrypt", "--in-place", "f.yaml"]
        );
        assert_eq!(
            t(&["-i", "-e", "f.yaml"]).unwrap(),
            ["encrypt", "--in-place", "f.yaml"]
        );
        assert_eq!(t(&["f.yaml"]).unwrap(), ["edit", "f.yaml"]);
        assert_eq!(t(&["-i", "f.yaml"]).unwrap(), ["edit", "f.yaml"]);
        assert_eq!(
            t(&["-r", "-i", "--add-age", "age1x", "f.yaml"]).unwrap(),
            ["rotate", "--in-place", "--add-age", "age1x", "f.yaml"]
        );
        assert_eq!(
            t(&["--set", r#"["a"]["b"] {"c": 1}"#, "f.yaml"]).unwrap(),
            ["set", "f.yaml", r#"["a"]["b"]"#, r#"{"c": 1}"#]
        );
        assert_eq!(
            t(&[r#"--set=["k"] "v w""#, "--ignore-mac", "f.yaml"]).unwrap(),
            ["set", "--ignore-mac", "f.yaml", r#"["k"]"#, r#""v w""#]
        );
        assert_eq!(
            t(&["--set", "nonsense", "f.yaml"]).unwrap_err(),
            "Invalid --set format"
        );
        assert_eq!(t(&["--set"]).unwrap_err(), "Invalid --set format");
    }

    #[test]
    fn new_forms_and_help_are_left_alone() {
        assert_eq!(t(&["decrypt", "-d"]).unwrap(), ["decrypt", "-d"]);
        assert_eq!(t(&["render"]).unwrap(), ["render"]);
        assert_eq!(t(&["--help"]).unwrap(), ["--help"]);
        assert_eq!(t(&["-V"]).unwrap(), ["-V"]);
        assert_eq!(t(&[]).unwrap(), Vec::<String>::new());
        // Global options before the subcommand or the help flag.
        assert_eq!(t(&["-q", "render"]).unwrap(), ["-q", "render"]);
        assert_eq!(
            t(&["--color", "never", "-v", "render"]).unwrap(),
            ["--color", "never", "-v", "render"]
        );
        assert_eq!(
            t(&["--color=always", "--help"]).unwrap(),
            ["--color=always", "--help"]
        );
        assert_eq!(t(&["-v"]).unwrap(), ["-v"]);
    }

    #[test]
    fn global_options_go_along_with_a_legacy_form() {
        assert_eq!(
            t(&["--verbose", "-d", "f.yaml"]).unwrap(),
            ["decrypt", "--verbose", "f.yaml"]
        );
        assert_eq!(t(&["-q", "f.yaml"]).unwrap(), ["edit", "-q", "f.yaml"]);
    }
}
