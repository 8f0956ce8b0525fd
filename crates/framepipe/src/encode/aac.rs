//! AAC-LC through FFmpeg's native AAC encoder (libavcodec's "aac", FFmpeg 7.1.5), linked
//! statically from the minimal build of `scripts/build-codecs.sh ffmpeg-aac`.
//!
//! The C side is `csrc/aac_shim.c` (compiled by build.rs): a handful of functions, so no
//! libavcodec struct layout is seen here. The encoder runs exactly as `ffmpeg -c:a aac -b:a N`
//! runs it: its default coder ("twoloop") and options, planar float frames of 1024 samples (only
//! the last one shorter), so for the same samples it gives the bytes FFmpeg's own CLI of the same
//! version gives. Input is buffered here to whole frames, so however the samples are chunked the
//! encoder sees the same frames and gives the same bytes. Output lags input by one frame (the
//! encoder's delay, [`PRIMING`] = libavcodec's `initial_padding`) plus the samples of the
//! partial frame still buffered.
//!
//! Channels 1-8 in WAV/FFmpeg order (see [`crate::audio`]): mono to 5.1 and 7.1 as AAC channel
//! configurations 1-7 (FFmpeg codes 7.1 as configuration 7, the front-wide 7.1 of the original
//! table, as every FFmpeg-made AAC 7.1 file is; its decoder puts the channels back in input order),
//! 6.1 (7 channels) with a program config element (PCE) in the AudioSpecificConfig, channel
//! configuration 0, as `ffmpeg -c:a aac` codes 6.1.
//!
//! Unsafe code: the FFI calls into the shim in this file, each with its reason. The encoder is
//! owned by [`AacEncoder`] and freed once in `Drop`.

use super::audio::{AacConfig, AudioCodec, AudioConfig, AudioEncoder, AudioPacket};
use crate::audio::{check_format, SampleChecker, SampleStats};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

/// AAC's sampling frequencies, in sampling-frequency-index order (ISO 14496-3 table 1.18).
pub const AAC_RATES: [u32; 13] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/// Samples per AAC frame.
pub const FRAME_LEN: usize = 1024;
/// The encoder's delay: one frame (the MDCT's overlap); libavcodec's `initial_padding`, checked
/// when an encoder opens.
pub const PRIMING: u32 = 1024;

/// The functions of `csrc/aac_shim.c`.
mod ffi {
    use std::ffi::{c_char, c_int};

    /// The shim's encoder (opaque).
    #[repr(C)]
    pub struct FpAac {
        _private: [u8; 0],
    }

    extern "C" {
        pub fn fp_aac_open(
            out: *mut *mut FpAac,
            sample_rate: c_int,
            channels: c_int,
            bit_rate: i64,
            coder: *const c_char,
        ) -> c_int;
        pub fn fp_aac_close(a: *mut FpAac);
        pub fn fp_aac_extradata(a: *const FpAac, data: *mut *const u8) -> c_int;
        pub fn fp_aac_initial_padding(a: *const FpAac) -> c_int;
        pub fn fp_aac_bit_rate(a: *const FpAac) -> i64;
        pub fn fp_aac_send(a: *mut FpAac, samples: *const f32, frames: c_int) -> c_int;
        pub fn fp_aac_receive(
            a: *mut FpAac,
            data: *mut *const u8,
            size: *mut c_int,
            pts: *mut i64,
            duration: *mut i64,
        ) -> c_int;
        pub fn fp_aac_error() -> *const c_char;
        pub fn fp_aac_libavcodec_ident() -> *const c_char;
    }
}

/// The last error libavcodec reported on this thread (the shim keeps it per thread).
fn shim_error() -> String {
    // SAFETY: fp_aac_error returns a pointer to the calling thread's NUL-terminated buffer, which
    // lives as long as the thread; it is copied out at once.
    unsafe { CStr::from_ptr(ffi::fp_aac_error()) }.to_string_lossy().into_owned()
}

/// libavcodec's identification, e.g. "Lavc61.19.101": the version of the AAC encoder linked in
/// (the encoder also writes it into the streams it makes, in a fill element).
pub fn libavcodec_ident() -> &'static str {
    // SAFETY: fp_aac_libavcodec_ident returns a pointer to a static NUL-terminated string literal.
    unsafe { CStr::from_ptr(ffi::fp_aac_libavcodec_ident()) }.to_str().unwrap_or("Lavc?")
}

/// The encoder's coding algorithm (FFmpeg's `aac_coder` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AacCoder {
    /// "twoloop": FFmpeg's default, the one `ffmpeg -c:a aac` uses; framepipe always uses it.
    #[default]
    TwoLoop,
    /// "fast": a faster, coarser search (for measurements: bench/audio_codecs.md).
    Fast,
}

impl AacCoder {
    fn option(self) -> &'static CStr {
        match self {
            AacCoder::TwoLoop => c"twoloop",
            AacCoder::Fast => c"fast",
        }
    }
}

/// An AAC-LC encoder; see the module documentation.
pub struct AacEncoder {
    handle: NonNull<ffi::FpAac>,
    sample_rate: u32,
    channels: u16,
    bitrate: u32,
    config: AudioConfig,
    checker: SampleChecker,
    /// Checked samples not yet sent: less than one frame between calls.
    buf: Vec<f32>,
    /// Packets received so far (the next one's index).
    packets_out: u64,
    ready: VecDeque<AudioPacket>,
    flushed: bool,
    /// A failure inside libavcodec: the encoder's state is unknown after it, so every later call
    /// reports it again.
    failed: Option<Error>,
}

// SAFETY: the encoder (an AVCodecContext and its frame and packet) is used only through &mut self,
// from one thread at a time; libavcodec's AAC encoder keeps its state in the context, and the
// shim's only thread-local data is the last error message, read right after the failing call on
// the same thread.
unsafe impl Send for AacEncoder {}

impl Drop for AacEncoder {
    fn drop(&mut self) {
        // SAFETY: `handle` came from fp_aac_open and is freed once, here.
        unsafe { ffi::fp_aac_close(self.handle.as_ptr()) };
    }
}

impl AacEncoder {
    /// Channels 1-8 (mono to 7.1, in WAV order), `sample_rate` one of [`AAC_RATES`], `bitrate`
    /// in bit/s: at least 8 kbit/s per channel, at most what an AAC frame holds (6144 bits per
    /// channel per 1024 samples: 288 kbit/s per channel at 48 kHz).
    pub fn new(sample_rate: u32, channels: u16, bitrate: u32) -> Result<Self> {
        Self::with_coder(sample_rate, channels, bitrate, AacCoder::TwoLoop)
    }

    /// [`AacEncoder::new`] with a coder other than FFmpeg's default (for measurements).
    pub fn with_coder(sample_rate: u32, channels: u16, bitrate: u32, coder: AacCoder) -> Result<Self> {
        check_format("aac", sample_rate, channels)?;
        if !AAC_RATES.contains(&sample_rate) {
            return Err(Error::parameter(format!(
                "aac: {sample_rate} Hz is not an AAC sampling rate; allowed: {AAC_RATES:?} (resample first: \
                 AudioCodec::sample_rate_for says to which)"
            )));
        }
        let ch = u32::from(channels);
        let (lo, hi) = (8_000 * ch, (6144 * u64::from(sample_rate) / FRAME_LEN as u64) as u32 * ch);
        if !(lo..=hi).contains(&bitrate) {
            return Err(Error::parameter(format!(
                "aac: bitrate {bitrate} bit/s is out of range for {channels} channel(s) at {sample_rate} Hz; allowed: {lo} to {hi}"
            )));
        }
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; the coder name is a static NUL-terminated string;
        // rate, channels and bitrate were checked above (the shim checks the channel count again).
        let r = unsafe {
            ffi::fp_aac_open(
                &mut raw,
                sample_rate as c_int,
                c_int::from(channels),
                i64::from(bitrate),
                coder.option().as_ptr(),
            )
        };
        let handle = match NonNull::new(raw) {
            Some(h) if r >= 0 => h,
            _ => {
                return Err(Error::encoder(format!(
                    "aac: opening FFmpeg's AAC encoder ({channels} channels, {sample_rate} Hz, {bitrate} bit/s): {}",
                    shim_error()
                )))
            }
        };
        let mut asc: *const u8 = std::ptr::null();
        // SAFETY: `handle` is a live encoder; the shim stores the extradata pointer and returns its
        // length. The bytes live as long as the encoder and are copied at once. The same for the
        // two integer getters.
        let (asc, padding, used_rate) = unsafe {
            let n = ffi::fp_aac_extradata(handle.as_ptr(), &mut asc);
            let asc = std::slice::from_raw_parts(asc, n.max(0) as usize).to_vec();
            (asc, ffi::fp_aac_initial_padding(handle.as_ptr()), ffi::fp_aac_bit_rate(handle.as_ptr()))
        };
        let enc = AacEncoder {
            handle,
            sample_rate,
            channels,
            bitrate,
            config: AudioConfig::Aac(AacConfig {
                channel_configuration: asc.get(1).map_or(0, |b| (b >> 3) & 0xF),
                audio_specific_config: asc,
                sample_rate,
            }),
            checker: SampleChecker::new(sample_rate, channels),
            buf: Vec::new(),
            packets_out: 0,
            ready: VecDeque::new(),
            flushed: false,
            failed: None,
        };
        // What the rest of framepipe relies on, from the encoder itself.
        let AudioConfig::Aac(c) = &enc.config else { unreachable!() };
        if padding != PRIMING as c_int || used_rate != i64::from(bitrate) || c.audio_specific_config.len() < 2 {
            return Err(Error::encoder(format!(
                "aac: FFmpeg's encoder opened with a delay of {padding} samples, {used_rate} bit/s and a {}-byte \
                 AudioSpecificConfig; expected {PRIMING}, {bitrate} and at least 2",
                c.audio_specific_config.len()
            )));
        }
        Ok(enc)
    }

    /// Sends one frame of interleaved samples (1024 sample frames; fewer only for the last) and
    /// collects the packets that become ready.
    fn send(&mut self, samples: &[f32]) -> Result<()> {
        let frames = samples.len() / self.channels as usize;
        debug_assert!((1..=FRAME_LEN).contains(&frames));
        // SAFETY: `samples` holds `frames` whole sample frames of `channels` interleaved floats,
        // which the shim reads (and copies) before returning; `handle` is a live encoder.
        let r = unsafe { ffi::fp_aac_send(self.handle.as_ptr(), samples.as_ptr(), frames as c_int) };
        if r < 0 {
            return Err(self.fail(format!("aac: encoding a frame: {}", shim_error())));
        }
        self.receive_all()
    }

    /// Moves every packet the encoder has ready into `ready`.
    fn receive_all(&mut self) -> Result<()> {
        loop {
            let (mut data, mut size, mut pts, mut duration) = (std::ptr::null(), 0, 0i64, 0i64);
            // SAFETY: `handle` is a live encoder; the out-pointers are valid. On 1, `data` points to
            // `size` bytes owned by the encoder until the next receive or close: copied at once.
            let r = unsafe { ffi::fp_aac_receive(self.handle.as_ptr(), &mut data, &mut size, &mut pts, &mut duration) };
            match r {
                0 | 2 => return Ok(()),
                1 => {
                    // SAFETY: see above.
                    let bytes = unsafe { std::slice::from_raw_parts(data, size.max(0) as usize) }.to_vec();
                    let k = self.packets_out;
                    // FFmpeg's pts is on the input's timeline (the first packet at -priming);
                    // ours on the decoder's output, where packet k starts at 1024 k.
                    let expected = (k * FRAME_LEN as u64) as i64 - i64::from(PRIMING);
                    if pts != expected || !(1..=FRAME_LEN as i64).contains(&duration) || bytes.is_empty() {
                        return Err(self.fail(format!(
                            "aac: FFmpeg's encoder gave packet {k} pts {pts}, duration {duration}, {} bytes; \
                             expected pts {expected}",
                            bytes.len()
                        )));
                    }
                    self.packets_out += 1;
                    self.ready.push_back(AudioPacket {
                        data: bytes,
                        pts: (k * FRAME_LEN as u64) as i64,
                        duration: FRAME_LEN as u32,
                    });
                }
                _ => return Err(self.fail(format!("aac: receiving a packet: {}", shim_error()))),
            }
        }
    }

    fn fail(&mut self, msg: String) -> Error {
        let e = Error::encoder(msg);
        self.failed = Some(e.again(""));
        e
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.again("aac: the encoder failed earlier: ")),
            None => Ok(()),
        }
    }
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
        self.check_usable()?;
        if self.flushed {
            return Err(Error::parameter("aac: samples sent after flush"));
        }
        self.checker.push(samples, &mut self.buf)?;
        let frame = FRAME_LEN * self.channels as usize;
        let full = self.buf.len() / frame * frame;
        if full == 0 {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let mut result = Ok(());
        for f in buf[..full].chunks_exact(frame) {
            result = self.send(f);
            if result.is_err() {
                break;
            }
        }
        // The partial frame stays for the next call (however the samples were chunked, the
        // encoder sees the same frames).
        self.buf = buf;
        self.buf.drain(..full);
        result
    }
    fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.flushed {
            return Ok(());
        }
        self.flushed = true;
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.send(&rest)?;
        }
        // SAFETY: `handle` is a live encoder; a null pointer means the end of the stream.
        let r = unsafe { ffi::fp_aac_send(self.handle.as_ptr(), std::ptr::null(), 0) };
        if r < 0 {
            return Err(self.fail(format!("aac: flushing the encoder: {}", shim_error())));
        }
        self.receive_all()?;
        // Every input sample plus the priming, in whole frames.
        let want = (self.checker.stats().frames + u64::from(PRIMING)).div_ceil(FRAME_LEN as u64);
        let want = if self.checker.stats().frames == 0 { 0 } else { want };
        if self.packets_out != want {
            return Err(self.fail(format!(
                "aac: FFmpeg's encoder gave {} packets for {} samples; expected {want}",
                self.packets_out,
                self.checker.stats().frames
            )));
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
#[path = "aac_tests.rs"]
mod tests;
