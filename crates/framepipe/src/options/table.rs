//! The one table of encoding options: each option's name, type, range, default, the formats it
//! applies to and one line of doc, and the one validator ([`build`]) that turns given values
//! into [`EncodeOptions`]. The CLI makes its flags from [`OPTIONS`] (`--name`, `_` as `-`), the
//! Python binding reads keyword values into [`Value`]s and exposes the table
//! (`framepipe._native.option_table()`), and both call [`build`]: one set of names, aliases,
//! ranges and messages for every front end.
//!
//! Adding an option: a row here, its field in [`EncodeOptions`] (set in [`build`]), its use in
//! the encoder, the `EncodeOptions` TypedDict in Python and the docs.

use super::{Dither, EncodeOptions, Fragments, GifOptions, OutputFormat, Preset, RateControl, Tune};
use crate::encode::AudioCodec;
use crate::error::{Error, Result};
use crate::frame::PixelFormat;
use crate::rational::Rational;
use std::path::Path;

/// The output formats an option applies to. Given for the other format, it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    Mp4,
    Gif,
}

impl Applies {
    pub fn as_str(self) -> &'static str {
        match self {
            Applies::Both => "mp4, gif",
            Applies::Mp4 => "mp4",
            Applies::Gif => "gif",
        }
    }
    fn includes(self, format: OutputFormat) -> bool {
        matches!(
            (self, format),
            (Applies::Both, _) | (Applies::Mp4, OutputFormat::Mp4) | (Applies::Gif, OutputFormat::Gif)
        )
    }
}

/// One accepted name of a choice and the other spellings that mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

const fn choice(name: &'static str, aliases: &'static [&'static str]) -> Choice {
    Choice { name, aliases }
}

/// An option's type and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// An integer from `min` to `max`.
    Int { min: i64, max: i64 },
    /// A finite number from `min` (excluded when `min_exclusive`) to `max`.
    Float { min: f64, max: f64, min_exclusive: bool },
    /// One of these names (or an alias; case, `_` and spaces do not matter).
    Choice(&'static [Choice]),
    /// On or off (a flag on the command line).
    Bool,
    /// An RGB colour: three integers from 0 to 255 (`RRGGBB` or `r,g,b` on the command line).
    Color,
    /// Text tags, key and value (`KEY=VALUE`, repeatable, on the command line).
    Tags,
}

impl Kind {
    /// What a valid value is, in words ("an integer from 2 to 256").
    pub fn describe(&self) -> String {
        match self {
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Float { min, max, min_exclusive: false } => format!("a number from {min} to {max}"),
            Kind::Float { min, max, min_exclusive: true } => format!("a number more than {min} and at most {max}"),
            Kind::Choice(c) => format!("one of {}", choice_names(c)),
            Kind::Bool => "true or false".into(),
            Kind::Color => "an RGB colour: 3 integers from 0 to 255 (RRGGBB in hex, or r,g,b)".into(),
            Kind::Tags => "KEY=VALUE text tags".into(),
        }
    }
    /// The type's name as the table shows it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Int { .. } => "int",
            Kind::Float { .. } => "float",
            Kind::Choice(_) => "choice",
            Kind::Bool => "bool",
            Kind::Color => "color",
            Kind::Tags => "tags",
        }
    }
}

fn choice_names(c: &[Choice]) -> String {
    c.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    /// The name: Python's keyword, the CLI's `--flag` with `_` as `-`, and the name messages use.
    pub name: &'static str,
    pub kind: Kind,
    /// The default, as text ("" when unset means the encoder's or "none").
    pub default: &'static str,
    pub applies: Applies,
    /// Whether the `framepipe encode` command has it (`queue_frames` and `format` are for
    /// programs; the command takes the format from the output's name).
    pub cli: bool,
    /// The command line's one-letter flag, if any.
    pub short: Option<char>,
    pub doc: &'static str,
}

impl OptionSpec {
    /// The CLI's long flag, without the dashes.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }
}

const PRESETS: &[Choice] = &[
    choice("ultrafast", &[]),
    choice("superfast", &[]),
    choice("veryfast", &[]),
    choice("faster", &[]),
    choice("fast", &[]),
    choice("medium", &[]),
    choice("slow", &[]),
    choice("slower", &[]),
    choice("veryslow", &[]),
    choice("placebo", &[]),
];
const TUNES: &[Choice] =
    &[choice("animation", &[]), choice("stillimage", &[]), choice("film", &[]), choice("grain", &[])];
const DITHERS: &[Choice] = &[
    choice("none", &[]),
    choice("ordered", &["bayer"]),
    choice("floyd-steinberg", &["fs", "floyd", "floydsteinberg"]),
];
const FORMATS: &[Choice] = &[choice("mp4", &[".mp4"]), choice("gif", &[".gif"])];
const AUDIO_CODECS: &[Choice] = &[choice("aac", &[]), choice("opus", &[])];
const PIX_FMTS: &[Choice] = &[
    choice("rgb24", &["rgb"]),
    choice("bgr24", &["bgr"]),
    choice("rgba", &[]),
    choice("bgra", &[]),
    choice("argb", &[]),
    choice("gray8", &["gray", "grey", "grey8"]),
];

/// Range of `audio_bitrate`, kbit/s: the lowest both codecs take for one channel (AAC 8) to the
/// highest for 8 channels (Opus 256 each); each codec checks its own range for the channel count.
pub const MIN_AUDIO_KBPS: i64 = 8;
pub const MAX_AUDIO_KBPS: i64 = 2048;
/// Largest encoder thread count accepted.
pub const MAX_THREADS: i64 = 1024;
const I32_MAX: i64 = i32::MAX as i64;

/// Every encoding option, in the order help texts list them.
pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "crf",
        kind: Kind::Float { min: 1.0, max: 51.0, min_exclusive: false },
        default: "23",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "constant quality: lower is better and larger (18 near-lossless, 28 small); 0, lossless, \
              needs a profile browsers do not play",
    },
    OptionSpec {
        name: "bitrate",
        kind: Kind::Int { min: 1, max: I32_MAX },
        default: "",
        applies: Applies::Mp4,
        cli: true,
        short: Some('b'),
        doc: "average bitrate in kbit/s, instead of constant quality (crf)",
    },
    OptionSpec {
        name: "preset",
        kind: Kind::Choice(PRESETS),
        default: "medium",
        applies: Applies::Both,
        cli: true,
        short: None,
        doc: "x264 speed/compression trade-off (ignored for GIF)",
    },
    OptionSpec {
        name: "tune",
        kind: Kind::Choice(TUNES),
        default: "",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "x264 tuning for the content",
    },
    OptionSpec {
        name: "keyint",
        kind: Kind::Int { min: 1, max: I32_MAX },
        default: "250",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "maximum distance between keyframes, in frames",
    },
    OptionSpec {
        name: "threads",
        kind: Kind::Int { min: 1, max: MAX_THREADS },
        default: "",
        applies: Applies::Both,
        cli: true,
        short: None,
        doc: "encoder threads (default: all cores; ignored for GIF)",
    },
    OptionSpec {
        name: "background",
        kind: Kind::Color,
        default: "000000",
        applies: Applies::Both,
        cli: true,
        short: None,
        doc: "colour that transparent pixels are composited over",
    },
    OptionSpec {
        name: "pix_fmt",
        kind: Kind::Choice(PIX_FMTS),
        default: "",
        applies: Applies::Both,
        cli: true,
        short: None,
        doc: "byte order of the input pixels (default: from the channel count; rgb24 for raw input)",
    },
    OptionSpec {
        name: "queue_frames",
        kind: Kind::Int { min: 1, max: 1 << 16 },
        default: "4",
        applies: Applies::Both,
        cli: false,
        short: None,
        doc: "frames queued between the caller and the encoder thread",
    },
    OptionSpec {
        name: "format",
        kind: Kind::Choice(FORMATS),
        default: "",
        applies: Applies::Both,
        cli: false,
        short: None,
        doc: "what to write (default: from the file's extension, .gif is GIF, else MP4)",
    },
    OptionSpec {
        name: "colors",
        kind: Kind::Int { min: 2, max: 256 },
        default: "256",
        applies: Applies::Gif,
        cli: true,
        short: None,
        doc: "palette size (one entry is kept for transparency)",
    },
    OptionSpec {
        name: "dither",
        kind: Kind::Choice(DITHERS),
        default: "floyd-steinberg",
        applies: Applies::Gif,
        cli: true,
        short: None,
        doc: "how colours missing from the palette are approximated",
    },
    OptionSpec {
        name: "loop",
        kind: Kind::Int { min: 0, max: GifOptions::MAX_LOOP as i64 },
        default: "0",
        applies: Applies::Gif,
        cli: true,
        short: None,
        doc: "how many times the animation plays: 0 = forever",
    },
    OptionSpec {
        name: "metadata",
        kind: Kind::Tags,
        default: "",
        applies: Applies::Mp4,
        cli: true,
        short: Some('m'),
        doc: "text tags (title, artist, comment, ... or any other key)",
    },
    OptionSpec {
        name: "fragment_seconds",
        kind: Kind::Float { min: 0.0, max: Fragments::MAX_SECONDS, min_exclusive: true },
        default: "1",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "seconds of video per fragment while writing (a killed run loses at most about this much)",
    },
    OptionSpec {
        name: "durable",
        kind: Kind::Bool,
        default: "false",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "sync every fragment to the disk as it is written (survives a power loss)",
    },
    OptionSpec {
        name: "audio_codec",
        kind: Kind::Choice(AUDIO_CODECS),
        default: "aac",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "codec of the sound track, when there is one: aac (plays everywhere) or opus (better per bit, \
              always 48 kHz)",
    },
    OptionSpec {
        name: "audio_bitrate",
        kind: Kind::Int { min: MIN_AUDIO_KBPS, max: MAX_AUDIO_KBPS },
        default: "",
        applies: Applies::Mp4,
        cli: true,
        short: None,
        doc: "bitrate of the sound track in kbit/s (default by codec and channels: aac 64 per channel, \
              opus 64 mono, 96 stereo, 256 for 5.1)",
    },
];

/// The row named `name`.
pub fn spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|s| s.name == name)
}

/// A value given for an option, as the front end has it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string from a program (Python): a choice's name; not parsed as a number.
    Text(String),
    /// A command-line argument: parsed as the option's type ("128" for colors).
    Arg(String),
    Color([u8; 3]),
    Tags(Vec<(String, String)>),
    /// Any other value, described as the front end shows it (e.g. Python's repr).
    Other(String),
}

impl Value {
    /// The value as messages show it (`got ...`).
    fn shown(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) | Value::Arg(s) => format!("{s:?}"),
            Value::Color(c) => format!("({}, {}, {})", c[0], c[1], c[2]),
            Value::Tags(t) => format!("{t:?}"),
            Value::Other(s) => s.clone(),
        }
    }
}

/// A checked value of one option.
#[derive(Debug, Clone, PartialEq)]
enum Checked {
    Int(i64),
    Float(f64),
    Choice(&'static str),
    Bool(bool),
    Color([u8; 3]),
    Tags(Vec<(String, String)>),
}

/// Check one value against its row: the type, the range, the name of a choice.
fn check(spec: &OptionSpec, value: &Value) -> Result<Checked> {
    let name = spec.name;
    let wrong =
        || Error::parameter_for(name, format!("{name} must be {}, got {}", spec.kind.describe(), value.shown()));
    match (spec.kind, value) {
        (Kind::Int { min, max }, Value::Int(_) | Value::Arg(_)) => {
            let i = match value {
                Value::Int(i) => *i,
                Value::Arg(s) => s.trim().parse::<i64>().map_err(|_| wrong())?,
                _ => unreachable!(),
            };
            if !(min..=max).contains(&i) {
                return Err(Error::parameter_for(name, format!("{name} must be between {min} and {max}, got {i}")));
            }
            Ok(Checked::Int(i))
        }
        (Kind::Float { min, max, min_exclusive }, Value::Int(_) | Value::Float(_) | Value::Arg(_)) => {
            let x = match value {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                Value::Arg(s) => s.trim().parse::<f64>().map_err(|_| wrong())?,
                _ => unreachable!(),
            };
            if !x.is_finite() {
                return Err(wrong());
            }
            if name == "crf" && (0.0..1.0).contains(&x) {
                return Err(Error::parameter_for(
                    name,
                    format!(
                        "crf {x} would be lossless, which needs H.264's High 4:4:4 Predictive profile (browsers \
                         and phones do not play it); framepipe writes High profile: use crf 1 or more"
                    ),
                ));
            }
            let above_min = if min_exclusive { x > min } else { x >= min };
            if !above_min || x > max {
                let range = if min_exclusive {
                    format!("more than {min} and at most {max}")
                } else {
                    format!("between {min} and {max}")
                };
                return Err(Error::parameter_for(name, format!("{name} must be {range}, got {x}")));
            }
            Ok(Checked::Float(x))
        }
        (Kind::Choice(choices), Value::Text(s) | Value::Arg(s)) => {
            let key = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
            choices
                .iter()
                .find(|c| c.name == key || c.aliases.iter().any(|a| *a == key || a.replace('-', "") == key))
                .map(|c| Checked::Choice(c.name))
                .ok_or_else(|| {
                    let aliases: Vec<String> = choices
                        .iter()
                        .flat_map(|c| c.aliases.iter().map(move |a| format!("{a} = {}", c.name)))
                        .collect();
                    let also =
                        if aliases.is_empty() { String::new() } else { format!(" (also {})", aliases.join(", ")) };
                    Error::parameter_for(
                        name,
                        format!("unknown {name} {s:?}; expected one of {}{also}", choice_names(choices)),
                    )
                })
        }
        (Kind::Bool, Value::Bool(b)) => Ok(Checked::Bool(*b)),
        (Kind::Color, Value::Color(c)) => Ok(Checked::Color(*c)),
        (Kind::Color, Value::Arg(s)) => parse_color(s).map(Checked::Color).ok_or_else(wrong),
        (Kind::Tags, Value::Tags(t)) => Ok(Checked::Tags(t.clone())),
        (Kind::Tags, Value::Arg(s)) => match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(Checked::Tags(vec![(k.trim().to_string(), v.to_string())])),
            _ => Err(Error::parameter_for(name, format!("{name} must be KEY=VALUE, got {s:?}"))),
        },
        _ => Err(wrong()),
    }
}

/// A colour as `RRGGBB` (hex, `#` or `0x` optional) or `r,g,b` (0 to 255 each).
fn parse_color(s: &str) -> Option<[u8; 3]> {
    let t = s.trim();
    if t.contains(',') {
        let parts: Vec<&str> = t.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            return None;
        }
        let mut rgb = [0u8; 3];
        for (c, p) in rgb.iter_mut().zip(&parts) {
            *c = p.parse().ok()?;
        }
        return Some(rgb);
    }
    let hex = t.strip_prefix('#').or_else(|| t.strip_prefix("0x")).unwrap_or(t);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// The options of one writer, checked: what [`build`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub options: EncodeOptions,
    /// The `pix_fmt` option (it describes the frames, not the encoding).
    pub pix_fmt: Option<PixelFormat>,
}

/// The format written to `path` with `format` given or not: `format`, else the extension (a
/// name of another container or image format is refused), else MP4 (in memory).
fn format_of(path: Option<&Path>, given: Option<&'static str>) -> Result<OutputFormat> {
    match (given, path) {
        (Some(f), _) => f.parse(),
        (None, Some(p)) => OutputFormat::from_path_checked(p),
        (None, None) => Ok(OutputFormat::Mp4),
    }
}

/// Check `given` (name, value) pairs against the table and make the engine's options: every
/// name known, every value of its type and range, nothing that applies only to the other
/// format (an option off, such as `durable` false, counts as not given), crf and bitrate not
/// both. `path` (None = in memory) decides the format when `format` is not given. Repeated
/// `metadata` values add up; another repeated option takes the last value.
pub fn build(path: Option<&Path>, fps: Rational, given: &[(&str, Value)]) -> Result<Built> {
    let mut checked: Vec<(&'static OptionSpec, Checked)> = Vec::new();
    for (name, value) in given {
        let Some(spec) = spec(name) else {
            let names: Vec<&str> = OPTIONS.iter().map(|s| s.name).collect();
            return Err(Error::parameter_for(
                *name,
                format!("unknown option {name:?}; the options are {}", names.join(", ")),
            ));
        };
        let value = check(spec, value)?;
        match checked.iter_mut().find(|(s, _)| s.name == spec.name) {
            Some((_, Checked::Tags(old))) => {
                if let Checked::Tags(new) = value {
                    old.extend(new)
                }
            }
            Some((_, old)) => *old = value,
            None => checked.push((spec, value)),
        }
    }
    let get = |name: &str| checked.iter().find(|(s, _)| s.name == name).map(|(_, v)| v);
    let format = format_of(
        path,
        match get("format") {
            Some(Checked::Choice(f)) => Some(f),
            _ => None,
        },
    )?;
    let wrong: Vec<&str> = checked
        .iter()
        .filter(|(s, v)| !s.applies.includes(format) && *v != Checked::Bool(false))
        .map(|(s, _)| s.name)
        .collect();
    if !wrong.is_empty() {
        let verb = if wrong.len() == 1 { "applies" } else { "apply" };
        let msg = match format {
            OutputFormat::Gif => format!(
                "{} {verb} to MP4 (H.264) output, not to a GIF; a GIF's size and quality are set by colors and dither",
                wrong.join(", ")
            ),
            OutputFormat::Mp4 => format!(
                "{} {verb} to GIF output only (this writes an MP4; name the output *.gif for a GIF)",
                wrong.join(", ")
            ),
        };
        return Err(Error::parameter_for(wrong[0], msg));
    }
    let mut o = EncodeOptions { fps, format: Some(format), ..EncodeOptions::default() };
    let mut pix_fmt = None;
    let (mut crf, mut bitrate) = (None, None);
    for (spec, value) in checked {
        match (spec.name, value) {
            ("crf", Checked::Float(c)) => crf = Some(c as f32),
            ("bitrate", Checked::Int(b)) => bitrate = Some(b as u32),
            ("preset", Checked::Choice(p)) => o.preset = p.parse::<Preset>()?,
            ("tune", Checked::Choice(t)) => o.tune = Some(t.parse::<Tune>()?),
            ("keyint", Checked::Int(k)) => o.keyint = Some(k as u32),
            ("threads", Checked::Int(t)) => o.threads = Some(t as u32),
            ("background", Checked::Color(c)) => o.background = c,
            ("pix_fmt", Checked::Choice(p)) => pix_fmt = Some(p.parse::<PixelFormat>()?),
            ("queue_frames", Checked::Int(q)) => o.queue_frames = q as usize,
            ("format", _) => {}
            ("colors", Checked::Int(c)) => o.gif.colors = c as u16,
            ("dither", Checked::Choice(d)) => o.gif.dither = d.parse::<Dither>()?,
            ("loop", Checked::Int(l)) => o.gif.loop_count = l as u32,
            ("metadata", Checked::Tags(t)) => o.metadata = t,
            ("fragment_seconds", Checked::Float(s)) => o.fragments.seconds = s,
            ("durable", Checked::Bool(d)) => o.fragments.durable = d,
            ("audio_codec", Checked::Choice(c)) => o.audio_codec = AudioCodec::parse(c)?,
            ("audio_bitrate", Checked::Int(b)) => o.audio_bitrate = Some(b as u32),
            (name, v) => return Err(Error::parameter(format!("internal error: option {name} got {v:?}"))),
        }
    }
    o.rate = match (crf, bitrate) {
        (Some(_), Some(_)) => {
            return Err(Error::parameter_for("bitrate", "give either crf or bitrate, not both"));
        }
        (_, Some(b)) => RateControl::BitrateKbps(b),
        (Some(c), None) => RateControl::Crf(c),
        (None, None) => o.rate,
    };
    o.validate()?;
    Ok(Built { options: o, pix_fmt })
}

/// Check one value of the option `name` on its own (for [`EncodeOptions::validate`], so that a
/// program that fills the struct directly gets the table's messages).
pub(crate) fn check_value(name: &str, value: Value) -> Result<()> {
    match spec(name) {
        Some(s) => check(s, &value).map(|_| ()),
        None => Err(Error::parameter(format!("internal error: no option {name}"))),
    }
}

/// The canonical name of the choice `s` of the option `option` (an alias gives its name): the
/// `FromStr` of [`Preset`], [`Tune`], [`Dither`], [`OutputFormat`] and [`PixelFormat`].
pub(crate) fn choice_name(option: &str, s: &str) -> Result<&'static str> {
    let spec = spec(option).ok_or_else(|| Error::parameter(format!("internal error: no option {option}")))?;
    match check(spec, &Value::Text(s.to_string()))? {
        Checked::Choice(name) => Ok(name),
        other => Err(Error::parameter(format!("internal error: {option} is not a choice: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fps() -> Rational {
        Rational { num: 10, den: 1 }
    }

    fn built(path: &str, given: &[(&str, Value)]) -> Result<Built> {
        build(Some(Path::new(path)), fps(), given)
    }

    #[test]
    fn dither_names_and_aliases() {
        for (text, want) in [
            ("fs", Dither::FloydSteinberg),
            ("floyd", Dither::FloydSteinberg),
            ("Floyd_Steinberg", Dither::FloydSteinberg),
            ("floydsteinberg", Dither::FloydSteinberg),
            ("bayer", Dither::Ordered),
            ("ordered", Dither::Ordered),
            ("none", Dither::None),
        ] {
            let from_arg = built("a.gif", &[("dither", Value::Arg(text.into()))]).unwrap();
            let from_text = built("a.gif", &[("dither", Value::Text(text.into()))]).unwrap();
            assert_eq!(from_arg.options.gif.dither, want, "{text}");
            assert_eq!(from_arg, from_text);
            assert_eq!(text.parse::<Dither>().unwrap(), want);
        }
        let e = built("a.gif", &[("dither", Value::Text("sierra".into()))]).unwrap_err();
        assert_eq!(e.argument(), Some("dither"));
        assert_eq!(
            e.to_string(),
            "unknown dither \"sierra\"; expected one of none, ordered, floyd-steinberg (also bayer = ordered, \
             fs = floyd-steinberg, floyd = floyd-steinberg, floydsteinberg = floyd-steinberg)"
        );
    }

    #[test]
    fn ranges_types_and_messages() {
        let e = built("a.gif", &[("colors", Value::Int(300))]).unwrap_err();
        assert_eq!(
            (e.to_string().as_str(), e.argument()),
            ("colors must be between 2 and 256, got 300", Some("colors"))
        );
        // The same from a command-line argument, and a float is not an integer.
        assert_eq!(built("a.gif", &[("colors", Value::Arg("300".into()))]).unwrap_err().to_string(), e.to_string());
        let e = built("a.gif", &[("colors", Value::Float(16.0))]).unwrap_err();
        assert_eq!(e.to_string(), "colors must be an integer from 2 to 256, got 16.0");
        // A string from a program is not parsed as a number.
        assert!(built("a.gif", &[("colors", Value::Text("16".into()))]).is_err());
        let e = built("a.mp4", &[("crf", Value::Float(0.5))]).unwrap_err();
        assert!(e.to_string().contains("lossless"), "{e}");
        let e = built("a.mp4", &[("crf", Value::Float(f64::NAN))]).unwrap_err();
        assert_eq!(e.to_string(), "crf must be a number from 1 to 51, got NaN");
        let e = built("a.mp4", &[("fragment_seconds", Value::Int(0))]).unwrap_err();
        assert_eq!(e.to_string(), "fragment_seconds must be more than 0 and at most 3600, got 0");
        let ok = built("a.mp4", &[("crf", Value::Int(18)), ("background", Value::Arg("#0180ff".into()))]).unwrap();
        assert_eq!(ok.options.rate, RateControl::Crf(18.0));
        assert_eq!(ok.options.background, [1, 128, 255]);
        let e = built("a.mp4", &[("background", Value::Arg("1,2,300".into()))]).unwrap_err();
        assert!(e.to_string().starts_with("background must be an RGB colour"), "{e}");
    }

    #[test]
    fn formats_names_and_combinations() {
        let e = built("a.gif", &[("crf", Value::Int(20)), ("keyint", Value::Int(5))]).unwrap_err();
        assert!(e.to_string().starts_with("crf, keyint apply to MP4 (H.264) output, not to a GIF"), "{e}");
        let e = built("a.mp4", &[("loop", Value::Int(2))]).unwrap_err();
        assert!(e.to_string().starts_with("loop applies to GIF output only"), "{e}");
        // An option that is off is not "given".
        assert!(built("a.gif", &[("durable", Value::Bool(false))]).is_ok());
        let e = built("a.mp4", &[("crf", Value::Int(20)), ("bitrate", Value::Int(500))]).unwrap_err();
        assert_eq!(e.to_string(), "give either crf or bitrate, not both");
        let e = built("a.mp4", &[("colours", Value::Int(2))]).unwrap_err();
        assert!(e.to_string().starts_with("unknown option \"colours\"; the options are crf, bitrate"), "{e}");
        // The format option wins over the name; in memory is MP4; foreign names are refused.
        let gif = built("a.mp4", &[("format", Value::Text("gif".into())), ("colors", Value::Int(8))]).unwrap();
        assert_eq!(gif.options.format, Some(OutputFormat::Gif));
        assert_eq!(build(None, fps(), &[]).unwrap().options.format, Some(OutputFormat::Mp4));
        assert!(matches!(built("a.webm", &[]), Err(Error::Unsupported(_))));
        let tags =
            built("a.mp4", &[("metadata", Value::Arg("title=a".into())), ("metadata", Value::Arg("k=v=w".into()))]);
        assert_eq!(tags.unwrap().options.metadata, vec![("title".into(), "a".into()), ("k".into(), "v=w".into())]);
        let px = built("a.mp4", &[("pix_fmt", Value::Text("grey".into()))]).unwrap();
        assert_eq!(px.pix_fmt, Some(PixelFormat::Gray8));
    }

    #[test]
    fn every_row_has_a_doc_and_a_sane_default() {
        for s in OPTIONS {
            assert!(!s.doc.is_empty(), "{}", s.name);
            if s.default.is_empty() || matches!(s.kind, Kind::Tags) {
                continue;
            }
            let v = match s.kind {
                Kind::Bool => Value::Bool(s.default == "true"),
                _ => Value::Arg(s.default.into()),
            };
            check(s, &v).unwrap_or_else(|e| panic!("{}'s default {:?}: {e}", s.name, s.default));
        }
        // Defaults agree with EncodeOptions::default().
        let d = EncodeOptions::default();
        assert_eq!(d.preset.as_str(), spec("preset").unwrap().default);
        assert_eq!(d.gif.dither.as_str(), spec("dither").unwrap().default);
        assert_eq!(d.gif.colors.to_string(), spec("colors").unwrap().default);
        assert_eq!(d.queue_frames.to_string(), spec("queue_frames").unwrap().default);
    }
}
