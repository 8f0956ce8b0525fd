//! Movie fragments (`moof` + `mdat`), both ways: building the fragment the writer appends while
//! a file is being written, and reading the fragments of a file back (probe, repair).
//!
//! While writing, a file is `ftyp | moov (with mvex) | moof mdat | moof mdat | …`: every
//! complete fragment is playable on its own terms, so a process killed mid-stream leaves a file
//! that players read up to its last complete fragment. [`super::writer`] turns it into an
//! ordinary faststart file at the end.
//!
//! What framepipe writes in a fragment: `mfhd` (sequence number), one `traf` with `tfhd`
//! (track 1, default-base-is-moof, the default sample duration), `tfdt` (the first sample's
//! decode time, 64-bit) and one `trun` (data offset, per-sample size and flags, composition
//! offsets when any is not 0, durations when any differs from the default), then an `mdat`
//! with the samples in order. The reader accepts what other muxers write as well (base data
//! offsets, default sizes and flags, first-sample flags, several `trun`s).

use super::boxes::{child, children, malformed, BoxBuf, Fields};
use crate::error::{Error, Result};

/// Most samples read from the fragments of one file (16.7 million frames, six days at 30 fps):
/// a forged count costs an error, not gigabytes of memory.
pub(crate) const MAX_SAMPLES: u64 = 1 << 24;

/// sample_depends_on = 2 (an I picture, depends on no other).
const FLAGS_SYNC: u32 = 0x0200_0000;
/// sample_depends_on = 1, sample_is_non_sync_sample.
const FLAGS_NON_SYNC: u32 = 0x0101_0000;

/// tfhd flags.
const TFHD_BASE_DATA_OFFSET: u32 = 0x01;
const TFHD_SAMPLE_DESCRIPTION: u32 = 0x02;
const TFHD_DEFAULT_DURATION: u32 = 0x08;
const TFHD_DEFAULT_SIZE: u32 = 0x10;
const TFHD_DEFAULT_FLAGS: u32 = 0x20;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// trun flags.
const TRUN_DATA_OFFSET: u32 = 0x001;
const TRUN_FIRST_FLAGS: u32 = 0x004;
const TRUN_DURATION: u32 = 0x100;
const TRUN_SIZE: u32 = 0x200;
const TRUN_FLAGS: u32 = 0x400;
const TRUN_CTS: u32 = 0x800;

/// One sample of a fragment being written: its size, its decode-time delta to the next sample
/// and its composition offset (both in media ticks), and whether it is a sync sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragSample {
    pub size: u32,
    pub duration: u32,
    pub cts_offset: u32,
    pub keyframe: bool,
}

/// One track's part of a fragment: its samples start `data_at` bytes into the mdat's payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traf<'a> {
    pub track_id: u32,
    pub base_dts: u64,
    pub default_duration: u32,
    pub samples: &'a [FragSample],
    pub data_at: u64,
}

/// The `moof` (one `traf` per entry of `trafs` with samples) and the `mdat` header of a
/// fragment whose payload (`payload_len` bytes) follows.
pub(crate) fn fragment_header_trafs(sequence: u32, trafs: &[Traf], payload_len: u64) -> Vec<u8> {
    let mut b = BoxBuf::new();
    let moof = b.open(b"moof");
    let o = b.open_full(b"mfhd", 0, 0);
    b.u32(sequence);
    b.close(o);
    let mut patches = Vec::new();
    for t in trafs.iter().filter(|t| !t.samples.is_empty()) {
        let samples = t.samples;
        let with_cts = samples.iter().any(|s| s.cts_offset != 0);
        let with_durations = samples.iter().any(|s| s.duration != t.default_duration);
        let traf = b.open(b"traf");
        let o = b.open_full(b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_DURATION);
        b.u32(t.track_id).u32(t.default_duration);
        b.close(o);
        let o = b.open_full(b"tfdt", 1, 0);
        b.u64(t.base_dts);
        b.close(o);
        let flags = TRUN_DATA_OFFSET
            | TRUN_SIZE
            | TRUN_FLAGS
            | if with_cts { TRUN_CTS } else { 0 }
            | if with_durations { TRUN_DURATION } else { 0 };
        let o = b.open_full(b"trun", 0, flags);
        b.u32(samples.len() as u32);
        patches.push((b.len(), t.data_at));
        b.i32(0); // patched below, once the moof's size is known
        for s in samples {
            if with_durations {
                b.u32(s.duration);
            }
            b.u32(s.size).u32(if s.keyframe { FLAGS_SYNC } else { FLAGS_NON_SYNC });
            if with_cts {
                b.u32(s.cts_offset);
            }
        }
        b.close(o);
        b.close(traf);
    }
    b.close(moof);
    let moof_len = b.len();
    let mdat_header_len = if payload_len + 8 > u64::from(u32::MAX) { 16 } else { 8 };
    for (at, data_at) in patches {
        b.patch_u32(at, (moof_len as u64 + mdat_header_len + data_at) as u32);
    }
    let mut out = b.into_vec();
    if mdat_header_len == 16 {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(payload_len + 16).to_be_bytes());
    } else {
        out.extend_from_slice(&((payload_len + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"mdat");
    }
    out
}

/// A sample found in a fragment: where its bytes are and its timing in media ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoundSample {
    pub offset: u64,
    pub size: u32,
    /// Decode time in media ticks (from the fragment's tfdt, or the sum of the durations
    /// before it).
    pub dts: u64,
    pub duration: u32,
    pub cts_offset: i64,
    pub keyframe: bool,
}

/// The defaults of the track's `trex` (in the moov's `mvex`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TrackDefaults {
    pub duration: u32,
    pub size: u32,
    pub flags: u32,
}

/// The track defaults from a moov's `mvex/trex` for `track_id` (None: not fragmented).
pub(crate) fn track_defaults(moov_children: &[([u8; 4], &[u8])], track_id: u32) -> Result<Option<TrackDefaults>> {
    let Some(mvex) = child(moov_children, b"mvex") else { return Ok(None) };
    for (kind, body) in children(mvex)? {
        if &kind != b"trex" {
            continue;
        }
        let mut f = Fields::new(body, "trex");
        f.full()?;
        if f.u32()? != track_id {
            continue;
        }
        f.skip(4)?; // default_sample_description_index
        return Ok(Some(TrackDefaults { duration: f.u32()?, size: f.u32()?, flags: f.u32()? }));
    }
    Ok(Some(TrackDefaults::default()))
}

fn is_sync(flags: u32) -> bool {
    flags & 0x0001_0000 == 0
}

/// What the fragments of a file list for one track, counted (see [`scan_fragments`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FragmentCounts {
    /// Samples the whole moofs list.
    pub listed: u64,
    /// The decode-order prefix of those whose bytes all lie within the file.
    pub present: u64,
    /// Bytes of the listed samples after that prefix (beyond the end of a truncated file).
    pub missing_bytes: u64,
}

/// The samples of one track in the fragments of a file: the decode-order prefix whose bytes
/// all lie within the file, and the counts of all listed (see [`fragment_samples`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fragments {
    pub samples: Vec<FoundSample>,
    /// What all the fragments list (for a report of what was found: repair's).
    pub counts: FragmentCounts,
}

/// Walk the samples of track `track_id` in the moofs of a file (position, body; in file
/// order), in decode order, calling `visit` for each sample of the prefix whose bytes all lie
/// within the file (`file_size` bytes), and counting the rest.
///
/// Time and memory are bounded by the file's size, whatever its counts say: a sample of 0
/// bytes is malformed (no video frame is empty), the samples visited may not hold more bytes
/// than the file (they would overlap), per-sample trun entries must fit their box, the samples
/// after the prefix are counted (by arithmetic when they take no bytes of the trun), and at
/// most [`MAX_SAMPLES`] may be listed. Nothing is allocated per sample here.
pub(crate) fn scan_fragments(
    moofs: &[(u64, Vec<u8>)],
    track_id: u32,
    defaults: TrackDefaults,
    file_size: u64,
    mut visit: impl FnMut(&FoundSample) -> Result<()>,
) -> Result<FragmentCounts> {
    let mut scan =
        Scan { track_id, defaults, file_size, counts: FragmentCounts::default(), in_prefix: true, present_bytes: 0 };
    let mut next_dts = 0u64;
    for (pos, body) in moofs {
        next_dts = scan.moof(body, *pos, next_dts, &mut visit)?;
    }
    Ok(scan.counts)
}

/// The fewest bytes an H.264 frame of a framepipe file takes: a NAL unit's 4-byte length and
/// its 1-byte header.
pub(crate) const MIN_H264_SAMPLE: u32 = 5;

/// The samples of H.264 track `track_id` in the moofs of a file (position, body; in file
/// order): those of the decode-order prefix whose bytes lie within the file, and the counts of
/// all (see [`scan_fragments`] for the bounds). A sample of that prefix smaller than
/// [`MIN_H264_SAMPLE`] is malformed, so the list (allocated once, at its exact length) takes
/// at most 8 bytes per byte of the file.
pub(crate) fn fragment_samples(
    moofs: &[(u64, Vec<u8>)],
    track_id: u32,
    defaults: TrackDefaults,
    file_size: u64,
) -> Result<Fragments> {
    let mut n = 0u64;
    let counts = scan_fragments(moofs, track_id, defaults, file_size, |s| {
        if s.size < MIN_H264_SAMPLE {
            return Err(malformed(format!(
                "frame {n} of the fragments (at byte {}) is {} bytes long: too short for an H.264 frame (a \
                 4-byte NAL unit length and a NAL header)",
                s.offset, s.size
            )));
        }
        n += 1;
        Ok(())
    })?;
    let mut samples = Vec::new();
    samples.try_reserve_exact(counts.present as usize).map_err(|_| {
        Error::out_of_memory(format!("no memory for the index of the {} frames of the fragments", counts.present))
    })?;
    scan_fragments(moofs, track_id, defaults, file_size, |s| {
        samples.push(*s);
        Ok(())
    })?;
    Ok(Fragments { samples, counts })
}

/// The state of [`scan_fragments`] across moofs.
struct Scan {
    track_id: u32,
    defaults: TrackDefaults,
    file_size: u64,
    counts: FragmentCounts,
    /// Every sample so far lies within the file.
    in_prefix: bool,
    /// Bytes of the samples visited.
    present_bytes: u64,
}

impl Scan {
    /// The samples of one `moof` (its body) that starts at file offset `moof_start`;
    /// `next_dts` is where decode time continues when a traf has no tfdt. Returns where decode
    /// time continues after it.
    fn moof(
        &mut self,
        moof: &[u8],
        moof_start: u64,
        next_dts: u64,
        visit: &mut impl FnMut(&FoundSample) -> Result<()>,
    ) -> Result<u64> {
        let mut dts_end = next_dts;
        for (kind, traf) in children(moof)? {
            if &kind != b"traf" {
                continue;
            }
            let t = children(traf)?;
            let tfhd = child(&t, b"tfhd").ok_or_else(|| malformed("traf without tfhd"))?;
            let mut f = Fields::new(tfhd, "tfhd");
            let (_, flags) = f.full()?;
            if f.u32()? != self.track_id {
                continue;
            }
            let base = if flags & TFHD_BASE_DATA_OFFSET != 0 { Some(f.u64()?) } else { None };
            if flags & TFHD_SAMPLE_DESCRIPTION != 0 {
                f.skip(4)?;
            }
            let d = self.defaults;
            let duration = if flags & TFHD_DEFAULT_DURATION != 0 { f.u32()? } else { d.duration };
            let size = if flags & TFHD_DEFAULT_SIZE != 0 { f.u32()? } else { d.size };
            let sample_flags = if flags & TFHD_DEFAULT_FLAGS != 0 { f.u32()? } else { d.flags };
            // Offsets are relative to the explicit base, else to the moof (default-base-is-moof,
            // which framepipe sets, and the rule for a file's first traf without it).
            let base = base.unwrap_or(moof_start);
            let mut dts = match child(&t, b"tfdt") {
                Some(tfdt) => {
                    let mut f = Fields::new(tfdt, "tfdt");
                    let (version, _) = f.full()?;
                    if version == 1 {
                        f.u64()?
                    } else {
                        u64::from(f.u32()?)
                    }
                }
                None => dts_end,
            };
            let mut data_at = base;
            let traf_defaults = TrafDefaults { duration, size, flags: sample_flags };
            for (kind, trun) in &t {
                if kind == b"trun" {
                    self.trun(trun, moof_start, base, &mut data_at, &mut dts, traf_defaults, visit)?;
                }
            }
            dts_end = dts;
        }
        Ok(dts_end)
    }

    /// The samples of one `trun`: `data_at` is where its data starts unless it gives an offset
    /// from `base`, and where the next trun's starts after it; `dts` likewise for decode time.
    #[allow(clippy::too_many_arguments)]
    fn trun(
        &mut self,
        trun: &[u8],
        moof_start: u64,
        base: u64,
        data_at: &mut u64,
        dts: &mut u64,
        d: TrafDefaults,
        visit: &mut impl FnMut(&FoundSample) -> Result<()>,
    ) -> Result<()> {
        let mut f = Fields::new(trun, "trun");
        let (version, tf) = f.full()?;
        let count = f.u32()?;
        if tf & TRUN_DATA_OFFSET != 0 {
            let off = f.u32()? as i32;
            *data_at = base.checked_add_signed(i64::from(off)).ok_or_else(|| malformed("trun data offset"))?;
        }
        let first_flags = if tf & TRUN_FIRST_FLAGS != 0 { Some(f.u32()?) } else { None };
        let per_sample = 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS].iter().filter(|&&b| tf & b != 0).count();
        // Every count is checked before anything is done per sample: entries must fit the box,
        // and a sample without an entry of its own still takes a byte of the file.
        if (count as usize).saturating_mul(per_sample) > trun.len() {
            return Err(malformed(format!(
                "the trun in the moof at byte {moof_start} is {} bytes long: too short for {count} samples",
                trun.len()
            )));
        }
        if tf & TRUN_SIZE == 0 && d.size == 0 && count > 0 {
            return Err(malformed(format!(
                "the trun in the moof at byte {moof_start} lists {count} samples of 0 bytes (no video frame is empty)"
            )));
        }
        if self.counts.listed + u64::from(count) > MAX_SAMPLES {
            return Err(Error::unsupported(format!(
                "fragments that list more than {MAX_SAMPLES} frames (the trun in the moof at byte {moof_start} \
                 brings them to {})",
                self.counts.listed + u64::from(count)
            )));
        }
        for i in 0..count {
            if !self.in_prefix && per_sample == 0 {
                // The rest take no bytes of the trun and none of the file: count them at once.
                let rest = u64::from(count - i);
                self.counts.listed += rest;
                self.counts.missing_bytes = self.counts.missing_bytes.saturating_add(rest * u64::from(d.size));
                return Ok(());
            }
            let duration = if tf & TRUN_DURATION != 0 { f.u32()? } else { d.duration };
            let size = if tf & TRUN_SIZE != 0 { f.u32()? } else { d.size };
            let flags = if tf & TRUN_FLAGS != 0 {
                f.u32()?
            } else if i == 0 {
                first_flags.unwrap_or(d.flags)
            } else {
                d.flags
            };
            let cts_offset = if tf & TRUN_CTS != 0 {
                let v = f.u32()?;
                if version == 0 {
                    i64::from(v)
                } else {
                    i64::from(v as i32)
                }
            } else {
                0
            };
            if size == 0 {
                return Err(malformed(format!(
                    "the trun in the moof at byte {moof_start} lists a sample of 0 bytes (its sample {i}; no \
                     video frame is empty)"
                )));
            }
            self.counts.listed += 1;
            let end = data_at.checked_add(u64::from(size)).filter(|&e| e <= self.file_size);
            match end {
                Some(end) if self.in_prefix => {
                    self.present_bytes += u64::from(size);
                    if self.present_bytes > self.file_size {
                        return Err(malformed(format!(
                            "the fragments' first {} samples hold {} bytes, more than the file's {} bytes \
                             (samples overlap)",
                            self.counts.present + 1,
                            self.present_bytes,
                            self.file_size
                        )));
                    }
                    let sample = FoundSample {
                        offset: *data_at,
                        size,
                        dts: *dts,
                        duration,
                        cts_offset,
                        keyframe: is_sync(flags),
                    };
                    visit(&sample)?;
                    self.counts.present += 1;
                    *data_at = end;
                }
                _ => {
                    self.in_prefix = false;
                    self.counts.missing_bytes = self.counts.missing_bytes.saturating_add(u64::from(size));
                    *data_at = data_at.saturating_add(u64::from(size));
                }
            }
            *dts = dts.saturating_add(u64::from(duration));
        }
        Ok(())
    }
}

/// The sample defaults that apply in one traf (from its tfhd, else the trex).
#[derive(Debug, Clone, Copy)]
struct TrafDefaults {
    duration: u32,
    size: u32,
    flags: u32,
}
