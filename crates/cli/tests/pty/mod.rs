//! A pseudo-terminal for tests: runs a command with its standard input, output and error on
//! the slave side of a fresh pty (so `is_terminal()` is true for all three), reads what it
//! writes from the master side and types answers into it. Every read has a deadline, so a
//! command that waits for input it will not get fails the test instead of hanging it.
//!
//! The terminal echoes what is typed and turns `\n` into `\r\n` on output, as a real one does;
//! [`Pty::expect`] and [`Pty::finish`] return the text with `\r\n` made `\n`.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long a test waits for psd to say something or to exit.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A command running on a pseudo-terminal.
pub struct Pty {
    child: Child,
    /// The master side, for typing.
    master: File,
    /// What a reader thread reads from the master side, chunk by chunk; disconnected when the
    /// slave side is closed by every process (the command exited).
    output: Receiver<Vec<u8>>,
    /// Everything read so far, `\r\n` made `\n`.
    seen: String,
    /// How much of `seen` [`Pty::expect`] has consumed.
    consumed: usize,
}

impl Pty {
    /// Starts `cmd` with standard input, output and error on a new pty. `cmd` is dropped once
    /// started, so that only the command holds the slave side.
    pub fn spawn(mut cmd: Command) -> Self {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        let child = cmd.spawn().expect("cannot start the command on the pty");
        drop(cmd);
        let master = File::from(pty.master);
        let mut reader = master.try_clone().unwrap();
        let (tx, output) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf) {
                    // Linux reports EIO once no process has the slave side open.
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self {
            child,
            master,
            output,
            seen: String::new(),
            consumed: 0,
        }
    }

    /// Reads one more chunk, waiting until `deadline`; `false` when there is no more (the
    /// command closed the terminal) or the deadline passed.
    fn read_more(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.output.recv_timeout(left) {
            Ok(chunk) => {
                self.seen
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                true
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }

    /// Waits (at most [`DEADLINE`]) until the command has written `needle` after what earlier
    /// calls consumed; returns the text up to and including it. Panics with everything seen
    /// when it does not come.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(i) = self.seen[self.consumed..].find(needle) {
                let end = self.consumed + i + needle.len();
                let text = self.seen[self.consumed..end].to_owned();
                self.consumed = end;
                return text;
            }
            if !self.read_more(deadline) {
                let _ = self.child.kill();
                panic!(
                    "`{needle}` did not come within {DEADLINE:?} (or the command ended); the \
                     terminal showed:\n{}",
                    self.seen
                );
            }
        }
    }

    /// Types `line` and Enter.
    pub fn answer(&mut self, line: &str) {
        self.send(format!("{line}\n").as_bytes());
    }

    /// Types `bytes` as they are (e.g. `b"\x04"`, Ctrl-D: end of input at a line's start).
    pub fn send(&mut self, bytes: &[u8]) {
        self.master
            .write_all(bytes)
            .and_then(|()| self.master.flush())
            .expect("cannot type into the pty");
    }

    /// Waits (at most [`DEADLINE`]) for the command to exit; returns its status and what it
    /// wrote after the last [`Pty::expect`]. Kills it and panics if it does not exit.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the command did not exit within {DEADLINE:?}; the terminal showed:\n{}",
                    self.seen
                );
            }
            // Reading also keeps the command from blocking on a full terminal buffer.
            if !self.read_more(Instant::now() + Duration::from_millis(50)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        // The rest of its output, until the terminal is closed (a short grace for the reader).
        let grace = Instant::now() + Duration::from_secs(5);
        while self.read_more(grace) {}
        (status, self.seen[self.consumed..].to_owned())
    }

    /// Everything the terminal showed so far.
    pub fn seen(&self) -> &str {
        &self.seen
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A test that panicked half-way leaves no command behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
