//! PyO3 bindings: conversions, GIL release, exceptions. The Python-facing API lives in
//! `python/framepipe/`; this module is `framepipe._native`.

mod cli;
mod concat;
mod convert;
mod kernels;
mod options;
mod text;

use convert::{float_frame, format_for, read_f32, read_f64, u16_frame, u8_frame, Scale, Source};
use framepipe::Frame;
use framepipe::{Error, PixelFormat, Rational, VideoWriter};
use pyo3::buffer::{Element, PyBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Map an engine error to the matching class of `framepipe.errors`, keeping the cause's text
/// (and for I/O errors the errno, so `except OSError` and `e.errno == errno.ENOSPC` work).
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let errors = match py.import("framepipe.errors") {
        Ok(m) => m,
        Err(e) => return e,
    };
    let class = |name: &str| errors.getattr(name);
    let made = match &err {
        Error::Parameter(_) => class("ParameterError").and_then(|c| c.call1((err.to_string(),))),
        Error::Unsupported(_) => class("UnsupportedError").and_then(|c| c.call1((err.to_string(),))),
        Error::Encoder(_) => class("EncoderError").and_then(|c| c.call1((err.to_string(),))),
        Error::InvalidData(_) => class("DecodeError").and_then(|c| c.call1((err.to_string(),))),
        Error::OutOfMemory(_) => class("OutOfMemoryError").and_then(|c| c.call1((err.to_string(),))),
        Error::Io { source, .. } => {
            let errno = source.raw_os_error().unwrap_or(0);
            class("OutputError").and_then(|c| c.call1((errno, err.to_string())))
        }
        other => class("FramepipeError").and_then(|c| c.call1((other.to_string(),))),
    };
    // The frame and the argument as attributes (`e.frame`, `e.argument`), from the error's fields.
    let made = made.and_then(|obj| {
        obj.setattr("frame", err.frame())?;
        obj.setattr("argument", err.argument())?;
        Ok(obj)
    });
    match made {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    }
}

/// Run `f` on audio samples given as a C-contiguous float32 buffer (interleaved: shape (n,) or
/// (n, channels)); a Parameter error for anything else.
pub(crate) fn with_samples<T>(py: Python<'_>, samples: &Bound<'_, PyAny>, f: impl FnOnce(&[f32]) -> T) -> PyResult<T> {
    let buf = PyBuffer::<f32>::get(samples).map_err(|_| {
        let name = samples.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        to_py(
            py,
            Error::parameter(format!("audio samples must be an aligned, native-byte-order float32 buffer, got {name}")),
        )
    })?;
    if !buf.is_c_contiguous() {
        return Err(to_py(py, Error::parameter("audio samples must be C-contiguous")));
    }
    let n = buf.item_count();
    let samples: &[f32] = if n == 0 {
        &[]
    } else {
        // SAFETY: `buf` is a C-contiguous buffer of `n` f32 items (PyBuffer::<f32>::get checked
        // the item type and the alignment), which the PyBuffer keeps alive and locked for as
        // long as it exists: longer than this slice, which is used only within this call.
        unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const f32, n) }
    };
    Ok(f(samples))
}

fn parse_format(name: Option<&str>) -> Result<Option<PixelFormat>, Error> {
    name.map(str::parse).transpose()
}

/// The engine's video writer. Use `framepipe.VideoWriter`, which wraps this.
///
/// Locking: `inner` is only ever locked with the GIL released (inside `py.detach`), so a thread
/// waiting for the lock never holds the GIL that the thread inside needs to finish. The counters
/// read by progress displays are atomics and need no lock at all.
#[pyclass(module = "framepipe._native", name = "Writer")]
struct PyWriter {
    inner: Mutex<Option<(VideoWriter, Vec<u8>)>>,
    /// The `pix_fmt` option: the layout of frames written without a `pix_fmt` of their own.
    pix_fmt: Option<PixelFormat>,
    /// The index errors give this writer's first frame (a render's chunk: its place in the video).
    first_index: AtomicU64,
    frames: AtomicU64,
    bytes: Arc<AtomicU64>,
    on_disk: Arc<AtomicU64>,
    encoded: Arc<AtomicU64>,
    closed: AtomicBool,
    format: &'static str,
}

impl PyWriter {
    /// Lock `inner` with the GIL released and run `f` on the writer (None once closed).
    fn with_writer<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Option<(VideoWriter, Vec<u8>)>) -> T + Send,
    ) -> T {
        py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
    }
}

#[pymethods]
impl PyWriter {
    /// Open a writer. `path=None` encodes into memory (`close()` then returns the bytes).
    /// `options` maps option names of the engine's table to values (None = not given).
    /// `audio=(sample_rate, channels)` declares a sound track (MP4), fed with `write_audio`.
    #[new]
    #[pyo3(signature = (path, fps_num, fps_den, options, *, audio=None))]
    fn new(
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        fps_num: u32,
        fps_den: u32,
        options: &Bound<'_, PyDict>,
        audio: Option<(u32, u16)>,
    ) -> PyResult<Self> {
        let mut built = options::checked(path.as_deref(), fps_num, fps_den, options)?.map_err(|e| to_py(py, e))?;
        built.options.audio = audio.map(|(sample_rate, channels)| framepipe::AudioInput { sample_rate, channels });
        let pix_fmt = built.pix_fmt;
        let build = move || -> Result<VideoWriter, Error> {
            match &path {
                Some(p) => VideoWriter::create(p, built.options),
                None => VideoWriter::in_memory(built.options),
            }
        };
        let writer = py.detach(build).map_err(|e| to_py(py, e))?;
        let bytes = writer.bytes_counter();
        let on_disk = writer.on_disk_counter();
        let encoded = writer.encoded_counter();
        let format = writer.format().as_str();
        Ok(PyWriter {
            format,
            pix_fmt,
            first_index: AtomicU64::new(0),
            inner: Mutex::new(Some((writer, Vec::new()))),
            frames: AtomicU64::new(0),
            bytes,
            on_disk,
            encoded,
            closed: AtomicBool::new(false),
        })
    }

    /// Encode one frame from an object with the buffer protocol: shape HxW or HxWxC (C = 1, 3,
    /// 4), dtype uint8, uint16, float32 or float64, non-negative strides. `kind="bool"` treats
    /// uint8 0/1 as black/white. `pix_fmt` overrides the layout implied by C (e.g. "bgr24").
    #[pyo3(signature = (frame, *, pix_fmt=None, kind=None))]
    fn write(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        pix_fmt: Option<&str>,
        kind: Option<&str>,
    ) -> PyResult<()> {
        let index = self.frames.load(Ordering::SeqCst) + self.first_index.load(Ordering::SeqCst);
        let named = parse_format(pix_fmt).map_err(|e| to_py(py, e))?.or(self.pix_fmt);
        let bad = |msg: String| to_py(py, Error::parameter_at(index, format!("frame {index}: {msg}")));
        let scale = if kind == Some("bool") { Scale::Bool } else { Scale::Identity };
        // Converts and encodes one typed buffer; runs with the GIL released.
        fn run<T: Element>(
            this: &PyWriter,
            py: Python<'_>,
            buf: &PyBuffer<T>,
            named: Option<PixelFormat>,
            convert: impl for<'a> Fn(&Source<'a, T>, PixelFormat, &'a mut Vec<u8>) -> Result<Frame<'a>, Error> + Send + Sync,
        ) -> Result<Result<(), Error>, String> {
            let src = Source::new(buf)?;
            let fmt = format_for(src.channels, named)?;
            Ok(this.with_writer(py, |slot| {
                let Some((writer, scratch)) = slot.as_mut() else {
                    let index = this.frames.load(Ordering::SeqCst) + this.first_index.load(Ordering::SeqCst);
                    return Err(Error::parameter_at(index, "cannot write: the writer is closed"));
                };
                let frame = convert(&src, fmt, scratch)?;
                writer.write(&frame)?;
                this.frames.store(writer.frames_written(), Ordering::SeqCst);
                Ok(())
            }))
        }
        // Dispatch on the element type.
        let result = if let Ok(buf) = PyBuffer::<u8>::get(frame) {
            run(self, py, &buf, named, |src, fmt, scratch| u8_frame(src, fmt, scale, scratch))
        } else if let Ok(buf) = PyBuffer::<u16>::get(frame) {
            run(self, py, &buf, named, u16_frame)
        } else if let Ok(buf) = PyBuffer::<f32>::get(frame) {
            run(self, py, &buf, named, |src, fmt, scratch| float_frame(src, fmt, scratch, read_f32))
        } else if let Ok(buf) = PyBuffer::<f64>::get(frame) {
            run(self, py, &buf, named, |src, fmt, scratch| float_frame(src, fmt, scratch, read_f64))
        } else {
            return Err(to_py(py, Error::unsupported(format!(
                "frame {index}: expected an aligned, native-byte-order buffer of uint8, uint16, float32 or float64, got {}",
                frame.get_type().name()?
            ))));
        };
        result.map_err(bad)?.map_err(|e| match e {
            // Conversion errors (NaN, sizes) are about this frame: say which, unless they do.
            Error::Parameter(_) => to_py(py, e.with_frame(index)),
            other => to_py(py, other),
        })
    }

    /// Add samples to the sound track declared with `audio=`: a C-contiguous float32 buffer of
    /// interleaved samples (shape (n,) or (n, channels)); checked by the engine (NaN and
    /// infinities refused naming the sample, values outside [-1, 1] clipped and counted).
    fn write_audio(&self, py: Python<'_>, samples: &Bound<'_, PyAny>) -> PyResult<()> {
        let res = with_samples(py, samples, |samples| {
            self.with_writer(py, |slot| match slot.as_mut() {
                Some((writer, _)) => writer.write_audio(samples),
                None => Err(Error::parameter("cannot write audio: the writer is closed")),
            })
        })?;
        res.map_err(|e| to_py(py, e))
    }

    /// Finish the file (flush the encoder, write the index). Returns a dict summary; for an
    /// in-memory writer it has the MP4 under "data". Closing twice is a no-op returning None.
    /// With `hold_lock`, a file writer's summary has under "lock_fd" a descriptor of the finished
    /// file that holds its flock lock, for the caller to close (see
    /// `VideoWriter::finish_holding_lock`).
    #[pyo3(signature = (*, hold_lock = false))]
    fn close<'py>(&self, py: Python<'py>, hold_lock: bool) -> PyResult<Option<Bound<'py, PyDict>>> {
        let taken = self.with_writer(py, |slot| slot.take());
        self.closed.store(true, Ordering::SeqCst);
        let Some((writer, _)) = taken else { return Ok(None) };
        let in_memory = writer.path().is_none();
        let res = py.detach(move || {
            if in_memory {
                writer.finish_to_vec().map(|(s, d)| (s, Some(d), None))
            } else if hold_lock {
                writer.finish_holding_lock().map(|(s, f)| (s, None, f))
            } else {
                writer.finish().map(|s| (s, None, None))
            }
        });
        let (s, data, held) = res.map_err(|e| to_py(py, e))?;
        self.frames.store(s.frames, Ordering::SeqCst);
        let d = PyDict::new(py);
        d.set_item("frames", s.frames)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("width", s.width)?;
        d.set_item("height", s.height)?;
        d.set_item("coded_width", s.coded_width)?;
        d.set_item("coded_height", s.coded_height)?;
        d.set_item("audio_samples", s.audio_samples)?;
        d.set_item("audio_clipped", s.audio_clipped)?;
        if let Some(data) = data {
            d.set_item("data", PyBytes::new(py, &data))?;
        }
        if let Some(file) = held {
            // Closed with `file` if the dict refuses it; the caller's from then on.
            d.set_item("lock_fd", file.as_raw_fd())?;
            let _ = file.into_raw_fd();
        }
        Ok(Some(d))
    }

    /// Warnings raised since the last call (e.g. an odd size padded to even), each once.
    fn take_warnings(&self, py: Python<'_>) -> Vec<String> {
        self.with_writer(py, |slot| slot.as_mut().map(|(w, _)| w.take_warnings()).unwrap_or_default())
    }

    /// Frames accepted so far (lock-free: safe to poll from another thread during a write).
    #[getter]
    fn frames_written(&self) -> u64 {
        self.frames.load(Ordering::SeqCst)
    }

    /// The index errors give this writer's first frame (default 0).
    #[getter]
    fn get_first_index(&self) -> u64 {
        self.first_index.load(Ordering::SeqCst)
    }

    #[setter]
    fn set_first_index(&self, index: u64) {
        self.first_index.store(index, Ordering::SeqCst);
    }

    /// "mp4" or "gif": what this writer writes.
    #[getter]
    fn format(&self) -> &'static str {
        self.format
    }

    /// Encoded bytes written so far (lock-free).
    #[getter]
    fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Frames a reader of the file finds if the process died now (lock-free).
    #[getter]
    fn frames_on_disk(&self) -> u64 {
        self.on_disk.load(Ordering::Relaxed)
    }

    /// Frames encoded so far (lock-free).
    #[getter]
    fn frames_encoded(&self) -> u64 {
        self.encoded.load(Ordering::Relaxed)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// The exact rational frame rate framepipe uses for a float (29.97 → (30000, 1001)).
#[pyfunction]
fn rational_fps(py: Python<'_>, fps: f64) -> PyResult<(u32, u32)> {
    let r = Rational::from_f64(fps).map_err(|e| to_py(py, e))?;
    Ok((r.num, r.den))
}

/// The output format a path names ("mp4" or "gif"); an error for names of formats framepipe
/// does not write (.webm, .png, ...).
#[pyfunction]
fn output_format(py: Python<'_>, path: std::path::PathBuf) -> PyResult<&'static str> {
    framepipe::OutputFormat::from_path_checked(&path).map(|f| f.as_str()).map_err(|e| to_py(py, e))
}

/// Describe an MP4 or GIF file (what `framepipe probe` prints) as a dict; "format" says which.
#[pyfunction]
fn probe<'py>(py: Python<'py>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let info = py.detach(|| framepipe::probe::probe_file(&path)).map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    let fields = framepipe::probe::fields(&info);
    for (key, value) in &fields {
        d.set_item(*key, probe_value(py, value)?)?;
    }
    // The old keys, for one release (docs/probe.md).
    for (old, new) in framepipe::probe::FIELD_ALIASES {
        if let Some((_, v)) = fields.iter().find(|(k, _)| k == new) {
            d.set_item(*old, probe_value(py, v)?)?;
        }
    }
    Ok(d)
}

/// A probe field's value in Python: fps as (num, den), colour as (primaries, transfer, matrix,
/// full_range), tags as a dict, None where JSON has null.
fn probe_value<'py>(py: Python<'py>, v: &framepipe::probe::FieldValue) -> PyResult<Bound<'py, PyAny>> {
    use framepipe::probe::FieldValue as V;
    Ok(match v {
        V::Text(t) => t.into_pyobject(py)?.into_any(),
        V::Int(n) => n.into_pyobject(py)?.into_any(),
        V::Float(x) if x.is_finite() => x.into_pyobject(py)?.into_any(),
        V::Float(_) => py.None().into_bound(py),
        V::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        V::Fps(r) => r.map(|r| (r.num, r.den)).into_pyobject(py)?.into_any(),
        V::Color(c) => c.map(|c| (c.primaries, c.transfer, c.matrix, c.full_range)).into_pyobject(py)?.into_any(),
        V::Tags(t) => {
            t.iter().cloned().collect::<std::collections::HashMap<String, String>>().into_pyobject(py)?.into_any()
        }
    })
}

/// Repair an MP4 whose writer was stopped, or a finished one cut short (see
/// `framepipe.repair`); returns a dict.
#[pyfunction]
#[pyo3(signature = (path, output=None))]
fn repair<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    output: Option<std::path::PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let r = py.detach(|| framepipe::repair(&path, output.as_deref())).map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("output", r.output)?;
    d.set_item("frames", r.frames)?;
    d.set_item("frames_found", r.frames_found)?;
    d.set_item("torn_bytes", r.torn_bytes)?;
    d.set_item("was_finished", r.was_finished)?;
    d.set_item("frames_listed", r.frames_listed)?;
    d.set_item("truncated", r.truncated)?;
    d.set_item("in_place", r.in_place)?;
    Ok(d)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWriter>()?;
    m.add_class::<concat::PyConcat>()?;
    m.add_class::<concat::PySoundTrack>()?;
    m.add_function(wrap_pyfunction!(rational_fps, m)?)?;
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(output_format, m)?)?;
    m.add_function(wrap_pyfunction!(repair, m)?)?;
    m.add_function(wrap_pyfunction!(options::check_options, m)?)?;
    m.add_function(wrap_pyfunction!(options::option_table, m)?)?;
    cli::register(m)?;
    m.add_function(wrap_pyfunction!(text::render_text, m)?)?;
    m.add_function(wrap_pyfunction!(text::missing_glyphs, m)?)?;
    m.add("DEFAULT_FONT_NAME", framepipe::kernels::text::DEFAULT_FONT_NAME)?;
    kernels::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_DIMENSION", framepipe::MAX_DIMENSION)?;
    Ok(())
}
