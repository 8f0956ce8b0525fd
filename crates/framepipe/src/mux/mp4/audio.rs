//! The audio track (track 2) of an MP4: the per-sample index the writer keeps, and its `trak`
//! (`mp4a` + `esds` for AAC, `Opus` + `dOps` for Opus), written as FFmpeg's mp4 muxer writes
//! them: `smhd`, an edit list starting the presentation after the encoder's priming, and a
//! `roll` sample group (AAC: each packet needs the one before it, distance -1; Opus: 80 ms of
//! pre-roll, 3840 samples, in packets).

use super::boxes::{self, child, children, malformed, BoxBuf, Fields, Handler, TrakHeader};
use super::track::{SampleTable, Trak};
use crate::encode::{AudioConfig, AudioPacket};
use crate::error::{Error, Result};
use crate::mux::AudioTrack;

/// Opus's pre-roll (RFC 7845 section 4.6; ISO/IEC 23003-5 for MP4): 80 ms at 48 kHz.
const OPUS_PREROLL: u32 = 3840;

/// Check what the sample entry needs.
pub(crate) fn check_track(a: &AudioTrack) -> Result<()> {
    if a.channels == 0 || a.channels > 8 {
        return Err(Error::parameter(format!("MP4 audio track: {} channels; allowed: 1 to 8", a.channels)));
    }
    if a.sample_rate == 0 || a.sample_rate > 384_000 {
        return Err(Error::parameter(format!("MP4 audio track: sample rate {} Hz is out of range", a.sample_rate)));
    }
    match &a.config {
        AudioConfig::Aac(c) => {
            if c.audio_specific_config.len() < 2 || c.audio_specific_config.len() > 127 {
                return Err(Error::parameter(format!(
                    "MP4 audio track: an AudioSpecificConfig of {} bytes (2 to 127 allowed)",
                    c.audio_specific_config.len()
                )));
            }
            if c.sample_rate != a.sample_rate {
                return Err(Error::parameter(format!(
                    "MP4 audio track: the AAC config is for {} Hz, the track says {} Hz",
                    c.sample_rate, a.sample_rate
                )));
            }
        }
        AudioConfig::Opus(c) => {
            if a.sample_rate != 48_000 {
                return Err(Error::parameter(format!(
                    "MP4 audio track: Opus is 48000 Hz in MP4, {} Hz given",
                    a.sample_rate
                )));
            }
            if u16::from(c.output_channel_count) != a.channels {
                return Err(Error::parameter(format!(
                    "MP4 audio track: the Opus config has {} channels, the track says {}",
                    c.output_channel_count, a.channels
                )));
            }
        }
    }
    Ok(())
}

/// Every audio sample accepted: sizes and durations (as runs), with the time checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct AudioIndex {
    pub(crate) sizes: Vec<u32>,
    /// (count, duration) runs, one entry per sample.
    pub(crate) durations: Vec<(u32, u32)>,
    /// pts the next packet must have (the sum of the durations so far).
    pub(crate) next_pts: u64,
}

impl AudioIndex {
    /// Check a packet against the samples so far (without recording it).
    pub(crate) fn check(&self, p: &AudioPacket) -> Result<()> {
        let n = self.sizes.len();
        let err = |msg: String| Err(Error::parameter(format!("MP4 audio packet {n}: {msg}")));
        if p.data.is_empty() {
            return err("empty packet".into());
        }
        if u32::try_from(p.data.len()).is_err() || p.data.len() > 1 << 20 {
            return err(format!("a packet of {} bytes (at most 1 MiB)", p.data.len()));
        }
        if p.duration == 0 || p.duration > 1 << 16 {
            return err(format!("duration {} samples (1 to 65536 allowed)", p.duration));
        }
        if p.pts != self.next_pts as i64 {
            return err(format!(
                "pts {} where {} was expected (packets must follow each other without gaps, from pts 0)",
                p.pts, self.next_pts
            ));
        }
        if n >= u32::MAX as usize - 1 {
            return err("too many samples for one MP4 track".into());
        }
        Ok(())
    }

    pub(crate) fn push(&mut self, size: u32, duration: u32) {
        self.sizes.push(size);
        boxes::push_run(&mut self.durations, duration);
        self.next_pts += u64::from(duration);
    }

    /// Durations of the first `k` samples, one each.
    pub(crate) fn durations_of(&self, k: usize) -> impl Iterator<Item = u32> + '_ {
        self.durations.iter().flat_map(|&(c, d)| std::iter::repeat_n(d, c as usize)).take(k)
    }

    /// The number of samples that start before `end` (samples, on the decoder's timeline).
    pub(crate) fn count_before(&self, end: u64) -> usize {
        let mut t = 0u64;
        let mut n = 0usize;
        for &(c, d) in &self.durations {
            let d = u64::from(d.max(1));
            if t + u64::from(c) * d <= end {
                n += c as usize;
                t += u64::from(c) * d;
            } else {
                n += end.saturating_sub(t).div_ceil(d) as usize;
                break;
            }
        }
        n.min(self.sizes.len())
    }

    /// The summed duration of the first `k` samples.
    pub(crate) fn duration_of(&self, k: usize) -> u64 {
        let (mut left, mut t) = (k as u64, 0u64);
        for &(c, d) in &self.durations {
            let n = u64::from(c).min(left);
            t += n * u64::from(d);
            left -= n;
            if left == 0 {
                break;
            }
        }
        t
    }
}

/// Whether an audio packet starting at `audio_pts` (samples at `rate` on the decoder's
/// timeline) goes into a file before the video frame decoded at `dts` (frames at `fps`): it
/// starts before that frame's end plus half a second. How [`super::repair`] and
/// [`super::concat`] interleave a whole track with the video, as a writer gets it.
pub(crate) fn audio_due(audio_pts: u64, dts: i64, fps: crate::rational::Rational, rate: u32) -> bool {
    let (num, den, rate) = (u128::from(fps.num), u128::from(fps.den), u128::from(rate));
    // audio_pts / rate < (dts + 1) * den / num + 1 / 2
    u128::from(audio_pts) * 2 * num < (dts.max(0) as u128 + 1) * den * rate * 2 + num * rate
}

/// What the audio `trak` describes: the first `keep` samples of `index` in the chunks
/// `chunks` (file offset, samples) of a finished file, or (None) the empty tables of a
/// fragmented one. `edit` is the presented duration in movie ticks (0 in a fragmented file:
/// "to the end").
pub(crate) struct AudioTrak<'a> {
    pub track: &'a AudioTrack,
    pub index: &'a AudioIndex,
    pub keep: usize,
    pub chunks: Option<&'a [(u64, u32)]>,
    pub edit: u64,
}

impl AudioTrak<'_> {
    /// The `trak` box.
    pub(crate) fn build(&self) -> Vec<u8> {
        let a = self.track;
        let sizes = if self.chunks.is_some() { &self.index.sizes[..self.keep] } else { &[][..] };
        let media_duration = self.index.duration_of(sizes.len());
        let header = TrakHeader {
            track_id: 2,
            movie_duration: self.edit,
            // The presentation starts after the priming.
            media_time: Some(u64::from(a.priming)),
            timescale: a.sample_rate,
            media_duration,
            handler: Handler::Sound,
        };
        let mut b = BoxBuf::new();
        boxes::trak(&mut b, &header, |b| {
            let stsd = b.open_full(b"stsd", 0, 0);
            b.u32(1);
            self.sample_entry(b, sizes);
            b.close(stsd);
            let mut stts = Vec::new();
            for d in self.index.durations_of(sizes.len()) {
                boxes::push_run(&mut stts, d);
            }
            boxes::stts(b, &stts);
            match self.chunks {
                Some(chunks) => {
                    boxes::chunked_samples(b, chunks, sizes);
                    if !sizes.is_empty() {
                        self.roll_group(b, sizes.len() as u32);
                    }
                }
                None => {
                    boxes::stsc(b, 0, 1);
                    boxes::stsz(b, &[]);
                    boxes::chunk_offsets(b, &[]);
                }
            }
        });
        b.into_vec()
    }

    /// `mp4a` + `esds`, or `Opus` + `dOps`.
    fn sample_entry(&self, b: &mut BoxBuf, sizes: &[u32]) {
        let a = self.track;
        let (kind, channels, rate) = match a.config {
            // ISO 14496-14: channelcount and samplerate are templates for MPEG-4 audio (the
            // decoder reads the AudioSpecificConfig); FFmpeg writes 2 channels whatever the
            // count is — framepipe writes the count for mono and stereo, 2 above.
            AudioConfig::Aac(_) => (b"mp4a", a.channels.min(2), a.sample_rate),
            // Opus in ISOBMFF: the output channel count, and 48000.
            AudioConfig::Opus(_) => (b"Opus", a.channels, 48_000),
        };
        let o = b.open(kind);
        b.zeros(6).u16(1); // reserved, data_reference_index
        b.zeros(8); // version 0, revision, vendor
        b.u16(channels).u16(16).u16(0).u16(0);
        b.u32(rate.min(65535) << 16);
        match &a.config {
            AudioConfig::Aac(c) => self.esds(b, &c.audio_specific_config, sizes),
            AudioConfig::Opus(c) => {
                let d = b.open(b"dOps");
                b.bytes(&c.dops_payload());
                b.close(d);
            }
        }
        b.close(o);
    }

    /// The `esds` box: ES_Descriptor (ES_ID 2), DecoderConfigDescriptor (MPEG-4 audio, stream
    /// type 5, buffer size = the largest sample, max and average bitrate), the
    /// AudioSpecificConfig, SLConfigDescriptor (predefined 2). Descriptor lengths in FFmpeg's
    /// 4-byte form.
    fn esds(&self, b: &mut BoxBuf, asc: &[u8], sizes: &[u32]) {
        let a = self.track;
        let descr = |b: &mut BoxBuf, tag: u8, len: usize| {
            let len = len as u32;
            b.u8(tag).u8(0x80 | (len >> 21) as u8).u8(0x80 | (len >> 14) as u8 & 0x7f);
            b.u8(0x80 | (len >> 7) as u8 & 0x7f).u8(len as u8 & 0x7f);
        };
        let buffer = sizes.iter().copied().max().unwrap_or(0);
        let max = self.max_bitrate(sizes).max(a.bitrate);
        let dsi_len = 5 + asc.len();
        let dcd_len = 13 + dsi_len;
        let es_len = 3 + 5 + dcd_len + 5 + 1;
        let o = b.open_full(b"esds", 0, 0);
        descr(b, 0x03, es_len);
        b.u16(2).u8(0); // ES_ID, flags
        descr(b, 0x04, dcd_len);
        b.u8(0x40).u8(0x15); // MPEG-4 audio; stream type 5 (audio) << 2 | 1 (reserved)
        b.u8((buffer >> 16) as u8).u16(buffer as u16);
        b.u32(max).u32(a.bitrate);
        descr(b, 0x05, asc.len());
        b.bytes(asc);
        descr(b, 0x06, 1);
        b.u8(0x02);
        b.close(o);
    }

    /// The most bits in any one second of samples (a window starting at each sample), bit/s.
    fn max_bitrate(&self, sizes: &[u32]) -> u32 {
        let rate = u64::from(self.track.sample_rate);
        let durs: Vec<u64> = self.index.durations_of(sizes.len()).map(u64::from).collect();
        let (mut best, mut bytes, mut span, mut lo) = (0u64, 0u64, 0u64, 0usize);
        for (hi, &s) in sizes.iter().enumerate() {
            bytes += u64::from(s);
            span += durs[hi];
            while span > rate && lo < hi {
                bytes -= u64::from(sizes[lo]);
                span -= durs[lo];
                lo += 1;
            }
            best = best.max(bytes * 8);
        }
        u32::try_from(best).unwrap_or(u32::MAX)
    }

    /// `sgpd` + `sbgp` of grouping type `roll`, as FFmpeg writes them: AAC, every sample with
    /// distance -1; Opus, every sample after the first pre-roll's worth with distance
    /// -ceil(3840 / packet duration).
    fn roll_group(&self, b: &mut BoxBuf, samples: u32) {
        let (distance, ungrouped) = match self.track.config {
            AudioConfig::Aac(_) => (1u32, 0u32),
            AudioConfig::Opus(_) => {
                let d = self.index.durations.first().map_or(960, |r| r.1).max(1);
                let n = OPUS_PREROLL.div_ceil(d);
                (n, n.min(samples))
            }
        };
        let o = b.open_full(b"sgpd", 1, 0);
        b.bytes(b"roll").u32(2).u32(1).i16(-(distance as i16));
        b.close(o);
        let o = b.open_full(b"sbgp", 0, 0);
        b.bytes(b"roll");
        if ungrouped > 0 {
            b.u32(if samples > ungrouped { 2 } else { 1 }).u32(ungrouped).u32(0);
        } else {
            b.u32(1);
        }
        if samples > ungrouped {
            b.u32(samples - ungrouped).u32(1);
        }
        b.close(o);
    }
}

/// What [`super::probe`] finds out about a file's audio track (the first `soun` track).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// "aac" (`mp4a` with MPEG-4 audio), "opus", or the sample entry type of another codec.
    pub codec: String,
    pub channels: u16,
    pub sample_rate: u32,
    /// Presented duration in seconds: the edit list's, else the samples' after the priming.
    pub duration_seconds: f64,
    /// Average bitrate: sample bytes over the duration, kbit/s.
    pub bitrate_kbps: f64,
    /// Samples before the presentation starts (the edit list's media time, else Opus's
    /// pre-skip).
    pub priming: u64,
}

/// The audio track of a moov (`top`: its child boxes), if it has one; with the samples of the
/// whole fragments of a fragmented file.
pub(crate) fn probe_audio(
    top: &[([u8; 4], &[u8])],
    moofs: &[(u64, Vec<u8>)],
    file_size: u64,
) -> Result<Option<AudioInfo>> {
    let Some(SoundTrak { trak, kind, entry, inner }) = SoundTrak::find(top)? else { return Ok(None) };
    let (track_id, movie_timescale, rate) = (trak.track_id.unwrap_or(2), trak.movie_timescale, trak.timescale);
    let mut f = Fields::new(entry, "audio sample entry");
    f.skip(16)?;
    let mut channels = f.u16()?;
    let mut pre_skip = 0u64;
    let codec = match &kind {
        b"mp4a" => {
            if let Some(c) = child(&inner, b"esds").and_then(aac_channels) {
                channels = c;
            }
            "aac".to_string()
        }
        b"Opus" => {
            if let Some(dops) = child(&inner, b"dOps") {
                let mut f = Fields::new(dops, "dOps");
                f.skip(1)?;
                channels = u16::from(f.u8()?);
                pre_skip = u64::from(f.u16()?);
            }
            "opus".to_string()
        }
        other => String::from_utf8_lossy(other).into_owned(),
    };
    let edit = trak.edit;
    let table = SampleTable::parse(&trak.stbl)?;
    let mut ticks: u64 = table.stts.iter().map(|&(c, d)| u64::from(c) * u64::from(d)).sum();
    let mut bytes = table.total_bytes();
    let defaults = super::fragment::track_defaults(top, track_id)?;
    if let Some(defaults) = defaults {
        super::fragment::scan_fragments(moofs, track_id, defaults, file_size, |s| {
            ticks = ticks.saturating_add(u64::from(s.duration));
            bytes = bytes.saturating_add(u64::from(s.size));
            Ok(())
        })?;
    }
    let priming = match edit {
        Some((_, media_time)) => media_time.max(0) as u64,
        None => pre_skip,
    };
    let mut duration_seconds = 0.0;
    if let (Some((total, _)), true, None) = (edit, movie_timescale > 0, defaults) {
        duration_seconds = total as f64 / f64::from(movie_timescale);
    }
    if duration_seconds <= 0.0 && rate > 0 {
        duration_seconds = ticks.saturating_sub(priming) as f64 / f64::from(rate);
    }
    let bitrate_kbps = if duration_seconds > 0.0 { bytes as f64 * 8.0 / duration_seconds / 1000.0 } else { 0.0 };
    Ok(Some(AudioInfo { codec, channels, sample_rate: rate, duration_seconds, bitrate_kbps, priming }))
}

/// The audio track of a moov (the first `soun` trak) and its first sample entry: type, body
/// and child boxes (after the 28 bytes of an AudioSampleEntry's fields).
struct SoundTrak<'a> {
    trak: Trak<'a>,
    kind: [u8; 4],
    entry: &'a [u8],
    inner: Vec<([u8; 4], &'a [u8])>,
}

impl<'a> SoundTrak<'a> {
    fn find(top: &[([u8; 4], &'a [u8])]) -> Result<Option<Self>> {
        let Some(trak) = Trak::find(top, b"soun")? else { return Ok(None) };
        let (kind, entry) = trak.sample_entry()?;
        let inner = children(entry.get(28..).unwrap_or(&[])).unwrap_or_default();
        Ok(Some(SoundTrak { trak, kind, entry, inner }))
    }
}

/// The channel count of an `esds`'s AudioSpecificConfig (channel configurations 1-7; None
/// for 0, whose program config element the sample entry's count stands for).
fn aac_channels(esds: &[u8]) -> Option<u16> {
    match asc_fields(esds_asc(esds)?)?.1 {
        c @ 1..=6 => Some(u16::from(c)),
        7 => Some(8),
        _ => None,
    }
}

/// (sampling frequency index, channel configuration) of an AudioSpecificConfig.
fn asc_fields(asc: &[u8]) -> Option<(u8, u8)> {
    let mut v = [0u8; 8];
    for (k, b) in asc.iter().take(8).enumerate() {
        v[k] = *b;
    }
    let bits = u64::from_be_bytes(v);
    let mut pos = 5;
    if bits >> 59 == 31 {
        pos += 6;
    }
    let freq = ((bits >> (60 - pos)) & 0xf) as u8;
    pos += 4;
    if freq == 15 {
        pos += 24;
    }
    Some((freq, ((bits >> (60 - pos)) & 0xf) as u8))
}

/// The DecoderSpecificInfo (the AudioSpecificConfig) of an `esds` box's body.
fn esds_asc(esds: &[u8]) -> Option<&[u8]> {
    // Descriptors are tag, length (1-4 bytes of 7 bits), body; ES_Descriptor (3) and
    // DecoderConfigDescriptor (4) hold the next ones.
    let mut d = esds.get(4..)?;
    loop {
        let tag = *d.first()?;
        let mut len = 0usize;
        let mut i = 1;
        loop {
            let b = *d.get(i)?;
            len = (len << 7) | usize::from(b & 0x7f);
            i += 1;
            if b & 0x80 == 0 || i > 4 {
                break;
            }
        }
        let body = d.get(i..i + len)?;
        d = match tag {
            3 => {
                let flags = *body.get(2)?;
                let mut skip = 3;
                if flags & 0x80 != 0 {
                    skip += 2;
                }
                if flags & 0x40 != 0 {
                    skip += 1 + usize::from(*body.get(skip)?);
                }
                if flags & 0x20 != 0 {
                    skip += 2;
                }
                body.get(skip..)?
            }
            4 => body.get(13..)?,
            5 => return Some(body),
            _ => return None,
        };
    }
}

/// An audio track and its samples (file offset, size, duration), for [`super::repair`].
pub(crate) type RepairAudio = (AudioTrack, Vec<(u64, u32, u32)>);

/// For [`super::repair`]: the audio track of a moov (`top`) as a writer takes it, and its
/// samples (file offset, size, duration) in decode order whose bytes lie within the file:
/// from the whole fragments (`fragmented`), else from the sample table. None without an audio
/// track, or with one framepipe does not write (another codec).
pub(crate) fn audio_for_repair(
    top: &[([u8; 4], &[u8])],
    moofs: &[(u64, Vec<u8>)],
    file_size: u64,
) -> Result<Option<RepairAudio>> {
    use crate::encode::{AacConfig, OpusConfig};
    let Some(info) = probe_audio(top, moofs, file_size)? else { return Ok(None) };
    let Some(SoundTrak { trak, kind, inner, .. }) = SoundTrak::find(top)? else { return Ok(None) };
    let track_id = trak.track_id.ok_or_else(|| malformed("trak without tkhd"))?;
    let rate = trak.timescale;
    let mut bitrate = (info.bitrate_kbps * 1000.0).round() as u32;
    let config = match &kind {
        b"mp4a" => {
            let esds = child(&inner, b"esds").ok_or_else(|| malformed("mp4a without esds"))?;
            let asc = esds_asc(esds).ok_or_else(|| malformed("esds without an AudioSpecificConfig"))?;
            let (_, channel_configuration) = asc_fields(asc).ok_or_else(|| malformed("AudioSpecificConfig"))?;
            if let Some(avg) = esds.windows(2).position(|w| w == [0x40, 0x15]).and_then(|i| esds.get(i + 9..i + 13)) {
                bitrate = u32::from_be_bytes(avg.try_into().expect("4 bytes")).max(1);
            }
            AudioConfig::Aac(AacConfig {
                audio_specific_config: asc.to_vec(),
                sample_rate: rate,
                channel_configuration,
            })
        }
        b"Opus" => {
            let dops = child(&inner, b"dOps").ok_or_else(|| malformed("Opus without dOps"))?;
            let mut f = Fields::new(dops, "dOps");
            f.skip(1)?;
            let output_channel_count = f.u8()?;
            let pre_skip = f.u16()?;
            let input_sample_rate = f.u32()?;
            let output_gain = f.u16()? as i16;
            let channel_mapping_family = f.u8()?;
            let (mut stream_count, mut coupled_count, mut channel_mapping) = (0, 0, Vec::new());
            if channel_mapping_family != 0 {
                stream_count = f.u8()?;
                coupled_count = f.u8()?;
                channel_mapping = f.take(usize::from(output_channel_count))?.to_vec();
            }
            AudioConfig::Opus(OpusConfig {
                output_channel_count,
                pre_skip,
                input_sample_rate,
                output_gain,
                channel_mapping_family,
                stream_count,
                coupled_count,
                channel_mapping,
            })
        }
        _ => return Ok(None),
    };
    let track = AudioTrack {
        config,
        sample_rate: rate,
        channels: info.channels,
        priming: u32::try_from(info.priming).unwrap_or(0),
        bitrate: bitrate.max(1),
    };
    let mut samples = Vec::new();
    match super::fragment::track_defaults(top, track_id)? {
        Some(defaults) => {
            super::fragment::scan_fragments(moofs, track_id, defaults, file_size, |s| {
                samples.push((s.offset, s.size, s.duration));
                Ok(())
            })?;
        }
        None => {
            let table = SampleTable::parse(&trak.stbl)?;
            let mut prev: Option<(u64, u32, i64)> = None;
            for s in table.iter() {
                if s.offset.saturating_add(u64::from(s.size)) > file_size {
                    break;
                }
                if let Some((o, z, d)) = prev {
                    samples.push((o, z, (s.dts - d).clamp(1, 1 << 16) as u32));
                }
                prev = Some((s.offset, s.size, s.dts));
                if samples.len() as u64 > file_size {
                    return Err(malformed("the audio sample table lists more samples than the file holds"));
                }
            }
            if let Some((o, z, _)) = prev {
                let d = table.stts.last().map_or(1024, |r| r.1).clamp(1, 1 << 16);
                samples.push((o, z, d));
            }
        }
    }
    Ok(Some((track, samples)))
}

#[cfg(test)]
pub(crate) mod tests;
