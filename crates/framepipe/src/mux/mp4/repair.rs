//! Finishing an MP4 whose writer was stopped before it finished (killed, out of memory, power
//! loss): the fragmented file on disk ([`super::fragment`]) becomes the faststart file a clean
//! close would have made from the same frames — the frames of every whole fragment, a torn
//! last fragment cut off, and only frames presented without a gap before them.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::boxes::{child, children};
use super::fragment::{fragment_samples, track_defaults, FoundSample, TrackDefaults};
use super::reader::TopLevel;
use super::timing::media_timing;
use super::track::VideoTrak;
use super::writer::Mp4Writer;
use crate::encode::{ColorInfo, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::VideoTrack;
use crate::rational::Rational;

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The file written (the input itself when repairing in place).
    pub output: PathBuf,
    /// Frames in the repaired file.
    pub frames: u64,
    /// Frames the whole fragments of the input listed; `frames` is fewer when the last ones
    /// would have left a gap in presentation order.
    pub frames_found: u64,
    /// Bytes after the last whole fragment (a torn fragment), cut off.
    pub torn_bytes: u64,
    /// The input was already a finished MP4: nothing to repair (it was copied to `output` if
    /// that is another file).
    pub was_finished: bool,
}

/// Repair the MP4 at `input` into `output`, or in place when `output` is None (through a new
/// file renamed over the input, so the input is untouched unless the repair succeeds).
pub fn repair(input: &Path, output: Option<&Path>) -> Result<Repaired> {
    let named = |e: Error| match e {
        Error::InvalidData(m) => Error::InvalidData(format!("{}: {m}", input.display())),
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", input.display())),
        other => other,
    };
    let file = File::open(input).ctx(|| format!("opening {}", input.display()))?;
    let mut r = BufReader::new(file);
    let top = TopLevel::read(&mut r).map_err(|e| match e {
        Error::InvalidData(m) if m.starts_with("incomplete MP4") => Error::InvalidData(format!(
            "{m}; it cannot be repaired: the moov box holds the parameter sets every frame needs, and a \
             framepipe writer writes it with its first fragment, so the writer stopped before that (or the \
             file was not written by framepipe 0.1 or later)"
        )),
        other => other,
    });
    let top = top.map_err(named)?;
    let out_path = output.unwrap_or(input).to_path_buf();
    let moov = children(&top.moov).map_err(named)?;
    let trak = VideoTrak::parse(&moov).map_err(named)?;
    let Some(defaults) = track_defaults(&moov, trak.track_id).map_err(named)? else {
        // A finished file: nothing to do.
        if out_path != input {
            std::fs::copy(input, &out_path).ctx(|| format!("copying {} to {}", input.display(), out_path.display()))?;
        }
        let frames = trak.table.presence(top.file_size).samples;
        return Ok(Repaired { output: out_path, frames, frames_found: frames, torn_bytes: 0, was_finished: true });
    };
    let (track, dur) = track_of(&trak, defaults).map_err(named)?;
    // The frames of the decode-order prefix whose bytes are in the file.
    let whole = fragment_samples(&top.moofs, trak.track_id, defaults, top.file_size).map_err(named)?.samples;
    let moov_end = top.moov_pos + 8 + top.moov.len() as u64;
    let data_end = whole.last().map_or(moov_end, |s| s.offset + u64::from(s.size));
    let torn_bytes = top.file_size.saturating_sub(data_end);
    let udta = child(&moov, b"udta").map(|body| {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"udta");
        b.extend_from_slice(body);
        b
    });

    // Write next to the output, then rename: a failed repair leaves every existing file as it was.
    let dir = out_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.repair-{}", std::process::id()));
    let result = (|| {
        let mut w = Mp4Writer::create(&tmp, track)?;
        if let Some(udta) = udta {
            w.set_udta(udta);
        }
        w.set_durable(true);
        for s in &whole {
            let packet = read_packet(&mut r, s, dur)?;
            w.write_packet(&packet)?;
        }
        // Keep only frames presented with no gap before them.
        w.mark_interrupted();
        w.finish()?;
        Ok(w.frames())
    })();
    let frames = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(named(e));
        }
    };
    std::fs::rename(&tmp, &out_path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("renaming the repaired file to {}", out_path.display()), e)
    })?;
    sync_dir(dir);
    Ok(Repaired { output: out_path, frames, frames_found: whole.len() as u64, torn_bytes, was_finished: false })
}

/// The writer's track description and ticks per frame, from a fragmented file's moov.
fn track_of(trak: &VideoTrak, defaults: TrackDefaults) -> Result<(VideoTrack, u32)> {
    let (timescale, dur) = (trak.timescale, defaults.duration);
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
fn read_packet<R: Read + Seek>(r: &mut R, s: &FoundSample, dur: u32) -> Result<Packet> {
    let mut data = vec![0u8; s.size as usize];
    r.seek(SeekFrom::Start(s.offset)).and_then(|_| r.read_exact(&mut data)).ctx(|| "reading a frame".to_string())?;
    let d = u64::from(dur);
    if !s.dts.is_multiple_of(d) || s.cts_offset < 0 || !(s.cts_offset as u64).is_multiple_of(d) {
        return Err(Error::unsupported("frame times that are not whole frames (not a framepipe file)"));
    }
    let dts = (s.dts / d) as i64;
    Ok(Packet { data, pts: dts + s.cts_offset / i64::from(dur), dts, keyframe: s.keyframe })
}

/// Make a rename durable (best effort: not every file system can sync a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
