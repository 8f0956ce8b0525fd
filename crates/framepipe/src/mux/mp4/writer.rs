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
//! [`Muxer::finish`] the `moov` is built in memory, the file is first extended by the moov's
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
//! Timestamps: packets carry pts/dts in frame units. The media timescale is `fps.num * m` and
//! one frame lasts `fps.den * m` ticks (smallest `m` giving a timescale >= 10000, so 30000/1001
//! stays exact, unless a frame would then last more than [`MAX_FRAME_TICKS`]; see
//! [`media_timing`]). Decode times are `(dts - dts_first) * duration`, composition offsets
//! `(pts - dts) * duration` (ctts version 0, never negative), and an edit list starts the
//! presentation at the first presented frame.
//!
//! The movie timescale (mvhd, tkhd, elst segment duration) is 1000 (milliseconds) up to 1000
//! fps, where a frame lasts at least 1 ms: the presented duration is rounded to the nearest
//! millisecond, off by less than half a frame, so the edit list still covers every frame and is
//! never 0. Above 1000 fps a millisecond is coarser than a frame (ffmpeg then cut the
//! presentation at the rounded edit end and dropped frames), so the movie timescale is the
//! media timescale and every duration is exact.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};

use super::boxes::{self, BoxBuf};
use crate::encode::{AvcConfig, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::{Muxer, VideoTrack};

/// Movie (mvhd/tkhd/elst) timescale up to 1000 fps: milliseconds (see the module docs).
const MOVIE_TIMESCALE_MS: u32 = 1000;
/// Minimum media timescale, where [`MAX_FRAME_TICKS`] allows.
const MIN_MEDIA_TIMESCALE: u32 = 10_000;
/// Largest composition offset (ctts), in media ticks, that ffmpeg's MP4 reader accepts: for a
/// larger one (`|offset| > 1 << 28`, libavformat/mov.c `mov_read_ctts`) it says "CTTS invalid"
/// and discards the whole table, so B-frames get their decode times as presentation times and
/// the edit list drops some of them.
const MAX_CTS_TICKS: u64 = 1 << 28;
/// Longest frame, in media ticks, that [`media_timing`] picks, so that a composition offset of
/// up to 64 frames stays within [`MAX_CTS_TICKS`]. x264 reorders by at most 16 B-frames plus
/// the pyramid's delay, and [`super::concat`] adds a decode delay of at most 16 frames.
pub const MAX_FRAME_TICKS: u32 = 1 << 22;
/// Largest frame-rate denominator (in lowest terms) an MP4 track takes: one frame lasts at
/// least `den` media ticks whatever the timescale (`num/den` in lowest terms needs a timescale
/// that is a multiple of `num`), and must last at most [`MAX_FRAME_TICKS`].
pub const MAX_FPS_DEN: u32 = MAX_FRAME_TICKS;
/// Longest frame an MP4 track takes, in seconds: one hour (fps >= 1/3600). The ffmpeg tool
/// takes a packet whose decode or presentation time is more than 30 hours (its
/// `-dts_error_threshold`) from the decode time it expects for an error: it drops that time
/// and guesses one, and a transcode or `ffmpeg -i x.mp4 -f null -` loses frames (1 of 12 came
/// out at 1/108001 fps; 12 of 13 at 1/50000 fps, where B-frames are presented 5 frames, 69
/// hours, after their decode time). x264 presents a frame at most 19 frames after its decode
/// time (16 B-frames plus the pyramid's delay of 2), 19 hours at one hour a frame.
pub const MAX_FRAME_SECONDS: u32 = 3600;

/// Check that an MP4 track can carry the frame rate `fps` exactly and ffmpeg plays every frame:
/// a frame lasts at most [`MAX_FRAME_SECONDS`] (fps >= 1/3600) and the denominator in lowest
/// terms is at most [`MAX_FPS_DEN`] (4194304).
pub fn check_fps(fps: crate::rational::Rational) -> Result<()> {
    if fps.num == 0 || fps.den == 0 {
        return Err(Error::parameter(format!(
            "frame rate must be positive, got {fps}"
        )));
    }
    let g = gcd(fps.num, fps.den);
    let (num, den) = (fps.num / g, fps.den / g);
    if u64::from(den) > u64::from(MAX_FRAME_SECONDS) * u64::from(num) {
        return Err(Error::parameter(format!(
            "frame rate {fps} is too slow for MP4: a frame may last at most one hour, so fps must \
             be at least 1/{MAX_FRAME_SECONDS} (ffmpeg loses frames decoded more than 30 hours \
             before they are shown)"
        )));
    }
    if den > MAX_FPS_DEN {
        return Err(Error::parameter(format!(
            "frame rate {fps} cannot be stored exactly in MP4: the denominator of the reduced \
             fraction must be at most {MAX_FPS_DEN} (a frame then lasts at most {MAX_FPS_DEN} ticks \
             of the track's timescale, which players need to place B-frames)"
        )));
    }
    Ok(())
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

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

/// Media timescale and per-frame duration for a frame rate `num/den`: `(num*m, den*m)` with the
/// smallest `m >= 1` making the timescale at least 10000, as far as the timescale stays in
/// `u32` and a frame within [`MAX_FRAME_TICKS`] ticks (slow rates: 1/3600 fps gets
/// `(1165, 4194000)`); `m = 1` if even that is too long (refused by [`check_fps`]).
pub(crate) fn media_timing(num: u32, den: u32) -> (u32, u32) {
    let num = num.max(1);
    let den = den.max(1);
    let want = MIN_MEDIA_TIMESCALE.div_ceil(num);
    let m = want.min(u32::MAX / num).min(MAX_FRAME_TICKS / den).max(1);
    (num * m, den * m)
}

/// The per-sample index kept in memory while writing, plus the track timing. Everything the
/// `moov` needs; building it is a pure function of this and the first sample's file offset.
#[derive(Debug, Clone)]
pub(crate) struct SampleIndex {
    /// Media timescale (ticks per second) and ticks per frame.
    pub(crate) timescale: u32,
    pub(crate) sample_duration: u32,
    /// Frame rate, for the movie-timescale durations.
    pub(crate) fps_num: u32,
    pub(crate) fps_den: u32,
    /// Samples per chunk (about one second of video).
    pub(crate) samples_per_chunk: u32,
    /// Size of each sample.
    pub(crate) sizes: Vec<u32>,
    /// 1-based numbers of the keyframe samples.
    pub(crate) keyframes: Vec<u32>,
    /// Run lengths of decode-time deltas between consecutive samples, in frames (one entry per
    /// sample but the last, whose duration is one frame).
    pub(crate) dts_delta_runs: Vec<(u32, u32)>,
    /// Run lengths of `pts - dts`, in frames.
    pub(crate) cts_runs: Vec<(u32, u32)>,
    pub(crate) first_dts: i64,
    pub(crate) last_dts: i64,
    pub(crate) min_pts: i64,
    pub(crate) max_pts: i64,
}

/// Durations and offsets derived from the index, in the units the boxes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// Sum of the sample durations (mdhd), in media ticks.
    pub(crate) media_duration: u64,
    /// Movie timescale (mvhd): 1000 up to 1000 fps, else the media timescale.
    pub(crate) movie_timescale: u32,
    /// Presented duration in movie ticks: mvhd, tkhd, elst segment_duration.
    pub(crate) movie_duration: u64,
    /// Media time of the first presented frame (elst media_time).
    pub(crate) media_time: u64,
}

impl SampleIndex {
    pub(crate) fn new(fps_num: u32, fps_den: u32) -> Self {
        let (timescale, sample_duration) = media_timing(fps_num, fps_den);
        let samples_per_chunk = fps_num.div_ceil(fps_den.max(1)).max(1);
        SampleIndex {
            timescale,
            sample_duration,
            fps_num,
            fps_den,
            samples_per_chunk,
            sizes: Vec::new(),
            keyframes: Vec::new(),
            dts_delta_runs: Vec::new(),
            cts_runs: Vec::new(),
            first_dts: 0,
            last_dts: 0,
            min_pts: 0,
            max_pts: 0,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.sizes.len() as u64
    }

    /// Check a packet's sizes and timestamps against the samples so far (without recording it).
    /// `pending` holds the pts values not below the last dts (for the uniqueness check).
    fn check(&self, packet: &Packet, pending: &BTreeSet<i64>) -> Result<()> {
        let n = self.len();
        let err = |msg: String| Err(Error::parameter(format!("MP4 packet {n}: {msg}")));
        let (pts, dts) = (packet.pts, packet.dts);
        if n >= u64::from(u32::MAX) {
            return err("too many samples for one MP4 track".into());
        }
        if packet.data.is_empty() {
            return err("empty packet".into());
        }
        if u32::try_from(packet.data.len()).is_err() {
            return err(format!(
                "packet of {} bytes does not fit an MP4 sample",
                packet.data.len()
            ));
        }
        check_avcc(&packet.data).or_else(err)?;
        if pts < 0 {
            return err(format!("pts {pts} is negative"));
        }
        if dts > pts {
            return err(format!("dts {dts} is after pts {pts}"));
        }
        let dur = u64::from(self.sample_duration);
        // Keep every timestamp difference, in media ticks, far inside 64 bits.
        let limit = (1u64 << 61) / dur;
        if pts.unsigned_abs() > limit || dts.unsigned_abs() > limit {
            return err(format!("timestamps pts {pts} / dts {dts} are out of range"));
        }
        let cts = (pts - dts) as u64;
        if cts.saturating_mul(dur) > MAX_CTS_TICKS {
            return err(format!(
                "pts {pts} is too far after dts {dts}: {cts} frames of {dur} ticks is more than the \
                 {MAX_CTS_TICKS} ticks players take for a composition offset"
            ));
        }
        if n > 0 {
            if dts <= self.last_dts {
                return err(format!(
                    "dts {dts} is not after the previous packet's dts {} (packets must come in decode order)",
                    self.last_dts
                ));
            }
            let delta = (dts - self.last_dts) as u64;
            // stts holds 32 bits; ffmpeg takes deltas above ~2^32 - 480000 for negative ones.
            if delta.saturating_mul(dur) > i32::MAX as u64 {
                return err(format!("dts jumps from {} to {dts}", self.last_dts));
            }
            if pending.contains(&pts) {
                return err(format!("pts {pts} was already used by an earlier packet"));
            }
        }
        Ok(())
    }

    /// Record a packet already checked with [`SampleIndex::check`] and written.
    fn push(&mut self, packet: &Packet) {
        self.push_sample(
            packet.data.len() as u32,
            packet.pts,
            packet.dts,
            packet.keyframe,
        );
    }

    fn push_sample(&mut self, size: u32, pts: i64, dts: i64, keyframe: bool) {
        let n = self.sizes.len();
        if n == 0 {
            self.first_dts = dts;
            self.min_pts = pts;
            self.max_pts = pts;
        } else {
            boxes::push_run(&mut self.dts_delta_runs, (dts - self.last_dts) as u32);
            self.min_pts = self.min_pts.min(pts);
            self.max_pts = self.max_pts.max(pts);
        }
        self.last_dts = dts;
        self.sizes.push(size);
        if keyframe {
            self.keyframes.push(n as u32 + 1);
        }
        boxes::push_run(&mut self.cts_runs, (pts - dts) as u32);
    }

    /// `(pts, dts)` of every sample in decode order, rebuilt from the run lengths.
    fn timestamps(&self) -> Vec<(i64, i64)> {
        let expand = |runs: &[(u32, u32)]| {
            runs.iter()
                .flat_map(|&(count, v)| std::iter::repeat_n(i64::from(v), count as usize))
                .collect::<Vec<i64>>()
        };
        let ctss = expand(&self.cts_runs);
        let deltas = expand(&self.dts_delta_runs);
        let mut dts = self.first_dts;
        let mut v = Vec::with_capacity(self.sizes.len());
        for (i, cts) in ctss.into_iter().enumerate().take(self.sizes.len()) {
            if i > 0 {
                dts += deltas[i - 1];
            }
            v.push((dts + cts, dts));
        }
        v
    }

    /// The lengths `k >= 1`, ascending, of the decode-order prefixes whose presentation times
    /// are exactly `min_pts .. min_pts + k - 1` (no gap: every presented frame up to the last
    /// one is there). pts values are unique, so a prefix is contiguous iff its pts range spans
    /// exactly `k` values.
    pub(crate) fn contiguous_prefixes(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (i, (pts, _)) in self.timestamps().into_iter().enumerate() {
            lo = lo.min(pts);
            hi = hi.max(pts);
            if (hi - lo) as u64 == i as u64 {
                out.push(i + 1);
            }
        }
        out
    }

    /// The index of the first `k` samples only.
    pub(crate) fn prefix(&self, k: usize) -> SampleIndex {
        let mut p = SampleIndex::new(self.fps_num, self.fps_den);
        let mut keys = self.keyframes.iter().peekable();
        for (i, (pts, dts)) in self.timestamps().into_iter().enumerate().take(k) {
            let key = keys.next_if(|&&s| s as usize == i + 1).is_some();
            p.push_sample(self.sizes[i], pts, dts, key);
        }
        p
    }

    /// The movie timescale: milliseconds while a frame lasts at least 1 ms (fps <= 1000), else
    /// the media timescale (see the module docs).
    pub(crate) fn movie_timescale(&self) -> u32 {
        let ms_per_frame_ok =
            u64::from(self.fps_num) <= u64::from(MOVIE_TIMESCALE_MS) * u64::from(self.fps_den);
        if ms_per_frame_ok {
            MOVIE_TIMESCALE_MS
        } else {
            self.timescale
        }
    }

    pub(crate) fn timing(&self) -> Timing {
        let movie_timescale = self.movie_timescale();
        if self.sizes.is_empty() {
            return Timing {
                media_duration: 0,
                movie_timescale,
                movie_duration: 0,
                media_time: 0,
            };
        }
        let dur = u64::from(self.sample_duration);
        let media_duration = (self.last_dts - self.first_dts) as u64 * dur + dur;
        let frames = (self.max_pts - self.min_pts) as u128 + 1;
        let movie_duration = if movie_timescale == self.timescale {
            // Exact: whole frames of media ticks.
            frames * u128::from(dur)
        } else {
            // frames * den / num seconds, in movie ticks, rounded to nearest (half up). A frame
            // lasts at least one tick here, so this is off by less than half a frame and never
            // 0; kept rather than rounding up so that files stay as they were.
            let num = u128::from(self.fps_num.max(1));
            let scaled = frames * u128::from(movie_timescale) * u128::from(self.fps_den);
            ((scaled * 2 + num) / (2 * num)).max(1)
        };
        let movie_duration = u64::try_from(movie_duration).unwrap_or(u64::MAX);
        let media_time = (self.min_pts - self.first_dts) as u64 * dur;
        Timing {
            media_duration,
            movie_timescale,
            movie_duration,
            media_time,
        }
    }

    /// File offsets of the chunks when the first sample starts at `payload_start`.
    pub(crate) fn chunk_offsets(&self, payload_start: u64) -> Vec<u64> {
        let spc = self.samples_per_chunk.max(1) as usize;
        let mut offsets = Vec::with_capacity(self.sizes.len().div_ceil(spc));
        let mut pos = payload_start;
        for chunk in self.sizes.chunks(spc) {
            offsets.push(pos);
            pos += chunk.iter().map(|&s| u64::from(s)).sum::<u64>();
        }
        offsets
    }

    /// Total payload bytes.
    pub(crate) fn payload_len(&self) -> u64 {
        self.sizes.iter().map(|&s| u64::from(s)).sum()
    }

    /// The complete `moov` box with the first sample at file offset `payload_start`.
    /// `udta` is the movie's metadata box (see [`super::metadata`]), or empty.
    pub(crate) fn moov(&self, track: &VideoTrack, udta: &[u8], payload_start: u64) -> Vec<u8> {
        let t = self.timing();
        let mut b = BoxBuf::new();
        let moov = b.open(b"moov");

        // mvhd
        let v1 = t.movie_duration > u64::from(u32::MAX);
        let o = b.open_full(b"mvhd", u8::from(v1), 0);
        time_and_duration(&mut b, v1, t.movie_timescale, t.movie_duration);
        b.u32(0x0001_0000)
            .u16(0x0100)
            .zeros(10)
            .identity_matrix()
            .zeros(24)
            .u32(2);
        b.close(o);

        let trak = b.open(b"trak");
        // tkhd: enabled | in_movie | in_preview
        let o = b.open_full(b"tkhd", u8::from(v1), 0x7);
        if v1 {
            b.u64(0).u64(0).u32(1).u32(0).u64(t.movie_duration);
        } else {
            b.u32(0).u32(0).u32(1).u32(0).u32(t.movie_duration as u32);
        }
        b.zeros(8).u16(0).u16(0).u16(0).u16(0).identity_matrix();
        b.u32(track.width << 16).u32(track.height << 16);
        b.close(o);

        // edts/elst: one edit starting the presentation at the first presented frame.
        if !self.sizes.is_empty() {
            let edts = b.open(b"edts");
            let v1 = t.movie_duration > u64::from(u32::MAX) || t.media_time > i32::MAX as u64;
            let o = b.open_full(b"elst", u8::from(v1), 0);
            b.u32(1);
            if v1 {
                b.u64(t.movie_duration).i64(t.media_time as i64);
            } else {
                b.u32(t.movie_duration as u32).i32(t.media_time as i32);
            }
            b.u16(1).u16(0);
            b.close(o);
            b.close(edts);
        }

        let mdia = b.open(b"mdia");
        let v1 = t.media_duration > u64::from(u32::MAX);
        let o = b.open_full(b"mdhd", u8::from(v1), 0);
        time_and_duration(&mut b, v1, self.timescale, t.media_duration);
        b.u16(language_code(b"und")).u16(0);
        b.close(o);

        let o = b.open_full(b"hdlr", 0, 0);
        b.u32(0).bytes(b"vide").zeros(12).bytes(b"VideoHandler\0");
        b.close(o);

        let minf = b.open(b"minf");
        let o = b.open_full(b"vmhd", 0, 1);
        b.u16(0).zeros(6);
        b.close(o);
        let dinf = b.open(b"dinf");
        let dref = b.open_full(b"dref", 0, 0);
        b.u32(1);
        let url = b.open_full(b"url ", 0, 1);
        b.close(url);
        b.close(dref);
        b.close(dinf);

        let stbl = b.open(b"stbl");
        let stsd = b.open_full(b"stsd", 0, 0);
        b.u32(1);
        sample_entry(&mut b, track);
        b.close(stsd);

        let dur = self.sample_duration;
        let mut stts: Vec<(u32, u32)> = self
            .dts_delta_runs
            .iter()
            .map(|&(c, d)| (c, d * dur))
            .collect();
        if !self.sizes.is_empty() {
            match stts.last_mut() {
                Some((c, d)) if *d == dur => *c += 1,
                _ => stts.push((1, dur)),
            }
        }
        boxes::stts(&mut b, &stts);
        if self.cts_runs.iter().any(|&(_, off)| off != 0) {
            let ctts: Vec<(u32, u32)> = self
                .cts_runs
                .iter()
                .map(|&(c, off)| (c, off * dur))
                .collect();
            boxes::ctts(&mut b, &ctts);
        }
        if self.keyframes.len() != self.sizes.len() {
            boxes::stss(&mut b, &self.keyframes);
        }
        boxes::stsc(&mut b, self.len(), self.samples_per_chunk);
        boxes::stsz(&mut b, &self.sizes);
        boxes::chunk_offsets(&mut b, &self.chunk_offsets(payload_start));
        b.close(stbl);
        b.close(minf);
        b.close(mdia);
        b.close(trak);
        b.bytes(udta);
        b.close(moov);
        b.into_vec()
    }

    /// The moov for a faststart layout: the payload moves forward by the moov's own size, which
    /// depends on whether `co64` is needed, so iterate until the size is stable.
    /// Returns the moov; the payload then starts at `payload_start + moov.len()`.
    pub(crate) fn moov_shifted(
        &self,
        track: &VideoTrack,
        udta: &[u8],
        payload_start: u64,
    ) -> Vec<u8> {
        let mut moov = self.moov(track, udta, payload_start);
        loop {
            let next = self.moov(track, udta, payload_start + moov.len() as u64);
            if next.len() == moov.len() {
                return next;
            }
            // Sizes only grow (stco -> co64), so this ends after at most two rounds.
            moov = next;
        }
    }
}

/// creation_time, modification_time, timescale, duration (mvhd/mdhd layout).
fn time_and_duration(b: &mut BoxBuf, v1: bool, timescale: u32, duration: u64) {
    if v1 {
        b.u64(0).u64(0).u32(timescale).u64(duration);
    } else {
        b.u32(0).u32(0).u32(timescale).u32(duration as u32);
    }
}

/// ISO-639-2/T language packed as three 5-bit letters.
fn language_code(lang: &[u8; 3]) -> u16 {
    lang.iter()
        .fold(0u16, |acc, &c| (acc << 5) | (u16::from(c) - 0x60))
}

/// The `avc1` sample entry with avcC, colr (nclx) and pasp.
fn sample_entry(b: &mut BoxBuf, track: &VideoTrack) {
    let o = b.open(b"avc1");
    b.zeros(6).u16(1); // reserved, data_reference_index
    b.u16(0).u16(0).zeros(12); // pre_defined, reserved, pre_defined
    b.u16(track.width as u16).u16(track.height as u16);
    b.u32(0x0048_0000).u32(0x0048_0000); // 72 dpi
    b.u32(0).u16(1); // reserved, frame_count
    b.zeros(32); // compressorname: empty
    b.u16(0x0018).i16(-1);

    avcc(b, &track.avc);

    let c = track.color;
    let o2 = b.open(b"colr");
    b.bytes(b"nclx")
        .u16(c.primaries)
        .u16(c.transfer)
        .u16(c.matrix);
    b.u8(if c.full_range { 0x80 } else { 0 });
    b.close(o2);

    let o2 = b.open(b"pasp");
    b.u32(1).u32(1);
    b.close(o2);
    b.close(o);
}

/// The `avcC` box (AVCDecoderConfigurationRecord).
fn avcc(b: &mut BoxBuf, avc: &AvcConfig) {
    let (profile, compat, level) = avc.profile_compat_level();
    let o = b.open(b"avcC");
    b.u8(1).u8(profile).u8(compat).u8(level);
    b.u8(0xfc | 3); // lengthSizeMinusOne = 3
    b.u8(0xe0 | avc.sps.len() as u8);
    for sps in &avc.sps {
        b.u16(sps.len() as u16).bytes(sps);
    }
    b.u8(avc.pps.len() as u8);
    for pps in &avc.pps {
        b.u16(pps.len() as u16).bytes(pps);
    }
    if matches!(profile, 100 | 110 | 122 | 144 | 244) {
        let (chroma, luma8, chroma8) = sps_format(&avc.sps[0]).unwrap_or((1, 0, 0));
        b.u8(0xfc | (chroma & 3))
            .u8(0xf8 | (luma8 & 7))
            .u8(0xf8 | (chroma8 & 7))
            .u8(0);
    }
    b.close(o);
}

/// chroma_format_idc, bit_depth_luma_minus8, bit_depth_chroma_minus8 of a High-family SPS
/// (NAL header included). `None` if the SPS is too short or not a High-family profile.
pub(crate) fn sps_format(sps: &[u8]) -> Option<(u8, u8, u8)> {
    let rbsp = sps_rbsp(sps)?;
    let profile = *rbsp.first()?;
    if !high_profile(profile) {
        return None;
    }
    let mut r = BitReader {
        data: rbsp.get(3..)?,
        pos: 0,
    };
    r.ue()?; // seq_parameter_set_id
    let chroma = r.ue()?;
    if chroma == 3 {
        r.bit()?; // separate_colour_plane_flag
    }
    let luma8 = r.ue()?;
    let chroma8 = r.ue()?;
    if chroma > 3 || luma8 > 6 || chroma8 > 6 {
        return None;
    }
    Some((chroma as u8, luma8 as u8, chroma8 as u8))
}

/// An SPS NAL unit's payload without its header byte and emulation prevention bytes
/// (00 00 03 -> 00 00).
fn sps_rbsp(sps: &[u8]) -> Option<Vec<u8>> {
    let mut rbsp = Vec::with_capacity(sps.len());
    let mut zeros = 0;
    for &byte in sps.get(1..)? {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        rbsp.push(byte);
    }
    Some(rbsp)
}

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn high_profile(profile: u8) -> bool {
    matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135 | 144
    )
}

/// `max_num_reorder_frames` of an SPS (H.264 E.1.1, VUI bitstream restriction): at most how
/// many frames precede any frame in decode order and follow it in presentation order. `None`
/// if the SPS does not say (no VUI or no bitstream restriction) or cannot be parsed.
pub(crate) fn sps_max_num_reorder_frames(sps: &[u8]) -> Option<u32> {
    let rbsp = sps_rbsp(sps)?;
    let profile = *rbsp.first()?;
    let mut r = BitReader {
        data: rbsp.get(3..)?,
        pos: 0,
    };
    r.ue()?; // seq_parameter_set_id
    if high_profile(profile) {
        let chroma = r.ue()?;
        if chroma == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            // seq_scaling_matrix_present_flag
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if r.bit()? == 1 {
                    r.skip_scaling_list(if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        // pic_order_cnt_type
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let n = r.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                r.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    r.ue()?; // pic_width_in_mbs_minus1
    r.ue()?; // pic_height_in_map_units_minus1
    if r.bit()? == 0 {
        r.bit()?; // frame_mbs_only_flag 0: mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    if r.bit()? == 1 {
        for _ in 0..4 {
            r.ue()?; // frame_crop_*_offset
        }
    }
    if r.bit()? == 0 {
        return None; // no VUI
    }
    if r.bit()? == 1 && r.bits(8)? == 255 {
        r.bits(32)?; // aspect_ratio_idc Extended_SAR: sar_width, sar_height
    }
    if r.bit()? == 1 {
        r.bit()?; // overscan_appropriate_flag
    }
    if r.bit()? == 1 {
        r.bits(4)?; // video_format, video_full_range_flag
        if r.bit()? == 1 {
            r.bits(24)?; // colour_primaries, transfer_characteristics, matrix_coefficients
        }
    }
    if r.bit()? == 1 {
        r.ue()?; // chroma_sample_loc_type_top_field
        r.ue()?; // chroma_sample_loc_type_bottom_field
    }
    if r.bit()? == 1 {
        r.bits(32)?; // num_units_in_tick
        r.bits(32)?; // time_scale
        r.bit()?; // fixed_frame_rate_flag
    }
    let nal_hrd = r.bit()? == 1;
    if nal_hrd {
        r.skip_hrd()?;
    }
    let vcl_hrd = r.bit()? == 1;
    if vcl_hrd {
        r.skip_hrd()?;
    }
    if nal_hrd || vcl_hrd {
        r.bit()?; // low_delay_hrd_flag
    }
    r.bit()?; // pic_struct_present_flag
    if r.bit()? == 0 {
        return None; // no bitstream_restriction
    }
    r.bit()?; // motion_vectors_over_pic_boundaries_flag
    for _ in 0..4 {
        r.ue()?; // max_bytes_per_pic_denom, max_bits_per_mb_denom, log2_max_mv_length_*
    }
    let reorder = r.ue()?;
    let dpb = r.ue()?; // max_dec_frame_buffering
    (reorder <= dpb && dpb <= 16).then_some(reorder)
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }
    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut v = 0u64;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from((1u64 << zeros) - 1 + v).ok()
    }
    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
    /// `n <= 32` bits, most significant first.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }
    /// scaling_list() of `size` coefficients (H.264 7.3.2.1.1.1).
    fn skip_scaling_list(&mut self, size: usize) -> Option<()> {
        let (mut last, mut next) = (8i64, 8i64);
        for _ in 0..size {
            if next != 0 {
                next = (last + self.se()?).rem_euclid(256);
            }
            if next != 0 {
                last = next;
            }
        }
        Some(())
    }
    /// hrd_parameters() (H.264 E.1.2).
    fn skip_hrd(&mut self) -> Option<()> {
        let cpb_cnt = self.ue()?;
        if cpb_cnt > 31 {
            return None;
        }
        self.bits(8)?; // bit_rate_scale, cpb_size_scale
        for _ in 0..=cpb_cnt {
            self.ue()?; // bit_rate_value_minus1
            self.ue()?; // cpb_size_value_minus1
            self.bit()?; // cbr_flag
        }
        self.bits(20)?; // four 5-bit delays/lengths
        Some(())
    }
}

/// A packet must be NAL units with 4-byte big-endian length prefixes that exactly fill it.
fn check_avcc(data: &[u8]) -> std::result::Result<(), String> {
    let mut i = 0usize;
    while i < data.len() {
        let Some(len) = data.get(i..i + 4) else {
            return Err(
                "packet is not in 4-byte length-prefixed (AVCC) form: truncated length".into(),
            );
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len == 0 || len > data.len() - i - 4 {
            return Err(format!(
                "packet is not in 4-byte length-prefixed (AVCC) form: NAL length {len} at byte {i} of {}",
                data.len()
            ));
        }
        i += 4 + len;
    }
    Ok(())
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
        return Err(Error::parameter(format!(
            "H.264 config needs 1 to 31 SPS, got {}",
            avc.sps.len()
        )));
    }
    if avc.pps.is_empty() || avc.pps.len() > 255 {
        return Err(Error::parameter(format!(
            "H.264 config needs 1 to 255 PPS, got {}",
            avc.pps.len()
        )));
    }
    if avc.sps.iter().any(|s| s.len() < 4 || s.len() > 65535)
        || avc.pps.iter().any(|p| p.is_empty() || p.len() > 65535)
    {
        return Err(Error::parameter(
            "H.264 SPS/PPS of an invalid length (SPS needs at least 4 bytes)",
        ));
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
        let readable = out
            .seek(SeekFrom::Start(base))
            .and_then(|_| out.read_exact(&mut back))
            .map(|_| back[..] == head[..8]);
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
        out.seek(SeekFrom::Start(base + head.len() as u64))
            .ctx(|| "writing MP4 header".into())?;
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
        let k = self
            .index
            .contiguous_prefixes()
            .last()
            .copied()
            .unwrap_or(0);
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
        let file_len = self
            .out
            .seek(SeekFrom::End(0))
            .ctx(|| "finishing MP4: finding the end of the output".into())?;
        let moov = self
            .index
            .moov_shifted(&self.track, &self.udta, payload_start);
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
            let chunk_start = chunk_end
                .saturating_sub(SHIFT_CHUNK as u64)
                .max(payload_start);
            let chunk = &mut buf[..(chunk_end - chunk_start) as usize];
            let read = self
                .out
                .seek(SeekFrom::Start(chunk_start))
                .and_then(|_| self.out.read_exact(chunk));
            match read {
                // Nothing has moved yet: the moov can still go at the end.
                Err(e) if chunk_end == end => return self.finish_moov_at_end(e),
                r => r.ctx(ctx)?,
            }
            self.out
                .seek(SeekFrom::Start(chunk_start + shift))
                .ctx(ctx)?;
            self.out.write_all(chunk).ctx(ctx)?;
            chunk_end = chunk_start;
        }

        // 3. moov, then the mdat header. Bytes past our data (a partial sample from a failed
        //    write, or older content of the output) are left inside the mdat, where nothing
        //    refers to them: no truncation needed, and the file stays well-formed.
        let ctx = || "finishing MP4: writing the index".to_string();
        self.out.seek(SeekFrom::Start(self.mdat_start)).ctx(ctx)?;
        self.out.write_all(&moov).ctx(ctx)?;
        self.out
            .write_all(&mdat_header(file_len - (self.mdat_start + shift)))
            .ctx(ctx)?;
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
        let ctx = |what: &str| {
            format!(
                "finishing MP4: no room to move the index to the front ({extend_error}), and {what}"
            )
        };
        let file_len = self
            .out
            .seek(SeekFrom::End(0))
            .ctx(|| ctx("finding the end of the output failed"))?;
        let moov = self.index.moov(&self.track, &self.udta, payload_start);
        let grow_error = match place_moov_after_samples(
            &mut self.out,
            self.mdat_start,
            &self.index,
            &moov,
            file_len,
        ) {
            Ok(len) => {
                self.finished_at_end(len);
                return Ok(());
            }
            Err(e) => e,
        };

        // Within the space the output has. Writing the moov may have grown it a little.
        let file_len = self
            .out
            .seek(SeekFrom::End(0))
            .ctx(|| ctx("finding the end of the output failed"))?;
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
        let len = place_moov_after_samples(&mut self.out, self.mdat_start, &idx, &moov, file_len)
            .ctx(|| {
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

impl<W: Read + Write + Seek> Muxer for Mp4Writer<W> {
    fn write_packet(&mut self, packet: &Packet) -> Result<()> {
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
            return Err(Error::io(
                format!("writing MP4 sample {n} ({} bytes)", packet.data.len()),
                e,
            ));
        }
        self.data_end += packet.data.len() as u64;
        self.bytes_written = self.data_end - self.base;
        self.index.push(packet);
        self.pending_pts = self.pending_pts.split_off(&packet.dts);
        self.pending_pts.insert(packet.pts);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        match self.state {
            State::Finished => Ok(()),
            State::Failed => Err(Error::parameter(
                "MP4 writer: finish failed earlier; the output is incomplete",
            )),
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

    fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::ColorInfo;
    use crate::rational::Rational;
    use std::io::Cursor;

    /// A real x264 High-profile SPS/PPS (320x240) for the avcC.
    pub(crate) fn test_avc() -> AvcConfig {
        AvcConfig {
            sps: vec![vec![
                0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03,
                0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60,
            ]],
            pps: vec![vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]],
        }
    }

    pub(crate) fn test_track(fps: Rational) -> VideoTrack {
        VideoTrack {
            width: 320,
            height: 240,
            fps,
            avc: test_avc(),
            color: ColorInfo::BT709_LIMITED,
        }
    }

    fn packet(pts: i64, dts: i64, key: bool, len: usize) -> Packet {
        let mut data = ((len - 4) as u32).to_be_bytes().to_vec();
        data.push(if key { 0x65 } else { 0x41 });
        data.extend((0..len - 5).map(|i| (pts as u8).wrapping_mul(7).wrapping_add(i as u8)));
        Packet {
            data,
            pts,
            dts,
            keyframe: key,
        }
    }

    /// Find the first box with path `path` (e.g. ["moov","trak","mdia","minf","stbl","stts"])
    /// inside `data`; returns its payload (after the 8-byte header).
    pub(crate) fn find_box<'a>(data: &'a [u8], path: &[&str]) -> Option<&'a [u8]> {
        let mut i = 0;
        while i + 8 <= data.len() {
            let size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
            let (hdr, size) = if size == 1 {
                (
                    16,
                    u64::from_be_bytes(data[i + 8..i + 16].try_into().unwrap()) as usize,
                )
            } else {
                (8, size)
            };
            let kind = std::str::from_utf8(&data[i + 4..i + 8]).ok()?;
            let body = &data[i + hdr..(i + size).min(data.len())];
            if kind == path[0] {
                if path.len() == 1 {
                    return Some(body);
                }
                // stsd: skip version/flags + entry count; avc1: skip 78 bytes of fields.
                let inner = match kind {
                    "stsd" => &body[8..],
                    "avc1" => &body[78..],
                    _ => body,
                };
                return find_box(inner, &path[1..]);
            }
            i += size.max(8);
        }
        None
    }

    fn u32s(body: &[u8]) -> Vec<u32> {
        body.chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }

    const STBL: [&str; 5] = ["moov", "trak", "mdia", "minf", "stbl"];

    fn stbl_box<'a>(file: &'a [u8], name: &str) -> Option<&'a [u8]> {
        let mut path = STBL.to_vec();
        path.push(name);
        find_box(file, &path)
    }

    fn write_file(fps: Rational, packets: &[Packet]) -> Vec<u8> {
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
        for p in packets {
            w.write_packet(p).unwrap();
        }
        w.finish().unwrap();
        assert!(w.is_faststart());
        let len = w.bytes_written();
        let v = w.into_inner().into_inner();
        assert_eq!(len, v.len() as u64);
        v
    }

    fn top_level(file: &[u8]) -> Vec<(String, u64, u64)> {
        let mut v = Vec::new();
        let mut i = 0usize;
        while i + 8 <= file.len() {
            let mut size = u32::from_be_bytes(file[i..i + 4].try_into().unwrap()) as u64;
            if size == 1 {
                size = u64::from_be_bytes(file[i + 8..i + 16].try_into().unwrap());
            }
            v.push((
                String::from_utf8_lossy(&file[i + 4..i + 8]).into_owned(),
                i as u64,
                size,
            ));
            i += size as usize;
        }
        assert_eq!(i, file.len(), "boxes must tile the file exactly");
        v
    }

    #[test]
    fn timescale_choice() {
        assert_eq!(media_timing(30000, 1001), (30000, 1001));
        assert_eq!(media_timing(30, 1), (10020, 334));
        assert_eq!(media_timing(25, 1), (10000, 400));
        assert_eq!(media_timing(24000, 1001), (24000, 1001));
        assert_eq!(media_timing(60, 1), (10020, 167));
        assert_eq!(media_timing(1, u32::MAX), (1, u32::MAX));
        assert_eq!(media_timing(100_000, 1), (100_000, 1));
        assert_eq!(media_timing(120_000, 1), (120_000, 1));
        assert_eq!(media_timing(2500, 1), (10000, 4));
        // Slow rates: as before while a frame fits MAX_FRAME_TICKS...
        assert_eq!(media_timing(1, 7), (10000, 70000));
        assert_eq!(media_timing(1, 400), (10000, 4_000_000));
        // ...then the finest timescale that keeps it there (10000/3600 fps made frames of
        // 36 million ticks, so ffmpeg discarded the composition offsets of B-frames).
        assert_eq!(media_timing(1, 3600), (1165, 4_194_000));
        assert_eq!(media_timing(1, 10_000), (419, 4_190_000));
        assert_eq!(media_timing(1, 50_000), (83, 4_150_000));
        assert_eq!(media_timing(1, MAX_FPS_DEN), (1, MAX_FPS_DEN));
    }

    #[test]
    fn media_timing_is_exact_and_bounded_for_any_accepted_rate() {
        let mut rates = vec![
            (1u32, 1u32),
            (u32::MAX, 1),
            (u32::MAX, MAX_FPS_DEN),
            (1, MAX_FPS_DEN),
        ];
        for num in [
            1u32,
            2,
            3,
            7,
            24,
            25,
            30,
            1000,
            1001,
            2997,
            24000,
            30000,
            60000,
            1 << 20,
            4_000_000_007,
        ] {
            for den in [
                1u32,
                2,
                7,
                100,
                1001,
                3600,
                65_537,
                1 << 20,
                MAX_FPS_DEN - 1,
                MAX_FPS_DEN,
            ] {
                let r = Rational::new(num, den).unwrap();
                rates.push((r.num, r.den));
            }
        }
        for (num, den) in rates {
            let (ts, d) = media_timing(num, den);
            // One frame is exactly den/num seconds.
            assert_eq!(
                u64::from(ts) * u64::from(den),
                u64::from(d) * u64::from(num),
                "{num}/{den}"
            );
            assert!(d <= MAX_FRAME_TICKS, "{num}/{den}: {d}");
            assert!(64 * u64::from(d) <= MAX_CTS_TICKS, "{num}/{den}");
            assert!(
                ts >= MIN_MEDIA_TIMESCALE.min(num) || d * 2 > MAX_FRAME_TICKS,
                "{num}/{den}: {ts}"
            );
            let at_most_1h = u64::from(den) <= 3600 * u64::from(num);
            assert_eq!(
                check_fps(Rational { num, den }).is_ok(),
                at_most_1h,
                "{num}/{den}"
            );
        }
        // Bounds: at most an hour a frame...
        assert!(check_fps(Rational::new(1, 3600).unwrap()).is_ok());
        assert!(check_fps(Rational::new(2, 7201).unwrap()).is_err());
        let e = check_fps(Rational::new(1, 3601).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("at least 1/3600"), "{e}");
        // ...and at most 2^22 ticks (1167/2^22 fps: 59.9 minutes a frame).
        assert!(check_fps(Rational::new(1167, MAX_FPS_DEN).unwrap()).is_ok());
        let e = check_fps(Rational::new(1167, MAX_FPS_DEN + 1).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("at most 4194304"), "{e}");
        // Not in lowest terms: judged by the reduced fraction.
        assert!(check_fps(Rational {
            num: 2334,
            den: 2 * MAX_FPS_DEN
        })
        .is_ok());
        assert!(check_fps(Rational { num: 0, den: 1 }).is_err());
        let e = Mp4Writer::new(
            Cursor::new(Vec::new()),
            test_track(Rational::new(3, 5_000_000).unwrap()),
        )
        .err()
        .expect("too slow a rate is refused before any packet");
        assert!(e.to_string().contains("too slow for MP4"), "{e}");
    }

    /// An index of `n` frames with 2 B-frames (decode order I P B B P B B ..., first dts -2)
    /// or none.
    fn index_of(fps: Rational, n: i64, bframes: bool) -> SampleIndex {
        let mut idx = SampleIndex::new(fps.num, fps.den);
        let mut pts: Vec<i64> = (0..n).collect();
        if bframes {
            // reorder each group (1,2,3) -> (3,1,2) after the I frame
            for g in pts[1..].chunks_mut(3) {
                g.rotate_right(1);
            }
        }
        for (i, &p) in pts.iter().enumerate() {
            let dts = i as i64 - if bframes { 2 } else { 0 };
            let pk = packet(p, dts, i == 0, 10);
            idx.check(&pk, &BTreeSet::new()).unwrap();
            idx.push(&pk);
        }
        idx
    }

    #[test]
    fn movie_durations_cover_every_frame_at_any_rate() {
        let rates = [
            (1, 50_000),
            (1, 3600),
            (1, 7),
            (1, 1),
            (24000, 1001),
            (24, 1),
            (25, 1),
            (30, 1),
            (30000, 1001),
            (60, 1),
            (120, 1),
            (999, 1),
            (1000, 1),
            (1001, 1),
            (2500, 1),
            (5000, 1),
            (30000, 1),
            (120_000, 1),
            (4_000_000_000, 1),
            (4_194_301, 4194),
        ];
        for (num, den) in rates {
            let fps = Rational::new(num, den).unwrap();
            for n in [1i64, 2, 3, 7, 10, 100, 1001] {
                for bframes in [false, true] {
                    let idx = index_of(fps, n, bframes);
                    let t = idx.timing();
                    let what = format!("{fps} fps, {n} frames, bframes {bframes}: {t:?}");
                    let (num, den) = (u128::from(fps.num), u128::from(fps.den));
                    let ts = u128::from(t.movie_timescale);
                    let dur = u128::from(t.movie_duration);
                    // n frames last n*den/num s = n*den*ts/num movie ticks.
                    let exact = n as u128 * den * ts;
                    if fps.num as u64 > 1000 * fps.den as u64 {
                        assert_eq!(t.movie_timescale, idx.timescale, "{what}");
                        assert_eq!(dur * num, exact, "{what}");
                    } else {
                        assert_eq!(t.movie_timescale, 1000, "{what}");
                        // Nearest tick, so within half a tick...
                        assert!((dur * num).abs_diff(exact) * 2 <= num, "{what}");
                    }
                    // ...and the last frame starts strictly before the presentation ends.
                    assert!(dur * num > (n as u128 - 1) * den * ts, "{what}");
                    assert!(dur >= 1, "{what}");
                    // Media duration: exact too.
                    assert_eq!(
                        u128::from(t.media_duration) * num,
                        n as u128 * den * u128::from(idx.timescale),
                        "{what}"
                    );
                    assert_eq!(
                        t.media_time,
                        if bframes { 2 } else { 0 } * u64::from(idx.sample_duration)
                    );
                }
            }
        }
    }

    #[test]
    fn high_rate_movie_header_is_exact() {
        // 100 frames at 30000 fps: 1/300 s. Milliseconds made this 3 ms and ffmpeg played 90.
        let packets: Vec<Packet> = (0..100).map(|i| packet(i, i, i == 0, 20)).collect();
        let file = write_file(Rational::new(30000, 1).unwrap(), &packets);
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![30000, 100]);
        let tkhd = find_box(&file, &["moov", "trak", "tkhd"]).unwrap();
        assert_eq!(u32s(&tkhd[20..24]), vec![100]);
        let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
        assert_eq!(elst, vec![0, 1, 100, 0, 0x0001_0000]);
        // 1 frame at 2500 fps: 0.4 ms, was 0 ms (nothing played).
        let file = write_file(Rational::new(2500, 1).unwrap(), &[packet(0, 0, true, 20)]);
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![10000, 4]);
        // 1000 fps still uses milliseconds (a frame is exactly 1 ms).
        let file = write_file(Rational::new(1000, 1).unwrap(), &[packet(0, 0, true, 20)]);
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![1000, 1]);
    }

    #[test]
    fn slow_rate_bframes_fit_the_composition_offset_limit() {
        // At 1/3600 fps frames of 36 million ticks (timescale 10000) put a composition offset of
        // 8 frames past 2^28, where ffmpeg discards the whole ctts. Now frames are 4194000 ticks
        // and even an offset of 22 frames is 92 million.
        let fps = Rational::new(1, 3600).unwrap();
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
        w.write_packet(&packet(0, -2, true, 10)).unwrap();
        w.write_packet(&packet(20, -1, false, 10)).unwrap();
        for i in 1..20 {
            w.write_packet(&packet(i, i - 1, false, 10)).unwrap();
        }
        w.finish().unwrap();
        let file = w.into_inner().into_inner();
        let ctts = u32s(stbl_box(&file, "ctts").unwrap());
        assert_eq!(
            ctts,
            vec![0, 3, 1, 2 * 4_194_000, 1, 21 * 4_194_000, 19, 4_194_000]
        );
        let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        assert_eq!(u32s(&mdhd[12..20]), vec![1165, 21 * 4_194_000]);
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![1000, 21 * 3600 * 1000]);
        // With the largest denominator accepted a frame is 2^22 ticks: 64 frames of offset
        // fit, 65 not.
        let fps = Rational::new(1167, MAX_FPS_DEN).unwrap();
        assert_eq!(media_timing(1167, MAX_FPS_DEN), (1167, MAX_FRAME_TICKS));
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
        w.write_packet(&packet(64, 0, true, 10)).unwrap();
        let e = w.write_packet(&packet(66, 1, false, 10)).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("too far after dts"), "{e}");
    }

    #[test]
    fn high_rate_long_movie_switches_to_version_1() {
        // Just above 1000 fps, with frames of 4194 ticks (timescale 4194301): the exact
        // movie duration passes u32::MAX after 1024074 frames.
        let fps = Rational::new(4_194_301, 4194).unwrap();
        let track = test_track(fps);
        for (n, v1) in [(1_024_074u32, false), (1_024_075, true)] {
            let mut idx = SampleIndex::new(fps.num, fps.den);
            assert_eq!((idx.timescale, idx.sample_duration), (4_194_301, 4194));
            for i in 0..n {
                idx.push_sample(8, i64::from(i), i64::from(i), i == 0);
            }
            let t = idx.timing();
            assert_eq!(t.movie_timescale, 4_194_301);
            assert_eq!(t.movie_duration, u64::from(n) * 4194);
            assert_eq!(t.movie_duration > u64::from(u32::MAX), v1);
            let moov = idx.moov(&track, &[], 48);
            let mvhd = find_box(&moov, &["moov", "mvhd"]).unwrap();
            let tkhd = find_box(&moov, &["moov", "trak", "tkhd"]).unwrap();
            let elst = find_box(&moov, &["moov", "trak", "edts", "elst"]).unwrap();
            let mdhd = find_box(&moov, &["moov", "trak", "mdia", "mdhd"]).unwrap();
            for b in [mvhd, tkhd, elst, mdhd] {
                assert_eq!(b[0], u8::from(v1), "{n} frames");
            }
            if v1 {
                assert_eq!(&mvhd[20..24], &4_194_301u32.to_be_bytes());
                assert_eq!(&mvhd[24..32], &(u64::from(n) * 4194).to_be_bytes());
                assert_eq!(&tkhd[28..36], &(u64::from(n) * 4194).to_be_bytes());
                assert_eq!(&elst[8..16], &(u64::from(n) * 4194).to_be_bytes());
            } else {
                assert_eq!(u32s(&mvhd[12..20]), vec![4_194_301, n * 4194]);
                assert_eq!(u32s(&elst[8..12]), vec![n * 4194]);
            }
        }
    }

    #[test]
    fn ftyp_layout() {
        let f = ftyp();
        assert_eq!(f.len(), 32);
        assert_eq!(&f[4..8], b"ftyp");
        assert_eq!(&f[8..12], b"isom");
        assert_eq!(&f[12..16], &512u32.to_be_bytes());
        assert_eq!(&f[16..32], b"isomiso2avc1mp41");
    }

    #[test]
    fn bframe_timestamps_stts_ctts_elst() {
        // x264-like pattern with 2 B-frames: decode order I P B B P B B, first dts -2.
        let order = [
            (0, -2, true),
            (3, -1, false),
            (1, 0, false),
            (2, 1, false),
            (6, 2, false),
            (4, 3, false),
            (5, 4, false),
        ];
        let packets: Vec<Packet> = order
            .iter()
            .map(|&(p, d, k)| packet(p, d, k, 100 + p as usize))
            .collect();
        let file = write_file(Rational::new(30, 1).unwrap(), &packets);
        let boxes: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
        assert_eq!(boxes, ["ftyp", "moov", "mdat"]);

        let dur = 334;
        let stts = u32s(stbl_box(&file, "stts").unwrap());
        assert_eq!(stts, vec![0, 1, 7, dur]);
        let ctts = u32s(stbl_box(&file, "ctts").unwrap());
        // offsets pts-dts: 2,4,1,1,4,1,1
        assert_eq!(
            ctts,
            vec![0, 5, 1, 2 * dur, 1, 4 * dur, 2, dur, 1, 4 * dur, 2, dur]
        );
        let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
        // 7 frames at 30 fps = 233.33 ms -> 233; media_time = shift of 2 frames.
        assert_eq!(elst, vec![0, 1, 233, 2 * dur, 0x0001_0000]);
        let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        assert_eq!(u32s(&mdhd[12..20]), vec![10020, 7 * dur]);
        assert_eq!(&mdhd[20..22], &0x55c4u16.to_be_bytes()); // "und"
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![1000, 233]);
        let tkhd = find_box(&file, &["moov", "trak", "tkhd"]).unwrap();
        assert_eq!(&tkhd[0..4], &[0, 0, 0, 7]);
        assert_eq!(u32s(&tkhd[20..24]), vec![233]);
        assert_eq!(u32s(&tkhd[76..84]), vec![320 << 16, 240 << 16]);
        // only the first sample is a keyframe
        assert_eq!(u32s(stbl_box(&file, "stss").unwrap()), vec![0, 1, 1]);
        // sizes
        let stsz = u32s(stbl_box(&file, "stsz").unwrap());
        assert_eq!(&stsz[..3], &[0, 0, 7]);
        assert_eq!(
            &stsz[3..],
            &order.iter().map(|o| 100 + o.0 as u32).collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn no_bframes_no_ctts_no_stss_and_chunks() {
        // 65 frames at 30 fps, all keyframes: chunks of 30, 30, 5.
        let packets: Vec<Packet> = (0..65).map(|i| packet(i, i, true, 50)).collect();
        let file = write_file(Rational::new(30, 1).unwrap(), &packets);
        assert!(stbl_box(&file, "ctts").is_none());
        assert!(stbl_box(&file, "stss").is_none());
        assert_eq!(u32s(stbl_box(&file, "stts").unwrap()), vec![0, 1, 65, 334]);
        assert_eq!(
            u32s(stbl_box(&file, "stsc").unwrap()),
            vec![0, 2, 1, 30, 1, 3, 5, 1]
        );
        let stco = u32s(stbl_box(&file, "stco").unwrap());
        let tl = top_level(&file);
        let (_, mdat_at, mdat_size) = tl[2].clone();
        assert_eq!(mdat_size, 16 + 65 * 50);
        let payload = mdat_at as u32 + 16;
        assert_eq!(stco, vec![0, 3, payload, payload + 1500, payload + 3000]);
        // the samples really are where stco says
        assert_eq!(
            &file[payload as usize..payload as usize + 50],
            &packets[0].data[..]
        );
        assert_eq!(
            &file[payload as usize + 3000 + 50..payload as usize + 3100],
            &packets[61].data[..]
        );
        assert_eq!(&file[file.len() - 50..], &packets[64].data[..]);
        // elst media_time 0, duration 65/30 s
        let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
        assert_eq!(elst, vec![0, 1, 2167, 0, 0x0001_0000]);
    }

    #[test]
    fn ntsc_rate_is_exact() {
        let packets: Vec<Packet> = (0..60).map(|i| packet(i, i, i == 0, 20)).collect();
        let file = write_file(Rational::new(30000, 1001).unwrap(), &packets);
        assert_eq!(u32s(stbl_box(&file, "stts").unwrap()), vec![0, 1, 60, 1001]);
        let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        assert_eq!(u32s(&mdhd[12..20]), vec![30000, 60 * 1001]);
        let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(u32s(&mvhd[12..20]), vec![1000, 2002]);
        // chunks of ceil(29.97) = 30
        assert_eq!(u32s(stbl_box(&file, "stsc").unwrap()), vec![0, 1, 1, 30, 1]);
    }

    #[test]
    fn sample_entry_avcc_colr_pasp() {
        let file = write_file(Rational::new(25, 1).unwrap(), &[packet(0, 0, true, 30)]);
        let avc1 = stbl_box(&file, "stsd")
            .map(|_| ())
            .and_then(|_| {
                find_box(
                    &file,
                    &["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1"],
                )
            })
            .unwrap();
        assert_eq!(&avc1[24..28], &[1, 64, 0, 240]); // width, height
        assert_eq!(u32s(&avc1[28..36]), vec![0x0048_0000, 0x0048_0000]);
        assert_eq!(&avc1[74..78], &[0, 0x18, 0xff, 0xff]);
        let avcc = find_box(&file, &[&STBL[..], &["stsd", "avc1", "avcC"]].concat()).unwrap();
        let sps = &test_avc().sps[0];
        let pps = &test_avc().pps[0];
        let mut want = vec![1, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0, sps.len() as u8];
        want.extend_from_slice(sps);
        want.extend_from_slice(&[1, 0, pps.len() as u8]);
        want.extend_from_slice(pps);
        want.extend_from_slice(&[0xfd, 0xf8, 0xf8, 0]);
        assert_eq!(avcc, &want[..]);
        let colr = find_box(&file, &[&STBL[..], &["stsd", "avc1", "colr"]].concat()).unwrap();
        assert_eq!(colr, b"nclx\0\x01\0\x01\0\x01\x00");
        let pasp = find_box(&file, &[&STBL[..], &["stsd", "avc1", "pasp"]].concat()).unwrap();
        assert_eq!(u32s(pasp), vec![1, 1]);
        let hdlr = find_box(&file, &["moov", "trak", "mdia", "hdlr"]).unwrap();
        assert_eq!(&hdlr[8..12], b"vide");
        assert_eq!(&hdlr[24..], b"VideoHandler\0");
        let url = find_box(&file, &["moov", "trak", "mdia", "minf", "dinf", "dref"]).unwrap();
        assert_eq!(
            &url[8..],
            &[0, 0, 0, 12, b'u', b'r', b'l', b' ', 0, 0, 0, 1]
        );
    }

    #[test]
    fn full_range_colr_bit() {
        let mut track = test_track(Rational::new(25, 1).unwrap());
        track.color = ColorInfo {
            primaries: 9,
            transfer: 16,
            matrix: 9,
            full_range: true,
        };
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track).unwrap();
        w.write_packet(&packet(0, 0, true, 30)).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().into_inner();
        let colr = find_box(&file, &[&STBL[..], &["stsd", "avc1", "colr"]].concat()).unwrap();
        assert_eq!(colr, b"nclx\0\x09\0\x10\0\x09\x80");
    }

    #[test]
    fn sps_format_parsing() {
        assert_eq!(sps_format(&test_avc().sps[0]), Some((1, 0, 0)));
        // High 10 4:2:2: profile 122, sps_id 0 ('1'), chroma 2 ('011'), luma 2 ('011'), chroma 2 ('011')
        // bits: 1 011 011 011 -> 1011 0110 11xx xxxx
        assert_eq!(
            sps_format(&[0x67, 122, 0, 40, 0b1011_0110, 0b1100_0000]),
            Some((2, 2, 2))
        );
        assert_eq!(sps_format(&[0x67, 66, 0, 30, 0xff]), None);
        assert_eq!(sps_format(&[0x67, 100]), None);
    }

    #[test]
    fn co64_when_offsets_exceed_u32() {
        // A synthetic index: 3 samples of ~2 GiB each, 1 per chunk (fps 1). No data written.
        let track = test_track(Rational::new(1, 1).unwrap());
        let mut idx = SampleIndex::new(1, 1);
        for i in 0..3 {
            let p = Packet {
                data: vec![],
                pts: i,
                dts: i,
                keyframe: i == 0,
            };
            idx.push(&p);
        }
        idx.sizes = vec![2_000_000_000; 3];
        assert_eq!(idx.samples_per_chunk, 1);
        let moov = idx.moov(&track, &[], 48);
        let stco = u32s(find_box(&moov, &[&STBL[..], &["stco"]].concat()).unwrap());
        assert_eq!(stco, vec![0, 3, 48, 2_000_000_048, 4_000_000_048]);

        idx.sizes = vec![3_000_000_000; 3];
        let moov = idx.moov(&track, &[], 48);
        assert!(find_box(&moov, &[&STBL[..], &["stco"]].concat()).is_none());
        let co64 = find_box(&moov, &[&STBL[..], &["co64"]].concat()).unwrap();
        assert_eq!(&co64[4..8], &3u32.to_be_bytes());
        let offs: Vec<u64> = co64[8..]
            .chunks(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(offs, vec![48, 3_000_000_048, 6_000_000_048]);

        // The faststart size iteration: just below the threshold unshifted, above it shifted.
        let limit = u64::from(u32::MAX);
        idx.sizes = vec![2_000_000_000, (limit - 2_000_000_000 - 48 - 100) as u32, 10];
        let unshifted = idx.moov(&track, &[], 48);
        assert!(find_box(&unshifted, &[&STBL[..], &["stco"]].concat()).is_some());
        let shifted = idx.moov_shifted(&track, &[], 48);
        let co64 = find_box(&shifted, &[&STBL[..], &["co64"]].concat()).unwrap();
        let offs: Vec<u64> = co64[8..]
            .chunks(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
            .collect();
        let s = shifted.len() as u64;
        assert_eq!(offs, vec![48 + s, 2_000_000_048 + s, limit - 100 + s]);
        assert_eq!(shifted.len(), unshifted.len() + 12);
    }

    #[test]
    fn large_durations_use_version_1() {
        let track = test_track(Rational::new(1, 100_000).unwrap());
        let mut idx = SampleIndex::new(1, 100_000);
        for i in 0..50 {
            idx.push(&Packet {
                data: vec![0; 8],
                pts: i,
                dts: i,
                keyframe: true,
            });
        }
        let t = idx.timing();
        assert_eq!(t.movie_duration, 50 * 100_000 * 1000);
        // Frames of 4.1 million ticks (timescale 41): the media duration still fits 32 bits.
        assert_eq!((idx.timescale, idx.sample_duration), (41, 4_100_000));
        assert_eq!(t.media_duration, 50 * 4_100_000);
        let moov = idx.moov(&track, &[], 48);
        let mvhd = find_box(&moov, &["moov", "mvhd"]).unwrap();
        assert_eq!(mvhd[0], 1);
        assert_eq!(&mvhd[20..24], &1000u32.to_be_bytes());
        assert_eq!(&mvhd[24..32], &(50u64 * 100_000 * 1000).to_be_bytes());
        let elst = find_box(&moov, &["moov", "trak", "edts", "elst"]).unwrap();
        assert_eq!(elst[0], 1);
        let mdhd = find_box(&moov, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        assert_eq!(mdhd[0], 0);
        assert_eq!(u32s(&mdhd[12..20]), vec![41, 50 * 4_100_000]);
    }

    #[test]
    fn timestamp_validation() {
        let mut w = Mp4Writer::new(
            Cursor::new(Vec::new()),
            test_track(Rational::new(30, 1).unwrap()),
        )
        .unwrap();
        assert!(matches!(
            w.write_packet(&packet(i64::MAX, i64::MIN, true, 10)),
            Err(Error::Parameter(_))
        ));
        assert!(matches!(
            w.write_packet(&packet(i64::MAX, i64::MAX - 1, true, 10)),
            Err(Error::Parameter(_))
        ));
        assert!(matches!(
            w.write_packet(&packet(-1, -1, true, 10)),
            Err(Error::Parameter(_))
        ));
        assert!(matches!(
            w.write_packet(&packet(0, 1, true, 10)),
            Err(Error::Parameter(_))
        ));
        w.write_packet(&packet(0, -2, true, 10)).unwrap();
        w.write_packet(&packet(3, -1, false, 10)).unwrap();
        // dts not increasing
        assert!(matches!(
            w.write_packet(&packet(1, -1, false, 10)),
            Err(Error::Parameter(_))
        ));
        // duplicate pts
        let e = w.write_packet(&packet(3, 0, false, 10)).unwrap_err();
        assert!(e.to_string().contains("already used"), "{e}");
        // not AVCC
        let bad = Packet {
            data: vec![0, 0, 0, 1, 0x41, 1, 2, 3],
            pts: 1,
            dts: 0,
            keyframe: false,
        };
        assert!(matches!(w.write_packet(&bad), Err(Error::Parameter(_))));
        let empty = Packet {
            data: vec![],
            pts: 1,
            dts: 0,
            keyframe: false,
        };
        assert!(matches!(w.write_packet(&empty), Err(Error::Parameter(_))));
        w.write_packet(&packet(1, 0, false, 10)).unwrap();
        w.write_packet(&packet(2, 1, false, 10)).unwrap();
        assert_eq!(w.frames(), 4);
        w.finish().unwrap();
        w.finish().unwrap(); // second finish: no-op
        let e = w.write_packet(&packet(4, 2, false, 10)).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("after finish"));
        assert_eq!(w.frames(), 4);
    }

    #[test]
    fn bad_tracks_rejected() {
        let mut t = test_track(Rational::new(30, 1).unwrap());
        t.width = 70000;
        assert!(matches!(
            Mp4Writer::new(Cursor::new(Vec::new()), t),
            Err(Error::Parameter(_))
        ));
        let mut t = test_track(Rational::new(30, 1).unwrap());
        t.avc.pps.clear();
        assert!(matches!(
            Mp4Writer::new(Cursor::new(Vec::new()), t),
            Err(Error::Parameter(_))
        ));
        let mut t = test_track(Rational::new(30, 1).unwrap());
        t.avc.sps[0] = vec![0, 0, 0, 1, 0x67];
        assert!(matches!(
            Mp4Writer::new(Cursor::new(Vec::new()), t),
            Err(Error::Parameter(_))
        ));
        let mut t = test_track(Rational::new(30, 1).unwrap());
        t.width = 8192;
        t.height = 8192;
        assert!(Mp4Writer::new(Cursor::new(Vec::new()), t).is_ok());
    }

    #[test]
    fn write_only_file_is_rejected_up_front() {
        let path =
            std::env::temp_dir().join(format!("framepipe-mp4-wo-{}.mp4", std::process::id()));
        let e = Mp4Writer::new(
            std::fs::File::create(&path).unwrap(),
            test_track(Rational::new(30, 1).unwrap()),
        )
        .err()
        .expect("write-only output must be rejected");
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("readable"), "{e}");
        let mut w = Mp4Writer::create(&path, test_track(Rational::new(30, 1).unwrap())).unwrap();
        w.write_packet(&packet(0, 0, true, 100)).unwrap();
        w.finish().unwrap();
        assert!(w.is_faststart());
        drop(w);
        let file = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
        assert_eq!(names, ["ftyp", "moov", "mdat"]);
    }

    #[test]
    fn zero_frames_is_a_valid_file() {
        let file = write_file(Rational::new(30, 1).unwrap(), &[]);
        let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
        assert_eq!(names, ["ftyp", "moov", "mdat"]);
        assert_eq!(u32s(stbl_box(&file, "stsz").unwrap()), vec![0, 0, 0]);
    }

    /// An output that fails once `limit` bytes would be exceeded (a full disk).
    struct Limited {
        inner: Cursor<Vec<u8>>,
        limit: u64,
        /// Fail the next write (a transient error) without writing anything.
        fail_next: bool,
        /// Fail like a file-size limit (EFBIG) instead of a full disk (ENOSPC).
        efbig: bool,
    }
    fn limited(limit: u64) -> Limited {
        Limited {
            inner: Cursor::new(Vec::new()),
            limit,
            fail_next: false,
            efbig: false,
        }
    }
    impl Read for Limited {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.inner.read(buf)
        }
    }
    impl Seek for Limited {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }
    impl Write for Limited {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let pos = self.inner.position();
            if std::mem::take(&mut self.fail_next) {
                return Err(std::io::Error::other("transient failure"));
            }
            if pos >= self.limit {
                return Err(if self.efbig {
                    std::io::Error::from_raw_os_error(27)
                } else {
                    std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full")
                });
            }
            let n = buf.len().min((self.limit - pos) as usize);
            self.inner.write(&buf[..n])
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_sample_is_dropped_at_finish() {
        // 10 samples of 1000 bytes fit; the 11th fails half-way.
        let limit = 48 + 10 * 1000 + 500;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..10 {
            w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
        }
        let e = w.write_packet(&packet(10, 10, false, 1000)).unwrap_err();
        assert!(e.is_disk_full(), "{e}");
        assert_eq!(w.frames(), 10);
        // Free some space: finish can now move the index to the front.
        w.out.limit = u64::MAX;
        w.finish().unwrap();
        assert!(w.is_faststart());
        let file = w.into_inner().inner.into_inner();
        let tl = top_level(&file);
        assert_eq!(
            tl.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
            ["ftyp", "moov", "mdat"]
        );
        assert_eq!(u32s(stbl_box(&file, "stsz").unwrap())[2], 10);
        let stco = u32s(stbl_box(&file, "stco").unwrap());
        assert_eq!(stco[1], 1);
        let payload = tl[2].1 as usize + 16;
        assert_eq!(stco[2] as usize, payload);
        assert_eq!(
            &file[payload + 9000..payload + 10000],
            &packet(9, 9, false, 1000).data[..]
        );
    }

    #[test]
    fn full_disk_falls_back_to_moov_at_end() {
        let limit = 48 + 10 * 1000 + 500;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..10 {
            w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
        }
        assert!(w.write_packet(&packet(10, 10, false, 1000)).is_err());
        // Making room at the front fails; appending the moov (over the partial sample)
        // works.
        w.out.limit = u64::MAX;
        w.out.fail_next = true;
        w.finish().unwrap();
        assert!(!w.is_faststart());
        let written = w.bytes_written();
        let file = w.into_inner().inner.into_inner();
        assert_eq!(written, file.len() as u64);
        let tl = top_level(&file);
        assert_eq!(
            tl.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
            ["ftyp", "mdat", "moov"]
        );
        assert_eq!(tl[1].2, 16 + 10_000);
        let stco = u32s(stbl_box(&file, "stco").unwrap());
        assert_eq!(stco[2], 48);
        assert_eq!(&file[48..48 + 1000], &packet(0, 0, true, 1000).data[..]);
    }

    #[test]
    fn partial_sample_space_is_reused_for_the_index() {
        // The failed sample left 4000 bytes: enough room to move the moov to the front without
        // growing the output, even though the disk stays full.
        let limit = 48 + 10 * 1000 + 4000;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..10 {
            w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
        }
        assert!(w
            .write_packet(&packet(10, 10, false, 5000))
            .unwrap_err()
            .is_disk_full());
        w.finish().unwrap();
        assert!(w.is_faststart());
        let file = w.into_inner().inner.into_inner();
        assert_eq!(file.len() as u64, limit);
        let tl = top_level(&file);
        assert_eq!(
            tl.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
            ["ftyp", "moov", "mdat"]
        );
        let payload = tl[2].1 as usize + 16;
        assert_eq!(u32s(stbl_box(&file, "stco").unwrap())[2] as usize, payload);
        assert_eq!(
            &file[payload + 9000..payload + 10000],
            &packet(9, 9, false, 1000).data[..]
        );
    }

    #[test]
    fn full_disk_at_finish_drops_the_last_frame() {
        // Every sample fits exactly, nothing failed while writing, and the disk is full at
        // finish: the last sample's space holds the index instead.
        let limit = 48 + 5 * 1000;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..5 {
            w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(w.frames(), 4);
        assert!(!w.is_faststart());
        let file = w.into_inner().inner.into_inner();
        assert_eq!(file.len() as u64, limit);
        let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
        assert_eq!(names, ["ftyp", "mdat", "moov", "free"]);
        let info = crate::mux::mp4::probe_reader(Cursor::new(&file)).unwrap();
        assert_eq!(info.frame_count, 4);
        assert!((info.duration_seconds - 4.0 / 30.0).abs() < 0.0006);
    }

    #[test]
    fn full_disk_everywhere_is_an_io_error() {
        // Samples too small to make room for the index, even all of them together.
        let limit = 48 + 5 * 100;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..5 {
            w.write_packet(&packet(i, i, i == 0, 100)).unwrap();
        }
        assert_eq!(w.frames(), 5);
        let e = w.finish().unwrap_err();
        assert!(e.is_disk_full(), "{e}");
        assert_eq!(w.frames(), 0);
        assert!(w.finish().is_err());
        assert_eq!(w.frames(), 0);
        assert!(matches!(
            w.write_packet(&packet(5, 5, false, 10)),
            Err(Error::Parameter(_))
        ));
    }

    #[test]
    fn retry_after_failed_write_continues_cleanly() {
        let limit = 48 + 3 * 100 + 50;
        let mut w =
            Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..3 {
            w.write_packet(&packet(i, i, true, 100)).unwrap();
        }
        assert!(w.write_packet(&packet(3, 3, true, 100)).is_err());
        w.out.limit = u64::MAX;
        w.write_packet(&packet(3, 3, true, 100)).unwrap();
        w.write_packet(&packet(4, 4, true, 100)).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().inner.into_inner();
        let tl = top_level(&file);
        let payload = tl[2].1 as usize + 16;
        for i in 0..5 {
            assert_eq!(
                &file[payload + i * 100..payload + (i + 1) * 100],
                &packet(i as i64, i as i64, true, 100).data[..]
            );
        }
    }

    #[test]
    fn stale_longer_output_is_covered() {
        // Writing over an output that already holds more bytes than the new file.
        let old = vec![0xaau8; 100_000];
        let mut cur = Cursor::new(old);
        cur.set_position(0);
        let mut w = Mp4Writer::new(cur, test_track(Rational::new(30, 1).unwrap())).unwrap();
        for i in 0..3 {
            w.write_packet(&packet(i, i, true, 100)).unwrap();
        }
        w.finish().unwrap();
        let file = w.into_inner().into_inner();
        assert_eq!(file.len(), 100_000);
        let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
        assert_eq!(names, ["ftyp", "moov", "mdat"]);
    }

    #[test]
    fn large_shift_moves_many_chunks() {
        // Payload bigger than the 4 MiB shift buffer: check every byte lands right.
        let mut w = Mp4Writer::new(
            Cursor::new(Vec::new()),
            test_track(Rational::new(30, 1).unwrap()),
        )
        .unwrap();
        let mut expect = Vec::new();
        for i in 0..10 {
            let p = packet(i, i, i % 5 == 0, 1_000_003);
            expect.extend_from_slice(&p.data);
            w.write_packet(&p).unwrap();
        }
        w.finish().unwrap();
        let file = w.into_inner().into_inner();
        let tl = top_level(&file);
        assert_eq!(tl[2].0, "mdat");
        assert_eq!(&file[tl[2].1 as usize + 16..], &expect[..]);
        assert_eq!(u32s(stbl_box(&file, "stss").unwrap()), vec![0, 2, 1, 6]);
    }

    /// `(pts, dts)` of x264-like B-frame groups in decode order: I0, then per group P B b b
    /// (pts 0, 4 2 1 3, 8 6 5 7, ...), first dts -2.
    fn bframe_stamps(groups: i64) -> Vec<(i64, i64)> {
        let mut pts = vec![0];
        for g in 0..groups {
            pts.extend([4 * g + 4, 4 * g + 2, 4 * g + 1, 4 * g + 3]);
        }
        pts.into_iter()
            .enumerate()
            .map(|(i, p)| (p, i as i64 - 2))
            .collect()
    }

    /// Packets of uneven sizes for the given timestamps; a keyframe every 16 frames.
    fn sweep_packets(stamps: &[(i64, i64)]) -> Vec<Packet> {
        stamps
            .iter()
            .enumerate()
            .map(|(i, &(p, d))| packet(p, d, p % 16 == 0, 200 + (i * 7919) % 1500))
            .collect()
    }

    /// Expand a stts/ctts body into one value per sample.
    fn expand_runs(body: &[u8]) -> Vec<u32> {
        let v = u32s(body);
        let n = v[1] as usize;
        (0..n)
            .flat_map(|e| std::iter::repeat_n(v[3 + 2 * e], v[2 + 2 * e] as usize))
            .collect()
    }

    /// Everything a finished output must satisfy: its boxes tile it, our reader finds
    /// `frames` samples and a duration of exactly frames / fps, the samples are the first
    /// `frames` packets in decode order (bytes where the index says, same timestamps), and
    /// their presentation times are contiguous.
    fn check_finished(file: &[u8], frames: u64, packets: &[Packet], fps: (u32, u32)) {
        let names: Vec<String> = top_level(file).into_iter().map(|b| b.0).collect();
        assert!(
            names == ["ftyp", "moov", "mdat"]
                || names == ["ftyp", "mdat", "moov"]
                || names == ["ftyp", "mdat", "moov", "free"],
            "{names:?}"
        );
        let info = crate::mux::mp4::probe_reader(Cursor::new(file)).unwrap();
        assert_eq!(info.frame_count, frames);
        let want = frames as f64 * f64::from(fps.1) / f64::from(fps.0);
        assert!(
            (info.duration_seconds - want).abs() <= 0.0005 + 1e-9,
            "duration {} for {frames} frames",
            info.duration_seconds
        );
        let k = frames as usize;
        let kept = &packets[..k];

        // Sample bytes: stsz sizes, stsc samples per chunk, stco/co64 chunk offsets.
        let sizes = u32s(stbl_box(file, "stsz").unwrap())[3..].to_vec();
        assert_eq!(sizes.len(), k);
        let stsc = u32s(stbl_box(file, "stsc").unwrap());
        let offsets: Vec<u64> = match stbl_box(file, "stco") {
            Some(b) => u32s(b)[2..].iter().map(|&o| u64::from(o)).collect(),
            None => stbl_box(file, "co64").unwrap()[8..]
                .chunks(8)
                .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        };
        let mut per_chunk = Vec::new();
        for e in 0..stsc[1] as usize {
            let first = stsc[2 + 3 * e] as usize;
            let next = if e + 1 < stsc[1] as usize {
                stsc[2 + 3 * (e + 1)] as usize
            } else {
                offsets.len() + 1
            };
            per_chunk.extend(std::iter::repeat_n(stsc[3 + 3 * e] as usize, next - first));
        }
        assert_eq!(per_chunk.len(), offsets.len());
        let mut s = 0;
        for (c, &off) in offsets.iter().enumerate() {
            let mut at = off as usize;
            for _ in 0..per_chunk[c] {
                assert_eq!(sizes[s] as usize, kept[s].data.len());
                assert_eq!(
                    &file[at..at + sizes[s] as usize],
                    &kept[s].data[..],
                    "sample {s}"
                );
                at += sizes[s] as usize;
                s += 1;
            }
        }
        assert_eq!(s, k);

        // Timestamps: decode times and composition offsets as written, pts contiguous.
        let dur = i64::from(media_timing(fps.0, fps.1).1);
        let deltas = expand_runs(stbl_box(file, "stts").unwrap());
        let ctts = stbl_box(file, "ctts")
            .map(expand_runs)
            .unwrap_or(vec![0; k]);
        assert_eq!((deltas.len(), ctts.len()), (k, k));
        let mut dts = 0i64;
        let mut pts: Vec<i64> = Vec::new();
        for (i, p) in kept.iter().enumerate() {
            assert_eq!(dts, (p.dts - kept[0].dts) * dur, "dts of sample {i}");
            assert_eq!(
                i64::from(ctts[i]),
                (p.pts - p.dts) * dur,
                "cts of sample {i}"
            );
            pts.push(p.pts);
            dts += i64::from(deltas[i]);
        }
        pts.sort_unstable();
        assert!(pts.windows(2).all(|w| w[1] == w[0] + 1), "pts {pts:?}");
        let want_keys: Vec<u32> = (1..=k as u32)
            .filter(|&i| kept[i as usize - 1].keyframe)
            .collect();
        match stbl_box(file, "stss") {
            Some(b) => assert_eq!(&u32s(b)[2..], &want_keys[..]),
            None => assert_eq!(want_keys.len(), k),
        }
    }

    /// Write `packets` into outputs capped at every `step`-th size from just after the first
    /// sample to past the complete file, stopping at the first failed write (as the pipeline
    /// does), and check each outcome: finish is Ok with a valid file of `frames() >= 1`
    /// frames, or (only when not even the first frame leaves room for the index) Err with
    /// `frames() == 0`. Returns how often the file ended faststart / moov at the end / failed.
    fn cap_sweep(packets: &[Packet], fps: (u32, u32), step: u64) -> [u32; 3] {
        let track = test_track(Rational::new(fps.0, fps.1).unwrap());
        let header = 48u64;
        let payload: u64 = packets.iter().map(|p| p.data.len() as u64).sum();
        let mut first = SampleIndex::new(fps.0, fps.1);
        first.push(&packets[0]);
        let first_end = header + packets[0].data.len() as u64;
        // Below this not even the first frame and its index fit.
        let min_ok = first_end + first.moov(&track, &[], header).len() as u64;
        let mut all = SampleIndex::new(fps.0, fps.1);
        packets.iter().for_each(|p| all.push(p));
        let full = header + payload + all.moov_shifted(&track, &[], header).len() as u64;
        let prefixes = all.contiguous_prefixes();

        let mut counts = [0u32; 3];
        let mut cap = first_end + 1;
        while cap <= full + 40 {
            let mut out = limited(cap);
            out.efbig = cap % 2 == 1;
            let mut w = Mp4Writer::new(out, track.clone()).unwrap();
            let mut failed = false;
            for p in packets {
                if let Err(e) = w.write_packet(p) {
                    assert!(e.is_disk_full(), "cap {cap}: {e}");
                    failed = true;
                    break;
                }
            }
            assert!(w.frames() >= 1, "cap {cap}: the first sample fits");
            match w.finish() {
                Ok(()) => {
                    let frames = w.frames();
                    assert!(frames >= 1, "cap {cap}");
                    assert!(prefixes.contains(&(frames as usize)), "cap {cap}: {frames}");
                    let fast = w.is_faststart();
                    let written = w.bytes_written();
                    let file = w.into_inner().inner.into_inner();
                    assert!(file.len() as u64 <= cap, "cap {cap}");
                    assert_eq!(written, file.len() as u64, "cap {cap}");
                    check_finished(&file, frames, packets, fps);
                    if cap >= full {
                        assert!(fast && !failed, "cap {cap}");
                        assert_eq!(frames, packets.len() as u64, "cap {cap}");
                    }
                    counts[usize::from(!fast)] += 1;
                }
                Err(e) => {
                    assert!(e.is_disk_full(), "cap {cap}: {e}");
                    assert_eq!(w.frames(), 0, "cap {cap}");
                    assert!(
                        cap < min_ok,
                        "cap {cap}: finish failed although frame 0 fits: {e}"
                    );
                    counts[2] += 1;
                }
            }
            cap += step;
        }
        counts
    }

    #[test]
    fn disk_full_at_any_point_bframes() {
        let packets = sweep_packets(&bframe_stamps(5));
        let mut idx = SampleIndex::new(30, 1);
        packets.iter().for_each(|p| idx.push(p));
        assert_eq!(idx.contiguous_prefixes(), vec![1, 5, 9, 13, 17, 21]);
        assert_eq!(idx.prefix(9).timestamps(), idx.timestamps()[..9]);
        assert_eq!(
            idx.prefix(9)
                .moov(&test_track(Rational::new(30, 1).unwrap()), &[], 48),
            {
                let mut nine = SampleIndex::new(30, 1);
                packets[..9].iter().for_each(|p| nine.push(p));
                nine.moov(&test_track(Rational::new(30, 1).unwrap()), &[], 48)
            }
        );
        let [fast, at_end, failed] = cap_sweep(&packets, (30, 1), 1);
        assert!(
            fast > 0 && at_end > 1000 && failed > 0,
            "{fast} {at_end} {failed}"
        );
    }

    #[test]
    fn disk_full_at_any_point_long_track() {
        // More than one chunk (30 per chunk at 30 fps), no B-frames; NTSC rate with B-frames.
        let stamps: Vec<(i64, i64)> = (0..95).map(|i| (i, i)).collect();
        let [fast, at_end, failed] = cap_sweep(&sweep_packets(&stamps), (30, 1), 7);
        assert!(
            fast > 0 && at_end > 1000 && failed > 0,
            "{fast} {at_end} {failed}"
        );
        let [fast, at_end, failed] =
            cap_sweep(&sweep_packets(&bframe_stamps(20)), (30000, 1001), 5);
        assert!(
            fast > 0 && at_end > 1000 && failed > 0,
            "{fast} {at_end} {failed}"
        );
    }

    #[test]
    fn interrupted_stream_keeps_contiguous_prefix() {
        // A write fails after P4 B2 (dts order I0 P4 B2 | b1 ...): frames 0, 4, 2 would leave
        // holes at 1 and 3, so only I0 stays, even though finish has room for everything.
        let packets = sweep_packets(&bframe_stamps(2));
        let cap = 48
            + packets[..3]
                .iter()
                .map(|p| p.data.len() as u64)
                .sum::<u64>()
            + 10;
        let mut w =
            Mp4Writer::new(limited(cap), test_track(Rational::new(30, 1).unwrap())).unwrap();
        for p in &packets[..3] {
            w.write_packet(p).unwrap();
        }
        assert!(w.write_packet(&packets[3]).is_err());
        assert_eq!(w.frames(), 3);
        w.out.limit = u64::MAX;
        w.finish().unwrap();
        assert!(w.is_faststart());
        assert_eq!(w.frames(), 1);
        let file = w.into_inner().inner.into_inner();
        check_finished(&file, 1, &packets, (30, 1));

        // The same cut with no failed write: everything is kept unless told otherwise.
        let mut w = Mp4Writer::new(
            Cursor::new(Vec::new()),
            test_track(Rational::new(30, 1).unwrap()),
        )
        .unwrap();
        for p in &packets[..7] {
            w.write_packet(p).unwrap();
        }
        w.mark_interrupted();
        w.finish().unwrap();
        assert_eq!(w.frames(), 5);
        let file = w.into_inner().into_inner();
        check_finished(&file, 5, &packets, (30, 1));
    }

    #[test]
    fn spare_bytes_after_the_index() {
        // Samples of 500 bytes, the 11th cut short: too little room for the moov of 10
        // samples, so the moov of 9 goes right after the 9th, over the 10th; the spare bytes
        // after it become a free box, or stay inside the mdat if fewer than 8.
        let track = test_track(Rational::new(30, 1).unwrap());
        let packets: Vec<Packet> = (0..12).map(|i| packet(i, i, i == 0, 500)).collect();
        let moov_len = |n: usize| {
            let mut idx = SampleIndex::new(30, 1);
            packets[..n].iter().for_each(|p| idx.push(p));
            idx.moov(&track, &[], 48).len() as u64
        };
        let moov9 = moov_len(9);
        assert!(moov9 + 12 < 1000 && moov9 + 12 - 500 < moov_len(10));
        let data_end = 48 + 9 * 500;
        for spare in 0..12u64 {
            let cap = data_end + moov9 + spare;
            let mut w = Mp4Writer::new(limited(cap), track.clone()).unwrap();
            for p in &packets[..10] {
                w.write_packet(p).unwrap();
            }
            assert!(w.write_packet(&packets[10]).is_err());
            w.finish().unwrap();
            assert_eq!(w.frames(), 9);
            assert!(!w.is_faststart());
            let file = w.into_inner().inner.into_inner();
            assert_eq!(file.len() as u64, cap);
            let tl = top_level(&file);
            if spare >= 8 {
                assert_eq!(tl[1], ("mdat".into(), 32, 16 + 4500));
                assert_eq!(tl[3], ("free".into(), data_end + moov9, spare));
            } else {
                assert_eq!(tl.len(), 3);
                assert_eq!(tl[1], ("mdat".into(), 32, 16 + 4500 + spare));
            }
            assert_eq!(tl[2].0, "moov");
            check_finished(&file, 9, &packets, (30, 1));
        }
    }

    #[test]
    fn failing_index_write_is_an_error() {
        // Room for the index after dropping frames, but writing it fails for another reason.
        struct Broken(Limited, u32);
        impl Read for Broken {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                self.0.read(b)
            }
        }
        impl Seek for Broken {
            fn seek(&mut self, p: SeekFrom) -> std::io::Result<u64> {
                self.0.seek(p)
            }
        }
        impl Write for Broken {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.1 == 0 {
                    return Err(std::io::Error::other("I/O error"));
                }
                self.0.write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let limit = 48 + 5 * 1000 + 10;
        let mut w = Mp4Writer::new(
            Broken(limited(limit), 1),
            test_track(Rational::new(30, 1).unwrap()),
        )
        .unwrap();
        for i in 0..5 {
            w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
        }
        w.out.1 = 0;
        let e = w.finish().unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert_eq!(w.frames(), 0);
    }
}
