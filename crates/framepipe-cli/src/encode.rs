//! `framepipe encode`: feed raw frames from standard input, or decoded image files, to a
//! [`VideoWriter`]. When the input stops early (a partial frame, an undecodable image), the frames
//! before it are kept: the file is finished and playable, and the command still exits 1. So on
//! Ctrl-C, SIGTERM or SIGHUP (see [`crate::interrupt`]), with exit status 128 + the signal.
//!
//! The input is read (and images decoded) on a thread of its own, one frame ahead of the
//! encoder, and handed over through a channel that also carries the signal wake-ups.

use crate::audio::AudioFeed;
use crate::interrupt::{signal_name, Interrupt};
use crate::progress::Progress;
use crate::{error_chain, report, usage_error, CliError, EncodeArgs, Interrupted};
use framepipe::MAX_DIMENSION;
use framepipe::{Frame, PixelFormat, VideoWriter};
use std::io::{self, BufReader, IsTerminal, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Read standard input through a buffer this large (a frame larger than it is read directly).
const STDIN_BUFFER: usize = 1 << 20;

enum Input<'a> {
    Raw { width: u32, height: u32, format: PixelFormat },
    Images(&'a [PathBuf]),
}

/// What the input thread sends to the encoding (main) thread.
enum Item {
    /// The pixels of input frame `index`, packed; `kind` says what the input held: "raw" for
    /// standard input, an image file's colour type ("RGB", "gray + alpha", ...).
    Frame { index: usize, pixels: Vec<u8>, width: u32, height: u32, format: PixelFormat, kind: &'static str },
    /// The input ended: normally, or early with the reason.
    End(Result<(), CliError>),
    /// A signal arrived: look at [`Interrupt::signal`].
    Wake,
}

/// The output file, the writer and the progress line, for one run.
struct Session<'a> {
    writer: VideoWriter,
    output: &'a Path,
    progress: Progress,
    /// Size and colour type of the first image file (image input only).
    first_image: Option<FirstImage>,
    /// The `--audio` file, read as the frames arrive.
    audio: Option<AudioFeed>,
}

#[derive(Clone, Copy)]
struct FirstImage {
    size: (u32, u32),
    kind: &'static str,
}

impl Session<'_> {
    /// Encode one frame, then pass on any warning and update the progress line.
    fn write(&mut self, frame: &Frame) -> framepipe::Result<()> {
        let res = self.writer.write(frame);
        self.flush_warnings();
        self.progress.update(self.writer.frames_written(), self.writer.bytes_written());
        res
    }

    /// After a frame: the `--audio` sound up to a second past the video's end so far.
    fn feed_audio(&mut self) -> framepipe::Result<()> {
        if let Some(feed) = self.audio.as_mut() {
            let frames = self.writer.frames_written();
            feed.after_frame(&mut self.writer, frames)?;
            self.flush_warnings();
        }
        Ok(())
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
    if args.output.as_os_str() == "-" {
        return Err(usage_error(
            "the output cannot be `-` (standard output): an MP4 needs a seekable file (its index is \
             written at the start, after the frames), and a GIF's palette is rewritten in place; \
             give a file name",
        ));
    }
    // Every option is checked here (the option table: names, ranges, what applies to the
    // format the output's name gives), before any input is read.
    let mut built = args.options().map_err(|e| usage_error(&e.to_string()))?;
    let audio = match &args.audio {
        None => {
            if let Some((name, _)) = args.options.0.iter().find(|(n, _)| n.starts_with("audio_")) {
                return Err(usage_error(&format!(
                    "--{} applies to a sound track, and none was given: add --audio FILE",
                    name.replace('_', "-")
                )));
            }
            None
        }
        Some(path) => {
            if built.options.format == Some(framepipe::OutputFormat::Gif) {
                return Err(usage_error(&format!(
                    "--audio {}: a GIF has no sound; name the output *.mp4 to keep the sound track",
                    path.display()
                )));
            }
            // Opened (and its first packet decoded) before anything is written.
            let reader = framepipe::AudioFileReader::open(path)?;
            built.options.audio =
                Some(framepipe::AudioInput { sample_rate: reader.sample_rate(), channels: reader.channels() });
            Some(AudioFeed::new(reader, args.fps))
        }
    };
    let input = choose_input(args, built.pix_fmt)?;
    if let Input::Images(paths) = input {
        refuse_output_among_inputs(&args.output, paths)?;
    }
    if let Input::Raw { .. } = input {
        if io::stdin().is_terminal() {
            return Err(usage_error(
                "standard input is a terminal: pipe raw frames in (e.g. `render | framepipe encode out.mp4 \
                 --size 1280x720`), or give image files to encode",
            ));
        }
    }
    // One frame in the channel, one being read and one being encoded.
    let (tx, rx) = mpsc::sync_channel::<Item>(1);
    let waker = tx.clone();
    let interrupt = Interrupt::install(move || {
        // Full: the main thread has an item to take and checks the flag then. Disconnected:
        // it no longer reads items.
        let _ = waker.try_send(Item::Wake);
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let existed = std::fs::symlink_metadata(&args.output).is_ok();
    // Bad options and an unwritable output fail here, before any input is read.
    let writer = VideoWriter::create(&args.output, built.options)?;
    let mut session = Session { writer, output: &args.output, progress: Progress::new(), first_image: None, audio };

    // Buffers the encoder is done with, for the reader to fill again.
    let (recycle, free) = mpsc::channel::<Vec<u8>>();
    let noun = match input {
        Input::Raw { width, height, format } => {
            spawn_input(tx, move |tx| read_raw(tx, &free, width, height, format))?;
            "complete frames"
        }
        Input::Images(paths) => {
            let paths = paths.to_vec();
            spawn_input(tx, move |tx| read_images(tx, &paths))?;
            "frames"
        }
    };
    let fed = encode_items(&mut session, &rx, &recycle, &interrupt, &input);
    // Stop the input thread at its next frame (one blocked in a read is left behind).
    drop(rx);
    // The rest of the sound, up to the video's end (not after an interrupt: stop now).
    let audio_error = match session.audio.as_mut() {
        Some(feed) if interrupt.signal().is_none() && session.writer.frames_written() > 0 => {
            feed.at_end(&mut session.writer).err()
        }
        _ => None,
    };
    session.flush_warnings();
    let Session { writer, output, mut progress, .. } = session;
    let shown = output.display();

    if writer.frames_written() == 0 {
        progress.clear();
        // The writer removes the empty file it created; a file that was there before is left
        // as it was (it is replaced only once a frame is encoded).
        let _ = writer.finish();
        let outcome = if existed { format!("{shown} was left as it was") } else { format!("{shown} was not written") };
        if let Some(sig) = interrupt.signal() {
            return Err(interrupted(
                sig,
                format!("{} received before any frame was encoded; {outcome}", signal_name(sig)),
            ));
        }
        let why = fed.err().unwrap_or_else(|| "no frames to encode".into());
        return Err(format!("{}; {outcome}", error_chain(why.as_ref())).into());
    }

    let bytes_so_far = writer.bytes_written();
    let frames_so_far = writer.frames_written();
    let finished = writer.finish();
    match &finished {
        Ok(s) => progress.done(s.frames, s.bytes),
        Err(_) => progress.done(frames_so_far, bytes_so_far),
    }
    // A signal wins over an early end of input: Ctrl-C in a terminal also stops the program
    // that writes the frames, and its partial last frame is not the news.
    if let Some(sig) = interrupt.signal() {
        let name = signal_name(sig);
        return Err(interrupted(
            sig,
            match finished {
                Ok(s) => {
                    let kept = match s.frames {
                        1 => "the 1 frame encoded so far was kept".to_string(),
                        n => format!("the {n} frames encoded so far were kept"),
                    };
                    format!("{name} received, stopped reading input; {kept} in {shown}")
                }
                Err(f) => format!(
                    "{name} received, stopped reading input; finishing {shown} with the {frames_so_far} frames \
                     encoded so far failed: {}",
                    error_chain(&f)
                ),
            },
        ));
    }
    let fed = match (fed, audio_error) {
        (Ok(()), Some(e)) => Err(Box::new(e) as CliError),
        (fed, _) => fed,
    };
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

fn interrupted(sig: i32, note: String) -> CliError {
    Box::new(Interrupted { note, status: (128 + sig).clamp(0, 255) as u8 })
}

/// Run `read` on the input thread; it ends with an [`Item::End`] (also if it panics, so that
/// the main thread never waits for an item that cannot come).
fn spawn_input(
    tx: SyncSender<Item>,
    read: impl FnOnce(&SyncSender<Item>) -> Result<(), CliError> + Send + 'static,
) -> Result<(), CliError> {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let res = catch_unwind(AssertUnwindSafe(|| read(&tx)))
                .unwrap_or_else(|_| Err("internal error: reading the input panicked".into()));
            let _ = tx.send(Item::End(res));
        })
        .map_err(|e| format!("cannot start the input thread: {e}"))?;
    Ok(())
}

/// Encode the items from the input thread until the input ends or a signal arrives (checked
/// before every item). Returns how the input ended.
fn encode_items(
    s: &mut Session,
    rx: &Receiver<Item>,
    recycle: &mpsc::Sender<Vec<u8>>,
    interrupt: &Interrupt,
    input: &Input,
) -> Result<(), CliError> {
    loop {
        let item = rx.recv().map_err(|_| "internal error: the input thread vanished")?;
        if interrupt.signal().is_some() {
            return Ok(());
        }
        match item {
            Item::Frame { index, pixels, width, height, format, kind } => {
                if let (Input::Images(paths), Some(first)) = (input, s.first_image) {
                    if first.size != (width, height) {
                        return Err(format!(
                            "{} (frame {index}) is a {width}x{height} {kind} image, but the first image, {}, \
                             is {}x{} ({}); every image must have the first one's size",
                            paths[index].display(),
                            paths[0].display(),
                            first.size.0,
                            first.size.1,
                            first.kind
                        )
                        .into());
                    }
                }
                let frame =
                    Frame::packed(&pixels, width, height, format).map_err(|e| describe_frame(input, index, &e))?;
                s.write(&frame).map_err(|e| match e {
                    // These come from the encoder thread, which names the frame it was writing
                    // (it runs a few frames behind the input).
                    framepipe::Error::Io { .. } | framepipe::Error::Encoder(_) => error_chain(&e),
                    other => describe_frame(input, index, &other),
                })?;
                if s.first_image.is_none() {
                    s.first_image = Some(FirstImage { size: (width, height), kind });
                }
                s.feed_audio().map_err(|e| error_chain(&e))?;
                let _ = recycle.send(pixels);
            }
            Item::End(res) => return res,
            Item::Wake => {}
        }
    }
}

/// An error about input frame `index`, naming it as the user gave it (a frame number, or a file).
fn describe_frame(input: &Input, index: usize, e: &(dyn std::error::Error + 'static)) -> String {
    match input {
        Input::Raw { .. } => format!("frame {index}: {}", error_chain(e)),
        Input::Images(paths) => format!("{} (frame {index}): {}", paths[index].display(), error_chain(e)),
    }
}

/// The output must not be one of the input images under any name (`./a.png`, a symlink, a hard
/// link): it replaces the file at its name once the first frames are on disk, so an image read
/// after that would be the video. Same file = same device and inode.
fn refuse_output_among_inputs(output: &Path, inputs: &[PathBuf]) -> Result<(), CliError> {
    let Ok(Some(out)) = framepipe::FileId::of_path(output) else { return Ok(()) };
    for (index, input) in inputs.iter().enumerate() {
        if framepipe::FileId::of_path(input).ok().flatten() == Some(out) {
            return Err(usage_error(&format!(
                "the output {} is the same file as input image {} (frame {index}); writing the video would \
                 replace that image: name another output file",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

fn choose_input(args: &EncodeArgs, pix_fmt: Option<PixelFormat>) -> Result<Input<'_>, CliError> {
    let is_stdin = |p: &PathBuf| p.as_os_str() == "-";
    let raw = match args.inputs.as_slice() {
        [] => true,
        [one] if is_stdin(one) => true,
        many => {
            if many.iter().any(is_stdin) {
                return Err(usage_error("`-` (standard input) cannot be mixed with image files"));
            }
            false
        }
    };
    if raw {
        let Some((width, height)) = args.size else {
            return Err(usage_error("--size WIDTHxHEIGHT is required when reading raw frames from standard input"));
        };
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(usage_error(&format!(
                "--size {width}x{height} exceeds the maximum of {MAX_DIMENSION}x{MAX_DIMENSION}"
            )));
        }
        Ok(Input::Raw { width, height, format: pix_fmt.unwrap_or(PixelFormat::Rgb24) })
    } else {
        if args.size.is_some() || pix_fmt.is_some() {
            return Err(usage_error(
                "--size and --pix-fmt describe raw frames on standard input; \
                 image files carry their own size and format",
            ));
        }
        Ok(Input::Images(&args.inputs))
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

/// The input thread for raw frames: read frames of `width x height` from standard input and
/// send them, reusing the buffers the encoder sends back on `free`.
fn read_raw(
    tx: &SyncSender<Item>,
    free: &Receiver<Vec<u8>>,
    width: u32,
    height: u32,
    format: PixelFormat,
) -> Result<(), CliError> {
    let frame_len = width as usize * height as usize * format.bytes_per_pixel();
    let mut reader = BufReader::with_capacity(STDIN_BUFFER, io::stdin().lock());
    for index in 0.. {
        let mut buf = match free.try_recv() {
            Ok(b) => b,
            // Fallible: a frame that does not fit in memory is an error, not an abort.
            Err(_) => framepipe::try_filled(frame_len, 0, &format!("raw frame {index} ({width}x{height} {format})"))
                .map_err(|e| crate::error_chain(&e))?,
        };
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
        if tx.send(Item::Frame { index, pixels: buf, width, height, format, kind: "raw" }).is_err() {
            break; // the encoder stopped
        }
    }
    Ok(())
}

/// The input thread for image files: decode each and send it.
fn read_images(tx: &SyncSender<Item>, paths: &[PathBuf]) -> Result<(), CliError> {
    for (index, path) in paths.iter().enumerate() {
        let image = decode_image(path).map_err(|e| e.describe(path, index))?;
        let kind = color_type_name(image.color());
        // Always RGBA: the engine composites transparent pixels over --background and converts
        // opaque RGBA straight from this buffer, so images with and without alpha can be mixed.
        let rgba = image.into_rgba8();
        let (width, height) = rgba.dimensions();
        let item = Item::Frame { index, pixels: rgba.into_raw(), width, height, format: PixelFormat::Rgba, kind };
        if tx.send(item).is_err() {
            break; // the encoder stopped
        }
    }
    Ok(())
}

/// How an image file stores its pixels, in words ("RGB", "gray + alpha", "16-bit RGBA").
fn color_type_name(c: image::ColorType) -> &'static str {
    use image::ColorType as C;
    match c {
        C::L8 => "gray",
        C::La8 => "gray + alpha",
        C::Rgb8 => "RGB",
        C::Rgba8 => "RGBA",
        C::L16 => "16-bit gray",
        C::La16 => "16-bit gray + alpha",
        C::Rgb16 => "16-bit RGB",
        C::Rgba16 => "16-bit RGBA",
        C::Rgb32F => "float RGB",
        C::Rgba32F => "float RGBA",
        _ => "other",
    }
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
