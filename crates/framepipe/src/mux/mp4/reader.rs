//! A small MP4 reader: enough of ISO BMFF to describe the first video track of a file
//! ("framepipe probe" and the tests). Reads the top-level box list and the `moov` only; the
//! media data is never read. Works with files from other tools too (moov at the end, stco or
//! co64, 32- or 64-bit box sizes).

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::encode::ColorInfo;
use crate::error::{Error, IoContext, Result};
use crate::rational::Rational;

/// What [`probe`] finds out about an MP4 file (its first video track).
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4Info {
    /// Width and height from the sample entry (the coded picture size).
    pub width: u32,
    pub height: u32,
    /// Number of samples (frames) in the track.
    pub frame_count: u64,
    /// Frame rate, when every sample has the same duration (a different last one is allowed).
    pub fps: Option<Rational>,
    /// Presentation duration: from the edit list if there is one, else from mdhd.
    pub duration_seconds: f64,
    /// Sample entry type, e.g. "avc1".
    pub codec: String,
    /// H.264 profile name from avcC ("High", "Main", "Baseline", "High 10", ...); empty for
    /// other codecs.
    pub profile: String,
    /// H.264 level, e.g. "4.0"; empty for other codecs.
    pub level: String,
    /// Colour description from the `colr` box (nclx, or QuickTime nclc with limited range).
    pub color: Option<ColorInfo>,
    /// The moov comes before the (first) mdat, so playback can start before the whole file is
    /// downloaded.
    pub faststart: bool,
    /// Number of sync samples (every sample when there is no stss).
    pub keyframes: u64,
    /// Average video bitrate: total sample bytes over the duration, in kbit/s.
    pub bitrate_kbps: f64,
    /// File size in bytes.
    pub file_size: u64,
    /// Major brand from ftyp (empty if there is no ftyp).
    pub brand: String,
    /// Text metadata (title, artist, comment, encoder, ...) from `moov/udta`, in file order.
    pub tags: Vec<(String, String)>,
}

/// Describe the MP4 file at `path`.
pub fn probe(path: &Path) -> Result<Mp4Info> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    probe_reader(BufReader::new(f)).map_err(|e| match e {
        Error::Parameter(m) => Error::Parameter(format!("{}: {m}", path.display())),
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        Error::Io { context, source } => Error::Io { context: format!("{context} ({})", path.display()), source },
        other => other,
    })
}

/// Largest moov we are willing to load (a moov is an index: even hours of video stay far below).
const MAX_MOOV: u64 = 1 << 30;

/// Box types that may start an MP4/QuickTime file.
const FIRST_BOXES: [&[u8; 4]; 14] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"styp", b"sidx", b"uuid", b"meta", b"junk",
    b"pnot", b"prfl",
];

/// Describe an MP4 read from `r` (positioned anywhere: the whole stream is the file).
pub fn probe_reader<R: Read + Seek>(mut r: R) -> Result<Mp4Info> {
    let ctx = || "reading MP4".to_string();
    let file_size = r.seek(SeekFrom::End(0)).ctx(ctx)?;
    if file_size < 8 {
        // Too short for a box header.
        let mut all = vec![0u8; file_size as usize];
        r.seek(SeekFrom::Start(0)).ctx(ctx)?;
        r.read_exact(&mut all).ctx(ctx)?;
        return Err(Error::parameter(match file_size {
            0 => "not an MP4 file: the file is empty".to_string(),
            n => format!("not an MP4 file: it is only {n} bytes long: {}", describe_bytes(&all)),
        }));
    }
    let mut pos = 0u64;
    let mut brand: Option<String> = None;
    let mut moov: Option<(u64, Vec<u8>)> = None;
    let mut first_mdat: Option<u64> = None;
    let mut fragmented = false;

    while pos + 8 <= file_size {
        r.seek(SeekFrom::Start(pos)).ctx(ctx)?;
        let mut head = [0u8; 16];
        r.read_exact(&mut head[..8]).ctx(ctx)?;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let (header_len, size) = match size32 {
            1 => {
                if pos + 16 > file_size {
                    break;
                }
                r.read_exact(&mut head[8..16]).ctx(ctx)?;
                (16u64, u64::from_be_bytes(head[8..16].try_into().expect("8 bytes")))
            }
            0 => (8, file_size - pos),
            s => (8, u64::from(s)),
        };
        if pos == 0 && (!FIRST_BOXES.contains(&&kind) || size < header_len) {
            // The file's first 8 bytes (a box header), not the box name at bytes 4..8.
            return Err(Error::parameter(format!(
                "not an MP4 file: it starts with {} instead of an ftyp box",
                describe_bytes(&head[..8])
            )));
        }
        if size < header_len || !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            // Garbage after the last box (or a corrupt box): stop reading the box list here.
            if moov.is_some() {
                break;
            }
            return Err(Error::parameter(format!(
                "malformed MP4: invalid box {} of size {size} at byte {pos}, and no moov box before it",
                describe_fourcc(&kind)
            )));
        }
        let body_len = size - header_len;
        let truncated = pos.saturating_add(size) > file_size;
        match &kind {
            b"ftyp" if brand.is_none() => {
                let mut b = [0u8; 4];
                if body_len >= 4 && !truncated {
                    r.read_exact(&mut b).ctx(ctx)?;
                }
                brand = Some(String::from_utf8_lossy(&b).trim_end_matches(['\0', ' ']).to_string());
            }
            b"moov" if moov.is_none() => {
                if truncated {
                    return Err(Error::parameter(format!(
                        "malformed MP4: the moov box at byte {pos} ({size} bytes) runs past the end of the file ({file_size} bytes); the file is truncated"
                    )));
                }
                if body_len > MAX_MOOV {
                    return Err(Error::unsupported(format!("moov box of {body_len} bytes is too large to read")));
                }
                let mut body = vec![0u8; body_len as usize];
                r.read_exact(&mut body).ctx(ctx)?;
                moov = Some((pos, body));
            }
            b"mdat" => {
                first_mdat.get_or_insert(pos);
            }
            b"moof" => fragmented = true,
            _ => {}
        }
        pos = pos.saturating_add(size);
    }

    let Some((moov_pos, moov)) = moov else {
        return Err(if brand.is_some() {
            Error::parameter(
                "incomplete MP4: no moov box found (the writer was probably not finished, or the file is truncated)",
            )
        } else {
            Error::parameter("not an MP4 file: no ftyp/moov box found")
        });
    };
    let mut info = parse_moov(&moov, fragmented)?;
    info.file_size = file_size;
    info.brand = brand.unwrap_or_default();
    info.faststart = first_mdat.is_none_or(|m| moov_pos < m);
    Ok(info)
}

/// Bytes in hex, then as text in quotes (`.` for a byte that is not printable ASCII).
fn describe_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
    format!("bytes {} ({text:?})", hex.join(" "))
}

fn describe_fourcc(kind: &[u8; 4]) -> String {
    if kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        format!("{:?}", String::from_utf8_lossy(kind))
    } else {
        format!("bytes {:02x} {:02x} {:02x} {:02x}", kind[0], kind[1], kind[2], kind[3])
    }
}

pub(super) fn malformed(what: impl fmt::Display) -> Error {
    Error::parameter(format!("malformed MP4: {what}"))
}

/// The child boxes of a container box body.
pub(super) fn children(data: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut v = Vec::new();
    let mut i = 0usize;
    while i < data.len() {
        if data.len() - i < 8 {
            // Some writers pad containers with a few zero bytes; tolerate that.
            if data[i..].iter().all(|&b| b == 0) {
                break;
            }
            return Err(malformed("truncated box header"));
        }
        let size32 = u32::from_be_bytes(data[i..i + 4].try_into().expect("4 bytes"));
        let kind: [u8; 4] = data[i + 4..i + 8].try_into().expect("4 bytes");
        let (hdr, size) = match size32 {
            0 => (8usize, (data.len() - i) as u64),
            1 => {
                let b = data.get(i + 8..i + 16).ok_or_else(|| malformed("truncated box header"))?;
                (16, u64::from_be_bytes(b.try_into().expect("8 bytes")))
            }
            s => (8, u64::from(s)),
        };
        if size < hdr as u64 || size > (data.len() - i) as u64 {
            if size32 == 0 && kind == [0; 4] {
                break; // terminator used by some QuickTime writers
            }
            return Err(malformed(format!("box {} of size {size} does not fit its parent", describe_fourcc(&kind))));
        }
        let size = size as usize;
        v.push((kind, &data[i + hdr..i + size]));
        i += size;
    }
    Ok(v)
}

pub(super) fn child<'a>(boxes: &[([u8; 4], &'a [u8])], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes.iter().find(|(k, _)| k == kind).map(|(_, b)| *b)
}

/// Big-endian field reader over a box body, with bounds checks.
pub(super) struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    name: &'static str,
}

impl<'a> Fields<'a> {
    pub(super) fn new(data: &'a [u8], name: &'static str) -> Self {
        Fields { data, pos: 0, name }
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| malformed(format!("{} box is too short", self.name)))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(super) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }
    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    pub(super) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub(super) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    /// version and flags of a full box.
    pub(super) fn full(&mut self) -> Result<(u8, u32)> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }
    /// An entry count whose entries of `entry_size` bytes must fit the rest of the box.
    pub(super) fn count(&mut self, entry_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(entry_size) > self.data.len() - self.pos {
            return Err(malformed(format!("{} box claims {n} entries but is too short", self.name)));
        }
        Ok(n)
    }
}

/// (timescale, duration) of mvhd/mdhd.
pub(super) fn timescale_duration(body: &[u8], name: &'static str) -> Result<(u32, u64)> {
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

pub(super) fn is_video_trak(trak: &[u8]) -> Result<bool> {
    let t = children(trak)?;
    let Some(mdia) = child(&t, b"mdia") else {
        return Ok(false);
    };
    let m = children(mdia)?;
    let Some(hdlr) = child(&m, b"hdlr") else {
        return Ok(false);
    };
    Ok(hdlr.get(8..12) == Some(b"vide"))
}

fn parse_moov(moov: &[u8], fragmented: bool) -> Result<Mp4Info> {
    let top = children(moov)?;
    let movie_timescale = match child(&top, b"mvhd") {
        Some(mvhd) => timescale_duration(mvhd, "mvhd")?.0,
        None => 0,
    };
    let mut trak = None;
    for (k, body) in &top {
        if k == b"trak" && is_video_trak(body)? {
            trak = Some(*body);
            break;
        }
    }
    let trak = trak.ok_or_else(|| Error::unsupported("the MP4 has no video track"))?;
    let t = children(trak)?;
    let mdia = children(child(&t, b"mdia").ok_or_else(|| malformed("trak without mdia"))?)?;
    let (timescale, mdhd_duration) =
        timescale_duration(child(&mdia, b"mdhd").ok_or_else(|| malformed("mdia without mdhd"))?, "mdhd")?;
    let minf = children(child(&mdia, b"minf").ok_or_else(|| malformed("mdia without minf"))?)?;
    let stbl = children(child(&minf, b"stbl").ok_or_else(|| malformed("minf without stbl"))?)?;

    // Sample entry.
    let stsd = child(&stbl, b"stsd").ok_or_else(|| malformed("stbl without stsd"))?;
    let mut f = Fields::new(stsd, "stsd");
    f.full()?;
    if f.u32()? == 0 {
        return Err(malformed("stsd has no sample entry"));
    }
    let entries = children(&stsd[8..])?;
    let (kind, entry) = *entries.first().ok_or_else(|| malformed("stsd has no sample entry"))?;
    let codec = String::from_utf8_lossy(&kind).into_owned();
    let mut f = Fields::new(entry, "visual sample entry");
    f.skip(24)?;
    let width = u32::from(f.u16()?);
    let height = u32::from(f.u16()?);
    let entry_children = children(entry.get(78..).unwrap_or(&[])).unwrap_or_default();
    let (mut profile, mut level) = (String::new(), String::new());
    if let Some(avcc) = child(&entry_children, b"avcC") {
        let mut f = Fields::new(avcc, "avcC");
        f.skip(1)?;
        let (p, c, l) = (f.u8()?, f.u8()?, f.u8()?);
        profile = avc_profile_name(p, c);
        level = avc_level_name(l, p, c);
    }
    let color = match child(&entry_children, b"colr") {
        Some(colr) => parse_colr(colr)?,
        None => None,
    };

    // Sample tables.
    let frame_count = if let Some(stsz) = child(&stbl, b"stsz") {
        let mut f = Fields::new(stsz, "stsz");
        f.full()?;
        f.skip(4)?;
        u64::from(f.u32()?)
    } else if let Some(stz2) = child(&stbl, b"stz2") {
        let mut f = Fields::new(stz2, "stz2");
        f.full()?;
        f.skip(4)?;
        u64::from(f.u32()?)
    } else {
        return Err(malformed("stbl without stsz"));
    };
    if fragmented && frame_count == 0 {
        return Err(Error::unsupported("fragmented MP4 (samples in moof boxes) cannot be probed"));
    }
    let sample_bytes = total_sample_bytes(&stbl)?;

    let mut stts_total = 0u64;
    let mut deltas: Vec<(u32, u32)> = Vec::new();
    if let Some(stts) = child(&stbl, b"stts") {
        let mut f = Fields::new(stts, "stts");
        f.full()?;
        let n = f.count(8)?;
        for _ in 0..n {
            let (count, delta) = (f.u32()?, f.u32()?);
            stts_total = stts_total.saturating_add(u64::from(count) * u64::from(delta));
            deltas.push((count, delta));
        }
    }
    let fps = constant_rate(&deltas, timescale);

    let keyframes = match child(&stbl, b"stss") {
        Some(stss) => {
            let mut f = Fields::new(stss, "stss");
            f.full()?;
            f.u32()? as u64
        }
        None => frame_count,
    };

    // Duration: edit list (movie timescale), else mdhd, else the sum of sample durations.
    let mut duration_seconds = 0.0;
    if let (Some(edts), true) = (child(&t, b"edts"), movie_timescale > 0) {
        if let Some(elst) = child(&children(edts)?, b"elst") {
            let mut f = Fields::new(elst, "elst");
            let (version, _) = f.full()?;
            let n = f.count(if version == 1 { 20 } else { 12 })?;
            let mut total = 0u64;
            for _ in 0..n {
                let d = if version == 1 {
                    let d = f.u64()?;
                    f.skip(12)?;
                    d
                } else {
                    let d = u64::from(f.u32()?);
                    f.skip(8)?;
                    d
                };
                total = total.saturating_add(d);
            }
            duration_seconds = total as f64 / f64::from(movie_timescale);
        }
    }
    if duration_seconds <= 0.0 && timescale > 0 {
        let d = if mdhd_duration == 0 || mdhd_duration == u64::MAX { stts_total } else { mdhd_duration };
        duration_seconds = d as f64 / f64::from(timescale);
    }
    let bitrate_kbps = if duration_seconds > 0.0 { sample_bytes as f64 * 8.0 / duration_seconds / 1000.0 } else { 0.0 };

    Ok(Mp4Info {
        width,
        height,
        frame_count,
        fps,
        duration_seconds,
        codec,
        profile,
        level,
        color,
        faststart: true,
        keyframes,
        bitrate_kbps,
        file_size: 0,
        brand: String::new(),
        tags: child(&top, b"udta").map(super::metadata::parse_udta).unwrap_or_default(),
    })
}

/// Sum of the sample sizes (stsz or stz2).
fn total_sample_bytes(stbl: &[([u8; 4], &[u8])]) -> Result<u64> {
    if let Some(stsz) = child(stbl, b"stsz") {
        let mut f = Fields::new(stsz, "stsz");
        f.full()?;
        let fixed = f.u32()?;
        if fixed != 0 {
            return Ok(u64::from(fixed) * u64::from(f.u32()?));
        }
        let n = f.count(4)?;
        let mut total = 0u64;
        for _ in 0..n {
            total += u64::from(f.u32()?);
        }
        return Ok(total);
    }
    if let Some(stz2) = child(stbl, b"stz2") {
        let mut f = Fields::new(stz2, "stz2");
        f.full()?;
        f.skip(3)?;
        let field = f.u8()?;
        let n = f.u32()? as usize;
        let mut total = 0u64;
        match field {
            4 => {
                let bytes = f.take(n.div_ceil(2))?;
                for (i, b) in bytes.iter().enumerate() {
                    total += u64::from(b >> 4);
                    if 2 * i + 1 < n {
                        total += u64::from(b & 0xf);
                    }
                }
            }
            8 => total = f.take(n)?.iter().map(|&b| u64::from(b)).sum(),
            16 => {
                for _ in 0..n {
                    total += u64::from(f.u16()?);
                }
            }
            _ => return Err(malformed(format!("stz2 field size {field}"))),
        }
        return Ok(total);
    }
    Ok(0)
}

/// The frame rate when all samples last the same (a different last sample is tolerated, as
/// some muxers write one).
fn constant_rate(deltas: &[(u32, u32)], timescale: u32) -> Option<Rational> {
    let mut d: Vec<(u32, u32)> = deltas.iter().copied().filter(|&(c, _)| c > 0).collect();
    if d.len() > 1 && d.last().is_some_and(|&(c, _)| c == 1) {
        d.pop();
    }
    let first = d.first()?.1;
    if first == 0 || timescale == 0 || d.iter().any(|&(_, x)| x != first) {
        return None;
    }
    Rational::new(timescale, first).ok()
}

pub(super) fn parse_colr(colr: &[u8]) -> Result<Option<ColorInfo>> {
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

/// H.264 profile name as ffprobe prints it.
fn avc_profile_name(profile_idc: u8, constraints: u8) -> String {
    let set1 = constraints & 0x40 != 0;
    let set3 = constraints & 0x10 != 0;
    match profile_idc {
        66 if set1 => "Constrained Baseline".into(),
        66 => "Baseline".into(),
        77 => "Main".into(),
        88 => "Extended".into(),
        100 => "High".into(),
        110 if set3 => "High 10 Intra".into(),
        110 => "High 10".into(),
        122 if set3 => "High 4:2:2 Intra".into(),
        122 => "High 4:2:2".into(),
        244 if set3 => "High 4:4:4 Intra".into(),
        244 => "High 4:4:4 Predictive".into(),
        44 => "CAVLC 4:4:4 Intra".into(),
        other => format!("profile {other}"),
    }
}

/// H.264 level as "4.0", "3.1", or "1b".
fn avc_level_name(level_idc: u8, profile_idc: u8, constraints: u8) -> String {
    if level_idc == 9 || (level_idc == 11 && constraints & 0x10 != 0 && matches!(profile_idc, 66 | 77 | 88)) {
        return "1b".into();
    }
    format!("{}.{}", level_idc / 10, level_idc % 10)
}

fn primaries_name(v: u16) -> String {
    match v {
        1 => "bt709".into(),
        2 => "unspecified".into(),
        4 => "bt470m".into(),
        5 => "bt470bg".into(),
        6 => "smpte170m".into(),
        7 => "smpte240m".into(),
        8 => "film".into(),
        9 => "bt2020".into(),
        10 => "smpte428".into(),
        11 => "smpte431".into(),
        12 => "smpte432".into(),
        22 => "ebu3213".into(),
        v => format!("code {v}"),
    }
}

fn transfer_name(v: u16) -> String {
    match v {
        1 => "bt709".into(),
        2 => "unspecified".into(),
        4 => "gamma22".into(),
        5 => "gamma28".into(),
        6 => "smpte170m".into(),
        7 => "smpte240m".into(),
        8 => "linear".into(),
        11 => "iec61966-2-4".into(),
        13 => "iec61966-2-1 (sRGB)".into(),
        14 => "bt2020-10".into(),
        15 => "bt2020-12".into(),
        16 => "smpte2084 (PQ)".into(),
        18 => "arib-std-b67 (HLG)".into(),
        v => format!("code {v}"),
    }
}

fn matrix_name(v: u16) -> String {
    match v {
        0 => "gbr".into(),
        1 => "bt709".into(),
        2 => "unspecified".into(),
        4 => "fcc".into(),
        5 => "bt470bg".into(),
        6 => "smpte170m".into(),
        7 => "smpte240m".into(),
        8 => "ycgco".into(),
        9 => "bt2020nc".into(),
        10 => "bt2020c".into(),
        v => format!("code {v}"),
    }
}

impl fmt::Display for Mp4Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "brand: {}", if self.brand.is_empty() { "(none)" } else { &self.brand })?;
        writeln!(f, "codec: {}", self.codec)?;
        if !self.profile.is_empty() {
            writeln!(f, "profile: {}", self.profile)?;
        }
        if !self.level.is_empty() {
            writeln!(f, "level: {}", self.level)?;
        }
        writeln!(f, "width: {}", self.width)?;
        writeln!(f, "height: {}", self.height)?;
        writeln!(f, "frames: {}", self.frame_count)?;
        match self.fps {
            Some(r) if r.den != 1 => writeln!(f, "fps: {r} ({:.3})", r.as_f64())?,
            Some(r) => writeln!(f, "fps: {r}")?,
            None => writeln!(f, "fps: variable")?,
        }
        writeln!(f, "duration: {:.3} s", self.duration_seconds)?;
        writeln!(f, "keyframes: {}", self.keyframes)?;
        writeln!(f, "bitrate: {:.1} kb/s", self.bitrate_kbps)?;
        match self.color {
            Some(c) => writeln!(
                f,
                "colour: {} primaries, {} transfer, {} matrix, {} range",
                primaries_name(c.primaries),
                transfer_name(c.transfer),
                matrix_name(c.matrix),
                if c.full_range { "full" } else { "limited" }
            )?,
            None => writeln!(f, "colour: not signalled")?,
        }
        writeln!(f, "faststart: {}", if self.faststart { "yes (moov before mdat)" } else { "no (moov after mdat)" })?;
        write!(f, "file size: {} bytes", self.file_size)?;
        for (k, v) in &self.tags {
            write!(f, "\ntag {k}: {}", v.replace('\n', "\\n"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Packet;
    use crate::mux::mp4::Mp4Writer;
    use crate::mux::{Muxer, VideoTrack};
    use std::io::Cursor;

    fn track() -> VideoTrack {
        VideoTrack {
            width: 320,
            height: 240,
            fps: Rational::new(30000, 1001).unwrap(),
            avc: crate::encode::AvcConfig {
                sps: vec![vec![0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x41, 0x41, 0xfb]],
                pps: vec![vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]],
            },
            color: ColorInfo::BT709_LIMITED,
        }
    }

    fn file(frames: i64) -> Vec<u8> {
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track()).unwrap();
        for i in 0..frames {
            let mut data = 96u32.to_be_bytes().to_vec();
            data.extend(std::iter::repeat_n(if i % 10 == 0 { 0x65 } else { 0x41 }, 96));
            w.write_packet(&Packet { data, pts: i, dts: i, keyframe: i % 10 == 0 }).unwrap();
        }
        w.finish().unwrap();
        w.into_inner().into_inner()
    }

    #[test]
    fn probes_our_own_file() {
        let data = file(30);
        let info = probe_reader(Cursor::new(&data)).unwrap();
        assert_eq!(info.width, 320);
        assert_eq!(info.height, 240);
        assert_eq!(info.frame_count, 30);
        assert_eq!(info.fps, Some(Rational { num: 30000, den: 1001 }));
        assert!((info.duration_seconds - 1.001).abs() < 1e-9, "{}", info.duration_seconds);
        assert_eq!(info.codec, "avc1");
        assert_eq!(info.profile, "High");
        assert_eq!(info.level, "3.1");
        assert_eq!(info.color, Some(ColorInfo::BT709_LIMITED));
        assert!(info.faststart);
        assert_eq!(info.keyframes, 3);
        assert_eq!(info.file_size, data.len() as u64);
        assert_eq!(info.brand, "isom");
        assert!((info.bitrate_kbps - 30.0 * 100.0 * 8.0 / 1.001 / 1000.0).abs() < 1e-6);
        let text = info.to_string();
        assert!(text.contains("width: 320\n"), "{text}");
        assert!(text.contains("colour: bt709 primaries, bt709 transfer, bt709 matrix, limited range"), "{text}");
        assert!(text.contains("fps: 30000/1001 (29.970)"), "{text}");
        assert!(text.contains("faststart: yes"), "{text}");
    }

    #[test]
    fn moov_at_end_is_not_faststart() {
        // Rearrange our file to ftyp | mdat | moov and fix the chunk offsets (as ffmpeg without
        // +faststart would write it).
        let data = file(5);
        let moov_len = u32::from_be_bytes(data[32..36].try_into().unwrap()) as usize;
        let moov = &data[32..32 + moov_len];
        let mdat = &data[32 + moov_len..];
        let mut out = data[..32].to_vec();
        out.extend_from_slice(mdat);
        out.extend_from_slice(moov);
        let info = probe_reader(Cursor::new(&out)).unwrap();
        assert!(!info.faststart);
        assert_eq!(info.frame_count, 5);
        assert!(info.to_string().contains("faststart: no"));
    }

    #[test]
    fn rejects_non_mp4() {
        let e = probe_reader(Cursor::new(b"hello world, this is plain text".to_vec())).unwrap_err();
        assert!(matches!(e, Error::Parameter(_)));
        assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
        let e = probe_reader(Cursor::new(vec![0u8; 3])).unwrap_err();
        assert_eq!(e.to_string(), "not an MP4 file: it is only 3 bytes long: bytes 00 00 00 (\"...\")");
        let e = probe_reader(Cursor::new(Vec::new())).unwrap_err();
        assert_eq!(e.to_string(), "not an MP4 file: the file is empty");
        // Boxes, but neither ftyp nor moov.
        let e = probe_reader(Cursor::new(b"\0\0\0\x08free\0\0\0\x08skip".to_vec())).unwrap_err();
        assert_eq!(e.to_string(), "not an MP4 file: no ftyp/moov box found");
        let e = probe_reader(Cursor::new(vec![0xffu8; 100])).unwrap_err();
        assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
        // PNG signature
        let e = probe_reader(Cursor::new(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec())).unwrap_err();
        assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
        // The first bytes of the file are shown, not the box type at bytes 4..8.
        let e = probe_reader(Cursor::new(b"GIF89a\x40\x00\x30\x00\xf7\x00\x00".to_vec())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an MP4 file: it starts with bytes 47 49 46 38 39 61 40 00 (\"GIF89a@.\") instead of an ftyp box"
        );
    }

    #[test]
    fn unfinished_file_is_reported() {
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track()).unwrap();
        let mut data = 4u32.to_be_bytes().to_vec();
        data.extend_from_slice(&[0x65, 1, 2, 3]);
        w.write_packet(&Packet { data, pts: 0, dts: 0, keyframe: true }).unwrap();
        let bytes = w.into_inner().into_inner();
        let e = probe_reader(Cursor::new(&bytes)).unwrap_err();
        assert!(e.to_string().contains("no moov box"), "{e}");
    }

    #[test]
    fn truncated_and_garbled_moov_give_errors_not_panics() {
        let data = file(12);
        for cut in [40, 60, 100, 200, 400, 600] {
            let mut d = data.clone();
            d.truncate(cut);
            assert!(probe_reader(Cursor::new(&d)).is_err(), "cut at {cut}");
        }
        // Flip bytes inside the moov one at a time: must never panic.
        let moov_len = u32::from_be_bytes(data[32..36].try_into().unwrap()) as usize;
        for i in 40..32 + moov_len {
            let mut d = data.clone();
            d[i] ^= 0xff;
            let _ = probe_reader(Cursor::new(&d));
        }
    }

    #[test]
    fn names() {
        assert_eq!(avc_profile_name(66, 0xc0), "Constrained Baseline");
        assert_eq!(avc_profile_name(77, 0), "Main");
        assert_eq!(avc_profile_name(110, 0), "High 10");
        assert_eq!(avc_level_name(40, 100, 0), "4.0");
        assert_eq!(avc_level_name(9, 100, 0), "1b");
        assert_eq!(avc_level_name(52, 100, 0), "5.2");
        assert_eq!(constant_rate(&[(59, 512), (1, 100)], 15360), Some(Rational { num: 30, den: 1 }));
        assert_eq!(constant_rate(&[(10, 512), (10, 256)], 15360), None);
        assert_eq!(constant_rate(&[], 15360), None);
    }
}
