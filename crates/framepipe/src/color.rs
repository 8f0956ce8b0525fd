//! RGB → YUV 4:2:0, BT.709 matrix, limited range; alpha compositing; padding to even sizes.
//!
//! The heavy lifting is the `yuv` crate (SIMD, within ±1 of a float reference). This module only
//! decides when a frame can be converted straight from the caller's memory (the common case:
//! rgb24/bgr24/opaque rgba/bgra with even sizes) and when it needs a scratch copy first (alpha to
//! composite, ARGB byte order, or an odd size to pad).

use crate::error::{Error, Result};
use crate::frame::{try_filled, try_resize, Frame, PixelFormat};
use yuv::{BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

/// A planar YUV 4:2:0 picture with even width and height and tightly packed planes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yuv420Image {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Yuv420Image {
    /// A black picture of the given even size.
    pub fn new(width: u32, height: u32) -> Self {
        Self::try_new(width, height).expect("allocating a YUV picture")
    }
    /// A black picture of the given even size, or an out-of-memory error instead of an abort.
    pub fn try_new(width: u32, height: u32) -> Result<Self> {
        debug_assert!(width.is_multiple_of(2) && height.is_multiple_of(2));
        let (w, h) = (width as usize, height as usize);
        let what = format!("a {width}x{height} YUV picture");
        Ok(Yuv420Image {
            width,
            height,
            y: try_filled(w * h, 16, &what)?,
            u: try_filled(w * h / 4, 128, &what)?,
            v: try_filled(w * h / 4, 128, &what)?,
        })
    }
    /// Bytes per row of the luma plane.
    pub fn y_stride(&self) -> usize {
        self.width as usize
    }
    /// Bytes per row of each chroma plane.
    pub fn c_stride(&self) -> usize {
        self.width as usize / 2
    }
}

/// The even size a frame of `width`x`height` is encoded at (H.264 4:2:0 cannot crop one pixel).
pub fn padded_size(width: u32, height: u32) -> (u32, u32) {
    (width + (width & 1), height + (height & 1))
}

/// Converts frames to YUV 4:2:0, reusing its scratch buffer between frames.
#[derive(Debug, Default)]
pub struct Converter {
    background: [u8; 3],
    scratch: Vec<u8>,
}

impl Converter {
    /// A converter that composites transparent pixels over `background` (RGB).
    pub fn new(background: [u8; 3]) -> Self {
        Converter { background, scratch: Vec::new() }
    }

    /// Convert `frame` into `out`, which must have the frame's padded size.
    pub fn convert(&mut self, frame: &Frame, out: &mut Yuv420Image) -> Result<()> {
        let (pw, ph) = padded_size(frame.width(), frame.height());
        if (out.width, out.height) != (pw, ph) {
            return Err(Error::parameter(format!(
                "internal: output picture is {}x{}, frame needs {pw}x{ph}",
                out.width, out.height
            )));
        }
        if frame.format() == PixelFormat::Gray8 {
            gray_to_yuv(frame, out);
            return Ok(());
        }
        let even = frame.width().is_multiple_of(2) && frame.height().is_multiple_of(2);
        let direct = even
            && match frame.format() {
                PixelFormat::Rgb24 | PixelFormat::Bgr24 => true,
                // The yuv crate ignores alpha, which is right only when every pixel is opaque.
                PixelFormat::Rgba | PixelFormat::Bgra => is_opaque(frame, 3),
                PixelFormat::Argb | PixelFormat::Gray8 => false,
            };
        if direct {
            return rgbx_to_yuv(frame.data(), frame.stride(), frame.format(), out);
        }
        // Scratch path: composite/reorder into packed RGB at the padded size, then convert.
        let mut scratch = std::mem::take(&mut self.scratch);
        let res = to_padded_rgb(frame, self.background, pw, ph, &mut scratch)
            .and_then(|_| rgbx_to_yuv(&scratch, pw as usize * 3, PixelFormat::Rgb24, out));
        self.scratch = scratch;
        res
    }
}

fn is_opaque(frame: &Frame, alpha_index: usize) -> bool {
    (0..frame.height()).all(|y| frame.row(y).iter().skip(alpha_index).step_by(4).all(|&a| a == 255))
}

fn rgbx_to_yuv(data: &[u8], stride: usize, format: PixelFormat, out: &mut Yuv420Image) -> Result<()> {
    let (w, h) = (out.width, out.height);
    let need = stride * h as usize;
    if data.len() >= need {
        let (y, u, v) = (&mut out.y[..], &mut out.u[..], &mut out.v[..]);
        return convert_rows(&data[..need], stride, format, w, h, y, u, v);
    }
    // A strided view whose last row stops short of a full stride (e.g. numpy's `big[:, :w]`):
    // the yuv crate wants `stride * height` bytes. Rows pair up independently in 4:2:0, so
    // convert all but the last two rows in place and only those two from a small packed copy.
    let row = w as usize * format.bytes_per_pixel();
    let head = h - 2;
    let (yh, uh) = (head as usize * w as usize, head as usize / 2 * (w as usize / 2));
    if head > 0 {
        let (y, u, v) = (&mut out.y[..yh], &mut out.u[..uh], &mut out.v[..uh]);
        convert_rows(&data[..head as usize * stride], stride, format, w, head, y, u, v)?;
    }
    let start = head as usize * stride;
    let mut tail = Vec::with_capacity(2 * row);
    tail.extend_from_slice(&data[start..start + row]);
    tail.extend_from_slice(&data[start + stride..start + stride + row]);
    let (y, u, v) = (&mut out.y[yh..], &mut out.u[uh..], &mut out.v[uh..]);
    convert_rows(&tail, row, format, w, 2, y, u, v)
}

/// Convert `h` rows (even) of `w` pixels into the given planes with the `yuv` crate.
#[allow(clippy::too_many_arguments)]
fn convert_rows(
    data: &[u8],
    stride: usize,
    format: PixelFormat,
    w: u32,
    h: u32,
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
) -> Result<()> {
    let mut image = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride: w,
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: w / 2,
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: w / 2,
        width: w,
        height: h,
    };
    let (range, matrix, mode) = (YuvRange::Limited, YuvStandardMatrix::Bt709, YuvConversionMode::Professional);
    let stride = u32::try_from(stride).map_err(|_| Error::parameter("row stride too large"))?;
    let r = match format {
        PixelFormat::Rgb24 => yuv::rgb_to_yuv420(&mut image, data, stride, range, matrix, mode),
        PixelFormat::Bgr24 => yuv::bgr_to_yuv420(&mut image, data, stride, range, matrix, mode),
        PixelFormat::Rgba => yuv::rgba_to_yuv420(&mut image, data, stride, range, matrix, mode),
        PixelFormat::Bgra => yuv::bgra_to_yuv420(&mut image, data, stride, range, matrix, mode),
        PixelFormat::Argb | PixelFormat::Gray8 => unreachable!("converted to rgb24 first"),
    };
    r.map_err(|e| Error::parameter(format!("RGB to YUV conversion failed: {e}")))
}

/// Gray → YUV directly: for R=G=B=g, BT.709 gives Y = 16 + 219·g/255 and neutral chroma.
fn gray_to_yuv(frame: &Frame, out: &mut Yuv420Image) {
    let mut lut = [0u8; 256];
    for (g, v) in lut.iter_mut().enumerate() {
        *v = (16.0 + 219.0 * g as f64 / 255.0).round() as u8;
    }
    let pw = out.width as usize;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    for y in 0..out.height as usize {
        let src = frame.row(y.min(h - 1) as u32);
        let dst = &mut out.y[y * pw..(y + 1) * pw];
        for (d, s) in dst[..w].iter_mut().zip(src) {
            *d = lut[*s as usize];
        }
        if pw > w {
            dst[w] = dst[w - 1];
        }
    }
    out.u.fill(128);
    out.v.fill(128);
}

/// Packed RGB of `frame` into `out` (`width × height × 3` bytes): alpha composited over
/// `background`, other byte orders reordered, gray expanded. (The GIF encoder's input.)
pub fn to_rgb(frame: &Frame, background: [u8; 3], out: &mut Vec<u8>) -> Result<()> {
    to_padded_rgb(frame, background, frame.width(), frame.height(), out)
}

/// Packed RGB at the padded size: alpha composited over `bg`, last column/row repeated.
fn to_padded_rgb(frame: &Frame, bg: [u8; 3], pw: u32, ph: u32, dst: &mut Vec<u8>) -> Result<()> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (pw, ph) = (pw as usize, ph as usize);
    try_resize(dst, pw * ph * 3, 0, "an RGB copy of the frame")?;
    // Index of R, G, B, A within a pixel.
    let (r, g, b, a) = match frame.format() {
        PixelFormat::Rgb24 => (0, 1, 2, None),
        PixelFormat::Bgr24 => (2, 1, 0, None),
        PixelFormat::Rgba => (0, 1, 2, Some(3)),
        PixelFormat::Bgra => (2, 1, 0, Some(3)),
        PixelFormat::Argb => (1, 2, 3, Some(0)),
        PixelFormat::Gray8 => (0, 0, 0, None),
    };
    let bpp = frame.format().bytes_per_pixel();
    for y in 0..h {
        let src = frame.row(y as u32);
        let out = &mut dst[y * pw * 3..y * pw * 3 + w * 3];
        if frame.format() == PixelFormat::Rgb24 {
            out.copy_from_slice(src);
        } else {
            for (o, p) in out.chunks_exact_mut(3).zip(src.chunks_exact(bpp)) {
                match a {
                    None => {
                        o[0] = p[r];
                        o[1] = p[g];
                        o[2] = p[b];
                    }
                    Some(ai) => {
                        let al = p[ai] as u32;
                        let blend = |c: u8, k: u8| ((c as u32 * al + k as u32 * (255 - al) + 127) / 255) as u8;
                        o[0] = blend(p[r], bg[0]);
                        o[1] = blend(p[g], bg[1]);
                        o[2] = blend(p[b], bg[2]);
                    }
                }
            }
        }
        if pw > w {
            let row = &mut dst[y * pw * 3..(y + 1) * pw * 3];
            row.copy_within((w - 1) * 3..w * 3, w * 3);
        }
    }
    if ph > h {
        dst.copy_within((h - 1) * pw * 3..h * pw * 3, h * pw * 3);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Float BT.709 limited-range reference.
    fn reference(r: u8, g: u8, b: u8) -> (f64, f64, f64) {
        let (r, g, b) = (r as f64 / 255.0, g as f64 / 255.0, b as f64 / 255.0);
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let cb = (b - y) / 1.8556;
        let cr = (r - y) / 1.5748;
        (16.0 + 219.0 * y, 128.0 + 224.0 * cb, 128.0 + 224.0 * cr)
    }

    fn flat(fmt: PixelFormat, px: &[u8], w: u32, h: u32) -> Yuv420Image {
        let data: Vec<u8> = px.iter().copied().cycle().take(px.len() * (w * h) as usize).collect();
        let frame = Frame::packed(&data, w, h, fmt).unwrap();
        let (pw, ph) = padded_size(w, h);
        let mut out = Yuv420Image::new(pw, ph);
        Converter::new([0, 0, 0]).convert(&frame, &mut out).unwrap();
        out
    }

    #[test]
    fn flat_colours_match_float_reference_within_one() {
        for &(r, g, b) in
            &[(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (128, 128, 128), (0, 0, 0), (30, 200, 90)]
        {
            let (ey, eu, ev) = reference(r, g, b);
            for (fmt, px) in [
                (PixelFormat::Rgb24, vec![r, g, b]),
                (PixelFormat::Bgr24, vec![b, g, r]),
                (PixelFormat::Rgba, vec![r, g, b, 255]),
                (PixelFormat::Bgra, vec![b, g, r, 255]),
                (PixelFormat::Argb, vec![255, r, g, b]),
            ] {
                for (w, h) in [(8, 4), (7, 5)] {
                    let out = flat(fmt, &px, w, h);
                    for &v in &out.y {
                        assert!((v as f64 - ey).abs() <= 1.0, "{fmt} {r},{g},{b} Y {v} vs {ey}");
                    }
                    for &v in &out.u {
                        assert!((v as f64 - eu).abs() <= 1.0, "{fmt} {r},{g},{b} U {v} vs {eu}");
                    }
                    for &v in &out.v {
                        assert!((v as f64 - ev).abs() <= 1.0, "{fmt} {r},{g},{b} V {v} vs {ev}");
                    }
                }
            }
        }
    }

    #[test]
    fn gray_maps_to_limited_range_luma() {
        let out = flat(PixelFormat::Gray8, &[255], 3, 3);
        assert_eq!((out.width, out.height), (4, 4));
        assert!(out.y.iter().all(|&v| v == 235));
        assert!(out.u.iter().chain(&out.v).all(|&v| v == 128));
        let out = flat(PixelFormat::Gray8, &[0], 2, 2);
        assert!(out.y.iter().all(|&v| v == 16));
    }

    #[test]
    fn alpha_composites_over_background() {
        // Half-transparent white over a red background → (255, 128, 128) approximately.
        let data = [255u8, 255, 255, 128].repeat(16);
        let frame = Frame::packed(&data, 4, 4, PixelFormat::Rgba).unwrap();
        let mut out = Yuv420Image::new(4, 4);
        Converter::new([255, 0, 0]).convert(&frame, &mut out).unwrap();
        let (ey, _, ev) = reference(255, 128, 128);
        assert!((out.y[0] as f64 - ey).abs() <= 1.0);
        assert!((out.v[0] as f64 - ev).abs() <= 1.0);
    }

    #[test]
    fn odd_sizes_pad_by_repeating_edges() {
        // 3x3 with a white last column and last row, black elsewhere.
        let mut data = vec![0u8; 3 * 3 * 3];
        for y in 0..3 {
            for x in 0..3 {
                if x == 2 || y == 2 {
                    data[(y * 3 + x) * 3..(y * 3 + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
                }
            }
        }
        let frame = Frame::packed(&data, 3, 3, PixelFormat::Rgb24).unwrap();
        let mut out = Yuv420Image::new(4, 4);
        Converter::new([0, 0, 0]).convert(&frame, &mut out).unwrap();
        // Column 3 repeats column 2 (white), row 3 repeats row 2 (white).
        for y in 0..4 {
            assert!(out.y[y * 4 + 3] >= 234, "row {y} col 3 = {}", out.y[y * 4 + 3]);
        }
        for x in 0..4 {
            assert!(out.y[3 * 4 + x] >= 234);
        }
        assert!(out.y[0] <= 17);
    }

    #[test]
    fn strided_views_convert_like_packed() {
        for (w, h) in [(6u32, 4u32), (6, 2), (10, 8)] {
            strided_case(w, h);
        }
    }

    fn strided_case(w: u32, h: u32) {
        let packed: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let stride = w as usize * 3 + 5;
        let mut strided = vec![0xAAu8; stride * h as usize];
        for y in 0..h as usize {
            strided[y * stride..y * stride + w as usize * 3]
                .copy_from_slice(&packed[y * w as usize * 3..(y + 1) * w as usize * 3]);
        }
        let mut a = Yuv420Image::new(w, h);
        let mut b = Yuv420Image::new(w, h);
        let mut c = Converter::new([0, 0, 0]);
        c.convert(&Frame::packed(&packed, w, h, PixelFormat::Rgb24).unwrap(), &mut a).unwrap();
        // Drop the trailing padding of the last row to check short last rows too.
        let view = &strided[..stride * (h as usize - 1) + w as usize * 3];
        c.convert(&Frame::new(view, w, h, stride, PixelFormat::Rgb24).unwrap(), &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rgb_conversion_composites_alpha_and_reorders() {
        let bg = [10, 20, 30];
        let mut out = Vec::new();
        let rgba = [255u8, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 128];
        to_rgb(&Frame::packed(&rgba, 3, 1, PixelFormat::Rgba).unwrap(), bg, &mut out).unwrap();
        assert_eq!(out, [255, 0, 0, 10, 20, 30, 5, 10, 143]);
        let bgra = [0u8, 0, 255, 255];
        to_rgb(&Frame::packed(&bgra, 1, 1, PixelFormat::Bgra).unwrap(), bg, &mut out).unwrap();
        assert_eq!(out, [255, 0, 0]);
        let argb = [255u8, 1, 2, 3];
        to_rgb(&Frame::packed(&argb, 1, 1, PixelFormat::Argb).unwrap(), bg, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        to_rgb(&Frame::packed(&[7, 9], 2, 1, PixelFormat::Gray8).unwrap(), bg, &mut out).unwrap();
        assert_eq!(out, [7, 7, 7, 9, 9, 9]);
        to_rgb(&Frame::packed(&[1, 2, 3], 1, 1, PixelFormat::Bgr24).unwrap(), bg, &mut out).unwrap();
        assert_eq!(out, [3, 2, 1]);
    }
}
