//! Writing a file without destroying another: temporaries beside the output, renamed into place.
//!
//! Every framepipe operation that writes a file (the [`crate::VideoWriter`], finishing an MP4,
//! [`crate::mux::mp4::repair`]) follows these rules, so that no file it was not asked to replace
//! is ever truncated, overwritten or deleted, whatever names point at it:
//!
//! - **Same file** means the same device and inode ([`FileId`]), never equal path strings: an
//!   output named `./a.mp4`, through a symlink or through a hard link is the same file as `a.mp4`.
//! - **Output goes to a temporary** in the output's own folder (so the final rename is atomic and
//!   never crosses a file system), named `.{name}.{id}.fp-tmp`: `{name}` is the output's file
//!   name (its first [`MAX_STEM`] bytes) and `{id}` anything without a `/` (here: the process id,
//!   a counter and the time). It is renamed over the output when it holds something worth
//!   keeping; an existing file is never truncated or written into, so another hard link to the
//!   old output keeps its bytes, and an output that is also an input is never emptied.
//! - **The owner locks its temporary**: an exclusive `flock(2)` lock (Python:
//!   `fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)`; not `fcntl`/`lockf` record locks, which
//!   are another kind), taken right after creating the file and held until the temporary is
//!   renamed into place or removed. The kernel drops the lock when the owner dies, even by
//!   SIGKILL. After locking, the creator checks that the name still names its file (a sweep may
//!   have removed it between the creation and the lock) and otherwise starts again with another
//!   name.
//! - **Every run that writes an output first sweeps** that output's folder ([`sweep`]): a
//!   `.{name}.*.fp-tmp` (or `..{name}.*.fp-tmp`, a temporary of a writer whose output was one
//!   of those: Python's `render` writes through this engine into its own temporary) whose lock
//!   can be taken belongs to a process that died, and is removed
//!   (after checking, with the lock held, that the name still names the locked file: its owner
//!   may have renamed it into place meanwhile). A temporary whose lock is held belongs to a live
//!   writer and is left alone.
//!
//! - **A lock is handed over, never let go, before the rename into place**: a caller whose
//!   output is itself a temporary takes over the lock of the file the writer renamed over it
//!   ([`crate::VideoWriter::finish_holding_lock`]) and holds it until its own rename.
//!
//! Python's `framepipe.render` writes its outputs by the same convention (with `fcntl.flock`),
//! so that a run of either sweeps what a killed run of the other left.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Suffix of every temporary framepipe writes.
pub const TEMP_SUFFIX: &str = ".fp-tmp";
/// At most this many bytes of the output's file name go into a temporary's name (file names
/// have at most 255 bytes, and the temporary adds a dot, an id and the suffix).
pub const MAX_STEM: usize = 200;

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }

    /// The identity of the file `path` names (symlinks followed), or None if there is none.
    pub fn of_path(path: &Path) -> io::Result<Option<FileId>> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(FileId::of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether `a` and `b` name the same existing file (device and inode, symlinks followed).
#[cfg(test)]
pub fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    Ok(match (FileId::of_path(a)?, FileId::of_path(b)?) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    })
}

/// The path a write to `path` replaces: `path` itself, or, when `path` is a symlink to an
/// existing file, that file (so writing "through" a symlink updates the file it points to, as
/// opening it would, instead of replacing the link). A dangling symlink is replaced itself.
pub fn resolve_target(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// The folder `path` is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// `.{name}.`: how the temporaries of `target` begin.
fn temp_prefix(target: &Path) -> OsString {
    let name = target.file_name().unwrap_or(OsStr::new("output")).as_bytes();
    let mut stem = name[..name.len().min(MAX_STEM)].to_vec();
    stem.insert(0, b'.');
    stem.push(b'.');
    OsString::from_vec(stem)
}

/// Remove the temporaries of `target` left by processes that died (see the module
/// documentation); best effort, errors are ignored. Returns the paths removed.
pub fn sweep(target: &Path) -> Vec<PathBuf> {
    let prefix = temp_prefix(target);
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder_of(target)) else { return removed };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let bytes = name.as_bytes();
        // `.{name}.*` or, what a writer of one of those left, `..{name}.*`.
        let nested = bytes.first() == Some(&b'.') && bytes[1..].starts_with(prefix.as_bytes());
        if !(bytes.starts_with(prefix.as_bytes()) || nested)
            || !bytes.ends_with(TEMP_SUFFIX.as_bytes())
            || bytes.len() <= prefix.len() + usize::from(nested) + TEMP_SUFFIX.len()
        {
            continue;
        }
        // Only a regular file of that name is ours (a symlink is not followed: the check after
        // the lock compares the locked file with what the name itself is).
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else { continue };
        if file.try_lock().is_err() {
            continue; // a live writer's
        }
        let (Ok(held), Ok(named)) = (file.metadata(), std::fs::symlink_metadata(&path)) else { continue };
        if held.is_file() && FileId::of(&held) == FileId::of(&named) && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
        // The lock goes with `file`.
    }
    removed
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A locked temporary beside an output, renamed over the output by [`place`](Self::place);
/// removed when dropped before that. Reads, writes and seeks go to the file.
#[derive(Debug)]
pub struct TempFile {
    file: File,
    /// Where the file is now: the temporary's name, or the target once placed.
    path: PathBuf,
    target: PathBuf,
    id: FileId,
    placed: bool,
}

impl TempFile {
    /// Create a new temporary (readable and writable) beside `target`, which must be the path
    /// to replace (see [`resolve_target`]). When `target` is an existing regular file, the
    /// temporary gets its permission bits, so that replacing it keeps them.
    pub fn create(target: &Path) -> io::Result<TempFile> {
        let dir = folder_of(target);
        let prefix = temp_prefix(target);
        let mode = std::fs::metadata(target).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode() & 0o777);
        let mut last_error = None;
        for _ in 0..16 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut name = prefix.clone();
            name.push(format!("{}-{n}-{nanos:08x}{TEMP_SUFFIX}", std::process::id()));
            let path = dir.join(&name);
            let file = match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Lock at once; then make sure no sweep removed the file before the lock was taken.
            if file.try_lock().is_err() {
                last_error = Some(io::Error::other("a new temporary was locked by another process"));
                continue;
            }
            let id = FileId::of(&file.metadata()?);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if FileId::of(&m) == id => {}
                _ => {
                    last_error = Some(io::Error::other("a new temporary was removed by another process"));
                    continue;
                }
            }
            if let Some(mode) = mode {
                let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
            }
            return Ok(TempFile { file, path, target: target.to_path_buf(), id, placed: false });
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("cannot make a temporary file")))
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The open file, for writing.
    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Where the file is now: the temporary, or the target once placed.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path this temporary replaces.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether the file has been renamed into place.
    pub fn is_placed(&self) -> bool {
        self.placed
    }

    /// Rename the temporary over the target (atomically: the target names the old file or this
    /// one, never neither); with `durable`, sync the file first and the folder after, so that the
    /// rename survives a power loss. Does nothing once placed.
    pub fn place(&mut self, durable: bool) -> io::Result<()> {
        if self.placed {
            return Ok(());
        }
        if durable {
            self.file.sync_all()?;
        }
        replace(&self.path, &self.target)?;
        self.placed = true;
        self.path = self.target.clone();
        if durable {
            sync_folder(folder_of(&self.target));
        }
        Ok(())
    }

    /// Remove the file if it is in place and its name still names it (a writer that could not
    /// keep a single frame); the temporary is removed when dropped anyway.
    pub fn remove_placed(&mut self) {
        if self.placed && self.names_self() && std::fs::remove_file(&self.path).is_ok() {
            self.placed = false;
        }
    }

    /// Remove the temporary's name now, if it was never placed (as dropping it does), so that
    /// only the open file is left for the drop to close.
    pub fn remove_temporary(&mut self) {
        if !self.placed && self.names_self() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn names_self(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok_and(|m| FileId::of(&m) == self.id)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed && self.names_self() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Read for TempFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for TempFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Put the file at `from` in place of `to`, atomically: `to` names the old file or the new one,
/// never neither.
///
/// Where the file system can, the two names are exchanged (`renameat2(RENAME_EXCHANGE)`), then
/// the old file, now at `from`, is removed. That is what `rename(2)` does, without ext4's
/// "replace by rename" heuristic, which starts writing back the whole new file inside a rename
/// over an existing one (about 0.1 s for 100 MB, measured: bench/RESULTS.md); a caller that wants
/// the file on the disk syncs it itself (`durable`). Where exchanging is not possible (`to` does
/// not exist, or a file system without it), a plain rename. A folder that appeared at `to` is
/// swapped back and refused, as rename refuses to replace one. The old file's removal is best
/// effort: if it fails, the old file stays under the temporary's name, which a later sweep
/// removes once no writer holds its lock.
fn replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::EXCHANGE) {
        Ok(()) => {
            if std::fs::symlink_metadata(from).is_ok_and(|m| m.is_dir()) {
                renameat_with(CWD, from, CWD, to, RenameFlags::EXCHANGE)?;
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!("{} is a folder; a file cannot replace it", to.display()),
                ));
            }
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        Err(e) if [Errno::NOENT, Errno::INVAL, Errno::NOSYS, Errno::NOTSUP, Errno::PERM].contains(&e) => {
            std::fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// Sync a folder, so that a rename or a new entry in it survives a power loss (best effort: not
/// every file system can sync a folder).
pub fn sync_folder(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests;
