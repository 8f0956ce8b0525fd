//! The `framepipe` command: raw frames on standard input, or PNG/JPEG files, in; H.264 MP4 out.
//!
//! This crate is deliberately thin: it parses arguments, reads bytes and decodes images, and
//! hands frames to [`framepipe::VideoWriter`]. All encoding logic (conversion, padding, x264
//! options, muxing) lives in the library.
//!
//! It is a library with one entry point, [`run`], so that the same code is both the `framepipe`
//! binary (`src/main.rs`) and the `framepipe` console script of the Python wheel (which calls
//! [`run`] in-process through `framepipe._native.cli_main`). [`run`] never exits the process: it
//! returns the exit status.

mod encode;
mod interrupt;
mod probe;
mod progress;
mod repair;

use clap::{Args, Parser, Subcommand};
use framepipe::options::RateControl;
use framepipe::{Dither, EncodeOptions, Fragments, GifOptions, OutputFormat, PixelFormat, Preset, Rational, Tune};
use std::ffi::OsString;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # Raw frames from a program on standard input (like `ffmpeg -f rawvideo -i -`, without ffmpeg):
  render_frames | framepipe encode out.mp4 --size 1280x720 --pix-fmt rgb24 --fps 30

  # NTSC frame rate, higher quality, slower preset, tuned for animation:
  render_frames | framepipe encode out.mp4 --size 1920x1080 --pix-fmt bgra \\
      --fps 30000/1001 --crf 18 --preset slow --tune animation

  # Image files, encoded in the order given (PNG or JPEG; transparency over a white background):
  framepipe encode out.mp4 --fps 24 --background ffffff frames/*.png

  # An animated GIF (by the extension): 128 colours, ordered dithering, played 3 times:
  framepipe encode out.gif --fps 15 --colors 128 --dither ordered --loop 3 frames/*.png

  # What an MP4 (or a GIF) holds:
  framepipe probe out.mp4
  framepipe probe --json out.gif

  # Finish an MP4 whose writer was killed (keeps every whole fragment, about a second each):
  framepipe repair killed.mp4 fixed.mp4";

#[derive(Parser, Debug)]
#[command(
    name = "framepipe",
    version,
    about = "Encode frames to H.264 MP4 with in-process x264 (or to an animated GIF)",
    long_about = "Encode frames to H.264 MP4 with in-process x264.\n\n\
        Raw frames on standard input or PNG/JPEG files in, a faststart MP4 out (H.264 High, \
        yuv420p, BT.709 tagged, limited range). No ffmpeg needed.",
    after_long_help = EXAMPLES,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encode raw frames from standard input, or image files, to an MP4 (or a GIF: `out.gif`).
    #[command(after_long_help = EXAMPLES)]
    Encode(EncodeArgs),
    /// Print what an MP4 file holds (size, frame count, frame rate, duration, codec, colour), or
    /// an animated GIF (size, frame count, duration, loop count).
    Probe(ProbeArgs),
    /// Finish an MP4 whose writer was stopped (killed, out of memory, power loss): keep the
    /// frames of every whole fragment and make an ordinary faststart MP4 of them.
    Repair(RepairArgs),
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The unfinished MP4.
    pub input: PathBuf,
    /// Where to write the repaired file [default: replace the input, once the repair succeeded].
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// The file to write (created or overwritten): an animated GIF if it ends in `.gif`, else an
    /// H.264 MP4.
    pub output: PathBuf,

    /// Input: PNG or JPEG files, encoded in the order given; `-` or nothing reads raw frames
    /// from standard input.
    pub inputs: Vec<PathBuf>,

    /// Size of raw input frames, WIDTHxHEIGHT (e.g. 1280x720). Required for raw input.
    #[arg(long, short = 's', value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,

    /// Pixel layout of raw input frames: rgb24, bgr24, rgba, bgra, argb or gray8 [default: rgb24].
    #[arg(long, value_name = "FORMAT", value_parser = parse_pix_fmt)]
    pub pix_fmt: Option<PixelFormat>,

    /// Frame rate: an integer (30), a decimal (29.97, made exact) or a fraction (30000/1001).
    #[arg(long, short = 'r', value_name = "RATE", default_value = "30", value_parser = parse_fps)]
    pub fps: Rational,

    /// Constant quality: lower is better and larger (18 looks near-lossless, 28 is small); 23 is
    /// x264's default [range: 1 to 51; 0, lossless, needs a profile browsers do not play].
    #[arg(long, value_name = "CRF", conflicts_with = "bitrate")]
    pub crf: Option<f32>,

    /// Average bitrate in kbit/s instead of constant quality.
    #[arg(long, short = 'b', value_name = "KBPS")]
    pub bitrate: Option<u32>,

    /// x264 preset: ultrafast, superfast, veryfast, faster, fast, medium, slow, slower,
    /// veryslow or placebo.
    #[arg(long, value_name = "PRESET", default_value = "medium", value_parser = parse_preset)]
    pub preset: Preset,

    /// x264 tuning for the content: animation, stillimage, film or grain.
    #[arg(long, value_name = "TUNE", value_parser = parse_tune)]
    pub tune: Option<Tune>,

    /// Maximum distance between keyframes, in frames [default: x264's, 250].
    #[arg(long, value_name = "N")]
    pub keyint: Option<u32>,

    /// Encoder threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,

    /// Colour that transparent pixels are composited over: RRGGBB (hex, `#` optional) or r,g,b.
    #[arg(long, value_name = "COLOR", default_value = "000000", value_parser = parse_background)]
    pub background: [u8; 3],

    /// GIF only: palette size, 2 to 256 (one entry is kept for transparency) [default: 256].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..=256))]
    pub colors: Option<u16>,

    /// GIF only: dithering: none, ordered or floyd-steinberg [default: floyd-steinberg; colours
    /// the palette holds almost exactly are not dithered].
    #[arg(long, value_name = "DITHER", value_parser = parse_dither)]
    pub dither: Option<Dither>,

    /// GIF only: how many times it plays, 0 = forever [default: 0].
    #[arg(long = "loop", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=GifOptions::MAX_LOOP as i64))]
    pub loop_count: Option<u32>,

    /// MP4 only: a metadata tag, KEY=VALUE (repeat for more), as `ffmpeg -metadata`: title,
    /// artist, comment, date, genre, copyright, description, ... or any other key.
    #[arg(long = "metadata", short = 'm', value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub metadata: Vec<(String, String)>,

    /// MP4 only: seconds of video per fragment while writing. The file on disk is playable up
    /// to its last whole fragment at every moment, so a killed run loses at most about this
    /// much (plus what the encoder held) [default: 1].
    #[arg(long, value_name = "SECONDS")]
    pub fragment_seconds: Option<f64>,

    /// MP4 only: sync every fragment to the disk as it is written (fsync), so that the frames
    /// written survive a power loss too.
    #[arg(long)]
    pub durable: bool,
}

impl EncodeArgs {
    /// MP4 or GIF, from the output's extension.
    pub fn format(&self) -> OutputFormat {
        OutputFormat::from_path(&self.output)
    }

    /// Options that do not apply to the output's format, by their flag names.
    pub fn misplaced_options(&self) -> Vec<&'static str> {
        let (mp4, gif): ([(&'static str, bool); 7], _) = (
            [
                ("--crf", self.crf.is_some()),
                ("--bitrate", self.bitrate.is_some()),
                ("--tune", self.tune.is_some()),
                ("--keyint", self.keyint.is_some()),
                ("--metadata", !self.metadata.is_empty()),
                ("--fragment-seconds", self.fragment_seconds.is_some()),
                ("--durable", self.durable),
            ],
            [
                ("--colors", self.colors.is_some()),
                ("--dither", self.dither.is_some()),
                ("--loop", self.loop_count.is_some()),
            ],
        );
        let wrong: &[(&'static str, bool)] = match self.format() {
            OutputFormat::Gif => &mp4,
            OutputFormat::Mp4 => &gif,
        };
        wrong.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect()
    }

    pub fn options(&self) -> EncodeOptions {
        let defaults = EncodeOptions::default();
        EncodeOptions {
            fps: self.fps,
            rate: match (self.crf, self.bitrate) {
                (_, Some(kbps)) => RateControl::BitrateKbps(kbps),
                (Some(crf), None) => RateControl::Crf(crf),
                (None, None) => defaults.rate,
            },
            preset: self.preset,
            tune: self.tune,
            keyint: self.keyint,
            threads: self.threads,
            background: self.background,
            format: Some(self.format()),
            gif: GifOptions {
                colors: self.colors.unwrap_or(defaults.gif.colors),
                dither: self.dither.unwrap_or(defaults.gif.dither),
                loop_count: self.loop_count.unwrap_or(defaults.gif.loop_count),
            },
            metadata: self.metadata.clone(),
            fragments: Fragments {
                seconds: self.fragment_seconds.unwrap_or(defaults.fragments.seconds),
                durable: self.durable,
            },
            ..defaults
        }
    }
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The MP4 or GIF file to inspect.
    pub file: PathBuf,
    /// Print a JSON object instead of `key: value` lines.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected WIDTHxHEIGHT such as 1280x720, got {s:?}");
    let (w, h) = s.trim().split_once(['x', 'X', '*']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if w == 0 || h == 0 {
        return Err(format!("width and height must be positive, got {s:?}"));
    }
    Ok((w, h))
}

fn parse_pix_fmt(s: &str) -> Result<PixelFormat, String> {
    s.parse().map_err(|e: framepipe::Error| e.to_string())
}

fn parse_fps(s: &str) -> Result<Rational, String> {
    Rational::parse(s).map_err(|e| e.to_string())
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse().map_err(|e: framepipe::Error| e.to_string())
}

fn parse_dither(s: &str) -> Result<Dither, String> {
    s.parse().map_err(|e: framepipe::Error| e.to_string())
}

fn parse_tune(s: &str) -> Result<Tune, String> {
    s.parse().map_err(|e: framepipe::Error| e.to_string())
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

fn parse_background(s: &str) -> Result<[u8; 3], String> {
    let t = s.trim();
    let bad = || format!("expected a colour as RRGGBB (hex) or r,g,b (0-255 each), got {s:?}");
    if t.contains(',') {
        let parts: Vec<&str> = t.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let mut rgb = [0u8; 3];
        for (c, p) in rgb.iter_mut().zip(&parts) {
            *c = p.parse().map_err(|_| bad())?;
        }
        return Ok(rgb);
    }
    let hex = t.strip_prefix('#').or_else(|| t.strip_prefix("0x")).unwrap_or(t);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
    Ok([byte(0)?, byte(2)?, byte(4)?])
}

/// A failure already worded for the user; `main` prints it as `framepipe: error: ...`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// The error and its causes, joined with ": ", skipping a cause whose text is already shown
/// (the engine's I/O errors include their source in their own message).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

/// A usage error of `encode`, worded by clap (with the usage line); [`run`] prints it as clap
/// does and returns status 2.
#[derive(Debug)]
pub struct UsageError(clap::Error);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for UsageError {}

/// A usage error of `encode` with this message (`return Err(usage_error(...))`).
pub fn usage_error(message: &str) -> CliError {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let encode = cmd.find_subcommand_mut("encode").expect("encode subcommand");
    Box::new(UsageError(encode.error(clap::error::ErrorKind::ArgumentConflict, message)))
}

/// Print a line to standard error as `framepipe: <kind>: <message>` (a standard error that
/// cannot be written to, such as a hung-up terminal, is not a reason to panic).
pub fn report(kind: &str, message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "framepipe: {kind}: {message}");
}

/// `encode` was stopped by a signal (and finished the file with the frames so far): `main`
/// prints the note as `framepipe: interrupted: ...` and exits with `status` (128 + the signal).
#[derive(Debug)]
pub struct Interrupted {
    pub note: String,
    pub status: u8,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.note)
    }
}

impl std::error::Error for Interrupted {}

/// The long version (`framepipe --version`): framepipe's, then the x264 that encodes, as the
/// running library reports itself (core number and version), and the x264 headers the engine was
/// compiled against when they differ.
pub fn long_version() -> String {
    let mut text = env!("CARGO_PKG_VERSION").to_string();
    match framepipe::encode::x264::build_info() {
        Ok(x) => {
            text.push_str(&format!("\nx264 core {}, version {} (GPL-2.0-or-later)", x.core, x.version));
            if x.version != x.compiled_version {
                text.push_str(&format!("\ncompiled against x264 {}", x.compiled_version));
            }
        }
        Err(e) => text.push_str(&format!("\nx264: cannot tell its version: {e}")),
    }
    text
}

/// Run the `framepipe` command with these arguments (the first is the program's name, as in
/// `std::env::args_os`) and return its exit status: 0 on success, 1 for a failure, 2 for a
/// usage error, 128 + the signal's number for an encode stopped by SIGINT, SIGTERM or SIGHUP.
/// Help, version and errors are printed to standard output and standard error (flushed before
/// it returns); the process is never exited.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    use std::io::Write;
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = Cli::command();
    // Asking x264 for its version opens an encoder: only for `--version` (`-V` is the short one).
    if args.iter().skip(1).any(|a| a == "--version") {
        cmd = cmd.long_version(long_version());
    }
    let parsed = cmd.try_get_matches_from(args).and_then(|m| Cli::from_arg_matches(&m));
    let status = match parsed {
        Ok(cli) => {
            let result = match cli.command {
                Command::Encode(args) => encode::run(&args),
                Command::Probe(args) => probe::run(&args),
                Command::Repair(args) => repair::run(&args),
            };
            match result {
                Ok(()) => 0,
                Err(e) => failure_status(e),
            }
        }
        // --help and --version (status 0) too: clap prints each where it belongs.
        Err(e) => print_clap(&e),
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    status
}

/// Print a clap error (or help, or version) as clap's `exit` does; returns its status.
fn print_clap(e: &clap::Error) -> u8 {
    let _ = e.print();
    e.exit_code().clamp(0, 255) as u8
}

/// Report a failed command on standard error; returns its exit status.
fn failure_status(e: CliError) -> u8 {
    if let Some(UsageError(u)) = e.downcast_ref::<UsageError>() {
        return print_clap(u);
    }
    match e.downcast_ref::<Interrupted>() {
        Some(i) => {
            report("interrupted", &i.note);
            i.status
        }
        None => {
            report("error", &error_chain(e.as_ref()));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_sizes_and_colours() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert!(parse_size("1280").is_err());
        assert!(parse_size("0x10").is_err());
        assert_eq!(parse_background("ff8000"), Ok([255, 128, 0]));
        assert_eq!(parse_background("#FF8000"), Ok([255, 128, 0]));
        assert_eq!(parse_background("255, 128,0"), Ok([255, 128, 0]));
        assert!(parse_background("256,0,0").is_err());
        assert!(parse_background("fff").is_err());
    }
}
