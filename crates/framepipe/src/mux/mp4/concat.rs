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
//!
//! **A sound track** ([`Mp4Concat::set_audio`]: a whole track encoded once, by
//! [`crate::SoundTrack`], never per chunk, since audio frames do not split at the video's chunk
//! boundaries) is muxed beside the joined video as a writer muxes it: each audio packet goes in
//! before the first video packet it does not start half a second after ([`audio_due`], as
//! [`super::repair`] does), so the finished file has the video and the sound interleaved in
//! chunks of about a second (one per fragment, see [`super::writer`]), with the sample entry,
//! the priming's edit list and the cut at the video's end of a writer's file. The same chunks
//! and the same track give the same bytes, whoever encoded the chunks.

use std::collections::VecDeque;
use std::io::{Read, Seek};

use super::audio::audio_due;
use super::demux::Mp4Demuxer;
use super::writer::{Mp4Sink, Mp4Writer};
use crate::encode::AudioPacket;
use crate::error::{Error, Result};
use crate::mux::{AudioTrack, VideoTrack};
use crate::pipeline::EncodedAudio;
use crate::rational::Rational;

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
    audio: Option<AudioFeed>,
}

/// The sound track's packets not yet muxed.
struct AudioFeed {
    track: AudioTrack,
    packets: VecDeque<AudioPacket>,
    /// The next packet's pts: the samples muxed so far, priming included.
    pts: u64,
}

impl AudioFeed {
    /// Mux the packets due before the video frame decoded at `dts` in frames at `fps` (every
    /// packet if None).
    fn write_until<W: Mp4Sink>(&mut self, writer: &mut Mp4Writer<W>, dts: Option<(i64, Rational)>) -> Result<()> {
        while let Some(p) = self.packets.front() {
            if dts.is_some_and(|(dts, fps)| !audio_due(self.pts, dts, fps, self.track.sample_rate)) {
                break;
            }
            writer.write_audio_packet(p)?;
            self.pts += u64::from(p.duration);
            self.packets.pop_front();
        }
        Ok(())
    }
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
        Mp4Concat {
            out: Some(out),
            writer: None,
            track: None,
            frames: 0,
            delay: MAX_DECODE_DELAY,
            chunks: 0,
            tags,
            audio: None,
        }
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

    /// A sound track for the joined file (see the module docs): every packet of it, in order
    /// from pts 0, as [`crate::SoundTrack::finish`] makes them for the joined video's length.
    /// Set it before the first chunk is appended.
    pub fn set_audio(&mut self, audio: EncodedAudio) -> Result<()> {
        if self.track.is_some() {
            return Err(Error::parameter("the sound track must be given before the first chunk is appended"));
        }
        super::audio::check_track(&audio.track)?;
        self.audio = Some(AudioFeed { track: audio.track, packets: audio.packets.into(), pts: 0 });
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
        let fps = track.fps;
        match &self.track {
            None => {
                let out = self.out.take().ok_or_else(|| Error::parameter("concatenation already finished"))?;
                let mut writer = match &self.audio {
                    Some(a) => Mp4Writer::with_audio(out, track.clone(), a.track.clone())?,
                    None => Mp4Writer::new(out, track.clone())?,
                };
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
            if let Some(a) = self.audio.as_mut() {
                a.write_until(writer, Some((p.dts, fps)))?;
            }
            writer.write_packet(&p)?;
        }
        self.frames += n;
        self.chunks += 1;
        Ok(n as u64)
    }

    /// Write the index (with the rest of the sound track, cut at the video's end). Returns the
    /// number of frames and the output.
    pub fn finish(mut self) -> Result<(u64, W)> {
        let mut writer = self.writer.take().ok_or_else(|| Error::parameter("no chunks were appended"))?;
        if let Some(a) = self.audio.as_mut() {
            a.write_until(&mut writer, None)?;
        }
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
mod tests;
