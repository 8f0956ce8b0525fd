//! The font side of [`super`]: parsing, metrics, kerning (GPOS pair adjustments or the legacy
//! `kern` table) and glyph outlines placed on whole pixels and rasterized to 8-bit coverage.

use crate::error::{Error, Result};
use crate::frame::try_filled;
use std::path::Path;
use ttf_parser::gpos::{PairAdjustment, PositioningSubtable};
use ttf_parser::{Face, GlyphId};

pub(super) fn parse_font<'a>(data: &'a [u8], path: Option<&Path>) -> Result<Face<'a>> {
    Face::parse(data, 0).map_err(|_| match path {
        Some(p) => Error::parameter(format!(
            "{} is not a TrueType/OpenType font (or uses outlines this renderer cannot read)",
            p.display()
        )),
        None => Error::invalid_data("the bundled font DejaVuSans.ttf is not a font"),
    })
}

/// Pair kerning from the GPOS table's `kern` feature (pair-adjustment lookups), which is what
/// HarfBuzz (Pillow's Raqm layout, hence MoviePy) applies; most recent fonts have no legacy
/// `kern` table. Adjustments of all `kern` lookups add up; within one lookup the first subtable
/// that covers the pair applies. Only the first glyph's x advance is used (what kerning sets).
pub(super) struct GposKern<'a> {
    lookups: Vec<Vec<PairAdjustment<'a>>>,
}

impl<'a> GposKern<'a> {
    pub(super) fn new(data: &'a [u8]) -> Option<GposKern<'a>> {
        let face = ttf_parser::Face::parse(data, 0).ok()?;
        let gpos = face.tables().gpos?;
        let kern = ttf_parser::Tag::from_bytes(b"kern");
        let mut indices: Vec<u16> = (0..gpos.features.len())
            .filter_map(|i| gpos.features.get(i))
            .filter(|f| f.tag == kern)
            .flat_map(|f| f.lookup_indices.into_iter())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        let lookups: Vec<Vec<PairAdjustment<'a>>> = indices
            .into_iter()
            .filter_map(|i| gpos.lookups.get(i))
            .map(|l| {
                l.subtables
                    .into_iter::<PositioningSubtable>()
                    .filter_map(|s| match s {
                        PositioningSubtable::Pair(p) => Some(p),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect();
        (!lookups.is_empty()).then_some(GposKern { lookups })
    }

    /// The adjustment of the pen after `a` when `b` follows, in font units.
    pub(super) fn kern(&self, a: GlyphId, b: GlyphId) -> f32 {
        let mut total = 0i32;
        for lookup in &self.lookups {
            for st in lookup {
                let hit = match st {
                    PairAdjustment::Format1 { coverage, sets } => {
                        coverage.get(a).and_then(|i| sets.get(i)).and_then(|set| set.get(b)).map(|(v, _)| v.x_advance)
                    }
                    PairAdjustment::Format2 { coverage, classes, matrix } => coverage
                        .contains(a)
                        .then(|| matrix.get((classes.0.get(a), classes.1.get(b))).map_or(0, |(v, _)| v.x_advance)),
                };
                if let Some(dx) = hit {
                    total += i32::from(dx);
                    break;
                }
            }
        }
        total as f32
    }
}

/// The glyph of `c` (the missing-glyph box, glyph 0, when the font has none).
pub(super) fn glyph_id(font: &Face, c: char) -> GlyphId {
    font.glyph_index(c).unwrap_or(GlyphId(0))
}

/// Pair kerning from the legacy `kern` table, in font units: the first horizontal, non-variable
/// subtable that has the pair.
pub(super) fn kern_table(font: &Face, a: GlyphId, b: GlyphId) -> f32 {
    font.tables()
        .kern
        .and_then(|k| {
            k.subtables.into_iter().filter(|s| s.horizontal && !s.variable).find_map(|s| s.glyphs_kerning(a, b))
        })
        .map_or(0.0, f32::from)
}

/// A glyph's outline scaled and placed in the image (y down): its pixel box — the font's
/// bounding box of the glyph at the pen position, floored and ceiled, which is what Pillow
/// measures — and the outline relative to that box's top-left corner.
pub(super) struct Placed {
    pub(super) min_x: i64,
    pub(super) min_y: i64,
    pub(super) max_x: i64,
    pub(super) max_y: i64,
    pub(super) path: Vec<zeno::Command>,
}

impl Placed {
    /// The glyph's coverage over its box, row by row (8 bits, non-zero fill).
    pub(super) fn coverage(&self) -> Result<(usize, usize, Vec<u8>)> {
        let (w, h) = ((self.max_x - self.min_x) as usize, (self.max_y - self.min_y) as usize);
        let mut cov = try_filled(w * h, 0, "a glyph's coverage")?;
        zeno::Mask::new(&self.path).size(w as u32, h as u32).render_into(&mut cov, None);
        Ok((w, h, cov))
    }
}

/// Collects a ttf-parser outline as zeno path commands, scaled by `s` pixels per font unit,
/// y flipped, and moved by (`dx`, `dy`).
pub(super) struct PathOut {
    s: f32,
    dx: f32,
    dy: f32,
    path: Vec<zeno::Command>,
}

impl PathOut {
    fn p(&self, x: f32, y: f32) -> zeno::Vector {
        zeno::Vector::new(x * self.s + self.dx, self.dy - y * self.s)
    }
}

impl ttf_parser::OutlineBuilder for PathOut {
    fn move_to(&mut self, x: f32, y: f32) {
        let p = self.p(x, y);
        self.path.push(zeno::Command::MoveTo(p));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.p(x, y);
        self.path.push(zeno::Command::LineTo(p));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (c, p) = (self.p(x1, y1), self.p(x, y));
        self.path.push(zeno::Command::QuadTo(c, p));
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (c1, c2, p) = (self.p(x1, y1), self.p(x2, y2), self.p(x, y));
        self.path.push(zeno::Command::CurveTo(c1, c2, p));
    }
    fn close(&mut self) {
        self.path.push(zeno::Command::Close);
    }
}

/// The font at one size: scale factors and MoviePy/Pillow's vertical metrics.
pub(super) struct SizedFont<'a> {
    pub(super) font: Face<'a>,
    /// GPOS kerning when the font has it; else the `kern` table's.
    pub(super) gpos_kern: Option<GposKern<'a>>,
    /// Pixels per font unit.
    pub(super) px_per_unit: f32,
    pub(super) ascent: i64,
    pub(super) descent: i64,
    /// Distance between two baselines.
    pub(super) line_spacing: i64,
    pub(super) stroke: i64,
}

impl<'a> SizedFont<'a> {
    pub(super) fn new(
        data: &'a [u8],
        path: Option<&Path>,
        font_size: f32,
        stroke: u32,
        interline: i32,
    ) -> Result<SizedFont<'a>> {
        let font = parse_font(data, path)?;
        let gpos_kern = GposKern::new(data);
        let upem = f32::from(font.units_per_em());
        let px_per_unit = font_size / upem;
        let (ascender, descender) = (f32::from(font.ascender()), f32::from(font.descender()));
        if ascender - descender <= 0.0 {
            return Err(Error::parameter("the font has no usable ascent/descent"));
        }
        let ascent = (ascender * px_per_unit).ceil() as i64;
        let descent = (-descender * px_per_unit).ceil() as i64;
        let stroke = i64::from(stroke);
        let mut f = SizedFont { font, gpos_kern, px_per_unit, ascent, descent, line_spacing: 0, stroke };
        // Pillow: textbbox((0, 0), "A", anchor "la", stroke)[3] + stroke + spacing.
        let below = f.bounds(f.glyph('A'), 0.0, 0.0).map_or(0, |b| b.3.max(0));
        f.line_spacing = ascent + below + stroke + stroke + i64::from(interline);
        Ok(f)
    }

    pub(super) fn glyph(&self, c: char) -> GlyphId {
        glyph_id(&self.font, c)
    }

    /// The pixel box (min x, min y, max x, max y) of glyph `id` drawn with its origin at (`x`,
    /// `y`) (whole pixels), or None for a glyph with no outline (a space).
    pub(super) fn bounds(&self, id: GlyphId, x: f32, y: f32) -> Option<(i64, i64, i64, i64)> {
        let r = self.font.glyph_bounding_box(id).filter(|r| r.x_min < r.x_max && r.y_min < r.y_max)?;
        let s = self.px_per_unit;
        Some((
            (f32::from(r.x_min) * s + x).floor() as i64,
            (y - f32::from(r.y_max) * s).floor() as i64,
            (f32::from(r.x_max) * s + x).ceil() as i64,
            (y - f32::from(r.y_min) * s).ceil() as i64,
        ))
    }

    /// Glyph `id`'s outline placed with its origin at (`x`, `y`) (whole pixels), or None for a
    /// glyph with no outline.
    pub(super) fn place(&self, id: GlyphId, x: f32, y: f32) -> Option<Placed> {
        let (min_x, min_y, max_x, max_y) = self.bounds(id, x, y)?;
        let mut out = PathOut { s: self.px_per_unit, dx: x - min_x as f32, dy: y - min_y as f32, path: Vec::new() };
        self.font.outline_glyph(id, &mut out)?;
        Some(Placed { min_x, min_y, max_x, max_y, path: out.path })
    }

    /// Kerning between two glyphs, in font units.
    pub(super) fn kern(&self, a: GlyphId, b: GlyphId) -> f32 {
        match &self.gpos_kern {
            Some(g) => g.kern(a, b),
            None => kern_table(&self.font, a, b),
        }
    }
}
