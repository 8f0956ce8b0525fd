//! Encoders, one module per codec: video behind [`VideoEncoder`], audio behind
//! [`audio::AudioEncoder`] (AAC in [`aac`], Opus in [`opus`]). Video is a libav-style context: `send_frame` a
//! picture, then drain `receive_packet` until it returns `None`; `flush` once at the end.

use crate::color::Yuv420Image;
use crate::error::Result;

// FFI (unsafe code: the crate denies it elsewhere): FFmpeg's AAC encoder through csrc/aac_shim.c.
#[allow(unsafe_code)]
pub mod aac;
pub mod audio;
#[cfg(test)]
pub(crate) mod audio_testutil;
pub mod gif;
// FFI into libopus (create, ctl, encode, destroy); each unsafe block says why it is sound.
#[allow(unsafe_code)]
pub mod opus;
// FFI into libx264 and its log callback; each unsafe block says why it is sound.
#[allow(unsafe_code)]
pub mod x264;

pub use audio::{new_audio_encoder, AacConfig, AudioCodec, AudioConfig, AudioEncoder, AudioPacket, OpusConfig};

/// One encoded access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// For H.264: NAL units each prefixed by a 4-byte big-endian length (the MP4/AVCC layout).
    pub data: Vec<u8>,
    /// Presentation timestamp in frame units (frame index).
    pub pts: i64,
    /// Decoding timestamp in frame units; may be negative at the start when B-frames are used.
    pub dts: i64,
    /// An IDR frame: decoding can start here.
    pub keyframe: bool,
}

/// H.264 decoder configuration (the contents of an `avcC` box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// Sequence parameter sets, without start codes or length prefixes.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets, without start codes or length prefixes.
    pub pps: Vec<Vec<u8>>,
}

impl AvcConfig {
    /// profile_idc, constraint flags, level_idc (bytes 1..4 of the first SPS).
    pub fn profile_compat_level(&self) -> (u8, u8, u8) {
        let sps = &self.sps[0];
        (sps[1], sps[2], sps[3])
    }
}

/// Colour description carried in the bitstream (VUI) and the container (`colr`).
/// Values are the ITU-T H.273 code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorInfo {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

impl ColorInfo {
    /// BT.709 primaries, transfer and matrix, limited ("TV") range.
    pub const BT709_LIMITED: ColorInfo = ColorInfo { primaries: 1, transfer: 1, matrix: 1, full_range: false };
}

/// An encoder of YUV 4:2:0 pictures.
pub trait VideoEncoder: Send {
    /// Codec configuration for the container, available right after creation.
    fn avc_config(&self) -> &AvcConfig;
    /// Encode one picture with presentation timestamp `pts` (frame index).
    fn send_frame(&mut self, picture: &Yuv420Image, pts: i64) -> Result<()>;
    /// Signal the end of input; delayed frames become available from `receive_packet`.
    fn flush(&mut self) -> Result<()>;
    /// The next encoded packet, if one is ready.
    fn receive_packet(&mut self) -> Result<Option<Packet>>;
}
