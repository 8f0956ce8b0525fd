//! MP4 (ISO BMFF) container: a single-track H.264 writer, fragmented while writing and
//! faststart when finished ([`Mp4Writer`]), a small reader for inspecting MP4 files ([`probe`]),
//! and [`repair`] for files whose writer was stopped before it finished.

pub mod audio;
mod boxes;
pub mod concat;
pub mod demux;
mod fragment;
mod index;
pub mod metadata;
pub mod reader;
pub mod repair;
pub mod timing;
mod track;
pub mod writer;

pub use audio::AudioInfo;
pub use concat::Mp4Concat;
pub use demux::Mp4Demuxer;
pub use reader::{probe, probe_reader, Mp4Info};
pub use repair::{repair, Repaired};
pub use timing::check_fps;
pub use writer::{Mp4Sink, Mp4Writer};
