//! A writer's options as they cross from Python: one typed object (`framepipe._options.
//! WriterOptions`, a frozen dataclass that Python has already checked for types and for what
//! applies to the output format), read by attribute and turned into the engine's
//! [`EncodeOptions`], whose own checks (ranges, names) then run once, as for the CLI.

use framepipe::options::RateControl;
use framepipe::{EncodeOptions, Error, Fragments, GifOptions, Rational};
use pyo3::prelude::*;

/// The attributes of `framepipe._options.WriterOptions` that the engine needs.
#[derive(FromPyObject, Debug)]
pub(crate) struct WriterOptions {
    format: String,
    fps_num: u32,
    fps_den: u32,
    crf: Option<f32>,
    bitrate: Option<u32>,
    preset: String,
    tune: Option<String>,
    keyint: Option<u32>,
    threads: Option<u32>,
    background: (u8, u8, u8),
    queue_frames: usize,
    colors: u16,
    dither: String,
    loop_count: u32,
    metadata: Vec<(String, String)>,
    fragment_seconds: f64,
    durable: bool,
}

impl WriterOptions {
    /// The engine's options; an error for a value the engine refuses (checked again when the
    /// writer opens).
    pub(crate) fn to_engine(&self) -> Result<EncodeOptions, Error> {
        let rate = match (self.crf, self.bitrate) {
            (Some(_), Some(_)) => return Err(Error::parameter("give either crf or bitrate, not both")),
            (_, Some(b)) => RateControl::BitrateKbps(b),
            (c, None) => RateControl::Crf(c.unwrap_or(23.0)),
        };
        Ok(EncodeOptions {
            fps: Rational::new(self.fps_num, self.fps_den)?,
            rate,
            preset: self.preset.parse()?,
            tune: self.tune.as_deref().filter(|t| !t.is_empty() && *t != "none").map(str::parse).transpose()?,
            keyint: self.keyint,
            threads: self.threads,
            background: [self.background.0, self.background.1, self.background.2],
            queue_frames: self.queue_frames,
            format: Some(self.format.parse()?),
            gif: GifOptions { colors: self.colors, dither: self.dither.parse()?, loop_count: self.loop_count },
            metadata: self.metadata.clone(),
            fragments: Fragments { seconds: self.fragment_seconds, durable: self.durable },
        })
    }
}
