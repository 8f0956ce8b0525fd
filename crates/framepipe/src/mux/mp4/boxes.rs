//! ISO BMFF boxes, both ways. Writing: a growable big-endian buffer in which boxes are opened
//! and closed (the 32-bit size is patched when the box is closed), plus the few pure functions
//! that build sample-table boxes from plain numbers (so they can be unit-tested without writing
//! any media data). Reading: the child boxes of a box body and a bounds-checked field reader.

use std::fmt;

use crate::error::{Error, Result};

/// A big-endian byte buffer with nested box support.
#[derive(Debug, Default)]
pub(crate) struct BoxBuf {
    pub(crate) buf: Vec<u8>,
}

/// A box opened with [`BoxBuf::open`]; pass it back to [`BoxBuf::close`].
#[must_use = "a box must be closed"]
pub(crate) struct Open(usize);

impl BoxBuf {
    pub(crate) fn new() -> Self {
        BoxBuf { buf: Vec::new() }
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Overwrite the 4 bytes at `at` (a field whose value is known only later).
    pub(crate) fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub(crate) fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }

    /// Start a box of type `fourcc`; its size is written by [`BoxBuf::close`].
    pub(crate) fn open(&mut self, fourcc: &[u8; 4]) -> Open {
        let at = self.buf.len();
        self.u32(0).bytes(fourcc);
        Open(at)
    }

    /// Start a full box (a box with a version byte and 24 bits of flags).
    pub(crate) fn open_full(&mut self, fourcc: &[u8; 4], version: u8, flags: u32) -> Open {
        let o = self.open(fourcc);
        self.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        o
    }

    /// Close a box: patch its 32-bit size. Boxes here are index boxes, far below 4 GiB; a box
    /// that would not fit is a bug, not an input error.
    pub(crate) fn close(&mut self, open: Open) {
        let size = self.buf.len() - open.0;
        let size = u32::try_from(size).expect("MP4 index box larger than 4 GiB");
        self.buf[open.0..open.0 + 4].copy_from_slice(&size.to_be_bytes());
    }

    /// The unity transformation matrix of mvhd/tkhd.
    pub(crate) fn identity_matrix(&mut self) -> &mut Self {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
        self
    }
}

/// The media a [`trak`] describes, with what its headers say of it.
pub(crate) enum Handler {
    Video { width: u32, height: u32 },
    Sound,
}

/// What a [`trak`]'s headers say.
pub(crate) struct TrakHeader {
    pub track_id: u32,
    /// The presented duration in movie ticks (tkhd's and the edit's; 0 in a fragmented file:
    /// "to the end of the media").
    pub movie_duration: u64,
    /// The edit list's media time, where the presentation starts; None: no edit list.
    pub media_time: Option<u64>,
    /// mdhd's timescale and duration.
    pub timescale: u32,
    pub media_duration: u64,
    pub handler: Handler,
}

/// A `trak` box: tkhd, edts/elst, mdia (mdhd, hdlr, minf with the media header, dinf and an
/// stbl whose children — stsd and the sample tables — `stbl` writes).
pub(crate) fn trak(b: &mut BoxBuf, h: &TrakHeader, stbl: impl FnOnce(&mut BoxBuf)) {
    let trak = b.open(b"trak");
    // tkhd: enabled | in_movie | in_preview; sound in alternate group 1 at volume 1.0.
    let v1 = h.movie_duration > u64::from(u32::MAX);
    let o = b.open_full(b"tkhd", u8::from(v1), 0x7);
    if v1 {
        b.u64(0).u64(0).u32(h.track_id).u32(0).u64(h.movie_duration);
    } else {
        b.u32(0).u32(0).u32(h.track_id).u32(0).u32(h.movie_duration as u32);
    }
    let (group, volume, width, height) = match h.handler {
        Handler::Video { width, height } => (0, 0, width, height),
        Handler::Sound => (1, 0x0100, 0, 0),
    };
    b.zeros(8).u16(0).u16(group).u16(volume).u16(0).identity_matrix();
    b.u32(width << 16).u32(height << 16);
    b.close(o);

    if let Some(media_time) = h.media_time {
        let edts = b.open(b"edts");
        let v1 = v1 || media_time > i32::MAX as u64;
        let o = b.open_full(b"elst", u8::from(v1), 0);
        b.u32(1);
        if v1 {
            b.u64(h.movie_duration).i64(media_time as i64);
        } else {
            b.u32(h.movie_duration as u32).i32(media_time as i32);
        }
        b.u16(1).u16(0); // media rate 1.0
        b.close(o);
        b.close(edts);
    }

    let mdia = b.open(b"mdia");
    let v1 = h.media_duration > u64::from(u32::MAX);
    let o = b.open_full(b"mdhd", u8::from(v1), 0);
    time_and_duration(b, v1, h.timescale, h.media_duration);
    b.u16(language_code(b"und")).u16(0);
    b.close(o);
    let (handler, name): (&[u8; 4], &[u8]) = match h.handler {
        Handler::Video { .. } => (b"vide", b"VideoHandler\0"),
        Handler::Sound => (b"soun", b"SoundHandler\0"),
    };
    let o = b.open_full(b"hdlr", 0, 0);
    b.u32(0).bytes(handler).zeros(12).bytes(name);
    b.close(o);

    let minf = b.open(b"minf");
    match h.handler {
        Handler::Video { .. } => {
            let o = b.open_full(b"vmhd", 0, 1);
            b.u16(0).zeros(6);
            b.close(o);
        }
        Handler::Sound => {
            let o = b.open_full(b"smhd", 0, 0);
            b.u16(0).u16(0);
            b.close(o);
        }
    }
    let dinf = b.open(b"dinf");
    let dref = b.open_full(b"dref", 0, 0);
    b.u32(1);
    let url = b.open_full(b"url ", 0, 1); // the media is in this file
    b.close(url);
    b.close(dref);
    b.close(dinf);
    let o = b.open(b"stbl");
    stbl(b);
    b.close(o);
    b.close(minf);
    b.close(mdia);
    b.close(trak);
}

/// mvhd's and mdhd's first fields: creation and modification times (0), timescale, duration;
/// 64-bit times and duration in version 1.
pub(crate) fn time_and_duration(b: &mut BoxBuf, v1: bool, timescale: u32, duration: u64) {
    if v1 {
        b.u64(0).u64(0).u32(timescale).u64(duration);
    } else {
        b.u32(0).u32(0).u32(timescale).u32(duration as u32);
    }
}

/// ISO-639-2/T language packed as three 5-bit letters.
pub(crate) fn language_code(lang: &[u8; 3]) -> u16 {
    lang.iter().fold(0u16, |acc, &c| (acc << 5) | (u16::from(c) - 0x60))
}

/// `stts` from run-length (count, delta) entries.
pub(crate) fn stts(b: &mut BoxBuf, runs: &[(u32, u32)]) {
    let o = b.open_full(b"stts", 0, 0);
    b.u32(len_u32(runs.len()));
    for &(count, delta) in runs {
        b.u32(count).u32(delta);
    }
    b.close(o);
}

/// `ctts` version 0 from run-length (count, offset) entries (offsets in media timescale).
pub(crate) fn ctts(b: &mut BoxBuf, runs: &[(u32, u32)]) {
    let o = b.open_full(b"ctts", 0, 0);
    b.u32(len_u32(runs.len()));
    for &(count, offset) in runs {
        b.u32(count).u32(offset);
    }
    b.close(o);
}

/// `stss` from 1-based keyframe sample numbers.
pub(crate) fn stss(b: &mut BoxBuf, keyframes: &[u32]) {
    let o = b.open_full(b"stss", 0, 0);
    b.u32(len_u32(keyframes.len()));
    for &k in keyframes {
        b.u32(k);
    }
    b.close(o);
}

/// `stsz` with one size per sample (sample_size 0).
pub(crate) fn stsz(b: &mut BoxBuf, sizes: &[u32]) {
    let o = b.open_full(b"stsz", 0, 0);
    b.u32(0).u32(len_u32(sizes.len()));
    for &s in sizes {
        b.u32(s);
    }
    b.close(o);
}

/// `stsc` for `samples` samples in chunks of `per_chunk` (the last chunk may be shorter).
/// Returns nothing; the chunk count is `samples.div_ceil(per_chunk)`.
pub(crate) fn stsc(b: &mut BoxBuf, samples: u64, per_chunk: u32) {
    let o = b.open_full(b"stsc", 0, 0);
    let entries = stsc_entries(samples, per_chunk);
    b.u32(len_u32(entries.len()));
    for (first_chunk, spc) in entries {
        b.u32(first_chunk).u32(spc).u32(1);
    }
    b.close(o);
}

/// The (first_chunk (1-based), samples_per_chunk) entries of `stsc`.
pub(crate) fn stsc_entries(samples: u64, per_chunk: u32) -> Vec<(u32, u32)> {
    let per_chunk = u64::from(per_chunk.max(1));
    let full = samples / per_chunk;
    let rest = samples % per_chunk;
    let mut v = Vec::with_capacity(2);
    if full > 0 {
        v.push((1, per_chunk as u32));
    }
    if rest > 0 {
        v.push((len_u32((full + 1) as usize), rest as u32));
    }
    v
}

/// Whether chunk offsets need `co64` rather than `stco`.
pub(crate) fn needs_co64(offsets: &[u64]) -> bool {
    offsets.iter().any(|&o| o > u64::from(u32::MAX))
}

/// `stco` (32-bit) or `co64` (64-bit) chunk offsets: `co64` exactly when an offset does not fit
/// in 32 bits.
pub(crate) fn chunk_offsets(b: &mut BoxBuf, offsets: &[u64]) {
    if needs_co64(offsets) {
        let o = b.open_full(b"co64", 0, 0);
        b.u32(len_u32(offsets.len()));
        for &off in offsets {
            b.u64(off);
        }
        b.close(o);
    } else {
        let o = b.open_full(b"stco", 0, 0);
        b.u32(len_u32(offsets.len()));
        for &off in offsets {
            b.u32(off as u32);
        }
        b.close(o);
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("MP4 table with more than 2^32 entries")
}

/// Append a run-length entry: extends the last run when the value repeats.
pub(crate) fn push_run(runs: &mut Vec<(u32, u32)>, value: u32) {
    match runs.last_mut() {
        Some((count, v)) if *v == value && *count < u32::MAX => *count += 1,
        _ => runs.push((1, value)),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: box lists and big-endian fields, bounds-checked (a malformed file is an error, never
// a panic or an allocation the file cannot back).
// ---------------------------------------------------------------------------------------------

/// A malformed MP4: an invalid-data error saying what is wrong in it.
pub(crate) fn malformed(what: impl fmt::Display) -> Error {
    Error::invalid_data(format!("malformed MP4: {what}"))
}

/// The child boxes of a container box body.
pub(crate) fn children(data: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut v = Vec::new();
    let mut i = 0usize;
    while i < data.len() {
        if data.len() - i < 8 {
            // Some writers pad containers with a few zero bytes; tolerate that.
            if data[i..].iter().all(|&b| b == 0) {
                break;
            }
            return Err(malformed("truncated box header"));
        }
        let size32 = u32::from_be_bytes(data[i..i + 4].try_into().expect("4 bytes"));
        let kind: [u8; 4] = data[i + 4..i + 8].try_into().expect("4 bytes");
        let (hdr, size) = match size32 {
            0 => (8usize, (data.len() - i) as u64),
            1 => {
                let b = data.get(i + 8..i + 16).ok_or_else(|| malformed("truncated box header"))?;
                (16, u64::from_be_bytes(b.try_into().expect("8 bytes")))
            }
            s => (8, u64::from(s)),
        };
        if size < hdr as u64 || size > (data.len() - i) as u64 {
            if size32 == 0 && kind == [0; 4] {
                break; // terminator used by some QuickTime writers
            }
            return Err(malformed(format!("box {} of size {size} does not fit its parent", describe_fourcc(&kind))));
        }
        let size = size as usize;
        v.push((kind, &data[i + hdr..i + size]));
        i += size;
    }
    Ok(v)
}

pub(crate) fn child<'a>(boxes: &[([u8; 4], &'a [u8])], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes.iter().find(|(k, _)| k == kind).map(|(_, b)| *b)
}

/// Big-endian field reader over a box body, with bounds checks.
pub(crate) struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    name: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(data: &'a [u8], name: &'static str) -> Self {
        Fields { data, pos: 0, name }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| malformed(format!("{} box is too short", self.name)))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    /// version and flags of a full box.
    pub(crate) fn full(&mut self) -> Result<(u8, u32)> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }
    /// An entry count whose entries of `entry_size` bytes must fit the rest of the box.
    pub(crate) fn count(&mut self, entry_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(entry_size) > self.data.len() - self.pos {
            return Err(malformed(format!("{} box claims {n} entries but is too short", self.name)));
        }
        Ok(n)
    }
}

/// A box type as text, or its bytes in hex when it is not printable.
pub(crate) fn describe_fourcc(kind: &[u8; 4]) -> String {
    if kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        format!("{:?}", String::from_utf8_lossy(kind))
    } else {
        format!("bytes {:02x} {:02x} {:02x} {:02x}", kind[0], kind[1], kind[2], kind[3])
    }
}

/// stsc, stsz and stco/co64 for samples of `sizes` stored in `chunks` (file offset, number of
/// samples; in order).
pub(crate) fn chunked_samples(b: &mut BoxBuf, chunks: &[(u64, u32)], sizes: &[u32]) {
    let per: Vec<u32> = chunks.iter().map(|c| c.1).collect();
    stsc_chunks(b, &per);
    stsz(b, sizes);
    let offsets: Vec<u64> = chunks.iter().map(|c| c.0).collect();
    chunk_offsets(b, &offsets);
}

/// stsc for chunks of the given sample counts (in order; empty chunks are not allowed): one
/// entry per run of equal counts.
fn stsc_chunks(b: &mut BoxBuf, per_chunk: &[u32]) {
    let mut entries: Vec<(u32, u32)> = Vec::new();
    for (i, &n) in per_chunk.iter().enumerate() {
        if entries.last().is_none_or(|&(_, last)| last != n) {
            entries.push((len_u32(i + 1), n));
        }
    }
    let o = b.open_full(b"stsc", 0, 0);
    b.u32(len_u32(entries.len()));
    for (first_chunk, spc) in entries {
        b.u32(first_chunk).u32(spc).u32(1);
    }
    b.close(o);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_boxes_patch_sizes() {
        let mut b = BoxBuf::new();
        let outer = b.open(b"moov");
        let inner = b.open_full(b"mvhd", 1, 0x7);
        b.u32(42);
        b.close(inner);
        b.close(outer);
        let v = b.into_vec();
        assert_eq!(&v[0..4], &24u32.to_be_bytes());
        assert_eq!(&v[4..8], b"moov");
        assert_eq!(&v[8..12], &16u32.to_be_bytes());
        assert_eq!(&v[12..16], b"mvhd");
        assert_eq!(&v[16..20], &[1, 0, 0, 7]);
        assert_eq!(&v[20..24], &42u32.to_be_bytes());
    }

    #[test]
    fn stsc_runs() {
        assert_eq!(stsc_entries(0, 30), vec![]);
        assert_eq!(stsc_entries(10, 30), vec![(1, 10)]);
        assert_eq!(stsc_entries(60, 30), vec![(1, 30)]);
        assert_eq!(stsc_entries(61, 30), vec![(1, 30), (3, 1)]);
        assert_eq!(stsc_entries(5, 0), vec![(1, 1)]);
    }

    #[test]
    fn co64_only_above_u32() {
        let mut b = BoxBuf::new();
        chunk_offsets(&mut b, &[48, u64::from(u32::MAX)]);
        let v = b.into_vec();
        assert_eq!(&v[4..8], b"stco");
        assert_eq!(v.len(), 16 + 8);
        let mut b = BoxBuf::new();
        chunk_offsets(&mut b, &[48, u64::from(u32::MAX) + 1]);
        let v = b.into_vec();
        assert_eq!(&v[4..8], b"co64");
        assert_eq!(v.len(), 16 + 16);
        assert_eq!(&v[24..32], &(u64::from(u32::MAX) + 1).to_be_bytes());
    }

    #[test]
    fn runs() {
        let mut r = Vec::new();
        for v in [0, 0, 2, 2, 2, 0] {
            push_run(&mut r, v);
        }
        assert_eq!(r, vec![(2, 0), (3, 2), (1, 0)]);
    }
}
