//! The [`VideoWriter`]: frames in, a finished MP4 or animated GIF out.
//!
//! The output format follows the file's extension (`.gif` → GIF, anything else → MP4) unless
//! [`EncodeOptions::format`] names one. For MP4 the caller's thread converts each frame to YUV
//! (straight from the caller's memory, so no copy of the pixels is kept); for GIF it converts to
//! packed RGB (alpha composited over the background). Either way the picture goes through a
//! bounded queue to an encoder thread that encodes and writes: x264 + the MP4 muxer, or the GIF
//! encoder ([`crate::encode::gif`]). The caller can therefore render frame n+1 while frame n is
//! being encoded, and memory stays flat: at most `queue_frames + 2` pictures exist, plus x264's
//! lookahead or the GIF encoder's previous frame and canvas.
//!
//! An MP4 may have a sound track ([`EncodeOptions::audio`] declares it: the rate and channel
//! count of the samples): [`VideoWriter::write_audio`] checks the samples on the caller's thread
//! and sends them through the same queue, in chunks, to the encoder thread, which resamples,
//! encodes (AAC or Opus) and muxes them beside the frames ([`audio`]). Frames and samples may
//! come in any interleaving; the video sets the file's length (see `write_audio`).

mod audio;
mod backend;
mod sink;
mod soundtrack;

use crate::audio::SampleChecker;
use crate::color::{padded_size, Converter};
use crate::encode::gif::GifEncoder;
use crate::encode::x264::X264Encoder;
use crate::encode::VideoEncoder;
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};
use crate::mux::mp4::metadata::with_encoder_tag;
use crate::mux::mp4::Mp4Writer;
use crate::mux::VideoTrack;
use crate::options::{EncodeOptions, OutputFormat};
use crate::output::{self, TempFile};
use audio::AudioChain;
use backend::{Backend, GifBackend, Mp4Backend};
use sink::Sink;
pub use soundtrack::{EncodedAudio, SoundTrack};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a finished video holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Frames in the file.
    pub frames: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Size of the source frames.
    pub width: u32,
    pub height: u32,
    /// Size the picture was encoded at (MP4: the source size padded to even; GIF: the source
    /// size).
    pub coded_width: u32,
    pub coded_height: u32,
    /// Sample frames (one sample per channel, at the input's rate) given with
    /// [`VideoWriter::write_audio`]; 0 without a sound track. The file's track has the video's
    /// length whatever this is (cut, or padded with silence).
    pub audio_samples: u64,
    /// Of those, samples (single values) outside [-1, 1] that were clipped to it.
    pub audio_clipped: u64,
}

/// Output of the encoder thread: what was finished, the first error while encoding or writing,
/// and the error from finishing the file (then it is not playable).
struct ThreadResult {
    frames: u64,
    sink: Option<Sink>,
    error: Option<Error>,
    finish_error: Option<Error>,
}

/// What the queue to the encoder thread carries, in the caller's order.
enum Item<P> {
    /// A converted frame and its index.
    Frame(u64, P),
    /// Checked samples of the sound track (at most [`audio::CHUNK_FRAMES`] sample frames).
    Audio(Vec<f32>),
}

/// The caller's end of a running encoder thread, whatever its backend.
trait Feed: Send {
    /// Convert `frame` and queue it as frame `index`. `Ok(false)`: the encoder thread has
    /// stopped (after an error, which [`join`](Feed::join) returns).
    fn send(&mut self, frame: &Frame, index: u64) -> Result<bool>;
    /// Queue checked samples; `false`: the encoder thread has stopped.
    fn send_audio(&mut self, samples: Vec<f32>) -> bool;
    /// Close the queue, so the thread flushes and finishes the file, and wait for it.
    fn join(&mut self) -> ThreadResult;
}

struct Running<B: Backend> {
    convert: B::Convert,
    tx: Option<SyncSender<Item<B::Picture>>>,
    recycled: Receiver<B::Picture>,
    thread: Option<JoinHandle<ThreadResult>>,
}

impl<B: Backend> Running<B> {
    /// Start the encoder thread for `backend`.
    fn start(backend: B, convert: B::Convert, queue: usize, counters: Counters) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Item<B::Picture>>(queue);
        let (recycle, recycled) = mpsc::sync_channel::<B::Picture>(2);
        let thread = std::thread::Builder::new()
            .name("framepipe-encoder".into())
            .spawn(move || encoder_thread(backend, rx, recycle, counters))
            .map_err(|e| Error::io("cannot start the encoder thread", e))?;
        Ok(Running { convert, tx: Some(tx), recycled, thread: Some(thread) })
    }
}

impl<B: Backend> Feed for Running<B> {
    fn send(&mut self, frame: &Frame, index: u64) -> Result<bool> {
        let picture = B::convert(&mut self.convert, frame, self.recycled.try_recv().ok())?;
        Ok(self.tx.as_ref().is_some_and(|tx| tx.send(Item::Frame(index, picture)).is_ok()))
    }

    fn send_audio(&mut self, samples: Vec<f32>) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(Item::Audio(samples)).is_ok())
    }

    fn join(&mut self) -> ThreadResult {
        self.tx = None; // closes the queue: the thread flushes and finishes the file
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => ThreadResult {
                frames: 0,
                sink: None,
                error: Some(Error::encoder("the encoder thread panicked")),
                finish_error: None,
            },
            None => ThreadResult { frames: 0, sink: None, error: None, finish_error: None },
        }
    }
}

enum State {
    /// Output open, waiting for the first frame (which fixes size and format).
    Waiting(Sink),
    Running(Box<dyn Feed>),
    /// The encoder thread stopped early with `error`, which has been reported already. The file
    /// was finished with the frames before it, unless `finish_error` says it could not be.
    Failed {
        frames: u64,
        sink: Option<Sink>,
        error: Error,
        finish_error: Option<Error>,
    },
    Finished,
}

/// Encodes frames to an H.264 MP4 or an animated GIF, in-process. Call [`write`](Self::write)
/// for each frame, then
/// [`finish`](Self::finish). If `finish` is never called (a panic, a dropped writer), `Drop`
/// finishes the file with the frames written so far.
pub struct VideoWriter {
    target: String,
    opts: EncodeOptions,
    format: OutputFormat,
    state: State,
    /// Frames accepted so far; the index of the next frame.
    accepted: u64,
    first: Option<(u32, u32, PixelFormat)>,
    warnings: Vec<String>,
    /// The sound track's checks (None without one) and its chain until the first frame starts
    /// the encoder thread, which takes it.
    audio_checker: Option<SampleChecker>,
    audio_chain: Option<AudioChain>,
    bytes: Arc<AtomicU64>,
    on_disk: Arc<AtomicU64>,
    encoded: Arc<AtomicU64>,
    path: Option<PathBuf>,
}

impl VideoWriter {
    /// Prepare to encode into `path`. Bad options and an unwritable path fail here, before any
    /// frame is rendered. The video is written into a temporary file beside `path` (see
    /// [`crate::output`]), which replaces `path` (renamed over it) once it holds a frame that a
    /// reader finds: an MP4's first fragment, a GIF's first frame. So a run that fails or is
    /// killed before that leaves an existing file as it was, and the existing file itself is
    /// never written into: another hard link to it keeps its bytes. A symlink at `path` is
    /// followed (the file it points to is replaced).
    pub fn create(path: impl AsRef<Path>, opts: EncodeOptions) -> Result<Self> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::parameter("the output path is empty: give a file name such as out.mp4"));
        }
        let format = match opts.format {
            Some(f) => f,
            None => OutputFormat::from_path_checked(path)?,
        };
        let chain = Self::check_options(&opts, format)?;
        let target = output::resolve_target(path);
        if let Ok(m) = std::fs::metadata(&target) {
            if m.is_dir() {
                // EISDIR (21 on Linux), so that Python raises IsADirectoryError (an OutputError).
                return Err(Error::io(
                    format!("cannot write {}: it is a folder; give a file name in it, such as out.mp4", path.display()),
                    std::io::Error::from_raw_os_error(21),
                ));
            }
            if !m.is_file() {
                return Err(Error::parameter(format!(
                    "{} is not a regular file: {} output is written with seeks (the index goes at \
                     the start), so it needs a file; to discard the output, encode in memory instead",
                    path.display(),
                    match format {
                        OutputFormat::Mp4 => "MP4",
                        OutputFormat::Gif => "GIF",
                    }
                )));
            }
        }
        output::sweep(&target);
        let file = TempFile::create(&target).map_err(|e| {
            Error::io(
                format!(
                    "cannot open {} for writing (a new file is written beside it, in {}, and renamed over it)",
                    path.display(),
                    output::folder_of(&target).display()
                ),
                e,
            )
        })?;
        let durable = opts.fragments.durable;
        let mut w = Self::with_sink(Sink::File { file, durable }, path.display().to_string(), opts, format, chain);
        w.path = Some(path.to_path_buf());
        Ok(w)
    }

    /// Encode into memory; [`finish_to_vec`](Self::finish_to_vec) returns the file's bytes.
    /// The format is [`EncodeOptions::format`], MP4 if not set.
    pub fn in_memory(opts: EncodeOptions) -> Result<Self> {
        let format = opts.format.unwrap_or(OutputFormat::Mp4);
        let chain = Self::check_options(&opts, format)?;
        Ok(Self::with_sink(Sink::Memory(Cursor::new(Vec::new())), "<memory>".into(), opts, format, chain))
    }

    /// Checks the options for `format`; returns the sound track's chain if there is one (made
    /// now, so that its codec refuses a bad bitrate before any frame).
    fn check_options(opts: &EncodeOptions, format: OutputFormat) -> Result<Option<AudioChain>> {
        opts.validate()?;
        if format == OutputFormat::Gif {
            if let Some(a) = opts.audio {
                return Err(Error::parameter_for(
                    "audio",
                    format!(
                        "a GIF has no sound: {} Hz {}-channel audio was given; write an MP4 (name the output \
                         *.mp4) to keep the sound",
                        a.sample_rate, a.channels
                    ),
                ));
            }
            if !opts.metadata.is_empty() {
                return Err(Error::unsupported(
                    "GIF has no title/artist/... fields: metadata is written to MP4 output only",
                ));
            }
            return Ok(None); // the x264 options do not apply
        }
        crate::mux::mp4::check_fps(opts.fps)?;
        crate::mux::mp4::metadata::validate(&opts.metadata)?;
        // Open a tiny encoder once so that x264 refuses bad option combinations now, not at the
        // first frame after minutes of rendering. Its size is not the user's: say what it was.
        X264Encoder::new(16, 16, &EncodeOptions { threads: Some(1), ..opts.clone() }).map(drop).map_err(
            |e| match e {
                Error::Encoder(_) => e.with_note(&format!(
                    "checking the options with a 16x16 test encoder before the first frame: x264 refuses these \
                 options at fps {}",
                    opts.fps
                )),
                other => other,
            },
        )?;
        opts.audio.map(|a| AudioChain::new(a, opts.audio_codec, opts.audio_bitrate)).transpose()
    }

    fn with_sink(
        sink: Sink,
        target: String,
        opts: EncodeOptions,
        format: OutputFormat,
        audio_chain: Option<AudioChain>,
    ) -> Self {
        VideoWriter {
            audio_checker: opts.audio.map(|a| SampleChecker::new(a.sample_rate, a.channels)),
            audio_chain,
            target,
            opts,
            format,
            state: State::Waiting(sink),
            accepted: 0,
            first: None,
            warnings: Vec::new(),
            bytes: Arc::new(AtomicU64::new(0)),
            on_disk: Arc::new(AtomicU64::new(0)),
            encoded: Arc::new(AtomicU64::new(0)),
            path: None,
        }
    }

    /// Frames accepted so far.
    pub fn frames_written(&self) -> u64 {
        self.accepted
    }

    /// Bytes of encoded video written to the output so far (approximate while running).
    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A shared counter of the bytes written so far, for progress displays on other threads.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// A shared counter of the frames a reader of the output finds if the process died now:
    /// MP4 frames in whole fragments, GIF frames given to the encoder (see
    /// [`crate::options::Fragments`]). Frames the encoder still holds (x264 looks ahead) are not
    /// on disk yet.
    pub fn on_disk_counter(&self) -> Arc<AtomicU64> {
        self.on_disk.clone()
    }

    /// A shared counter of the frames encoded so far (the encoder gave them out, and the MP4
    /// muxer or the GIF encoder took them); frames x264 still looks ahead over are not counted.
    pub fn encoded_counter(&self) -> Arc<AtomicU64> {
        self.encoded.clone()
    }

    /// What is being written: MP4 or GIF.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The path being written, if writing to a file.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Warnings raised so far (each said once), e.g. that an odd size was padded; drained.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Encode one frame. The first frame fixes width, height and pixel format; a later frame that
    /// differs is refused with an error naming its index, and the writer stays usable.
    pub fn write(&mut self, frame: &Frame) -> Result<()> {
        let index = self.accepted;
        match &self.state {
            State::Finished => return Err(Error::parameter_at(index, "cannot write to a finished video writer")),
            State::Failed { error, .. } => {
                return Err(error
                    .again(&format!("cannot write frame {index}: the writer stopped after an earlier error: "))
                    .naming_frame(index))
            }
            _ => {}
        }
        let shape = (frame.width(), frame.height(), frame.format());
        match self.first {
            Some(first) if first != shape => {
                return Err(Error::parameter_at(
                    index,
                    format!(
                        "frame {index} is {}x{} {}, but frame 0 was {}x{} {}; every frame must match the first",
                        shape.0, shape.1, shape.2, first.0, first.1, first.2
                    ),
                ));
            }
            Some(_) => {}
            None => self.start(shape)?,
        }
        let State::Running(feed) = &mut self.state else {
            return Err(Error::encoder("internal: the writer has no encoder running"));
        };
        if feed.send(frame, index)? {
            self.accepted += 1;
            return Ok(());
        }
        Err(self.stopped())
    }

    /// The encoder thread has stopped: collect its error, which says what went wrong, and keep
    /// the writer failed (reporting it again to later calls).
    fn stopped(&mut self) -> Error {
        let res = self.join();
        let (err, finish_error) = match (res.error, res.finish_error) {
            (Some(e), f) => (e, f),
            (None, Some(f)) => (f, None),
            (None, None) => (Error::encoder("encoder thread stopped unexpectedly"), None),
        };
        // Report the cause now; `finish` then reports whether the file could be finished.
        let error = err.again("");
        self.state = State::Failed { frames: res.frames, sink: res.sink, error, finish_error };
        err
    }

    fn start(&mut self, shape: (u32, u32, PixelFormat)) -> Result<()> {
        let queue = self.opts.queue_frames;
        let counters =
            Counters { bytes: self.bytes.clone(), on_disk: self.on_disk.clone(), encoded: self.encoded.clone() };
        let feed: Box<dyn Feed> = match self.format {
            OutputFormat::Mp4 => {
                let backend = self.start_mp4(shape)?;
                Box::new(Running::start(backend, Converter::new(self.opts.background), queue, counters)?)
            }
            OutputFormat::Gif => {
                let backend = self.start_gif(shape)?;
                Box::new(Running::start(backend, self.opts.background, queue, counters)?)
            }
        };
        self.first = Some(shape);
        self.state = State::Running(feed);
        Ok(())
    }

    /// The output, for the backend of the first frame.
    fn take_sink(&mut self) -> Result<Sink> {
        let State::Waiting(sink) = std::mem::replace(&mut self.state, State::Finished) else {
            unreachable!("start is called once, from Waiting")
        };
        Ok(sink)
    }

    fn start_gif(&mut self, (w, h, _): (u32, u32, PixelFormat)) -> Result<GifBackend> {
        let sink = self.take_sink()?;
        let fps = self.opts.fps;
        match GifEncoder::new(sink, w, h, fps, &self.opts.gif) {
            Ok(g) => {
                if fps.num as u64 > 50 * fps.den as u64 {
                    self.warnings.push(format!(
                        "GIF frame delays are whole hundredths of a second and players show a frame for at \
                         least 2/100 s, so at {fps} fps some frames are dropped (each shown frame lasts 2/100 s \
                         or more; the total duration is kept). Use at most 50 fps for GIF"
                    ));
                }
                Ok(GifBackend { gif: g, target: self.target.clone() })
            }
            Err(e) => {
                // The output could not even take the GIF header: nothing was written.
                self.state = State::Failed { frames: 0, sink: None, error: e.again(""), finish_error: None };
                Err(e)
            }
        }
    }

    fn start_mp4(&mut self, (w, h, _): (u32, u32, PixelFormat)) -> Result<Mp4Backend> {
        let (pw, ph) = padded_size(w, h);
        let encoder = X264Encoder::new(pw, ph, &self.opts)?;
        let track = VideoTrack {
            width: pw,
            height: ph,
            fps: self.opts.fps,
            avc: encoder.avc_config().clone(),
            color: crate::encode::ColorInfo::BT709_LIMITED,
        };
        let sink = self.take_sink()?;
        let made = match self.audio_chain.as_ref() {
            Some(chain) => Mp4Writer::with_audio(sink, track, chain.track()),
            None => Mp4Writer::new(sink, track),
        };
        let muxer = match made {
            Ok(mut m) => {
                m.set_metadata(&with_encoder_tag(&self.opts.metadata))?; // validated already
                m.set_fragment_frames(self.opts.fragments.frames(self.opts.fps))?;
                m.set_durable(self.opts.fragments.durable);
                m
            }
            Err(e) => {
                // The output could not even take the MP4 header: nothing was written.
                self.state = State::Failed { frames: 0, sink: None, error: e.again(""), finish_error: None };
                return Err(e);
            }
        };
        let macroblocks = u64::from(pw.div_ceil(16)) * u64::from(ph.div_ceil(16));
        if macroblocks > 139_264 {
            self.warnings.push(format!(
                "{pw}x{ph} is beyond H.264's largest level (6.2 allows 139,264 macroblocks, e.g. 8192x4352; \
                 this is {macroblocks}): ffmpeg decodes it, but browsers and hardware decoders may refuse it"
            ));
        }
        if (pw, ph) != (w, h) {
            self.warnings.push(format!(
                "frame size {w}x{h} is odd; H.264 4:2:0 needs even sizes, so it is encoded at {pw}x{ph} \
                 by repeating the last {} (the picture is not rescaled)",
                match (pw != w, ph != h) {
                    (true, true) => "column and row",
                    (true, false) => "column",
                    _ => "row",
                }
            ));
        }
        Ok(Mp4Backend {
            encoder,
            muxer,
            target: self.target.clone(),
            audio: self.audio_chain.take(),
            fps: self.opts.fps,
        })
    }

    fn join(&mut self) -> ThreadResult {
        match &mut self.state {
            State::Running(feed) => feed.join(),
            _ => ThreadResult { frames: 0, sink: None, error: None, finish_error: None },
        }
    }

    /// Flush the encoder and write the index: the file is then complete and playable.
    /// Returns an error if encoding or writing failed; the frames before the failure are kept.
    pub fn finish(mut self) -> Result<WriteSummary> {
        self.finish_inner().map(|(s, _)| s)
    }

    /// Like [`finish`](Self::finish), also returning, for a file output, a second descriptor of
    /// the finished file (a `dup`: it shares the open file and so its `flock` lock, see
    /// [`crate::output`]). The lock then lasts until both are closed: a caller whose output path
    /// is itself a temporary (Python's `render` writes into its own `.NAME.ID.fp-tmp`, which this
    /// writer's file replaces) keeps that name locked until it renames it into place, so that no
    /// sweep takes it meanwhile. None for memory, or if the descriptor cannot be duplicated.
    pub fn finish_holding_lock(mut self) -> Result<(WriteSummary, Option<std::fs::File>)> {
        let (s, sink) = self.finish_inner()?;
        let held = match &sink {
            Some(Sink::File { file, .. }) => file.file().try_clone().ok(),
            _ => None,
        };
        Ok((s, held))
    }

    /// Like [`finish`](Self::finish), returning the file's bytes for an in-memory writer.
    pub fn finish_to_vec(mut self) -> Result<(WriteSummary, Vec<u8>)> {
        let (s, sink) = self.finish_inner()?;
        match sink {
            Some(Sink::Memory(c)) => Ok((s, c.into_inner())),
            _ => Err(Error::parameter("finish_to_vec needs a writer made with VideoWriter::in_memory")),
        }
    }

    fn summary(&self, frames: u64, sink: &mut Option<Sink>) -> WriteSummary {
        let (w, h, _) = self.first.unwrap_or((0, 0, PixelFormat::Rgb24));
        let (cw, ch) = match (w, self.format) {
            (0, _) => (0, 0),
            (_, OutputFormat::Gif) => (w, h),
            (_, OutputFormat::Mp4) => padded_size(w, h),
        };
        let bytes = sink.as_ref().map_or(0, Sink::len);
        let audio = self.audio_checker.as_ref().map(SampleChecker::stats).unwrap_or_default();
        WriteSummary {
            frames,
            bytes,
            width: w,
            height: h,
            coded_width: cw,
            coded_height: ch,
            audio_samples: audio.frames,
            audio_clipped: audio.clipped,
        }
    }

    fn finish_inner(&mut self) -> Result<(WriteSummary, Option<Sink>)> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Finished => Err(Error::parameter("the video writer was already finished")),
            State::Waiting(sink) => {
                // Nothing was written: the temporary goes, and a file that was there before is
                // left untouched.
                drop(sink);
                Err(Error::parameter(format!(
                    "no frames were written to {}; {} needs at least one frame",
                    self.target,
                    match self.format {
                        OutputFormat::Mp4 => "an MP4",
                        OutputFormat::Gif => "a GIF",
                    }
                )))
            }
            State::Failed { frames: 0, sink, error, finish_error } => {
                // Not even the first frame could be written (a full disk at the start): the file
                // holds no picture, so it is removed rather than left as an empty video.
                if let Some(mut s) = sink {
                    s.remove_placed();
                }
                Err(finish_error.unwrap_or_else(|| error.again("no frame could be written, so the file was removed: ")))
            }
            State::Failed { frames, mut sink, finish_error, .. } => match finish_error {
                Some(e) => Err(e),
                None => {
                    let s = self.summary(frames, &mut sink);
                    Ok((s, sink))
                }
            },
            running @ State::Running(_) => {
                self.state = running;
                let res = self.join();
                self.state = State::Finished;
                let mut sink = res.sink;
                if res.frames == 0 {
                    // Not even frame 0 could be written (a full disk), while encoding or when
                    // finishing: no picture to keep.
                    if let Some(e) = res.error.as_ref().or(res.finish_error.as_ref()) {
                        let e = e.again("no frame could be written, so the file was removed: ");
                        if let Some(s) = sink.as_mut() {
                            s.remove_placed();
                        }
                        return Err(e);
                    }
                }
                let s = self.summary(res.frames, &mut sink);
                match (res.error, res.finish_error) {
                    (Some(e), None) => Err(e),
                    (Some(e), Some(f)) => Err(e.again("").with_note(&format!("finishing the file failed too: {f}"))),
                    (None, Some(f)) => Err(f),
                    (None, None) => Ok((s, sink)),
                }
            }
        }
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if matches!(self.state, State::Running(_)) {
            let _ = self.finish_inner();
        }
    }
}

/// Counters the encoder thread keeps up to date for other threads (progress displays, tests).
#[derive(Clone)]
struct Counters {
    bytes: Arc<AtomicU64>,
    on_disk: Arc<AtomicU64>,
    encoded: Arc<AtomicU64>,
}

/// Encode pictures from the queue until it closes, then flush and finish the file. After an
/// error the file is still finished with every frame written before it.
fn encoder_thread<B: Backend>(
    mut backend: B,
    rx: Receiver<Item<B::Picture>>,
    recycle: SyncSender<B::Picture>,
    counters: Counters,
) -> ThreadResult {
    let mut error = None;
    for item in rx.iter() {
        let (done, picture) = match item {
            Item::Frame(index, picture) => (backend.encode(index, &picture), Some(picture)),
            Item::Audio(samples) => (backend.audio(&samples), None),
        };
        if let Err(e) = done {
            error = Some(e);
            break;
        }
        counters.bytes.store(backend.bytes_written(), Ordering::Relaxed);
        counters.on_disk.store(backend.frames_on_disk(), Ordering::Relaxed);
        counters.encoded.store(backend.frames(), Ordering::Relaxed);
        if let Some(picture) = picture {
            let _ = recycle.try_send(picture);
        }
    }
    drop(rx); // a failed thread stops accepting frames: the caller's next send sees it
    let (flush_error, mut finish_error) = backend.finish(error.as_ref());
    let error = error.or(flush_error);
    counters.bytes.store(backend.bytes_written(), Ordering::Relaxed);
    counters.on_disk.store(backend.frames(), Ordering::Relaxed);
    counters.encoded.store(backend.frames(), Ordering::Relaxed);
    let frames = backend.frames();
    let target = backend.target().to_string();
    let mut sink = backend.into_sink();
    // A file that holds frames replaces the output now if it has not yet (a short video never
    // had a whole fragment on disk before finish, or finish left the fragmented file).
    if let Some(s) = sink.as_mut().filter(|s| frames > 0 && !s.is_placed()) {
        if let Err(e) = s.place() {
            let e = Error::io(format!("renaming the finished file over {target}"), e);
            finish_error = Some(match finish_error {
                Some(f) => f.with_note(&e.to_string()),
                None => e,
            });
        }
    }
    ThreadResult { frames, sink, error, finish_error }
}
