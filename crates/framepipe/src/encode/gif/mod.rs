//! Animated GIF (GIF89a) output, streaming.
//!
//! GIF is **codec and container in one**: the file is a header, a colour table, then one image
//! block (LZW-compressed palette indices, with its own delay) per frame, and a trailer byte
//! `0x3B`. So this module does what `encode/` and `mux/` do for MP4 together: it takes packed
//! RGB frames and writes the file. The byte-level writing and LZW are the `gif` crate's
//! (`write_lzw_pre_encoded_frame`); everything that decides size and quality is here:
//!
//! - **Palette** ([`palette`]): see [`GifEncoder`] for the strategy and why.
//! - **Dithering**: none, ordered (8x8 Bayer, fixed to the pixel position) or Floyd–Steinberg.
//! - **Frame differencing**: each frame is compared with the previous *source* frame; only the
//!   rectangle of pixels whose displayed colour changes is stored, and inside it every pixel that
//!   still shows the right colour is transparent (disposal "keep"), which makes long runs that
//!   LZW compresses to almost nothing. A frame that changes nothing on screen is not stored: the
//!   previous frame's delay grows instead.
//! - **Timing**: GIF delays are whole hundredths of a second. Frame `i` starts at
//!   `floor(100 · i / fps)` cs, so rounding errors never add up (30 fps → 3, 3, 4, 3, 3, 4, …
//!   and 100 frames last exactly 333 cs). Players (browsers, ffmpeg) show any delay below 2 cs as
//!   10 cs, so above 50 fps a frame that would start less than 2 cs after the previous one is
//!   dropped and the previous frame shown for its time instead; the total stays exact.
//!
//! Memory is flat: the encoder keeps the previous source frame and the canvas (what a player
//! shows), each `width × height × 3` bytes, plus one compressed frame waiting for its delay.
//! No frame is kept beyond that, however long the animation.
//!
//! Alpha: transparent source pixels are composited over the background colour, as for MP4, so a
//! GIF and an MP4 of the same frames look the same (GIF's one-bit transparency is used only for
//! the "unchanged pixel" optimisation, never to show through to the page).

pub mod palette;
pub mod probe;
mod sink;
pub use probe::GifInfo;
use sink::Counting;
pub use sink::GifSink;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::frame::try_filled;
use crate::options::{Dither, GifOptions};
use crate::rational::Rational;
use palette::{histogram, pack, quantize, Nearest};
use std::borrow::Cow;
use std::io::{self, Write};

/// Byte offset of the global colour table: "GIF89a" (6) + logical screen descriptor (7).
const GCT_OFFSET: u64 = 13;
/// Marks "keep what is displayed" in the mapped region (palette indices are 0..=255).
const KEEP: u16 = 256;
/// Longest delay one image can carry, in cs.
const MAX_DELAY: u64 = u16::MAX as u64;
/// Players show shorter delays as 10 cs.
const MIN_DELAY: u64 = 2;
/// Floyd–Steinberg leaves a pixel alone (nearest colour, no error spread) when the palette holds
/// its colour this closely (squared distance; about 2 levels per channel): plots and flat areas
/// stay clean and compress like undithered ones, and only colours the palette misses get dithered.
const FS_EXACT: u32 = 12;
/// A frame gets its own palette when its changed pixels fit the global one worse than this mean
/// squared error per channel (PSNR 45 dB)...
const LOCAL_MSE: f64 = 2.0;
/// ...and there are enough of them to be worth a local colour table (up to 768 bytes): this
/// many, or a sixteenth of the frame if that is less.
const LOCAL_MIN_PIXELS: u64 = 1024;

/// A half-open rectangle of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

impl Rect {
    fn w(&self) -> u32 {
        self.x1 - self.x0
    }
    fn h(&self) -> u32 {
        self.y1 - self.y0
    }
    fn include(r: &mut Option<Rect>, x: u32, y: u32) {
        match r {
            None => *r = Some(Rect { x0: x, y0: y, x1: x + 1, y1: y + 1 }),
            Some(r) => {
                r.x0 = r.x0.min(x);
                r.x1 = r.x1.max(x + 1);
                r.y0 = r.y0.min(y);
                r.y1 = r.y1.max(y + 1);
            }
        }
    }
}

/// A palette with its search structure and the ordered-dither strength that suits it.
struct Pal {
    colors: Vec<[u8; 3]>,
    near: Nearest,
    /// Typical distance between neighbouring entries (ordered dither amplitude).
    spread: i32,
}

impl Pal {
    fn new(colors: Vec<[u8; 3]>) -> Pal {
        let near = Nearest::new(&colors);
        let spread = spread_of(&colors);
        Pal { colors, near, spread }
    }
}

/// Median distance from each entry to its nearest other entry, at least 1.
fn spread_of(colors: &[[u8; 3]]) -> i32 {
    if colors.len() < 2 {
        return 1;
    }
    let mut d: Vec<u32> = colors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            colors
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, b)| (0..3).map(|k| (a[k] as i32 - b[k] as i32).pow(2) as u32).sum::<u32>())
                .min()
                .unwrap_or(0)
        })
        .collect();
    d.sort_unstable();
    ((d[d.len() / 2] as f64).sqrt().round() as i32).max(1)
}

/// Result of mapping a region to palette indices.
struct Mapped {
    /// Rectangle of pixels whose displayed colour changes.
    opaque: Option<Rect>,
}

/// One image waiting for its delay (known when the next frame that changes something arrives).
struct Pending {
    frame: ::gif::Frame<'static>,
    /// Start time in cs.
    start: u64,
    /// Source frames it shows (1 + merged identical/dropped ones).
    display_frames: u64,
}

/// Streaming GIF encoder: RGB frames in, a GIF89a out, in flat memory.
///
/// **Palette strategy** (a global palette from the first frame that grows, plus local palettes
/// for the frames it fits badly):
///
/// 1. The first frame's colours make the palette: exactly, when they fit (plots, diagrams, UI:
///    lossless), else median cut + k-means (close to the least squared error for that frame).
///    It is the file's global colour table.
/// 2. While it has free entries, colours that appear later are added exactly (most frequent
///    first). The global table is written at its full size (room for `colors` plus the
///    transparent index) at a fixed offset, so it is rewritten in place; earlier frames are unaffected, as they never use the new entries. This keeps plot
///    animations lossless without seeing all frames first.
/// 3. A frame whose *changed* pixels fit the global palette badly (mean squared error above
///    `LOCAL_MSE`, PSNR 45 dB, over at least `LOCAL_MIN_PIXELS` pixels: a scene change, a colour map
///    sweeping in, moving anti-aliased edges over a gradient) gets a palette made for just those
///    pixels, as a local colour table (at most 768 bytes), if it at least halves their error.
///    The next frame starts from the global palette again, so a local palette never goes stale.
///
/// One entry of the 256 always stays free, so every image has a transparent index for the
/// pixels it leaves as they are.
///
/// Why not the alternatives: a palette from *all* frames (ffmpeg's palettegen, gifski) needs two
/// passes or every frame kept in memory; a fresh whole-frame palette per frame (Pillow) costs a
/// table per frame and makes unchanged pixels map differently from frame to frame, which
/// defeats the transparency that makes animated GIFs small. Here only the previous frame and the
/// canvas are kept (plus one compressed image waiting for its delay), so memory does not grow
/// with the number of frames, and each palette is made from at most one frame's pixels.
pub struct GifEncoder<W: GifSink> {
    enc: Option<::gif::Encoder<Counting<W>>>,
    width: u32,
    height: u32,
    opts: GifOptions,
    fps: Rational,
    /// The global colour table's entries (always written as 256).
    global: Vec<[u8; 3]>,
    global_dirty: bool,
    /// The palette frames are mapped with: the global one, or for one frame its local one.
    cur: Pal,
    /// `cur` is a local palette (written with the image).
    cur_local: bool,
    /// Previous source frame and the displayed canvas, packed RGB.
    prev: Vec<u8>,
    canvas: Vec<u8>,
    started: bool,
    /// Source frames given so far.
    next_index: u64,
    pending: Option<Pending>,
    /// File position after the last whole image, and the source frames up to it.
    committed_pos: u64,
    committed_frames: u64,
    images: u64,
    /// (position, frames, images) before the last image: where to cut if even the trailer
    /// does not fit after it.
    before_last: Option<(u64, u64, u64)>,
    failed: bool,
    /// A failed write of the last image (in `finish`).
    write_error: Option<Error>,
    /// The output, back from the `gif` encoder once finished.
    sink: Option<W>,
    // Scratch, reused from frame to frame.
    map_a: Vec<u16>,
    err: Vec<[i32; 3]>,
    keys: Vec<u32>,
}

impl<W: GifSink> GifEncoder<W> {
    /// Write the GIF header for `width`x`height` frames into `sink`.
    pub fn new(sink: W, width: u32, height: u32, fps: Rational, opts: &GifOptions) -> Result<Self> {
        opts.validate()?;
        if width == 0 || height == 0 || width > 65535 || height > 65535 {
            return Err(Error::parameter(format!("a GIF is 1x1 to 65535x65535 pixels, got {width}x{height}")));
        }
        let counting = Counting::new(sink);
        // Room for every colour the palette may get, filled in (patched) as it is known and grows.
        let table = vec![0u8; 3 * local_table_len((opts.colors as usize).min(255))];
        let mut enc = ::gif::Encoder::new(counting, width as u16, height as u16, &table).map_err(gif_err)?;
        let repeat = match opts.loop_count {
            0 => ::gif::Repeat::Infinite,
            n => ::gif::Repeat::Finite((n - 1) as u16), // 1 play: no NETSCAPE block at all
        };
        enc.set_repeat(repeat).map_err(gif_err)?;
        enc.get_mut().flush().map_err(|e| Error::io("writing the GIF header", e))?;
        let committed_pos = enc.get_ref().pos;
        let n = width as usize * height as usize * 3;
        let (prev, canvas) = (try_filled(n, 0, "the GIF's previous frame")?, try_filled(n, 0, "the GIF's canvas")?);
        // Scratch that a frame may fill up to its size: reserved now, fallibly, so that a frame
        // does not abort the process where memory is short.
        let pixels = width as usize * height as usize;
        let oom = |what: &str| Error::out_of_memory(format!("no memory for the {width}x{height} GIF's {what}"));
        let mut keys: Vec<u32> = Vec::new();
        keys.try_reserve_exact(pixels).map_err(|_| oom("colour keys"))?;
        let mut map_a: Vec<u16> = Vec::new();
        map_a.try_reserve_exact(pixels).map_err(|_| oom("palette indices"))?;
        Ok(GifEncoder {
            enc: Some(enc),
            width,
            height,
            opts: *opts,
            fps,
            global: Vec::new(),
            global_dirty: false,
            cur: Pal::new(vec![[0, 0, 0]]),
            cur_local: false,
            prev,
            canvas,
            started: false,
            next_index: 0,
            pending: None,
            committed_pos,
            committed_frames: 0,
            images: 0,
            before_last: None,
            failed: false,
            write_error: None,
            sink: None,
            map_a,
            err: Vec::new(),
            keys,
        })
    }

    /// Source frames in the finished part of the file (merged and dropped frames count: this is
    /// the number of frame periods the file shows).
    pub fn frames(&self) -> u64 {
        self.committed_frames
    }

    /// Source frames a reader of the unfinished file sees: every frame given, as the last image
    /// is kept on disk provisionally (see `write_provisional`), unless a write failed.
    pub fn frames_on_disk(&self) -> u64 {
        if self.failed {
            self.committed_frames
        } else {
            self.committed_frames + self.pending.as_ref().map_or(0, |p| p.display_frames)
        }
    }

    /// The output while writing (None once finished: see [`into_sink`](Self::into_sink)), e.g.
    /// to rename the file into place.
    pub fn sink_mut(&mut self) -> Option<&mut W> {
        self.enc.as_mut().map(|e| &mut e.get_mut().inner)
    }

    /// The output, after [`finish`](Self::finish) (also after a failed one, when it got that far).
    pub fn into_sink(self) -> Option<W> {
        self.sink
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.enc.as_ref().map_or(self.committed_pos, |e| e.get_ref().pos)
    }

    /// Palette entries at most: `colors`, less one of 256 that is kept free for transparency
    /// (so every image can mark the pixels it leaves unchanged).
    fn max_colors(&self) -> usize {
        (self.opts.colors as usize).min(255)
    }

    /// Start of frame `i` in cs: `floor(100 i / fps)`, so rounding never accumulates.
    fn start_cs(&self, i: u64) -> u64 {
        let v = 100u128 * i as u128 * self.fps.den as u128 / self.fps.num as u128;
        v.min(u64::MAX as u128) as u64
    }

    /// Encode one packed-RGB frame (`width × height × 3` bytes, rows without padding).
    pub fn write_rgb(&mut self, rgb: &[u8]) -> Result<()> {
        let index = self.next_index;
        if self.failed {
            return Err(Error::encoder(format!("cannot encode frame {index}: the GIF writer failed earlier")));
        }
        if rgb.len() != self.canvas.len() {
            return Err(Error::parameter(format!(
                "frame {index}: expected {} bytes of packed RGB for {}x{}, got {}",
                self.canvas.len(),
                self.width,
                self.height,
                rgb.len()
            )));
        }
        self.next_index += 1;
        let start = self.start_cs(index);
        if let Some(p) = &mut self.pending {
            if start < p.start + MIN_DELAY {
                // Above 50 fps: this frame would show for less than players allow.
                p.display_frames += 1;
                return Ok(());
            }
        }
        let frame = if !self.started { self.first_frame(rgb)? } else { self.next_frame(rgb)? };
        let Some(mut frame) = frame else {
            // Nothing changes on screen: the previous image shows longer.
            if let Some(p) = &mut self.pending {
                p.display_frames += 1;
            }
            return Ok(());
        };
        frame.make_lzw_pre_encoded();
        if self.global_dirty {
            self.patch_global()?;
        }
        if let Some(p) = self.pending.take() {
            self.write_pending(p, start)?;
        }
        self.pending = Some(Pending { frame, start, display_frames: 1 });
        self.write_provisional();
        Ok(())
    }

    /// Put the pending image on disk already, with the delay of one frame, and a trailer after
    /// it, without counting it as written: a process killed now leaves a GIF with every frame
    /// given so far. When the next image comes, this one is written again over it (the same
    /// bytes but its final delay). A failure here is not one yet: the final write will tell.
    fn write_provisional(&mut self) {
        let Some(p) = &self.pending else { return };
        let mut frame = p.frame.clone();
        let next = self.start_cs(self.next_index);
        frame.delay = next.saturating_sub(p.start).clamp(MIN_DELAY, MAX_DELAY) as u16;
        let enc = self.enc.as_mut().expect("open until finished");
        let written = enc.write_lzw_pre_encoded_frame(&frame).is_ok();
        let out = enc.get_mut();
        if written {
            let _ = out.write_all(&[0x3B]).and_then(|_| out.flush());
        }
        // Back to the end of the last image written for good (the bytes stay on disk).
        let _ = out.rewind(self.committed_pos);
    }

    fn first_frame(&mut self, rgb: &[u8]) -> Result<Option<::gif::Frame<'static>>> {
        self.keys.clear();
        self.keys.extend(rgb.chunks_exact(3).map(|p| pack([p[0], p[1], p[2]])));
        let hist = histogram(&mut self.keys)?;
        let colors = quantize(&hist, self.max_colors());
        self.cur = Pal::new(colors);
        let full = Rect { x0: 0, y0: 0, x1: self.width, y1: self.height };
        let mut map = std::mem::take(&mut self.map_a);
        self.map(rgb, full, true, &mut map);
        self.global = self.cur.colors.clone();
        self.global_dirty = true;
        self.started = true;
        let f = self.commit(rgb, full, &map, full);
        self.map_a = map;
        f.map(Some)
    }

    fn next_frame(&mut self, rgb: &[u8]) -> Result<Option<::gif::Frame<'static>>> {
        let Some(region) = self.changed_rect(rgb) else { return Ok(None) };
        // The colours of the changed pixels, counted: for growing the palette, judging it, and
        // making a local one.
        self.keys.clear();
        let w = self.width as usize;
        for y in region.y0 as usize..region.y1 as usize {
            let (a, b) = ((y * w + region.x0 as usize) * 3, (y * w + region.x1 as usize) * 3);
            if rgb[a..b] == self.prev[a..b] {
                continue;
            }
            for (s, p) in rgb[a..b].chunks_exact(3).zip(self.prev[a..b].chunks_exact(3)) {
                if s != p {
                    self.keys.push(pack([s[0], s[1], s[2]]));
                }
            }
        }
        let changed = self.keys.len() as u64;
        let hist = histogram(&mut self.keys)?;
        self.grow_palette(&hist);
        // How well the global palette fits them (nearest colour; dithering only spreads that).
        let sse = |near: &mut Nearest| hist.iter().map(|c| near.find(c.rgb).1 as u64 * c.count as u64).sum::<u64>();
        let mse = sse(&mut self.cur.near) as f64 / (3 * changed.max(1)) as f64;
        let mut local = None;
        let pixels = (self.width * self.height) as u64;
        if changed >= LOCAL_MIN_PIXELS.min(pixels / 16) && mse > LOCAL_MSE {
            let mut pal = Pal::new(quantize(&hist, self.max_colors()));
            let local_mse = sse(&mut pal.near) as f64 / (3 * changed) as f64;
            if local_mse * 2.0 <= mse {
                local = Some(pal);
            }
        }
        // A local palette serves this frame only: the global one stays the base for the next.
        let global = local.map(|pal| std::mem::replace(&mut self.cur, pal));
        self.cur_local = global.is_some();
        let mut map = std::mem::take(&mut self.map_a);
        let m = self.map(rgb, region, false, &mut map);
        let out = m.opaque.map(|opaque| self.commit(rgb, region, &map, opaque)).transpose();
        if matches!(out, Ok(None)) {
            self.copy_prev(rgb, region);
        }
        if let Some(global) = global {
            self.cur = global;
            self.cur_local = false;
        }
        self.map_a = map;
        out
    }

    /// Add colours that the changed pixels have and the palette lacks, while it has room (most
    /// frequent first).
    fn grow_palette(&mut self, hist: &[palette::ColorCount]) {
        let room = self.max_colors().saturating_sub(self.cur.colors.len());
        if room == 0 {
            return;
        }
        let mut new: Vec<palette::ColorCount> =
            hist.iter().filter(|c| self.cur.near.find(c.rgb).1 != 0).copied().collect();
        if new.is_empty() {
            return;
        }
        new.sort_by(|a, b| b.count.cmp(&a.count).then(pack(a.rgb).cmp(&pack(b.rgb))));
        let mut colors = std::mem::take(&mut self.cur.colors);
        colors.extend(new.iter().take(room).map(|c| c.rgb));
        self.cur = Pal::new(colors);
        self.global = self.cur.colors.clone();
        self.global_dirty = true;
    }

    /// Bounding rectangle of the pixels that differ from the previous source frame.
    fn changed_rect(&self, rgb: &[u8]) -> Option<Rect> {
        let row_len = self.width as usize * 3;
        let mut r: Option<Rect> = None;
        for y in 0..self.height as usize {
            let a = &rgb[y * row_len..(y + 1) * row_len];
            let b = &self.prev[y * row_len..(y + 1) * row_len];
            if a == b {
                continue;
            }
            let first = a.iter().zip(b).position(|(p, q)| p != q).unwrap() / 3;
            let last = (row_len - 1 - a.iter().rev().zip(b.iter().rev()).position(|(p, q)| p != q).unwrap()) / 3;
            Rect::include(&mut r, first as u32, y as u32);
            Rect::include(&mut r, last as u32, y as u32);
        }
        r
    }

    /// Map `region` of `rgb` to indices of the current palette into `out` (KEEP where the
    /// display already shows the right colour). Reads but does not change prev and canvas.
    fn map(&mut self, rgb: &[u8], region: Rect, first: bool, out: &mut Vec<u16>) -> Mapped {
        let (rw, rh) = (region.w() as usize, region.h() as usize);
        out.clear();
        out.resize(rw * rh, KEEP);
        let w = self.width as usize;
        let dither = self.opts.dither;
        // Two rows of diffused error (x16), with a column of slack on each side.
        self.err.clear();
        if dither == Dither::FloydSteinberg {
            self.err.resize(2 * (rw + 2), [0; 3]);
        }
        let mut opaque: Option<Rect> = None;
        let spread = self.cur.spread;
        let pal = &self.cur.colors;
        let near = &mut self.cur.near;
        let (prev, canvas) = (&self.prev, &self.canvas);
        let half = self.err.len() / 2;
        let (cur_err, next_err) = self.err.split_at_mut(half);
        let (mut cur_err, mut next_err) = (cur_err, next_err);
        for ry in 0..rh {
            let y = region.y0 as usize + ry;
            let (a, b) = ((y * w + region.x0 as usize) * 3, (y * w + region.x1 as usize) * 3);
            let (src, prev_row, canvas_row) = (&rgb[a..b], &prev[a..b], &canvas[a..b]);
            let out_row = &mut out[ry * rw..(ry + 1) * rw];
            if dither == Dither::FloydSteinberg {
                std::mem::swap(&mut cur_err, &mut next_err);
                next_err.fill([0; 3]);
            } else if !first && src == prev_row {
                continue; // nothing changed in this row
            }
            let mut row_lo = usize::MAX;
            let mut row_hi = 0;
            for (rx, ((s, p), c)) in
                src.chunks_exact(3).zip(prev_row.chunks_exact(3)).zip(canvas_row.chunks_exact(3)).enumerate()
            {
                if !first && s == p {
                    continue; // unchanged source: keep what is shown, diffuse nothing
                }
                let s = [s[0], s[1], s[2]];
                let i = match dither {
                    Dither::None => near.find(s).0,
                    Dither::Ordered => {
                        let exact = near.find(s);
                        if exact.1 == 0 {
                            exact.0
                        } else {
                            let x = region.x0 as usize + rx;
                            let t = BAYER8[y & 7][x & 7] as i32 * 2 - 63; // -63..=63, mean 0
                            let off = t * spread / 128;
                            near.find(s.map(|c| (c as i32 + off).clamp(0, 255) as u8)).0
                        }
                    }
                    Dither::FloydSteinberg => {
                        let exact = near.find(s);
                        if exact.1 <= FS_EXACT {
                            // Close enough: flat stays flat (no noise on plots), nothing spreads.
                            exact.0
                        } else {
                            let e = cur_err[rx + 1];
                            let t = [0, 1, 2].map(|k| (s[k] as i32 + ((e[k] + 8) >> 4)).clamp(0, 255) as u8);
                            let i = near.find(t).0;
                            let p = pal[i as usize];
                            let d = [0, 1, 2].map(|k| t[k] as i32 - p[k] as i32);
                            for k in 0..3 {
                                cur_err[rx + 2][k] += d[k] * 7;
                                next_err[rx][k] += d[k] * 3;
                                next_err[rx + 1][k] += d[k] * 5;
                                next_err[rx + 2][k] += d[k];
                            }
                            i
                        }
                    }
                };
                if !first && pal[i as usize][..] == c[..] {
                    continue; // shows the same colour already
                }
                out_row[rx] = i as u16;
                row_lo = row_lo.min(rx);
                row_hi = rx;
            }
            if row_lo != usize::MAX {
                let x0 = region.x0 + row_lo as u32;
                let x1 = region.x0 + row_hi as u32;
                Rect::include(&mut opaque, x0, y as u32);
                Rect::include(&mut opaque, x1, y as u32);
            }
        }
        Mapped { opaque }
    }

    /// Apply a mapping: update canvas and prev, and make the image for the `opaque` rectangle.
    fn commit(&mut self, rgb: &[u8], region: Rect, map: &[u16], opaque: Rect) -> Result<::gif::Frame<'static>> {
        let w = self.width as usize;
        let rw = region.w() as usize;
        // Indices used by the new pixels; an unused one becomes this image's transparent index.
        let mut used = [false; 256];
        let mut any_keep = false;
        for y in opaque.y0..opaque.y1 {
            let ry = (y - region.y0) as usize;
            for x in opaque.x0..opaque.x1 {
                let v = map[ry * rw + (x - region.x0) as usize];
                if v == KEEP {
                    any_keep = true;
                } else {
                    used[v as usize] = true;
                }
            }
        }
        let table_len = local_table_len(if self.cur_local { self.cur.colors.len() } else { self.max_colors() });
        let trns = if any_keep { used[..table_len].iter().position(|u| !u).map(|i| i as u8) } else { None };
        let (ow, oh) = (opaque.w() as usize, opaque.h() as usize);
        let mut buf = Vec::new();
        buf.try_reserve_exact(ow * oh)
            .map_err(|_| Error::out_of_memory(format!("no memory for a {ow}x{oh} GIF image")))?;
        for y in opaque.y0..opaque.y1 {
            let ry = (y - region.y0) as usize;
            for x in opaque.x0..opaque.x1 {
                let o = (y as usize * w + x as usize) * 3;
                let v = map[ry * rw + (x - region.x0) as usize];
                let idx = if v != KEEP {
                    v as u8
                } else if let Some(t) = trns {
                    buf.push(t);
                    continue;
                } else {
                    // Every index is in use: repaint the kept pixel with its nearest entry.
                    let c = [self.canvas[o], self.canvas[o + 1], self.canvas[o + 2]];
                    self.cur.near.find(c).0
                };
                buf.push(idx);
                self.canvas[o..o + 3].copy_from_slice(&self.cur.colors[idx as usize]);
            }
        }
        // New pixels outside the opaque rectangle do not exist (it bounds them), so prev is
        // updated over the whole region.
        self.copy_prev(rgb, region);
        let palette = self.cur_local.then(|| {
            let mut t: Vec<u8> = self.cur.colors.iter().flatten().copied().collect();
            t.resize(table_len * 3, 0);
            t
        });
        Ok(::gif::Frame {
            delay: 0,
            dispose: ::gif::DisposalMethod::Keep,
            transparent: trns,
            needs_user_input: false,
            top: opaque.y0 as u16,
            left: opaque.x0 as u16,
            width: ow as u16,
            height: oh as u16,
            interlaced: false,
            palette,
            buffer: Cow::Owned(buf),
        })
    }

    fn copy_prev(&mut self, rgb: &[u8], region: Rect) {
        let w = self.width as usize;
        for y in region.y0 as usize..region.y1 as usize {
            let a = (y * w + region.x0 as usize) * 3;
            let b = (y * w + region.x1 as usize) * 3;
            self.prev[a..b].copy_from_slice(&rgb[a..b]);
        }
    }

    fn patch_global(&mut self) -> Result<()> {
        let mut table = vec![0u8; 3 * local_table_len(self.max_colors())];
        for (t, c) in table.chunks_exact_mut(3).zip(&self.global) {
            t.copy_from_slice(c);
        }
        let enc = self.enc.as_mut().expect("open until finished");
        if let Err(e) = enc.get_mut().patch(GCT_OFFSET, &table) {
            self.failed = true;
            return Err(Error::io("writing the GIF colour table", e));
        }
        self.global_dirty = false;
        Ok(())
    }

    /// Write the pending image with the delay up to `end` (cs), splitting delays too long for
    /// one image into transparent 1x1 continuation images.
    fn write_pending(&mut self, p: Pending, end: u64) -> Result<()> {
        let mut delay = end.saturating_sub(p.start).max(MIN_DELAY);
        let mut frame = p.frame;
        loop {
            let d = delay.min(MAX_DELAY);
            frame.delay = d as u16;
            let enc = self.enc.as_mut().expect("open until finished");
            let written = enc.write_lzw_pre_encoded_frame(&frame).map_err(gif_err);
            let written = written.and_then(|_| enc.get_mut().flush().map_err(|e| Error::io("writing the GIF", e)));
            if let Err(e) = written {
                self.failed = true;
                return Err(e);
            }
            self.before_last = Some((self.committed_pos, self.committed_frames, self.images));
            self.committed_pos = enc.get_ref().pos;
            self.images += 1;
            delay -= d;
            if delay == 0 {
                break;
            }
            frame = ::gif::Frame {
                width: 1,
                height: 1,
                transparent: Some(0),
                buffer: Cow::Owned(vec![0]),
                ..::gif::Frame::default()
            };
            frame.make_lzw_pre_encoded();
        }
        self.committed_frames += p.display_frames;
        Ok(())
    }

    /// Write the last image and the trailer; the file is then a complete GIF. After a write
    /// error (earlier, or of the last image: see [`take_write_error`](Self::take_write_error))
    /// the file is cut back to the last whole image and ends there, so it is a valid GIF of the
    /// frames before the error; if even the trailer does not fit, one more image is dropped.
    /// An error here means the file could not be made valid (or holds no frame at all).
    pub fn finish(&mut self) -> Result<()> {
        if !self.failed {
            let mut res = Ok(());
            if self.global_dirty {
                res = self.patch_global();
            }
            if let (Ok(()), Some(p)) = (&res, self.pending.take()) {
                let end = self.start_cs(self.next_index);
                res = self.write_pending(p, end);
            }
            if let Err(e) = res {
                self.write_error = Some(e);
            }
        }
        self.pending = None;
        let Some(mut enc) = self.enc.take() else {
            return Err(Error::parameter("the GIF was already finished"));
        };
        let out = enc.get_mut();
        let mut result = Ok(());
        if self.failed {
            if let Err(e) = out.cut(self.committed_pos) {
                result = Err(Error::io("cutting the GIF back to its last whole frame", e));
            }
        }
        if result.is_ok() {
            result = loop {
                match out.write_all(&[0x3B]).and_then(|_| out.flush()) {
                    Ok(()) => break Ok(()),
                    Err(e) => match self.before_last.take() {
                        // No room for even the trailer: drop the last image and try again.
                        Some((pos, frames, images)) => {
                            if let Err(e) = out.cut(pos) {
                                break Err(Error::io("cutting the GIF back to its last whole frame", e));
                            }
                            (self.committed_pos, self.committed_frames, self.images) = (pos, frames, images);
                            if images == 0 {
                                break Err(Error::io(
                                    "the GIF holds no frame: not even the first frame and the trailer fit",
                                    e,
                                ));
                            }
                        }
                        _ if self.images == 0 => {
                            break Err(Error::io(
                                "the GIF holds no frame: not even the first frame could be written",
                                e,
                            ))
                        }
                        _ => break Err(Error::io("writing the GIF trailer", e)),
                    },
                }
            };
        }
        if result.is_ok() {
            // Nothing after the trailer (a longer provisional image written earlier).
            let end = out.pos;
            if let Err(e) = out.cut(end) {
                result = Err(Error::io("finishing the GIF", e));
            }
        }
        self.committed_pos = out.pos;
        // The trailer is written; the `gif` encoder's own (on into_inner) goes nowhere.
        out.discard = true;
        if let Ok(w) = enc.into_inner() {
            self.sink = Some(w.inner);
        }
        result?;
        if self.images == 0 {
            return Err(Error::io(
                "the GIF holds no frame: not even the first frame could be written",
                io::Error::other("no frame written"),
            ));
        }
        Ok(())
    }

    /// The write error of the last image, which [`finish`](Self::finish) writes (the file is
    /// still valid without it).
    pub fn take_write_error(&mut self) -> Option<Error> {
        self.write_error.take()
    }
}

/// Length of a colour table for `n` entries: a power of two with room for one more (the
/// transparent index).
fn local_table_len(n: usize) -> usize {
    (n + 1).next_power_of_two().max(2)
}

fn gif_err(e: ::gif::EncodingError) -> Error {
    match e {
        ::gif::EncodingError::Io(io) => Error::io("writing the GIF", io),
        other => Error::encoder(format!("GIF: {other}")),
    }
}

/// 8x8 Bayer threshold matrix (values 0..=63).
const BAYER8: [[u8; 8]; 8] = [
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
];
