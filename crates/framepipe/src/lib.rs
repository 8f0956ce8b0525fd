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

pub mod audio;
pub mod color;
pub mod encode;
pub mod error;
pub mod frame;
pub mod h264;
pub mod kernels;
pub mod mux;
pub mod options;
pub mod pipeline;
pub mod probe;
pub mod rational;

pub use error::{Error, Result};
pub use frame::{Frame, PixelFormat};
pub use options::{Dither, EncodeOptions, Fragments, GifOptions, OutputFormat, Preset, Tune};
pub use pipeline::{VideoWriter, WriteSummary};
pub use rational::Rational;
