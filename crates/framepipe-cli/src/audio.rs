//! `framepipe encode --audio FILE`: the sound file decoded by the engine's reader
//! ([`framepipe::AudioFileReader`]) and given to the writer as the frames arrive: after each
//! frame, up to a second past its end; at the end, up to the video's end (the writer pads a
//! shorter sound with silence). So memory stays flat for a file of any length.

use framepipe::{AudioFileReader, Rational, Result, VideoWriter};

/// Seconds of sound given ahead of the video.
const LEAD_SECONDS: u64 = 1;

pub struct AudioFeed {
    reader: AudioFileReader,
    fps: Rational,
    /// Sample frames given to the writer.
    fed: u64,
    /// Decoded samples not given yet (interleaved), from `pending_at`.
    pending: Vec<f32>,
    pending_at: usize,
    ended: bool,
}

impl AudioFeed {
    pub fn new(reader: AudioFileReader, fps: Rational) -> Self {
        AudioFeed { reader, fps, fed: 0, pending: Vec::new(), pending_at: 0, ended: false }
    }

    /// Sample frames that cover `frames` frames (rounded up).
    fn samples_for(&self, frames: u64) -> u64 {
        let rate = u128::from(self.reader.sample_rate());
        (u128::from(frames) * u128::from(self.fps.den) * rate).div_ceil(u128::from(self.fps.num)) as u64
    }

    /// After frame `frames - 1` was written: the sound up to a second past the next frame's end.
    pub fn after_frame(&mut self, writer: &mut VideoWriter, frames: u64) -> Result<()> {
        let lead = LEAD_SECONDS * u64::from(self.reader.sample_rate());
        self.feed(writer, self.samples_for(frames + 1) + lead)
    }

    /// Before finishing: the sound up to the video's end, no further.
    pub fn at_end(&mut self, writer: &mut VideoWriter) -> Result<()> {
        let end = self.samples_for(writer.frames_written());
        self.feed(writer, end)
    }

    /// Give the writer sample frames until `until` have been given, or the file ends.
    fn feed(&mut self, writer: &mut VideoWriter, until: u64) -> Result<()> {
        let ch = usize::from(self.reader.channels());
        while self.fed < until {
            if self.pending_at == self.pending.len() {
                if self.ended || !self.reader.read_chunk(&mut self.pending)? {
                    self.ended = true;
                    self.pending.clear();
                    self.pending_at = 0;
                    return Ok(());
                }
                self.pending_at = 0;
            }
            let available = (self.pending.len() - self.pending_at) / ch;
            let n = available.min(usize::try_from(until - self.fed).unwrap_or(usize::MAX));
            writer.write_audio(&self.pending[self.pending_at..self.pending_at + n * ch])?;
            self.pending_at += n * ch;
            self.fed += n as u64;
        }
        Ok(())
    }
}
