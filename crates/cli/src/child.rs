//! Running a command while psd holds plaintext on disk (the FIFO or private file of
//! `exec-file`, the file `edit` opens): psd must outlive the command and remove it.
//!
//! A [`Guard`] blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT in psd and takes them on a thread of
//! its own: while a command runs, a signal sent to psd alone is passed on to it (Ctrl-C reaches
//! it directly, as it is in psd's process group); while none runs (e.g. `edit` waiting for
//! Enter), the guard removes the private folder and psd exits (128 + signal). Commands are
//! started with `posix_spawn`, none of those signals blocked and default handlers (SIGPIPE
//! too), so they behave as if started from the shell. SIGKILL cannot be caught: a private file
//! then stays in its 0700 folder (a FIFO never holds data).

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// The signals a guard takes over.
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

#[derive(Default)]
struct State {
    /// The command running now.
    child: Option<Pid>,
    /// The private folder to remove if psd is stopped.
    folder: Option<PathBuf>,
}

/// Keeps psd alive, and its private folder cleaned up, whatever signal comes (module docs).
pub struct Guard {
    state: Arc<Mutex<State>>,
    deferred: SigSet,
}

impl Guard {
    /// Blocks the signals and starts the thread that takes them.
    pub fn new() -> Result<Self, String> {
        let mut deferred = SigSet::empty();
        for s in DEFERRED {
            deferred.add(s);
        }
        deferred
            .thread_block()
            .map_err(|e| format!("cannot block signals: {e}"))?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            while let Ok(sig) = deferred.wait() {
                let Ok(s) = shared.lock() else { break };
                match s.child {
                    Some(pid) => {
                        let _ = nix::sys::signal::kill(pid, sig);
                    }
                    None => {
                        if let Some(folder) = &s.folder {
                            let _ = std::fs::remove_dir_all(folder);
                        }
                        std::process::exit(128 + sig as i32);
                    }
                }
            }
        });
        Ok(Self { state, deferred })
    }

    /// Removes `folder` if psd is stopped by a signal before it does so itself.
    pub fn protect(&self, folder: PathBuf) {
        if let Ok(mut s) = self.state.lock() {
            s.folder = Some(folder);
        }
    }

    /// Runs `/bin/sh -c command` with exactly `env`.
    pub fn run_shell(&self, command: &str, env: &[(OsString, OsString)]) -> Result<Ended, String> {
        let argv = [
            OsString::from("/bin/sh"),
            OsString::from("-c"),
            OsString::from(command),
        ];
        self.run(&argv, env)
    }

    /// Runs `argv` (the program found on `PATH` as a shell would) with exactly `env`.
    pub fn run(&self, argv: &[OsString], env: &[(OsString, OsString)]) -> Result<Ended, String> {
        let program = argv.first().ok_or("no command given")?;
        let args = argv
            .iter()
            .map(|a| c_string(a))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone();
                kv.push("=");
                kv.push(v);
                c_string(&kv)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut reset = self.deferred;
        reset.add(Signal::SIGPIPE);
        let mut attr = PosixSpawnAttr::init().map_err(|e| e.to_string())?;
        attr.set_sigmask(&SigSet::empty())
            .and_then(|()| attr.set_sigdefault(&reset))
            .and_then(|()| {
                attr.set_flags(
                    PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
                        | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
                )
            })
            .map_err(|e| format!("cannot prepare the command: {e}"))?;
        let actions = PosixSpawnFileActions::init().map_err(|e| e.to_string())?;
        let name = c_string(program)?;
        // The lock is held from the spawn until the pid is recorded: a signal in between is
        // passed on, not taken for psd's own.
        let mut state = self.state.lock().map_err(|_| "internal lock poisoned")?;
        let pid = posix_spawnp(&name, &actions, &attr, &args, &envp)
            .map_err(|e| format!("cannot run {}: {e}", program.to_string_lossy()))?;
        state.child = Some(pid);
        drop(state);
        let ended = loop {
            match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, code)) => break Ok(Ended::Code(code)),
                Ok(WaitStatus::Signaled(_, sig, _)) => break Ok(Ended::Signal(sig as i32)),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => break Err(format!("waiting for the command: {e}")),
            }
        };
        if let Ok(mut s) = self.state.lock() {
            s.child = None;
        }
        ended
    }
}

fn c_string(s: &OsStr) -> Result<CString, String> {
    CString::new(s.as_bytes()).map_err(|_| "an argument or variable holds a NUL byte".to_owned())
}

/// The environment psd runs with, as pairs.
pub fn current_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}
