//! Joining MP4 chunks into one MP4 without re-encoding: the parallel renderer's last step.
//!
//! Each chunk is a complete MP4 whose first frame (in decode order) is an IDR frame and whose
//! GOPs are closed, encoded with identical settings, so its samples can follow the previous
//! chunk's as they are. Presentation times are rebased by the number of frames before the chunk.
//! Decode times are renumbered: the j-th packet overall (in decode order) gets dts = j - D, for
//! one fixed decode delay D. The chunks' own decode delays can differ (x264 uses none for a
//! one-frame chunk, two frames with a B-pyramid), so D is the most reordering the stream can
//! have: the SPS's `max_num_reorder_frames` (x264 writes 0 without B-frames, 1 without a
//! pyramid, 2 with one), or 16 (H.264's limit) if the SPS does not say. A frame presented at
//! `p` and decoded `j`-th is preceded in decode order by `j` frames of which at most `p` are
//! presented before it, so `j - p <= D`: dts then stays strictly increasing across the joins
//! and never passes pts (checked all the same). D is kept as small as that because composition
//! offsets of D frames and more are what players must hold back: with D = 16 at one frame per
//! 10000 s, ffmpeg took B-frames presented 44 hours after their decode time for errors.

use std::io::{Read, Seek};

use super::demux::Mp4Demuxer;
use super::writer::{Mp4Sink, Mp4Writer};
use crate::error::{Error, Result};
use crate::mux::VideoTrack;

/// Appends MP4 chunks, in order, into one MP4 written to `W`.
pub struct Mp4Concat<W: Mp4Sink> {
    out: Option<W>,
    writer: Option<Mp4Writer<W>>,
    track: Option<VideoTrack>,
    frames: i64,
    /// The decode delay D (set from the first chunk's SPS; every chunk has the same).
    delay: i64,
    chunks: u64,
    tags: Vec<(String, String)>,
}

/// The decode delay D, in frames, when the SPS does not give one (see the module docs).
const MAX_DECODE_DELAY: i64 = 16;

/// The decode delay D for a track (see the module docs).
fn decode_delay(track: &VideoTrack) -> i64 {
    track
        .avc
        .sps
        .first()
        .and_then(|sps| crate::h264::sps_max_num_reorder_frames(sps))
        .map_or(MAX_DECODE_DELAY, i64::from)
}

impl<W: Mp4Sink> Mp4Concat<W> {
    pub fn new(out: W) -> Self {
        let tags = super::metadata::with_encoder_tag(&[]);
        Mp4Concat { out: Some(out), writer: None, track: None, frames: 0, delay: MAX_DECODE_DELAY, chunks: 0, tags }
    }

    /// Movie metadata for the joined file (see [`super::metadata`]); the chunks' own is not
    /// copied. framepipe adds an `encoder` tag unless one is given.
    pub fn set_metadata(&mut self, tags: &[(String, String)]) -> Result<()> {
        super::metadata::validate(tags)?;
        self.tags = super::metadata::with_encoder_tag(tags);
        if let Some(w) = self.writer.as_mut() {
            w.set_metadata(&self.tags)?;
        }
        Ok(())
    }

    /// Frames appended so far.
    pub fn frames(&self) -> u64 {
        self.frames as u64
    }

    /// Append every frame of `chunk` (a finished MP4). Returns the number of frames appended.
    pub fn append<R: Read + Seek>(&mut self, chunk: R) -> Result<u64> {
        let index = self.chunks;
        let mut demux = Mp4Demuxer::new(chunk).map_err(|e| e.again(&format!("chunk {index}: ")))?;
        let n = demux.len() as i64;
        if n == 0 {
            return Err(Error::parameter(format!("chunk {index} has no frames")));
        }
        let track = demux.track().clone();
        match &self.track {
            None => {
                let out = self.out.take().ok_or_else(|| Error::parameter("concatenation already finished"))?;
                let mut writer = Mp4Writer::new(out, track.clone())?;
                writer.set_metadata(&self.tags)?;
                self.writer = Some(writer);
                self.delay = decode_delay(&track);
                self.track = Some(track);
            }
            Some(first) => check_same(first, &track, index)?,
        }
        let writer = self.writer.as_mut().ok_or_else(|| Error::parameter("concatenation already finished"))?;
        let mut seen_pts = vec![false; n as usize];
        let mut first = true;
        let mut j = 0i64;
        while let Some(mut p) = demux.read_packet()? {
            if first && !p.keyframe {
                return Err(Error::parameter(format!(
                    "chunk {index} does not start with a keyframe; chunks must start with an IDR frame"
                )));
            }
            first = false;
            let slot = usize::try_from(p.pts).ok().and_then(|i| seen_pts.get_mut(i));
            match slot {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(Error::parameter(format!(
                        "chunk {index}: presentation times are not the frames 0..{n} (found {})",
                        p.pts
                    )))
                }
            }
            if j - p.pts > self.delay {
                return Err(Error::unsupported(format!(
                    "chunk {index} reorders frames by more than its SPS allows ({}): frame {} decoded {} packets late",
                    self.delay,
                    p.pts,
                    j - p.pts
                )));
            }
            p.pts += self.frames;
            p.dts = self.frames + j - self.delay;
            j += 1;
            writer.write_packet(&p)?;
        }
        self.frames += n;
        self.chunks += 1;
        Ok(n as u64)
    }

    /// Write the index. Returns the number of frames and the output.
    pub fn finish(mut self) -> Result<(u64, W)> {
        let mut writer = self.writer.take().ok_or_else(|| Error::parameter("no chunks were appended"))?;
        writer.finish()?;
        Ok((writer.frames(), writer.into_inner()))
    }
}

fn check_same(a: &VideoTrack, b: &VideoTrack, index: u64) -> Result<()> {
    let differ = |what: &str, x: String, y: String| {
        Err(Error::parameter(format!(
            "chunk {index} was encoded differently from chunk 0 ({what}: {y} vs {x}); every chunk needs identical settings"
        )))
    };
    if (a.width, a.height) != (b.width, b.height) {
        return differ("size", format!("{}x{}", a.width, a.height), format!("{}x{}", b.width, b.height));
    }
    if a.fps != b.fps {
        return differ("frame rate", a.fps.to_string(), b.fps.to_string());
    }
    if a.avc != b.avc {
        return differ("H.264 parameter sets", "SPS/PPS of chunk 0".into(), "other SPS/PPS".into());
    }
    if a.color != b.color {
        return differ("colour", format!("{:?}", a.color), format!("{:?}", b.color));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncodeOptions, Frame, PixelFormat, Preset, VideoWriter};
    use std::io::Cursor;

    fn chunk(start: u32, n: u32, opts: &EncodeOptions) -> Vec<u8> {
        let mut w = VideoWriter::in_memory(opts.clone()).unwrap();
        for i in start..start + n {
            let data: Vec<u8> = (0..64 * 48 * 3).map(|k| ((k as u32 * 7 + i * 13) % 251) as u8).collect();
            w.write(&Frame::packed(&data, 64, 48, PixelFormat::Rgb24).unwrap()).unwrap();
        }
        w.finish_to_vec().unwrap().1
    }

    #[test]
    fn chunks_join_with_exact_count_and_increasing_timestamps() {
        let opts = EncodeOptions { preset: Preset::Veryfast, threads: Some(1), ..Default::default() };
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        for (start, n) in [(0, 17), (17, 1), (18, 30)] {
            assert_eq!(c.append(Cursor::new(chunk(start, n, &opts))).unwrap(), n as u64);
        }
        let (frames, out) = c.finish().unwrap();
        assert_eq!(frames, 48);
        let bytes = out.into_inner();
        let info = super::super::probe_reader(Cursor::new(&bytes)).unwrap();
        assert_eq!(info.frame_count, 48);
        assert!((info.duration_seconds - 48.0 / 30.0).abs() < 1e-3);
        // Demux the joined file: pts are 0..48 exactly once, dts strictly increasing, and a
        // keyframe starts each chunk.
        let mut d = Mp4Demuxer::new(Cursor::new(bytes)).unwrap();
        let mut pts = vec![];
        let mut last_dts = i64::MIN;
        let mut keys = vec![];
        while let Some(p) = d.read_packet().unwrap() {
            assert!(p.dts > last_dts && p.dts <= p.pts);
            last_dts = p.dts;
            if p.keyframe {
                keys.push(p.pts);
            }
            pts.push(p.pts);
        }
        pts.sort();
        assert_eq!(pts, (0..48).collect::<Vec<_>>());
        for k in [0, 17, 18] {
            assert!(keys.contains(&k), "keyframe at {k}: {keys:?}");
        }
    }

    #[test]
    fn decode_delay_is_the_reordering_the_sps_allows() {
        // x264: no B-frames (ultrafast) -> 0; B-pyramid (medium, placebo's 16 B-frames) -> 2.
        for (preset, want) in [(Preset::Ultrafast, 0), (Preset::Medium, 2), (Preset::Placebo, 2)] {
            let opts = EncodeOptions { preset, threads: Some(1), ..Default::default() };
            let chunks = [chunk(0, 23, &opts), chunk(23, 1, &opts), chunk(24, 30, &opts)];
            let mut most_late = 0;
            for c in &chunks {
                let mut d = Mp4Demuxer::new(Cursor::new(c)).unwrap();
                assert_eq!(decode_delay(d.track()), want, "{preset:?}");
                let mut j = 0;
                while let Some(p) = d.read_packet().unwrap() {
                    most_late = most_late.max(j - p.pts);
                    j += 1;
                }
            }
            // The stream really reorders that much (so D cannot be smaller)...
            assert_eq!(most_late, want, "{preset:?}");
            // ...and the joined file's composition offsets stay within D + the largest
            // distance a frame is decoded ahead of its place (3 B-frames at medium, 16 at placebo).
            let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
            for ch in &chunks {
                c.append(Cursor::new(ch)).unwrap();
            }
            let (frames, out) = c.finish().unwrap();
            assert_eq!(frames, 54);
            let mut d = Mp4Demuxer::new(Cursor::new(out.into_inner())).unwrap();
            let (mut last_dts, mut most_ahead, mut pts) = (i64::MIN, 0, vec![]);
            while let Some(p) = d.read_packet().unwrap() {
                assert!(p.dts > last_dts && p.dts <= p.pts, "{preset:?}: {} {}", p.pts, p.dts);
                last_dts = p.dts;
                most_ahead = most_ahead.max(p.pts - p.dts);
                pts.push(p.pts);
            }
            pts.sort();
            assert_eq!(pts, (0..54).collect::<Vec<_>>());
            let bframes = match preset {
                Preset::Ultrafast => 0,
                Preset::Medium => 3,
                _ => 16,
            };
            assert!(most_ahead <= want + bframes + 1, "{preset:?}: {most_ahead}");
        }
    }

    #[test]
    fn sps_without_reordering_info_gets_the_largest_delay() {
        let opts = EncodeOptions { preset: Preset::Veryfast, ..Default::default() };
        let mut track = Mp4Demuxer::new(Cursor::new(chunk(0, 3, &opts))).unwrap().track().clone();
        assert_eq!(decode_delay(&track), 2);
        // Cut the SPS before its VUI: no max_num_reorder_frames.
        track.avc.sps[0].truncate(8);
        assert_eq!(crate::h264::sps_max_num_reorder_frames(&track.avc.sps[0]), None);
        assert_eq!(decode_delay(&track), MAX_DECODE_DELAY);
    }

    #[test]
    fn chunks_with_different_settings_are_refused() {
        let a = chunk(0, 5, &EncodeOptions { preset: Preset::Veryfast, ..Default::default() });
        let b = chunk(
            5,
            5,
            &EncodeOptions {
                preset: Preset::Veryfast,
                fps: crate::Rational::new(25, 1).unwrap(),
                ..Default::default()
            },
        );
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        c.append(Cursor::new(a)).unwrap();
        let err = c.append(Cursor::new(b)).unwrap_err().to_string();
        assert!(err.contains("chunk 1") && err.contains("frame rate"), "{err}");
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        let err = c.append(Cursor::new(b"not an mp4 at all".to_vec())).unwrap_err().to_string();
        assert!(err.contains("chunk 0"), "{err}");
    }
}
