//! Joining MP4 chunks into one MP4 without re-encoding: the parallel renderer's last step.
//!
//! Each chunk is a complete MP4 whose first frame (in decode order) is an IDR frame and whose
//! GOPs are closed, encoded with identical settings, so its samples can follow the previous
//! chunk's as they are. Presentation times are rebased by the number of frames before the chunk.
//! Decode times are renumbered: the j-th packet overall (in decode order) gets dts = j - D, for
//! one fixed decode delay D. The chunks' own decode delays can differ (x264 uses none for a
//! one-frame chunk, two frames with a B-pyramid), so D is set to the largest reordering any
//! H.264 encoder of ours can produce (x264 allows at most 16 B-frames): dts then stays strictly
//! increasing across the joins and never passes pts. A larger D only makes the composition
//! offsets and the edit list's start a little larger.

use std::io::{Read, Seek, Write};

use super::demux::Mp4Demuxer;
use super::writer::Mp4Writer;
use crate::error::{Error, Result};
use crate::mux::{Muxer, VideoTrack};

/// Appends MP4 chunks, in order, into one MP4 written to `W`.
pub struct Mp4Concat<W: Read + Write + Seek> {
    out: Option<W>,
    writer: Option<Mp4Writer<W>>,
    track: Option<VideoTrack>,
    frames: i64,
    chunks: u64,
    tags: Vec<(String, String)>,
}

/// The fixed decode delay D, in frames (see the module docs).
const DECODE_DELAY: i64 = 16;

impl<W: Read + Write + Seek> Mp4Concat<W> {
    pub fn new(out: W) -> Self {
        let tags = super::metadata::with_encoder_tag(&[]);
        Mp4Concat { out: Some(out), writer: None, track: None, frames: 0, chunks: 0, tags }
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
            if j - p.pts > DECODE_DELAY {
                return Err(Error::unsupported(format!(
                    "chunk {index} reorders frames by more than {DECODE_DELAY} (frame {} decoded {} packets late)",
                    p.pts,
                    j - p.pts
                )));
            }
            p.pts += self.frames;
            p.dts = self.frames + j - DECODE_DELAY;
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
    fn chunks_with_different_settings_are_refused() {
        let a = chunk(0, 5, &EncodeOptions { preset: Preset::Veryfast, ..Default::default() });
        let b = chunk(5, 5, &EncodeOptions { preset: Preset::Veryfast, fps: crate::Rational::new(25, 1).unwrap(), ..Default::default() });
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        c.append(Cursor::new(a)).unwrap();
        let err = c.append(Cursor::new(b)).unwrap_err().to_string();
        assert!(err.contains("chunk 1") && err.contains("frame rate"), "{err}");
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        let err = c.append(Cursor::new(b"not an mp4 at all".to_vec())).unwrap_err().to_string();
        assert!(err.contains("chunk 0"), "{err}");
    }
}
