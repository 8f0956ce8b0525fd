//! Containers, one module per format (MP4 today: [`mp4::Mp4Writer`] writes, [`mp4::probe`]
//! describes, [`mp4::Mp4Demuxer`] reads samples back, [`mp4::Mp4Concat`] joins files).

use crate::encode::{AvcConfig, ColorInfo};
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
