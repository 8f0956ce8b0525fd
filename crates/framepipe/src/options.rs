//! Encoding options shared by the Rust API, the CLI and the Python front.

mod table;

pub(crate) use table::choice_name as table_choice;
pub use table::{build, spec, Applies, Built, Choice, Kind, OptionSpec, Value, MAX_THREADS, OPTIONS};

pub use crate::encode::AudioCodec;
use crate::error::{Error, Result};
use crate::rational::Rational;
use std::fmt;
use std::str::FromStr;

/// x264 speed/compression trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    Medium,
    Slow,
    Slower,
    Veryslow,
    Placebo,
}

impl Preset {
    pub const ALL: [Preset; 10] = [
        Preset::Ultrafast,
        Preset::Superfast,
        Preset::Veryfast,
        Preset::Faster,
        Preset::Fast,
        Preset::Medium,
        Preset::Slow,
        Preset::Slower,
        Preset::Veryslow,
        Preset::Placebo,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
            Preset::Slow => "slow",
            Preset::Slower => "slower",
            Preset::Veryslow => "veryslow",
            Preset::Placebo => "placebo",
        }
    }
}

/// x264 tuning for the content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tune {
    Animation,
    Stillimage,
    Film,
    Grain,
}

impl Tune {
    pub const ALL: [Tune; 4] = [Tune::Animation, Tune::Stillimage, Tune::Film, Tune::Grain];
    pub fn as_str(self) -> &'static str {
        match self {
            Tune::Animation => "animation",
            Tune::Stillimage => "stillimage",
            Tune::Film => "film",
            Tune::Grain => "grain",
        }
    }
}

macro_rules! impl_from_str {
    ($t:ty, $option:literal) => {
        impl FromStr for $t {
            type Err = Error;
            /// The name (or an alias) as the option table ([`table::OPTIONS`]) spells it.
            fn from_str(s: &str) -> Result<Self> {
                let name = table::choice_name($option, s)?;
                <$t>::ALL
                    .into_iter()
                    .find(|p| p.as_str() == name)
                    .ok_or_else(|| Error::parameter(format!("internal error: {} is not a {}", name, $option)))
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
impl_from_str!(Preset, "preset");
impl_from_str!(Tune, "tune");

/// The kind of file written. GIF is codec and container in one; MP4 is H.264 in an MP4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Mp4,
    Gif,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 2] = [OutputFormat::Mp4, OutputFormat::Gif];
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "mp4",
            OutputFormat::Gif => "gif",
        }
    }
    /// The format a path's extension names: `.gif` (any case) is GIF, anything else MP4.
    pub fn from_path(path: &std::path::Path) -> OutputFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gif") => OutputFormat::Gif,
            _ => OutputFormat::Mp4,
        }
    }

    /// Like [`from_path`](Self::from_path), but an extension that names another container or
    /// an image format (.webm, .mkv, .avi, .png, ...) is an error rather than an MP4 under a
    /// misleading name.
    pub fn from_path_checked(path: &std::path::Path) -> Result<OutputFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if FOREIGN_EXTENSIONS.contains(&ext.as_str()) {
            return Err(Error::unsupported(format!(
                "{} names a .{ext} file, but framepipe writes MP4 (H.264) or GIF: name it .mp4 (or .m4v, \
                 .mov) or .gif",
                path.display()
            )));
        }
        Ok(Self::from_path(path))
    }
}

/// Extensions of containers and image formats framepipe does not write (see
/// [`OutputFormat::from_path_checked`], which Python's writer calls too).
pub const FOREIGN_EXTENSIONS: &[&str] = &[
    "webm", "mkv", "avi", "wmv", "flv", "ogv", "ogg", "mpg", "mpeg", "ts", "m2ts", "h264", "264", "hevc", "png",
    "apng", "webp", "jpg", "jpeg", "bmp", "tif", "tiff", "avif", "heic",
];

/// How colours missing from a GIF's palette are approximated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dither {
    /// Nearest palette colour: flat areas stay flat, gradients show bands.
    None,
    /// An 8x8 Bayer pattern, fixed to the pixel position, so still areas stay still from frame to
    /// frame (compresses well in animations).
    Ordered,
    /// Floyd–Steinberg error diffusion: the smoothest gradients.
    FloydSteinberg,
}

impl Dither {
    pub const ALL: [Dither; 3] = [Dither::None, Dither::Ordered, Dither::FloydSteinberg];
    pub fn as_str(self) -> &'static str {
        match self {
            Dither::None => "none",
            Dither::Ordered => "ordered",
            Dither::FloydSteinberg => "floyd-steinberg",
        }
    }
}

impl_from_str!(OutputFormat, "format");
impl_from_str!(Dither, "dither");

/// Options of GIF output (ignored for MP4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GifOptions {
    /// Palette size, 2 to 256.
    pub colors: u16,
    pub dither: Dither,
    /// How many times the animation plays: 0 = forever, 1 = once, n = n times in all.
    /// (The file's NETSCAPE2.0 count is the number of repeats, n − 1.)
    pub loop_count: u32,
}

impl Default for GifOptions {
    fn default() -> Self {
        GifOptions { colors: 256, dither: Dither::FloydSteinberg, loop_count: 0 }
    }
}

impl GifOptions {
    /// Largest `loop_count` (the file stores n − 1 in 16 bits).
    pub const MAX_LOOP: u32 = 65536;

    /// The ranges of the option table.
    pub fn validate(&self) -> Result<()> {
        table::check_value("colors", Value::Int(self.colors.into()))?;
        table::check_value("loop", Value::Int(self.loop_count.into()))
    }
}

/// Rate control: constant quality (CRF) or an average bitrate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateControl {
    /// Constant rate factor, 1 (best) to 51 (smallest); 23 is x264's default. Below 1 x264 goes
    /// lossless, which High profile does not allow, so the encoder refuses it.
    Crf(f32),
    /// Average bitrate in kbit/s.
    BitrateKbps(u32),
}

/// How an MP4 stays playable while it is written: it is written in fragments (see
/// [`crate::mux::mp4::Mp4Writer`]), so a process that is killed loses at most the last fragment
/// (and the frames the encoder still held).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fragments {
    /// Seconds of video per fragment (about; a fragment ends where no presented frame is
    /// missing). Default 1.
    pub seconds: f64,
    /// Sync each fragment to the disk as it is written (fsync), and the file's directory entry
    /// once: the frames written survive a power loss too, not only a killed process.
    pub durable: bool,
}

impl Default for Fragments {
    fn default() -> Self {
        Fragments { seconds: 1.0, durable: false }
    }
}

impl Fragments {
    /// Longest fragment accepted, in seconds.
    pub const MAX_SECONDS: f64 = 3600.0;

    /// The range of the option table's `fragment_seconds`.
    pub fn validate(&self) -> Result<()> {
        table::check_value("fragment_seconds", Value::Float(self.seconds))
    }

    /// Frames per fragment at `fps` (at least 1).
    pub fn frames(&self, fps: Rational) -> u32 {
        (self.seconds * fps.as_f64()).round().clamp(1.0, 1_000_000.0) as u32
    }
}

/// How to encode a video.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    pub fps: Rational,
    pub rate: RateControl,
    pub preset: Preset,
    pub tune: Option<Tune>,
    /// Maximum distance between keyframes in frames; `None` = x264's default (250).
    pub keyint: Option<u32>,
    /// Encoder threads; `None` = all cores.
    pub threads: Option<u32>,
    /// Colour that transparent pixels are composited over (RGB).
    pub background: [u8; 3],
    /// Capacity of the queue between the caller and the encoder thread, in frames.
    pub queue_frames: usize,
    /// What to write; `None` = from the file's extension (`.gif` → GIF, else MP4; MP4 in memory).
    pub format: Option<OutputFormat>,
    /// Palette, dithering and looping of GIF output.
    pub gif: GifOptions,
    /// Movie metadata for MP4 output: `("title", "…")`, `("artist", "…")`, `("comment", "…")`,
    /// any other key too (see [`crate::mux::mp4::metadata`]). framepipe adds
    /// `("encoder", "framepipe <version>")` unless an `encoder` is given.
    pub metadata: Vec<(String, String)>,
    /// MP4 only: how the file stays playable while it is written.
    pub fragments: Fragments,
    /// MP4 only: a sound track, of samples at this rate and channel count, given with
    /// [`crate::VideoWriter::write_audio`]; `None` = no sound track.
    pub audio: Option<AudioInput>,
    /// The sound track's codec (when [`EncodeOptions::audio`] is set).
    pub audio_codec: AudioCodec,
    /// The sound track's bitrate in kbit/s; `None` = [`AudioCodec::default_bitrate`] for the
    /// channel count.
    pub audio_bitrate: Option<u32>,
}

/// The samples a writer's sound track is made of: interleaved `f32` at `sample_rate` Hz with
/// `channels` channels (1 to 8, in the WAV/FFmpeg order of [`crate::audio`]). The writer
/// resamples them to the codec's rate ([`AudioCodec::sample_rate_for`]) itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInput {
    pub sample_rate: u32,
    pub channels: u16,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            fps: Rational { num: 30, den: 1 },
            rate: RateControl::Crf(23.0),
            preset: Preset::Medium,
            tune: None,
            keyint: None,
            threads: None,
            background: [0, 0, 0],
            queue_frames: 4,
            format: None,
            gif: GifOptions::default(),
            metadata: Vec::new(),
            fragments: Fragments::default(),
            audio: None,
            audio_codec: AudioCodec::Aac,
            audio_bitrate: None,
        }
    }
}

impl EncodeOptions {
    /// Check ranges before anything is opened, so a bad option fails early and clearly (the
    /// option table's ranges and messages: [`table::OPTIONS`]).
    pub fn validate(&self) -> Result<()> {
        match self.rate {
            RateControl::Crf(c) => table::check_value("crf", Value::Float(c.into()))?,
            RateControl::BitrateKbps(b) => table::check_value("bitrate", Value::Int(b.into()))?,
        }
        if let Some(k) = self.keyint {
            table::check_value("keyint", Value::Int(k.into()))?;
        }
        if let Some(t) = self.threads {
            table::check_value("threads", Value::Int(t.into()))?;
        }
        table::check_value("queue_frames", Value::Int(i64::try_from(self.queue_frames).unwrap_or(i64::MAX)))?;
        self.fragments.validate()?;
        if let Some(b) = self.audio_bitrate {
            table::check_value("audio_bitrate", Value::Int(b.into()))?;
        }
        if let Some(a) = self.audio {
            crate::audio::check_format("audio", a.sample_rate, a.channels)?;
        }
        self.gif.validate()
    }
}
