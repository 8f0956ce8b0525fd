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

/// Counts bytes written (the position), so a failed write can be cut back to a frame boundary,
/// and holds what is written until [`Write::flush`], so that an image reaches the file in one
/// write: a process killed while writing leaves whole images far more often than torn ones.
/// The inner position is always `pos - buf.len()`.
pub(super) struct Counting<W> {
    pub(super) inner: W,
    pub(super) pos: u64,
    /// Swallow writes (for the `gif` encoder's trailer once ours is written).
    pub(super) discard: bool,
    buf: Vec<u8>,
}

impl<W> Counting<W> {
    pub(super) fn new(inner: W) -> Self {
        Counting { inner, pos: 0, discard: false, buf: Vec::new() }
    }
}

impl<W: Write> Counting<W> {
    /// Write what is held to the output (on failure, the held bytes are dropped: the caller
    /// cuts back to its last whole image).
    fn write_held(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self.inner.write_all(&self.buf);
        self.buf.clear();
        res
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.discard {
            return Ok(buf.len());
        }
        self.buf.extend_from_slice(buf);
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.write_held()?;
        self.inner.flush()
    }
}

impl<W: GifSink> Counting<W> {
    /// Overwrite bytes at `offset` (before the current position) and come back.
    pub(super) fn patch(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.write_held()?;
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner.write_all(data)?;
        self.inner.seek(SeekFrom::Start(self.pos)).map(drop)
    }
    /// Go back to `pos` (before the current position) without cutting what follows; what is
    /// held is written first.
    pub(super) fn rewind(&mut self, pos: u64) -> io::Result<()> {
        let res = self.write_held();
        self.inner.seek(SeekFrom::Start(pos))?;
        self.pos = pos;
        res
    }
    /// Cut the output to `len` bytes (what is held is dropped).
    pub(super) fn cut(&mut self, len: u64) -> io::Result<()> {
        self.buf.clear();
        self.inner.truncate(len)?;
        self.inner.seek(SeekFrom::Start(len))?;
        self.pos = len;
        Ok(())
    }
}
