//! Containers, one module per format, behind one trait.

use crate::encode::{AvcConfig, ColorInfo, Packet};
use crate::error::Result;
use crate::rational::Rational;

pub mod mp4;

/// What a container needs to know about the single video track.
#[derive(Debug, Clone)]
pub struct VideoTrack {
    /// Coded (even) width and height in pixels.
    pub width: u32,
    pub height: u32,
    /// Frame rate; packet timestamps are frame indices at this rate.
    pub fps: Rational,
    pub avc: AvcConfig,
    pub color: ColorInfo,
}

/// A container writer: packets in decode order in, a file out.
pub trait Muxer {
    /// Append one packet (in decode order).
    fn write_packet(&mut self, packet: &Packet) -> Result<()>;
    /// Write the index and close the container. Must be called once; afterwards the output is
    /// a complete, playable file with every packet written so far — or, after a failed write,
    /// with the longest run of frames that plays without a gap (an error if not even one fits).
    fn finish(&mut self) -> Result<()>;
    /// Bytes written to the output so far (media data plus headers).
    fn bytes_written(&self) -> u64;
}
