//! framepipe: frames in memory → H.264 → MP4 (or an animated GIF), in-process.
//!
//! Data flows one way: **frames in → convert → encode → mux → bytes out**.
//!
//! - [`frame`]: borrowed views over RGB/RGBA/BGRA/ARGB/gray buffers with strides.
//! - [`color`]: every pixel conversion: RGB → YUV 4:2:0 (BT.709, limited range), alpha
//!   compositing, even-size padding, packed RGB for GIF.
//! - [`kernels`]: pixel kernels for clip compositing (resize, composite, LUT, grayscale, colour
//!   masks, rotation) on packed 8-bit images, and text ([`kernels::text`]: TextClip).
//! - [`encode`]: one module per codec behind the [`encode::VideoEncoder`] trait (x264 today);
//!   [`encode::gif`] is GIF, codec and container in one; audio behind [`encode::AudioEncoder`]
//!   (AAC-LC in [`encode::aac`], Opus in [`encode::opus`]).
//! - [`audio`]: audio on the way in: sample checks, resampling, soundtrack files.
//! - [`h264`]: what the containers need to know of H.264 (SPS fields, AVCC framing).
//! - [`mux`]: one module per container (MP4 today): writer, probe, demuxer, concat.
//! - [`pipeline`]: the [`VideoWriter`]: a bounded queue to an encoder thread that drives one
//!   backend per output format (MP4: a [`encode::VideoEncoder`] + the MP4 muxer; GIF).
//! - [`probe`]: what an MP4 or GIF file holds (one entry point for both).
//! - [`output`]: writing files without destroying others (temporaries beside the output,
//!   renamed into place; same file = same device and inode).
//! - [`error`]: the one error enum.
//!
//! Unsafe code lives in four places, each block with its reason, and is denied everywhere else
//! (`#![deny(unsafe_code)]`, allowed by name on these modules): the x264 binding
//! (`encode/x264.rs`, FFI), the libopus binding (`encode/opus.rs`, FFI), FFmpeg's AAC encoder
//! (`encode/aac.rs`, FFI to `csrc/aac_shim.c`) and one SIMD routine of the 2x2 resize
//! (`kernels/resize.rs`, byte shuffles with unaligned loads that the compiler does not generate
//! from safe code).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

// The modules are private: what the CLI, the Python binding and programs use is re-exported
// below (rav1e's lib.rs is the model), so the layout inside can change without breaking them.
mod audio;
mod color;
mod encode;
mod error;
mod frame;
mod h264;
/// Pixel kernels of the clip compositor (resize, composite, LUT, masks, rotation, text).
pub mod kernels;
mod mux;
/// Encoding options: the option table every front end goes through, and [`EncodeOptions`].
pub mod options;
mod output;
mod pipeline;
/// What an MP4 or GIF file holds: [`probe::probe_file`], and its one list of fields.
pub mod probe;
mod rational;

/// The libavcodec inside (FFmpeg's AAC encoder), as FFmpeg names it ("Lavc61.19.101").
pub use audio::decode::{AudioFileReader, READABLE as AUDIO_FILES_READABLE};
pub use encode::aac::libavcodec_ident;
pub use encode::gif::GifInfo;
pub use encode::x264::{build_info as x264_build_info, X264BuildInfo};
pub use encode::ColorInfo;
pub use error::{Detail, Error, IoContext, Result};
pub use frame::{try_filled, Frame, PixelFormat, MAX_DIMENSION};
pub use mux::mp4::timing::{MAX_FPS_DEN, MAX_FRAME_SECONDS};
pub use mux::mp4::{repair, Mp4Concat, Mp4Info, Repaired};
pub use options::{
    AudioCodec, AudioInput, Dither, EncodeOptions, Fragments, GifOptions, OutputFormat, Preset, RateControl, Tune,
    OPTIONS,
};
pub use output::FileId;
pub use pipeline::{EncodedAudio, SoundTrack, VideoWriter, WriteSummary};
pub use rational::Rational;

/// The engine's parts below the public API, for its own integration tests, examples and
/// benchmarks (the MP4 muxer and demuxer, the x264 encoder, the colour converter, the audio
/// encoders): not a stable API, hidden from the docs.
#[doc(hidden)]
pub mod testing {
    pub use crate::audio::decode::{AudioFileReader, READABLE};
    pub use crate::audio::resample::Resampler;
    pub use crate::audio::{check_format, layout_name, SampleChecker};
    pub use crate::color::{Converter, Yuv420Image};
    pub use crate::encode::aac::{AacCoder, AacEncoder};
    pub use crate::encode::gif::probe::probe_gif_reader;
    pub use crate::encode::x264::X264Encoder;
    pub use crate::encode::ColorInfo;
    pub use crate::encode::{
        new_audio_encoder, AacConfig, AudioCodec, AudioConfig, AudioEncoder, AudioPacket, AvcConfig, OpusConfig,
        Packet, VideoEncoder,
    };
    pub use crate::mux::mp4::{probe, probe_reader, repair, Mp4Concat, Mp4Demuxer, Mp4Info, Mp4Sink, Mp4Writer};
    pub use crate::mux::VideoTrack;
}
