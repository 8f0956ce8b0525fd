//! `framepipe encode`: feed raw frames from standard input, or decoded image files, to a
//! [`VideoWriter`]. When the input stops early (a partial frame, an undecodable image), the frames
//! before it are kept: the file is finished and playable, and the command still exits 1.

use crate::progress::Progress;
use crate::{error_chain, report, usage_error, CliError, EncodeArgs};
use framepipe::frame::MAX_DIMENSION;
use framepipe::{Frame, PixelFormat, VideoWriter};
use std::io::{self, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

/// Read standard input through a buffer this large (a frame larger than it is read directly).
const STDIN_BUFFER: usize = 1 << 20;

enum Input<'a> {
    Raw { width: u32, height: u32, format: PixelFormat },
    Images(&'a [PathBuf]),
}

/// The output file, the writer and the progress line, for one run.
struct Session<'a> {
    writer: VideoWriter,
    output: &'a Path,
    progress: Progress,
}

impl Session<'_> {
    /// Encode one frame, then pass on any warning and update the progress line.
    fn write(&mut self, frame: &Frame) -> framepipe::Result<()> {
        let res = self.writer.write(frame);
        self.flush_warnings();
        self.progress.update(self.writer.frames_written(), self.writer.bytes_written());
        res
    }

    fn flush_warnings(&mut self) {
        let warnings = self.writer.take_warnings();
        if !warnings.is_empty() {
            self.progress.clear();
            for w in warnings {
                report("warning", &w);
            }
        }
    }
}

pub fn run(args: &EncodeArgs) -> Result<(), CliError> {
    let misplaced = args.misplaced_options();
    if !misplaced.is_empty() {
        let (what, instead) = match args.format() {
            framepipe::OutputFormat::Gif => ("MP4 (H.264) output, not to a GIF", "use --colors and --dither for a GIF"),
            framepipe::OutputFormat::Mp4 => ("GIF output only", "name the output *.gif for a GIF"),
        };
        let verb = if misplaced.len() == 1 { "applies" } else { "apply" };
        usage_error(&format!("{} {verb} to {what}; {instead}", misplaced.join(", ")));
    }
    let input = choose_input(args);
    if let Input::Raw { .. } = input {
        if io::stdin().is_terminal() {
            usage_error(
                "standard input is a terminal: pipe raw frames in (e.g. `render | framepipe encode out.mp4 \
                 --size 1280x720`), or give image files to encode",
            );
        }
    }
    // Bad options and an unwritable output fail here, before any input is read.
    let writer = VideoWriter::create(&args.output, args.options())?;
    let mut session = Session { writer, output: &args.output, progress: Progress::new() };

    let (fed, noun) = match input {
        Input::Raw { width, height, format } => (feed_raw(&mut session, width, height, format), "complete frames"),
        Input::Images(paths) => (feed_images(&mut session, paths), "frames"),
    };
    session.flush_warnings();
    let Session { writer, output, mut progress } = session;
    let shown = output.display();

    if writer.frames_written() == 0 {
        progress.clear();
        drop(writer);
        remove_if_regular_file(output);
        let why = fed.err().unwrap_or_else(|| "no frames to encode".into());
        return Err(format!("{}; {shown} was not written", error_chain(why.as_ref())).into());
    }

    let bytes_so_far = writer.bytes_written();
    let frames_so_far = writer.frames_written();
    let finished = writer.finish();
    match &finished {
        Ok(s) => progress.done(s.frames, s.bytes),
        Err(_) => progress.done(frames_so_far, bytes_so_far),
    }
    match (fed, finished) {
        (Ok(()), Ok(s)) => {
            if io::stderr().is_terminal() {
                let secs = s.frames as f64 * args.fps.den as f64 / args.fps.num as f64;
                eprintln!(
                    "framepipe: wrote {shown}: {} frames, {}x{}, {secs:.3} s at {} fps, {:.1} MB",
                    s.frames,
                    s.coded_width,
                    s.coded_height,
                    args.fps,
                    s.bytes as f64 / 1e6
                );
            }
            Ok(())
        }
        (Ok(()), Err(e)) => Err(e.into()),
        (Err(e), Ok(s)) => {
            let kept = match s.frames {
                1 => format!("the 1 {} before it was kept in {shown}", noun.trim_end_matches('s')),
                n => format!("the {n} {noun} before it were kept in {shown}"),
            };
            Err(format!("{}; {kept}", error_chain(e.as_ref())).into())
        }
        (Err(e), Err(f)) => Err(format!(
            "{}; finishing {shown} with the frames before it also failed: {}",
            error_chain(e.as_ref()),
            error_chain(&f)
        )
        .into()),
    }
}

fn choose_input(args: &EncodeArgs) -> Input<'_> {
    let is_stdin = |p: &PathBuf| p.as_os_str() == "-";
    let raw = match args.inputs.as_slice() {
        [] => true,
        [one] if is_stdin(one) => true,
        many => {
            if many.iter().any(is_stdin) {
                usage_error("`-` (standard input) cannot be mixed with image files");
            }
            false
        }
    };
    if raw {
        let Some((width, height)) = args.size else {
            usage_error("--size WIDTHxHEIGHT is required when reading raw frames from standard input");
        };
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            usage_error(&format!("--size {width}x{height} exceeds the maximum of {MAX_DIMENSION}x{MAX_DIMENSION}"));
        }
        Input::Raw { width, height, format: args.pix_fmt.unwrap_or(PixelFormat::Rgb24) }
    } else {
        if args.size.is_some() || args.pix_fmt.is_some() {
            usage_error(
                "--size and --pix-fmt describe raw frames on standard input; \
                 image files carry their own size and format",
            );
        }
        Input::Images(&args.inputs)
    }
}

/// Fill `buf` from `r`, tolerating short reads; returns how many bytes were read (less than
/// `buf.len()` only at end of input).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn feed_raw(s: &mut Session, width: u32, height: u32, format: PixelFormat) -> Result<(), CliError> {
    let frame_len = width as usize * height as usize * format.bytes_per_pixel();
    let mut reader = BufReader::with_capacity(STDIN_BUFFER, io::stdin().lock());
    let mut buf = vec![0u8; frame_len];
    loop {
        let index = s.writer.frames_written();
        let n = read_full(&mut reader, &mut buf)
            .map_err(|e| format!("cannot read frame {index} from standard input: {e}"))?;
        if n == 0 {
            if index == 0 {
                return Err(format!(
                    "standard input is empty: no frames to encode (expected raw {width}x{height} {format} \
                     frames of {frame_len} bytes each)"
                )
                .into());
            }
            return Ok(());
        }
        if n < frame_len {
            return Err(format!(
                "standard input ended {n} bytes into frame {index}, which needs {frame_len} bytes \
                 ({n} read, {} missing)",
                frame_len - n
            )
            .into());
        }
        let frame = Frame::packed(&buf, width, height, format)?;
        s.write(&frame).map_err(|e| format!("frame {index}: {}", error_chain(&e)))?;
    }
}

fn feed_images(s: &mut Session, paths: &[PathBuf]) -> Result<(), CliError> {
    for (index, path) in paths.iter().enumerate() {
        let shown = path.display();
        let image = decode_image(path).map_err(|e| e.describe(path, index))?;
        // Always RGBA: the engine composites transparent pixels over --background and converts
        // opaque RGBA straight from this buffer, so images with and without alpha can be mixed.
        let rgba = image.into_rgba8();
        let frame = Frame::packed(rgba.as_raw(), rgba.width(), rgba.height(), PixelFormat::Rgba)
            .map_err(|e| format!("{shown}: {e}"))?;
        s.write(&frame).map_err(|e| format!("{shown}: {}", error_chain(&e)))?;
    }
    Ok(())
}

enum ImageError {
    Read(io::Error),
    Decode(String),
}

impl ImageError {
    fn describe(&self, path: &Path, index: usize) -> String {
        match self {
            ImageError::Read(e) => format!("cannot read {} (frame {index}): {e}", path.display()),
            ImageError::Decode(e) => format!("cannot decode {} (frame {index}): {e}", path.display()),
        }
    }
}

/// Decode a PNG or JPEG, recognised by its content (not its name).
fn decode_image(path: &Path) -> Result<image::DynamicImage, ImageError> {
    let reader = image::ImageReader::open(path).map_err(ImageError::Read)?;
    let reader = reader.with_guessed_format().map_err(ImageError::Read)?;
    reader.decode().map_err(|e| ImageError::Decode(error_chain(&e)))
}

/// Remove an output that holds no frame (never a device such as /dev/null).
fn remove_if_regular_file(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(path);
    }
}
