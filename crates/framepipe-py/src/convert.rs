//! numpy-style buffers → frames the engine accepts.
//!
//! uint8 buffers whose pixels are contiguous within a row are handed to the engine as a strided
//! view with no copy. Everything else (uint16, float, bool-as-uint8 scaled, or channel strides
//! that are not packed) is packed into a reusable scratch buffer first. All of it runs with the
//! GIL released.

use framepipe::MAX_DIMENSION;
use framepipe::{Error, Frame, PixelFormat};
use pyo3::buffer::{Element, PyBuffer};

/// How sample values map to 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// uint8 as is.
    Identity,
    /// 0/1 (bool viewed as uint8) → 0/255.
    Bool,
}

/// A typed buffer with its geometry, checked once while holding the GIL.
pub struct Source<'a, T: Element> {
    pub buf: &'a PyBuffer<T>,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// Strides in bytes for rows, columns and channels (all non-negative).
    pub strides: [usize; 3],
}

impl<'a, T: Element> Source<'a, T> {
    pub fn new(buf: &'a PyBuffer<T>) -> Result<Self, String> {
        let shape = buf.shape();
        let strides = buf.strides();
        if strides.iter().any(|&s| s < 0) {
            return Err("negative strides are not supported here (the Python layer copies such arrays)".into());
        }
        let (height, width, channels, st) = match shape.len() {
            2 => (shape[0], shape[1], 1, [strides[0] as usize, strides[1] as usize, 0]),
            3 => (shape[0], shape[1], shape[2], [strides[0] as usize, strides[1] as usize, strides[2] as usize]),
            n => return Err(format!("a frame must have 2 or 3 dimensions (HxW or HxWxC), got {n}")),
        };
        if !matches!(channels, 1 | 3 | 4) {
            return Err(format!("a frame must have 1, 3 or 4 channels, got {channels}"));
        }
        if height == 0 || width == 0 {
            return Err(format!("a frame must not be empty, got {height}x{width}"));
        }
        // Checked before anything is converted or allocated (a broadcast view can claim any size).
        let max = MAX_DIMENSION as usize;
        if height > max || width > max {
            return Err(format!(
                "a frame is at most {max}x{max} pixels (width x height), got {width}x{height} (shape {shape:?})"
            ));
        }
        Ok(Source { buf, height, width, channels, strides: st })
    }

    /// Bytes from the buffer's start to the end of its last element.
    fn span(&self) -> usize {
        let [s0, s1, s2] = self.strides;
        (self.height - 1) * s0 + (self.width - 1) * s1 + (self.channels - 1) * s2 + std::mem::size_of::<T>()
    }

    /// The buffer's bytes. Safe to call without the GIL: the PyBuffer keeps the exporter's
    /// memory alive and locked for as long as it exists.
    fn bytes(&self) -> &'a [u8] {
        // SAFETY: the buffer protocol guarantees that every element addressed by shape and
        // (non-negative, checked in `new`) strides lies within the exporter's allocation, which
        // starts at buf_ptr(); `span` is the distance to the end of the last such element.
        unsafe { std::slice::from_raw_parts(self.buf.buf_ptr() as *const u8, self.span()) }
    }
}

/// The pixel format the channel count implies, unless the caller named one.
pub fn format_for(channels: usize, named: Option<PixelFormat>) -> Result<PixelFormat, String> {
    match named {
        Some(f) if f.bytes_per_pixel() != channels => {
            Err(format!("pixel format {f} has {} channels, but the frame has {channels}", f.bytes_per_pixel()))
        }
        Some(f) => Ok(f),
        None => Ok(match channels {
            1 => PixelFormat::Gray8,
            3 => PixelFormat::Rgb24,
            _ => PixelFormat::Rgba,
        }),
    }
}

/// uint8: a no-copy view when each row's pixels are packed, else packed into `scratch`.
pub fn u8_frame<'a>(
    src: &Source<'a, u8>,
    format: PixelFormat,
    scale: Scale,
    scratch: &'a mut Vec<u8>,
) -> Result<Frame<'a>, Error> {
    let bytes = src.bytes();
    let [s0, s1, s2] = src.strides;
    let c = src.channels;
    // No copy when each row's pixels are packed and rows do not overlap (a broadcast array can
    // have a row stride of 0).
    let packed_row = ((c == 1 && s1 == 1) || (s2 == 1 && s1 == c)) && s0 >= src.width * c;
    if packed_row && scale == Scale::Identity {
        return Frame::new(bytes, src.width as u32, src.height as u32, s0, format);
    }
    pack(src, scratch, |i, _| {
        let v = bytes[i];
        Ok(if scale == Scale::Bool {
            if v != 0 {
                255
            } else {
                0
            }
        } else {
            v
        })
    })?;
    Frame::packed(scratch, src.width as u32, src.height as u32, format)
}

/// uint16: the full range 0..=65535 maps to 0..=255 with rounding.
pub fn u16_frame<'a>(src: &Source<'a, u16>, format: PixelFormat, scratch: &'a mut Vec<u8>) -> Result<Frame<'a>, Error> {
    let bytes = src.bytes();
    pack(src, scratch, |i, _| {
        let v = u16::from_ne_bytes([bytes[i], bytes[i + 1]]) as u32;
        Ok(((v * 255 + 32767) / 65535) as u8)
    })?;
    Frame::packed(scratch, src.width as u32, src.height as u32, format)
}

/// Float frames hold values in [0, 1]: values outside are clipped (-5 is black, 1e30 white),
/// then scaled by 255 and rounded — never rescaled per frame (that makes videos flicker). NaN and
/// ±infinity are not values: an error naming the position.
pub fn float_frame<'a, T: Element + Copy + Into<f64>>(
    src: &Source<'a, T>,
    format: PixelFormat,
    scratch: &'a mut Vec<u8>,
    read: fn(&[u8]) -> T,
) -> Result<Frame<'a>, Error> {
    let bytes = src.bytes();
    let n = std::mem::size_of::<T>();
    pack(src, scratch, |i, (y, x, ch)| {
        let v: f64 = read(&bytes[i..i + n]).into();
        if !v.is_finite() {
            return Err(Error::parameter(format!(
                "contains {v} at row {y}, column {x}, channel {ch}; float frames hold values in [0, 1] \
                 (finite values outside are clipped), NaN and infinity are refused"
            )));
        }
        Ok((v.clamp(0.0, 1.0) * 255.0).round() as u8)
    })?;
    Frame::packed(scratch, src.width as u32, src.height as u32, format)
}

pub fn read_f32(b: &[u8]) -> f32 {
    f32::from_ne_bytes(b.try_into().expect("4 bytes"))
}
pub fn read_f64(b: &[u8]) -> f64 {
    f64::from_ne_bytes(b.try_into().expect("8 bytes"))
}

/// Pack every sample through `f(byte offset, (row, column, channel))` into `out` (row-major,
/// channels last).
fn pack<T: Element>(
    src: &Source<'_, T>,
    out: &mut Vec<u8>,
    mut f: impl FnMut(usize, (usize, usize, usize)) -> Result<u8, Error>,
) -> Result<(), Error> {
    let [s0, s1, s2] = src.strides;
    let c = src.channels;
    out.clear();
    let len = src.height * src.width * c;
    out.try_reserve_exact(len)
        .map_err(|_| Error::out_of_memory(format!("cannot allocate {len} bytes to convert the frame")))?;
    for y in 0..src.height {
        for x in 0..src.width {
            let base = y * s0 + x * s1;
            for k in 0..c {
                out.push(f(base + k * s2, (y, x, k))?);
            }
        }
    }
    Ok(())
}
