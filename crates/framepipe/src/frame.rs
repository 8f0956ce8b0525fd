//! Borrowed views over packed pixel buffers with an explicit row stride.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Byte layout of one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// R, G, B.
    Rgb24,
    /// B, G, R.
    Bgr24,
    /// R, G, B, A (matplotlib's `buffer_rgba`).
    Rgba,
    /// B, G, R, A (Cairo, Skia, Windows bitmaps on little-endian machines).
    Bgra,
    /// A, R, G, B (matplotlib's `tostring_argb`).
    Argb,
    /// One luminance byte.
    Gray8,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 6] = [
        PixelFormat::Rgb24,
        PixelFormat::Bgr24,
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Argb,
        PixelFormat::Gray8,
    ];

    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => 3,
            PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Argb => 4,
            PixelFormat::Gray8 => 1,
        }
    }

    /// Whether the format carries an alpha channel.
    pub fn has_alpha(self) -> bool {
        matches!(self, PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Argb)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PixelFormat::Rgb24 => "rgb24",
            PixelFormat::Bgr24 => "bgr24",
            PixelFormat::Rgba => "rgba",
            PixelFormat::Bgra => "bgra",
            PixelFormat::Argb => "argb",
            PixelFormat::Gray8 => "gray8",
        }
    }
}

impl FromStr for PixelFormat {
    type Err = Error;
    /// The name (or an alias) as the option table's `pix_fmt` spells it.
    fn from_str(s: &str) -> Result<Self> {
        let name = crate::options::table_choice("pix_fmt", s)?;
        PixelFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| Error::parameter(format!("internal error: {name} is not a pixel format")))
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A borrowed picture: `height` rows of `width` pixels, row `y` starting at byte `y * stride`.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("format", &self.format)
            .finish()
    }
}

/// Largest supported width or height.
pub const MAX_DIMENSION: u32 = 8192;

/// Resize `buf` to `len` bytes, new bytes set to `fill`. A failed allocation is an error saying
/// how much was asked for `what`, never an abort of the process.
pub fn try_resize(buf: &mut Vec<u8>, len: usize, fill: u8, what: &str) -> Result<()> {
    if len > buf.len() {
        buf.try_reserve_exact(len - buf.len())
            .map_err(|_| Error::out_of_memory(format!("cannot allocate {len} bytes for {what}")))?;
    }
    buf.resize(len, fill);
    Ok(())
}

/// A buffer of `len` bytes set to `fill`, or an out-of-memory error (see [`try_resize`]).
pub fn try_filled(len: usize, fill: u8, what: &str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    try_resize(&mut v, len, fill, what)?;
    Ok(v)
}

impl<'a> Frame<'a> {
    /// A view with an explicit row stride in bytes. Checks that the buffer is large enough.
    pub fn new(data: &'a [u8], width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::parameter(format!("frame size must be positive, got {width}x{height}")));
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(Error::parameter(format!(
                "frame size {width}x{height} exceeds the maximum of {MAX_DIMENSION}x{MAX_DIMENSION}"
            )));
        }
        let row = width as usize * format.bytes_per_pixel();
        if stride < row {
            return Err(Error::parameter(format!(
                "row stride {stride} is smaller than a row of {width} {format} pixels ({row} bytes)"
            )));
        }
        let need = stride * (height as usize - 1) + row;
        if data.len() < need {
            return Err(Error::parameter(format!(
                "buffer of {} bytes is too small for a {width}x{height} {format} frame (needs {need})",
                data.len()
            )));
        }
        Ok(Frame { data, width, height, stride, format })
    }

    /// A tightly packed view (stride = width × bytes per pixel).
    pub fn packed(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        let row = width as usize * format.bytes_per_pixel();
        let expect = row * height as usize;
        if data.len() != expect && width > 0 && height > 0 {
            return Err(Error::parameter(format!(
                "a {width}x{height} {format} frame is {expect} bytes, got {}",
                data.len()
            )));
        }
        Frame::new(data, width, height, row, format)
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn stride(&self) -> usize {
        self.stride
    }
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The bytes of row `y` (exactly `width × bytes_per_pixel` long).
    pub fn row(&self, y: u32) -> &'a [u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * self.format.bytes_per_pixel()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_failure_is_an_error_not_an_abort() {
        // isize::MAX bytes passes Vec's own limit and reaches the allocator, which refuses it
        // whatever the kernel's overcommit policy (no address space is that large).
        let err = try_filled(isize::MAX as usize, 0, "a test buffer").unwrap_err();
        assert!(matches!(err, Error::OutOfMemory(_)), "{err}");
        assert_eq!(err.to_string(), format!("out of memory: cannot allocate {} bytes for a test buffer", isize::MAX));
        // More than Vec can describe at all.
        let err = try_filled(usize::MAX, 0, "a test buffer").unwrap_err();
        assert!(matches!(err, Error::OutOfMemory(_)), "{err}");
        let mut v = vec![1u8; 4];
        try_resize(&mut v, 6, 9, "x").unwrap();
        assert_eq!(v, [1, 1, 1, 1, 9, 9]);
        try_resize(&mut v, 2, 9, "x").unwrap();
        assert_eq!(v, [1, 1]);
    }
}
