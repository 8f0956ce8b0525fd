//! `framepipe._native.Concat`: joins MP4 chunks (bytes) into one file without re-encoding,
//! with a sound track encoded once by `framepipe._native.SoundTrack`.

use crate::to_py;
use framepipe::{AudioInput, EncodedAudio, Error, IoContext, Mp4Concat, OutputFormat, Rational, SoundTrack};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::fs::{File, OpenOptions};
use std::io::Cursor;
use std::sync::Mutex;

/// Appends encoded MP4 chunks, in order, into one MP4 at `path`.
#[pyclass(module = "framepipe._native", name = "Concat")]
pub struct PyConcat {
    inner: Mutex<Option<Mp4Concat<File>>>,
}

#[pymethods]
impl PyConcat {
    #[new]
    #[pyo3(signature = (path, *, metadata=Vec::new(), audio=None))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        metadata: Vec<(String, String)>,
        audio: Option<PyRef<'_, PySoundTrack>>,
    ) -> PyResult<Self> {
        let audio = match audio {
            Some(track) => Some(track.encoded(py)?),
            None => None,
        };
        let file = py
            .detach(|| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .ctx(|| format!("cannot open {} for writing", path.display()))
            })
            .map_err(|e| to_py(py, e))?;
        let mut concat = Mp4Concat::new(file);
        concat.set_metadata(&metadata).map_err(|e| to_py(py, e))?;
        if let Some(audio) = audio {
            concat.set_audio(audio).map_err(|e| to_py(py, e))?;
        }
        Ok(PyConcat { inner: Mutex::new(Some(concat)) })
    }

    /// Append every frame of one chunk (a complete MP4, as bytes). Returns the frames appended.
    fn append(&self, py: Python<'_>, chunk: Vec<u8>) -> PyResult<u64> {
        py.detach(|| {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let c = g.as_mut().ok_or_else(|| Error::parameter("the concatenation is already finished"))?;
            c.append(Cursor::new(chunk))
        })
        .map_err(|e| to_py(py, e))
    }

    /// Frames appended so far.
    #[getter]
    fn frames(&self, py: Python<'_>) -> u64 {
        py.detach(|| self.inner.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |c| c.frames()))
    }

    /// Write the index and close the file. Returns the number of frames.
    fn close(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| {
            let c = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
            let c = c.ok_or_else(|| Error::parameter("the concatenation is already finished"))?;
            c.finish().map(|(frames, _)| frames)
        })
        .map_err(|e| to_py(py, e))
    }
}

enum Track {
    Encoding(Box<SoundTrack>),
    Finished(EncodedAudio),
}

/// A whole sound track, encoded once: the samples given to `write` (checked and encoded as a
/// `Writer`'s `write_audio` does), ended by `finish` at the video's length, then muxed by a
/// `Concat` given it as `audio=`.
#[pyclass(module = "framepipe._native", name = "SoundTrack")]
pub struct PySoundTrack {
    inner: Mutex<Option<Track>>,
}

impl PySoundTrack {
    /// The finished track's packets (a copy: the track can go to more than one Concat).
    fn encoded(&self, py: Python<'_>) -> PyResult<EncodedAudio> {
        match &*self.inner.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(Track::Finished(a)) => Ok(a.clone()),
            _ => Err(to_py(py, Error::parameter("the sound track is not finished: call finish(frames) first"))),
        }
    }

    fn with_track<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Option<Track>) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        py.detach(|| f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))).map_err(|e| to_py(py, e))
    }
}

#[pymethods]
impl PySoundTrack {
    /// The sound track of a file at `path` written with `options` (a writer's options: the
    /// same checks, e.g. a GIF has no sound) at `fps_num/fps_den`, of samples at
    /// `audio=(sample_rate, channels)`.
    #[new]
    #[pyo3(signature = (path, fps_num, fps_den, options, *, audio))]
    fn new(
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        fps_num: u32,
        fps_den: u32,
        options: &Bound<'_, PyDict>,
        audio: (u32, u16),
    ) -> PyResult<Self> {
        let mut built =
            crate::options::checked(path.as_deref(), fps_num, fps_den, options)?.map_err(|e| to_py(py, e))?;
        built.options.audio = Some(AudioInput { sample_rate: audio.0, channels: audio.1 });
        let format = built.options.format.unwrap_or(OutputFormat::Mp4);
        let track = py.detach(|| SoundTrack::new(&built.options, format)).map_err(|e| to_py(py, e))?;
        Ok(PySoundTrack { inner: Mutex::new(Some(Track::Encoding(Box::new(track)))) })
    }

    /// Add samples: a C-contiguous float32 buffer, interleaved (as `Writer.write_audio`).
    fn write(&self, py: Python<'_>, samples: &Bound<'_, PyAny>) -> PyResult<()> {
        crate::with_samples(py, samples, |samples| {
            self.with_track(py, |slot| match slot {
                Some(Track::Encoding(t)) => t.write(samples),
                _ => Err(Error::parameter("the sound track is finished")),
            })
        })?
    }

    /// Warnings to show (clipping), once each.
    fn take_warnings(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.with_track(py, |slot| match slot {
            Some(Track::Encoding(t)) => Ok(t.take_warnings()),
            _ => Ok(Vec::new()),
        })
    }

    /// End the track at the end of `frames` frames at `fps_num/fps_den` (padded with silence or
    /// cut there). Returns `(sample frames given, values clipped)`.
    fn finish(&self, py: Python<'_>, frames: u64, fps_num: u32, fps_den: u32) -> PyResult<(u64, u64)> {
        self.with_track(py, |slot| {
            let fps = Rational::new(fps_num, fps_den)?;
            let Some(Track::Encoding(t)) = slot.take() else {
                return Err(Error::parameter("the sound track is already finished"));
            };
            let a = t.finish(frames, fps)?;
            let stats = (a.stats.frames, a.stats.clipped);
            *slot = Some(Track::Finished(a));
            Ok(stats)
        })
    }
}
