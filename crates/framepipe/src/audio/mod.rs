//! Audio on the way in: the checks every sample goes through, channel layouts, resampling
//! ([`resample`]) and decoding soundtrack files ([`decode`]). The encoders are in
//! [`crate::encode::aac`] and [`crate::encode::opus`].
//!
//! Samples are interleaved `f32` in [-1, 1], channels in the WAV/FFmpeg order of the layout
//! for their count ([`layout_name`]): 1 mono; 2 L R; 3 L R C; 4 L R C Cs (AAC) or FL FR BL BR
//! (Opus); 5 L R C Ls Rs; 6 (5.1) L R C LFE Ls Rs; 7 (6.1) L R C LFE Cs Ls Rs; 8 (7.1) L R C
//! LFE Lb Rb Ls Rs. That is the order ffmpeg and PyAV decode the encoded streams to.

use crate::error::{Error, Result};

pub mod decode;
pub mod resample;

/// At most this many channels (7.1).
pub const MAX_CHANNELS: u16 = 8;
/// Lowest sample rate accepted anywhere (below: an error, not audio).
pub const MIN_SAMPLE_RATE: u32 = 1000;
/// Highest sample rate accepted anywhere.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Checks a stream's rate and channel count: `what` names the stream in the message.
pub fn check_format(what: &str, sample_rate: u32, channels: u16) -> Result<()> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(Error::parameter(format!(
            "{what}: sample rate {sample_rate} Hz is out of range; allowed: {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz"
        )));
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(Error::parameter(format!(
            "{what}: {channels} channels; allowed: 1 to {MAX_CHANNELS} (mono to 7.1)"
        )));
    }
    Ok(())
}

/// The name of the layout framepipe assumes for `channels` interleaved channels (FFmpeg's
/// names), for messages and probes.
pub fn layout_name(channels: u16) -> &'static str {
    match channels {
        1 => "mono",
        2 => "stereo",
        3 => "3.0",
        4 => "4.0",
        5 => "5.0",
        6 => "5.1",
        7 => "6.1",
        8 => "7.1",
        _ => "unknown",
    }
}

/// What the checks found in the samples of a stream so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleStats {
    /// Sample frames (one sample per channel) accepted.
    pub frames: u64,
    /// Samples outside [-1, 1] that were clipped to it (front ends warn once when this becomes
    /// non-zero).
    pub clipped: u64,
}

/// Checks interleaved samples as they arrive: a length that is a whole number of sample frames,
/// every value finite (NaN and infinities are refused, naming the sample), values outside
/// [-1, 1] clipped and counted. A refused chunk leaves nothing behind.
#[derive(Debug, Clone)]
pub struct SampleChecker {
    channels: u16,
    sample_rate: u32,
    stats: SampleStats,
}

impl SampleChecker {
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        SampleChecker { channels, sample_rate, stats: SampleStats::default() }
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// The samples' rate (Hz).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Totals so far.
    pub fn stats(&self) -> SampleStats {
        self.stats
    }

    /// Checks `samples` as [`SampleChecker::push`] does (a whole number of sample frames, every
    /// value finite, sample indices counted from the samples already pushed), without taking
    /// them: for a caller that pushes a long run in pieces and must refuse all of it or none.
    pub fn check(&self, samples: &[f32]) -> Result<()> {
        let ch = self.channels as usize;
        if !samples.len().is_multiple_of(ch) {
            return Err(Error::parameter(format!(
                "audio: {} samples is not a whole number of {ch}-channel sample frames; the length of interleaved \
                 samples must be a multiple of the channel count",
                samples.len()
            )));
        }
        if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
            let frame = self.stats.frames + (i / ch) as u64;
            return Err(Error::parameter(format!(
                "audio: sample {} (frame {frame}, channel {}, at {:.6} s) is {}; samples must be finite numbers in [-1, 1]",
                self.stats.frames * ch as u64 + i as u64,
                i % ch,
                frame as f64 / self.sample_rate as f64,
                samples[i]
            )));
        }
        Ok(())
    }

    /// Checks `samples` and appends them (clipped) to `out`. On error nothing is appended.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.check(samples)?;
        let ch = self.channels as usize;
        out.try_reserve(samples.len())
            .map_err(|_| Error::out_of_memory(format!("{} bytes for audio samples", samples.len() * 4)))?;
        let mut clipped = 0u64;
        out.extend(samples.iter().map(|&x| {
            if x.abs() > 1.0 {
                clipped += 1;
                x.clamp(-1.0, 1.0)
            } else {
                x
            }
        }));
        self.stats.clipped += clipped;
        self.stats.frames += (samples.len() / ch) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checker_refuses_nan_and_inf_naming_the_sample() {
        let mut c = SampleChecker::new(48000, 2);
        let mut out = Vec::new();
        c.push(&[0.0; 96000], &mut out).unwrap();
        let mut bad = vec![0.0f32; 10];
        bad[7] = f32::NAN;
        let e = c.push(&bad, &mut out).unwrap_err().to_string();
        assert!(e.contains("sample 96007 (frame 48003, channel 1, at 1.000063 s) is NaN"), "{e}");
        assert_eq!(out.len(), 96000, "a refused chunk appends nothing");
        bad[7] = f32::NEG_INFINITY;
        let e = c.push(&bad, &mut out).unwrap_err().to_string();
        assert!(e.contains("is -inf"), "{e}");
        assert_eq!(c.stats().frames, 48000);
    }

    #[test]
    fn checker_clips_and_counts() {
        let mut c = SampleChecker::new(44100, 1);
        let mut out = Vec::new();
        c.push(&[0.5, 1.5, -2.0, 1.0, -1.0], &mut out).unwrap();
        assert_eq!(out, vec![0.5, 1.0, -1.0, 1.0, -1.0]);
        assert_eq!(c.stats(), SampleStats { frames: 5, clipped: 2 });
    }

    #[test]
    fn checker_refuses_partial_frames() {
        let mut c = SampleChecker::new(48000, 6);
        let e = c.push(&[0.0; 13], &mut Vec::new()).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().contains("13 samples is not a whole number of 6-channel"), "{e}");
    }

    #[test]
    fn format_limits() {
        assert!(check_format("x", 48000, 8).is_ok());
        for (rate, ch, msg) in [
            (0, 2, "sample rate 0 Hz"),
            (10_000_000, 2, "out of range"),
            (48000, 0, "0 channels"),
            (48000, 9, "9 channels"),
        ] {
            let e = check_format("audio", rate, ch).unwrap_err();
            assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains(msg), "{e}");
        }
    }
}
