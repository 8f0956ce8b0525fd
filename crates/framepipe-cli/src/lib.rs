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

mod audio;
mod encode;
mod interrupt;
mod probe;
mod progress;
mod repair;

use clap::{Args, Parser, Subcommand};
use framepipe::options::{Applies, Built, Kind, OptionSpec, Value, OPTIONS};
use framepipe::Rational;
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

  # With a sound track (AAC by default; --audio-codec opus, --audio-bitrate in kbit/s):
  framepipe encode out.mp4 --fps 24 --audio music.flac frames/*.png

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

    /// Frame rate: an integer (30), a decimal (29.97, made exact) or a fraction (30000/1001).
    #[arg(long, short = 'r', value_name = "RATE", default_value = "30", value_parser = parse_fps)]
    pub fps: Rational,

    /// A sound track for the MP4, from a sound file (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis),
    /// read as the frames arrive. The video sets the length: longer sound is cut at the last
    /// frame's end, shorter sound is padded with silence.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,

    /// The encoding options: one flag per row of the engine's option table
    /// ([`framepipe::OPTIONS`]), checked by [`framepipe::options::build`] as Python's are.
    #[command(flatten)]
    pub options: TableArgs,
}

/// The flags of the engine's option table (`--crf`, `--dither`, ...; `_` in a name is `-`), as
/// given: each value is checked by the engine ([`framepipe::options::build`]), so the command
/// accepts and refuses exactly what Python's keywords do, with the same messages.
#[derive(Debug, Clone, Default)]
pub struct TableArgs(pub Vec<(&'static str, Value)>);

impl clap::FromArgMatches for TableArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for spec in OPTIONS.iter().filter(|s| s.cli) {
            match spec.kind {
                Kind::Bool => {
                    if m.get_flag(spec.name) {
                        given.push((spec.name, Value::Bool(true)));
                    }
                }
                _ => {
                    for v in m.get_many::<String>(spec.name).into_iter().flatten() {
                        given.push((spec.name, Value::Arg(v.clone())));
                    }
                }
            }
        }
        Ok(TableArgs(given))
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for TableArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        OPTIONS.iter().filter(|s| s.cli).fold(cmd, |cmd, s| cmd.arg(option_arg(s)))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The flag of one option-table row, its help made from the row.
fn option_arg(spec: &OptionSpec) -> clap::Arg {
    use clap::ArgAction;
    let mut help = spec.doc.to_string();
    match spec.applies {
        Applies::Mp4 => help.insert_str(0, "MP4 only: "),
        Applies::Gif => help.insert_str(0, "GIF only: "),
        Applies::Both => {}
    }
    let mut extra = Vec::new();
    if let Kind::Choice(choices) = spec.kind {
        let names: Vec<String> = choices
            .iter()
            .map(|c| match c.aliases {
                [] => c.name.to_string(),
                a => format!("{} (or {})", c.name, a.join(", ")),
            })
            .collect();
        extra.push(format!("values: {}", names.join(", ")));
    } else if !matches!(spec.kind, Kind::Bool | Kind::Tags) {
        extra.push(format!("range: {}", spec.kind.describe()));
    }
    if !spec.default.is_empty() && spec.kind != Kind::Bool {
        extra.push(format!("default: {}", spec.default));
    }
    if !extra.is_empty() {
        help.push_str(&format!(" [{}]", extra.join("; ")));
    }
    let mut arg = clap::Arg::new(spec.name).long(spec.flag()).help(help);
    if let Some(c) = spec.short {
        arg = arg.short(c);
    }
    let value_name = match spec.kind {
        Kind::Int { .. } => "N",
        Kind::Float { .. } => "X",
        Kind::Choice(_) => "NAME",
        Kind::Color => "COLOR",
        Kind::Tags => "KEY=VALUE",
        Kind::Bool => "",
    };
    match spec.kind {
        Kind::Bool => arg.action(ArgAction::SetTrue),
        Kind::Tags => arg.action(ArgAction::Append).value_name(value_name),
        _ => arg.action(ArgAction::Set).value_name(value_name).allow_negative_numbers(true),
    }
}

impl EncodeArgs {
    /// The engine's options for this command (the format from the output's name), checked by
    /// the option table; the error names the option.
    pub fn options(&self) -> framepipe::Result<Built> {
        framepipe::options::build(Some(&self.output), self.fps, &self.options.0)
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

fn parse_fps(s: &str) -> Result<Rational, String> {
    Rational::parse(s).map_err(|e| e.to_string())
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
    match framepipe::x264_build_info() {
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
    fn parses_sizes() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert!(parse_size("1280").is_err());
        assert!(parse_size("0x10").is_err());
    }
}
