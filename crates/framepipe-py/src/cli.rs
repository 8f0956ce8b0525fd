//! The `framepipe` command inside the Python package: `framepipe._native.cli_main(argv)` runs
//! the same code as the `framepipe` binary (`framepipe_cli::run`), and `build_info()` says
//! which x264 encodes. The wheel's `framepipe` console script (`python/framepipe/_cli.py`) calls
//! `cli_main` and exits with its status.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ffi::OsString;

/// Run the `framepipe` command with `argv` (argv[0] is the program's name) and return its exit
/// status, as the binary's. It reads and writes file descriptors 0, 1 and 2 directly, with the
/// GIL released. An `encode` installs handlers for SIGINT, SIGTERM and SIGHUP (the first stops
/// the input and finishes the file, a second ends the process) that stay installed afterwards:
/// this is for the console script, whose process ends when the command does.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(move || framepipe_cli::run(argv))
}

/// framepipe's version, the x264 that encodes and the libavcodec of the AAC encoder, as a dict
/// (see `framepipe.build_info`).
#[pyfunction]
fn build_info<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let x = py.detach(framepipe::x264_build_info).map_err(|e| crate::to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("framepipe", env!("CARGO_PKG_VERSION"))?;
    d.set_item("x264_core", x.core)?;
    d.set_item("x264_version", x.version)?;
    d.set_item("x264_compiled_core", x.compiled_core)?;
    d.set_item("x264_compiled_version", x.compiled_version)?;
    d.set_item("x264_license", "GPL-2.0-or-later")?;
    d.set_item("libavcodec", framepipe::libavcodec_ident())?;
    Ok(d)
}

/// Add this file's functions to `framepipe._native`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    Ok(())
}
