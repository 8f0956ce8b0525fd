//! Reading an MP4's video samples back out as packets, with their timestamps in frame units:
//! what [`super::concat`] needs to append encoded chunks without re-encoding. Supports constant
//! frame rate H.264 tracks (what framepipe writes, and what most encoders write).

use std::io::{Read, Seek, SeekFrom};

use super::boxes::children;
use super::fragment::MIN_H264_SAMPLE;
use super::reader::TopLevel;
use super::track::{Sizes, VideoTrak};
use crate::encode::{ColorInfo, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::VideoTrack;
use crate::rational::Rational;

/// A sample's place in the file and its timestamps in frames.
#[derive(Debug, Clone, Copy)]
struct Sample {
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
    samples: Vec<Sample>,
    next: usize,
}

impl<R: Read + Seek> Mp4Demuxer<R> {
    /// Parse the index (moov) of the MP4 in `r`.
    pub fn new(mut r: R) -> Result<Self> {
        let top = TopLevel::read(&mut r)?;
        let (track, samples) = parse(&top)?;
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
        let mut data = vec![0u8; s.size as usize]; // within the file: checked in `parse`
        self.r.seek(SeekFrom::Start(s.offset)).ctx(|| "reading an MP4 sample".into())?;
        self.r.read_exact(&mut data).ctx(|| format!("reading MP4 sample {} ({} bytes)", self.next - 1, s.size))?;
        Ok(Some(Packet { data, pts: s.pts, dts: s.dts, keyframe: s.keyframe }))
    }
}

/// The track and its samples with timestamps in frames (the first presented frame at 0).
fn parse(top: &TopLevel) -> Result<(VideoTrack, Vec<Sample>)> {
    let boxes = children(&top.moov)?;
    let trak = VideoTrak::parse(&boxes)?;
    let avc = trak.avc_config()?;
    let color = trak.entry.color.unwrap_or(ColorInfo::BT709_LIMITED);
    let table = &trak.table;
    let present = table.presence(top.file_size);
    if present.samples < table.len() {
        return Err(Error::invalid_data(format!(
            "truncated MP4: its index lists {} frames, but only {} are in the file",
            table.len(),
            present.samples
        )));
    }
    // Decode times: a constant frame duration is required.
    let mut delta = None;
    for (i, &(count, d)) in table.stts.iter().enumerate() {
        let last = i + 1 == table.stts.len();
        if count > 0 && d > 0 && *delta.get_or_insert(d) != d && !(last && count == 1) {
            return Err(Error::unsupported("variable frame rate MP4 (frames of different durations)"));
        }
    }
    let d = i64::from(delta.ok_or_else(|| super::boxes::malformed("empty stts"))?);
    let media_time = trak.edit.map_or(0, |(_, start)| start);
    let frames = |ticks: Option<i64>| -> Result<i64> {
        let ticks = ticks.ok_or_else(|| Error::unsupported("timestamps out of range"))?;
        if ticks % d != 0 {
            return Err(Error::unsupported("timestamps that are not whole frames"));
        }
        Ok(ticks / d)
    };
    // Every sample is in the file (checked above) and at least a few bytes long, so this list
    // takes at most 8 bytes per byte of the file, whatever the table's counts say.
    if let Sizes::Fixed { size, .. } = table.sizes {
        if size < MIN_H264_SAMPLE {
            return Err(super::boxes::malformed(format!(
                "stsz gives every frame {size} bytes: too few for an H.264 frame (a 4-byte NAL unit length and \
                 a NAL header)"
            )));
        }
    }
    let mut samples = Vec::new();
    samples
        .try_reserve_exact(table.len() as usize)
        .map_err(|_| Error::out_of_memory(format!("no memory for the index of the MP4's {} frames", table.len())))?;
    for s in table.iter() {
        samples.push(Sample {
            offset: s.offset,
            size: s.size,
            dts: frames(s.dts.checked_sub(media_time))?,
            pts: frames(s.dts.checked_add(s.cts_offset).and_then(|t| t.checked_sub(media_time)))?,
            keyframe: s.keyframe,
        });
    }
    let fps = Rational::new(trak.timescale, d as u32)?;
    let (width, height) = (trak.entry.width, trak.entry.height);
    Ok((VideoTrack { width, height, fps, avc, color }, samples))
}

/// For tests: the audio packets of the MP4 in `r` in decode order, as (file offset, bytes);
/// none without an audio track.
#[cfg(test)]
pub(crate) fn audio_packets<R: Read + Seek>(mut r: R) -> Result<Vec<(u64, Vec<u8>)>> {
    let top = TopLevel::read(&mut r)?;
    let boxes = children(&top.moov)?;
    let Some((_, samples)) = super::audio::audio_for_repair(&boxes, &top.moofs, top.file_size)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (at, size, _) in samples {
        let mut data = vec![0u8; size as usize];
        r.seek(SeekFrom::Start(at)).and_then(|_| r.read_exact(&mut data)).ctx(|| "reading audio".into())?;
        out.push((at, data));
    }
    Ok(out)
}
