//! What psd says on the terminal besides results: the global `-q/--quiet`, `-v/--verbose` and
//! `--color` settings every subcommand consults, and the progress bar on stderr.
//!
//! The settings are parsed once ([`GlobalArgs`], flattened into the top-level command with
//! `global = true`, so they are accepted before or after the subcommand) and stored with
//! [`init`]; subcommands read them through [`quiet`], [`verbose`] and [`color_stdout`], and print
//! through [`note!`](crate::note) (information, silenced by `--quiet`) and
//! [`verbose!`](crate::verbose) (what psd did, only with `--verbose`). Errors and warnings are
//! printed whatever the setting. Coloured results go through [`paint`].
//!
//! Colour (`--color auto`): `CLICOLOR_FORCE` (set, not `0`) forces it, `NO_COLOR` (set, not
//! empty) turns it off, else the stream must be a terminal. `--color always|never` and
//! `--no-color` win over the environment.
//!
//! The progress bar ([`Progress`]) is drawn only when stderr is a terminal, `--quiet` is not
//! given and the operation is over many files; library crates report progress through a
//! callback and never draw themselves.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// When to colour output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When the output is a terminal and `NO_COLOR` is unset (`CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always, whatever the output and the environment.
    Always,
    /// Never.
    Never,
}

/// How much psd says besides results and errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Only results, warnings and errors: no notes, no progress bar.
    Quiet,
    /// Results, notes, warnings, errors, progress on a terminal.
    #[default]
    Normal,
    /// Also what psd did: files read and written, key sources tried.
    Verbose,
}

/// The heading of the global options in every `--help`.
const GLOBAL: &str = "Global options";

/// The options every subcommand takes (`psd -q render`, `psd render -q`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct GlobalArgs {
    /// Print only results, warnings and errors (no notes, no progress bar).
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// Also print what psd does: files read and written, key sources tried (never key
    /// material or secret values).
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    /// When to colour output: auto (a terminal, NO_COLOR unset; CLICOLOR_FORCE forces it),
    /// always, never.
    #[arg(
        long,
        value_name = "WHEN",
        global = true,
        default_value = "auto",
        help_heading = GLOBAL
    )]
    pub color: ColorChoice,
    /// Same as --color never.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_color: bool,
}

#[derive(Debug, Default)]
struct Settings {
    verbosity: Verbosity,
    color: ColorChoice,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Stores the global settings (once, before the subcommand runs).
pub fn init(args: &GlobalArgs) {
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let color = if args.no_color {
        ColorChoice::Never
    } else {
        args.color
    };
    let _ = SETTINGS.set(Settings { verbosity, color });
}

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// `--quiet` was given.
pub fn quiet() -> bool {
    settings().verbosity == Verbosity::Quiet
}

/// `--verbose` was given.
pub fn verbose() -> bool {
    settings().verbosity == Verbosity::Verbose
}

/// Whether standard output is coloured (module docs for the rules).
pub fn color_stdout() -> bool {
    resolve_color(
        settings().color,
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
    )
}

/// How [`paint`] marks a piece of output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// The first line of a block of results (bold).
    Heading,
}

impl Style {
    /// The SGR parameters of the style.
    fn sgr(self) -> &'static str {
        match self {
            Self::Heading => "1",
        }
    }
}

/// `text` in `style` when standard output is coloured ([`color_stdout`]), else unchanged. For
/// text printed on standard output; `text` must be one line.
pub fn paint(text: &str, style: Style) -> String {
    paint_if(color_stdout(), text, style)
}

/// [`paint`] with the colour decision given.
fn paint_if(on: bool, text: &str, style: Style) -> String {
    if on {
        format!("\x1b[{}m{text}\x1b[0m", style.sgr())
    } else {
        text.to_owned()
    }
}

/// The colour rule without the process around it.
fn resolve_color(
    choice: ColorChoice,
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    clicolor_force: Option<&std::ffi::OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                terminal
            }
        }
    }
}

/// Prints an informational line on stderr unless `--quiet` (and clears a progress bar first).
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::ui::quiet() {
            $crate::ui::eprint_line(&format!($($arg)*));
        }
    };
}

/// Prints what psd did on stderr, only with `--verbose`. Never pass key material or values.
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::ui::verbose() {
            $crate::ui::eprint_line(&format!($($arg)*));
        }
    };
}

/// Writes one line to stderr, above the progress bar if one is drawn.
pub fn eprint_line(line: &str) {
    let bar = ACTIVE.lock().ok();
    let mut err = std::io::stderr().lock();
    if bar.as_ref().is_some_and(|b| b.is_some()) {
        let _ = write!(err, "\r\x1b[2K");
    }
    let _ = writeln!(err, "{line}");
}

// ---------------------------------------------------------------------------------------------
// Progress

/// Operations over fewer files than this draw no bar (they are over before it could be read).
pub const MIN_FILES: usize = 16;

/// How often the bar is redrawn at most.
const REDRAW: Duration = Duration::from_millis(50);

/// Width of the bar itself, in cells.
const BAR_WIDTH: usize = 30;

/// The bar being drawn (label, last drawn), so that a note clears it before printing.
static ACTIVE: Mutex<Option<Bar>> = Mutex::new(None);

#[derive(Debug)]
struct Bar {
    label: String,
    last: Option<Instant>,
}

/// A progress bar on stderr over `total` steps, drawn only when [`Progress::enabled`]; safe to
/// advance from several threads. Cleared when dropped.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: AtomicUsize,
    enabled: bool,
}

impl Progress {
    /// A bar labelled `label` over `total` steps: drawn when stderr is a terminal, `--quiet`
    /// is not given and `total` is at least [`MIN_FILES`].
    pub fn new(label: &str, total: usize) -> Self {
        let enabled = !quiet() && total >= MIN_FILES && std::io::stderr().is_terminal();
        if enabled && let Ok(mut a) = ACTIVE.lock() {
            *a = Some(Bar {
                label: label.to_owned(),
                last: None,
            });
        }
        let p = Self {
            total,
            done: AtomicUsize::new(0),
            enabled,
        };
        p.draw(0, true);
        p
    }

    /// One more step done.
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.draw(done, done == self.total);
    }

    /// `done` steps done.
    pub fn set(&self, done: usize) {
        self.done.store(done, Ordering::Relaxed);
        self.draw(done, done == self.total);
    }

    fn draw(&self, done: usize, force: bool) {
        if !self.enabled {
            return;
        }
        let Ok(mut active) = ACTIVE.lock() else {
            return;
        };
        let Some(bar) = active.as_mut() else { return };
        let now = Instant::now();
        if !force && bar.last.is_some_and(|t| now.duration_since(t) < REDRAW) {
            return;
        }
        bar.last = Some(now);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", bar_line(&bar.label, done, self.total));
        let _ = err.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if !self.enabled {
            return;
        }
        if let Ok(mut a) = ACTIVE.lock() {
            *a = None;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// One frame of the bar: `label [#####·····] done/total`.
pub fn bar_line(label: &str, done: usize, total: usize) -> String {
    let done = done.min(total);
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(BAR_WIDTH);
    format!(
        "{label} [{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled)
    )
}

/// The bar [`report`] draws.
static CURRENT: Mutex<Option<Progress>> = Mutex::new(None);

/// The label of the next bar [`report`] draws.
static NEXT_LABEL: Mutex<String> = Mutex::new(String::new());

/// The progress callback library crates take (`fn(done, total)`): one bar, created at the
/// first call with the label set by [`label_next`], cleared when `done == total` (or by
/// [`finish_report`] when the operation stopped early).
pub fn report(done: usize, total: usize) {
    let Ok(mut current) = CURRENT.lock() else {
        return;
    };
    if current.as_ref().is_none_or(|p| p.total != total) {
        let label = NEXT_LABEL.lock().map(|l| l.clone()).unwrap_or_default();
        *current = None;
        *current = Some(Progress::new(&label, total));
    }
    if let Some(p) = current.as_ref() {
        p.set(done);
    }
    if done >= total {
        *current = None;
    }
}

/// The label of the next bar [`report`] draws.
pub fn label_next(label: &str) {
    if let Ok(mut l) = NEXT_LABEL.lock() {
        label.clone_into(&mut l);
    }
}

/// Clears the bar of [`report`], if one is still drawn (an operation that failed half-way).
pub fn finish_report() {
    if let Ok(mut current) = CURRENT.lock() {
        *current = None;
    }
}

/// With `--verbose`: where `command` looked for age private keys and what it found there
/// (source names and paths only, never key material).
pub fn keys_tried(command: &str, ids: &psd_sops::Identities) {
    if !verbose() {
        return;
    }
    for l in ids.locations() {
        eprint_line(&format!("psd {command}: age keys read from {l}"));
    }
    for l in ids.unused_locations() {
        eprint_line(&format!("psd {command}: no age key in {l}"));
    }
    for e in ids.source_errors().iter().chain(ids.unsupported()) {
        eprint_line(&format!(
            "psd {command}: key source {}: {}",
            e.source_name, e.reason
        ));
    }
    eprint_line(&format!(
        "psd {command}: {} usable age identit{}",
        ids.len(),
        if ids.len() == 1 { "y" } else { "ies" }
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_rule() {
        use ColorChoice::*;
        let yes = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let zero = Some(OsStr::new("0"));
        // auto follows the terminal,
        assert!(resolve_color(Auto, true, None, None));
        assert!(!resolve_color(Auto, false, None, None));
        // NO_COLOR (non-empty) turns it off, even over CLICOLOR_FORCE; empty means unset,
        assert!(!resolve_color(Auto, true, yes, None));
        assert!(!resolve_color(Auto, true, yes, yes));
        assert!(resolve_color(Auto, true, empty, None));
        // CLICOLOR_FORCE (not 0) forces it without a terminal,
        assert!(resolve_color(Auto, false, None, yes));
        assert!(!resolve_color(Auto, false, None, zero));
        // and the flags win over everything.
        assert!(resolve_color(Always, false, yes, None));
        assert!(!resolve_color(Never, true, None, yes));
    }

    #[test]
    fn paint_marks_only_when_on() {
        assert_eq!(
            paint_if(true, "PostgreSQL", Style::Heading),
            "\x1b[1mPostgreSQL\x1b[0m"
        );
        assert_eq!(paint_if(false, "PostgreSQL", Style::Heading), "PostgreSQL");
    }

    #[test]
    fn bar_frames() {
        assert_eq!(
            bar_line("render", 0, 60),
            format!("render [{}] 0/60", "-".repeat(30))
        );
        assert_eq!(
            bar_line("render", 30, 60),
            format!("render [{}{}] 30/60", "#".repeat(15), "-".repeat(15))
        );
        assert_eq!(
            bar_line("x", 61, 60),
            format!("x [{}] 60/60", "#".repeat(30))
        );
        assert_eq!(bar_line("x", 0, 0), format!("x [{}] 0/0", "#".repeat(30)));
    }

    #[test]
    fn no_bar_when_stderr_is_not_a_terminal_or_few_files() {
        // The test harness captures stderr (not a terminal) or runs under a pipe in CI.
        if !std::io::stderr().is_terminal() {
            assert!(!Progress::new("x", 1000).enabled);
        }
        assert!(!Progress::new("x", MIN_FILES - 1).enabled);
    }
}
