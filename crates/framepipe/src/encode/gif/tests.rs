//! GifEncoder tests. Output is read back with the `gif` crate's *decoder* (a separate code path
//! from the encoder's block writer) and composited here per the GIF89a rules (disposal "keep",
//! transparent index), then compared with the source. The pipeline and Python tests decode
//! with ffmpeg and Pillow as well.

use super::*;
use std::io::Cursor;

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
        let d = decode(&encode(&frames, 64, 48, (10, 1), GifOptions { colors, dither: Dither::None, ..Default::default() }));
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
    for (plays, repeat) in [(0, ::gif::Repeat::Infinite), (1, ::gif::Repeat::Finite(0)), (3, ::gif::Repeat::Finite(2))] {
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

#[test]
fn a_full_disk_keeps_every_whole_frame_in_a_valid_gif() {
    // Plot-like frames with a gradient band (a local palette now and then), 48x32.
    let frames: Vec<_> = (0..30)
        .map(|i| {
            let mut f = plot(i, 48, 32);
            if i % 7 == 3 {
                f[..48 * 24 * 3].copy_from_slice(&gradient(i, 48, 24, 0.0));
            }
            f
        })
        .collect();
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
        let mut enc = GifEncoder::new(Capped { inner: Cursor::new(vec![]), cap }, 48, 32, Rational::new(10, 1).unwrap(), &GifOptions::default()).unwrap();
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
fn rgb_conversion_composites_alpha_and_reorders() {
    let bg = [10, 20, 30];
    let mut out = Vec::new();
    let rgba = [255u8, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 128];
    to_rgb(&Frame::packed(&rgba, 3, 1, PixelFormat::Rgba).unwrap(), bg, &mut out);
    assert_eq!(out, [255, 0, 0, 10, 20, 30, 5, 10, 143]);
    let bgra = [0u8, 0, 255, 255];
    to_rgb(&Frame::packed(&bgra, 1, 1, PixelFormat::Bgra).unwrap(), bg, &mut out);
    assert_eq!(out, [255, 0, 0]);
    let argb = [255u8, 1, 2, 3];
    to_rgb(&Frame::packed(&argb, 1, 1, PixelFormat::Argb).unwrap(), bg, &mut out);
    assert_eq!(out, [1, 2, 3]);
    to_rgb(&Frame::packed(&[7, 9], 2, 1, PixelFormat::Gray8).unwrap(), bg, &mut out);
    assert_eq!(out, [7, 7, 7, 9, 9, 9]);
    to_rgb(&Frame::packed(&[1, 2, 3], 1, 1, PixelFormat::Bgr24).unwrap(), bg, &mut out);
    assert_eq!(out, [3, 2, 1]);
}

#[test]
fn wrong_sizes_are_refused_with_the_frame_index() {
    let mut enc = GifEncoder::new(Cursor::new(vec![]), 8, 8, Rational::new(10, 1).unwrap(), &GifOptions::default()).unwrap();
    enc.write_rgb(&plot(0, 8, 8)).unwrap();
    let e = enc.write_rgb(&[0; 10]).unwrap_err();
    assert!(e.to_string().contains("frame 1"), "{e}");
    assert!(GifOptions { colors: 1, ..Default::default() }.validate().is_err());
    assert!(GifOptions { colors: 257, ..Default::default() }.validate().is_err());
    assert!(GifOptions { loop_count: 65537, ..Default::default() }.validate().is_err());
}
