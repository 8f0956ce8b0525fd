//! MP4 (ISO BMFF) container: a single-track H.264 writer with faststart layout
//! ([`Mp4Writer`]) and a small reader for inspecting MP4 files ([`probe`]).

mod boxes;
pub mod concat;
pub mod demux;
mod index;
pub mod metadata;
pub mod reader;
pub mod timing;
mod track;
pub mod writer;

pub use concat::Mp4Concat;
pub use demux::Mp4Demuxer;
pub use reader::{probe, probe_reader, Mp4Info};
pub use timing::check_fps;
pub use track::Presence;
pub use writer::Mp4Writer;
