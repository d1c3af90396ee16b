//! sops's top-level forms, still accepted by sops 3.x and used by scripts and docs everywhere:
//! `psd -d FILE`, `psd -e -i FILE`, `psd FILE` and `psd -i FILE` (edit), `psd -r -i --add-age
//! R FILE`, `psd --set '["k"] "v"' FILE`, `psd -d --extract '["k"]' FILE`. Each is rewritten to
//! the subcommand that does the same (`decrypt`, `encrypt`, `edit`, `rotate`, `set`) before the
//! arguments are parsed, so both forms behave identically.

use std::ffi::OsString;

/// What the first argument must not be for the arguments to be a legacy form.
const NOT_LEGACY: [&str; 4] = ["-h", "--help", "-V", "--version"];

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
/// command line new-style. `Err` is sops's message for a `--set` it cannot split.
pub fn translate(argv: Vec<OsString>, subcommands: &[String]) -> Result<Vec<OsString>, String> {
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
                        .ok_or("Invalid --set format")?
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
            None => return Err("Invalid --set format".into()),
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
        translate(argv, &subs).map(|v| {
            v.into_iter()
                .skip(1)
                .map(|a| a.into_string().unwrap())
                .collect()
        })
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
