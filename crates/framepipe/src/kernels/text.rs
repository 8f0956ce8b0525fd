//! Text rasterisation for a MoviePy-compatible `TextClip`: a label (sized to its text) or a
//! caption (words wrapped to a given width), with alignment, stroke, background and margins, as
//! straight-alpha RGBA. No system fonts and no ImageMagick: the default font is DejaVu Sans,
//! bundled in the binary (`assets/fonts/DejaVuSans.ttf`, Bitstream Vera licence beside it); any
//! TrueType/OpenType file can be given instead.
//!
//! Geometry follows MoviePy 2.2.1's `TextClip` (which draws with Pillow/FreeType):
//! - `ascent`/`descent` are the font's hhea ascender/descender scaled to `font_size` pixels per
//!   em and rounded up (FreeType's size metrics, what Pillow's `getmetrics()` returns);
//! - lines are `line_spacing = bottom of "A" (+ stroke) + stroke + interline` apart (Pillow's
//!   multi-line spacing);
//! - the text block is as wide as the widest line's box: from min(0, ink left) to max(advance,
//!   ink right) (the advance rounded, each glyph's ink at its pen position rounded to a pixel),
//!   plus `stroke_width` on both sides (Pillow's `multiline_textbbox`, truncated to an integer),
//!   and as high as `ascent + descent + 2·stroke + (lines − 1)·line_spacing` (MoviePy's formula
//!   with Pillow ≤ 11.1; with Pillow ≥ 11.2 MoviePy 2.2.1 falls back to the ink box's height,
//!   which cuts off descenders: not copied);
//! - a label is that size (unless `size` gives a part), a caption is `size.0` wide with its words
//!   wrapped so every line's box is narrower than that; margins are added around;
//! - the block is placed by `horizontal_align`/`vertical_align` inside the area without margins,
//!   its first baseline at `top + stroke + ascent`, each line aligned by `text_align` against the
//!   widest line's advance.
//!
//! Glyph coverage is the area coverage of the unhinted outline (`zeno`, FreeType's cell
//! rasterizer in Rust: 8-bit coverage, non-zero fill), each glyph's
//! origin on a whole pixel (the pen position rounded, as Pillow places FreeType's glyph bitmaps);
//! FreeType hints, so edges differ by fractions of a pixel. Kerning comes from the GPOS table's
//! `kern` feature (pair adjustments, as HarfBuzz applies them in Pillow's Raqm layout), or from
//! the legacy `kern` table when a font has no GPOS kerning; no other shaping (ligatures, marks,
//! right-to-left). The stroke is the glyph coverage dilated by a disk of radius `stroke_width`,
//! drawn under the fill in `stroke_color` (the fill colour when none is given, as Pillow does).
//! Output is deterministic.
//!
//! Deliberate differences from MoviePy 2.2.1: caption lines break at spaces (MoviePy's wrapping
//! breaks inside words after the first line), a word too long for a line is split between
//! characters; `font_size` is always given (no search for the size that fills `size`); an empty
//! label is 1 pixel wide (MoviePy makes a 0-wide image).

use crate::error::{Error, Result};
use crate::frame::{try_filled, MAX_DIMENSION};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use ttf_parser::GlyphId;

mod font;
#[cfg(test)]
use font::kern_table;
use font::{glyph_id, parse_font, SizedFont};

/// DejaVu Sans 2.37 (Bitstream Vera licence with public-domain DejaVu changes), the font used
/// when none is given.
pub static DEFAULT_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The bundled font's family name.
pub const DEFAULT_FONT_NAME: &str = "DejaVu Sans";

/// Largest accepted `font_size` (pixels per em).
pub const MAX_FONT_SIZE: f32 = MAX_DIMENSION as f32;
/// Longest accepted text, in characters (a bound on the layout's memory before any check of the
/// image size can be made).
pub const MAX_TEXT_CHARS: usize = 1 << 20;

/// How the image is sized: `Label` fits the text; `Caption` wraps words to `size.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Label,
    Caption,
}

/// Horizontal alignment (of lines within the block, or of the block within the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HAlign {
    Left,
    Center,
    Right,
}

/// Vertical alignment of the block within the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VAlign {
    Top,
    Center,
    Bottom,
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "label" => Ok(Method::Label),
            "caption" => Ok(Method::Caption),
            _ => Err(Error::parameter(format!("method must be \"label\" or \"caption\", got {s:?}"))),
        }
    }
}

impl FromStr for HAlign {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "left" => Ok(HAlign::Left),
            "center" => Ok(HAlign::Center),
            "right" => Ok(HAlign::Right),
            _ => Err(Error::parameter(format!("alignment must be \"left\", \"center\" or \"right\", got {s:?}"))),
        }
    }
}

impl FromStr for VAlign {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "top" => Ok(VAlign::Top),
            "center" => Ok(VAlign::Center),
            "bottom" => Ok(VAlign::Bottom),
            _ => Err(Error::parameter(format!(
                "vertical alignment must be \"top\", \"center\" or \"bottom\", got {s:?}"
            ))),
        }
    }
}

impl HAlign {
    fn fraction(self) -> f32 {
        match self {
            HAlign::Left => 0.0,
            HAlign::Center => 0.5,
            HAlign::Right => 1.0,
        }
    }
}

/// Everything `render_text` takes besides the text (MoviePy's `TextClip` parameters).
#[derive(Debug, Clone)]
pub struct TextOptions {
    /// A TrueType/OpenType file; `None`: the bundled DejaVu Sans.
    pub font: Option<PathBuf>,
    /// Pixels per em (Pillow's `truetype(font, size)`).
    pub font_size: f32,
    /// Text colour, straight RGBA.
    pub color: [u8; 4],
    /// Fills the whole image; `None`: transparent (alpha 0).
    pub bg_color: Option<[u8; 4]>,
    /// Stroke colour; `None` with `stroke_width > 0` strokes in `color`.
    pub stroke_color: Option<[u8; 4]>,
    /// Stroke radius in pixels around the glyphs.
    pub stroke_width: u32,
    /// Image size without margins; a `None` part is computed from the text.
    pub size: (Option<u32>, Option<u32>),
    /// Left, top, right, bottom margins added around `size`.
    pub margin: [u32; 4],
    pub method: Method,
    /// Alignment of each line within the block.
    pub text_align: HAlign,
    /// Alignment of the block within the image.
    pub horizontal_align: HAlign,
    pub vertical_align: VAlign,
    /// Extra pixels between lines (may be negative).
    pub interline: i32,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            font: None,
            font_size: 20.0,
            color: [0, 0, 0, 255],
            bg_color: None,
            stroke_color: None,
            stroke_width: 0,
            size: (None, None),
            margin: [0; 4],
            method: Method::Label,
            text_align: HAlign::Left,
            horizontal_align: HAlign::Center,
            vertical_align: VAlign::Center,
            interline: 4,
        }
    }
}

/// A rendered text image: `rgba` is `width × height × 4` bytes, row-major, straight alpha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// The bytes of the font file `path`, or of the bundled font. Errors name the path.
pub fn font_bytes(path: Option<&Path>) -> Result<Cow<'static, [u8]>> {
    match path {
        None => Ok(Cow::Borrowed(DEFAULT_FONT)),
        Some(p) => {
            std::fs::read(p).map(Cow::Owned).map_err(|e| Error::io(format!("cannot read font file {}", p.display()), e))
        }
    }
}

/// Parse font bytes; `path` names the file in the error.
/// The characters of `text` that the font (the file `path`, or the bundled one) has no glyph
/// for, each once, in order of first appearance; control characters (line breaks, tabs) are not
/// drawn and not counted. They are drawn as the font's missing-glyph box (glyph 0).
pub fn missing_glyphs(text: &str, path: Option<&Path>) -> Result<Vec<char>> {
    let data = font_bytes(path)?;
    let font = parse_font(&data, path)?;
    let mut missing = Vec::new();
    for c in text.chars() {
        if !c.is_control() && glyph_id(&font, c).0 == 0 && !missing.contains(&c) {
            missing.push(c);
        }
    }
    Ok(missing)
}

/// One laid-out line: glyphs with their pen x (pixels from the line's origin), the advance and
/// Pillow's box before stroke: left = min(0, ink left), right = max(advance, ink right), the
/// advance rounded and each glyph's ink measured at its pen position rounded to a pixel.
struct Line {
    glyphs: Vec<(GlyphId, f32)>,
    advance: f32,
    left: f32,
    right: f32,
}

/// A line's pen and box so far; characters are added one at a time, so wrapping measures each
/// candidate line in time proportional to what it adds.
#[derive(Clone, Copy)]
struct Pen {
    x: f32,
    prev: Option<GlyphId>,
    ink_l: f32,
    ink_r: f32,
}

impl Pen {
    const START: Pen = Pen { x: 0.0, prev: None, ink_l: f32::INFINITY, ink_r: f32::NEG_INFINITY };

    /// Add `c`; returns its glyph and pen x, or None for a control character (not drawn).
    fn push(&mut self, f: &SizedFont, c: char) -> Option<(GlyphId, f32)> {
        if c.is_control() {
            return None;
        }
        let id = f.glyph(c);
        if let Some(p) = self.prev {
            self.x += f.kern(p, id) * f.px_per_unit;
        }
        // Pillow measures each glyph at its pen position rounded to a whole pixel.
        if let Some((l, _, r, _)) = f.bounds(id, self.x.round(), 0.0) {
            self.ink_l = self.ink_l.min(l as f32);
            self.ink_r = self.ink_r.max(r as f32);
        }
        let at = self.x;
        self.x += f32::from(f.font.glyph_hor_advance(id).unwrap_or(0)) * f.px_per_unit;
        self.prev = Some(id);
        Some((id, at))
    }

    fn push_str(&mut self, f: &SizedFont, s: &str) {
        for c in s.chars() {
            self.push(f, c);
        }
    }

    /// Pillow's box (left, right) before stroke.
    fn bounds(&self) -> (f32, f32) {
        let end = self.x.max(0.0).round();
        if self.ink_l.is_finite() {
            (self.ink_l.min(0.0), self.ink_r.max(end))
        } else {
            (0.0, end)
        }
    }

    /// The box's width with stroke (what MoviePy compares with the caption width).
    fn box_width(&self, f: &SizedFont) -> f32 {
        let (l, r) = self.bounds();
        r - l + 2.0 * f.stroke as f32
    }
}

fn layout_line(f: &SizedFont, text: &str) -> Line {
    let mut pen = Pen::START;
    let glyphs: Vec<(GlyphId, f32)> = text.chars().filter_map(|c| pen.push(f, c)).collect();
    let (left, right) = pen.bounds();
    Line { glyphs, advance: pen.x, left, right }
}

#[cfg(test)]
fn line_box_width(f: &SizedFont, text: &str) -> f32 {
    let mut pen = Pen::START;
    pen.push_str(f, text);
    pen.box_width(f)
}

/// Split `text` into lines: each paragraph (split at '\n') is wrapped at spaces so that every
/// line's box is narrower than `width`; a word that does not fit alone is broken between
/// characters (at least one character per line). The space at a break is dropped.
fn wrap(f: &SizedFont, text: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut current = String::new();
        let mut pen = Pen::START;
        for (i, word) in para.split(' ').enumerate() {
            if i > 0 {
                let mut joined = pen;
                joined.push_str(f, " ");
                joined.push_str(f, word);
                if joined.box_width(f) < width {
                    current.push(' ');
                    current.push_str(word);
                    pen = joined;
                    continue;
                }
                lines.push(std::mem::take(&mut current));
            }
            // `word` starts a line, broken into pieces that fit if it does not fit whole.
            pen = Pen::START;
            for c in word.chars() {
                let mut next = pen;
                next.push(f, c);
                if !current.is_empty() && next.box_width(f) >= width {
                    lines.push(std::mem::take(&mut current));
                    next = Pen::START;
                    next.push(f, c);
                }
                current.push(c);
                pen = next;
            }
        }
        lines.push(current);
    }
    lines
}

fn check_dim(what: &str, v: i64) -> Result<u32> {
    if v < 1 || v > i64::from(MAX_DIMENSION) {
        return Err(Error::parameter(format!(
            "the text image's {what} would be {v} pixels; it must be 1 to {MAX_DIMENSION} \
             (check font_size, size, margin, stroke_width and the text's length)"
        )));
    }
    Ok(v as u32)
}

/// Check the options that do not depend on the font.
fn check_options(text: &str, o: &TextOptions) -> Result<()> {
    if !(o.font_size.is_finite() && o.font_size > 0.0 && o.font_size <= MAX_FONT_SIZE) {
        return Err(Error::parameter(format!(
            "font_size must be a number above 0 and at most {MAX_FONT_SIZE}, got {}",
            o.font_size
        )));
    }
    if o.stroke_width > MAX_DIMENSION {
        return Err(Error::parameter(format!("stroke_width must be at most {MAX_DIMENSION}, got {}", o.stroke_width)));
    }
    if o.interline.unsigned_abs() > MAX_DIMENSION {
        return Err(Error::parameter(format!(
            "interline must be between -{MAX_DIMENSION} and {MAX_DIMENSION}, got {}",
            o.interline
        )));
    }
    for (name, v) in [("width", o.size.0), ("height", o.size.1)] {
        if let Some(v) = v {
            if v == 0 || v > MAX_DIMENSION {
                return Err(Error::parameter(format!("size's {name} must be 1 to {MAX_DIMENSION}, got {v}")));
            }
        }
    }
    if let Some(m) = o.margin.iter().find(|&&m| m > MAX_DIMENSION) {
        return Err(Error::parameter(format!("margins must be at most {MAX_DIMENSION}, got {m}")));
    }
    if o.method == Method::Caption && o.size.0.is_none() {
        return Err(Error::parameter("method=\"caption\" needs a width: size=(width, height or None)"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::parameter(format!("text has {chars} characters; at most {MAX_TEXT_CHARS} are accepted")));
    }
    Ok(())
}

/// Render `text` as MoviePy 2.2.1's `TextClip(font, text, ...)` sizes and places it (see the
/// module docs for where it deviates). Sizes are checked before any image memory is allocated.
pub fn render_text(text: &str, o: &TextOptions) -> Result<TextImage> {
    check_options(text, o)?;
    let data = font_bytes(o.font.as_deref())?;
    let f = SizedFont::new(&data, o.font.as_deref(), o.font_size, o.stroke_width, o.interline)?;
    let text = text.replace("\r\n", "\n");

    let line_texts: Vec<String> = match o.method {
        Method::Caption => wrap(&f, &text, o.size.0.unwrap_or(MAX_DIMENSION) as f32),
        Method::Label => text.split('\n').map(str::to_string).collect(),
    };
    let lines: Vec<Line> = line_texts.iter().map(|t| layout_line(&f, t)).collect();
    let n = lines.len().max(1) as i64;
    let max_advance = lines.iter().map(|l| l.advance).fold(0.0f32, f32::max);
    let align = o.text_align.fraction();
    let offset = |l: &Line| (max_advance - l.advance) * align;
    let left = lines.iter().map(|l| offset(l) + l.left).fold(f32::INFINITY, f32::min);
    let right = lines.iter().map(|l| offset(l) + l.right).fold(f32::NEG_INFINITY, f32::max);
    let stroke = f.stroke;
    // Pillow's box (float) truncated, as MoviePy's int(right - left).
    let text_w = (f64::from(right - left) + 2.0 * stroke as f64).max(0.0) as i64;
    let text_h = f.ascent + f.descent + 2 * stroke + (n - 1) * f.line_spacing;

    let [ml, mt, mr, mb] = o.margin.map(i64::from);
    let inner_w = o.size.0.map_or(text_w, i64::from);
    let inner_h = o.size.1.map_or(text_h, i64::from);
    // An empty label still makes a 1-pixel-wide image.
    let inner_w = if o.size.0.is_none() { inner_w.max(1) } else { inner_w };
    let width = check_dim("width", inner_w + ml + mr)?;
    let height = check_dim("height", inner_h + mt + mb)?;

    let x0 = ml as f32 + stroke as f32 + (inner_w - text_w) as f32 * o.horizontal_align.fraction();
    let y0 = mt as f32
        + stroke as f32
        + f.ascent as f32
        + match o.vertical_align {
            VAlign::Top => 0.0,
            VAlign::Center => (inner_h - text_h) as f32 / 2.0,
            VAlign::Bottom => (inner_h - text_h) as f32,
        };

    let (w, h) = (width as usize, height as usize);
    let mut fill = try_filled(w * h, 0, "the text's coverage")?;
    for (i, line) in lines.iter().enumerate() {
        let baseline = y0 + (i as i64 * f.line_spacing) as f32;
        let x = x0 + offset(line);
        for &(id, gx) in &line.glyphs {
            let Some(g) = f.place(id, (x + gx).round(), baseline.round()) else {
                continue;
            };
            if g.max_x <= 0 || g.max_y <= 0 || g.min_x >= w as i64 || g.min_y >= h as i64 {
                continue; // outside the image (a label clipped by `size`)
            }
            let (gw, gh, cov) = g.coverage()?;
            for py in 0..gh {
                let iy = g.min_y + py as i64;
                if iy < 0 || iy as usize >= h {
                    continue;
                }
                for (px, &v) in cov[py * gw..(py + 1) * gw].iter().enumerate() {
                    let ix = g.min_x + px as i64;
                    if ix >= 0 && (ix as usize) < w {
                        let cell = &mut fill[iy as usize * w + ix as usize];
                        *cell = (*cell).max(v);
                    }
                }
            }
        }
    }

    let bg = o.bg_color.unwrap_or([0, 0, 0, 0]);
    let mut rgba = try_filled(w * h * 4, 0, "the text image")?;
    for px in rgba.chunks_exact_mut(4) {
        px.copy_from_slice(&bg);
    }
    if stroke > 0 {
        let ring = dilate_disk(&fill, w, h, stroke as usize)?;
        composite(&mut rgba, &ring, o.stroke_color.unwrap_or(o.color));
    }
    composite(&mut rgba, &fill, o.color);
    Ok(TextImage { width, height, rgba })
}

/// Paint `color` over `rgba` with coverage `cov` (straight-alpha "over").
fn composite(rgba: &mut [u8], cov: &[u8], color: [u8; 4]) {
    let ca = f32::from(color[3]) / 255.0;
    for (px, &c) in rgba.chunks_exact_mut(4).zip(cov) {
        if c == 0 {
            continue;
        }
        let sa = f32::from(c) / 255.0 * ca;
        let da = f32::from(px[3]) / 255.0;
        let oa = sa + da * (1.0 - sa);
        if oa <= 0.0 {
            continue;
        }
        for k in 0..3 {
            let v = (f32::from(color[k]) * sa + f32::from(px[k]) * da * (1.0 - sa)) / oa;
            px[k] = v.round().clamp(0.0, 255.0) as u8;
        }
        px[3] = (oa * 255.0).round().clamp(0.0, 255.0) as u8;
    }
}

/// Grey-level dilation of `cov` by a disk of radius `r`: each pixel takes the largest coverage
/// within distance r (so the glyphs' antialiased edges carry over to the stroke's edge). Row by
/// row: for each vertical offset dy, a running maximum over the disk's half-width at that dy
/// (van Herk / Gil-Werman, 3 comparisons per pixel whatever the width).
fn dilate_disk(cov: &[u8], w: usize, h: usize, r: usize) -> Result<Vec<u8>> {
    let mut out = try_filled(w * h, 0, "the text's stroke")?;
    let mut rowmax = try_filled(w, 0, "the text's stroke")?;
    let mut scratch = Scratch::new(w)?;
    let half: Vec<usize> = (0..=r).map(|dy| ((r * r - dy * dy) as f64).sqrt().floor() as usize).collect();
    // Each row with ink, spread over the rows within r above and below (the same half-width at
    // ±d, so one running maximum serves both).
    for sy in 0..h {
        let src = &cov[sy * w..(sy + 1) * w];
        if src.iter().all(|&v| v == 0) {
            continue;
        }
        for (d, &k) in half.iter().enumerate() {
            scratch.window_max(src, k, &mut rowmax);
            let below = (sy + d < h).then_some(sy + d);
            let above = (d > 0 && sy >= d).then(|| sy - d);
            for y in [below, above].into_iter().flatten() {
                let dst = &mut out[y * w..(y + 1) * w];
                for (o, &m) in dst.iter_mut().zip(rowmax.iter()) {
                    *o = (*o).max(m);
                }
            }
        }
    }
    Ok(out)
}

struct Scratch {
    g: Vec<u8>,
    hh: Vec<u8>,
}

impl Scratch {
    fn new(w: usize) -> Result<Scratch> {
        Ok(Scratch { g: try_filled(w, 0, "the text's stroke")?, hh: try_filled(w, 0, "the text's stroke")? })
    }

    /// out[x] = max(src[x−k ..= x+k]) clipped to the row.
    fn window_max(&mut self, src: &[u8], k: usize, out: &mut [u8]) {
        let w = src.len();
        let win = 2 * k + 1;
        // Prefix maxima within blocks of `win`, suffix maxima within the same blocks (the last
        // block ends at the row's end).
        let mut run = 0u8;
        for (x, (&s, g)) in src.iter().zip(self.g.iter_mut()).enumerate() {
            run = if x % win == 0 { s } else { run.max(s) };
            *g = run;
        }
        let mut run = 0u8;
        for (x, (&s, hh)) in src.iter().zip(self.hh.iter_mut()).enumerate().rev() {
            run = if x == w - 1 || (x + 1) % win == 0 { s } else { run.max(s) };
            *hh = run;
        }
        for (x, o) in out.iter_mut().enumerate() {
            let lo = x.saturating_sub(k);
            let hi = (x + k).min(w - 1);
            // [lo, hi] is at most `win` long, so it spans at most two blocks: the suffix of lo's
            // block and the prefix of hi's. Within one block it is a prefix (it starts the
            // block) or a suffix (clipped at the row's end).
            *o = if lo / win != hi / win {
                self.hh[lo].max(self.g[hi])
            } else if lo % win == 0 {
                self.g[hi]
            } else {
                self.hh[lo]
            };
        }
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
