//! Resizing with `fast_image_resize`: a SIMD port of Pillow's convolution resampling (the filter
//! support grows with the downscale factor, as in Pillow's `Image.resize`), the CPU extensions
//! (AVX2, SSE4.1, NEON or none) picked at run time.
//!
//! Channels are resized independently, alpha included: 4-channel images are NOT premultiplied
//! (as Pillow does for RGB; Pillow premultiplies RGBA, this does not).
//!
//! Accuracy: 8-bit images are filtered with 16-bit fixed-point coefficients in two passes
//! (vertical, then horizontal), the intermediate rounded and clipped to bytes, as Pillow does
//! (Pillow runs the horizontal pass first). Against a float64 reference with Pillow's
//! coefficients that clips to 0..=255 between the same two passes and rounds once at the end, every
//! sample is within 1 (mean difference about 0.2) for lanczos3, bicubic and bilinear, upscaling
//! and downscaling; without that intermediate clipping the reference differs where the filter
//! overshoots (lanczos3 and bicubic on pixel noise), not on smooth content, where it is also within
//! 1 (tests/test_kernels.py checks both).
//! The integer arithmetic is the same for every CPU extension, so the bytes do not depend on the
//! CPU (checked in the unit tests against the scalar code) nor on earlier calls (a new `Resizer`
//! per call).

use super::{expect_channels, Image, ImageMut};
use crate::error::{Error, Result};
use fast_image_resize as fr;

/// The resampling filters of [`resize`] (Pillow's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeFilter {
    Nearest,
    /// Box filter (the average of the source pixels a destination pixel covers, scaled when
    /// downscaling: Pillow's BOX, OpenCV's INTER_AREA for downsizing).
    Box,
    /// Triangle filter, support 1 (scaled when downscaling).
    Bilinear,
    /// Catmull-Rom cubic (a = -0.5, Pillow's BICUBIC), support 2.
    Bicubic,
    /// Lanczos with 3 lobes (Pillow's LANCZOS, MoviePy 2's resize), support 3.
    Lanczos3,
}

impl std::str::FromStr for ResizeFilter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "nearest" => ResizeFilter::Nearest,
            "box" => ResizeFilter::Box,
            "bilinear" => ResizeFilter::Bilinear,
            "bicubic" => ResizeFilter::Bicubic,
            "lanczos3" => ResizeFilter::Lanczos3,
            _ => {
                return Err(Error::parameter(format!(
                    "filter must be \"nearest\", \"box\", \"bilinear\", \"bicubic\" or \"lanczos3\", got {s:?}"
                )))
            }
        })
    }
}

impl ResizeFilter {
    fn algorithm(self) -> fr::ResizeAlg {
        match self {
            ResizeFilter::Nearest => fr::ResizeAlg::Nearest,
            ResizeFilter::Box => fr::ResizeAlg::Convolution(fr::FilterType::Box),
            ResizeFilter::Bilinear => fr::ResizeAlg::Convolution(fr::FilterType::Bilinear),
            ResizeFilter::Bicubic => fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom),
            ResizeFilter::Lanczos3 => fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3),
        }
    }
}

/// Fill `dst` with `src` resized to `dst`'s size. Both have the same channel count (1, 3 or 4).
pub fn resize(src: &Image<'_>, dst: &mut ImageMut<'_>, filter: ResizeFilter) -> Result<()> {
    resize_with(src, dst, filter, fr::Resizer::new())
}

/// [`resize`] with a given resizer (the tests pass one restricted to the scalar code).
pub(crate) fn resize_with(
    src: &Image<'_>,
    dst: &mut ImageMut<'_>,
    filter: ResizeFilter,
    mut resizer: fr::Resizer,
) -> Result<()> {
    expect_channels(src.name, src.shape, &[1, 3, 4])?;
    if dst.shape.channels != src.shape.channels {
        return Err(Error::parameter(format!(
            "{} must have the channel count of {} ({}), got shape {}",
            dst.name, src.name, src.shape.channels, dst.shape
        )));
    }
    if filter == ResizeFilter::Box {
        if let Some((fx, fy)) = integer_factors(src, dst) {
            block_average(src, dst, fx, fy);
            return Ok(());
        }
    }
    let pixel_type = match src.shape.channels {
        1 => fr::PixelType::U8,
        3 => fr::PixelType::U8x3,
        _ => fr::PixelType::U8x4,
    };
    let fail = |e: &dyn std::fmt::Display| Error::parameter(format!("resize: {e}"));
    // Sizes are at most MAX_SIDE (checked when the images were made): they fit u32.
    let from = fr::images::ImageRef::new(src.shape.width as u32, src.shape.height as u32, src.data, pixel_type)
        .map_err(|e| fail(&e))?;
    let mut to =
        fr::images::Image::from_slice_u8(dst.shape.width as u32, dst.shape.height as u32, dst.data, pixel_type)
            .map_err(|e| fail(&e))?;
    let options = fr::ResizeOptions::new().resize_alg(filter.algorithm()).use_alpha(false);
    resizer.resize(&from, &mut to, &options).map_err(|e| fail(&e))
}

/// The whole-number factors by which `dst` is smaller than `src`, if both are whole numbers
/// (and not both 1).
fn integer_factors(src: &Image<'_>, dst: &ImageMut<'_>) -> Option<(usize, usize)> {
    let (sw, sh, dw, dh) = (src.shape.width, src.shape.height, dst.shape.width, dst.shape.height);
    if sw % dw != 0 || sh % dh != 0 {
        return None;
    }
    let (fx, fy) = (sw / dw, sh / dh);
    // One sum per destination sample must fit u32 (255 * fx * fy); MAX_SIDE^2 * 255 does.
    ((fx, fy) != (1, 1)).then_some((fx, fy))
}

/// Box filter for whole-number factors: each destination sample is the rounded mean of the
/// fx x fy block of source samples it covers (what the box convolution computes there, exactly,
/// without its fixed-point weights; as OpenCV's INTER_AREA does for such factors). Written as
/// plain loops over rows so that the compiler vectorises the column sums; a 2x2 reduction of a
/// 1280x720 RGB frame takes a fraction of the general convolution's time.
fn block_average(src: &Image<'_>, dst: &mut ImageMut<'_>, fx: usize, fy: usize) {
    if (fx, fy) == (2, 2) {
        match src.shape.channels {
            1 => return half_size::<1>(src, dst),
            3 => return half_size::<3>(src, dst),
            _ => return half_size::<4>(src, dst),
        }
    }
    let c = src.shape.channels;
    let (dw, dh) = (dst.shape.width, dst.shape.height);
    let src_row = src.shape.row_len();
    let n = (fx * fy) as u32;
    let half = n / 2;
    // Column sums of fy source rows, per source sample of one destination row band.
    let mut sums = vec![0u32; src_row];
    for (y, out) in dst.data.chunks_exact_mut(dw * c).enumerate().take(dh) {
        sums.iter_mut().for_each(|v| *v = 0);
        for row in src.data[y * fy * src_row..(y + 1) * fy * src_row].chunks_exact(src_row) {
            for (acc, &v) in sums.iter_mut().zip(row) {
                *acc += u32::from(v);
            }
        }
        for (o, block) in out.chunks_exact_mut(c).zip(sums.chunks_exact(fx * c)) {
            for k in 0..c {
                let total: u32 = (0..fx).map(|i| block[i * c + k]).sum();
                o[k] = ((total + half) / n) as u8;
            }
        }
    }
}

/// The 2x2 case, with the channel count known to the compiler: (a + b + c + d + 2) / 4.
///
/// Integer arithmetic only, so the bytes are the same whichever compilation runs (the unit tests
/// compare them). Where the CPU has AVX2 (picked at run time) the whole-row sums are compiled for
/// it and 3-channel pixels are picked with byte shuffles: 0.08 ms instead of 0.20 ms for a
/// 1280x720 RGB frame on the development machine (OpenCV's INTER_AREA, which MoviePy's main branch
/// uses, is hand-vectorised and threaded: 0.09 ms on two cores).
fn half_size<const C: usize>(src: &Image<'_>, dst: &mut ImageMut<'_>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `half_size_avx2` only requires AVX2, which the CPU has (checked just above).
        return unsafe { half_size_avx2::<C>(src, dst) };
    }
    half_size_body::<C>(src, dst, pick_pairs::<C>);
}

/// The portable compilation of the 2x2 reduction, for the test that compares it with the one
/// [`half_size`] picks on this CPU.
#[cfg(test)]
pub(crate) fn half_size_portable_for_tests(src: &Image<'_>, dst: &mut ImageMut<'_>) {
    match src.shape.channels {
        1 => half_size_body::<1>(src, dst, pick_pairs::<1>),
        3 => half_size_body::<3>(src, dst, pick_pairs::<3>),
        _ => half_size_body::<4>(src, dst, pick_pairs::<4>),
    }
}

/// [`half_size_body`] compiled for AVX2, with [`pick_pairs_rgb_avx2`] for 3 channels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn half_size_avx2<const C: usize>(src: &Image<'_>, dst: &mut ImageMut<'_>) {
    if C == 3 {
        half_size_body::<3>(src, dst, |q, out| pick_pairs_rgb_avx2(q, out));
    } else {
        half_size_body::<C>(src, dst, pick_pairs::<C>);
    }
}

/// For every row pair: `q[i]` = the rounded mean of the 2x2 block starting at sample `i` (a
/// shifted add over the whole row: no shuffles, so it vectorises), then `pick` copies the blocks
/// that start at even pixels into the output row. Pixel pairs never start in the last pixel of a
/// row, whose `q` is not computed.
#[inline(always)]
fn half_size_body<const C: usize>(src: &Image<'_>, dst: &mut ImageMut<'_>, pick: impl Fn(&[u8], &mut [u8])) {
    let src_row = src.shape.row_len();
    let dst_row = dst.shape.row_len();
    let mut q = vec![0u8; src_row];
    for (rows, out) in src.data.chunks_exact(2 * src_row).zip(dst.data.chunks_exact_mut(dst_row)) {
        let (r0, r1) = rows.split_at(src_row);
        let n = src_row - C;
        let (head, a, b, c, d) = (&mut q[..n], &r0[..n], &r1[..n], &r0[C..], &r1[C..]);
        for i in 0..n {
            head[i] = ((u16::from(a[i]) + u16::from(b[i]) + u16::from(c[i]) + u16::from(d[i]) + 2) >> 2) as u8;
        }
        pick(&q, out);
    }
}

/// `out` = the pixels of `q` that start pixel pairs (pixels 0, 2, 4, ...), 96 samples of `q` at a
/// time in fixed-size arrays (96 is a whole number of pixel pairs for 1, 3 and 4 channels).
fn pick_pairs<const C: usize>(q: &[u8], out: &mut [u8]) {
    const BLOCK: usize = 96;
    let mut outs = out.chunks_exact_mut(BLOCK / 2);
    let mut qs = q.chunks_exact(BLOCK);
    for (o, p) in (&mut outs).zip(&mut qs) {
        let o: &mut [u8; BLOCK / 2] = o.try_into().expect("chunks of BLOCK / 2");
        let p: &[u8; BLOCK] = p.try_into().expect("chunks of BLOCK");
        for j in 0..BLOCK / (2 * C) {
            for k in 0..C {
                o[j * C + k] = p[2 * j * C + k];
            }
        }
    }
    for (o, p) in outs.into_remainder().chunks_exact_mut(C).zip(qs.remainder().chunks_exact(2 * C)) {
        o.copy_from_slice(&p[..C]);
    }
}

/// [`pick_pairs`] for 3 channels with byte shuffles: 16 pixels (48 bytes of `q`, three
/// registers) give 8 (24 bytes): bytes 0-2, 6-8, 12-14 of the first register and 2-4, 8-10, 14
/// of the second make the first 16 output bytes; 15 of the second and 0, 4-6, 10-12 of the third
/// the next 8. The compiler does not find this: its code for `pick_pairs::<3>` took 0.1 ms of a
/// 1280x720 frame, this 0.02 ms.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pick_pairs_rgb_avx2(q: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_or_si128, _mm_setr_epi8, _mm_shuffle_epi8, _mm_storel_epi64, _mm_storeu_si128,
    };
    // Shuffle masks: output byte i takes input byte mask[i]; -1 gives 0 (filled by the other).
    let first_a = _mm_setr_epi8(0, 1, 2, 6, 7, 8, 12, 13, 14, -1, -1, -1, -1, -1, -1, -1);
    let first_b = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, 2, 3, 4, 8, 9, 10, 14);
    let next_b = _mm_setr_epi8(15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    let next_c = _mm_setr_epi8(-1, 0, 4, 5, 6, 10, 11, 12, -1, -1, -1, -1, -1, -1, -1, -1);
    let mut outs = out.chunks_exact_mut(24);
    let mut qs = q.chunks_exact(48);
    for (o, p) in (&mut outs).zip(&mut qs) {
        let p: &[u8; 48] = p.try_into().expect("chunks of 48");
        let o: &mut [u8; 24] = o.try_into().expect("chunks of 24");
        // SAFETY: unaligned loads of 16 bytes at offsets 0, 16 and 32 of a 48-byte array, and
        // stores of 16 bytes at offset 0 and 8 bytes at offset 16 of a 24-byte array: all in
        // bounds; the loads and stores have no alignment requirement.
        unsafe {
            let a = _mm_loadu_si128(p.as_ptr().cast::<__m128i>());
            let b = _mm_loadu_si128(p.as_ptr().add(16).cast::<__m128i>());
            let c = _mm_loadu_si128(p.as_ptr().add(32).cast::<__m128i>());
            let first = _mm_or_si128(_mm_shuffle_epi8(a, first_a), _mm_shuffle_epi8(b, first_b));
            let next = _mm_or_si128(_mm_shuffle_epi8(b, next_b), _mm_shuffle_epi8(c, next_c));
            _mm_storeu_si128(o.as_mut_ptr().cast::<__m128i>(), first);
            _mm_storel_epi64(o.as_mut_ptr().add(16).cast::<__m128i>(), next);
        }
    }
    for (o, p) in outs.into_remainder().chunks_exact_mut(3).zip(qs.remainder().chunks_exact(6)) {
        o.copy_from_slice(&p[..3]);
    }
}
