//! Finishing: the fragmented file becomes `ftyp | moov | mdat` (see the module documentation
//! of [`super`]): written beside the output and renamed over it where the output has a
//! replacement, else rewritten in place.

use std::io::{self, Seek, SeekFrom, Write};

use super::{ftyp, Mp4Sink, Mp4Writer, MDAT_HEADER};
use crate::error::{Error, IoContext, Result};
use crate::mux::mp4::audio::AudioTrak;
use crate::mux::mp4::index::{MoovExtra, SampleIndex};

/// Buffer size for moving or copying media data at finish.
const MOVE_CHUNK: usize = 4 << 20;

/// One run of sample bytes and where it goes in the finished file.
#[derive(Debug, Clone, Copy)]
struct Move {
    from: u64,
    to: u64,
    len: u64,
}

/// A run of the finished file's sample bytes: in the output (a fragment's mdat) or in memory
/// (the video fragment being collected, or the audio not yet written).
#[derive(Debug, Clone, Copy)]
enum Piece {
    Disk { at: u64, len: u64 },
    Memory { len: usize, audio: bool },
}

/// A chunk of the finished file: its piece of bytes, how many samples, of which track.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    piece: Piece,
    samples: u32,
    audio: bool,
}

impl Chunk {
    fn len(&self) -> u64 {
        match self.piece {
            Piece::Disk { len, .. } => len,
            Piece::Memory { len, .. } => len as u64,
        }
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
        self.chunks(&self.index).into_iter().map(|c| c.piece).collect()
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
    /// accepted) and the audio that goes with them, in order: per fragment on disk its video
    /// then its audio, then the video still in memory, then the audio.
    fn chunks(&self, index: &SampleIndex) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let (mut v_next, v_end) = (0usize, index.len() as usize);
        let (mut a_next, a_end) = (0usize, self.audio_keep(index));
        let v_sizes = &index.sizes;
        let a_sizes: &[u32] = self.audio.as_deref().map_or(&[], |a| &a.index.sizes);
        let bytes = |sizes: &[u32]| sizes.iter().map(|&s| u64::from(s)).sum::<u64>();
        for w in &self.written {
            let n = (w.samples as usize).min(v_end - v_next);
            if n > 0 {
                let len = bytes(&v_sizes[v_next..v_next + n]);
                chunks.push(Chunk { piece: Piece::Disk { at: w.payload_at, len }, samples: n as u32, audio: false });
                v_next += n;
            }
            let n = (w.audio_samples as usize).min(a_end - a_next);
            if n > 0 {
                let len = bytes(&a_sizes[a_next..a_next + n]);
                let at = w.payload_at + w.payload_len;
                chunks.push(Chunk { piece: Piece::Disk { at, len }, samples: n as u32, audio: true });
                a_next += n;
            }
        }
        let n = v_end - v_next;
        if n > 0 {
            let len = bytes(&v_sizes[v_next..v_end]) as usize;
            chunks.push(Chunk { piece: Piece::Memory { len, audio: false }, samples: n as u32, audio: false });
        }
        let n = a_end - a_next;
        if n > 0 {
            let len = bytes(&a_sizes[a_next..a_end]) as usize;
            chunks.push(Chunk { piece: Piece::Memory { len, audio: true }, samples: n as u32, audio: true });
        }
        chunks
    }

    /// The bytes of a piece in memory.
    fn memory(&self, len: usize, audio: bool) -> &[u8] {
        match self.audio.as_deref() {
            Some(a) if audio => &a.pending[..len],
            _ => &self.collecting.data[..len],
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
                Piece::Memory { len, audio } => new.write_all(self.memory(len, audio))?,
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

    /// Move the samples of `self.index` (a prefix of what was accepted) to their final place,
    /// write the moov and the mdat header in front of them, and cut the output at `total`.
    /// The output is at least `total` bytes long.
    fn rewrite(&mut self, moov: &[u8], total: u64) -> Result<()> {
        let ctx = || "finishing MP4: moving the media data behind the index".to_string();
        let mut to = self.head_end + moov.len() as u64 + MDAT_HEADER;
        let mut moves = Vec::new();
        let mut in_memory = Vec::new();
        for piece in self.pieces() {
            match piece {
                Piece::Disk { at, len } => {
                    moves.push(Move { from: at, to, len });
                    to += len;
                }
                Piece::Memory { len, audio } => {
                    in_memory.push((to, len, audio));
                    to += len as u64;
                }
            }
        }
        // Fragment headers are dropped, so each fragment moves less far forward (or further
        // back) than the one before: move the ones going back first, front to back, then the
        // ones going forward, back to front. No move then overwrites bytes still to be moved.
        let mut buf = vec![0u8; moves.iter().map(|m| m.len).max().unwrap_or(0).min(MOVE_CHUNK as u64) as usize];
        for m in moves.iter().filter(|m| m.to < m.from) {
            move_forward_order(&mut self.out, *m, &mut buf).ctx(ctx)?;
        }
        for m in moves.iter().rev().filter(|m| m.to > m.from) {
            move_backward_order(&mut self.out, *m, &mut buf).ctx(ctx)?;
        }
        // The samples still in memory (after every sample on disk).
        for (at, len, audio) in in_memory {
            self.out.seek(SeekFrom::Start(at)).ctx(ctx)?;
            let data = match self.audio.as_deref() {
                Some(a) if audio => &a.pending[..len],
                _ => &self.collecting.data[..len],
            };
            self.out.write_all(data).ctx(ctx)?;
        }
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

/// Copy `m.len` bytes from `m.from` to `m.to < m.from`, first chunk first.
fn move_forward_order<W: Mp4Sink>(out: &mut W, m: Move, buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < m.len {
        let n = (m.len - done).min(buf.len() as u64) as usize;
        out.seek(SeekFrom::Start(m.from + done))?;
        out.read_exact(&mut buf[..n])?;
        out.seek(SeekFrom::Start(m.to + done))?;
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

/// Copy `m.len` bytes from `m.from` to `m.to > m.from`, last chunk first.
fn move_backward_order<W: Mp4Sink>(out: &mut W, m: Move, buf: &mut [u8]) -> std::io::Result<()> {
    let mut left = m.len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        left -= n as u64;
        out.seek(SeekFrom::Start(m.from + left))?;
        out.read_exact(&mut buf[..n])?;
        out.seek(SeekFrom::Start(m.to + left))?;
        out.write_all(&buf[..n])?;
    }
    Ok(())
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
mod tests;
