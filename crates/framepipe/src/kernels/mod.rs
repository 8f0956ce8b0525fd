//! Pixel kernels for a clip compositor (MoviePy-style): resize, alpha compositing, LUTs,
//! grayscale, colour masks and rotation, on packed 8-bit images.
//!
//! Every image here is tightly packed, row-major, channels last (`height * width * channels`
//! bytes, no row padding): what a C-contiguous numpy `uint8` array of shape (h, w) or (h, w, c)
//! holds. [`Image`] and [`ImageMut`] check that once; the kernels check what they need of the
//! shapes (channel counts, matching sizes) and say in the error which argument is wrong.
//!
//! - [`resize`]: `fast_image_resize` (SIMD convolution, Pillow's filters), channels independent.
//! - [`composite`]: `src` over `dst` with an optional alpha plane and an opacity, exact integer
//!   arithmetic, only over the overlap rectangle.
//! - [`effects`]: per-channel lookup tables, grayscale, MoviePy's `MaskColor`.
//! - [`rotate`]: Pillow's `Image.rotate(angle, expand=True)`, same geometry and filters.
//! - [`text`]: text rasterised from the bundled DejaVu Sans (or any TTF/OTF) for TextClip.
//!
//! No kernel allocates a frame-sized buffer except [`rotate`] and [`resize`] (the latter's
//! intermediate pass) and `lut` on overlapping buffers (done by the caller).

mod composite;
mod effects;
// One SIMD routine (unsafe code: the crate denies it elsewhere).
#[allow(unsafe_code)]
mod resize;
mod rotate;
// Selects fast_image_resize's CPU extensions (an unsafe fn) to compare them.
#[cfg(test)]
#[allow(unsafe_code)]
mod tests;
pub mod text;

pub use composite::{composite, composite_alpha, opacity_to_u8};
pub use effects::{drop_alpha, grayscale, lut, lut_in_place, mask_color, MaskColor};
pub use resize::{resize, ResizeFilter};
pub use rotate::{rotate, rotated_size, RotateFilter};

use crate::error::{Error, Result};

/// Largest width or height a kernel accepts (and [`rotated_size`] returns).
pub const MAX_SIDE: usize = 65_535;

/// The shape of a packed image: rows, columns, channels (1 for a 2-D array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Shape {
    pub fn new(height: usize, width: usize, channels: usize) -> Self {
        Shape { height, width, channels }
    }
    /// Bytes a packed image of this shape holds (None on overflow).
    pub fn len(&self) -> Option<usize> {
        self.height.checked_mul(self.width)?.checked_mul(self.channels)
    }
    /// Whether the shape holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.height == 0 || self.width == 0 || self.channels == 0
    }
    /// Bytes per row.
    pub fn row_len(&self) -> usize {
        self.width * self.channels
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // One channel is how a 2-D array arrives: show it as one.
        if self.channels == 1 {
            write!(f, "({}, {})", self.height, self.width)
        } else {
            write!(f, "({}, {}, {})", self.height, self.width, self.channels)
        }
    }
}

fn check_shape(name: &str, shape: Shape, len: usize) -> Result<()> {
    if shape.is_empty() {
        return Err(Error::parameter(format!("{name} must not be empty, got shape {shape}")));
    }
    if shape.height > MAX_SIDE || shape.width > MAX_SIDE {
        return Err(Error::parameter(format!(
            "{name} is at most {MAX_SIDE} pixels on a side, got {}x{} (width x height)",
            shape.width, shape.height
        )));
    }
    if shape.len() != Some(len) {
        return Err(Error::parameter(format!(
            "{name}: a packed image of shape {shape} holds {} bytes, the buffer has {len}",
            shape.len().map_or_else(|| "too many".to_string(), |n| n.to_string())
        )));
    }
    Ok(())
}

/// A read-only packed image.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub data: &'a [u8],
    pub shape: Shape,
    /// The argument's name, for error messages ("src", "alpha", ...).
    pub name: &'static str,
}

impl<'a> Image<'a> {
    /// A view of `data` as an image of `shape`: not empty, at most [`MAX_SIDE`] on a side, and
    /// exactly `shape`'s bytes long.
    pub fn new(name: &'static str, data: &'a [u8], shape: Shape) -> Result<Self> {
        check_shape(name, shape, data.len())?;
        Ok(Image { data, shape, name })
    }
    fn row(&self, y: usize) -> &'a [u8] {
        let n = self.shape.row_len();
        &self.data[y * n..(y + 1) * n]
    }
}

/// A writable packed image.
#[derive(Debug)]
pub struct ImageMut<'a> {
    pub data: &'a mut [u8],
    pub shape: Shape,
    pub name: &'static str,
}

impl<'a> ImageMut<'a> {
    /// As [`Image::new`], writable.
    pub fn new(name: &'static str, data: &'a mut [u8], shape: Shape) -> Result<Self> {
        check_shape(name, shape, data.len())?;
        Ok(ImageMut { data, shape, name })
    }
}

/// An error unless `img` has one of the channel counts in `allowed`.
fn expect_channels(name: &str, shape: Shape, allowed: &[usize]) -> Result<()> {
    if allowed.contains(&shape.channels) {
        return Ok(());
    }
    let list = allowed.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" or ");
    let what = if allowed == [1] { "a 2-D (h, w) array (one channel)".to_string() } else { format!("{list} channels") };
    Err(Error::parameter(format!("{name} must have {what}, got shape {shape}")))
}

/// An error unless `a` and `b` have the same height and width (and channels if `channels`).
fn expect_same_size(a: &Image<'_>, b: Shape, b_name: &str, channels: bool) -> Result<()> {
    let same = a.shape.height == b.height && a.shape.width == b.width && (!channels || a.shape.channels == b.channels);
    if same {
        return Ok(());
    }
    let what = if channels { "shape" } else { "height and width" };
    Err(Error::parameter(format!("{b_name} must have the {what} of {}: {} vs {b}", a.name, a.shape)))
}

/// `x / 255` rounded down, without a division: exact for every `x <= 65_279` (checked over the
/// whole range in the tests); the kernels divide at most `255 * 255 + 127 = 65_152`.
#[inline(always)]
pub(crate) fn div255(x: u16) -> u16 {
    (x + 1 + (x >> 8)) >> 8
}

/// `round(255 * v)` for a ratio `v` in [0, 1], halves away from zero, clamped to a byte.
#[inline]
pub(crate) fn unit_to_u8(v: f64) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}
