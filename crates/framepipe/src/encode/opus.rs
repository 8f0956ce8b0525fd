//! Opus through libopus 1.6.1 (built from source and linked statically by `opusic-sys`).
//!
//! One code path for every channel count: libopus's multistream "surround" encoder, with
//! mapping family 0 for mono and stereo (one stream) and family 1 (Vorbis channel order) for 3 to
//! 8 channels, which also decides the streams, their coupling and the per-channel bitrates.
//! Input arrives in framepipe's (WAV) order and is reordered to Vorbis order here. 20 ms frames
//! (960 samples), full-band, VBR, complexity 10, application "audio".
//!
//! Unsafe code: the FFI calls into libopus in this file (create, ctl, encode, destroy), each
//! with its reason. The encoder state is owned by [`OpusEncoder`] and freed once in `Drop`.

use super::audio::{AudioCodec, AudioConfig, AudioEncoder, AudioPacket, OpusConfig};
use crate::audio::{check_format, SampleChecker, SampleStats};
use crate::error::{Error, Result};
use opusic_sys as sys;
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};

/// Opus's rate.
pub const RATE: u32 = 48_000;
/// Samples per packet (20 ms).
pub const FRAME_LEN: usize = 960;
/// The largest packet libopus is allowed to produce per channel (its own recommended buffer
/// is 1275 bytes per stream for one 20 ms frame).
const MAX_PACKET_PER_CHANNEL: usize = 1275;

/// For `channels` channels, the WAV-order index of each Vorbis-order channel (RFC 7845 5.1.1.2).
fn vorbis_order(channels: u16) -> &'static [usize] {
    match channels {
        1 => &[0],
        2 => &[0, 1],
        3 => &[0, 2, 1],                // L R C -> L C R
        4 => &[0, 1, 2, 3],             // quad: FL FR BL BR in both orders
        5 => &[0, 2, 1, 3, 4],          // L R C Ls Rs -> L C R Ls Rs
        6 => &[0, 2, 1, 4, 5, 3],       // L R C LFE Ls Rs -> L C R Ls Rs LFE
        7 => &[0, 2, 1, 5, 6, 4, 3],    // L R C LFE Cs Ls Rs -> L C R Ls Rs Cs LFE
        _ => &[0, 2, 1, 6, 7, 4, 5, 3], // L R C LFE Lb Rb Ls Rs -> L C R Ls Rs Lb Rb LFE
    }
}

fn strerror(code: c_int) -> String {
    // SAFETY: opus_strerror returns a pointer to a static NUL-terminated string for any code.
    unsafe { CStr::from_ptr(sys::opus_strerror(code)) }.to_string_lossy().into_owned()
}

/// An Opus encoder; see the module documentation.
pub struct OpusEncoder {
    st: *mut sys::OpusMSEncoder,
    channels: u16,
    bitrate: u32,
    priming: u32,
    config: AudioConfig,
    checker: SampleChecker,
    /// Checked samples, WAV order, not yet encoded.
    buf: Vec<f32>,
    /// One frame in Vorbis order, and the packet buffer.
    frame: Vec<f32>,
    packet: Vec<u8>,
    frames_out: i64,
    ready: VecDeque<AudioPacket>,
    flushed: bool,
}

// SAFETY: the libopus state is used only through &mut self, from one thread at a time; libopus
// keeps no thread-local state.
unsafe impl Send for OpusEncoder {}

impl Drop for OpusEncoder {
    fn drop(&mut self) {
        // SAFETY: `st` came from opus_multistream_surround_encoder_create and is freed once.
        unsafe { sys::opus_multistream_encoder_destroy(self.st) };
    }
}

impl OpusEncoder {
    /// 48 kHz, 1 to 8 channels, `bitrate` in bit/s (6 to 256 kbit/s per channel);
    /// `source_rate` is recorded in the header as the input's original rate.
    pub fn new(channels: u16, bitrate: u32, source_rate: u32) -> Result<Self> {
        check_format("opus", RATE, channels)?;
        check_format("opus source", source_rate, channels)?;
        let ch = u32::from(channels);
        let (lo, hi) = (6_000 * ch, 256_000 * ch);
        if !(lo..=hi).contains(&bitrate) {
            return Err(Error::parameter(format!(
                "opus: bitrate {bitrate} bit/s is out of range for {channels} channel(s); allowed: {lo} to {hi}"
            )));
        }
        let family: c_int = if channels <= 2 { 0 } else { 1 };
        let (mut streams, mut coupled, mut err): (c_int, c_int, c_int) = (0, 0, 0);
        let mut mapping = [0u8; 8];
        // SAFETY: mapping has room for `channels` (<= 8) entries; the out-pointers are valid.
        let st = unsafe {
            sys::opus_multistream_surround_encoder_create(
                RATE as i32,
                c_int::from(channels),
                family,
                &mut streams,
                &mut coupled,
                mapping.as_mut_ptr(),
                sys::OPUS_APPLICATION_AUDIO,
                &mut err,
            )
        };
        if st.is_null() || err != sys::OPUS_OK {
            return Err(Error::encoder(format!("opus: creating a {channels}-channel encoder: {}", strerror(err))));
        }
        let mut enc = OpusEncoder {
            st,
            channels,
            bitrate,
            priming: 0,
            config: AudioConfig::Opus(OpusConfig {
                output_channel_count: channels as u8,
                pre_skip: 0,
                input_sample_rate: source_rate,
                output_gain: 0,
                channel_mapping_family: family as u8,
                stream_count: if family == 0 { 0 } else { streams as u8 },
                coupled_count: if family == 0 { 0 } else { coupled as u8 },
                channel_mapping: if family == 0 { Vec::new() } else { mapping[..channels as usize].to_vec() },
            }),
            checker: SampleChecker::new(RATE, channels),
            buf: Vec::new(),
            frame: vec![0.0; FRAME_LEN * channels as usize],
            packet: vec![0u8; MAX_PACKET_PER_CHANNEL * channels as usize],
            frames_out: 0,
            ready: VecDeque::new(),
            flushed: false,
        };
        enc.ctl_set(sys::OPUS_SET_BITRATE_REQUEST, bitrate as i32, "bitrate")?;
        enc.ctl_set(sys::OPUS_SET_COMPLEXITY_REQUEST, 10, "complexity")?;
        enc.ctl_set(sys::OPUS_SET_VBR_REQUEST, 1, "vbr")?;
        let mut lookahead: i32 = 0;
        // SAFETY: OPUS_GET_LOOKAHEAD takes one opus_int32* argument, which is valid.
        let r = unsafe {
            sys::opus_multistream_encoder_ctl(enc.st, sys::OPUS_GET_LOOKAHEAD_REQUEST, &mut lookahead as *mut i32)
        };
        if r != sys::OPUS_OK {
            return Err(Error::encoder(format!("opus: asking the lookahead: {}", strerror(r))));
        }
        enc.priming = lookahead as u32;
        if let AudioConfig::Opus(c) = &mut enc.config {
            c.pre_skip = lookahead as u16;
        }
        Ok(enc)
    }

    fn ctl_set(&mut self, request: c_int, value: i32, what: &str) -> Result<()> {
        // SAFETY: every request passed here is a SET request taking one opus_int32 by value.
        let r = unsafe { sys::opus_multistream_encoder_ctl(self.st, request, value) };
        if r != sys::OPUS_OK {
            return Err(Error::encoder(format!("opus: setting {what} to {value}: {}", strerror(r))));
        }
        Ok(())
    }

    /// Encodes the frame of WAV-order samples `src` (exactly one frame's worth).
    fn encode_frame(&mut self, src_from: usize) -> Result<()> {
        let ch = self.channels as usize;
        let order = vorbis_order(self.channels);
        for i in 0..FRAME_LEN {
            let s = &self.buf[src_from + i * ch..src_from + (i + 1) * ch];
            for (k, &w) in order.iter().enumerate() {
                self.frame[i * ch + k] = s[w];
            }
        }
        // SAFETY: `frame` holds FRAME_LEN samples per channel, `packet` has the capacity passed.
        let n = unsafe {
            sys::opus_multistream_encode_float(
                self.st,
                self.frame.as_ptr(),
                FRAME_LEN as c_int,
                self.packet.as_mut_ptr(),
                self.packet.len() as i32,
            )
        };
        if n < 0 {
            return Err(Error::encoder(format!("opus: encoding frame {}: {}", self.frames_out, strerror(n))));
        }
        self.ready.push_back(AudioPacket {
            data: self.packet[..n as usize].to_vec(),
            pts: self.frames_out * FRAME_LEN as i64,
            duration: FRAME_LEN as u32,
        });
        self.frames_out += 1;
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        let per_frame = FRAME_LEN * self.channels as usize;
        let mut from = 0;
        while self.buf.len() - from >= per_frame {
            self.encode_frame(from)?;
            from += per_frame;
        }
        self.buf.drain(..from);
        Ok(())
    }
}

impl AudioEncoder for OpusEncoder {
    fn codec(&self) -> AudioCodec {
        AudioCodec::Opus
    }
    fn sample_rate(&self) -> u32 {
        RATE
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn bitrate(&self) -> u32 {
        self.bitrate
    }
    fn priming(&self) -> u32 {
        self.priming
    }
    fn config(&self) -> &AudioConfig {
        &self.config
    }
    fn send_samples(&mut self, samples: &[f32]) -> Result<()> {
        if self.flushed {
            return Err(Error::parameter("opus: samples sent after flush"));
        }
        self.checker.push(samples, &mut self.buf)?;
        self.drain()
    }
    fn flush(&mut self) -> Result<()> {
        if self.flushed {
            return Ok(());
        }
        self.flushed = true;
        let n = self.checker.stats().frames;
        if n == 0 {
            return Ok(());
        }
        // Enough packets to cover the priming and every input sample: pad with silence.
        let total = (n + u64::from(self.priming)).div_ceil(FRAME_LEN as u64) as i64;
        let ch = self.channels as usize;
        while self.frames_out < total {
            let missing = FRAME_LEN * ch - self.buf.len() % (FRAME_LEN * ch);
            if missing < FRAME_LEN * ch || self.buf.is_empty() {
                self.buf.resize(self.buf.len() + missing, 0.0);
            }
            self.drain()?;
        }
        Ok(())
    }
    fn receive_packet(&mut self) -> Option<AudioPacket> {
        self.ready.pop_front()
    }
    fn stats(&self) -> SampleStats {
        self.checker.stats()
    }
}

#[cfg(test)]
#[path = "opus_tests.rs"]
mod tests;
