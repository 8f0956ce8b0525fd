//! Unit tests of the kernels: edge cases (clipping at every side, 1x1 images, in-place LUTs),
//! the exact division, argument errors. The comparisons with independent references (numpy,
//! Pillow) are in tests/test_kernels.py.

use super::composite::overlap;
use super::effects::{mask_table_for_tests, mask_value_for_tests};
use super::resize::{half_size_portable_for_tests, resize_with};
use super::*;
use crate::Error;

fn shape(h: usize, w: usize, c: usize) -> Shape {
    Shape::new(h, w, c)
}

/// A deterministic pseudo-random byte sequence (xorshift).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn param_msg(r: Result<(), Error>) -> String {
    match r {
        Err(Error::Parameter(m)) => m.message,
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

#[test]
fn div255_is_exact_over_its_whole_range() {
    for x in 0..=65_279u32 {
        assert_eq!(div255(x as u16) as u32, x / 255, "x = {x}");
    }
}

/// The contract's formula, written the slow way.
fn blend_ref(s: u8, d: u8, alpha: u8, op: u32) -> u8 {
    let mut a = alpha as u32;
    if op != 255 {
        a = (a * op + 127) / 255;
    }
    ((s as u32 * a + d as u32 * (255 - a) + 127) / 255) as u8
}

#[test]
fn composite_matches_the_formula_for_every_alpha_and_opacity_step() {
    // One pixel, every (alpha, opacity) pair on a grid, random colours.
    let colours = noise(6 * 256, 7);
    for op in [0u32, 1, 2, 100, 127, 128, 254, 255] {
        let opacity = op as f64 / 255.0;
        for alpha in 0..=255u8 {
            let c = &colours[alpha as usize * 6..alpha as usize * 6 + 6];
            let mut d = c[..3].to_vec();
            let want: Vec<u8> = (0..3).map(|k| blend_ref(c[3 + k], c[k], alpha, op)).collect();
            let src = Image::new("src", &c[3..], shape(1, 1, 3)).unwrap();
            let a = [alpha];
            let a = Image::new("alpha", &a, shape(1, 1, 1)).unwrap();
            composite(&mut ImageMut::new("dst", &mut d, shape(1, 1, 3)).unwrap(), &src, 0, 0, Some(&a), opacity)
                .unwrap();
            assert_eq!(d, want, "alpha {alpha}, op {op}");
        }
    }
}

/// Reference composite over the whole frame, pixel by pixel, with bounds checks.
#[allow(clippy::too_many_arguments)]
fn composite_ref(
    dst: &mut [u8],
    dw: usize,
    dh: usize,
    src: &[u8],
    sw: usize,
    sh: usize,
    x: i64,
    y: i64,
    alpha: Option<&[u8]>,
    op: u32,
) {
    for sy in 0..sh {
        for sx in 0..sw {
            let (tx, ty) = (x + sx as i64, y + sy as i64);
            if tx < 0 || ty < 0 || tx >= dw as i64 || ty >= dh as i64 {
                continue;
            }
            let a = alpha.map_or(255, |a| a[sy * sw + sx]);
            for k in 0..3 {
                let di = (ty as usize * dw + tx as usize) * 3 + k;
                dst[di] = blend_ref(src[(sy * sw + sx) * 3 + k], dst[di], a, op);
            }
        }
    }
}

#[test]
fn composite_clips_at_every_side() {
    let (dw, dh, sw, sh) = (7, 5, 4, 3);
    let base = noise(dw * dh * 3, 1);
    let src = noise(sw * sh * 3, 2);
    let alpha = noise(sw * sh, 3);
    let offsets = [-10i64, -4, -3, -1, 0, 1, 3, 4, 6, 7, 100, i64::MIN, i64::MAX];
    for &x in &offsets {
        for &y in &offsets {
            for (with_alpha, op) in [(true, 255), (true, 102), (false, 255), (false, 40)] {
                let a = with_alpha.then_some(&alpha[..]);
                let mut want = base.clone();
                composite_ref(&mut want, dw, dh, &src, sw, sh, x, y, a, op);
                let mut got = base.clone();
                let s = Image::new("src", &src, shape(sh, sw, 3)).unwrap();
                let ai = a.map(|a| Image::new("alpha", a, shape(sh, sw, 1)).unwrap());
                let mut d = ImageMut::new("dst", &mut got, shape(dh, dw, 3)).unwrap();
                composite(&mut d, &s, x, y, ai.as_ref(), op as f64 / 255.0).unwrap();
                assert_eq!(got, want, "x {x}, y {y}, alpha {with_alpha}, op {op}");
            }
        }
    }
}

#[test]
fn overlap_rectangles() {
    assert_eq!(overlap(10, 10, 3, 3, -3, 0), None);
    assert_eq!(overlap(10, 10, 3, 3, 10, 0), None);
    assert_eq!(overlap(10, 10, 3, 3, 0, -3), None);
    assert_eq!(overlap(10, 10, 3, 3, 0, 10), None);
    assert_eq!(overlap(10, 10, 3, 3, -2, 9), Some((0, 9, 2, 0, 1, 1)));
    assert_eq!(overlap(10, 10, 30, 30, -5, -5), Some((0, 0, 5, 5, 10, 10)));
    assert_eq!(overlap(1, 1, 1, 1, 0, 0), Some((0, 0, 0, 0, 1, 1)));
    assert_eq!(overlap(10, 10, 3, 3, i64::MAX, i64::MIN), None);
}

#[test]
fn composite_alpha_clips_and_matches_the_formula() {
    let (dw, dh, sw, sh) = (6, 4, 3, 5);
    let base = noise(dw * dh, 4);
    let src = noise(sw * sh, 5);
    for x in -4..8i64 {
        for y in -6..6i64 {
            for op in [255u32, 0, 77] {
                let mut want = base.clone();
                for sy in 0..sh {
                    for sx in 0..sw {
                        let (tx, ty) = (x + sx as i64, y + sy as i64);
                        if tx < 0 || ty < 0 || tx >= dw as i64 || ty >= dh as i64 {
                            continue;
                        }
                        let mut a = src[sy * sw + sx] as u32;
                        if op != 255 {
                            a = (a * op + 127) / 255;
                        }
                        let i = ty as usize * dw + tx as usize;
                        want[i] = ((a * 255 + want[i] as u32 * (255 - a) + 127) / 255) as u8;
                    }
                }
                let mut got = base.clone();
                let s = Image::new("src_alpha", &src, shape(sh, sw, 1)).unwrap();
                composite_alpha(
                    &mut ImageMut::new("dst", &mut got, shape(dh, dw, 1)).unwrap(),
                    &s,
                    x,
                    y,
                    op as f64 / 255.0,
                )
                .unwrap();
                assert_eq!(got, want, "x {x} y {y} op {op}");
            }
        }
    }
}

#[test]
fn composite_refuses_bad_arguments() {
    let mut d = vec![0u8; 12];
    let s = vec![0u8; 3];
    let src = Image::new("src", &s, shape(1, 1, 3)).unwrap();
    for bad in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
        let mut dst = ImageMut::new("dst", &mut d, shape(2, 2, 3)).unwrap();
        let m = param_msg(composite(&mut dst, &src, 0, 0, None, bad));
        assert!(m.contains("opacity") && m.contains(&format!("{bad}")), "{m}");
    }
    let a = vec![0u8; 4];
    let alpha = Image::new("alpha", &a, shape(2, 2, 1)).unwrap();
    let mut dst = ImageMut::new("dst", &mut d, shape(2, 2, 3)).unwrap();
    let m = param_msg(composite(&mut dst, &src, 0, 0, Some(&alpha), 1.0));
    assert!(m.contains("alpha must have the height and width of src"), "{m}");
    let mut dst = ImageMut::new("dst", &mut d, shape(2, 2, 3)).unwrap();
    let gray = Image::new("src", &a, shape(2, 2, 1)).unwrap();
    let m = param_msg(composite(&mut dst, &gray, 0, 0, None, 1.0));
    assert!(m.contains("src must have 3 channels, got shape (2, 2)"), "{m}");
    // Round half to even, as Python's round(): 0.5 * 255 = 127.5 -> 128.
    assert_eq!(opacity_to_u8(0.5).unwrap(), 128);
    assert_eq!(opacity_to_u8(1.0).unwrap(), 255);
    assert_eq!(opacity_to_u8(0.0).unwrap(), 0);
}

#[test]
fn images_refuse_wrong_lengths_and_empty_shapes() {
    let d = vec![0u8; 10];
    assert!(param_msg(Image::new("src", &d, shape(2, 2, 3)).map(|_| ())).contains("holds 12 bytes, the buffer has 10"));
    assert!(param_msg(Image::new("src", &d[..0], shape(0, 2, 3)).map(|_| ())).contains("must not be empty"));
    let m = param_msg(Image::new("src", &d, shape(1, MAX_SIDE + 1, 1)).map(|_| ()));
    assert!(m.contains("at most 65535"), "{m}");
}

#[test]
fn lut_in_place_and_per_channel() {
    let table: Vec<u8> = (0..=255u8).map(|v| 255 - v).collect();
    let mut per_channel = Vec::new();
    for k in 0..3u8 {
        per_channel.extend((0..=255u8).map(|v| v.wrapping_add(k)));
    }
    let src = noise(5 * 3 * 3, 9);
    // Same table everywhere, out of place and in place.
    let mut out = vec![0u8; src.len()];
    let s = Image::new("src", &src, shape(5, 3, 3)).unwrap();
    lut(&s, &mut ImageMut::new("dst", &mut out, shape(5, 3, 3)).unwrap(), &table).unwrap();
    assert!(out.iter().zip(&src).all(|(&o, &i)| o == 255 - i));
    let mut inplace = src.clone();
    lut_in_place(&mut ImageMut::new("dst", &mut inplace, shape(5, 3, 3)).unwrap(), &table).unwrap();
    assert_eq!(inplace, out);
    // One table per channel.
    let mut inplace = src.clone();
    lut_in_place(&mut ImageMut::new("dst", &mut inplace, shape(5, 3, 3)).unwrap(), &per_channel).unwrap();
    lut(&s, &mut ImageMut::new("dst", &mut out, shape(5, 3, 3)).unwrap(), &per_channel).unwrap();
    assert_eq!(inplace, out);
    for (i, (&o, &v)) in out.iter().zip(&src).enumerate() {
        assert_eq!(o, v.wrapping_add((i % 3) as u8));
    }
    // 1x1 gray.
    let mut one = vec![3u8];
    lut_in_place(&mut ImageMut::new("dst", &mut one, shape(1, 1, 1)).unwrap(), &table).unwrap();
    assert_eq!(one, [252]);
    // A 3-table LUT for a 4-channel image, and a 3-channel one for a gray image.
    let rgba = vec![0u8; 4];
    let mut o = vec![0u8; 4];
    let m = param_msg(lut(
        &Image::new("src", &rgba, shape(1, 1, 4)).unwrap(),
        &mut ImageMut::new("dst", &mut o, shape(1, 1, 4)).unwrap(),
        &per_channel,
    ));
    assert!(m.contains("256 bytes") && m.contains("1024") && m.contains("got 768 bytes"), "{m}");
    let m = param_msg(lut_in_place(&mut ImageMut::new("dst", &mut one, shape(1, 1, 1)).unwrap(), &per_channel));
    assert!(m.contains("got 768 bytes"), "{m}");
    let mut o3 = vec![0u8; 3];
    let m = param_msg(lut(
        &Image::new("src", &rgba, shape(1, 1, 4)).unwrap(),
        &mut ImageMut::new("dst", &mut o3, shape(1, 1, 3)).unwrap(),
        &table,
    ));
    assert!(m.contains("dst must have the shape of src"), "{m}");
}

#[test]
fn grayscale_default_weights_and_extremes() {
    let px = [0u8, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    let s = Image::new("src", &px, shape(1, 6, 3)).unwrap();
    let mut g = vec![0u8; 6];
    grayscale(&s, &mut ImageMut::new("dst", &mut g, shape(1, 6, 1)).unwrap(), [0.299, 0.587, 0.114]).unwrap();
    // 0.299*255 = 76.245, 0.587*255 = 149.685, 0.114*255 = 29.07, 10*.299+20*.587+30*.114 = 18.15
    assert_eq!(g, [0, 255, 76, 150, 29, 18]);
    let mut g3 = vec![0u8; 18];
    grayscale(&s, &mut ImageMut::new("dst", &mut g3, shape(1, 6, 3)).unwrap(), [0.299, 0.587, 0.114]).unwrap();
    assert!(g3.chunks(3).zip(&g).all(|(p, &v)| p == [v, v, v]));
    // Negative and large weights clamp.
    grayscale(&s, &mut ImageMut::new("dst", &mut g, shape(1, 6, 1)).unwrap(), [-2.0, 3.0, 0.0]).unwrap();
    assert_eq!(g, [0, 255, 0, 255, 0, 40]);
    let m = param_msg(grayscale(&s, &mut ImageMut::new("dst", &mut g, shape(1, 6, 1)).unwrap(), [f64::NAN, 0.0, 0.0]));
    assert!(m.contains("weights") && m.contains("NaN"), "{m}");
}

#[test]
fn mask_table_equals_direct_values() {
    for (t, s) in [(1.0, 1.0), (30.0, 2.0), (100.0, 0.5), (400.0, 7.0), (5.0, 0.0), (0.3, 20.0)] {
        let p = MaskColor { color: [0, 0, 0], threshold: t, stiffness: s };
        let table = mask_table_for_tests(&p);
        for d2 in (0..=195_075u32).step_by(7).chain([195_075]) {
            assert_eq!(table[d2 as usize], mask_value_for_tests(&p, d2), "t {t} s {s} d2 {d2}");
        }
    }
}

#[test]
fn mask_color_threshold_zero_and_errors() {
    let px = [1u8, 2, 3, 1, 2, 4, 0, 0, 0];
    let s = Image::new("src", &px, shape(3, 1, 3)).unwrap();
    let mut m = vec![9u8; 3];
    let p = MaskColor { color: [1, 2, 3], threshold: 0.0, stiffness: 1.0 };
    mask_color(&s, &mut ImageMut::new("dst", &mut m, shape(3, 1, 1)).unwrap(), p).unwrap();
    assert_eq!(m, [0, 255, 255]);
    // d = 1 at threshold 1, stiffness 1: 1/2 -> 128.
    let p = MaskColor { color: [1, 2, 3], threshold: 1.0, stiffness: 1.0 };
    mask_color(&s, &mut ImageMut::new("dst", &mut m, shape(3, 1, 1)).unwrap(), p).unwrap();
    assert_eq!(&m[..2], [0, 128]);
    let bad = MaskColor { color: [0, 0, 0], threshold: -1.0, stiffness: 1.0 };
    let e = param_msg(mask_color(&s, &mut ImageMut::new("dst", &mut m, shape(3, 1, 1)).unwrap(), bad));
    assert!(e.contains("threshold must be a finite number >= 0, got -1"), "{e}");
}

#[test]
fn resize_one_pixel_and_same_size() {
    for c in [1, 3, 4] {
        let px = noise(c, 11);
        let s = Image::new("src", &px, shape(1, 1, c)).unwrap();
        for f in [ResizeFilter::Nearest, ResizeFilter::Bilinear, ResizeFilter::Bicubic, ResizeFilter::Lanczos3] {
            let mut out = vec![0u8; 5 * 3 * c];
            resize(&s, &mut ImageMut::new("dst", &mut out, shape(5, 3, c)).unwrap(), f).unwrap();
            assert!(out.chunks(c).all(|p| p == px), "{f:?} c {c}");
            let mut back = vec![0u8; c];
            let o = Image::new("src", &out, shape(5, 3, c)).unwrap();
            resize(&o, &mut ImageMut::new("dst", &mut back, shape(1, 1, c)).unwrap(), f).unwrap();
            assert_eq!(back, px);
        }
    }
    let px = noise(7 * 5 * 3, 12);
    let s = Image::new("src", &px, shape(7, 5, 3)).unwrap();
    let mut out = vec![0u8; px.len()];
    resize(&s, &mut ImageMut::new("dst", &mut out, shape(7, 5, 3)).unwrap(), ResizeFilter::Lanczos3).unwrap();
    assert_eq!(out, px);
    let mut out4 = vec![0u8; 4];
    let m =
        param_msg(resize(&s, &mut ImageMut::new("dst", &mut out4, shape(1, 1, 4)).unwrap(), ResizeFilter::Bilinear));
    assert!(m.contains("dst must have the channel count of src (3), got shape (1, 1, 4)"), "{m}");
}

#[test]
fn resize_rgba_does_not_premultiply() {
    // A transparent red pixel next to an opaque blue one: red keeps its colour.
    let px = [255u8, 0, 0, 0, 0, 0, 255, 255];
    let s = Image::new("src", &px, shape(1, 2, 4)).unwrap();
    let mut out = vec![0u8; 4];
    resize(&s, &mut ImageMut::new("dst", &mut out, shape(1, 1, 4)).unwrap(), ResizeFilter::Bilinear).unwrap();
    assert_eq!(out, [128, 0, 128, 128]);
}

/// The bytes do not depend on which CPU extension runs: every one this CPU has gives what the
/// scalar code gives.
#[test]
fn resize_is_the_same_with_every_cpu_extension() {
    use fast_image_resize::{CpuExtensions, Resizer};
    #[cfg(target_arch = "x86_64")]
    let all = [CpuExtensions::None, CpuExtensions::Sse4_1, CpuExtensions::Avx2];
    #[cfg(target_arch = "aarch64")]
    let all = [CpuExtensions::None, CpuExtensions::Neon];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let all = [CpuExtensions::None];
    for (c, (sw, sh), (dw, dh)) in [(3, (101, 67), (37, 23)), (1, (64, 48), (129, 97)), (4, (50, 31), (23, 60))] {
        let px = noise(sw * sh * c, (c * sw) as u64);
        let s = Image::new("src", &px, shape(sh, sw, c)).unwrap();
        for f in [ResizeFilter::Bilinear, ResizeFilter::Bicubic, ResizeFilter::Lanczos3] {
            let mut want: Option<Vec<u8>> = None;
            for ext in all.iter().filter(|e| e.is_supported()) {
                let mut r = Resizer::new();
                // SAFETY: only extensions this CPU supports (is_supported above).
                unsafe { r.set_cpu_extensions(*ext) };
                let mut out = vec![0u8; dw * dh * c];
                resize_with(&s, &mut ImageMut::new("dst", &mut out, shape(dh, dw, c)).unwrap(), f, r).unwrap();
                match &want {
                    None => want = Some(out),
                    Some(w) => assert!(w == &out, "{ext:?} differs from the scalar code ({f:?}, c {c})"),
                }
            }
        }
    }
}

/// The 2x2 box reduction's run-time pick (AVX2 where the CPU has it) gives the portable code's
/// bytes, and both the exact block means: widths with whole blocks of 96 samples and remainders,
/// for 1, 3 and 4 channels.
#[test]
fn half_size_is_the_same_compiled_for_any_cpu() {
    for c in [1, 3, 4] {
        for dw in [1, 16, 47, 61, 640] {
            let (sw, sh, dh) = (2 * dw, 6, 3);
            let px = noise(sw * sh * c, (c * 1000 + dw) as u64);
            let s = Image::new("src", &px, shape(sh, sw, c)).unwrap();
            let mut picked = vec![0u8; dw * dh * c];
            resize(&s, &mut ImageMut::new("dst", &mut picked, shape(dh, dw, c)).unwrap(), ResizeFilter::Box).unwrap();
            let mut portable = vec![0u8; dw * dh * c];
            half_size_portable_for_tests(&s, &mut ImageMut::new("dst", &mut portable, shape(dh, dw, c)).unwrap());
            assert!(picked == portable, "c {c} dw {dw}");
            for y in 0..dh {
                for x in 0..dw {
                    for k in 0..c {
                        let at = |yy: usize, xx: usize| u32::from(px[(yy * sw + xx) * c + k]);
                        let sum =
                            at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1);
                        assert_eq!(
                            u32::from(picked[(y * dw + x) * c + k]),
                            (sum + 2) / 4,
                            "c {c} dw {dw} ({x}, {y}, {k})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn rotated_sizes_like_pillow() {
    // Values from Pillow 13: Image.new("L", (w, h)).rotate(a, expand=True).size
    assert_eq!(rotated_size(1280, 720, 30.0).unwrap(), (1470, 1264));
    assert_eq!(rotated_size(100, 50, 90.0).unwrap(), (50, 100));
    assert_eq!(rotated_size(100, 50, -90.0).unwrap(), (50, 100));
    assert_eq!(rotated_size(100, 50, 180.0).unwrap(), (100, 50));
    assert_eq!(rotated_size(100, 50, 360.0).unwrap(), (100, 50));
    assert_eq!(rotated_size(1, 1, 45.0).unwrap(), (3, 3));
    assert!(param_msg(rotated_size(100, 50, f64::NAN).map(|_| ())).contains("angle must be a finite number"));
    assert!(param_msg(rotated_size(0, 50, 10.0).map(|_| ())).contains("1 to 65535 pixels"));
    assert!(param_msg(rotated_size(65_535, 65_535, 45.0).map(|_| ())).contains("more than 65535"));
}

#[test]
fn rotate_quarter_turns_are_exact() {
    // 2x3 (h x w) gray: rows [0 1 2], [3 4 5].
    let px = [0u8, 1, 2, 3, 4, 5];
    let s = Image::new("src", &px, shape(2, 3, 1)).unwrap();
    let mut out = vec![0u8; 6];
    rotate(&s, &mut ImageMut::new("dst", &mut out, shape(3, 2, 1)).unwrap(), 90.0, RotateFilter::Bicubic, None)
        .unwrap();
    assert_eq!(out, [2, 5, 1, 4, 0, 3]); // numpy.rot90
    rotate(&s, &mut ImageMut::new("dst", &mut out, shape(3, 2, 1)).unwrap(), 270.0, RotateFilter::Bicubic, None)
        .unwrap();
    assert_eq!(out, [3, 0, 4, 1, 5, 2]);
    rotate(&s, &mut ImageMut::new("dst", &mut out, shape(2, 3, 1)).unwrap(), -180.0, RotateFilter::Nearest, None)
        .unwrap();
    assert_eq!(out, [5, 4, 3, 2, 1, 0]);
}

#[test]
fn rotate_one_pixel_and_background() {
    for f in [RotateFilter::Nearest, RotateFilter::Bilinear, RotateFilter::Bicubic] {
        let px = [10u8, 20, 30];
        let s = Image::new("src", &px, shape(1, 1, 3)).unwrap();
        let mut out = vec![0u8; 3 * 3 * 3];
        rotate(&s, &mut ImageMut::new("dst", &mut out, shape(3, 3, 3)).unwrap(), 45.0, f, Some(&[1, 2, 3])).unwrap();
        // Pillow 13: the centre pixel is the source, the other eight are the fill colour.
        for (i, p) in out.chunks(3).enumerate() {
            assert_eq!(p, if i == 4 { [10, 20, 30] } else { [1, 2, 3] }, "{f:?}: {out:?}");
        }
        let m =
            param_msg(rotate(&s, &mut ImageMut::new("dst", &mut out, shape(3, 3, 3)).unwrap(), 45.0, f, Some(&[1])));
        assert!(m.contains("bg must have one value per channel (3), got 1"), "{m}");
        let mut wrong = vec![0u8; 4 * 3];
        let m = param_msg(rotate(&s, &mut ImageMut::new("dst", &mut wrong, shape(2, 2, 3)).unwrap(), 45.0, f, None));
        assert!(m.contains("must be the rotated size, shape (3, 3, 3)"), "{m}");
    }
}

#[test]
fn drop_alpha_keeps_the_colour_channels_and_checks_shapes() {
    let src: Vec<u8> = (0..2 * 3 * 4).map(|v| v as u8).collect();
    let s = Image::new("src", &src, shape(2, 3, 4)).unwrap();
    let mut out = vec![0u8; 2 * 3 * 3];
    drop_alpha(&s, &mut ImageMut::new("dst", &mut out, shape(2, 3, 3)).unwrap()).unwrap();
    let expected: Vec<u8> = src.chunks_exact(4).flat_map(|p| p[..3].to_vec()).collect();
    assert_eq!(out, expected);
    let mut small = vec![0u8; 3 * 3];
    let m = param_msg(drop_alpha(&s, &mut ImageMut::new("dst", &mut small, shape(1, 3, 3)).unwrap()));
    assert!(m.contains("dst must have the height and width of src"), "{m}");
    let m = param_msg(drop_alpha(&s, &mut ImageMut::new("dst", &mut out[..2 * 3], shape(2, 3, 1)).unwrap()));
    assert!(m.contains("dst must have 3 channels, got shape (2, 3)"), "{m}");
}
