//! `framepipe._native.Concat`: joins MP4 chunks (bytes) into one file without re-encoding.

use crate::to_py;
use framepipe::Error;
use framepipe::IoContext;
use framepipe::Mp4Concat;
use pyo3::prelude::*;
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
    #[pyo3(signature = (path, *, metadata=Vec::new()))]
    fn new(py: Python<'_>, path: std::path::PathBuf, metadata: Vec<(String, String)>) -> PyResult<Self> {
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
