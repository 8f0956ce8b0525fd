//! Colour quantization: a weighted colour histogram, a palette from it (exact when the colours
//! fit, else variance-based median cut refined by k-means), and an exact nearest-colour search.
//!
//! Everything works on plain RGB with squared Euclidean distance, which is exactly what PSNR
//! measures, so a palette that minimises this error also maximises PSNR.

use crate::error::{Error, Result};

/// One distinct colour and how many pixels have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorCount {
    pub rgb: [u8; 3],
    pub count: u32,
}

/// Pack RGB into one integer (R in the high byte), the key used for sorting and hashing.
#[inline]
pub fn pack(rgb: [u8; 3]) -> u32 {
    (rgb[0] as u32) << 16 | (rgb[1] as u32) << 8 | rgb[2] as u32
}

#[inline]
pub fn unpack(v: u32) -> [u8; 3] {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// The distinct colours of `keys` (packed RGB) with their counts. Sorts `keys` in place.
pub fn histogram(keys: &mut [u32]) -> Result<Vec<ColorCount>> {
    keys.sort_unstable();
    let mut out: Vec<ColorCount> = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let k = keys[i];
        let mut j = i + 1;
        while j < keys.len() && keys[j] == k {
            j += 1;
        }
        // As many colours as pixels, at worst: grown fallibly (an error, not an abort).
        out.try_reserve(1).map_err(|_| Error::out_of_memory("no memory for the GIF frame's colour histogram"))?;
        out.push(ColorCount { rgb: unpack(k), count: (j - i) as u32 });
        i = j;
    }
    Ok(out)
}

/// A palette of at most `max_colors` entries for the colours in `hist`. When the colours fit
/// they are the palette, exactly (lossless); otherwise variance-based median cut (each split
/// at the position minimising the two halves' summed squared error) gives a first palette that
/// k-means then refines. Entries are ordered by decreasing pixel count.
pub fn quantize(hist: &[ColorCount], max_colors: usize) -> Vec<[u8; 3]> {
    assert!(max_colors >= 1);
    if hist.len() <= max_colors {
        let mut h = hist.to_vec();
        h.sort_by(|a, b| b.count.cmp(&a.count).then(pack(a.rgb).cmp(&pack(b.rgb))));
        return h.into_iter().map(|c| c.rgb).collect();
    }
    // Many colours (photos, gradients): work on their means in 5-bit-per-channel cells, which
    // costs little precision (k-means sees every cell's exact mean and weight) and bounds the
    // work per palette.
    let reduced;
    let points = if hist.len() > REDUCE_ABOVE {
        reduced = reduce(hist);
        &reduced[..]
    } else {
        hist
    };
    let mut pal = median_cut(points, max_colors);
    kmeans(points, &mut pal, 6);
    pal
}

/// Above this many distinct colours, [`quantize`] works on cell means.
const REDUCE_ABOVE: usize = 8192;

/// The weighted mean colour of each 5-bit-per-channel cell that has colours.
fn reduce(hist: &[ColorCount]) -> Vec<ColorCount> {
    let mut cells = vec![[0u64; 4]; 1 << 15];
    for c in hist {
        let k = (c.rgb[0] as usize >> 3) << 10 | (c.rgb[1] as usize >> 3) << 5 | c.rgb[2] as usize >> 3;
        let w = c.count as u64;
        let s = &mut cells[k];
        s[0] += w * c.rgb[0] as u64;
        s[1] += w * c.rgb[1] as u64;
        s[2] += w * c.rgb[2] as u64;
        s[3] += w;
    }
    cells
        .iter()
        .filter(|s| s[3] > 0)
        .map(|s| ColorCount {
            rgb: [0, 1, 2].map(|k| ((s[k] + s[3] / 2) / s[3]) as u8),
            count: s[3].min(u32::MAX as u64) as u32,
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Box3 {
    start: usize,
    end: usize,
    /// Weighted squared error of the box around its mean.
    sse: f64,
}

fn box_stats(p: &[ColorCount]) -> ([f64; 3], f64, f64) {
    let mut s = [0f64; 3];
    let mut s2 = 0f64;
    let mut w = 0f64;
    for c in p {
        let cw = c.count as f64;
        for (sk, &v) in s.iter_mut().zip(&c.rgb) {
            let v = v as f64;
            *sk += cw * v;
            s2 += cw * v * v;
        }
        w += cw;
    }
    (s, s2, w)
}

fn sse_of(p: &[ColorCount]) -> f64 {
    let (s, s2, w) = box_stats(p);
    if w == 0.0 {
        return 0.0;
    }
    s2 - (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]) / w
}

fn mean_of(p: &[ColorCount]) -> [u8; 3] {
    let (s, _, w) = box_stats(p);
    [0, 1, 2].map(|k| (s[k] / w).round().clamp(0.0, 255.0) as u8)
}

fn median_cut(hist: &[ColorCount], k: usize) -> Vec<[u8; 3]> {
    let mut pts = hist.to_vec();
    let mut boxes = vec![Box3 { start: 0, end: pts.len(), sse: sse_of(&pts) }];
    while boxes.len() < k {
        // Split the box with the largest error.
        let Some((bi, _)) = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.end - b.start > 1 && b.sse > 0.0)
            .max_by(|a, b| a.1.sse.total_cmp(&b.1.sse))
        else {
            break;
        };
        let b = boxes[bi];
        let slice = &mut pts[b.start..b.end];
        // Axis of largest weighted variance.
        let (s, _, w) = box_stats(slice);
        let mean = [s[0] / w, s[1] / w, s[2] / w];
        let mut var = [0f64; 3];
        for c in slice.iter() {
            for ch in 0..3 {
                let d = c.rgb[ch] as f64 - mean[ch];
                var[ch] += c.count as f64 * d * d;
            }
        }
        let axis = (0..3).max_by(|&a, &b| var[a].total_cmp(&var[b])).unwrap();
        slice.sort_unstable_by_key(|c| (c.rgb[axis], pack(c.rgb)));
        // Best split position along the axis: minimise SSE(left) + SSE(right), with prefix sums.
        let n = slice.len();
        let (mut ls, mut ls2, mut lw) = ([0f64; 3], 0f64, 0f64);
        let (ts, ts2, tw) = box_stats(slice);
        let mut best = (f64::INFINITY, 1);
        for i in 0..n - 1 {
            let c = slice[i];
            let cw = c.count as f64;
            for (l, &v) in ls.iter_mut().zip(&c.rgb) {
                let v = v as f64;
                *l += cw * v;
                ls2 += cw * v * v;
            }
            lw += cw;
            // Only split between different values on the axis, so halves are separable.
            if slice[i + 1].rgb[axis] == c.rgb[axis] {
                continue;
            }
            let rw = tw - lw;
            let rs = [ts[0] - ls[0], ts[1] - ls[1], ts[2] - ls[2]];
            let l = ls2 - (ls[0] * ls[0] + ls[1] * ls[1] + ls[2] * ls[2]) / lw;
            let r = (ts2 - ls2) - (rs[0] * rs[0] + rs[1] * rs[1] + rs[2] * rs[2]) / rw;
            if l + r < best.0 {
                best = (l + r, i + 1);
            }
        }
        let cut = b.start + best.1;
        let left = Box3 { start: b.start, end: cut, sse: sse_of(&pts[b.start..cut]) };
        let right = Box3 { start: cut, end: b.end, sse: sse_of(&pts[cut..b.end]) };
        boxes[bi] = left;
        boxes.push(right);
    }
    let mut centres: Vec<(u64, [u8; 3])> = boxes
        .iter()
        .map(|b| (pts[b.start..b.end].iter().map(|c| c.count as u64).sum(), mean_of(&pts[b.start..b.end])))
        .collect();
    centres.sort_by_key(|c| std::cmp::Reverse(c.0));
    dedup(centres.into_iter().map(|c| c.1).collect())
}

fn dedup(pal: Vec<[u8; 3]>) -> Vec<[u8; 3]> {
    let mut seen = std::collections::HashSet::new();
    pal.into_iter().filter(|c| seen.insert(*c)).collect()
}

/// Lloyd iterations over the weighted histogram: each colour to its nearest entry, each entry to
/// the weighted mean of its colours. Never increases the squared error (up to rounding).
pub fn kmeans(hist: &[ColorCount], pal: &mut Vec<[u8; 3]>, iterations: usize) {
    for _ in 0..iterations {
        let mut near = Nearest::new(pal);
        let mut sums = vec![[0f64; 4]; pal.len()];
        for c in hist {
            let (i, _) = near.find(c.rgb);
            let w = c.count as f64;
            let s = &mut sums[i as usize];
            s[0] += w * c.rgb[0] as f64;
            s[1] += w * c.rgb[1] as f64;
            s[2] += w * c.rgb[2] as f64;
            s[3] += w;
        }
        let mut changed = false;
        for (p, s) in pal.iter_mut().zip(&sums) {
            if s[3] > 0.0 {
                let m = [0, 1, 2].map(|k| (s[k] / s[3]).round().clamp(0.0, 255.0) as u8);
                changed |= m != *p;
                *p = m;
            }
        }
        let before = pal.len();
        *pal = dedup(std::mem::take(pal));
        if !changed && pal.len() == before {
            break;
        }
    }
}

/// Exact nearest palette entry by squared RGB distance, fast: the colour cube is cut into 32³
/// cells, and each cell (built on first use) lists only the entries that can be nearest to some
/// colour inside it (those no farther from the cell than the best entry's farthest corner).
/// A small direct-mapped cache in front catches the many repeated colours of real frames.
pub struct Nearest {
    pal: Vec<[i32; 3]>,
    /// log2 of a cell's side in levels.
    cell_bits: u32,
    /// Per cell: where its candidates start in `cand` (`u32::MAX` until built), and how many.
    cell_start: Vec<u32>,
    cell_len: Vec<u16>,
    cand: Vec<u8>,
    cache: Vec<u32>,
}

/// Cells of 8 levels per channel (32³ cells) for mapping frames: few candidates per cell.
const CELL_BITS: u32 = 3;
const CACHE: usize = 1 << 14;

impl Nearest {
    pub fn new(pal: &[[u8; 3]]) -> Self {
        Self::with_cells(pal, CELL_BITS)
    }

    fn with_cells(pal: &[[u8; 3]], cell_bits: u32) -> Self {
        assert!(!pal.is_empty() && pal.len() <= 256);
        let cells = 1 << (3 * (8 - cell_bits));
        Nearest {
            pal: pal.iter().map(|c| [c[0] as i32, c[1] as i32, c[2] as i32]).collect(),
            cell_bits,
            cell_start: vec![u32::MAX; cells],
            cell_len: vec![0; cells],
            cand: Vec::new(),
            cache: vec![u32::MAX; CACHE],
        }
    }

    /// The nearest entry's index and squared distance.
    #[inline]
    pub fn find(&mut self, rgb: [u8; 3]) -> (u8, u32) {
        let key = pack(rgb);
        let slot = (key.wrapping_mul(0x9E37_79B1) >> (32 - 14)) as usize;
        let c = self.cache[slot];
        // Cache entry: colour in the low 24 bits, index in the high 8; a separate tag check
        // against the packed colour (u32::MAX marks empty: no colour packs to it).
        if c != u32::MAX && (c & 0xFF_FFFF) == key {
            let i = (c >> 24) as u8;
            let p = self.pal[i as usize];
            return (i, dist(p, rgb));
        }
        let r = self.search(rgb);
        self.cache[slot] = key | (r.0 as u32) << 24;
        r
    }

    fn search(&mut self, rgb: [u8; 3]) -> (u8, u32) {
        let shift = self.cell_bits;
        let cell = ((rgb[0] as usize >> shift) << (2 * (8 - shift)))
            | ((rgb[1] as usize >> shift) << (8 - shift))
            | (rgb[2] as usize >> shift);
        if self.cell_start[cell] == u32::MAX {
            self.build_cell(cell);
        }
        let start = self.cell_start[cell] as usize;
        let len = self.cell_len[cell] as usize;
        let mut best = (0u8, u32::MAX);
        for &i in &self.cand[start..start + len] {
            let d = dist(self.pal[i as usize], rgb);
            if d < best.1 {
                best = (i, d);
            }
        }
        best
    }

    fn build_cell(&mut self, cell: usize) {
        let shift = self.cell_bits;
        let n = 8 - shift;
        let size = 1i32 << shift;
        let lo = [
            ((cell >> (2 * n)) as i32) << shift,
            (((cell >> n) & ((1 << n) - 1)) as i32) << shift,
            ((cell & ((1 << n) - 1)) as i32) << shift,
        ];
        let hi = lo.map(|v| v + size - 1);
        // Farthest distance from each entry to the cell; the smallest of those bounds the answer.
        let mut bound = u32::MAX;
        for p in &self.pal {
            let mut d = 0u32;
            for k in 0..3 {
                let a = (p[k] - lo[k]).abs().max((p[k] - hi[k]).abs()) as u32;
                d += a * a;
            }
            bound = bound.min(d);
        }
        let start = self.cand.len();
        for (i, p) in self.pal.iter().enumerate() {
            let mut d = 0u32;
            for k in 0..3 {
                let a = if p[k] < lo[k] {
                    lo[k] - p[k]
                } else if p[k] > hi[k] {
                    p[k] - hi[k]
                } else {
                    0
                } as u32;
                d += a * a;
            }
            if d <= bound {
                self.cand.push(i as u8);
            }
        }
        self.cell_start[cell] = start as u32;
        self.cell_len[cell] = (self.cand.len() - start) as u16;
    }
}

#[inline]
fn dist(p: [i32; 3], c: [u8; 3]) -> u32 {
    let d0 = p[0] - c[0] as i32;
    let d1 = p[1] - c[1] as i32;
    let d2 = p[2] - c[2] as i32;
    (d0 * d0 + d1 * d1 + d2 * d2) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(pal: &[[u8; 3]], c: [u8; 3]) -> u32 {
        pal.iter().map(|p| dist([p[0] as i32, p[1] as i32, p[2] as i32], c)).min().unwrap()
    }

    /// A small deterministic generator (no dependency needed for tests).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
        fn rgb(&mut self) -> [u8; 3] {
            let v = self.next();
            [v as u8, (v >> 8) as u8, (v >> 16) as u8]
        }
    }

    #[test]
    fn nearest_matches_brute_force() {
        let mut g = Lcg(1);
        for n in [1usize, 2, 7, 64, 256] {
            let pal: Vec<[u8; 3]> = (0..n).map(|_| g.rgb()).collect();
            let mut near = Nearest::new(&pal);
            for _ in 0..20_000 {
                let c = g.rgb();
                let (i, d) = near.find(c);
                assert_eq!(d, brute(&pal, c), "palette of {n}, colour {c:?}");
                assert_eq!(
                    dist([pal[i as usize][0] as i32, pal[i as usize][1] as i32, pal[i as usize][2] as i32], c),
                    d
                );
            }
            // Repeated lookups hit the cache and still agree.
            for p in &pal {
                assert_eq!(near.find(*p).1, 0);
            }
        }
    }

    #[test]
    fn few_colours_are_kept_exactly() {
        let mut keys: Vec<u32> =
            [[255u8, 255, 255], [0, 0, 0], [31, 119, 180]].iter().cycle().take(100).map(|c| pack(*c)).collect();
        keys.extend(std::iter::repeat_n(pack([255, 255, 255]), 50));
        let hist = histogram(&mut keys).unwrap();
        assert_eq!(hist.len(), 3);
        let pal = quantize(&hist, 256);
        assert_eq!(pal[0], [255, 255, 255], "most frequent first");
        assert_eq!(pal.len(), 3);
        assert!(pal.contains(&[31, 119, 180]) && pal.contains(&[0, 0, 0]));
    }

    #[test]
    fn quantizing_a_gradient_spreads_entries_evenly() {
        // A 256 x 16 grid of colours (R = G ramp, 16 blue levels) to 16 entries: the best is a
        // 4 x 4 grid of cells 64 levels (R, G) by 60 (B), an MSE per channel of about
        // (2 * 64² / 12 + 60² / 12) / 3 = 328.
        let mut keys: Vec<u32> =
            (0..4096u32).map(|i| pack([(i / 16) as u8, (i / 16) as u8, (i % 16) as u8 * 16])).collect();
        let hist = histogram(&mut keys).unwrap();
        let pal = quantize(&hist, 16);
        assert_eq!(pal.len(), 16);
        let mut near = Nearest::new(&pal);
        let mse: f64 = hist.iter().map(|c| near.find(c.rgb).1 as f64).sum::<f64>() / (hist.len() * 3) as f64;
        assert!(mse < 360.0, "mse {mse}");
        // k-means must not be worse than median cut alone.
        let mc = median_cut(&hist, 16);
        let mut n2 = Nearest::new(&mc);
        let mse_mc: f64 = hist.iter().map(|c| n2.find(c.rgb).1 as f64).sum::<f64>() / (hist.len() * 3) as f64;
        assert!(mse <= mse_mc + 1e-9, "kmeans {mse} vs median cut {mse_mc}");
    }
}
