//! `render_text`: the engine's text rasteriser (MoviePy-compatible TextClip) for Python.

use crate::to_py;
use framepipe::kernels::text::{self, TextOptions};
use framepipe::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

type Rgba = (i64, i64, i64, i64);

fn color(name: &str, c: Rgba) -> Result<[u8; 4], Error> {
    let parts = [c.0, c.1, c.2, c.3];
    if parts.iter().any(|v| !(0..=255).contains(v)) {
        return Err(Error::parameter(format!("{name} must be an RGBA tuple of 0..255 integers, got {c:?}")));
    }
    Ok(parts.map(|v| v as u8))
}

fn nonneg(name: &str, v: i64) -> Result<u32, Error> {
    u32::try_from(v).map_err(|_| Error::parameter(format!("{name} must be a non-negative integer, got {v}")))
}

/// Render `text` to straight-alpha RGBA bytes, as MoviePy 2.2.1's TextClip sizes and places it.
/// Returns (bytes, width, height). `font=None` uses the bundled DejaVu Sans.
#[pyfunction]
#[pyo3(signature = (
    text, *, font=None, font_size=20.0, color=(0, 0, 0, 255), bg_color=None, stroke_color=None,
    stroke_width=0, size=(None, None), margin=(0, 0, 0, 0), method="label", text_align="left",
    horizontal_align="center", vertical_align="center", interline=4
))]
#[pyo3(text_signature = "(text, *, font=None, font_size=20.0, color=(0, 0, 0, 255), bg_color=None, \
    stroke_color=None, stroke_width=0, size=(None, None), margin=(0, 0, 0, 0), method='label', text_align='left', \
    horizontal_align='center', vertical_align='center', interline=4)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_text<'py>(
    py: Python<'py>,
    text: &str,
    font: Option<std::path::PathBuf>,
    font_size: f64,
    color: Rgba,
    bg_color: Option<Rgba>,
    stroke_color: Option<Rgba>,
    stroke_width: i64,
    size: (Option<i64>, Option<i64>),
    margin: (i64, i64, i64, i64),
    method: &str,
    text_align: &str,
    horizontal_align: &str,
    vertical_align: &str,
    interline: i64,
) -> PyResult<(Bound<'py, PyBytes>, u32, u32)> {
    let build = || -> Result<TextOptions, Error> {
        let size_part = |name: &str, v: Option<i64>| -> Result<Option<u32>, Error> {
            v.map(|v| {
                u32::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| {
                    Error::parameter(format!("size's {name} must be a positive integer or None, got {v}"))
                })
            })
            .transpose()
        };
        Ok(TextOptions {
            font,
            font_size: font_size as f32,
            color: self::color("color", color)?,
            bg_color: bg_color.map(|c| self::color("bg_color", c)).transpose()?,
            stroke_color: stroke_color.map(|c| self::color("stroke_color", c)).transpose()?,
            stroke_width: nonneg("stroke_width", stroke_width)?,
            size: (size_part("width", size.0)?, size_part("height", size.1)?),
            margin: [
                nonneg("margin", margin.0)?,
                nonneg("margin", margin.1)?,
                nonneg("margin", margin.2)?,
                nonneg("margin", margin.3)?,
            ],
            method: method.parse()?,
            text_align: text_align.parse().map_err(|e: Error| e.with_note("text_align"))?,
            horizontal_align: horizontal_align.parse().map_err(|e: Error| e.with_note("horizontal_align"))?,
            vertical_align: vertical_align.parse()?,
            interline: i32::try_from(interline)
                .map_err(|_| Error::parameter(format!("interline is out of range: {interline}")))?,
        })
    };
    let opts = build().map_err(|e| to_py(py, e))?;
    let img = py.detach(|| text::render_text(text, &opts)).map_err(|e| to_py(py, e))?;
    Ok((PyBytes::new(py, &img.rgba), img.width, img.height))
}

/// The characters of `text` the font (`font=None`: the bundled DejaVu Sans) has no glyph for,
/// each once, in order (control characters excluded); `render_text` draws them as boxes.
#[pyfunction]
#[pyo3(signature = (text, *, font=None))]
pub(crate) fn missing_glyphs(py: Python<'_>, text: &str, font: Option<std::path::PathBuf>) -> PyResult<String> {
    let missing = py.detach(|| text::missing_glyphs(text, font.as_deref())).map_err(|e| to_py(py, e))?;
    Ok(missing.into_iter().collect())
}
