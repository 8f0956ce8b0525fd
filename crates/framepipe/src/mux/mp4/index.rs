//! The per-sample index the MP4 writer keeps in memory while writing, and building the `moov`
//! (sample tables, timing, sample entry with avcC/colr/pasp) from it.

use std::collections::BTreeSet;

use super::boxes::{self, time_and_duration, BoxBuf, Handler, TrakHeader};
use super::timing::{media_timing, MAX_CTS_TICKS, MOVIE_TIMESCALE_MS};
use crate::encode::{AvcConfig, Packet};
use crate::error::{Error, Result};
use crate::h264::{check_avcc, sps_format};
use crate::mux::VideoTrack;

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

/// Which `moov` to build: the complete index of a finished file, or the header of a fragmented
/// one (see [`super::fragment`]).
#[derive(Debug, Clone, Copy)]
enum MoovKind {
    Complete { payload_start: u64 },
    Fragmented { media_time: u64 },
}

/// What a moov holds besides the video track's own index: the audio track (its `trak`, built
/// by [`super::audio::AudioTrak`], and its default sample duration for the `trex`), and the
/// video's chunks when they are not the fixed one-second runs (a file with audio interleaves
/// the tracks: its chunks are the fragments').
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MoovExtra<'a> {
    pub(crate) audio_trak: Option<&'a [u8]>,
    pub(crate) audio_duration: u32,
    pub(crate) video_chunks: Option<&'a [(u64, u32)]>,
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
    pub(crate) fn check(&self, packet: &Packet, pending: &BTreeSet<i64>) -> Result<()> {
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
            return err(format!("packet of {} bytes does not fit an MP4 sample", packet.data.len()));
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
    pub(crate) fn push(&mut self, packet: &Packet) {
        self.push_sample(packet.data.len() as u32, packet.pts, packet.dts, packet.keyframe);
    }

    pub(crate) fn push_sample(&mut self, size: u32, pts: i64, dts: i64, keyframe: bool) {
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
    pub(crate) fn timestamps(&self) -> Vec<(i64, i64)> {
        let expand = |runs: &[(u32, u32)]| {
            runs.iter().flat_map(|&(count, v)| std::iter::repeat_n(i64::from(v), count as usize)).collect::<Vec<i64>>()
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
        let ms_per_frame_ok = u64::from(self.fps_num) <= u64::from(MOVIE_TIMESCALE_MS) * u64::from(self.fps_den);
        if ms_per_frame_ok {
            MOVIE_TIMESCALE_MS
        } else {
            self.timescale
        }
    }

    pub(crate) fn timing(&self) -> Timing {
        let movie_timescale = self.movie_timescale();
        if self.sizes.is_empty() {
            return Timing { media_duration: 0, movie_timescale, movie_duration: 0, media_time: 0 };
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
        Timing { media_duration, movie_timescale, movie_duration, media_time }
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
        self.build_moov(track, udta, MoovKind::Complete { payload_start }, MoovExtra::default())
    }

    /// The complete `moov` with an audio track and/or explicit video chunks (see [`MoovExtra`]).
    pub(crate) fn moov_with(&self, track: &VideoTrack, udta: &[u8], extra: MoovExtra) -> Vec<u8> {
        self.build_moov(track, udta, MoovKind::Complete { payload_start: 0 }, extra)
    }

    /// The `moov` a fragmented file starts with: the track's description with empty sample
    /// tables and an `mvex`, durations unknown (0). The presentation starts `media_time`
    /// ticks after the first sample's decode time (the edit list, as in the complete moov).
    pub(crate) fn moov_fragmented(&self, track: &VideoTrack, udta: &[u8], media_time: u64) -> Vec<u8> {
        self.build_moov(track, udta, MoovKind::Fragmented { media_time }, MoovExtra::default())
    }

    /// [`Self::moov_fragmented`] with an audio track (see [`MoovExtra`]).
    pub(crate) fn moov_fragmented_with(
        &self,
        track: &VideoTrack,
        udta: &[u8],
        media_time: u64,
        extra: MoovExtra,
    ) -> Vec<u8> {
        self.build_moov(track, udta, MoovKind::Fragmented { media_time }, extra)
    }

    fn build_moov(&self, track: &VideoTrack, udta: &[u8], kind: MoovKind, extra: MoovExtra) -> Vec<u8> {
        let t = match kind {
            MoovKind::Complete { .. } => self.timing(),
            MoovKind::Fragmented { media_time } => {
                Timing { media_duration: 0, movie_timescale: self.movie_timescale(), movie_duration: 0, media_time }
            }
        };
        let fragmented = matches!(kind, MoovKind::Fragmented { .. });
        let mut b = BoxBuf::new();
        let moov = b.open(b"moov");

        // mvhd
        let v1 = t.movie_duration > u64::from(u32::MAX);
        let o = b.open_full(b"mvhd", u8::from(v1), 0);
        time_and_duration(&mut b, v1, t.movie_timescale, t.movie_duration);
        let next_track = if extra.audio_trak.is_some() { 3 } else { 2 };
        b.u32(0x0001_0000).u16(0x0100).zeros(10).identity_matrix().zeros(24).u32(next_track);
        b.close(o);

        // One edit starting the presentation at the first presented frame (in a fragmented
        // file the duration is 0: "to the end of the media").
        let has_edit = !self.sizes.is_empty() || (fragmented && t.media_time > 0);
        let header = TrakHeader {
            track_id: 1,
            movie_duration: t.movie_duration,
            media_time: has_edit.then_some(t.media_time),
            timescale: self.timescale,
            media_duration: t.media_duration,
            handler: Handler::Video { width: track.width, height: track.height },
        };
        boxes::trak(&mut b, &header, |b| {
            let stsd = b.open_full(b"stsd", 0, 0);
            b.u32(1);
            sample_entry(b, track);
            b.close(stsd);
            if let Some(chunks) = extra.video_chunks {
                self.sample_tables_in(b, chunks);
            } else if let MoovKind::Complete { payload_start } = kind {
                self.sample_tables(b, payload_start);
            } else {
                // The samples are in the fragments.
                boxes::stts(b, &[]);
                boxes::stsc(b, 0, 1);
                boxes::stsz(b, &[]);
                boxes::chunk_offsets(b, &[]);
            }
        });
        if let Some(audio) = extra.audio_trak {
            b.bytes(audio);
        }
        if fragmented {
            // mvex/trex: the defaults the fragments' boxes refer to (track 1, sample entry 1,
            // one frame per sample).
            let mvex = b.open(b"mvex");
            let o = b.open_full(b"trex", 0, 0);
            b.u32(1).u32(1).u32(self.sample_duration).u32(0).u32(0);
            b.close(o);
            if extra.audio_trak.is_some() {
                let o = b.open_full(b"trex", 0, 0);
                b.u32(2).u32(1).u32(extra.audio_duration).u32(0).u32(0);
                b.close(o);
            }
            b.close(mvex);
        }
        b.bytes(udta);
        b.close(moov);
        b.into_vec()
    }

    /// stts, ctts, stss, stsc, stsz and stco/co64 for the samples, the first at `payload_start`.
    fn sample_tables(&self, b: &mut BoxBuf, payload_start: u64) {
        self.time_tables(b);
        boxes::stsc(b, self.len(), self.samples_per_chunk);
        boxes::stsz(b, &self.sizes);
        boxes::chunk_offsets(b, &self.chunk_offsets(payload_start));
    }

    /// The sample tables with the samples in `chunks` (file offset, samples; in order).
    fn sample_tables_in(&self, b: &mut BoxBuf, chunks: &[(u64, u32)]) {
        self.time_tables(b);
        boxes::chunked_samples(b, chunks, &self.sizes);
    }

    /// stts, ctts and stss.
    fn time_tables(&self, b: &mut BoxBuf) {
        let dur = self.sample_duration;
        let mut stts: Vec<(u32, u32)> = self.dts_delta_runs.iter().map(|&(c, d)| (c, d * dur)).collect();
        if !self.sizes.is_empty() {
            match stts.last_mut() {
                Some((c, d)) if *d == dur => *c += 1,
                _ => stts.push((1, dur)),
            }
        }
        boxes::stts(b, &stts);
        if self.cts_runs.iter().any(|&(_, off)| off != 0) {
            let ctts: Vec<(u32, u32)> = self.cts_runs.iter().map(|&(c, off)| (c, off * dur)).collect();
            boxes::ctts(b, &ctts);
        }
        if self.keyframes.len() != self.sizes.len() {
            boxes::stss(b, &self.keyframes);
        }
    }

    /// The moov for a faststart layout: the payload moves forward by the moov's own size, which
    /// depends on whether `co64` is needed, so iterate until the size is stable.
    /// Returns the moov; the payload then starts at `payload_start + moov.len()`.
    pub(crate) fn moov_shifted(&self, track: &VideoTrack, udta: &[u8], payload_start: u64) -> Vec<u8> {
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
    b.bytes(b"nclx").u16(c.primaries).u16(c.transfer).u16(c.matrix);
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
        b.u8(0xfc | (chroma & 3)).u8(0xf8 | (luma8 & 7)).u8(0xf8 | (chroma8 & 7)).u8(0);
    }
    b.close(o);
}
