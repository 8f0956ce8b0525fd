//! Reading an MP4's video samples back out as packets, with their timestamps in frame units:
//! what [`super::concat`] needs to append encoded chunks without re-encoding. Supports constant
//! frame rate H.264 tracks (what framepipe writes, and what most encoders write).

use std::io::{Read, Seek, SeekFrom};

use super::reader::{child, children, is_video_trak, malformed, parse_colr, timescale_duration, Fields};
use crate::encode::{AvcConfig, ColorInfo, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::VideoTrack;
use crate::rational::Rational;

#[derive(Debug, Clone, Copy)]
struct SampleRef {
    offset: u64,
    size: u32,
    pts: i64,
    dts: i64,
    keyframe: bool,
}

/// The video track of an MP4, sample by sample, in decode order.
pub struct Mp4Demuxer<R: Read + Seek> {
    r: R,
    track: VideoTrack,
    samples: Vec<SampleRef>,
    next: usize,
}

impl<R: Read + Seek> Mp4Demuxer<R> {
    /// Parse the index (moov) of the MP4 in `r`.
    pub fn new(mut r: R) -> Result<Self> {
        let moov = read_moov(&mut r)?;
        let (track, samples) = parse(&moov)?;
        Ok(Mp4Demuxer { r, track, samples, next: 0 })
    }

    /// The track's description (size, frame rate, codec configuration, colour).
    pub fn track(&self) -> &VideoTrack {
        &self.track
    }

    /// Number of samples (frames).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The next packet in decode order, with pts/dts in frame units (pts of the first presented
    /// frame is 0), or `None` at the end.
    pub fn read_packet(&mut self) -> Result<Option<Packet>> {
        let Some(s) = self.samples.get(self.next).copied() else { return Ok(None) };
        self.next += 1;
        let mut data = vec![0u8; s.size as usize];
        self.r.seek(SeekFrom::Start(s.offset)).ctx(|| "reading an MP4 sample".into())?;
        self.r.read_exact(&mut data).ctx(|| format!("reading MP4 sample {} ({} bytes)", self.next - 1, s.size))?;
        Ok(Some(Packet { data, pts: s.pts, dts: s.dts, keyframe: s.keyframe }))
    }
}

/// Find and load the top-level moov box.
fn read_moov<R: Read + Seek>(r: &mut R) -> Result<Vec<u8>> {
    let ctx = || "reading MP4".to_string();
    let len = r.seek(SeekFrom::End(0)).ctx(ctx)?;
    let mut pos = 0u64;
    while pos + 8 <= len {
        r.seek(SeekFrom::Start(pos)).ctx(ctx)?;
        let mut head = [0u8; 16];
        r.read_exact(&mut head[..8]).ctx(ctx)?;
        let size32 = u32::from_be_bytes(head[..4].try_into().expect("4 bytes"));
        let (hdr, size) = match size32 {
            0 => (8, len - pos),
            1 => {
                r.read_exact(&mut head[8..16]).ctx(ctx)?;
                (16, u64::from_be_bytes(head[8..16].try_into().expect("8 bytes")))
            }
            s => (8, u64::from(s)),
        };
        if size < hdr || pos + size > len {
            return Err(malformed(format!("box at byte {pos} runs past the end of the data")));
        }
        if &head[4..8] == b"moov" {
            let mut body = vec![0u8; (size - hdr) as usize];
            r.read_exact(&mut body).ctx(ctx)?;
            return Ok(body);
        }
        pos += size;
    }
    Err(Error::parameter("not a finished MP4: no moov box found"))
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

fn parse(moov: &[u8]) -> Result<(VideoTrack, Vec<SampleRef>)> {
    let top = children(moov)?;
    let trak = top
        .iter()
        .find(|(k, b)| k == b"trak" && is_video_trak(b).unwrap_or(false))
        .map(|(_, b)| *b)
        .ok_or_else(|| Error::unsupported("the MP4 has no video track"))?;
    let t = children(trak)?;
    let mdia = children(child(&t, b"mdia").ok_or_else(|| malformed("trak without mdia"))?)?;
    let (timescale, _) = timescale_duration(child(&mdia, b"mdhd").ok_or_else(|| malformed("no mdhd"))?, "mdhd")?;
    let minf = children(child(&mdia, b"minf").ok_or_else(|| malformed("no minf"))?)?;
    let stbl = children(child(&minf, b"stbl").ok_or_else(|| malformed("no stbl"))?)?;
    let need =
        |k: &[u8; 4]| child(&stbl, k).ok_or_else(|| malformed(format!("stbl without {}", String::from_utf8_lossy(k))));

    // Sample entry: avc1 with avcC (and colr).
    let stsd = need(b"stsd")?;
    let entries = children(stsd.get(8..).ok_or_else(|| malformed("short stsd"))?)?;
    let (kind, entry) = *entries.first().ok_or_else(|| malformed("stsd has no sample entry"))?;
    if &kind != b"avc1" && &kind != b"avc3" {
        return Err(Error::unsupported(format!("codec {} (only H.264 avc1)", String::from_utf8_lossy(&kind))));
    }
    let mut f = Fields::new(entry, "avc1");
    f.skip(24)?;
    let (width, height) = (u32::from(f.u16()?), u32::from(f.u16()?));
    let inner = children(entry.get(78..).unwrap_or(&[]))?;
    let avc = parse_avcc(child(&inner, b"avcC").ok_or_else(|| malformed("avc1 without avcC"))?)?;
    let color = match child(&inner, b"colr") {
        Some(c) => parse_colr(c)?.unwrap_or(ColorInfo::BT709_LIMITED),
        None => ColorInfo::BT709_LIMITED,
    };

    // Sizes.
    let mut f = Fields::new(need(b"stsz")?, "stsz");
    f.full()?;
    let fixed = f.u32()?;
    let n = f.u32()? as usize;
    let sizes: Vec<u32> = if fixed != 0 {
        vec![fixed; n]
    } else {
        let mut f2 = Fields::new(need(b"stsz")?, "stsz");
        f2.skip(8)?;
        let n2 = f2.count(4)?;
        (0..n2).map(|_| f2.u32()).collect::<Result<_>>()?
    };
    if sizes.len() != n {
        return Err(malformed("stsz count mismatch"));
    }

    // Chunk offsets and the sample-to-chunk map → one offset per sample.
    let chunk_offsets: Vec<u64> = if let Some(stco) = child(&stbl, b"stco") {
        let mut f = Fields::new(stco, "stco");
        f.full()?;
        let k = f.count(4)?;
        (0..k).map(|_| f.u32().map(u64::from)).collect::<Result<_>>()?
    } else {
        let mut f = Fields::new(need(b"co64")?, "co64");
        f.full()?;
        let k = f.count(8)?;
        (0..k).map(|_| f.u64()).collect::<Result<_>>()?
    };
    let mut f = Fields::new(need(b"stsc")?, "stsc");
    f.full()?;
    let k = f.count(12)?;
    let mut stsc = Vec::with_capacity(k);
    for _ in 0..k {
        let (first, per) = (f.u32()?, f.u32()?);
        f.skip(4)?;
        stsc.push((first as usize, per as usize));
    }
    let mut offsets = Vec::with_capacity(n);
    for (ci, &chunk_start) in chunk_offsets.iter().enumerate() {
        let chunk = ci + 1;
        let per = stsc.iter().rev().find(|(first, _)| *first <= chunk).map_or(0, |&(_, p)| p);
        let mut at = chunk_start;
        for _ in 0..per {
            let i = offsets.len();
            let size = *sizes.get(i).ok_or_else(|| malformed("stsc maps more samples than stsz has"))?;
            offsets.push(at);
            at += u64::from(size);
        }
    }
    if offsets.len() != n {
        return Err(malformed(format!("stsc/stco map {} samples, stsz has {n}", offsets.len())));
    }

    // Decode times: constant frame duration required.
    let mut f = Fields::new(need(b"stts")?, "stts");
    f.full()?;
    let k = f.count(8)?;
    let mut delta = None;
    let mut dts_ticks = Vec::with_capacity(n);
    let mut tick = 0i64;
    for _ in 0..k {
        let (count, d) = (f.u32()?, f.u32()?);
        for _ in 0..count {
            dts_ticks.push(tick);
            tick += i64::from(d);
        }
        if count > 0 && d > 0 && *delta.get_or_insert(d) != d && dts_ticks.len() < n {
            return Err(Error::unsupported("variable frame rate MP4 (frames of different durations)"));
        }
    }
    let d = i64::from(delta.ok_or_else(|| malformed("empty stts"))?);
    if dts_ticks.len() != n {
        return Err(malformed("stts does not cover every sample"));
    }
    // Composition offsets (version 0 unsigned, version 1 signed).
    let mut cto = vec![0i64; n];
    if let Some(ctts) = child(&stbl, b"ctts") {
        let mut f = Fields::new(ctts, "ctts");
        let (version, _) = f.full()?;
        let k = f.count(8)?;
        let mut i = 0;
        for _ in 0..k {
            let count = f.u32()? as usize;
            let raw = f.u32()?;
            let off = if version == 1 { i64::from(raw as i32) } else { i64::from(raw) };
            for _ in 0..count {
                *cto.get_mut(i).ok_or_else(|| malformed("ctts covers more samples than stsz"))? = off;
                i += 1;
            }
        }
    }
    // Edit list: where presentation starts in media time.
    let mut media_time = 0i64;
    if let Some(edts) = child(&t, b"edts") {
        if let Some(elst) = child(&children(edts)?, b"elst") {
            let mut f = Fields::new(elst, "elst");
            let (version, _) = f.full()?;
            let k = f.count(if version == 1 { 20 } else { 12 })?;
            for _ in 0..k {
                let mt = if version == 1 {
                    f.skip(8)?;
                    f.u64()? as i64
                } else {
                    f.skip(4)?;
                    i64::from(f.u32()? as i32)
                };
                f.skip(4)?;
                if mt >= 0 {
                    media_time = mt;
                    break;
                }
            }
        }
    }
    let keyframes: Option<Vec<bool>> = match child(&stbl, b"stss") {
        Some(stss) => {
            let mut f = Fields::new(stss, "stss");
            f.full()?;
            let k = f.count(4)?;
            let mut v = vec![false; n];
            for _ in 0..k {
                let s = f.u32()? as usize;
                if s == 0 || s > n {
                    return Err(malformed("stss names a sample that does not exist"));
                }
                v[s - 1] = true;
            }
            Some(v)
        }
        None => None,
    };
    let frames = |ticks: i64| -> Result<i64> {
        if ticks % d != 0 {
            return Err(Error::unsupported("timestamps that are not whole frames"));
        }
        Ok(ticks / d)
    };
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        samples.push(SampleRef {
            offset: offsets[i],
            size: sizes[i],
            dts: frames(dts_ticks[i] - media_time)?,
            pts: frames(dts_ticks[i] + cto[i] - media_time)?,
            keyframe: keyframes.as_ref().is_none_or(|k| k[i]),
        });
    }
    let fps = Rational::new(timescale, d as u32)?;
    Ok((VideoTrack { width, height, fps, avc, color }, samples))
}
