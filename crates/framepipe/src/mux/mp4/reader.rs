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
}

/// Describe the MP4 file at `path`.
pub fn probe(path: &Path) -> Result<Mp4Info> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    probe_reader(BufReader::new(f)).map_err(|e| match e {
        Error::InvalidData(m) => Error::InvalidData(format!("{}: {m}", path.display())),
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

impl TopLevel {
    /// Walk the top-level boxes of the MP4 in `r` and load its moov.
    pub(crate) fn read<R: Read + Seek>(mut r: R) -> Result<Self> {
        let ctx = || "reading MP4".to_string();
        let file_size = r.seek(SeekFrom::End(0)).ctx(ctx)?;
        if file_size < 8 {
            // Too short for a box header.
            let mut all = vec![0u8; file_size as usize];
            r.seek(SeekFrom::Start(0)).ctx(ctx)?;
            r.read_exact(&mut all).ctx(ctx)?;
            return Err(Error::invalid_data(match file_size {
                0 => "not an MP4 file: the file is empty".to_string(),
                n => format!("not an MP4 file: it is only {n} bytes long: {}", describe_bytes(&all)),
            }));
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
            return Err(if brand.is_some() {
                Error::invalid_data(
                "incomplete MP4: no moov box found (the writer was probably not finished, or the file is truncated)",
            )
            } else {
                Error::invalid_data("not an MP4 file: no ftyp/moov box found")
            });
        };
        Ok(TopLevel { file_size, brand, moov_pos, moov, first_mdat, moofs, torn })
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
        if let Some(warning) = self.truncation_warning() {
            writeln!(f, "warning: {warning}")?;
        }
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
        if self.fragmented {
            writeln!(
                f,
                "fragmented: yes (a file being written, or left by a writer that was stopped: \
                 `framepipe repair` makes it an ordinary MP4)"
            )?;
        } else {
            writeln!(
                f,
                "faststart: {}",
                if self.faststart { "yes (moov before mdat)" } else { "no (moov after mdat)" }
            )?;
        }
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
    use crate::mux::VideoTrack;
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

    /// Where the samples of `file(n)` start: right after the mdat header.
    fn payload_start(data: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
            if &data[pos + 4..pos + 8] == b"mdat" {
                return pos + 16; // framepipe writes a 64-bit mdat header
            }
            pos += size;
        }
    }

    #[test]
    fn a_truncated_file_reports_the_frames_it_holds() {
        let data = file(30);
        let start = payload_start(&data);
        assert_eq!(start + 30 * 100, data.len());
        let whole = probe_reader(Cursor::new(&data)).unwrap();
        assert_eq!((whole.frame_count, whole.frames_present, whole.truncated()), (30, 30, false));
        assert!(whole.truncation_warning().is_none() && !whole.to_string().contains("warning"));
        for cut in [start, start + 1, start + 99, start + 100, start + 101, start + 1234, data.len() - 1] {
            let info = probe_reader(Cursor::new(&data[..cut])).unwrap();
            // Each sample is 100 bytes, stored in decode order from `start`.
            let expect = ((cut - start) / 100) as u64;
            assert_eq!(info.frame_count, 30, "cut at {cut}");
            assert_eq!(info.frames_present, expect, "cut at {cut}");
            assert_eq!(info.missing_bytes, (data.len() - cut) as u64, "cut at {cut}");
            assert!(info.truncated());
            let text = info.to_string();
            assert!(
                text.contains(&format!(
                    "warning: truncated: the index lists 30 frames but only {expect} are in the file"
                )),
                "{text}"
            );
            // The demuxer refuses it rather than read past the end.
            let e = crate::mux::mp4::Mp4Demuxer::new(Cursor::new(&data[..cut])).err().expect("refused");
            assert!(matches!(e, Error::InvalidData(_)) && e.to_string().contains("truncated MP4"), "{e}");
        }
    }

    /// Overwrite the u32 at `at` bytes into the body (after the 8-byte header) of the first box
    /// of type `kind`.
    fn patch(data: &mut [u8], kind: &[u8; 4], at: usize, value: u32) {
        let pos = data.windows(4).position(|w| w == kind).expect("box present") + 4;
        data[pos + at..pos + at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn a_forged_sample_count_is_neither_trusted_nor_allocated() {
        // stsz alone claims 2^32 - 1 samples of 100 bytes: stts disagrees, so the index is
        // malformed.
        let mut data = file(30);
        patch(&mut data, b"stsz", 4, 100);
        patch(&mut data, b"stsz", 8, u32::MAX);
        let e = probe_reader(Cursor::new(&data)).unwrap_err();
        assert!(matches!(e, Error::InvalidData(_)), "{e}");
        assert!(e.to_string().contains("stts gives times to 30 samples, but stsz has 4294967295"), "{e}");
        // A consistent forgery (stts and stsc say the same): described, with the 30 frames the
        // file really holds, and nothing allocated per claimed sample.
        patch(&mut data, b"stts", 8, u32::MAX);
        patch(&mut data, b"stsc", 12, u32::MAX);
        let info = probe_reader(Cursor::new(&data)).unwrap();
        assert_eq!((info.frame_count, info.frames_present), (u64::from(u32::MAX), 30));
        assert!(info.truncated());
        let e = crate::mux::mp4::Mp4Demuxer::new(Cursor::new(&data)).err().expect("refused");
        assert!(e.to_string().contains("only 30 are in the file"), "{e}");
    }

    #[test]
    fn chunk_tables_that_place_other_counts_are_malformed() {
        let mut data = file(30);
        patch(&mut data, b"stsc", 12, 29); // one chunk of 29 samples, stsz has 30
        let e = probe_reader(Cursor::new(&data)).unwrap_err();
        assert!(e.to_string().contains("place 29 samples, but stsz has 30"), "{e}");
        let mut data = file(30);
        patch(&mut data, b"stss", 8, 31); // a keyframe that does not exist
        let e = probe_reader(Cursor::new(&data)).unwrap_err();
        assert!(e.to_string().contains("stss names sample 31, but there are 30"), "{e}");
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
        assert!(matches!(e, Error::InvalidData(_)));
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
        assert_eq!(h264::profile_name(66, 0xc0), "Constrained Baseline");
        assert_eq!(h264::profile_name(77, 0), "Main");
        assert_eq!(h264::profile_name(110, 0), "High 10");
        assert_eq!(h264::level_name(40, 100, 0), "4.0");
        assert_eq!(h264::level_name(9, 100, 0), "1b");
        assert_eq!(h264::level_name(52, 100, 0), "5.2");
        assert_eq!(constant_rate(&[(59, 512), (1, 100)], 15360), Some(Rational { num: 30, den: 1 }));
        assert_eq!(constant_rate(&[(10, 512), (10, 256)], 15360), None);
        assert_eq!(constant_rate(&[], 15360), None);
    }
}
