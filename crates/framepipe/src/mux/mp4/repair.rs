//! Repairing an MP4: a file whose writer was stopped before it finished (killed, out of memory,
//! power loss), or a finished file cut short, becomes the faststart file a clean close would
//! have made from the same packets. From a fragmented file: the frames of every whole fragment,
//! a torn last fragment cut off. From a finished file cut short: the frames whose bytes are in
//! the file (its index lists more). Either way only the decode-order prefix whose presentation
//! times have no gap is kept.
//!
//! The repaired file is written as a temporary beside the output and renamed over it (see
//! [`crate::output`]): the input, and any file the output's name named before, are never
//! written into, and a repair killed at any moment leaves a temporary that the next repair to
//! that output removes. An output that is the input by another name (`./a.mp4`, a symlink)
//! is a repair in place; a finished, intact input is left as it is then.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::boxes::{child, children};
use super::fragment::{fragment_samples, track_defaults, MIN_H264_SAMPLE};
use super::reader::{no_moov, Scanned, TopLevel};
use super::timing::media_timing;
use super::track::{SampleRef, SampleTable, VideoTrak};
use super::writer::Mp4Writer;
use crate::encode::{ColorInfo, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::VideoTrack;
use crate::output::{self, FileId, TempFile};
use crate::rational::Rational;

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The file written, as named (the input's name when repairing in place).
    pub output: PathBuf,
    /// Frames in the repaired file.
    pub frames: u64,
    /// Frames whose bytes the input holds whole: in whole fragments, or (a finished file cut
    /// short) within the file; `frames` is fewer when the last ones would have left a gap in
    /// presentation order.
    pub frames_found: u64,
    /// Frames the input's index lists: its whole fragments' (a torn fragment's are not
    /// counted), or a finished file's sample table (more than `frames_found` when cut short).
    pub frames_listed: u64,
    /// Bytes cut off: after the last whole fragment (a torn fragment), or after the last whole
    /// frame of a finished file cut short.
    pub torn_bytes: u64,
    /// The input was a finished MP4 with every frame its index lists: nothing to repair. It
    /// was copied when the output is another file, else left as it was (`in_place`).
    pub was_finished: bool,
    /// The input was a finished MP4 cut short (its index lists more frames than it holds): the
    /// frames it holds were made into a new file.
    pub truncated: bool,
    /// The output is the input (the same file, whatever the names): repaired in place, or left
    /// as it was when already finished.
    pub in_place: bool,
    /// Audio samples (per channel, at the codec's rate, priming included) in the repaired
    /// file: the audio whose bytes the input holds, cut at the end of the video kept; 0
    /// without an audio track (see [`super::Mp4Writer::audio_samples`]).
    pub audio_samples: u64,
}

/// Repair the MP4 at `input` into `output`, or in place when `output` is None or names the
/// same file (see the module documentation). A failed repair leaves every file as it was.
pub fn repair(input: &Path, output: Option<&Path>) -> Result<Repaired> {
    let named = |e: Error| match e {
        e @ (Error::InvalidData(_) | Error::Unsupported(_)) => e.with_prefix(&format!("{}: ", input.display())),
        other => other,
    };
    let file = File::open(input).ctx(|| format!("opening {}", input.display()))?;
    let meta = file.metadata().ctx(|| format!("reading {}", input.display()))?;
    if !meta.is_file() {
        return Err(Error::parameter(format!("{} is not a regular file: give the MP4 to repair", input.display())));
    }
    let out_name = output.unwrap_or(input);
    let in_place = match output {
        None => true,
        Some(o) => FileId::of_path(o).ctx(|| format!("looking at {}", o.display()))? == Some(FileId::of(&meta)),
    };
    let target = output::resolve_target(out_name);
    if let Ok(m) = std::fs::metadata(&target) {
        if !m.is_file() {
            return Err(Error::parameter(format!(
                "{} is not a regular file: give the name of the repaired file to write",
                out_name.display()
            )));
        }
    }
    output::sweep(&target);
    sweep_old_repairs(&target);

    let mut r = BufReader::new(file);
    let top = TopLevel::scan(&mut r).and_then(|scanned| match scanned {
        Scanned::Found(top) => Ok(top),
        Scanned::NoMoov => Err(no_moov().with_note(
            "it cannot be repaired: the moov box holds the parameter sets every frame needs, and a \
             framepipe writer writes it with its first fragment, so the writer stopped before that (or the \
             file was not written by framepipe 0.1 or later)",
        )),
    });
    let top = top.map_err(named)?;
    let moov = children(&top.moov).map_err(named)?;
    let trak = VideoTrak::parse(&moov).map_err(named)?;
    let mut done = Repaired {
        output: out_name.to_path_buf(),
        frames: 0,
        frames_found: 0,
        frames_listed: 0,
        torn_bytes: 0,
        was_finished: false,
        truncated: false,
        in_place,
        audio_samples: 0,
    };
    let (track, samples) = match track_defaults(&moov, trak.track_id).map_err(named)? {
        Some(defaults) => {
            let (track, dur) = track_of(&trak, defaults.duration).map_err(named)?;
            // The frames of the decode-order prefix whose bytes are in the file.
            let found = fragment_samples(&top.moofs, trak.track_id, defaults, top.file_size).map_err(named)?;
            let whole: Vec<SampleRef> = found
                .samples
                .iter()
                .map(|s| SampleRef {
                    offset: s.offset,
                    size: s.size,
                    dts: s.dts as i64,
                    cts_offset: s.cts_offset,
                    keyframe: s.keyframe,
                })
                .collect();
            let moov_end = top.moov_pos + 8 + top.moov.len() as u64;
            let data_end = whole.last().map_or(moov_end, |s| s.offset + u64::from(s.size));
            done.torn_bytes = top.file_size.saturating_sub(data_end);
            done.frames_listed = found.counts.listed;
            ((track, dur), whole)
        }
        None => {
            let table = &trak.table;
            let present = table.presence(top.file_size);
            done.frames_listed = table.len();
            if present.samples == table.len() {
                // A finished file, whole: nothing to repair.
                done.was_finished = true;
                (done.frames, done.frames_found) = (table.len(), table.len());
                if !in_place {
                    copy_whole(&mut r, &target)
                        .ctx(|| format!("copying {} to {}", input.display(), out_name.display()))?;
                }
                return Ok(done);
            }
            // A finished file cut short: its index lists frames whose bytes are not there.
            // Every listed sample costs a few bytes of index, so a count the file could not
            // hold is forged: refuse it before allocating.
            if table.len() > top.file_size {
                return Err(named(Error::invalid_data(format!(
                    "its index lists {} frames, more than a file of {} bytes can describe",
                    table.len(),
                    top.file_size
                ))));
            }
            done.truncated = true;
            let track = track_of(&trak, finished_frame_ticks(&trak).map_err(named)?).map_err(named)?;
            let samples = present_prefix(table, top.file_size).map_err(named)?;
            let data_end = samples.iter().map(|s| s.offset + u64::from(s.size)).max().unwrap_or(0);
            done.torn_bytes = top.file_size.saturating_sub(data_end.max(top.first_mdat.map_or(0, |m| m + 16)));
            (track, samples)
        }
    };
    done.frames_found = samples.len() as u64;
    let udta = child(&moov, b"udta").map(|body| {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"udta");
        b.extend_from_slice(body);
        b
    });
    let (track, dur) = track;
    let audio = super::audio::audio_for_repair(&moov, &top.moofs, top.file_size).map_err(named)?;
    (done.frames, done.audio_samples) =
        rebuild(&mut r, track, dur, udta, &samples, audio, &target, out_name).map_err(named)?;
    Ok(done)
}

/// The samples of a finished file's table, in decode order, up to the first whose bytes are not
/// all in the file (`file_size` bytes). Memory is bounded by the file's size whatever the table
/// says (the fuzz harness checks it): the prefix is counted first, allocated once at its exact
/// length; a sample shorter than an H.264 frame can be, or samples holding more bytes than the
/// file, are malformed.
fn present_prefix(table: &SampleTable, file_size: u64) -> Result<Vec<SampleRef>> {
    let (mut n, mut bytes) = (0usize, 0u64);
    for (i, s) in table.iter().enumerate() {
        if s.offset.saturating_add(u64::from(s.size)) > file_size {
            break;
        }
        if s.size < MIN_H264_SAMPLE {
            return Err(Error::invalid_data(format!(
                "frame {i} (at byte {}) is {} bytes long: too short for an H.264 frame",
                s.offset, s.size
            )));
        }
        bytes += u64::from(s.size);
        if bytes > file_size {
            return Err(Error::invalid_data(format!(
                "the first {} frames of its index take {bytes} bytes, more than the file's {file_size}: they \
                 overlap",
                i + 1
            )));
        }
        n += 1;
    }
    let mut samples = Vec::new();
    samples.try_reserve_exact(n).map_err(|_| Error::out_of_memory(format!("no memory for the index of {n} frames")))?;
    samples.extend(table.iter().take(n));
    Ok(samples)
}

/// Remove the `.NAME.repair-PID` files that repairs of framepipe before the temporaries
/// convention (see [`crate::output`]) left when killed, if process PID is gone (no
/// `/proc/PID`); best effort.
fn sweep_old_repairs(target: &Path) {
    let Some(name) = target.file_name() else { return };
    let prefix = format!(".{}.repair-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(output::folder_of(target)) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let dead = pid.parse::<u32>().is_ok_and(|p| !Path::new(&format!("/proc/{p}")).exists());
        if dead && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Write the faststart file of `samples` (those whose presentation has no gap before them)
/// (and the audio, if any: (offset, size, duration) of each sample) into a temporary beside
/// `target`, sync it and rename it over `target`. Returns its frames and audio samples.
#[allow(clippy::too_many_arguments)]
fn rebuild<R: Read + Seek>(
    r: &mut R,
    track: VideoTrack,
    dur: u32,
    udta: Option<Vec<u8>>,
    samples: &[SampleRef],
    audio: Option<super::audio::RepairAudio>,
    target: &Path,
    shown: &Path,
) -> Result<(u64, u64)> {
    let tmp = TempFile::create(target).ctx(|| format!("creating a temporary file beside {}", shown.display()))?;
    let fps = track.fps;
    let (mut w, audio_samples) = match audio {
        Some((a, s)) => (Mp4Writer::with_audio(tmp, track, a)?, s),
        None => (Mp4Writer::new(tmp, track)?, Vec::new()),
    };
    let rate = w.audio_rate();
    if let Some(udta) = udta {
        w.set_udta(udta);
    }
    w.set_durable(true);
    // The audio goes in as a writer gets it: up to half a second past each frame's time.
    let mut audio = audio_samples.iter().peekable();
    let mut pts = 0i64;
    let mut audio_packet = |w: &mut Mp4Writer<TempFile>, r: &mut R, (at, size, d): (u64, u32, u32)| -> Result<()> {
        let mut data = vec![0u8; size as usize];
        r.seek(SeekFrom::Start(at)).and_then(|_| r.read_exact(&mut data)).ctx(|| "reading audio".to_string())?;
        w.write_audio_packet(&crate::encode::AudioPacket { data, pts, duration: d })?;
        pts += i64::from(d);
        Ok(())
    };
    let mut audio_pts = 0u64;
    for s in samples {
        let packet = read_packet(r, s, dur)?;
        while audio.peek().is_some() && super::audio::audio_due(audio_pts, packet.dts, fps, rate) {
            let &a = audio.next().expect("peeked");
            audio_pts += u64::from(a.2);
            audio_packet(&mut w, r, a)?;
        }
        w.write_packet(&packet)?;
    }
    for &a in audio {
        audio_packet(&mut w, r, a)?;
    }
    // Keep only frames presented with no gap before them.
    w.mark_interrupted();
    w.finish()?;
    let frames = w.frames();
    let audio_samples = w.audio_samples();
    let mut tmp = w.into_inner();
    tmp.place(true).ctx(|| format!("renaming the repaired file over {}", shown.display()))?;
    Ok((frames, audio_samples))
}

/// Copy the whole input into a temporary beside `target` and rename it over `target`.
fn copy_whole<R: Read + Seek>(r: &mut R, target: &Path) -> std::io::Result<()> {
    let mut tmp = TempFile::create(target)?;
    r.seek(SeekFrom::Start(0))?;
    std::io::copy(r, tmp.file_mut())?;
    tmp.place(true)
}

/// Ticks per frame of a finished file: the greatest common divisor of its decode-time deltas
/// and composition offsets (a framepipe file's are whole frames).
fn finished_frame_ticks(trak: &VideoTrak) -> Result<u32> {
    fn gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }
    let t = &trak.table;
    let deltas = t.stts.iter().filter(|e| e.0 > 0).map(|e| u64::from(e.1));
    let offsets = t.ctts.iter().filter(|e| e.0 > 0).map(|e| e.1.unsigned_abs());
    let g = deltas.chain(offsets).fold(0, gcd);
    u32::try_from(g)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| Error::unsupported("frame times that are not whole frames (not a framepipe file)"))
}

/// The writer's track description and ticks per frame, from the moov's track and the ticks
/// per frame (`dur`).
fn track_of(trak: &VideoTrak, dur: u32) -> Result<(VideoTrack, u32)> {
    let timescale = trak.timescale;
    let not_ours =
        || Error::unsupported(format!("a timescale of {timescale} with frames of {dur} ticks (not a framepipe file)"));
    if timescale == 0 || dur == 0 {
        return Err(not_ours());
    }
    let (mut a, mut b) = (timescale, dur);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let fps = Rational::new(timescale / a, dur / a)?;
    if media_timing(fps.num, fps.den) != (timescale, dur) {
        return Err(not_ours());
    }
    let avc = trak.avc_config()?;
    let color = trak.entry.color.unwrap_or(ColorInfo::BT709_LIMITED);
    Ok((VideoTrack { width: trak.entry.width, height: trak.entry.height, fps, avc, color }, dur))
}

/// Read one sample's bytes and turn its timing into frames.
fn read_packet<R: Read + Seek>(r: &mut R, s: &SampleRef, dur: u32) -> Result<Packet> {
    let mut data = vec![0u8; s.size as usize];
    r.seek(SeekFrom::Start(s.offset)).and_then(|_| r.read_exact(&mut data)).ctx(|| "reading a frame".to_string())?;
    let d = i64::from(dur);
    if s.dts < 0 || s.dts % d != 0 || s.cts_offset < 0 || s.cts_offset % d != 0 {
        return Err(Error::unsupported("frame times that are not whole frames (not a framepipe file)"));
    }
    let dts = s.dts / d;
    Ok(Packet { data, pts: dts + s.cts_offset / d, dts, keyframe: s.keyframe })
}

#[cfg(test)]
mod tests;
