//! A small MP4 reader: enough of ISO BMFF to describe the first video track of a file
//! ("framepipe probe" and the tests). Reads the top-level box list and the `moov` only; the
//! media data is never read. Works with files from other tools too (moov at the end, stco or
//! co64, 32- or 64-bit box sizes).

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::boxes::{child, children, describe_fourcc, Fields};
use super::fragment;
use super::track::{Presence, VideoTrak};
use crate::encode::ColorInfo;
use crate::error::{Error, IoContext, Result};
use crate::h264;
use crate::rational::Rational;

/// What [`probe`] finds out about an MP4 file (its first video track).
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4Info {
    /// Width and height from the sample entry (the coded picture size).
    pub width: u32,
    pub height: u32,
    /// Number of samples (frames) the track's index lists.
    pub frame_count: u64,
    /// Samples whose bytes all lie within the file: fewer than `frame_count` when the file is
    /// truncated (see [`Mp4Info::truncated`]).
    pub frames_present: u64,
    /// Bytes of samples the index lists beyond the end of the file.
    pub missing_bytes: u64,
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
    /// The samples are in movie fragments (`moof` boxes): a file still being written by
    /// framepipe, or left by a writer that was killed ([`super::repair`] finishes it), or a
    /// fragmented file from another tool. The counts above are those of its whole fragments.
    pub fragmented: bool,
    /// Bytes at the end of the file that are not a whole box: a box the file ends inside (one
    /// being written when the writer stopped, or a file cut short), or bytes that do not start
    /// a box at all (a damaged box header: what follows it cannot be found).
    pub torn_bytes: u64,
    /// The type of the box those bytes start ("moof", "mdat", "free", ...), or empty when they
    /// are not a box header (see [`Mp4Info::truncated`] for which torn boxes lose frames).
    pub torn_box: String,
    /// The audio track, if the file has one (see [`super::AudioInfo`]).
    pub audio: Option<Box<super::AudioInfo>>,
}

/// Describe the MP4 file at `path`.
pub fn probe(path: &Path) -> Result<Mp4Info> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    probe_reader(BufReader::new(f)).map_err(|e| match e {
        e @ Error::InvalidData(_) => e.with_prefix(&format!("{}: ", path.display())),
        e @ Error::Unsupported(_) => e.with_prefix(&format!("{}: ", path.display())),
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

/// Why a file whose first bytes are `head` (up to 8) and size `file_size` is not an MP4, if
/// its start tells: too short for a box header, or a first box no MP4 starts with.
pub(crate) fn head_problem(head: &[u8], file_size: u64) -> Option<String> {
    match file_size {
        0 => Some("the file is empty".to_string()),
        n if n < 8 => Some(format!("it is only {n} bytes long: {}", describe_bytes(head))),
        _ if head.len() >= 8 && !FIRST_BOXES.iter().any(|b| b[..] == head[4..8]) => {
            Some(format!("it starts with {} instead of an ftyp box", describe_bytes(&head[..8])))
        }
        _ => None,
    }
}

/// Describe an MP4 read from `r` (positioned anywhere: the whole stream is the file).
pub fn probe_reader<R: Read + Seek>(r: R) -> Result<Mp4Info> {
    let top = TopLevel::read(r)?;
    let mut info = parse_moov(&top.moov, &top.moofs, top.file_size)?;
    info.brand = top.brand.unwrap_or_default();
    info.faststart = top.first_mdat.is_none_or(|m| top.moov_pos < m);
    if let Some(torn) = top.torn {
        info.torn_bytes = top.file_size - torn.pos;
        info.torn_box = torn.kind.map(|k| String::from_utf8_lossy(&k).into_owned()).unwrap_or_default();
    }
    Ok(info)
}

/// The end of a file that is not a whole box (see [`Mp4Info::torn_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Torn {
    /// Where those bytes start.
    pub pos: u64,
    /// The type of the box they start; None when they are no box header (too short for one, or
    /// an invalid size or type).
    pub kind: Option<[u8; 4]>,
}

/// What the top-level box list of an MP4 holds: the moov (loaded), where it and the first mdat
/// are, the brand. The one scanner of top-level boxes, for the probe and the demuxer.
pub(crate) struct TopLevel {
    pub file_size: u64,
    pub brand: Option<String>,
    pub moov_pos: u64,
    pub moov: Vec<u8>,
    pub first_mdat: Option<u64>,
    /// The whole moof boxes (position, body), in file order; a moof cut off by the end of the
    /// file is left out (it is the `torn` box).
    pub moofs: Vec<(u64, Vec<u8>)>,
    /// The end of the file that is not a whole box, if any: the box list stops there.
    pub torn: Option<Torn>,
}

/// What [`TopLevel::scan`] found: the boxes, or an MP4 (it has an ftyp) whose moov is not there.
pub(crate) enum Scanned {
    Found(TopLevel),
    /// The file has an ftyp but no moov: a writer stopped before its first fragment, or a cut.
    NoMoov,
}

/// The error of an MP4 whose moov is not there.
pub(crate) fn no_moov() -> Error {
    Error::invalid_data(
        "incomplete MP4: no moov box found (the writer was probably not finished, or the file is truncated)",
    )
}

impl TopLevel {
    /// Walk the top-level boxes of the MP4 in `r` and load its moov.
    pub(crate) fn read<R: Read + Seek>(r: R) -> Result<Self> {
        match Self::scan(r)? {
            Scanned::Found(top) => Ok(top),
            Scanned::NoMoov => Err(no_moov()),
        }
    }

    /// [`Self::read`], telling an MP4 without a moov apart from other errors (for repair).
    pub(crate) fn scan<R: Read + Seek>(mut r: R) -> Result<Scanned> {
        let ctx = || "reading MP4".to_string();
        let file_size = r.seek(SeekFrom::End(0)).ctx(ctx)?;
        if file_size < 8 {
            // Too short for a box header.
            let mut all = vec![0u8; file_size as usize];
            r.seek(SeekFrom::Start(0)).ctx(ctx)?;
            r.read_exact(&mut all).ctx(ctx)?;
            let reason = head_problem(&all, file_size).unwrap_or_default();
            return Err(Error::invalid_data(format!("not an MP4 file: {reason}")));
        }
        let mut pos = 0u64;
        let mut brand: Option<String> = None;
        let mut moov: Option<(u64, Vec<u8>)> = None;
        let mut first_mdat: Option<u64> = None;
        let mut moofs = Vec::new();
        let mut moof_bytes = 0u64;
        let mut torn = None;

        while pos < file_size {
            if file_size - pos < 8 {
                // A box header cut short.
                torn = Some(Torn { pos, kind: None });
                break;
            }
            r.seek(SeekFrom::Start(pos)).ctx(ctx)?;
            let mut head = [0u8; 16];
            r.read_exact(&mut head[..8]).ctx(ctx)?;
            let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
            let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let (header_len, size) = match size32 {
                1 => {
                    if file_size - pos < 16 {
                        torn = Some(Torn { pos, kind: Some(kind) });
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
                return Err(Error::invalid_data(format!(
                    "not an MP4 file: it starts with {} instead of an ftyp box",
                    describe_bytes(&head[..8])
                )));
            }
            if size < header_len || !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
                // Garbage after the last box (or a corrupt box): stop reading the box list here.
                if moov.is_some() {
                    torn = Some(Torn { pos, kind: None });
                    break;
                }
                return Err(Error::invalid_data(format!(
                    "malformed MP4: invalid box {} of size {size} at byte {pos}, and no moov box before it",
                    describe_fourcc(&kind)
                )));
            }
            let body_len = size - header_len;
            let truncated = size > file_size - pos;
            if truncated {
                torn = Some(Torn { pos, kind: Some(kind) });
            }
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
                        return Err(Error::invalid_data(format!(
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
                b"moof" if !truncated => {
                    moof_bytes += body_len;
                    if moof_bytes > MAX_MOOV {
                        return Err(Error::unsupported("the MP4's moof boxes are too large to read"));
                    }
                    let mut body = vec![0u8; body_len as usize];
                    r.read_exact(&mut body).ctx(ctx)?;
                    moofs.push((pos, body));
                }
                _ => {}
            }
            if truncated {
                break;
            }
            pos += size; // within the file: checked above
        }

        let Some((moov_pos, moov)) = moov else {
            return match brand {
                Some(_) => Ok(Scanned::NoMoov),
                None => Err(Error::invalid_data("not an MP4 file: no ftyp/moov box found")),
            };
        };
        Ok(Scanned::Found(TopLevel { file_size, brand, moov_pos, moov, first_mdat, moofs, torn }))
    }
}

/// Bytes in hex, then as text in quotes (`.` for a byte that is not printable ASCII).
fn describe_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
    format!("bytes {} ({text:?})", hex.join(" "))
}

fn parse_moov(moov: &[u8], moofs: &[(u64, Vec<u8>)], file_size: u64) -> Result<Mp4Info> {
    let top = children(moov)?;
    let trak = VideoTrak::parse(&top)?;
    let defaults = fragment::track_defaults(&top, trak.track_id)?;
    let entry = &trak.entry;
    let (mut profile, mut level) = (String::new(), String::new());
    if let Some(avcc) = entry.avcc {
        let mut f = Fields::new(avcc, "avcC");
        f.skip(1)?;
        let (p, c, l) = (f.u8()?, f.u8()?, f.u8()?);
        profile = h264::profile_name(p, c);
        level = h264::level_name(l, p, c);
    }
    let table = &trak.table;
    let fragmented = defaults.is_some();
    let (frame_count, presence, fps, total_ticks, keyframes, sample_bytes);
    if let (Some(defaults), true) = (defaults, fragmented) {
        // The samples of the whole fragments (after any in the moov's own table, which
        // framepipe leaves empty), counted as they are read: nothing is kept per sample.
        let mut rate = RateCheck::default();
        let (mut ticks, mut keys, mut bytes) = (0u64, 0u64, 0u64);
        let counts = fragment::scan_fragments(moofs, trak.track_id, defaults, file_size, |s| {
            rate.push(s.duration);
            ticks = ticks.saturating_add(u64::from(s.duration));
            keys += u64::from(s.keyframe);
            bytes += u64::from(s.size);
            Ok(())
        })?;
        frame_count = table.len() + counts.listed;
        presence = Presence { samples: table.len() + counts.present, missing_bytes: counts.missing_bytes };
        fps = rate.rate(trak.timescale).or_else(|| {
            (defaults.duration > 0).then(|| Rational::new(trak.timescale, defaults.duration).ok()).flatten()
        });
        total_ticks = ticks;
        keyframes = table.keyframes() + keys;
        sample_bytes = table.total_bytes() + bytes;
    } else {
        frame_count = table.len();
        presence = table.presence(file_size);
        fps = constant_rate(&table.stts, trak.timescale);
        total_ticks = table.stts.iter().fold(0u64, |sum, &(c, d)| sum.saturating_add(u64::from(c) * u64::from(d)));
        keyframes = table.keyframes();
        sample_bytes = table.total_bytes();
    }

    // Duration: edit list (movie timescale), else mdhd, else the sum of sample durations (a
    // fragmented file: of its whole fragments).
    let mut duration_seconds = 0.0;
    if let (Some((total, _)), true, false) = (trak.edit, trak.movie_timescale > 0, fragmented) {
        duration_seconds = total as f64 / f64::from(trak.movie_timescale);
    }
    if duration_seconds <= 0.0 && trak.timescale > 0 {
        let d = if fragmented || trak.mdhd_duration == 0 || trak.mdhd_duration == u64::MAX {
            total_ticks
        } else {
            trak.mdhd_duration
        };
        duration_seconds = d as f64 / f64::from(trak.timescale);
    }
    let bitrate_kbps = if duration_seconds > 0.0 { sample_bytes as f64 * 8.0 / duration_seconds / 1000.0 } else { 0.0 };

    Ok(Mp4Info {
        width: entry.width,
        height: entry.height,
        frame_count,
        frames_present: presence.samples,
        missing_bytes: presence.missing_bytes,
        fps,
        duration_seconds,
        codec: String::from_utf8_lossy(&entry.codec).into_owned(),
        profile,
        level,
        color: entry.color,
        faststart: true,
        keyframes,
        bitrate_kbps,
        file_size,
        brand: String::new(),
        tags: child(&top, b"udta").map(super::metadata::parse_udta).unwrap_or_default(),
        fragmented,
        torn_bytes: 0,
        torn_box: String::new(),
        audio: super::audio::probe_audio(&top, moofs, file_size)?.map(Box::new),
    })
}

/// [`constant_rate`] over sample durations given one at a time, in constant memory.
#[derive(Default)]
struct RateCheck {
    first: Option<u32>,
    last: Option<u32>,
    /// Every duration before the last equals the first.
    same: bool,
    count: u64,
}

impl RateCheck {
    fn push(&mut self, duration: u32) {
        if self.count == 0 {
            self.same = true;
        }
        if let (Some(last), Some(first)) = (self.last, self.first) {
            self.same &= last == first;
        }
        self.first.get_or_insert(duration);
        self.last = Some(duration);
        self.count += 1;
    }

    fn rate(&self, timescale: u32) -> Option<Rational> {
        let first = self.first?;
        if first == 0 || timescale == 0 || !self.same {
            return None;
        }
        Rational::new(timescale, first).ok()
    }
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

pub(crate) fn primaries_name(v: u16) -> String {
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

pub(crate) fn transfer_name(v: u16) -> String {
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

pub(crate) fn matrix_name(v: u16) -> String {
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

impl Mp4Info {
    /// Part of the file cannot be read: its index lists frames whose bytes the file does not
    /// hold (only `frames_present` of `frame_count` play), or it ends inside a box that held
    /// frames or an index of them (a torn `moof`, a box header cut short, bytes that are no
    /// box). A torn `free`/`skip` box holds nothing, and a torn `mdat` loses only the frames
    /// counted in `frames_present` already: those alone do not make a file truncated (a
    /// framepipe writer stopped while writing a fragment leaves exactly that).
    pub fn truncated(&self) -> bool {
        self.frames_present < self.frame_count || self.torn_loses_data()
    }

    /// The torn end of the file (see [`Mp4Info::torn_bytes`]) held something that is lost.
    fn torn_loses_data(&self) -> bool {
        self.torn_bytes > 0 && !matches!(self.torn_box.as_str(), "free" | "skip" | "mdat")
    }

    /// What a truncated file is missing, in words; None for a whole file.
    pub fn truncation_warning(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.frames_present < self.frame_count {
            parts.push(format!(
                "truncated: the index lists {} frames but only {} are in the file ({} bytes of media data \
                 missing; the file is {} bytes)",
                self.frame_count, self.frames_present, self.missing_bytes, self.file_size
            ));
        }
        if self.torn_loses_data() {
            let at = self.file_size - self.torn_bytes;
            parts.push(if self.torn_box.is_empty() {
                format!(
                    "damaged: the last {} bytes of the file (from byte {at}) are not a whole box, so \
                     whatever they hold cannot be read; {} frames are whole before them",
                    self.torn_bytes, self.frames_present
                )
            } else {
                format!(
                    "truncated: the file ends {} bytes into a {:?} box (at byte {at}), so what it holds is \
                     lost; {} frames are whole before it",
                    self.torn_bytes, self.torn_box, self.frames_present
                )
            });
        }
        if parts.is_empty() {
            return None;
        }
        if self.fragmented {
            parts.push("`framepipe repair` makes a playable file of the whole frames".to_string());
        }
        Some(parts.join("; "))
    }
}

impl fmt::Display for Mp4Info {
    /// `framepipe probe`'s text ([`crate::probe::text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::probe::text(&crate::probe::FileInfo::Mp4(self.clone())))
    }
}

#[cfg(test)]
mod tests;
