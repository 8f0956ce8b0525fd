//! Where an MP4 goes: the [`Mp4Sink`] trait, its implementations for files, temporaries, memory
//! and references, and [`copy_through`] (finish's copy when the sink has no faster one).

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

/// Where an MP4 goes: readable (finish reads the fragments back), writable, seekable, and able
/// to change its length (to cut off a torn fragment, and the fragment headers at finish).
pub trait Mp4Sink: Read + Write + Seek {
    /// Truncate or extend (with zeros) to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Make what was written durable (fsync); a no-op where that means nothing.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// For [`Mp4Writer::finish`]: a new, empty output beside this one, for the finished file,
    /// which [`replace_with`](Self::replace_with) then puts in this one's place. The fragmented
    /// file stays untouched until then, so a process killed while finishing keeps it. `None`
    /// (the default, e.g. for memory): finish rewrites this output in place.
    fn replacement(&mut self) -> io::Result<Option<Self>>
    where
        Self: Sized,
    {
        Ok(None)
    }
    /// Append `len` bytes of this output, from offset `at`, to `to` (a replacement), through
    /// `buf` (scratch, not empty). A file can do without the buffer: see the pipeline's sink.
    fn copy_to(&mut self, at: u64, len: u64, to: &mut Self, buf: &mut [u8]) -> io::Result<()>
    where
        Self: Sized,
    {
        copy_through(self, at, len, to, buf)
    }
    /// Put `new` (complete, flushed, and synced when `durable`) in this output's place, and go on
    /// as `new` (for a file: rename it over this one, then sync the folder when `durable`).
    fn replace_with(&mut self, new: Self, durable: bool) -> io::Result<()>
    where
        Self: Sized,
    {
        let _ = (new, durable);
        Err(io::Error::other("this MP4 output has no replacement"))
    }
}

impl Mp4Sink for std::fs::File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// Append `len` bytes of `from`, from offset `at`, to `to`, through `buf`.
pub fn copy_through<R: Read + Seek, W: Write>(
    from: &mut R,
    at: u64,
    len: u64,
    to: &mut W,
    buf: &mut [u8],
) -> io::Result<()> {
    from.seek(SeekFrom::Start(at))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        from.read_exact(&mut buf[..n])?;
        to.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// A temporary beside an output (see [`crate::output`]): finished in place, as it is not the
/// output yet.
impl Mp4Sink for crate::output::TempFile {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file().set_len(len)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.file().sync_data()
    }
}

impl<S: Mp4Sink + ?Sized> Mp4Sink for &mut S {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        (**self).set_len(len)
    }
    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }
}

impl Mp4Sink for Cursor<Vec<u8>> {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        self.get_mut().resize(len, 0);
        Ok(())
    }
}
