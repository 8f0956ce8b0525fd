//! GifEncoder tests. Output is read back with the `gif` crate's *decoder* (a separate code path
//! from the encoder's block writer) and composited here per the GIF89a rules (disposal "keep",
//! transparent index), then compared with the source. The pipeline and Python tests decode
//! with ffmpeg and Pillow as well. Every file is also checked strictly (`decode_strict`): walked
//! block by block per GIF89a with an LZW decoder of our own (EOI last, exactly at the end of
//! the data), and read by the `gif` crate's strict options.

use super::*;
use std::io::{Cursor, Seek, SeekFrom};

/// A decoded GIF: the displayed canvas after each image, each image's delay (cs), rectangle,
/// whether it had a local table, and the loop count.
struct Decoded {
    canvases: Vec<Vec<u8>>,
    delays: Vec<u16>,
    rects: Vec<(u16, u16, u16, u16)>,
    local: Vec<bool>,
    transparent: Vec<Option<u8>>,
    repeat: ::gif::Repeat,
}

impl Decoded {
    /// The picture shown during each source frame at `fps` (from the delays).
    fn display_frames(&self, fps: f64, n: usize) -> Vec<&[u8]> {
        let mut starts = vec![0u64];
        for d in &self.delays {
            starts.push(starts.last().unwrap() + *d as u64);
        }
        (0..n)
            .map(|i| {
                let t = (i as f64 * 100.0 / fps).floor() as u64;
                let k = starts.iter().rposition(|&s| s <= t).unwrap().min(self.canvases.len() - 1);
                &self.canvases[k][..]
            })
            .collect()
    }
}

fn decode(bytes: &[u8]) -> Decoded {
    decode_strict(bytes);
    assert_eq!(&bytes[..6], b"GIF89a");
    assert_eq!(*bytes.last().unwrap(), 0x3B, "a GIF ends with the trailer byte");
    let mut opts = ::gif::DecodeOptions::new();
    opts.set_color_output(::gif::ColorOutput::Indexed);
    let mut dec = opts.read_info(Cursor::new(bytes)).expect("valid GIF header");
    let (w, h) = (dec.width() as usize, dec.height() as usize);
    let global = dec.global_palette().map(|p| p.to_vec());
    let mut canvas = vec![0u8; w * h * 3];
    let mut out = Decoded {
        canvases: vec![],
        delays: vec![],
        rects: vec![],
        local: vec![],
        transparent: vec![],
        repeat: ::gif::Repeat::Finite(0),
    };
    while let Some(f) = dec.read_next_frame().expect("valid GIF frame") {
        assert_eq!(f.dispose, ::gif::DisposalMethod::Keep);
        let pal = f.palette.clone().or_else(|| global.clone()).expect("a colour table");
        for y in 0..f.height as usize {
            for x in 0..f.width as usize {
                let i = f.buffer[y * f.width as usize + x];
                if Some(i) == f.transparent {
                    continue;
                }
                let o = ((f.top as usize + y) * w + f.left as usize + x) * 3;
                canvas[o..o + 3].copy_from_slice(&pal[i as usize * 3..i as usize * 3 + 3]);
            }
        }
        out.canvases.push(canvas.clone());
        out.delays.push(f.delay);
        out.rects.push((f.left, f.top, f.width, f.height));
        out.local.push(f.palette.is_some());
        out.transparent.push(f.transparent);
    }
    out.repeat = dec.repeat();
    out
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn encode(frames: &[Vec<u8>], w: u32, h: u32, fps: (u32, u32), opts: GifOptions) -> Vec<u8> {
    let mut enc = GifEncoder::new(Cursor::new(Vec::new()), w, h, Rational::new(fps.0, fps.1).unwrap(), &opts).unwrap();
    for f in frames {
        enc.write_rgb(f).unwrap();
    }
    enc.finish().unwrap();
    assert_eq!(enc.frames(), frames.len() as u64);
    enc.into_sink().unwrap().into_inner()
}

/// A plot-like frame: white, a black axis, a moving anti-aliased blue bar (few colours).
fn plot(i: u32, w: u32, h: u32) -> Vec<u8> {
    let mut v = vec![255u8; (w * h * 3) as usize];
    for y in 0..h {
        for x in 0..w {
            let o = ((y * w + x) * 3) as usize;
            if x == 2 || y == h - 3 {
                v[o..o + 3].copy_from_slice(&[0, 0, 0]);
            }
            let c = (i * 3 + 5) as i32 - x as i32;
            if (0..=3).contains(&c) && y > h / 3 {
                let a = [64u32, 128, 192, 255][c as usize];
                let blend = |s: u32| (255 * (255 - a) + s * a) / 255;
                v[o..o + 3].copy_from_slice(&[blend(31) as u8, blend(119) as u8, blend(180) as u8]);
            }
        }
    }
    v
}

/// Photo-like: smooth gradients over every pixel, all moving.
fn gradient(i: u32, w: u32, h: u32, hue: f32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let t = i as f32 * 0.1;
            v.push((128.0 + 100.0 * ((x as f32) / 23.0 + t + hue).sin()) as u8);
            v.push((128.0 + 100.0 * ((y as f32) / 17.0 - t).sin()) as u8);
            v.push((128.0 + 100.0 * ((x + y) as f32 / 31.0 + 0.5 * t - hue).cos()) as u8);
        }
    }
    v
}

#[test]
fn delays_carry_rounding_so_the_total_is_exact() {
    let frames: Vec<_> = (0..10).map(|i| plot(i, 40, 30)).collect();
    let d = decode(&encode(&frames, 40, 30, (30, 1), GifOptions::default()));
    assert_eq!(d.delays, [3, 3, 4, 3, 3, 4, 3, 3, 4, 3]);
    assert_eq!(d.delays.iter().map(|&d| d as u32).sum::<u32>(), 33); // floor(1000 / 30)
                                                                     // NTSC: 100 frames at 30000/1001 last 333.67 cs → 333.
    let frames: Vec<_> = (0..100).map(|i| plot(i % 12, 40, 30)).collect();
    let d = decode(&encode(&frames, 40, 30, (30000, 1001), GifOptions::default()));
    assert_eq!(d.delays.iter().map(|&d| d as u32).sum::<u32>(), 333);
    assert!(d.delays.iter().all(|&d| d == 3 || d == 4));
}

#[test]
fn identical_frames_merge_into_a_longer_delay() {
    let (a, b) = (plot(0, 40, 30), plot(5, 40, 30));
    let frames = vec![a.clone(), a.clone(), a.clone(), b.clone(), b.clone(), a.clone()];
    let d = decode(&encode(&frames, 40, 30, (10, 1), GifOptions::default()));
    assert_eq!(d.delays, [30, 20, 10]);
    assert_eq!(d.canvases.len(), 3);
    for (shown, src) in d.display_frames(10.0, 6).iter().zip(&frames) {
        assert_eq!(*shown, &src[..], "lossless for a few colours");
    }
}

#[test]
fn above_50_fps_no_delay_is_below_2cs_and_the_total_is_kept() {
    let frames: Vec<_> = (0..12).map(|i| plot(i, 40, 30)).collect();
    let d = decode(&encode(&frames, 40, 30, (60, 1), GifOptions::default()));
    assert!(d.delays.iter().all(|&d| d >= 2), "{:?}", d.delays);
    assert_eq!(d.delays.iter().map(|&d| d as u32).sum::<u32>(), 20);
    assert!(d.canvases.len() < 12);
}

#[test]
fn delays_longer_than_655_seconds_are_split() {
    // 1 frame every 1000 s: 100000 cs, more than one image's 65535.
    let frames = vec![plot(0, 8, 8), plot(1, 8, 8)];
    let d = decode(&encode(&frames, 8, 8, (1, 1000), GifOptions::default()));
    assert_eq!(d.delays.iter().map(|&d| d as u64).sum::<u64>(), 200_000);
    assert_eq!(d.delays, [65535, 34465, 65535, 34465]);
    assert_eq!(d.canvases[1], d.canvases[0], "the continuation image changes nothing");
    assert_eq!(d.canvases[3], plot(1, 8, 8));
}

#[test]
fn unchanged_pixels_are_transparent_and_images_cropped() {
    let a = plot(0, 64, 48);
    let mut b = a.clone();
    for y in 10..14 {
        for x in 20..26 {
            let o = (y * 64 + x) * 3;
            b[o..o + 3].copy_from_slice(&[200, 30, 30]);
        }
    }
    let d = decode(&encode(&[a.clone(), b.clone()], 64, 48, (25, 1), GifOptions::default()));
    assert_eq!(d.rects, [(0, 0, 64, 48), (20, 10, 6, 4)]);
    assert_eq!(d.canvases[1], b);
    // A change that needs transparency inside the rectangle: two separate spots.
    let mut c = b.clone();
    c[(40 * 64 + 50) * 3] = 0;
    let d = decode(&encode(&[a, b, c.clone()], 64, 48, (25, 1), GifOptions::default()));
    assert_eq!(d.rects[2], (50, 40, 1, 1));
    assert_eq!(d.canvases[2], c);
    let mut e = c.clone();
    e[(2 * 64 + 60) * 3 + 1] = 7;
    e[(45 * 64 + 4) * 3 + 2] = 9;
    let frames = [plot(0, 64, 48), c, e.clone()];
    let d = decode(&encode(&frames, 64, 48, (25, 1), GifOptions::default()));
    assert_eq!(d.rects[2], (4, 2, 57, 44));
    assert!(d.transparent[2].is_some());
    assert_eq!(d.canvases[2], e);
}

#[test]
fn few_colours_are_lossless_and_the_palette_grows_as_colours_appear() {
    // Frame 0 has white, black and no bar colours; the bar's shades appear later.
    let mut frames = vec![vec![255u8; 48 * 32 * 3]];
    frames.extend((0..12).map(|i| plot(i, 48, 32)));
    let bytes = encode(&frames, 48, 32, (20, 1), GifOptions::default());
    let d = decode(&bytes);
    assert!(d.local.iter().all(|l| !l), "the global palette grows; no local tables needed");
    for (shown, src) in d.display_frames(20.0, frames.len()).iter().zip(&frames) {
        assert_eq!(*shown, &src[..]);
    }
}

#[test]
fn many_colours_quantize_well_and_scene_changes_get_a_local_palette() {
    let (w, h) = (96, 64);
    let mut frames: Vec<_> = (0..4).map(|i| gradient(i, w, h, 0.0)).collect();
    // A different scene: other colours everywhere.
    frames.extend((0..4).map(|i| gradient(i, w, h, 2.5).iter().map(|v| v / 3).collect::<Vec<_>>()));
    for dither in Dither::ALL {
        let bytes = encode(&frames, w, h, (10, 1), GifOptions { dither, ..Default::default() });
        let d = decode(&bytes);
        assert_eq!(d.canvases.len(), 8);
        assert!(d.local[4], "{dither}: the scene change gets its own palette");
        for (i, (shown, src)) in d.canvases.iter().zip(&frames).enumerate() {
            let p = psnr(shown, src);
            // Error diffusion trades PSNR for smoothness.
            let min = if dither == Dither::FloydSteinberg { 27.0 } else { 30.0 };
            assert!(p > min, "{dither}: frame {i} PSNR {p:.1}");
        }
    }
}

#[test]
fn colors_option_bounds_the_palette() {
    let frames: Vec<_> = (0..3).map(|i| gradient(i, 64, 48, 0.0)).collect();
    for colors in [2u16, 16, 100] {
        let d = decode(&encode(
            &frames,
            64,
            48,
            (10, 1),
            GifOptions { colors, dither: Dither::None, ..Default::default() },
        ));
        for c in &d.canvases {
            let distinct: std::collections::HashSet<_> = c.chunks_exact(3).collect();
            // The last frame may show pixels from up to three palettes (kept + new).
            assert!(distinct.len() <= 3 * colors as usize, "colors={colors}: {}", distinct.len());
        }
        let first: std::collections::HashSet<_> = d.canvases[0].chunks_exact(3).collect();
        assert!(first.len() <= colors as usize);
        assert!(psnr(&d.canvases[0], &frames[0]) > if colors == 2 { 8.0 } else { 20.0 });
    }
}

#[test]
fn loop_count_is_plays_in_all() {
    let frames = vec![plot(0, 8, 8), plot(1, 8, 8)];
    for (plays, repeat) in [(0, ::gif::Repeat::Infinite), (1, ::gif::Repeat::Finite(0)), (3, ::gif::Repeat::Finite(2))]
    {
        let bytes = encode(&frames, 8, 8, (10, 1), GifOptions { loop_count: plays, ..Default::default() });
        assert_eq!(decode(&bytes).repeat, repeat, "loop {plays}");
        assert_eq!(bytes.windows(11).any(|w| w == b"NETSCAPE2.0"), plays != 1);
    }
}

#[test]
fn ordered_dither_keeps_still_areas_still() {
    // A gradient that stands still with a small moving square: only the square's area changes.
    let (w, h) = (64u32, 48u32);
    let still = gradient(0, w, h, 0.0);
    let frames: Vec<_> = (0..5)
        .map(|i| {
            let mut f = still.clone();
            for y in 20..26 {
                for x in (4 + i * 8)..(10 + i * 8) {
                    let o = ((y * w + x) * 3) as usize;
                    f[o..o + 3].copy_from_slice(&[250, 250, 0]);
                }
            }
            f
        })
        .collect();
    for dither in Dither::ALL {
        let d = decode(&encode(&frames, w, h, (10, 1), GifOptions { dither, ..Default::default() }));
        for r in &d.rects[1..] {
            assert!(r.3 <= 6 && r.1 >= 20, "{dither}: image {r:?} should cover only the square's rows");
        }
    }
}

/// A sink that fails (disk full) once `cap` bytes would be exceeded.
struct Capped {
    inner: Cursor<Vec<u8>>,
    cap: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.inner.position();
        if pos + buf.len() as u64 > self.cap {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Seek for Capped {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}
impl GifSink for Capped {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.inner.get_mut().truncate(len as usize);
        Ok(())
    }
}

/// Plot-like frames with a gradient band (a local palette now and then), 48x32: the full-disk
/// tests' input.
fn full_disk_frames() -> Vec<Vec<u8>> {
    (0..30)
        .map(|i| {
            let mut f = plot(i, 48, 32);
            if i % 7 == 3 {
                f[..48 * 24 * 3].copy_from_slice(&gradient(i, 48, 24, 0.0));
            }
            f
        })
        .collect()
}

#[test]
fn a_full_disk_keeps_every_whole_frame_in_a_valid_gif() {
    let frames = full_disk_frames();
    let full = encode(&frames, 48, 32, (10, 1), GifOptions::default());
    assert!(decode(&full).local.iter().any(|&l| l), "some images have a local palette");
    let mut outcomes = (0, 0);
    // Every cap from the header to past the end, including one exactly at each image's end
    // (the trailer then does not fit and the last image is dropped).
    let d = decode(&full);
    let mut caps: Vec<u64> = (800..full.len() as u64 + 10).step_by(397).collect();
    caps.extend(image_ends(&full));
    assert!(d.canvases.len() >= 20);
    for cap in caps {
        let mut enc = GifEncoder::new(
            Capped { inner: Cursor::new(vec![]), cap },
            48,
            32,
            Rational::new(10, 1).unwrap(),
            &GifOptions::default(),
        )
        .unwrap();
        let mut err = None;
        for (i, f) in frames.iter().enumerate() {
            if let Err(e) = enc.write_rgb(f) {
                assert!(e.is_disk_full(), "{e}");
                err = Some(i);
                break;
            }
        }
        let finished = enc.finish();
        if err.is_none() {
            err = enc.take_write_error().map(|_| frames.len());
        }
        let kept = enc.frames() as usize;
        let out = enc.into_sink().unwrap().inner.into_inner();
        match finished {
            Ok(()) => {
                outcomes.0 += 1;
                let d = decode(&out);
                assert!(kept >= 1);
                let shown: u64 = d.delays.iter().map(|&d| d as u64).sum();
                assert_eq!(shown, kept as u64 * 10, "cap {cap}: delays cover the kept frames");
                for (i, (s, f)) in d.display_frames(10.0, kept).iter().zip(&frames).enumerate() {
                    assert!(psnr(s, f) > 30.0, "cap {cap}: frame {i}");
                }
                if let Some(i) = err {
                    assert!(kept <= i, "cap {cap}: kept {kept} frames, failed at {i}");
                }
            }
            Err(e) => {
                outcomes.1 += 1;
                assert_eq!(kept, 0, "cap {cap} (of {}), error at {err:?}: {e}", full.len());
                assert!(e.to_string().contains("no frame"), "{e}");
            }
        }
    }
    assert!(outcomes.0 > 5 && outcomes.1 >= 1, "{outcomes:?}");
}

/// Byte offsets just past each image's data (where the next block starts).
fn image_ends(gif: &[u8]) -> Vec<u64> {
    let mut ends = Vec::new();
    let mut i = 13 + 768;
    while i < gif.len() {
        match gif[i] {
            0x3B => break,
            0x21 => {
                i += 2;
                while gif[i] != 0 {
                    i += gif[i] as usize + 1;
                }
                i += 1;
            }
            0x2C => {
                let flags = gif[i + 9];
                i += 10;
                if flags & 0x80 != 0 {
                    i += 3 * (2 << (flags & 7));
                }
                i += 1; // minimum code size
                while gif[i] != 0 {
                    i += gif[i] as usize + 1;
                }
                i += 1;
                ends.push(i as u64);
            }
            b => panic!("unexpected block {b:#x} at {i}"),
        }
    }
    ends
}

#[test]
fn wrong_sizes_are_refused_with_the_frame_index() {
    let mut enc =
        GifEncoder::new(Cursor::new(vec![]), 8, 8, Rational::new(10, 1).unwrap(), &GifOptions::default()).unwrap();
    enc.write_rgb(&plot(0, 8, 8)).unwrap();
    let e = enc.write_rgb(&[0; 10]).unwrap_err();
    assert!(e.to_string().contains("frame 1"), "{e}");
    assert!(GifOptions { colors: 1, ..Default::default() }.validate().is_err());
    assert!(GifOptions { colors: 257, ..Default::default() }.validate().is_err());
    assert!(GifOptions { loop_count: 65537, ..Default::default() }.validate().is_err());
}

// ---------------------------------------------------------------------------------------------
// Strict conformance: every image decoded by the `gif` crate in its strictest mode, and the file
// walked byte by byte here (GIF89a blocks, sub-blocks, and an LZW decoder of our own).
// ---------------------------------------------------------------------------------------------

/// One image as read by [`parse_strict`].
#[derive(Debug)]
struct RawImage {
    rect: (u16, u16, u16, u16),
    /// The image's colour table (local or global), RGB.
    table: Vec<u8>,
    local: bool,
    transparent: Option<u8>,
    delay: u16,
    min_code_size: u8,
    /// Palette indices from our own LZW decoder.
    indices: Vec<u8>,
    /// Clear codes after the first code (the table filled up).
    mid_clears: usize,
    /// Widest code read, in bits.
    max_width: u8,
    /// The LZW data (all sub-blocks together).
    lzw: Vec<u8>,
    /// Bit where the EOI code starts, and the bit after it.
    eoi_bit: usize,
    end_bit: usize,
}

/// A GIF's LZW stream (sub-blocks joined) decoded per GIF89a appendix F: variable-width codes,
/// LSB first, starting at `min_code_size + 1` bits, growing when the table reaches `1 << width`,
/// at most 12 bits. Panics unless the stream starts with a Clear code, ends with exactly one
/// EOI after exactly `pixels` indices, and nothing but zero padding bits follows the EOI.
/// Returns the indices, the Clear codes after the first code, the widest code and the bits where
/// the EOI starts and ends.
fn lzw_decode_strict(data: &[u8], min_code_size: u8, pixels: usize, what: &str) -> (Vec<u8>, usize, u8, usize, usize) {
    assert!((2..=8).contains(&min_code_size), "{what}: minimum code size {min_code_size}");
    let clear = 1u16 << min_code_size;
    let eoi = clear + 1;
    // Table: (prefix code, last byte, length); roots are 0..clear.
    let mut prefix = vec![0u16; 4096];
    let mut suffix = vec![0u8; 4096];
    let mut len = vec![0u16; 4096];
    for c in 0..clear {
        suffix[c as usize] = c as u8;
        len[c as usize] = 1;
    }
    let (mut bitpos, total_bits) = (0usize, data.len() * 8);
    let mut width = min_code_size + 1;
    let mut next = eoi + 1;
    let mut prev: Option<u16> = None;
    let mut out: Vec<u8> = Vec::with_capacity(pixels);
    let (mut ncodes, mut mid_clears, mut max_width) = (0usize, 0usize, width);
    let first_byte = |code: u16, prefix: &[u16], len: &[u16]| {
        let mut c = code;
        for _ in 1..len[code as usize] {
            c = prefix[c as usize];
        }
        c as u8
    };
    let eoi_bit = loop {
        assert!(
            bitpos + width as usize <= total_bits,
            "{what}: the LZW data ends without an End-Of-Information code ({} of {pixels} pixels, {ncodes} codes)",
            out.len()
        );
        let mut code = 0u16;
        for k in 0..width as usize {
            let b = bitpos + k;
            code |= (((data[b / 8] >> (b % 8)) & 1) as u16) << k;
        }
        bitpos += width as usize;
        max_width = max_width.max(width);
        if ncodes == 0 {
            assert_eq!(code, clear, "{what}: the first code is not a Clear code");
        }
        ncodes += 1;
        if code == clear {
            if ncodes > 1 {
                mid_clears += 1;
            }
            width = min_code_size + 1;
            next = eoi + 1;
            prev = None;
            continue;
        }
        if code == eoi {
            break bitpos - width as usize;
        }
        let Some(p) = prev else {
            assert!(code < clear, "{what}: code {code} right after a Clear code is not a root");
            out.push(code as u8);
            prev = Some(code);
            continue;
        };
        let emit = if code < next {
            code
        } else {
            assert!(code == next && next < 4096, "{what}: code {code} not in the table (next {next}, width {width})");
            code
        };
        if next < 4096 {
            // New entry: prev's string + first byte of this code's string (KwKwK when code == next).
            let fb = if code == next { first_byte(p, &prefix, &len) } else { first_byte(code, &prefix, &len) };
            prefix[next as usize] = p;
            suffix[next as usize] = fb;
            len[next as usize] = len[p as usize] + 1;
            next += 1;
            if next == 1 << width && width < 12 {
                width += 1;
            }
        }
        // Write the string of `emit` (back to front).
        let l = len[emit as usize] as usize;
        let start = out.len();
        out.resize(start + l, 0);
        let mut c = emit;
        for i in (0..l).rev() {
            out[start + i] = suffix[c as usize];
            c = prefix[c as usize];
        }
        assert!(out.len() <= pixels, "{what}: more than {pixels} pixels of LZW data before the EOI");
        prev = Some(code);
    };
    assert_eq!(out.len(), pixels, "{what}: EOI after {} of {pixels} pixels", out.len());
    assert_eq!(
        data.len(),
        bitpos.div_ceil(8),
        "{what}: {} bytes of LZW data after the EOI code (which ends at bit {bitpos})",
        data.len() - bitpos.div_ceil(8)
    );
    if bitpos % 8 != 0 {
        assert_eq!(data[data.len() - 1] >> (bitpos % 8), 0, "{what}: padding bits after the EOI are not zero");
    }
    (out, mid_clears, max_width, eoi_bit, bitpos)
}

/// Walk a whole GIF as GIF89a defines it, panicking at the first deviation: header, logical
/// screen descriptor, global colour table, then only graphic control extensions (one at most,
/// right before an image), the NETSCAPE looping extension, images (inside the screen, a colour
/// table, data sub-blocks of 1..=255 bytes ended by a 0 byte, a valid LZW stream), and a
/// trailer as the very last byte.
fn parse_strict(bytes: &[u8]) -> Vec<RawImage> {
    let byte = |i: usize| *bytes.get(i).unwrap_or_else(|| panic!("file ends early at byte {i}"));
    let u16_at = |i: usize| u16::from_le_bytes([byte(i), byte(i + 1)]);
    assert_eq!(&bytes[..6], b"GIF89a");
    let (sw, sh) = (u16_at(6), u16_at(8));
    assert!(sw > 0 && sh > 0);
    let flags = byte(10);
    assert!(flags & 0x80 != 0, "a global colour table");
    let global_len = 2usize << (flags & 7);
    assert_eq!(byte(12), 0, "pixel aspect ratio unset");
    let mut i = 13 + 3 * global_len;
    let mut images = Vec::new();
    let mut gce: Option<(u16, Option<u8>)> = None;
    let mut netscape = 0;
    loop {
        match byte(i) {
            0x3B => {
                assert_eq!(i + 1, bytes.len(), "bytes after the trailer");
                assert!(gce.is_none(), "a graphic control extension with no image after it");
                break;
            }
            0x21 => match byte(i + 1) {
                0xF9 => {
                    assert!(gce.is_none(), "two graphic control extensions for one image at {i}");
                    assert_eq!(byte(i + 2), 4, "graphic control extension block size");
                    let packed = byte(i + 3);
                    assert_eq!(packed & 0xE0, 0, "reserved bits");
                    assert_eq!((packed >> 2) & 7, 1, "disposal: keep");
                    assert_eq!(packed & 2, 0, "no user input");
                    let delay = u16_at(i + 4);
                    let trns = (packed & 1 != 0).then(|| byte(i + 6));
                    assert_eq!(byte(i + 7), 0, "graphic control extension terminator");
                    gce = Some((delay, trns));
                    i += 8;
                }
                0xFF => {
                    assert!(images.is_empty() && gce.is_none(), "NETSCAPE block before the first image");
                    netscape += 1;
                    assert_eq!(byte(i + 2), 11);
                    assert_eq!(&bytes[i + 3..i + 14], b"NETSCAPE2.0");
                    assert_eq!(&bytes[i + 14..i + 16], [3, 1], "looping sub-block");
                    assert_eq!(byte(i + 18), 0, "application extension terminator");
                    i += 19;
                }
                l => panic!("unexpected extension {l:#x} at {i}"),
            },
            0x2C => {
                let (left, top, w, h) = (u16_at(i + 1), u16_at(i + 3), u16_at(i + 5), u16_at(i + 7));
                let what = format!("image {} at byte {i} ({w}x{h} at {left},{top})", images.len());
                assert!(w > 0 && h > 0, "{what}: empty image");
                assert!(
                    left as u32 + w as u32 <= sw as u32 && top as u32 + h as u32 <= sh as u32,
                    "{what}: outside the screen"
                );
                let f = byte(i + 9);
                assert_eq!(f & 0x58, 0, "{what}: interlace, sort and reserved bits");
                i += 10;
                let (local, table_len, table) = if f & 0x80 != 0 {
                    let n = 2usize << (f & 7);
                    i += 3 * n;
                    (true, n, bytes[i - 3 * n..i].to_vec())
                } else {
                    (false, global_len, bytes[13..13 + 3 * global_len].to_vec())
                };
                let min_code_size = byte(i);
                i += 1;
                let mut data = Vec::new();
                loop {
                    let n = byte(i) as usize;
                    i += 1;
                    if n == 0 {
                        break;
                    }
                    assert!(i + n <= bytes.len(), "{what}: sub-block past the end of the file");
                    data.extend_from_slice(&bytes[i..i + n]);
                    i += n;
                }
                let pixels = w as usize * h as usize;
                let (indices, mid_clears, max_width, eoi_bit, end_bit) =
                    lzw_decode_strict(&data, min_code_size, pixels, &what);
                let (delay, transparent) = gce.take().unwrap_or((0, None));
                if let Some(t) = transparent {
                    assert!((t as usize) < table_len, "{what}: transparent index {t} outside the table");
                }
                assert!(indices.iter().all(|&v| (v as usize) < table_len), "{what}: index outside the colour table");
                images.push(RawImage {
                    rect: (left, top, w, h),
                    table,
                    local,
                    transparent,
                    delay,
                    min_code_size,
                    indices,
                    mid_clears,
                    max_width,
                    lzw: data,
                    eoi_bit,
                    end_bit,
                });
            }
            b => panic!("unexpected block introducer {b:#x} at byte {i}"),
        }
    }
    assert!(netscape <= 1);
    images
}

/// The `gif` crate's strict options: frames must lie inside the screen, no unknown blocks.
fn strict_options() -> ::gif::DecodeOptions {
    let mut opts = ::gif::DecodeOptions::new();
    opts.set_color_output(::gif::ColorOutput::Indexed);
    opts.check_frame_consistency(true);
    opts.allow_unknown_blocks(false);
    opts
}

/// Decode with the `gif` crate at its strictest and check each image against [`parse_strict`]
/// (which checks the EOI placement itself):
///
/// 1. `Decoder` with `check_frame_consistency(true)` and `allow_unknown_blocks(false)`: every
///    image's descriptor, transparency, delay and pixels.
/// 2. `skip_frame_decoding(true)`: the crate's own reading of each image's sub-blocks gives the
///    same LZW bytes, which its `FrameDecoder` with `check_lzw_end_code(true)` decodes to the
///    same pixels (that check fails when the data runs out before the last pixel).
///
/// `check_lzw_end_code(true)` on the full `Decoder` is not used: in gif 0.14.2 it rejects valid
/// streams (see `gif_crate_end_code_check_rejects_valid_streams`).
fn decode_strict(bytes: &[u8]) -> Vec<RawImage> {
    let raw = parse_strict(bytes);
    let mut dec = strict_options().read_info(Cursor::new(bytes)).expect("strict: GIF header");
    let mut n = 0;
    loop {
        let f = match dec.read_next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => panic!("strict gif decoder: {e} (reading image {n} of {})", raw.len()),
        };
        let r = &raw[n];
        assert_eq!((f.left, f.top, f.width, f.height), r.rect, "image {n}");
        assert_eq!(f.transparent, r.transparent, "image {n}");
        assert_eq!(f.delay, r.delay, "image {n}");
        assert_eq!(f.palette.is_some(), r.local, "image {n}");
        assert_eq!(&f.buffer[..], &r.indices[..], "image {n}: the gif crate and our LZW decoding differ");
        n += 1;
    }
    assert_eq!(n, raw.len());
    let mut opts = strict_options();
    opts.skip_frame_decoding(true);
    let mut dec = opts.read_info(Cursor::new(bytes)).expect("strict: GIF header");
    let mut end_check = strict_options();
    end_check.check_lzw_end_code(true);
    let mut frame_dec = ::gif::streaming_decoder::FrameDecoder::new(end_check);
    let mut n = 0;
    while let Some(f) = dec.read_next_frame().expect("strict: LZW sub-blocks") {
        let r = &raw[n];
        assert_eq!(f.buffer[0], r.min_code_size, "image {n}");
        assert_eq!(&f.buffer[1..], &r.lzw[..], "image {n}: the gif crate reads other LZW bytes");
        let mut f = f.clone();
        frame_dec.decode_lzw_encoded_frame(&mut f).unwrap_or_else(|e| panic!("image {n}: {e}"));
        assert_eq!(&f.buffer[..], &r.indices[..], "image {n}");
        n += 1;
    }
    assert_eq!(n, raw.len());
    raw
}

/// Encode `frames`, keeping what the encoder meant each new image to show: its canvas right
/// after the image was made, with the image's start time (cs).
fn encode_with_snapshots(
    frames: &[Vec<u8>],
    w: u32,
    h: u32,
    fps: (u32, u32),
    opts: GifOptions,
) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let mut enc = GifEncoder::new(Cursor::new(Vec::new()), w, h, Rational::new(fps.0, fps.1).unwrap(), &opts).unwrap();
    let mut snaps = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        enc.write_rgb(f).unwrap();
        let start = enc.start_cs(i as u64);
        if enc.pending.as_ref().is_some_and(|p| p.display_frames == 1 && p.start == start) {
            snaps.push((start, enc.canvas.clone()));
        }
    }
    enc.finish().unwrap();
    assert_eq!(enc.frames(), frames.len() as u64);
    (enc.into_sink().unwrap().into_inner(), snaps)
}

/// Strict decoding of `bytes`, composited per GIF89a (disposal keep, transparent index), must
/// show each snapshot from its start time on.
fn check_strict(bytes: &[u8], w: u32, h: u32, snaps: &[(u64, Vec<u8>)], what: &str) -> Vec<RawImage> {
    let raw = decode_strict(bytes);
    let (w, h) = (w as usize, h as usize);
    let mut canvas = vec![0u8; w * h * 3];
    let mut t = 0u64;
    let mut shown = Vec::new(); // (start, canvas)
    for r in &raw {
        let (left, top, iw, ih) = (r.rect.0 as usize, r.rect.1 as usize, r.rect.2 as usize, r.rect.3 as usize);
        for y in 0..ih {
            for x in 0..iw {
                let v = r.indices[y * iw + x];
                if Some(v) == r.transparent {
                    continue;
                }
                let o = ((top + y) * w + left + x) * 3;
                canvas[o..o + 3].copy_from_slice(&r.table[v as usize * 3..v as usize * 3 + 3]);
            }
        }
        shown.push((t, canvas.clone()));
        t += r.delay as u64;
    }
    assert!(!snaps.is_empty());
    for (k, (start, snap)) in snaps.iter().enumerate() {
        let (_, c) = shown.iter().rev().find(|(s, _)| s <= start).expect("an image shows at every start");
        assert!(c == snap, "{what}: image {k} (starting at {start} cs) does not show what the encoder wrote");
    }
    raw
}

/// Seeded xorshift noise.
fn noise(seed: u64, n: usize, levels: u8) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 24) as u8;
            if levels == 0 {
                v
            } else {
                (v % levels) * (255 / (levels - 1).max(1))
            }
        })
        .collect()
}

#[test]
fn every_image_is_strictly_valid_gif89a() {
    let mut stats = (0usize, 0usize, 0usize, 0usize, 0usize); // images, with mid clears, 12-bit, local, transparent
    let mut code_sizes = std::collections::BTreeSet::new();
    let mut run = |name: &str, frames: Vec<Vec<u8>>, w: u32, h: u32, fps: (u32, u32), opts: GifOptions| {
        let (bytes, snaps) = encode_with_snapshots(&frames, w, h, fps, opts);
        let raw = check_strict(&bytes, w, h, &snaps, name);
        for r in &raw {
            stats.0 += 1;
            stats.1 += (r.mid_clears > 0) as usize;
            stats.2 += (r.max_width == 12) as usize;
            stats.3 += r.local as usize;
            stats.4 += r.transparent.is_some() as usize;
            code_sizes.insert(r.min_code_size);
        }
        raw
    };
    // 1x1 frames: colour changes, repeats, a long delay split into continuation images.
    let px = |c: [u8; 3]| c.to_vec();
    run(
        "1x1",
        vec![px([0, 0, 0]), px([255, 0, 0]), px([255, 0, 0]), px([0, 9, 200]), px([1, 2, 3])],
        1,
        1,
        (10, 1),
        GifOptions::default(),
    );
    run("1x1 slow", vec![px([5, 5, 5]), px([6, 6, 6])], 1, 1, (1, 1000), GifOptions::default());
    // Tiny sizes, every dither, few colours (minimum code size 2).
    for (w, h) in [(2, 1), (1, 2), (3, 3), (5, 2), (17, 3)] {
        for dither in Dither::ALL {
            let frames: Vec<_> =
                (0..6).map(|i| plot(i, w.max(4), h.max(4))).map(|f| f[..(w * h * 3) as usize].to_vec()).collect();
            run(&format!("tiny {w}x{h} {dither}"), frames, w, h, (25, 1), GifOptions { dither, ..Default::default() });
        }
    }
    // Plot frames: few colours, a growing palette, cropped changed rectangles, transparency.
    let frames: Vec<_> = (0..20).map(|i| plot(i, 120, 80)).collect();
    run("plot", frames, 120, 80, (30, 1), GifOptions::default());
    // Colours bounded, every dither.
    for colors in [2u16, 3, 4, 16, 100, 256] {
        for dither in Dither::ALL {
            let frames: Vec<_> = (0..3).map(|i| gradient(i, 80, 60, 0.0)).collect();
            run(
                &format!("gradient colors={colors} {dither}"),
                frames,
                80,
                60,
                (10, 1),
                GifOptions { colors, dither, ..Default::default() },
            );
        }
    }
    // Many colours over a large frame (the LZW table fills: 12-bit codes and Clear codes), a
    // scene change (local palette), a moving square (cropped, transparent).
    let (w, h) = (320u32, 240u32);
    let mut frames: Vec<_> = (0..3).map(|i| gradient(i, w, h, 0.0)).collect();
    frames.extend((0..2).map(|i| gradient(i, w, h, 2.5).iter().map(|v| v / 3).collect::<Vec<_>>()));
    let still = frames[4].clone();
    for i in 0..4u32 {
        let mut f = still.clone();
        for y in 100..140 {
            for x in (10 + i * 50)..(60 + i * 50) {
                let o = ((y * w + x) * 3) as usize;
                f[o..o + 3].copy_from_slice(&[250, (i * 60) as u8, 0]);
            }
        }
        frames.push(f);
    }
    for dither in Dither::ALL {
        run(&format!("photo {dither}"), frames.clone(), w, h, (24, 1), GifOptions { dither, ..Default::default() });
    }
    // Noise: full 8-bit indices (table fills every few hundred pixels), and sparse noisy changes.
    let (w, h) = (200u32, 150u32);
    let mut frames = vec![noise(1, (w * h * 3) as usize, 0)];
    for i in 0..3u64 {
        let mut f = frames.last().unwrap().clone();
        let n = noise(10 + i, f.len(), 0);
        for (k, px) in f.chunks_exact_mut(3).enumerate() {
            if n[k * 3] < 40 {
                px.copy_from_slice(&n[k * 3..k * 3 + 3]);
            }
        }
        frames.push(f);
    }
    frames.push(noise(99, (w * h * 3) as usize, 4)); // 64 colours, lossless
    run("noise", frames, w, h, (10, 1), GifOptions::default());
    // Every image size 1..=40 pixels wide of 8-level noise (every LZW length and sub-block split
    // near the small end), and 8-colour noise up to sizes where the data is several sub-blocks.
    for w in 1..=40u32 {
        let frames: Vec<_> = (0..3).map(|i| noise(w as u64 * 7 + i, (w * 9 * 3) as usize, 2)).collect();
        run(&format!("noise {w}x9"), frames, w, 9, (10, 1), GifOptions { dither: Dither::None, ..Default::default() });
    }
    let (images, mid_clears, wide, local, trns) = stats;
    assert!(images > 200, "{images}");
    assert!(mid_clears >= 10 && wide >= 10, "the LZW table filled in {mid_clears} images, 12-bit codes in {wide}");
    assert!(local >= 5 && trns >= 50, "local palettes {local}, transparent images {trns}");
    assert!(code_sizes.contains(&2) && code_sizes.contains(&8), "{code_sizes:?}");
}

#[test]
fn truncated_files_after_a_full_disk_are_strictly_valid() {
    let frames = full_disk_frames();
    let full = encode(&frames, 48, 32, (10, 1), GifOptions::default());
    decode_strict(&full);
    let mut caps: Vec<u64> = (800..full.len() as u64 + 10).step_by(61).collect();
    for e in image_ends(&full) {
        caps.extend([e - 1, e, e + 1]);
    }
    let mut valid = 0;
    for cap in caps {
        let mut enc = GifEncoder::new(
            Capped { inner: Cursor::new(vec![]), cap },
            48,
            32,
            Rational::new(10, 1).unwrap(),
            &GifOptions::default(),
        )
        .unwrap();
        for f in &frames {
            if enc.write_rgb(f).is_err() {
                break;
            }
        }
        let ok = enc.finish().is_ok();
        let out = enc.into_sink().unwrap().inner.into_inner();
        if ok {
            valid += 1;
            let raw = decode_strict(&out);
            assert!(!raw.is_empty(), "cap {cap}");
            // The kept images are exactly the first images of the full file (whose global
            // colour table may have grown later).
            let body = 13 + 768;
            assert_eq!(out[body..out.len() - 1], full[body..out.len() - 1], "cap {cap}: a prefix of the full file");
        }
    }
    assert!(valid > 10);
}

/// `gif` with image `k`'s LZW data replaced by `lzw` (minimum code size kept), in sub-blocks of
/// the sizes in `split` and then of 255 bytes; `terminator` is the byte written after them.
fn reblock(gif: &[u8], k: usize, lzw: &[u8], split: &[usize], terminator: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 13 + 3 * (2usize << (gif[10] & 7));
    out.extend_from_slice(&gif[..i]);
    let mut image = 0;
    loop {
        let start = i;
        match gif[i] {
            0x3B => {
                out.push(0x3B);
                return out;
            }
            0x21 => {
                i += 2;
                while gif[i] != 0 {
                    i += gif[i] as usize + 1;
                }
                i += 1;
                out.extend_from_slice(&gif[start..i]);
            }
            _ => {
                let flags = gif[i + 9];
                i += 10;
                if flags & 0x80 != 0 {
                    i += 3 * (2 << (flags & 7));
                }
                i += 1; // minimum code size
                out.extend_from_slice(&gif[start..i]);
                let data_start = i;
                while gif[i] != 0 {
                    i += gif[i] as usize + 1;
                }
                i += 1;
                if image != k {
                    out.extend_from_slice(&gif[data_start..i]);
                } else {
                    let mut rest = lzw;
                    for n in split.iter().copied().chain(std::iter::repeat(255)) {
                        if rest.is_empty() {
                            break;
                        }
                        let n = n.min(rest.len());
                        out.push(n as u8);
                        out.extend_from_slice(&rest[..n]);
                        rest = &rest[n..];
                    }
                    out.extend_from_slice(terminator);
                }
                image += 1;
            }
        }
    }
}

/// The panic message of `f`, if it panics.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    let e = std::panic::catch_unwind(f).err()?;
    Some(
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

#[test]
fn the_strict_checks_catch_malformed_image_data() {
    // The checker must fail on each way image data can be malformed while lenient decoders
    // still show the picture.
    let frames: Vec<_> = (0..3).map(|i| plot(i, 40, 30)).collect();
    let good = encode(&frames, 40, 30, (10, 1), GifOptions::default());
    let raw = decode_strict(&good);
    let r = &raw[1];
    // (case, file, the panic message says one of these)
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("unchanged", reblock(&good, 1, &r.lzw, &[], &[0]), &[]),
        ("a byte after the EOI", reblock(&good, 1, &[&r.lzw[..], &[0x00]].concat(), &[], &[0]), &["after the EOI"]),
        (
            "no EOI (stream cut where it starts)",
            {
                let mut d = r.lzw[..r.eoi_bit.div_ceil(8)].to_vec();
                if !r.eoi_bit.is_multiple_of(8) {
                    *d.last_mut().unwrap() &= (1u8 << (r.eoi_bit % 8)) - 1;
                }
                // The zero bits left may read as more codes: too many pixels, or no EOI.
                reblock(&good, 1, &d, &[], &[0])
            },
            &["without an End-Of-Information", "more than"],
        ),
        (
            "padding bits set",
            {
                let k = raw.iter().position(|r| r.end_bit % 8 != 0).expect("an image with padding bits");
                let mut d = raw[k].lzw.clone();
                *d.last_mut().unwrap() |= 0x80;
                reblock(&good, k, &d, &[], &[0])
            },
            &["padding"],
        ),
        (
            "no sub-block terminator",
            reblock(&good, 1, &r.lzw, &[], &[]),
            &["block introducer", "sub-block", "ends early"],
        ),
        ("a terminator too many", reblock(&good, 1, &r.lzw, &[], &[0, 0]), &["block introducer"]),
        ("EOI too early (a smaller image's data)", reblock(&good, 0, &raw[1].lzw, &[], &[0]), &["EOI after"]),
    ];
    for (name, bytes, want) in cases {
        let msg = panic_message(|| {
            decode_strict(&bytes);
        });
        if name == "unchanged" {
            assert_eq!(msg, None, "re-blocking alone keeps the file valid");
            continue;
        }
        let msg = msg.unwrap_or_else(|| panic!("{name}: not caught"));
        assert!(want.iter().any(|w| msg.contains(w)), "{name}: {msg}");
    }
}

#[test]
fn gif_crate_end_code_check_rejects_valid_streams() {
    // Why `decode_strict` does not use `DecodeOptions::check_lzw_end_code(true)` on the full
    // decoder: in gif 0.14.2 the decoder stops feeding the LZW decoder once the image's pixel
    // buffer is full, skips the rest of the image data undecoded, and at the block terminator
    // asks the LZW decoder (with no input) whether it saw the EOI. When the EOI code's bits lie
    // in bytes after the last pixel code's, they were never decoded and it reports
    // `EndCodeNotFound` (in the *next* `read_next_frame` call), although the EOI is there, last,
    // as GIF89a requires. Pillow's GIFs trip it too. Here: a valid image whose EOI-only bytes
    // are a sub-block of their own (legal: sub-block sizes are free).
    let mut found = None;
    for w in 1..=40u32 {
        let bytes = encode(&[noise(w as u64, (w * 9 * 3) as usize, 2)], w, 9, (10, 1), GifOptions::default());
        let raw = parse_strict(&bytes);
        let r = &raw[0];
        let s = r.eoi_bit.div_ceil(8); // bytes holding every pixel code
        if s < r.lzw.len() && s <= 255 {
            found = Some((reblock(&bytes, 0, &r.lzw, &[s], &[0]), r.indices.clone()));
            break;
        }
    }
    let (bytes, indices) = found.expect("an image whose EOI does not share a byte with a pixel code");
    // Valid: our byte-level checks, the gif crate's other strict checks, lenient decoding.
    let raw = decode_strict(&bytes);
    assert_eq!(raw[0].indices, indices);
    // The end-code check on the full decoder rejects it.
    let mut opts = strict_options();
    opts.check_lzw_end_code(true);
    let mut dec = opts.read_info(Cursor::new(&bytes[..])).unwrap();
    let first = dec.read_next_frame().map(|f| f.map(|f| f.buffer.to_vec()));
    assert_eq!(first.unwrap().as_deref(), Some(&indices[..]), "the image itself decodes");
    match dec.read_next_frame() {
        Err(e) => assert!(e.to_string().contains("End-Code Not Found"), "{e}"),
        Ok(_) => panic!(
            "the gif crate's check_lzw_end_code accepts this valid stream now: use it in decode_strict \
             (opts.check_lzw_end_code(true) in strict_options)"
        ),
    }
}

#[test]
fn unfinished_gif_on_disk_holds_every_frame_given_and_a_trailer() {
    // After each frame the bytes written so far are a whole GIF (trailer included) that shows
    // every frame given so far, the last one for one frame's time; merged identical frames
    // only lengthen the delay. The finished file is what it always was.
    let (w, h) = (48u32, 32u32);
    let frames: Vec<Vec<u8>> = (0..12u32).map(|i| plot(if i == 5 { 4 } else { i }, w, h)).collect();
    let opts = GifOptions::default();
    let mut enc = GifEncoder::new(Cursor::new(Vec::new()), w, h, Rational::new(10, 1).unwrap(), &opts).unwrap();
    for (i, f) in frames.iter().enumerate() {
        enc.write_rgb(f).unwrap();
        let on_disk = enc.enc.as_ref().unwrap().get_ref().inner.get_ref().clone();
        let d = decode(&on_disk);
        let shown = d.display_frames(10.0, i + 1);
        for (k, picture) in shown.iter().enumerate() {
            assert!(psnr(picture, &frames[k]) > 40.0, "after frame {i}: frame {k}");
        }
        let total: u64 = d.delays.iter().map(|&x| u64::from(x)).sum();
        assert!(total >= 10 * (i as u64 + 1) - 10, "after frame {i}: {total} cs");
    }
    enc.finish().unwrap();
    let finished = enc.into_sink().unwrap().into_inner();
    assert!(finished == encode(&frames, w, h, (10, 1), opts));
    let d = decode(&finished);
    assert_eq!(d.delays.iter().map(|&x| u64::from(x)).sum::<u64>(), 120);
}
