//! MP4 timing rules: which frame rates a track can carry exactly and ffmpeg plays every frame
//! of ([`check_fps`]), and the media timescale and frame duration for a rate ([`media_timing`]).
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

use crate::error::{Error, Result};

/// Movie (mvhd/tkhd/elst) timescale up to 1000 fps: milliseconds (see the module docs).
pub(crate) const MOVIE_TIMESCALE_MS: u32 = 1000;
/// Minimum media timescale, where [`MAX_FRAME_TICKS`] allows.
pub(crate) const MIN_MEDIA_TIMESCALE: u32 = 10_000;
/// Largest composition offset (ctts), in media ticks, that ffmpeg's MP4 reader accepts: for a
/// larger one (`|offset| > 1 << 28`, libavformat/mov.c `mov_read_ctts`) it says "CTTS invalid"
/// and discards the whole table, so B-frames get their decode times as presentation times and
/// the edit list drops some of them.
pub(crate) const MAX_CTS_TICKS: u64 = 1 << 28;
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
        return Err(Error::parameter(format!("frame rate must be positive, got {fps}")));
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
