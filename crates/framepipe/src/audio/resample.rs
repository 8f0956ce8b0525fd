//! Sample-rate conversion, streaming: `rubato`'s FFT resampler (band-limited: a
//! Blackman-Harris anti-aliasing filter in the frequency domain), fed in fixed chunks
//! internally so that any chunking of the input gives the same output as one piece. The
//! resampler's own delay is removed, so output sample 0 is input time 0, and [`Resampler::finish`]
//! ends the output at exactly `ceil(input frames * out_rate / in_rate)` samples: the ones whose
//! time is before the input's end.

use super::check_format;
use crate::error::{Error, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

/// Input frames per internal chunk.
const CHUNK: usize = 1024;

/// A streaming resampler for interleaved `f32`; equal rates pass samples through untouched.
pub struct Resampler {
    fft: Option<Fft<f32>>,
    channels: usize,
    in_rate: u32,
    out_rate: u32,
    /// Interleaved input not yet resampled (less than a chunk).
    pending: Vec<f32>,
    in_frames: u64,
    out_frames: u64,
    /// Output frames still to drop at the start (the resampler's delay).
    skip: usize,
    scratch: Vec<f32>,
    finished: bool,
}

impl Resampler {
    /// From `in_rate` to `out_rate` Hz, `channels` interleaved channels.
    pub fn new(in_rate: u32, out_rate: u32, channels: u16) -> Result<Self> {
        check_format("resampler input", in_rate, channels)?;
        check_format("resampler output", out_rate, channels)?;
        let ch = channels as usize;
        let fft = if in_rate == out_rate {
            None
        } else {
            Some(
                Fft::<f32>::new(in_rate as usize, out_rate as usize, CHUNK, ch, FixedSync::Input)
                    .map_err(|e| Error::parameter(format!("resampling {in_rate} Hz to {out_rate} Hz: {e}")))?,
            )
        };
        let (skip, out_max) = fft.as_ref().map_or((0, 0), |f| (f.output_delay(), f.output_frames_max()));
        Ok(Resampler {
            fft,
            channels: ch,
            in_rate,
            out_rate,
            pending: Vec::new(),
            in_frames: 0,
            out_frames: 0,
            skip,
            scratch: vec![0.0; out_max * ch],
            finished: false,
        })
    }

    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// The number of output frames for `in_frames` input frames: those before the input's end.
    pub fn output_len(&self, in_frames: u64) -> u64 {
        (u128::from(in_frames) * u128::from(self.out_rate)).div_ceil(u128::from(self.in_rate)) as u64
    }

    /// Resamples `input` (interleaved, a whole number of frames), appending what is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        if self.finished {
            return Err(Error::parameter("resampler: input after finish"));
        }
        if !input.len().is_multiple_of(self.channels) {
            return Err(Error::parameter(format!(
                "resampler: {} samples is not a whole number of {}-channel frames",
                input.len(),
                self.channels
            )));
        }
        self.in_frames += (input.len() / self.channels) as u64;
        if self.fft.is_none() {
            out.extend_from_slice(input);
            self.out_frames += (input.len() / self.channels) as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let per_chunk = CHUNK * self.channels;
        let mut from = 0;
        while self.pending.len() - from >= per_chunk {
            self.run_chunk(from, CHUNK, out, u64::MAX)?;
            from += per_chunk;
        }
        self.pending.drain(..from);
        Ok(())
    }

    /// Ends the input: appends the rest of the output, so that the total is
    /// [`Resampler::output_len`] of the input frames.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let target = self.output_len(self.in_frames);
        if self.fft.is_none() {
            return Ok(());
        }
        let mut partial = self.pending.len() / self.channels;
        self.pending.resize(CHUNK * self.channels, 0.0);
        while self.out_frames < target {
            self.run_chunk(0, partial, out, target)?;
            partial = 0;
            self.pending.iter_mut().for_each(|s| *s = 0.0);
        }
        self.pending.clear();
        Ok(())
    }

    /// Resamples one chunk of `pending` from `from` (`len` real frames, the rest silence),
    /// appending at most up to `limit` output frames in all.
    fn run_chunk(&mut self, from: usize, len: usize, out: &mut Vec<f32>, limit: u64) -> Result<()> {
        let ch = self.channels;
        let fft = self.fft.as_mut().expect("only called when resampling");
        let input = InterleavedSlice::new(&self.pending[from..from + CHUNK * ch], ch, CHUNK)
            .map_err(|e| Error::parameter(format!("resampler input: {e}")))?;
        let frames_out = self.scratch.len() / ch;
        let mut output = InterleavedSlice::new_mut(&mut self.scratch, ch, frames_out)
            .map_err(|e| Error::parameter(format!("resampler output: {e}")))?;
        let indexing =
            Indexing { input_offset: 0, output_offset: 0, partial_len: Some(len), active_channels_mask: None };
        let (_, produced) = fft
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| Error::encoder(format!("resampling {} Hz to {} Hz: {e}", self.in_rate, self.out_rate)))?;
        let drop = self.skip.min(produced);
        self.skip -= drop;
        let keep = ((produced - drop) as u64).min(limit.saturating_sub(self.out_frames)) as usize;
        out.extend_from_slice(&self.scratch[drop * ch..(drop + keep) * ch]);
        self.out_frames += keep as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn chirp(rate: u32, secs: f64, f0: f64, f1: f64) -> Vec<f32> {
        let n = (secs * rate as f64) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / rate as f64;
                (0.5 * (2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * secs))).sin()) as f32
            })
            .collect()
    }

    fn run(r: &mut Resampler, x: &[f32], chunk: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for c in x.chunks(chunk * r.channels) {
            r.process(c, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn chirp_matches_the_chirp_generated_at_the_output_rate() {
        // 44.1 kHz -> 48 kHz and back down: the resampled chirp must be the same chirp sampled at
        // the new rate (no delay, no gain error) within the passband.
        for (a, b) in [(44100u32, 48000u32), (48000, 44100), (32000, 48000), (96000, 48000)] {
            let secs = 2.0;
            let top = 0.4 * a.min(b) as f64;
            let x = chirp(a, secs, 50.0, top);
            let y = run(&mut Resampler::new(a, b, 1).unwrap(), &x, 1000);
            let want = chirp(b, secs, 50.0, top);
            assert_eq!(y.len() as u64, (x.len() as u64 * b as u64).div_ceil(a as u64), "{a}->{b}: length");
            let edge = b as usize / 10;
            let (mut s, mut e) = (0.0, 0.0);
            let inner = want.len().min(y.len()) - 2 * edge;
            for (&w, &v) in want.iter().zip(&y).skip(edge).take(inner) {
                s += f64::from(w).powi(2);
                e += (f64::from(w) - f64::from(v)).powi(2);
            }
            let snr = 10.0 * (s / e).log10();
            assert!(snr > 50.0, "{a}->{b}: SNR {snr} dB against the ideal chirp");
        }
    }

    #[test]
    fn tone_frequency_and_level() {
        let x: Vec<f32> = (0..44100).map(|i| (0.5 * (2.0 * PI * 1000.0 * i as f64 / 44100.0).sin()) as f32).collect();
        let y = run(&mut Resampler::new(44100, 48000, 1).unwrap(), &x, 4096);
        assert_eq!(y.len(), 48000);
        let mid = &y[12000..36000];
        let mut cross = Vec::new();
        for (i, w) in mid.windows(2).enumerate() {
            if w[0] < 0.0 && w[1] >= 0.0 {
                cross.push(i as f64 + f64::from(w[0]) / f64::from(w[0] - w[1]));
            }
        }
        let f = (cross.len() - 1) as f64 * 48000.0 / (cross[cross.len() - 1] - cross[0]);
        assert!((f - 1000.0).abs() < 0.01, "{f} Hz");
        let rms = (mid.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / mid.len() as f64).sqrt();
        assert!((20.0 * (rms / (0.5 / 2f64.sqrt())).log10()).abs() < 0.01, "rms {rms}");
    }

    #[test]
    fn streaming_equals_one_shot_and_lengths_are_exact() {
        let x: Vec<f32> = chirp(44100, 1.3, 30.0, 15000.0).iter().flat_map(|&v| [v, -v * 0.5]).collect();
        let one = run(&mut Resampler::new(44100, 48000, 2).unwrap(), &x, 1 << 30);
        for chunk in [1, 7, 1023, 1024, 1025, 5000] {
            assert_eq!(run(&mut Resampler::new(44100, 48000, 2).unwrap(), &x, chunk), one, "chunk {chunk}");
        }
        for n in [0usize, 1, 2, 147, 1000, 1024, 3001] {
            let y = run(&mut Resampler::new(44100, 48000, 1).unwrap(), &vec![0.1; n], 100);
            assert_eq!(y.len() as u64, (n as u64 * 48000).div_ceil(44100), "{n} frames in");
        }
    }

    #[test]
    fn equal_rates_pass_through_and_bad_input_is_refused() {
        let mut r = Resampler::new(48000, 48000, 2).unwrap();
        let x = vec![0.25f32, -0.5, 0.75, 1.0];
        assert_eq!(run(&mut r, &x, 1), x);
        assert!(matches!(Resampler::new(0, 48000, 2), Err(Error::Parameter(_))));
        assert!(matches!(Resampler::new(48000, 48000, 9), Err(Error::Parameter(_))));
        let e = Resampler::new(44100, 48000, 2).unwrap().process(&[0.0; 3], &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("3 samples is not a whole number of 2-channel frames"), "{e}");
    }
}
