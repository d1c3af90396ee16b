//! Writing a result file the way `sops` does (`os.Create` on the named path), but atomically.
//!
//! sops opens the path it is given with `O_CREAT|O_TRUNC`, so a symbolic link is written
//! through to its target, an existing file keeps its mode and owner, a new file gets
//! `0666 & !umask`, and a FIFO or device (`--output /dev/stdout`) is simply written to. psd
//! keeps all of that and still never leaves a half-written regular file:
//!
//! * the path is resolved first: links are followed to the file that is really written (a
//!   dangling link to the file it names, which is then created), so the link survives;
//! * a regular file is replaced by a temporary file in the *target's* directory, created
//!   with `0600` (or the target's stricter mode) before any byte is written, given the final
//!   mode only when complete, and renamed over the target;
//! * anything else that exists (FIFO, character device) is opened and written in place.

use std::io::{self, Write as _};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use atomic_write_file::AtomicWriteFile;

/// How many symbolic links are followed before giving up (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What a write to a path lands on.
#[derive(Debug, PartialEq, Eq)]
enum Dest {
    /// A regular file (`mode`: the existing file's permission bits, `owner` its user and
    /// group; `None`: it is created).
    File {
        path: PathBuf,
        mode: Option<u32>,
        owner: Option<(u32, u32)>,
    },
    /// An existing FIFO, device or socket: written in place, as sops does.
    Special(PathBuf),
}

/// Writes `data` to `path` as sops would, atomically for regular files (module docs).
pub fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    match resolve(path)? {
        Dest::Special(p) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(p)?;
            f.write_all(data)?;
            f.flush()
        }
        Dest::File { path, mode, .. } => {
            let final_mode = mode.unwrap_or_else(|| 0o666 & !umask());
            let mut f = open_temporary(&path, mode)?;
            f.write_all(data)?;
            // Only now, with every byte in place, may the file be as open as the target.
            f.as_file()
                .set_permissions(std::fs::Permissions::from_mode(final_mode))?;
            f.commit()
        }
    }
}

// Many files are written as [`write_file`] writes each, with one flush to disk for all of
// them instead of two per file: every new file is written beside its target first ([`stage`],
// on any thread), the file systems are synced once, then each replaces its target (a rename)
// and each folder is synced once ([`commit`]). A file that cannot be written is reported in
// the result, the others still land.

/// A new file written beside its target by [`stage`], waiting for [`commit`] to flush it and
/// rename it over the target.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
}

/// The regular file a write to `path` replaces (a link resolved), if it is one.
pub fn target_of(path: &Path) -> Option<PathBuf> {
    match resolve(path) {
        Ok(Dest::File { path, .. }) => Some(path),
        _ => None,
    }
}

/// The first half of a batch write, for one file: `data` written (not flushed) to a
/// temporary file beside `path`'s target, with the target's mode and owner; `None` when
/// `path` is a FIFO or device, written in place at once. Files of one batch can be staged on
/// several threads; the temporary is removed again if writing it fails.
pub fn stage(path: &Path, data: &[u8]) -> io::Result<Option<Staged>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let Dest::File { path, mode, owner } = resolve(path)? else {
        write_file(path, data)?;
        return Ok(None);
    };
    let dir = folder_of(&path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".psd-tmp-{name}-{}", std::process::id()));
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode.map_or(0o600, |m| m & 0o600))
            .open(&tmp)
    };
    // A file of that name can only be left by an earlier process with this one's id.
    let mut f = match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&tmp)?;
            open()?
        }
        r => r?,
    };
    let written = (|| {
        f.write_all(data)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        let final_mode = mode.unwrap_or_else(|| 0o666 & !umask());
        f.set_permissions(std::fs::Permissions::from_mode(final_mode))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Some(Staged { tmp, target: path }))
}

/// The second half of a batch write: one flush of the file systems for all the staged
/// files, then each renamed over its target and each folder synced once. The results are in
/// the order of `staged` (an error of [`stage`] is passed through).
pub fn commit(staged: Vec<io::Result<Option<Staged>>>) -> Vec<io::Result<()>> {
    let mut dirs: Vec<PathBuf> = staged
        .iter()
        .filter_map(|s| match s {
            Ok(Some(s)) => Some(folder_of(&s.target).to_path_buf()),
            _ => None,
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    // One flush of every new file's content before any of them replaces its target.
    for d in &dirs {
        if let Ok(f) = std::fs::File::open(d) {
            let _ = nix::unistd::syncfs(&f);
        }
    }
    let results = staged
        .into_iter()
        .map(|s| match s? {
            None => Ok(()),
            Some(Staged { tmp, target }) => std::fs::rename(&tmp, &target).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            }),
        })
        .collect();
    for d in &dirs {
        if let Ok(f) = std::fs::File::open(d) {
            let _ = f.sync_all();
        }
    }
    results
}

/// Removes the `.psd-tmp-<name>-<pid>` files that a psd killed before it could rename them
/// left beside any of `files` (their process is gone). They hold only ciphertext, but are
/// litter. Each folder is read once, however many of `files` are in it.
pub fn remove_dead_temporaries(files: &[&Path]) {
    use std::collections::{BTreeMap, BTreeSet};
    use std::ffi::OsStr;
    let mut by_folder: BTreeMap<&Path, BTreeSet<&OsStr>> = BTreeMap::new();
    for f in files {
        if let Some(name) = f.file_name() {
            by_folder.entry(folder_of(f)).or_default().insert(name);
        }
    }
    for (dir, names) in by_folder {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let file = e.file_name();
            let Some((name, pid)) = file
                .to_str()
                .and_then(|f| f.strip_prefix(".psd-tmp-"))
                .and_then(|rest| rest.rsplit_once('-'))
            else {
                continue;
            };
            if names.contains(OsStr::new(name))
                && pid.parse::<u32>().is_ok()
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// The folder a file is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Takes an exclusive lock for a read-change-write of `path` (`psd set`, `unset`, `edit`,
/// `rotate -i`, `updatekeys`), so two changes of one file both land, one after the other.
///
/// The lock is on the file itself; as a write replaces the file with a new one, a waiter that
/// gets the lock checks that the path still names the file it locked, and locks the new one
/// if not. Hold the returned file until the new one is in place.
pub fn lock_for_update(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt as _;
    loop {
        let f = std::fs::File::open(path)?;
        f.lock()?;
        let locked = f.metadata()?;
        let now = std::fs::metadata(path)?;
        if (locked.dev(), locked.ino()) == (now.dev(), now.ino()) {
            return Ok(f);
        }
    }
}

/// The file a write to `path` really lands on (module docs).
fn resolve(path: &Path) -> io::Result<Dest> {
    use std::os::unix::fs::MetadataExt as _;
    // A regular file that is not a link is its own target (the common case: no need to
    // resolve every folder on the way).
    if let Ok(m) = std::fs::symlink_metadata(path)
        && m.is_file()
    {
        return Ok(Dest::File {
            path: path.to_path_buf(),
            mode: Some(m.permissions().mode() & 0o7777),
            owner: Some((m.uid(), m.gid())),
        });
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Dest::File {
            path: std::fs::canonicalize(path)?,
            mode: Some(m.permissions().mode() & 0o7777),
            owner: Some((m.uid(), m.gid())),
        }),
        Ok(m) if m.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Ok(m) if m.file_type().is_fifo() || m.file_type().is_char_device() => {
            Ok(Dest::Special(path.to_path_buf()))
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file, FIFO or character device",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Dest::File {
            path: follow_dangling(path)?,
            mode: None,
            owner: None,
        }),
        Err(e) => Err(e),
    }
}

/// The path a dangling chain of links ends at (or `path` itself when it is no link).
fn follow_dangling(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The temporary file for `path`, beside it: mode `0600`, or the target's mode if that is
/// stricter (the umask may narrow it further), from the moment it exists. The owner of an
/// existing target is copied where the system allows it (as root), as sops keeps it.
fn open_temporary(path: &Path, existing_mode: Option<u32>) -> io::Result<AtomicWriteFile> {
    let mut options = AtomicWriteFile::options();
    {
        use atomic_write_file::unix::OpenOptionsExt as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        // The crate would copy the target's mode right after creating the file: the final
        // mode is set by `write_file` once the content is complete instead.
        options
            .preserve_mode(false)
            .mode(existing_mode.map_or(0o600, |m| m & 0o600));
    }
    options.open(path)
}

/// The process umask (`Umask:` of `/proc/self/status`, Linux ≥ 4.7); `0o077` when it cannot
/// be read, so a new file is then private rather than too open.
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o077)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, symlink};

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o7777
    }

    fn set_mode(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn links_are_resolved_to_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        std::fs::create_dir(&real_dir).unwrap();
        let target = real_dir.join("t.yaml");
        std::fs::write(&target, b"old").unwrap();
        set_mode(&target, 0o640);
        // A relative link to a relative link.
        symlink("real/t.yaml", dir.path().join("l1")).unwrap();
        symlink("l1", dir.path().join("l2")).unwrap();
        let meta = std::fs::metadata(&target).unwrap();
        let want = Dest::File {
            path: std::fs::canonicalize(&target).unwrap(),
            mode: Some(0o640),
            owner: Some((meta.uid(), meta.gid())),
        };
        assert_eq!(resolve(&dir.path().join("l2")).unwrap(), want);
        assert_eq!(resolve(&target).unwrap(), want);

        // Dangling: the file the chain names.
        symlink("real/new.yaml", dir.path().join("d1")).unwrap();
        symlink("d1", dir.path().join("d2")).unwrap();
        assert_eq!(
            resolve(&dir.path().join("d2")).unwrap(),
            Dest::File {
                path: dir.path().join("real/new.yaml"),
                mode: None,
                owner: None,
            }
        );
        // A loop is an error, not a hang.
        symlink("loop2", dir.path().join("loop1")).unwrap();
        symlink("loop1", dir.path().join("loop2")).unwrap();
        assert!(resolve(&dir.path().join("loop1")).is_err());
        assert!(resolve(dir.path()).is_err());
    }

    #[test]
    fn temporary_file_is_private_from_creation() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("e");
        for (target_mode, want) in [
            (Some(0o644), 0o600),
            (Some(0o666), 0o600),
            (Some(0o640), 0o600),
            (Some(0o400), 0o400),
            (Some(0o000), 0o000),
            (None, 0o600),
        ] {
            let f = open_temporary(&existing, target_mode).unwrap();
            // Masked by the umask, never wider.
            let got = f.as_file().metadata().unwrap().mode() & 0o777;
            assert_eq!(got & !want, 0, "target {target_mode:?}: temp file {got:o}");
            assert_eq!(got, want & !umask(), "target {target_mode:?}");
            f.discard().unwrap();
        }
        assert!(!existing.exists());
    }

    #[test]
    fn write_keeps_mode_and_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"old").unwrap();
        set_mode(&target, 0o640);
        let link = dir.path().join("l");
        symlink("t", &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o640);

        // A new file: 0666 minus the umask, like os.Create.
        let fresh = dir.path().join("fresh");
        write_file(&fresh, b"x").unwrap();
        assert_eq!(mode(&fresh), 0o666 & !umask());

        // Nothing else is left in the directory.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["fresh", "l", "t"]);
    }

    #[test]
    fn umask_matches_the_kernel() {
        // Independent judge: a file created with 0777 gets exactly 0777 & !umask.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("probe");
        std::fs::DirBuilder::new().create(&p).unwrap();
        assert_eq!(mode(&p) & 0o777, 0o777 & !umask());
    }
}
