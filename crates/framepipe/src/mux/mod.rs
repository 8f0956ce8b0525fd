//! Containers, one module per format (MP4 today: [`mp4::Mp4Writer`] writes, [`mp4::probe`]
//! describes, [`mp4::Mp4Demuxer`] reads samples back, [`mp4::Mp4Concat`] joins files).

use crate::encode::{AudioConfig, AvcConfig, ColorInfo};
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

/// What a container needs to know about the audio track (track 2).
#[derive(Debug, Clone)]
pub struct AudioTrack {
    /// The codec configuration the sample entry carries (AAC's AudioSpecificConfig, Opus's
    /// `dOps` fields).
    pub config: AudioConfig,
    /// The codec's rate (= the audio track's media timescale).
    pub sample_rate: u32,
    pub channels: u16,
    /// Encoder delay in samples ([`crate::encode::AudioEncoder::priming`]): the edit list starts
    /// the presentation there.
    pub priming: u32,
    /// Average bit/s (the `esds` average; the maximum is computed by the muxer).
    pub bitrate: u32,
}
