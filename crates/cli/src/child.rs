//! Running a command while psd holds plaintext on disk (a FIFO or private file of
//! `exec-file`, the file `edit` opens): psd must outlive the command to remove it.
//!
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in psd while the command runs, and the
//! command is started (`posix_spawn`) with none blocked and default handlers, so Ctrl-C stops
//! the command as usual while psd waits, cleans up, and exits with the command's code. One of
//! them sent to psd alone is passed on to the command. (SIGKILL cannot be deferred: a plain
//! file of `exec-file --no-fifo` then stays in its 0700 folder; the FIFO never holds data.)

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;

use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitStatus, waitpid};

/// The signals psd defers while a command runs.
const DEFERRED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl Ended {
    /// The exit code sops uses for it: the command's own, or 255 (Go's `-1`) for a signal.
    pub fn sops_code(self) -> i32 {
        match self {
            Ended::Code(c) => c,
            Ended::Signal(_) => 255,
        }
    }
}

fn c_string(s: &OsStr) -> Result<CString, String> {
    CString::new(s.as_bytes()).map_err(|_| "an argument or variable holds a NUL byte".to_owned())
}

/// Runs `/bin/sh -c command` with exactly `env`, psd's deferred signals blocked until it ends.
pub fn run_shell(command: &str, env: &[(OsString, OsString)]) -> Result<Ended, String> {
    let mut deferred = SigSet::empty();
    for s in DEFERRED {
        deferred.add(s);
    }
    deferred
        .thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    let args = [
        CString::from(c"/bin/sh"),
        CString::from(c"-c"),
        c_string(OsStr::new(command))?,
    ];
    let envp = env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            c_string(&kv)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The command also gets SIGPIPE back (Rust programs ignore it), so `cat {} | head` works.
    let mut reset = deferred;
    reset.add(Signal::SIGPIPE);
    let mut attr = PosixSpawnAttr::init().map_err(|e| e.to_string())?;
    attr.set_sigmask(&SigSet::empty())
        .and_then(|()| attr.set_sigdefault(&reset))
        .and_then(|()| {
            attr.set_flags(
                PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
            )
        })
        .map_err(|e| format!("cannot prepare the command: {e}"))?;
    let actions = PosixSpawnFileActions::init().map_err(|e| e.to_string())?;
    let pid = posix_spawn(c"/bin/sh", &actions, &attr, &args, &envp)
        .map_err(|e| format!("cannot run /bin/sh: {e}"))?;
    // A deferred signal sent to psd alone (`kill PID`) is passed on to the command, so it
    // stops as it would have without psd in between; psd then cleans up.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forwarding = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        while let Ok(sig) = deferred.wait() {
            if forwarding.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let _ = nix::sys::signal::kill(pid, sig);
        }
    });
    let ended = loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => break Ok(Ended::Code(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => break Ok(Ended::Signal(sig as i32)),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => break Err(format!("waiting for the command: {e}")),
        }
    };
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    ended
}

/// The environment psd runs with, as pairs.
pub fn current_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}
