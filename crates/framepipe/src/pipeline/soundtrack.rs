//! A sound track encoded on its own, for a file whose video is encoded elsewhere: the parallel
//! renderer's workers encode the video in chunks, the calling process encodes the whole sound
//! track once ([`SoundTrack`]) and [`crate::Mp4Concat`] muxes its packets beside the joined
//! video. (AAC and Opus frames do not split at the video's chunk boundaries, so the sound is
//! never encoded per chunk.)
//!
//! It is a [`super::VideoWriter`]'s sound track without the video: the same option checks (a
//! GIF has no sound, a bitrate the codec refuses), the same checks of every sample
//! ([`super::audio::feed_checked`]: NaN and infinities refused naming the sample, values outside
//! [-1, 1] clipped, counted and warned about once), the same resampler and encoder
//! ([`AudioChain`]) and the same length rule: the video's length, given to
//! [`SoundTrack::finish`], pads a shorter track with silence and cuts a longer one (the muxer
//! drops the packets past the video's end). The same samples therefore give the same packets as
//! a writer's.

use super::audio::{feed_checked, samples_for_frames, AudioChain};
use super::VideoWriter;
use crate::audio::{SampleChecker, SampleStats};
use crate::encode::AudioPacket;
use crate::error::{Error, Result};
use crate::mux::AudioTrack;
use crate::options::{EncodeOptions, OutputFormat};
use crate::rational::Rational;

/// A whole encoded sound track: what the MP4 muxer needs for the audio `trak` and its packets in
/// order, with the checks' totals.
#[derive(Debug, Clone)]
pub struct EncodedAudio {
    pub track: AudioTrack,
    /// Every packet the encoder made, in order from pts 0 (on the decoder's timeline, priming
    /// included); those past the video's end are dropped by the muxer.
    pub packets: Vec<AudioPacket>,
    /// Sample frames given and values clipped (as [`super::WriteSummary`] reports them).
    pub stats: SampleStats,
}

/// Encodes a sound track alone (see the module documentation).
pub struct SoundTrack {
    checker: SampleChecker,
    chain: AudioChain,
    packets: Vec<AudioPacket>,
    warnings: Vec<String>,
}

impl SoundTrack {
    /// The sound track declared by `opts.audio` (the samples' rate and channel count) for a file
    /// of `format` written with `opts`: checked as a [`VideoWriter`] checks them.
    pub fn new(opts: &EncodeOptions, format: OutputFormat) -> Result<Self> {
        let Some(input) = opts.audio else {
            return Err(Error::parameter_for("audio", "no sound track declared (EncodeOptions::audio is None)"));
        };
        let chain = VideoWriter::check_options(opts, format)?
            .ok_or_else(|| Error::parameter_for("audio", "this output takes no sound track"))?;
        Ok(SoundTrack {
            checker: SampleChecker::new(input.sample_rate, input.channels),
            chain,
            packets: Vec::new(),
            warnings: Vec::new(),
        })
    }

    /// Add samples (interleaved, at the declared rate and channel count), as
    /// [`VideoWriter::write_audio`] does: the whole call is checked first and refused whole.
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        let (chain, packets) = (&mut self.chain, &mut self.packets);
        feed_checked(&mut self.checker, samples, &mut self.warnings, |clipped| {
            chain.push(&clipped)?;
            drain(chain, packets)?;
            Ok(true)
        })?;
        Ok(())
    }

    /// What the checks found so far.
    pub fn stats(&self) -> SampleStats {
        self.checker.stats()
    }

    /// Warnings to show the user (clipping), once each.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// End the track at the end of a video of `frames` frames at `fps` (padded with silence
    /// up to it if the samples end earlier) and return every packet.
    pub fn finish(mut self, frames: u64, fps: Rational) -> Result<EncodedAudio> {
        let length = samples_for_frames(frames, fps, self.chain.rate());
        self.chain.end(Some(length))?;
        drain(&mut self.chain, &mut self.packets)?;
        Ok(EncodedAudio { track: self.chain.track(), packets: self.packets, stats: self.checker.stats() })
    }
}

/// Move the packets the encoder has ready into `packets`.
fn drain(chain: &mut AudioChain, packets: &mut Vec<AudioPacket>) -> Result<()> {
    while let Some(p) = chain.receive() {
        packets.try_reserve(1).map_err(|_| Error::out_of_memory("the encoded sound track"))?;
        packets.push(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{AudioCodec, AudioInput};

    fn opts(codec: AudioCodec, rate: u32, channels: u16) -> EncodeOptions {
        EncodeOptions {
            audio: Some(AudioInput { sample_rate: rate, channels }),
            audio_codec: codec,
            preset: crate::options::Preset::Ultrafast,
            ..Default::default()
        }
    }

    fn tone(n: usize, channels: usize, rate: f32) -> Vec<f32> {
        (0..n * channels)
            .map(|k| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * (k / channels) as f32 / rate).sin())
            .collect()
    }

    /// The packets are those a VideoWriter muxes for the same samples, however they are cut
    /// into calls, and cover the video's length after the priming.
    #[test]
    fn same_packets_as_a_writer_whatever_the_calls() {
        use crate::{Frame, PixelFormat};
        for (codec, rate) in [(AudioCodec::Aac, 44100u32), (AudioCodec::Opus, 44100)] {
            let o = opts(codec, rate, 2);
            let samples = tone(30_000, 2, rate as f32);
            let fps = o.fps;
            let frames = 20u64; // 0.667 s at 30 fps: the track (0.68 s) is cut
            let mut whole = SoundTrack::new(&o, OutputFormat::Mp4).unwrap();
            whole.write(&samples).unwrap();
            let a = whole.finish(frames, fps).unwrap();
            let mut pieces = SoundTrack::new(&o, OutputFormat::Mp4).unwrap();
            for part in samples.chunks(2 * 777) {
                pieces.write(part).unwrap();
            }
            let b = pieces.finish(frames, fps).unwrap();
            assert_eq!(a.packets, b.packets, "{codec:?}");
            assert_eq!(a.stats.frames, 30_000);
            let covered: u64 = a.packets.iter().map(|p| u64::from(p.duration)).sum();
            let length = samples_for_frames(frames, fps, a.track.sample_rate);
            assert!(covered >= u64::from(a.track.priming) + length, "{codec:?}: {covered}");

            // A writer given the same samples muxes a prefix of these packets (the rest is
            // past the video's end).
            let mut w = VideoWriter::in_memory(o.clone()).unwrap();
            w.write_audio(&samples).unwrap();
            let px = vec![128u8; 32 * 32 * 3];
            for _ in 0..frames {
                w.write(&Frame::packed(&px, 32, 32, PixelFormat::Rgb24).unwrap()).unwrap();
            }
            let (_, bytes) = w.finish_to_vec().unwrap();
            let muxed = crate::mux::mp4::demux::audio_packets(std::io::Cursor::new(bytes)).unwrap();
            assert!(
                !muxed.is_empty() && muxed.len() <= a.packets.len(),
                "{codec:?}: {} {}",
                muxed.len(),
                a.packets.len()
            );
            for (k, (_, data)) in muxed.iter().enumerate() {
                assert_eq!(data, &a.packets[k].data, "{codec:?}: packet {k}");
            }
        }
    }

    #[test]
    fn refuses_what_a_writer_refuses() {
        let o = opts(AudioCodec::Aac, 48000, 2);
        let e = SoundTrack::new(&o, OutputFormat::Gif).err().unwrap();
        assert!(e.to_string().starts_with("a GIF has no sound: 48000 Hz 2-channel audio was given"), "{e}");
        let e =
            SoundTrack::new(&EncodeOptions { audio_bitrate: Some(4), ..o.clone() }, OutputFormat::Mp4).err().unwrap();
        assert!(e.to_string().starts_with("audio_bitrate must be between 8 and 2048, got 4"), "{e}");
        let mut t = SoundTrack::new(&o, OutputFormat::Mp4).unwrap();
        t.write(&[0.0; 200]).unwrap();
        let mut bad = vec![0.0f32; 20];
        bad[13] = f32::NAN;
        let e = t.write(&bad).unwrap_err();
        assert!(e.to_string().contains("sample 213 (frame 106, channel 1"), "{e}");
        t.write(&[2.0, 0.0]).unwrap();
        assert_eq!(t.take_warnings().len(), 1);
        assert_eq!(t.stats(), SampleStats { frames: 101, clipped: 1 });
    }
}
