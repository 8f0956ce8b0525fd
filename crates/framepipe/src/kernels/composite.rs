//! `src` over `dst` at an integer offset, with an optional alpha plane and an opacity, in exact
//! integer arithmetic (the formulas are the contract; the tests check them bit for bit):
//!
//! ```text
//! op  = round(opacity * 255)                  (halves to even, as Python's round)
//! a   = alpha[p] (255 without an alpha plane); if op != 255: a = (a * op + 127) // 255
//! rgb: out = (src * a + dst * (255 - a) + 127) // 255           per channel
//! α:   out = (a * 255 + dst * (255 - a) + 127) // 255           ("a over dst" for alphas)
//! ```
//!
//! Only the rectangle where the shifted `src` overlaps `dst` is read or written; any offset is
//! valid (negative, or past the frame: then nothing happens). Every sum above is at most
//! 255 * 255 + 127, so the loops run on u16 lanes and divide with [`div255`], which the compiler
//! vectorizes.

use super::{div255, expect_channels, expect_same_size, Image, ImageMut};
use crate::error::{Error, Result};

/// `round(opacity * 255)` (ties to even, as Python's `round`), or an error unless `opacity` is a
/// finite number in [0, 1].
pub fn opacity_to_u8(opacity: f64) -> Result<u8> {
    if !opacity.is_finite() || !(0.0..=1.0).contains(&opacity) {
        return Err(Error::parameter(format!("opacity must be a finite number in [0, 1], got {opacity}")));
    }
    Ok((opacity * 255.0).round_ties_even() as u8)
}

/// The part of a `w`x`h` image placed at (`x`, `y`) that lies inside a `width`x`height` frame:
/// (first column and row in the frame, first column and row in the image, width, height), or
/// None when they do not overlap.
pub(crate) fn overlap(
    width: usize,
    height: usize,
    w: usize,
    h: usize,
    x: i64,
    y: i64,
) -> Option<(usize, usize, usize, usize, usize, usize)> {
    // i128: x + w cannot overflow whatever x is.
    let span = |pos: i64, len: usize, limit: usize| -> Option<(usize, usize, usize)> {
        let start = (pos as i128).max(0);
        let end = (pos as i128 + len as i128).min(limit as i128);
        (start < end).then(|| (start as usize, (start - pos as i128) as usize, (end - start) as usize))
    };
    let (dx, sx, ow) = span(x, w, width)?;
    let (dy, sy, oh) = span(y, h, height)?;
    Some((dx, dy, sx, sy, ow, oh))
}

/// `a` after the opacity: `(a * op + 127) // 255`, or `a` when `op` is 255.
#[inline(always)]
fn scaled(a: u8, op: u16) -> u16 {
    if op == 255 {
        a as u16
    } else {
        div255(a as u16 * op + 127)
    }
}

/// One row of `out = (s * a + d * (255 - a) + 127) // 255` with per-byte weights `a`.
#[inline]
fn blend_row(d: &mut [u8], s: &[u8], a: &[u16]) {
    for ((d, &s), &a) in d.iter_mut().zip(s).zip(a) {
        *d = div255(s as u16 * a + *d as u16 * (255 - a) + 127) as u8;
    }
}

/// One row of the same with one weight `a` for every byte.
#[inline]
fn blend_row_const(d: &mut [u8], s: &[u8], a: u16) {
    for (d, &s) in d.iter_mut().zip(s) {
        *d = div255(s as u16 * a + *d as u16 * (255 - a) + 127) as u8;
    }
}

/// Paint `src` (h, w, 3) over `dst` (H, W, 3) with its top-left corner at column `x`, row `y`,
/// weighted by `alpha` ((h, w), or fully opaque when None) times `opacity` (in [0, 1]). See the
/// module doc for the exact arithmetic.
pub fn composite(
    dst: &mut ImageMut<'_>,
    src: &Image<'_>,
    x: i64,
    y: i64,
    alpha: Option<&Image<'_>>,
    opacity: f64,
) -> Result<()> {
    let op = opacity_to_u8(opacity)? as u16;
    expect_channels(dst.name, dst.shape, &[3])?;
    expect_channels(src.name, src.shape, &[3])?;
    if let Some(a) = alpha {
        expect_channels(a.name, a.shape, &[1])?;
        expect_same_size(src, a.shape, a.name, false)?;
    }
    let (width, height) = (dst.shape.width, dst.shape.height);
    let Some((dx, dy, sx, sy, ow, oh)) = overlap(width, height, src.shape.width, src.shape.height, x, y) else {
        return Ok(());
    };
    if op == 0 {
        return Ok(()); // a = 0 everywhere: out = (dst * 255 + 127) // 255 = dst
    }
    let n = ow * 3;
    let dst_row = |r: usize| (dy + r) * width * 3 + dx * 3;
    let src_rows = (sy..sy + oh).map(|r| &src.row(r)[sx * 3..sx * 3 + n]);
    match alpha {
        None if op == 255 => {
            for (r, s) in src_rows.enumerate() {
                let start = dst_row(r);
                dst.data[start..start + n].copy_from_slice(s);
            }
        }
        None => {
            for (r, s) in src_rows.enumerate() {
                let start = dst_row(r);
                blend_row_const(&mut dst.data[start..start + n], s, op);
            }
        }
        Some(alpha) => {
            // The weights of one row, one per byte (a pixel's alpha three times), so that the
            // blend itself is a straight loop over bytes.
            let mut weights = vec![0u16; n];
            for (r, s) in src_rows.enumerate() {
                let a_row = &alpha.row(sy + r)[sx..sx + ow];
                for (w, &a) in weights.chunks_exact_mut(3).zip(a_row) {
                    let a = scaled(a, op);
                    w.copy_from_slice(&[a, a, a]);
                }
                let start = dst_row(r);
                blend_row(&mut dst.data[start..start + n], s, &weights);
            }
        }
    }
    Ok(())
}

/// "`src_alpha` over `dst`" for alpha planes: `dst` (H, W) and `src_alpha` (h, w) placed at
/// column `x`, row `y`, weighted by `opacity`. See the module doc for the exact arithmetic.
pub fn composite_alpha(dst: &mut ImageMut<'_>, src_alpha: &Image<'_>, x: i64, y: i64, opacity: f64) -> Result<()> {
    let op = opacity_to_u8(opacity)? as u16;
    expect_channels(dst.name, dst.shape, &[1])?;
    expect_channels(src_alpha.name, src_alpha.shape, &[1])?;
    let (width, height) = (dst.shape.width, dst.shape.height);
    let Some((dx, dy, sx, sy, ow, oh)) = overlap(width, height, src_alpha.shape.width, src_alpha.shape.height, x, y)
    else {
        return Ok(());
    };
    if op == 0 {
        return Ok(());
    }
    for r in 0..oh {
        let s = &src_alpha.row(sy + r)[sx..sx + ow];
        let start = (dy + r) * width + dx;
        let d = &mut dst.data[start..start + ow];
        if op == 255 {
            for (d, &a) in d.iter_mut().zip(s) {
                let a = a as u16;
                *d = div255(a * 255 + *d as u16 * (255 - a) + 127) as u8;
            }
        } else {
            for (d, &a) in d.iter_mut().zip(s) {
                let a = div255(a as u16 * op + 127);
                *d = div255(a * 255 + *d as u16 * (255 - a) + 127) as u8;
            }
        }
    }
    Ok(())
}
