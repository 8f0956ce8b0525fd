//! Finishing: the fragmented file becomes `ftyp | moov | mdat` (see the module documentation
//! of [`super`]): written beside the output and renamed over it where the output has a
//! replacement, else rewritten in place.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Seek, SeekFrom, Write};

use super::{ftyp, Mp4Sink, Mp4Writer, MDAT_HEADER};
use crate::error::{Error, IoContext, Result};
use crate::mux::mp4::audio::AudioTrak;
use crate::mux::mp4::index::{MoovExtra, SampleIndex};

/// Buffer size for moving or copying media data at finish.
const MOVE_CHUNK: usize = 4 << 20;

/// A run of the finished file's sample bytes: in the output (a fragment's mdat) or in memory
/// (`len` bytes from `at` of the video fragment being collected, or of the audio not yet
/// written).
#[derive(Debug, Clone, Copy)]
enum Piece {
    Disk { at: u64, len: u64 },
    Memory { at: usize, len: usize, audio: bool },
}

/// A chunk of the finished file: how many samples of which track, and where its bytes are
/// (one piece, or several when its samples were written in more than one fragment).
#[derive(Debug, Clone)]
struct Chunk {
    parts: Vec<Piece>,
    samples: u32,
    audio: bool,
}

impl Piece {
    fn len(&self) -> u64 {
        match *self {
            Piece::Disk { len, .. } => len,
            Piece::Memory { len, .. } => len as u64,
        }
    }
}

impl Chunk {
    fn len(&self) -> u64 {
        self.parts.iter().map(Piece::len).sum()
    }
}

/// A chunk and the time its first sample starts at (seconds, as a fraction `num / den`).
struct Timed {
    chunk: Chunk,
    num: u128,
    den: u128,
}

/// Where the samples of one track are: runs of consecutive samples (`(piece, count)`: the
/// bytes of the run's first sample at `piece`), in order.
struct Runs<'a> {
    runs: Vec<(Piece, usize)>,
    sizes: &'a [u32],
}

impl Runs<'_> {
    /// The chunks of samples `0..end`: `per` samples each from the first (the last one
    /// shorter), each with its parts, and the time its first sample starts at, `time(k)` =
    /// (numerator, denominator) seconds of sample k.
    fn chunks(&self, end: usize, per: usize, audio: bool, time: impl Fn(usize) -> (u128, u128)) -> Vec<Timed> {
        let per = per.max(1);
        let mut out = Vec::with_capacity(end.div_ceil(per));
        let mut run = 0usize; // the run holding sample `k`
        let mut run_first = 0usize; // its first sample
        let mut run_bytes = 0u64; // the bytes of its samples before `k`
        let mut k = 0usize;
        while k < end {
            let stop = (k + per).min(end);
            let (num, den) = time(k);
            let mut chunk = Chunk { parts: Vec::new(), samples: (stop - k) as u32, audio };
            while k < stop {
                let (piece, n) = self.runs[run];
                let upto = stop.min(run_first + n);
                let len: u64 = self.sizes[k..upto].iter().map(|&s| u64::from(s)).sum();
                chunk.parts.push(match piece {
                    Piece::Disk { at, .. } => Piece::Disk { at: at + run_bytes, len },
                    Piece::Memory { at, audio, .. } => {
                        Piece::Memory { at: at + run_bytes as usize, len: len as usize, audio }
                    }
                });
                run_bytes += len;
                k = upto;
                if k == run_first + n {
                    run += 1;
                    run_first = k;
                    run_bytes = 0;
                }
            }
            out.push(Timed { chunk, num, den });
        }
        out
    }
}

impl<W: Mp4Sink> Mp4Writer<W> {
    pub(super) fn finish_inner(&mut self) -> Result<()> {
        if self.interrupted {
            let k = self.index.contiguous_prefixes().last().copied().unwrap_or(0);
            if (k as u64) < self.index.len() {
                self.index = self.index.prefix(k);
            }
        }
        // A writer that started inside its output (base > 0) finishes in place: the finished
        // file's offsets count from the output's start.
        if self.base == 0 {
            match self.out.replacement() {
                Ok(Some(new)) => return self.finish_beside(new),
                Ok(None) => {}
                Err(e) => return self.keep_fragmented(e, None),
            }
        }
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(|| "finishing MP4: finding the end of the output".into())?;
        let (moov, total) = self.layout(&self.index);
        if total > file_len {
            // Make room before moving anything, so that a full disk fails while the fragments
            // are still intact.
            if let Err(e) = write_zeros(&mut self.out, file_len, total - file_len) {
                return self.finish_within(e);
            }
        }
        self.rewrite(&moov, total)
    }

    /// Where the samples of `self.index` (a prefix of what was accepted) are, in the finished
    /// file's order: each fragment's on disk, then the fragment still in memory.
    fn pieces(&self) -> Vec<Piece> {
        self.chunks(&self.index).into_iter().flat_map(|c| c.parts).collect()
    }

    /// How many audio samples the finished file with the video of `index` keeps: those that
    /// start before the video's end (on the presentation timeline, after the priming).
    pub(super) fn audio_keep(&self, index: &SampleIndex) -> usize {
        let Some(a) = self.audio.as_deref() else { return 0 };
        if index.len() == 0 {
            return 0;
        }
        let (num, den) = (u128::from(self.track.fps.num), u128::from(self.track.fps.den));
        let frames = (index.max_pts - index.min_pts) as u128 + 1;
        let video = (frames * den * u128::from(a.track.sample_rate)).div_ceil(num);
        let end = u64::try_from(video).unwrap_or(u64::MAX).saturating_add(u64::from(a.track.priming));
        a.index.count_before(end)
    }

    /// The chunks of the finished file with the samples of `index` (a prefix of what was
    /// accepted) and the audio that goes with them, in the order of their start times (video
    /// first at a tie). A track's chunks are cut at fixed places, every `samples_per_chunk`
    /// frames (the video-only file's chunks: about a second) and every second's worth of audio
    /// packets, whatever the fragments were: a player reading the file from the start needs
    /// at most about a second of one track to get the other's samples of the same moment, and
    /// the same packets make the same file however the tracks were interleaved while writing.
    fn chunks(&self, index: &SampleIndex) -> Vec<Chunk> {
        let (v_end, a_end) = (index.len() as usize, self.audio_keep(index));
        let audio = self.audio.as_deref();
        let mut video = Runs { runs: Vec::new(), sizes: &index.sizes };
        let mut sound = Runs { runs: Vec::new(), sizes: audio.map_or(&[], |a| &a.index.sizes) };
        let (mut v_next, mut a_next) = (0usize, 0usize);
        for w in &self.written {
            let n = (w.samples as usize).min(v_end - v_next);
            if n > 0 {
                video.runs.push((Piece::Disk { at: w.payload_at, len: 0 }, n));
                v_next += n;
            }
            let n = (w.audio_samples as usize).min(a_end - a_next);
            if n > 0 {
                sound.runs.push((Piece::Disk { at: w.payload_at + w.payload_len, len: 0 }, n));
                a_next += n;
            }
        }
        if v_end > v_next {
            video.runs.push((Piece::Memory { at: 0, len: 0, audio: false }, v_end - v_next));
        }
        if a_end > a_next {
            sound.runs.push((Piece::Memory { at: 0, len: 0, audio: true }, a_end - a_next));
        }
        let (fps_num, fps_den) = (u128::from(self.track.fps.num), u128::from(self.track.fps.den));
        let video = video.chunks(v_end, index.samples_per_chunk as usize, false, |k| (k as u128 * fps_den, fps_num));
        let sound = match audio {
            None => Vec::new(),
            Some(a) => {
                let rate = a.track.sample_rate;
                let packet = a.index.durations.first().map_or(1024, |r| r.1).max(1);
                let per = rate.div_ceil(packet) as usize;
                // Each chunk's start: its first sample's pts, after the priming.
                let priming = u128::from(a.track.priming);
                let mut starts = Vec::with_capacity(a_end.div_ceil(per));
                let mut t = 0u128;
                for (k, d) in a.index.durations_of(a_end).enumerate() {
                    if k % per == 0 {
                        starts.push(t.saturating_sub(priming));
                    }
                    t += u128::from(d);
                }
                sound.chunks(a_end, per, true, |k| (starts[k / per], u128::from(rate)))
            }
        };
        // Merge by start time: the video's k / fps against the audio's t / rate.
        let mut chunks = Vec::with_capacity(video.len() + sound.len());
        let (mut v, mut s) = (video.into_iter().peekable(), sound.into_iter().peekable());
        loop {
            let take_video = match (v.peek(), s.peek()) {
                (Some(x), Some(y)) => x.num * y.den <= y.num * x.den,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            chunks.extend(if take_video { v.next() } else { s.next() }.map(|t| t.chunk));
        }
        chunks
    }

    /// The bytes of a piece in memory.
    fn memory(&self, at: usize, len: usize, audio: bool) -> &[u8] {
        match self.audio.as_deref() {
            Some(a) if audio => &a.pending[at..at + len],
            _ => &self.collecting.data[at..at + len],
        }
    }

    /// Write the finished file into `new`, then put it in place of the output. If the disk
    /// fills up first, and the longest gap-free prefix whose finished file fits in what was
    /// written holds more frames than the fragmented file, that prefix is finished instead
    /// (written over the same bytes, so it needs no more room); otherwise the fragmented file
    /// stays (see `keep_fragmented`).
    fn finish_beside(&mut self, mut new: W) -> Result<()> {
        let (moov, total) = self.layout(&self.index);
        if let Err(e) = self.write_finished(&mut new, &moov, total) {
            if is_full(&e) && self.finish_prefix_within(&mut new).is_ok() {
                return self.put_in_place(new);
            }
            drop(new); // removed, which gives its room back
            return self.keep_fragmented(e, Some(total));
        }
        self.put_in_place(new)
    }

    /// The finished file in `new` replaces the output.
    fn put_in_place(&mut self, new: W) -> Result<()> {
        let total = self.layout(&self.index).1;
        if let Err(e) = self.out.replace_with(new, self.durable) {
            return self.keep_fragmented(e, Some(total));
        }
        self.faststart = true;
        self.bytes_written = total;
        Ok(())
    }

    /// `new` could take only some of the finished file: finish in it the longest gap-free
    /// prefix that fits in the bytes it holds, if that keeps more frames than the fragmented
    /// file does (else, or on any error, Err: the caller keeps the fragmented file).
    fn finish_prefix_within(&mut self, new: &mut W) -> io::Result<()> {
        let room = new.seek(SeekFrom::End(0))?;
        let Some((idx, moov, total)) = self.longest_prefix_within(room) else {
            return Err(io::Error::other("not even frame 0 fits"));
        };
        // What the fragmented file would keep: its frames on disk, and those in memory if their
        // fragment fits in the room this file gives back (estimated generously: the samples,
        // 16 bytes of index each, and 4 KiB for the headers and the moov).
        let c = &self.collecting;
        let last = c.data.len() as u64 + 16 * c.samples.len() as u64 + 4096;
        let fragmented =
            self.frames_on_disk() + if !self.interrupted && last <= room { c.samples.len() as u64 } else { 0 };
        if idx.len() <= fragmented {
            return Err(io::Error::other("the fragmented file keeps as many frames"));
        }
        let all = std::mem::replace(&mut self.index, idx);
        let res = new.seek(SeekFrom::Start(0)).and_then(|_| self.write_finished(new, &moov, total)).and_then(|_| {
            new.set_len(total)?;
            if self.durable {
                new.sync()?;
            }
            Ok(())
        });
        if res.is_err() {
            self.index = all;
        }
        res
    }

    /// The finished file, front to back: ftyp, moov, mdat header, the samples copied from the
    /// fragments and from memory; flushed, and synced when durable.
    fn write_finished(&mut self, new: &mut W, moov: &[u8], total: u64) -> io::Result<()> {
        let mut head = ftyp();
        debug_assert_eq!(head.len() as u64, self.head_end - self.base);
        head.extend_from_slice(moov);
        head.extend_from_slice(&mdat_header(total - (self.head_end + moov.len() as u64)));
        new.write_all(&head)?;
        // Reading the fragments moves the output's position: a fragment written after this
        // (by `keep_fragmented`) must seek back to the end of the data first.
        self.need_seek = true;
        let pieces = self.pieces();
        let largest = pieces.iter().map(|p| if let Piece::Disk { len, .. } = p { *len } else { 0 }).max();
        let mut buf = vec![0u8; largest.unwrap_or(0).clamp(1, MOVE_CHUNK as u64) as usize];
        for piece in pieces {
            match piece {
                Piece::Disk { at, len } => self.out.copy_to(at, len, new, &mut buf)?,
                Piece::Memory { at, len, audio } => new.write_all(self.memory(at, len, audio))?,
            }
        }
        debug_assert_eq!(new.stream_position().ok(), Some(total));
        new.flush()?;
        if self.durable {
            new.sync()?;
        }
        Ok(())
    }

    /// The finished file could not be written beside the output (`cause`): the fragmented file
    /// stays the output. The frames still in memory are added to it as a last fragment (unless
    /// the stream was cut short: those may end with a gap in presentation order), then finish
    /// fails, saying what the output holds and that repair finishes it.
    fn keep_fragmented(&mut self, cause: io::Error, total: Option<u64>) -> Result<()> {
        let mut lost = 0;
        if !self.collecting.samples.is_empty() && (self.interrupted || self.write_fragment().is_err()) {
            lost = self.collecting.samples.len();
        }
        let n = self.frames_on_disk();
        self.left_fragmented = n > 0;
        let size = total.map_or(String::new(), |t| format!(" ({t} bytes)"));
        let frames = |k: usize| if k == 1 { "1 frame".to_string() } else { format!("{k} frames") };
        let kept = if n > 0 {
            let lost = match lost {
                0 => String::new(),
                1 => "; the last frame, not yet written to it, is lost".to_string(),
                l => format!("; the last {l} frames, not yet written to it, are lost"),
            };
            format!(
                "the output stays the unfinished (fragmented) MP4 with its {n} frames, which plays; `framepipe \
                 repair` (framepipe.repair) makes it a finished MP4 once there is room for a copy of it{lost}"
            )
        } else {
            format!("no frame was kept: not even frame 0 could be written ({} encoded)", frames(lost))
        };
        Err(Error::io(
            format!("finishing MP4: writing the finished file{size} beside the output failed, so {kept}"),
            cause,
        ))
    }

    /// The complete moov for `index` and the length of the finished file.
    fn layout(&self, index: &SampleIndex) -> (Vec<u8>, u64) {
        let Some(a) = self.audio.as_deref() else {
            let moov = index.moov_shifted(&self.track, &self.udta, self.head_end + MDAT_HEADER);
            let total = self.head_end + moov.len() as u64 + MDAT_HEADER + index.payload_len();
            return (moov, total);
        };
        // Both tracks, their chunks interleaved by time (per fragment: video, then audio).
        let chunks = self.chunks(index);
        let keep = self.audio_keep(index);
        let payload: u64 = chunks.iter().map(Chunk::len).sum();
        let t = index.timing();
        let audio_presented = a.index.duration_of(keep).saturating_sub(u64::from(a.track.priming));
        let audio_movie =
            (u128::from(audio_presented) * u128::from(t.movie_timescale)).div_ceil(u128::from(a.track.sample_rate));
        let edit = t.movie_duration.min(u64::try_from(audio_movie).unwrap_or(u64::MAX));
        let mut moov_len = 0u64;
        loop {
            let mut at = self.head_end + moov_len + MDAT_HEADER;
            let (mut video, mut audio) = (Vec::new(), Vec::new());
            for c in &chunks {
                if c.audio { &mut audio } else { &mut video }.push((at, c.samples));
                at += c.len();
            }
            let trak = AudioTrak { track: &a.track, index: &a.index, keep, chunks: Some(&audio), edit }.build();
            let extra = MoovExtra {
                audio_trak: Some(&trak),
                audio_duration: a.index.durations.first().map_or(1024, |r| r.1),
                video_chunks: Some(&video),
            };
            let moov = index.moov_with(&self.track, &self.udta, extra);
            // Sizes only grow (stco -> co64), so this ends after at most three rounds.
            if moov.len() as u64 == moov_len {
                return (moov, self.head_end + moov_len + MDAT_HEADER + payload);
            }
            moov_len = moov.len() as u64;
        }
    }

    /// The output cannot grow to the finished size: keep the longest decode-order prefix with
    /// contiguous presentation times whose finished file fits in the bytes the output has.
    fn finish_within(&mut self, grow_error: std::io::Error) -> Result<()> {
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(|| {
            format!("finishing MP4: no room for the index ({grow_error}), and finding the end of the output failed")
        })?;
        let Some((idx, moov, total)) = self.longest_prefix_within(file_len) else {
            let kept = if self.moov_written {
                format!("; the file keeps its {} frames in fragments (playable, not finished)", self.frames_on_disk())
            } else {
                String::new()
            };
            return Err(Error::io(
                format!(
                    "finishing MP4: no room for the index; not even frame 0 and its index fit in the \
                     {file_len} bytes of the output{kept}"
                ),
                grow_error,
            ));
        };
        self.index = idx;
        self.rewrite(&moov, total)
    }

    /// The longest decode-order prefix of `self.index` with contiguous presentation times whose
    /// finished file fits in `room` bytes: its index, moov and file length.
    fn longest_prefix_within(&self, room: u64) -> Option<(SampleIndex, Vec<u8>, u64)> {
        // Fitting is monotonic in the prefix length (a longer prefix has more bytes and a moov
        // at least as large): binary search over the contiguous prefixes.
        let candidates = self.index.contiguous_prefixes();
        let (mut lo, mut hi) = (0usize, candidates.len()); // candidates[..lo] fit, [hi..] don't
        let mut best = None;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let idx = self.index.prefix(candidates[mid]);
            let (moov, total) = self.layout(&idx);
            if total <= room {
                best = Some((idx, moov, total));
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        best
    }

    /// Put the pieces of the finished file's samples in order from `start` in the output (the
    /// media data of the file finished in place); returns where they end. The pieces are taken
    /// in their final order: each is read (from the fragment it is in, or from memory) and
    /// written at its place, and before that write overwrites bytes of a piece still to be
    /// placed, that piece is read into memory. A piece is at most about a second of one track
    /// and the pieces are nearly in the order they were written in, so few are held at once.
    fn place_pieces(&mut self, start: u64) -> io::Result<u64> {
        let pieces = self.pieces();
        // Pieces still to be placed that are on disk: source offset -> (length, piece number).
        let mut on_disk: BTreeMap<u64, (u64, usize)> = BTreeMap::new();
        for (i, p) in pieces.iter().enumerate() {
            if let Piece::Disk { at, len } = *p {
                if len > 0 {
                    on_disk.insert(at, (len, i));
                }
            }
        }
        let mut held: HashMap<usize, Vec<u8>> = HashMap::new();
        let mut to = start;
        for (i, p) in pieces.iter().enumerate() {
            let len = match *p {
                Piece::Disk { len, .. } => len,
                Piece::Memory { len, .. } => len as u64,
            };
            if len == 0 {
                continue;
            }
            let data = match *p {
                Piece::Disk { at, len } => {
                    on_disk.remove(&at);
                    match held.remove(&i) {
                        Some(d) => d,
                        None => read_at(&mut self.out, at, len)?,
                    }
                }
                Piece::Memory { .. } => Vec::new(),
            };
            // Hold the pieces still to be placed whose bytes this write covers.
            let end = to + len;
            let covered: Vec<u64> =
                on_disk.range(..end).rev().take_while(|(&at, &(l, _))| at + l > to).map(|(&at, _)| at).collect();
            for at in covered {
                let (l, j) = on_disk.remove(&at).expect("listed above");
                held.insert(j, read_at(&mut self.out, at, l)?);
            }
            self.out.seek(SeekFrom::Start(to))?;
            match *p {
                Piece::Disk { .. } => self.out.write_all(&data)?,
                Piece::Memory { at, len, audio } => {
                    let bytes = match self.audio.as_deref() {
                        Some(a) if audio => &a.pending[at..at + len],
                        _ => &self.collecting.data[at..at + len],
                    };
                    self.out.write_all(bytes)?;
                }
            }
            to = end;
        }
        Ok(to)
    }

    /// Move the samples of `self.index` (a prefix of what was accepted) to their final place,
    /// write the moov and the mdat header in front of them, and cut the output at `total`.
    /// The output is at least `total` bytes long.
    fn rewrite(&mut self, moov: &[u8], total: u64) -> Result<()> {
        let ctx = || "finishing MP4: moving the media data behind the index".to_string();
        let start = self.head_end + moov.len() as u64 + MDAT_HEADER;
        let to = self.place_pieces(start).ctx(ctx)?;
        debug_assert_eq!(to, total);

        // Cut the output at the end of the media data. If that fails, the bytes after it are
        // covered: by a `free` box, or (fewer than 8 bytes) by the mdat.
        let ctx = || "finishing MP4: writing the index".to_string();
        let file_len = self.out.seek(SeekFrom::End(0)).ctx(ctx)?;
        let mut mdat_end = total;
        let mut end = total;
        if file_len > total && self.out.set_len(total).is_err() {
            end = file_len;
            if file_len - total >= 8 {
                self.out.seek(SeekFrom::Start(total)).ctx(ctx)?;
                self.out.write_all(&free_header(file_len - total)).ctx(ctx)?;
            } else {
                mdat_end = file_len;
            }
        }
        self.out.seek(SeekFrom::Start(self.head_end)).ctx(ctx)?;
        self.out.write_all(moov).ctx(ctx)?;
        self.out.write_all(&mdat_header(mdat_end - (self.head_end + moov.len() as u64))).ctx(ctx)?;
        self.out.seek(SeekFrom::Start(end)).ctx(ctx)?;
        self.out.flush().ctx(ctx)?;
        if self.durable {
            self.out.sync().ctx(|| "finishing MP4: syncing to the disk".to_string())?;
        }
        self.faststart = true;
        self.bytes_written = end - self.base;
        Ok(())
    }
}

/// `len` bytes of `out` from offset `at`.
fn read_at<R: io::Read + Seek>(out: &mut R, at: u64, len: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    let mut buf = vec![0u8; len];
    out.seek(SeekFrom::Start(at))?;
    out.read_exact(&mut buf)?;
    Ok(buf)
}

/// An mdat header with a 64-bit size covering `total` bytes (header included).
fn mdat_header(total: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&1u32.to_be_bytes());
    h[4..8].copy_from_slice(b"mdat");
    h[8..16].copy_from_slice(&total.to_be_bytes());
    h
}

/// The header of a `free` box of `size` bytes (at least 8).
fn free_header(size: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(16);
    match u32::try_from(size) {
        Ok(s) => h.extend_from_slice(&s.to_be_bytes()),
        Err(_) => h.extend_from_slice(&1u32.to_be_bytes()),
    }
    h.extend_from_slice(b"free");
    if u32::try_from(size).is_err() {
        h.extend_from_slice(&size.to_be_bytes());
    }
    h
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

/// A full disk or a file-size limit.
fn is_full(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge)
        || matches!(e.raw_os_error(), Some(27 | 28))
}

#[cfg(test)]
mod interleave_tests;
#[cfg(test)]
mod tests;
