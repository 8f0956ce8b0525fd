//! The video track of an MP4's `moov`, parsed once into typed parts: its sample entry (codec,
//! size, avcC, colour), timing (mdhd, edit list) and [`SampleTable`]. The probe
//! ([`super::reader`]) and the demuxer ([`super::demux`]) both read tracks through this module.
//!
//! The sample table is checked against itself (stsz, stts, stsc/stco and ctts describe the same
//! number of samples; stss names existing ones) before anything per sample is allocated: a
//! forged count of four billion samples costs nothing until the file is shown to hold them.

use super::boxes::{child, children, malformed, Fields};
use crate::encode::{AvcConfig, ColorInfo};
use crate::error::{Error, Result};

/// The first video track of a moov.
pub(crate) struct VideoTrak<'a> {
    /// tkhd's track_ID (fragments refer to the track by it).
    pub track_id: u32,
    /// mvhd's timescale (0 if there is no mvhd).
    pub movie_timescale: u32,
    /// mdhd's timescale and duration (`u64::MAX`: unknown).
    pub timescale: u32,
    pub mdhd_duration: u64,
    pub entry: SampleEntry<'a>,
    pub table: SampleTable,
    /// The edit list: total segment duration in movie ticks, and the media time where the
    /// presentation starts (the first non-empty edit).
    pub edit: Option<(u64, i64)>,
}

/// The first sample entry of the track's stsd.
pub(crate) struct SampleEntry<'a> {
    pub codec: [u8; 4],
    pub width: u32,
    pub height: u32,
    /// The avcC box's body, for H.264.
    pub avcc: Option<&'a [u8]>,
    pub color: Option<ColorInfo>,
}

/// Sample sizes: one size for all (stsz with a sample size), or one each (stsz table, stz2).
pub(crate) enum Sizes {
    Fixed { size: u32, count: u32 },
    Each(Vec<u32>),
}

/// The sample table of a track (stsz/stz2, stco/co64 + stsc, stts, ctts, stss), consistent with
/// itself.
pub(crate) struct SampleTable {
    pub sizes: Sizes,
    /// Each chunk's file offset and number of samples (stco/co64 with stsc applied).
    pub chunks: Vec<(u64, u32)>,
    /// Decode-time deltas as (count, delta) runs.
    pub stts: Vec<(u32, u32)>,
    /// Composition offsets as (count, offset) runs (ctts version 1 is signed).
    pub ctts: Vec<(u32, i64)>,
    /// 1-based numbers of the sync samples; None: every sample is one.
    pub sync: Option<Vec<u32>>,
}

/// A sample's bytes and timing, in decode order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleRef {
    pub offset: u64,
    pub size: u32,
    /// Decode time in media ticks, and the composition offset.
    pub dts: i64,
    pub cts_offset: i64,
    pub keyframe: bool,
}

/// How much of a track's media data a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// Samples whose bytes all lie within the file.
    pub samples: u64,
    /// Bytes of samples the index lists beyond the end of the file.
    pub missing_bytes: u64,
}

/// One track of a moov, its boxes found and its header fields read once: the video track
/// ([`VideoTrak`]) and the audio track (`super::audio`) are both read through it.
pub(crate) struct Trak<'a> {
    /// tkhd's track_ID (None: the trak has no tkhd).
    pub track_id: Option<u32>,
    /// mvhd's timescale (0 if there is no mvhd).
    pub movie_timescale: u32,
    /// mdhd's timescale and duration (`u64::MAX`: unknown).
    pub timescale: u32,
    pub mdhd_duration: u64,
    /// The stbl's child boxes.
    pub stbl: Vec<([u8; 4], &'a [u8])>,
    /// The edit list: total segment duration in movie ticks, and the media time where the
    /// presentation starts (the first non-empty edit).
    pub edit: Option<(u64, i64)>,
}

impl<'a> Trak<'a> {
    /// The first trak of the moov `top` (its child boxes) whose handler is `handler`
    /// (`vide`, `soun`), if there is one.
    pub(crate) fn find(top: &[([u8; 4], &'a [u8])], handler: &[u8; 4]) -> Result<Option<Self>> {
        let mut found = None;
        for (k, body) in top {
            if k == b"trak" {
                let t = children(body)?;
                let hdlr = child(&t, b"mdia").map(children).transpose()?.and_then(|m| child(&m, b"hdlr"));
                if hdlr.and_then(|h| h.get(8..12)) == Some(&handler[..]) {
                    found = Some(t);
                    break;
                }
            }
        }
        let Some(t) = found else { return Ok(None) };
        let movie_timescale = match child(top, b"mvhd") {
            Some(mvhd) => timescale_duration(mvhd, "mvhd")?.0,
            None => 0,
        };
        let track_id = match child(&t, b"tkhd") {
            Some(tkhd) => {
                let mut f = Fields::new(tkhd, "tkhd");
                let (version, _) = f.full()?;
                f.skip(if version == 1 { 16 } else { 8 })?;
                Some(f.u32()?)
            }
            None => None,
        };
        let mdia = children(child(&t, b"mdia").ok_or_else(|| malformed("trak without mdia"))?)?;
        let (timescale, mdhd_duration) =
            timescale_duration(child(&mdia, b"mdhd").ok_or_else(|| malformed("mdia without mdhd"))?, "mdhd")?;
        let minf = children(child(&mdia, b"minf").ok_or_else(|| malformed("mdia without minf"))?)?;
        let stbl = children(child(&minf, b"stbl").ok_or_else(|| malformed("minf without stbl"))?)?;
        let edit = match child(&t, b"edts") {
            Some(edts) => match child(&children(edts)?, b"elst") {
                Some(elst) => Some(parse_elst(elst)?),
                None => None,
            },
            None => None,
        };
        Ok(Some(Trak { track_id, movie_timescale, timescale, mdhd_duration, stbl, edit }))
    }

    /// The first sample entry of the stsd: its type and body.
    pub(crate) fn sample_entry(&self) -> Result<([u8; 4], &'a [u8])> {
        let stsd = child(&self.stbl, b"stsd").ok_or_else(|| malformed("stbl without stsd"))?;
        let mut f = Fields::new(stsd, "stsd");
        f.full()?;
        if f.u32()? == 0 {
            return Err(malformed("stsd has no sample entry"));
        }
        let entries = children(&stsd[8..])?;
        entries.first().copied().ok_or_else(|| malformed("stsd has no sample entry"))
    }
}

/// (timescale, duration) of mvhd/mdhd.
pub(crate) fn timescale_duration(body: &[u8], name: &'static str) -> Result<(u32, u64)> {
    let mut f = Fields::new(body, name);
    let (version, _) = f.full()?;
    if version == 1 {
        f.skip(16)?;
        Ok((f.u32()?, f.u64()?))
    } else {
        f.skip(8)?;
        let ts = f.u32()?;
        let d = f.u32()?;
        Ok((ts, if d == u32::MAX { u64::MAX } else { u64::from(d) }))
    }
}

impl<'a> VideoTrak<'a> {
    /// The first video track of the moov `top` (its child boxes).
    pub(crate) fn parse(top: &[([u8; 4], &'a [u8])]) -> Result<Self> {
        let t = Trak::find(top, b"vide")?.ok_or_else(|| Error::unsupported("the MP4 has no video track"))?;
        let entry = SampleEntry::parse(t.sample_entry()?)?;
        let table = SampleTable::parse(&t.stbl)?;
        Ok(VideoTrak {
            track_id: t.track_id.unwrap_or(1),
            movie_timescale: t.movie_timescale,
            timescale: t.timescale,
            mdhd_duration: t.mdhd_duration,
            entry,
            table,
            edit: t.edit,
        })
    }

    /// The avcC configuration (SPS/PPS) of an H.264 track.
    pub(crate) fn avc_config(&self) -> Result<AvcConfig> {
        if &self.entry.codec != b"avc1" && &self.entry.codec != b"avc3" {
            return Err(Error::unsupported(format!(
                "codec {} (only H.264 avc1)",
                String::from_utf8_lossy(&self.entry.codec)
            )));
        }
        parse_avcc(self.entry.avcc.ok_or_else(|| malformed("avc1 without avcC"))?)
    }
}

impl<'a> SampleEntry<'a> {
    fn parse((codec, entry): ([u8; 4], &'a [u8])) -> Result<Self> {
        let mut f = Fields::new(entry, "visual sample entry");
        f.skip(24)?;
        let width = u32::from(f.u16()?);
        let height = u32::from(f.u16()?);
        let inner = children(entry.get(78..).unwrap_or(&[])).unwrap_or_default();
        let color = match child(&inner, b"colr") {
            Some(colr) => parse_colr(colr)?,
            None => None,
        };
        Ok(SampleEntry { codec, width, height, avcc: child(&inner, b"avcC"), color })
    }
}

/// The colour description of a `colr` box: nclx, or QuickTime's nclc (limited range).
pub(crate) fn parse_colr(colr: &[u8]) -> Result<Option<ColorInfo>> {
    let mut f = Fields::new(colr, "colr");
    let kind = f.take(4)?;
    match kind {
        b"nclx" => {
            let (primaries, transfer, matrix) = (f.u16()?, f.u16()?, f.u16()?);
            let full_range = f.u8()? & 0x80 != 0;
            Ok(Some(ColorInfo { primaries, transfer, matrix, full_range }))
        }
        b"nclc" => {
            let (primaries, transfer, matrix) = (f.u16()?, f.u16()?, f.u16()?);
            Ok(Some(ColorInfo { primaries, transfer, matrix, full_range: false }))
        }
        _ => Ok(None), // ICC profiles: no code points
    }
}

fn parse_avcc(avcc: &[u8]) -> Result<AvcConfig> {
    let mut f = Fields::new(avcc, "avcC");
    f.skip(5)?;
    let n_sps = f.u8()? & 0x1f;
    let mut sps = Vec::new();
    for _ in 0..n_sps {
        let n = f.u16()? as usize;
        sps.push(f.take(n)?.to_vec());
    }
    let n_pps = f.u8()?;
    let mut pps = Vec::new();
    for _ in 0..n_pps {
        let n = f.u16()? as usize;
        pps.push(f.take(n)?.to_vec());
    }
    if sps.is_empty() || pps.is_empty() || sps[0].len() < 4 {
        return Err(malformed("avcC without SPS/PPS"));
    }
    Ok(AvcConfig { sps, pps })
}

/// (total segment duration, media time of the first non-empty edit) of an elst.
pub(crate) fn parse_elst(elst: &[u8]) -> Result<(u64, i64)> {
    let mut f = Fields::new(elst, "elst");
    let (version, _) = f.full()?;
    let n = f.count(if version == 1 { 20 } else { 12 })?;
    let (mut total, mut start) = (0u64, None);
    for _ in 0..n {
        let (duration, media_time) =
            if version == 1 { (f.u64()?, f.u64()? as i64) } else { (u64::from(f.u32()?), i64::from(f.u32()? as i32)) };
        f.skip(4)?;
        total = total.saturating_add(duration);
        if media_time >= 0 && start.is_none() {
            start = Some(media_time);
        }
    }
    Ok((total, start.unwrap_or(0)))
}

impl SampleTable {
    /// Parse and cross-check the sample table boxes of `stbl` (its child boxes).
    pub(crate) fn parse(stbl: &[([u8; 4], &[u8])]) -> Result<Self> {
        let sizes = parse_sizes(stbl)?;
        let count = match &sizes {
            Sizes::Fixed { count, .. } => u64::from(*count),
            Sizes::Each(v) => v.len() as u64,
        };
        let stts: Vec<(u32, u32)> = match child(stbl, b"stts") {
            Some(stts) => runs(stts, "stts", |f| Ok((f.u32()?, f.u32()?)))?,
            None => Vec::new(),
        };
        let stts_count: u64 = stts.iter().map(|&(c, _)| u64::from(c)).sum();
        if child(stbl, b"stts").is_some() && stts_count != count {
            return Err(malformed(format!("stts gives times to {stts_count} samples, but stsz has {count}")));
        }
        let ctts: Vec<(u32, i64)> = match child(stbl, b"ctts") {
            Some(ctts) => {
                let version = ctts.first().copied().unwrap_or(0);
                runs(ctts, "ctts", |f| {
                    let (n, raw) = (f.u32()?, f.u32()?);
                    Ok((n, if version == 1 { i64::from(raw as i32) } else { i64::from(raw) }))
                })?
            }
            None => Vec::new(),
        };
        let ctts_count: u64 = ctts.iter().map(|&(c, _)| u64::from(c)).sum();
        if ctts_count > count {
            return Err(malformed(format!("ctts covers {ctts_count} samples, but stsz has {count}")));
        }
        let sync = match child(stbl, b"stss") {
            Some(stss) => {
                let mut f = Fields::new(stss, "stss");
                f.full()?;
                let n = f.count(4)?;
                let v = (0..n).map(|_| f.u32()).collect::<Result<Vec<u32>>>()?;
                if let Some(&bad) = v.iter().find(|&&s| s == 0 || u64::from(s) > count) {
                    return Err(malformed(format!("stss names sample {bad}, but there are {count}")));
                }
                if let Some(w) = v.windows(2).find(|w| w[1] <= w[0]) {
                    return Err(malformed(format!("stss names sample {} after sample {}", w[1], w[0])));
                }
                Some(v)
            }
            None => None,
        };
        let chunks = parse_chunks(stbl, count)?;
        Ok(SampleTable { sizes, chunks, stts, ctts, sync })
    }

    /// Number of samples the index lists.
    pub(crate) fn len(&self) -> u64 {
        match &self.sizes {
            Sizes::Fixed { count, .. } => u64::from(*count),
            Sizes::Each(v) => v.len() as u64,
        }
    }

    /// Sum of the sample sizes.
    pub(crate) fn total_bytes(&self) -> u64 {
        match &self.sizes {
            Sizes::Fixed { size, count } => u64::from(*size) * u64::from(*count),
            Sizes::Each(v) => v.iter().map(|&s| u64::from(s)).sum(),
        }
    }

    /// Number of sync samples.
    pub(crate) fn keyframes(&self) -> u64 {
        self.sync.as_ref().map_or(self.len(), |v| v.len() as u64)
    }

    /// How many samples lie entirely within a file of `file_size` bytes (a truncated file's
    /// index lists more than it holds). Arithmetic per chunk where sizes are fixed, so a forged
    /// count costs nothing.
    pub fn presence(&self, file_size: u64) -> Presence {
        let (mut samples, mut missing_bytes, mut first) = (0u64, 0u64, 0usize);
        for &(offset, n) in &self.chunks {
            match &self.sizes {
                Sizes::Fixed { size, .. } => {
                    let (size, n) = (u64::from(*size), u64::from(n));
                    let fit = file_size.saturating_sub(offset).checked_div(size).unwrap_or(n);
                    let inside = fit.min(n);
                    samples += inside;
                    let end = offset.saturating_add(size.saturating_mul(n));
                    missing_bytes = missing_bytes.saturating_add(end.saturating_sub(file_size.max(offset)));
                }
                Sizes::Each(sizes) => {
                    let mut at = offset;
                    for &s in &sizes[first..first + n as usize] {
                        let end = at.saturating_add(u64::from(s));
                        if end <= file_size {
                            samples += 1;
                        } else {
                            missing_bytes = missing_bytes.saturating_add(end - file_size.max(at));
                        }
                        at = end;
                    }
                    first += n as usize;
                }
            }
        }
        Presence { samples, missing_bytes }
    }

    /// Every sample, in decode order, one at a time (nothing is allocated).
    pub(crate) fn iter(&self) -> SampleIter<'_> {
        SampleIter {
            table: self,
            chunk: 0,
            left_in_chunk: self.chunks.first().map_or(0, |c| c.1),
            at: self.chunks.first().map_or(0, |c| c.0),
            index: 0,
            stts: Runs::new(&self.stts),
            dts: 0,
            ctts: Runs::new(&self.ctts),
            sync: 0,
        }
    }
}

/// Position in a list of (count, value) runs.
struct Runs<'a, T> {
    runs: &'a [(u32, T)],
    run: usize,
    used: u32,
}

impl<'a, T: Copy> Runs<'a, T> {
    fn new(runs: &'a [(u32, T)]) -> Self {
        Runs { runs, run: 0, used: 0 }
    }

    /// The value for the next sample (None past the last run).
    fn next(&mut self) -> Option<T> {
        while let Some(&(count, v)) = self.runs.get(self.run) {
            if self.used < count {
                self.used += 1;
                return Some(v);
            }
            self.run += 1;
            self.used = 0;
        }
        None
    }
}

/// The samples of a [`SampleTable`] in decode order (see [`SampleTable::iter`]).
pub(crate) struct SampleIter<'a> {
    table: &'a SampleTable,
    /// The chunk of the next sample, the samples left in it and where the next one starts.
    chunk: usize,
    left_in_chunk: u32,
    at: u64,
    index: usize,
    stts: Runs<'a, u32>,
    /// Decode time of the next sample (saturating: a forged table cannot overflow it).
    dts: i64,
    ctts: Runs<'a, i64>,
    /// The next entry of the (increasing) sync sample list.
    sync: usize,
}

impl Iterator for SampleIter<'_> {
    type Item = SampleRef;

    fn next(&mut self) -> Option<SampleRef> {
        let t = self.table;
        while self.left_in_chunk == 0 {
            self.chunk += 1;
            let &(offset, n) = t.chunks.get(self.chunk)?;
            (self.at, self.left_in_chunk) = (offset, n);
        }
        let size = match &t.sizes {
            Sizes::Fixed { size, .. } => *size,
            Sizes::Each(v) => *v.get(self.index)?,
        };
        let number = self.index as u64 + 1;
        let keyframe = match &t.sync {
            None => true,
            Some(sync) => {
                let hit = sync.get(self.sync).is_some_and(|&s| u64::from(s) == number);
                self.sync += usize::from(hit);
                hit
            }
        };
        let sample =
            SampleRef { offset: self.at, size, dts: self.dts, cts_offset: self.ctts.next().unwrap_or(0), keyframe };
        self.dts = self.dts.saturating_add(i64::from(self.stts.next().unwrap_or(0)));
        self.at = self.at.saturating_add(u64::from(size));
        self.left_in_chunk -= 1;
        self.index += 1;
        Some(sample)
    }
}

/// Entry runs of a full box with an entry count: stts, ctts.
fn runs<T>(body: &[u8], name: &'static str, mut entry: impl FnMut(&mut Fields) -> Result<T>) -> Result<Vec<T>> {
    let mut f = Fields::new(body, name);
    f.full()?;
    let n = f.count(8)?;
    (0..n).map(|_| entry(&mut f)).collect()
}

fn parse_sizes(stbl: &[([u8; 4], &[u8])]) -> Result<Sizes> {
    if let Some(stsz) = child(stbl, b"stsz") {
        let mut f = Fields::new(stsz, "stsz");
        f.full()?;
        let fixed = f.u32()?;
        if fixed != 0 {
            return Ok(Sizes::Fixed { size: fixed, count: f.u32()? });
        }
        let n = f.count(4)?;
        return Ok(Sizes::Each((0..n).map(|_| f.u32()).collect::<Result<_>>()?));
    }
    if let Some(stz2) = child(stbl, b"stz2") {
        let mut f = Fields::new(stz2, "stz2");
        f.full()?;
        f.skip(3)?;
        let field = f.u8()?;
        let n = f.u32()? as usize;
        let v: Vec<u32> = match field {
            4 => {
                let bytes = f.take(n.div_ceil(2))?;
                (0..n).map(|i| u32::from(if i % 2 == 0 { bytes[i / 2] >> 4 } else { bytes[i / 2] & 0xf })).collect()
            }
            8 => f.take(n)?.iter().map(|&b| u32::from(b)).collect(),
            16 => (0..n).map(|_| f.u16().map(u32::from)).collect::<Result<_>>()?,
            _ => return Err(malformed(format!("stz2 field size {field}"))),
        };
        return Ok(Sizes::Each(v));
    }
    Err(malformed("stbl without stsz"))
}

/// Each chunk's offset and sample count: stco/co64 with stsc applied, which must place exactly
/// `count` samples.
fn parse_chunks(stbl: &[([u8; 4], &[u8])], count: u64) -> Result<Vec<(u64, u32)>> {
    let offsets: Vec<u64> = if let Some(stco) = child(stbl, b"stco") {
        let mut f = Fields::new(stco, "stco");
        f.full()?;
        let k = f.count(4)?;
        (0..k).map(|_| f.u32().map(u64::from)).collect::<Result<_>>()?
    } else if let Some(co64) = child(stbl, b"co64") {
        let mut f = Fields::new(co64, "co64");
        f.full()?;
        let k = f.count(8)?;
        (0..k).map(|_| f.u64()).collect::<Result<_>>()?
    } else if count == 0 {
        Vec::new()
    } else {
        return Err(malformed("stbl without stco or co64"));
    };
    let stsc: Vec<(u32, u32)> = match child(stbl, b"stsc") {
        Some(stsc) => {
            let mut f = Fields::new(stsc, "stsc");
            f.full()?;
            let k = f.count(12)?;
            (0..k)
                .map(|_| {
                    let (first, per) = (f.u32()?, f.u32()?);
                    f.skip(4)?;
                    Ok((first, per))
                })
                .collect::<Result<_>>()?
        }
        None if count == 0 => Vec::new(),
        None => return Err(malformed("stbl without stsc")),
    };
    let mut chunks = Vec::with_capacity(offsets.len());
    let mut placed = 0u64;
    let mut entry = 0usize;
    for (i, &offset) in offsets.iter().enumerate() {
        let chunk = i as u64 + 1;
        while entry + 1 < stsc.len() && u64::from(stsc[entry + 1].0) <= chunk {
            entry += 1;
        }
        let per = stsc.get(entry).filter(|(first, _)| u64::from(*first) <= chunk).map_or(0, |&(_, p)| p);
        placed += u64::from(per);
        chunks.push((offset, per));
    }
    if placed != count {
        return Err(malformed(format!("the chunk tables (stsc, stco) place {placed} samples, but stsz has {count}")));
    }
    Ok(chunks)
}
