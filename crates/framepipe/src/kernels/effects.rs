//! Per-pixel effects: lookup tables, grayscale, MoviePy's `MaskColor`.

use super::{expect_channels, expect_same_size, unit_to_u8, Image, ImageMut};
use crate::error::{Error, Result};

/// The tables a LUT of `len` bytes holds for an image of `channels` channels: 256 bytes (one
/// table for every channel) or `256 * channels` (one per channel, channel-major).
fn lut_tables(table: &[u8], channels: usize) -> Result<Vec<&[u8; 256]>> {
    let tables: Vec<&[u8; 256]> =
        table.chunks_exact(256).map(|t| t.try_into().expect("chunks of 256")).collect::<Vec<_>>();
    match (table.len(), tables.len()) {
        (256, _) => Ok(vec![tables[0]; channels]),
        (n, k) if n % 256 == 0 && k == channels => Ok(tables),
        (n, _) => {
            let per_channel =
                if channels > 1 { format!(" or {} (one table per channel)", 256 * channels) } else { String::new() };
            Err(Error::parameter(format!(
                "table must hold 256 bytes (one table for every channel){per_channel} for an image of \
                 {channels} channel(s), got {n} bytes"
            )))
        }
    }
}

fn apply_lut(src: &[u8], dst: &mut [u8], tables: &[&[u8; 256]]) {
    match tables {
        [t] => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = t[s as usize]),
        // All channels alike: no per-channel dispatch.
        [t, rest @ ..] if rest.iter().all(|r| std::ptr::eq(*r, *t)) => {
            dst.iter_mut().zip(src).for_each(|(d, &s)| *d = t[s as usize])
        }
        _ => {
            let c = tables.len();
            for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
                for ((d, &s), t) in d.iter_mut().zip(s).zip(tables) {
                    *d = t[s as usize];
                }
            }
        }
    }
}

/// `dst = table[src]` per channel. `table` holds 256 bytes (the same table for every channel) or
/// `256 * channels` (one table per channel, channel-major). `src` and `dst` have the same shape;
/// for in-place work (the same buffer) see [`lut_in_place`].
pub fn lut(src: &Image<'_>, dst: &mut ImageMut<'_>, table: &[u8]) -> Result<()> {
    expect_same_size(src, dst.shape, dst.name, true)?;
    let tables = lut_tables(table, src.shape.channels)?;
    apply_lut(src.data, dst.data, &tables);
    Ok(())
}

/// [`lut`] with `src` and `dst` the same buffer.
pub fn lut_in_place(img: &mut ImageMut<'_>, table: &[u8]) -> Result<()> {
    let tables = lut_tables(table, img.shape.channels)?;
    let c = tables.len();
    if tables.iter().all(|t| std::ptr::eq(*t, tables[0])) {
        let t = tables[0];
        img.data.iter_mut().for_each(|v| *v = t[*v as usize]);
    } else {
        for px in img.data.chunks_exact_mut(c) {
            for (v, t) in px.iter_mut().zip(&tables) {
                *v = t[*v as usize];
            }
        }
    }
    Ok(())
}

/// Fixed-point bits of the grayscale weights.
const GRAY_BITS: u32 = 16;
/// Largest |weight| grayscale accepts (the fixed-point sums stay far inside i64).
pub const MAX_GRAY_WEIGHT: f64 = 1000.0;

/// `gray = round(r * wr + g * wg + b * wb)` clamped to 0..=255, for `src` (h, w, 3) into `dst`
/// (h, w) or (h, w, 3) (gray in all three channels).
///
/// Fixed point: each channel's term comes from a 256-entry table of `round(v * w * 2^16)` (i64),
/// the three are added with `2^15` and shifted right by 16 (rounds halves up). Each table entry is
/// within 2^-17 of the exact product, so the result is the exactly rounded value except when the
/// exact sum lies within 1.5 * 2^-16 of a half: then it may be one off (and numpy's round, which
/// rounds halves to even, can differ by one there too).
pub fn grayscale(src: &Image<'_>, dst: &mut ImageMut<'_>, weights: [f64; 3]) -> Result<()> {
    expect_channels(src.name, src.shape, &[3])?;
    expect_channels(dst.name, dst.shape, &[1, 3])?;
    expect_same_size(src, dst.shape, dst.name, false)?;
    if let Some(w) = weights.iter().find(|w| !w.is_finite() || w.abs() > MAX_GRAY_WEIGHT) {
        return Err(Error::parameter(format!(
            "weights must be finite numbers of magnitude at most {MAX_GRAY_WEIGHT}, got {w} in {weights:?}"
        )));
    }
    let scale = (1u64 << GRAY_BITS) as f64;
    let table = |w: f64| -> [i64; 256] { std::array::from_fn(|v| (v as f64 * w * scale).round() as i64) };
    let (tr, tg, tb) = (table(weights[0]), table(weights[1]), table(weights[2]));
    let half = 1i64 << (GRAY_BITS - 1);
    let gray = |p: &[u8]| -> u8 {
        let sum = tr[p[0] as usize] + tg[p[1] as usize] + tb[p[2] as usize] + half;
        (sum >> GRAY_BITS).clamp(0, 255) as u8
    };
    if dst.shape.channels == 1 {
        for (d, p) in dst.data.iter_mut().zip(src.data.chunks_exact(3)) {
            *d = gray(p);
        }
    } else {
        // Three single-byte stores: `d.fill(g)` on a 3-byte slice cost more than the gray itself.
        for (d, p) in dst.data.chunks_exact_mut(3).zip(src.data.chunks_exact(3)) {
            let g = gray(p);
            d[0] = g;
            d[1] = g;
            d[2] = g;
        }
    }
    Ok(())
}

/// `dst` (h, w, 3) = the colour channels of `src` (h, w, 4), the alpha dropped (a matplotlib
/// canvas's RGBA buffer as MoviePy's `mplfig_to_npimage` returns it). numpy's copy of the strided
/// `src[:, :, :3]` view goes a byte at a time; this loop is vectorised.
pub fn drop_alpha(src: &Image<'_>, dst: &mut ImageMut<'_>) -> Result<()> {
    expect_channels(src.name, src.shape, &[4])?;
    expect_channels(dst.name, dst.shape, &[3])?;
    expect_same_size(src, dst.shape, dst.name, false)?;
    // Four pixels at a time, in fixed-size arrays: the compiler turns each block into a shuffle.
    let mut d4 = dst.data.chunks_exact_mut(12);
    let mut s4 = src.data.chunks_exact(16);
    for (d, s) in (&mut d4).zip(&mut s4) {
        let s: &[u8; 16] = s.try_into().expect("chunks of 16");
        let d: &mut [u8; 12] = d.try_into().expect("chunks of 12");
        for i in 0..4 {
            d[3 * i..3 * i + 3].copy_from_slice(&s[4 * i..4 * i + 3]);
        }
    }
    for (d, s) in d4.into_remainder().chunks_exact_mut(3).zip(s4.remainder().chunks_exact(4)) {
        d.copy_from_slice(&s[..3]);
    }
    Ok(())
}

/// MoviePy's `MaskColor` parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskColor {
    /// The colour that becomes transparent.
    pub color: [u8; 3],
    /// Distance (in 0..255 units) at which the mask is one half; 0: only the exact colour is
    /// transparent.
    pub threshold: f64,
    /// How sharp the transition is around `threshold`.
    pub stiffness: f64,
}

impl MaskColor {
    fn check(&self) -> Result<()> {
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            return Err(Error::parameter(format!("threshold must be a finite number >= 0, got {}", self.threshold)));
        }
        if !self.stiffness.is_finite() || self.stiffness < 0.0 {
            return Err(Error::parameter(format!("stiffness must be a finite number >= 0, got {}", self.stiffness)));
        }
        Ok(())
    }

    /// The mask byte at squared distance `d2`: `round(255 * m)`, `m = d^s / (t^s + d^s)` (or
    /// `d != 0` when the threshold is 0), computed as `1 / (1 + (t / d)^s)`.
    fn value(&self, d2: u32) -> u8 {
        let (t, s) = (self.threshold, self.stiffness);
        if t == 0.0 {
            return if d2 == 0 { 0 } else { 255 };
        }
        if d2 == 0 {
            // 0^s / (t^s + 0^s): 0, except 0^0 = 1 (numpy's too) which gives 1/2.
            return if s == 0.0 { unit_to_u8(0.5) } else { 0 };
        }
        let d = (d2 as f64).sqrt();
        unit_to_u8(1.0 / (1.0 + (t / d).powf(s)))
    }
}

/// Largest squared distance between two RGB colours: 3 * 255^2.
const MAX_D2: usize = 3 * 255 * 255;
/// Frames with fewer pixels compute each pixel's value directly; larger ones build a table first.
const MASK_TABLE_MIN_PIXELS: usize = 16_384;

/// The mask value for every squared distance 0..=MAX_D2. The value never decreases with the
/// distance, so the table is 256 runs: each run's end is found by a binary search (8 bits of
/// levels x 18 steps, about 4,600 evaluations instead of 195,076).
fn mask_table(p: &MaskColor) -> Vec<u8> {
    let mut table = vec![0u8; MAX_D2 + 1];
    let mut start = 0usize;
    while start <= MAX_D2 {
        let v = p.value(start as u32);
        // The last index with the same value (monotone: binary search for the first larger one).
        let (mut lo, mut hi) = (start, MAX_D2 + 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if p.value(mid as u32) <= v {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        table[start..hi].fill(v);
        start = hi;
    }
    table
}

/// MoviePy's `MaskColor`: `dst` (h, w) = `round(255 * m)` for `src` (h, w, 3), where `d` is the
/// Euclidean distance of the pixel from `color`; with threshold 0, `m = (d != 0)`; else
/// `m = d^stiffness / (threshold^stiffness + d^stiffness)`.
pub fn mask_color(src: &Image<'_>, dst: &mut ImageMut<'_>, params: MaskColor) -> Result<()> {
    params.check()?;
    expect_channels(src.name, src.shape, &[3])?;
    expect_channels(dst.name, dst.shape, &[1])?;
    expect_same_size(src, dst.shape, dst.name, false)?;
    let [cr, cg, cb] = params.color.map(|c| c as i32);
    let d2 = |p: &[u8]| -> u32 {
        let (r, g, b) = (p[0] as i32 - cr, p[1] as i32 - cg, p[2] as i32 - cb);
        (r * r + g * g + b * b) as u32
    };
    let pixels = src.data.chunks_exact(3);
    if params.threshold == 0.0 {
        for (d, p) in dst.data.iter_mut().zip(pixels) {
            *d = if d2(p) == 0 { 0 } else { 255 };
        }
    } else if dst.data.len() < MASK_TABLE_MIN_PIXELS {
        for (d, p) in dst.data.iter_mut().zip(pixels) {
            *d = params.value(d2(p));
        }
    } else {
        let table = mask_table(&params);
        for (d, p) in dst.data.iter_mut().zip(pixels) {
            *d = table[d2(p) as usize];
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn mask_value_for_tests(p: &MaskColor, d2: u32) -> u8 {
    p.value(d2)
}
#[cfg(test)]
pub(crate) fn mask_table_for_tests(p: &MaskColor) -> Vec<u8> {
    mask_table(p)
}
