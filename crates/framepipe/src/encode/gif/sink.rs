//! Where a GIF's bytes go: a seekable, truncatable sink, and a byte counter over it so that a
//! failed write can be cut back to the end of the last whole frame.

use std::io::{self, Seek, SeekFrom, Write};

/// Where a GIF goes: seekable (the global colour table is patched as the palette grows) and
/// truncatable (after a failed write, back to the end of the last whole frame).
pub trait GifSink: Write + Seek + Send {
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl GifSink for std::fs::File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

impl GifSink for io::Cursor<Vec<u8>> {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.get_mut().truncate(len as usize);
        Ok(())
    }
}

/// Counts bytes written (the position), so a failed write can be cut back to a frame boundary.
pub(super) struct Counting<W> {
    pub(super) inner: W,
    pub(super) pos: u64,
    /// Swallow writes (for the `gif` encoder's trailer once ours is written).
    pub(super) discard: bool,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.discard {
            return Ok(buf.len());
        }
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: GifSink> Counting<W> {
    /// Overwrite bytes at `offset` (before the current position) and come back.
    pub(super) fn patch(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner.write_all(data)?;
        self.inner.seek(SeekFrom::Start(self.pos)).map(drop)
    }
    pub(super) fn cut(&mut self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)?;
        self.inner.seek(SeekFrom::Start(len))?;
        self.pos = len;
        Ok(())
    }
}
