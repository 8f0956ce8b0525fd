//! One probe for every format framepipe writes: what an MP4 or an animated GIF holds, told apart
//! by the file's first bytes (not its name). The CLI's `framepipe probe` and Python's
//! `framepipe.probe()` both call [`probe_file`].

use crate::encode::gif::probe::{is_gif, probe_gif, GifInfo};
use crate::error::Result;
use crate::mux::mp4::{probe, Mp4Info};
use std::io::Read;
use std::path::Path;

/// What a probed file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FileInfo {
    Mp4(Mp4Info),
    Gif(GifInfo),
}

/// Describe the MP4 or GIF file at `path`. A file that is neither is an invalid-data error
/// saying what it starts with; an MP4 whose index lists more frames than the file holds is
/// described (see [`Mp4Info::truncated`]), not refused.
pub fn probe_file(path: &Path) -> Result<FileInfo> {
    if starts_like_gif(path) {
        probe_gif(path).map(FileInfo::Gif)
    } else {
        probe(path).map(FileInfo::Mp4)
    }
}

/// The file starts with a GIF signature (a file that cannot be read is left to the MP4 reader,
/// which reports why).
fn starts_like_gif(path: &Path) -> bool {
    let mut head = [0u8; 6];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && is_gif(&head)
}
