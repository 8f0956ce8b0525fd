//! `framepipe._native` pixel kernels (the engine's `framepipe::kernels`): argument checks while
//! holding the GIL, the work itself with the GIL released.
//!
//! Arrays are uint8 and C-contiguous (2-D (h, w) or 3-D (h, w, c)); anything else is refused
//! with a `ParameterError` naming what was given. Written arrays must be writable. When an array
//! read overlaps the array written (other than a LUT applied in place), the read one is copied
//! first, so no kernel ever sees its input change under it.

use crate::to_py;
use framepipe::kernels::{self, Image, ImageMut, MaskColor, ResizeFilter, RotateFilter, Shape};
use framepipe::Error;
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;

/// A checked uint8 C-contiguous buffer.
struct Arr {
    buf: PyBuffer<u8>,
    shape: Shape,
    name: &'static str,
}

fn bad(py: Python<'_>, msg: String) -> PyErr {
    to_py(py, Error::parameter(msg))
}

/// What `obj` is, for messages: its dtype and shape when it has them, else its type.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    let dtype = obj.getattr("dtype").and_then(|d| d.str()).map(|s| s.to_string());
    let shape = obj.getattr("shape").and_then(|s| s.str()).map(|s| s.to_string());
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    match (dtype, shape) {
        (Ok(d), Ok(s)) => format!("an array of dtype {d} and shape {s} ({type_name})"),
        _ => format!("a {type_name}"),
    }
}

/// `v` as Python prints a tuple: (1,), (2, 3).
fn tuple<T: std::fmt::Display>(v: &[T]) -> String {
    match v {
        [one] => format!("({one},)"),
        _ => format!("({})", v.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

impl Arr {
    /// `obj` as a uint8, C-contiguous, 2-D or 3-D array (writable if `writable`).
    fn take(obj: &Bound<'_, PyAny>, name: &'static str, writable: bool) -> PyResult<Arr> {
        let py = obj.py();
        let buf = PyBuffer::<u8>::get(obj).map_err(|_| {
            bad(py, format!("{name} must be a numpy uint8 array (C-contiguous), got {}", describe(obj)))
        })?;
        let dims = buf.shape().to_vec();
        let shape = match dims[..] {
            [h, w] => Shape::new(h, w, 1),
            [h, w, c] => Shape::new(h, w, c),
            _ => {
                return Err(bad(
                    py,
                    format!("{name} must be a 2-D (h, w) or 3-D (h, w, c) array, got shape {}", tuple(&dims)),
                ))
            }
        };
        if !buf.is_c_contiguous() {
            return Err(bad(
                py,
                format!(
                    "{name} must be C-contiguous (use np.ascontiguousarray), got an array of shape {} with strides {}",
                    tuple(&dims),
                    tuple(buf.strides())
                ),
            ));
        }
        if writable && buf.readonly() {
            return Err(bad(py, format!("{name} must be writable, got a read-only array of shape {}", tuple(&dims))));
        }
        Ok(Arr { buf, shape, name })
    }

    /// Start and length of the memory the array spans.
    fn span(&self) -> (usize, usize) {
        (self.buf.buf_ptr() as usize, self.buf.item_count())
    }

    fn overlaps(&self, other: &Arr) -> bool {
        let ((a, n), (b, m)) = (self.span(), other.span());
        n > 0 && m > 0 && a < b + m && b < a + n
    }

    /// The array as an image.
    ///
    /// The binding never makes this slice for an array it also writes through [`Arr::image_mut`]
    /// while the slice is alive unless their memory is disjoint (see `readable`).
    fn image(&self) -> Result<Image<'_>, Error> {
        // SAFETY: the buffer is C-contiguous (checked in `take`), so its item_count() bytes start
        // at buf_ptr(); the PyBuffer keeps the exporter's memory alive and its size fixed for as
        // long as it exists, which outlives the slice. Other Python threads may still write to
        // the array while the GIL is released (as with any extension that releases it); that is
        // the caller's race, it cannot make the slice dangle.
        // An empty buffer's pointer may be null: no slice is made from it (Image::new refuses it).
        let n = self.buf.item_count();
        let data: &[u8] =
            if n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(self.buf.buf_ptr() as *const u8, n) } };
        Image::new(self.name, data, self.shape)
    }

    /// The array as a writable image.
    fn image_mut(&mut self) -> Result<ImageMut<'_>, Error> {
        // SAFETY: as in `image`; the buffer is writable (checked in `take`), and `&mut self`
        // plus the overlap checks of every caller mean no other slice of this memory is alive.
        let n = self.buf.item_count();
        let data: &mut [u8] =
            if n == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(self.buf.buf_ptr() as *mut u8, n) } };
        ImageMut::new(self.name, data, self.shape)
    }
}

/// The bytes of a read array, copied when they overlap the written array `dst` (so that no
/// shared and mutable slices of the same memory ever exist together).
enum Readable<'a> {
    Borrowed(&'a Arr),
    Copied(Vec<u8>, Shape, &'static str),
}

impl Readable<'_> {
    fn image(&self) -> Result<Image<'_>, Error> {
        match self {
            Readable::Borrowed(a) => a.image(),
            Readable::Copied(v, shape, name) => Image::new(name, v, *shape),
        }
    }
}

fn readable<'a>(arr: &'a Arr, dst: &Arr) -> Result<Readable<'a>, Error> {
    if arr.overlaps(dst) {
        Ok(Readable::Copied(arr.image()?.data.to_vec(), arr.shape, arr.name))
    } else {
        Ok(Readable::Borrowed(arr))
    }
}

/// A Python int (or anything with `__index__`, numpy ints included) as an i64, saturating: an
/// offset beyond ±2^63 places an image entirely outside any frame, as the saturated value does.
fn offset(v: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    if let Ok(i) = v.extract::<i64>() {
        return Ok(i);
    }
    let py = v.py();
    let index = py.import("operator")?.getattr("index")?;
    let i = index.call1((v,)).map_err(|_| bad(py, format!("{name} must be an int, got {}", describe(v))))?;
    Ok(if i.lt(0)? { i64::MIN } else { i64::MAX })
}

/// A sequence of `n` floats (a tuple, a list, a numpy array).
fn floats(py: Python<'_>, v: &Bound<'_, PyAny>, n: usize, name: &str) -> PyResult<Vec<f64>> {
    match v.extract::<Vec<f64>>() {
        Ok(x) if x.len() == n => Ok(x),
        _ => Err(bad(py, format!("{name} must be a sequence of {n} numbers, got {}", v.repr()?))),
    }
}

/// A sequence of ints (a tuple, a list, a numpy array).
fn ints(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<i64>> {
    v.extract::<Vec<i64>>().map_err(|_| {
        bad(
            py,
            format!(
                "{name} must be a sequence of ints in 0..255, got {}",
                v.repr().map(|r| r.to_string()).unwrap_or_default()
            ),
        )
    })
}

/// Byte values (colours) from Python ints, each 0..=255.
fn bytes_of(py: Python<'_>, values: &[i64], name: &str) -> PyResult<Vec<u8>> {
    values
        .iter()
        .map(|&v| u8::try_from(v).map_err(|_| bad(py, format!("{name} values must be ints in 0..255, got {values:?}"))))
        .collect()
}

/// Fill `dst` with `src` resized to `dst`'s size (same channel count: 1, 3 or 4; channels are
/// filtered independently, RGBA is not premultiplied).
#[pyfunction]
#[pyo3(signature = (src, dst, filter = "lanczos3"))]
pub fn resize(py: Python<'_>, src: &Bound<'_, PyAny>, dst: &Bound<'_, PyAny>, filter: &str) -> PyResult<()> {
    let filter: ResizeFilter = filter.parse().map_err(|e| to_py(py, e))?;
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::resize(&src.image()?, &mut dst.image_mut()?, filter)).map_err(|e| to_py(py, e))
}

/// `src` (h, w, 3) over `dst` (H, W, 3) at column `x`, row `y`, weighted by `alpha` (h, w) and
/// `opacity`; only the overlap is touched.
#[pyfunction]
#[pyo3(signature = (dst, src, x, y, alpha = None, opacity = 1.0))]
pub fn composite(
    py: Python<'_>,
    dst: &Bound<'_, PyAny>,
    src: &Bound<'_, PyAny>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    alpha: Option<&Bound<'_, PyAny>>,
    opacity: f64,
) -> PyResult<()> {
    let (x, y) = (offset(x, "x")?, offset(y, "y")?);
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = Arr::take(src, "src", false)?;
    let alpha = alpha.map(|a| Arr::take(a, "alpha", false)).transpose()?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    let alpha = alpha.as_ref().map(|a| readable(a, &dst)).transpose().map_err(|e| to_py(py, e))?;
    py.detach(|| {
        let alpha = alpha.as_ref().map(|a| a.image()).transpose()?;
        kernels::composite(&mut dst.image_mut()?, &src.image()?, x, y, alpha.as_ref(), opacity)
    })
    .map_err(|e| to_py(py, e))
}

/// "`src_alpha` over `dst`" for alpha planes, (h, w) onto (H, W) at column `x`, row `y`.
#[pyfunction]
#[pyo3(signature = (dst, src_alpha, x, y, opacity = 1.0))]
pub fn composite_alpha(
    py: Python<'_>,
    dst: &Bound<'_, PyAny>,
    src_alpha: &Bound<'_, PyAny>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    opacity: f64,
) -> PyResult<()> {
    let (x, y) = (offset(x, "x")?, offset(y, "y")?);
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = Arr::take(src_alpha, "src_alpha", false)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::composite_alpha(&mut dst.image_mut()?, &src.image()?, x, y, opacity))
        .map_err(|e| to_py(py, e))
}

/// `dst = table[src]`: one 256-byte table for every channel, or one per channel (channel-major).
/// `dst` may be `src` itself.
#[pyfunction]
pub fn lut(py: Python<'_>, src: &Bound<'_, PyAny>, dst: &Bound<'_, PyAny>, table: &Bound<'_, PyAny>) -> PyResult<()> {
    let table_buf = PyBuffer::<u8>::get(table).ok().filter(|b| b.is_c_contiguous()).ok_or_else(|| {
        bad(py, format!("table must be a bytes-like object (uint8, contiguous), got {}", describe(table)))
    })?;
    // SAFETY: as in `Arr::image` (contiguous, kept alive by `table_buf`); copied at once (1 KiB at
    // most), so a table that shares memory with `dst` is read before anything is written.
    let table: Vec<u8> =
        unsafe { std::slice::from_raw_parts(table_buf.buf_ptr() as *const u8, table_buf.item_count()) }.to_vec();
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let same = src.span() == dst.span();
    if same && src.shape != dst.shape {
        return Err(bad(py, format!("dst must have the shape of src: {} vs {}", src.shape, dst.shape)));
    }
    if same {
        return py.detach(|| kernels::lut_in_place(&mut dst.image_mut()?, &table)).map_err(|e| to_py(py, e));
    }
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::lut(&src.image()?, &mut dst.image_mut()?, &table)).map_err(|e| to_py(py, e))
}

/// `dst = round(r * wr + g * wg + b * wb)` clamped, fixed point; `dst` (h, w) or (h, w, 3).
#[pyfunction]
#[pyo3(signature = (src, dst, weights = None), text_signature = "(src, dst, weights=(0.299, 0.587, 0.114))")]
pub fn grayscale(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let w = match weights {
        None => vec![0.299, 0.587, 0.114],
        Some(w) => floats(py, w, 3, "weights")?,
    };
    let w = [w[0], w[1], w[2]];
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::grayscale(&src.image()?, &mut dst.image_mut()?, w)).map_err(|e| to_py(py, e))
}

/// `dst` (h, w, 3) = `src` (h, w, 4) without its alpha.
#[pyfunction]
pub fn drop_alpha(py: Python<'_>, src: &Bound<'_, PyAny>, dst: &Bound<'_, PyAny>) -> PyResult<()> {
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::drop_alpha(&src.image()?, &mut dst.image_mut()?)).map_err(|e| to_py(py, e))
}

/// MoviePy's `MaskColor` into an alpha plane `dst` (h, w).
#[pyfunction]
#[pyo3(
    signature = (src, dst, color = None, threshold = 0.0, stiffness = 1.0),
    text_signature = "(src, dst, color=(0, 0, 0), threshold=0.0, stiffness=1.0)"
)]
pub fn mask_color(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    color: Option<&Bound<'_, PyAny>>,
    threshold: f64,
    stiffness: f64,
) -> PyResult<()> {
    let c = match color {
        None => vec![0, 0, 0],
        Some(c) => bytes_of(py, &ints(py, c, "color")?, "color")?,
    };
    if c.len() != 3 {
        return Err(bad(py, format!("color must hold 3 ints in 0..255 (r, g, b), got {c:?}")));
    }
    let params = MaskColor { color: [c[0], c[1], c[2]], threshold, stiffness };
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::mask_color(&src.image()?, &mut dst.image_mut()?, params)).map_err(|e| to_py(py, e))
}

/// Pillow's `expand=True` size of a `width`x`height` image rotated by `angle` degrees.
#[pyfunction]
pub fn rotated_size(py: Python<'_>, width: i64, height: i64, angle: f64) -> PyResult<(usize, usize)> {
    let side = |v: i64| usize::try_from(v).unwrap_or(0);
    kernels::rotated_size(side(width), side(height), angle).map_err(|e| match (width, height) {
        (w, h) if w < 0 || h < 0 => bad(py, format!("width and height must be positive, got {w}x{h}")),
        _ => to_py(py, e),
    })
}

/// Rotate `src` counter-clockwise by `angle` degrees (Pillow's `rotate(expand=True)`) into `dst`
/// of [`rotated_size`]; `bg` fills what lies outside the source (zeros by default).
#[pyfunction]
#[pyo3(signature = (src, dst, angle, filter = "bicubic", bg = None))]
pub fn rotate(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    angle: f64,
    filter: &str,
    bg: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let filter: RotateFilter = filter.parse().map_err(|e| to_py(py, e))?;
    let bg = match bg {
        None => None,
        Some(b) => Some(bytes_of(py, &ints(py, b, "bg")?, "bg")?),
    };
    let src = Arr::take(src, "src", false)?;
    let mut dst = Arr::take(dst, "dst", true)?;
    let src = readable(&src, &dst).map_err(|e| to_py(py, e))?;
    py.detach(|| kernels::rotate(&src.image()?, &mut dst.image_mut()?, angle, filter, bg.as_deref()))
        .map_err(|e| to_py(py, e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(resize, m)?)?;
    m.add_function(wrap_pyfunction!(composite, m)?)?;
    m.add_function(wrap_pyfunction!(composite_alpha, m)?)?;
    m.add_function(wrap_pyfunction!(lut, m)?)?;
    m.add_function(wrap_pyfunction!(grayscale, m)?)?;
    m.add_function(wrap_pyfunction!(drop_alpha, m)?)?;
    m.add_function(wrap_pyfunction!(mask_color, m)?)?;
    m.add_function(wrap_pyfunction!(rotated_size, m)?)?;
    m.add_function(wrap_pyfunction!(rotate, m)?)?;
    Ok(())
}
