//! Tests of `kernels::text` (rasterisation, layout, wrapping, stroke, errors).
use super::*;

fn render(text: &str, o: &TextOptions) -> TextImage {
    render_text(text, o).unwrap()
}

/// (x0, y0, x1, y1) inclusive of pixels with alpha above `t`, or None.
fn ink(img: &TextImage, t: u8) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for y in 0..img.height {
        for x in 0..img.width {
            if img.rgba[((y * img.width + x) * 4 + 3) as usize] > t {
                b = Some(match b {
                    None => (x, y, x, y),
                    Some((a, b0, c, d)) => (a.min(x), b0.min(y), c.max(x), d.max(y)),
                });
            }
        }
    }
    b
}

fn label(size: f32) -> TextOptions {
    TextOptions { font_size: size, ..Default::default() }
}

#[test]
fn width_grows_with_text_and_font_size() {
    let a = render("Hello", &label(20.0));
    let b = render("Hello, world", &label(20.0));
    let c = render("Hello", &label(40.0));
    assert!(b.width > a.width + 30, "{} vs {}", b.width, a.width);
    assert!(c.width > a.width * 19 / 10 && c.height > a.height * 19 / 10, "{c:?}");
    assert_eq!(a.rgba.len(), (a.width * a.height * 4) as usize);
}

#[test]
fn metrics_match_freetype_for_dejavu() {
    // DejaVu Sans: 2048 units/em, hhea ascender 1901, descender -483: at 40 px ascent
    // ceil(37.13) = 38, descent ceil(9.43) = 10 (Pillow's getmetrics() gives (38, 10)).
    let img = render("Hello World", &label(40.0));
    assert_eq!(img.height, 48);
    // Widths of Pillow 11's getbbox(text, anchor="ls") at 40 px: right = max(rounded
    // advance, ink right), left = min(0, ink left) (e.g. "Hello": advance 101.375 → 101;
    // "jump": j's ink starts at −1; "T": ink from −1 to 25).
    for (text, w) in [("Hello World", 229), ("Hello", 101), ("World gy", 176), ("jump", 102), ("T", 26)] {
        assert_eq!(render(text, &label(40.0)).width, w, "{text}");
    }
    assert_eq!(img.width, 229);
}

#[test]
fn multiline_height_adds_line_spacing() {
    let one = render("Hello", &label(40.0));
    let two = render("Hello\nWorld", &label(40.0));
    let three = render("Hello\nWorld\nagain", &label(40.0));
    // line spacing = ascent (38, "A" sits on the baseline) + interline 4.
    assert_eq!(two.height - one.height, 42);
    assert_eq!(three.height - two.height, 42);
    let spaced = render("Hello\nWorld", &TextOptions { interline: 20, ..label(40.0) });
    assert_eq!(spaced.height - two.height, 16);
}

#[test]
fn caption_wraps_within_width() {
    let text = "The quick brown fox jumps over the lazy dog";
    let o = TextOptions { method: Method::Caption, size: (Some(200), None), font_size: 30.0, ..Default::default() };
    let img = render(text, &o);
    assert_eq!(img.width, 200);
    let one_line = render(text, &label(30.0));
    let lines = (img.height - one_line.height) / 38 + 1; // spacing at 30 px: 29 + 4 + ...
    assert!(img.height > 3 * one_line.height, "{} lines? height {}", lines, img.height);
    let (x0, _, x1, _) = ink(&img, 0).unwrap();
    assert!(x0 < x1 && x1 < 200);
    // Each wrapped line fits; a word too long for a line is broken.
    let f = SizedFont::new(DEFAULT_FONT, None, 30.0, 0, 4).unwrap();
    for line in wrap(&f, text, 200.0) {
        assert!(line_box_width(&f, &line) < 200.0, "{line:?}");
        assert!(!line.starts_with(' ') && !line.ends_with(' '), "{line:?}");
    }
    let broken = wrap(&f, "Supercalifragilisticexpialidocious word", 200.0);
    assert!(broken.len() >= 3, "{broken:?}");
    assert_eq!(broken.concat().replace(' ', ""), "Supercalifragilisticexpialidociousword");
    assert_eq!(wrap(&f, "a b\nc", 200.0), vec!["a b", "c"]);
}

#[test]
fn alignment_moves_ink() {
    let base = TextOptions { size: (Some(400), Some(60)), font_size: 30.0, ..Default::default() };
    let at = |h: HAlign| ink(&render("Hi", &TextOptions { horizontal_align: h, ..base.clone() }), 0).unwrap();
    let (l, c, r) = (at(HAlign::Left), at(HAlign::Center), at(HAlign::Right));
    assert!(l.0 < 10, "{l:?}");
    assert!(r.2 > 390, "{r:?}");
    let mid = (c.0 + c.2) / 2;
    assert!((195..=205).contains(&mid), "{c:?}");
    // text_align moves a short line within the block.
    let t = |a: HAlign| {
        let o = TextOptions { text_align: a, font_size: 30.0, ..Default::default() };
        let img = render("a much wider line\nab", &o);
        let second =
            TextImage { height: img.height / 2, rgba: img.rgba[img.rgba.len() / 2..].to_vec(), width: img.width };
        (ink(&second, 0).unwrap(), img.width)
    };
    let ((ll, ..), w) = t(HAlign::Left);
    let ((_, _, rr, _), _) = t(HAlign::Right);
    let ((cl, _, cr, _), _) = t(HAlign::Center);
    assert!(ll < 5 && rr > w - 5, "{ll} {rr} {w}");
    assert!(((cl + cr) as i64 - w as i64).abs() < 6, "{cl} {cr} {w}");
    // vertical_align
    let v = |a: VAlign| {
        ink(&render("x", &TextOptions { vertical_align: a, size: (Some(50), Some(200)), ..label(20.0) }), 0).unwrap()
    };
    assert!(v(VAlign::Top).3 < 30 && v(VAlign::Bottom).1 > 170, "{:?} {:?}", v(VAlign::Top), v(VAlign::Bottom));
}

#[test]
fn stroke_enlarges_ink_and_is_drawn_under_the_fill() {
    let plain = render("Ho", &label(40.0));
    let o = TextOptions { stroke_width: 3, stroke_color: Some([255, 0, 0, 255]), ..label(40.0) };
    let stroked = render("Ho", &o);
    assert_eq!(stroked.width, plain.width + 6);
    assert_eq!(stroked.height, plain.height + 6);
    let (a, b) = (ink(&plain, 127).unwrap(), ink(&stroked, 127).unwrap());
    assert!((b.2 - b.0) >= (a.2 - a.0) + 5, "{a:?} {b:?}");
    assert!((b.3 - b.1) >= (a.3 - a.1) + 5, "{a:?} {b:?}");
    let count = |img: &TextImage, f: &dyn Fn(&[u8]) -> bool| img.rgba.chunks_exact(4).filter(|p| f(p)).count();
    let red = count(&stroked, &|p| p[3] == 255 && p[0] == 255 && p[1] == 0);
    let black = count(&stroked, &|p| p[3] == 255 && p[0] == 0);
    assert!(red > 200 && black > 200, "red {red}, black {black}");
}

#[test]
fn gpos_kerning_agrees_with_the_kern_table() {
    // DejaVu Sans has both; the GPOS `kern` feature is what is used.
    let f = SizedFont::new(DEFAULT_FONT, None, 40.0, 0, 4).unwrap();
    let g = f.gpos_kern.as_ref().expect("DejaVu Sans has GPOS kerning");
    let mut kerned = 0;
    for (a, b) in [('A', 'V'), ('T', 'o'), ('W', 'a'), ('L', 'T'), ('y', '.'), ('H', 'e')] {
        let (a, b) = (f.glyph(a), f.glyph(b));
        assert_eq!(g.kern(a, b), kern_table(&f.font, a, b), "{a:?} {b:?}");
        kerned += usize::from(g.kern(a, b) < 0.0);
    }
    assert_eq!(kerned, 5);
    // "AV" is narrower than "A" and "V" side by side.
    let w = |t: &str| layout_line(&f, t).advance;
    assert!(w("AV") < w("A") + w("V") - 2.0, "{} {} {}", w("AV"), w("A"), w("V"));
}

#[test]
fn window_max_matches_a_direct_maximum() {
    let mut seed = 12345u32;
    for w in [1usize, 2, 5, 17, 64] {
        let src: Vec<u8> = (0..w)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            })
            .collect();
        let mut s = Scratch::new(w).unwrap();
        let mut out = vec![0; w];
        for k in [0usize, 1, 2, 3, 7, 40, 100] {
            s.window_max(&src, k, &mut out);
            for x in 0..w {
                let want = *src[x.saturating_sub(k)..=(x + k).min(w - 1)].iter().max().unwrap();
                assert_eq!(out[x], want, "w {w} k {k} x {x}");
            }
        }
    }
    // The disk: a single dot dilated by r = 3 covers exactly the pixels within distance 3.
    let (w, h) = (11, 11);
    let mut dot = vec![0u8; w * h];
    dot[5 * w + 5] = 200;
    let d = dilate_disk(&dot, w, h, 3).unwrap();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as i64 - 5, y as i64 - 5);
            assert_eq!(d[y * w + x] == 200, dx * dx + dy * dy <= 9, "({x}, {y})");
        }
    }
}

#[test]
fn background_and_colour() {
    let o = TextOptions { color: [255, 255, 255, 255], bg_color: Some([10, 20, 30, 255]), ..label(20.0) };
    let img = render("A", &o);
    assert_eq!(&img.rgba[..4], &[10, 20, 30, 255]);
    assert!(img.rgba.chunks_exact(4).all(|p| p[3] == 255));
    assert!(img.rgba.chunks_exact(4).any(|p| p == [255, 255, 255, 255]));
    let t = render("A", &label(20.0));
    assert_eq!(&t.rgba[..4], &[0, 0, 0, 0]);
    assert!(t.rgba.chunks_exact(4).all(|p| p[..3] == [0, 0, 0]));
    // Deterministic.
    assert_eq!(render("A", &o), img);
}

#[test]
fn bad_fonts_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("framepipe-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_font = dir.join("not-a-font.ttf");
    std::fs::write(&not_font, b"this is not a font at all").unwrap();
    let e = render_text("x", &TextOptions { font: Some(not_font.clone()), ..Default::default() }).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("not-a-font.ttf"), "{e}");
    let missing = dir.join("missing.ttf");
    let e = render_text("x", &TextOptions { font: Some(missing), ..Default::default() }).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("missing.ttf"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_sizes_error_before_allocating() {
    for (o, what) in [
        (TextOptions { font_size: 1e9, ..Default::default() }, "font_size"),
        (TextOptions { font_size: f32::NAN, ..Default::default() }, "font_size"),
        (TextOptions { font_size: 0.0, ..Default::default() }, "font_size"),
        (TextOptions { size: (Some(100_000), None), ..Default::default() }, "width"),
        (TextOptions { margin: [0, u32::MAX, 0, 0], ..Default::default() }, "margin"),
        (TextOptions { stroke_width: u32::MAX, ..Default::default() }, "stroke_width"),
        (TextOptions { font_size: 8000.0, ..Default::default() }, "width"),
        (TextOptions { method: Method::Caption, ..Default::default() }, "width"),
    ] {
        let e = render_text("Hello", &o).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains(what), "{what}: {e}");
    }
    let long = "x".repeat(100_000);
    let e = render_text(&long, &label(20.0)).unwrap_err();
    assert!(e.to_string().contains("width would be"), "{e}");
    assert!("diagonal".parse::<HAlign>().is_err() && "middle".parse::<VAlign>().is_err());
}

#[test]
fn missing_glyphs_are_listed_once_in_order() {
    // DejaVu Sans has Latin, Greek and Cyrillic but no CJK; line breaks and tabs are not drawn.
    assert_eq!(
        missing_glyphs("a\u{65e5}\n\tb \u{3a9}\u{416}\u{672c}\u{65e5}", None).unwrap(),
        ['\u{65e5}', '\u{672c}']
    );
    assert!(missing_glyphs("Hello\nworld", None).unwrap().is_empty());
    let e = missing_glyphs("x", Some(Path::new("/nonexistent/font.ttf"))).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/font.ttf"), "{e}");
}
