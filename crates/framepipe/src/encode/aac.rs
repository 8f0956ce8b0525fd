//! AAC-LC through `rusty_aac` (pure Rust), streamed in segments.
//!
//! `rusty_aac` encodes a whole stream at `finish` (it decides every frame's window sequence from
//! transient flags over the stream, then codes the frames independently). To stream in flat
//! memory, this encoder runs it on overlapping segments of [`SEGMENT_FRAMES`] frames, each fed
//! [`CONTEXT_FRAMES`] frames of history before and [`LOOKAHEAD_FRAMES`] after. A frame's packet
//! depends only on its two input blocks and its window sequence, so where two segments give
//! byte-identical packets for a frame they agree on its window, and switching from one
//! segment's packets to the next's at such a frame keeps the window sequence valid (a long-start
//! before short blocks, a long-stop after): the stream decodes as one. Joins where no frame
//! agrees are counted ([`AacEncoder::join_mismatches`]; none on the test signals); there the
//! switch is at the segment boundary. Segment boundaries depend only on the sample count, so
//! the same samples give the same bytes however they are chunked. Output lags input by at most
//! `SEGMENT_FRAMES + LOOKAHEAD_FRAMES` frames (~1.1 s at 48 kHz).

use super::audio::{AacConfig, AudioCodec, AudioConfig, AudioEncoder, AudioPacket};
use crate::audio::{check_format, SampleChecker, SampleStats};
use crate::error::{Error, Result};
use std::collections::VecDeque;

/// AAC's sampling frequencies, in sampling-frequency-index order (ISO 14496-3 table 1.18).
pub const AAC_RATES: [u32; 13] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/// Samples per AAC frame.
pub const FRAME_LEN: usize = 1024;
/// AAC-LC's encoder delay: one frame (the MDCT's overlap).
pub const PRIMING: u32 = 1024;
/// Frames each segment owns (~1 s at 48 kHz).
pub const SEGMENT_FRAMES: usize = 48;
/// Frames of history fed before a segment (the first one has no predecessor in the segment and
/// is never used; the next warms up the transient detector).
pub const CONTEXT_FRAMES: usize = 3;
/// Frames fed after a segment so its last frames see the transients that follow.
pub const LOOKAHEAD_FRAMES: usize = 2;

/// An AAC-LC encoder; see the module documentation.
pub struct AacEncoder {
    sample_rate: u32,
    channels: u16,
    bitrate: u32,
    config: AudioConfig,
    checker: SampleChecker,
    /// Interleaved samples from block `buf_block` on.
    buf: Vec<f32>,
    buf_block: usize,
    /// The nominal first frame of the next segment to encode.
    seg_start: usize,
    /// The previous segment's packets not yet emitted: frames `next_frame..`.
    tentative: Vec<Vec<u8>>,
    next_frame: usize,
    /// Frames emitted so far (the next one's index).
    emitted: usize,
    ready: VecDeque<AudioPacket>,
    flushed: bool,
    join_mismatches: u32,
}

impl AacEncoder {
    /// Channels 1-6 (mono to 5.1, channel configurations 1-6), `sample_rate` one of
    /// [`AAC_RATES`], `bitrate` in bit/s (8 kbit/s per channel up to what the decoder buffer
    /// holds: 6144 bits per channel per frame).
    pub fn new(sample_rate: u32, channels: u16, bitrate: u32) -> Result<Self> {
        check_format("aac", sample_rate, channels)?;
        if !AAC_RATES.contains(&sample_rate) {
            return Err(Error::parameter(format!(
                "aac: {sample_rate} Hz is not an AAC sampling rate; allowed: {AAC_RATES:?} (resample first: \
                 AudioCodec::sample_rate_for says to which)"
            )));
        }
        if channels > 6 {
            return Err(Error::unsupported(format!(
                "aac: {channels} channels; the AAC encoder takes 1 to 6 (mono to 5.1); use opus for 6.1 and 7.1"
            )));
        }
        let ch = u32::from(channels);
        let (lo, hi) = (8_000 * ch, (6144 * u64::from(sample_rate) / FRAME_LEN as u64) as u32 * ch);
        if !(lo..=hi).contains(&bitrate) {
            return Err(Error::parameter(format!(
                "aac: bitrate {bitrate} bit/s is out of range for {channels} channel(s) at {sample_rate} Hz; allowed: {lo} to {hi}"
            )));
        }
        let asc = rusty_aac::audio_specific_config_bytes(sample_rate, channels);
        let config = AudioConfig::Aac(AacConfig {
            audio_specific_config: asc,
            sample_rate,
            channel_configuration: channels as u8,
        });
        Ok(AacEncoder {
            sample_rate,
            channels,
            bitrate,
            config,
            checker: SampleChecker::new(sample_rate, channels),
            buf: Vec::new(),
            buf_block: 0,
            seg_start: 0,
            tentative: Vec::new(),
            next_frame: 0,
            emitted: 0,
            ready: VecDeque::new(),
            flushed: false,
            join_mismatches: 0,
        })
    }

    /// Joins between segments at which no frame of the overlap was coded identically by both, so
    /// the switch happened at the segment boundary whatever the windows.
    pub fn join_mismatches(&self) -> u32 {
        self.join_mismatches
    }

    /// Blocks of input received (the last may be partial).
    fn blocks_available(&self) -> usize {
        self.buf_block + (self.buf.len() / self.channels as usize).div_ceil(FRAME_LEN)
    }

    fn full_blocks_available(&self) -> usize {
        self.buf_block + self.buf.len() / self.channels as usize / FRAME_LEN
    }

    /// Encodes segments while enough input is buffered (all that is left when flushing).
    fn drain(&mut self) -> Result<()> {
        while self.full_blocks_available() >= self.seg_start + SEGMENT_FRAMES + LOOKAHEAD_FRAMES {
            self.encode_segment(false)?;
        }
        if self.flushed {
            self.encode_segment(true)?;
        }
        Ok(())
    }

    fn encode_segment(&mut self, last: bool) -> Result<()> {
        let ch = self.channels as usize;
        let s = self.seg_start;
        let a = s.saturating_sub(CONTEXT_FRAMES);
        let b = if last { self.blocks_available() } else { s + SEGMENT_FRAMES + LOOKAHEAD_FRAMES };
        let from = (a - self.buf_block) * FRAME_LEN * ch;
        let to = ((b - self.buf_block) * FRAME_LEN * ch).min(self.buf.len());
        let mut enc =
            rusty_aac::AacEncoder::new(rusty_aac::AacEncoderConfig { bitrate_bps: self.bitrate, ..Default::default() });
        if to > from {
            enc.push_pcm(&self.buf[from..to], self.channels, self.sample_rate).map_err(aac_err)?;
        }
        enc.finish();
        let mut packets = Vec::new();
        while let Ok(p) = enc.next_packet() {
            packets.push(p.data);
        }
        if to == from {
            // No samples in this last segment: rusty_aac gives no packets for an empty stream,
            // and the previous segment's tentative packets are the stream's end.
            packets.clear();
        }
        // Global frames this segment codes validly: each needs its own block and the one before.
        let lo = if a == 0 { 0 } else { a + 1 };
        let hi = if last { a + packets.len() } else { b };
        let new = |g: usize| &packets[g - a];
        let mut j = lo;
        if !self.tentative.is_empty() {
            let prev_hi = self.next_frame + self.tentative.len();
            let first = (s + 2).saturating_sub(CONTEXT_FRAMES).max(lo).max(self.next_frame);
            let agree = (first..prev_hi.min(hi)).find(|&g| self.tentative[g - self.next_frame] == *new(g));
            j = match agree {
                Some(g) => g,
                None => {
                    if hi > lo {
                        self.join_mismatches += 1;
                    }
                    s.clamp(self.next_frame, prev_hi).max(lo)
                }
            };
            if hi <= lo {
                // Nothing new (an empty last segment): the old packets run to the end.
                j = prev_hi;
            }
            let old = std::mem::take(&mut self.tentative);
            for (k, data) in old.into_iter().enumerate().take(j - self.next_frame) {
                self.emit(self.next_frame + k, data);
            }
            self.next_frame = j;
        }
        // Emit what no later segment can replace; keep the rest for the next join.
        let until = if last { hi } else { (s + SEGMENT_FRAMES + 2).saturating_sub(CONTEXT_FRAMES) };
        let mut packets: VecDeque<Vec<u8>> = packets.into();
        packets.drain(..j.saturating_sub(a).min(packets.len()));
        for g in j..hi.max(j) {
            let data = packets.pop_front().expect("a packet for every frame below hi");
            if g < until {
                self.emit(g, data);
            } else {
                self.tentative.push(data);
            }
        }
        self.next_frame = self.next_frame.max(until.min(hi.max(j)));
        // Keep only what the next segment's context needs.
        self.seg_start = s + SEGMENT_FRAMES;
        let keep_from = self.seg_start.saturating_sub(CONTEXT_FRAMES);
        if !last && keep_from > self.buf_block {
            self.buf.drain(..(keep_from - self.buf_block) * FRAME_LEN * ch);
            self.buf_block = keep_from;
        }
        Ok(())
    }

    fn emit(&mut self, frame: usize, data: Vec<u8>) {
        debug_assert_eq!(frame, self.emitted, "frames are emitted once each, in order");
        self.emitted += 1;
        self.ready.push_back(AudioPacket { data, pts: (frame * FRAME_LEN) as i64, duration: FRAME_LEN as u32 });
    }
}

fn aac_err(e: rusty_aac::Error) -> Error {
    Error::encoder(format!("aac (rusty_aac): {e}"))
}

impl AudioEncoder for AacEncoder {
    fn codec(&self) -> AudioCodec {
        AudioCodec::Aac
    }
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn bitrate(&self) -> u32 {
        self.bitrate
    }
    fn priming(&self) -> u32 {
        PRIMING
    }
    fn config(&self) -> &AudioConfig {
        &self.config
    }
    fn send_samples(&mut self, samples: &[f32]) -> Result<()> {
        if self.flushed {
            return Err(Error::parameter("aac: samples sent after flush"));
        }
        self.checker.push(samples, &mut self.buf)?;
        self.drain()
    }
    fn flush(&mut self) -> Result<()> {
        if self.flushed {
            return Ok(());
        }
        self.flushed = true;
        self.drain()
    }
    fn receive_packet(&mut self) -> Option<AudioPacket> {
        self.ready.pop_front()
    }
    fn stats(&self) -> SampleStats {
        self.checker.stats()
    }
}

#[cfg(test)]
#[path = "aac_tests.rs"]
mod tests;
