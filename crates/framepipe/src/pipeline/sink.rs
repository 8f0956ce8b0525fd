//! Where a video goes: a file, or memory.

use crate::encode::gif::GifSink;
use crate::mux::mp4::Mp4Sink;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

/// Where the video goes.
pub(crate) enum Sink {
    File(File),
    Memory(Cursor<Vec<u8>>),
}

impl Read for Sink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sink::File(f) => f.read(buf),
            Sink::Memory(c) => c.read(buf),
        }
    }
}
impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Memory(c) => c.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Memory(c) => c.flush(),
        }
    }
}
impl Seek for Sink {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Sink::File(f) => f.seek(pos),
            Sink::Memory(c) => c.seek(pos),
        }
    }
}
impl GifSink for Sink {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        match self {
            Sink::File(f) => GifSink::truncate(f, len),
            Sink::Memory(c) => GifSink::truncate(c, len),
        }
    }
}
impl Mp4Sink for Sink {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        match self {
            Sink::File(f) => Mp4Sink::set_len(f, len),
            Sink::Memory(c) => Mp4Sink::set_len(c, len),
        }
    }
    fn sync(&mut self) -> io::Result<()> {
        match self {
            Sink::File(f) => f.sync(),
            Sink::Memory(c) => c.sync(),
        }
    }
}
