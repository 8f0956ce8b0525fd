//! Where a video goes: a file (written as a temporary beside it and renamed into place, see
//! [`crate::output`]), or memory.

use crate::encode::gif::GifSink;
use crate::mux::mp4::Mp4Sink;
use crate::output::TempFile;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

/// Where the video goes.
pub(crate) enum Sink {
    /// A temporary beside the output, renamed over it ([`Sink::place`]) once it holds a frame a
    /// reader finds; `durable`: sync before renaming and the folder after.
    File {
        file: TempFile,
        durable: bool,
    },
    Memory(Cursor<Vec<u8>>),
}

impl Sink {
    /// Put the file in place of the output, if not yet done: the frames written so far are
    /// then what a reader of the output finds. Nothing for memory.
    pub(crate) fn place(&mut self) -> io::Result<()> {
        match self {
            Sink::File { file, durable } => file.place(*durable),
            Sink::Memory(_) => Ok(()),
        }
    }

    /// Whether the output's name names this file (or it is memory).
    pub(crate) fn is_placed(&self) -> bool {
        match self {
            Sink::File { file, .. } => file.is_placed(),
            Sink::Memory(_) => true,
        }
    }

    /// The file's size, or the bytes in memory.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Sink::File { file, .. } => file.file().metadata().map_or(0, |m| m.len()),
            Sink::Memory(c) => c.get_ref().len() as u64,
        }
    }

    /// Remove a placed file that holds no frame (its temporary goes when dropped anyway).
    pub(crate) fn remove_placed(&mut self) {
        if let Sink::File { file, .. } = self {
            file.remove_placed();
        }
    }
}

impl Read for Sink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sink::File { file, .. } => file.read(buf),
            Sink::Memory(c) => c.read(buf),
        }
    }
}
impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File { file, .. } => file.write(buf),
            Sink::Memory(c) => c.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File { file, .. } => file.flush(),
            Sink::Memory(c) => c.flush(),
        }
    }
}
impl Seek for Sink {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Sink::File { file, .. } => file.seek(pos),
            Sink::Memory(c) => c.seek(pos),
        }
    }
}
impl GifSink for Sink {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        match self {
            Sink::File { file, .. } => GifSink::truncate(file.file_mut(), len),
            Sink::Memory(c) => GifSink::truncate(c, len),
        }
    }
}
impl Mp4Sink for Sink {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        match self {
            Sink::File { file, .. } => Mp4Sink::set_len(file.file_mut(), len),
            Sink::Memory(c) => Mp4Sink::set_len(c, len),
        }
    }
    fn sync(&mut self) -> io::Result<()> {
        match self {
            Sink::File { file, .. } => file.file_mut().sync(),
            Sink::Memory(c) => c.sync(),
        }
    }
    /// A file is finished beside itself (a new temporary for the same output); memory in place.
    fn replacement(&mut self) -> io::Result<Option<Sink>> {
        match self {
            Sink::File { file, durable } => {
                Ok(Some(Sink::File { file: TempFile::create(file.target())?, durable: *durable }))
            }
            Sink::Memory(_) => Ok(None),
        }
    }
    /// File to file, the kernel copies (`copy_file_range`, through `std::io::copy`): no pass
    /// through the buffer.
    fn copy_to(&mut self, at: u64, len: u64, to: &mut Sink, buf: &mut [u8]) -> io::Result<()> {
        match (self, to) {
            (Sink::File { file: from, .. }, Sink::File { file: to, .. }) => {
                let mut src = from.file();
                src.seek(SeekFrom::Start(at))?;
                let copied = io::copy(&mut src.take(len), &mut to.file())?;
                if copied < len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the output ended {} bytes early while copying it", len - copied),
                    ));
                }
                Ok(())
            }
            (from, to) => crate::mux::mp4::writer::copy_through(from, at, len, to, buf),
        }
    }
    fn replace_with(&mut self, mut new: Sink, durable: bool) -> io::Result<()> {
        if let (Sink::File { .. }, Sink::File { file, .. }) = (&*self, &mut new) {
            file.place(durable)?;
            // The old file goes: a temporary is removed, a placed one was just replaced. Closing
            // the last descriptor of a replaced file frees its blocks (about 0.03 s per 100 MB on
            // ext4), which need not hold up the caller: a thread of its own closes it (or this
            // one, if no thread can be made). Its name is gone already, and its lock guards
            // nothing once it is out of place.
            let mut old = std::mem::replace(self, new);
            if let Sink::File { file, .. } = &mut old {
                file.remove_temporary(); // its name goes now, the descriptor in the thread
            }
            // (A failed spawn drops the closure, and with it the old file, here.)
            let _ = std::thread::Builder::new().name("framepipe-close".into()).spawn(move || drop(old));
            return Ok(());
        }
        Err(io::Error::other("an MP4 in memory has no replacement"))
    }
}
