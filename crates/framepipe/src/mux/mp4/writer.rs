//! Single-track H.264 MP4 writer with a faststart layout (`moov` before `mdat`).
//!
//! Why our own muxer: the maintained crate shiguredo_mp4 was evaluated; its stable release
//! (2025.4.0) has no composition offsets (ctts) for B-frames and no colr box, its ctts support
//! exists only in a canary pre-release, and it can only make a faststart file when moov space
//! is reserved up front from a known sample count, while framepipe streams an unknown number of
//! frames and relocates mdat at finish — so a small single-track writer is simpler and safer.
//!
//! Layout while writing: `ftyp | mdat (64-bit header) | samples...`. Only the per-sample index
//! (size, keyframe flag, timestamps as run lengths) is kept in memory, never the payloads. At
//! [`Mp4Writer::finish`] the `moov` is built in memory, the file is first extended by the moov's
//! size (so a full disk fails before any byte is moved), the mdat is shifted forward in place
//! and the moov is written between `ftyp` and `mdat`. If the file cannot be extended, the moov
//! goes after the mdat instead (playable, not faststart): right after the last sample if the
//! output can grow that far, else within the bytes the output already has (a partial sample,
//! zeros of the failed extension), dropping trailing frames until the moov fits.
//!
//! After a failed write (or [`Mp4Writer::mark_interrupted`]) the stream may stop in the middle
//! of a group of B-frames. `finish` then keeps only the longest decode-order prefix whose
//! presentation times are contiguous, so the duration always equals frames / fps; the same
//! rule picks which frames to drop when the disk is full. [`Mp4Writer::frames`] reports what
//! the finished file holds, and a `finish` that cannot make a playable file returns an error.
//!
//! Timestamps and timescales: [`super::timing`]; the index and the moov: [`super::index`].

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};

use super::boxes::BoxBuf;
use super::index::SampleIndex;
use super::timing::check_fps;
use crate::encode::Packet;
use crate::error::{Error, IoContext, Result};
use crate::mux::VideoTrack;

/// Size of the mdat header we write: 32-bit size 1, "mdat", 64-bit largesize.
const MDAT_HEADER: u64 = 16;
/// Buffer size for moving the mdat payload at finish.
const SHIFT_CHUNK: usize = 4 << 20;

/// The `ftyp` box: major brand isom, minor version 512, compatible isom, iso2, avc1, mp41.
fn ftyp() -> Vec<u8> {
    let mut b = BoxBuf::new();
    let o = b.open(b"ftyp");
    b.bytes(b"isom").u32(512);
    for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
        b.bytes(brand);
    }
    b.close(o);
    b.into_vec()
}

/// The mdat header while writing: 32-bit size 0 ("up to the end of the file", so an
/// unfinished output still parses as ftyp + mdat) followed by 8 bytes that become the 64-bit
/// largesize at finish.
fn open_mdat_header() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[4..8].copy_from_slice(b"mdat");
    h
}

/// An mdat header with a 64-bit size covering `total` bytes (header included).
fn mdat_header(total: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&1u32.to_be_bytes());
    h[4..8].copy_from_slice(b"mdat");
    h[8..16].copy_from_slice(&total.to_be_bytes());
    h
}

fn check_track(track: &VideoTrack) -> Result<()> {
    if track.width == 0 || track.height == 0 || track.width > 65535 || track.height > 65535 {
        return Err(Error::parameter(format!(
            "MP4 track size {}x{} must be between 1 and 65535 in each dimension",
            track.width, track.height
        )));
    }
    check_fps(track.fps)?;
    let avc = &track.avc;
    if avc.sps.is_empty() || avc.sps.len() > 31 {
        return Err(Error::parameter(format!("H.264 config needs 1 to 31 SPS, got {}", avc.sps.len())));
    }
    if avc.pps.is_empty() || avc.pps.len() > 255 {
        return Err(Error::parameter(format!("H.264 config needs 1 to 255 PPS, got {}", avc.pps.len())));
    }
    if avc.sps.iter().any(|s| s.len() < 4 || s.len() > 65535) || avc.pps.iter().any(|p| p.is_empty() || p.len() > 65535)
    {
        return Err(Error::parameter("H.264 SPS/PPS of an invalid length (SPS needs at least 4 bytes)"));
    }
    if avc.sps[0][0] & 0x1f != 7 {
        return Err(Error::parameter(format!(
            "the first SPS is not an SPS NAL unit (NAL type {}); pass parameter sets without start codes",
            avc.sps[0][0] & 0x1f
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Writing,
    Finished,
    /// finish() failed; the output is incomplete.
    Failed,
}

/// Writes one H.264 video track into an MP4 file (see the module documentation).
///
/// Works with any `Read + Write + Seek` output, e.g. `std::fs::File` or
/// `std::io::Cursor<Vec<u8>>`. The output should be empty (or positioned at its end): the
/// writer starts at the current position and uses absolute offsets.
pub struct Mp4Writer<W: Read + Write + Seek> {
    out: W,
    track: VideoTrack,
    index: SampleIndex,
    /// pts values not below the last dts: the only ones a new pts could repeat.
    pending_pts: BTreeSet<i64>,
    /// Offset of the ftyp box (where the writer started).
    base: u64,
    /// Offset of the mdat header.
    mdat_start: u64,
    /// End of the last completely written sample.
    data_end: u64,
    /// The output position may not be `data_end` (after a failed write).
    need_seek: bool,
    /// The stream was cut short (a write failed, or [`Mp4Writer::mark_interrupted`]): finish
    /// keeps only the longest decode-order prefix with contiguous presentation times.
    interrupted: bool,
    state: State,
    faststart: bool,
    bytes_written: u64,
    /// The metadata box written into the moov (empty: none).
    udta: Vec<u8>,
}

impl<W: Read + Write + Seek> Mp4Writer<W> {
    /// Writes ftyp and an mdat header immediately. The mdat header takes 16 bytes and is
    /// always a 64-bit largesize header in the finished file (until then its 32-bit size is 0,
    /// "to the end of the file").
    pub fn new(mut out: W, track: VideoTrack) -> Result<Self> {
        check_track(&track)?;
        let base = out.stream_position().ctx(|| "starting MP4 output".into())?;
        let ftyp = ftyp();
        let mdat_start = base + ftyp.len() as u64;
        let mut head = ftyp;
        head.extend_from_slice(&open_mdat_header());
        out.write_all(&head).ctx(|| "writing MP4 header".into())?;
        // finish() reads the media data back to move it behind the moov: check now that the
        // output can be read (a File from File::create is write-only).
        let mut back = [0u8; 8];
        let readable =
            out.seek(SeekFrom::Start(base)).and_then(|_| out.read_exact(&mut back)).map(|_| back[..] == head[..8]);
        match readable {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                return Err(Error::parameter(
                    "the MP4 output must be readable as well as writable (open files with \
                     OpenOptions::new().read(true).write(true).create(true).truncate(true), \
                     or use Mp4Writer::create; File::create opens write-only)",
                ))
            }
        }
        out.seek(SeekFrom::Start(base + head.len() as u64)).ctx(|| "writing MP4 header".into())?;
        let index = SampleIndex::new(track.fps.num, track.fps.den);
        Ok(Mp4Writer {
            out,
            track,
            index,
            pending_pts: BTreeSet::new(),
            base,
            mdat_start,
            data_end: mdat_start + MDAT_HEADER,
            need_seek: false,
            interrupted: false,
            state: State::Writing,
            faststart: false,
            bytes_written: head.len() as u64,
            udta: Vec::new(),
        })
    }

    /// Movie metadata (title, artist, comment, …: see [`super::metadata`]) for the file; it is
    /// written with the index by `finish`. Replaces metadata set before.
    pub fn set_metadata(&mut self, tags: &[(String, String)]) -> Result<()> {
        super::metadata::validate(tags)?;
        self.udta = super::metadata::udta(tags);
        Ok(())
    }

    /// The output, for example the `Cursor<Vec<u8>>` holding the file (call after `finish`).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Frames in the output. Before `finish`: packets written completely so far. After a
    /// successful `finish`: the frames the finished file holds, which can be fewer when the
    /// stream was cut short (trailing frames whose presentation would leave a gap are dropped)
    /// or when the disk was too full for the index (trailing frames make room for it). After a
    /// failed `finish`: 0, the output is not a playable file.
    pub fn frames(&self) -> u64 {
        match self.state {
            State::Failed => 0,
            _ => self.index.len(),
        }
    }

    /// Tell the writer that the stream was cut short, e.g. the encoder failed mid-stream, so
    /// the packets written may end in the middle of a group of B-frames. `finish` then keeps
    /// only the longest decode-order prefix whose presentation times have no gap, so that the
    /// file's duration is exactly its frame count over the frame rate. A failed
    /// `write_packet` (an I/O error) does this by itself.
    pub fn mark_interrupted(&mut self) {
        self.interrupted = true;
    }

    /// True once `finish` has put the moov before the mdat (false before `finish`, or when the
    /// output could not be extended and the moov was appended at the end instead).
    pub fn is_faststart(&self) -> bool {
        self.faststart
    }

    /// Media timescale of the track (ticks per second) and ticks per frame.
    pub fn timescale(&self) -> (u32, u32) {
        (self.index.timescale, self.index.sample_duration)
    }

    /// Keep only the longest decode-order prefix with contiguous presentation times.
    fn trim_to_contiguous(&mut self) {
        let k = self.index.contiguous_prefixes().last().copied().unwrap_or(0);
        if (k as u64) < self.index.len() {
            self.index = self.index.prefix(k);
            self.data_end = self.mdat_start + MDAT_HEADER + self.index.payload_len();
        }
    }

    fn finish_inner(&mut self) -> Result<()> {
        if self.interrupted {
            self.trim_to_contiguous();
        }
        let payload_start = self.mdat_start + MDAT_HEADER;
        let end = self.data_end;
        debug_assert_eq!(end - payload_start, self.index.payload_len());
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(|| "finishing MP4: finding the end of the output".into())?;
        let moov = self.index.moov_shifted(&self.track, &self.udta, payload_start);
        let shift = moov.len() as u64;

        // 1. Make room: extend the output to end + shift by writing zeros, before moving
        //    anything. On failure (disk full), fall back to appending the moov.
        let needed = end + shift;
        if file_len < needed {
            if let Err(e) = write_zeros(&mut self.out, file_len, needed - file_len) {
                return self.finish_moov_at_end(e);
            }
        }
        let file_len = file_len.max(needed);

        // 2. Move [mdat_start + header, end) forward by `shift`, last chunk first.
        let ctx = || "finishing MP4: moving media data behind the index".to_string();
        let mut buf = vec![0u8; (end - payload_start).min(SHIFT_CHUNK as u64) as usize];
        let mut chunk_end = end;
        while chunk_end > payload_start {
            let chunk_start = chunk_end.saturating_sub(SHIFT_CHUNK as u64).max(payload_start);
            let chunk = &mut buf[..(chunk_end - chunk_start) as usize];
            let read = self.out.seek(SeekFrom::Start(chunk_start)).and_then(|_| self.out.read_exact(chunk));
            match read {
                // Nothing has moved yet: the moov can still go at the end.
                Err(e) if chunk_end == end => return self.finish_moov_at_end(e),
                r => r.ctx(ctx)?,
            }
            self.out.seek(SeekFrom::Start(chunk_start + shift)).ctx(ctx)?;
            self.out.write_all(chunk).ctx(ctx)?;
            chunk_end = chunk_start;
        }

        // 3. moov, then the mdat header. Bytes past our data (a partial sample from a failed
        //    write, or older content of the output) are left inside the mdat, where nothing
        //    refers to them: no truncation needed, and the file stays well-formed.
        let ctx = || "finishing MP4: writing the index".to_string();
        self.out.seek(SeekFrom::Start(self.mdat_start)).ctx(ctx)?;
        self.out.write_all(&moov).ctx(ctx)?;
        self.out.write_all(&mdat_header(file_len - (self.mdat_start + shift))).ctx(ctx)?;
        self.out.seek(SeekFrom::Start(file_len)).ctx(ctx)?;
        self.out.flush().ctx(ctx)?;
        self.faststart = true;
        self.bytes_written = file_len - self.base;
        Ok(())
    }

    /// Fallback when the output cannot grow by the moov's size: the moov goes right after the
    /// last sample kept, and the mdat header is patched to end there. First with every sample,
    /// growing the output if needed (the extension may have failed for a passing reason); if
    /// that fails too, within the bytes the output already has (the failed extension's zeros,
    /// a partial sample, trailing samples): the longest decode-order prefix with contiguous
    /// presentation times whose moov fits between its last sample and the end of the output.
    /// Losing a few frames at the end beats losing the file.
    fn finish_moov_at_end(&mut self, extend_error: std::io::Error) -> Result<()> {
        let payload_start = self.mdat_start + MDAT_HEADER;
        let ctx =
            |what: &str| format!("finishing MP4: no room to move the index to the front ({extend_error}), and {what}");
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(|| ctx("finding the end of the output failed"))?;
        let moov = self.index.moov(&self.track, &self.udta, payload_start);
        let grow_error = match place_moov_after_samples(&mut self.out, self.mdat_start, &self.index, &moov, file_len) {
            Ok(len) => {
                self.finished_at_end(len);
                return Ok(());
            }
            Err(e) => e,
        };

        // Within the space the output has. Writing the moov may have grown it a little.
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(|| ctx("finding the end of the output failed"))?;
        let fits = |idx: &SampleIndex| -> Option<Vec<u8>> {
            let moov = idx.moov(&self.track, &self.udta, payload_start);
            (payload_start + idx.payload_len() + moov.len() as u64 <= file_len).then_some(moov)
        };
        // Fitting is monotonic in the prefix length (a longer prefix ends later and has a
        // moov at least as large): binary search over the contiguous prefixes.
        let candidates = self.index.contiguous_prefixes();
        let (mut lo, mut hi) = (0usize, candidates.len()); // candidates[..lo] fit, [hi..] don't
        let mut best: Option<(SampleIndex, Vec<u8>)> = None;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let idx = self.index.prefix(candidates[mid]);
            match fits(&idx) {
                Some(moov) => {
                    best = Some((idx, moov));
                    lo = mid + 1;
                }
                None => hi = mid,
            }
        }
        let Some((idx, moov)) = best else {
            return Err(Error::io(
                ctx(&format!(
                    "writing it at the end failed; not even the first frame leaves room for it in the {file_len} bytes of the output"
                )),
                grow_error,
            ));
        };
        let len = place_moov_after_samples(&mut self.out, self.mdat_start, &idx, &moov, file_len).ctx(|| {
            ctx(&format!(
                "writing it after frame {} failed (writing it after every frame failed with: {grow_error})",
                idx.len()
            ))
        })?;
        self.data_end = payload_start + idx.payload_len();
        self.index = idx;
        self.finished_at_end(len);
        Ok(())
    }

    fn finished_at_end(&mut self, final_len: u64) {
        self.faststart = false;
        self.bytes_written = final_len - self.base;
    }
}

/// Write `moov` (built for `idx`) right after `idx`'s last sample, cover anything between the
/// moov and `file_len` (the output's current length) with a `free` box, and patch the mdat
/// header (at `mdat_start`) to end before the moov. When the spare bytes after the moov would
/// be 1 to 7, too few for a box header, they stay inside the mdat (unreferenced) and the moov
/// moves up to end exactly at `file_len`. The mdat header is written last, so until the moov
/// is complete the output keeps its open mdat. Returns the final length of the output.
fn place_moov_after_samples<W: Write + Seek>(
    out: &mut W,
    mdat_start: u64,
    idx: &SampleIndex,
    moov: &[u8],
    file_len: u64,
) -> std::io::Result<u64> {
    let data_end = mdat_start + MDAT_HEADER + idx.payload_len();
    let moov_len = moov.len() as u64;
    let slack = match file_len.checked_sub(data_end + moov_len) {
        Some(spare) if spare < 8 => spare,
        _ => 0,
    };
    let moov_at = data_end + slack;
    let moov_end = moov_at + moov_len;
    out.seek(SeekFrom::Start(moov_at))?;
    out.write_all(moov)?;
    if file_len >= moov_end + 8 {
        let gap = file_len - moov_end;
        let mut header = Vec::with_capacity(16);
        if let Ok(size) = u32::try_from(gap) {
            header.extend_from_slice(&size.to_be_bytes());
            header.extend_from_slice(b"free");
        } else {
            header.extend_from_slice(&1u32.to_be_bytes());
            header.extend_from_slice(b"free");
            header.extend_from_slice(&gap.to_be_bytes());
        }
        out.write_all(&header)?;
    }
    out.seek(SeekFrom::Start(mdat_start))?;
    out.write_all(&mdat_header(moov_at - mdat_start))?;
    let final_len = moov_end.max(file_len);
    out.seek(SeekFrom::Start(final_len))?;
    out.flush()?;
    Ok(final_len)
}

fn write_zeros<W: Write + Seek>(out: &mut W, at: u64, mut n: u64) -> std::io::Result<()> {
    out.seek(SeekFrom::Start(at))?;
    let zeros = vec![0u8; n.min(1 << 20) as usize];
    while n > 0 {
        let k = n.min(zeros.len() as u64) as usize;
        out.write_all(&zeros[..k])?;
        n -= k as u64;
    }
    out.flush()
}

impl Mp4Writer<std::fs::File> {
    /// Create (or truncate) the file at `path`, opened for reading and writing, and start an MP4
    /// in it.
    pub fn create(path: &std::path::Path, track: VideoTrack) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .ctx(|| format!("creating {}", path.display()))?;
        Self::new(file, track)
    }
}

impl<W: Read + Write + Seek> Mp4Writer<W> {
    /// Append one packet (in decode order).
    pub fn write_packet(&mut self, packet: &Packet) -> Result<()> {
        if self.state != State::Writing {
            return Err(Error::parameter("MP4 writer: write_packet after finish"));
        }
        self.index.check(packet, &self.pending_pts)?;
        let n = self.index.len();
        if self.need_seek {
            if let Err(e) = self.out.seek(SeekFrom::Start(self.data_end)) {
                self.interrupted = true;
                return Err(Error::io(format!("writing MP4 sample {n}"), e));
            }
            self.need_seek = false;
        }
        if let Err(e) = self.out.write_all(&packet.data) {
            // Part of the sample may be in the output: the next write (or finish) starts again
            // at the end of the last complete sample. Unless the caller writes this packet
            // again, the stream now has a hole: finish keeps only the frames before it.
            self.need_seek = true;
            self.interrupted = true;
            return Err(Error::io(format!("writing MP4 sample {n} ({} bytes)", packet.data.len()), e));
        }
        self.data_end += packet.data.len() as u64;
        self.bytes_written = self.data_end - self.base;
        self.index.push(packet);
        self.pending_pts = self.pending_pts.split_off(&packet.dts);
        self.pending_pts.insert(packet.pts);
        Ok(())
    }

    /// Write the index and close the container. Must be called once; afterwards the output is
    /// a complete, playable file with every packet written so far — or, after a failed write,
    /// with the longest run of frames that plays without a gap (an error if not even one fits).
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            State::Finished => Ok(()),
            State::Failed => Err(Error::parameter("MP4 writer: finish failed earlier; the output is incomplete")),
            State::Writing => match self.finish_inner() {
                Ok(()) => {
                    self.state = State::Finished;
                    Ok(())
                }
                Err(e) => {
                    self.state = State::Failed;
                    Err(e)
                }
            },
        }
    }

    /// Bytes written to the output so far (media data plus headers).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

#[cfg(test)]
mod tests;
