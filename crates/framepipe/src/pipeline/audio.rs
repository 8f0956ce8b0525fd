//! A writer's sound track: the chain from the caller's samples to encoded packets
//! ([`AudioChain`]: resampler, then encoder), and the length rule at the end (the video sets
//! the file's length).
//!
//! Samples are checked on the caller's thread ([`crate::audio::SampleChecker`], in
//! [`super::VideoWriter::write_audio`]) and reach the encoder thread in chunks of at most
//! [`CHUNK_FRAMES`] sample frames through the queue that carries the frames, so memory stays
//! bounded by the queue whatever the length of one `write_audio` call. The chain is made when the
//! writer is created (so a bitrate the codec refuses fails then) and belongs to the writer's
//! thread until the first frame, which starts the encoder thread; the chain moves there with the
//! muxer. Samples written before the first frame are encoded on the caller's thread and their
//! packets wait in the encoder (compressed: ~16 kB per second of stereo AAC) until the muxer exists.

use super::State;
use crate::audio::resample::Resampler;
use crate::audio::SampleChecker;
use crate::encode::{new_audio_encoder, AudioEncoder, AudioPacket};
use crate::error::{Error, Result};
use crate::mux::AudioTrack;
use crate::options::{AudioCodec, AudioInput};
use crate::rational::Rational;

/// Largest chunk of samples (per channel) sent through the queue as one item.
pub(super) const CHUNK_FRAMES: usize = 8192;

/// The most encoded sound kept in memory before the first frame (the file's header needs the
/// video's, so nothing can go to disk before it): 64 MiB, over an hour of stereo AAC at the
/// default bitrate. A `write_audio` call made when more is held is refused.
pub(super) const MAX_HELD_BYTES: usize = 64 << 20;

/// Resampler and encoder of one sound track.
pub(super) struct AudioChain {
    resampler: Resampler,
    encoder: Box<dyn AudioEncoder>,
    /// Sample frames (at the codec's rate) given to the encoder.
    fed: u64,
    /// Resampled samples on their way to the encoder.
    scratch: Vec<f32>,
    ended: bool,
    /// Packets taken from the encoder before the first frame, and their bytes.
    held: std::collections::VecDeque<AudioPacket>,
    held_bytes: usize,
    /// [`MAX_HELD_BYTES`] (smaller in tests).
    max_held: usize,
}

impl AudioChain {
    /// The chain for samples as `input` describes them, encoded with `codec` at `bitrate_kbps`
    /// (`None`: the codec's default for the channel count). A bitrate out of the codec's range
    /// for the channel count is a Parameter error naming `audio_bitrate`.
    pub(super) fn new(input: AudioInput, codec: AudioCodec, bitrate_kbps: Option<u32>) -> Result<Self> {
        let AudioInput { sample_rate, channels } = input;
        crate::audio::check_format("audio", sample_rate, channels)?;
        let rate = codec.sample_rate_for(sample_rate);
        let resampler = Resampler::new(sample_rate, rate, channels)?;
        // The default, kept within what an AAC frame holds at low rates (8 kHz mono: 48 kbit/s).
        let bitrate = match bitrate_kbps {
            Some(k) => k.saturating_mul(1000),
            None => match codec {
                AudioCodec::Aac => codec.default_bitrate(channels).min(6144 * rate / 1024 * u32::from(channels)),
                AudioCodec::Opus => codec.default_bitrate(channels),
            },
        };
        let bitrate = Some(bitrate);
        let encoder =
            new_audio_encoder(codec, rate, channels, bitrate, sample_rate).map_err(|e| match (e, bitrate_kbps) {
                (Error::Parameter(m), Some(k)) => Error::parameter_for(
                    "audio_bitrate",
                    format!(
                        "audio_bitrate {k} kbit/s does not suit {channels}-channel {} at {rate} Hz: {m}",
                        codec.name()
                    ),
                ),
                (e, _) => e,
            })?;
        Ok(AudioChain {
            resampler,
            encoder,
            fed: 0,
            scratch: Vec::new(),
            ended: false,
            held: Default::default(),
            held_bytes: 0,
            max_held: MAX_HELD_BYTES,
        })
    }

    /// What the MP4 muxer writes in the audio track's sample entry.
    pub(super) fn track(&self) -> AudioTrack {
        AudioTrack {
            config: self.encoder.config().clone(),
            sample_rate: self.encoder.sample_rate(),
            channels: self.encoder.channels(),
            priming: self.encoder.priming(),
            bitrate: self.encoder.bitrate(),
        }
    }

    /// The codec's rate (the track's timescale).
    pub(super) fn rate(&self) -> u32 {
        self.encoder.sample_rate()
    }

    /// Resample and encode checked samples (interleaved, a whole number of sample frames).
    pub(super) fn push(&mut self, samples: &[f32]) -> Result<()> {
        if self.ended {
            return Err(Error::parameter("audio after the end of the sound track"));
        }
        self.scratch.clear();
        self.resampler.process(samples, &mut self.scratch)?;
        self.feed(u64::MAX)
    }

    /// Give the encoder what `scratch` holds, at most up to `limit` sample frames in all.
    fn feed(&mut self, limit: u64) -> Result<()> {
        let ch = usize::from(self.encoder.channels());
        let room = limit.saturating_sub(self.fed);
        let frames = ((self.scratch.len() / ch) as u64).min(room) as usize;
        if frames > 0 {
            self.encoder.send_samples(&self.scratch[..frames * ch])?;
            self.fed += frames as u64;
        }
        self.scratch.clear();
        Ok(())
    }

    /// The end of the sound track. With `length` (sample frames at the codec's rate: the video's
    /// duration), the resampler's tail is given up to `length` and silence after it up to
    /// `length` if the samples end earlier, so that the track covers the whole video; without it
    /// (after an error) the samples are only flushed. Then the encoder is flushed: every packet
    /// becomes ready.
    pub(super) fn end(&mut self, length: Option<u64>) -> Result<()> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        self.scratch.clear();
        self.resampler.finish(&mut self.scratch)?;
        let limit = length.unwrap_or(u64::MAX);
        self.feed(limit)?;
        if let Some(length) = length {
            let ch = usize::from(self.encoder.channels());
            while self.fed < length {
                let n = (length - self.fed).min(CHUNK_FRAMES as u64) as usize;
                self.scratch.clear();
                self.scratch.resize(n * ch, 0.0);
                self.feed(length)?;
            }
        }
        self.encoder.flush()
    }

    /// The next encoded packet, if one is ready.
    pub(super) fn receive(&mut self) -> Option<AudioPacket> {
        match self.held.pop_front() {
            Some(p) => {
                self.held_bytes -= p.data.len();
                Some(p)
            }
            None => self.encoder.receive_packet(),
        }
    }

    /// Take the packets the encoder has ready into the chain's own queue, counting their bytes
    /// (before the first frame, when nothing can go to disk yet).
    fn hold(&mut self) {
        while let Some(p) = self.encoder.receive_packet() {
            self.held_bytes += p.data.len();
            self.held.push_back(p);
        }
    }

    /// Sample frames (at the codec's rate) given to the encoder.
    #[cfg(test)]
    fn fed(&self) -> u64 {
        self.fed
    }
}

impl super::VideoWriter {
    /// Add samples to the sound track declared with [`crate::options::EncodeOptions::audio`]: interleaved, at
    /// its rate and channel count, in [-1, 1]. Any interleaving with [`write`](Self::write)
    /// gives the same file: the sound track starts with the video and runs at its own clock.
    ///
    /// The whole call is checked first: a length that is not a whole number of sample frames, or
    /// a NaN or infinite sample (the message names the sample's index, counted from the first
    /// sample written, its channel and time) is a Parameter error that keeps none of it, and the
    /// writer stays usable. Values outside [-1, 1] are clipped and counted
    /// ([`WriteSummary::audio_clipped`]; a warning the first time). The video sets the file's
    /// length: at [`finish`](Self::finish) a shorter sound track is padded with silence to the
    /// video's end and a longer one cut there (the samples past it are encoded, then dropped).
    ///
    /// Samples written before the first frame are encoded on this thread and their packets
    /// kept (compressed) until the first frame starts the encoder thread; after it they go
    /// through the frames' queue in chunks, so memory stays bounded whatever the length.
    pub fn write_audio(&mut self, samples: &[f32]) -> Result<()> {
        match &self.state {
            State::Finished => return Err(Error::parameter("cannot write audio to a finished video writer")),
            State::Failed { error, .. } => {
                return Err(error.again("cannot write audio: the writer stopped after an earlier error: "))
            }
            _ => {}
        }
        let Some(checker) = self.audio_checker.as_mut() else {
            return Err(Error::parameter_for(
                "audio",
                "this writer has no sound track: declare one when creating it (EncodeOptions::audio, with the \
                 samples' rate and channel count)",
            ));
        };
        if let (State::Waiting(_), Some(chain)) = (&self.state, self.audio_chain.as_ref()) {
            if chain.held_bytes > chain.max_held && !samples.is_empty() {
                let seconds = checker.stats().frames as f64 / f64::from(checker.sample_rate());
                return Err(Error::parameter_for(
                    "audio",
                    format!(
                        "{seconds:.1} s of sound were written before the first frame, and their {:.1} MiB of \
                         encoded sound wait in memory for it (the file's header needs the first frame); more \
                         is refused past {} MiB: write the first frame, then the sound (after the first frame, \
                         sound written ahead of the picture goes to disk as it comes)",
                        chain.held_bytes as f64 / f64::from(1 << 20),
                        chain.max_held >> 20
                    ),
                ));
            }
        }
        let (state, chain) = (&mut self.state, &mut self.audio_chain);
        let running = feed_checked(checker, samples, &mut self.warnings, |clipped| match state {
            State::Waiting(_) => match chain.as_mut() {
                Some(chain) => {
                    chain.push(&clipped)?;
                    chain.hold();
                    Ok(true)
                }
                None => Err(Error::encoder("internal: the sound track has no encoder")),
            },
            State::Running(feed) => Ok(feed.send_audio(clipped)),
            _ => Err(Error::encoder("internal: the writer has no encoder running")),
        })?;
        if !running {
            return Err(self.stopped());
        }
        Ok(())
    }
}

/// The checks of one `write_audio` call (a writer's, or a [`super::SoundTrack`]'s): the whole
/// call first (refused whole, keeping nothing), then its samples, clipped, to `give` in pieces of
/// at most [`CHUNK_FRAMES`] sample frames; the first clipped sample of the track adds a warning
/// to `warnings`. `give` returns false when the samples can go nowhere (the writer's encoder
/// thread stopped): then this returns false too.
pub(super) fn feed_checked(
    checker: &mut SampleChecker,
    samples: &[f32],
    warnings: &mut Vec<String>,
    mut give: impl FnMut(Vec<f32>) -> Result<bool>,
) -> Result<bool> {
    checker.check(samples)?;
    let clipped_before = checker.stats().clipped;
    let per_chunk = CHUNK_FRAMES * usize::from(checker.channels());
    for chunk in samples.chunks(per_chunk) {
        let mut clipped = Vec::new();
        checker.push(chunk, &mut clipped)?;
        if !give(clipped)? {
            return Ok(false);
        }
    }
    let stats = checker.stats();
    if clipped_before == 0 && stats.clipped > 0 {
        warnings.push(format!(
            "audio: {} sample(s) outside [-1, 1] were clipped to it (samples are floats in [-1, 1]); \
             the total is in the result",
            stats.clipped
        ));
    }
    Ok(true)
}

/// Sample frames at `rate` that cover `frames` frames at `fps`: ceil(frames / fps × rate).
pub(super) fn samples_for_frames(frames: u64, fps: Rational, rate: u32) -> u64 {
    let n = u128::from(frames) * u128::from(fps.den) * u128::from(rate);
    n.div_ceil(u128::from(fps.num)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(sample_rate: u32, channels: u16) -> AudioInput {
        AudioInput { sample_rate, channels }
    }

    #[test]
    fn samples_cover_the_video() {
        let ntsc = Rational { num: 30000, den: 1001 };
        assert_eq!(samples_for_frames(0, ntsc, 48000), 0);
        assert_eq!(samples_for_frames(1, ntsc, 48000), 1602); // 1601.6
        assert_eq!(samples_for_frames(30000, ntsc, 48000), 1001 * 48000);
        assert_eq!(samples_for_frames(24 * 600, Rational { num: 24, den: 1 }, 44100), 600 * 44100);
        assert_eq!(samples_for_frames(1, Rational { num: 60, den: 1 }, 44100), 735);
    }

    /// The chain pads short input with silence up to the length, cuts long input at it, and
    /// the packets then cover priming + length.
    #[test]
    fn end_pads_and_cuts_to_the_length() {
        for (codec, rate_in) in [(AudioCodec::Aac, 44100), (AudioCodec::Aac, 22050), (AudioCodec::Opus, 44100)] {
            for (given, length) in [(1000usize, 30_000u64), (100_000, 30_000), (0, 5000)] {
                let mut c = AudioChain::new(input(rate_in, 2), codec, None).unwrap();
                let rate = c.rate();
                c.push(&vec![0.25; given * 2]).unwrap();
                c.end(Some(length)).unwrap();
                // Samples pushed are all encoded (the muxer drops what is past the video's end);
                // the resampler's tail stops at the length, and silence fills up to it.
                let resampled = (given as u64 * u64::from(rate)).div_ceil(u64::from(rate_in));
                if resampled <= length {
                    assert_eq!(c.fed(), length, "{codec:?} {rate_in} Hz, {given} given");
                } else {
                    assert!(c.fed() >= length && c.fed() <= resampled, "{codec:?} {rate_in} Hz: fed {}", c.fed());
                }
                let fed = c.fed();
                let track = c.track();
                let mut next = 0i64;
                let mut covered = 0u64;
                while let Some(p) = c.receive() {
                    assert_eq!(p.pts, next, "packets in order, back to back");
                    next += i64::from(p.duration);
                    covered += u64::from(p.duration);
                }
                assert!(covered >= u64::from(track.priming) + fed, "{codec:?}: {covered} samples encoded");
                assert!(covered < u64::from(track.priming) + fed + 1024, "{codec:?}: {covered} samples encoded");
                assert_eq!(track.sample_rate, rate);
            }
        }
    }

    fn with_audio(format: Option<crate::options::OutputFormat>) -> crate::options::EncodeOptions {
        crate::options::EncodeOptions {
            format,
            audio: Some(input(48000, 2)),
            preset: crate::options::Preset::Ultrafast,
            ..Default::default()
        }
    }

    #[test]
    fn writer_checks_samples_on_the_callers_thread() {
        use crate::pipeline::VideoWriter;
        let mut w = VideoWriter::in_memory(with_audio(None)).unwrap();
        w.write_audio(&[0.0; 200]).unwrap();
        let mut bad = vec![0.0f32; 20];
        bad[13] = f32::INFINITY;
        let e = w.write_audio(&bad).unwrap_err();
        assert!(e.to_string().contains("sample 213 (frame 106, channel 1"), "{e}");
        let e = w.write_audio(&[0.0; 3]).unwrap_err();
        assert!(e.to_string().contains("3 samples is not a whole number of 2-channel"), "{e}");
        // Clipping: counted, warned once.
        w.write_audio(&[2.0, -2.0, 0.5, 0.5]).unwrap();
        w.write_audio(&[3.0, 0.0]).unwrap();
        let warnings = w.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("audio: 2 sample(s) outside [-1, 1] were clipped"), "{warnings:?}");
        let stats = w.audio_checker.as_ref().unwrap().stats();
        assert_eq!((stats.frames, stats.clipped), (103, 3));
    }

    /// Sound written before the first frame waits in memory, encoded, up to a limit; past it a
    /// call is refused whole with a Parameter error that says why, and the writer goes on.
    #[test]
    fn sound_before_the_first_frame_is_held_up_to_a_limit() {
        use crate::frame::Frame;
        use crate::pipeline::VideoWriter;
        let mut w = VideoWriter::in_memory(with_audio(None)).unwrap();
        w.audio_chain.as_mut().unwrap().max_held = 40_000;
        let second = vec![0.1f32; 2 * 48_000];
        let mut accepted = 0u64;
        let e = loop {
            match w.write_audio(&second) {
                Ok(()) => accepted += 48_000,
                Err(e) => break e,
            }
            assert!(accepted < 100 * 48_000, "never refused");
        };
        assert_eq!(e.argument(), Some("audio"));
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{:.1} s of sound were written before the first frame", accepted as f64 / 48e3)),
            "{msg}"
        );
        assert!(msg.contains("write the first frame, then the sound"), "{msg}");
        let held = w.audio_chain.as_ref().unwrap().held_bytes;
        assert!(held > 40_000 && held < 40_000 + 48_000, "{held} bytes held");
        // The first frame takes the held sound to the muxer; sound is accepted again.
        let pixels = vec![0u8; 64 * 48 * 3];
        let frame = Frame::packed(&pixels, 64, 48, crate::frame::PixelFormat::Rgb24).unwrap();
        let frames = (accepted / 48_000 + 2) * 30;
        for _ in 0..frames {
            w.write(&frame).unwrap();
        }
        w.write_audio(&second).unwrap();
        let (summary, _) = w.finish_to_vec().unwrap();
        assert_eq!(summary.audio_samples, accepted + 48_000);
    }

    #[test]
    fn writer_refuses_audio_it_cannot_take() {
        use crate::options::{EncodeOptions, OutputFormat};
        use crate::pipeline::VideoWriter;
        let e = VideoWriter::in_memory(with_audio(Some(OutputFormat::Gif))).err().unwrap();
        assert_eq!(e.argument(), Some("audio"));
        assert!(e.to_string().starts_with("a GIF has no sound: 48000 Hz 2-channel audio was given"), "{e}");
        let mut plain = VideoWriter::in_memory(EncodeOptions::default()).unwrap();
        let e = plain.write_audio(&[0.0]).unwrap_err();
        assert!(e.to_string().starts_with("this writer has no sound track"), "{e}");
        let opts = EncodeOptions { audio: Some(input(100, 2)), ..EncodeOptions::default() };
        let e = VideoWriter::in_memory(opts).err().unwrap();
        assert!(e.to_string().contains("sample rate 100 Hz is out of range"), "{e}");
        let opts = EncodeOptions { audio_bitrate: Some(4), ..with_audio(None) };
        let e = VideoWriter::in_memory(opts).err().unwrap();
        assert!(e.to_string().starts_with("audio_bitrate must be between 8 and 2048, got 4"), "{e}");
    }

    #[test]
    fn rates_and_bitrates() {
        assert_eq!(AudioChain::new(input(44100, 1), AudioCodec::Aac, None).unwrap().rate(), 44100);
        assert_eq!(AudioChain::new(input(44100, 1), AudioCodec::Opus, None).unwrap().rate(), 48000);
        let low = AudioChain::new(input(8000, 1), AudioCodec::Aac, None).unwrap();
        assert_eq!((low.rate(), low.track().bitrate), (8000, 48_000), "the default bitrate fits an AAC frame");
        assert_eq!(AudioChain::new(input(96000, 6), AudioCodec::Aac, None).unwrap().rate(), 48000);
        let e = AudioChain::new(input(48000, 1), AudioCodec::Aac, Some(1000)).err().unwrap();
        assert_eq!(e.argument(), Some("audio_bitrate"));
        assert!(e.to_string().starts_with("audio_bitrate 1000 kbit/s does not suit 1-channel aac at 48000 Hz"), "{e}");
        assert!(AudioChain::new(input(48000, 9), AudioCodec::Aac, None).is_err());
        assert!(AudioChain::new(input(0, 2), AudioCodec::Opus, None).is_err());
        let t = AudioChain::new(input(48000, 2), AudioCodec::Opus, Some(128)).unwrap().track();
        assert_eq!((t.bitrate, t.channels, t.sample_rate), (128_000, 2, 48000));
    }
}
